use std::collections::BTreeMap;
use std::time::Duration;

use hero_worker::lease::PoolConfig;
use hero_worker::sandbox::{CreateSpec, MANAGED_BY_KEY, MANAGED_BY_VALUE, SandboxProvider};

use crate::fixture::Fixture;

fn idle_after_an_hour() -> PoolConfig {
    PoolConfig {
        idle_timeout: Duration::from_secs(3600),
        ..PoolConfig::default()
    }
}

#[tokio::test]
async fn idle_sandboxes_are_closed_and_recent_ones_kept() {
    let f = Fixture::new(2).await;
    let pool = f.pool(5, idle_after_an_hour());
    let old = pool.checkout(f.projects[0], "a").await.unwrap();
    let recent = pool.checkout(f.projects[1], "b").await.unwrap();
    let (old_row, old_id, recent_row) =
        (old.lease.id, old.sandbox.id().to_owned(), recent.lease.id);
    pool.release(old).await.unwrap();
    pool.release(recent).await.unwrap();
    f.age(old_row, 7200).await;

    let closed = pool.close_idle("reaper").await.unwrap();

    assert_eq!(closed, 1);
    assert_eq!(f.state_of(old_row).await, "closed");
    assert_eq!(f.state_of(recent_row).await, "ready");
    assert!(f.local.provider.connect(&old_id).await.is_err());
}

#[tokio::test]
async fn a_held_sandbox_is_never_reaped_however_old_its_activity() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let held = pool.checkout(f.projects[0], "long-job").await.unwrap();
    f.age(held.lease.id, 7200).await;

    let closed = pool.close_idle("reaper").await.unwrap();

    assert_eq!(closed, 0);
    assert_eq!(f.state_of(held.lease.id).await, "ready");
    pool.release(held).await.unwrap();
}

#[tokio::test]
async fn stuck_and_failed_sandboxes_are_cleaned_up_and_free_their_slots() {
    let f = Fixture::new(2).await;
    let pool = f.pool(2, idle_after_an_hour());
    let table = f.table(2, Duration::from_millis(100));
    // A worker that died while creating: `starting`, lease expired.
    let stuck = table
        .try_acquire(f.projects[0], "local", "dead-worker")
        .await
        .unwrap()
        .unwrap();
    // A sandbox marked failed while the provider still has it.
    let failed = pool.checkout(f.projects[1], "b").await.unwrap();
    let failed_id = failed.sandbox.id().to_owned();
    table
        .mark_failed(&failed.lease, "health check failed")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::query("UPDATE sandboxes SET created_at = now() - interval '1 hour' WHERE id = $1")
        .bind(stuck.id)
        .execute(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(pool.table().live_count().await.unwrap(), 2);

    let cleaned = pool
        .clean_stuck(Duration::from_secs(600), "reaper")
        .await
        .unwrap();

    assert_eq!(cleaned, 2);
    assert_eq!(f.state_of(stuck.id).await, "closed");
    assert_eq!(f.state_of(failed.lease.id).await, "closed");
    assert_eq!(pool.table().live_count().await.unwrap(), 0);
    assert!(f.local.provider.connect(&failed_id).await.is_err());
}

#[tokio::test]
async fn sandboxes_with_heros_mark_unknown_to_the_table_are_killed() {
    let f = Fixture::new(1).await;
    let pool = f.pool(5, idle_after_an_hour());
    let known = pool.checkout(f.projects[0], "a").await.unwrap();
    let marked = BTreeMap::from([(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())]);
    let orphan = f
        .local
        .provider
        .create(CreateSpec {
            metadata: marked,
            timeout: Duration::from_secs(600),
            ..CreateSpec::default()
        })
        .await
        .unwrap();
    let foreign = f
        .local
        .provider
        .create(CreateSpec {
            timeout: Duration::from_secs(600),
            ..CreateSpec::default()
        })
        .await
        .unwrap();

    let too_young = pool.kill_orphans(Duration::from_secs(600)).await.unwrap();
    let killed = pool.kill_orphans(Duration::ZERO).await.unwrap();

    assert_eq!(too_young, 0);
    assert_eq!(killed, 1);
    assert!(f.local.provider.connect(orphan.id()).await.is_err());
    assert!(f.local.provider.connect(known.sandbox.id()).await.is_ok());
    assert!(f.local.provider.connect(foreign.id()).await.is_ok());
}
