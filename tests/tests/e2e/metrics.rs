//! Each `hero-worker` process serves its own `/metrics`, counting the
//! jobs it ran by kind and outcome, and how long they took.

use std::time::Duration;

use hero_tests::cluster::Cluster;
use serde_json::json;

#[tokio::test]
async fn a_workers_metrics_count_the_jobs_it_ran() {
    let cluster = Cluster::start(1, &[]).await;
    let project = cluster
        .project("acme", "metered", &[("a.txt", "a\n")])
        .await;
    let pid = cluster.worker_pids()[0];
    let probes = cluster.worker_probes_url(pid).unwrap().to_owned();

    for command in ["true", "echo metered"] {
        let params = json!({"tool": "run_shell", "command": command});
        let job = cluster.enqueue(&project, "run_tool", params).await.unwrap();
        let ended = cluster.wait(&job, Duration::from_secs(60)).await;
        assert_eq!(ended["status"], "succeeded", "{ended}");
    }
    let response = cluster
        .client
        .get(format!("{probes}/metrics"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let metrics = response.text().await.unwrap();

    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"hero_jobs_total{kind="run_tool",outcome="succeeded"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"hero_job_duration_seconds_count{kind="run_tool",outcome="succeeded"} 2"#),
        "{metrics}"
    );
    assert!(
        !metrics.contains("hero_jobs_accepted_total"),
        "the API's counters are the API's own: {metrics}"
    );
}
