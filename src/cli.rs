//! The command line: what to run and how to show it.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "netsh",
    version,
    about = "A scriptable network-lab shell: real namespaces, veth pairs, bridges and probes, driven by Rhai.",
    long_about = "A scriptable network-lab shell. Every run builds its own lab — a private user \
namespace, a network namespace playing the host, and the namespaces your script creates — \
with real kernel objects, checks it with real packets, and leaves nothing behind.\n\n\
With a SCRIPT, runs it (exit 0 when every assertion holds, 1 when one fails). \
Without one, starts the REPL on a terminal, or runs the script read from standard input.",
    after_help = "Examples:\n  netsh scripts/01-netns-veth.rhai\n  netsh --trace scripts/01-netns-veth.rhai\n  netsh -e 'let a = netns(\"a\"); ip_a(a)'\n  netsh            (REPL; type :help)"
)]
pub struct Cli {
    /// Rhai script to run; `-` reads it from standard input.
    #[arg(value_name = "SCRIPT", conflicts_with = "expr")]
    pub script: Option<PathBuf>,

    /// Arguments passed to the script, visible there as the array ARGS.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,

    /// Evaluate one expression (or statements) and print its value.
    #[arg(short = 'e', long = "eval", value_name = "EXPR")]
    pub expr: Option<String>,

    /// Print every change made to the kernel as the equivalent `ip` command.
    #[arg(long)]
    pub trace: bool,

    /// When to use colours on the terminal.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
