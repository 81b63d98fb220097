//! Reading a repository's manifest from its sandbox, or generating one.

use std::collections::HashSet;

use super::generate::{INPUT_FILES, RepositoryFacts, generate};
use super::{FILE_NAME, Manifest, ManifestProblem};
use crate::sandbox::{Sandbox, SandboxError, SandboxErrorKind};

/// Where the manifest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestSource {
    File,
    Generated,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("hero.json is invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ManifestProblem>),
    #[error("reading the repository: {0}")]
    Sandbox(#[from] SandboxError),
}

/// Largest `hero.json` or generation input read.
pub const MAX_FILE_BYTES: usize = 512 * 1024;

/// The repository's `hero.json`, or one generated from its files when it
/// has none.
pub async fn load(
    sandbox: &dyn Sandbox,
    root: &str,
) -> Result<(Manifest, ManifestSource), ManifestError> {
    match sandbox.read_beneath(root, FILE_NAME, MAX_FILE_BYTES).await {
        Ok(read) => {
            let text = String::from_utf8_lossy(&read.contents);
            return Manifest::parse(&text)
                .map(|manifest| (manifest, ManifestSource::File))
                .map_err(ManifestError::Invalid);
        }
        Err(error) if error.kind == SandboxErrorKind::NotFound => {}
        Err(error) => return Err(error.into()),
    }
    Ok((
        generate_for(sandbox, root).await?,
        ManifestSource::Generated,
    ))
}

/// A manifest generated from the repository's files.
pub async fn generate_for(sandbox: &dyn Sandbox, root: &str) -> Result<Manifest, ManifestError> {
    let root_entries: HashSet<String> = sandbox
        .list(root)
        .await?
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    let mut facts = RepositoryFacts {
        root_entries,
        ..RepositoryFacts::default()
    };
    for name in INPUT_FILES
        .iter()
        .filter(|name| facts.root_entries.contains(**name))
    {
        // A file that leads outside the repository is not the project's.
        if let Ok(read) = sandbox.read_beneath(root, name, MAX_FILE_BYTES).await {
            facts.files.insert(
                (*name).to_owned(),
                String::from_utf8_lossy(&read.contents).into_owned(),
            );
        }
    }
    Ok(generate(&facts))
}
