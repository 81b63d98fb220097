//! Redaction: no secret value or token leaves a tool call in the clear.
//!
//! Every tool result and every error a worker produces passes through a
//! [`Redactor`] before it reaches the agent, a log line or a job result.
//! It replaces
//!
//! - each project secret's value with `[redacted:NAME]`, and also the
//!   value's common encodings when they differ from it: percent-encoded
//!   (RFC 3986 unreserved bytes kept, upper- and lower-case hex) and base64
//!   (standard alphabet, with and without padding). Only the encoding of
//!   the value on its own is covered, as `printf %s "$KEY" | base64`
//!   prints it; a value encoded together with other bytes (`echo "$KEY" |
//!   base64` adds a newline) is not recognisable and is not hidden;
//! - Hero API tokens (`hero_` and 43 base64url characters) with
//!   `[redacted:hero_token]`;
//! - GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36 or more
//!   letters and digits, `github_pat_` and 22 or more word characters)
//!   with `[redacted:github_token]`;
//! - the password of a URL (`https://user:PASSWORD@host`) with
//!   `[redacted:url_credential]`, keeping the scheme, user and host.
//!
//! Values shorter than [`MIN_SECRET_LEN`] bytes are not redacted: hiding
//! every `abc` or `42` would shred ordinary output while hiding nothing an
//! attacker could not guess. [`Redactor::skipped`] names them so callers can
//! warn.
//!
//! When occurrences overlap, the longest one starting leftmost wins, and a
//! later occurrence that starts inside it and runs past its end is swallowed
//! into the same marker, so no part of either value is shown.
//!
//! Output need not be UTF-8, so the redactor works on bytes. A stream of
//! output chunks goes through a [`StreamRedactor`], which holds back the few
//! trailing bytes that could begin a secret completed by the next chunk:
//! the concatenation of its outputs always equals [`Redactor::redact`] of
//! the whole stream.

mod patterns;
mod stream;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

use patterns::{Recognized, Token};
pub use stream::StreamRedactor;

/// Secret values shorter than this many bytes are not redacted.
pub const MIN_SECRET_LEN: usize = 4;

/// How long a run of overlapping occurrences may grow into one marker.
/// Only output built to repeat a low-entropy secret gets near it; the cap
/// keeps a stream's held-back bytes bounded even then.
const MAX_MERGED: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The values are too many or too large for one automaton.
    #[error("cannot build the redactor: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

/// Replaces known secret values and recognisable tokens in output. Cheap to
/// clone; one instance can serve every stream of a job.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    /// One automaton for every needle: secret values, their encodings and
    /// the triggers of the token patterns.
    automaton: AhoCorasick,
    /// By automaton pattern id: the index in `names` of the secret the
    /// needle hides, or `None` for a pattern trigger.
    labels: Vec<Option<usize>>,
    names: Vec<String>,
    skipped: Vec<String>,
    /// Every needle, sorted, to tell whether a chunk ends with the start of
    /// one.
    sorted: Vec<Vec<u8>>,
    /// Which bytes begin some needle: a quick no for most chunk tails.
    first_bytes: [bool; 256],
    longest: usize,
}

/// Where a region to replace begins and what it hides.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hit {
    Named(usize),
    Token(Token),
}

/// What the scanner found at one position.
enum Found {
    Nothing,
    /// More input could change the answer; decide nothing from here on.
    Incomplete,
    Region {
        end: usize,
        hit: Hit,
        merged: bool,
    },
}

impl Redactor {
    /// A redactor for the given named secrets and the built-in token
    /// patterns. Values shorter than [`MIN_SECRET_LEN`] are skipped (see
    /// [`Redactor::skipped`]); when two names share a value, the first
    /// names the marker.
    pub fn new<I>(secrets: I) -> Result<Self, RedactError>
    where
        I: IntoIterator<Item = (String, SecretString)>,
    {
        let mut names = Vec::new();
        let mut skipped = Vec::new();
        let mut needles: BTreeMap<Vec<u8>, Option<usize>> = BTreeMap::new();

        for (name, value) in secrets {
            let value = value.expose_secret().as_bytes();
            if value.len() < MIN_SECRET_LEN {
                skipped.push(name);
                continue;
            }
            let label = names.len();
            names.push(name);
            for form in encodings(value) {
                needles.entry(form).or_insert(Some(label));
            }
        }
        for trigger in patterns::triggers() {
            needles.entry(trigger.as_bytes().to_vec()).or_insert(None);
        }

        // Both start kinds: unanchored to find occurrences, anchored to
        // list every needle that starts at one position.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Both)
            .build(needles.keys())?;
        let labels = needles.values().copied().collect();
        let sorted: Vec<Vec<u8>> = needles.into_keys().collect();
        let mut first_bytes = [false; 256];
        for needle in &sorted {
            if let Some(&first) = needle.first() {
                first_bytes[usize::from(first)] = true;
            }
        }
        let longest = sorted.iter().map(Vec::len).max().unwrap_or(0);

        Ok(Self {
            inner: Arc::new(Inner {
                automaton,
                labels,
                names,
                skipped,
                sorted,
                first_bytes,
                longest,
            }),
        })
    }

    /// A redactor that knows no project secrets, only the token patterns.
    pub fn builtin() -> Result<Self, RedactError> {
        Self::new(std::iter::empty())
    }

    /// Names of the secrets whose values are too short to redact.
    pub fn skipped(&self) -> &[String] {
        &self.inner.skipped
    }

    /// `input` with every secret and token replaced; borrowed when nothing
    /// needed replacing.
    pub fn redact<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        if self.inner.automaton.find(input).is_none() {
            return Cow::Borrowed(input);
        }

        let mut out = Vec::with_capacity(input.len());
        let changed = self.inner.scan(input, true, &mut out).1;
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(input)
        }
    }

    /// [`Redactor::redact`] for text, such as an error message.
    pub fn redact_str(&self, input: &str) -> String {
        match self.redact(input.as_bytes()) {
            Cow::Borrowed(_) => input.to_owned(),
            // Needles and markers are whole UTF-8 sequences and UTF-8 is
            // self-synchronising, so replacing them keeps text valid; the
            // lossy conversion only guards that reasoning.
            Cow::Owned(bytes) => String::from_utf8(bytes)
                .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()),
        }
    }

    /// A redactor for one stream of output (stdout and stderr each need
    /// their own).
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor::new(self.clone())
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("names", &self.inner.names)
            .field("skipped", &self.inner.skipped)
            .field("needles", &self.inner.sorted.len())
            .finish()
    }
}

/// The value and the encodings a command is likely to print it in.
fn encodings(value: &[u8]) -> Vec<Vec<u8>> {
    vec![
        value.to_vec(),
        percent_encode(value, b"0123456789ABCDEF"),
        percent_encode(value, b"0123456789abcdef"),
        STANDARD.encode(value).into_bytes(),
        STANDARD_NO_PAD.encode(value).into_bytes(),
    ]
}

fn percent_encode(value: &[u8], hex: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() * 3);
    for &b in value {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend([b'%', hex[usize::from(b >> 4)], hex[usize::from(b & 0xf)]]);
        }
    }
    out
}

impl Inner {
    /// Redacts `haystack` from its start into `out`. Returns how many bytes
    /// were decided (all of them when `is_final`) and whether anything was
    /// replaced. Undecided bytes are a suffix that could still be, or
    /// overlap, an occurrence completed by more input; the caller feeds them
    /// again with what follows.
    fn scan(&self, haystack: &[u8], is_final: bool, out: &mut Vec<u8>) -> (usize, bool) {
        let partials = if is_final {
            Vec::new()
        } else {
            self.partial_starts(haystack)
        };
        let mut emitted = 0;
        let mut from = 0;
        let mut changed = false;

        loop {
            // Nothing at or after the first partial can be decided yet.
            let hold = partials
                .iter()
                .copied()
                .find(|&q| q >= from)
                .unwrap_or(haystack.len());
            let start = self
                .automaton
                .find(Input::new(haystack).range(from..))
                .map(|m| m.start())
                .filter(|&start| start < hold);
            let Some(start) = start else {
                out.extend_from_slice(&haystack[emitted..hold]);
                return (hold, changed);
            };

            match self.region_at(haystack, start, &partials, is_final) {
                Found::Nothing => from = start + 1,
                Found::Incomplete => {
                    out.extend_from_slice(&haystack[emitted..start]);
                    return (start, changed);
                }
                Found::Region { end, hit, merged } => {
                    out.extend_from_slice(&haystack[emitted..start]);
                    self.write_marker(haystack, &hit, merged, out);
                    changed = true;
                    emitted = end;
                    from = end;
                }
            }
        }
    }

    /// The region to replace that starts at `start`, with later occurrences
    /// that overlap its end merged in.
    fn region_at(
        &self,
        haystack: &[u8],
        start: usize,
        partials: &[usize],
        is_final: bool,
    ) -> Found {
        let (mut end, hit) = match self.longest_at(haystack, start, is_final) {
            Found::Region { end, hit, .. } => (end, hit),
            other => return other,
        };
        let mut merged = false;
        let mut probe = start + 1;

        while end - start < MAX_MERGED {
            if partials.iter().any(|&q| q > start && q < end) {
                return Found::Incomplete;
            }

            // Any needle starting before `end` lies inside this span.
            let span_end = haystack.len().min(end + self.longest);
            let Some(next) = self
                .automaton
                .find(Input::new(haystack).range(probe..span_end))
                .map(|m| m.start())
                .filter(|&next| next < end)
            else {
                break;
            };

            match self.longest_at(haystack, next, is_final) {
                Found::Incomplete => return Found::Incomplete,
                Found::Region { end: further, .. } if further > end => {
                    end = further;
                    merged = true;
                }
                _ => {}
            }
            probe = next + 1;
        }

        Found::Region { end, hit, merged }
    }

    /// The longest occurrence starting exactly at `start`: a secret value
    /// or a token, whichever is longer (the secret on a tie, for its name).
    fn longest_at(&self, haystack: &[u8], start: usize, is_final: bool) -> Found {
        let named = self.longest_named_at(haystack, start);
        let token = match patterns::recognize(haystack, start, is_final) {
            Recognized::Incomplete => return Found::Incomplete,
            Recognized::No => None,
            Recognized::Yes { end, token } => Some((end, token)),
        };

        match (named, token) {
            (Some((end, label)), Some((token_end, _))) if end >= token_end => Found::Region {
                end,
                hit: Hit::Named(label),
                merged: false,
            },
            (_, Some((end, token))) => Found::Region {
                end,
                hit: Hit::Token(token),
                merged: false,
            },
            (Some((end, label)), None) => Found::Region {
                end,
                hit: Hit::Named(label),
                merged: false,
            },
            (None, None) => Found::Nothing,
        }
    }

    /// The longest secret needle at `start`. The automaton reports the
    /// longest needle there, which may be a pattern trigger; a shorter
    /// secret may hide behind it, so the search is narrowed until one shows.
    fn longest_named_at(&self, haystack: &[u8], start: usize) -> Option<(usize, usize)> {
        let mut limit = haystack.len();
        loop {
            let input = Input::new(haystack)
                .range(start..limit)
                .anchored(Anchored::Yes);
            let found = self.automaton.find(input)?;
            if let Some(label) = self.labels[found.pattern().as_usize()] {
                return Some((found.end(), label));
            }
            limit = found.end() - 1;
        }
    }

    /// Positions `q` such that `haystack[q..]` is a proper prefix of a
    /// needle, in ascending order. Only the last `longest - 1` bytes can be.
    fn partial_starts(&self, haystack: &[u8]) -> Vec<usize> {
        let window = haystack
            .len()
            .saturating_sub(self.longest.saturating_sub(1));
        (window..haystack.len())
            .filter(|&q| self.first_bytes[usize::from(haystack[q])])
            .filter(|&q| self.is_proper_prefix(&haystack[q..]))
            .collect()
    }

    fn is_proper_prefix(&self, tail: &[u8]) -> bool {
        let first = self
            .sorted
            .partition_point(|needle| needle.as_slice() < tail);
        self.sorted[first..]
            .iter()
            .take_while(|needle| needle.starts_with(tail))
            .any(|needle| needle.len() > tail.len())
    }

    fn write_marker(&self, haystack: &[u8], hit: &Hit, merged: bool, out: &mut Vec<u8>) {
        let label = match hit {
            Hit::Named(index) => self.names[*index].as_str(),
            Hit::Token(token) => token.label(),
        };

        // A URL keeps its user name, itself redacted: it is sometimes the
        // token (`https://ghp_...:x-oauth-basic@github.com`).
        if let (Hit::Token(Token::UrlCredential { user }), false) = (hit, merged) {
            out.extend_from_slice(b"://");
            let user = &haystack[user.clone()];
            self.scan(user, true, out);
            out.push(b':');
        }
        out.extend_from_slice(b"[redacted:");
        out.extend_from_slice(label.as_bytes());
        out.push(b']');
    }
}
