//! Nothing in a delivery is read before its signature holds; bad or
//! missing signatures, odd headers and oversized or malformed bodies get a
//! 4xx that says what is wrong.

use hero_tests::fake_github::webhooks::signature;
use hero_tests::{TestApp, logs};
use serde_json::json;

use crate::support::{Hook, SECRET};

#[test]
fn the_kit_signs_githubs_published_example_as_github_does() {
    let signed = signature("It's a Secret to Everybody", b"Hello, World!");

    assert_eq!(
        signed,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[tokio::test]
async fn githubs_published_example_passes_the_signature_check() {
    let hook = Hook::spawn_with(&[("GITHUB_WEBHOOK_SECRET", "It's a Secret to Everybody")]).await;

    // The example body is not JSON: getting past the signature to the
    // payload check is the proof that the signature was accepted.
    let answer = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                (
                    "x-hub-signature-256",
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                ),
            ],
            b"Hello, World!".to_vec(),
        )
        .await;

    let message = answer.error(400, "malformed_payload");
    assert!(message.contains("not valid JSON"), "{message}");
}

#[tokio::test]
async fn a_delivery_signed_with_another_secret_is_401() {
    let hook = Hook::spawn().await;
    let body = hook.source.push("refs/heads/main").to_string().into_bytes();
    let signed = signature("not-the-secret", &body);

    let answer = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "d-1"),
                ("x-hub-signature-256", &signed),
            ],
            body,
        )
        .await;

    let message = answer.error(401, "invalid_signature");
    assert!(message.contains("GITHUB_WEBHOOK_SECRET"), "{message}");
}

#[tokio::test]
async fn a_body_changed_after_signing_is_401() {
    let hook = Hook::spawn().await;
    let body = hook.source.push("refs/heads/main").to_string();
    let signed = signature(SECRET, body.as_bytes());
    let changed = body.replace("refs/heads/main", "refs/heads/evil");

    let answer = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "d-1"),
                ("x-hub-signature-256", &signed),
            ],
            changed.into_bytes(),
        )
        .await;

    answer.error(401, "invalid_signature");
}

#[tokio::test]
async fn a_missing_or_malformed_signature_is_401_naming_the_header() {
    let hook = Hook::spawn().await;
    let body = hook.source.push("refs/heads/main").to_string().into_bytes();
    let sha1_only = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";

    let missing = hook
        .send(
            &[("x-github-event", "push"), ("x-github-delivery", "d-1")],
            body.clone(),
        )
        .await;
    let malformed = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "d-2"),
                ("x-hub-signature-256", sha1_only),
            ],
            body,
        )
        .await;

    assert!(
        missing
            .error(401, "invalid_signature")
            .contains("X-Hub-Signature-256 header is missing")
    );
    assert!(
        malformed
            .error(401, "invalid_signature")
            .contains("64 hexadecimal digits")
    );
}

#[tokio::test]
async fn an_unsigned_delivery_gets_nothing_recorded() {
    let hook = Hook::spawn().await;
    let project = hook.project("shop", json!({})).await;
    let body = hook.source.push("refs/heads/main").to_string().into_bytes();

    hook.send(
        &[("x-github-event", "push"), ("x-github-delivery", "d-1")],
        body,
    )
    .await
    .error(401, "invalid_signature");

    assert!(hook.jobs(project).await.is_empty());
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM github_deliveries")
        .fetch_one(&hook.app.db.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn without_a_secret_the_route_is_404_naming_the_setting() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(format!("{}/v1/webhooks/github", app.url))
        .header("x-github-event", "push")
        .header("x-github-delivery", "d-1")
        .header("x-hub-signature-256", signature("", b"{}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();

    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "webhooks_disabled");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("GITHUB_WEBHOOK_SECRET"), "{message}");
}

#[tokio::test]
async fn an_oversized_delivery_is_413() {
    let hook = Hook::spawn_with(&[("HERO_MAX_BODY_BYTES", "4096")]).await;
    let mut payload = hook.source.push("refs/heads/main");
    payload["head_commit"]["message"] = json!("x".repeat(10_000));

    let answer = hook.deliver("push", &payload).await;

    let message = answer.error(413, "payload_too_large");
    assert!(message.contains("HERO_MAX_BODY_BYTES"), "{message}");
}

#[tokio::test]
async fn malformed_json_after_a_valid_signature_is_400() {
    let hook = Hook::spawn().await;
    let body = br#"{"ref": "refs/heads/main", "repository": "#.to_vec();
    let signed = signature(SECRET, &body);

    let answer = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "d-1"),
                ("x-hub-signature-256", &signed),
            ],
            body,
        )
        .await;

    let message = answer.error(400, "malformed_payload");
    assert!(message.contains("not valid JSON"), "{message}");
}

#[tokio::test]
async fn a_payload_missing_a_needed_field_is_400_naming_it() {
    let hook = Hook::spawn().await;
    let mut payload = hook.source.pull_request_closed(7, "hero/fix", true);
    payload.as_object_mut().unwrap().remove("repository");

    let answer = hook.deliver("pull_request", &payload).await;

    let message = answer.error(400, "malformed_payload");
    assert!(message.contains("repository"), "{message}");
}

#[tokio::test]
async fn a_missing_or_strange_event_or_delivery_header_is_400() {
    let hook = Hook::spawn().await;
    let body = hook.source.push("refs/heads/main").to_string().into_bytes();
    let signed = signature(SECRET, &body);

    let no_event = hook
        .send(
            &[
                ("x-github-delivery", "d-1"),
                ("x-hub-signature-256", &signed),
            ],
            body.clone(),
        )
        .await;
    let no_delivery = hook
        .send(
            &[("x-github-event", "push"), ("x-hub-signature-256", &signed)],
            body.clone(),
        )
        .await;
    let strange_delivery = hook
        .send(
            &[
                ("x-github-event", "push"),
                ("x-github-delivery", "d 1; DROP TABLE jobs"),
                ("x-hub-signature-256", &signed),
            ],
            body,
        )
        .await;

    assert!(
        no_event
            .error(400, "invalid_header")
            .contains("X-GitHub-Event")
    );
    assert!(
        no_delivery
            .error(400, "invalid_header")
            .contains("X-GitHub-Delivery")
    );
    assert!(
        strange_delivery
            .error(400, "invalid_header")
            .contains("X-GitHub-Delivery")
    );
}

#[tokio::test]
async fn a_form_encoded_delivery_is_415_saying_how_to_configure_the_webhook() {
    let hook = Hook::spawn().await;
    let body = b"payload=%7B%7D".to_vec();
    let signed = signature(SECRET, &body);

    let response = hook
        .app
        .client
        .post(format!("{}/v1/webhooks/github", hook.app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-github-event", "push")
        .header("x-github-delivery", "d-1")
        .header("x-hub-signature-256", signed)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let error: serde_json::Value = response.json().await.unwrap();

    assert_eq!(status, 415);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
}

#[tokio::test]
async fn the_webhook_secret_never_appears_in_logs_or_answers() {
    let captured = logs::capture();
    let hook = Hook::spawn().await;
    hook.project(
        "shop",
        json!({"labels": [{"label": "hero", "job": {"kind": "hydrate"}}]}),
    )
    .await;
    let push = hook.source.push("refs/heads/main");
    let body = push.to_string().into_bytes();
    let mut answers = Vec::new();

    answers.push(hook.deliver_as("push", "d-1", &push).await);
    answers.push(hook.deliver_as("push", "d-1", &push).await);
    answers.push(
        hook.deliver("issues", &hook.source.issue_labeled(3, "hero"))
            .await,
    );
    answers.push(
        hook.deliver("ping", &json!({"zen": "Design for failure."}))
            .await,
    );
    for bad in [
        signature("wrong", &body),
        "sha256=zz".to_owned(),
        SECRET.to_owned(),
    ] {
        answers.push(
            hook.send(
                &[
                    ("x-github-event", "push"),
                    ("x-github-delivery", "d-bad"),
                    ("x-hub-signature-256", &bad),
                ],
                body.clone(),
            )
            .await,
        );
    }

    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 200, 200, 202, 401, 401, 401]);
    let text = captured.text();
    assert!(
        text.contains("webhook delivery handled"),
        "the capture saw the deliveries"
    );
    assert!(
        !text.contains(SECRET),
        "the webhook secret appeared in the logs"
    );
    for answer in &answers {
        assert!(!answer.body.to_string().contains(SECRET), "{}", answer.body);
    }
}
