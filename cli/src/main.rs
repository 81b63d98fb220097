//! `hero`: operator commands, client commands that talk to the API
//! (`project`, `batch`), and `hero dev` to run everything at once.

// A command line's job is to print to stdout.
#![allow(clippy::print_stdout)]

mod api_client;
mod commands;
mod json_line;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hero_common::settings::Settings;
use hero_common::telemetry;

#[derive(Parser)]
#[command(
    name = "hero",
    version,
    about = "Run AI coding agents in cloud sandboxes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Operate on stored secrets.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),
    /// Repositories of the local forge (HERO_FORGE=local).
    #[command(subcommand)]
    Forge(commands::forge::ForgeCommand),
    /// Run Hero in one process against local Postgres, for development.
    Dev(commands::dev::DevArgs),
    /// Your projects, through the API (HERO_API_URL, HERO_TOKEN).
    #[command(subcommand)]
    Project(commands::project::ProjectCommand),
    /// One kind of job over many projects, through the API.
    #[command(subcommand)]
    Batch(commands::batch::BatchCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();

    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hero: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate => commands::migrate::run(&Settings::load()?).await,
        Command::Token(command) => commands::token::run(&Settings::load()?, command).await,
        Command::Secrets(command) => commands::secrets::run(&Settings::load()?, command).await,
        Command::Forge(command) => commands::forge::run(&Settings::load()?, command).await,
        Command::Dev(args) => commands::dev::run(Settings::load()?, args).await,
        // Client commands need only the API's address and a token, not the
        // server's settings.
        Command::Project(command) => commands::project::run(command).await,
        Command::Batch(command) => commands::batch::run(command).await,
    }
}
