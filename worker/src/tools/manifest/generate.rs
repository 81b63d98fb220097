//! A manifest for a repository that has none, from what it holds:
//! `package.json` scripts, `Cargo.toml`, `pyproject.toml`, `go.mod` and
//! `Makefile` targets.

use std::collections::{HashMap, HashSet};

use super::Manifest;
use crate::tools::package_manager::PackageManager;

/// The root files generation looks at, read from the repository.
pub const INPUT_FILES: &[&str] = &[
    "package.json",
    "Cargo.toml",
    "pyproject.toml",
    "go.mod",
    "Makefile",
    "tsconfig.json",
];

/// What generation knows of a repository.
#[derive(Debug, Default)]
pub struct RepositoryFacts {
    /// Names of the entries at the root.
    pub root_entries: HashSet<String>,
    /// Contents of those of [`INPUT_FILES`] that exist.
    pub files: HashMap<String, String>,
}

pub fn generate(facts: &RepositoryFacts) -> Manifest {
    let mut manifest = Manifest::default_for_repository();
    let manager = PackageManager::detect(&facts.root_entries);
    let set = |slot: &mut Option<String>, command: Option<String>| {
        if slot.is_none() {
            *slot = command;
        }
    };

    if let Some(text) = facts.files.get("package.json") {
        let scripts = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("scripts").cloned())
            .unwrap_or_default();
        let node = manager
            .filter(|m| {
                matches!(
                    m,
                    PackageManager::Npm
                        | PackageManager::Pnpm
                        | PackageManager::Yarn
                        | PackageManager::Bun
                )
            })
            .unwrap_or(PackageManager::Npm);
        let script = |name: &str| {
            scripts
                .get(name)
                .and_then(|s| s.as_str())
                .map(|_| node.run_script(name))
        };
        set(&mut manifest.build_command, script("build"));
        set(&mut manifest.test_command, script("test"));
        set(
            &mut manifest.start_command,
            script("start").or_else(|| script("dev")),
        );
        manifest.tech_stack.push("node".to_owned());
        let typescript =
            facts.files.contains_key("tsconfig.json") || text.contains("\"typescript\"");
        if typescript {
            manifest.tech_stack.push("typescript".to_owned());
        }
    }
    if facts.files.contains_key("Cargo.toml") {
        set(&mut manifest.build_command, Some("cargo build".to_owned()));
        set(&mut manifest.test_command, Some("cargo test".to_owned()));
        set(&mut manifest.start_command, Some("cargo run".to_owned()));
        manifest.tech_stack.push("rust".to_owned());
    }
    if let Some(text) = facts.files.get("pyproject.toml") {
        let runner = match manager {
            Some(PackageManager::Uv) => "uv run ",
            Some(PackageManager::Poetry) => "poetry run ",
            _ => "",
        };
        if text.contains("pytest") {
            set(&mut manifest.test_command, Some(format!("{runner}pytest")));
        }
        manifest.tech_stack.push("python".to_owned());
    }
    if facts.files.contains_key("go.mod") {
        set(
            &mut manifest.build_command,
            Some("go build ./...".to_owned()),
        );
        set(&mut manifest.test_command, Some("go test ./...".to_owned()));
        manifest.tech_stack.push("go".to_owned());
    }
    if let Some(text) = facts.files.get("Makefile") {
        let has_target = |name: &str| {
            text.lines()
                .any(|line| line.starts_with(&format!("{name}:")))
        };
        set(
            &mut manifest.build_command,
            has_target("build").then(|| "make build".to_owned()),
        );
        set(
            &mut manifest.test_command,
            has_target("test").then(|| "make test".to_owned()),
        );
        set(
            &mut manifest.start_command,
            has_target("run").then(|| "make run".to_owned()),
        );
        manifest.tech_stack.push("make".to_owned());
    }
    manifest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(files: &[(&str, &str)], extra: &[&str]) -> RepositoryFacts {
        RepositoryFacts {
            root_entries: files
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .chain(extra.iter().map(|n| (*n).to_owned()))
                .collect(),
            files: files
                .iter()
                .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn package_json_scripts_become_commands_for_the_detected_manager() {
        let manifest = generate(&facts(
            &[(
                "package.json",
                r#"{"scripts": {"build": "tsc", "test": "vitest", "dev": "vite"}, "devDependencies": {"typescript": "5"}}"#,
            )],
            &["pnpm-lock.yaml"],
        ));

        assert_eq!(manifest.build_command.as_deref(), Some("pnpm run build"));
        assert_eq!(manifest.test_command.as_deref(), Some("pnpm run test"));
        assert_eq!(manifest.start_command.as_deref(), Some("pnpm run dev"));
        assert_eq!(manifest.tech_stack, ["node", "typescript"]);
    }

    #[test]
    fn cargo_go_python_and_make_projects_get_their_commands() {
        let rust = generate(&facts(&[("Cargo.toml", "[package]")], &[]));
        let go = generate(&facts(&[("go.mod", "module x")], &[]));
        let python = generate(&facts(
            &[("pyproject.toml", "[tool.pytest.ini_options]")],
            &["uv.lock"],
        ));
        let make = generate(&facts(
            &[("Makefile", "build:\n\tcc x.c\ntest: build\n\t./t\n")],
            &[],
        ));

        assert_eq!(rust.test_command.as_deref(), Some("cargo test"));
        assert_eq!(go.build_command.as_deref(), Some("go build ./..."));
        assert_eq!(python.test_command.as_deref(), Some("uv run pytest"));
        assert_eq!(make.build_command.as_deref(), Some("make build"));
        assert_eq!(make.test_command.as_deref(), Some("make test"));
    }

    #[test]
    fn a_generated_manifest_forbids_secret_bearing_files_and_allows_everything() {
        let manifest = generate(&facts(&[], &[]));

        for path in [
            ".env",
            ".env.local",
            "server.key",
            "tls/cert.pem",
            ".ssh/id_ed25519",
            "id_rsa.pub",
        ] {
            assert!(manifest.forbidden.matches(path), "{path}");
        }
        assert_eq!(manifest.allowed_operations.len(), 6);
        assert!(super::super::Manifest::parse(&manifest.to_json()).is_ok());
    }
}
