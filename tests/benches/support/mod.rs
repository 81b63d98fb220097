//! What the pipeline benchmarks share: the scale knob, the check that the
//! release binaries exist, a Hero cluster configured as deployed, fleets
//! of tiny repositories, and percentiles.

#![allow(dead_code)] // Each benchmark uses its own part of this kit.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis_redis::ConnectionManager;
use hero_common::jobs::queue;
use hero_common::local_forge::ForgeLayout;
use hero_common::settings::Settings;
use hero_tests::cluster::Cluster;
use hero_worker::forge::local::BareRepository;
use redis::AsyncCommands as _;
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

/// `HERO_BENCH_SCALE` (default 1) multiplies every size, for a quick run.
pub fn scale() -> f64 {
    match std::env::var("HERO_BENCH_SCALE") {
        Err(_) => 1.0,
        Ok(text) => match text.parse::<f64>() {
            Ok(value) if value > 0.0 && value.is_finite() => value,
            _ => {
                eprintln!("HERO_BENCH_SCALE must be a number above 0, got {text:?}");
                std::process::exit(2);
            }
        },
    }
}

/// `count` times the scale, at least `floor`.
pub fn scaled(count: usize, floor: usize) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let value = (count as f64 * scale()).round() as usize;
    value.max(floor)
}

/// Whether this run should do the part `name`: every part unless the
/// command line names some (`cargo bench ... -- latency throughput`).
pub fn wanted(name: &str) -> bool {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    asked.is_empty() || asked.iter().any(|arg| arg == name)
}

/// The cluster runs the real `hero-api` and `hero-worker` from beside
/// this executable's `deps` folder. `cargo bench -p hero-tests` builds
/// only this package's targets, so say what to build first instead of
/// failing halfway.
pub fn require_binaries() {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<bench>");
    let missing: Vec<&str> = ["hero-api", "hero-worker"]
        .into_iter()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "{} missing in {}. Build the release binaries first:\n  \
             cargo build --release -p hero-api -p hero-worker",
            missing.join(" and "),
            dir.display()
        );
        std::process::exit(2);
    }
}

/// Settings as deployed, where the test cluster's differ for fault tests:
/// info logs, 30 s leases, housekeeping every 10 s.
pub const DEPLOYED: &[(&str, &str)] = &[
    ("RUST_LOG", "info"),
    ("HERO_LEASE_TTL", "30s"),
    ("HERO_CRON_SCHEDULE", "*/10 * * * * *"),
];

/// A cluster of the API and one worker, as deployed plus `extra`.
pub async fn cluster(extra: &[(&str, &str)]) -> Cluster {
    let mut settings = DEPLOYED.to_vec();
    settings.extend_from_slice(extra);
    Cluster::start(1, &settings).await
}

/// The files of every benchmark repository: a README and one short file
/// to read, so hydrating finds no package manager to install with.
pub const REPO_FILES: &[(&str, &str)] = &[
    ("README.md", "# bench\n"),
    ("notes.txt", "hello from a tiny repository\n"),
];

/// `count` tiny repositories `owner/{prefix}-{i}` in the cluster's local
/// forge, each with a project linked to it; returns the project ids. The
/// first repository is made with git, the others are copies of it (same
/// content, separate repositories), which keeps making thousands quick.
pub async fn fleet(cluster: &Cluster, owner: &str, prefix: &str, count: usize) -> Vec<String> {
    let layout = ForgeLayout::in_data_dir(&cluster.data_dir);
    let first = format!("{prefix}-0");
    let template = layout.repository(owner, &first).expect("repository name");
    let seed = cluster.data_dir.join(format!("seed-{owner}-{prefix}"));
    std::fs::create_dir_all(&seed).expect("seed dir");
    for (path, contents) in REPO_FILES {
        std::fs::write(seed.join(path), contents).expect("seed file");
    }
    let bare = BareRepository::create(&template, "main")
        .await
        .expect("bare repository");
    bare.commit_directory(&seed, "main", "Initial commit")
        .await
        .expect("initial commit");
    for i in 1..count {
        let path = layout
            .repository(owner, &format!("{prefix}-{i}"))
            .expect("repository name");
        copy_dir(&template, &path);
    }

    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    let mut ids = Vec::with_capacity(count);
    for chunk in names.chunks(16) {
        let links = chunk.iter().map(|name| link(cluster, owner, name));
        ids.extend(futures_util::future::join_all(links).await);
    }
    ids
}

async fn link(cluster: &Cluster, owner: &str, name: &str) -> String {
    let body = json!({"name": format!("{owner}-{name}"), "repo_owner": owner, "repo_name": name});
    let response = cluster
        .request(Method::POST, "/v1/projects")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201, "linking {owner}/{name}");
    let project: Value = response.json().await.expect("json");
    project["id"].as_str().expect("project id").to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("repository dir");
    for entry in std::fs::read_dir(from).expect("template repository") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Submits one job per `(project, params)` through the API, `parallel`
/// requests at a time; returns the job ids in the order given.
pub async fn submit_all(
    cluster: &Arc<Cluster>,
    kind: &str,
    work: Vec<(String, Value)>,
    parallel: usize,
) -> Vec<String> {
    let work = Arc::new(work);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..parallel {
        let (cluster, work, next) = (cluster.clone(), work.clone(), next.clone());
        let kind = kind.to_owned();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((project, params)) = work.get(at) else {
                    return mine;
                };
                let id = cluster
                    .enqueue(project, &kind, params.clone())
                    .await
                    .expect("the API accepts the job");
                mine.push((at, id));
            }
        }));
    }
    let mut ids = vec![String::new(); work.len()];
    for handle in handles {
        for (at, id) in handle.await.expect("submitter") {
            ids[at] = id;
        }
    }
    ids
}

/// Jobs of `kind` by end, counted in the record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    pub succeeded: i64,
    pub other: i64,
}

impl Ended {
    pub fn total(self) -> i64 {
        self.succeeded + self.other
    }
}

pub async fn ended(cluster: &Cluster, kind: &str) -> Ended {
    let (succeeded, other): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'succeeded'),
                count(*) FILTER (WHERE status IN ('failed', 'cancelled'))
         FROM jobs WHERE kind = $1",
    )
    .bind(kind)
    .fetch_one(&cluster.db.pool)
    .await
    .expect("count ended jobs");
    Ended { succeeded, other }
}

/// Waits until `total` jobs of `kind` ended (looking every `every`), at
/// most `within`; returns what ended.
pub async fn wait_ended(
    cluster: &Cluster,
    kind: &str,
    total: usize,
    every: Duration,
    within: Duration,
) -> Ended {
    let deadline = Instant::now() + within;
    loop {
        let now = ended(cluster, kind).await;
        if usize::try_from(now.total()).unwrap_or(0) >= total || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(every).await;
    }
}

/// The time from submitting a `run_tool` job to reading its result with
/// `GET /v1/jobs/{id}?wait=`, as an agent sees it.
pub async fn tool_call(cluster: &Cluster, project: &str, call: &Value) -> Duration {
    let started = Instant::now();
    let job = cluster
        .enqueue(project, "run_tool", call.clone())
        .await
        .expect("the API accepts the tool call");
    let body: Value = cluster
        .request(Method::GET, &format!("/v1/jobs/{job}?wait=60"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let took = started.elapsed();
    assert_eq!(body["status"], "succeeded", "tool call failed: {body}");
    took
}

/// The sandbox row of a project that is live now.
pub async fn live_sandbox(cluster: &Cluster, project: &str) -> String {
    let project: uuid::Uuid = project.parse().expect("project id");
    sqlx::query_scalar(
        "SELECT provider_id FROM sandboxes
         WHERE project_id = $1 AND state = 'ready' AND provider_id IS NOT NULL",
    )
    .bind(project)
    .fetch_one(&cluster.db.pool)
    .await
    .expect("the project has a ready sandbox")
}

/// Sandboxes that exist or may still exist at the provider.
/// Accepts a batch of `kind` over `projects`; its id.
pub async fn start_batch(cluster: &Cluster, kind: &str, projects: &[String]) -> String {
    let response = cluster
        .request(Method::POST, "/v1/batches")
        .json(&json!({"kind": kind, "projects": projects}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let batch: Value = response.json().await.unwrap();
    batch["id"].as_str().unwrap().to_owned()
}

/// The batch's report once it finished (or after four hours).
pub async fn batch_finished(cluster: &Cluster, batch_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(4 * 3600);
    loop {
        let report: Value = cluster
            .request(Method::GET, &format!("/v1/batches/{batch_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !report["finished_at"].is_null() || Instant::now() >= deadline {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn live_sandboxes(cluster: &Cluster) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM sandboxes WHERE state IN ('starting', 'ready', 'closing')",
    )
    .fetch_one(&cluster.db.pool)
    .await
    .expect("count sandboxes")
}

/// A line from `/proc/<pid>/status`, in kB (`VmRSS`, `VmHWM`).
pub fn proc_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The value at percentile `p` (0..=100) of `sorted`, nearest rank.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Millisecond figures of a set of durations, for a table.
pub struct Spread {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Spread {
    pub fn of(times: &[Duration]) -> Self {
        let mut sorted = times.to_vec();
        sorted.sort();
        Self {
            p50: percentile(&sorted, 50),
            p99: percentile(&sorted, 99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub fn verdict(met: bool) -> &'static str {
    if met { "meets" } else { "MISSES" }
}

/// The Redis every process of a cluster uses: the settings' default.
pub async fn redis() -> ConnectionManager {
    let settings = Settings::load_from(None, []).expect("default settings");
    queue::connect(settings.redis_url.expose_secret())
        .await
        .expect("Redis must be running")
}

/// Removes every key under the cluster's prefix (its queues, job events,
/// a baseline's queue), so a run leaves Redis as it found it.
pub async fn clear_redis(prefix: &str) {
    let mut redis = redis().await;
    let mut keys: Vec<String> = Vec::new();
    {
        let mut scan = redis
            .scan_match::<_, String>(format!("{prefix}:*"))
            .await
            .expect("scan Redis");
        while let Some(key) = scan.next_item().await {
            keys.push(key.expect("a key"));
        }
    }
    for chunk in keys.chunks(500) {
        let _: () = redis.del(chunk).await.expect("delete keys");
    }
}

/// CPU time (user + system) a process used so far, in milliseconds.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may
    // hold spaces: utime and stime are the 12th and 13th of them.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports these in USER_HZ, 100 per second on every platform
    // this runs on.
    #[allow(clippy::cast_precision_loss)]
    Some(ticks as f64 * 10.0)
}

/// Processes whose command name is `name` (as `/proc/<pid>/comm` has it)
/// and, when `parent` is given, whose parent it is.
pub fn pids_named(name: &str, parent: Option<u32>) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rfind(')')
            .and_then(|end| stat[end + 2..].split_whitespace().nth(1))
            .and_then(|field| field.parse::<u32>().ok());
        if parent.is_none() || ppid == parent {
            pids.push(pid);
        }
    }
    pids
}

/// CPU milliseconds used so far by each group of processes.
pub fn cpu_by_group(groups: &[(&str, Vec<u32>)]) -> Vec<f64> {
    groups
        .iter()
        .map(|(_, pids)| pids.iter().filter_map(|pid| cpu_ms(*pid)).sum())
        .collect()
}
