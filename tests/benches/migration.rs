//! A fleet migration through a small sandbox pool, on the real `hero-api`
//! and `hero-worker` processes (local forge, local sandboxes, settings as
//! deployed): 1,000 tiny repositories hydrated by one `hydrate` batch with
//! `HERO_MAX_SANDBOXES=10` (so the batch bound is the default 8).
//!
//! Prints the time to accept the batch, the time until every job ended,
//! the largest number of live sandboxes seen (sampled every 50 ms from the
//! record; must stay ≤ 10), and the latency of an agent's interactive
//! `run_tool` calls (`read_file`, submit -> result via `?wait=`) on another
//! project while the batch runs, against the same calls measured before
//! the batch in the same run. The agent pauses 100 ms between calls, as
//! an agent does between steps.
//!
//! ```text
//! cargo build --release -p hero-api -p hero-worker
//! cargo bench -p hero-tests --bench migration
//! ```
//!
//! `HERO_BENCH_SCALE=0.1` shrinks the fleet for a quick run. Needs
//! Postgres and Redis on 127.0.0.1, git and bubblewrap. Timings never fail
//! the run.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Spread, ms};

const MAX_SANDBOXES: i64 = 10;
const AGENT_PAUSE: Duration = Duration::from_millis(100);

#[tokio::main]
async fn main() {
    support::require_binaries();
    let projects = support::scaled(1000, 20);
    let baseline_calls = support::scaled(100, 20);
    let cluster = Arc::new(support::cluster(&[("HERO_MAX_SANDBOXES", "10")]).await);
    println!(
        "migration: hydrate batch over {projects} repositories, HERO_MAX_SANDBOXES={MAX_SANDBOXES}; \
         scale {}; {} cores shared with other work",
        support::scale(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    let setup = Instant::now();
    let fleet = support::fleet(&cluster, "fleet", "repo", projects).await;
    let agent = cluster.project("agent", "app", support::REPO_FILES).await;
    let hydrate = cluster.enqueue(&agent, "hydrate", json!({})).await.unwrap();
    let hydrated = cluster.wait(&hydrate, Duration::from_secs(120)).await;
    assert_eq!(hydrated["status"], "succeeded", "{hydrated}");
    println!(
        "setup (untimed): {projects} repositories linked in {:.1?}",
        setup.elapsed()
    );

    let read = json!({"tool": "read_file", "path": "notes.txt"});
    let mut quiet = Vec::with_capacity(baseline_calls);
    for _ in 0..baseline_calls {
        quiet.push(support::tool_call(&cluster, &agent, &read).await);
        tokio::time::sleep(AGENT_PAUSE).await;
    }

    let done = Arc::new(AtomicBool::new(false));
    let largest = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (cluster, done, largest) = (cluster.clone(), done.clone(), largest.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let live = support::live_sandboxes(&cluster).await;
                largest.fetch_max(live, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let started = Instant::now();
    let batch_id = support::start_batch(&cluster, "hydrate", &fleet).await;
    let accepted = started.elapsed();

    let watcher = {
        let (cluster, done) = (cluster.clone(), done.clone());
        tokio::spawn(async move {
            let report = support::batch_finished(&cluster, &batch_id).await;
            done.store(true, Ordering::Relaxed);
            (started.elapsed(), report)
        })
    };
    let mut busy = Vec::new();
    while !done.load(Ordering::Relaxed) {
        busy.push(support::tool_call(&cluster, &agent, &read).await);
        tokio::time::sleep(AGENT_PAUSE).await;
    }
    let (finished, report) = watcher.await.unwrap();
    sampler.await.unwrap();
    let largest = largest.load(Ordering::Relaxed);
    let agent_sandboxes = sandboxes_of(&cluster, &agent).await;

    println!(
        "accepted in {accepted:.2?}; finished in {finished:.1?} ({:.1} repositories/s); counts {}",
        count_per_second(projects, finished),
        report["counts"]
    );
    println!(
        "largest number of live sandboxes: {largest} (at most {MAX_SANDBOXES}): {}",
        if largest <= MAX_SANDBOXES {
            "PASS"
        } else {
            "FAIL"
        }
    );
    let (quiet, during) = (Spread::of(&quiet), Spread::of(&busy));
    println!(
        "interactive read_file, no batch:     p50 {:>9}  p99 {:>9}  max {:>9}  ({baseline_calls} calls)",
        ms(quiet.p50),
        ms(quiet.p99),
        ms(quiet.max)
    );
    println!(
        "interactive read_file, during batch: p50 {:>9}  p99 {:>9}  max {:>9}  ({} calls)",
        ms(during.p50),
        ms(during.p99),
        ms(during.max),
        busy.len()
    );
    println!(
        "ratio during/no batch: p50 {:.2}  p99 {:.2}; the agent's project had {agent_sandboxes} \
         sandbox(es) over the run (more than 1: evicted and re-created)",
        during.p50.as_secs_f64() / quiet.p50.as_secs_f64(),
        during.p99.as_secs_f64() / quiet.p99.as_secs_f64()
    );
    for (phase, during) in [("no batch", false), ("during batch", true)] {
        let stages = stages(&cluster, &agent, baseline_calls, during).await;
        println!(
            "agent's calls, {phase:>12}, median (max) from the record: accepted->dispatched \
             {:.1} ({:.1}) ms, dispatched->started {:.1} ({:.1}) ms, started->ended {:.1} ({:.1}) ms",
            stages[0], stages[1], stages[2], stages[3], stages[4], stages[5]
        );
    }
    support::clear_redis(&cluster.prefix).await;
}

/// Medians and maxima of the agent's `run_tool` calls' stages, before the
/// batch (the first `before` calls) or during it (the rest).
async fn stages(
    cluster: &hero_tests::cluster::Cluster,
    project: &str,
    before: usize,
    during: bool,
) -> Vec<f64> {
    let project: uuid::Uuid = project.parse().unwrap();
    let row: (f64, f64, f64, f64, f64, f64) = sqlx::query_as(
        "WITH calls AS (
             SELECT row_number() OVER (ORDER BY seq) AS n,
                    EXTRACT(EPOCH FROM dispatched_at - created_at)::float8 * 1000 AS dispatch,
                    EXTRACT(EPOCH FROM started_at - dispatched_at)::float8 * 1000 AS start,
                    EXTRACT(EPOCH FROM finished_at - started_at)::float8 * 1000 AS run
             FROM jobs WHERE project_id = $1 AND kind = 'run_tool')
         SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY dispatch), max(dispatch),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY start), max(start),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY run), max(run)
         FROM calls WHERE (n > $2) = $3",
    )
    .bind(project)
    .bind(i64::try_from(before).unwrap())
    .bind(during)
    .fetch_one(&cluster.db.pool)
    .await
    .unwrap();
    vec![row.0, row.1, row.2, row.3, row.4, row.5]
}

#[allow(clippy::cast_precision_loss)]
fn count_per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// How many sandboxes the project has had, live or closed.
async fn sandboxes_of(cluster: &hero_tests::cluster::Cluster, project: &str) -> i64 {
    let project: uuid::Uuid = project.parse().unwrap();
    sqlx::query_scalar("SELECT count(*) FROM sandboxes WHERE project_id = $1")
        .bind(project)
        .fetch_one(&cluster.db.pool)
        .await
        .unwrap()
}
