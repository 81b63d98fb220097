//! Paths given by an agent: relative to the repository root, checked first
//! as text and then where they really lead, inside the sandbox.

use hero_common::tool_call::{ToolError, ToolErrorCode};

/// A path as given, normalised: no `.` or empty components, `..` applied.
/// Empty for the root itself.
pub fn normalize(path: &str) -> Result<String, ToolError> {
    if path.contains('\0') {
        return Err(ToolError::new(
            ToolErrorCode::InvalidPath,
            "the path contains a NUL byte",
        ));
    }
    if path.starts_with('/') || path.starts_with('~') {
        return Err(ToolError::new(
            ToolErrorCode::PathOutsideRepo,
            format!(
                "{path:?} is not relative to the repository root; give a path such as src/main.rs"
            ),
        ));
    }

    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ToolError::new(
                        ToolErrorCode::PathOutsideRepo,
                        format!("{path:?} leads outside the repository"),
                    ));
                }
            }
            name => parts.push(name),
        }
    }
    Ok(parts.join("/"))
}

/// Whether a normalised relative path is inside `.git/` (or is it).
pub fn in_git_dir(relative: &str) -> bool {
    relative
        .split('/')
        .next()
        .is_some_and(|first| first.eq_ignore_ascii_case(".git"))
}

/// The path of `absolute` relative to `root`, when it is inside it.
pub fn relative_to(root: &str, absolute: &str) -> Option<String> {
    let root = root.trim_end_matches('/');
    if absolute == root {
        return Some(String::new());
    }
    absolute
        .strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised() {
        assert_eq!(normalize("src/./lib.rs").unwrap(), "src/lib.rs");
        assert_eq!(normalize("src//a/../b.rs").unwrap(), "src/b.rs");
        assert_eq!(normalize(".").unwrap(), "");
        assert_eq!(normalize("a/").unwrap(), "a");
    }

    #[test]
    fn absolute_home_and_escaping_paths_are_outside_the_repository() {
        for path in [
            "/etc/passwd",
            "~/.ssh/id_rsa",
            "..",
            "../x",
            "a/../../x",
            "a/b/../../../c",
        ] {
            assert_eq!(
                normalize(path).unwrap_err().code,
                ToolErrorCode::PathOutsideRepo,
                "{path}"
            );
        }
    }

    #[test]
    fn nul_bytes_are_invalid() {
        assert_eq!(
            normalize("a\0b").unwrap_err().code,
            ToolErrorCode::InvalidPath
        );
    }

    #[test]
    fn the_git_directory_is_recognised_in_any_case() {
        assert!(in_git_dir(".git/config"));
        assert!(in_git_dir(".GIT/hooks/pre-commit"));
        assert!(in_git_dir(".git"));
        assert!(!in_git_dir("src/.git-keep"));
        assert!(!in_git_dir(".github/workflows/ci.yml"));
    }

    #[test]
    fn absolute_paths_become_relative_to_the_root() {
        assert_eq!(relative_to("/r", "/r/a/b").as_deref(), Some("a/b"));
        assert_eq!(relative_to("/r/", "/r").as_deref(), Some(""));
        assert_eq!(relative_to("/r", "/rx/a"), None);
    }
}
