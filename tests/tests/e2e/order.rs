use std::time::Duration;

use hero_tests::cluster::Cluster;
use serde_json::json;

#[tokio::test]
async fn a_burst_over_several_projects_runs_in_order_per_project_across_workers() {
    let cluster = Cluster::start(2, &[]).await;
    let mut projects = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        projects.push(cluster.project("acme", name, &[("log.txt", "")]).await);
    }

    let mut jobs = Vec::new();
    for i in 0..8 {
        for project in &projects {
            let params = json!({"tool": "run_shell", "command": format!("echo {i} >> log.txt")});
            jobs.push(cluster.enqueue(project, "run_tool", params).await.unwrap());
        }
    }
    for job in &jobs {
        let ended = cluster.wait(job, Duration::from_secs(120)).await;
        assert_eq!(ended["status"], "succeeded", "{ended}");
    }

    let expected: String = (0..8).map(|i| format!("{i}\n")).collect();
    for project in &projects {
        let read = cluster
            .enqueue(
                project,
                "run_tool",
                json!({"tool": "read_file", "path": "log.txt"}),
            )
            .await
            .unwrap();
        let read = cluster.wait(&read, Duration::from_secs(60)).await;
        assert_eq!(read["result"]["content"], expected, "{read}");
    }
}
