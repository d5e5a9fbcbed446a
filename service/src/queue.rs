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

use redis::streams::{StreamAutoClaimOptions, StreamId, StreamReadOptions, StreamReadReply};
use redis::{Commands, Connection};
use zkinfer_prover::pipeline::SrsChoice;

use crate::jobs::{is_id, Work};
use crate::store::JobKind;
use crate::{Error, Result};

/// The stream of job runs.
pub const JOBS: &str = "zkinfer:jobs";
/// The stream of finished runs.
pub const RESULTS: &str = "zkinfer:results";
/// The stream of dead-lettered jobs (the last 10,000).
pub const DEAD: &str = "zkinfer:dead";
/// The server's policy for its workers: lease, attempts, SRS.
pub const CONFIG: &str = "zkinfer:config";
const ERRORS: &str = "zkinfer:errors";
const WORKERS: &str = "workers";
const SERVER: &str = "server";
/// How long a read waits for a new entry before the caller looks at its other duties.
const BLOCK: Duration = Duration::from_millis(500);
/// No command waits longer for Redis (a silent network would otherwise hang a worker).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Adds the job's first entry unless it was published before (atomic: a script).
/// KEYS: published flag, jobs. ARGV: the entry's fields.
const PUBLISH: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX') then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV))
  return 1
end
return 0
";

/// Whether `worker` (ARGV[2]) holds `entry` (ARGV[1]) of the jobs stream (KEYS[1]); the scripts
/// below start with it, so the check and what depends on it are one atomic step.
const OWNED: &str = r"
local p = redis.call('XPENDING', KEYS[1], 'workers', ARGV[1], ARGV[1], 1)
local owned = #p > 0 and p[1][2] == ARGV[2]
";

/// Renews the lease: resets the entry's idle time without counting a delivery.
const HEARTBEAT: &str = r"
if not owned then return 0 end
redis.call('XCLAIM', KEYS[1], 'workers', ARGV[2], 0, ARGV[1], 'JUSTID')
return 1
";

/// Adds a result (KEYS[2]; fields from ARGV[4]) and forgets the job's last error (KEYS[3],
/// ARGV[3]); acknowledges and deletes the entry only when the worker still holds it.
const COMPLETE: &str = r"
local f = {}
for i = 4, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(f))
redis.call('HDEL', KEYS[3], ARGV[3])
if owned then
  redis.call('XACK', KEYS[1], 'workers', ARGV[1])
  redis.call('XDEL', KEYS[1], ARGV[1])
end
return 1
";

/// Keeps the error (KEYS[2], ARGV[3] -> ARGV[4]) and adds the job's next entry (fields from
/// ARGV[5]), replacing this one: only when the worker still holds it and the job is still
/// published (KEYS[3]: its result not yet recorded).
const RETRY: &str = r"
if not owned or redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
local f = {}
for i = 5, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], '*', unpack(f))
redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
";

/// A dead letter (KEYS[4]) and, for a job (ARGV[3] not empty), its failed result (KEYS[2]);
/// the entry acknowledged and deleted: only when the worker still holds it.
/// ARGV: entry, worker, job, error, attempts, the result's message.
const DEAD_LETTER: &str = r"
if not owned then return 0 end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '10000', '*',
  'job', ARGV[3], 'entry', ARGV[1], 'error', ARGV[4], 'attempts', ARGV[5])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[3], 'status', 'failed', 'error', ARGV[6],
    'attempts', ARGV[5], 'seconds', '0', 'worker', ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[3])
end
redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
";

/// Acknowledges and deletes an entry the worker holds (a stale duplicate).
const DROP_STALE: &str = r"
if not owned then return 0 end
redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
";

/// The flag set when a job is first published and removed when its result is recorded.
fn published_key(job: &str) -> String {
    format!("zkinfer:published:{job}")
}

/// A job as it travels on the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedJob {
    /// What the worker runs.
    pub work: Work,
    /// Runs of the job before this entry.
    pub attempts_before: u32,
}

impl QueuedJob {
    /// The entry's fields.
    fn fields(&self) -> Vec<String> {
        let w = &self.work;
        let mut f = vec![
            "job".to_string(),
            w.id.clone(),
            "kind".into(),
            w.kind.as_str().into(),
            "attempts".into(),
            self.attempts_before.to_string(),
        ];
        if let Some(build) = &w.build {
            f.extend(["build".into(), build.clone()]);
        }
        if let (Some(parent), Some(segment)) = (&w.parent, w.segment) {
            f.extend([
                "parent".into(),
                parent.clone(),
                "segment".into(),
                segment.to_string(),
            ]);
        }
        f
    }
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

/// What the server asks of its workers (written by `zkinfer serve --queue`, read by every
/// worker before each job, so that all follow one policy).
#[derive(Clone, Debug)]
pub struct Policy {
    /// How long an entry may go without its lease renewed before another worker takes it.
    pub lease: Duration,
    /// Runs of a job before it is dead-lettered.
    pub max_attempts: u32,
    /// The SRS build jobs make keys with.
    pub srs: SrsChoice,
}

/// A connection to the queue.
pub struct Queue {
    client: redis::Client,
    con: Connection,
    /// The URL without its password, for messages.
    shown: String,
    /// Where the next `XAUTOCLAIM` scan starts.
    cursor: String,
}

/// `url` with any password (user info, or a query such as `?pass=`) hidden, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, _)) => (base, "?***"),
        None => (url, ""),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &base[..scheme], &base[at + 1..])
        }
        _ => base.to_string(),
    };
    format!("{base}{query}")
}

fn queue_error(what: &str) -> impl Fn(redis::RedisError) -> Error + '_ {
    move |e| Error::Queue(format!("{what}: {e}"))
}

fn connection(client: &redis::Client, shown: &str) -> Result<Connection> {
    let con = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| Error::Queue(format!("cannot reach Redis at {shown}: {e}")))?;
    con.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| con.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(queue_error("setting timeouts"))?;
    Ok(con)
}

impl Queue {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`) and makes sure both consumer groups exist.
    pub fn connect(url: &str) -> Result<Queue> {
        let shown = redact_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(format!("--queue {shown}: not a Redis URL ({e})")))?;
        let con = connection(&client, &shown)?;
        let mut queue = Queue {
            client,
            con,
            shown,
            cursor: "0-0".into(),
        };
        queue.ensure_groups()?;
        Ok(queue)
    }

    /// The URL as shown (without a password).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// A second connection to the same server (a lease's heartbeat runs on its own).
    pub fn another(&self) -> Result<Queue> {
        Ok(Queue {
            client: self.client.clone(),
            con: connection(&self.client, &self.shown)?,
            shown: self.shown.clone(),
            cursor: "0-0".into(),
        })
    }

    /// Creates the consumer groups (and streams) unless they exist.
    pub fn ensure_groups(&mut self) -> Result<()> {
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

    /// Sets the policy every worker follows (the server does, at start).
    pub fn configure(&mut self, policy: &Policy) -> Result<()> {
        let srs = match &policy.srs {
            SrsChoice::Dev => "dev".to_string(),
            SrsChoice::File(path) => format!("file:{}", path.display()),
        };
        let lease_ms = u64::try_from(policy.lease.as_millis()).unwrap_or(u64::MAX);
        self.con
            .hset_multiple::<_, _, _, ()>(
                CONFIG,
                &[
                    ("lease_ms", lease_ms.to_string()),
                    ("max_attempts", policy.max_attempts.to_string()),
                    ("srs", srs),
                ],
            )
            .map_err(queue_error("writing the workers' policy"))
    }

    /// The server's policy for its workers.
    pub fn policy(&mut self) -> Result<Policy> {
        let map: std::collections::HashMap<String, String> = self
            .con
            .hgetall(CONFIG)
            .map_err(queue_error("reading the workers' policy"))?;
        let get = |k: &str| {
            map.get(k).ok_or_else(|| {
                Error::Config(format!(
                    "{}: no {k} in {CONFIG}: start `zkinfer serve --queue` on this Redis first",
                    self.shown
                ))
            })
        };
        let number = |k: &str| -> Result<u64> {
            get(k)?
                .parse()
                .map_err(|e| Error::Config(format!("{CONFIG} {k}: {e}")))
        };
        let srs = match get("srs")?.as_str() {
            "dev" => SrsChoice::Dev,
            other => match other.strip_prefix("file:") {
                Some(path) => SrsChoice::File(path.into()),
                None => return Err(Error::Config(format!("{CONFIG} srs {other:?}"))),
            },
        };
        Ok(Policy {
            lease: Duration::from_millis(number("lease_ms")?.max(100)),
            max_attempts: u32::try_from(number("max_attempts")?)
                .unwrap_or(u32::MAX)
                .max(1),
            srs,
        })
    }

    /// Publishes a job's first run; false when it was published before.
    pub fn publish(&mut self, work: &Work) -> Result<bool> {
        let job = QueuedJob {
            work: work.clone(),
            attempts_before: 0,
        };
        let added: i64 = redis::Script::new(PUBLISH)
            .key(published_key(&work.id))
            .key(JOBS)
            .arg(job.fields())
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
                &self.cursor,
                StreamAutoClaimOptions::default().count(1),
            )
            .map_err(queue_error("reclaiming expired jobs"))?;
        // The scan goes on where it stopped (each call looks at a few pending entries).
        self.cursor = reclaimed.next_stream_id.clone();
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
        let pending: redis::streams::StreamPendingCountReply = self
            .con
            .xpending_count(JOBS, WORKERS, &entry.id, &entry.id, 1)
            .map_err(queue_error("reading a job's deliveries"))?;
        let delivered = pending
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX));
        Ok(Some(Delivery {
            job: parse_job(&entry),
            entry: entry.id,
            delivered,
        }))
    }

    fn owned_script(&mut self, body: &str, keys: &[&str], args: &[String]) -> Result<bool> {
        let script = redis::Script::new(&format!("{OWNED}{body}"));
        let mut invocation = script.prepare_invoke();
        for k in keys {
            invocation.key(*k);
        }
        for a in args {
            invocation.arg(a);
        }
        let done: i64 = invocation
            .invoke(&mut self.con)
            .map_err(queue_error("updating a job's entry"))?;
        Ok(done == 1)
    }

    /// Renews `worker`'s lease on `entry`; false when another worker has taken it over.
    pub fn heartbeat(&mut self, worker: &str, entry: &str) -> Result<bool> {
        self.owned_script(HEARTBEAT, &[JOBS], &[entry.into(), worker.into()])
    }

    /// Records a finished run (done, or failed for good) and, while this worker holds the entry,
    /// acknowledges it, at once. (A result from a worker that lost its lease is still added: the
    /// server records the first result of a job.)
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
        let args = [
            delivery.entry.as_str(),
            worker,
            job,
            "job",
            job,
            "status",
            status,
            detail_key,
            &detail,
            "attempts",
            &delivery.attempt().to_string(),
            "seconds",
            &seconds.to_string(),
            "worker",
            worker,
        ]
        .map(String::from);
        self.owned_script(COMPLETE, &[JOBS, RESULTS, ERRORS], &args)?;
        Ok(())
    }

    /// Queues the job again after a retryable failure (a new entry counting this run), keeping
    /// its error for a dead letter, and acknowledges this entry: at once, and only while this
    /// worker holds it (false otherwise: the job runs elsewhere).
    pub fn retry(
        &mut self,
        worker: &str,
        delivery: &Delivery,
        job: &QueuedJob,
        error: &str,
    ) -> Result<bool> {
        let next = QueuedJob {
            work: job.work.clone(),
            attempts_before: delivery.attempt(),
        };
        let mut args = vec![
            delivery.entry.clone(),
            worker.to_string(),
            job.work.id.clone(),
            error.to_string(),
        ];
        args.extend(next.fields());
        let published = published_key(&job.work.id);
        self.owned_script(RETRY, &[JOBS, ERRORS, &published], &args)
    }

    /// Gives a job up: a dead letter with its error, a failed result for the server, and the
    /// entry acknowledged, at once, while this worker holds it. An entry that is not a job only
    /// gets the dead letter.
    pub fn dead_letter(&mut self, worker: &str, delivery: &Delivery, error: &str) -> Result<bool> {
        let job = delivery
            .job
            .as_ref()
            .map(|j| j.work.id.clone())
            .unwrap_or_default();
        let attempts = delivery.attempt();
        let args = [
            delivery.entry.clone(),
            worker.to_string(),
            job,
            error.to_string(),
            attempts.to_string(),
            format!("dead-lettered after {attempts} attempts: {error}"),
        ];
        self.owned_script(DEAD_LETTER, &[JOBS, RESULTS, ERRORS, DEAD], &args)
    }

    /// Whether `job` is still published (its result not yet recorded by the server).
    pub fn is_published(&mut self, job: &str) -> Result<bool> {
        self.con
            .exists(published_key(job))
            .map_err(queue_error("reading a job's publication"))
    }

    /// Acknowledges and deletes `entry` of a job whose result is already recorded (a stale
    /// duplicate), when this worker holds it.
    pub fn drop_stale(&mut self, worker: &str, entry: &str) -> Result<bool> {
        self.owned_script(DROP_STALE, &[JOBS], &[entry.into(), worker.into()])
    }

    /// The last retryable error of `job`, if one was kept.
    pub fn last_error(&mut self, job: &str) -> Result<Option<String>> {
        self.con
            .hget(ERRORS, job)
            .map_err(queue_error("reading a job's last error"))
    }

    /// Results for the server: those it read before and did not acknowledge (`pending`: after
    /// a restart or a failed step), else new ones (waiting up to half a second). Each is the
    /// entry's id and the result, or why the entry is not one.
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

    /// Acknowledges and deletes a recorded result (or a malformed entry) and forgets the job's
    /// publication.
    pub fn ack_result(&mut self, entry: &str, job: Option<&str>) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .xack(RESULTS, SERVER, &[entry])
            .ignore()
            .xdel(RESULTS, &[entry])
            .ignore();
        if let Some(job) = job {
            pipe.del(published_key(job)).ignore();
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
    let id = checked_id(entry, "job")?;
    let kind = field(entry, "kind")?;
    let kind = JobKind::parse(&kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
    let build = match kind {
        JobKind::Proof | JobKind::Segment => Some(checked_id(entry, "build")?),
        JobKind::Build => None,
    };
    let (parent, segment) = match kind {
        JobKind::Segment => (
            Some(checked_id(entry, "parent")?),
            Some(
                field(entry, "segment")?
                    .parse()
                    .map_err(|e| format!("segment: {e}"))?,
            ),
        ),
        _ => (None, None),
    };
    let attempts_before = field(entry, "attempts")?
        .parse()
        .map_err(|e| format!("attempts: {e}"))?;
    Ok(QueuedJob {
        work: Work {
            id,
            kind,
            build,
            parent,
            segment,
        },
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
    use redis::Value;

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
        assert_eq!(job.work.build.as_deref(), Some(id.as_str()));
        assert_eq!(job.attempts_before, 2);
        // Fields written are fields read.
        let segment = QueuedJob {
            work: Work {
                id: id.clone(),
                kind: JobKind::Segment,
                build: Some(id.clone()),
                parent: Some(id.clone()),
                segment: Some(3),
            },
            attempts_before: 1,
        };
        let f = segment.fields();
        let pairs: Vec<(&str, &str)> = f
            .chunks(2)
            .map(|c| (c[0].as_str(), c[1].as_str()))
            .collect();
        assert_eq!(parse_job(&entry(&pairs)).unwrap(), segment);
        let no_parent = entry(&[
            ("job", &id),
            ("kind", "segment"),
            ("build", &id),
            ("attempts", "0"),
        ]);
        assert!(parse_job(&no_parent).unwrap_err().contains("parent"));
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
