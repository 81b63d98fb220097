//! `hero project`: projects through the API, as their owner sees them.

mod import;
mod rows;

use std::path::PathBuf;

use clap::Subcommand;

use crate::api_client::ApiArgs;

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Link many repositories at once from a file: CSV with the header
    /// `repo,branch,installation` (repo as owner/name; the others may be
    /// empty), or JSON lines with the same fields. Every row that fails is
    /// reported with its line number; the others are linked regardless.
    Import(ImportArgs),
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The file to read, or `-` for standard input.
    pub file: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// One JSON object per row and a summary, for scripts.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub async fn run(command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Import(args) => import::run(args).await,
    }
}
