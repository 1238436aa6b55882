//! The interactive shell: read an entry (one line or a whole block), evaluate it in the
//! session, print its value or its error, and keep the history across runs.

mod complete;
mod highlight;
mod show;

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use colored::Colorize;
use rhai::{Dynamic, Engine, LexError, ParseErrorType, Position};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Context, Editor, Helper, Hinter, Validator};

use crate::lab::{Lab, LabOptions};
use crate::render::{self, overview::NamespaceView};
use crate::script::help::{self, BINDINGS};
use crate::script::Session;

const PROMPT: &str = "netsh> ";
/// The prompt of an unfinished entry's next line (as wide as [`PROMPT`]).
const CONTINUATION: &str = "  ...> ";
const MAX_HISTORY: usize = 1000;
/// Runs the REPL until `:quit` or Ctrl-D; returns the process exit code.
pub fn run(session: &mut Session) -> u8 {
    let names = Rc::new(RefCell::new(Live {
        words: Vec::new(),
        vars: Vec::new(),
        lab: session.lab_rc(),
    }));
    let parser = Rc::new(Engine::new_raw());
    let mut editor = match editor(ReplHelper {
        live: Rc::clone(&names),
    }) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!(
                "{} cannot start the line editor: {e}",
                "error:".red().bold()
            );
            return 1;
        }
    };
    let history = history_file(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"));
    if let Some(path) = &history {
        load_history(&mut editor, path);
    }
    println!(
        "netsh {} — a network lab in your shell. Type :help for the bindings, Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION")
    );
    refresh_names(&names, session);
    // From here on Ctrl-C stops the entry under way instead of netsh and its lab. At the
    // prompt the line editor reads it as a key (the terminal is in raw mode then).
    if let Err(e) = crate::interrupt::install() {
        eprintln!(
            "{} Ctrl-C will end netsh (cannot catch it: {e})",
            "warning:".yellow().bold()
        );
    }

    repl_loop(&mut editor, session, &parser, &names, history.as_deref())
}

fn repl_loop(
    editor: &mut Editor<ReplHelper, DefaultHistory>,
    session: &mut Session,
    parser: &Engine,
    names: &RefCell<Live>,
    history: Option<&Path>,
) -> u8 {
    let mut done = Done::default();
    loop {
        let input = match read_entry(editor, parser) {
            Ok(Some(input)) => input,
            Ok(None) => continue,
            Err(ReadlineError::Eof) => return 0,
            Err(e) => {
                eprintln!("{} cannot read the terminal: {e}", "error:".red().bold());
                return 1;
            }
        };
        if input.trim().is_empty() {
            continue;
        }
        if let Err(e) = editor.add_history_entry(input.as_str()) {
            eprintln!(
                "{} cannot add to the history: {e}",
                "warning:".yellow().bold()
            );
        }
        // Saved at once: a session that ends by a kill or a crash keeps what was typed.
        if let Some(path) = history {
            save_history(editor, path);
        }
        let presses = crate::interrupt::presses();
        for entry in pasted_entries(session, &input) {
            if let Some(code) = run_entry(session, parser, names, &mut done, &entry) {
                return code;
            }
            // Ctrl-C stops what is left of a pasted block too, as in a shell.
            if crate::interrupt::presses() != presses {
                break;
            }
        }
    }
}

/// The entries run so far: how many, and the script of those that succeeded (`:save`).
#[derive(Default)]
struct Done {
    count: usize,
    script: Vec<String>,
}

/// Runs one entry (a `:command`, a command line or Rhai); `Some(exit code)` to leave.
fn run_entry(
    session: &mut Session,
    parser: &Engine,
    names: &RefCell<Live>,
    done: &mut Done,
    input: &str,
) -> Option<u8> {
    match Command::parse(input) {
        Some(Command::Quit) => return Some(0),
        Some(Command::Help(None)) => print!("{}", help::text()),
        Some(Command::Help(Some(name))) => match help::about(name) {
            Some(text) => print!("{text}"),
            None => eprintln!("{}", no_such_binding(session, name)),
        },
        Some(Command::Ls) => print!("{}", overview(session)),
        Some(Command::Reset) => {
            if reset(session, names) {
                *done = Done::default();
            }
            refresh_names(names, session);
        }
        Some(Command::Save(file)) => save(file, &done.script),
        Some(Command::Trace(arg)) => trace(session, arg),
        Some(Command::Unknown(cmd)) => {
            let known = complete::commands().map(str::to_string);
            match help::did_you_mean(cmd, known) {
                Some(hint) => eprintln!("unknown command {cmd} — {hint}"),
                None => eprintln!("unknown command {cmd} (:help lists the commands)"),
            }
        }
        None => match outside_the_lab(session, input) {
            Some(hint) => eprintln!("{hint}"),
            None => {
                done.count += 1;
                if let Some(ran) = evaluate(session, parser, done.count, input) {
                    done.script.push(ran);
                }
                // A Ctrl-C that came as the entry ended is not for the next one.
                crate::interrupt::clear();
                refresh_names(names, session);
            }
        },
    }
    None
}

/// The entries in `input`: itself, unless it is a block pasted from a shell session —
/// several lines, the first a command line (`ip netns add ns1`) — whose lines then run one
/// by one, as a shell runs them: `\`-continued lines joined, blank lines and `#` comments
/// left out.
fn pasted_entries(session: &Session, input: &str) -> Vec<String> {
    let first = first_line(input);
    if !input.trim_end().contains('\n') || front_call(session, first).is_none() {
        return vec![input.to_string()];
    }
    let mut entries = Vec::new();
    let mut current = String::new();
    for line in input.lines() {
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
        if line.ends_with('\\') {
            continue;
        }
        let text = current.trim();
        if !text.is_empty() && !text.starts_with('#') {
            entries.push(current.clone());
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        entries.push(current);
    }
    entries
}

/// The first line of `input` that is neither blank nor a shell comment (`#ns1 created`, as
/// the tutorial's blocks start; not Rhai's `#{` map).
fn first_line(input: &str) -> &str {
    input
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && (!l.starts_with('#') || l.starts_with("#{")))
        .unwrap_or("")
}

/// Reads one entry: a line, and more lines after a continuation prompt while the input is
/// unfinished (an open block, call, string, or a trailing `\\`). `None` when Ctrl-C
/// abandoned it.
fn read_entry(
    editor: &mut Editor<ReplHelper, DefaultHistory>,
    parser: &Engine,
) -> Result<Option<String>, ReadlineError> {
    let prompt = (PROMPT, PROMPT.green().bold().to_string());
    let more = (CONTINUATION, CONTINUATION.green().to_string());
    let mut input = match editor.readline(&prompt) {
        Ok(line) => line,
        Err(ReadlineError::Interrupted) => return Ok(None),
        Err(e) => return Err(e),
    };
    while is_incomplete(parser, &input) {
        match editor.readline(&more) {
            Ok(line) => {
                input.push('\n');
                input.push_str(&line);
            }
            Err(ReadlineError::Interrupted) => return Ok(None),
            // Ctrl-D on a continuation line runs what was typed (and reports what is missing).
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Some(input))
}

/// Evaluates one entry and prints its value or its error; returns the script that ran when
/// it succeeded (a front line as its binding's call), for `:save`.
fn evaluate(session: &mut Session, parser: &Engine, entry: usize, input: &str) -> Option<String> {
    let name = format!("<repl:{entry}>");
    let Some(call) = front_call(session, input) else {
        let source = join_continuations(parser, input);
        return match session.eval(&name, &source) {
            Ok(value) if value.is_unit() => Some(source),
            Ok(value) => {
                println!("{}", show::show(session, value));
                Some(source)
            }
            Err(failure) => {
                eprint!("{}", failure.rendered);
                None
            }
        };
    };
    // A command line prints as the program would in a shell: its output as it comes (see
    // crate::live), exactly as the program prints it, nothing for a command that prints
    // nothing; and Ctrl-C is the program's.
    let typed = input.replace("\\\n", " ");
    let live = crate::live::begin();
    let result = session.eval_shown(&name, &call, &typed);
    let (shown, failure_shown) = (crate::live::shown(), crate::live::failure_shown());
    let failed_with = crate::live::failure();
    drop(live);
    match (result, failed_with) {
        (Ok(_), _) if shown => Some(call),
        (Ok(value), _) if value.is_string() => {
            let text = value.to_string();
            print!("{text}");
            if !text.is_empty() && !text.ends_with('\n') {
                println!();
            }
            Some(call)
        }
        (Ok(value), _) if value.is_unit() => Some(call),
        (Ok(value), _) => {
            println!("{}", show::show(session, value));
            Some(call)
        }
        (Err(_), _) if failure_shown => None,
        // The program's own words, as a shell shows them (`Error: No such container: x`).
        (Err(_), Some(words)) => {
            eprintln!("{words}");
            None
        }
        (Err(failure), None) => {
            eprint!("{}", failure.rendered);
            None
        }
    }
}

// ---- front lines ----------------------------------------------------------------------------

/// Words that start a command line typed as in a shell (`docker network ls`, `ip a`), each
/// run by the binding of the same name with the rest of the line as one string.
pub const FRONTS: &[&str] = &["docker", "ip", "brctl", "ping"];

/// The binding call a front line stands for (`docker ps -a` → `docker("ps -a")`), or `None`
/// when the line is Rhai: it does not start with a front word, the word is a variable, or
/// the line compiles as it is (`ping (a, b)`).
fn front_call(session: &Session, input: &str) -> Option<String> {
    let line = input.trim();
    let (word, _) = split_front(line)?;
    if session.variables().iter().any(|v| v == word) || session.compiles(line) {
        return None;
    }
    translate_front(line)
}

/// What to say for a line of a tutorial's shell session that is no command of the lab
/// (`ifconfig`, `yum -y install bridge-utils`): what to type instead, rather than Rhai's
/// complaint about an unknown variable. `None` for anything else, and for Rhai that uses
/// those words.
fn outside_the_lab(session: &Session, input: &str) -> Option<String> {
    let line = input.trim();
    let word = line.split_whitespace().next()?;
    if session.variables().iter().any(|v| v == word) || session.compiles(line) {
        return None;
    }
    let installs = line.split_whitespace().any(|w| w == "install");
    Some(match word {
        "ifconfig" => "ifconfig is not part of the lab: `ip a` shows every interface with its \
                       addresses (`ip link` without them)"
            .to_string(),
        "yum" | "dnf" | "apt" | "apt-get" if line.contains("bridge-utils") => {
            "nothing to install: brctl is built into the lab (try `brctl show`)".to_string()
        }
        "yum" | "dnf" | "apt" | "apt-get" if installs => format!(
            "nothing to install: the lab runs {} lines itself, and containers run the \
             machine's programs",
            FRONTS.join(", ")
        ),
        "sudo" => "no sudo in the lab: type the command without it (the lab's commands run \
                   as the lab's root)"
            .to_string(),
        _ => return None,
    })
}

/// The front word of `line` and the rest, when the line starts with one.
fn split_front(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    let word = &line[..end];
    FRONTS.contains(&word).then(|| (word, line[end..].trim()))
}

/// Whether `input` reads as a command line rather than a call: a front word followed by
/// the end of the line or by an argument that does not open a parenthesis.
fn is_front_line(input: &str) -> bool {
    split_front(input).is_some_and(|(_, rest)| !rest.starts_with('('))
}

/// `word rest…` as `word("rest…")`: the rest of the line (shell-style `\` line continuations
/// joined) as one Rhai string literal.
fn translate_front(line: &str) -> Option<String> {
    let joined = line.replace("\\\n", " ");
    let (word, rest) = split_front(&joined)?;
    Some(format!("{word}({})", rhai_string(rest)))
}

/// `text` as a Rhai string literal that evaluates to exactly `text`.
fn rhai_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn refresh_names(live: &RefCell<Live>, session: &Session) {
    let mut live = live.borrow_mut();
    live.words = session
        .variables()
        .into_iter()
        .chain(session.functions())
        .collect();
    live.vars = session.variable_values();
}

/// What `:help NAME` says when nothing is called NAME: the nearest names, if any.
fn no_such_binding(session: &Session, name: &str) -> String {
    match help::did_you_mean(name, known_names(session)) {
        None => format!("no binding called {name} (:help lists them all)"),
        Some(hint) => format!("no binding called {name} — {hint}"),
    }
}

/// Every name an entry can call: bindings, methods, properties, the session's functions and
/// variables, keywords.
fn known_names(session: &Session) -> Vec<String> {
    BINDINGS
        .iter()
        .map(|b| b.name.to_string())
        .chain(complete::KEYWORDS.iter().map(|k| k.to_string()))
        .chain(session.variables())
        .chain(session.functions())
        .collect()
}

/// `:ls`: the lab's namespaces, networks and containers.
fn overview(session: &Session) -> String {
    let lab = session.lab();
    let mut names = lab.namespaces();
    names.sort();
    let namespaces: Vec<NamespaceView> = names
        .into_iter()
        .map(|name| NamespaceView {
            links: lab.links(&name).map_err(|e| e.to_string()),
            name,
        })
        .collect();
    render::overview::overview(&namespaces, &lab.docker())
}

/// `:reset`: a fresh lab — a new lab host namespace with its own Docker engine (new IDs,
/// address pools at their start), built as netsh builds its first — and a fresh scope. The
/// old lab goes whole (the kernel frees its namespaces, its programs die with their inits),
/// so nothing of it can be left. False (and says why) when the new lab cannot be built: the
/// old one is then kept.
fn reset(session: &mut Session, live: &RefCell<Live>) -> bool {
    let trace = session.lab().tracing();
    let old_host = match crate::sandbox::new_lab_host() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!(
                "{} :reset cannot make a new lab host: {e}",
                "error:".red().bold()
            );
            return false;
        }
    };
    let lab = match Lab::new(LabOptions { trace }) {
        Ok(lab) => Rc::new(lab),
        Err(e) => {
            if let Err(back) = crate::sandbox::return_to(&old_host) {
                eprintln!("{} cannot return to the lab: {back}", "error:".red().bold());
            }
            eprintln!(
                "{} :reset cannot build a new lab ({e}); the old one stays",
                "error:".red().bold()
            );
            return false;
        }
    };
    live.borrow_mut().lab = Rc::clone(&lab);
    // The old session's engine holds the old lab: it goes with it.
    session.renew(&lab);
    println!("a fresh lab: no namespaces, containers or networks of yours, no variables");
    true
}

/// `:save FILE`: the entries that succeeded, as a script `netsh FILE` runs.
fn save(file: Option<&str>, script: &[String]) {
    let Some(file) = file else {
        eprintln!(":save needs a file name, e.g. :save lab.rhai");
        return;
    };
    match std::fs::write(file, saved_script(file, script)) {
        Ok(()) => println!("saved {} entries to {file}", script.len()),
        Err(e) => eprintln!("{} cannot write {file}: {e}", "error:".red().bold()),
    }
}

/// The text `:save` writes: the entries in order, each ended by a `;` (Rhai separates
/// statements with it; after a block or a map literal it is an empty statement). An entry
/// whose last line may end in a `//` comment gets its `;` on a line of its own.
fn saved_script(file: &str, entries: &[String]) -> String {
    let mut text = format!(
        "// Saved by netsh's :save: the REPL entries that succeeded, in order.\n\
         // Run it with: netsh {file}\n"
    );
    for entry in entries {
        let entry = entry.trim_end();
        text.push_str(entry);
        if entry.lines().last().is_some_and(|l| l.contains("//")) {
            text.push('\n');
        }
        text.push_str(";\n");
    }
    text
}

/// `:trace on|off`: print every kernel operation as the command that does the same.
fn trace(session: &Session, arg: Option<&str>) {
    let lab = session.lab();
    match arg {
        Some("on") => lab.set_trace(true),
        Some("off") => lab.set_trace(false),
        None => println!("trace is {}", if lab.tracing() { "on" } else { "off" }),
        Some(other) => eprintln!(":trace takes on or off, not {other}"),
    }
}

enum Command<'a> {
    Ls,
    Reset,
    Save(Option<&'a str>),
    Trace(Option<&'a str>),
    Help(Option<&'a str>),
    Quit,
    Unknown(&'a str),
}

impl<'a> Command<'a> {
    /// `None` when the input is script, not a `:command`.
    fn parse(input: &'a str) -> Option<Command<'a>> {
        let mut words = input.split_whitespace();
        let word = words.next()?;
        if !word.starts_with(':') {
            return None;
        }
        Some(match word {
            ":help" | ":h" => Command::Help(words.next()),
            ":ls" => Command::Ls,
            ":reset" => Command::Reset,
            ":save" => Command::Save(words.next()),
            ":trace" => Command::Trace(words.next()),
            ":quit" | ":q" | ":exit" => Command::Quit,
            _ => Command::Unknown(word),
        })
    }
}

// ---- line editor ----------------------------------------------------------------------------

#[derive(Helper, Hinter, Validator)]
struct ReplHelper {
    /// The session's names and the lab, for completion.
    live: Rc<RefCell<Live>>,
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if colored::control::SHOULD_COLORIZE.should_colorize() {
            Cow::Owned(highlight::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        colored::control::SHOULD_COLORIZE.should_colorize()
    }
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let Some(before) = line.get(..pos) else {
            return Ok((pos, Vec::new()));
        };
        Ok(complete::complete(before, &*self.live.borrow()))
    }
}

/// What completion knows of the session (refreshed after every entry) and the lab (read
/// when Tab is pressed).
struct Live {
    words: Vec<String>,
    vars: Vec<(String, Dynamic)>,
    lab: Rc<Lab>,
}

impl Live {
    fn var(&self, name: &str) -> Option<&Dynamic> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl complete::Source for Live {
    fn containers(&self) -> Vec<String> {
        let docker = self.lab.docker();
        docker.containers().iter().map(|c| c.name.clone()).collect()
    }

    fn networks(&self) -> Vec<String> {
        let docker = self.lab.docker();
        docker.networks().iter().map(|n| n.name.clone()).collect()
    }

    fn namespaces(&self) -> Vec<String> {
        self.lab.namespaces()
    }

    fn interfaces(&self, of: &complete::Target) -> Vec<String> {
        let value = match of {
            complete::Target::Var(v) => match self.var(v) {
                Some(value) => value.clone(),
                None => return Vec::new(),
            },
            complete::Target::Name(n) => Dynamic::from(n.clone()),
        };
        crate::script::bindings::interface_names(&self.lab, &value)
    }

    fn type_of(&self, var: &str) -> Option<String> {
        let name = self.var(var)?.type_name();
        let short = name.rsplit("::").next().unwrap_or(name);
        Some(
            match short {
                "ContainerRef" => "Container",
                "NetworkRef" => "Network",
                "LinkInfo" => "Link",
                other => other,
            }
            .to_string(),
        )
    }

    fn map_keys(&self, var: &str) -> Vec<String> {
        self.var(var)
            .and_then(|v| {
                v.read_lock::<rhai::Map>()
                    .map(|m| m.keys().map(|k| k.to_string()).collect())
            })
            .unwrap_or_default()
    }

    fn words(&self) -> Vec<String> {
        self.words.clone()
    }
}

fn editor(helper: ReplHelper) -> rustyline::Result<Editor<ReplHelper, DefaultHistory>> {
    let config = Config::builder()
        .max_history_size(MAX_HISTORY)?
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut editor = Editor::with_config(config)?;
    editor.set_helper(Some(helper));
    Ok(editor)
}

// ---- multi-line input -----------------------------------------------------------------------

/// Whether Enter should open another line instead of evaluating: the input only fails to parse
/// because it stops early. Real syntax errors count as complete, so evaluation reports them.
fn is_incomplete(parser: &Engine, input: &str) -> bool {
    if input.trim_start().starts_with(':') {
        return false;
    }
    if input.ends_with('\\') {
        return true;
    }
    // A command line (`docker run … sh -c 'echo {'`), or a pasted block of them, is not
    // Rhai: Enter runs it.
    if is_front_line(first_line(input)) {
        return false;
    }
    let source = join_continuations(parser, input);
    match parser.compile(&source) {
        Ok(_) => false,
        Err(e) => match e.err_type() {
            ParseErrorType::UnexpectedEOF => true,
            ParseErrorType::MissingToken(..) | ParseErrorType::MissingSymbol(_) => {
                at_end(&source, e.position())
            }
            ParseErrorType::BadInput(LexError::UnterminatedString) => {
                string_runs_to_end(&source, e.position())
            }
            _ => false,
        },
    }
}

/// Turns each line-continuation `\` outside a string into a space, which keeps every error
/// position where it was. Rhai's own lexer tells those apart from a `\` inside a string, where
/// Rhai itself joins the lines.
fn join_continuations(parser: &Engine, input: &str) -> String {
    let mut source = input.to_string();
    while let Err(e) = parser.compile(&source) {
        let ParseErrorType::BadInput(LexError::UnexpectedInput(symbol)) = e.err_type() else {
            break;
        };
        let Some(at) = byte_offset(&source, e.position()) else {
            break;
        };
        let rest = &source[at + 1..];
        if symbol != "\\" || !(rest.is_empty() || rest.starts_with('\n')) {
            break;
        }
        source.replace_range(at..at + 1, " ");
    }
    source
}

/// Whether `pos` is at or past the end of `source`, ignoring trailing whitespace.
fn at_end(source: &str, pos: Position) -> bool {
    pos.line().is_some() && byte_offset(source, pos).is_none_or(|at| source[at..].trim().is_empty())
}

/// Whether the unterminated string starting at `pos` runs to the end of the input (more lines
/// may close it), rather than being cut by a newline (an error no further line can fix).
fn string_runs_to_end(source: &str, pos: Position) -> bool {
    let Some(at) = byte_offset(source, pos) else {
        return false;
    };
    let mut chars = source[at..].chars();
    match chars.next() {
        Some('`') => true,
        Some('"' | '\'') => {
            let mut escaped = false;
            for c in chars {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '\n' => return false,
                    _ => {}
                }
            }
            true
        }
        _ => false,
    }
}

/// The byte index of a Rhai position (1-based line, 1-based column in chars) in `source`;
/// `None` when it lies past the end.
fn byte_offset(source: &str, pos: Position) -> Option<usize> {
    let line = pos.line()?;
    let col = pos.position().unwrap_or(1);
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    source[line_start..]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| line_start + i)
}

// ---- history --------------------------------------------------------------------------------

/// `$XDG_STATE_HOME/netsh/history`, else `$HOME/.local/state/netsh/history`. The XDG spec says
/// to ignore a relative `XDG_STATE_HOME`.
fn history_file(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let state = match xdg_state_home.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => home
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".local/state"))?,
    };
    Some(state.join("netsh").join("history"))
}

fn load_history(editor: &mut Editor<ReplHelper, DefaultHistory>, path: &Path) {
    match editor.load_history(path) {
        Ok(()) => {}
        Err(ReadlineError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => eprintln!(
            "{} cannot read the history from {}: {e}",
            "warning:".yellow().bold(),
            path.display()
        ),
    }
}

fn save_history(editor: &mut Editor<ReplHelper, DefaultHistory>, path: &Path) {
    let created = match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(ReadlineError::from),
        None => Ok(()),
    };
    // Appending merges with what other netsh sessions saved meanwhile.
    if let Err(e) = created.and_then(|()| editor.append_history(path)) {
        eprintln!(
            "{} cannot save the history to {}: {e}",
            "warning:".yellow().bold(),
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(input: &str) -> bool {
        is_incomplete(&Engine::new_raw(), input)
    }

    #[test]
    fn unclosed_input_is_incomplete() {
        assert!(incomplete("let x = {"));
        assert!(incomplete("fn f() {"));
        assert!(incomplete("print(\"a"));
        assert!(incomplete("foo(1,"));
        assert!(incomplete("[1, 2"));
        assert!(incomplete("let x = {   "));
        assert!(incomplete("fn f(x) {\n    x + 1"));
        assert!(incomplete("let s = `one\ntwo"));
        assert!(incomplete("let x = 1 + \\"));
    }

    #[test]
    fn finished_or_broken_input_is_complete() {
        assert!(!incomplete("let x = 1;"));
        assert!(!incomplete("let x = ;"));
        assert!(!incomplete("foo(1))"));
        assert!(!incomplete("fn f(x) {\n    x + 1\n}"));
        assert!(!incomplete(":help"));
        // A newline ends a "…" string for good: more lines cannot fix it.
        assert!(!incomplete("print(\"a\n\")"));
    }

    #[test]
    fn continuation_backslashes_become_spaces_outside_strings() {
        let parser = Engine::new_raw();
        assert_eq!(join_continuations(&parser, "1 + \\\n2"), "1 +  \n2");
        assert_eq!(join_continuations(&parser, "\"a\\\nb\""), "\"a\\\nb\"");
        assert!(incomplete("let x = [1, \\\n2"));
    }

    #[test]
    fn a_saved_session_parses_as_one_script() {
        let entries = [
            "let x = 1 // one",
            "fn f(y) {\n  y + x\n}",
            "let m = #{a: 1}",
            "if true { 2 } else { 3 }",
            "print(\"http://x/\");",
            "f(m.a)",
        ]
        .map(String::from);
        let text = saved_script("s.rhai", &entries);
        assert!(text.starts_with("// Saved by netsh's :save"), "{text}");
        let parsed = Engine::new_raw().compile(&text);
        assert!(parsed.is_ok(), "{parsed:?}\n{text}");
    }

    #[test]
    fn front_lines_become_one_call_with_the_rest_as_a_string() {
        let t = |line: &str| translate_front(line);
        assert_eq!(
            t("docker network create -d bridge bridge2").as_deref(),
            Some("docker(\"network create -d bridge bridge2\")")
        );
        assert_eq!(t("  ip a  ").as_deref(), Some("ip(\"a\")"));
        assert_eq!(t("brctl show").as_deref(), Some("brctl(\"show\")"));
        assert_eq!(
            t("ping -c 3 10.0.0.2").as_deref(),
            Some("ping(\"-c 3 10.0.0.2\")")
        );
        assert_eq!(t("docker").as_deref(), Some("docker(\"\")"));
        // Quotes, backslashes and `${` pass through untouched by Rhai.
        assert_eq!(
            t(r#"docker run bb sh -c "echo \"hi\" \\ ${X}" 'a'"#).as_deref(),
            Some(r#"docker("run bb sh -c \"echo \\\"hi\\\" \\\\ ${X}\" 'a'")"#)
        );
        // A shell-style continuation joins the lines.
        assert_eq!(
            t("docker run -d \\\n  --name web nginx").as_deref(),
            Some("docker(\"run -d    --name web nginx\")")
        );
        assert_eq!(t("ip_a(x)"), None);
        assert_eq!(t("ping(a, b)"), None);
        assert_eq!(t("pings x"), None);
    }

    #[test]
    fn the_string_literal_is_what_rhai_reads_back() {
        let engine = Engine::new_raw();
        for text in [
            "plain",
            "\"quoted\" and 'single'",
            "back\\slash \\n not a newline",
            "tab\there\u{1}ctl",
            "${not interpolated}",
            "ünïcödé →",
        ] {
            let back: String = engine.eval(&rhai_string(text)).expect(text);
            assert_eq!(back, text);
        }
    }

    #[test]
    fn command_lines_end_at_enter_but_calls_may_continue() {
        assert!(!incomplete("docker run bb sh -c 'echo {'"));
        assert!(!incomplete("ip link add veth0 type veth peer name veth1"));
        assert!(incomplete("ping(a,"));
        assert!(incomplete("docker run -d \\"));
    }

    #[test]
    fn a_pasted_block_of_command_lines_is_complete() {
        assert_eq!(
            first_line("#ns1 created\n\nip netns add ns1"),
            "ip netns add ns1"
        );
        assert_eq!(first_line("#{a: 1}"), "#{a: 1}");
        assert!(!incomplete(
            "#ns1 created\nip netns add ns1\n#check list\nip netns list\nns2"
        ));
        assert!(!incomplete("docker run bb sh -c 'echo {'\nip a"));
        assert!(incomplete("#{a: 1,"));
    }

    #[test]
    fn history_lives_in_the_state_directory() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            history_file(xdg.map(OsString::from), home.map(OsString::from))
        };
        assert_eq!(
            path(Some("/state"), Some("/home/u")),
            Some(PathBuf::from("/state/netsh/history"))
        );
        assert_eq!(
            path(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/netsh/history"))
        );
        assert_eq!(
            path(Some("relative"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/netsh/history"))
        );
        assert_eq!(
            path(Some(""), Some("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/netsh/history"))
        );
        assert_eq!(path(None, None), None);
        assert_eq!(path(None, Some("")), None);
    }
}
