//! `hero forge`: the local forge's repositories (`HERO_FORGE=local`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use hero_common::local_forge::ForgeLayout;
use hero_common::settings::Settings;
use hero_worker::forge::local::BareRepository;

#[derive(Subcommand)]
pub enum ForgeCommand {
    /// Make a repository `OWNER/NAME`, empty or holding a directory's files.
    Create {
        /// `owner/name`, as on GitHub.
        repository: String,
        /// Commit this directory's files (but `.git`) as the first commit.
        #[arg(long)]
        from: Option<PathBuf>,
        /// The default branch.
        #[arg(long, default_value = "main")]
        branch: String,
    },
}

pub async fn run(settings: &Settings, command: ForgeCommand) -> anyhow::Result<()> {
    match command {
        ForgeCommand::Create {
            repository,
            from,
            branch,
        } => {
            let layout = ForgeLayout::in_data_dir(&settings.data_dir);
            let path = create(&layout, &repository, &branch, from.as_deref()).await?;
            println!("created {repository} at {}", path.display());
        }
    }
    Ok(())
}

/// Makes `owner/name` in the forge, filled from `from` when given.
pub async fn create(
    layout: &ForgeLayout,
    repository: &str,
    branch: &str,
    from: Option<&std::path::Path>,
) -> anyhow::Result<PathBuf> {
    let (owner, name) = repository
        .split_once('/')
        .context("the repository must be given as OWNER/NAME")?;
    hero_common::validate::branch_name(branch)
        .map_err(|problem| anyhow::anyhow!("--branch: {problem}"))?;
    let path = layout
        .repository(owner, name)
        .map_err(|problem| anyhow::anyhow!("{repository}: {problem}"))?;

    let bare = BareRepository::create(&path, branch).await?;
    if let Some(dir) = from {
        anyhow::ensure!(dir.is_dir(), "--from {} is not a directory", dir.display());
        bare.commit_directory(dir, branch, "Initial commit").await?;
    }
    Ok(path)
}
