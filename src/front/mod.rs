//! Command-line fronts: `docker …`, `ip …`, `brctl …` and `ping …` lines, as a learner types
//! them from the tutorial, parsed into command values (pure: `docker.rs`, `ip.rs`,
//! `tools.rs`, `gotmpl.rs` for `inspect -f`) and carried out against the lab's own objects
//! through the same `Lab` methods as the bindings (`docker_exec.rs`, `run.rs`), so
//! `--trace`, refusals and Docker's model stay one.
//!
//! A front returns what the real program prints on stdout, or a [`Failure`] with what it
//! prints on stderr and its exit status.

pub mod docker;
pub mod docker_exec;
pub mod gotmpl;
pub mod ip;
mod run;
pub mod tools;

pub use run::{brctl, ip, ping, Env};

/// A command that failed as the real program fails: its stderr (without the final newline),
/// what it had printed on stdout before (ping's statistics), and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: i32,
    pub stderr: String,
    pub stdout: String,
    /// The script's deadline (`--timeout`) stopped the command: the caller raises the
    /// deadline's error rather than this failure.
    pub deadline: bool,
}

impl Failure {
    /// A failure with nothing on stdout.
    pub fn new(status: i32, stderr: impl Into<String>) -> Failure {
        Failure {
            status,
            stderr: stderr.into(),
            stdout: String::new(),
            deadline: false,
        }
    }
}

/// What a front returns: stdout on success.
pub type Outcome = Result<String, Failure>;

/// Splits a command line into words as a POSIX shell does (quotes, backslashes), with the
/// shell's own complaint when it cannot (`unexpected EOF while looking for matching "'"`):
/// status 2, as `sh -c` exits on a syntax error.
pub fn words(line: &str) -> Result<Vec<String>, Failure> {
    shlex::split(line).ok_or_else(|| {
        Failure::new(
            2,
            format!("netsh: cannot split {line:?} into words: an unclosed quote or a trailing backslash"),
        )
    })
}

/// iproute2's `matches(arg, keyword)`: `arg` is a non-empty prefix of `keyword` (so `a`,
/// `addr` and `address` all name `address`).
pub fn matches(arg: &str, keyword: &str) -> bool {
    !arg.is_empty() && keyword.starts_with(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            words("exec ns1 sh -c 'echo hi'").unwrap(),
            ["exec", "ns1", "sh", "-c", "echo hi"]
        );
        assert_eq!(words("a\\ b").unwrap(), ["a b"]);
        assert_eq!(words("'open").unwrap_err().status, 2);
    }

    #[test]
    fn prefixes_match_keywords() {
        assert!(matches("a", "address"));
        assert!(matches("addr", "address"));
        assert!(!matches("", "address"));
        assert!(!matches("addrx", "address"));
    }
}
