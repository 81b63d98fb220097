//! Names of environment variables that a project's secrets become.

/// Longest accepted variable name.
pub const MAX_LEN: usize = 255;

/// Prefixes Hero itself uses to configure commands inside a sandbox. A
/// secret named `GIT_CONFIG_COUNT` could otherwise rewrite how git is
/// authenticated, and `LD_PRELOAD` what every process loads.
const RESERVED_PREFIXES: &[&str] = &["GIT_", "HERO_", "LD_"];
const RESERVED_NAMES: &[&str] = &["PATH", "HOME", "SHELL", "USER", "PWD"];

/// A portable environment variable name: a letter or `_`, then letters,
/// digits or `_`; and none that Hero reserves for itself.
pub fn env_var_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    };
    if !valid {
        return Err(format!(
            "{name:?} is not an environment variable name: use letters, digits \
             and '_', not starting with a digit"
        ));
    }
    if name.len() > MAX_LEN {
        return Err(format!(
            "is {} characters long; the limit is {MAX_LEN}",
            name.len()
        ));
    }
    let upper = name.to_ascii_uppercase();
    if RESERVED_NAMES.contains(&upper.as_str())
        || RESERVED_PREFIXES.iter().any(|p| upper.starts_with(p))
    {
        return Err(format!(
            "{name:?} is reserved: Hero sets PATH, HOME, SHELL, USER, PWD and \
             GIT_*, HERO_*, LD_* itself"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in ["API_KEY", "_private", "a", "DATABASE_URL2", "npm_token"] {
            assert_eq!(env_var_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for name in [
            "",
            "1ABC",
            "WITH-DASH",
            "WITH SPACE",
            "A=B",
            "NUL\0",
            "ÜBER",
            "A.B",
        ] {
            assert!(env_var_name(name).is_err(), "{name:?}");
        }
        assert!(env_var_name(&"A".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn names_hero_sets_itself_are_reserved_in_any_case() {
        for name in [
            "PATH",
            "home",
            "GIT_CONFIG_COUNT",
            "git_askpass",
            "HERO_TOKEN",
            "LD_PRELOAD",
        ] {
            assert!(
                env_var_name(name).unwrap_err().contains("reserved"),
                "{name}"
            );
        }
    }
}
