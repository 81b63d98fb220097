use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use hero_worker::lease::{LeaseError, PoolConfig, PoolError};
use hero_worker::sandbox::{ExecRequest, SandboxProvider, exec_collect};

use crate::fixture::Fixture;

#[tokio::test]
async fn hundreds_of_racing_checkouts_never_exceed_the_cap_and_all_get_a_sandbox() {
    const MAX: u32 = 10;
    let f = Fixture::new(200).await;
    let pool = f.pool(
        MAX,
        PoolConfig {
            max_wait: Duration::from_secs(120),
            ..PoolConfig::default()
        },
    );
    let table = pool.table().clone();
    let provider = f.local.shared();
    let done = Arc::new(AtomicBool::new(false));
    let most_rows = Arc::new(AtomicI64::new(0));
    let most_provider = Arc::new(AtomicI64::new(0));

    let sampler = {
        let (done, most_rows, most_provider) =
            (done.clone(), most_rows.clone(), most_provider.clone());
        let provider = provider.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let rows = table.live_count().await.unwrap();
                let listed = provider.list(&BTreeMap::new()).await.unwrap().len();
                most_rows.fetch_max(rows, Ordering::SeqCst);
                most_provider.fetch_max(i64::try_from(listed).unwrap(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for (i, project) in f.projects.iter().copied().enumerate() {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let checkout = pool.checkout(project, &format!("task-{i}")).await.unwrap();
            let (exit, _) = exec_collect(&*checkout.sandbox, ExecRequest::new("true"))
                .await
                .unwrap();
            assert_eq!(exit.exit_code, Some(0));
            pool.release(checkout).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    sampler.await.unwrap();

    assert!(
        most_rows.load(Ordering::SeqCst) <= i64::from(MAX),
        "rows: {most_rows:?}"
    );
    assert!(
        most_provider.load(Ordering::SeqCst) <= i64::from(MAX),
        "provider: {most_provider:?}"
    );
    assert_eq!(pool.table().live_count().await.unwrap(), i64::from(MAX));
    assert_eq!(
        provider.list(&BTreeMap::new()).await.unwrap().len(),
        usize::try_from(MAX).unwrap()
    );
}

#[tokio::test]
async fn at_capacity_the_least_recently_used_idle_sandbox_is_closed() {
    let f = Fixture::new(4).await;
    let pool = f.pool(3, PoolConfig::default());
    let mut rows = Vec::new();
    for (i, project) in f.projects[..3].iter().enumerate() {
        let checkout = pool.checkout(*project, &format!("t{i}")).await.unwrap();
        rows.push((checkout.lease.id, checkout.sandbox.id().to_owned()));
        pool.release(checkout).await.unwrap();
    }
    f.age(rows[0].0, 60).await;
    f.age(rows[1].0, 600).await;
    f.age(rows[2].0, 30).await;

    let fourth = pool.checkout(f.projects[3], "t3").await.unwrap();

    assert!(fourth.fresh);
    assert_eq!(f.state_of(rows[1].0).await, "closed");
    assert_eq!(f.state_of(rows[0].0).await, "ready");
    assert_eq!(f.state_of(rows[2].0).await, "ready");
    let error = f.local.provider.connect(&rows[1].1).await.err().unwrap();
    assert_eq!(error.kind, hero_worker::sandbox::SandboxErrorKind::NotFound);
}

#[tokio::test]
async fn at_capacity_a_sandbox_batch_work_left_goes_before_an_older_interactive_one() {
    let f = Fixture::new(4).await;
    let pool = f.pool(3, PoolConfig::default());
    let mut rows = Vec::new();
    for (i, project) in f.projects[..3].iter().enumerate() {
        let checkout = pool.checkout(*project, &format!("t{i}")).await.unwrap();
        rows.push(checkout.lease.id);
        if i == 2 {
            pool.table()
                .release_from_batch(&checkout.lease)
                .await
                .unwrap();
        } else {
            pool.release(checkout).await.unwrap();
        }
    }
    f.age(rows[0], 600).await;
    f.age(rows[1], 300).await;
    f.age(rows[2], 5).await;

    let fourth = pool.checkout(f.projects[3], "t3").await.unwrap();

    assert!(fourth.fresh);
    assert_eq!(
        f.state_of(rows[2]).await,
        "closed",
        "the batch's sandbox made room"
    );
    assert_eq!(
        f.state_of(rows[0]).await,
        "ready",
        "the agent's idle sandbox stayed"
    );
    assert_eq!(f.state_of(rows[1]).await, "ready");
}

#[tokio::test]
async fn when_every_sandbox_is_held_a_checkout_waits_for_one_to_be_released() {
    let f = Fixture::new(2).await;
    let pool = f.pool(
        1,
        PoolConfig {
            max_wait: Duration::from_secs(30),
            ..PoolConfig::default()
        },
    );
    let holding = pool.checkout(f.projects[0], "first").await.unwrap();

    let waiter = {
        let pool = pool.clone();
        let project = f.projects[1];
        tokio::spawn(async move { pool.checkout(project, "second").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "the second checkout must wait, not fail"
    );
    pool.release(holding).await.unwrap();

    let second = waiter.await.unwrap().unwrap();
    assert!(second.waited > Duration::ZERO);
    assert_eq!(pool.table().live_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_bounded_wait_reports_how_long_it_waited() {
    let f = Fixture::new(2).await;
    let pool = f.pool(
        1,
        PoolConfig {
            max_wait: Duration::from_millis(300),
            ..PoolConfig::default()
        },
    );
    let _holding = pool.checkout(f.projects[0], "first").await.unwrap();

    let error = pool.checkout(f.projects[1], "second").await.err().unwrap();

    match error {
        PoolError::Lease(LeaseError::WaitExceeded { waited }) => {
            assert!(waited >= Duration::from_millis(300))
        }
        other => panic!("expected a wait error, got {other}"),
    }
}

#[tokio::test]
async fn a_dead_sandbox_is_replaced_on_checkout() {
    let f = Fixture::new(1).await;
    let pool = f.pool(2, PoolConfig::default());
    let first = pool.checkout(f.projects[0], "a").await.unwrap();
    let (old_row, old_sandbox) = (first.lease.id, first.sandbox.id().to_owned());
    pool.release(first).await.unwrap();
    f.local.provider.kill(&old_sandbox).await.unwrap();

    let second = pool.checkout(f.projects[0], "b").await.unwrap();

    assert!(second.fresh);
    assert_ne!(second.sandbox.id(), old_sandbox);
    assert_ne!(second.lease.id, old_row);
    assert_ne!(f.state_of(old_row).await, "ready");
    let (exit, _) = exec_collect(&*second.sandbox, ExecRequest::new("true"))
        .await
        .unwrap();
    assert_eq!(exit.exit_code, Some(0));
}

#[tokio::test]
async fn using_a_sandbox_pushes_its_provider_timeout_past_the_idle_timeout() {
    let f = Fixture::new(1).await;
    let config = PoolConfig {
        idle_timeout: Duration::from_secs(3600),
        provider_timeout_margin: Duration::from_secs(600),
        ..PoolConfig::default()
    };
    let pool = f.pool(2, config);
    let first = pool.checkout(f.projects[0], "a").await.unwrap();
    let id = first.sandbox.id().to_owned();
    pool.release(first).await.unwrap();
    f.local
        .provider
        .set_timeout(&id, Duration::from_secs(5))
        .await
        .unwrap();

    let again = pool.checkout(f.projects[0], "b").await.unwrap();

    assert_eq!(again.sandbox.id(), id);
    let listed = f.local.provider.list(&BTreeMap::new()).await.unwrap();
    let remaining = listed[0].end_at - chrono::Utc::now();
    assert!(remaining > chrono::Duration::seconds(3600), "{remaining}");
}
