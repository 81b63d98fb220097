//! GitHub account and repository names, as GitHub itself accepts them.

/// A user or organisation login: 1 to 39 ASCII letters, digits or single
/// hyphens, neither starting nor ending with a hyphen.
pub fn repo_owner(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 39 {
        return Err(format!(
            "must be 1 to 39 characters, got {}",
            name.chars().count()
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "{name:?} may contain only ASCII letters, digits and hyphens"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err(format!(
            "{name:?} may not start or end with a hyphen or contain two in a row"
        ));
    }
    Ok(())
}

/// A repository name: 1 to 100 ASCII letters, digits, `.`, `-` or `_`, and
/// not `.` or `..`. GitHub drops a trailing `.git`, so it is refused here
/// rather than silently naming another repository.
pub fn repo_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 100 {
        return Err(format!(
            "must be 1 to 100 characters, got {}",
            name.chars().count()
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "{name:?} may contain only ASCII letters, digits, '.', '-' and '_'"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("{name:?} is not a repository name"));
    }
    if name.to_ascii_lowercase().ends_with(".git") {
        return Err(format!("{name:?}: leave out the .git suffix"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_owners_pass() {
        for name in ["octocat", "rust-lang", "a", "A1-b2", &"x".repeat(39)] {
            assert_eq!(repo_owner(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn malformed_owners_are_refused() {
        for name in [
            "",
            "-lead",
            "trail-",
            "dou--ble",
            "sp ace",
            "dot.ted",
            "ünï",
            &"x".repeat(40),
        ] {
            assert!(repo_owner(name).is_err(), "{name}");
        }
    }

    #[test]
    fn ordinary_repository_names_pass() {
        for name in [
            "hero",
            "my.repo",
            "under_score",
            "-dash-first",
            ".github",
            &"r".repeat(100),
        ] {
            assert_eq!(repo_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn malformed_repository_names_are_refused() {
        for name in [
            "",
            ".",
            "..",
            "a/b",
            "sp ace",
            "repo.git",
            "x;rm",
            &"r".repeat(101),
        ] {
            assert!(repo_name(name).is_err(), "{name}");
        }
    }
}
