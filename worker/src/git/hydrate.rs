//! Getting a repository into a sandbox: clone it (or bring an existing
//! clone to the branch's newest commit), install its dependencies, and
//! read or generate its manifest.

use std::collections::HashSet;
use std::time::Duration;

use hero_common::validate;

use super::{Git, GitError};
use crate::sandbox::SandboxErrorKind;
use crate::tools::manifest::{self, Manifest, ManifestSource};
use crate::tools::package_manager::PackageManager;

#[derive(Debug, Clone)]
pub struct HydrateSpec {
    /// The forge's `clone_url`; it must carry no credentials.
    pub clone_url: String,
    pub branch: String,
    /// Fetch only the newest commit.
    pub shallow: bool,
    /// The commit the lease table says the sandbox holds, if any.
    pub known_commit: Option<String>,
    /// Dependency installs get their own, generous, limit.
    pub install_timeout: Duration,
}

#[derive(Debug)]
pub struct Hydrated {
    pub commit: String,
    /// False when the sandbox already held this commit: nothing was done.
    pub changed: bool,
    pub manifest: Manifest,
    pub manifest_source: ManifestSource,
    pub package_manager: Option<PackageManager>,
}

/// Hydrates `git.root` from `spec`. At the commit already there, this is a
/// single `ls-remote` and returns.
pub async fn hydrate(git: &Git, spec: &HydrateSpec) -> Result<Hydrated, GitError> {
    validate::branch_name(&spec.branch).map_err(GitError::Refused)?;
    check_clone_url(&spec.clone_url)?;
    // The forge's address may have moved since the clone (a new port, a
    // renamed host); the forge's answer of today is the truth.
    let git = &git.clone().with_origin(spec.clone_url.clone());

    let fresh = !has_repository(git).await?;
    if fresh {
        clone(git, spec).await?;
    } else {
        let remote = remote_head(git, &spec.branch).await?;
        let local = git.run(&["rev-parse", "HEAD"]).await?.text();
        let already_there =
            spec.known_commit.as_deref() == Some(remote.as_str()) && local == remote;
        if already_there {
            let (manifest, manifest_source) = manifest_at(git, "HEAD").await?;
            return Ok(Hydrated {
                commit: local,
                changed: false,
                manifest,
                manifest_source,
                package_manager: None,
            });
        }
        update(git, spec).await?;
    }

    let commit = git.run(&["rev-parse", "HEAD"]).await?.text();
    let package_manager = install_dependencies(git, spec.install_timeout).await?;
    let (manifest, manifest_source) = manifest_at(git, "HEAD").await?;
    tracing::info!(%commit, fresh, "repository hydrated");
    Ok(Hydrated {
        commit,
        changed: true,
        manifest,
        manifest_source,
        package_manager,
    })
}

/// A URL with user information would put a credential where git keeps it
/// (`.git/config`) and prints it.
fn check_clone_url(url: &str) -> Result<(), GitError> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(GitError::Refused(
            "the clone URL carries credentials; Hero passes tokens to git in a header".to_owned(),
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file://")) {
        return Err(GitError::Refused(format!(
            "unsupported clone URL scheme: {url:?}"
        )));
    }
    Ok(())
}

async fn has_repository(git: &Git) -> Result<bool, GitError> {
    match git.sandbox.stat(&format!("{}/.git", git.root)).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind == SandboxErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn clone(git: &Git, spec: &HydrateSpec) -> Result<(), GitError> {
    // A half-made directory from an interrupted attempt would stop git.
    match git.sandbox.remove(&git.root).await {
        Ok(()) => {}
        Err(e) if e.kind == SandboxErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let parent = git
        .root
        .rsplit_once('/')
        .map_or("/", |(parent, _)| parent)
        .to_owned();
    git.sandbox.make_dir(&parent).await?;

    let mut args = vec![
        "clone",
        "--single-branch",
        "--no-tags",
        "--branch",
        &spec.branch,
    ];
    if spec.shallow {
        args.extend(["--depth", "1"]);
    }
    args.extend(["--", &spec.clone_url, &git.root]);
    git.clone_remote(&parent, &args).await
}

async fn remote_head(git: &Git, branch: &str) -> Result<String, GitError> {
    let reference = format!("refs/heads/{branch}");
    let listed = git
        .run_remote(&["ls-remote", "--end-of-options", "origin", &reference])
        .await?
        .text();
    listed
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| GitError::Refused(format!("the repository has no branch {branch:?}")))
}

/// Brings an existing clone to the branch's newest commit, dropping local
/// changes (ignored files such as installed dependencies stay).
async fn update(git: &Git, spec: &HydrateSpec) -> Result<(), GitError> {
    let tracking = format!("refs/remotes/origin/{}", spec.branch);
    let refspec = format!("+refs/heads/{}:{tracking}", spec.branch);
    let mut fetch = vec!["fetch", "--no-tags"];
    if spec.shallow {
        fetch.extend(["--depth", "1"]);
    }
    fetch.extend(["--end-of-options", "origin", &refspec]);
    git.run_remote(&fetch).await?;

    git.run(&["checkout", "--force", "-B", &spec.branch, &tracking, "--"])
        .await?;
    git.run(&["reset", "--hard", &tracking, "--"]).await?;
    git.run(&["clean", "-fd"]).await?;
    Ok(())
}

async fn install_dependencies(
    git: &Git,
    timeout: Duration,
) -> Result<Option<PackageManager>, GitError> {
    let entries: HashSet<String> = git
        .sandbox
        .list(&git.root)
        .await?
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    let Some(manager) = PackageManager::detect(&entries) else {
        return Ok(None);
    };

    let (code, output) = git.shell(manager.install_command(), timeout).await?;
    if code != Some(0) {
        let tail: String = output
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(GitError::Failed {
            command: manager.install_command().to_owned(),
            exit: code.map_or_else(|| "timed out".to_owned(), |c| c.to_string()),
            stderr: tail,
        });
    }
    tracing::info!(manager = manager.program(), "dependencies installed");
    Ok(Some(manager))
}

/// The manifest at `commit`: `hero.json` as committed (what the working
/// tree holds may be the agent's), or one generated from the repository's
/// files when it has none.
pub async fn manifest_at(git: &Git, commit: &str) -> Result<(Manifest, ManifestSource), GitError> {
    let listed = git
        .run(&[
            "ls-tree",
            "-l",
            "-z",
            "--end-of-options",
            commit,
            "--",
            manifest::FILE_NAME,
        ])
        .await?;
    let Some(entry) = listed.stdout.split(|b| *b == 0).find(|e| !e.is_empty()) else {
        let generated = manifest::generate_for(&*git.sandbox, &git.root).await;
        return generated
            .map(|manifest| (manifest, ManifestSource::Generated))
            .map_err(manifest_error);
    };
    // `<mode> blob <object> <size>\t<name>`
    let entry = String::from_utf8_lossy(entry);
    let fields: Vec<&str> = entry
        .split('\t')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let &[mode, "blob", object, size] = fields.as_slice() else {
        return Err(GitError::Refused("hero.json is not a file".to_owned()));
    };
    if mode == "120000" {
        return Err(GitError::Refused(
            "hero.json is a symbolic link; the manifest must be the file itself".to_owned(),
        ));
    }
    if !size
        .parse::<usize>()
        .is_ok_and(|size| size <= manifest::MAX_FILE_BYTES)
    {
        return Err(GitError::Refused(format!(
            "hero.json is larger than {} bytes",
            manifest::MAX_FILE_BYTES
        )));
    }
    let text = git.run(&["cat-file", "blob", object]).await?.stdout;
    Manifest::parse(&String::from_utf8_lossy(&text))
        .map(|manifest| (manifest, ManifestSource::File))
        .map_err(|problems| manifest_error(manifest::ManifestError::Invalid(problems)))
}

fn manifest_error(error: manifest::ManifestError) -> GitError {
    match error {
        manifest::ManifestError::Invalid(_) => GitError::Refused(error.to_string()),
        manifest::ManifestError::Sandbox(e) => GitError::Sandbox(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_urls_with_credentials_or_odd_schemes_are_refused() {
        assert!(check_clone_url("https://github.com/o/r.git").is_ok());
        assert!(check_clone_url("http://127.0.0.1:8000/o/r.git").is_ok());
        assert!(check_clone_url("https://x-access-token:ghs_x@github.com/o/r.git").is_err());
        assert!(check_clone_url("https://user@github.com/o/r.git").is_err());
        assert!(check_clone_url("ext::sh -c touch% /tmp/pwned").is_err());
        assert!(check_clone_url("-uhelp").is_err());
    }
}
