//! Runs the real netsh binary, as the current user and — when the suite runs as root — also
//! as an unprivileged user, since netsh must need no root.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod leftovers;
pub mod pty;

/// Rhai helpers for scripts that drive the docker front: `refused(line, status, text)`
/// runs `docker(line)`, which must fail with that exit status and an error containing
/// `text`, and returns the error.
pub const DOCKER_PRELUDE: &str = r#"
fn refused(line, status, text) {
    let out = ();
    try { out = docker(line); } catch (e) {
        if !e.contains(text) { fail(`${line}: expected "${text}", got: ${e}`); }
        if docker_status() != status { fail(`${line}: status ${docker_status()}, expected ${status}`); }
        return e;
    }
    fail(`${line} was accepted: ${out}`);
}
"#;

/// The unprivileged account used when the suite runs as root (`nobody`).
pub const NOBODY: (u32, u32) = (65534, 65534);

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Who runs netsh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum As {
    Me,
    Nobody,
}

/// The users every behaviour is checked as: ourselves, plus `nobody` when we are root.
pub fn users() -> Vec<As> {
    if is_root() {
        vec![As::Me, As::Nobody]
    } else {
        vec![As::Me]
    }
}

/// The checkout whose scripts/ are tested. `NETSH_TEST_REPO` and `NETSH_TEST_BIN` point the
/// compiled suite at another copy — how .ci/run reruns it as an unprivileged user.
pub fn repo() -> PathBuf {
    std::env::var_os("NETSH_TEST_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn binary() -> PathBuf {
    std::env::var_os("NETSH_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_netsh")))
}

/// Whether `nobody` can reach `path`: every directory on the way is searchable by others.
fn others_can_traverse(path: &Path) -> bool {
    path.ancestors().all(|dir| {
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o001 != 0)
    })
}

/// Whether `nobody` can run the file at `path`.
fn others_can_run(path: &Path) -> bool {
    path.parent().is_some_and(others_can_traverse)
        && std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o005 == 0o005)
}

/// The directory the public copy goes into: cargo's scratch directory under target/ when
/// `nobody` can reach it and we can write it (nothing then lands in /tmp), else the system's
/// temporary directory.
fn public_parent() -> PathBuf {
    let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let usable = std::fs::create_dir_all(&target_tmp).is_ok()
        && others_can_traverse(&target_tmp)
        && nix::unistd::access(&target_tmp, nix::unistd::AccessFlags::W_OK).is_ok();
    if usable {
        target_tmp
    } else {
        std::env::temp_dir()
    }
}

/// The public copy, removed when this test process exits (statics are never dropped, so an
/// `atexit` hook does it). A copy left by a test process that was killed is swept by the next
/// one: its name carries the pid of a process that no longer exists.
static PUBLIC_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_public_copy() {
    if let Some(dir) = PUBLIC_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Removes `netsh-test-<pid>-*` directories under `parent` whose test process is gone.
fn sweep_stale_copies(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("netsh-test-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let owned = entry.metadata().is_ok_and(|m| m.uid() == me);
        if owned && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A world-readable copy of the scripts (and, through [`public_program`], of the binary when
/// `nobody` could not run it where cargo built it), so `nobody` can run them even when the checkout lives under a
/// private home directory. It lives under target/ when `nobody` can reach that, else in
/// /tmp; either way it is removed when the test process exits.
fn public_copy() -> &'static Path {
    PUBLIC_DIR.get_or_init(|| {
        let parent = public_parent();
        sweep_stale_copies(&parent);
        let dir = tempfile::Builder::new()
            .prefix(&format!("netsh-test-{}-", std::process::id()))
            .tempdir_in(&parent)
            .expect("create a temporary directory")
            .keep();
        // SAFETY: registers a plain function with no captured state.
        unsafe { nix::libc::atexit(remove_public_copy) };
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temporary directory");
        let scripts = dir.join("scripts");
        std::fs::create_dir(&scripts).expect("mkdir scripts");
        std::fs::set_permissions(&scripts, std::fs::Permissions::from_mode(0o755))
            .expect("chmod scripts");
        for entry in std::fs::read_dir(repo().join("scripts")).expect("read scripts/") {
            let path = entry.expect("scripts entry").path();
            if path.is_file() {
                let to = scripts.join(path.file_name().expect("file name"));
                std::fs::copy(&path, &to).expect("copy script");
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644))
                    .expect("chmod script");
            }
        }
        dir
    })
}

/// The netsh binary the tests run: the one cargo built when `nobody` can run it there, else
/// a copy in the public directory.
pub fn netsh_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| public_program(&binary())).clone()
}

/// `program` as anyone can run it: itself when others can, else a copy in the public
/// directory (removed at exit). For programs the lab runs with `exec`, whose identity outside
/// may be an unprivileged one.
pub fn public_program(program: &Path) -> PathBuf {
    if others_can_run(program) {
        return program.to_path_buf();
    }
    // One copy at a time: a test must not run a copy another is still writing.
    static COPYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = COPYING.lock().unwrap_or_else(|p| p.into_inner());
    let copy = public_copy().join(program.file_name().expect("program file name"));
    if !copy.exists() {
        std::fs::copy(program, &copy).expect("copy program");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
            .expect("chmod program");
    }
    copy
}

/// The public directory tests may write scripts and state into (world-readable, removed at
/// exit).
pub fn public_dir() -> &'static Path {
    public_copy()
}

/// A seed for a test's randomness: `$var` when set (to repeat a run), else a fresh one.
/// Print it, so that a failure can be reproduced.
pub fn seed(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// Waits until `cond` holds, checking it again and again; fails naming `what` when it still
/// does not hold after `deadline`. The deadline only bounds a hang: choose it generously, a
/// loaded machine may be slow, and the wait ends as soon as the condition holds.
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    wait_for(what, deadline, || {
        if cond() {
            Ok(())
        } else {
            Err(String::new())
        }
    })
}

/// Like [`wait_until`] for a check that says what is still wrong: waits until `check`
/// returns `Ok`, and returns its value; fails with `what` and the last error after
/// `deadline`.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(2);
    loop {
        let last = match check() {
            Ok(value) => return value,
            Err(e) => e,
        };
        assert!(
            Instant::now() < end,
            "still not the case after {deadline:?}: {what}\n{last}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Every script under scripts/, sorted.
pub fn scripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("scripts"))
        .expect("read scripts/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    v.sort();
    v
}

/// A world-readable temporary file with `content` (for scripts made by tests).
pub fn temp_script(name: &str, content: &str) -> PathBuf {
    let path = public_copy().join(name);
    std::fs::write(&path, content).expect("write temp script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    path
}

/// A netsh invocation being built.
pub struct Netsh {
    args: Vec<String>,
    stdin: Option<String>,
    user: As,
    env: Vec<(String, String)>,
}

pub fn netsh() -> Netsh {
    Netsh {
        args: Vec::new(),
        stdin: None,
        user: As::Me,
        env: Vec::new(),
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "netsh failed:\n{}\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn stdout_has(self, s: &str) -> Self {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn stderr_has(self, s: &str) -> Self {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}:\n{}",
            self.stderr
        );
        self
    }
}

impl Netsh {
    pub fn arg(mut self, a: impl AsRef<str>) -> Self {
        self.args.push(a.as_ref().to_string());
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        for a in args {
            self.args.push(a.as_ref().to_string());
        }
        self
    }
    pub fn stdin(mut self, s: &str) -> Self {
        self.stdin = Some(s.to_string());
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn user(mut self, user: As) -> Self {
        self.user = user;
        self
    }
    /// `-e EXPR` with colours off.
    pub fn eval(self, expr: &str) -> Self {
        self.args(["--color", "never", "-e", expr])
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(netsh_binary());
        cmd.args(&self.args)
            .current_dir(public_copy())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The suite may itself run on CI: a test decides for itself whether netsh sees it.
        cmd.env_remove("CI");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if self.user == As::Nobody {
            cmd.uid(NOBODY.0).gid(NOBODY.1).env("HOME", "/nonexistent");
        }
        cmd
    }

    /// Runs netsh to its end and collects its output.
    ///
    /// Output is read until netsh has exited and its pipes are closed. A pipe still open long
    /// after netsh exited means that something netsh started outlived it and holds netsh's
    /// output: that fails the test (naming the leftover) instead of hanging it.
    pub fn run(self) -> Run {
        let mut cmd = self.command();
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().expect("spawn netsh");
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        let stdout = read_all(child.stdout.take().expect("stdout pipe"));
        let stderr = read_all(child.stderr.take().expect("stderr pipe"));
        let status = child.wait().expect("wait for netsh");
        let collect = |rx: Receiver<Vec<u8>>, which: &str| -> String {
            let bytes = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "netsh exited ({status}) but a process it started still holds its {which} \
                     a minute later: left behind"
                    )
                });
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: collect(stdout, "stdout"),
            stderr: collect(stderr, "stderr"),
        }
    }
}

/// Reads `pipe` to its end on a thread of its own; the bytes arrive on the channel.
fn read_all(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// The path of a script as seen from the public copy.
pub fn public_script(path: &Path) -> PathBuf {
    public_copy()
        .join("scripts")
        .join(path.file_name().expect("script file name"))
}

/// Runs `setup`, then each of `cases` (an operation and the exact message it must fail
/// with), checking after each that the lab's Docker views are unchanged.
pub fn refused(setup: &str, cases: &[(&str, &str)]) {
    let mut script = format!(
        "{setup}\n\
         fn views() {{ [network_ls(), containers(), host().link_names(), brctl_show()] }}\n\
         let before = views();\n"
    );
    for (i, (op, _)) in cases.iter().enumerate() {
        script.push_str(&format!(
            "let failed = false;\n\
             try {{ {op}; }} catch (e) {{ print(`REFUSED {i}: ${{e}}|`); failed = true; }}\n\
             assert(failed, \"accepted: {}\");\n\
             assert_eq(views(), before, \"the lab changed\");\n",
            op.replace('"', "\\\"")
        ));
    }
    let mut run = netsh().eval(&script).run().success();
    for (i, (_, message)) in cases.iter().enumerate() {
        run = run.stdout_has(&format!("REFUSED {i}: {message}|"));
    }
}
