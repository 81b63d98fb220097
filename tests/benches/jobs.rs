//! Jobs end to end, on the real `hero-api` and `hero-worker` processes
//! (local forge, local sandboxes, settings as deployed: one worker, 8 jobs
//! of a kind at once, a 5 ms queue poll, fetches of 10), each figure set
//! beside a baseline measured in the same run.
//!
//! - `latency`: a `run_tool` call (`run_shell` of `true`, `read_file` of a
//!   small file) on a hydrated project, from `POST /v1/projects/{id}/jobs`
//!   to its result from `GET /v1/jobs/{id}?wait=`, against the same
//!   operation done directly (`Sandbox::exec`, `Sandbox::read`) on the same
//!   sandbox, calls taken in turn. p50 and p99 of both and of the per-call
//!   overhead. Targets: overhead p50 ≤ 15 ms, p99 ≤ 50 ms.
//! - `throughput`: `read_file` jobs spread over 1,000 projects, submitted
//!   through the API 16 at a time, from the first submit until the record
//!   shows every one ended. The projects are linked and hydrated first
//!   (untimed), with `HERO_MAX_SANDBOXES` above the project count so that
//!   every sandbox stays. Baseline: a bare apalis-redis worker on its own
//!   queue in this process, with Hero's queue settings (poll, batch size,
//!   heartbeats, concurrency 8, spawned tasks), consuming no-op messages
//!   that are pushed as Hero's dispatcher pushes them (chunks, at most the
//!   backlog bound waiting). Target: at least 0.25 of the baseline.
//! - `batch`: one `POST /v1/batches` of `hydrate` over 10,000 projects
//!   with the batch bound (`HERO_BATCH_CONCURRENCY`) above the Redis
//!   backlog bound, so that only the backlog bound limits what waits in
//!   Redis. Prints the time to accept, the time until every job ended, the
//!   largest Redis backlog of each queue (ZCARD of its scheduled set plus
//!   LLEN of its active list, sampled every 100 ms) against the bound, and
//!   the worker process's peak RSS (VmHWM). Targets: backlog under the
//!   bound, every job succeeded, peak RSS ≤ 64 MB.
//!
//! ```text
//! cargo build --release -p hero-api -p hero-worker
//! cargo bench -p hero-tests --bench jobs [-- latency throughput batch]
//! ```
//!
//! `HERO_BENCH_SCALE=0.1` shrinks every size for a quick run. Needs
//! Postgres and Redis on 127.0.0.1, git and bubblewrap. Timings never fail
//! the run; each line says whether its target is met.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::{
    BackendExt as _, BoxDynError, Data, Monitor, ParallelizeExt as _, TaskBuilder, TaskId,
    WorkerBuilder, WorkerBuilderExt as _,
};
use apalis_redis::{RedisStorage, RedisTask};
use hero_common::jobs::JobKind;
use hero_common::jobs::queue::{JobMessage, QueueSettings};
use hero_worker::sandbox::local::{IsolationMode, LocalConfig, LocalProvider};
use hero_worker::sandbox::{ExecRequest, SandboxProvider, exec_collect};
use serde_json::{Value, json};
use support::{Spread, ms, verdict};
use tokio::sync::Notify;

const OVERHEAD_P50_TARGET: Duration = Duration::from_millis(15);
const OVERHEAD_P99_TARGET: Duration = Duration::from_millis(50);
const THROUGHPUT_RATIO_TARGET: f64 = 0.25;
const WORKER_RSS_TARGET_KB: u64 = 64 * 1024;
/// Jobs each project of the throughput fleet gets.
const JOBS_PER_PROJECT: usize = 5;
/// Sandboxes the batch may hold; above the backlog bound, so the batch
/// bound set to it leaves the backlog bound to limit Redis.
const BATCH_SANDBOXES: usize = 1200;

#[tokio::main]
async fn main() {
    support::require_binaries();
    println!(
        "jobs end to end; scale {}; {} cores shared with other work",
        support::scale(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if support::wanted("latency") {
        latency().await;
    }
    if support::wanted("throughput") {
        throughput().await;
    }
    if support::wanted("batch") {
        batch().await;
    }
}

async fn latency() {
    let runs = support::scaled(200, 20);
    let cluster = support::cluster(&[]).await;
    let project = cluster
        .project("bench", "latency", support::REPO_FILES)
        .await;
    let hydrate = cluster
        .enqueue(&project, "hydrate", json!({}))
        .await
        .unwrap();
    let hydrated = cluster.wait(&hydrate, Duration::from_secs(120)).await;
    assert_eq!(hydrated["status"], "succeeded", "{hydrated}");

    // The worker's own sandbox, reached the way the worker reaches it.
    let provider = LocalProvider::new(LocalConfig {
        root: cluster.data_dir.join("sandboxes"),
        isolation: IsolationMode::Auto,
        network: true,
    })
    .await
    .unwrap();
    let sandbox = provider
        .connect(&support::live_sandbox(&cluster, &project).await)
        .await
        .unwrap();
    let root = format!("{}/repo", sandbox.workdir());
    let file = format!("{root}/notes.txt");
    let shell = json!({"tool": "run_shell", "command": "true"});
    let read = json!({"tool": "read_file", "path": "notes.txt"});

    let direct_exec = || async {
        let started = Instant::now();
        let mut request = ExecRequest::new("true");
        request.cwd = Some(root.clone());
        let (exit, _) = exec_collect(&*sandbox, request).await.unwrap();
        assert_eq!(exit.exit_code, Some(0));
        started.elapsed()
    };
    let direct_read = || async {
        let started = Instant::now();
        sandbox.read(&file).await.unwrap();
        started.elapsed()
    };

    for _ in 0..runs / 10 {
        direct_exec().await;
        support::tool_call(&cluster, &project, &shell).await;
        direct_read().await;
        support::tool_call(&cluster, &project, &read).await;
    }
    let mut exec = Pairs::default();
    let mut reads = Pairs::default();
    for _ in 0..runs {
        exec.direct.push(direct_exec().await);
        exec.hero
            .push(support::tool_call(&cluster, &project, &shell).await);
        reads.direct.push(direct_read().await);
        reads
            .hero
            .push(support::tool_call(&cluster, &project, &read).await);
    }

    println!(
        "\n== tool-call latency: {runs} calls each, submit -> result vs direct on the same sandbox"
    );
    exec.report("run_shell true", "Sandbox::exec");
    reads.report("read_file", "Sandbox::read");
    stages(&cluster).await;
}

/// Where the time of the slowest calls went, from the record's timestamps.
async fn stages(cluster: &hero_tests::cluster::Cluster) {
    let rows: Vec<(String, f64, f64, f64, f64, i64)> = sqlx::query_as(
        "WITH calls AS (
             SELECT params->>'tool' AS tool,
                    EXTRACT(EPOCH FROM dispatched_at - created_at)::float8 * 1000 AS dispatch,
                    EXTRACT(EPOCH FROM started_at - dispatched_at)::float8 * 1000 AS start,
                    EXTRACT(EPOCH FROM finished_at - started_at)::float8 * 1000 AS run
             FROM jobs WHERE kind = 'run_tool')
         SELECT tool, percentile_cont(0.5) WITHIN GROUP (ORDER BY start),
                max(dispatch), max(start), max(run), count(*) FILTER (WHERE start > 100)
         FROM calls GROUP BY tool ORDER BY tool",
    )
    .fetch_all(&cluster.db.pool)
    .await
    .unwrap();
    for (tool, median_start, dispatch, start, run, slow) in rows {
        println!(
            "{tool:>15}  record, max: accepted->dispatched {dispatch:.1} ms, dispatched->started \
             {start:.1} ms (median {median_start:.1} ms; {slow} over 100 ms), started->ended {run:.1} ms"
        );
    }
}

/// Hero's time and the direct time of the same operation, call by call.
#[derive(Default)]
struct Pairs {
    hero: Vec<Duration>,
    direct: Vec<Duration>,
}

impl Pairs {
    fn report(&self, name: &str, direct_name: &str) {
        let overheads: Vec<Duration> = self
            .hero
            .iter()
            .zip(&self.direct)
            .map(|(hero, direct)| hero.saturating_sub(*direct))
            .collect();
        let (hero, direct, overhead) = (
            Spread::of(&self.hero),
            Spread::of(&self.direct),
            Spread::of(&overheads),
        );
        println!(
            "{name:>15}: hero p50 {:>9}  p99 {:>9} | {direct_name} p50 {:>9}  p99 {:>9}",
            ms(hero.p50),
            ms(hero.p99),
            ms(direct.p50),
            ms(direct.p99)
        );
        println!(
            "{:>15}  overhead p50 {:>9} ({} the {} target)  p99 {:>9} ({} the {} target)",
            "",
            ms(overhead.p50),
            verdict(overhead.p50 <= OVERHEAD_P50_TARGET),
            ms(OVERHEAD_P50_TARGET),
            ms(overhead.p99),
            verdict(overhead.p99 <= OVERHEAD_P99_TARGET),
            ms(OVERHEAD_P99_TARGET),
        );
    }
}

async fn throughput() {
    let projects = support::scaled(1000, 10);
    let jobs = projects * JOBS_PER_PROJECT;
    let sandboxes = (projects + 10).to_string();
    let cluster = Arc::new(support::cluster(&[("HERO_MAX_SANDBOXES", sandboxes.as_str())]).await);
    println!("\n== throughput: {jobs} read_file jobs over {projects} projects");

    let setup = Instant::now();
    let ids = support::fleet(&cluster, "fleet", "repo", projects).await;
    let linked = setup.elapsed();
    let hydrations = ids.iter().map(|id| (id.clone(), json!({}))).collect();
    support::submit_all(&cluster, "hydrate", hydrations, 16).await;
    let hydrated = support::wait_ended(
        &cluster,
        "hydrate",
        projects,
        Duration::from_millis(200),
        Duration::from_secs(3600),
    )
    .await;
    assert_eq!(
        usize::try_from(hydrated.succeeded).unwrap(),
        projects,
        "every project hydrated: {hydrated:?}"
    );
    println!(
        "setup (untimed): {projects} repositories linked in {:.1?}, hydrated in {:.1?} \
         ({:.1} hydrations/s); {} live sandboxes",
        linked,
        setup.elapsed() - linked,
        rate(projects, setup.elapsed() - linked),
        support::live_sandboxes(&cluster).await
    );

    let raw_count = support::scaled(20_000, 2000);
    let raw_groups = [
        ("redis-server", support::pids_named("redis-server", None)),
        ("this benchmark", vec![std::process::id()]),
    ];
    let raw_before = support::cpu_by_group(&raw_groups);
    let raw = raw_apalis(&cluster.prefix, raw_count).await;
    let raw_after = support::cpu_by_group(&raw_groups);
    #[allow(clippy::cast_precision_loss)]
    let raw_cpu: f64 = raw_after
        .iter()
        .zip(&raw_before)
        .map(|(a, b)| a - b)
        .sum::<f64>()
        / raw_count as f64;

    let read = json!({"tool": "read_file", "path": "notes.txt"});
    let work: Vec<(String, Value)> = (0..JOBS_PER_PROJECT)
        .flat_map(|_| ids.iter().map(|id| (id.clone(), read.clone())))
        .collect();
    let me = std::process::id();
    let groups = [
        ("hero-worker", cluster.worker_pids()),
        ("hero-api", support::pids_named("hero-api", Some(me))),
        ("postgres (all)", support::pids_named("postgres", None)),
        ("redis-server", support::pids_named("redis-server", None)),
        ("this benchmark", vec![me]),
    ];
    let transactions_before = transactions(&cluster).await;
    let cpu_before = support::cpu_by_group(&groups);
    let started = Instant::now();
    support::submit_all(&cluster, "run_tool", work, 16).await;
    let submitted = started.elapsed();
    let ended = support::wait_ended(
        &cluster,
        "run_tool",
        jobs,
        Duration::from_millis(20),
        Duration::from_secs(3600),
    )
    .await;
    let took = started.elapsed();
    let cpu_after = support::cpu_by_group(&groups);
    // Postgres publishes its counters within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let transactions = transactions(&cluster).await - transactions_before;

    let hero = rate(jobs, took);
    let ratio = hero / raw;
    println!(
        "hero: {jobs} jobs in {took:.2?} ({hero:.0} jobs/s; all submitted after {submitted:.2?}); \
         {} succeeded, {} failed or cancelled",
        ended.succeeded, ended.other
    );
    println!(
        "raw apalis-redis no-op: {raw:.0} jobs/s ({raw_count} messages; {raw_cpu:.3} ms CPU \
         each in Redis and this process)\n\
         ratio {ratio:.3} ({} the {THROUGHPUT_RATIO_TARGET} target)",
        verdict(ratio >= THROUGHPUT_RATIO_TARGET)
    );
    #[allow(clippy::cast_precision_loss)]
    let per_job = |at: usize| (cpu_after[at] - cpu_before[at]) / jobs as f64;
    let shares: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(at, (name, _))| format!("{name} {:.2} ms", per_job(at)))
        .collect();
    let total: f64 = (0..groups.len()).map(per_job).sum();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    #[allow(clippy::cast_precision_loss)]
    let ceiling = cores as f64 * 1000.0 / total;
    println!(
        "CPU per hero job: {} = {total:.2} ms; {cores} cores allow at most {ceiling:.0} jobs/s \
         at that cost",
        shares.join(", ")
    );
    #[allow(clippy::cast_precision_loss)]
    let per_job_transactions = transactions as f64 / jobs as f64;
    println!(
        "Postgres transactions per hero job (every statement outside a transaction counts \
         one; includes the benchmark's own polling): {per_job_transactions:.1}"
    );
    support::clear_redis(&cluster.prefix).await;
}

/// Transactions committed in the cluster's database so far.
async fn transactions(cluster: &hero_tests::cluster::Cluster) -> i64 {
    sqlx::query_scalar(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&cluster.db.pool)
    .await
    .unwrap()
}

#[allow(clippy::cast_precision_loss)]
fn rate(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// Counts no-op messages consumed and wakes the waiter at the target.
struct Consumed {
    count: AtomicUsize,
    target: usize,
    all: Notify,
}

async fn noop(_message: JobMessage, consumed: Data<Arc<Consumed>>) -> Result<(), BoxDynError> {
    if consumed.count.fetch_add(1, Ordering::Relaxed) + 1 == consumed.target {
        consumed.all.notify_one();
    }
    Ok(())
}

/// Messages per second through a bare apalis-redis worker set up as
/// Hero's consumer sets up each queue, fed as Hero's dispatcher feeds it.
async fn raw_apalis(prefix: &str, count: usize) -> f64 {
    let settings = QueueSettings {
        prefix: prefix.to_owned(),
        ..QueueSettings::default()
    };
    let name = format!("{prefix}:bench:noop");
    let config = settings.apalis_config(&name);
    let redis = support::redis().await;
    let consumed = Arc::new(Consumed {
        count: AtomicUsize::new(0),
        target: count,
        all: Notify::new(),
    });

    let storage = RedisStorage::<JobMessage>::new(redis.clone()).with_config(config.clone());
    let (poll, handles) = (settings.poll_interval, consumed.clone());
    let worker_name = format!("bench-noop-{}", uuid::Uuid::new_v4().simple());
    let monitor = Monitor::new().register(move |restarts| {
        WorkerBuilder::new(format!("{worker_name}-{restarts}"))
            .backend(storage.clone().poll_with_interval(poll))
            .data(handles.clone())
            .concurrency(8)
            .parallelize(tokio::spawn)
            .build(noop)
    });
    let done = consumed.clone();
    let started = Instant::now();
    let running = tokio::spawn(monitor.run_with_signal(async move {
        done.all.notified().await;
        Ok(())
    }));

    let mut conn = redis.clone();
    let mut pushed = 0;
    while pushed < count {
        let waiting = pushed - consumed.count.load(Ordering::Relaxed);
        let room = usize::try_from(settings.backlog)
            .unwrap()
            .saturating_sub(waiting);
        if room == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let chunk = room.min(100).min(count - pushed);
        let tasks: Vec<RedisTask> = (pushed..pushed + chunk)
            .map(|i| {
                let message = JobMessage {
                    job: uuid::Uuid::now_v7(),
                    dispatch: i32::try_from(i).unwrap_or(i32::MAX),
                };
                TaskBuilder::new(serde_json::to_vec(&message).unwrap())
                    .task_id(TaskId::from_string(message.task_id()))
                    .build()
            })
            .collect();
        apalis_redis::queries::push_tasks(&mut conn, &config, &tasks)
            .await
            .unwrap();
        pushed += chunk;
    }
    tokio::time::timeout(Duration::from_secs(600), running)
        .await
        .expect("the bare worker consumed every message within 10 minutes")
        .unwrap()
        .unwrap();
    rate(count, started.elapsed())
}

async fn batch() {
    let projects = support::scaled(10_000, 100);
    let sandboxes = BATCH_SANDBOXES.to_string();
    let cluster = support::cluster(&[
        ("HERO_MAX_SANDBOXES", sandboxes.as_str()),
        ("HERO_BATCH_CONCURRENCY", sandboxes.as_str()),
    ])
    .await;
    let bound = QueueSettings::default().backlog;
    println!(
        "\n== batch: hydrate over {projects} projects; {BATCH_SANDBOXES} sandboxes, \
         batch bound {BATCH_SANDBOXES}, backlog bound {bound}"
    );

    let setup = Instant::now();
    let ids = support::fleet(&cluster, "fleet", "repo", projects).await;
    println!(
        "setup (untimed): {projects} repositories linked in {:.1?}",
        setup.elapsed()
    );

    let sampling = Arc::new(Notify::new());
    let sampler = tokio::spawn(sample_load(
        cluster.prefix.clone(),
        cluster.worker_pids()[0],
        cluster.db.pool.clone(),
        sampling.clone(),
    ));

    let started = Instant::now();
    let batch_id = support::start_batch(&cluster, "hydrate", &ids).await;
    let accepted = started.elapsed();
    let report = support::batch_finished(&cluster, &batch_id).await;
    let finished = started.elapsed();
    sampling.notify_one();
    let load = sampler.await.unwrap();
    let peak_kb = support::proc_kb(cluster.worker_pids()[0], "VmHWM").unwrap_or(0);

    let counts = &report["counts"];
    let succeeded = counts["succeeded"].as_i64().unwrap_or(0);
    println!(
        "accepted in {accepted:.2?}; finished in {finished:.1?} ({:.1} jobs/s); counts {counts}",
        rate(projects, finished)
    );
    println!(
        "every job succeeded: {}",
        if succeeded == i64::try_from(projects).unwrap() {
            "PASS"
        } else {
            "FAIL"
        }
    );
    for (queue, largest) in &load.backlog {
        println!(
            "largest Redis backlog of {queue}: {largest} (bound {bound}): {}",
            if *largest <= u64::from(bound) {
                "PASS"
            } else {
                "FAIL"
            }
        );
    }
    println!(
        "largest count of dispatched jobs in Postgres: {}; {} samples",
        load.dispatched, load.samples
    );
    println!(
        "worker peak RSS (VmHWM) {:.1} MB; largest VmRSS sampled {:.1} MB ({} the 64 MB target)",
        kb_to_mb(peak_kb),
        kb_to_mb(load.rss_kb),
        verdict(peak_kb <= WORKER_RSS_TARGET_KB)
    );
    support::clear_redis(&cluster.prefix).await;
}

#[allow(clippy::cast_precision_loss)]
fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The largest figures seen while a batch ran.
#[derive(Default)]
struct Load {
    /// Per queue: ZCARD of the scheduled set plus LLEN of the active list.
    backlog: BTreeMap<String, u64>,
    dispatched: i64,
    rss_kb: u64,
    samples: usize,
}

/// Samples every 100 ms until `stop` is notified.
async fn sample_load(prefix: String, worker: u32, pool: sqlx::PgPool, stop: Arc<Notify>) -> Load {
    let settings = QueueSettings {
        prefix,
        ..QueueSettings::default()
    };
    let mut redis = support::redis().await;
    let mut load = Load::default();
    let stopped = stop.notified();
    tokio::pin!(stopped);
    loop {
        for kind in JobKind::ALL {
            let config = settings.apalis_config(&settings.queue_name(kind));
            let (scheduled, active): (u64, u64) = redis::pipe()
                .zcard(config.scheduled_jobs_set())
                .llen(config.active_jobs_list())
                .query_async(&mut redis)
                .await
                .unwrap();
            let largest = load.backlog.entry(settings.queue_name(kind)).or_default();
            *largest = (*largest).max(scheduled + active);
        }
        let dispatched: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = 'dispatched'")
                .fetch_one(&pool)
                .await
                .unwrap();
        load.dispatched = load.dispatched.max(dispatched);
        load.rss_kb = load
            .rss_kb
            .max(support::proc_kb(worker, "VmRSS").unwrap_or(0));
        load.samples += 1;
        tokio::select! {
            () = &mut stopped => return load,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}
