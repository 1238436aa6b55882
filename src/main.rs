//! netsh: parse the command line, isolate the process, dispatch. Nothing else lives here.

mod cli;
mod firewall;
mod front;
mod interrupt;
mod kernel;
mod lab;
mod live;
mod model;
mod probe;
mod render;
mod repl;
mod runner;
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

/// Exit codes: 0 success, 1 script or assertion failure, 2 usage error, 3 a script that
/// cannot run (syntax error, lab not built).
const FAILURE: u8 = runner::FAILED;
const USAGE: u8 = runner::USAGE;
const BROKEN: u8 = runner::BROKEN;

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
    if std::env::args_os().nth(1).is_some_and(|a| a == "test") {
        return test_command();
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

    let started = std::time::Instant::now();
    let broken = |msg: String| {
        eprintln!("{} {msg}", "error:".red().bold());
        runner::report_to_runner(&runner::ChildReport {
            outcome: "broken".into(),
            reason: Some(msg),
            lab_ms: None,
        });
        ExitCode::from(BROKEN)
    };
    // Must come before any thread exists (the tokio runtime is started by the lab).
    if let Err(e) = sandbox::enter() {
        return broken(e.to_string());
    }
    let lab = match Lab::new(LabOptions { trace: cli.trace }) {
        Ok(lab) => Rc::new(lab),
        Err(e) => return broken(format!("cannot build the lab: {e}")),
    };
    let lab_ms = started.elapsed().as_secs_f64() * 1000.0;

    match mode {
        Mode::Script { name, source } => {
            let base = Path::new(&name).parent().map(Path::to_path_buf);
            let mut session = Session::new(&lab, base, &cli.args, cli.limits(false));
            let tests = session.tests();
            if name != "<stdin>" {
                *tests.script.borrow_mut() = Some(name.clone().into());
            }
            *tests.only.borrow_mut() = cli.run_test.clone();
            tests.update.set(cli.update_snapshots);
            // On CI a missing snapshot is a failure, not a new golden file.
            tests
                .strict_snapshots
                .set(std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false"));
            let result = session.eval(&name, &source);
            let not_reached = cli
                .run_test
                .as_ref()
                .filter(|_| result.is_ok() && !session.tests().reached.get());
            let (code, outcome, reason) = match (result, not_reached) {
                (Ok(_), Some(t)) => {
                    let msg = format!("test \"{t}\" was not reached in {name}");
                    eprintln!("{} {msg}", "error:".red().bold());
                    (BROKEN, "broken", Some(msg))
                }
                (Ok(_), None) => (0, "passed", None),
                (Err(f), _) => {
                    eprint!("{}", f.rendered);
                    match f.kind {
                        script::FailureKind::Failed => (FAILURE, "failed", None),
                        script::FailureKind::Broken => (BROKEN, "broken", None),
                        script::FailureKind::Skipped(why) => (0, "skipped", Some(why)),
                    }
                }
            };
            runner::report_to_runner(&runner::ChildReport {
                outcome: outcome.into(),
                reason,
                lab_ms: Some(lab_ms),
            });
            ExitCode::from(code)
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
                    ExitCode::from(match f.kind {
                        script::FailureKind::Broken => BROKEN,
                        script::FailureKind::Skipped(_) => 0,
                        script::FailureKind::Failed => FAILURE,
                    })
                }
            }
        }
        Mode::Repl => {
            let mut session = Session::new(&lab, None, &cli.args, cli.limits(true));
            // The session alone holds the lab from here, so `:reset` can drop it whole.
            drop(lab);
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

/// `netsh test …`: parse its own options and run the suite (no lab of its own: every test
/// gets one in a child process).
fn test_command() -> ExitCode {
    let args = std::env::args_os().skip(1);
    let t = cli::TestCli::parse_from(args);
    set_color(t.color);
    // The runner enforces the per-test timeout (and kills a stuck lab whole); the child
    // itself has none.
    let mut child_args = vec!["--timeout".to_string(), "0".to_string()];
    if t.trace {
        child_args.push("--trace".to_string());
    }
    let opts = runner::Options {
        paths: t.paths,
        jobs: t
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1),
        timeout: (t.timeout > 0.0 && t.timeout.is_finite())
            .then(|| std::time::Duration::from_secs_f64(t.timeout)),
        filter: t.filter,
        format: t.format,
        shard: t.shard,
        fail_fast: t.fail_fast,
        list: t.list,
        update: t.update,
        color: colored::control::SHOULD_COLORIZE.should_colorize(),
        child_args,
    };
    ExitCode::from(runner::run(&opts))
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
