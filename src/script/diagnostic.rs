//! Script errors as people read them: `file:line:col`, the message, the source line and a
//! caret under the position — the same shape in the runner and in the REPL.

use std::fmt::Write as _;
use std::path::Path;

use colored::Colorize;
use rhai::{EvalAltResult, Position};

use super::stdlib;

/// A failed `assert*` call. Carried inside a Rhai runtime error so the script position is
/// attached by the engine, and told apart from other errors when printed.
#[derive(Debug, Clone)]
pub struct AssertionFailed(pub String);

/// Builds the runtime error a binding returns; the engine fills in the call position.
pub fn runtime(msg: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(msg.into().into(), Position::NONE).into()
}

pub fn assertion(msg: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(
        rhai::Dynamic::from(AssertionFailed(msg.into())),
        Position::NONE,
    )
    .into()
}

/// The message of an error, without Rhai's "(line x, position y)" suffix.
pub fn message(err: &EvalAltResult) -> String {
    match err {
        EvalAltResult::ErrorRuntime(v, _) if v.is::<AssertionFailed>() => {
            format!("assertion failed: {}", v.clone_cast::<AssertionFailed>().0)
        }
        EvalAltResult::ErrorRuntime(v, _) if v.is_string() => v.to_string(),
        EvalAltResult::ErrorMismatchDataType(want, got, _) => {
            let got = short_type(got);
            if want == "bool" && got == "PingResult" {
                "expected a bool but got a PingResult: test a ping with `.ok` \
                 (if ping(a, b).ok { … }), or use assert(ping(a, b)) / assert_reach(a, b)"
                    .to_string()
            } else {
                format!("expected a value of type {}, got {got}", short_type(want))
            }
        }
        other => strip_position(&other.to_string()),
    }
}

/// Rust type paths (`netsh::script::bindings::probe::PingResult`) as scripts name them.
fn short_type(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// Rhai appends " (line L, position C)" to its messages; we show the position our way.
fn strip_position(text: &str) -> String {
    match text.rfind(" (line ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

pub fn is_assertion(err: &EvalAltResult) -> bool {
    matches!(err.unwrap_inner(), EvalAltResult::ErrorRuntime(v, _) if v.is::<AssertionFailed>())
}

/// Renders an error raised while running `source` (named `name`): the message, then the
/// innermost position — inside a function or an imported module if that is where it
/// happened — with its line and a caret, then the chain of calls and imports that led there.
pub fn render(err: &EvalAltResult, name: &str, source: &str) -> String {
    let mut notes = Vec::new();
    let mut file = name.to_string();
    let mut e = err;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(f, src, inner, pos) => {
                notes.push(format!("in call to {f}() at {}", at(&file, *pos)));
                if !src.is_empty() {
                    file = src.clone();
                }
                e = inner;
            }
            EvalAltResult::ErrorInModule(path, inner, pos) => {
                notes.push(format!(
                    "in module \"{path}\" imported at {}",
                    at(&file, *pos)
                ));
                file = module_file(name, path);
                e = inner;
            }
            _ => break,
        }
    }
    let mut out = String::new();
    let label = if is_assertion(e) { "" } else { "error: " };
    let _ = writeln!(out, "{}{}", label.red().bold(), message(e).bold());
    let text = if file == name {
        Some(source.to_string())
    } else {
        file_text(&file)
    };
    write_location(&mut out, &file, text.as_deref().unwrap_or(""), e.position());
    // A recursion (a module importing itself) repeats one note many times: show it once.
    let mut notes = notes.iter().rev().peekable();
    while let Some(note) = notes.next() {
        let mut times = 1;
        while notes.next_if_eq(&note).is_some() {
            times += 1;
        }
        match times {
            1 => writeln!(out, "   = {note}"),
            n => writeln!(out, "   = {note} ({n} times)"),
        }
        .ok();
    }
    out
}

fn at(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(line), None) => format!("{file}:{line}"),
        _ => file.to_string(),
    }
}

/// Where `import "path"` in the script `name` was read from.
fn module_file(name: &str, path: &str) -> String {
    if stdlib::MODULES.iter().any(|(m, _)| *m == path) {
        return format!("stdlib/{path}.rhai");
    }
    let file = if path.ends_with(".rhai") {
        path.to_string()
    } else {
        format!("{path}.rhai")
    };
    match Path::new(name).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(file).display().to_string(),
        _ => file,
    }
}

fn file_text(file: &str) -> Option<String> {
    if let Some(module) = file
        .strip_prefix("stdlib/")
        .and_then(|f| f.strip_suffix(".rhai"))
    {
        if let Some((_, text)) = stdlib::MODULES.iter().find(|(m, _)| *m == module) {
            return Some(text.to_string());
        }
    }
    std::fs::read_to_string(file).ok()
}

fn write_location(out: &mut String, name: &str, source: &str, pos: Position) {
    let (Some(line), col) = (pos.line(), pos.position().unwrap_or(1)) else {
        let _ = writeln!(out, "  {} {name}", "-->".blue().bold());
        return;
    };
    let _ = writeln!(out, "  {} {name}:{line}:{col}", "-->".blue().bold());
    if let Some(text) = source.lines().nth(line - 1) {
        let gutter = " ".repeat(line.to_string().len());
        let bar = "|".blue().bold();
        let _ = writeln!(out, "{gutter} {bar}");
        let _ = writeln!(out, "{} {bar} {text}", line.to_string().blue().bold());
        let pad: String = text
            .chars()
            .take(col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{gutter} {bar} {pad}{}", "^".red().bold());
    }
}
