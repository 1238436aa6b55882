//! Running a real program inside a container, the way `docker exec` does.
//!
//! A container here is a network namespace held by netsh as a file descriptor, plus three
//! files Docker would bind-mount into it: `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`.
//! The program runs in a child process that, between `fork` and `exec`:
//!
//! 1. asks to be killed when netsh goes (`PR_SET_PDEATHSIG`), and exits at once if netsh
//!    already went;
//! 2. joins the container's network namespace (`setns`);
//! 3. takes a private mount namespace and UTS namespace of its own (`unshare`), so the
//!    mounts and the hostname below are seen by this program (and its children) only;
//! 4. lays the container's three files over the machine's with bind mounts;
//! 5. sets the hostname.
//!
//! Nothing of this reaches the machine: the mount namespace is owned by netsh's user
//! namespace, its mounts are private (no propagation back), the files live in a tmpfs
//! that exists only in memory, and the kernel frees all of it with the last process inside.
//! The machine's `/etc` is never written.
//!
//! ## Why a tmpfs and not memfds
//!
//! A memfd would be the natural home for the files, but it cannot be the source of a bind
//! mount: it lives on the kernel's internal shm mount, which belongs to no mount namespace,
//! and `mount(MS_BIND)` refuses (`EINVAL`) a source outside the caller's mount namespace. So
//! the child mounts a small tmpfs in its *new* mount namespace for a moment (over `/tmp`),
//! writes the three files there, binds them onto `/etc/…`, and detaches the tmpfs again:
//! the bind mounts keep the tmpfs alive, and the program sees the machine's `/tmp` as usual.
//!
//! ## Threads and the parent-death signal
//!
//! netsh is multi-threaded, so the child is set up with `CommandExt::pre_exec`, which runs
//! in the forked child where only async-signal-safe work is allowed (another thread may have
//! held the allocator's lock at the moment of `fork`). Everything the child needs — paths,
//! file contents, the hostname — is prepared before spawning; the child only makes raw
//! syscalls.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not when the
//! process does. [`exec`] and [`spawn_background`] must therefore be called from a
//! long-lived thread — netsh calls them from its main thread — never from a short-lived
//! helper thread such as a namespace excursion in `netns.rs`: the program would be killed
//! the moment that thread ends.
//!
//! The signal reaches the program itself, not processes it starts (the kernel clears the
//! setting in children). So programs run in a PID namespace per container whose init
//! ([`Init`]) dies with netsh: whatever a program leaves running — a background job, a
//! daemon that called setsid — lives on like in a Docker container, and is killed by the
//! kernel with the namespace when the container goes or netsh ends, however it ends.
//! [`exec`] also kills the program's whole process group when it times out.

use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, open, FcntlArg, OFlag};
// netsh reaches libc through nix's re-export (no direct dependency).
use nix::libc;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::{killpg, Signal};
use nix::sys::stat::{fchmod, Mode};
use nix::unistd::{getppid, pipe2, sethostname, Pid};

/// What to run, and the container to run it in.
pub struct ExecSpec<'a> {
    /// The container's network namespace.
    pub netns: BorrowedFd<'a>,
    /// The container's hostname (Docker uses the short container id).
    pub hostname: &'a str,
    /// Contents of the container's `/etc/hosts`.
    pub hosts: &'a str,
    /// Contents of the container's `/etc/resolv.conf`.
    pub resolv_conf: &'a str,
    /// Program and arguments; `argv[0]` is looked up in `PATH` unless it contains a `/`.
    pub argv: &'a [String],
    /// How long [`exec`] lets the program run (ignored by [`spawn_background`]).
    pub timeout: Duration,
    /// Bytes for the program's standard input; `None` gives it `/dev/null`
    /// (ignored by [`spawn_background`], whose input is always `/dev/null`).
    pub stdin: Option<&'a [u8]>,
    /// The PID namespace to start the program in (see [`Init`]); `None` leaves it in
    /// netsh's.
    pub pidns: Option<BorrowedFd<'a>>,
}

/// The init process of a PID namespace made for one container. Programs `exec` starts
/// there run as its descendants: when a program ends, whatever it left running (a
/// background job, a daemon that called setsid) is reparented to this init and keeps
/// running, as in a Docker container; when the init dies — the container is removed, or
/// netsh ends in any way, SIGKILL included — the kernel kills everything in the namespace
/// (pid_namespaces(7)).
///
/// The init is the child of a small relay process netsh forks; the relay dies with netsh's
/// main thread (PR_SET_PDEATHSIG), the init with the relay.
pub struct Init {
    relay: libc::pid_t,
    pidns: OwnedFd,
}

impl Init {
    /// Forks the relay and its init. Must be called from netsh's main thread (the
    /// parent-death signal follows the forking thread).
    pub fn start() -> io::Result<Init> {
        let (ready_r, ready_w) = pipe2(OFlag::O_CLOEXEC)?;
        // SAFETY: the children make only raw, async-signal-safe syscalls before they end:
        // netsh is multi-threaded, and another thread may hold a lock at the fork.
        let relay = unsafe { libc::fork() };
        if relay < 0 {
            return Err(io::Error::last_os_error());
        }
        if relay == 0 {
            // SAFETY: only syscalls; the function never returns.
            unsafe { relay_and_init(ready_w.as_raw_fd()) }
        }
        drop(ready_w);
        // The relay reports (one byte) once it has unshared and forked the init.
        let mut byte = [0u8; 1];
        let got = nix::unistd::read(&ready_r, &mut byte).map_err(io::Error::from)?;
        if got != 1 {
            // SAFETY: reaps our own child, which has failed.
            unsafe { libc::waitpid(relay, std::ptr::null_mut(), 0) };
            return Err(io::Error::other(
                "cannot start the container's init (PID namespace)",
            ));
        }
        let pidns = File::open(format!("/proc/{relay}/ns/pid_for_children"))?.into();
        Ok(Init { relay, pidns })
    }

    pub fn pidns(&self) -> BorrowedFd<'_> {
        self.pidns.as_fd()
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        // The init dies with the relay, and everything in the namespace with the init.
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(self.relay, libc::SIGKILL);
            libc::waitpid(self.relay, std::ptr::null_mut(), 0);
        }
    }
}

/// The relay's and the init's code, in the freshly forked relay.
///
/// # Safety
/// Runs in a child forked from a multi-threaded process: raw syscalls only, no return.
unsafe fn relay_and_init(ready: RawFd) -> ! {
    libc::prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        0,
        0,
        0,
    );
    // Everything but the ready pipe: the relay holds none of netsh's descriptors.
    libc::syscall(libc::SYS_close_range, 3u32, (ready - 1).max(3) as u32, 0u32);
    libc::syscall(libc::SYS_close_range, (ready + 1) as u32, u32::MAX, 0u32);
    if libc::unshare(libc::CLONE_NEWPID) != 0 {
        libc::_exit(1);
    }
    let init = libc::fork();
    if init < 0 {
        libc::_exit(1);
    }
    if init == 0 {
        // PID 1: reap every orphan until the relay goes.
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        libc::close(ready);
        loop {
            if libc::waitpid(-1, std::ptr::null_mut(), 0) < 0 {
                // No child yet; SIGCHLD is ignored by default, so poll.
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 200_000_000,
                };
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
        }
    }
    libc::write(ready, [1u8].as_ptr().cast(), 1);
    libc::close(ready);
    // Stay as long as the init does (and die with netsh, taking it along).
    libc::waitpid(init, std::ptr::null_mut(), 0);
    libc::_exit(0)
}

/// What a program run by [`exec`] printed, and how it ended.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// Exit code, or 128 + signal number when the program was killed by a signal
    /// (137 when the timeout killed it), as a shell reports it.
    pub code: i32,
    /// The deadline passed while the program ran or something it started still held its
    /// output open; its process group was killed.
    pub timed_out: bool,
    /// Stdout or stderr was longer than `OUTPUT_LIMIT` and was cut there.
    pub truncated: bool,
}

/// Where `PATH` lookups go when netsh's environment has none (Docker's default `PATH`).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The longest hostname the kernel accepts (`HOST_NAME_MAX`); longer fails with `EINVAL`.
const HOST_NAME_MAX: usize = 64;

/// Each of stdout and stderr keeps at most this much; the rest is read and dropped, so a
/// program printing without end until its timeout cannot exhaust netsh's memory.
const OUTPUT_LIMIT: usize = 16 << 20;

/// How long output is still drained after the timeout killed the process group. Only a
/// process that left the group (`setsid`) can keep a pipe open longer; it is abandoned.
const KILL_GRACE: Duration = Duration::from_millis(250);

/// How often to look for the program's exit once it has closed its output (a closed pipe
/// gives `poll` nothing more to wait on).
const REAP_INTERVAL: Duration = Duration::from_millis(5);

/// Most bytes read from one pipe per wake-up, so a chatty program cannot keep the loop
/// from checking the deadline.
const READ_BURST: usize = 1 << 20;

/// The files a container sees instead of the machine's, in the order of `ChildSetup::files`.
const TARGETS: [&CStr; 3] = [c"/etc/hosts", c"/etc/resolv.conf", c"/etc/hostname"];

/// Directories the scratch tmpfs may be mounted over for a moment, with the paths of the
/// three staged files under each; the first that exists is used. `/tmp` exists on every
/// Debian machine, `/dev` on every Linux one (stdio is already set up when it is covered).
const STAGING: [(&CStr, [&CStr; 3]); 2] = [
    (
        c"/tmp",
        [c"/tmp/hosts", c"/tmp/resolv.conf", c"/tmp/hostname"],
    ),
    (
        c"/dev",
        [c"/dev/hosts", c"/dev/resolv.conf", c"/dev/hostname"],
    ),
];

/// Runs `spec.argv` inside the container and waits for it (at most `spec.timeout`).
///
/// Stdout and stderr are captured (up to 16 MiB each, decoded lossily as UTF-8); both are
/// read as they come, and stdin is written as the program accepts it, so a program that
/// prints a lot before reading cannot deadlock against netsh. The program runs in a process
/// group of its own; when the timeout passes, the whole group gets `SIGKILL`.
///
/// Must be called from a long-lived thread (see the module documentation). Relies on
/// `SIGPIPE` being ignored, as Rust's runtime arranges, when the program stops reading its
/// input early.
///
/// Errors: `NotFound` naming the program when it is not in `PATH`, `InvalidInput` for an
/// empty `argv` or an unusable hostname, or the kernel's refusal of a setup step, naming it.
pub fn exec(spec: &ExecSpec<'_>) -> io::Result<ExecOutput> {
    let start = Instant::now();
    // A timeout too large for `Instant` means "no practical limit".
    let deadline = start
        .checked_add(spec.timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600));
    let mut prepared = prepare(spec)?;
    prepared
        .cmd
        .stdin(match spec.stdin {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = prepared.spawn()?;
    match collect(&mut child, spec.stdin.unwrap_or_default(), deadline) {
        Ok(out) => Ok(out),
        Err(e) => {
            // Never leave a program running unsupervised, nor an unreaped zombie.
            kill_group(&mut child);
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Starts `spec.argv` inside the container and returns at once: for servers that run for the
/// rest of the lab. Stdin, stdout and stderr are `/dev/null`; `spec.timeout` and
/// `spec.stdin` are ignored.
///
/// The program dies with netsh (`PR_SET_PDEATHSIG`), however netsh ends, provided the
/// calling thread lives as long as netsh (see the module documentation). It leads a process
/// group of its own: `killpg(child.id())` stops it with any helpers it started. The caller
/// should `wait` for it once stopped, or the kernel keeps a zombie until netsh exits.
pub fn spawn_background(spec: &ExecSpec<'_>) -> io::Result<Child> {
    let mut prepared = prepare(spec)?;
    prepared
        .cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    prepared.spawn()
}

/// A command ready to spawn: the in-child setup is attached, everything it needs is
/// allocated.
struct Prepared {
    cmd: Command,
    program: String,
    /// Read end of the pipe on which a failing child names its failed step.
    report_rx: OwnedFd,
    /// Write end, held open until `spawn` returns so its number stays valid in the child.
    report_tx: OwnedFd,
}

fn prepare(spec: &ExecSpec<'_>) -> io::Result<Prepared> {
    let Some(program) = spec.argv.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no program to run",
        ));
    };
    if spec.hostname.len() > HOST_NAME_MAX || spec.hostname.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "hostname {:?} is not usable (at most {HOST_NAME_MAX} bytes, no NUL)",
                spec.hostname
            ),
        ));
    }
    let path = resolve(program)?;
    // Close-on-exec: a successful exec closes the child's copy, so the parent reads EOF.
    // Non-blocking: the parent must never hang on it (another thread's fork may briefly
    // hold a copy of the write end).
    let (report_rx, report_tx) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    let setup = ChildSetup {
        parent: std::process::id() as libc::pid_t,
        netns: spec.netns.as_raw_fd(),
        report: report_tx.as_raw_fd(),
        pidns: spec.pidns.map(|p| p.as_raw_fd()),
        files: [
            spec.hosts.as_bytes().to_vec(),
            spec.resolv_conf.as_bytes().to_vec(),
            format!("{}\n", spec.hostname).into_bytes(),
        ],
        hostname: spec.hostname.to_string(),
    };
    let mut cmd = Command::new(path);
    cmd.arg0(program)
        .args(&spec.argv[1..])
        // Its own process group, so a timeout can kill everything the program started,
        // and a Ctrl-C meant for netsh's prompt does not hit it directly.
        .process_group(0);
    // SAFETY: `ChildSetup::run` only makes async-signal-safe syscalls on data prepared
    // above; it neither allocates nor takes locks.
    unsafe {
        cmd.pre_exec(move || setup.run());
    }
    Ok(Prepared {
        cmd,
        program: program.clone(),
        report_rx,
        report_tx,
    })
}

impl Prepared {
    fn spawn(self) -> io::Result<Child> {
        let Prepared {
            mut cmd,
            program,
            report_rx,
            report_tx,
        } = self;
        let spawned = cmd.spawn();
        drop(report_tx);
        spawned.map_err(|e| {
            let mut byte = [0u8; 1];
            let step = match nix::unistd::read(&report_rx, &mut byte) {
                Ok(1) => Step::from_byte(byte[0]),
                _ => None,
            };
            let message = match step {
                Some(step) => format!(
                    "cannot run {program:?} in the container: {} failed: {e}",
                    step.what()
                ),
                None => format!("cannot run {program:?}: {e}"),
            };
            io::Error::new(e.kind(), message)
        })
    }
}

/// Finds `program` the way `execvp` would, but in the parent, so that "not found" is told
/// apart from a failing setup step and named in words. `PATH` is netsh's own.
fn resolve(program: &str) -> io::Result<PathBuf> {
    if program.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot run \"\": empty program name",
        ));
    }
    if program.contains('/') {
        // A path is used as given; exec reports it if it is missing.
        return Ok(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    for dir in std::env::split_paths(&path) {
        // An empty PATH entry means the current directory, as for execvp.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("cannot run {program:?}: not found in PATH"),
    ))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The steps of the in-child setup, reported to the parent as one byte when one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    DeathSignal = 1,
    EnterNetns,
    Unshare,
    MakePrivate,
    MountScratch,
    WriteFile,
    BindFile,
    UnmountScratch,
    Hostname,
    EnterPidns,
}

impl Step {
    const ALL: [Step; 10] = [
        Step::DeathSignal,
        Step::EnterNetns,
        Step::Unshare,
        Step::MakePrivate,
        Step::MountScratch,
        Step::WriteFile,
        Step::BindFile,
        Step::UnmountScratch,
        Step::Hostname,
        Step::EnterPidns,
    ];

    fn from_byte(b: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u8 == b)
    }

    fn what(self) -> &'static str {
        match self {
            Step::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
            Step::EnterNetns => "setns(CLONE_NEWNET) into the container's network namespace",
            Step::Unshare => "unshare(CLONE_NEWNS | CLONE_NEWUTS)",
            Step::MakePrivate => "making all mounts private (mount --make-rprivate /)",
            Step::MountScratch => "mounting a scratch tmpfs for the container's /etc files",
            Step::WriteFile => "writing the container's /etc files",
            Step::BindFile => "bind-mounting the container's /etc files",
            Step::UnmountScratch => "detaching the scratch tmpfs",
            Step::Hostname => "sethostname",
            Step::EnterPidns => "setns(CLONE_NEWPID) into the container's PID namespace",
        }
    }
}

/// Everything the child needs, prepared in the parent: `run` touches only these.
struct ChildSetup {
    /// netsh's pid, to notice that netsh died before the parent-death signal was armed.
    parent: libc::pid_t,
    /// The container's network namespace (the parent's descriptor, still open in the child
    /// until exec closes it).
    netns: RawFd,
    /// Write end of the step-report pipe.
    report: RawFd,
    /// The container's PID namespace, if it has an init.
    pidns: Option<RawFd>,
    /// Contents of `TARGETS`, in order.
    files: [Vec<u8>; 3],
    hostname: String,
}

impl ChildSetup {
    /// Runs in the forked child before exec. Async-signal-safe only: raw syscalls on data
    /// prepared beforehand; no allocation (errors are plain errno values), no locks.
    fn run(&self) -> io::Result<()> {
        // Armed first, so no later step can leave an orphan behind. The signal is tied to
        // the forking thread; see the module documentation.
        nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
            .map_err(|e| self.fail(Step::DeathSignal, e))?;
        // If netsh died between fork and prctl, the signal will never come: we were
        // already reparented, and getppid shows it.
        if getppid().as_raw() != self.parent {
            // SAFETY: _exit is async-signal-safe and ends only this child.
            unsafe { libc::_exit(1) };
        }
        // SAFETY: the descriptor belongs to the parent's `ExecSpec`, which outlives the
        // spawn; the child has its own copy of the descriptor table.
        let netns = unsafe { BorrowedFd::borrow_raw(self.netns) };
        setns(netns, CloneFlags::CLONE_NEWNET).map_err(|e| self.fail(Step::EnterNetns, e))?;
        // A new mount namespace starts as a copy of netsh's (the machine's mounts), a new
        // UTS namespace as a copy of its hostname; both are owned by netsh's user namespace,
        // where netsh has CAP_SYS_ADMIN, so mounting and sethostname are allowed there.
        unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS)
            .map_err(|e| self.fail(Step::Unshare, e))?;
        // Copied mounts keep their propagation type: a shared `/` would carry our bind
        // mounts back to the machine's namespace. Private stops that in both directions.
        mount(
            None::<&CStr>,
            c"/",
            None::<&CStr>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&CStr>,
        )
        .map_err(|e| self.fail(Step::MakePrivate, e))?;
        let (scratch, staged) = self.mount_scratch()?;
        for (i, content) in self.files.iter().enumerate() {
            self.write_file(staged[i], content)?;
            match mount(
                Some(staged[i]),
                TARGETS[i],
                None::<&CStr>,
                MsFlags::MS_BIND,
                None::<&CStr>,
            ) {
                // A machine without the file (or with a dangling symlink in its place, such
                // as resolv.conf pointing to a stopped resolver) keeps it missing.
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(self.fail(Step::BindFile, e)),
            }
        }
        // The bind mounts keep the tmpfs alive; detaching it uncovers the directory below,
        // so the program sees the machine's /tmp as everyone else does.
        umount2(scratch, MntFlags::MNT_DETACH).map_err(|e| self.fail(Step::UnmountScratch, e))?;
        sethostname(OsStr::new(&self.hostname)).map_err(|e| self.fail(Step::Hostname, e))?;
        match self.pidns {
            Some(pidns) => self.enter_pid_namespace(pidns),
            None => Ok(()),
        }
    }

    /// Starts the program inside the container's PID namespace. `setns` only places this
    /// process's *children* there, so it forks: the child goes on to exec the program; this
    /// process stays outside as a relay that waits for it and ends the same way (it is what
    /// netsh waits for, and what a timeout kills, together with the program's group).
    fn enter_pid_namespace(&self, pidns: RawFd) -> io::Result<()> {
        // SAFETY: the descriptor is the parent's, open until exec.
        let ns = unsafe { BorrowedFd::borrow_raw(pidns) };
        setns(ns, CloneFlags::CLONE_NEWPID).map_err(|e| self.fail(Step::EnterPidns, e))?;
        // SAFETY: fork is async-signal-safe; both sides make only raw syscalls afterwards.
        match unsafe { libc::fork() } {
            -1 => Err(self.fail(Step::EnterPidns, Errno::last())),
            0 => {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
                    .map_err(|e| self.fail(Step::DeathSignal, e))?;
                // A /proc of the container's PID namespace, so `ps` inside shows the
                // container's processes. Best effort: the machine's /proc stays otherwise.
                let _ = mount(
                    Some(c"proc"),
                    c"/proc",
                    Some(c"proc"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                    None::<&CStr>,
                );
                Ok(())
            }
            program => {
                // The relay never execs: drop every descriptor beyond stdio (the spawn's
                // close-on-exec status pipe among them) so netsh sees a successful start.
                // SAFETY: closes only this process's descriptors.
                unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
                let mut status: libc::c_int = 0;
                loop {
                    // SAFETY: waits for our own child, writing into a local.
                    let r = unsafe { libc::waitpid(program, &mut status, 0) };
                    if r == program || (r < 0 && Errno::last() != Errno::EINTR) {
                        break;
                    }
                }
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    1
                };
                // SAFETY: _exit ends only the relay.
                unsafe { libc::_exit(code) }
            }
        }
    }

    /// Mounts an in-memory tmpfs over the first existing staging directory; returns it and
    /// the staged file paths under it.
    fn mount_scratch(&self) -> io::Result<(&'static CStr, [&'static CStr; 3])> {
        let mut last = Errno::ENOENT;
        for (dir, staged) in STAGING {
            match mount(
                Some(c"tmpfs"),
                dir,
                Some(c"tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some(c"mode=0755"),
            ) {
                Ok(()) => return Ok((dir, staged)),
                Err(e @ (Errno::ENOENT | Errno::ENOTDIR)) => last = e,
                Err(e) => return Err(self.fail(Step::MountScratch, e)),
            }
        }
        Err(self.fail(Step::MountScratch, last))
    }

    fn write_file(&self, path: &CStr, mut content: &[u8]) -> io::Result<()> {
        let fd = open(
            path,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map_err(|e| self.fail(Step::WriteFile, e))?;
        // The umask may have taken bits away from the mode given to open.
        fchmod(&fd, Mode::from_bits_truncate(0o644)).map_err(|e| self.fail(Step::WriteFile, e))?;
        while !content.is_empty() {
            match nix::unistd::write(&fd, content) {
                Ok(n) => content = &content[n..],
                Err(Errno::EINTR) => {}
                Err(e) => return Err(self.fail(Step::WriteFile, e)),
            }
        }
        Ok(())
    }

    /// Tells the parent which step failed (one byte; a pipe never splits it), and turns the
    /// errno into the error std passes back from `spawn`.
    fn fail(&self, step: Step, e: Errno) -> io::Error {
        let byte = [step as u8];
        // SAFETY: write(2) is async-signal-safe; the descriptor is the pipe's write end.
        // Nothing useful can be done if it fails: the errno still reaches the parent.
        unsafe { libc::write(self.report, byte.as_ptr().cast(), 1) };
        io::Error::from(e)
    }
}

/// One output pipe of the program and what came out of it.
struct Sink {
    pipe: Option<File>,
    data: Vec<u8>,
    /// Bytes past `OUTPUT_LIMIT` were dropped.
    cut: bool,
}

impl Sink {
    fn new(pipe: Option<impl Into<OwnedFd>>) -> io::Result<Sink> {
        Ok(Sink {
            pipe: pipe.map(nonblocking).transpose()?,
            data: Vec::new(),
            cut: false,
        })
    }

    /// Reads what is there now (up to `READ_BURST`); closes the pipe at end of file.
    fn drain(&mut self, chunk: &mut [u8]) -> io::Result<()> {
        let mut taken = 0;
        while let Some(pipe) = &mut self.pipe {
            match pipe.read(chunk) {
                Ok(0) => self.pipe = None,
                Ok(n) => {
                    let room = OUTPUT_LIMIT.saturating_sub(self.data.len());
                    self.data.extend_from_slice(&chunk[..n.min(room)]);
                    self.cut |= n > room;
                    taken += n;
                    if taken >= READ_BURST {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Makes our end of a pipe non-blocking (the child's end is a separate open file
/// description, so the program is not affected).
fn nonblocking(fd: impl Into<OwnedFd>) -> io::Result<File> {
    let fd: OwnedFd = fd.into();
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(File::from(fd))
}

/// Feeds stdin, drains stdout and stderr and watches the clock in one `poll` loop, until the
/// program has exited and its output is closed, or the deadline has passed.
fn collect(child: &mut Child, input: &[u8], deadline: Instant) -> io::Result<ExecOutput> {
    let mut stdin = child.stdin.take().map(nonblocking).transpose()?;
    let mut written = 0;
    let mut out = Sink::new(child.stdout.take())?;
    let mut err = Sink::new(child.stderr.take())?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status: Option<ExitStatus> = None;
    let mut killed_at: Option<Instant> = None;
    loop {
        if written == input.len() {
            // All given: closing the pipe is the program's end of file.
            stdin = None;
        }
        if status.is_none() {
            status = child.try_wait()?;
        }
        if status.is_some() {
            // Nobody will read it any more.
            stdin = None;
        }
        let output_open = out.pipe.is_some() || err.pipe.is_some();
        if status.is_some() && !output_open {
            break;
        }
        let now = Instant::now();
        // Past the deadline, the program still runs, or something it started still holds
        // its output: kill the whole group, then drain what is left for a moment.
        if killed_at.is_none() && now >= deadline {
            kill_group(child);
            killed_at = Some(now);
        }
        let until = match killed_at {
            Some(at) => at + KILL_GRACE,
            None => deadline,
        };
        if killed_at.is_some() && now >= until {
            // Only a process that left the group can still hold the output; give up on it.
            break;
        }
        let mut wait = until.saturating_duration_since(now);
        if !output_open {
            // The program closed its output but has not exited: nothing to poll, so look
            // for its exit again soon.
            wait = wait.min(REAP_INTERVAL);
        }

        let readable = PollFlags::POLLIN;
        let mut fds = Vec::with_capacity(3);
        let mut roles = Vec::with_capacity(3);
        if let Some(p) = &out.pipe {
            fds.push(PollFd::new(p.as_fd(), readable));
            roles.push(Role::Out);
        }
        if let Some(p) = &err.pipe {
            fds.push(PollFd::new(p.as_fd(), readable));
            roles.push(Role::Err);
        }
        if let Some(p) = &stdin {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLOUT));
            roles.push(Role::In);
        }
        match poll(&mut fds, poll_timeout(wait)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        // POLLHUP and POLLERR count as ready: the read or write then reports what happened.
        let ready: Vec<Role> = fds
            .iter()
            .zip(&roles)
            .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, role)| *role)
            .collect();
        drop(fds);
        for role in ready {
            match role {
                Role::Out => out.drain(&mut chunk)?,
                Role::Err => err.drain(&mut chunk)?,
                Role::In => {
                    if let Some(pipe) = &mut stdin {
                        match pipe.write(&input[written..]) {
                            Ok(n) => written += n,
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                                ) => {}
                            // The program closed its input without reading it all.
                            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                                written = input.len()
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
    }
    let status = match status {
        Some(s) => s,
        // Killed above; a SIGKILLed process is reaped promptly.
        None => child.wait()?,
    };
    Ok(ExecOutput {
        stdout: out.text(),
        stderr: err.text(),
        code: exit_code(status),
        timed_out: killed_at.is_some(),
        truncated: out.cut || err.cut,
    })
}

#[derive(Clone, Copy)]
enum Role {
    In,
    Out,
    Err,
}

/// Milliseconds for poll, rounded up so a wait of less than a millisecond does not spin.
fn poll_timeout(wait: Duration) -> PollTimeout {
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

/// SIGKILL to the program's process group (it leads one, see `prepare`), falling back to the
/// program alone should the group be gone.
fn kill_group(child: &mut Child) {
    let pgid = Pid::from_raw(child.id() as libc::pid_t);
    if killpg(pgid, Signal::SIGKILL).is_err() {
        let _ = child.kill();
    }
}

/// The status as a shell reports it: the exit code, or 128 + the signal number.
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;
    use std::thread;

    const HOSTNAME: &str = "c0ffee123456";
    const HOSTS: &str = "127.0.0.1\tlocalhost\n172.17.0.2\tc0ffee123456\n";
    const RESOLV: &str = "nameserver 192.0.2.53\noptions ndots:0\n";

    /// Namespaces need privileges; the suite also runs unprivileged.
    fn privileged() -> bool {
        if nix::unistd::geteuid().is_root() {
            true
        } else {
            eprintln!("skipped: creating namespaces needs root");
            false
        }
    }

    fn container() -> OwnedFd {
        crate::kernel::netns::create_with(|| Ok(()))
            .expect("create a network namespace")
            .0
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn spec<'a>(ns: &'a OwnedFd, argv: &'a [String]) -> ExecSpec<'a> {
        ExecSpec {
            netns: ns.as_fd(),
            hostname: HOSTNAME,
            hosts: HOSTS,
            resolv_conf: RESOLV,
            argv,
            timeout: Duration::from_secs(20),
            stdin: None,
            pidns: None,
        }
    }

    fn run(ns: &OwnedFd, args: &[&str]) -> ExecOutput {
        let argv = strings(args);
        exec(&spec(ns, &argv)).expect("exec")
    }

    fn mount_points(mountinfo: &str) -> BTreeSet<String> {
        mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn container_files_and_hostname() {
        if !privileged() {
            return;
        }
        let ns = container();
        let hosts = run(&ns, &["cat", "/etc/hosts"]);
        assert_eq!((hosts.stdout.as_str(), hosts.code), (HOSTS, 0), "{hosts:?}");
        assert_eq!(run(&ns, &["cat", "/etc/resolv.conf"]).stdout, RESOLV);
        assert_eq!(
            run(&ns, &["cat", "/etc/hostname"]).stdout,
            format!("{HOSTNAME}\n")
        );
        assert_eq!(run(&ns, &["hostname"]).stdout, format!("{HOSTNAME}\n"));
    }

    #[test]
    fn runs_in_the_network_namespace() {
        if !privileged() {
            return;
        }
        let ns = container();
        let inode = nix::sys::stat::fstat(&ns).expect("fstat netns").st_ino;
        let link = run(&ns, &["readlink", "/proc/self/ns/net"]);
        assert_eq!(link.stdout.trim(), format!("net:[{inode}]"));
        if resolve("ip").is_err() {
            eprintln!("skipped the `ip -o link` check: iproute2 is not installed");
            return;
        }
        let links = run(&ns, &["ip", "-o", "link"]);
        assert_eq!(links.code, 0, "{links:?}");
        let names: Vec<&str> = links
            .stdout
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .collect();
        assert_eq!(names, ["lo"], "{}", links.stdout);
    }

    #[test]
    fn machine_is_untouched() {
        if !privileged() {
            return;
        }
        let hosts = std::fs::read("/etc/hosts").expect("read /etc/hosts");
        let resolv = std::fs::read("/etc/resolv.conf").ok();
        let hostname = nix::unistd::gethostname().expect("gethostname");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let ns = container();
        let inside = run(&ns, &["cat", "/proc/self/mountinfo"]);
        assert_eq!(run(&ns, &["cat", "/etc/hosts"]).stdout, HOSTS);
        assert_eq!(std::fs::read("/etc/hosts").expect("read /etc/hosts"), hosts);
        assert_eq!(std::fs::read("/etc/resolv.conf").ok(), resolv);
        assert_eq!(nix::unistd::gethostname().expect("gethostname"), hostname);
        assert_eq!(
            std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo"),
            mounts
        );
        // Inside, the only new mount points are the container's files: the scratch tmpfs
        // is gone again.
        let outside = mount_points(&mounts);
        let inside = mount_points(&inside.stdout);
        assert!(outside.is_subset(&inside));
        let added: BTreeSet<String> = inside.difference(&outside).cloned().collect();
        let expected: BTreeSet<String> = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"]
            .into_iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(added, expected);
    }

    #[test]
    fn exit_codes_and_stderr() {
        if !privileged() {
            return;
        }
        let ns = container();
        let out = run(&ns, &["sh", "-c", "echo out; echo oops >&2; exit 3"]);
        assert_eq!(
            (
                out.stdout.as_str(),
                out.stderr.as_str(),
                out.code,
                out.timed_out
            ),
            ("out\n", "oops\n", 3, false)
        );
        let killed = run(&ns, &["sh", "-c", "kill -TERM $$"]);
        assert_eq!(killed.code, 128 + libc::SIGTERM);
    }

    #[test]
    fn timeout_kills_the_process_group() {
        if !privileged() {
            return;
        }
        let ns = container();
        // The background sleep holds stdout too: only killing the group ends it.
        let argv = strings(&["sh", "-c", "sleep 5 & sleep 5"]);
        let spec = ExecSpec {
            timeout: Duration::from_millis(200),
            ..spec(&ns, &argv)
        };
        let start = Instant::now();
        let out = exec(&spec).expect("exec");
        let took = start.elapsed();
        assert!(out.timed_out, "{out:?}");
        assert_eq!(out.code, 137);
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_millis(1000), "took {took:?}");
    }

    #[test]
    fn leftover_holding_the_output_is_killed_at_the_deadline() {
        if !privileged() {
            return;
        }
        let ns = container();
        let argv = strings(&["sh", "-c", "sleep 5 & echo started"]);
        let spec = ExecSpec {
            timeout: Duration::from_millis(300),
            ..spec(&ns, &argv)
        };
        let start = Instant::now();
        let out = exec(&spec).expect("exec");
        assert!(start.elapsed() < Duration::from_secs(2));
        // The program itself exited normally; what it left behind was killed.
        assert_eq!(
            (out.stdout.as_str(), out.code, out.timed_out),
            ("started\n", 0, true)
        );
    }

    #[test]
    fn missing_program_is_not_found() {
        if !privileged() {
            return;
        }
        let ns = container();
        let argv = strings(&["nosuchprog"]);
        let e = exec(&spec(&ns, &argv)).expect_err("must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "cannot run \"nosuchprog\": not found in PATH"
        );
        let argv = strings(&["/nonexistent/prog"]);
        let e = exec(&spec(&ns, &argv)).expect_err("must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("/nonexistent/prog"), "{e}");
    }

    #[test]
    fn refuses_bad_requests() {
        // No namespace is entered: these fail before anything is spawned.
        let ns = std::fs::File::open("/proc/self/ns/net").expect("open own netns");
        let none: Vec<String> = Vec::new();
        let mut s = ExecSpec {
            netns: ns.as_fd(),
            hostname: HOSTNAME,
            hosts: HOSTS,
            resolv_conf: RESOLV,
            argv: &none,
            timeout: Duration::from_secs(1),
            stdin: None,
            pidns: None,
        };
        let e = exec(&s).expect_err("empty argv");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let long = "h".repeat(HOST_NAME_MAX + 1);
        let argv = strings(&["true"]);
        s.argv = &argv;
        s.hostname = &long;
        let e = exec(&s).expect_err("long hostname");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn large_output_and_input_do_not_deadlock() {
        if !privileged() {
            return;
        }
        let ns = container();
        let out = run(&ns, &["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"]);
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout.len(), 1_000_000);
        assert!(out.stdout.bytes().all(|b| b == b'x'));

        // Both directions at once: cat writes back while we are still writing to it.
        let input = vec![b'y'; 1_000_000];
        let argv = strings(&["cat"]);
        let echoed = exec(&ExecSpec {
            stdin: Some(&input),
            ..spec(&ns, &argv)
        })
        .expect("exec cat");
        assert_eq!(echoed.stdout.as_bytes(), &input[..]);

        // A program that ignores its input must not make us hang on writing it.
        let argv = strings(&["true"]);
        let ignored = exec(&ExecSpec {
            stdin: Some(&input),
            ..spec(&ns, &argv)
        })
        .expect("exec true");
        assert_eq!((ignored.code, ignored.timed_out), (0, false));
    }

    #[test]
    fn background_program_lives_in_the_container() {
        if !privileged() {
            return;
        }
        let ns = container();
        let argv = strings(&["sleep", "30"]);
        let mut child = spawn_background(&spec(&ns, &argv)).expect("spawn");
        let inode = nix::sys::stat::fstat(&ns).expect("fstat netns").st_ino;
        let theirs = std::fs::metadata(format!("/proc/{}/ns/net", child.id()))
            .expect("child's netns")
            .ino();
        assert_eq!(theirs, inode);
        assert_eq!(child.try_wait().expect("try_wait"), None);
        killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("killpg");
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn background_program_dies_with_the_thread_that_started_it() {
        if !privileged() {
            return;
        }
        let ns = container();
        let argv = strings(&["sleep", "30"]);
        let spec = spec(&ns, &argv);
        // The parent-death signal follows the forking thread, not the process.
        let mut child = thread::scope(|s| {
            s.spawn(|| spawn_background(&spec))
                .join()
                .expect("spawning thread")
        })
        .expect("spawn");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if start.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("background program outlived the thread that started it");
            }
            thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}
