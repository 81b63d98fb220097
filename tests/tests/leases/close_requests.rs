//! Close requests (`DELETE /v1/projects/{id}/sandbox`, or a webhook)
//! carried out by the reaper: an unleased sandbox closes at the next pass
//! whatever its idle time, a leased one only once its lease is released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hero_common::store::Stores;
use hero_worker::lease::{Busy, PoolConfig, Reaped, SandboxPool};
use hero_worker::sandbox::SandboxProvider;

use crate::fixture::Fixture;

const STUCK_AFTER: Duration = Duration::from_secs(600);
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);

fn idle_after_an_hour() -> PoolConfig {
    PoolConfig {
        idle_timeout: Duration::from_secs(3600),
        ..PoolConfig::default()
    }
}

async fn reap(pool: &SandboxPool) -> Reaped {
    pool.reap("reaper", STUCK_AFTER, ORPHAN_MIN_AGE)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_requested_unleased_sandbox_is_closed_by_reap_and_killed_at_the_provider() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let checkout = pool.checkout(f.projects[0], "job").await.unwrap();
    let (row, provider_id) = (checkout.lease.id, checkout.sandbox.id().to_owned());
    pool.release(checkout).await.unwrap();
    let requested = f.request_close(f.projects[0]).await.unwrap();

    let reaped = reap(&pool).await;

    assert_eq!(requested.id, row);
    assert_eq!(
        reaped,
        Reaped {
            requested_closed: 1,
            ..Reaped::default()
        }
    );
    assert_eq!(f.state_of(row).await, "closed");
    assert!(f.local.provider.connect(&provider_id).await.is_err());
    assert_eq!(pool.table().live_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_requested_sandbox_that_is_leased_is_closed_only_after_its_release() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let held = pool.checkout(f.projects[0], "long-job").await.unwrap();
    let (row, provider_id) = (held.lease.id, held.sandbox.id().to_owned());
    f.request_close(f.projects[0]).await.unwrap();

    let while_held = reap(&pool).await;
    let state_while_held = f.state_of(row).await;
    let alive_while_held = f.local.provider.connect(&provider_id).await.is_ok();
    pool.release(held).await.unwrap();
    let after_release = reap(&pool).await;

    assert_eq!(while_held, Reaped::default());
    assert_eq!(state_while_held, "ready");
    assert!(alive_while_held, "the job's sandbox stays while it runs");
    assert_eq!(after_release.requested_closed, 1);
    assert_eq!(f.state_of(row).await, "closed");
    assert!(f.local.provider.connect(&provider_id).await.is_err());
}

#[tokio::test]
async fn a_close_request_is_honoured_long_before_the_idle_timeout() {
    let f = Fixture::new(2).await;
    let pool = f.pool(5, idle_after_an_hour());
    let asked = pool.checkout(f.projects[0], "a").await.unwrap();
    let kept = pool.checkout(f.projects[1], "b").await.unwrap();
    let (asked_row, kept_row) = (asked.lease.id, kept.lease.id);
    pool.release(asked).await.unwrap();
    pool.release(kept).await.unwrap();
    f.request_close(f.projects[0]).await.unwrap();

    let idle = pool.close_idle("reaper").await.unwrap();
    let reaped = reap(&pool).await;

    assert_eq!(idle, 0, "neither sandbox is idle for an hour");
    assert_eq!(reaped.requested_closed, 1);
    assert_eq!(reaped.idle_closed, 0);
    assert_eq!(f.state_of(asked_row).await, "closed");
    assert_eq!(f.state_of(kept_row).await, "ready");
}

#[tokio::test]
async fn a_requested_sandbox_whose_holder_died_is_closed_once_its_lease_expires() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let short = f.table(5, Duration::from_millis(100));
    let lease = short
        .try_acquire(f.projects[0], "local", "dying-worker")
        .await
        .unwrap()
        .unwrap();
    f.request_close(f.projects[0]).await.unwrap();

    let before_expiry = short.claim_close_requested("reaper", 10).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_expiry = reap(&pool).await;

    assert!(before_expiry.is_empty(), "a live lease is never claimed");
    assert_eq!(after_expiry.requested_closed, 1);
    assert_eq!(f.state_of(lease.id).await, "closed");
}

#[tokio::test]
async fn a_sandbox_nobody_asked_to_close_is_never_claimed_as_requested() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let checkout = pool.checkout(f.projects[0], "job").await.unwrap();
    let row = checkout.lease.id;
    pool.release(checkout).await.unwrap();

    let claimed = pool
        .table()
        .claim_close_requested("reaper", 10)
        .await
        .unwrap();

    assert!(claimed.is_empty());
    assert_eq!(f.state_of(row).await, "ready");
}

#[tokio::test]
async fn racing_close_requests_and_reapers_never_take_a_sandbox_from_its_holder() {
    let f = Fixture::new(1).await;
    let table = f.table(10, Duration::from_secs(30));
    let project = f.projects[0];
    let done = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));

    let mut jobs = Vec::new();
    for task in 0..4 {
        let table = table.clone();
        jobs.push(tokio::spawn(async move {
            let mut held = 0;
            while held < 25 {
                match table
                    .try_acquire(project, "local", &format!("job-{task}"))
                    .await
                    .unwrap()
                {
                    Ok(mut lease) => {
                        tokio::task::yield_now().await;
                        // Fails with Lost if a reaper claimed it meanwhile.
                        table.heartbeat(&mut lease).await.unwrap();
                        table.release(&lease).await.unwrap();
                        held += 1;
                    }
                    Err(busy) => assert_ne!(busy, Busy::AtCapacity),
                }
            }
        }));
    }
    let mut reapers = Vec::new();
    for reaper in 0..2 {
        let (table, done, closed) = (table.clone(), done.clone(), closed.clone());
        reapers.push(tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let claimed = table
                    .claim_close_requested(&format!("reaper-{reaper}"), 10)
                    .await
                    .unwrap();
                for sandbox in &claimed {
                    table.mark_closed(sandbox).await.unwrap();
                    closed.fetch_add(1, Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let stores = Stores::postgres(f.db.pool.clone());
    let requester = {
        let done = done.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                stores.sandboxes.request_close(project).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };

    for job in jobs {
        job.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    requester.await.unwrap();
    for reaper in reapers {
        reaper.await.unwrap();
    }

    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sandboxes")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let closed_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sandboxes WHERE state = 'closed'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    let closed = i64::try_from(closed.load(Ordering::SeqCst)).unwrap();
    assert!(closed > 0, "the reapers closed sandboxes between jobs");
    assert_eq!(closed, closed_rows, "each sandbox is closed once");
    assert!(rows - closed_rows <= 1, "at most one live sandbox is left");
}
