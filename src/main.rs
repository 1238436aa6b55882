//! netsh: parse the command line, isolate the process, dispatch. Nothing else lives here.

mod cli;
mod kernel;
mod lab;
mod model;
mod probe;
mod render;
mod repl;
mod sandbox;
mod script;
mod services;

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Parser;
use colored::Colorize;

use cli::{Cli, ColorChoice};
use lab::{Lab, LabOptions};
use script::Session;

/// Exit codes: 0 success, 1 script or assertion failure, 2 usage error.
const FAILURE: u8 = 1;
const USAGE: u8 = 2;

enum Mode {
    Script { name: String, source: String },
    Expr(String),
    Repl,
}

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`netsh script | head`): Rust ignores SIGPIPE, which turns every later print into a
    // panic.
    // SAFETY: restoring the default disposition, before any thread exists.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let cli = Cli::parse();
    set_color(cli.color);

    let mode = match mode(&cli) {
        Ok(m) => m,
        Err(msg) => {
            eprintln!("{} {msg}", "error:".red().bold());
            return ExitCode::from(USAGE);
        }
    };

    // Must come before any thread exists (the tokio runtime is started by the lab).
    if let Err(e) = sandbox::enter() {
        eprintln!("{} {e}", "error:".red().bold());
        return ExitCode::from(FAILURE);
    }
    let lab = match Lab::new(LabOptions { trace: cli.trace }) {
        Ok(lab) => Rc::new(lab),
        Err(e) => {
            eprintln!("{} cannot build the lab: {e}", "error:".red().bold());
            return ExitCode::from(FAILURE);
        }
    };

    match mode {
        Mode::Script { name, source } => {
            let base = Path::new(&name).parent().map(Path::to_path_buf);
            let mut session = Session::new(&lab, base, &cli.args, cli.limits(false));
            match session.eval(&name, &source) {
                Ok(_) => ExitCode::SUCCESS,
                Err(f) => {
                    eprint!("{}", f.rendered);
                    ExitCode::from(FAILURE)
                }
            }
        }
        Mode::Expr(expr) => {
            let mut session = Session::new(&lab, None, &cli.args, cli.limits(false));
            match session.eval("<expr>", &expr) {
                Ok(v) => {
                    if !v.is_unit() {
                        println!("{}", session.display(v));
                    }
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    eprint!("{}", f.rendered);
                    ExitCode::from(FAILURE)
                }
            }
        }
        Mode::Repl => {
            let mut session = Session::new(&lab, None, &cli.args, cli.limits(true));
            ExitCode::from(repl::run(&mut session))
        }
    }
}

fn mode(cli: &Cli) -> Result<Mode, String> {
    if let Some(expr) = &cli.expr {
        return Ok(Mode::Expr(expr.clone()));
    }
    match &cli.script {
        Some(p) if p.as_os_str() != "-" => {
            let source = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read script {}: {e}", p.display()))?;
            Ok(Mode::Script {
                name: p.display().to_string(),
                source,
            })
        }
        stdin_or_none => {
            if stdin_or_none.is_none() && std::io::stdin().is_terminal() {
                return Ok(Mode::Repl);
            }
            let mut source = String::new();
            std::io::stdin()
                .read_to_string(&mut source)
                .map_err(|e| format!("cannot read the script from standard input: {e}"))?;
            Ok(Mode::Script {
                name: "<stdin>".into(),
                source,
            })
        }
    }
}

/// Colour is decided here and nowhere else.
fn set_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    };
    colored::control::set_override(on);
}
