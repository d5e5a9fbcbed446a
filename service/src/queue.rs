//! The job queue for many machines, on Redis Streams (`zkinfer serve --queue redis://…` and
//! `zkinfer worker`). The server's SQLite store stays the record clients read; Redis carries
//! the work and its outcomes:
//!
//! - `zkinfer:jobs`, consumer group `workers`: one entry per run of a job (`job`, `kind`,
//!   `build`, `attempts` = runs before this entry). A worker keeps its entry's lease alive by
//!   re-claiming it (`XCLAIM … JUSTID`, which resets its idle time without counting a delivery);
//!   an entry idle longer than the lease is taken by another worker (`XAUTOCLAIM`), so a worker
//!   that dies mid-proof has its job finished elsewhere. Runs = `attempts` + deliveries.
//! - `zkinfer:results`, consumer group `server`: one entry per finished run (`job`, `status`,
//!   `summary` or `error`, `attempts`, `seconds`, `worker`). The entry is added and the job's
//!   entry acknowledged in one transaction; the server records the first result of a job and
//!   acknowledges, so a job never gets two.
//! - `zkinfer:dead`: jobs given up after their attempts (`job`, `error`, `attempts`).
//! - `zkinfer:published:JOB`: set, in the same script as the job's first entry, so the server
//!   may publish again every job it had running before a crash without adding any twice.
//! - `zkinfer:errors`: a job's last retryable error, which its dead letter carries.
//!
//! Ids read from Redis are checked ([`crate::jobs::is_id`]) before a path is made from them.

use std::time::Duration;

use redis::streams::{
    StreamAutoClaimOptions, StreamId, StreamPendingCountReply, StreamReadOptions, StreamReadReply,
};
use redis::{Commands, Connection, Value};

use crate::jobs::is_id;
use crate::store::JobKind;
use crate::{Error, Result};

/// The stream of job runs.
pub const JOBS: &str = "zkinfer:jobs";
/// The stream of finished runs.
pub const RESULTS: &str = "zkinfer:results";
/// The stream of dead-lettered jobs.
pub const DEAD: &str = "zkinfer:dead";
const ERRORS: &str = "zkinfer:errors";
const WORKERS: &str = "workers";
const SERVER: &str = "server";
/// How long a read waits for a new entry before the caller looks at its other duties.
const BLOCK: Duration = Duration::from_millis(500);

/// Adds the job's first entry unless it was published before (atomic: a script).
const PUBLISH: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX') then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[1], 'kind', ARGV[2], 'build', ARGV[3], 'attempts', '0')
  return 1
end
return 0
";

/// A job as it travels on the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedJob {
    /// The job's id.
    pub job: String,
    /// Build or proof.
    pub kind: JobKind,
    /// A proof job's build.
    pub build: Option<String>,
    /// Runs of the job before this entry.
    pub attempts_before: u32,
}

/// One delivery of a job's entry to a worker.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The stream entry's id.
    pub entry: String,
    /// The job, or why the entry is not one (an entry somebody else wrote).
    pub job: std::result::Result<QueuedJob, String>,
    /// Times the entry has been delivered (this delivery included).
    pub delivered: u32,
}

impl Delivery {
    /// Runs of the job so far, this one included.
    pub fn attempt(&self) -> u32 {
        let before = self.job.as_ref().map_or(0, |j| j.attempts_before);
        before.saturating_add(self.delivered)
    }
}

/// How a run ended, as the server records it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The result file is written; the job's summary.
    Done(serde_json::Value),
    /// The job failed for good; why (without the store's paths).
    Failed(String),
}

/// A finished run read by the server.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The result entry's id.
    pub entry: String,
    /// The job's id (checked).
    pub job: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Runs of the job, this one included.
    pub attempts: u32,
    /// Seconds the run took.
    pub seconds: f64,
}

/// A connection to the queue.
pub struct Queue {
    client: redis::Client,
    con: Connection,
    /// The URL without its password, for messages.
    shown: String,
}

/// `url` with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

fn queue_error(what: &str) -> impl Fn(redis::RedisError) -> Error + '_ {
    move |e| Error::Queue(format!("{what}: {e}"))
}

impl Queue {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`) and makes sure both consumer groups exist.
    pub fn connect(url: &str) -> Result<Queue> {
        let shown = redact_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(format!("--queue {shown}: not a Redis URL ({e})")))?;
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| Error::Queue(format!("cannot reach Redis at {shown}: {e}")))?;
        let mut queue = Queue { client, con, shown };
        queue.ensure_groups()?;
        Ok(queue)
    }

    /// The URL as shown (without a password).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// A second connection to the same server (a lease's heartbeat runs on its own).
    pub fn another(&self) -> Result<Queue> {
        let con = self
            .client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| Error::Queue(format!("cannot reach Redis at {}: {e}", self.shown)))?;
        Ok(Queue {
            client: self.client.clone(),
            con,
            shown: self.shown.clone(),
        })
    }

    fn ensure_groups(&mut self) -> Result<()> {
        for (stream, group) in [(JOBS, WORKERS), (RESULTS, SERVER)] {
            // From the start of the stream: entries added before the group are still read.
            let created: redis::RedisResult<()> =
                self.con.xgroup_create_mkstream(stream, group, "0");
            match created {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(queue_error("creating the consumer groups")(e)),
            }
        }
        Ok(())
    }

    /// Publishes a job's first run; false when it was published before.
    pub fn publish(&mut self, job: &QueuedJob) -> Result<bool> {
        let added: i64 = redis::Script::new(PUBLISH)
            .key(format!("zkinfer:published:{}", job.job))
            .key(JOBS)
            .arg(&job.job)
            .arg(job.kind.as_str())
            .arg(job.build.as_deref().unwrap_or(""))
            .invoke(&mut self.con)
            .map_err(queue_error("publishing a job"))?;
        Ok(added == 1)
    }

    /// The next entry for `worker`: one whose lease ran out (its worker stopped), else a new one
    /// (waiting up to half a second). `None` when there is none.
    pub fn next_job(&mut self, worker: &str, lease: Duration) -> Result<Option<Delivery>> {
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        let reclaimed: redis::streams::StreamAutoClaimReply = self
            .con
            .xautoclaim_options(
                JOBS,
                WORKERS,
                worker,
                lease_ms,
                "0-0",
                StreamAutoClaimOptions::default().count(1),
            )
            .map_err(queue_error("reclaiming expired jobs"))?;
        let entry = match reclaimed.claimed.into_iter().next() {
            Some(entry) => entry,
            None => {
                let options = StreamReadOptions::default()
                    .group(WORKERS, worker)
                    .count(1)
                    .block(BLOCK.as_millis() as usize);
                let read: Option<StreamReadReply> = self
                    .con
                    .xread_options(&[JOBS], &[">"], &options)
                    .map_err(queue_error("reading jobs"))?;
                match read.and_then(|r| r.keys.into_iter().next()?.ids.into_iter().next()) {
                    Some(entry) => entry,
                    None => return Ok(None),
                }
            }
        };
        let delivered = self.deliveries(&entry.id)?.map_or(1, |(_, n)| n);
        Ok(Some(Delivery {
            job: parse_job(&entry),
            entry: entry.id,
            delivered,
        }))
    }

    /// The consumer holding `entry` and its deliveries; `None` when it is not pending.
    fn deliveries(&mut self, entry: &str) -> Result<Option<(String, u32)>> {
        let pending: StreamPendingCountReply = self
            .con
            .xpending_count(JOBS, WORKERS, entry, entry, 1)
            .map_err(queue_error("reading a job's deliveries"))?;
        Ok(pending.ids.into_iter().next().map(|p| {
            (
                p.consumer,
                u32::try_from(p.times_delivered).unwrap_or(u32::MAX),
            )
        }))
    }

    /// Renews `worker`'s lease on `entry`; false when another worker has taken it over.
    pub fn heartbeat(&mut self, worker: &str, entry: &str) -> Result<bool> {
        match self.deliveries(entry)? {
            Some((holder, _)) if holder == worker => {}
            _ => return Ok(false),
        }
        let _: Value = redis::cmd("XCLAIM")
            .arg(JOBS)
            .arg(WORKERS)
            .arg(worker)
            .arg(0)
            .arg(entry)
            .arg("JUSTID")
            .query(&mut self.con)
            .map_err(queue_error("renewing a lease"))?;
        Ok(true)
    }

    /// Records a finished run (done, or failed for good) and acknowledges its entry, at once.
    pub fn complete(
        &mut self,
        worker: &str,
        delivery: &Delivery,
        job: &str,
        outcome: &Outcome,
        seconds: f64,
    ) -> Result<()> {
        let (status, detail_key, detail) = match outcome {
            Outcome::Done(summary) => ("done", "summary", summary.to_string()),
            Outcome::Failed(error) => ("failed", "error", error.clone()),
        };
        redis::pipe()
            .atomic()
            .xadd(
                RESULTS,
                "*",
                &[
                    ("job", job.to_string()),
                    ("status", status.to_string()),
                    (detail_key, detail),
                    ("attempts", delivery.attempt().to_string()),
                    ("seconds", seconds.to_string()),
                    ("worker", worker.to_string()),
                ],
            )
            .ignore()
            .xack(JOBS, WORKERS, &[&delivery.entry])
            .ignore()
            .hdel(ERRORS, job)
            .ignore()
            .exec(&mut self.con)
            .map_err(queue_error("recording a result"))
    }

    /// Queues the job again after a retryable failure (a new entry counting this run), keeping
    /// its error for a dead letter, and acknowledges this entry: at once.
    pub fn retry(&mut self, delivery: &Delivery, job: &QueuedJob, error: &str) -> Result<()> {
        redis::pipe()
            .atomic()
            .hset(ERRORS, &job.job, error)
            .ignore()
            .xadd(
                JOBS,
                "*",
                &[
                    ("job", job.job.clone()),
                    ("kind", job.kind.as_str().to_string()),
                    ("build", job.build.clone().unwrap_or_default()),
                    ("attempts", delivery.attempt().to_string()),
                ],
            )
            .ignore()
            .xack(JOBS, WORKERS, &[&delivery.entry])
            .ignore()
            .exec(&mut self.con)
            .map_err(queue_error("queuing a job again"))
    }

    /// Gives a job up: a dead letter with its error, a failed result for the server, and the
    /// entry acknowledged, at once. An entry that is not a job only gets the dead letter.
    pub fn dead_letter(&mut self, worker: &str, delivery: &Delivery, error: &str) -> Result<()> {
        let job = delivery.job.as_ref().map(|j| j.job.clone()).ok();
        let attempts = delivery.attempt();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .xadd(
                DEAD,
                "*",
                &[
                    ("job", job.clone().unwrap_or_default()),
                    ("entry", delivery.entry.clone()),
                    ("error", error.to_string()),
                    ("attempts", attempts.to_string()),
                ],
            )
            .ignore();
        if let Some(job) = &job {
            pipe.xadd(
                RESULTS,
                "*",
                &[
                    ("job", job.clone()),
                    ("status", "failed".to_string()),
                    (
                        "error",
                        format!("dead-lettered after {attempts} attempts: {error}"),
                    ),
                    ("attempts", attempts.to_string()),
                    ("seconds", "0".to_string()),
                    ("worker", worker.to_string()),
                ],
            )
            .ignore()
            .hdel(ERRORS, job)
            .ignore();
        }
        pipe.xack(JOBS, WORKERS, &[&delivery.entry])
            .ignore()
            .exec(&mut self.con)
            .map_err(queue_error("dead-lettering a job"))
    }

    /// The last retryable error of `job`, if one was kept.
    pub fn last_error(&mut self, job: &str) -> Result<Option<String>> {
        self.con
            .hget(ERRORS, job)
            .map_err(queue_error("reading a job's last error"))
    }

    /// Results for the server: those it read before a restart and did not acknowledge
    /// (`pending`), else new ones (waiting up to half a second).
    /// Each is the entry's id and the result, or why the entry is not one.
    #[allow(clippy::type_complexity)]
    pub fn results(
        &mut self,
        pending: bool,
    ) -> Result<Vec<(String, std::result::Result<RunResult, String>)>> {
        let mut options = StreamReadOptions::default().group(SERVER, SERVER).count(32);
        if !pending {
            options = options.block(BLOCK.as_millis() as usize);
        }
        let from = if pending { "0" } else { ">" };
        let read: Option<StreamReadReply> = self
            .con
            .xread_options(&[RESULTS], &[from], &options)
            .map_err(queue_error("reading results"))?;
        Ok(read
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| (entry.id.clone(), parse_result(&entry)))
            .collect())
    }

    /// Acknowledges a recorded result (or a malformed entry) and forgets the job's publication.
    pub fn ack_result(&mut self, entry: &str, job: Option<&str>) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic().xack(RESULTS, SERVER, &[entry]).ignore();
        if let Some(job) = job {
            pipe.del(format!("zkinfer:published:{job}")).ignore();
        }
        pipe.exec(&mut self.con)
            .map_err(queue_error("acknowledging a result"))
    }

    /// Entries in `stream` (for tests and the operator).
    pub fn len(&mut self, stream: &str) -> Result<u64> {
        self.con
            .xlen(stream)
            .map_err(queue_error("reading a stream's length"))
    }
}

fn field(entry: &StreamId, name: &str) -> std::result::Result<String, String> {
    entry
        .get::<String>(name)
        .ok_or_else(|| format!("no field {name:?}"))
}

fn checked_id(entry: &StreamId, name: &str) -> std::result::Result<String, String> {
    let id = field(entry, name)?;
    if is_id(&id) {
        Ok(id)
    } else {
        Err(format!("{name} {id:?} is not an id"))
    }
}

fn parse_job(entry: &StreamId) -> std::result::Result<QueuedJob, String> {
    let job = checked_id(entry, "job")?;
    let kind = field(entry, "kind")?;
    let kind = JobKind::parse(&kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
    let build = match kind {
        JobKind::Proof => Some(checked_id(entry, "build")?),
        JobKind::Build => None,
    };
    let attempts_before = field(entry, "attempts")?
        .parse()
        .map_err(|e| format!("attempts: {e}"))?;
    Ok(QueuedJob {
        job,
        kind,
        build,
        attempts_before,
    })
}

fn parse_result(entry: &StreamId) -> std::result::Result<RunResult, String> {
    let job = checked_id(entry, "job")?;
    let outcome = match field(entry, "status")?.as_str() {
        "done" => Outcome::Done(
            serde_json::from_str(&field(entry, "summary")?).map_err(|e| format!("summary: {e}"))?,
        ),
        "failed" => Outcome::Failed(field(entry, "error")?),
        other => return Err(format!("unknown status {other:?}")),
    };
    Ok(RunResult {
        entry: entry.id.clone(),
        job,
        outcome,
        attempts: field(entry, "attempts")?
            .parse()
            .map_err(|e| format!("attempts: {e}"))?,
        seconds: field(entry, "seconds")?
            .parse()
            .map_err(|e| format!("seconds: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows() {
        assert_eq!(
            redact_url("redis://user:secret@10.0.0.5:6379/0"),
            "redis://***@10.0.0.5:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    fn entry(fields: &[(&str, &str)]) -> StreamId {
        StreamId {
            id: "1-0".into(),
            map: fields
                .iter()
                .map(|(k, v)| (k.to_string(), Value::BulkString(v.as_bytes().to_vec())))
                .collect(),
            ..StreamId::default()
        }
    }

    #[test]
    fn entries_from_redis_are_checked_before_use() {
        let id = "ab".repeat(16);
        let good = entry(&[
            ("job", &id),
            ("kind", "proof"),
            ("build", &id),
            ("attempts", "2"),
        ]);
        let job = parse_job(&good).unwrap();
        assert_eq!(job.build.as_deref(), Some(id.as_str()));
        assert_eq!(job.attempts_before, 2);
        // A path escape, a missing build, an unknown kind: refused with the reason.
        let escape = entry(&[("job", "../../etc"), ("kind", "build"), ("attempts", "0")]);
        assert!(parse_job(&escape).unwrap_err().contains("not an id"));
        let no_build = entry(&[("job", &id), ("kind", "proof"), ("attempts", "0")]);
        assert!(parse_job(&no_build).unwrap_err().contains("build"));
        let kind = entry(&[("job", &id), ("kind", "shell"), ("attempts", "0")]);
        assert!(parse_job(&kind).unwrap_err().contains("kind"));
        let result = entry(&[
            ("job", &id),
            ("status", "done"),
            ("summary", "{\"prove_seconds\":1.5}"),
            ("attempts", "1"),
            ("seconds", "1.6"),
        ]);
        let r = parse_result(&result).unwrap();
        assert_eq!(
            r.outcome,
            Outcome::Done(serde_json::json!({"prove_seconds": 1.5}))
        );
        let bad = entry(&[("job", &id), ("status", "maybe"), ("attempts", "1")]);
        assert!(parse_result(&bad).unwrap_err().contains("status"));
    }
}
