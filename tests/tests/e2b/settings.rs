//! A worker's settings choose E2B and say where to find it.

use hero_common::settings::Settings;
use hero_worker::sandbox::{ExecRequest, exec_collect, provider_from_settings};

use crate::support::{Env, spec};

#[tokio::test]
async fn settings_naming_e2b_give_a_provider_that_creates_sandboxes_at_the_urls_they_give() {
    let env = Env::start().await;
    let vars = [
        ("HERO_SANDBOX_PROVIDER", "e2b"),
        ("E2B_API_KEY", env.fake.api_key.as_str()),
        // The URLs win over the domain, whose hosts do not exist.
        ("E2B_DOMAIN", "e2b.invalid"),
        ("E2B_API_URL", env.fake.url.as_str()),
        ("E2B_SANDBOX_URL", env.fake.url.as_str()),
    ];
    let settings = Settings::load_from(
        None,
        vars.map(|(name, value)| (name.to_owned(), value.to_owned())),
    )
    .unwrap();

    let provider = provider_from_settings(&settings).await.unwrap();
    let sandbox = provider.create(spec()).await.unwrap();

    assert_eq!(provider.name(), "e2b");
    let at_the_fake = env.provider.get(sandbox.id()).await.unwrap();
    assert_eq!(at_the_fake.sandbox_id, sandbox.id());
    let (exit, output) = exec_collect(&*sandbox, ExecRequest::new("echo reached"))
        .await
        .unwrap();
    assert_eq!(exit.exit_code, Some(0));
    assert_eq!(output.stdout, b"reached\n");
}
