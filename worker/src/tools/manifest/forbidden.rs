//! Forbidden files: globs matched case-insensitively against paths relative
//! to the repository root. A pattern without `/` matches a file's name in
//! any directory (as `.gitignore` does); one with `/` matches from the root.
//! Case is ignored so `.ENV` on a case-insensitive checkout is caught too.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone)]
pub struct ForbiddenFiles {
    patterns: Vec<String>,
    anywhere: GlobSet,
    rooted: GlobSet,
}

impl ForbiddenFiles {
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let mut anywhere = GlobSetBuilder::new();
        let mut rooted = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_start_matches('/');
            let glob = |text: &str| -> Result<Glob, String> {
                GlobBuilder::new(text)
                    .case_insensitive(true)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| format!("{pattern:?} is not a valid glob: {e}"))
            };
            if trimmed.contains('/') || pattern.starts_with('/') {
                rooted.add(glob(trimmed)?);
            } else {
                anywhere.add(glob(trimmed)?);
            }
            // `dir/**` also covers `dir` itself being a file named so.
            if let Some(base) = trimmed.strip_suffix("/**") {
                rooted.add(glob(base)?);
            }
        }
        Ok(Self {
            patterns: patterns.to_vec(),
            anywhere: anywhere.build().map_err(|e| e.to_string())?,
            rooted: rooted.build().map_err(|e| e.to_string())?,
        })
    }

    pub fn none() -> Self {
        Self {
            patterns: Vec::new(),
            anywhere: GlobSet::empty(),
            rooted: GlobSet::empty(),
        }
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `path` (relative to the repository root) is forbidden: the
    /// file itself, or any directory it is in.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./").trim_matches('/');
        if path.is_empty() {
            return false;
        }
        if self.rooted.is_match(path) {
            return true;
        }
        let mut prefix_end = 0;
        for component in path.split('/') {
            prefix_end += component.len() + 1;
            let prefix = &path[..(prefix_end - 1).min(path.len())];
            if self.anywhere.is_match(component) || self.rooted.is_match(prefix) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(patterns: &[&str]) -> ForbiddenFiles {
        ForbiddenFiles::new(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn name_patterns_match_in_any_directory_and_any_case() {
        let f = forbidden(&[".env*", "*.key"]);

        assert!(f.matches(".env"));
        assert!(f.matches("app/config/.env.production"));
        assert!(f.matches(".ENV"));
        assert!(f.matches("certs/Server.KEY"));
        assert!(!f.matches("src/environment.ts"));
        assert!(!f.matches("keys.md"));
    }

    #[test]
    fn rooted_patterns_match_from_the_root_and_cover_what_is_inside() {
        let f = forbidden(&["secrets/**", "/deploy/prod.yaml"]);

        assert!(f.matches("secrets/a/b.json"));
        assert!(f.matches("secrets"));
        assert!(f.matches("deploy/prod.yaml"));
        assert!(!f.matches("app/secrets/x"));
        assert!(!f.matches("deploy/staging.yaml"));
    }

    #[test]
    fn a_file_inside_a_forbidden_directory_name_is_forbidden() {
        let f = forbidden(&[".ssh"]);

        assert!(f.matches("home/.ssh/config"));
    }

    #[test]
    fn an_invalid_glob_is_named() {
        let error = ForbiddenFiles::new(&["[oops".to_owned()]).unwrap_err();

        assert!(error.contains("[oops"));
    }
}
