//! `hero dev`: everything in one process, for a developer's machine: the
//! API with its dispatcher, a worker with its cron, local sandboxes and the
//! local forge, against Postgres and Redis on localhost. It then drives a
//! sample agent session through the API and says what happened.

use std::path::Path;

use anyhow::Context as _;
use clap::Args;
use hero_api::Application;
use hero_common::api_token;
use hero_common::crypto::MasterKey;
use hero_common::settings::{ForgeKind, SandboxProvider, Settings};
use hero_common::shutdown::shutdown_signal;
use hero_common::store::Stores;
use hero_worker::serve::run_worker;
use tokio_util::sync::CancellationToken;

mod session;

#[derive(Args)]
pub struct DevArgs {
    /// The user the printed token belongs to.
    #[arg(long, default_value = "dev")]
    user: String,
    /// Skip the sample agent session; just serve.
    #[arg(long, conflicts_with = "exit_after_session")]
    no_session: bool,
    /// Stop after the sample session (its outcome is the exit status).
    #[arg(long)]
    exit_after_session: bool,
}

pub async fn run(mut settings: Settings, args: DevArgs) -> anyhow::Result<()> {
    if settings.secrets_encryption_key.is_none() {
        settings.secrets_encryption_key = Some(dev_key(&settings.data_dir)?);
    }
    // Everything on this machine: sandboxes are directories here, and
    // repositories live in the local forge the API serves.
    settings.sandbox_provider = SandboxProvider::Local;
    settings.forge = ForgeKind::Local;

    let pool = super::migrated_pool(&settings).await?;
    let stores = Stores::postgres(pool.clone());
    let (token, _) = super::token::create(&stores, &args.user, Some("hero dev")).await?;

    let app = Application::build_with_pool(&settings, pool.clone()).await?;
    let address = app.local_addr()?;
    let url = format!("http://{address}");
    settings.forge_url = Some(format!("{url}/git"));

    let data_dir = settings.data_dir.clone();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(app.run_until(stop.clone().cancelled_owned()));
    let working = {
        let stop = stop.clone();
        tokio::spawn(async move { run_worker(&settings, pool, stop).await })
    };
    println!("Hero is running at {url}  (API description: {url}/openapi.json)");

    let session = if args.no_session {
        Ok(())
    } else {
        session::run(&url, &token, &data_dir).await
    };
    if let Err(error) = &session {
        println!("The sample session failed: {error:#}");
    }

    if !args.exit_after_session {
        println!("Try:  curl -H \"Authorization: Bearer $HERO_TOKEN\" {url}/v1/projects");
        println!(
            "Stop with Ctrl-C. A token for user {:?}, valid until revoked:",
            args.user
        );
        println!("{}", api_token::expose(&token));
        tokio::select! {
            () = shutdown_signal() => {}
            () = stop.cancelled() => {}
        }
    }
    stop.cancel();
    let worked = working.await.context("the worker panicked")?;
    let served = serving.await.context("the API panicked")?;
    served?;
    worked?;
    session
}

/// The development master key in the data directory, made on first use.
/// Production deployments set SECRETS_ENCRYPTION_KEY instead.
fn dev_key(data_dir: &Path) -> anyhow::Result<MasterKey> {
    let path = data_dir.join("dev-encryption.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }

    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key = MasterKey::generate();
    write_private(&path, &key.to_hex())?;
    tracing::warn!(
        path = %path.display(),
        "SECRETS_ENCRYPTION_KEY is not set: generated a development key; do not use it in production"
    );
    Ok(key)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
