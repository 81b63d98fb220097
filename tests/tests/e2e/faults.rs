use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use hero_tests::cluster::Cluster;
use redis::AsyncCommands as _;
use reqwest::Method;
use serde_json::{Value, json};

async fn succeeded(cluster: &Cluster, job: &str) -> Value {
    let ended = cluster.wait(job, Duration::from_secs(120)).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    ended
}

/// The process id of the worker running `job`, once one does.
async fn runner_of(cluster: &Cluster, job: &str) -> u32 {
    for _ in 0..600 {
        let now = cluster.job(job).await;
        if now["status"] == "running"
            && let Some(worker) = now["worker"].as_str()
        {
            // `{host}-{pid}-{random}/{job}`
            let name = worker.split('/').next().unwrap();
            let pid = name.rsplit('-').nth(1).unwrap();
            return pid.parse().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {job} never ran");
}

#[tokio::test]
async fn a_worker_killed_mid_push_loses_nothing_and_one_pull_request_is_opened() {
    let mut cluster = Cluster::start(2, &[]).await;
    let project = cluster
        .project("acme", "shop", &[("README.md", "# shop\n")])
        .await;
    for (kind, params) in [
        ("hydrate", json!({})),
        (
            "run_tool",
            json!({"tool": "write_file", "path": "cart.txt", "content": "cart\n"}),
        ),
        (
            "run_tool",
            json!({"tool": "run_git", "args": ["add", "cart.txt"]}),
        ),
        (
            "run_tool",
            json!({"tool": "run_git", "args": ["commit", "-m", "Add a cart"]}),
        ),
    ] {
        let job = cluster.enqueue(&project, kind, params).await.unwrap();
        succeeded(&cluster, &job).await;
    }
    // Every push now takes a while on the forge's side: long enough to
    // kill the worker in the middle of it.
    let hook = cluster
        .data_dir
        .join("forge/acme/shop.git/hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\nsleep 3\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let submit = cluster
        .enqueue(
            &project,
            "submit_pr",
            json!({"title": "Add a cart", "branch": "cart"}),
        )
        .await
        .unwrap();
    let first = runner_of(&cluster, &submit).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    cluster.kill_worker(first).await;
    let ended = succeeded(&cluster, &submit).await;

    assert!(
        ended["attempt"].as_i64().unwrap() >= 2,
        "it ran again elsewhere: {ended}"
    );
    assert!(
        !ended["worker"]
            .as_str()
            .unwrap()
            .contains(&format!("-{first}-")),
        "{ended}"
    );
    let pulls: Value = cluster
        .request(
            Method::GET,
            &format!("/v1/projects/{project}/pull_requests"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pulls["pull_requests"].as_array().unwrap().len(),
        1,
        "{pulls}"
    );
    assert_eq!(ended["result"]["number"], 1);
}

#[tokio::test]
async fn emptying_redis_mid_run_loses_no_job() {
    let cluster = Cluster::start(2, &[]).await;
    let mut projects = Vec::new();
    for name in ["one", "two", "three"] {
        projects.push(cluster.project("acme", name, &[("log.txt", "")]).await);
    }
    let mut jobs = Vec::new();
    for i in 0..6 {
        for project in &projects {
            let command = format!("sleep 0.2; echo {i} >> log.txt");
            let params = json!({"tool": "run_shell", "command": command});
            jobs.push(cluster.enqueue(project, "run_tool", params).await.unwrap());
        }
    }

    // What a FLUSHALL or a restart without persistence does to this
    // deployment: every one of its keys gone (other tests share the server).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis.keys(format!("{}:*", cluster.prefix)).await.unwrap();
    assert!(!keys.is_empty(), "the run had keys to lose");
    let _: () = redis.del(keys).await.unwrap();

    for job in &jobs {
        succeeded(&cluster, job).await;
    }
    let expected: String = (0..6).map(|i| format!("{i}\n")).collect();
    for project in &projects {
        let read = cluster
            .enqueue(
                project,
                "run_tool",
                json!({"tool": "read_file", "path": "log.txt"}),
            )
            .await
            .unwrap();
        let read = succeeded(&cluster, &read).await;
        assert_eq!(
            read["result"]["content"], expected,
            "in order, each once: {read}"
        );
    }
}

#[tokio::test]
async fn the_api_killed_while_accepting_jobs_loses_none_it_accepted() {
    let mut cluster = Cluster::start(1, &[]).await;
    let mut projects = Vec::new();
    for name in ["red", "green"] {
        projects.push(cluster.project("acme", name, &[("log.txt", "")]).await);
    }

    let mut sending = Vec::new();
    for i in 0..40 {
        let project = projects[i % 2].clone();
        let client = cluster.client.clone();
        let url = format!("{}/v1/projects/{project}/jobs", cluster.url);
        let token = cluster.token.clone();
        sending.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
            let body = json!({"kind": "run_tool", "params": {"tool": "run_shell", "command": format!("echo {i} >> log.txt")}});
            let response = client.post(url).bearer_auth(token).json(&body).send().await.ok()?;
            if response.status() != 202 {
                return None;
            }
            let job: Value = response.json().await.ok()?;
            Some((i, job["id"].as_str()?.to_owned()))
        }));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    cluster.kill_api().await;
    let mut accepted = Vec::new();
    for sent in sending {
        if let Some(job) = sent.await.unwrap() {
            accepted.push(job);
        }
    }
    cluster.start_api().await;

    assert!(
        !accepted.is_empty() && accepted.len() < 40,
        "the kill fell mid-burst: {}",
        accepted.len()
    );
    for (_, job) in &accepted {
        succeeded(&cluster, job).await;
    }
}

#[tokio::test]
async fn jobs_left_queued_or_dispatched_without_a_message_are_sent_again() {
    let cluster = Cluster::start(1, &[]).await;
    let project = cluster.project("acme", "lost", &[("a.txt", "a\n")]).await;
    let project_id: uuid::Uuid = project.parse().unwrap();
    // The states an API crash can leave: accepted but never pushed, and
    // claimed for its queue but never pushed.
    let insert = |status: &'static str, command: &'static str| {
        let pool = cluster.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>(
                "INSERT INTO jobs (id, project_id, kind, params, max_attempts, status, dispatch, dispatched_at)
                 VALUES ($1, $2, 'run_tool', $3, 3, $4, CASE WHEN $4 = 'dispatched' THEN 1 ELSE 0 END,
                         CASE WHEN $4 = 'dispatched' THEN now() - interval '1 minute' END)
                 RETURNING id",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(project_id)
            .bind(json!({"tool": "run_shell", "command": command}))
            .bind(status)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };

    let dispatched = insert("dispatched", "echo first >> log.txt").await;
    let queued = insert("queued", "echo second >> log.txt").await;

    succeeded(&cluster, &dispatched.to_string()).await;
    succeeded(&cluster, &queued.to_string()).await;
    let read = cluster
        .enqueue(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "log.txt"}),
        )
        .await
        .unwrap();
    assert_eq!(
        succeeded(&cluster, &read).await["result"]["content"],
        "first\nsecond\n"
    );
}
