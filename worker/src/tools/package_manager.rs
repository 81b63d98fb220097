//! Which package manager a repository uses, from its lock files and
//! manifests at the root.

use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Npm,
    Pnpm,
    Yarn,
    Bun,
    Cargo,
    Uv,
    Poetry,
    Pip,
    Go,
}

impl PackageManager {
    /// The program to run.
    pub fn program(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pnpm => "pnpm",
            Self::Yarn => "yarn",
            Self::Bun => "bun",
            Self::Cargo => "cargo",
            Self::Uv => "uv",
            Self::Poetry => "poetry",
            Self::Pip => "pip",
            Self::Go => "go",
        }
    }

    /// The command that installs the project's dependencies, as hydrate
    /// runs it: from the lock file where there is one.
    pub fn install_command(self) -> &'static str {
        match self {
            Self::Npm => "if [ -f package-lock.json ]; then npm ci; else npm install; fi",
            Self::Pnpm => "pnpm install --frozen-lockfile",
            Self::Yarn => "yarn install --frozen-lockfile",
            Self::Bun => "bun install --frozen-lockfile",
            Self::Cargo => "cargo fetch",
            Self::Uv => "uv sync --frozen",
            Self::Poetry => "poetry install --no-interaction",
            Self::Pip => {
                "if [ -f requirements.txt ]; then pip install -r requirements.txt; else pip install -e .; fi"
            }
            Self::Go => "go mod download",
        }
    }

    /// How to run a `package.json` script with this manager.
    pub fn run_script(self, script: &str) -> String {
        match self {
            Self::Yarn => format!("yarn {script}"),
            Self::Pnpm | Self::Bun | Self::Npm => format!("{} run {script}", self.program()),
            _ => format!("npm run {script}"),
        }
    }

    /// Detects the manager from the names of the entries at the repository
    /// root. Lock files decide first, then manifests.
    pub fn detect(root_entries: &HashSet<String>) -> Option<Self> {
        let has = |name: &str| root_entries.contains(name);
        let by_lock_file = [
            ("pnpm-lock.yaml", Self::Pnpm),
            ("yarn.lock", Self::Yarn),
            ("bun.lockb", Self::Bun),
            ("bun.lock", Self::Bun),
            ("package-lock.json", Self::Npm),
            ("Cargo.lock", Self::Cargo),
            ("uv.lock", Self::Uv),
            ("poetry.lock", Self::Poetry),
            ("go.sum", Self::Go),
        ];
        if let Some((_, manager)) = by_lock_file.iter().find(|(file, _)| has(file)) {
            return Some(*manager);
        }
        let by_manifest = [
            ("package.json", Self::Npm),
            ("Cargo.toml", Self::Cargo),
            ("go.mod", Self::Go),
            ("pyproject.toml", Self::Pip),
            ("requirements.txt", Self::Pip),
            ("setup.py", Self::Pip),
        ];
        by_manifest
            .iter()
            .find(|(file, _)| has(file))
            .map(|(_, manager)| *manager)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(names: &[&str]) -> Option<PackageManager> {
        PackageManager::detect(&names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[test]
    fn lock_files_decide_before_manifests() {
        assert_eq!(
            detect(&["package.json", "pnpm-lock.yaml"]),
            Some(PackageManager::Pnpm)
        );
        assert_eq!(
            detect(&["package.json", "yarn.lock"]),
            Some(PackageManager::Yarn)
        );
        assert_eq!(
            detect(&["package.json", "bun.lockb"]),
            Some(PackageManager::Bun)
        );
        assert_eq!(
            detect(&["pyproject.toml", "uv.lock"]),
            Some(PackageManager::Uv)
        );
        assert_eq!(
            detect(&["pyproject.toml", "poetry.lock"]),
            Some(PackageManager::Poetry)
        );
    }

    #[test]
    fn manifests_alone_pick_the_default_manager() {
        assert_eq!(detect(&["package.json"]), Some(PackageManager::Npm));
        assert_eq!(detect(&["Cargo.toml"]), Some(PackageManager::Cargo));
        assert_eq!(detect(&["go.mod"]), Some(PackageManager::Go));
        assert_eq!(detect(&["requirements.txt"]), Some(PackageManager::Pip));
        assert_eq!(detect(&["README.md"]), None);
    }
}
