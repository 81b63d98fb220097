//! Lease throughput: acquire+release pairs per second with 8 and 64 racing
//! tasks, against bare `SELECT 1` round trips by as many tasks on the same
//! pool in the same run. Target: at least 2,000 pairs/s on two cores.
//!
//! `cargo bench -p hero-tests --bench leases` (Postgres on 127.0.0.1).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hero_common::domain::NewProject;
use hero_common::store::Stores;
use hero_tests::TestDb;
use hero_worker::lease::{Busy, LeaseTable, PgLeaseTable};
use sqlx::PgPool;
use uuid::Uuid;

const RUN_FOR: Duration = Duration::from_secs(3);
const TARGET_PAIRS_PER_SECOND: f64 = 2000.0;

async fn projects(db: &TestDb, count: usize) -> Vec<Uuid> {
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("bench").await.unwrap().id;
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let project = NewProject {
            name: format!("p{i}"),
            repo_owner: "o".to_owned(),
            repo_name: format!("r{i}"),
            github_installation_id: None,
            default_branch: "main".to_owned(),
            use_cloud_sandbox: false,
            allow_default_branch_push: false,
            webhook_triggers: Default::default(),
        };
        ids.push(stores.projects.create(owner, project).await.unwrap().id);
    }
    ids
}

/// Runs `tasks` copies of `step` for [`RUN_FOR`]; returns steps per second.
async fn rate<F, Fut>(tasks: usize, step: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let step = Arc::new(step);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (step, done) = (step.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            while started.elapsed() < RUN_FOR {
                step(task).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    #[allow(clippy::cast_precision_loss)]
    let count = done.load(Ordering::Relaxed) as f64;
    count / started.elapsed().as_secs_f64()
}

async fn select_one(pool: PgPool, tasks: usize) -> f64 {
    rate(tasks, move |_| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT 1").execute(&pool).await.unwrap();
        }
    })
    .await
}

async fn lease_pairs(table: LeaseTable, projects: Arc<Vec<Uuid>>, tasks: usize) -> f64 {
    rate(tasks, move |task| {
        let (table, projects) = (table.clone(), projects.clone());
        async move {
            let holder = format!("bench-{task}");
            // Only the first acquire of a project creates its row and can
            // lose a race for a slot; later ones take the row over.
            loop {
                match table
                    .try_acquire(projects[task], "local", &holder)
                    .await
                    .unwrap()
                {
                    Ok(lease) => {
                        table.release(&lease).await.unwrap();
                        return;
                    }
                    Err(busy) => assert_eq!(busy, Busy::Contended),
                }
            }
        }
    })
    .await
}

#[tokio::main]
async fn main() {
    let db = TestDb::new().await;
    let ids = Arc::new(projects(&db, 64).await);
    let table = PgLeaseTable::open(db.pool.clone(), 64, Duration::from_secs(30));

    println!("lease acquire+release vs SELECT 1, {RUN_FOR:?} each, pool of 10 connections");
    for tasks in [8, 64] {
        let baseline = select_one(db.pool.clone(), tasks).await;
        let pairs = lease_pairs(table.clone(), ids.clone(), tasks).await;
        let verdict = if pairs >= TARGET_PAIRS_PER_SECOND {
            "meets"
        } else {
            "MISSES"
        };
        println!(
            "{tasks:>3} tasks: {pairs:>8.0} pairs/s   SELECT 1: {baseline:>8.0}/s   \
             ratio {:.3}   ({verdict} the {TARGET_PAIRS_PER_SECOND:.0} pairs/s target)",
            pairs / baseline
        );
    }
}
