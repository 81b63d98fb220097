//! Credentials recognised by their shape rather than by a known value.
//!
//! Each pattern starts with a fixed trigger (`hero_`, `ghp_`, `://`, ...)
//! that the redactor's automaton finds; the code here decides whether the
//! bytes after the trigger complete a credential. Every run is capped so a
//! stream never has to hold back more than a bounded number of bytes while
//! it waits to see where a token ends.

use std::ops::Range;

/// Longest token body looked at. Real tokens are far shorter (a Hero token
/// has 43 characters, a fine-grained GitHub token 82); past the cap the
/// rest of a run is left to the next search.
const MAX_TOKEN_BODY: usize = 255;
/// Longest URL authority (`user:password@host:port`) looked at.
const MAX_AUTHORITY: usize = 512;

const HERO_BODY: usize = 43;
const GITHUB_CLASSIC_BODY: usize = 36;
const GITHUB_FINE_GRAINED_BODY: usize = 22;

const GITHUB_CLASSIC_PREFIXES: [&str; 5] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"];
const GITHUB_FINE_GRAINED_PREFIX: &str = "github_pat_";
const URL_TRIGGER: &str = "://";

/// The fixed strings the automaton must find for these patterns to be tried.
pub(super) fn triggers() -> impl Iterator<Item = &'static str> {
    [
        crate::api_token::PREFIX,
        GITHUB_FINE_GRAINED_PREFIX,
        URL_TRIGGER,
    ]
    .into_iter()
    .chain(GITHUB_CLASSIC_PREFIXES)
}

/// What a recognised credential is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Hero,
    GitHub,
    /// A password in a URL. The region starts at `://`; `user` is the user
    /// name's range in the haystack, kept in the output.
    UrlCredential {
        user: Range<usize>,
    },
}

impl Token {
    pub(super) fn label(&self) -> &'static str {
        match self {
            Token::Hero => "hero_token",
            Token::GitHub => "github_token",
            Token::UrlCredential { .. } => "url_credential",
        }
    }
}

/// The outcome of looking for a credential at one position.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Recognized {
    No,
    /// The haystack ended before the credential's end could be seen.
    Incomplete,
    Yes {
        end: usize,
        token: Token,
    },
}

/// The longest credential starting at `at`, if any. With `is_final` false,
/// a run that reaches the end of `haystack` is `Incomplete`, because more
/// bytes could still change where (or whether) it ends.
pub(super) fn recognize(haystack: &[u8], at: usize, is_final: bool) -> Recognized {
    let rest = &haystack[at..];

    if rest.starts_with(crate::api_token::PREFIX.as_bytes()) {
        let body = at + crate::api_token::PREFIX.len();
        return token_run(
            haystack,
            body,
            HERO_BODY,
            is_url_safe,
            is_final,
            Token::Hero,
        );
    }
    if rest.starts_with(GITHUB_FINE_GRAINED_PREFIX.as_bytes()) {
        let body = at + GITHUB_FINE_GRAINED_PREFIX.len();
        let is_body = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        return token_run(
            haystack,
            body,
            GITHUB_FINE_GRAINED_BODY,
            is_body,
            is_final,
            Token::GitHub,
        );
    }
    if GITHUB_CLASSIC_PREFIXES
        .iter()
        .any(|prefix| rest.starts_with(prefix.as_bytes()))
    {
        let body = at + GITHUB_CLASSIC_PREFIXES[0].len();
        let is_body = |b: u8| b.is_ascii_alphanumeric();
        return token_run(
            haystack,
            body,
            GITHUB_CLASSIC_BODY,
            is_body,
            is_final,
            Token::GitHub,
        );
    }
    if rest.starts_with(URL_TRIGGER.as_bytes()) {
        return url_credential(haystack, at, is_final);
    }
    Recognized::No
}

/// A token whose body is a run of `is_body` bytes at least `min` long. The
/// whole run is taken: a token glued to more token-like characters is
/// still hidden.
fn token_run(
    haystack: &[u8],
    body: usize,
    min: usize,
    is_body: impl Fn(u8) -> bool,
    is_final: bool,
    token: Token,
) -> Recognized {
    let Some(run) = bounded_run(haystack, body, MAX_TOKEN_BODY, is_body, is_final) else {
        return Recognized::Incomplete;
    };

    if run >= min {
        Recognized::Yes {
            end: body + run,
            token,
        }
    } else {
        Recognized::No
    }
}

/// `scheme://user:password@host`: the password is a credential. The
/// authority is taken up to the first byte that cannot be in one, and the
/// last `@` inside it ends the user information, as browsers read it, so a
/// password with a stray `@` is still hidden whole.
fn url_credential(haystack: &[u8], at: usize, is_final: bool) -> Recognized {
    let start = at + URL_TRIGGER.len();
    let Some(run) = bounded_run(haystack, start, MAX_AUTHORITY, is_authority, is_final) else {
        return Recognized::Incomplete;
    };
    let authority = &haystack[start..start + run];

    let Some(at_sign) = authority.iter().rposition(|&b| b == b'@') else {
        return Recognized::No;
    };
    let Some(colon) = authority[..at_sign].iter().position(|&b| b == b':') else {
        return Recognized::No;
    };
    if colon + 1 == at_sign {
        return Recognized::No;
    }

    Recognized::Yes {
        end: start + at_sign,
        token: Token::UrlCredential {
            user: start..start + colon,
        },
    }
}

/// Length of the run of `is_member` bytes at `start`, at most `cap`; `None`
/// when the run reaches the end of a haystack that may still grow.
fn bounded_run(
    haystack: &[u8],
    start: usize,
    cap: usize,
    is_member: impl Fn(u8) -> bool,
    is_final: bool,
) -> Option<usize> {
    let available = &haystack[start.min(haystack.len())..];
    let run = available
        .iter()
        .take(cap)
        .take_while(|&&b| is_member(b))
        .count();

    let reached_end = run == available.len() && run < cap;
    if reached_end && !is_final {
        None
    } else {
        Some(run)
    }
}

fn is_url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Bytes that may appear in a URL authority as programs print it. Anything
/// that ends a URL in running text (space, quote, angle bracket) or starts
/// its path, query or fragment ends it.
fn is_authority(b: u8) -> bool {
    !(b <= b' '
        || b == 0x7f
        || matches!(
            b,
            b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_token_is_the_whole_alphanumeric_run_after_its_prefix() {
        let text = format!("x ghp_{} y", "a".repeat(40));

        let found = recognize(text.as_bytes(), 2, true);

        assert_eq!(
            found,
            Recognized::Yes {
                end: 2 + 4 + 40,
                token: Token::GitHub
            }
        );
    }

    #[test]
    fn a_token_run_at_the_end_of_an_open_stream_is_incomplete() {
        let text = format!("hero_{}", "a".repeat(50));

        assert_eq!(recognize(text.as_bytes(), 0, false), Recognized::Incomplete);
        assert!(matches!(
            recognize(text.as_bytes(), 0, true),
            Recognized::Yes { .. }
        ));
    }

    #[test]
    fn a_run_that_reaches_the_cap_is_decided_without_more_input() {
        let text = format!("hero_{}", "a".repeat(MAX_TOKEN_BODY + 10));

        let found = recognize(text.as_bytes(), 0, false);

        assert_eq!(
            found,
            Recognized::Yes {
                end: 5 + MAX_TOKEN_BODY,
                token: Token::Hero
            }
        );
    }

    #[test]
    fn a_url_without_a_password_is_not_a_credential() {
        for text in [
            "https://example.com/x",
            "ssh://git@github.com/o/r",
            "https://u:@h/",
        ] {
            assert_eq!(
                recognize(text.as_bytes(), 5, true),
                Recognized::No,
                "{text}"
            );
        }
    }

    #[test]
    fn the_last_at_sign_ends_the_password() {
        let text = b"https://me:p@ss@host/";

        let found = recognize(text, 5, true);

        assert_eq!(
            found,
            Recognized::Yes {
                end: 15,
                token: Token::UrlCredential { user: 8..10 }
            }
        );
    }
}
