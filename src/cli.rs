//! The command line: what to run and how to show it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::script::limits::{self, Limits};

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

    /// Run only the named `test("NAME", …)` of SCRIPT (how `netsh test` runs each test in a
    /// lab of its own).
    #[arg(long, value_name = "NAME", hide = true)]
    pub run_test: Option<String>,

    /// Rewrite the snapshots `assert_snapshot` compares with.
    #[arg(long, hide = true)]
    pub update_snapshots: bool,
    /// Stop a script (or one REPL entry) that runs longer than this, with an error; the lab
    /// is freed as on any exit. Default: 600 for a script or -e, 60 per REPL entry; 0 = no
    /// limit. Decimals work (0.5).
    #[arg(long, value_name = "SECONDS", value_parser = seconds, help_heading = LIMITS)]
    pub timeout: Option<Duration>,

    /// Most Rhai operations one evaluation may run (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = limits::MAX_OPERATIONS, help_heading = LIMITS)]
    pub max_operations: u64,

    /// Deepest nesting of script function calls (0 = unlimited; netsh still stops a
    /// recursion before it overflows its own stack).
    #[arg(long, value_name = "N", default_value_t = limits::MAX_CALL_DEPTH, help_heading = LIMITS)]
    pub max_call_depth: usize,

    /// Deepest nesting of expressions and blocks in the source (1 to 256: Rhai's optimizer
    /// cannot go deeper safely).
    #[arg(long, value_name = "N", default_value_t = limits::MAX_EXPR_DEPTH,
          value_parser = expr_depth, help_heading = LIMITS)]
    pub max_expr_depth: usize,

    /// Longest string, in bytes (0 = unlimited).
    #[arg(long, value_name = "BYTES", default_value_t = limits::MAX_STRING_SIZE, help_heading = LIMITS)]
    pub max_string_size: usize,

    /// Most elements in one array, nested arrays included (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = limits::MAX_ARRAY_SIZE, help_heading = LIMITS)]
    pub max_array_size: usize,

    /// Most properties in one object map, nested maps included (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = limits::MAX_MAP_SIZE, help_heading = LIMITS)]
    pub max_map_size: usize,

    /// Most heap memory netsh may hold, in MiB (0 = unlimited): a safety net for data that
    /// grows past the other limits' checks.
    #[arg(long, value_name = "MIB", default_value_t = limits::MAX_MEMORY_MIB, help_heading = LIMITS)]
    pub max_memory: usize,
}

const LIMITS: &str = "Limits (a reached limit stops the script with an error naming its flag)";

impl Cli {
    /// The limits the flags ask for; `repl` picks the REPL's default time limit.
    pub fn limits(&self, repl: bool) -> Limits {
        let default_timeout = if repl {
            limits::REPL_TIMEOUT
        } else {
            limits::SCRIPT_TIMEOUT
        };
        Limits {
            timeout: match self.timeout {
                None => Some(default_timeout),
                Some(t) if t.is_zero() => None,
                Some(t) => Some(t),
            },
            max_operations: self.max_operations,
            max_call_depth: self.max_call_depth,
            max_expr_depth: self.max_expr_depth,
            max_string_size: self.max_string_size,
            max_array_size: self.max_array_size,
            max_map_size: self.max_map_size,
            max_memory_mib: self.max_memory,
        }
    }
}

/// `--max-expr-depth`: 1 to `limits::MAX_EXPR_DEPTH_CEILING`.
fn expr_depth(text: &str) -> Result<usize, String> {
    let max = limits::MAX_EXPR_DEPTH_CEILING;
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("expected a depth from 1 to {max}, got \"{text}\""))
}

/// `--timeout`: a non-negative number of seconds, decimals allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got \"{text}\""))?;
    if secs.is_nan() || secs < 0.0 {
        return Err(format!("expected 0 or more seconds, got {text}"));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("{text} seconds is too long (0 means no limit)"))
}

/// `netsh test`: the regression runner.
#[derive(Debug, Parser)]
#[command(
    name = "netsh test",
    about = "Run lab scripts as a test suite: each test in a fresh lab of its own, in parallel.",
    long_about = "Finds *.rhai files under PATHs (default: the current folder; files and folders \
starting with '_' or '.', and snapshots/, are left out) and the named tests in them, \
test(\"name\", || { … }); a file without test(...) is one test. Every test runs in a fresh lab \
of its own, in parallel.\n\n\
Exit codes: 0 every test passed (or was skipped), 1 a test failed or timed out, 2 a usage \
error, 3 a test could not run (syntax error, lab not built) and none failed.",
    after_help = "Examples:\n  netsh test scripts/\n  netsh test --format junit > report.xml\n  netsh test --shard 1/4 --filter router\n  netsh test --update   (rewrite snapshots)"
)]
pub struct TestCli {
    /// Files or folders to search for *.rhai tests.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Tests run at once (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Seconds one test may take (lab included) before it is stopped and counted as failed;
    /// 0 for no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub timeout: f64,

    /// Run only tests whose `file::name` contains PATTERN.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,

    /// How to report.
    #[arg(long, value_enum, default_value_t = crate::runner::report::Format::Pretty)]
    pub format: crate::runner::report::Format,

    /// Run only the K-th of N equal parts of the suite (for CI matrices): `--shard 1/3`.
    #[arg(long, value_name = "K/N", value_parser = crate::runner::parse_shard)]
    pub shard: Option<(usize, usize)>,

    /// Stop starting tests after the first failure.
    #[arg(long)]
    pub fail_fast: bool,

    /// List the tests that would run, one `file::name` a line, and run none.
    #[arg(long)]
    pub list: bool,

    /// Rewrite the snapshots `assert_snapshot` compares with, instead of comparing.
    #[arg(long)]
    pub update: bool,

    /// Print each kernel change of each test (in its output).
    #[arg(long)]
    pub trace: bool,

    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
