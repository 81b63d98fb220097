use std::time::Duration;

use hero_tests::cluster::Cluster;
use serde_json::json;

/// A hydrated project of `cluster` and the id of a `run_shell` job of
/// `command` in it, once a worker runs it.
async fn running(cluster: &Cluster, name: &str, command: &str) -> String {
    let project = cluster.project("acme", name, &[("a.txt", "a\n")]).await;
    let hydrate = cluster
        .enqueue(&project, "hydrate", json!({}))
        .await
        .unwrap();
    cluster.wait(&hydrate, Duration::from_secs(60)).await;
    let job = cluster
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": command}),
        )
        .await
        .unwrap();
    while cluster.job(&job).await["status"] != "running" {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    job
}

#[tokio::test]
async fn sigterm_lets_the_running_job_finish_and_the_worker_exits_cleanly() {
    let mut cluster = Cluster::start(1, &[]).await;
    let job = running(&cluster, "calm", "sleep 2; echo done").await;

    let worker = cluster.worker_pids()[0];
    let code = cluster.stop_worker(worker).await;
    let ended = cluster.job(&job).await;

    assert_eq!(code, Some(0));
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["result"]["stdout"], "done\n");
}

#[tokio::test]
async fn a_job_longer_than_the_shutdown_grace_goes_back_and_runs_elsewhere() {
    let mut cluster = Cluster::start(1, &[("HERO_SHUTDOWN_TIMEOUT", "1s")]).await;
    let command = "if [ -f started ]; then echo second; else touch started; sleep 60; fi";
    let job = running(&cluster, "long", command).await;

    let first = cluster.worker_pids()[0];
    let code = cluster.stop_worker(first).await;
    let requeued = cluster.job(&job).await;
    cluster.start_worker();
    let ended = cluster.wait(&job, Duration::from_secs(60)).await;

    assert_eq!(code, Some(0));
    // Back in line: queued, or already sent to the queue for the next worker.
    assert!(
        matches!(requeued["status"].as_str(), Some("queued" | "dispatched")),
        "{requeued}"
    );
    assert_eq!(requeued["error"]["code"], "worker_stopped");
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["result"]["stdout"], "second\n");
}
