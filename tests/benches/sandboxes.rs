//! Per-exec overhead of the E2B client: `true` run through Hero's E2B
//! client against the fake E2B (itself backed by a local sandbox), against
//! the same command run directly in a local sandbox, in the same run.
//!
//! `cargo bench -p hero-tests --bench sandboxes` (needs bubblewrap).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use hero_tests::fake_e2b::FakeE2b;
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::sandbox::e2b::E2bProvider;
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, ExecRequest, Sandbox, SandboxProvider, exec_collect};

const RUNS: usize = 200;

/// Sorted per-exec durations of `RUNS` runs after a few warm-up ones.
async fn time_execs(sandbox: &dyn Sandbox) -> Vec<Duration> {
    for _ in 0..5 {
        exec_collect(sandbox, ExecRequest::new("true"))
            .await
            .unwrap();
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let (exit, _) = exec_collect(sandbox, ExecRequest::new("true"))
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(exit.exit_code, Some(0));
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn spec() -> CreateSpec {
    CreateSpec {
        timeout: Duration::from_secs(600),
        ..CreateSpec::default()
    }
}

#[tokio::main]
async fn main() {
    let local = TempProvider::new(IsolationMode::Required, false).await;
    let direct = local.provider.create(spec()).await.unwrap();

    let root = std::env::temp_dir().join(format!("hero-bench-e2b-{}", uuid::Uuid::new_v4()));
    let fake = FakeE2b::start(&root).await;
    let e2b = E2bProvider::new(fake.client_config()).unwrap();
    let remote = e2b.create(spec()).await.unwrap();

    let direct_times = time_execs(&*direct).await;
    let e2b_times = time_execs(&*remote).await;

    println!("exec of `true`, {RUNS} runs each");
    for (name, times) in [
        ("local, direct", &direct_times),
        ("E2B client via fake", &e2b_times),
    ] {
        println!(
            "{name:>20}: p50 {:>9.2?}  p99 {:>9.2?}",
            percentile(times, 50),
            percentile(times, 99)
        );
    }
    let ratio =
        percentile(&e2b_times, 50).as_secs_f64() / percentile(&direct_times, 50).as_secs_f64();
    let overhead = percentile(&e2b_times, 50).saturating_sub(percentile(&direct_times, 50));
    println!("E2B client per-exec overhead: p50 ratio {ratio:.2}, {overhead:.2?} per exec");

    e2b.kill(remote.id()).await.unwrap();
    std::fs::remove_dir_all(root).ok();
}
