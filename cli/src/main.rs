//! `hero`: operator commands, and `hero dev` to run everything at once.

// A command line's job is to print to stdout.
#![allow(clippy::print_stdout)]

mod commands;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();

    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("hero: {error}");
            return ExitCode::FAILURE;
        }
    };

    let result = match cli.command {
        Command::Migrate => commands::migrate::run(&settings).await,
        Command::Token(command) => commands::token::run(&settings, command).await,
        Command::Secrets(command) => commands::secrets::run(&settings, command).await,
        Command::Forge(command) => commands::forge::run(&settings, command).await,
        Command::Dev(args) => commands::dev::run(settings, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hero: {error:#}");
            ExitCode::FAILURE
        }
    }
}
