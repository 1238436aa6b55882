//! Puts the whole netsh process inside its own user and network namespace.
//!
//! This runs first thing in `main`, while the process still has a single thread: the kernel
//! refuses `unshare(CLONE_NEWUSER)` to a multi-threaded process. Afterwards every namespace,
//! interface, route and rule netsh makes is owned by this private user namespace, so
//! - no root is needed: the lab's root user has every capability *inside* it, over the lab's
//!   own namespaces, and none over the machine;
//! - nothing can reach the machine's own network: the process has left the machine's network
//!   namespace, and the new one ("the lab host") is freed by the kernel with everything in it
//!   once the last thread or file descriptor holding it is gone, however netsh exits.
//!
//! ## Who the lab's root is outside
//!
//! Started by an ordinary user, the lab's root is that user outside (the only identity an
//! unprivileged process may map). Started by the machine's root, it is *not* the machine's
//! root, as in rootless container engines: root inside maps to `nobody` (65534:65534), so a
//! program in the lab cannot write the machine's root-owned files, nor its root-only kernel
//! settings under `/proc/sys` (the kernel checks those against the global root uid).
//! Supplementary groups are dropped before, so no root group membership leaks in.
//!
//! netsh itself keeps its own identity, so it can still read the scripts and modules it was
//! given; the programs the lab runs become the lab's root (see `kernel::process`). Started by
//! root, netsh also makes itself undumpable: a process in the lab, root in the lab's user
//! namespace, then cannot trace netsh or open its `/proc` entries (the kernel asks for
//! privileges in the machine's user namespace, where netsh was started).

use std::fs;
use std::io;

use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid, setgroups};
use thiserror::Error;

/// Who the lab's root is outside when netsh is started by the machine's root:
/// `nobody`/`nogroup`, the identity that owns no file.
pub const ROOT_OUTSIDE: (u32, u32) = (65534, 65534);

#[derive(Debug, Error)]
pub enum SandboxError {
    #[error(
        "cannot create the lab's user namespace: {0}\n\
         hint: netsh needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
         user.max_user_namespaces > 0)"
    )]
    Unshare(nix::Error),
    #[error("cannot write /proc/self/{path}: {source}")]
    Map {
        path: &'static str,
        source: io::Error,
    },
    #[error("cannot drop the supplementary groups of root: {0}")]
    Groups(nix::Error),
    #[error("cannot make netsh undumpable: {0}")]
    Dumpable(nix::Error),
}

/// Moves the calling (single-threaded) process into a fresh user namespace, whose root is
/// the calling user — or `nobody` when that is the machine's root — and a fresh network
/// namespace that becomes the lab's host.
pub fn enter() -> Result<(), SandboxError> {
    let root = geteuid().is_root();
    let (uid, gid) = outside_identity(geteuid().as_raw(), getegid().as_raw());
    if !root {
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
            .map_err(SandboxError::Unshare)?;
        for (file, content) in maps(uid, gid) {
            write_map(file, &content)?;
        }
    } else {
        setgroups(&[]).map_err(SandboxError::Groups)?;
        map_by_helper(uid, gid)?;
        // Started by root, netsh is the only process of the lab with root's identity outside:
        // undumpable, it cannot be traced or inspected through /proc by the lab's processes
        // (which also cannot see it, from their own PID namespaces). Started by a user, it
        // stays inspectable by that user, like any of their processes.
        nix::sys::prctl::set_dumpable(false).map_err(SandboxError::Dumpable)?;
    }
    Ok(())
}

/// Unshares, and has a helper process that stayed in the machine's user namespace write the
/// maps: mapping root to another identity needs `CAP_SETUID` in the *parent* user
/// namespace, which the process gives up by unsharing (the way `newuidmap` serves rootless
/// engines).
fn map_by_helper(uid: u32, gid: u32) -> Result<(), SandboxError> {
    use nix::sys::wait::waitpid;
    use nix::unistd::{fork, pipe, read, write, ForkResult};
    let failed = |e: nix::Error| SandboxError::Map {
        path: "uid_map",
        source: e.into(),
    };
    let (go_r, go_w) = pipe().map_err(failed)?;
    let (done_r, done_w) = pipe().map_err(failed)?;
    // SAFETY: netsh has one thread here, so the child may run ordinary code.
    match unsafe { fork() }.map_err(failed)? {
        ForkResult::Child => {
            drop(go_w);
            drop(done_r);
            let mut byte = [0u8];
            let ok = matches!(read(&go_r, &mut byte), Ok(1)) && {
                let parent = nix::unistd::getppid();
                maps(uid, gid)
                    .iter()
                    .all(|(file, map)| fs::write(format!("/proc/{parent}/{file}"), map).is_ok())
            };
            let _ = write(&done_w, &[u8::from(ok)]);
            // SAFETY: ends the helper without running the parent's exit handlers.
            unsafe { nix::libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(go_r);
            drop(done_w);
            let unshared = unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET);
            let _ = write(&go_w, &[u8::from(unshared.is_ok())]);
            let mut byte = [0u8];
            let mapped = matches!(read(&done_r, &mut byte), Ok(1)) && byte[0] == 1;
            let _ = waitpid(child, None);
            unshared.map_err(SandboxError::Unshare)?;
            if !mapped {
                return Err(SandboxError::Map {
                    path: "uid_map",
                    source: io::Error::other(format!(
                        "the helper could not map the lab's root to {uid}:{gid}"
                    )),
                });
            }
            Ok(())
        }
    }
}

/// Moves the calling thread into a fresh network namespace, the host of a fresh lab (the
/// REPL's `:reset`: a new lab, not the old one emptied). Returns the namespace it left, to
/// go back to with [`return_to`] should the new lab not come up. Threads started later
/// (the new lab's) begin in the new namespace; the old lab's live on in the old one until
/// it is dropped, and the kernel frees it with the last of them.
pub fn new_lab_host() -> io::Result<std::os::fd::OwnedFd> {
    let old = crate::kernel::netns::current()?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    Ok(old)
}

/// Moves the calling thread back into `host` (see [`new_lab_host`]).
pub fn return_to(host: &std::os::fd::OwnedFd) -> io::Result<()> {
    nix::sched::setns(host, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

/// The identity outside that the lab's root maps to, for a caller with `uid` and `gid`.
pub fn outside_identity(uid: u32, gid: u32) -> (u32, u32) {
    if uid == 0 {
        ROOT_OUTSIDE
    } else {
        (uid, gid)
    }
}

/// What goes into the lab process's `/proc/PID/` files, in the order the kernel needs: an
/// unprivileged process must give up setgroups(2) before it may write a gid map
/// (user_namespaces(7), since Linux 3.19); the lab never needs setgroups either.
fn maps(uid: u32, gid: u32) -> [(&'static str, String); 3] {
    [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("0 {uid} 1")),
        ("gid_map", format!("0 {gid} 1")),
    ]
}

/// Writes one of [`maps`] into `/proc/self/`.
fn write_map(file: &'static str, content: &str) -> Result<(), SandboxError> {
    fs::write(format!("/proc/self/{file}"), content)
        .map_err(|source| SandboxError::Map { path: file, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_mapped_out() {
        assert_eq!(outside_identity(0, 0), (65534, 65534));
        assert_eq!(outside_identity(1000, 100), (1000, 100));
        assert_eq!(outside_identity(65534, 65534), (65534, 65534));
    }
}
