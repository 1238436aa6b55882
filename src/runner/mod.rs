//! `netsh test`: finds lab scripts and their named tests, runs each in a fresh lab of its
//! own (a child netsh process), in parallel, and reports like a test runner.
//!
//! The runner itself never enters a sandbox: it only reads files and starts children. Each
//! child is `netsh --run-test NAME FILE` (or the whole file), which builds its own lab, runs
//! the file's top-level code and the selected test, and writes its outcome as one JSON line
//! to the descriptor named by `NETSH_TEST_RESULT_FD`, so the outcome never depends on what
//! the script printed.

pub mod discover;
pub mod report;
pub mod snapshot;

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::kernel::process::Pidfd;
use discover::{Found, TestId};

/// Exit codes of `netsh test` (and of `netsh SCRIPT`).
pub const PASSED: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const BROKEN: u8 = 3;

/// The environment variable that tells a child where to write its outcome.
pub const RESULT_FD_ENV: &str = "NETSH_TEST_RESULT_FD";
/// The descriptor number the runner gives the child for it.
const RESULT_FD: i32 = 3;

/// How to run a suite (`netsh test --help` describes each).
#[derive(Debug, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    pub timeout: Option<Duration>,
    pub filter: Option<String>,
    pub format: report::Format,
    /// (K, N): run the K-th of N parts (1-based).
    pub shard: Option<(usize, usize)>,
    pub fail_fast: bool,
    pub list: bool,
    pub update: bool,
    pub color: bool,
    /// Extra flags every child gets (limits, `--trace`).
    pub child_args: Vec<String>,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// It could not run: a syntax error, a lab that could not be built, a test not reached.
    Broken,
    Skipped(String),
    TimedOut,
}

/// One test's result, as reports show it.
#[derive(Debug, Clone)]
pub struct Result {
    pub id: TestId,
    pub outcome: Outcome,
    /// Wall time of the whole child, lab included.
    pub time: Duration,
    /// Time the child took to build its lab, when it got that far.
    pub lab_time: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
}

/// What a child writes on its result descriptor.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ChildReport {
    pub outcome: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub lab_ms: Option<f64>,
}

/// Parses `K/N` for `--shard`.
pub fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s}: expected K/N, e.g. 1/3"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: K is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s}: expected 1 <= K <= N"));
    }
    Ok((k, n))
}

/// Runs the suite and returns the exit code: 0 every test passed (or was skipped), 1 a test
/// failed or timed out, 3 a test could not run and none failed, 2 a usage error.
pub fn run(opts: &Options) -> u8 {
    let files = match discover::files(&opts.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return USAGE;
        }
    };
    let mut tests: Vec<TestId> = Vec::new();
    let mut broken: Vec<Result> = Vec::new();
    for file in &files {
        match discover::tests_in(file) {
            Found::Tests(t) => tests.extend(t),
            Found::Broken(id, msg) => {
                tests.push(id.clone());
                broken.push(Result {
                    id,
                    outcome: Outcome::Broken,
                    time: Duration::ZERO,
                    lab_time: None,
                    stdout: String::new(),
                    stderr: format!("{msg}\n"),
                });
            }
        }
    }
    if let Some(f) = &opts.filter {
        tests.retain(|t| t.label().contains(f.as_str()));
    }
    if let Some((k, n)) = opts.shard {
        tests = tests
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, t)| t)
            .collect();
    }
    if opts.list {
        for t in &tests {
            println!("{}", t.label());
        }
        return PASSED;
    }
    broken.retain(|b| tests.contains(&b.id));
    let runnable: Vec<TestId> = tests
        .iter()
        .filter(|t| !broken.iter().any(|b| &b.id == *t))
        .cloned()
        .collect();

    let mut reporter = report::Reporter::new(opts.format, opts.color, tests.len(), opts.jobs);
    reporter.start();
    let mut results: Vec<Result> = Vec::new();
    for b in broken {
        reporter.one(&b);
        results.push(b);
    }
    let queue = Mutex::new(runnable.into_iter().collect::<VecDeque<_>>());
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result>();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find the netsh binary to run tests with: {e}");
            return BROKEN;
        }
    };
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            let tx = tx.clone();
            let (queue, stop, exe) = (&queue, &stop, &exe);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Some(id) = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None) else {
                    break;
                };
                let r = run_one(exe, &id, opts);
                if opts.fail_fast
                    && matches!(
                        r.outcome,
                        Outcome::Failed | Outcome::Broken | Outcome::TimedOut
                    )
                {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send(r).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for r in rx {
            reporter.one(&r);
            results.push(r);
        }
    });
    results.sort_by(|a, b| a.id.cmp(&b.id));
    reporter.finish(&results);
    exit_code(&results)
}

/// 1 when a test failed or timed out, else 3 when one could not run, else 0.
pub fn exit_code(results: &[Result]) -> u8 {
    if results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed | Outcome::TimedOut))
    {
        FAILED
    } else if results.iter().any(|r| r.outcome == Outcome::Broken) {
        BROKEN
    } else {
        PASSED
    }
}

/// Runs one test in a child netsh and waits for it (killing it at the timeout).
fn run_one(exe: &std::path::Path, id: &TestId, opts: &Options) -> Result {
    let start = Instant::now();
    let failed = |msg: String| Result {
        id: id.clone(),
        outcome: Outcome::Broken,
        time: start.elapsed(),
        lab_time: None,
        stdout: String::new(),
        stderr: msg,
    };
    let (report_r, report_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return failed(format!("cannot make a pipe for the test: {e}\n")),
    };
    let mut cmd = Command::new(exe);
    cmd.arg("--color")
        .arg(if opts.color { "always" } else { "never" })
        .args(&opts.child_args);
    if opts.update {
        cmd.arg("--update-snapshots");
    }
    if let Some(name) = &id.name {
        // One word, so that a name starting with `-` is not read as a flag.
        cmd.arg(format!("--run-test={name}"));
    }
    cmd.arg(&id.file)
        .env(RESULT_FD_ENV, RESULT_FD.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let raw = report_w.as_raw_fd();
    // SAFETY: dup2 is async-signal-safe; it gives the child the pipe as descriptor 3 (without
    // close-on-exec, unlike the original).
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::dup2(raw, RESULT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start netsh for the test: {e}\n")),
    };
    drop(report_w);
    // Every source reports on one channel: the three pipes at their end, the child at its
    // exit. A child that has reported and closed its output is done: its process may still
    // be ending (closing a namespace's nftables socket waits for an RCU grace period), and
    // a thread reaps it while the next test starts.
    let (tx, rx) = mpsc::channel::<Event>();
    let send = |make: fn(String) -> Event| {
        let tx = tx.clone();
        move |text: String| {
            let _ = tx.send(make(text));
        }
    };
    if let Some(p) = child.stdout.take() {
        reader(p, send(Event::Stdout));
    }
    if let Some(p) = child.stderr.take() {
        reader(p, send(Event::Stderr));
    }
    reader(std::fs::File::from(report_r), send(Event::Report));
    let killer = ExitWatch::new(child.id());
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Event::Exited(child.wait().ok()));
        });
    }
    drop(tx);
    let deadline = opts.timeout.map(|t| start + t);
    let mut timed_out = false;
    let (mut stdout, mut stderr, mut report) = (None, None, None);
    let mut status = None;
    let mut exited = false;
    loop {
        let reported = report
            .as_deref()
            .and_then(|r: &str| r.lines().last())
            .is_some_and(|l| serde_json::from_str::<ChildReport>(l).is_ok());
        let streams = stdout.is_some() && stderr.is_some() && report.is_some();
        if streams && (exited || reported) {
            break;
        }
        let event = match deadline {
            Some(d) if !timed_out => {
                match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(e) => e,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        // The child's lab goes with it: the kernel frees its namespaces, and
                        // its containers' inits die with it.
                        killer.kill();
                        timed_out = true;
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            _ => match rx.recv() {
                Ok(e) => e,
                Err(_) => break,
            },
        };
        match event {
            Event::Stdout(t) => stdout = Some(t),
            Event::Stderr(t) => stderr = Some(t),
            Event::Report(t) => report = Some(t),
            Event::Exited(s) => {
                status = s;
                exited = true;
            }
        }
    }
    let (stdout, mut stderr, report) = (
        stdout.unwrap_or_default(),
        stderr.unwrap_or_default(),
        report.unwrap_or_default(),
    );
    let parsed: Option<ChildReport> = report
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    let outcome = if timed_out {
        stderr.push_str(&format!(
            "timed out after {:.1} s (raise it with --timeout SECONDS)\n",
            opts.timeout.map(|t| t.as_secs_f64()).unwrap_or_default()
        ));
        Outcome::TimedOut
    } else {
        match parsed.as_ref().map(|r| r.outcome.as_str()) {
            Some("passed") => Outcome::Passed,
            Some("failed") => Outcome::Failed,
            Some("skipped") => Outcome::Skipped(
                parsed
                    .as_ref()
                    .and_then(|r| r.reason.clone())
                    .unwrap_or_default(),
            ),
            Some(_) => Outcome::Broken,
            None => {
                stderr.push_str(&format!(
                    "netsh ended without reporting a result ({})\n",
                    status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "unknown status".into())
                ));
                Outcome::Broken
            }
        }
    };
    Result {
        id: id.clone(),
        outcome,
        time: start.elapsed(),
        lab_time: parsed
            .and_then(|r| r.lab_ms)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        stdout,
        stderr,
    }
}

/// What a test's child sends the runner: its three pipes' contents at their end, its exit.
enum Event {
    Stdout(String),
    Stderr(String),
    Report(String),
    Exited(Option<std::process::ExitStatus>),
}

/// Kills a child by a pidfd (see [`Pidfd`]), which never reaches another process that got
/// the pid after the child was reaped; without one, by pid.
struct ExitWatch {
    pid: u32,
    fd: Option<Pidfd>,
}

impl ExitWatch {
    fn new(pid: u32) -> ExitWatch {
        ExitWatch {
            pid,
            fd: Pidfd::open(pid as nix::libc::pid_t),
        }
    }

    fn kill(&self) {
        match &self.fd {
            Some(fd) => {
                let _ = fd.kill();
            }
            None => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(self.pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Reads `pipe` to its end on a thread of its own and hands the text to `done`.
fn reader(mut pipe: impl Read + Send + 'static, done: impl FnOnce(String) + Send + 'static) {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        done(String::from_utf8_lossy(&buf).into_owned());
    });
}

/// Writes a child's outcome to the runner's descriptor, when there is one (the child side of
/// the protocol above). Does nothing outside `netsh test`.
pub fn report_to_runner(report: &ChildReport) {
    use std::io::Write;
    let Some(fd) = std::env::var(RESULT_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the runner gave us this descriptor for exactly this; it is ours to close.
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    if let Ok(line) = serde_json::to_string(report) {
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!(parse_shard("1/2"), Ok((1, 2)));
        assert_eq!(parse_shard(" 3 / 3 "), Ok((3, 3)));
        for bad in ["0/2", "3/2", "1/0", "x/2", "12"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    fn result(outcome: Outcome) -> Result {
        Result {
            id: TestId {
                file: "a.rhai".into(),
                name: None,
            },
            outcome,
            time: Duration::ZERO,
            lab_time: None,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            exit_code(&[
                result(Outcome::Passed),
                result(Outcome::Skipped("x".into()))
            ]),
            PASSED
        );
        assert_eq!(
            exit_code(&[result(Outcome::Broken), result(Outcome::Passed)]),
            BROKEN
        );
        assert_eq!(
            exit_code(&[result(Outcome::Broken), result(Outcome::Failed)]),
            FAILED
        );
        assert_eq!(exit_code(&[result(Outcome::TimedOut)]), FAILED);
    }
}
