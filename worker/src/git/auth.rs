//! Handing a token to git without putting it anywhere git keeps or prints.
//!
//! The token travels as an `http.extraHeader` set through
//! `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` in the
//! command's environment: never in a URL, never in `.git/config`, never in
//! argv (which other processes can read). `transfer.credentialsInUrl=die`
//! makes git refuse a URL that carries a password, should one ever appear.
//! Only commands that reach the forge get the header ([`super::remote`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

/// Environment for a git command: non-interactive, no credential helpers,
/// and, given a token, the authorization header.
pub fn git_env(token: Option<&SecretString>) -> Vec<(String, SecretString)> {
    let mut config: Vec<(&str, SecretString)> = vec![
        ("transfer.credentialsInUrl", SecretString::from("die")),
        ("credential.helper", SecretString::from("")),
        ("core.hooksPath", SecretString::from("/dev/null")),
    ];
    if let Some(token) = token {
        config.push(("http.extraHeader", authorization_header(token)));
    }

    let mut env = vec![
        ("GIT_TERMINAL_PROMPT".to_owned(), SecretString::from("0")),
        ("GIT_ASKPASS".to_owned(), SecretString::from("/bin/false")),
        ("GIT_CONFIG_NOSYSTEM".to_owned(), SecretString::from("1")),
        // `~/.gitconfig` is the agent's to write, like the repository's.
        (
            "GIT_CONFIG_GLOBAL".to_owned(),
            SecretString::from("/dev/null"),
        ),
        (
            "GIT_CONFIG_COUNT".to_owned(),
            SecretString::from(config.len().to_string()),
        ),
    ];
    for (i, (key, value)) in config.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{i}"), SecretString::from(key)));
        env.push((format!("GIT_CONFIG_VALUE_{i}"), value));
    }
    env
}

/// `Authorization: Basic base64(x-access-token:<token>)`, as GitHub expects
/// for installation and OAuth tokens over HTTPS.
pub fn authorization_header(token: &SecretString) -> SecretString {
    let credentials = basic_credentials(token);
    SecretString::from(format!(
        "Authorization: Basic {}",
        credentials.expose_secret()
    ))
}

/// The token as the header carries it, encoded: a secret as much as the
/// token itself.
pub fn basic_credentials(token: &SecretString) -> SecretString {
    SecretString::from(STANDARD.encode(format!("x-access-token:{}", token.expose_secret())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_only_in_the_header_value_and_no_helper_can_prompt() {
        let token = SecretString::from("ghs_exampletoken123");

        let env = git_env(Some(&token));

        let pairs: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
            .collect();
        let header = pairs
            .iter()
            .find(|(_, v)| v.starts_with("Authorization: Basic "))
            .unwrap();
        assert!(header.0.starts_with("GIT_CONFIG_VALUE_"));
        assert!(
            pairs
                .iter()
                .all(|(_, v)| !v.contains("ghs_exampletoken123")),
            "never in plain text"
        );
        assert!(pairs.contains(&("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned())));
        let count: usize = pairs
            .iter()
            .find(|(k, _)| k == "GIT_CONFIG_COUNT")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert_eq!(
            pairs
                .iter()
                .filter(|(k, _)| k.starts_with("GIT_CONFIG_KEY_"))
                .count(),
            count
        );
    }

    #[test]
    fn without_a_token_there_is_no_header() {
        let env = git_env(None);

        assert!(
            env.iter()
                .all(|(_, v)| !v.expose_secret().starts_with("Authorization"))
        );
    }
}
