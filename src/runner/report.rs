//! What `netsh test` prints: a line per test as it ends (pretty), TAP 13, or JUnit XML.

use std::time::Duration;

use colored::Colorize;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, Result};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A line per test with its time, the failures in full, then `N passed, N failed`.
    Pretty,
    /// The Test Anything Protocol, version 13.
    Tap,
    /// JUnit XML, as CI systems read it (each test's output included).
    Junit,
}

pub struct Reporter {
    format: Format,
    color: bool,
    total: usize,
    jobs: usize,
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// `N passed, N failed` (`, N skipped` when any): timeouts and tests that could not run count
/// as failed.
pub fn summary(results: &[Result]) -> String {
    let passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Passed)
        .count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let failed = results.len() - passed - skipped;
    let mut s = format!("{passed} passed, {failed} failed");
    if skipped > 0 {
        s.push_str(&format!(", {skipped} skipped"));
    }
    s
}

impl Reporter {
    pub fn new(format: Format, color: bool, total: usize, jobs: usize) -> Reporter {
        Reporter {
            format,
            color,
            total,
            jobs,
        }
    }

    pub fn start(&self) {
        match self.format {
            Format::Pretty => println!(
                "running {} test{} ({} at a time, each in a lab of its own)",
                self.total,
                if self.total == 1 { "" } else { "s" },
                self.jobs
            ),
            Format::Tap => println!("TAP version 13\n1..{}", self.total),
            Format::Junit => {}
        }
    }

    /// A test ended (pretty: printed at once; the others print at the end, in order).
    pub fn one(&mut self, r: &Result) {
        if self.format != Format::Pretty {
            return;
        }
        let (word, tail) = match &r.outcome {
            Outcome::Passed => ("ok".green().to_string(), String::new()),
            Outcome::Failed => ("FAILED".red().bold().to_string(), String::new()),
            Outcome::Broken => ("BROKEN".red().bold().to_string(), " (could not run)".into()),
            Outcome::TimedOut => ("TIMEOUT".red().bold().to_string(), String::new()),
            Outcome::Skipped(why) => ("skipped".yellow().to_string(), format!(" ({why})")),
        };
        // `colored` pads the escape codes too, so pad by hand to the visible width.
        let pad = " ".repeat(8usize.saturating_sub(visible_len(&word, self.color)));
        println!(
            "{word}{pad}{}{tail}  {}",
            r.id.label(),
            secs(r.time).dimmed()
        );
    }

    pub fn finish(&self, results: &[Result]) {
        match self.format {
            Format::Pretty => self.finish_pretty(results),
            Format::Tap => finish_tap(results),
            Format::Junit => print!("{}", junit(results)),
        }
    }

    fn finish_pretty(&self, results: &[Result]) {
        let bad: Vec<&Result> = results
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::Failed | Outcome::Broken | Outcome::TimedOut
                )
            })
            .collect();
        if !bad.is_empty() {
            println!("\nfailures:");
            for r in bad {
                println!("\n--- {} ---", r.id.label().bold());
                print!("{}", r.stderr);
                if !r.stderr.ends_with('\n') && !r.stderr.is_empty() {
                    println!();
                }
            }
        }
        let mut labs: Vec<Duration> = results.iter().filter_map(|r| r.lab_time).collect();
        labs.sort();
        let total: Duration = results.iter().map(|r| r.time).sum();
        println!();
        if !labs.is_empty() {
            println!(
                "lab start-up: {} median per test ({} of {} test time in all)",
                ms(labs[labs.len() / 2]),
                ms(labs.iter().sum()),
                ms(total)
            );
        }
        println!("{}", summary(results));
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn visible_len(s: &str, color: bool) -> usize {
    if !color {
        return s.chars().count();
    }
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

fn finish_tap(results: &[Result]) {
    for (i, r) in results.iter().enumerate() {
        let n = i + 1;
        let label = r.id.label().replace('#', "\\#");
        match &r.outcome {
            Outcome::Passed => println!("ok {n} - {label}"),
            Outcome::Skipped(why) => println!("ok {n} - {label} # SKIP {why}"),
            other => {
                println!("not ok {n} - {label}");
                println!("  ---");
                println!(
                    "  outcome: {}",
                    match other {
                        Outcome::Broken => "broken",
                        Outcome::TimedOut => "timeout",
                        _ => "failed",
                    }
                );
                println!("  message: |");
                for line in r.stderr.lines() {
                    println!("    {line}");
                }
                println!("  ...");
            }
        }
    }
    println!("# {}", summary(results));
}

/// JUnit XML: a test suite per script file, a test case per test, its output in
/// `system-out`/`system-err`.
pub fn junit(results: &[Result]) -> String {
    let mut report = Report::new("netsh");
    let mut files: Vec<&std::path::Path> = results.iter().map(|r| r.id.file.as_path()).collect();
    files.dedup();
    for file in files {
        let mut suite = TestSuite::new(file.display().to_string());
        for r in results.iter().filter(|r| r.id.file == file) {
            let name =
                r.id.name
                    .clone()
                    .unwrap_or_else(|| file.display().to_string());
            let status = match &r.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::Skipped(why) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(why.as_str());
                    s
                }
                other => {
                    let kind = if *other == Outcome::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    let first = r.stderr.lines().next().unwrap_or("failed").to_string();
                    s.set_message(first);
                    s.set_type(match other {
                        Outcome::Broken => "broken",
                        Outcome::TimedOut => "timeout",
                        _ => "assertion",
                    });
                    s.set_description(r.stderr.as_str());
                    s
                }
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(file.display().to_string());
            case.set_time(r.time);
            case.set_system_out(r.stdout.as_str());
            case.set_system_err(r.stderr.as_str());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"))
}
