//! The structure of a shell script: lists, pipelines, commands, and the
//! compound commands whose bodies run too (subshells, groups, `if`, loops,
//! `case`, function definitions).
//!
//! Only what the rules need is kept: which commands run, which of them run
//! concurrently (in a pipeline or in the background), their words and
//! redirections. `&&` and `||` are kept as a list of pipelines because
//! either side may run.

use std::iter::Peekable;
use std::vec::IntoIter;

use super::lexer::{MAX_NESTING, Op, Part, Redirect, SyntaxError, Token, Word, is_name};

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Script {
    pub items: Vec<Item>,
}

/// One `&&`/`||` chain, run in the background when it ends with `&`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub pipelines: Vec<Pipeline>,
    pub background: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pipeline {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Command {
    Simple(Simple),
    Compound(Compound),
    Function { name: String, body: Box<Command> },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Simple {
    pub assignments: Vec<Assignment>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Assignment {
    pub name: String,
    pub value: Word,
}

/// A compound command reduced to what runs in it: its bodies, and the
/// words it expands (loop lists, `case` subjects and patterns, `[[ ]]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Compound {
    pub scripts: Vec<Script>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

/// Reserved words that end a list when they stand where a command would.
const CLOSERS: [&str; 8] = ["}", "then", "elif", "else", "fi", "do", "done", "esac"];

pub(super) fn parse(tokens: Vec<Token>, depth: usize) -> Result<Script, SyntaxError> {
    let mut parser = Parser {
        tokens: tokens.into_iter().peekable(),
        depth,
    };
    let script = parser.list()?;
    match parser.tokens.next() {
        None => Ok(script),
        Some(token) => Err(unexpected(&token)),
    }
}

struct Parser {
    tokens: Peekable<IntoIter<Token>>,
    depth: usize,
}

impl Parser {
    fn list(&mut self) -> Result<Script, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.at_list_end() {
                return Ok(Script { items });
            }

            let pipelines = self.and_or()?;
            let (background, separated) = match self.tokens.peek() {
                Some(Token::Op(Op::Amp)) => (true, true),
                Some(Token::Op(Op::Semi) | Token::Newline) => (false, true),
                _ => (false, false),
            };
            if separated {
                self.tokens.next();
            }
            items.push(Item {
                pipelines,
                background,
            });

            if !separated && !self.at_list_end() {
                return Err(self.unexpected_here());
            }
        }
    }

    fn at_list_end(&mut self) -> bool {
        match self.tokens.peek() {
            None | Some(Token::Op(Op::RParen | Op::CaseEnd)) => true,
            Some(Token::Word(word)) => CLOSERS.iter().any(|closer| word.is_plain(closer)),
            _ => false,
        }
    }

    fn and_or(&mut self) -> Result<Vec<Pipeline>, SyntaxError> {
        let mut pipelines = vec![self.pipeline()?];
        while matches!(self.tokens.peek(), Some(Token::Op(Op::And | Op::Or))) {
            self.tokens.next();
            self.skip_newlines();
            pipelines.push(self.pipeline()?);
        }
        Ok(pipelines)
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        // `!` and the `time` keyword (with `-p`) only prefix a pipeline.
        while let Some(Token::Word(word)) = self.tokens.peek() {
            if word.is_plain("!") || word.is_plain("time") || word.is_plain("-p") {
                self.tokens.next();
            } else {
                break;
            }
        }

        let mut commands = vec![self.command()?];
        while matches!(self.tokens.peek(), Some(Token::Op(Op::Pipe | Op::PipeErr))) {
            self.tokens.next();
            self.skip_newlines();
            commands.push(self.command()?);
        }
        Ok(Pipeline { commands })
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(SyntaxError::TooDeep);
        }
        self.depth += 1;
        let command = self.command_inner();
        self.depth -= 1;
        command
    }

    fn command_inner(&mut self) -> Result<Command, SyntaxError> {
        let reserved = match self.tokens.peek() {
            Some(Token::Op(Op::LParen)) => {
                self.tokens.next();
                let body = self.list()?;
                self.expect_op(Op::RParen)?;
                return self.compound(vec![body], Vec::new());
            }
            Some(Token::Arith(_)) => {
                let Some(Token::Arith(parts)) = self.tokens.next() else {
                    return Err(SyntaxError::Unexpected("arithmetic".into()));
                };
                return self.compound(Vec::new(), vec![Word { parts }]);
            }
            Some(Token::Word(word)) => word.plain(),
            Some(Token::Redirect(_)) => None,
            Some(token) => return Err(unexpected(token)),
            None => return Err(SyntaxError::Unexpected("end of input".into())),
        };

        match reserved.as_deref() {
            Some("{") => {
                self.tokens.next();
                let body = self.list()?;
                self.expect_word("}")?;
                self.compound(vec![body], Vec::new())
            }
            Some("if") => self.if_clause(),
            Some("while" | "until") => {
                self.tokens.next();
                let condition = self.list()?;
                let body = self.do_group()?;
                self.compound(vec![condition, body], Vec::new())
            }
            Some("for" | "select") => self.for_clause(),
            Some("case") => self.case_clause(),
            Some("function") => {
                self.tokens.next();
                let name = self.word()?.plain().unwrap_or_default();
                if matches!(self.tokens.peek(), Some(Token::Op(Op::LParen))) {
                    self.tokens.next();
                    self.expect_op(Op::RParen)?;
                }
                self.function_body(name)
            }
            Some("[[") => self.conditional(),
            Some(word) if CLOSERS.contains(&word) => {
                Err(SyntaxError::Unexpected(format!("`{word}`")))
            }
            _ => self.simple(),
        }
    }

    fn compound(&mut self, scripts: Vec<Script>, words: Vec<Word>) -> Result<Command, SyntaxError> {
        let mut redirects = Vec::new();
        while matches!(self.tokens.peek(), Some(Token::Redirect(_))) {
            if let Some(Token::Redirect(redirect)) = self.tokens.next() {
                redirects.push(redirect);
            }
        }
        Ok(Command::Compound(Compound {
            scripts,
            words,
            redirects,
        }))
    }

    fn if_clause(&mut self) -> Result<Command, SyntaxError> {
        self.tokens.next();
        let mut scripts = vec![self.list()?];
        self.expect_word("then")?;
        scripts.push(self.list()?);

        loop {
            let next = self.word_here();
            match next.as_deref() {
                Some("elif") => {
                    self.tokens.next();
                    scripts.push(self.list()?);
                    self.expect_word("then")?;
                    scripts.push(self.list()?);
                }
                Some("else") => {
                    self.tokens.next();
                    scripts.push(self.list()?);
                    self.expect_word("fi")?;
                    break;
                }
                Some("fi") => {
                    self.tokens.next();
                    break;
                }
                _ => return Err(self.unexpected_here()),
            }
        }
        self.compound(scripts, Vec::new())
    }

    fn for_clause(&mut self) -> Result<Command, SyntaxError> {
        self.tokens.next();
        let mut words = Vec::new();

        if let Some(Token::Arith(_)) = self.tokens.peek() {
            if let Some(Token::Arith(parts)) = self.tokens.next() {
                words.push(Word { parts });
            }
        } else {
            self.word()?;
            self.skip_newlines();
            if self.word_here().as_deref() == Some("in") {
                self.tokens.next();
                while let Some(Token::Word(_)) = self.tokens.peek() {
                    words.push(self.word()?);
                }
            }
        }
        if matches!(self.tokens.peek(), Some(Token::Op(Op::Semi))) {
            self.tokens.next();
        }
        self.skip_newlines();

        let body = if self.word_here().as_deref() == Some("{") {
            self.tokens.next();
            let body = self.list()?;
            self.expect_word("}")?;
            body
        } else {
            self.do_group()?
        };
        self.compound(vec![body], words)
    }

    fn do_group(&mut self) -> Result<Script, SyntaxError> {
        self.expect_word("do")?;
        let body = self.list()?;
        self.expect_word("done")?;
        Ok(body)
    }

    fn case_clause(&mut self) -> Result<Command, SyntaxError> {
        self.tokens.next();
        let mut words = vec![self.word()?];
        self.skip_newlines();
        self.expect_word("in")?;
        let mut scripts = Vec::new();

        loop {
            self.skip_newlines();
            if self.word_here().as_deref() == Some("esac") {
                self.tokens.next();
                break;
            }
            if matches!(self.tokens.peek(), Some(Token::Op(Op::LParen))) {
                self.tokens.next();
            }
            words.push(self.word()?);
            while matches!(self.tokens.peek(), Some(Token::Op(Op::Pipe))) {
                self.tokens.next();
                words.push(self.word()?);
            }
            self.expect_op(Op::RParen)?;

            scripts.push(self.list()?);
            if matches!(self.tokens.peek(), Some(Token::Op(Op::CaseEnd))) {
                self.tokens.next();
            } else if self.word_here().as_deref() != Some("esac") {
                return Err(self.unexpected_here());
            }
        }
        self.compound(scripts, words)
    }

    /// `[[ ... ]]`: its operands are words; `<`, `>`, `&&`, `(` inside are
    /// operators of the test, not of the shell.
    fn conditional(&mut self) -> Result<Command, SyntaxError> {
        self.tokens.next();
        let mut words = Vec::new();
        loop {
            match self.tokens.next() {
                Some(Token::Word(word)) if word.is_plain("]]") => break,
                Some(Token::Word(word)) => words.push(word),
                Some(Token::Redirect(redirect)) => words.push(redirect.target),
                Some(_) => {}
                None => return Err(SyntaxError::Unterminated("[[")),
            }
        }
        self.compound(Vec::new(), words)
    }

    fn simple(&mut self) -> Result<Command, SyntaxError> {
        let mut simple = Simple::default();
        loop {
            match self.tokens.peek() {
                Some(Token::Word(_)) => {
                    let word = self.word()?;
                    if simple.words.is_empty()
                        && let Some(assignment) = assignment(&word)
                    {
                        simple.assignments.push(assignment);
                        continue;
                    }
                    let starts_function = simple.words.is_empty()
                        && simple.assignments.is_empty()
                        && simple.redirects.is_empty()
                        && matches!(self.tokens.peek(), Some(Token::Op(Op::LParen)));
                    if let (true, Some(name)) = (starts_function, word.plain()) {
                        self.tokens.next();
                        self.expect_op(Op::RParen)?;
                        return self.function_body(name);
                    }
                    simple.words.push(word);
                }
                Some(Token::Redirect(_)) => {
                    if let Some(Token::Redirect(redirect)) = self.tokens.next() {
                        simple.redirects.push(redirect);
                    }
                }
                _ => break,
            }
        }
        Ok(Command::Simple(simple))
    }

    /// A function's body must be a compound command, as in bash.
    fn function_body(&mut self, name: String) -> Result<Command, SyntaxError> {
        self.skip_newlines();
        let body = self.command()?;
        if !matches!(body, Command::Compound(_)) {
            return Err(SyntaxError::Unexpected(format!(
                "body of function `{name}`: it must be a compound command such as {{ ...; }}"
            )));
        }
        Ok(Command::Function {
            name,
            body: Box::new(body),
        })
    }

    fn word(&mut self) -> Result<Word, SyntaxError> {
        match self.tokens.next() {
            Some(Token::Word(word)) => Ok(word),
            Some(token) => Err(unexpected(&token)),
            None => Err(SyntaxError::Unexpected("end of input".into())),
        }
    }

    /// The plain text of the next token if it is a word.
    fn word_here(&mut self) -> Option<String> {
        match self.tokens.peek() {
            Some(Token::Word(word)) => word.plain(),
            _ => None,
        }
    }

    fn expect_word(&mut self, expected: &str) -> Result<(), SyntaxError> {
        self.skip_newlines();
        if self.word_here().as_deref() == Some(expected) {
            self.tokens.next();
            Ok(())
        } else if self.tokens.peek().is_none() {
            Err(SyntaxError::Unexpected(format!(
                "end of input where `{expected}` was expected"
            )))
        } else {
            Err(self.unexpected_here())
        }
    }

    fn expect_op(&mut self, expected: Op) -> Result<(), SyntaxError> {
        self.skip_newlines();
        match self.tokens.next() {
            Some(Token::Op(op)) if op == expected => Ok(()),
            Some(token) => Err(unexpected(&token)),
            None if expected == Op::RParen => Err(SyntaxError::Unterminated("parenthesis")),
            None => Err(SyntaxError::Unexpected("end of input".into())),
        }
    }

    fn skip_newlines(&mut self) {
        while matches!(self.tokens.peek(), Some(Token::Newline)) {
            self.tokens.next();
        }
    }

    fn unexpected_here(&mut self) -> SyntaxError {
        match self.tokens.peek() {
            Some(token) => unexpected(token),
            None => SyntaxError::Unexpected("end of input".into()),
        }
    }
}

/// `NAME=value` or `NAME+=value` before a command.
fn assignment(word: &Word) -> Option<Assignment> {
    let Some(Part::Lit {
        text,
        quoted: false,
    }) = word.parts.first()
    else {
        return None;
    };
    let (name, rest) = text.split_once('=')?;
    let name = name.strip_suffix('+').unwrap_or(name);
    if !is_name(name) {
        return None;
    }

    let mut parts = Vec::with_capacity(word.parts.len());
    if !rest.is_empty() {
        parts.push(Part::Lit {
            text: rest.to_owned(),
            quoted: false,
        });
    }
    parts.extend(word.parts[1..].iter().cloned());
    Some(Assignment {
        name: name.to_owned(),
        value: Word { parts },
    })
}

fn unexpected(token: &Token) -> SyntaxError {
    let shown = match token {
        Token::Word(word) => word.literal().unwrap_or_else(|| "word".into()),
        Token::Op(op) => match op {
            Op::Semi => ";",
            Op::CaseEnd => ";;",
            Op::Amp => "&",
            Op::And => "&&",
            Op::Or => "||",
            Op::Pipe => "|",
            Op::PipeErr => "|&",
            Op::LParen => "(",
            Op::RParen => ")",
        }
        .to_owned(),
        Token::Redirect(_) => "redirection".into(),
        Token::Newline => "newline".into(),
        Token::Arith(_) => "((".into(),
    };
    SyntaxError::Unexpected(format!("`{shown}`"))
}
