//! `hero batch watch`: follows a batch until none of its jobs is left to
//! run, as a progress bar (plain lines when there is no terminal) or as
//! JSON lines, then sums it up.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::bail;
use hero_api::routes::batches::BatchReport;
use hero_common::jobs::batch::{Batch, BatchCounts, BatchFailure};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use uuid::Uuid;

use super::WatchOptions;
use super::rate::{RateMeter, short_duration};
use crate::api_client::{ApiClient, ClientError};
use crate::json_line::json_line;

/// The rate is measured over this much recent time.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// How long a watch rides out an API that does not answer (a restart, a
/// network blip) before it gives up.
const OUTAGE_PATIENCE: Duration = Duration::from_secs(120);
/// How often a watch without a terminal prints a progress line: often
/// enough to show a log that it goes on, seldom enough to read.
const LINE_EVERY: Duration = Duration::from_secs(10);
/// Failures asked for per request when summing up.
const FAILURE_PAGE: u32 = 1000;

/// Watches the batch to its end. Fails when any of its jobs failed or was
/// cancelled, so that a script can tell a clean run from the rest.
pub async fn watch(client: &ApiClient, id: Uuid, options: &WatchOptions) -> anyhow::Result<()> {
    let mut view = View::new(options.json);
    let mut meter = RateMeter::new(RATE_WINDOW);
    let watching = Instant::now();
    let mut unanswered_since: Option<Instant> = None;

    let batch = loop {
        let path = format!("/v1/batches/{id}?failures_limit=0");
        match client.get::<BatchReport>(&path).await {
            Ok(report) => {
                unanswered_since = None;
                meter.record(watching.elapsed(), report.batch.counts.ended());
                view.progress(&report.batch, &meter);
                if report.batch.finished_at.is_some() {
                    break report.batch;
                }
            }
            Err(error)
                if error.is_transient()
                    && unanswered_since.is_none_or(|since| since.elapsed() < OUTAGE_PATIENCE) =>
            {
                // Said once per outage; the bar shows the watch goes on.
                if unanswered_since.is_none() {
                    unanswered_since = Some(Instant::now());
                    view.warn(&format!(
                        "{error}; asking again for up to {}",
                        short_duration(OUTAGE_PATIENCE)
                    ));
                }
            }
            Err(error) => {
                view.abandon();
                return Err(error.into());
            }
        }
        tokio::time::sleep(options.interval).await;
    };

    let failures = all_failures(client, id).await?;
    view.summary(&batch, &failures);
    let BatchCounts {
        failed, cancelled, ..
    } = batch.counts;
    if failed > 0 || cancelled > 0 {
        bail!(
            "{failed} failed and {cancelled} cancelled of the batch's {} jobs",
            batch.total
        );
    }
    Ok(())
}

async fn all_failures(client: &ApiClient, id: Uuid) -> Result<Vec<BatchFailure>, ClientError> {
    let mut failures = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let cursor = after.map_or(String::new(), |job| format!("&failures_after={job}"));
        let path = format!("/v1/batches/{id}?failures_limit={FAILURE_PAGE}{cursor}");
        let page: BatchReport = client.get(&path).await?;
        failures.extend(page.failures);
        match page.next_failures_after {
            Some(next) => after = Some(next),
            None => return Ok(failures),
        }
    }
}

/// A `--json` progress line.
#[derive(Serialize)]
struct ProgressLine {
    batch_id: Uuid,
    total: i64,
    succeeded: i64,
    failed: i64,
    cancelled: i64,
    running: i64,
    waiting: i64,
    /// Jobs ended per second, recently.
    rate_per_second: Option<f64>,
    eta_seconds: Option<u64>,
}

/// The `--json` closing line.
#[derive(Serialize)]
struct SummaryLine<'a> {
    batch_id: Uuid,
    kind: String,
    total: i64,
    succeeded: i64,
    failed: i64,
    cancelled: i64,
    /// From acceptance to the last job's end.
    elapsed_seconds: Option<f64>,
    failures: &'a [BatchFailure],
}

fn elapsed(batch: &Batch) -> Option<Duration> {
    let finished = batch.finished_at?;
    (finished - batch.created_at).to_std().ok()
}

enum View {
    Json {
        last: Option<BatchCounts>,
    },
    Bar(ProgressBar),
    /// No terminal to draw a bar on (stderr goes to a log or a pipe,
    /// where indicatif draws nothing): a plain line now and then.
    Lines {
        last: Option<Instant>,
    },
}

impl View {
    fn new(json: bool) -> Self {
        if json {
            return Self::Json { last: None };
        }
        if !std::io::stderr().is_terminal() {
            return Self::Lines { last: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Self::Bar(bar)
    }

    fn progress(&mut self, batch: &Batch, meter: &RateMeter) {
        let counts = batch.counts;
        match self {
            Self::Json { last } => {
                // A line when something moved, not one per poll.
                if last.as_ref() == Some(&counts) {
                    return;
                }
                *last = Some(counts);
                let line = ProgressLine {
                    batch_id: batch.id,
                    total: batch.total,
                    succeeded: counts.succeeded,
                    failed: counts.failed,
                    cancelled: counts.cancelled,
                    running: counts.running,
                    waiting: counts.waiting(),
                    rate_per_second: meter.per_second(),
                    eta_seconds: meter
                        .time_left(counts.unfinished())
                        .map(|left| left.as_secs()),
                };
                println!("{}", json_line("progress", &line));
            }
            Self::Bar(bar) => {
                bar.set_length(u64::try_from(batch.total).unwrap_or(0));
                bar.set_position(u64::try_from(counts.ended()).unwrap_or(0));
                bar.set_message(progress_text(counts, meter));
            }
            Self::Lines { last } => {
                if last.is_some_and(|at| at.elapsed() < LINE_EVERY) {
                    return;
                }
                *last = Some(Instant::now());
                eprintln!(
                    "batch {}: {}/{} ended · {}",
                    batch.id,
                    counts.ended(),
                    batch.total,
                    progress_text(counts, meter)
                );
            }
        }
    }

    fn warn(&self, message: &str) {
        match self {
            Self::Json { .. } | Self::Lines { .. } => eprintln!("hero: {message}"),
            Self::Bar(bar) => bar.suspend(|| eprintln!("hero: {message}")),
        }
    }

    fn abandon(&self) {
        if let Self::Bar(bar) = self {
            bar.abandon();
        }
    }

    fn summary(self, batch: &Batch, failures: &[BatchFailure]) {
        let counts = batch.counts;
        match self {
            Self::Json { .. } => {
                let line = SummaryLine {
                    batch_id: batch.id,
                    kind: batch.kind.to_string(),
                    total: batch.total,
                    succeeded: counts.succeeded,
                    failed: counts.failed,
                    cancelled: counts.cancelled,
                    elapsed_seconds: elapsed(batch).map(|took| took.as_secs_f64()),
                    failures,
                };
                println!("{}", json_line("summary", &line));
            }
            Self::Bar(bar) => {
                bar.finish_and_clear();
                print_summary(batch, failures);
            }
            Self::Lines { .. } => print_summary(batch, failures),
        }
    }
}

/// Where a batch stands, after the count of jobs ended: `2 done · 1 failed
/// · 4 running · 3 waiting · 0.5/s · 14s left`.
fn progress_text(counts: BatchCounts, meter: &RateMeter) -> String {
    let rate = meter
        .per_second()
        .map_or_else(|| "-/s".to_owned(), |rate| format!("{rate:.1}/s"));
    let left = meter.time_left(counts.unfinished()).map_or_else(
        || "time left unknown".to_owned(),
        |left| format!("{} left", short_duration(left)),
    );
    let cancelled = if counts.cancelled > 0 {
        format!(" · {} cancelled", counts.cancelled)
    } else {
        String::new()
    };
    format!(
        "{} done · {} failed{cancelled} · {} running · {} waiting · {rate} · {left}",
        counts.succeeded,
        counts.failed,
        counts.running,
        counts.waiting(),
    )
}

/// The human summary, on stdout: the counts, then each failure.
fn print_summary(batch: &Batch, failures: &[BatchFailure]) {
    let counts = batch.counts;
    let took =
        elapsed(batch).map_or_else(String::new, |took| format!(" in {}", short_duration(took)));
    println!(
        "batch {} finished{took}: {} succeeded, {} failed, {} cancelled of {}",
        batch.id, counts.succeeded, counts.failed, counts.cancelled, batch.total
    );
    if !failures.is_empty() {
        println!("failures:");
    }
    for failure in failures {
        println!(
            "  {}  {}: {}  (job {})",
            failure.repo, failure.code, failure.message, failure.job_id
        );
    }
}
