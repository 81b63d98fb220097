//! Branch names, by the rules of `git check-ref-format --branch`.

/// Longest accepted branch name. Git has no limit of its own, but hosts and
/// file systems do.
pub const MAX_LEN: usize = 255;

/// A branch name git would accept, that also cannot be taken for an option
/// (no leading `-`).
pub fn branch_name(name: &str) -> Result<(), String> {
    let fail = |why: &str| Err(format!("{name:?} is not a valid branch name: {why}"));

    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_LEN {
        return fail("it is too long");
    }
    if name.starts_with('-') {
        return fail("it starts with '-'");
    }
    if name == "@" {
        return fail("'@' alone is reserved");
    }
    if name.contains("..") {
        return fail("it contains '..'");
    }
    if name.contains("@{") {
        return fail("it contains '@{'");
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
    {
        return fail(&format!("it contains {c:?}"));
    }
    if name.ends_with('.') {
        return fail("it ends with '.'");
    }
    for component in name.split('/') {
        if component.is_empty() {
            return fail("it has an empty path component (leading, trailing or double '/')");
        }
        if component.starts_with('.') {
            return fail("a path component starts with '.'");
        }
        if component.ends_with(".lock") {
            return fail("a path component ends with '.lock'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_branches_pass() {
        for name in [
            "main",
            "hero/fix-42",
            "feature/a.b",
            "v1.2.3",
            "user@host",
            "ümlaut",
        ] {
            assert_eq!(branch_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_git_refuses_are_refused() {
        for name in [
            "",
            "-rf",
            "--upload-pack=x",
            "@",
            "a..b",
            "a@{1}",
            "sp ace",
            "tab\t",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "back\\slash",
            "trailing.",
            "/lead",
            "trail/",
            "dou//ble",
            ".hidden",
            "a/.hidden",
            "x.lock",
            "a/b.lock/c",
            "nul\0",
        ] {
            assert!(branch_name(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn the_error_names_the_branch_and_the_rule() {
        let message = branch_name("a..b").unwrap_err();

        assert!(message.contains("\"a..b\""));
        assert!(message.contains("'..'"));
    }
}
