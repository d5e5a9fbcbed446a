//! `GET /metrics`: Prometheus text. Jobs by kind and state, submissions by state and the queue
//! depth are read from the store at each scrape (so they hold across restarts); job durations
//! are histograms of this process.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::{JobKind, JobStatus, Store, SubmissionStatus};
use crate::{Error, Result};

/// The labels of the jobs gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    state: String,
}

/// The labels of the submissions gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    jobs: Family<JobLabels, Gauge>,
    submissions: Family<StateLabel, Gauge>,
    queue_depth: Gauge,
    prove_seconds: Histogram,
    build_seconds: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The registry with every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zkinfer");
        let jobs = Family::<JobLabels, Gauge>::default();
        let submissions = Family::<StateLabel, Gauge>::default();
        let queue_depth = Gauge::default();
        // 0.05 s .. ~27 min.
        let prove_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 16));
        let build_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 16));
        registry.register("jobs", "Jobs by kind and state", jobs.clone());
        registry.register(
            "submissions",
            "On-chain submissions requested (submit=true) by state",
            submissions.clone(),
        );
        registry.register(
            "queue_depth",
            "Jobs waiting for a worker",
            queue_depth.clone(),
        );
        registry.register(
            "prove_seconds",
            "Proof jobs' proving time",
            prove_seconds.clone(),
        );
        registry.register(
            "build_seconds",
            "Build jobs' compile and setup time",
            build_seconds.clone(),
        );
        Metrics {
            registry,
            jobs,
            submissions,
            queue_depth,
            prove_seconds,
            build_seconds,
        }
    }

    /// Records a finished job's duration.
    pub fn observe(&self, kind: JobKind, seconds: f64) {
        match kind {
            JobKind::Proof | JobKind::Segment => self.prove_seconds.observe(seconds),
            JobKind::Build => self.build_seconds.observe(seconds),
        }
    }

    /// The text exposition, with the job counts read from `store` now.
    pub fn render(&self, store: &Store) -> Result<String> {
        let counts = store.counts()?;
        for kind in [JobKind::Build, JobKind::Proof, JobKind::Segment] {
            for state in JobStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(k, s, _)| *k == kind && *s == state)
                    .map_or(0, |c| c.2);
                self.jobs
                    .get_or_create(&JobLabels {
                        kind: format!("{kind:?}").to_lowercase(),
                        state: state.as_str().into(),
                    })
                    .set(n as i64);
            }
        }
        let queued: u64 = counts
            .iter()
            .filter(|c| c.1 == JobStatus::Queued)
            .map(|c| c.2)
            .sum();
        self.queue_depth.set(queued as i64);
        let submissions = store.submission_counts()?;
        for state in SubmissionStatus::ALL {
            let n = submissions
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |c| c.1);
            self.submissions
                .get_or_create(&StateLabel {
                    state: state.as_str().into(),
                })
                .set(n as i64);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| Error::Config(format!("metrics: {e}")))?;
        Ok(text)
    }
}
