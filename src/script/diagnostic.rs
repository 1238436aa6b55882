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
        EvalAltResult::ErrorRuntime(v, _) if v.is::<super::bindings::testing::Skipped>() => {
            format!(
                "skipped: {}",
                v.clone_cast::<super::bindings::testing::Skipped>().0
            )
        }
        EvalAltResult::ErrorRuntime(v, _) if v.is_string() => v.to_string(),
        EvalAltResult::ErrorMismatchDataType(want, got, _) => {
            let got = short_type(got);
            if want == "bool" && got == "PingResult" {
                "expected a bool but got a PingResult: test a ping with `.ok` \
                 (if ping(a, b).ok { … }), or use assert(ping(a, b)) / assert_reach(a, b)"
                    .to_string()
            } else {
                format!("expected {}, got {}", type_words(want), type_words(got))
            }
        }
        EvalAltResult::ErrorFunctionNotFound(signature, _) => function_not_found(signature),
        EvalAltResult::ErrorParsing(rhai::ParseErrorType::VariableUndefined(name), _)
            if super::help::BINDINGS
                .iter()
                .any(|b| b.on.is_none() && b.name == name) =>
        {
            // `ip netns add a` in a script: the REPL's command lines are calls here.
            let usages: Vec<&str> = super::help::BINDINGS
                .iter()
                .filter(|b| b.on.is_none() && b.name == name)
                .map(|b| b.usage)
                .collect();
            format!(
                "{name} is a function, not a variable: call it as {}",
                usages.join(" or ")
            )
        }
        EvalAltResult::ErrorParsing(rhai::ParseErrorType::VariableUndefined(name), _) => {
            let names = super::help::BINDINGS
                .iter()
                .filter(|b| b.on.is_none())
                .map(|b| b.name.to_string());
            match super::help::did_you_mean(name, names) {
                None => format!("unknown variable {name} (no `let {name} = …` before this line)"),
                Some(hint) => format!("unknown variable {name} — {hint}"),
            }
        }
        EvalAltResult::ErrorDotExpr(text, _) if text.starts_with("Unknown property '") => {
            unknown_property(text)
        }
        // `No writable property 'name' - a setter is not registered for type 'Netns' …`
        EvalAltResult::ErrorDotExpr(text, _) if text.starts_with("No writable property '") => {
            let mut quoted = text.split('\'').skip(1).step_by(2);
            match (quoted.next(), quoted.next()) {
                (Some(prop), Some(ty)) => format!(
                    "the {prop} of {} cannot be changed this way",
                    type_words(ty)
                ),
                _ => strip_position(text),
            }
        }
        // `Indexer unavailable: Netns [i64]`
        EvalAltResult::ErrorIndexingType(what, _) => match what.split_once(" [") {
            Some((ty, index)) => format!(
                "{} cannot be indexed with [{}]",
                type_words(ty),
                type_words(index.trim_end_matches(']'))
            ),
            None => strip_position(&format!("cannot index {}", type_words(what))),
        },
        other => strip_position(&other.to_string()),
    }
}

/// Rust type paths (`netsh::script::bindings::probe::PingResult`) as scripts name them.
fn short_type(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// A value's type as a script's author would say it: `an integer`, `a string`, `a
/// namespace` — never `i64`, `ImmutableString` or a Rust path. Takes Rhai's type names
/// (`Dynamic::type_name`, the types in a function signature).
pub fn type_words(name: &str) -> String {
    let name = name.trim();
    if name.contains('|') {
        // `&str | ImmutableString | String`: one type under several Rust names.
        return type_words(name.split('|').next().unwrap_or(name));
    }
    let words = match short_type(name.trim_start_matches('&').trim_start_matches("mut ")) {
        "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "INT" => "an integer",
        "f64" | "f32" | "FLOAT" => "a decimal number",
        "str" | "string" | "String" | "ImmutableString" => "a string",
        "bool" => "a bool",
        "char" => "a character",
        "()" => "nothing (())",
        "array" | "Array" | "Vec<Dynamic>" => "an array",
        "map" | "Map" => "a map",
        "Fn" | "FnPtr" => "a function",
        "Dynamic" | "?" => "any value",
        "Netns" => "a namespace",
        "Container" | "ContainerRef" => "a container",
        "Network" | "NetworkRef" => "a network",
        "Link" | "LinkInfo" => "a link",
        "PingResult" => "a ping result",
        "timestamp" | "Instant" => "a timestamp",
        other => return other.to_string(),
    };
    words.to_string()
}

/// Rhai's `Function not found: netns (i64)` in the script's terms: what was given, and
/// how the binding is called.
fn function_not_found(signature: &str) -> String {
    let (name, args) = match signature.split_once(" (") {
        Some((name, args)) => (name.trim(), args.strip_suffix(')').unwrap_or(args)),
        None => (signature.trim(), ""),
    };
    let given: Vec<String> = args
        .split(", ")
        .filter(|a| !a.trim().is_empty())
        .map(type_words)
        .collect();
    let given = if given.is_empty() {
        "no arguments".to_string()
    } else {
        format!("({})", given.join(", "))
    };
    let usages: Vec<&str> = super::help::BINDINGS
        .iter()
        // A module's functions are called as `topo::name`, never as `name`.
        .filter(|b| {
            b.name == name && b.usage.contains('(') && b.topic != super::help::Topic::Modules
        })
        .map(|b| b.usage)
        .collect();
    if usages.is_empty() {
        let names = super::help::BINDINGS
            .iter()
            .filter(|b| b.usage.contains('('))
            .map(|b| b.name.to_string());
        match super::help::did_you_mean(name, names) {
            None => format!("no function {name}() that takes {given}"),
            Some(hint) => format!("unknown function {name} — {hint}"),
        }
    } else {
        format!("{name}() cannot take {given}; use {}", usages.join(" or "))
    }
}

/// Rhai's `Unknown property 'foo' - a getter is not registered for type 'i64'` in the
/// script's terms, with the properties the type has when netsh knows them.
fn unknown_property(text: &str) -> String {
    let mut quoted = text.split('\'').skip(1).step_by(2);
    let (Some(prop), ty) = (quoted.next(), quoted.next()) else {
        return strip_position(text);
    };
    let ty = ty.map(short_type).unwrap_or("?");
    let props: Vec<&str> = super::help::BINDINGS
        .iter()
        .filter(|b| b.on == Some(ty))
        .map(|b| b.name)
        .collect();
    let hint = super::help::did_you_mean(prop, props.iter().map(|p| p.to_string()));
    let mut msg = format!("{} has no property {prop}", type_words(ty));
    if let Some(hint) = hint {
        msg.push_str(&format!(" — {hint}"));
    } else if !props.is_empty() {
        msg.push_str(&format!(" (it has: {})", props.join(", ")));
    }
    msg
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
                // Closures are compiled to functions named `anon$<hash>`: say what they are.
                if f.starts_with("anon$") {
                    notes.push(format!("in the closure called at {}", at(&file, *pos)));
                } else {
                    notes.push(format!("in call to {f}() at {}", at(&file, *pos)));
                }
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
