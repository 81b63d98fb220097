//! Words to the arguments a command would receive, as far as they can be
//! known before it runs.
//!
//! Brace expansion, tilde expansion, parameter expansion (with the
//! variables assigned earlier in the same line, `HOME` and `PWD`), field
//! splitting and the output of `$(echo ...)` are done as bash would. What
//! cannot be known (an unset variable, the output of most commands) is
//! taken as empty and the argument is marked `dynamic`: `rm -rf "$DIR/"`
//! with `DIR` unset really is `rm -rf /`, so the empty reading is the one
//! worth checking.

use super::lexer::{Modifier, Part, Word, is_name};
use super::parse::Script;

/// What expansion needs to know about its surroundings.
pub(super) trait Scope {
    fn var(&self, name: &str) -> Option<String>;
    fn home(&self) -> &str;
    fn cwd(&self) -> &str;
    /// The output of a command substitution, when it can be known without
    /// running anything (`$(echo rm)`).
    fn output(&self, script: &Script) -> Option<String>;
}

/// Most words a brace expansion may produce before the rest is left as is.
const MAX_BRACE_WORDS: usize = 256;
/// Longest word brace expansion is tried on; finding the braces of a
/// longer one would cost more than any real command needs.
const MAX_BRACE_WORD_LEN: usize = 4096;

/// What an expansion gives, as far as it can be known.
enum Value {
    Known(String),
    /// Could be anything, empty included.
    Unknown,
    /// Unknown, but never empty (`${DIR:?}`, `$((...))`).
    NotEmpty,
}

/// The text standing for a value that is unknown but not empty.
const NOT_EMPTY: &str = "\u{fffd}";

/// One argument of a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Arg {
    /// The value, with unknown expansions left out.
    pub text: String,
    /// Byte offsets in `text` of unquoted `*`, `?` and `[`, which glob.
    pub globs: Vec<usize>,
    /// Part of the value is only known at run time.
    pub dynamic: bool,
    /// How to show it: the value, with `$NAME` or `$(...)` where unknown.
    pub shown: String,
    /// The index of the word it came from, when it came from one.
    pub word: Option<usize>,
}

impl Arg {
    pub(super) fn literal(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            shown: text.to_owned(),
            ..Self::default()
        }
    }

    /// An argument whose whole value is unknown.
    pub(super) fn unknown(shown: &str) -> Self {
        Self {
            dynamic: true,
            shown: shown.to_owned(),
            ..Self::default()
        }
    }
}

/// The arguments `word` (the `index`th of its command) expands to.
pub(super) fn fields(word: &Word, index: usize, scope: &dyn Scope) -> Vec<Arg> {
    if let Some(text) = word.plain()
        && text.contains('{')
        && text.len() <= MAX_BRACE_WORD_LEN
    {
        let words = brace_expand(&text);
        if words.len() > 1 {
            return words
                .iter()
                .map(|text| unquoted_literal(&tilde(text, true, scope), index))
                .collect();
        }
    }

    let mut builder = Builder::new(index, scope);
    for (at, part) in word.parts.iter().enumerate() {
        match part {
            Part::Lit { text, quoted: true } => builder.quoted(text, text),
            Part::Lit {
                text,
                quoted: false,
            } => {
                let whole = word.parts.len() == 1 || text.contains('/');
                let text = if at == 0 {
                    tilde_in_word(text, whole, scope)
                } else {
                    text.clone()
                };
                builder.unquoted_literal(&text);
            }
            Part::Param {
                name,
                modifier,
                quoted,
            } => {
                let value = parameter(name, modifier, scope);
                builder.expansion(value, *quoted, &shown_parameter(name, modifier));
            }
            Part::Command { script, quoted } => {
                let value = scope
                    .output(script)
                    .map(|out| out.trim_end_matches('\n').to_owned());
                let value = value.map_or(Value::Unknown, Value::Known);
                builder.expansion(value, *quoted, "$(...)");
            }
            // The path of a pipe, as bash passes it.
            Part::Process { .. } => builder.quoted("/dev/fd/63", "<(...)"),
            Part::Arith(_) => builder.expansion(Value::NotEmpty, true, "$((...))"),
            Part::Array(_) => builder.expansion(Value::Unknown, true, "(...)"),
        }
    }
    builder.finish()
}

/// The value of a word joined into one string, as in an assignment; `None`
/// when part of it is unknown.
pub(super) fn joined(word: &Word, scope: &dyn Scope) -> Option<String> {
    let args = fields(word, 0, scope);
    if args.iter().any(|arg| arg.dynamic) {
        return None;
    }
    Some(
        args.iter()
            .map(|arg| arg.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn parameter(name: &str, modifier: &Modifier, scope: &dyn Scope) -> Value {
    let value = scope.var(name);
    let known = match modifier {
        Modifier::Plain => value,
        Modifier::Default(word) => match value {
            Some(value) if !value.is_empty() => Some(value),
            _ => joined(word, scope),
        },
        Modifier::Alternative(word) => match value {
            Some(value) if !value.is_empty() => joined(word, scope),
            Some(_) => Some(String::new()),
            None => None,
        },
        Modifier::Required(_) => match value {
            Some(value) if !value.is_empty() => Some(value),
            _ => return Value::NotEmpty,
        },
        Modifier::Other(_) => None,
    };
    known.map_or(Value::Unknown, Value::Known)
}

fn shown_parameter(name: &str, modifier: &Modifier) -> String {
    match modifier {
        Modifier::Plain => format!("${name}"),
        _ => format!("${{{name}...}}"),
    }
}

/// Tilde expansion at the start of a word, and after the `=` of a word
/// shaped like an assignment (`T=~/x`), as bash does for both.
fn tilde_in_word(text: &str, whole: bool, scope: &dyn Scope) -> String {
    if let Some((name, value)) = text.split_once('=')
        && is_name(name.strip_suffix('+').unwrap_or(name))
        && value.starts_with('~')
    {
        return format!("{name}={}", tilde(value, whole, scope));
    }
    tilde(text, whole, scope)
}

/// `~` and `~/...` to the home directory, `~+` to the working directory,
/// `~root` and `~name` to where those homes usually are. `whole` says the
/// tilde prefix ends inside this literal (at a `/` or the end of the word).
fn tilde(text: &str, whole: bool, scope: &dyn Scope) -> String {
    let Some(rest) = text.strip_prefix('~') else {
        return text.to_owned();
    };
    if !whole {
        return text.to_owned();
    }
    let end = rest.find('/').unwrap_or(rest.len());
    let (user, path) = rest.split_at(end);

    let home = match user {
        "" => scope.home().to_owned(),
        "+" => scope.cwd().to_owned(),
        "root" => "/root".to_owned(),
        user if user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
        {
            format!("/home/{user}")
        }
        _ => return text.to_owned(),
    };
    format!("{home}{path}")
}

fn unquoted_literal(text: &str, index: usize) -> Arg {
    Arg {
        text: text.to_owned(),
        globs: glob_offsets(text, 0),
        shown: text.to_owned(),
        word: Some(index),
        ..Arg::default()
    }
}

fn glob_offsets(text: &str, base: usize) -> Vec<usize> {
    text.char_indices()
        .filter(|(_, c)| matches!(c, '*' | '?' | '['))
        .map(|(at, _)| base + at)
        .collect()
}

/// Builds the fields of one word piece by piece: unquoted expansions split
/// on blanks into several fields, quoted pieces never do.
struct Builder {
    index: usize,
    ifs: String,
    fields: Vec<Arg>,
    current: Arg,
    /// The current field exists even if empty (it has a quoted piece or an
    /// unknown expansion).
    started: bool,
}

impl Builder {
    fn new(index: usize, scope: &dyn Scope) -> Self {
        Self {
            index,
            ifs: scope.var("IFS").unwrap_or_else(|| " \t\n".into()),
            fields: Vec::new(),
            current: Arg::default(),
            started: false,
        }
    }

    fn quoted(&mut self, text: &str, shown: &str) {
        self.current.text.push_str(text);
        self.current.shown.push_str(shown);
        self.started = true;
    }

    fn unquoted_literal(&mut self, text: &str) {
        let base = self.current.text.len();
        self.current.globs.extend(glob_offsets(text, base));
        self.current.text.push_str(text);
        self.current.shown.push_str(text);
        self.started |= !text.is_empty();
    }

    fn expansion(&mut self, value: Value, quoted: bool, shown: &str) {
        let value = match value {
            Value::Known(value) => value,
            Value::Unknown => {
                self.current.dynamic = true;
                self.current.shown.push_str(shown);
                self.started = true;
                return;
            }
            // Stands for a value that is there but unknown: never a
            // protected path on its own, and never the empty reading.
            Value::NotEmpty => {
                self.current.dynamic = true;
                self.current.text.push_str(NOT_EMPTY);
                self.current.shown.push_str(shown);
                self.started = true;
                return;
            }
        };
        if quoted {
            self.quoted(&value, &value);
            return;
        }

        // Unquoted: split on the separators, and the pieces glob.
        let ifs = self.ifs.clone();
        let mut pieces = value.split(|c| ifs.contains(c)).peekable();
        let mut first = true;
        while let Some(piece) = pieces.next() {
            if !first && self.started {
                self.end_field();
            }
            first = false;
            self.unquoted_literal(piece);
            if pieces.peek().is_some() && self.started {
                self.end_field();
            }
        }
    }

    fn end_field(&mut self) {
        let mut field = std::mem::take(&mut self.current);
        field.word = Some(self.index);
        self.fields.push(field);
        self.started = false;
    }

    fn finish(mut self) -> Vec<Arg> {
        if self.started {
            self.end_field();
        }
        self.fields
    }
}

/// Bash's brace expansion of `a{b,c}d` into `abd acd`; sequences such as
/// `{1..3}` are left alone.
fn brace_expand(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    expand_into(text, &mut words);
    words
}

fn expand_into(text: &str, words: &mut Vec<String>) {
    if words.len() >= MAX_BRACE_WORDS {
        return;
    }
    let Some((open, close, commas)) = first_brace_list(text) else {
        words.push(text.to_owned());
        return;
    };

    let (prefix, suffix) = (&text[..open], &text[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain([close]) {
        expand_into(&format!("{prefix}{}{suffix}", &text[start..end]), words);
        start = end + 1;
    }
}

/// The first `{...}` holding a comma at its own level: its braces' and
/// commas' offsets.
fn first_brace_list(text: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = text.as_bytes();
    for open in (0..bytes.len()).filter(|&at| bytes[at] == b'{') {
        let mut depth = 0usize;
        let mut commas = Vec::new();
        for (at, &b) in bytes.iter().enumerate().skip(open + 1) {
            match b {
                b'{' => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                b'}' if commas.is_empty() => break,
                b'}' => return Some((open, at, commas)),
                b',' if depth == 0 => commas.push(at),
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brace_lists_expand_into_separate_words_and_sequences_do_not() {
        assert_eq!(brace_expand("{rm,-rf,/}"), ["rm", "-rf", "/"]);
        assert_eq!(brace_expand("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
        assert_eq!(brace_expand("{1..3}"), ["{1..3}"]);
        assert_eq!(brace_expand("{x}{y,z}"), ["{x}y", "{x}z"]);
    }
}
