//! The REPL on a real terminal: netsh started on a fresh pseudo-terminal (its controlling
//! terminal, so a typed Ctrl-C reaches it as SIGINT), typed to, and read back until what a
//! test waits for shows up.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;

use super::As;

/// How long a wait for the terminal may last before the test fails: it only bounds a hang
/// (a loaded machine may be slow; each wait ends as soon as its text shows).
const HANG: Duration = Duration::from_secs(120);

/// Reads from the terminal until `want` shows up (or fails after a generous deadline that
/// only bounds a hang).
pub fn read_until(master: &mut std::fs::File, seen: &mut String, want: &str) {
    read_until_from(master, seen, 0, want);
}

/// Reads from the terminal until `want` shows up in `seen` at or after byte `from`.
pub fn read_until_from(master: &mut std::fs::File, seen: &mut String, from: usize, want: &str) {
    read_while(master, seen, want, |seen| !seen[from..].contains(want));
}

/// Reads from the terminal while `more` says so of what it showed; `what` names what is
/// awaited, for the failure.
fn read_while(
    master: &mut std::fs::File,
    seen: &mut String,
    what: &str,
    more: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + HANG;
    let mut buf = [0u8; 4096];
    let mut bytes = Vec::new();
    while more(seen) {
        assert!(
            Instant::now() < deadline,
            "the REPL never printed {what:?}; it printed:\n{seen}"
        );
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // A character may arrive in two reads: decode whole ones only.
                bytes.extend_from_slice(&buf[..n]);
                let upto = match std::str::from_utf8(&bytes) {
                    Ok(_) => bytes.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    Err(_) => bytes.len(),
                };
                seen.push_str(&String::from_utf8_lossy(&bytes[..upto]));
                bytes.drain(..upto);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Wait for output (or the deadline check above, every 100 ms).
                let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::from(100u16)).expect("poll the terminal");
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => break,
            Err(e) => panic!("reading the terminal: {e}"),
        }
    }
}

/// A REPL on a fresh pseudo-terminal, its history in a temporary state directory.
pub struct Repl {
    pub child: std::process::Child,
    pub master: std::fs::File,
    /// What the terminal showed (tests empty it to wait for what comes next).
    pub seen: String,
    pub state: tempfile::TempDir,
}

/// A REPL as the current user on a `dumb` terminal; returns once the first prompt is shown.
pub fn start_repl(flags: &[&str]) -> Repl {
    start_repl_on(flags, "dumb")
}

/// A REPL on a terminal of type `term` (`dumb` turns line editing off; completion needs a
/// real one).
pub fn start_repl_on(flags: &[&str], term: &str) -> Repl {
    start_repl_as(As::Me, flags, term)
}

/// A REPL run by `user` on a terminal of type `term`.
pub fn start_repl_as(user: As, flags: &[&str], term: &str) -> Repl {
    let pty = openpty(None, None).expect("openpty");
    // openpty leaves both ends inheritable: netsh must not hold the master too, or when a
    // test fails and drops its end, netsh never sees the terminal close and waits for input
    // forever.
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .expect("close-on-exec");
    let slave: OwnedFd = pty.slave;
    let mut cmd = super::netsh()
        .user(user)
        .args(["--color", "never"])
        .args(flags)
        .command();
    let state = tempfile::tempdir_in(super::public_dir()).expect("state dir");
    if user == As::Nobody {
        // Where netsh saves its history.
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod the state dir");
    }
    cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave))
        .env("XDG_STATE_HOME", state.path())
        .env("TERM", term);
    // The pseudo-terminal becomes netsh's controlling terminal, as a shell's is, so a typed
    // Ctrl-C reaches it as SIGINT.
    // SAFETY: setsid and ioctl are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn netsh");
    let mut master = std::fs::File::from(pty.master);
    nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .expect("nonblocking");
    let mut seen = String::new();
    read_until(&mut master, &mut seen, "netsh> ");
    Repl {
        child,
        master,
        seen,
        state,
    }
}

/// Types `line` and Enter, then reads until `want` appears.
pub fn say(repl: &mut Repl, line: &str, want: &str) {
    type_line(repl, line);
    read_until(&mut repl.master, &mut repl.seen, want);
}

/// Types `line` and Enter, and waits for the prompt that follows what it printed; returns
/// that (the terminal's `\r\n` line ends kept), without the echo of the line and the prompt.
/// A prompt shown late for an earlier entry does not count.
pub fn run(repl: &mut Repl, line: &str) -> String {
    at_prompt(repl);
    repl.seen.clear();
    type_line(repl, line);
    after_echo(repl, line)
}

/// Waits until the last thing the terminal shows is the prompt: the REPL waits for a line.
/// (The terminal echoes what is typed at once, so a line typed earlier, while the previous
/// entry still runs, shows before that entry's prompt.)
pub fn at_prompt(repl: &mut Repl) {
    read_while(&mut repl.master, &mut repl.seen, "netsh> ", |seen| {
        !seen.ends_with("netsh> ")
    });
}

/// What `line`, typed and echoed, printed up to the prompt after it (see [`run`]).
pub fn after_echo(repl: &mut Repl, line: &str) -> String {
    let echo = format!("{line}\r\n");
    read_until(&mut repl.master, &mut repl.seen, &echo);
    let start = repl.seen.find(&echo).expect("the echo") + echo.len();
    read_until_from(&mut repl.master, &mut repl.seen, start, "netsh> ");
    let out = &repl.seen[start..];
    out[..out.rfind("netsh> ").expect("the prompt")].to_string()
}

/// Types `line` and Enter.
pub fn type_line(repl: &mut Repl, line: &str) {
    repl.master.write_all(line.as_bytes()).expect("type");
    repl.master.write_all(b"\r").expect("enter");
}

/// Types Ctrl-C (the terminal sends SIGINT to its foreground process group: netsh).
pub fn ctrl_c(repl: &mut Repl) {
    repl.master.write_all(&[3]).expect("Ctrl-C");
}

/// Types Ctrl-D and checks that netsh leaves with success.
pub fn leave(mut repl: Repl) -> Repl {
    repl.master.write_all(&[4]).expect("Ctrl-D");
    let status = repl.child.wait().expect("wait");
    assert!(status.success(), "{status:?}\n{}", repl.seen);
    repl
}

/// The parent of process `pid`, from its `/proc` status.
pub fn parent(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("PPid:"))?;
    line[5..].trim().parse().ok()
}

/// The processes netsh started (its children and theirs): a lab's container inits,
/// programs and their relays.
pub fn descendants(netsh: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let mut p = pid;
            (0..8).any(|_| match parent(p) {
                Some(up) if up == netsh => true,
                Some(up) if up > 1 => {
                    p = up;
                    false
                }
                _ => false,
            })
        })
        .collect()
}
