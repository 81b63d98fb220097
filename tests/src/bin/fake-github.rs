//! `fake-github --port N`: the fake GitHub on its own, for trying Hero
//! against by hand. It prints the API URL (also the web URL, for OAuth) and
//! the git URL, one per line; point `GITHUB_API_URL` and `GITHUB_WEB_URL`
//! at the first.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use hero_tests::fake_github::{AppKey, FakeGitHub, Options};
use hero_tests::git_http;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "A fake GitHub API, OAuth endpoint and git server over bare repositories")]
struct Args {
    /// Port of the API on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 3001)]
    port: u16,
    /// Port of the git server on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    git_port: u16,
    /// The GitHub App's id.
    #[arg(long, default_value_t = 4242)]
    app_id: u64,
    /// The app's private key (PEM); a new one is made when absent.
    #[arg(long)]
    app_private_key: Option<PathBuf>,
    /// Where to write the app's private key, for GITHUB_APP_PRIVATE_KEY_PATH.
    #[arg(long)]
    app_key_out: Option<PathBuf>,
    #[arg(long, default_value = "Iv1.fakehero")]
    client_id: String,
    #[arg(
        long,
        env = "FAKE_GITHUB_CLIENT_SECRET",
        default_value = "fake-client-secret"
    )]
    client_secret: String,
    /// An installation of the app, as ID=ACCOUNT; repeatable.
    #[arg(long = "installation", value_parser = parse_installation)]
    installations: Vec<(i64, String)>,
    /// A repository to create, as OWNER/NAME, with a README on main;
    /// repeatable.
    #[arg(long = "repo")]
    repos: Vec<String>,
}

fn parse_installation(text: &str) -> Result<(i64, String), String> {
    let (id, account) = text
        .split_once('=')
        .ok_or_else(|| format!("expected ID=ACCOUNT, got {text:?}"))?;
    let id = id
        .parse()
        .map_err(|e| format!("installation id {id:?}: {e}"))?;
    Ok((id, account.to_owned()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let app = match &args.app_private_key {
        Some(path) => AppKey::from_private_pem(args.app_id, std::fs::read_to_string(path)?),
        None => AppKey::generate(args.app_id),
    };
    if let Some(path) = &args.app_key_out {
        std::fs::write(path, &app.private_pem)?;
    }
    let options = Options {
        root: git_http::tempdir("fake-github"),
        app,
        client_id: args.client_id,
        client_secret: args.client_secret,
    };

    let api = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let git = TcpListener::bind(("127.0.0.1", args.git_port)).await?;
    let fake = FakeGitHub::start_on(api, git, options);
    for (id, account) in &args.installations {
        fake.add_installation(*id, account);
    }
    for full_name in &args.repos {
        let (owner, name) = full_name
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("--repo expects OWNER/NAME, got {full_name:?}"))?;
        fake.add_repo(owner, name).await;
    }

    // The addresses go to stdout alone, for scripts that start the fake.
    writeln!(std::io::stdout(), "{}", fake.url)?;
    writeln!(std::io::stdout(), "{}", fake.git.url)?;
    std::io::stdout().flush()?;
    tracing::info!(api = %fake.url, git = %fake.git.url, "fake GitHub listening");

    stop_signal().await;
    drop(fake);
    Ok(())
}

/// SIGINT or SIGTERM, so that stopping the fake removes its repositories.
async fn stop_signal() {
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        tokio::signal::ctrl_c().await.ok();
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("fake GitHub stopping");
}
