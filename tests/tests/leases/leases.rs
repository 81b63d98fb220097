use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hero_worker::lease::{Busy, LeaseError};

use crate::fixture::Fixture;

#[tokio::test]
async fn many_tasks_racing_for_one_project_never_hold_it_together() {
    let f = Fixture::new(1).await;
    let table = f.table(10, Duration::from_secs(30));
    let project = f.projects[0];
    let holders = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));

    let mut tasks = Vec::new();
    for task in 0..32 {
        let (table, holders, tokens) = (table.clone(), holders.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut acquired = 0;
            while acquired < 5 {
                match table
                    .try_acquire(project, "local", &format!("task-{task}"))
                    .await
                    .unwrap()
                {
                    Ok(lease) => {
                        let at_once = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        assert_eq!(at_once, 1, "two holders at once");
                        tokens.lock().unwrap().push(lease.token);
                        tokio::task::yield_now().await;
                        holders.fetch_sub(1, Ordering::SeqCst);
                        table.release(&lease).await.unwrap();
                        acquired += 1;
                    }
                    Err(busy) => {
                        assert_eq!(busy, Busy::Held);
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let tokens = tokens.lock().unwrap().clone();
    let distinct: HashSet<_> = tokens.iter().collect();
    assert_eq!(tokens.len(), 32 * 5);
    assert_eq!(
        distinct.len(),
        tokens.len(),
        "every acquire gets a new fencing token"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sandboxes")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "one sandbox row for the project");
}

#[tokio::test]
async fn an_expired_lease_can_be_taken_over_and_the_old_holder_is_fenced_out() {
    let f = Fixture::new(1).await;
    let table = f.table(10, Duration::from_millis(300));
    let project = f.projects[0];
    let mut first = table
        .try_acquire(project, "local", "worker-a")
        .await
        .unwrap()
        .unwrap();
    table.mark_ready(&mut first, "sbx-1").await.unwrap();

    let while_held = table
        .try_acquire(project, "local", "worker-b")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut second = table
        .try_acquire(project, "local", "worker-b")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(while_held, Err(Busy::Held));
    assert_eq!(second.id, first.id);
    assert!(second.token > first.token);
    assert_eq!(second.provider_id.as_deref(), Some("sbx-1"));

    let mut stale = first.clone();
    assert!(matches!(
        table.record_hydrated(&mut stale, "deadbeef", "{}").await,
        Err(LeaseError::Lost)
    ));
    assert!(matches!(
        table.heartbeat(&mut stale).await,
        Err(LeaseError::Lost)
    ));
    assert!(matches!(table.release(&first).await, Err(LeaseError::Lost)));
    assert!(matches!(
        table.mark_failed(&first, "stale").await,
        Err(LeaseError::Lost)
    ));

    table
        .record_hydrated(&mut second, "cafe", "{}")
        .await
        .unwrap();
    let stored: Option<String> = sqlx::query_scalar("SELECT hydrated_commit FROM sandboxes")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some("cafe"));
    assert_eq!(f.state_of(second.id).await, "ready");
}

#[tokio::test]
async fn a_heartbeat_keeps_a_lease_from_expiring() {
    let f = Fixture::new(1).await;
    let table = f.table(10, Duration::from_millis(300));
    let project = f.projects[0];
    let mut lease = table
        .try_acquire(project, "local", "worker-a")
        .await
        .unwrap()
        .unwrap();

    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        table.heartbeat(&mut lease).await.unwrap();
    }

    assert_eq!(
        table
            .try_acquire(project, "local", "worker-b")
            .await
            .unwrap(),
        Err(Busy::Held)
    );
}

#[tokio::test]
async fn a_released_lease_is_free_at_once_and_keeps_the_sandbox() {
    let f = Fixture::new(1).await;
    let table = f.table(10, Duration::from_secs(30));
    let project = f.projects[0];
    let mut lease = table
        .try_acquire(project, "local", "a")
        .await
        .unwrap()
        .unwrap();
    table.mark_ready(&mut lease, "sbx").await.unwrap();

    table.release(&lease).await.unwrap();
    let next = table
        .try_acquire(project, "local", "b")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(next.id, lease.id);
    assert_eq!(next.provider_id.as_deref(), Some("sbx"));
    assert_eq!(next.holder, "b");
}
