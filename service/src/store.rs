//! The durable job store: one SQLite database (`jobs.sqlite`, WAL, synchronous writes) under the
//! data directory. A build and a proof are each a job. Every state change is one conditional
//! update (`... WHERE status = 'running'`), so a job finishes at most once; the worker writes the
//! result file (by rename) before it marks the job done. After a stop, even `kill -9`,
//! [`Store::recover`] puts the jobs that were running back in the queue (or fails those that
//! have used their attempts).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::{Error, Result};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Compile an uploaded model and make its keys.
    Build,
    /// Prove an input on a ready build (on a segmented build: aggregate its segment proofs).
    Proof,
    /// Prove one segment of a proof on a segmented build (a child of the proof job).
    Segment,
}

impl JobKind {
    /// The kind as stored and queued.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Build => "build",
            JobKind::Proof => "proof",
            JobKind::Segment => "segment",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "build" => Some(JobKind::Build),
            "proof" => Some(JobKind::Proof),
            "segment" => Some(JobKind::Segment),
            _ => None,
        }
    }
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// A proof on a segmented build, waiting for its segments to be proven.
    Waiting,
    /// Waiting for a worker.
    Queued,
    /// A worker has it.
    Running,
    /// Finished: its result is on disk.
    Done,
    /// Given up: its error says why.
    Failed,
}

impl JobStatus {
    /// Every status, in order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Waiting,
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Done,
        JobStatus::Failed,
    ];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Waiting => "waiting",
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Where a proof's on-chain submission is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Waiting for its proof, or for the chain to answer.
    Pending,
    /// Credited on chain (by this server, or found there already).
    Submitted,
    /// Not credited: the oracle refused it, the proof failed, or the chain never answered.
    Failed,
}

impl SubmissionStatus {
    /// Every status, in order.
    pub const ALL: [SubmissionStatus; 3] = [
        SubmissionStatus::Pending,
        SubmissionStatus::Submitted,
        SubmissionStatus::Failed,
    ];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Pending => "pending",
            SubmissionStatus::Submitted => "submitted",
            SubmissionStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        SubmissionStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A submission's stored detail (a JSON object: the receipt, or the error).
fn submission_detail(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|d| serde_json::from_str(&d).ok())
}

/// A submission due: its proof is done and it is pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueSubmission {
    /// The proof job.
    pub job: String,
    /// The oracle it was requested for.
    pub oracle: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The transaction an earlier attempt sent, if any.
    pub tx_hash: Option<String>,
}

/// One job as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// 32 lowercase hex digits.
    pub id: String,
    /// Build or proof.
    pub kind: JobKind,
    /// The owner id of the key that made it.
    #[serde(skip)]
    pub owner: String,
    /// A proof job's build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// A segment job's proof job.
    #[serde(skip)]
    pub parent: Option<String>,
    /// A segment job's index.
    #[serde(skip)]
    pub segment: Option<u32>,
    /// Where it is.
    pub status: JobStatus,
    /// Runs started (a run cut short by a crash counts).
    pub attempts: u32,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the finished job reports (a build's settings summary; a proof's timings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Job {
    /// What a worker needs of it.
    pub fn work(&self) -> crate::jobs::Work {
        crate::jobs::Work {
            id: self.id.clone(),
            kind: self.kind,
            build: self.build_id.clone(),
            parent: self.parent.clone(),
            segment: self.segment,
        }
    }
}

/// Limits checked when a job is queued.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// Jobs of one owner queued or running.
    pub per_owner: usize,
    /// Jobs queued or running in all.
    pub total: usize,
}

/// The job store.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    build_id TEXT,
    parent TEXT,
    segment INTEGER,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, seq);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, status);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs(parent, status);
CREATE TABLE IF NOT EXISTS submissions (
    job TEXT PRIMARY KEY REFERENCES jobs(id),
    oracle TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions(status);
";

const COLUMNS: &str = "id, kind, owner, build_id, status, attempts, error, summary, created_at, \
                       updated_at, parent, segment";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn check_room(conn: &Connection, owner: &str, limits: QueueLimits) -> Result<()> {
    // A proof counts once, whatever its segments.
    let active = "parent IS NULL AND status IN ('waiting', 'queued', 'running')";
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    let mine = count(conn.query_row(
        &format!("SELECT COUNT(*) FROM jobs WHERE owner = ?1 AND {active}"),
        params![owner],
        |r| r.get(0),
    )?);
    if mine >= limits.per_owner {
        return Err(Error::TooManyForKey(mine));
    }
    let all = count(conn.query_row(
        &format!("SELECT COUNT(*) FROM jobs WHERE {active}"),
        [],
        |r| r.get(0),
    )?);
    if all >= limits.total {
        return Err(Error::QueueFull(all));
    }
    Ok(())
}

/// A row to insert.
#[derive(Clone, Copy)]
struct NewJob<'a> {
    id: &'a str,
    kind: JobKind,
    owner: &'a str,
    build_id: Option<&'a str>,
    /// A segment's proof job and index.
    parent: Option<(&'a str, u32)>,
    status: JobStatus,
    /// A proof to send on chain once it is done (`?submit=true`): to this oracle.
    submit: Option<&'a str>,
}

impl NewJob<'_> {
    fn insert(&self, conn: &Connection, t: i64) -> Result<()> {
        conn.execute(
            "INSERT INTO jobs (id, kind, owner, build_id, parent, segment, status, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                self.id,
                self.kind.as_str(),
                self.owner,
                self.build_id,
                self.parent.map(|p| p.0),
                self.parent.map(|p| p.1),
                self.status.as_str(),
                t
            ],
        )?;
        if let Some(oracle) = self.submit {
            conn.execute(
                "INSERT INTO submissions (job, oracle, status, updated_at) \
                 VALUES (?1, ?2, 'pending', ?3)",
                params![self.id, oracle, t],
            )?;
        }
        Ok(())
    }
}

/// Adds the columns of segment jobs to a database made before them.
fn migrate(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('jobs')")?;
    let columns = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if columns.is_empty() {
        return Ok(());
    }
    for (column, kind) in [("parent", "TEXT"), ("segment", "INTEGER")] {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// Moves proofs on segmented builds on: one waiting with a segment failed for good fails (and
/// its queued segments with it); one waiting with every segment done is queued to aggregate.
/// A failed proof's pending submission fails with it: nothing will be sent for it.
fn settle(conn: &Connection) -> Result<()> {
    let t = now();
    conn.execute(
        "UPDATE jobs SET status = 'failed', updated_at = ?1, error = ( \
             SELECT 'segment ' || c.segment || ': ' || COALESCE(c.error, 'failed') FROM jobs c \
             WHERE c.parent = jobs.id AND c.status = 'failed' ORDER BY c.segment LIMIT 1) \
         WHERE status = 'waiting' AND EXISTS ( \
             SELECT 1 FROM jobs c WHERE c.parent = jobs.id AND c.status = 'failed')",
        params![t],
    )?;
    conn.execute(
        "UPDATE jobs SET status = 'failed', updated_at = ?1, \
             error = 'another segment of its proof failed' \
         WHERE status = 'queued' AND parent IS NOT NULL AND EXISTS ( \
             SELECT 1 FROM jobs p WHERE p.id = jobs.parent AND p.status = 'failed')",
        params![t],
    )?;
    conn.execute(
        "UPDATE jobs SET status = 'queued', updated_at = ?1 \
         WHERE status = 'waiting' AND NOT EXISTS ( \
             SELECT 1 FROM jobs c WHERE c.parent = jobs.id AND c.status != 'done')",
        params![t],
    )?;
    conn.execute(
        "UPDATE submissions SET status = 'failed', updated_at = ?1, \
             detail = '{\"error\":\"the proof failed: nothing was sent\"}' \
         WHERE status = 'pending' AND job IN (SELECT id FROM jobs WHERE status = 'failed')",
        params![t],
    )?;
    Ok(())
}

fn row_to_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let kind: String = row.get(1)?;
    let status: String = row.get(4)?;
    let summary: Option<String> = row.get(7)?;
    let bad = |what: &str, text: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {what} {text:?}").into(),
        )
    };
    Ok(Job {
        id: row.get(0)?,
        kind: JobKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        owner: row.get(2)?,
        build_id: row.get(3)?,
        status: JobStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        attempts: row.get(5)?,
        error: row.get(6)?,
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        parent: row.get(10)?,
        segment: row.get(11)?,
    })
}

impl Store {
    /// Opens (creating) `jobs.sqlite` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join("jobs.sqlite");
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Every committed state change survives a crash of the process (and, with result files
        // written and synced before, of the machine).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate(&conn)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each statement is atomic).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a new job, unless its owner or the whole queue is at its limit; `submit`: the
    /// oracle to send a proof to once done (recorded with the job, in one transaction).
    pub fn insert(
        &self,
        id: &str,
        kind: JobKind,
        owner: &str,
        build_id: Option<&str>,
        submit: Option<&str>,
        limits: QueueLimits,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        check_room(&tx, owner, limits)?;
        let row = NewJob {
            id,
            kind,
            owner,
            build_id,
            parent: None,
            status: JobStatus::Queued,
            submit,
        };
        row.insert(&tx, now())?;
        tx.commit()?;
        Ok(())
    }

    /// Queues a proof on a segmented build: the proof job `id` waits while its `segments` child
    /// jobs (one per segment, queued) are proven; it is queued (to aggregate them) when the last
    /// is done, and fails when one fails for good. `submit` as for [`Store::insert`].
    pub fn insert_segmented(
        &self,
        id: &str,
        owner: &str,
        build_id: &str,
        segments: u32,
        submit: Option<&str>,
        limits: QueueLimits,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        check_room(&tx, owner, limits)?;
        let t = now();
        let parent = NewJob {
            id,
            kind: JobKind::Proof,
            owner,
            build_id: Some(build_id),
            parent: None,
            status: JobStatus::Waiting,
            submit,
        };
        parent.insert(&tx, t)?;
        for i in 0..segments {
            let child = crate::jobs::new_id();
            NewJob {
                id: &child,
                kind: JobKind::Segment,
                parent: Some((id, i)),
                status: JobStatus::Queued,
                submit: None,
                ..parent
            }
            .insert(&tx, t)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Segments of the proof `parent` done, and in all.
    pub fn progress(&self, parent: &str) -> Result<(u32, u32)> {
        Ok(self.conn().query_row(
            "SELECT COALESCE(SUM(status = 'done'), 0), COUNT(*) FROM jobs WHERE parent = ?1",
            params![parent],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Refuses (429 or 503) when `owner` or the whole queue is at its limit: checked before
    /// expensive work, and again when the job is queued.
    pub fn room(&self, owner: &str, limits: QueueLimits) -> Result<()> {
        check_room(&self.conn(), owner, limits)
    }

    /// The job `id`, whoever owns it.
    pub fn get(&self, id: &str) -> Result<Option<Job>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                row_to_job,
            )
            .optional()?)
    }

    /// The job `id` of `kind` when `owner` made it (another owner's job is not found).
    pub fn get_owned(&self, id: &str, kind: JobKind, owner: &str) -> Result<Option<Job>> {
        Ok(self.get(id)?.filter(|j| j.kind == kind && j.owner == owner))
    }

    /// Takes the oldest queued job: it becomes running, its attempts one more.
    pub fn claim(&self) -> Result<Option<Job>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let id: Option<String> = tx
            .query_row(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = ?2 \
             WHERE id = ?1 AND status = 'queued'",
            params![id, now()],
        )?;
        let job = tx.query_row(
            &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
            params![id],
            row_to_job,
        )?;
        tx.commit()?;
        Ok(Some(job))
    }

    /// Marks a running job done with its summary; false when it was not running (finished
    /// already, or re-queued): its result must not be recorded twice.
    pub fn finish(&self, id: &str, summary: &serde_json::Value) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "UPDATE jobs SET status = 'done', summary = ?2, error = NULL, updated_at = ?3 \
             WHERE id = ?1 AND status = 'running'",
            params![id, summary.to_string(), now()],
        )?;
        settle(&tx)?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Records a running job's failure: queued again when `retry` and it has attempts left,
    /// failed for good otherwise. Returns the status it is left in.
    pub fn fail(&self, id: &str, error: &str, retry: bool, max_attempts: u32) -> Result<JobStatus> {
        let mut conn = self.conn();
        let conn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let requeued = retry
            && conn.execute(
                "UPDATE jobs SET status = 'queued', error = ?2, updated_at = ?3 \
                 WHERE id = ?1 AND status = 'running' AND attempts < ?4",
                params![id, error, now(), max_attempts],
            )? == 1;
        if requeued {
            conn.commit()?;
            return Ok(JobStatus::Queued);
        }
        conn.execute(
            "UPDATE jobs SET status = 'failed', error = ?2, updated_at = ?3 \
             WHERE id = ?1 AND status = 'running'",
            params![id, error, now()],
        )?;
        settle(&conn)?;
        conn.commit()?;
        Ok(JobStatus::Failed)
    }

    /// After a stop: every job left running was cut short. Those with attempts left are queued
    /// again; the others fail with that reason. Returns how many were re-queued.
    pub fn recover(&self, max_attempts: u32) -> Result<usize> {
        let mut conn = self.conn();
        let conn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let t = now();
        let requeued = conn.execute(
            "UPDATE jobs SET status = 'queued', updated_at = ?1 \
             WHERE status = 'running' AND attempts < ?2",
            params![t, max_attempts],
        )?;
        conn.execute(
            "UPDATE jobs SET status = 'failed', updated_at = ?1, \
             error = 'interrupted ' || attempts || ' times (the server stopped while it ran)' \
             WHERE status = 'running'",
            params![t],
        )?;
        settle(&conn)?;
        conn.commit()?;
        Ok(requeued)
    }

    /// The jobs left running (with `--queue`: those published to workers), oldest first.
    pub fn running(&self) -> Result<Vec<Job>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE status = 'running' ORDER BY seq"
        ))?;
        let jobs = stmt
            .query_map([], row_to_job)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(jobs)
    }

    /// Records the runs a worker reports for a running job (with `--queue`, the workers count
    /// them: a run cut short by a worker's death is one).
    pub fn set_attempts(&self, id: &str, attempts: u32) -> Result<()> {
        self.conn().execute(
            "UPDATE jobs SET attempts = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'running'",
            params![id, attempts, now()],
        )?;
        Ok(())
    }

    /// The oldest pending submission whose proof is done.
    pub fn next_submission(&self) -> Result<Option<DueSubmission>> {
        let row: Option<(String, String, u32, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT s.job, s.oracle, s.attempts, s.detail FROM submissions s \
                 JOIN jobs j ON j.id = s.job WHERE s.status = 'pending' AND j.status = 'done' \
                 ORDER BY s.updated_at, j.seq LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.map(|(job, oracle, attempts, detail)| DueSubmission {
            job,
            oracle,
            attempts,
            tx_hash: submission_detail(detail)
                .and_then(|d| d["tx_hash"].as_str().map(str::to_string)),
        }))
    }

    /// Records an attempt at the submission of `job`: its new status and detail (the receipt,
    /// or the error).
    pub fn record_submission(
        &self,
        job: &str,
        status: SubmissionStatus,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE submissions SET status = ?2, detail = ?3, attempts = attempts + 1, \
                 updated_at = ?4 WHERE job = ?1 AND status = 'pending'",
            params![job, status.as_str(), detail.to_string(), now()],
        )?;
        Ok(())
    }

    /// The submission of `job`, if one was requested: `{status, attempts, ...detail}`.
    pub fn submission(&self, job: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<(String, u32, Option<String>, String)> = self
            .conn()
            .query_row(
                "SELECT status, attempts, detail, oracle FROM submissions WHERE job = ?1",
                params![job],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.map(|(status, attempts, detail, oracle)| {
            let mut out = submission_detail(detail)
                .filter(serde_json::Value::is_object)
                .unwrap_or_else(|| serde_json::json!({}));
            out["status"] = status.into();
            out["attempts"] = attempts.into();
            out["oracle"] = oracle.into();
            out
        }))
    }

    /// Submissions per status.
    pub fn submission_counts(&self) -> Result<Vec<(SubmissionStatus, u64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM submissions GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (status, n) = row?;
            if let Some(s) = SubmissionStatus::parse(&status) {
                out.push((s, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }

    /// Jobs per (kind, status).
    pub fn counts(&self) -> Result<Vec<(JobKind, JobStatus, u64)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, status, n) = row?;
            if let (Some(k), Some(s)) = (JobKind::parse(&kind), JobStatus::parse(&status)) {
                out.push((k, s, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: QueueLimits = QueueLimits {
        per_owner: 2,
        total: 3,
    };

    fn store(name: &str) -> (Store, PathBuf) {
        let dir = std::env::temp_dir().join(format!("zkinfer-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (Store::open(&dir).unwrap(), dir)
    }

    #[test]
    fn a_job_finishes_once_and_limits_hold() {
        let (s, _dir) = store("once");
        s.insert("a", JobKind::Build, "k1", None, None, LIMITS)
            .unwrap();
        s.insert("b", JobKind::Build, "k1", None, None, LIMITS)
            .unwrap();
        assert!(matches!(
            s.insert("c", JobKind::Build, "k1", None, None, LIMITS),
            Err(Error::TooManyForKey(2))
        ));
        s.insert("c", JobKind::Build, "k2", None, None, LIMITS)
            .unwrap();
        assert!(matches!(
            s.insert("d", JobKind::Build, "k3", None, None, LIMITS),
            Err(Error::QueueFull(3))
        ));
        let job = s.claim().unwrap().unwrap();
        assert_eq!(
            (job.id.as_str(), job.status, job.attempts),
            ("a", JobStatus::Running, 1)
        );
        assert!(s.finish("a", &serde_json::json!({"ok": 1})).unwrap());
        // A second result for the same job is refused.
        assert!(!s.finish("a", &serde_json::json!({"ok": 2})).unwrap());
        assert_eq!(s.get("a").unwrap().unwrap().summary.unwrap()["ok"], 1);
        // Another owner's job is not found.
        assert!(s.get_owned("a", JobKind::Build, "k2").unwrap().is_none());
        assert!(s.get_owned("a", JobKind::Proof, "k1").unwrap().is_none());
        assert!(s.get_owned("a", JobKind::Build, "k1").unwrap().is_some());
    }

    #[test]
    fn a_requested_submission_waits_for_its_proof_and_is_recorded_once_final() {
        let (s, _dir) = store("submissions");
        s.insert("a", JobKind::Proof, "k", Some("b"), Some("0x0a"), LIMITS)
            .unwrap();
        s.insert("b", JobKind::Proof, "k", Some("b"), None, LIMITS)
            .unwrap();
        assert!(s.submission("b").unwrap().is_none(), "not requested");
        assert_eq!(s.submission("a").unwrap().unwrap()["status"], "pending");
        // Nothing is due while the proof is queued or running.
        assert_eq!(s.next_submission().unwrap(), None);
        assert_eq!(s.claim().unwrap().unwrap().id, "a");
        assert_eq!(s.next_submission().unwrap(), None);
        assert!(s.finish("a", &serde_json::json!({})).unwrap());
        let due = |attempts, tx_hash: Option<&str>| {
            Some(DueSubmission {
                job: "a".into(),
                oracle: "0x0a".into(),
                attempts,
                tx_hash: tx_hash.map(str::to_string),
            })
        };
        assert_eq!(s.next_submission().unwrap(), due(0, None));
        // An unanswered attempt stays pending and counts; a sent transaction is remembered.
        let unreachable = serde_json::json!({"error": "connection refused"});
        s.record_submission("a", SubmissionStatus::Pending, &unreachable)
            .unwrap();
        assert_eq!(s.next_submission().unwrap(), due(1, None));
        let in_flight = serde_json::json!({"tx_hash": "0xcd"});
        s.record_submission("a", SubmissionStatus::Pending, &in_flight)
            .unwrap();
        assert_eq!(s.next_submission().unwrap(), due(2, Some("0xcd")));
        let receipt = serde_json::json!({"tx_hash": "0xab"});
        s.record_submission("a", SubmissionStatus::Submitted, &receipt)
            .unwrap();
        assert_eq!(s.next_submission().unwrap(), None);
        // A final status is never overwritten.
        s.record_submission("a", SubmissionStatus::Failed, &unreachable)
            .unwrap();
        let shown = s.submission("a").unwrap().unwrap();
        assert_eq!(
            (&shown["status"], &shown["tx_hash"], &shown["attempts"]),
            (&"submitted".into(), &"0xab".into(), &3.into())
        );
        // A proof that fails takes its submission with it.
        s.insert("c", JobKind::Proof, "k2", Some("b"), Some("0x0a"), LIMITS)
            .unwrap();
        let c = s.claim().unwrap().unwrap();
        assert_eq!(c.id, "b");
        let c = s.claim().unwrap().unwrap();
        assert_eq!(c.id, "c");
        s.fail("c", "bad input", false, 3).unwrap();
        let shown = s.submission("c").unwrap().unwrap();
        assert_eq!(shown["status"], "failed");
        assert!(shown["error"].as_str().unwrap().contains("proof failed"));
    }

    #[test]
    fn recovery_requeues_running_jobs_until_their_attempts_run_out() {
        let (s, dir) = store("recover");
        s.insert("a", JobKind::Proof, "k", Some("b0"), None, LIMITS)
            .unwrap();
        for attempt in 1..=3 {
            let job = s.claim().unwrap().unwrap();
            assert_eq!(job.attempts, attempt);
            // The process dies here; a new one opens the same database.
            drop(s.conn());
            let reopened = Store::open(&dir).unwrap();
            let requeued = reopened.recover(3).unwrap();
            assert_eq!(requeued, usize::from(attempt < 3), "attempt {attempt}");
        }
        let job = s.get("a").unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert!(job.error.unwrap().contains("interrupted 3 times"));
        assert!(s.claim().unwrap().is_none());
    }

    #[test]
    fn a_failure_is_retried_only_when_retryable() {
        let (s, _dir) = store("fail");
        s.insert("a", JobKind::Proof, "k", Some("b"), None, LIMITS)
            .unwrap();
        s.claim().unwrap();
        assert_eq!(s.fail("a", "io", true, 3).unwrap(), JobStatus::Queued);
        s.claim().unwrap();
        assert_eq!(
            s.fail("a", "bad input", false, 3).unwrap(),
            JobStatus::Failed
        );
        assert_eq!(
            s.get("a").unwrap().unwrap().error.as_deref(),
            Some("bad input")
        );
        assert!(s.claim().unwrap().is_none());
    }

    #[test]
    fn a_segmented_proof_waits_for_its_segments_and_fails_with_one() {
        let (s, dir) = store("segmented");
        // Counted once against the limits, whatever its segments.
        s.insert_segmented("p", "k", "b", 3, None, LIMITS).unwrap();
        s.insert_segmented("q", "k", "b", 2, None, LIMITS).unwrap();
        assert!(matches!(
            s.insert("x", JobKind::Proof, "k", Some("b"), None, LIMITS),
            Err(Error::TooManyForKey(2))
        ));
        assert_eq!(s.get("p").unwrap().unwrap().status, JobStatus::Waiting);
        // p's three segments come first; the proof job itself is not claimable while it waits.
        let segs: Vec<Job> = (0..3).map(|_| s.claim().unwrap().unwrap()).collect();
        assert!(segs
            .iter()
            .all(|j| j.kind == JobKind::Segment && j.parent.as_deref() == Some("p")));
        let mut index: Vec<u32> = segs.iter().map(|j| j.segment.unwrap()).collect();
        index.sort();
        assert_eq!(index, [0, 1, 2]);
        for (n, seg) in segs.iter().enumerate() {
            assert_eq!(s.progress("p").unwrap(), (n as u32, 3));
            assert_eq!(s.get("p").unwrap().unwrap().status, JobStatus::Waiting);
            assert!(s.finish(&seg.id, &serde_json::json!({})).unwrap());
        }
        // The last segment done: the proof job is queued, to aggregate.
        assert_eq!(s.get("p").unwrap().unwrap().status, JobStatus::Queued);
        // The oldest job first: p's aggregation.
        assert_eq!(s.claim().unwrap().unwrap().id, "p");
        // q: one segment fails for good; q fails naming it, its queued segment with it.
        let q0 = s.claim().unwrap().unwrap();
        assert_eq!(q0.parent.as_deref(), Some("q"));
        s.fail(&q0.id, "unsupported op", false, 3).unwrap();
        let q = s.get("q").unwrap().unwrap();
        assert_eq!(q.status, JobStatus::Failed);
        assert!(q.error.unwrap().contains("unsupported op"));
        assert!(
            s.claim().unwrap().is_none(),
            "q's other segment was left queued"
        );
        // A segment interrupted more often than allowed fails its proof at recovery too.
        s.insert_segmented("r", "k2", "b", 1, None, LIMITS).unwrap();
        let r0 = s.claim().unwrap().unwrap();
        drop(s.conn());
        Store::open(&dir).unwrap().recover(1).unwrap();
        assert_eq!(s.get(&r0.id).unwrap().unwrap().status, JobStatus::Failed);
        let r = s.get("r").unwrap().unwrap();
        assert_eq!(r.status, JobStatus::Failed);
        assert!(r.error.unwrap().contains("interrupted"), "segment's reason");
    }

    #[test]
    fn a_database_from_before_segment_jobs_opens_and_keeps_its_jobs() {
        let dir = std::env::temp_dir().join(format!("zkinfer-store-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old = Connection::open(dir.join("jobs.sqlite")).unwrap();
        old.execute_batch(
            "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, \
             kind TEXT NOT NULL, owner TEXT NOT NULL, build_id TEXT, status TEXT NOT NULL, \
             attempts INTEGER NOT NULL DEFAULT 0, error TEXT, summary TEXT, \
             created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL); \
             INSERT INTO jobs (id, kind, owner, status, created_at, updated_at) \
             VALUES ('a', 'build', 'k', 'queued', 0, 0);",
        )
        .unwrap();
        drop(old);
        let s = Store::open(&dir).unwrap();
        let job = s.claim().unwrap().unwrap();
        assert_eq!((job.id.as_str(), job.parent), ("a", None));
        s.insert_segmented("p", "k", "b", 1, None, LIMITS).unwrap();
        assert_eq!(s.progress("p").unwrap(), (0, 1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
