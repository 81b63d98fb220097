//! The token scan the session tests end with can fail: a token planted in
//! each place it reads is found there.

use std::panic::AssertUnwindSafe;

use hero_common::jobs::events::events_key;
use hero_tests::hero_env::{HeroEnv, succeeded};
use hero_tests::traces::{self, Traces};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn the_token_scan_finds_a_token_planted_in_each_place_it_reads() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "planted", &[("README.md", "x\n")])
        .await;
    let job = env.enqueue(&project, "hydrate", json!({})).await;
    succeeded(&env.wait(&job, std::time::Duration::from_secs(120)).await);
    let token = env.local_forge_token("acme", "planted");
    let clean = Traces::of(&env).await;

    let config = traces::git_configs(&env.data_dir)
        .pop()
        .expect("the sandbox's git config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[http]\n\textraHeader = Authorization: Bearer {token}\n"
    ));
    std::fs::write(&config, text).unwrap();
    sqlx::query("UPDATE jobs SET result = jsonb_build_object('token', $1::text) WHERE id = $2")
        .bind(&token)
        .bind(job.parse::<Uuid>().unwrap())
        .execute(&env.app.db.pool)
        .await
        .unwrap();
    let key = events_key(&env.settings().queue.prefix, job.parse().unwrap());
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("event")
        .arg(&token)
        .query_async(&mut env.redis().await)
        .await
        .unwrap();
    tracing::info!(planted = %token, "a careless log line");
    let planted = Traces::of(&env).await;

    assert!(clean.places_holding(&token).is_empty());
    assert_eq!(
        planted.places_holding(&token),
        [
            config.display().to_string(),
            format!("job {job}"),
            format!("events of job {job}"),
            "the logs".to_owned(),
        ]
    );
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        planted.assert_free_of(std::slice::from_ref(&token))
    }));
    assert!(caught.is_err(), "the assertion fails on a planted token");
}
