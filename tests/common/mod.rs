//! Runs the real netsh binary, as the current user and — when the suite runs as root — also
//! as an unprivileged user, since netsh must need no root.

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

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

/// A world-readable copy of the binary and the scripts, so `nobody` can run them even when
/// the checkout lives under a private home directory.
fn public_copy() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("netsh-test-")
            .tempdir()
            .expect("create a temporary directory")
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temporary directory");
        let bin = dir.join("netsh");
        std::fs::copy(binary(), &bin).expect("copy netsh");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
            .expect("chmod netsh");
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
        let mut cmd = Command::new(public_copy().join("netsh"));
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
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("wait for netsh");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// The path of a script as seen from the public copy.
pub fn public_script(path: &Path) -> PathBuf {
    public_copy()
        .join("scripts")
        .join(path.file_name().expect("script file name"))
}
