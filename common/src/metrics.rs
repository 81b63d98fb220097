//! Prometheus metrics, named in one place. Code records through the small
//! functions here; `/metrics` on the API and on each worker renders them.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::jobs::{JobKind, JobStatus};

/// Installs the process's recorder. Call it at start: whatever is recorded
/// before is lost. Calling it again does nothing.
pub fn install() {
    handle();
}

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests that embed
        // several Hero parts); the handle still renders this one's.
        metrics::set_global_recorder(recorder).ok();
        handle
    })
}

/// The text `/metrics` serves.
pub fn render() -> String {
    handle().render()
}

pub fn dispatched(kind: JobKind, lag: Duration) {
    counter!("hero_jobs_dispatched_total", "kind" => kind.as_str()).increment(1);
    histogram!("hero_dispatch_lag_seconds", "kind" => kind.as_str()).record(lag.as_secs_f64());
}

pub fn job_accepted(kind: JobKind) {
    counter!("hero_jobs_accepted_total", "kind" => kind.as_str()).increment(1);
}

/// A batch was accepted with `jobs` jobs; they count as accepted jobs too.
pub fn batch_accepted(kind: JobKind, jobs: i64) {
    counter!("hero_batches_accepted_total", "kind" => kind.as_str()).increment(1);
    counter!("hero_jobs_accepted_total", "kind" => kind.as_str())
        .increment(u64::try_from(jobs).unwrap_or(0));
}

/// A run of a job ended: `outcome` is `succeeded`, `failed`, `retry` or
/// `cancelled`.
pub fn job_ran(kind: JobKind, outcome: &'static str, took: Duration) {
    counter!("hero_jobs_total", "kind" => kind.as_str(), "outcome" => outcome).increment(1);
    histogram!("hero_job_duration_seconds", "kind" => kind.as_str(), "outcome" => outcome)
        .record(took.as_secs_f64());
}

pub fn lease_waited(took: Duration) {
    histogram!("hero_lease_wait_seconds").record(took.as_secs_f64());
}

pub fn live_sandboxes(count: i64) {
    #[allow(clippy::cast_precision_loss)]
    gauge!("hero_live_sandboxes").set(count as f64);
}

/// Jobs by kind and status, as the record holds them (queue depth is the
/// `queued` and `dispatched` counts).
pub fn job_counts(counts: &[(JobKind, JobStatus, i64)]) {
    for kind in JobKind::ALL {
        for status in JobStatus::ALL {
            let count = counts
                .iter()
                .find(|(k, s, _)| *k == kind && *s == status)
                .map_or(0, |(_, _, n)| *n);
            #[allow(clippy::cast_precision_loss)]
            gauge!("hero_jobs", "kind" => kind.as_str(), "status" => status.as_str())
                .set(count as f64);
        }
    }
}
