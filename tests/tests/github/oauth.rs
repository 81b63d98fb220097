//! OAuth user tokens: the web flow's code exchange, the pair stored sealed
//! and bound to its user and role, refreshed (and rotated) when expired,
//! and refreshed once however many workers ask at the same time.

use std::sync::Arc;
use std::time::Duration;

use hero_common::github_oauth::{OAuthClient, OAuthError};
use hero_tests::fake_github::{Endpoint, FakeGitHub};
use hero_worker::forge::github::GitHubForge;
use hero_worker::forge::{Access, Forge, ForgeErrorKind, RepoRef};
use secrecy::ExposeSecret;

use crate::support::{OAuthEnv, assert_no_token_in, repo_ref, secret};

async fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start().await;
    fake.add_repo("acme", "widgets").await;
    fake
}

#[tokio::test]
async fn a_code_is_exchanged_for_tokens_that_the_store_hands_back() {
    let logs = hero_tests::logs::capture();
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let code = fake.authorize("alice", Some("http://localhost:5173/callback"));

    env.store
        .connect(env.user_id, &code, Some("http://localhost:5173/callback"))
        .await
        .unwrap();
    let token = env.store.valid_access_token(env.user_id).await.unwrap();

    assert!(token.expose_secret().starts_with("ghu_"));
    assert_eq!(fake.counts().code_exchanges, 1);
    assert_eq!(fake.counts().refreshes, 0);
    assert!(fake.token_allows(token.expose_secret(), "acme", "widgets"));
    assert_no_token_in(&fake, &logs, &[]);
}

#[tokio::test]
async fn the_table_holds_no_token_in_the_clear() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let code = fake.authorize("alice", None);
    let tokens = env.store.client().exchange_code(&code, None).await.unwrap();

    env.store.save(env.user_id, &tokens).await.unwrap();

    let row: (Vec<u8>, Option<Vec<u8>>, String) = sqlx::query_as(
        "SELECT access_ciphertext, refresh_ciphertext, row_to_json(t)::text
         FROM github_oauth_tokens t WHERE user_id = $1",
    )
    .bind(env.user_id)
    .fetch_one(&env.db.pool)
    .await
    .unwrap();
    let access = tokens.access_token.expose_secret();
    let refresh = tokens.refresh_token.as_ref().unwrap().expose_secret();
    for plain in [access, refresh] {
        assert!(!contains(&row.0, plain.as_bytes()));
        assert!(!contains(row.1.as_deref().unwrap(), plain.as_bytes()));
        assert!(!row.2.contains(plain));
        assert!(!row.2.contains(&hex(plain.as_bytes())));
    }
}

#[tokio::test]
async fn a_bad_code_is_refused_with_githubs_reason() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let code = fake.authorize("alice", None);
    env.store.connect(env.user_id, &code, None).await.unwrap();

    let reused = env
        .store
        .connect(env.user_id, &code, None)
        .await
        .unwrap_err();
    let made_up = env
        .store
        .connect(env.user_id, "not-a-code", None)
        .await
        .unwrap_err();

    for error in [reused, made_up] {
        assert!(
            matches!(&error, OAuthError::Refused { code, .. } if code == "bad_verification_code"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn wrong_client_credentials_are_refused() {
    let fake = fake().await;
    let mut config = fake.oauth_config();
    config.client_secret = secret("wrong");
    let client = OAuthClient::new(config).unwrap();
    let code = fake.authorize("alice", None);

    let error = client.exchange_code(&code, None).await.unwrap_err();

    assert!(
        matches!(&error, OAuthError::Refused { code, .. } if code == "incorrect_client_credentials"),
        "{error}"
    );
    assert!(!error.to_string().contains(&fake.client_secret));
}

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_and_both_tokens_rotate() {
    let fake = fake().await;
    // A minute is within the five-minute margin: due for refresh at once.
    fake.set_user_token_lifetimes(Some(Duration::from_secs(60)), Duration::from_secs(3600));
    let env = OAuthEnv::start(&fake).await;
    let code = fake.authorize("alice", None);
    let first = env.store.client().exchange_code(&code, None).await.unwrap();
    env.store.save(env.user_id, &first).await.unwrap();
    let old_access = first.access_token.expose_secret().to_owned();
    let old_refresh = first.refresh_token.unwrap().expose_secret().to_owned();

    let refreshed = env.store.valid_access_token(env.user_id).await.unwrap();
    let again = env.store.valid_access_token(env.user_id).await.unwrap();

    assert_ne!(refreshed.expose_secret(), old_access);
    assert_ne!(again.expose_secret(), refreshed.expose_secret());
    assert_eq!(fake.counts().refreshes, 2);
    assert!(!fake.token_allows(&old_access, "acme", "widgets"));
    assert!(fake.token_allows(again.expose_secret(), "acme", "widgets"));
    // The old refresh token died with its first use.
    let reuse = env
        .store
        .client()
        .refresh(&secret(&old_refresh))
        .await
        .unwrap_err();
    assert!(matches!(&reuse, OAuthError::Refused { code, .. } if code == "bad_refresh_token"));
}

#[tokio::test]
async fn a_fresh_access_token_is_not_refreshed() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let code = fake.authorize("alice", None);
    env.store.connect(env.user_id, &code, None).await.unwrap();

    let first = env.store.valid_access_token(env.user_id).await.unwrap();
    let second = env.store.valid_access_token(env.user_id).await.unwrap();

    assert_eq!(first.expose_secret(), second.expose_secret());
    assert_eq!(fake.counts().refreshes, 0);
}

#[tokio::test]
async fn concurrent_refreshes_for_one_user_refresh_once_and_keep_a_working_refresh_token() {
    let logs = hero_tests::logs::capture();
    let fake = fake().await;
    // The first access token is due for refresh at once; the refreshed one
    // lasts GitHub's eight hours.
    fake.set_user_token_lifetimes(Some(Duration::from_secs(60)), Duration::from_secs(3600));
    let env = OAuthEnv::start(&fake).await;
    env.store
        .connect(env.user_id, &fake.authorize("alice", None), None)
        .await
        .unwrap();
    fake.set_user_token_lifetimes(Some(Duration::from_secs(28_800)), Duration::from_secs(3600));
    // Several workers, each with its own store on the same table.
    let mut stores = vec![env.store.clone()];
    for _ in 0..5 {
        stores.push(Arc::new(
            OAuthEnv::store_with(&env.db, &fake, &env.key).await,
        ));
    }

    let calls = stores.iter().map(|store| {
        let store = store.clone();
        let user_id = env.user_id;
        tokio::spawn(async move { store.valid_access_token(user_id).await })
    });
    let tokens: Vec<String> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap().expose_secret().to_owned())
        .collect();

    // One refresh; the others waited on the row and took its result.
    assert_eq!(fake.counts().refreshes, 1);
    assert!(tokens.iter().all(|token| token == &tokens[0]));
    assert!(fake.token_allows(&tokens[0], "acme", "widgets"));
    // The stored refresh token is the live one: expiring the access token
    // makes the next call refresh with it, successfully.
    sqlx::query("UPDATE github_oauth_tokens SET access_expires_at = now() WHERE user_id = $1")
        .bind(env.user_id)
        .execute(&env.db.pool)
        .await
        .unwrap();
    let after = env.store.valid_access_token(env.user_id).await.unwrap();
    assert_eq!(fake.counts().refreshes, 2);
    assert!(fake.token_allows(after.expose_secret(), "acme", "widgets"));
    assert_no_token_in(&fake, &logs, &[]);
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_user_or_column_does_not_open() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let bob = env.other_user("bob").await;
    env.store
        .connect(env.user_id, &fake.authorize("alice", None), None)
        .await
        .unwrap();
    env.store
        .connect(bob, &fake.authorize("bob", None), None)
        .await
        .unwrap();

    // Alice's sealed access token copied over Bob's.
    sqlx::query(
        "UPDATE github_oauth_tokens AS b
         SET access_ciphertext = a.access_ciphertext, access_nonce = a.access_nonce
         FROM github_oauth_tokens AS a
         WHERE a.user_id = $1 AND b.user_id = $2",
    )
    .bind(env.user_id)
    .bind(bob)
    .execute(&env.db.pool)
    .await
    .unwrap();
    // Alice's refresh token moved into her access column.
    sqlx::query(
        "UPDATE github_oauth_tokens
         SET access_ciphertext = refresh_ciphertext, access_nonce = refresh_nonce
         WHERE user_id = $1",
    )
    .bind(env.user_id)
    .execute(&env.db.pool)
    .await
    .unwrap();

    let for_bob = env.store.valid_access_token(bob).await.unwrap_err();
    let for_alice = env.store.valid_access_token(env.user_id).await.unwrap_err();

    assert!(matches!(for_bob, OAuthError::Unreadable(_)), "{for_bob}");
    assert!(
        matches!(for_alice, OAuthError::Unreadable(_)),
        "{for_alice}"
    );
}

#[tokio::test]
async fn a_refused_refresh_token_means_connecting_again() {
    let fake = fake().await;
    fake.set_user_token_lifetimes(Some(Duration::from_secs(60)), Duration::from_secs(3600));
    let env = OAuthEnv::start(&fake).await;
    let tokens = env
        .store
        .client()
        .exchange_code(&fake.authorize("alice", None), None)
        .await
        .unwrap();
    env.store.save(env.user_id, &tokens).await.unwrap();
    // Someone else used the refresh token first (another Hero, a leak).
    env.store
        .client()
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await
        .unwrap();

    let error = env.store.valid_access_token(env.user_id).await.unwrap_err();

    assert!(matches!(error, OAuthError::Expired(_)), "{error}");
    assert!(error.to_string().contains("bad_refresh_token"));
}

#[tokio::test]
async fn a_user_who_never_connected_is_told_so() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;

    let error = env.store.valid_access_token(env.user_id).await.unwrap_err();

    assert!(matches!(error, OAuthError::NotConnected));
    assert!(!env.store.is_connected(env.user_id).await.unwrap());
}

#[tokio::test]
async fn tokens_that_never_expire_are_stored_without_a_refresh_token_and_used_as_they_are() {
    let fake = fake().await;
    fake.set_user_token_lifetimes(None, Duration::from_secs(3600));
    let env = OAuthEnv::start(&fake).await;

    env.store
        .connect(env.user_id, &fake.authorize("alice", None), None)
        .await
        .unwrap();
    let token = env.store.valid_access_token(env.user_id).await.unwrap();

    assert!(fake.token_allows(token.expose_secret(), "acme", "widgets"));
    assert_eq!(fake.counts().refreshes, 0);
}

/// Alice connected through OAuth with access tokens living `access`, and
/// a forge acting for her on the test repository.
async fn alice_connected(fake: &FakeGitHub, access: Duration) -> (OAuthEnv, GitHubForge, RepoRef) {
    fake.set_user_token_lifetimes(Some(access), Duration::from_secs(3600));
    let env = OAuthEnv::start(fake).await;
    env.store
        .connect(env.user_id, &fake.authorize("alice", None), None)
        .await
        .unwrap();
    let forge = GitHubForge::new(fake.forge_config(), Some(env.store.clone())).unwrap();
    let repo = repo_ref(Access::OAuthUser {
        user_id: env.user_id,
    });
    (env, forge, repo)
}

#[tokio::test]
async fn the_forge_uses_the_owners_oauth_token_and_refreshes_it() {
    let logs = hero_tests::logs::capture();
    let fake = fake().await;
    let (_env, forge, repo) = alice_connected(&fake, Duration::from_secs(60)).await;

    let info = forge.repository(&repo).await.unwrap();
    let git_token = forge.git_token(&repo).await.unwrap().unwrap();

    assert_eq!(info.default_branch, "main");
    assert!(fake.token_allows(git_token.expose_secret(), "acme", "widgets"));
    assert!(fake.counts().refreshes >= 1);
    assert_eq!(fake.requests_to(Endpoint::GetRepository)[0].status, 200);
    assert_no_token_in(&fake, &logs, &[format!("{info:?}")]);
}

#[tokio::test]
async fn an_oauth_token_github_revoked_before_its_expiry_is_refreshed_and_the_call_goes_through() {
    let fake = fake().await;
    let (env, forge, repo) = alice_connected(&fake, Duration::from_secs(8 * 3600)).await;
    let before = env.store.valid_access_token(env.user_id).await.unwrap();
    fake.revoke_user_access_tokens("alice");

    let info = forge.repository(&repo).await.unwrap();

    assert_eq!(info.default_branch, "main");
    assert_eq!(fake.counts().refreshes, 1);
    let statuses: Vec<u16> = fake
        .requests_to(Endpoint::GetRepository)
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [401, 200], "refused once, then served");
    let after = env.store.valid_access_token(env.user_id).await.unwrap();
    assert_ne!(
        after.expose_secret(),
        before.expose_secret(),
        "the new token is kept"
    );
}

#[tokio::test]
async fn a_forge_without_the_oauth_store_refuses_oauth_access_plainly() {
    let fake = fake().await;
    let forge = GitHubForge::new(fake.forge_config(), None).unwrap();
    let repo = repo_ref(Access::OAuthUser {
        user_id: uuid::Uuid::new_v4(),
    });

    let error = forge.repository(&repo).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert!(error.message.contains("GITHUB_CLIENT_ID"), "{error}");
}

#[tokio::test]
async fn access_for_a_project_prefers_the_installation_then_the_owners_token() {
    let fake = fake().await;
    let env = OAuthEnv::start(&fake).await;
    let forge = GitHubForge::new(fake.forge_config(), Some(env.store.clone())).unwrap();
    let mut project = hero_common::domain::Project {
        id: uuid::Uuid::new_v4(),
        owner_id: env.user_id,
        name: "widgets".to_owned(),
        repo_owner: "acme".to_owned(),
        repo_name: "widgets".to_owned(),
        github_installation_id: Some(7),
        default_branch: "main".to_owned(),
        use_cloud_sandbox: false,
        allow_default_branch_push: false,
        webhook_triggers: Default::default(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };

    let with_installation = forge.access_for(&project).await.unwrap();
    project.github_installation_id = None;
    let unconnected = forge.access_for(&project).await.unwrap();
    env.store
        .connect(env.user_id, &fake.authorize("alice", None), None)
        .await
        .unwrap();
    let connected = forge.access_for(&project).await.unwrap();

    assert!(matches!(
        with_installation,
        Access::Installation { installation_id: 7 }
    ));
    assert!(matches!(unconnected, Access::Anonymous));
    assert!(matches!(connected, Access::OAuthUser { user_id } if user_id == env.user_id));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
