//! Limits: a runaway script — endless loop, doubling string, endless recursion, a blocked
//! binding — ends with an error that names the limit and the flag raising it, exit code 1,
//! never an abort; the flags raise or remove the limits.

mod common;

use std::time::Duration;

use common::{netsh, temp_script, users, As, Run};

/// A limit error: exit 1, the message, a position, and no sign of a crash.
fn limit_error(run: Run, message: &str, flag: &str) -> Run {
    let run = run.code(1).stderr_has(message).stderr_has(flag);
    for crash in [
        "overflowed its stack",
        "panicked",
        "memory allocation",
        "Aborted",
    ] {
        assert!(
            !run.stderr.contains(crash),
            "netsh crashed ({crash}):\n{}",
            run.stderr
        );
    }
    run
}

fn eval(user: As, flags: &[&str], expr: &str) -> Run {
    netsh().user(user).args(flags).eval(expr).run()
}

#[test]
fn a_script_past_its_timeout_stops_with_an_error() {
    // Each user's runs at once: the budgets below leave the lines that build the lab
    // seconds to spare on a loaded machine, where a netlink request can wait long for the
    // kernel's rtnl lock, so a run lasts its whole budget.
    std::thread::scope(|s| {
        for user in users() {
            s.spawn(move || past_its_timeout(user));
        }
    });
}

/// Each way a script can outlast its budget, as `user`.
fn past_its_timeout(user: As) {
    // Busy in the engine: the deadline is checked between operations.
    let run = eval(
        user,
        &["--timeout", "3"],
        "let n = netns(\"n\"); print(\"built\");\nloop {}",
    );
    let run = limit_error(
        run,
        "the script ran longer than 3 s, its time limit",
        "--timeout SECONDS raises it, --timeout 0 removes it",
    );
    assert!(run.stdout.contains("built"), "{}", run.stdout);
    assert!(run.stderr.contains("<expr>:2:"), "{}", run.stderr);

    // Blocked in a binding: sleep and exec wait no longer than the deadline.
    let run = eval(user, &["--timeout", "0.5"], "let x = 1;\nsleep(100000000)");
    limit_error(run, "ran longer than 0.5 s", "--timeout").stderr_has("<expr>:2:1");
    let run = eval(
        user,
        &["--timeout", "3"],
        "let n = netns(\"n\");\nexec(n, \"sleep 1000\", #{timeout: 100000000})",
    );
    limit_error(run, "ran longer than 3 s", "--timeout").stderr_has("<expr>:2:1");
    // A ping that nobody answers, with a wait far beyond the deadline.
    let start = std::time::Instant::now();
    let run = eval(
        user,
        &["--timeout", "3"],
        "let a = netns(\"a\"); a.veth(\"va\", netns(\"b\"), \"vb\");\n\
         a.addr(\"va\", \"10.0.0.1/24\"); a.up(\"va\");\n\
         ping(a, \"10.0.0.2\", #{count: 1000, interval: 100000, timeout: 100000000})",
    );
    limit_error(run, "ran longer than 3 s", "--timeout").stderr_has("<expr>:3:1");
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(3), "stopped after {took:?}");
}

#[test]
fn no_timeout_leaves_the_other_limits() {
    for user in users() {
        eval(user, &["--timeout", "0"], "sleep(10); 41 + 1")
            .success()
            .stdout_has("42");
        let run = eval(
            user,
            &["--timeout", "0", "--max-operations", "10000"],
            "loop {}",
        );
        limit_error(
            run,
            "the script ran more than 10000 operations, its limit",
            "--max-operations N raises it, 0 removes it",
        );
    }
}

#[test]
fn bad_limit_values_are_usage_errors() {
    for (flag, value, says) in [
        ("--timeout", "-1", "0 or more seconds"),
        ("--timeout", "soon", "a number of seconds"),
        ("--timeout", "1e300", "too long"),
        ("--max-expr-depth", "0", "from 1 to 256"),
        ("--max-expr-depth", "1000", "from 1 to 256"),
        ("--max-operations", "-5", "--max-operations"),
    ] {
        let run = netsh()
            .arg(format!("{flag}={value}"))
            .args(["-e", "1"])
            .run()
            .code(2);
        assert!(
            run.stderr.contains(says) && run.stderr.contains(flag),
            "{flag} {value}:\n{}",
            run.stderr
        );
    }
    let help = netsh().arg("--help").run().success();
    for flag in [
        "--timeout <SECONDS>",
        "--max-operations <N>",
        "--max-call-depth <N>",
        "--max-expr-depth <N>",
        "--max-string-size <BYTES>",
        "--max-array-size <N>",
        "--max-map-size <N>",
        "--max-memory <MIB>",
    ] {
        assert!(
            help.stdout.contains(flag),
            "--help lacks {flag}:\n{}",
            help.stdout
        );
    }
    assert!(help.stdout.contains("0 = unlimited"), "{}", help.stdout);
}

#[test]
fn growing_data_stops_at_the_size_limits() {
    for user in users() {
        // The default limit: 2^40 bytes would exhaust the machine.
        let run = eval(
            user,
            &[],
            "let s = \"x\"; for i in 0..40 { s += s; }\ns.len()",
        );
        limit_error(
            run,
            "a string grew beyond 67108864 bytes, the limit",
            "--max-string-size BYTES raises it, 0 removes it",
        )
        .stderr_has("<expr>:1:");

        let run = eval(
            user,
            &["--max-string-size", "1000"],
            "let s = \"x\"; for i in 0..40 { s += s; }",
        );
        limit_error(run, "beyond 1000 bytes", "--max-string-size");
        eval(
            user,
            &["--max-string-size", "2000"],
            "let s = \"x\"; for i in 0..10 { s += s; }\ns.len()",
        )
        .success()
        .stdout_has("1024");

        let run = eval(
            user,
            &["--max-array-size", "100"],
            "let a = []; for i in 0..1000 { a.push(i); }",
        );
        limit_error(
            run,
            "an array grew beyond 100 elements",
            "--max-array-size N",
        );
        // Keys added one by one grow a map past Rhai's checks: the memory limit stops it.
        let run = eval(
            user,
            &["--max-memory", "100"],
            "let big = \"\"; big.pad(100000, \"x\"); let m = #{}; let i = 0;\n\
             loop { m[`key ${i}`] = big + i; i += 1; }",
        );
        limit_error(
            run,
            "netsh's memory grew beyond 100 MiB, the limit",
            "--max-memory MIB raises it, 0 removes it",
        )
        .stderr_has("<expr>:2:");
        let run = eval(
            user,
            &["--max-map-size", "10"],
            // (Rhai checks a map's size when it is used, not when `m[k] = v` adds a key.)
            "let m = #{}; for i in 0..1000 { m[`k${i}`] = i; }\nm.len()",
        );
        limit_error(
            run,
            "an object map grew beyond 10 properties",
            "--max-map-size N",
        );
    }
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    for user in users() {
        let run = eval(user, &[], "fn f(x) { f(x+1) }\nf(0)");
        limit_error(
            run,
            "function calls nest deeper than 64 levels, the limit",
            "--max-call-depth N raises it, 0 removes it",
        )
        .stderr_has("<expr>:2:1");

        eval(
            user,
            &["--max-call-depth", "100"],
            "fn f(x) { if x == 0 { 0 } else { 1 + f(x - 1) } }\nf(90)",
        )
        .success()
        .stdout_has("90");

        // No call limit: netsh still stops before its own stack runs out.
        let run = eval(user, &["--max-call-depth", "0"], "fn f(x) { f(x+1) }\nf(0)");
        limit_error(run, "too deeply for netsh's stack", "endless recursion?");

        // A module importing itself: the same, with the chain of imports shown once.
        let script = temp_script(
            "limits-self-import.rhai",
            "import \"limits-self-import\";\n",
        );
        let run = netsh()
            .user(user)
            .args(["--color", "never"])
            .arg(script.display().to_string())
            .run();
        let run = limit_error(run, "too deeply for netsh's stack", "endless recursion?");
        assert!(
            run.stderr.contains("times)") && run.stderr.lines().count() < 20,
            "{}",
            run.stderr
        );

        // Nesting in the source: refused by the parser, at any allowed depth.
        let deep = format!("{}1{}", "(".repeat(50), ")".repeat(50));
        let run = eval(user, &[], &deep);
        limit_error(
            run,
            "expressions or blocks nest deeper than 64 levels, the limit",
            "--max-expr-depth N raises it",
        );
        eval(user, &["--max-expr-depth", "200"], &deep)
            .success()
            .stdout_has("1");
        let deeper = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let run = eval(user, &["--max-expr-depth", "256"], &deeper);
        limit_error(run, "256 levels", "--max-expr-depth");
    }
}

#[test]
fn a_stack_as_large_as_allowed_still_ends_a_recursion_early() {
    use std::os::unix::process::CommandExt;
    for user in users() {
        let mut cmd = netsh()
            .user(user)
            .args(["--max-call-depth", "0"])
            .eval("fn f(x) { f(x+1) }\nf(0)")
            .command();
        // SAFETY: getrlimit and setrlimit are async-signal-safe; only the child's limit changes.
        unsafe {
            cmd.pre_exec(|| {
                // As large as the hard limit allows (unlimited on most machines).
                let mut lim = nix::libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if nix::libc::getrlimit(nix::libc::RLIMIT_STACK, &mut lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                lim.rlim_cur = lim.rlim_max;
                if nix::libc::setrlimit(nix::libc::RLIMIT_STACK, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run netsh");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        limit_error(run, "too deeply for netsh's stack", "endless recursion?");
    }
}
