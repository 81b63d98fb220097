//! `hydrate`: get the repository into the project's sandbox at a branch.

use hero_common::jobs::params::HydrateParams;
use serde_json::json;

use super::super::Services;
use super::super::failure::RunError;
use super::super::workspace::Workspace;
use crate::tools::manifest::ManifestSource;

pub async fn run(
    services: &Services,
    workspace: &mut Workspace,
    params: HydrateParams,
) -> Result<serde_json::Value, RunError> {
    let branch = params
        .branch
        .unwrap_or_else(|| workspace.project.default_branch.clone());
    let hydrated = workspace
        .hydrate(services, Some(branch.clone()), params.full_history)
        .await?;
    let manifest: serde_json::Value =
        serde_json::from_str(&hydrated.manifest.to_json()).unwrap_or_default();
    Ok(json!({
        "branch": branch,
        "commit": hydrated.commit,
        "changed": hydrated.changed,
        "package_manager": hydrated.package_manager.map(|m| m.program()),
        "manifest_source": match hydrated.manifest_source {
            ManifestSource::File => "file",
            ManifestSource::Generated => "generated",
        },
        "manifest": manifest,
    }))
}
