//! Splitting a shell line into words and operators, as bash would.
//!
//! Quote removal happens here: a word keeps its text without the quotes,
//! with each piece marked as quoted or not (quoting decides tilde, glob and
//! field splitting later). Command substitutions, process substitutions
//! and arithmetic are parsed on the spot into their own scripts, so that
//! their contents are checked like any other command.

use super::parse::{self, Script};

/// How deeply substitutions, subshells and command strings may nest before
/// the line is refused rather than checked.
pub(super) const MAX_NESTING: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SyntaxError {
    #[error("unterminated {0}")]
    Unterminated(&'static str),
    #[error("unexpected {0}")]
    Unexpected(String),
    #[error("bad substitution")]
    BadSubstitution,
    #[error("nested too deeply to check")]
    TooDeep,
}

/// One shell word, after quote removal.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Word {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Lit {
        text: String,
        quoted: bool,
    },
    /// `$NAME`, `${NAME}`, `${NAME:-word}`, `$0`, `$@`, ...
    Param {
        name: String,
        modifier: Modifier,
        quoted: bool,
    },
    /// `$(...)` or backticks.
    Command {
        script: Script,
        quoted: bool,
    },
    /// `<(...)` (`output` false) or `>(...)`.
    Process {
        script: Script,
        output: bool,
    },
    /// `$((...))` and `((...))`: only its substitutions matter.
    Arith(Vec<Part>),
    /// `NAME=(a b c)`.
    Array(Vec<Word>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Modifier {
    Plain,
    /// `:-`, `-`, `:=`, `=`: the word is used when the value is unset.
    Default(Word),
    /// `:+`, `+`: the word is used when the value is set.
    Alternative(Word),
    /// `:?`, `?`: the shell stops with the word as its message when the
    /// value is unset, so the expansion is never missing.
    Required(Word),
    /// Any other operator (`#`, `%`, `/`, `:offset`, `${#x}`, `${!x}`): the
    /// value is unknown, but the word may hold substitutions.
    Other(Word),
}

impl Word {
    /// The text of a word made only of unquoted literal characters, which
    /// is what the shell recognises as a reserved word or a name.
    pub(super) fn plain(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Lit {
                    text: piece,
                    quoted: false,
                } => text.push_str(piece),
                _ => return None,
            }
        }
        Some(text)
    }

    pub(super) fn is_plain(&self, expected: &str) -> bool {
        self.plain().is_some_and(|text| text == expected)
    }

    /// The literal text of a word, quotes removed, or `None` when part of
    /// it is only known at run time.
    pub(super) fn literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Lit { text: piece, .. } => text.push_str(piece),
                _ => return None,
            }
        }
        Some(text)
    }

    fn has_quoting(&self) -> bool {
        self.parts
            .iter()
            .any(|part| !matches!(part, Part::Lit { quoted: false, .. }))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Word(Word),
    Op(Op),
    Redirect(Redirect),
    Newline,
    /// `(( ... ))` as a command.
    Arith(Vec<Part>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Semi,
    /// `;;`, `;&` or `;;&`, ending a `case` arm.
    CaseEnd,
    Amp,
    And,
    Or,
    Pipe,
    PipeErr,
    LParen,
    RParen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RedirOp {
    In,
    Out,
    Append,
    Clobber,
    ReadWrite,
    HereDoc,
    HereString,
    DupIn,
    DupOut,
    OutErr,
    AppendErr,
}

impl RedirOp {
    /// Whether the target is opened for writing.
    pub(super) fn writes(self) -> bool {
        matches!(
            self,
            RedirOp::Out
                | RedirOp::Append
                | RedirOp::Clobber
                | RedirOp::ReadWrite
                | RedirOp::DupOut
                | RedirOp::OutErr
                | RedirOp::AppendErr
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Redirect {
    pub op: RedirOp,
    pub target: Word,
    /// A heredoc's body.
    pub body: Option<Word>,
}

/// Lexes and parses `text` as a script.
pub(super) fn script(text: &str, depth: usize) -> Result<Script, SyntaxError> {
    if depth > MAX_NESTING {
        return Err(SyntaxError::TooDeep);
    }
    let mut lexer = Lexer::new(text, depth);
    let tokens = lexer.tokens(false)?;
    parse::parse(tokens, depth)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    /// For each `(`, where its `)` is, counted plainly over the whole
    /// text; computed on the first `((`, so telling arithmetic from nested
    /// subshells costs one pass however many `((` there are.
    closing: Option<Vec<Option<usize>>>,
}

struct PendingHeredoc {
    token: usize,
    delimiter: String,
    strip_tabs: bool,
    expand: bool,
}

const REDIRECTIONS: [(&str, RedirOp); 12] = [
    ("&>>", RedirOp::AppendErr),
    ("<<<", RedirOp::HereString),
    ("<<-", RedirOp::HereDoc),
    ("&>", RedirOp::OutErr),
    ("<<", RedirOp::HereDoc),
    ("<>", RedirOp::ReadWrite),
    ("<&", RedirOp::DupIn),
    (">>", RedirOp::Append),
    (">|", RedirOp::Clobber),
    (">&", RedirOp::DupOut),
    ("<", RedirOp::In),
    (">", RedirOp::Out),
];

impl Lexer {
    fn new(text: &str, depth: usize) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
            depth,
            closing: None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(offset, c)| self.chars.get(self.pos + offset) == Some(&c))
    }

    /// Tokens up to the end of input, or, `inside` a `$(`, up to its
    /// closing parenthesis (consumed).
    fn tokens(&mut self, inside: bool) -> Result<Vec<Token>, SyntaxError> {
        let mut tokens = Vec::new();
        let mut pending = Vec::new();
        // Inside `$(...)`, parentheses that open and close within it, and
        // `case` patterns whose `)` opens nothing, must not end it.
        let mut parens = 0usize;
        let mut cases = 0usize;

        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                if inside {
                    return Err(SyntaxError::Unterminated("$( command substitution"));
                }
                break;
            };

            match c {
                '\n' => {
                    self.pos += 1;
                    tokens.push(Token::Newline);
                    self.read_heredocs(&mut pending, &mut tokens);
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                ';' => {
                    let op = if self.starts_with(";;&") {
                        self.pos += 3;
                        Op::CaseEnd
                    } else if self.starts_with(";;") || self.starts_with(";&") {
                        self.pos += 2;
                        Op::CaseEnd
                    } else {
                        self.pos += 1;
                        Op::Semi
                    };
                    tokens.push(Token::Op(op));
                }
                '&' if self.peek_at(1) == Some('>') => self.redirect(&mut tokens, &mut pending)?,
                '&' => {
                    let op = if self.peek_at(1) == Some('&') {
                        self.pos += 2;
                        Op::And
                    } else {
                        self.pos += 1;
                        Op::Amp
                    };
                    tokens.push(Token::Op(op));
                }
                '|' => {
                    let op = match self.peek_at(1) {
                        Some('|') => Op::Or,
                        Some('&') => Op::PipeErr,
                        _ => Op::Pipe,
                    };
                    self.pos += if op == Op::Pipe { 1 } else { 2 };
                    tokens.push(Token::Op(op));
                }
                '(' => {
                    if self.peek_at(1) == Some('(')
                        && let Some(parts) = self.arithmetic(2)?
                    {
                        tokens.push(Token::Arith(parts));
                    } else {
                        self.pos += 1;
                        parens += 1;
                        tokens.push(Token::Op(Op::LParen));
                    }
                }
                ')' => {
                    self.pos += 1;
                    if inside && parens == 0 && cases == 0 {
                        break;
                    }
                    parens = parens.saturating_sub(1);
                    tokens.push(Token::Op(Op::RParen));
                }
                '<' | '>' if self.peek_at(1) != Some('(') => {
                    self.redirect(&mut tokens, &mut pending)?;
                }
                c if c.is_ascii_digit() && self.is_fd_redirect() => {
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    self.redirect(&mut tokens, &mut pending)?;
                }
                _ => {
                    let word = self.word()?;
                    if word.parts.is_empty() {
                        return Err(SyntaxError::Unexpected(format!("`{c}`")));
                    }
                    if inside && word.is_plain("case") {
                        cases += 1;
                    } else if inside && word.is_plain("esac") {
                        cases = cases.saturating_sub(1);
                    }
                    tokens.push(Token::Word(word));
                }
            }
        }
        Ok(tokens)
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r') => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    /// Whether the digits here are a file descriptor, as in `2>err`.
    fn is_fd_redirect(&self) -> bool {
        let mut at = self.pos;
        while self.chars.get(at).is_some_and(|c| c.is_ascii_digit()) {
            at += 1;
        }
        matches!(self.chars.get(at), Some('<' | '>')) && self.chars.get(at + 1) != Some(&'(')
    }

    fn redirect(
        &mut self,
        tokens: &mut Vec<Token>,
        pending: &mut Vec<PendingHeredoc>,
    ) -> Result<(), SyntaxError> {
        let Some(&(text, op)) = REDIRECTIONS.iter().find(|(text, _)| self.starts_with(text)) else {
            return Err(SyntaxError::Unexpected("redirection".into()));
        };
        self.pos += text.chars().count();

        self.skip_blanks();
        let target = self.word()?;
        if target.parts.is_empty() {
            return Err(SyntaxError::Unexpected(format!(
                "`{text}` without a target"
            )));
        }

        if op == RedirOp::HereDoc {
            pending.push(PendingHeredoc {
                token: tokens.len(),
                delimiter: target.literal().unwrap_or_default(),
                strip_tabs: text == "<<-",
                expand: !target.has_quoting(),
            });
        }
        tokens.push(Token::Redirect(Redirect {
            op,
            target,
            body: None,
        }));
        Ok(())
    }

    /// Reads the bodies of the heredocs opened on the line just ended. A
    /// body without its delimiter runs to the end of input, as bash allows.
    fn read_heredocs(&mut self, pending: &mut Vec<PendingHeredoc>, tokens: &mut [Token]) {
        for heredoc in pending.drain(..) {
            let mut body = String::new();
            while self.pos < self.chars.len() {
                let end = self.chars[self.pos..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(self.chars.len(), |n| self.pos + n);
                let mut line: String = self.chars[self.pos..end].iter().collect();
                self.pos = (end + 1).min(self.chars.len());
                if heredoc.strip_tabs {
                    line = line.trim_start_matches('\t').to_owned();
                }
                if line == heredoc.delimiter {
                    break;
                }
                body.push_str(&line);
                body.push('\n');
            }

            let word = if heredoc.expand {
                let mut inner = Lexer::new(&body, self.depth + 1);
                inner.double_quoted(None).map(|parts| Word { parts })
            } else {
                Ok(Word {
                    parts: vec![Part::Lit {
                        text: body,
                        quoted: true,
                    }],
                })
            };
            if let Some(Token::Redirect(redirect)) = tokens.get_mut(heredoc.token) {
                // A body that cannot be lexed is kept as plain text: bash
                // would fail on it at run time, running nothing from it.
                redirect.body = Some(word.unwrap_or_default());
            }
        }
    }

    /// One word, up to the next unquoted blank or operator.
    fn word(&mut self) -> Result<Word, SyntaxError> {
        let mut parts = Vec::new();
        let mut lit = String::new();

        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | ')' => break,
                '<' | '>' if self.peek_at(1) == Some('(') => {
                    flush(&mut parts, &mut lit, false);
                    self.pos += 2;
                    let script = self.substitution()?;
                    parts.push(Part::Process {
                        script,
                        output: c == '>',
                    });
                }
                '<' | '>' => break,
                '(' if parts.is_empty() && is_array_assignment(&lit) => {
                    flush(&mut parts, &mut lit, false);
                    self.pos += 1;
                    parts.push(Part::Array(self.array()?));
                }
                '(' => break,
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(escaped) => {
                            flush(&mut parts, &mut lit, false);
                            self.pos += 1;
                            parts.push(Part::Lit {
                                text: escaped.to_string(),
                                quoted: true,
                            });
                        }
                        None => lit.push('\\'),
                    }
                }
                '\'' => {
                    flush(&mut parts, &mut lit, false);
                    self.pos += 1;
                    let text = self.until_quote('\'', "single quote")?;
                    parts.push(Part::Lit { text, quoted: true });
                }
                '"' => {
                    flush(&mut parts, &mut lit, false);
                    self.pos += 1;
                    parts.extend(self.double_quoted(Some('"'))?);
                }
                '$' => {
                    flush(&mut parts, &mut lit, false);
                    self.dollar(false, &mut parts)?;
                }
                '`' => {
                    flush(&mut parts, &mut lit, false);
                    parts.push(self.backquoted(false)?);
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        flush(&mut parts, &mut lit, false);
        Ok(Word { parts })
    }

    fn until_quote(&mut self, quote: char, what: &'static str) -> Result<String, SyntaxError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == quote {
                return Ok(self.chars[start..self.pos - 1].iter().collect());
            }
        }
        Err(SyntaxError::Unterminated(what))
    }

    /// The inside of double quotes (`close` is `"`) or of an expanding
    /// heredoc body (`close` is `None`: up to the end of input).
    fn double_quoted(&mut self, close: Option<char>) -> Result<Vec<Part>, SyntaxError> {
        let mut parts = Vec::new();
        let mut lit = String::new();

        loop {
            let Some(c) = self.peek() else {
                if close.is_some() {
                    return Err(SyntaxError::Unterminated("double quote"));
                }
                break;
            };
            if Some(c) == close {
                self.pos += 1;
                break;
            }
            match c {
                '\\' => match self.peek_at(1) {
                    Some('\n') => self.pos += 2,
                    Some(next @ ('$' | '`' | '\\')) => {
                        lit.push(next);
                        self.pos += 2;
                    }
                    Some('"') if close.is_some() => {
                        lit.push('"');
                        self.pos += 2;
                    }
                    _ => {
                        lit.push('\\');
                        self.pos += 1;
                    }
                },
                '$' => {
                    flush(&mut parts, &mut lit, true);
                    self.dollar(true, &mut parts)?;
                }
                '`' => {
                    flush(&mut parts, &mut lit, true);
                    parts.push(self.backquoted(true)?);
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        flush(&mut parts, &mut lit, true);
        Ok(parts)
    }

    /// Whatever starts with `$` here.
    fn dollar(&mut self, quoted: bool, parts: &mut Vec<Part>) -> Result<(), SyntaxError> {
        match self.peek_at(1) {
            Some('\'') if !quoted => {
                self.pos += 2;
                let text = self.ansi_c()?;
                parts.push(Part::Lit { text, quoted: true });
            }
            Some('"') if !quoted => {
                self.pos += 2;
                parts.extend(self.double_quoted(Some('"'))?);
            }
            Some('(') => {
                if self.peek_at(2) == Some('(')
                    && let Some(inner) = self.arithmetic(3)?
                {
                    parts.push(Part::Arith(inner));
                } else {
                    self.pos += 2;
                    let script = self.substitution()?;
                    parts.push(Part::Command { script, quoted });
                }
            }
            Some('{') => {
                self.pos += 2;
                parts.push(self.braced_parameter(quoted)?);
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.pos += 1;
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                let name = self.chars[start..self.pos].iter().collect();
                parts.push(Part::Param {
                    name,
                    modifier: Modifier::Plain,
                    quoted,
                });
            }
            Some(c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => {
                self.pos += 2;
                parts.push(Part::Param {
                    name: c.to_string(),
                    modifier: Modifier::Plain,
                    quoted,
                });
            }
            _ => {
                self.pos += 1;
                parts.push(Part::Lit {
                    text: "$".into(),
                    quoted,
                });
            }
        }
        Ok(())
    }

    /// The script of a `$(` or `<(` whose opening has been read.
    fn substitution(&mut self) -> Result<Script, SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(SyntaxError::TooDeep);
        }
        self.depth += 1;
        let tokens = self.tokens(true);
        self.depth -= 1;
        parse::parse(tokens?, self.depth + 1)
    }

    /// `$((...))` or `((...))` with `skip` the length of its opening, if
    /// the parentheses close as arithmetic (the inner `(` is closed by a
    /// `)` right before the outer one's); otherwise nothing is consumed and
    /// the caller reads a subshell instead, as bash does.
    fn arithmetic(&mut self, skip: usize) -> Result<Option<Vec<Part>>, SyntaxError> {
        let inner_open = self.pos + skip - 1;
        let Some(close) = self.closing_of(inner_open) else {
            return Ok(None);
        };
        if self.chars.get(close + 1) != Some(&')') {
            return Ok(None);
        }

        let inner: String = self.chars[inner_open + 1..close].iter().collect();
        self.pos = close + 2;
        let mut lexer = Lexer::new(&inner, self.depth + 1);
        lexer.double_quoted(None).map(Some)
    }

    fn closing_of(&mut self, open: usize) -> Option<usize> {
        let chars = &self.chars;
        let closing = self.closing.get_or_insert_with(|| {
            let mut closing = vec![None; chars.len()];
            let mut open = Vec::new();
            for (at, &c) in chars.iter().enumerate() {
                match c {
                    '(' => open.push(at),
                    ')' => {
                        if let Some(start) = open.pop() {
                            closing[start] = Some(at);
                        }
                    }
                    _ => {}
                }
            }
            closing
        });
        closing.get(open).copied().flatten()
    }

    fn braced_parameter(&mut self, quoted: bool) -> Result<Part, SyntaxError> {
        // `${#x}` (length) and `${!x}` (indirection) give values we cannot know.
        let prefixed = matches!(self.peek(), Some('#' | '!')) && self.peek_at(1) != Some('}');
        if prefixed {
            self.pos += 1;
        }

        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
            }
            Some(c) if c.is_ascii_digit() => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
            Some(c) if "@*#?-$!".contains(c) => self.pos += 1,
            Some(_) => return Err(SyntaxError::BadSubstitution),
            None => return Err(SyntaxError::Unterminated("${")),
        }
        let name: String = self.chars[start..self.pos].iter().collect();

        let modifier = if self.peek() == Some('}') {
            self.pos += 1;
            if prefixed {
                Modifier::Other(Word::default())
            } else {
                Modifier::Plain
            }
        } else {
            let kind = if [":-", ":="].iter().any(|op| self.starts_with(op)) {
                self.pos += 2;
                'd'
            } else if self.starts_with(":+") {
                self.pos += 2;
                'a'
            } else if matches!(self.peek(), Some('-' | '=')) {
                self.pos += 1;
                'd'
            } else if self.peek() == Some('+') {
                self.pos += 1;
                'a'
            } else if self.starts_with(":?") {
                self.pos += 2;
                'r'
            } else if self.peek() == Some('?') {
                self.pos += 1;
                'r'
            } else {
                'o'
            };
            let word = self.brace_word(quoted)?;
            match kind {
                _ if prefixed => Modifier::Other(word),
                'd' => Modifier::Default(word),
                'a' => Modifier::Alternative(word),
                'r' => Modifier::Required(word),
                _ => Modifier::Other(word),
            }
        };
        Ok(Part::Param {
            name,
            modifier,
            quoted,
        })
    }

    /// The word inside `${name<op>...}`, up to its closing brace.
    fn brace_word(&mut self, quoted: bool) -> Result<Word, SyntaxError> {
        let mut parts = Vec::new();
        let mut lit = String::new();

        loop {
            let Some(c) = self.peek() else {
                return Err(SyntaxError::Unterminated("${"));
            };
            match c {
                '}' => {
                    self.pos += 1;
                    break;
                }
                '\\' if self.peek_at(1).is_some() => {
                    flush(&mut parts, &mut lit, quoted);
                    let escaped = self.peek_at(1).unwrap_or('\\');
                    self.pos += 2;
                    parts.push(Part::Lit {
                        text: escaped.to_string(),
                        quoted: true,
                    });
                }
                '\'' if !quoted => {
                    flush(&mut parts, &mut lit, quoted);
                    self.pos += 1;
                    let text = self.until_quote('\'', "single quote")?;
                    parts.push(Part::Lit { text, quoted: true });
                }
                '"' => {
                    flush(&mut parts, &mut lit, quoted);
                    self.pos += 1;
                    parts.extend(self.double_quoted(Some('"'))?);
                }
                '$' => {
                    flush(&mut parts, &mut lit, quoted);
                    self.dollar(quoted, &mut parts)?;
                }
                '`' => {
                    flush(&mut parts, &mut lit, quoted);
                    parts.push(self.backquoted(quoted)?);
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        flush(&mut parts, &mut lit, quoted);
        Ok(Word { parts })
    }

    /// A backquoted command substitution. Inside, a backslash escapes only
    /// `$`, `` ` ``, `\` (and `"` within double quotes); the rest is parsed
    /// again as a script.
    fn backquoted(&mut self, quoted: bool) -> Result<Part, SyntaxError> {
        self.pos += 1;
        let mut inner = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(SyntaxError::Unterminated("backquote"));
            };
            self.pos += 1;
            match c {
                '`' => break,
                '\\' => match self.peek() {
                    Some(next) if "$`\\".contains(next) || (quoted && next == '"') => {
                        inner.push(next);
                        self.pos += 1;
                    }
                    _ => inner.push('\\'),
                },
                _ => inner.push(c),
            }
        }
        let script = script(&inner, self.depth + 1)?;
        Ok(Part::Command { script, quoted })
    }

    /// `$'...'` with its C escapes, whose opening has been read.
    fn ansi_c(&mut self) -> Result<String, SyntaxError> {
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(SyntaxError::Unterminated("$' quote"));
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(text),
                '\\' => {
                    if let Some(decoded) = self.ansi_c_escape() {
                        text.push(decoded);
                    }
                }
                _ => text.push(c),
            }
        }
    }

    fn ansi_c_escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        let simple = match c {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'e' | 'E' => Some('\u{1b}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' | '\'' | '"' | '?' => Some(c),
            _ => None,
        };
        if simple.is_some() {
            return simple;
        }

        let (radix, max) = match c {
            '0'..='7' => {
                self.pos -= 1;
                (8, 3)
            }
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            'c' => {
                let control = self.peek()?;
                self.pos += 1;
                return char::from_u32(u32::from(control) & 0x1f);
            }
            other => return Some(other),
        };
        let mut value = 0u32;
        let mut digits = 0;
        while digits < max
            && let Some(digit) = self.peek().and_then(|d| d.to_digit(radix))
        {
            value = value * radix + digit;
            self.pos += 1;
            digits += 1;
        }
        char::from_u32(value)
    }

    /// The elements of `NAME=(...)`, whose `(` has been read.
    fn array(&mut self) -> Result<Vec<Word>, SyntaxError> {
        let mut words = Vec::new();
        loop {
            while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\n')) {
                self.pos += 1;
            }
            match self.peek() {
                Some(')') => {
                    self.pos += 1;
                    return Ok(words);
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    let word = self.word()?;
                    if word.parts.is_empty() {
                        return Err(SyntaxError::Unexpected(format!("`{c}` in an array")));
                    }
                    words.push(word);
                }
                None => return Err(SyntaxError::Unterminated("array")),
            }
        }
    }
}

fn flush(parts: &mut Vec<Part>, lit: &mut String, quoted: bool) {
    if !lit.is_empty() {
        parts.push(Part::Lit {
            text: std::mem::take(lit),
            quoted,
        });
    }
}

/// `NAME=` or `NAME+=`, the start of an array assignment.
fn is_array_assignment(lit: &str) -> bool {
    let name = lit
        .strip_suffix("+=")
        .or_else(|| lit.strip_suffix('='))
        .unwrap_or("");
    is_name(name)
}

/// A shell variable name.
pub(super) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
