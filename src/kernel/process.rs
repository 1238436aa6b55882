//! Running a real program inside a container, the way `docker exec` does.
//!
//! A container is a set of namespaces held by its [`Init`]: the network namespace netsh
//! made for it, and a mount, UTS, IPC and PID namespace the init made for itself, with the
//! container's own filesystem ([`rootfs`](super::rootfs)) as its root and the container's
//! hostname. The init runs as the lab's root user, an unprivileged identity outside (see
//! `sandbox.rs`). A program runs in a child process that, between `fork` and `exec`:
//!
//! 1. asks to be killed when netsh goes (`PR_SET_PDEATHSIG`), and exits at once if netsh
//!    already went;
//! 2. joins the init's network, IPC, UTS and mount namespaces (`setns`);
//! 3. rewrites the container's `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname` when
//!    the lab changed them since the last program (as Docker rewrites them on connect);
//! 4. joins the init's PID namespace and forks the program there, which becomes the lab's
//!    root user and execs.
//!
//! Nothing of this reaches the machine: every namespace is owned by netsh's user namespace,
//! the container's mounts are private (no propagation back), its writable layers live in
//! tmpfs, and the kernel frees all of it with the last process inside.

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

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
// netsh reaches libc through nix's re-export (no direct dependency).
use nix::libc;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::{getppid, pipe2, Pid};

use super::rootfs;

/// The contents of a container's `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`, in
/// the order of [`rootfs::FILES`].
pub type ContainerFiles = [Vec<u8>; 3];

/// What to run, and the container to run it in.
pub struct ExecSpec<'a> {
    /// The container: its init holds the namespaces the program joins.
    pub init: &'a Init,
    /// What the container's files should hold now; written before the program starts when
    /// they changed since the last program (Docker rewrites them on connect and disconnect).
    pub files: &'a ContainerFiles,
    /// Program and arguments; `argv[0]` is looked up in `PATH` unless it contains a `/`.
    pub argv: &'a [String],
    /// How long [`exec`] lets the program run (ignored by [`spawn_background`]).
    pub timeout: Duration,
    /// Bytes for the program's standard input; `None` gives it `/dev/null`
    /// (ignored by [`spawn_background`], whose input is always `/dev/null`).
    pub stdin: Option<&'a [u8]>,
    /// The program's whole environment (`KEY=VALUE` each, a container's as Docker gives
    /// it); `None` passes on netsh's own.
    pub env: Option<&'a [String]>,
}

/// What a container's init is made from.
pub struct InitSpec<'a> {
    /// The container's network namespace.
    pub netns: BorrowedFd<'a>,
    /// The container's hostname (Docker uses the short container id).
    pub hostname: &'a str,
    /// The first contents of its `/etc` files.
    pub files: ContainerFiles,
}

/// A container's init: PID 1 of the container's own PID namespace, living in the container's
/// network, mount, UTS and IPC namespaces, with the container's filesystem
/// ([`rootfs`](super::rootfs)) as its root, as the lab's root user (an unprivileged identity
/// outside; see `sandbox.rs`). Programs `exec` starts join all of its namespaces, so
/// `nsenter -t 1` inside leads nowhere but the container itself.
///
/// When a program ends, whatever it left running (a background job, a daemon that called
/// setsid) is reparented to this init, which reaps it, and keeps running as in a Docker
/// container; when the init dies — the container is removed, or netsh ends in any way,
/// SIGKILL included — the kernel kills everything in the namespace (pid_namespaces(7)).
///
/// The init is the child of a small relay process netsh forks; the relay dies with netsh's
/// main thread (`PR_SET_PDEATHSIG`), the init with the relay. Neither holds any of netsh's
/// descriptors, its standard streams included: a reader of netsh's output never waits for
/// them.
pub struct Init {
    relay: libc::pid_t,
    /// The init's pidfd; `None` on a kernel without pidfds.
    init: Option<Pidfd>,
    net: OwnedFd,
    uts: OwnedFd,
    ipc: OwnedFd,
    mnt: OwnedFd,
    pid: OwnedFd,
    /// What the container's files hold now.
    files: std::cell::RefCell<ContainerFiles>,
}

/// A message on the pipe from the relay and the init to netsh: a tag byte, then a payload.
const MSG_PID: u8 = b'P';
const MSG_READY: u8 = b'R';
const MSG_FAILED: u8 = b'F';

/// The steps of the init's own setup (before the filesystem), reported when one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum InitStep {
    EnterNetns = 101,
    Unshare,
    MakePrivate,
    Identity,
    DeathSignal,
    Hostname,
}

impl InitStep {
    const ALL: [InitStep; 6] = [
        InitStep::EnterNetns,
        InitStep::Unshare,
        InitStep::MakePrivate,
        InitStep::Identity,
        InitStep::DeathSignal,
        InitStep::Hostname,
    ];

    fn what(self) -> &'static str {
        match self {
            InitStep::EnterNetns => "entering the container's network namespace",
            InitStep::Unshare => "making its mount, UTS and IPC namespaces",
            InitStep::MakePrivate => "making its mounts private (mount --make-rprivate /)",
            InitStep::Identity => "becoming the lab's root user (setresuid/setresgid)",
            InitStep::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
            InitStep::Hostname => "sethostname",
        }
    }
}

/// Names a failed step from its byte: the init's own steps or a filesystem stage.
fn init_step_what(byte: u8) -> &'static str {
    InitStep::ALL
        .into_iter()
        .find(|s| *s as u8 == byte)
        .map(InitStep::what)
        .or_else(|| {
            rootfs::Stage::ALL
                .into_iter()
                .find(|s| *s as u8 == byte)
                .map(rootfs::Stage::what)
        })
        .unwrap_or("setting up")
}

/// Everything the relay and the init need, prepared before the fork.
struct InitSetup {
    parent: libc::pid_t,
    /// Write end of the message pipe to netsh.
    report: RawFd,
    netns: RawFd,
    hostname: CString,
    plan: rootfs::Plan,
}

impl Init {
    /// Forks the relay and the container's init, and waits until the init has built the
    /// container. Must be called from netsh's main thread (the parent-death signal follows
    /// the forking thread).
    ///
    /// Errors: the step that failed, with the kernel's reason (for example a kernel that
    /// refuses overlay or proc mounts in user namespaces).
    pub fn start(spec: &InitSpec<'_>) -> io::Result<Init> {
        let hostname = CString::new(spec.hostname)
            .ok()
            .filter(|h| h.as_bytes().len() <= HOST_NAME_MAX)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "hostname {:?} is not usable (at most {HOST_NAME_MAX} bytes, no NUL)",
                        spec.hostname
                    ),
                )
            })?;
        let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC)?;
        let setup = InitSetup {
            parent: std::process::id() as libc::pid_t,
            report: report_w.as_raw_fd(),
            netns: spec.netns.as_raw_fd(),
            hostname,
            plan: rootfs::Plan::new(&spec.files),
        };
        // SAFETY: the children make only raw, async-signal-safe syscalls before they end:
        // netsh is multi-threaded, and another thread may hold a lock at the fork.
        let relay = unsafe { libc::fork() };
        if relay < 0 {
            return Err(io::Error::last_os_error());
        }
        if relay == 0 {
            // SAFETY: only syscalls; the function never returns.
            unsafe { setup.relay() }
        }
        drop(report_w);
        let fail = |e: io::Error| {
            // SAFETY: ends and reaps our own child (the init dies with it).
            unsafe {
                libc::kill(relay, libc::SIGKILL);
                libc::waitpid(relay, std::ptr::null_mut(), 0);
            }
            e
        };
        let init_pid = read_init_messages(&report_r).map_err(fail)?;
        let open = |name: &str| -> io::Result<OwnedFd> {
            Ok(File::open(format!("/proc/{init_pid}/ns/{name}"))?.into())
        };
        let opened = (|| {
            Ok::<_, io::Error>((
                open("net")?,
                open("uts")?,
                open("ipc")?,
                open("mnt")?,
                open("pid")?,
            ))
        })();
        let (net, uts, ipc, mnt, pid) = opened.map_err(|e| {
            fail(io::Error::new(
                e.kind(),
                format!("cannot open the namespaces of the container's init: {e}"),
            ))
        })?;
        // The init cannot have been reaped yet: its parent, the relay, reaps it only as it
        // ends.
        let init = Pidfd::open(init_pid);
        Ok(Init {
            relay,
            init,
            net,
            uts,
            ipc,
            mnt,
            pid,
            files: std::cell::RefCell::new(spec.files.clone()),
        })
    }
}

/// Reads the relay's and the init's messages until the init is ready; returns its pid.
/// Two processes write to the pipe, so the messages come in either order: the init may
/// be ready before the relay, preempted right after its fork, has sent the init's pid.
fn read_init_messages(pipe: &OwnedFd) -> io::Result<libc::pid_t> {
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut pid = None;
    let mut ready = false;
    loop {
        // Parse what is complete.
        let mut at = 0;
        while at < len {
            match buf[at] {
                MSG_PID if len - at >= 5 => {
                    let bytes = [buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]];
                    pid = Some(libc::pid_t::from_ne_bytes(bytes));
                    at += 5;
                }
                MSG_READY => {
                    at += 1;
                    ready = true;
                }
                MSG_FAILED if len - at >= 6 => {
                    let errno =
                        i32::from_ne_bytes([buf[at + 2], buf[at + 3], buf[at + 4], buf[at + 5]]);
                    let e = io::Error::from_raw_os_error(errno);
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "cannot start the container's init: {} failed: {}",
                            init_step_what(buf[at + 1]),
                            crate::kernel::describe(Errno::from_raw(errno))
                        ),
                    ));
                }
                MSG_PID | MSG_FAILED => break,
                _ => {
                    return Err(io::Error::other(
                        "cannot start the container's init: garbled report",
                    ))
                }
            }
        }
        if let (Some(pid), true) = (pid, ready) {
            return Ok(pid);
        }
        buf.copy_within(at..len, 0);
        len -= at;
        match nix::unistd::read(pipe, &mut buf[len..]) {
            Ok(0) => {
                return Err(io::Error::other(
                    "cannot start the container's init: it ended during its setup",
                ))
            }
            Ok(n) => len += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

impl Drop for Init {
    /// Kills the init, and with it everything in the container (`zap_pid_ns_processes`);
    /// the relay reaps it and ends, and netsh reaps the relay. Killing the relay instead
    /// would leave the init to the machine's reaper, which may take seconds to come; so
    /// would the programs netsh started in the container, were their relays killed first
    /// (see `Running`'s drop in lab/mod.rs), and the init waits for every one of them.
    fn drop(&mut self) {
        let killed = self.init.as_ref().is_some_and(|init| init.kill().is_ok());
        // SAFETY: signals and reaps our own child.
        unsafe {
            if !killed {
                // No pidfd, or the init already gone: the relay ends with it (or now).
                libc::kill(self.relay, libc::SIGKILL);
            }
            libc::waitpid(self.relay, std::ptr::null_mut(), 0);
        }
    }
}

/// A pidfd (`pidfd_open`, Linux 5.3): a signal through it reaches its process or nobody,
/// never a process that got the same pid after it was reaped.
pub struct Pidfd(OwnedFd);

impl Pidfd {
    /// A pidfd of process `pid`; `None` on a kernel without pidfds, or when it is gone.
    pub fn open(pid: libc::pid_t) -> Option<Pidfd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: a fresh descriptor that nothing else owns.
        (fd >= 0).then(|| Pidfd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
    }

    /// SIGKILL to the process; an error (ESRCH) when it has ended already.
    pub fn kill(&self) -> io::Result<()> {
        // SAFETY: pidfd_send_signal takes a pidfd, a signal, a null siginfo and flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Closes every descriptor of this process but `keep` (raw syscalls only).
///
/// # Safety
/// Closes descriptors behind the back of anything that owns them: only for a forked child.
unsafe fn close_all_but(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut from = 0u32;
    for &fd in keep.iter() {
        if fd as u32 > from {
            libc::syscall(libc::SYS_close_range, from, fd as u32 - 1, 0u32);
        }
        from = fd as u32 + 1;
    }
    libc::syscall(libc::SYS_close_range, from, u32::MAX, 0u32);
}

/// Points stdin, stdout and stderr at `/dev/null`.
///
/// # Safety
/// Raw syscalls only; for a forked child.
unsafe fn null_stdio() {
    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
    if null >= 0 {
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
    }
}

/// Writes one whole message (at most `PIPE_BUF` bytes, so it is never interleaved).
///
/// # Safety
/// Raw syscalls only.
unsafe fn send(fd: RawFd, msg: &[u8]) {
    libc::write(fd, msg.as_ptr().cast(), msg.len());
}

unsafe fn send_failure(fd: RawFd, step: u8, errno: Errno) {
    let e = (errno as i32).to_ne_bytes();
    send(fd, &[MSG_FAILED, step, e[0], e[1], e[2], e[3]]);
}

impl InitSetup {
    /// The relay, in the freshly forked child: makes the PID namespace, forks the init into
    /// it, tells netsh the init's pid, and lives as long as the init (and dies with netsh).
    ///
    /// # Safety
    /// Runs in a child forked from a multi-threaded process: raw syscalls only, no return.
    unsafe fn relay(&self) -> ! {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        // netsh died between the fork and the prctl: the signal will never come.
        if libc::getppid() != self.parent {
            libc::_exit(1);
        }
        // A process group of its own: the terminal's Ctrl-C goes to netsh's group, and the
        // REPL turns it into stopping the entry; were the relay in that group, it would die
        // and take the container's init and everything in it along.
        libc::setpgid(0, 0);
        null_stdio();
        // The init checks the relay is alive through this pipe: it reads end of file once
        // the relay is gone (whatever the timing of the parent-death signal).
        let mut alive = [0 as RawFd; 2];
        if libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            libc::_exit(1);
        }
        close_all_but(&mut [0, 1, 2, self.report, self.netns, alive[0], alive[1]]);
        if libc::unshare(libc::CLONE_NEWPID) != 0 {
            send_failure(self.report, InitStep::Unshare as u8, Errno::last());
            libc::_exit(1);
        }
        let init = libc::fork();
        if init < 0 {
            send_failure(self.report, InitStep::Unshare as u8, Errno::last());
            libc::_exit(1);
        }
        if init == 0 {
            libc::close(alive[1]);
            self.init(alive[0]);
        }
        libc::close(alive[0]);
        libc::close(self.netns);
        let p = init.to_ne_bytes();
        send(self.report, &[MSG_PID, p[0], p[1], p[2], p[3]]);
        libc::close(self.report);
        // Stay as long as the init does (and die with netsh, taking it along).
        while libc::waitpid(init, std::ptr::null_mut(), 0) < 0 && Errno::last() == Errno::EINTR {}
        libc::_exit(0)
    }

    /// The init, PID 1 of the new namespace.
    ///
    /// # Safety
    /// As for `relay`.
    unsafe fn init(&self, alive: RawFd) -> ! {
        let fail = |step: u8, e: Errno| -> ! {
            send_failure(self.report, step, e);
            libc::_exit(1)
        };
        if libc::setns(self.netns, libc::CLONE_NEWNET) != 0 {
            fail(InitStep::EnterNetns as u8, Errno::last());
        }
        libc::close(self.netns);
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC) != 0 {
            fail(InitStep::Unshare as u8, Errno::last());
        }
        // Copied mounts keep their propagation type: a shared `/` would carry the
        // container's mounts back to the machine. Private stops that in both directions.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            fail(InitStep::MakePrivate as u8, Errno::last());
        }
        // Root of the lab's user namespace: an unprivileged identity outside (sandbox.rs),
        // and one the container's tmpfs can own files as.
        if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
            fail(InitStep::Identity as u8, Errno::last());
        }
        // A change of identity clears the parent-death signal (prctl(2)), so it is armed
        // only now; the alive pipe covers a relay that died before.
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            fail(InitStep::DeathSignal as u8, Errno::last());
        }
        let mut pfd = libc::pollfd {
            fd: alive,
            events: libc::POLLIN,
            revents: 0,
        };
        if libc::poll(&mut pfd, 1, 0) != 0 {
            // The relay is gone (end of file on the pipe): so is netsh.
            libc::_exit(1);
        }
        // The change of identity also made the init undumpable, which would keep netsh from
        // opening its namespaces; the init is the container's own, so it may be inspected.
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        let host = self.hostname.as_bytes();
        if libc::sethostname(host.as_ptr().cast(), host.len()) != 0 {
            fail(InitStep::Hostname as u8, Errno::last());
        }
        if let Err((stage, e)) = self.plan.run() {
            fail(stage as u8, e);
        }
        send(self.report, &[MSG_READY]);
        libc::close(self.report);
        reap_forever()
    }
}

/// PID 1's duty: reap every orphan, for as long as the init lives.
///
/// # Safety
/// Raw syscalls only.
unsafe fn reap_forever() -> ! {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigaddset(&mut set, libc::SIGCHLD);
    // Blocked, SIGCHLD stays pending until taken, even with its default (ignoring)
    // disposition, so no exit is missed between two looks.
    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    loop {
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        libc::sigwaitinfo(&set, std::ptr::null_mut());
    }
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

/// How long a program has to end after the Ctrl-C it was sent (see `collect`) before its
/// group is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// How often to look for the program's exit once it has closed its output (a closed pipe
/// gives `poll` nothing more to wait on).
const REAP_INTERVAL: Duration = Duration::from_millis(5);

/// Most bytes read from one pipe per wake-up, so a chatty program cannot keep the loop
/// from checking the deadline.
const READ_BURST: usize = 1 << 20;

/// Runs `spec.argv` inside the container and waits for it (at most `spec.timeout`).
///
/// Stdout and stderr are captured (up to 16 MiB each, decoded lossily as UTF-8); both are
/// read as they come, and stdin is written as the program accepts it, so a program that
/// prints a lot before reading cannot deadlock against netsh. The program runs in a process
/// group of its own; when the timeout passes, the whole group gets `SIGKILL`. While the REPL
/// streams a command line (`crate::live`), its output is also written to the terminal as it
/// comes, and Ctrl-C sends the group `SIGINT` (`SIGKILL` 10 s later if it is still there).
///
/// Must be called from a long-lived thread (see the module documentation). Relies on
/// `SIGPIPE` being ignored, as Rust's runtime arranges, when the program stops reading its
/// input early.
///
/// Errors: `NotFound` naming the program when it is not in `PATH`, `InvalidInput` for an
/// empty `argv`, or the kernel's refusal of a setup step, naming it.
pub fn exec(spec: &ExecSpec<'_>) -> io::Result<ExecOutput> {
    let start = Instant::now();
    // A timeout too large for `Instant` means "no practical limit".
    let deadline = start
        .checked_add(spec.timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600));
    let mut prepared = prepare(spec, false)?;
    prepared
        .cmd
        .stdin(match spec.stdin {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (mut child, _) = prepared.spawn(spec)?;
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

/// Starts `spec.argv` inside the container and returns at once: for servers that run for
/// the rest of the lab (`docker exec -d`). Stdin, stdout and stderr are `/dev/null`;
/// `spec.timeout` and `spec.stdin` are ignored. Returns the relay (netsh's child, which
/// ends when the program does: the caller reaps it, e.g. with `try_wait` from time to time)
/// and the program's process ID as netsh sees it.
///
/// The program dies with the container: the init's PID namespace goes when the container is
/// removed or netsh ends, however it ends. (It stays the relay's child rather than the
/// init's: a process whose parent outside the namespace dies is adopted by the machine's
/// reaper, not by the namespace's init.)
pub fn spawn_background(spec: &ExecSpec<'_>) -> io::Result<(Child, u32)> {
    let mut prepared = prepare(spec, true)?;
    prepared
        .cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (mut relay, pid) = prepared.spawn(spec)?;
    match pid {
        Some(pid) => Ok((relay, pid)),
        None => {
            kill_group(&mut relay);
            let _ = relay.wait();
            Err(io::Error::other(
                "the program did not start in the container",
            ))
        }
    }
}

/// What a container's main program printed, stdout and stderr interleaved as written (at
/// most `OUTPUT_LIMIT` bytes; later output is dropped and `cut` set): what `docker logs`
/// shows. Shared with the thread that reads the program's output.
#[derive(Debug, Default)]
pub struct Log {
    pub data: Vec<u8>,
    pub cut: bool,
}

/// A [`Log`] that a reader thread appends to.
pub type SharedLog = std::sync::Arc<std::sync::Mutex<Log>>;

/// [`spawn_background`] for a container's main program (`docker run -d`, `docker start`):
/// stdout and stderr go to one pipe, which a thread of its own reads into `log` until every
/// process holding it has ended. Returns the relay (it ends with the program, with the
/// program's exit code), the program's pid and the reader thread (done once the output
/// has ended and is all in `log`).
pub fn spawn_logged(
    spec: &ExecSpec<'_>,
    log: SharedLog,
) -> io::Result<(Child, u32, std::thread::JoinHandle<()>)> {
    let mut prepared = prepare(spec, true)?;
    // Close-on-exec: only the program's stdout and stderr (dup2'd copies) stay open in it.
    let (reader, writer) = pipe2(OFlag::O_CLOEXEC)?;
    prepared
        .cmd
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let spawned = prepared.spawn(spec);
    // The command (and with it netsh's copies of the write end) is gone: the reader sees
    // the end of the output when the program and what it started have closed theirs.
    let (mut relay, pid) = spawned?;
    let Some(pid) = pid else {
        kill_group(&mut relay);
        let _ = relay.wait();
        return Err(io::Error::other(
            "the program did not start in the container",
        ));
    };
    let reader = std::thread::Builder::new()
        .name("netsh-log".into())
        .spawn(move || {
            let mut reader = File::from(reader);
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let Ok(mut log) = log.lock() else { break };
                let room = OUTPUT_LIMIT.saturating_sub(log.data.len());
                log.data.extend_from_slice(&buf[..n.min(room)]);
                log.cut |= n > room;
            }
        })?;
    Ok((relay, pid, reader))
}

/// Sends `signal` to the process group a program's relay leads (the relay and the program;
/// what the program started stays in it unless it made a group of its own).
pub fn signal_group(relay: &Child, signal: Signal) {
    let _ = killpg(Pid::from_raw(relay.id() as libc::pid_t), signal);
}

/// A command ready to spawn: the in-child setup is attached, everything it needs is
/// allocated.
struct Prepared {
    cmd: Command,
    program: String,
    /// Read end of the pipe on which the child names a failed step, or reports the pid of a
    /// program started in the background.
    report_rx: OwnedFd,
    /// Write end, held open until `spawn` returns so its number stays valid in the child.
    report_tx: OwnedFd,
    /// Whether the container's files are rewritten before the program starts.
    rewrites: bool,
}

fn prepare(spec: &ExecSpec<'_>, detach: bool) -> io::Result<Prepared> {
    let Some(program) = spec.argv.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no program to run",
        ));
    };
    check_program(program)?;
    // Close-on-exec: a successful exec closes the child's copy, so the parent reads EOF.
    // Non-blocking: the parent must never hang on it (another thread's fork may briefly
    // hold a copy of the write end).
    let (report_rx, report_tx) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    let rewrites = *spec.init.files.borrow() != *spec.files;
    let setup = ChildSetup {
        parent: std::process::id() as libc::pid_t,
        namespaces: [
            (spec.init.net.as_raw_fd(), libc::CLONE_NEWNET),
            (spec.init.ipc.as_raw_fd(), libc::CLONE_NEWIPC),
            (spec.init.uts.as_raw_fd(), libc::CLONE_NEWUTS),
            (spec.init.mnt.as_raw_fd(), libc::CLONE_NEWNS),
        ],
        pidns: spec.init.pid.as_raw_fd(),
        report: report_tx.as_raw_fd(),
        files: rewrites.then(|| {
            rootfs::FILES
                .iter()
                .zip(spec.files.iter())
                .map(|(path, content)| (rootfs::cstring(path), content.clone()))
                .collect()
        }),
        detach,
        program: ProgramSearch::new(
            program,
            &spec.argv[1..],
            &std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
            spec.env,
        ),
    };
    // The program is exec'd by the setup itself (see `ProgramSearch`); std's own exec is
    // never reached.
    let mut cmd = Command::new(program);
    cmd.args(&spec.argv[1..])
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
        rewrites,
    })
}

impl Prepared {
    /// Spawns the child; returns it, and the program's pid when it was started in the
    /// background.
    fn spawn(self, spec: &ExecSpec<'_>) -> io::Result<(Child, Option<u32>)> {
        let Prepared {
            mut cmd,
            program,
            report_rx,
            report_tx,
            rewrites,
        } = self;
        let spawned = cmd.spawn();
        drop(report_tx);
        let mut buf = [0u8; 8];
        let report = match nix::unistd::read(&report_rx, &mut buf) {
            Ok(n) => &buf[..n],
            Err(_) => &[][..],
        };
        match spawned {
            Ok(child) => {
                if rewrites {
                    *spec.init.files.borrow_mut() = spec.files.clone();
                }
                let pid = match report {
                    [MSG_PID, a, b, c, d, ..] => Some(u32::from_ne_bytes([*a, *b, *c, *d])),
                    _ => None,
                };
                Ok((child, pid))
            }
            Err(e) => {
                let message = match report.first().and_then(|b| Step::from_byte(*b)) {
                    Some(step) => format!(
                        "cannot run {program:?} in the container: {} failed: {}",
                        step.what(),
                        e.raw_os_error()
                            .map(|n| crate::kernel::describe(Errno::from_raw(n)))
                            .unwrap_or_else(|| e.to_string())
                    ),
                    None => match e.kind() {
                        io::ErrorKind::NotFound if program.contains('/') => {
                            format!("cannot run {program:?}: no such file in the container")
                        }
                        io::ErrorKind::NotFound => {
                            format!("cannot run {program:?}: not found in PATH")
                        }
                        io::ErrorKind::PermissionDenied => format!(
                            "cannot run {program:?}: permission denied (the container's root \
                             user cannot execute it; programs under folders only the \
                             machine's root may enter are out of its reach)"
                        ),
                        _ => format!(
                            "cannot run {program:?}: {}",
                            e.raw_os_error()
                                .map(|n| crate::kernel::describe(Errno::from_raw(n)))
                                .unwrap_or_else(|| e.to_string())
                        ),
                    },
                };
                Err(io::Error::new(e.kind(), message))
            }
        }
    }
}

/// Checks the program's name. The search along `PATH` happens in the container, as the
/// container's user (`execvp` after the setup), so it finds what the container can run: a
/// program under a folder only the machine's root may enter (`/root/...`) is not among them.
fn check_program(program: &str) -> io::Result<()> {
    if program.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot run \"\": empty program name",
        ));
    }
    Ok(())
}

/// The steps of the in-child setup, reported to the parent as one byte when one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    DeathSignal = 1,
    EnterNamespaces,
    WriteFile,
    EnterPidns,
    Identity,
}

impl Step {
    const ALL: [Step; 5] = [
        Step::DeathSignal,
        Step::EnterNamespaces,
        Step::WriteFile,
        Step::EnterPidns,
        Step::Identity,
    ];

    fn from_byte(b: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u8 == b)
    }

    fn what(self) -> &'static str {
        match self {
            Step::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
            Step::EnterNamespaces => "setns into the container's namespaces",
            Step::WriteFile => "writing the container's /etc files",
            Step::EnterPidns => "setns(CLONE_NEWPID) into the container's PID namespace",
            Step::Identity => "becoming the lab's root user (setresuid/setresgid)",
        }
    }
}

/// Everything the child needs, prepared in the parent: `run` touches only these.
struct ChildSetup {
    /// netsh's pid, to notice that netsh died before the parent-death signal was armed.
    parent: libc::pid_t,
    /// The container's namespaces (the parent's descriptors, still open in the child until
    /// exec closes them), with their kinds, in the order they are entered: the mount
    /// namespace last, since entering it changes the root.
    namespaces: [(RawFd, libc::c_int); 4],
    pidns: RawFd,
    /// Write end of the report pipe.
    report: RawFd,
    /// The container's files to rewrite, when they changed.
    files: Option<Vec<(CString, Vec<u8>)>>,
    /// Leave the program to the container's init instead of waiting for it.
    detach: bool,
    program: ProgramSearch,
}

/// The program's possible paths, its arguments and (when given) its environment, ready
/// for `execv`/`execve` in the child.
struct ProgramSearch {
    candidates: Vec<CString>,
    /// Keeps the strings `argv` points into alive.
    _args: Vec<CString>,
    /// Null-terminated.
    argv: Vec<*const libc::c_char>,
    /// Keeps the strings `envp` points into alive.
    _env: Vec<CString>,
    /// Null-terminated; `None`: the environment netsh has.
    envp: Option<Vec<*const libc::c_char>>,
}

// SAFETY: the pointers point into `_args`, owned by the same value and never changed; the
// value is only read, in the forked child.
unsafe impl Send for ProgramSearch {}
unsafe impl Sync for ProgramSearch {}

impl ProgramSearch {
    /// `program` as `execvp` would look for it along `path` (a name with a `/` is used as
    /// it is; an empty `PATH` entry means the current folder).
    fn new(
        program: &str,
        args: &[String],
        path: &std::ffi::OsStr,
        env: Option<&[String]>,
    ) -> ProgramSearch {
        let candidates = if program.contains('/') {
            vec![rootfs::cstring(program)]
        } else {
            std::env::split_paths(path)
                .map(|dir| {
                    let dir = if dir.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        dir
                    };
                    rootfs::cstring(dir.join(program).into_os_string().into_encoded_bytes())
                })
                .collect()
        };
        let args: Vec<CString> = std::iter::once(program)
            .chain(args.iter().map(String::as_str))
            .map(rootfs::cstring)
            .collect();
        let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let env_strings: Vec<CString> = env
            .unwrap_or_default()
            .iter()
            .map(|e| rootfs::cstring(e.as_str()))
            .collect();
        let envp = env.map(|_| {
            let mut p: Vec<*const libc::c_char> = env_strings.iter().map(|e| e.as_ptr()).collect();
            p.push(std::ptr::null());
            p
        });
        ProgramSearch {
            candidates,
            _args: args,
            argv,
            _env: env_strings,
            envp,
        }
    }

    /// Tries each candidate (raw syscalls only); returns only when none could be run: "not
    /// found" unless one exists in the container and could not be executed, as the
    /// container's user sees it (a folder it cannot enter hides what is inside).
    fn exec(&self) -> io::Error {
        let mut denied = false;
        let mut other = None;
        for path in &self.candidates {
            // SAFETY: null-terminated arrays of valid C strings; execv returns only on failure.
            unsafe {
                match &self.envp {
                    Some(envp) => libc::execve(path.as_ptr(), self.argv.as_ptr(), envp.as_ptr()),
                    None => libc::execv(path.as_ptr(), self.argv.as_ptr()),
                }
            };
            match Errno::last() {
                Errno::ENOENT | Errno::ENOTDIR => {}
                Errno::EACCES => {
                    // Seen, but not runnable? Or behind a folder it cannot enter?
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: stat writes into a local.
                    if unsafe { libc::stat(path.as_ptr(), &mut st) } == 0 {
                        denied = true;
                    }
                }
                e => other = other.or(Some(e)),
            }
        }
        let errno = match (other, denied) {
            (Some(e), _) => e,
            (None, true) => Errno::EACCES,
            (None, false) => Errno::ENOENT,
        };
        io::Error::from(errno)
    }
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
        for (fd, kind) in self.namespaces {
            // SAFETY: the descriptors belong to the container's `Init`, which outlives the
            // spawn; the child has its own copy of the descriptor table.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            setns(fd, CloneFlags::from_bits_retain(kind))
                .map_err(|e| self.fail(Step::EnterNamespaces, e))?;
        }
        if let Some(files) = &self.files {
            for (path, content) in files {
                // SAFETY: raw syscalls on prepared data.
                match unsafe { rootfs::write_file(path, content) } {
                    // A machine without the file has none in the container either.
                    Ok(()) | Err(Errno::ENOENT) => {}
                    Err(e) => return Err(self.fail(Step::WriteFile, e)),
                }
            }
        }
        self.enter_pid_namespace()
    }

    /// Starts the program inside the container's PID namespace. `setns` only places this
    /// process's *children* there, so it forks: the child goes on to exec the program; this
    /// process stays outside as a relay that waits for it and ends the same way (it is what
    /// netsh waits for, and what a timeout kills, together with the program's group) — or,
    /// for a background program, reports its pid and leaves it to the container's init.
    fn enter_pid_namespace(&self) -> io::Result<()> {
        // SAFETY: the descriptor is the container init's, open until exec.
        let ns = unsafe { BorrowedFd::borrow_raw(self.pidns) };
        setns(ns, CloneFlags::CLONE_NEWPID).map_err(|e| self.fail(Step::EnterPidns, e))?;
        // SAFETY: fork is async-signal-safe; both sides make only raw syscalls afterwards.
        match unsafe { libc::fork() } {
            -1 => Err(self.fail(Step::EnterPidns, Errno::last())),
            0 => {
                // The lab's root user: an unprivileged identity outside (sandbox.rs). Should
                // the relay die before the exec, the program is still the container's,
                // which dies with its init.
                // SAFETY: raw syscalls.
                if unsafe { libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 } {
                    return Err(self.fail(Step::Identity, Errno::last()));
                }
                Err(self.program.exec())
            }
            program => {
                if self.detach {
                    let p = program.to_ne_bytes();
                    // SAFETY: a raw write on the report pipe, closed just below.
                    unsafe { send(self.report, &[MSG_PID, p[0], p[1], p[2], p[3]]) };
                }
                // SIGINT sent to the program's group (Ctrl-C on the REPL's terminal) is
                // the program's to handle; the relay waits on and reports how it ended.
                // Set before the spawn completes (below), so no SIGINT can come earlier.
                // SAFETY: sigaction with SIG_IGN is async-signal-safe.
                unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
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
    /// Where what is read goes at once as well (the REPL's terminal, see `crate::live`).
    echo: Option<fn(&[u8])>,
}

impl Sink {
    fn new(pipe: Option<impl Into<OwnedFd>>, echo: Option<fn(&[u8])>) -> io::Result<Sink> {
        Ok(Sink {
            pipe: pipe.map(nonblocking).transpose()?,
            data: Vec::new(),
            cut: false,
            echo,
        })
    }

    /// Reads what is there now (up to `READ_BURST`); closes the pipe at end of file.
    fn drain(&mut self, chunk: &mut [u8]) -> io::Result<()> {
        let mut taken = 0;
        while let Some(pipe) = &mut self.pipe {
            match pipe.read(chunk) {
                Ok(0) => self.pipe = None,
                Ok(n) => {
                    if let Some(echo) = self.echo {
                        echo(&chunk[..n]);
                    }
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
    // On the REPL's terminal, output shows as it comes and Ctrl-C is the program's.
    let live = crate::live::on();
    let mut out = Sink::new(
        child.stdout.take(),
        live.then_some(crate::live::stdout as fn(&[u8])),
    )?;
    let mut err = Sink::new(
        child.stderr.take(),
        live.then_some(crate::live::stderr as fn(&[u8])),
    )?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status: Option<ExitStatus> = None;
    let mut killed_at: Option<Instant> = None;
    let mut interrupted_at: Option<Instant> = None;
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
        // Ctrl-C on the REPL's terminal while the program streams to it (a command line)
        // goes to the program's group as SIGINT, as a shell's terminal sends it to its
        // foreground job: `ping` prints its statistics and ends. The Ctrl-C is then the
        // program's, not the entry's. A program that ignores it is killed after a while.
        if live && status.is_none() && crate::interrupt::requested() {
            crate::interrupt::clear();
            interrupt_group(child);
            interrupted_at.get_or_insert(now);
        }
        let ignored = interrupted_at.is_some_and(|at| now >= at + INTERRUPT_GRACE);
        // Otherwise Ctrl-C in the REPL (see crate::interrupt) stops it as the deadline would.
        if killed_at.is_none()
            && (now >= deadline || ignored || (!live && crate::interrupt::requested()))
        {
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
        let mut wait = until
            .saturating_duration_since(now)
            .min(crate::interrupt::SLICE);
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

/// SIGINT to the program's process group, as a terminal sends it to its foreground job (the
/// relay ignores it and reports how the program ended).
fn interrupt_group(child: &Child) {
    let pgid = Pid::from_raw(child.id() as libc::pid_t);
    let _ = killpg(pgid, Signal::SIGINT);
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
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    const HOSTNAME: &str = "c0ffee123456";
    const HOSTS: &str = "127.0.0.1\tlocalhost\n172.17.0.2\tc0ffee123456\n";
    const RESOLV: &str = "nameserver 192.0.2.53\noptions ndots:0\n";

    /// What the relay and the init wrote, in this order, then the end of the pipe.
    fn reports(chunks: &[&[u8]]) -> io::Result<libc::pid_t> {
        let (r, w) = pipe2(OFlag::O_CLOEXEC).expect("pipe");
        let mut w = File::from(w);
        for c in chunks {
            w.write_all(c).expect("write");
        }
        drop(w);
        read_init_messages(&r)
    }

    /// The init may be ready before the relay has sent its pid: either order starts it.
    #[test]
    fn init_messages_in_either_order() {
        let pid = 4242 as libc::pid_t;
        let p = pid.to_ne_bytes();
        let pid_msg = [MSG_PID, p[0], p[1], p[2], p[3]];
        assert_eq!(reports(&[&pid_msg, &[MSG_READY]]).unwrap(), pid);
        assert_eq!(reports(&[&[MSG_READY], &pid_msg]).unwrap(), pid);
        assert_eq!(
            reports(&[&[MSG_READY], &pid_msg[..2], &pid_msg[2..]]).unwrap(),
            pid
        );
        let ended = reports(&[&pid_msg]).unwrap_err().to_string();
        assert!(ended.contains("ended during its setup"), "{ended}");
        let ended = reports(&[&[MSG_READY]]).unwrap_err().to_string();
        assert!(ended.contains("ended during its setup"), "{ended}");
        let e = 1i32.to_ne_bytes();
        let failed = reports(&[
            &pid_msg,
            &[MSG_FAILED, InitStep::Hostname as u8, e[0], e[1], e[2], e[3]],
        ])
        .unwrap_err()
        .to_string();
        assert!(failed.contains("sethostname failed"), "{failed}");
    }

    /// Namespaces need privileges; the suite also runs unprivileged (the same behaviour is
    /// tested through the real binary in tests/, as any user).
    fn privileged() -> bool {
        if nix::unistd::geteuid().is_root() {
            true
        } else {
            eprintln!("skipped: creating namespaces needs root");
            false
        }
    }

    type Container = (OwnedFd, Init);

    /// A network namespace and the init of a container in it.
    fn container() -> Container {
        let ns = crate::kernel::netns::create_with(|| Ok(()))
            .expect("create a network namespace")
            .0;
        let init = Init::start(&InitSpec {
            netns: ns.as_fd(),
            hostname: HOSTNAME,
            files: files(HOSTS),
        })
        .expect("start the container's init");
        (ns, init)
    }

    fn files(hosts: &str) -> ContainerFiles {
        [
            hosts.as_bytes().to_vec(),
            RESOLV.as_bytes().to_vec(),
            format!("{HOSTNAME}\n").into_bytes(),
        ]
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn spec<'a>(c: &'a Container, files: &'a ContainerFiles, argv: &'a [String]) -> ExecSpec<'a> {
        ExecSpec {
            init: &c.1,
            files,
            argv,
            timeout: Duration::from_secs(20),
            stdin: None,
            env: None,
        }
    }

    fn run(c: &Container, args: &[&str]) -> ExecOutput {
        let argv = strings(args);
        exec(&spec(c, &files(HOSTS), &argv)).expect("exec")
    }

    /// Waits (generously) for `cond`; panics naming `what` if it never holds.
    fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never happened: {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn alive(pid: u32) -> bool {
        // A zombie has no memory map; it is dead for our purpose.
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|s| !s.contains("\nState:\tZ"))
            .unwrap_or(false)
    }

    #[test]
    fn container_files_and_hostname() {
        if !privileged() {
            return;
        }
        let c = container();
        let hosts = run(&c, &["cat", "/etc/hosts"]);
        assert_eq!((hosts.stdout.as_str(), hosts.code), (HOSTS, 0), "{hosts:?}");
        assert_eq!(run(&c, &["cat", "/etc/resolv.conf"]).stdout, RESOLV);
        assert_eq!(
            run(&c, &["cat", "/etc/hostname"]).stdout,
            format!("{HOSTNAME}\n")
        );
        assert_eq!(run(&c, &["hostname"]).stdout, format!("{HOSTNAME}\n"));
    }

    #[test]
    fn files_are_rewritten_when_the_lab_changes_them() {
        if !privileged() {
            return;
        }
        let c = container();
        let changed = format!("{HOSTS}172.18.0.2\tc0ffee123456\n");
        let argv = strings(&["cat", "/etc/hosts"]);
        let out = exec(&spec(&c, &files(&changed), &argv)).expect("exec");
        assert_eq!(out.stdout, changed);
        // A program's own edit stays until the lab changes the file again.
        let argv = strings(&["sh", "-c", "echo '10.0.0.9 mine' >> /etc/hosts"]);
        exec(&spec(&c, &files(&changed), &argv)).expect("exec");
        let argv = strings(&["cat", "/etc/hosts"]);
        let out = exec(&spec(&c, &files(&changed), &argv)).expect("exec");
        assert_eq!(out.stdout, format!("{changed}10.0.0.9 mine\n"));
    }

    #[test]
    fn runs_in_the_containers_namespaces() {
        if !privileged() {
            return;
        }
        let c = container();
        let inode = nix::sys::stat::fstat(&c.0).expect("fstat netns").st_ino;
        let link = run(&c, &["readlink", "/proc/self/ns/net"]);
        assert_eq!(link.stdout.trim(), format!("net:[{inode}]"));
        // PID 1 is the container's init, in the same namespaces as the program.
        let init = run(
            &c,
            &[
                "readlink",
                "/proc/1/ns/net",
                "/proc/1/ns/mnt",
                "/proc/1/ns/uts",
            ],
        );
        let me = run(
            &c,
            &[
                "readlink",
                "/proc/self/ns/net",
                "/proc/self/ns/mnt",
                "/proc/self/ns/uts",
            ],
        );
        assert_eq!(init.stdout, me.stdout);
        assert_eq!(init.code, 0, "{init:?}");
    }

    #[test]
    fn writes_stay_in_the_container() {
        if !privileged() {
            return;
        }
        let c = container();
        let tag = format!("netsh-unit-{}", std::process::id());
        let wrote = run(
            &c,
            &[
                "sh",
                "-c",
                &format!("echo x > /tmp/{tag} && echo y > /etc/{tag} && cat /tmp/{tag} /etc/{tag}"),
            ],
        );
        assert_eq!(
            (wrote.stdout.as_str(), wrote.code),
            ("x\ny\n", 0),
            "{wrote:?}"
        );
        assert!(!Path::new(&format!("/tmp/{tag}")).exists());
        assert!(!Path::new(&format!("/etc/{tag}")).exists());
        // The next program of the same container sees them; another container does not.
        assert_eq!(run(&c, &["cat", &format!("/tmp/{tag}")]).stdout, "x\n");
        let other = container();
        assert_ne!(run(&other, &["cat", &format!("/tmp/{tag}")]).code, 0);
    }

    #[test]
    fn exit_codes_and_stderr() {
        if !privileged() {
            return;
        }
        let c = container();
        let out = run(&c, &["sh", "-c", "echo out; echo oops >&2; exit 3"]);
        assert_eq!(
            (
                out.stdout.as_str(),
                out.stderr.as_str(),
                out.code,
                out.timed_out
            ),
            ("out\n", "oops\n", 3, false)
        );
        let killed = run(&c, &["sh", "-c", "kill -TERM $$"]);
        assert_eq!(killed.code, 128 + libc::SIGTERM);
    }

    #[test]
    fn timeout_kills_the_process_group() {
        if !privileged() {
            return;
        }
        let c = container();
        // The background sleep holds stdout too: only killing the group ends it.
        let argv = strings(&["sh", "-c", "sleep 50 & sleep 50"]);
        let f = files(HOSTS);
        let spec = ExecSpec {
            timeout: Duration::from_millis(200),
            ..spec(&c, &f, &argv)
        };
        let start = Instant::now();
        let out = exec(&spec).expect("exec");
        assert!(out.timed_out, "{out:?}");
        assert_eq!(out.code, 137);
        assert!(start.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn leftover_holding_the_output_is_killed_at_the_deadline() {
        if !privileged() {
            return;
        }
        let c = container();
        let argv = strings(&["sh", "-c", "sleep 50 & echo started"]);
        let f = files(HOSTS);
        let spec = ExecSpec {
            timeout: Duration::from_millis(300),
            ..spec(&c, &f, &argv)
        };
        let out = exec(&spec).expect("exec");
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
        let c = container();
        let argv = strings(&["nosuchprog"]);
        let f = files(HOSTS);
        let e = exec(&spec(&c, &f, &argv)).expect_err("must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "cannot run \"nosuchprog\": not found in PATH"
        );
        let argv = strings(&["/nonexistent/prog"]);
        let e = exec(&spec(&c, &f, &argv)).expect_err("must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("/nonexistent/prog"), "{e}");
    }

    #[test]
    fn refuses_bad_requests() {
        if !privileged() {
            return;
        }
        let c = container();
        let none: Vec<String> = Vec::new();
        let f = files(HOSTS);
        let e = exec(&spec(&c, &f, &none)).expect_err("empty argv");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let long = "h".repeat(HOST_NAME_MAX + 1);
        let e = Init::start(&InitSpec {
            netns: c.0.as_fd(),
            hostname: &long,
            files: files(HOSTS),
        })
        .err()
        .expect("long hostname");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn large_output_and_input_do_not_deadlock() {
        if !privileged() {
            return;
        }
        let c = container();
        let out = run(&c, &["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"]);
        assert_eq!(out.code, 0);
        assert_eq!(out.stdout.len(), 1_000_000);
        assert!(out.stdout.bytes().all(|b| b == b'x'));

        // Both directions at once: cat writes back while we are still writing to it.
        let input = vec![b'y'; 1_000_000];
        let f = files(HOSTS);
        let argv = strings(&["cat"]);
        let echoed = exec(&ExecSpec {
            stdin: Some(&input),
            ..spec(&c, &f, &argv)
        })
        .expect("exec cat");
        assert_eq!(echoed.stdout.as_bytes(), &input[..]);

        // A program that ignores its input must not make us hang on writing it.
        let argv = strings(&["true"]);
        let ignored = exec(&ExecSpec {
            stdin: Some(&input),
            ..spec(&c, &f, &argv)
        })
        .expect("exec true");
        assert_eq!((ignored.code, ignored.timed_out), (0, false));
    }

    #[test]
    fn background_program_dies_with_its_container() {
        if !privileged() {
            return;
        }
        let c = container();
        let argv = strings(&["sleep", "300"]);
        let f = files(HOSTS);
        let (mut relay, pid) = spawn_background(&spec(&c, &f, &argv)).expect("spawn");
        let inode = nix::sys::stat::fstat(&c.0).expect("fstat netns").st_ino;
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .expect("program's netns")
            .ino();
        assert_eq!(theirs, inode);
        assert_eq!(
            relay.try_wait().expect("try_wait"),
            None,
            "the relay waits for it"
        );
        drop(c);
        wait_for("the background program dies with its container", || {
            !alive(pid)
        });
        // Its relay ends with it, for the caller to reap, and says how it ended (as a shell
        // would: 128 + SIGKILL).
        let status = relay.wait().expect("wait");
        assert_eq!(status.code(), Some(128 + libc::SIGKILL));
    }

    #[test]
    fn background_relays_end_with_their_programs() {
        if !privileged() {
            return;
        }
        let c = container();
        let argv = strings(&["true"]);
        let f = files(HOSTS);
        for _ in 0..5 {
            let (mut relay, pid) = spawn_background(&spec(&c, &f, &argv)).expect("spawn");
            assert_eq!(relay.wait().expect("wait").code(), Some(0));
            wait_for("a finished background program is gone", || {
                !Path::new(&format!("/proc/{pid}")).exists()
            });
        }
    }
}
