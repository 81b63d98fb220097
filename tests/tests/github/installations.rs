//! GitHub App installation tokens: minted from a JWT the fake verifies,
//! shared by concurrent callers, cached until shortly before they expire,
//! and minted anew when GitHub refuses one.

use std::sync::Arc;
use std::time::Duration;

use hero_tests::fake_github::{AppKey, Endpoint};
use hero_worker::forge::github::{AppCredentials, GitHubForge};
use hero_worker::forge::{Access, Forge, ForgeErrorKind, RepoRef};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::support::{Env, INSTALLATION, OWNER, REPO, text};

#[tokio::test]
async fn one_token_is_minted_for_many_calls() {
    let env = Env::start().await;

    for _ in 0..5 {
        env.forge.repository(&env.repo()).await.unwrap();
    }
    let token = env.forge.git_token(&env.repo()).await.unwrap().unwrap();

    assert_eq!(env.fake.counts().installation_tokens, 1);
    assert!(token.expose_secret().starts_with("ghs_"));
    assert!(env.fake.token_allows(token.expose_secret(), OWNER, REPO));
    env.assert_no_token_leaked(&[]);
}

#[tokio::test]
async fn concurrent_callers_share_one_mint() {
    let env = Env::start().await;
    let forge = Arc::new(env.forge);
    let repo = crate::support::repo_ref(Access::Installation {
        installation_id: INSTALLATION,
    });

    let calls = (0..8).map(|_| {
        let forge = forge.clone();
        let repo = repo.clone();
        tokio::spawn(async move { forge.git_token(&repo).await })
    });
    let tokens: Vec<SecretString> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap().unwrap())
        .collect();

    assert_eq!(env.fake.counts().installation_tokens, 1);
    assert!(
        tokens
            .iter()
            .all(|t| t.expose_secret() == tokens[0].expose_secret())
    );
}

#[tokio::test]
async fn a_token_close_to_its_expiry_is_replaced() {
    let env = Env::start().await;
    // Five minutes (the refresh margin) and two seconds: fresh now, due
    // for replacement two seconds from now.
    env.fake
        .set_installation_token_lifetime(Duration::from_secs(5 * 60 + 2));

    let first = env.forge.git_token(&env.repo()).await.unwrap().unwrap();
    let cached = env.forge.git_token(&env.repo()).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let replaced = env.forge.git_token(&env.repo()).await.unwrap().unwrap();

    assert_eq!(first.expose_secret(), cached.expose_secret());
    assert_ne!(first.expose_secret(), replaced.expose_secret());
    assert_eq!(env.fake.counts().installation_tokens, 2);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_the_call_succeeds() {
    let env = Env::start().await;
    env.forge.repository(&env.repo()).await.unwrap();
    env.fake.revoke_installation_tokens(INSTALLATION);

    let info = env.forge.repository(&env.repo()).await.unwrap();

    assert_eq!(info.default_branch, "main");
    assert_eq!(env.fake.counts().installation_tokens, 2);
    let statuses: Vec<u16> = env
        .fake
        .requests_to(Endpoint::GetRepository)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 401, 200]);
}

#[tokio::test]
async fn an_unknown_installation_is_not_found() {
    let env = Env::start().await;
    let repo = RepoRef {
        access: Access::Installation {
            installation_id: 999,
        },
        ..env.repo()
    };

    let error = env.forge.repository(&repo).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::NotFound);
    assert!(error.message.contains("installation token"), "{error}");
    assert_eq!(env.fake.counts().installation_tokens, 0);
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let env = Env::start_with(|config| {
        config.app = Some(AppCredentials {
            app_id: 4242,
            private_key: SecretString::from(AppKey::generate(4242).private_pem),
        });
    })
    .await;

    let error = env.forge.repository(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert!(error.message.contains("could not be decoded"), "{error}");
    assert_eq!(env.fake.counts().installation_tokens, 0);
    assert_eq!(
        env.fake.requests_to(Endpoint::MintInstallationToken)[0].status,
        401
    );
}

#[tokio::test]
async fn a_jwt_naming_another_app_is_refused() {
    let env = Env::start_with(|config| {
        if let Some(app) = config.app.as_mut() {
            app.app_id = 1;
        }
    })
    .await;

    let error = env.forge.repository(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert_eq!(env.fake.counts().installation_tokens, 0);
}

#[tokio::test]
async fn the_fake_refuses_jwts_outside_their_time_window() {
    let env = Env::start().await;
    let now = chrono::Utc::now().timestamp();
    let sign = |claims: serde_json::Value| {
        let key = EncodingKey::from_rsa_pem(env.fake.app.private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
    };
    let cases = [
        (
            "current",
            json!({ "iss": 4242, "iat": now - 60, "exp": now + 540 }),
            201,
        ),
        (
            "expired",
            json!({ "iss": 4242, "iat": now - 900, "exp": now - 300 }),
            401,
        ),
        (
            "issued in the future",
            json!({ "iss": 4242, "iat": now + 300, "exp": now + 540 }),
            401,
        ),
        (
            "valid too long",
            json!({ "iss": 4242, "iat": now - 60, "exp": now + 3600 }),
            401,
        ),
        (
            "client id as issuer",
            json!({ "iss": "4242", "iat": now - 60, "exp": now + 540 }),
            201,
        ),
    ];
    let http = reqwest::Client::new();

    for (case, claims, expected) in cases {
        let answer = http
            .post(format!(
                "{}/app/installations/{INSTALLATION}/access_tokens",
                env.fake.url
            ))
            .bearer_auth(sign(claims))
            .send()
            .await
            .unwrap();

        assert_eq!(answer.status().as_u16(), expected, "{case}");
    }
    let unsigned = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        base64_url(&json!({ "iss": 4242, "iat": now - 60, "exp": now + 540 }).to_string())
    );
    let answer = http
        .post(format!(
            "{}/app/installations/{INSTALLATION}/access_tokens",
            env.fake.url
        ))
        .bearer_auth(unsigned)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401, "unsigned");
}

#[tokio::test]
async fn an_installation_sees_only_its_own_accounts_repositories() {
    let env = Env::start().await;
    env.fake
        .add_repo_with("globex", "tools", "main", &[("a", "a")], true)
        .await;
    let repo = RepoRef {
        owner: "globex".to_owned(),
        name: "tools".to_owned(),
        access: env.repo().access,
    };
    let token = env.forge.git_token(&repo).await.unwrap().unwrap();

    let error = env.forge.repository(&repo).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::NotFound);
    assert!(
        !env.fake
            .token_allows(token.expose_secret(), "globex", "tools")
    );
    assert!(env.fake.token_allows(token.expose_secret(), OWNER, REPO));
    env.assert_no_token_leaked(&[text(&error)]);
}

#[tokio::test]
async fn a_forge_without_an_app_refuses_installation_access_plainly() {
    let env = Env::start_with(|config| config.app = None).await;

    let error = env.forge.git_token(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert!(error.message.contains("GITHUB_APP_ID"), "{error}");
}

#[tokio::test]
async fn a_key_that_is_not_pem_is_refused_when_the_forge_is_built() {
    let mut config = Env::start().await.fake.forge_config();
    config.app = Some(AppCredentials {
        app_id: 1,
        private_key: SecretString::from("not a key".to_owned()),
    });

    let error = GitHubForge::new(config, None).unwrap_err();

    assert!(error.to_string().contains("not an RSA key"), "{error}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
