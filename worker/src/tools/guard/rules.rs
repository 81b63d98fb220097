//! The walk over a parsed line that finds every command that would run,
//! and the rules applied to each.
//!
//! Every command is checked wherever it sits: in a list, a pipeline, a
//! subshell, a loop, a function body, a `$(...)`, a `<(...)`, a heredoc
//! that expands, or a command string run by `bash -c`, `eval` and the
//! like (parsed and walked again). Wrappers (`sudo`, `env`, `nice`,
//! `xargs`, ...) are looked through to the command they run.

use std::collections::HashMap;

use base64::Engine as _;

use super::expand::{self, Arg, Scope};
use super::lexer::{self, Modifier, Part, RedirOp, Redirect, Word, is_name};
use super::parse::{Command, Pipeline, Script, Simple};
use super::paths::{self, Place, Places, Target};
use super::{Blocked, Rule};
use crate::tools::manifest::ForbiddenFiles;

/// How deeply command strings (`bash -c "eval '...'"`) may nest.
const MAX_CODE_DEPTH: usize = 12;
/// How many wrappers (`sudo nice env ...`) are looked through.
const MAX_WRAPPERS: usize = 32;
/// Longest command shown in a refusal.
const MAX_SHOWN: usize = 160;

const DOWNLOADERS: [&str; 3] = ["curl", "wget", "fetch"];
const SHELLS: [&str; 9] = [
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "rbash",
];
const FILESYSTEM_MAKERS: [&str; 6] = ["mkfs", "mke2fs", "mkswap", "wipefs", "mkdosfs", "mkntfs"];
const POWER_COMMANDS: [&str; 4] = ["shutdown", "reboot", "halt", "poweroff"];
const SYSTEMCTL_POWER_VERBS: [&str; 5] = ["poweroff", "reboot", "halt", "kexec", "soft-reboot"];
const DELETING_COMMANDS: [&str; 4] = ["rm", "unlink", "shred", "rmdir"];
/// `find` tests that pick some files, so `-delete` does not take all.
const FIND_NARROWING_TESTS: [&str; 24] = [
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-lname",
    "-ilname",
    "-newer",
    "-anewer",
    "-cnewer",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-size",
    "-empty",
    "-user",
    "-group",
    "-inum",
];

/// What a command reads on its standard input, when that is known.
#[derive(Debug, Clone)]
enum Stdin {
    Unknown,
    Text(String),
}

/// A command line with its wrappers looked through.
enum Call {
    /// Only assignments or redirections.
    Nothing,
    /// `name` is `None` when the command name is only known at run time.
    Run {
        name: Option<String>,
        args: Vec<Arg>,
    },
    /// `env -S '...'`: a string split into a command.
    Code(String),
}

/// How an interpreter was asked to run: code given inline (`-c`, `-e`), a
/// script operand, or its standard input.
#[derive(Default)]
struct Invocation {
    code: Option<Arg>,
    script: Option<Arg>,
    reads_stdin: bool,
}

pub(super) struct Checker {
    places: Places,
    forbidden: ForbiddenFiles,
    vars: HashMap<String, String>,
    depth: usize,
}

impl Checker {
    pub(super) fn new(places: Places, forbidden: ForbiddenFiles) -> Self {
        Self {
            places,
            forbidden,
            vars: HashMap::new(),
            depth: 0,
        }
    }

    /// Parses `text` as a script and checks it; `via` names what runs it
    /// (`bash -c`, `eval`) when it is a command string.
    pub(super) fn code(&mut self, text: &str, via: Option<&str>) -> Result<(), Blocked> {
        let unparseable = |why: String| Blocked {
            rule: Rule::Unparseable,
            message: match via {
                None => format!(
                    "refused: the command could not be parsed ({why}), so it cannot be checked"
                ),
                Some(via) => format!(
                    "refused: the command string given to `{via}` could not be parsed ({why}), \
                     so it cannot be checked"
                ),
            },
        };
        if self.depth >= MAX_CODE_DEPTH {
            return Err(unparseable("command strings nested too deeply".into()));
        }
        let script =
            lexer::script(text, self.depth).map_err(|error| unparseable(error.to_string()))?;

        self.depth += 1;
        let checked = self.script(&script, false);
        self.depth -= 1;
        checked
    }

    fn script(&mut self, script: &Script, concurrent: bool) -> Result<(), Blocked> {
        for item in &script.items {
            for pipeline in &item.pipelines {
                self.pipeline(pipeline, concurrent || item.background)?;
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, pipeline: &Pipeline, background: bool) -> Result<(), Blocked> {
        let concurrent = background || pipeline.commands.len() > 1;
        self.download_into_interpreter(pipeline)?;

        // `echo / | xargs rm -rf` and `echo 'rm -rf /' | sh`: what one
        // command prints is known when it only echoes.
        let mut stdin = Stdin::Unknown;
        for command in &pipeline.commands {
            let output = self.echoed(command, &stdin);
            self.command(command, concurrent, stdin)?;
            stdin = output.map_or(Stdin::Unknown, Stdin::Text);
        }
        Ok(())
    }

    fn command(
        &mut self,
        command: &Command,
        concurrent: bool,
        stdin: Stdin,
    ) -> Result<(), Blocked> {
        match command {
            Command::Simple(simple) => self.simple(simple, concurrent, stdin),
            Command::Compound(compound) => {
                for word in &compound.words {
                    self.substitutions(&word.parts, concurrent)?;
                }
                self.redirects(&compound.redirects, concurrent, "(...)")?;
                for script in &compound.scripts {
                    self.script(script, concurrent)?;
                }
                Ok(())
            }
            Command::Function { name, body } => {
                if self.calls_itself_concurrently(name, body) {
                    return Err(block(
                        Rule::ForkBomb,
                        &format!("{name}() {{ ... }}"),
                        &format!(
                            "the function `{name}` starts copies of itself in a pipeline or in \
                             the background: a fork bomb, which exhausts the machine's processes"
                        ),
                    ));
                }
                self.command(body, false, Stdin::Unknown)
            }
        }
    }

    fn simple(&mut self, simple: &Simple, concurrent: bool, stdin: Stdin) -> Result<(), Blocked> {
        // What is nested runs first, whatever the command turns out to be.
        for assignment in &simple.assignments {
            self.substitutions(&assignment.value.parts, concurrent)?;
        }
        for word in &simple.words {
            self.substitutions(&word.parts, concurrent)?;
        }

        let fields = self.fields(&simple.words);
        let shown = show(&fields);
        self.redirects(&simple.redirects, concurrent, &shown)?;
        self.forbidden_files(&fields, &simple.redirects, &shown)?;

        if concurrent && self.reruns_itself(simple, &fields) {
            return Err(block(
                Rule::ForkBomb,
                &shown,
                "`$0` runs this script again in a pipeline or in the background: \
                 a fork bomb, which exhausts the machine's processes",
            ));
        }

        if fields.is_empty() {
            for assignment in &simple.assignments {
                let value = expand::joined(&assignment.value, self);
                self.assign(&assignment.name, value);
            }
            return Ok(());
        }

        let stdin = self.own_stdin(simple).unwrap_or(stdin);
        self.run(fields, simple, concurrent, &stdin, &shown)
    }

    /// Checks one command line given as arguments (a simple command, or a
    /// command `find -exec` runs).
    fn run(
        &mut self,
        fields: Vec<Arg>,
        simple: &Simple,
        concurrent: bool,
        stdin: &Stdin,
        shown: &str,
    ) -> Result<(), Blocked> {
        match self.unwrap(fields, stdin) {
            Call::Nothing => Ok(()),
            Call::Code(code) => self.code(&code, Some("env -S")),
            Call::Run { name: None, args } => self.dynamic(&args, shown),
            Call::Run {
                name: Some(name),
                args,
            } => self.named(&name, &args, simple, concurrent, stdin, shown),
        }
    }

    fn named(
        &mut self,
        name: &str,
        args: &[Arg],
        simple: &Simple,
        concurrent: bool,
        stdin: &Stdin,
        shown: &str,
    ) -> Result<(), Blocked> {
        match name {
            "rm" => self.rm(args, shown, false),
            "find" => self.find(args, simple, concurrent, shown),
            "dd" => self.dd(args, shown, false),
            "tee" | "shred" => self.disk_operands(&operands(args), shown),
            "cp" => self.disk_operands(
                &operands(args)[operands(args).len().saturating_sub(1)..],
                shown,
            ),
            "chmod" | "chown" | "chgrp" => self.permissions(name, args, shown),
            "cd" | "pushd" => {
                self.change_directory(args);
                Ok(())
            }
            "eval" => {
                self.fetched_code(simple.words.iter().collect(), shown)?;
                self.code(&join(args), Some("eval"))
            }
            "su" | "runuser" => match option_value(args, "-c", "--command") {
                Some(code) => self.code(&code, Some(name)),
                None => Ok(()),
            },
            "watch" => {
                let at = skip_options(args, "ndqx", &["interval"]);
                self.code(&join(&args[at..]), Some("watch"))
            }
            "alias" => {
                for arg in args {
                    if let Some((_, value)) = arg.text.split_once('=') {
                        self.code(value, Some("alias"))?;
                    }
                }
                Ok(())
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for arg in args {
                    if let Some((var, value)) = arg.text.split_once('=')
                        && is_name(var)
                    {
                        self.assign(var, (!arg.dynamic).then(|| value.to_owned()));
                    }
                }
                Ok(())
            }
            "source" | "." => {
                let words = args
                    .first()
                    .and_then(|arg| word_of(simple, arg))
                    .into_iter()
                    .collect();
                self.fetched_code(words, shown)
            }
            "init" if args.iter().any(|arg| arg.text == "0" || arg.text == "6") => {
                Err(power_off(name, shown))
            }
            "telinit" | "killall5" => Err(power_off(name, shown)),
            "kill" if kills_everything(args) => Err(block(
                Rule::PowerOff,
                shown,
                "`kill -1` sends the signal to every process, which stops the sandbox",
            )),
            "systemctl"
                if args
                    .iter()
                    .any(|arg| SYSTEMCTL_POWER_VERBS.contains(&arg.text.as_str())) =>
            {
                Err(power_off(name, shown))
            }
            name if POWER_COMMANDS.contains(&name) => Err(power_off(name, shown)),
            name if is_filesystem_maker(name) => Err(block(
                Rule::MakeFilesystem,
                shown,
                &format!(
                    "`{name}` creates a filesystem or wipes signatures, erasing what the device holds"
                ),
            )),
            name if SHELLS.contains(&name) => {
                let invocation = invocation(name, args);
                self.interpreter_input(simple, &invocation, shown)?;
                if let Some(code) = &invocation.code {
                    self.code(&code.text, Some(name))?;
                }
                // `bash <(echo 'rm -rf /')`: a script whose text is known.
                if let Some(word) = invocation
                    .script
                    .as_ref()
                    .and_then(|arg| word_of(simple, arg))
                    && let [Part::Process { script, .. }] = word.parts.as_slice()
                    && let Some(text) = self.output(script)
                {
                    self.code(&text, Some(name))?;
                }
                if invocation.reads_stdin
                    && let Stdin::Text(text) = stdin
                {
                    self.code(text, Some(name))?;
                }
                Ok(())
            }
            name if is_interpreter(name) => {
                let invocation = invocation(name, args);
                self.interpreter_input(simple, &invocation, shown)
            }
            _ => Ok(()),
        }
    }

    /// A command whose name is only known at run time (`$CMD -rf /`,
    /// `$(which rm) -rf /`). Refusing all of them would refuse `$EDITOR`
    /// and `$PYTHON`; allowing all would make a variable a way around every
    /// rule. So the arguments are checked as if the name were each of the
    /// commands whose arguments alone are dangerous: `rm` (which also
    /// covers a recursive `chown` or `chmod` of `/`), `dd`, and a command
    /// given a disk.
    fn dynamic(&mut self, args: &[Arg], shown: &str) -> Result<(), Blocked> {
        // A recursive permission change of `/` is also a recursive `rm`
        // of it, so checking as `rm` covers `chown` and `chmod` too.
        self.rm(args, shown, true)?;
        self.dd(args, shown, true)?;
        for arg in args {
            if let Some(disk) = paths::disk(&arg.text, &self.places.cwd) {
                return Err(block(
                    Rule::DiskWrite,
                    shown,
                    &format!("it passes the disk {disk} to a command{}", DYNAMIC_NOTE),
                ));
            }
        }
        Ok(())
    }

    fn rm(&self, args: &[Arg], shown: &str, dynamic: bool) -> Result<(), Blocked> {
        let mut recursive = false;
        let mut no_preserve_root = false;
        let mut targets = Vec::new();
        let mut options_done = false;

        for arg in args {
            let text = arg.text.as_str();
            if options_done || text == "-" || !text.starts_with('-') {
                targets.push(arg);
            } else if text == "--" {
                options_done = true;
            } else if let Some(long) = text.strip_prefix("--") {
                // GNU rm takes any unambiguous prefix of a long option.
                recursive |= !long.is_empty() && "recursive".starts_with(long);
                no_preserve_root |= !long.is_empty() && "no-preserve-root".starts_with(long);
            } else {
                recursive |= text.contains(['r', 'R']);
            }
        }
        if !recursive {
            return Ok(());
        }

        let note = if dynamic { DYNAMIC_NOTE } else { "" };
        if no_preserve_root {
            return Err(block(
                Rule::RecursiveDelete,
                shown,
                &format!("--no-preserve-root switches off rm's own refusal to delete /{note}"),
            ));
        }
        for target in targets {
            if let Some(target) = paths::target(target, &self.places) {
                return Err(block(
                    Rule::RecursiveDelete,
                    shown,
                    &format!("it would recursively delete {}{note}", target.describe()),
                ));
            }
        }
        Ok(())
    }

    /// `find / -delete`, `find ~ -exec rm {} +`: deleting throughout a
    /// protected place. In the repository root itself only a search that
    /// picks files by name, path, age or size may delete; `find . -delete`
    /// would take everything.
    fn find(
        &mut self,
        args: &[Arg],
        simple: &Simple,
        concurrent: bool,
        shown: &str,
    ) -> Result<(), Blocked> {
        let mut at = 0;
        while let Some(arg) = args.get(at) {
            match arg.text.as_str() {
                "-H" | "-L" | "-P" => at += 1,
                "-D" => at += 2,
                text if text.starts_with("-O") => at += 1,
                _ => break,
            }
        }
        let mut starts: Vec<Arg> = args[at.min(args.len())..]
            .iter()
            .take_while(|arg| !is_find_expression(&arg.text))
            .cloned()
            .collect();
        let expression = &args[(at + starts.len()).min(args.len())..];
        if starts.is_empty() {
            starts.push(Arg::literal("."));
        }

        let mut deletes = false;
        let mut narrowed = false;
        let mut executed = Vec::new();
        let mut at = 0;
        while let Some(arg) = expression.get(at) {
            let text = arg.text.as_str();
            if text == "-delete" {
                deletes = true;
            } else if matches!(text, "-exec" | "-execdir" | "-ok" | "-okdir") {
                let end = expression[at + 1..]
                    .iter()
                    .position(|arg| arg.text == ";" || arg.text == "+")
                    .map_or(expression.len(), |n| at + 1 + n);
                let command = expression[at + 1..end].to_vec();
                if let Call::Run {
                    name: Some(name), ..
                } = self.unwrap(command.clone(), &Stdin::Unknown)
                {
                    deletes |= DELETING_COMMANDS.contains(&name.as_str());
                }
                executed.push(command);
                at = end;
            } else if FIND_NARROWING_TESTS.contains(&text) {
                narrowed = true;
            }
            at += 1;
        }

        if deletes {
            for start in &starts {
                let Some(target) = paths::target(start, &self.places) else {
                    continue;
                };
                let whole_repository = matches!(target, Target::Dir(Place::Repo(_)));
                if !(whole_repository && narrowed) {
                    return Err(block(
                        Rule::RecursiveDelete,
                        shown,
                        &format!("it would delete files throughout {}", target.describe()),
                    ));
                }
            }
        }
        for command in executed {
            self.run(command, simple, concurrent, &Stdin::Unknown, shown)?;
        }
        Ok(())
    }

    fn dd(&self, args: &[Arg], shown: &str, dynamic: bool) -> Result<(), Blocked> {
        for arg in args {
            if let Some(path) = arg.text.strip_prefix("of=")
                && let Some(device) = paths::device(path, &self.places.cwd)
            {
                let note = if dynamic { DYNAMIC_NOTE } else { "" };
                return Err(block(
                    Rule::DiskWrite,
                    shown,
                    &format!("dd would write straight onto the device {device}{note}"),
                ));
            }
        }
        Ok(())
    }

    fn disk_operands(&self, args: &[&Arg], shown: &str) -> Result<(), Blocked> {
        match args
            .iter()
            .find_map(|arg| paths::disk(&arg.text, &self.places.cwd))
        {
            Some(disk) => Err(block(
                Rule::DiskWrite,
                shown,
                &format!("it writes straight onto the disk {disk}, destroying its filesystem"),
            )),
            None => Ok(()),
        }
    }

    /// Recursive `chmod`, `chown`, `chgrp` of `/` or a system directory.
    fn permissions(&self, name: &str, args: &[Arg], shown: &str) -> Result<(), Blocked> {
        // For chmod, `-r` or `-w` is a mode, not an option.
        let option_chars = if name == "chmod" {
            "cfvRHLP"
        } else {
            "cfvRHLPh"
        };
        let mut recursive = false;
        let mut targets = Vec::new();
        let mut options_done = false;

        for arg in args {
            let text = arg.text.as_str();
            if options_done {
                targets.push(arg);
            } else if text == "--" {
                options_done = true;
            } else if let Some(long) = text.strip_prefix("--") {
                recursive |= long.len() >= 3 && "recursive".starts_with(long);
            } else if text.len() > 1
                && text.starts_with('-')
                && text[1..].chars().all(|c| option_chars.contains(c))
            {
                recursive |= text.contains('R');
            } else {
                targets.push(arg);
            }
        }
        if !recursive {
            return Ok(());
        }

        for target in targets {
            if let Some(target) = paths::target(target, &self.places)
                && target.place().is_system()
            {
                let what = match name {
                    "chmod" => "permissions",
                    "chgrp" => "group",
                    _ => "owner",
                };
                return Err(block(
                    Rule::RecursivePermissions,
                    shown,
                    &format!(
                        "it would recursively change the {what} of {}, breaking the system",
                        target.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn redirects(
        &mut self,
        redirects: &[Redirect],
        concurrent: bool,
        shown: &str,
    ) -> Result<(), Blocked> {
        for redirect in redirects {
            self.substitutions(&redirect.target.parts, concurrent)?;
            if let Some(body) = &redirect.body {
                self.substitutions(&body.parts, concurrent)?;
            }

            if redirect.op.writes() {
                let target = self.text(&redirect.target);
                if let Some(disk) = paths::disk(&target, &self.places.cwd) {
                    return Err(block(
                        Rule::DiskWrite,
                        shown,
                        &format!(
                            "it redirects output straight onto the disk {disk}, destroying its filesystem"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Refuses a command whose arguments, option values or redirections
    /// name a forbidden file of the repository.
    fn forbidden_files(
        &self,
        fields: &[Arg],
        redirects: &[Redirect],
        shown: &str,
    ) -> Result<(), Blocked> {
        let named = fields
            .iter()
            .map(|arg| arg.text.clone())
            .chain(redirects.iter().map(|redirect| self.text(&redirect.target)));
        for text in named {
            let value = match text.split_once('=') {
                Some((option, value)) if option.starts_with('-') => value.to_owned(),
                _ => text,
            };
            let Some(path) = paths::in_repo(&value, &self.places) else {
                continue;
            };
            if self.forbidden.matches(&path) {
                return Err(block(
                    Rule::ForbiddenFile,
                    shown,
                    &format!("{path} is a forbidden file of this repository (see hero.json)"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the scripts inside substitutions.
    fn substitutions(&mut self, parts: &[Part], concurrent: bool) -> Result<(), Blocked> {
        for part in parts {
            match part {
                Part::Command { script, .. } => self.script(script, concurrent)?,
                Part::Process { script, .. } => self.script(script, true)?,
                Part::Param { modifier, .. } => match modifier {
                    Modifier::Plain => {}
                    Modifier::Default(word)
                    | Modifier::Alternative(word)
                    | Modifier::Required(word)
                    | Modifier::Other(word) => {
                        self.substitutions(&word.parts, concurrent)?;
                    }
                },
                Part::Arith(parts) => self.substitutions(parts, concurrent)?,
                Part::Array(words) => {
                    for word in words {
                        self.substitutions(&word.parts, concurrent)?;
                    }
                }
                Part::Lit { .. } => {}
            }
        }
        Ok(())
    }

    /// `curl ... | sh`, also through `tee`, `sudo` or any other command
    /// between them.
    // TODO: a download saved to a file and run in the same line (`curl -o
    // x.sh URL && sh x.sh`) passes; the file stays behind to be read, and
    // two separate calls would do the same anyway.
    fn download_into_interpreter(&self, pipeline: &Pipeline) -> Result<(), Blocked> {
        let Some(download) = pipeline
            .commands
            .iter()
            .position(|command| self.command_fetches(command))
        else {
            return Ok(());
        };

        let runs_it = pipeline.commands[download + 1..].iter().any(|command| {
            any_simple_in(command, false, &mut |simple, _| self.executes_stdin(simple))
        });
        if runs_it {
            let shown = pipeline
                .commands
                .iter()
                .map(|command| self.show_command(command))
                .collect::<Vec<_>>()
                .join(" | ");
            return Err(block(Rule::DownloadToShell, &shown, DOWNLOAD_WHY));
        }
        Ok(())
    }

    /// `sh <(curl ...)`, `bash -c "$(curl ...)"`, `bash <<< "$(wget ...)"`:
    /// an interpreter whose code comes from a download.
    fn interpreter_input(
        &self,
        simple: &Simple,
        invocation: &Invocation,
        shown: &str,
    ) -> Result<(), Blocked> {
        let mut words: Vec<&Word> = [&invocation.code, &invocation.script]
            .into_iter()
            .flatten()
            .filter_map(|arg| word_of(simple, arg))
            .collect();
        if invocation.reads_stdin {
            for redirect in &simple.redirects {
                if matches!(
                    redirect.op,
                    RedirOp::In | RedirOp::HereString | RedirOp::HereDoc
                ) {
                    words.push(&redirect.target);
                    words.extend(&redirect.body);
                }
            }
        }
        self.fetched_code(words, shown)
    }

    fn fetched_code(&self, words: Vec<&Word>, shown: &str) -> Result<(), Blocked> {
        let fetches = words.iter().any(|word| {
            any_substitution(&word.parts, &mut |script| {
                any_simple(script, false, &mut |simple, _| self.is_download(simple))
            })
        });
        if fetches {
            return Err(block(Rule::DownloadToShell, shown, DOWNLOAD_WHY));
        }
        Ok(())
    }

    fn command_fetches(&self, command: &Command) -> bool {
        any_simple_in(command, false, &mut |simple, _| self.is_download(simple))
    }

    fn is_download(&self, simple: &Simple) -> bool {
        self.name_of(simple)
            .is_some_and(|name| DOWNLOADERS.contains(&name.as_str()))
    }

    /// An interpreter or shell reading its program from standard input.
    fn executes_stdin(&self, simple: &Simple) -> bool {
        if simple
            .redirects
            .iter()
            .any(|r| matches!(r.op, RedirOp::In | RedirOp::HereDoc | RedirOp::HereString))
        {
            return false;
        }
        let fields = self.fields(&simple.words);
        match self.unwrap(fields, &Stdin::Unknown) {
            Call::Run {
                name: Some(name),
                args,
            } if SHELLS.contains(&name.as_str()) || is_interpreter(&name) => {
                invocation(&name, &args).reads_stdin
            }
            Call::Run {
                name: Some(name),
                args,
            } if name == "source" || name == "." => args
                .first()
                .is_some_and(|arg| arg.text == "/dev/stdin" || arg.text == "-"),
            _ => false,
        }
    }

    fn calls_itself_concurrently(&self, name: &str, body: &Command) -> bool {
        any_simple_in(body, false, &mut |simple, concurrent| {
            concurrent && self.name_of(simple).as_deref() == Some(name)
        })
    }

    /// `$0 & $0`, `$0 | $0`, `bash "$0" &`: the running script started
    /// again alongside itself.
    fn reruns_itself(&self, simple: &Simple, fields: &[Arg]) -> bool {
        let is_zero = |word: &Word| matches!(word.parts.as_slice(), [Part::Param { name, modifier: Modifier::Plain, .. }] if name == "0");
        if !simple.words.iter().any(is_zero) {
            return false;
        }
        match self.unwrap(fields.to_vec(), &Stdin::Unknown) {
            Call::Run { name: None, .. } => true,
            Call::Run {
                name: Some(name),
                args,
            } if SHELLS.contains(&name.as_str()) => invocation(&name, &args)
                .script
                .and_then(|script| word_of(simple, &script))
                .is_some_and(is_zero),
            _ => false,
        }
    }

    /// The command a simple command runs, wrappers looked through.
    fn name_of(&self, simple: &Simple) -> Option<String> {
        match self.unwrap(self.fields(&simple.words), &Stdin::Unknown) {
            Call::Run { name, .. } => name,
            _ => None,
        }
    }

    /// Looks through wrappers to the command they run.
    fn unwrap(&self, mut fields: Vec<Arg>, stdin: &Stdin) -> Call {
        for _ in 0..MAX_WRAPPERS {
            let Some(first) = fields.first() else {
                return Call::Nothing;
            };
            if first.dynamic {
                fields.remove(0);
                return Call::Run {
                    name: None,
                    args: fields,
                };
            }
            let name = basename(&first.text).to_owned();
            let rest = &fields[1..];

            let skip = match name.as_str() {
                "sudo" => {
                    let at = skip_options(rest, "CDghpRrTtUu", SUDO_LONG_OPTIONS_WITH_VALUE);
                    at + skip_assignments(&rest[at..])
                }
                "doas" => skip_options(rest, "Cu", &[]),
                "env" => {
                    if let Some(code) = env_split_string(rest) {
                        return Call::Code(code);
                    }
                    let dash = usize::from(rest.first().is_some_and(|arg| arg.text == "-"));
                    let at = dash + skip_options(&rest[dash..], "uC", &["unset", "chdir"]);
                    at + skip_assignments(&rest[at..])
                }
                "nice" => skip_options(rest, "n", &["adjustment"]),
                "nohup" | "builtin" | "setsid" | "command" => skip_options(rest, "", &[]),
                "time" => skip_options(rest, "fo", &["format", "output"]),
                "timeout" => {
                    let at = skip_options(rest, "ks", &["kill-after", "signal"]);
                    (at + 1).min(rest.len())
                }
                "exec" => skip_options(rest, "a", &[]),
                "stdbuf" => skip_options(rest, "ioe", &["input", "output", "error"]),
                "ionice" => skip_options(rest, "cnp", &["class", "classdata", "pid"]),
                "busybox" | "toybox" => 0,
                "xargs" => {
                    fields = xargs(rest, stdin);
                    continue;
                }
                _ => {
                    return Call::Run {
                        name: Some(name),
                        args: rest.to_vec(),
                    };
                }
            };
            fields = rest[skip.min(rest.len())..].to_vec();
        }
        // Wrapped beyond reason: treat it as a name we cannot know.
        Call::Run {
            name: None,
            args: fields,
        }
    }

    fn fields(&self, words: &[Word]) -> Vec<Arg> {
        words
            .iter()
            .enumerate()
            .flat_map(|(index, word)| expand::fields(word, index, self))
            .collect()
    }

    /// A word's value as one string, unknown parts left out.
    fn text(&self, word: &Word) -> String {
        expand::fields(word, 0, self)
            .iter()
            .map(|arg| arg.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Standard input given by the command's own redirections.
    fn own_stdin(&self, simple: &Simple) -> Option<Stdin> {
        simple
            .redirects
            .iter()
            .rev()
            .find_map(|redirect| match redirect.op {
                RedirOp::HereString => {
                    Some(Stdin::Text(format!("{}\n", self.text(&redirect.target))))
                }
                RedirOp::HereDoc => Some(Stdin::Text(
                    redirect
                        .body
                        .as_ref()
                        .map(|body| self.text(body))
                        .unwrap_or_default(),
                )),
                RedirOp::In => Some(Stdin::Unknown),
                _ => None,
            })
    }

    /// What a command prints, when that is known without running it:
    /// `echo` and `printf` of known words, `pwd`, `mktemp` (some fresh path
    /// under /tmp), and `cat` or `base64 -d` of known input.
    fn echoed(&self, command: &Command, stdin: &Stdin) -> Option<String> {
        let Command::Simple(simple) = command else {
            return None;
        };
        let fields = self.fields(&simple.words);
        if fields.iter().any(|arg| arg.dynamic) {
            return None;
        }
        let stdin = self.own_stdin(simple).unwrap_or_else(|| stdin.clone());
        let Call::Run {
            name: Some(name),
            args,
        } = self.unwrap(fields, &stdin)
        else {
            return None;
        };
        let input = match &stdin {
            Stdin::Text(text) => Some(text.as_str()),
            Stdin::Unknown => None,
        };

        match name.as_str() {
            "echo" => {
                let flags = args
                    .iter()
                    .take_while(|arg| {
                        arg.text.len() > 1
                            && arg.text.starts_with('-')
                            && arg.text[1..].chars().all(|c| "neE".contains(c))
                    })
                    .count();
                let newline = !args[..flags].iter().any(|arg| arg.text.contains('n'));
                let mut out = join(&args[flags..]);
                if newline {
                    out.push('\n');
                }
                Some(out)
            }
            "printf" => {
                let (format, rest) = args.split_first()?;
                match format.text.as_str() {
                    "%s" => Some(rest.iter().map(|arg| arg.text.as_str()).collect()),
                    "%s\\n" => Some(rest.iter().map(|arg| format!("{}\n", arg.text)).collect()),
                    text if !text.contains(['%', '\\']) => Some(text.to_owned()),
                    _ => None,
                }
            }
            "pwd" => Some(format!("{}\n", self.places.cwd)),
            "mktemp" => Some("/tmp/tmp.XXXXXXXXXX\n".to_owned()),
            "cat" if args.iter().all(|arg| arg.text == "-") => input.map(str::to_owned),
            "base64"
                if args
                    .iter()
                    .any(|arg| matches!(arg.text.as_str(), "-d" | "-D" | "--decode")) =>
            {
                let encoded: String = input?.split_whitespace().collect();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()?;
                String::from_utf8(decoded).ok()
            }
            _ => None,
        }
    }

    fn assign(&mut self, name: &str, value: Option<String>) {
        match value {
            Some(value) => self.vars.insert(name.to_owned(), value),
            None => self.vars.remove(name),
        };
    }

    /// Follows `cd` so that `cd / && rm -rf *` is seen for what it is.
    fn change_directory(&mut self, args: &[Arg]) {
        let at = skip_options(args, "", &[]);
        let target = match args.get(at) {
            None => Some(self.home().to_owned()),
            Some(arg) if arg.dynamic || arg.text == "-" => None,
            Some(arg) => Some(paths::normalize(&self.places.cwd, &arg.text)),
        };
        if let Some(target) = target {
            self.vars.insert("PWD".into(), target.clone());
            self.places.cwd = target;
        }
    }

    fn show_command(&self, command: &Command) -> String {
        match command {
            Command::Simple(simple) => show(&self.fields(&simple.words)),
            _ => "(...)".to_owned(),
        }
    }
}

impl Scope for Checker {
    fn var(&self, name: &str) -> Option<String> {
        if let Some(value) = self.vars.get(name) {
            return Some(value.clone());
        }
        match name {
            "HOME" => Some(self.places.home.clone()),
            "PWD" => Some(self.places.cwd.clone()),
            "IFS" => Some(" \t\n".to_owned()),
            _ => None,
        }
    }

    fn home(&self) -> &str {
        self.vars
            .get("HOME")
            .map_or(self.places.home.as_str(), String::as_str)
    }

    fn cwd(&self) -> &str {
        &self.places.cwd
    }

    fn output(&self, script: &Script) -> Option<String> {
        let [item] = script.items.as_slice() else {
            return None;
        };
        let [pipeline] = item.pipelines.as_slice() else {
            return None;
        };
        let [command] = pipeline.commands.as_slice() else {
            return None;
        };
        self.echoed(command, &Stdin::Unknown)
    }
}

const DYNAMIC_NOTE: &str = " (the command's name is only known when it runs, so its arguments \
                            were checked as if it were rm or dd)";
const DOWNLOAD_WHY: &str = "it runs code downloaded from the network without anyone reading it; \
                            download it to a file, read it, then run the file";

const SUDO_LONG_OPTIONS_WITH_VALUE: &[&str] = &[
    "chdir",
    "chroot",
    "close-from",
    "command-timeout",
    "group",
    "host",
    "other-user",
    "prompt",
    "role",
    "type",
    "user",
];

fn block(rule: Rule, shown: &str, why: &str) -> Blocked {
    let mut shown = shown.to_owned();
    if shown.chars().count() > MAX_SHOWN {
        shown = shown.chars().take(MAX_SHOWN).collect::<String>() + "...";
    }
    Blocked {
        rule,
        message: format!("refused `{shown}`: {why}"),
    }
}

fn power_off(name: &str, shown: &str) -> Blocked {
    block(
        Rule::PowerOff,
        shown,
        &format!("`{name}` would shut down or restart the sandbox"),
    )
}

fn show(fields: &[Arg]) -> String {
    fields
        .iter()
        .map(|arg| arg.shown.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn join(args: &[Arg]) -> String {
    args.iter()
        .map(|arg| arg.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn word_of<'s>(simple: &'s Simple, arg: &Arg) -> Option<&'s Word> {
    arg.word.and_then(|index| simple.words.get(index))
}

/// Whether `kill` is given pid -1, every process it may signal. The first
/// argument names the signal when it starts with `-`.
fn kills_everything(args: &[Arg]) -> bool {
    let mut at = 0;
    match args.first().map(|arg| arg.text.as_str()) {
        Some("-l" | "-L" | "--list" | "--table") => return false,
        Some("-s" | "-n" | "--signal") => at = 2,
        Some("--") => {}
        Some(text) if text.starts_with('-') => at = 1,
        _ => {}
    }
    args.get(at..)
        .unwrap_or_default()
        .iter()
        .filter(|arg| arg.text != "--")
        .any(|arg| arg.text == "-1")
}

fn is_filesystem_maker(name: &str) -> bool {
    FILESYSTEM_MAKERS.contains(&name) || name.starts_with("mkfs.")
}

/// `python`, `python3`, `python3.12`, `perl`, `ruby`, `node`.
fn is_interpreter(name: &str) -> bool {
    let python_version = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"))
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'));
    python_version || matches!(name, "perl" | "ruby" | "node" | "nodejs")
}

fn is_find_expression(text: &str) -> bool {
    (text.starts_with('-') && text.len() > 1) || matches!(text, "(" | "!" | ",")
}

/// Arguments that are not options (everything after `--`).
fn operands(args: &[Arg]) -> Vec<&Arg> {
    let mut done = false;
    args.iter()
        .filter(|arg| {
            if done {
                return true;
            }
            if arg.text == "--" {
                done = true;
                return false;
            }
            !(arg.text.starts_with('-') && arg.text.len() > 1)
        })
        .collect()
}

/// The index of the first argument after the options. `short` lists the
/// letters that take a value (in the rest of the cluster, or the next
/// argument), `long` the long options that take one.
fn skip_options(args: &[Arg], short: &str, long: &[&str]) -> usize {
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        let text = arg.text.as_str();
        if text == "--" {
            return at + 1;
        }
        if let Some(name) = text.strip_prefix("--") {
            at += if !name.contains('=') && long.contains(&name) {
                2
            } else {
                1
            };
            continue;
        }
        if text.len() > 1 && text.starts_with('-') {
            at += if cluster_takes_next(text, short) {
                2
            } else {
                1
            };
            continue;
        }
        break;
    }
    at.min(args.len())
}

/// Whether an option cluster such as `-un` ends with a letter from `short`
/// (those taking a value) and so takes the next argument as its value.
fn cluster_takes_next(text: &str, short: &str) -> bool {
    let cluster = &text[1..];
    cluster
        .char_indices()
        .find(|(_, c)| short.contains(*c))
        .is_some_and(|(offset, c)| offset + c.len_utf8() == cluster.len())
}

fn skip_assignments(args: &[Arg]) -> usize {
    args.iter()
        .take_while(|arg| {
            arg.text
                .split_once('=')
                .is_some_and(|(name, _)| is_name(name))
        })
        .count()
}

/// The value of `-c CODE`, `-cCODE`, `--command CODE` or `--command=CODE`.
fn option_value(args: &[Arg], short: &str, long: &str) -> Option<String> {
    for (at, arg) in args.iter().enumerate() {
        let text = arg.text.as_str();
        if text == short || text == long {
            return args.get(at + 1).map(|arg| arg.text.clone());
        }
        if let Some(value) = text.strip_prefix(&format!("{long}=")) {
            return Some(value.to_owned());
        }
        if let Some(value) = text.strip_prefix(short)
            && !text.starts_with("--")
        {
            return Some(value.to_owned());
        }
    }
    None
}

/// `env -S 'cmd args'` (or `--split-string`): the string, with whatever
/// follows it, is the command.
fn env_split_string(args: &[Arg]) -> Option<String> {
    for (at, arg) in args.iter().enumerate() {
        let text = arg.text.as_str();
        let (value, rest) = if text == "-S" || text == "--split-string" {
            (args.get(at + 1)?.text.clone(), at + 2)
        } else if let Some(value) = text.strip_prefix("--split-string=") {
            (value.to_owned(), at + 1)
        } else if let Some(value) = text.strip_prefix("-S") {
            (value.to_owned(), at + 1)
        } else if text.starts_with('-') || skip_assignments(std::slice::from_ref(arg)) == 1 {
            continue;
        } else {
            return None;
        };
        let mut code = value;
        for arg in args.get(rest..).unwrap_or_default() {
            code.push(' ');
            code.push_str(&arg.text);
        }
        return Some(code);
    }
    None
}

/// The command `xargs` runs, with the items it reads appended (or put in
/// place of the `-I` string). Unknown input becomes one unknown argument.
fn xargs(args: &[Arg], stdin: &Stdin) -> Vec<Arg> {
    let mut replace: Option<String> = None;
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        let text = arg.text.as_str();
        if text == "--" {
            at += 1;
            break;
        }
        if !text.starts_with('-') || text.len() == 1 {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            if let Some(value) = long.strip_prefix("replace") {
                replace = Some(value.strip_prefix('=').unwrap_or("{}").to_owned());
            }
            let takes_next = !long.contains('=') && XARGS_LONG_OPTIONS_WITH_VALUE.contains(&long);
            at += if takes_next { 2 } else { 1 };
        } else if text == "-I" {
            replace = args.get(at + 1).map(|arg| arg.text.clone());
            at += 2;
        } else if let Some(value) = text.strip_prefix("-I") {
            replace = Some(value.to_owned());
            at += 1;
        } else if let Some(value) = text.strip_prefix("-i") {
            replace = Some(if value.is_empty() { "{}" } else { value }.to_owned());
            at += 1;
        } else {
            at += if cluster_takes_next(text, "adELnPs") {
                2
            } else {
                1
            };
        }
    }

    let mut command: Vec<Arg> = args[at.min(args.len())..].to_vec();
    if command.is_empty() {
        command.push(Arg::literal("echo"));
    }
    let items: Vec<Arg> = match stdin {
        Stdin::Text(text) => text.split_whitespace().map(Arg::literal).collect(),
        // TODO: input from `find` or `ls` stays unknown, so `find / | xargs
        // rm -rf` passes; only echoed or here-string input is followed.
        Stdin::Unknown => vec![Arg::unknown("<input>")],
    };

    match replace {
        None => command.into_iter().chain(items).collect(),
        Some(replace) => {
            let mut fields = vec![command[0].clone()];
            for item in &items {
                for arg in &command[1..] {
                    let mut arg = arg.clone();
                    if arg.text.contains(&replace) {
                        arg.text = arg.text.replace(&replace, &item.text);
                        arg.dynamic |= item.dynamic;
                    }
                    fields.push(arg);
                }
            }
            fields
        }
    }
}

const XARGS_LONG_OPTIONS_WITH_VALUE: &[&str] = &[
    "arg-file",
    "delimiter",
    "max-args",
    "max-chars",
    "max-lines",
    "max-procs",
    "process-slot-var",
];

/// How an interpreter named `name` is asked to run by `args`.
fn invocation(name: &str, args: &[Arg]) -> Invocation {
    let mut invocation = Invocation::default();
    let mut inline_code = false;
    let mut module = false;
    let mut at = 0;

    while let Some(arg) = args.get(at) {
        let text = arg.text.as_str();
        at += 1;
        if text == "--" {
            break;
        }
        if text == "-" {
            invocation.reads_stdin = true;
            return invocation;
        }

        if let Some(long) = text.strip_prefix("--") {
            match long {
                "eval" | "print" if name.starts_with("node") => {
                    invocation.code = args.get(at).cloned();
                    return invocation;
                }
                "rcfile" | "init-file" | "require" | "import" | "loader" => at += 1,
                _ => {}
            }
            continue;
        }
        let Some(cluster) = text.strip_prefix('-').or_else(|| text.strip_prefix('+')) else {
            at -= 1;
            break;
        };

        // Shells take `-c` with the code as the first operand; the others
        // take their code or option value from the rest of the cluster or
        // the next argument.
        for (offset, c) in cluster.char_indices() {
            let attached = &cluster[offset + c.len_utf8()..];
            let value = |at: &mut usize| {
                if attached.is_empty() {
                    *at += 1;
                    args.get(*at - 1).cloned()
                } else {
                    let mut arg = arg.clone();
                    arg.text = attached.to_owned();
                    Some(arg)
                }
            };
            match (interpreter_family(name), c) {
                (Family::Shell, 'c') => inline_code = true,
                (Family::Shell, 's') => invocation.reads_stdin = true,
                (Family::Shell, 'o' | 'O') => at += 1,
                (Family::Python, 'c')
                | (Family::Perl | Family::Ruby, 'e' | 'E')
                | (Family::Node, 'e' | 'p') => {
                    invocation.code = value(&mut at);
                    return invocation;
                }
                (Family::Python, 'm') => {
                    module = true;
                    break;
                }
                (Family::Python, 'W' | 'X')
                | (Family::Perl, 'I' | 'M' | 'm')
                | (Family::Ruby, 'I' | 'r' | 'C')
                | (Family::Node, 'r') => {
                    value(&mut at);
                    break;
                }
                _ => continue,
            }
        }
        if module {
            return invocation;
        }
    }

    let operand = args.get(at).cloned();
    if inline_code {
        invocation.code = operand;
        return invocation;
    }
    let from_stdin = operand
        .as_ref()
        .is_none_or(|arg| arg.text == "-" || arg.text == "/dev/stdin");
    invocation.reads_stdin |= from_stdin;
    invocation.script = operand;
    invocation
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Shell,
    Python,
    Perl,
    Ruby,
    Node,
}

fn interpreter_family(name: &str) -> Family {
    match name {
        "perl" => Family::Perl,
        "ruby" => Family::Ruby,
        "node" | "nodejs" => Family::Node,
        name if SHELLS.contains(&name) => Family::Shell,
        _ => Family::Python,
    }
}

/// Whether `visit` holds for any simple command in `script`, including
/// those in substitutions; `visit` also learns whether the command runs
/// concurrently with others (in a pipeline or in the background).
fn any_simple(
    script: &Script,
    concurrent: bool,
    visit: &mut dyn FnMut(&Simple, bool) -> bool,
) -> bool {
    script.items.iter().any(|item| {
        item.pipelines.iter().any(|pipeline| {
            let concurrent = concurrent || item.background || pipeline.commands.len() > 1;
            pipeline
                .commands
                .iter()
                .any(|command| any_simple_in(command, concurrent, visit))
        })
    })
}

fn any_simple_in(
    command: &Command,
    concurrent: bool,
    visit: &mut dyn FnMut(&Simple, bool) -> bool,
) -> bool {
    match command {
        Command::Simple(simple) => {
            let words = simple
                .assignments
                .iter()
                .map(|assignment| &assignment.value)
                .chain(&simple.words)
                .chain(redirect_words(&simple.redirects));
            visit(simple, concurrent) || any_in_words(words, concurrent, visit)
        }
        Command::Compound(compound) => {
            let words = compound
                .words
                .iter()
                .chain(redirect_words(&compound.redirects));
            any_in_words(words, concurrent, visit)
                || compound
                    .scripts
                    .iter()
                    .any(|script| any_simple(script, concurrent, visit))
        }
        Command::Function { body, .. } => any_simple_in(body, concurrent, visit),
    }
}

fn any_in_words<'w>(
    words: impl IntoIterator<Item = &'w Word>,
    concurrent: bool,
    visit: &mut dyn FnMut(&Simple, bool) -> bool,
) -> bool {
    words.into_iter().any(|word| {
        any_substitution(&word.parts, &mut |script| {
            any_simple(script, concurrent, visit)
        })
    })
}

fn redirect_words(redirects: &[Redirect]) -> impl Iterator<Item = &Word> {
    redirects
        .iter()
        .flat_map(|redirect| std::iter::once(&redirect.target).chain(&redirect.body))
}

/// Whether `visit` holds for the script of any substitution in `parts`.
fn any_substitution(parts: &[Part], visit: &mut dyn FnMut(&Script) -> bool) -> bool {
    parts.iter().any(|part| match part {
        Part::Command { script, .. } | Part::Process { script, .. } => visit(script),
        Part::Param { modifier, .. } => match modifier {
            Modifier::Plain => false,
            Modifier::Default(word)
            | Modifier::Alternative(word)
            | Modifier::Required(word)
            | Modifier::Other(word) => any_substitution(&word.parts, visit),
        },
        Part::Arith(parts) => any_substitution(parts, visit),
        Part::Array(words) => words
            .iter()
            .any(|word| any_substitution(&word.parts, visit)),
        Part::Lit { .. } => false,
    })
}
