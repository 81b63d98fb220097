//! A project's workspace for one job: its leased sandbox, where the
//! repository lives in it, the project's secrets as environment variables,
//! the forge token when git needs the network, and the redactor that knows
//! all of them.

use std::sync::Arc;

use hero_common::domain::Project;
use hero_common::redact::Redactor;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::Services;
use super::failure::RunError;
use crate::forge::RepoRef;
use crate::git::auth::basic_credentials;
use crate::git::{Git, HydrateSpec, Hydrated, SyncPolicy, hydrate, manifest_at};
use crate::lease::Lease;
use crate::sandbox::Sandbox;
use crate::tools::Toolbox;
use crate::tools::manifest::{self, Manifest};

/// The repository's address at the forge, and the token to reach it.
struct Remote {
    clone_url: String,
    token: Option<SecretString>,
}

/// The name the forge token goes by in redacted output.
const TOKEN_NAME: &str = "GIT_TOKEN";
/// The name of the token's encoded form in the authorization header.
const TOKEN_HEADER_NAME: &str = "GIT_TOKEN_HEADER";

pub struct Workspace {
    pub project: Project,
    pub sandbox: Arc<dyn Sandbox>,
    pub lease: Lease,
    /// The repository's root inside the sandbox.
    pub root: String,
    pub repo: RepoRef,
    secrets: Vec<(String, SecretString)>,
    /// What git needs to reach the forge, once asked for.
    remote: Option<Remote>,
    redactor: Redactor,
    /// Cancelled to stop the job: kills whatever command it is running.
    stop: CancellationToken,
}

impl Workspace {
    /// The workspace of `project` in its leased sandbox. The forge token is
    /// fetched only when asked for, since tool calls need none.
    pub async fn open(
        services: &Services,
        project: Project,
        sandbox: Arc<dyn Sandbox>,
        lease: Lease,
        stop: CancellationToken,
    ) -> Result<Self, RunError> {
        let access = services.forge.access_for(&project).await?;
        let secrets = services
            .vault
            .environment(project.id)
            .await
            .map_err(|error| RunError::permanent("secrets", error.to_string()))?;
        let root = format!("{}/repo", sandbox.workdir().trim_end_matches('/'));
        let repo = RepoRef {
            owner: project.repo_owner.clone(),
            name: project.repo_name.clone(),
            access,
        };
        let redactor = redactor(&secrets, None)?;
        Ok(Self {
            project,
            sandbox,
            lease,
            root,
            repo,
            secrets,
            remote: None,
            redactor,
            stop,
        })
    }

    /// Asks the forge for the repository's address and the token git needs
    /// to reach it (once), and teaches the redactor to mask the token.
    /// Returns the address.
    pub async fn with_remote(&mut self, services: &Services) -> Result<&str, RunError> {
        let remote = match self.remote.take() {
            Some(remote) => remote,
            None => {
                let token = services.forge.git_token(&self.repo).await?;
                let clone_url = services.forge.repository(&self.repo).await?.clone_url;
                self.redactor = redactor(&self.secrets, token.as_ref())?;
                Remote { clone_url, token }
            }
        };
        Ok(&self.remote.insert(remote).clone_url)
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn git(&self) -> Git {
        let token = self.remote.as_ref().and_then(|r| r.token.as_ref());
        let git = Git::new(
            self.sandbox.clone(),
            self.root.clone(),
            token,
            self.redactor.clone(),
        )
        .with_cancel(self.stop.clone());
        match &self.remote {
            Some(remote) => git.with_origin(remote.clone_url.clone()),
            None => git,
        }
    }

    pub fn policy(&self, services: &Services) -> SyncPolicy {
        SyncPolicy {
            branch_prefix: services.branches.prefix.clone(),
            default_branch: self.project.default_branch.clone(),
            allow_default_branch: self.project.allow_default_branch_push,
            author_name: services.branches.author_name.clone(),
            author_email: services.branches.author_email.clone(),
        }
    }

    /// Whether the sandbox holds the repository. A new sandbox, or one that
    /// replaced a dead one, does not.
    pub fn is_hydrated(&self) -> bool {
        self.lease.hydrated_commit.is_some() && self.lease.manifest.is_some()
    }

    /// Clones or refreshes the repository at `branch` (the project's
    /// default when `None`) and records the commit under the lease.
    pub async fn hydrate(
        &mut self,
        services: &Services,
        branch: Option<String>,
        full_history: bool,
    ) -> Result<Hydrated, RunError> {
        let clone_url = self.with_remote(services).await?.to_owned();
        let spec = HydrateSpec {
            clone_url,
            branch: branch.unwrap_or_else(|| self.project.default_branch.clone()),
            shallow: !full_history,
            known_commit: self.lease.hydrated_commit.clone(),
            install_timeout: services.install_timeout,
        };
        let hydrated = hydrate(&self.git(), &spec).await?;
        services
            .pool
            .table()
            .record_hydrated(
                &mut self.lease,
                &hydrated.commit,
                &hydrated.manifest.to_json(),
            )
            .await?;
        Ok(hydrated)
    }

    /// Hydrates at the default branch if the sandbox does not hold the
    /// repository yet, so a job on a fresh sandbox works as on the old one.
    pub async fn ensure_hydrated(&mut self, services: &Services) -> Result<(), RunError> {
        if self.is_hydrated() {
            return Ok(());
        }
        if let Some(commit) = self.lease.hydrated_commit.clone() {
            // Hydrated before manifests were kept on the sandbox's row:
            // take the one committed there, leaving the work tree alone.
            let (manifest, _) = manifest_at(&self.git(), &commit).await?;
            services
                .pool
                .table()
                .record_hydrated(&mut self.lease, &commit, &manifest.to_json())
                .await?;
            return Ok(());
        }
        tracing::info!("sandbox holds no repository yet; hydrating it first");
        self.hydrate(services, None, false).await?;
        Ok(())
    }

    /// The commit the repository was hydrated at.
    pub fn hydrated_commit(&self) -> Result<&str, RunError> {
        self.lease
            .hydrated_commit
            .as_deref()
            .ok_or_else(not_hydrated)
    }

    /// The manifest in force: the one fixed when the sandbox was hydrated
    /// (`hero.json` as committed, or one generated), whatever the working
    /// tree's `hero.json` says now.
    pub fn manifest(&self) -> Result<Manifest, RunError> {
        let text = self.lease.manifest.as_deref().ok_or_else(not_hydrated)?;
        Manifest::parse(text).map_err(|problems| {
            RunError::permanent(
                "manifest",
                manifest::ManifestError::Invalid(problems).to_string(),
            )
        })
    }

    pub fn toolbox(&self, services: &Services, manifest: Manifest) -> Toolbox {
        Toolbox::new(
            self.sandbox.clone(),
            self.root.clone(),
            manifest,
            self.redactor.clone(),
            self.secrets.clone(),
            services.limits.clone(),
        )
        .with_cancel(self.stop.clone())
        .with_git_author(
            &services.branches.author_name,
            &services.branches.author_email,
        )
    }
}

fn not_hydrated() -> RunError {
    RunError::permanent("not_hydrated", "the sandbox holds no hydrated repository")
}

fn redactor(
    secrets: &[(String, SecretString)],
    token: Option<&SecretString>,
) -> Result<Redactor, RunError> {
    let token_forms = token.into_iter().flat_map(|token| {
        [
            (TOKEN_NAME.to_owned(), token.clone()),
            (TOKEN_HEADER_NAME.to_owned(), basic_credentials(token)),
        ]
    });
    let named = secrets.iter().cloned().chain(token_forms);
    Redactor::new(named).map_err(|error| RunError::permanent("secrets", error.to_string()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn the_token_is_masked_as_it_is_and_as_the_header_encodes_it() {
        let token = SecretString::from("ghs_workspaceTokenExample0123456789abcdef");
        let encoded = basic_credentials(&token);
        let redactor = redactor(&[], Some(&token)).unwrap();

        let text = format!(
            "raw {} header Basic {}",
            token.expose_secret(),
            encoded.expose_secret()
        );
        let masked = redactor.redact_str(&text);

        assert!(!masked.contains(token.expose_secret()), "{masked}");
        assert!(!masked.contains(encoded.expose_secret()), "{masked}");
    }
}
