//! A container's own filesystem, as Docker gives one: the machine's files read-only under a
//! writable in-memory layer, fresh `/tmp`, `/run` and `/dev`, its own `/proc`, and its own
//! `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`.
//!
//! The container's init builds it once, in the container's private mount namespace, and
//! every program `exec` starts joins that namespace: what one program writes, the next one
//! sees, and all of it vanishes with the container (the layers live in tmpfs, which the kernel
//! frees with the mount namespace).
//!
//! ## How the root is laid out
//!
//! An overlay of the whole machine root (`lowerdir=/`) is refused inside a user namespace:
//! the root carries mounts inherited from the machine, which the kernel locks, and overlayfs
//! cannot clone a lower layer with locked mounts beneath it ("failed to clone lowerpath").
//! So the new root is a tmpfs, and each top-level folder of the machine gets an overlay of
//! its own (`lowerdir=/etc`, upper and work folders on a second, hidden tmpfs). A folder the
//! kernel refuses to overlay (one with mounts of its own beneath it, say) is bind-mounted
//! read-only instead; top-level symlinks (`/bin -> usr/bin`) are copied as symlinks.
//!
//! Overlayfs gives unix sockets of the lower layer an inode of its own, so `connect()` on a
//! machine's socket seen through the overlay is refused: the machine's daemons are out of
//! reach, and `/run`, `/var/run` and `/tmp`, where their sockets live, are fresh anyway.
//!
//! Files of the machine's root (or any identity the lab's user namespace does not map) keep
//! their owner outside, which the container sees as `nobody`: they can be read where the
//! machine lets everyone read them, and never written, as in rootless container engines.
//!
//! ## Why a plan
//!
//! The init is forked from multi-threaded netsh, so between `fork` and the end of the
//! setup it may only make raw syscalls (another thread may have held the allocator's lock).
//! [`Plan::new`] therefore decides everything in the parent — every path, every option
//! string — and [`Plan::run`] in the child only walks the prepared steps.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::libc;

/// Where the new root is assembled before `pivot_root`: the first of these that is a
/// folder on the machine (a mount over it, in the container's private mount namespace,
/// hides it only there).
const STAGES: [&str; 2] = ["/tmp", "/mnt"];

/// Top-level folders that get fresh filesystems instead of the machine's.
const FRESH: [&str; 5] = ["proc", "sys", "dev", "tmp", "run"];

/// Device nodes bound from the machine's `/dev` (the ones Docker creates; an unprivileged
/// user namespace cannot `mknod`, so they are bind mounts of the machine's, as in rootless
/// engines).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The container's own files, in this order: `/etc/hosts`, `/etc/resolv.conf`,
/// `/etc/hostname`.
pub const FILES: [&str; 3] = ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"];

/// One syscall of the plan.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Mkdir(CString, libc::mode_t),
    Mount {
        source: CString,
        target: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
    },
    /// Makes a mount tree read-only, submounts included (`mount_setattr`, Linux 5.12).
    ReadOnlyTree(CString),
    Symlink {
        target: CString,
        path: CString,
    },
    /// Creates a file with `content` (mode 0644).
    File(CString, Vec<u8>),
    Detach(CString),
    Rmdir(CString),
    /// `pivot_root` into this folder, dropping the old root.
    PivotRoot(CString),
}

/// Steps that belong together, with what to do when one fails.
#[derive(Debug, Clone)]
struct Group {
    /// Tried in order until one runs through; a failed alternative's later steps are
    /// skipped.
    alternatives: Vec<Vec<Op>>,
    /// Without it the container is unusable: the whole setup fails.
    required: bool,
    what: Stage,
}

/// What a group does, named when a required one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    Root = 1,
    Layers,
    Folder,
    Proc,
    Sys,
    Dev,
    Tmp,
    Files,
    Pivot,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Root,
        Stage::Layers,
        Stage::Folder,
        Stage::Proc,
        Stage::Sys,
        Stage::Dev,
        Stage::Tmp,
        Stage::Files,
        Stage::Pivot,
    ];

    pub fn what(self) -> &'static str {
        match self {
            Stage::Root => "mounting the container's root (tmpfs)",
            Stage::Layers => "mounting the container's writable layer (tmpfs)",
            Stage::Folder => "laying out the machine's folders in the container",
            Stage::Proc => "mounting the container's /proc",
            Stage::Sys => "mounting the container's /sys",
            Stage::Dev => "making the container's /dev",
            Stage::Tmp => "mounting the container's /tmp and /run",
            Stage::Files => "writing the container's /etc/hosts, /etc/resolv.conf, /etc/hostname",
            Stage::Pivot => "switching to the container's root (pivot_root)",
        }
    }
}

/// Everything the container's init does to its mount namespace, decided in advance.
#[derive(Debug, Clone)]
pub struct Plan {
    groups: Vec<Group>,
}

/// A path or option string for a syscall.
pub(super) fn cstring(s: impl AsRef<[u8]>) -> CString {
    // Paths come from directory entries and constants: no NUL inside. One that had one could
    // not name a file anyway; it becomes an empty path, which every syscall refuses.
    CString::new(s.as_ref().to_vec()).unwrap_or_default()
}

fn mount(
    source: &str,
    target: &[u8],
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Op {
    Op::Mount {
        source: cstring(source),
        target: cstring(target),
        fstype: fstype.map(cstring),
        flags,
        data: data.map(cstring),
    }
}

fn tmpfs(target: &[u8], mode: &str) -> Op {
    mount(
        "tmpfs",
        target,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&format!("mode={mode}")),
    )
}

fn join(base: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = base.to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// A read-only bind of `source` (with its submounts) at `target`.
fn read_only_bind(source: &[u8], target: &[u8]) -> Vec<Op> {
    vec![
        Op::Mount {
            source: cstring(source),
            target: cstring(target),
            fstype: None,
            flags: libc::MS_BIND | libc::MS_REC,
            data: None,
        },
        Op::ReadOnlyTree(cstring(target)),
    ]
}

impl Plan {
    /// Plans the container's root from the machine's top-level folders as they are now, with
    /// `files` as the contents of [`FILES`].
    pub fn new(files: &[Vec<u8>; 3]) -> Plan {
        let stage = STAGES
            .iter()
            .find(|s| Path::new(s).is_dir())
            .copied()
            .unwrap_or("/tmp")
            .as_bytes();
        let layers = join(stage, b".netsh-layers");
        let upper = join(&layers, b"upper");
        let work = join(&layers, b"work");
        let files_dir = join(&layers, b"files");
        let mut groups = vec![
            Group::required(Stage::Root, vec![tmpfs(stage, "0755")]),
            Group::required(
                Stage::Layers,
                vec![
                    Op::Mkdir(cstring(&layers), 0o700),
                    tmpfs(&layers, "0700"),
                    Op::Mkdir(cstring(&upper), 0o755),
                    Op::Mkdir(cstring(&work), 0o755),
                    Op::Mkdir(cstring(&files_dir), 0o755),
                ],
            ),
        ];

        let mut entries: Vec<_> = std::fs::read_dir("/")
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        entries.sort_by_key(|e| e.file_name());
        let mut var_run_is_dir = false;
        for entry in entries {
            let name = entry.file_name();
            let name = name.as_bytes();
            if name == b".netsh-layers" {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let target = join(stage, name);
            let source = join(b"", name);
            if kind.is_symlink() {
                if let Ok(link) = std::fs::read_link(entry.path()) {
                    groups.push(Group::optional(
                        Stage::Folder,
                        vec![Op::Symlink {
                            target: cstring(link.as_os_str().as_bytes()),
                            path: cstring(&target),
                        }],
                    ));
                }
            } else if kind.is_dir() {
                if FRESH.iter().any(|f| f.as_bytes() == name) {
                    continue;
                }
                if name == b"var" {
                    var_run_is_dir = Path::new("/var/run")
                        .symlink_metadata()
                        .is_ok_and(|m| m.is_dir());
                }
                groups.push(Group::required(
                    Stage::Folder,
                    vec![Op::Mkdir(cstring(&target), 0o755)],
                ));
                let mut alternatives = Vec::new();
                // Overlay options are separated by commas and lower layers by colons; a
                // folder whose name holds either is only bound read-only.
                if !name.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
                    let up = join(&upper, name);
                    let wk = join(&work, name);
                    let data = format!(
                        "lowerdir={},upperdir={},workdir={},userxattr",
                        String::from_utf8_lossy(&source),
                        String::from_utf8_lossy(&up),
                        String::from_utf8_lossy(&wk)
                    );
                    alternatives.push(vec![
                        Op::Mkdir(cstring(&up), 0o755),
                        Op::Mkdir(cstring(&wk), 0o755),
                        Op::Mount {
                            source: cstring("overlay"),
                            target: cstring(&target),
                            fstype: Some(cstring("overlay")),
                            flags: 0,
                            data: Some(cstring(data)),
                        },
                    ]);
                }
                alternatives.push(read_only_bind(&source, &target));
                groups.push(Group {
                    alternatives,
                    required: false,
                    what: Stage::Folder,
                });
            } else if kind.is_file() {
                let mut ops = vec![Op::File(cstring(&target), Vec::new())];
                ops.extend(read_only_bind(&source, &target));
                groups.push(Group::optional(Stage::Folder, ops));
            }
        }

        // Its own /proc, of the container's PID namespace (the init mounts it from inside).
        let proc_ = join(stage, b"proc");
        groups.push(Group::required(
            Stage::Proc,
            vec![
                Op::Mkdir(cstring(&proc_), 0o555),
                mount(
                    "proc",
                    &proc_,
                    Some("proc"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    None,
                ),
            ],
        ));
        // Its own /sys, showing the container's network devices; read-only as in Docker.
        let sys = join(stage, b"sys");
        groups.push(Group::required(
            Stage::Sys,
            vec![Op::Mkdir(cstring(&sys), 0o555)],
        ));
        groups.push(Group {
            alternatives: vec![
                vec![mount(
                    "sysfs",
                    &sys,
                    Some("sysfs"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
                    None,
                )],
                read_only_bind(b"/sys", &sys),
            ],
            required: false,
            what: Stage::Sys,
        });
        groups.extend(Self::dev(stage));
        for (name, mode) in [(&b"tmp"[..], "1777"), (b"run", "0755")] {
            let dir = join(stage, name);
            groups.push(Group::required(
                Stage::Tmp,
                vec![Op::Mkdir(cstring(&dir), 0o755), tmpfs(&dir, mode)],
            ));
        }
        if var_run_is_dir {
            groups.push(Group::optional(
                Stage::Tmp,
                vec![tmpfs(&join(stage, b"var/run"), "0755")],
            ));
        }
        for (i, path) in FILES.iter().enumerate() {
            let staged = join(&files_dir, &path.as_bytes()[5..]);
            groups.push(Group::required(
                Stage::Files,
                vec![Op::File(cstring(&staged), files[i].clone())],
            ));
            // A machine without the file keeps it missing (creating it would need a copy of
            // /etc the container's root may not own).
            groups.push(Group::optional(
                Stage::Files,
                vec![Op::Mount {
                    source: cstring(&staged),
                    target: cstring(join(stage, &path.as_bytes()[1..])),
                    fstype: None,
                    flags: libc::MS_BIND,
                    data: None,
                }],
            ));
        }
        // The overlays and bind mounts keep what they use of the layers alive.
        groups.push(Group::required(
            Stage::Layers,
            vec![Op::Detach(cstring(&layers))],
        ));
        groups.push(Group::optional(
            Stage::Layers,
            vec![Op::Rmdir(cstring(&layers))],
        ));
        groups.push(Group::required(
            Stage::Pivot,
            vec![Op::PivotRoot(cstring(stage))],
        ));
        Plan { groups }
    }

    /// A fresh `/dev` as Docker makes it: a tmpfs with the usual devices, its own `pts`
    /// instance and `shm`, and the `/proc/self/fd` links.
    fn dev(stage: &[u8]) -> Vec<Group> {
        let dev = join(stage, b"dev");
        let mut groups = vec![Group::required(
            Stage::Dev,
            vec![Op::Mkdir(cstring(&dev), 0o755), tmpfs(&dev, "0755")],
        )];
        for name in DEVICES {
            let node = join(&dev, name.as_bytes());
            let mut ops = vec![Op::File(cstring(&node), Vec::new())];
            ops.push(Op::Mount {
                source: cstring(format!("/dev/{name}")),
                target: cstring(&node),
                fstype: None,
                flags: libc::MS_BIND,
                data: None,
            });
            groups.push(Group::optional(Stage::Dev, ops));
        }
        let pts = join(&dev, b"pts");
        groups.push(Group::optional(
            Stage::Dev,
            vec![
                Op::Mkdir(cstring(&pts), 0o755),
                mount(
                    "devpts",
                    &pts,
                    Some("devpts"),
                    libc::MS_NOSUID | libc::MS_NOEXEC,
                    Some("newinstance,ptmxmode=0666,mode=0620"),
                ),
                Op::Symlink {
                    target: cstring("pts/ptmx"),
                    path: cstring(join(&dev, b"ptmx")),
                },
            ],
        ));
        let shm = join(&dev, b"shm");
        groups.push(Group::optional(
            Stage::Dev,
            vec![Op::Mkdir(cstring(&shm), 0o1777), tmpfs(&shm, "1777")],
        ));
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            groups.push(Group::optional(
                Stage::Dev,
                vec![Op::Symlink {
                    target: cstring(target),
                    path: cstring(join(&dev, name.as_bytes())),
                }],
            ));
        }
        groups
    }

    /// Carries the plan out. Runs in a freshly forked child (the container's init, already
    /// in its own mount namespace with private propagation, as the container's root): raw
    /// syscalls on prepared data only. On failure returns the stage and the errno.
    pub fn run(&self) -> Result<(), (Stage, Errno)> {
        for group in &self.groups {
            let mut last = Errno::UnknownErrno;
            let mut done = false;
            for ops in &group.alternatives {
                match ops.iter().try_for_each(run_op) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            if !done && group.required {
                return Err((group.what, last));
            }
        }
        Ok(())
    }
}

impl Group {
    fn required(what: Stage, ops: Vec<Op>) -> Group {
        Group {
            alternatives: vec![ops],
            required: true,
            what,
        }
    }

    fn optional(what: Stage, ops: Vec<Op>) -> Group {
        Group {
            alternatives: vec![ops],
            required: false,
            what,
        }
    }
}

fn ptr(s: &Option<CString>) -> *const libc::c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

fn check(r: libc::c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// One step, as raw syscalls (async-signal-safe: no allocation).
fn run_op(op: &Op) -> Result<(), Errno> {
    // SAFETY: every pointer comes from a CString or slice owned by the plan, which outlives
    // the call; the syscalls only read them.
    unsafe {
        match op {
            Op::Mkdir(path, mode) => match check(libc::mkdir(path.as_ptr(), *mode)) {
                // The folder may be there already (an overlay's own, a tmpfs's mount point).
                Err(Errno::EEXIST) => Ok(()),
                other => other,
            },
            Op::Mount {
                source,
                target,
                fstype,
                flags,
                data,
            } => check(libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                ptr(fstype),
                *flags,
                ptr(data).cast(),
            )),
            Op::ReadOnlyTree(path) => read_only_tree(path),
            Op::Symlink { target, path } => check(libc::symlink(target.as_ptr(), path.as_ptr())),
            Op::File(path, content) => write_file(path, content),
            Op::Detach(path) => check(libc::umount2(path.as_ptr(), libc::MNT_DETACH)),
            Op::Rmdir(path) => check(libc::rmdir(path.as_ptr())),
            Op::PivotRoot(dir) => {
                // pivot_root(".", "."): the old root ends up stacked on the new one and is
                // detached at once (pivot_root(2), "NOTES").
                check(libc::chdir(dir.as_ptr()))?;
                check(
                    libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr())
                        as libc::c_int,
                )?;
                check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
                check(libc::chdir(c"/".as_ptr()))
            }
        }
    }
}

/// `mount_setattr(path, AT_RECURSIVE, MOUNT_ATTR_RDONLY)`; on kernels before 5.12, a
/// read-only remount of the top mount alone.
unsafe fn read_only_tree(path: &CStr) -> Result<(), Errno> {
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let r = libc::syscall(
        libc::SYS_mount_setattr,
        libc::AT_FDCWD,
        path.as_ptr(),
        libc::AT_RECURSIVE as libc::c_uint,
        &attr as *const libc::mount_attr,
        std::mem::size_of::<libc::mount_attr>(),
    );
    if r == 0 {
        return Ok(());
    }
    if Errno::last() != Errno::ENOSYS {
        return Err(Errno::last());
    }
    check(libc::mount(
        std::ptr::null(),
        path.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
        std::ptr::null(),
    ))
}

/// Creates (or truncates) `path` with mode 0644 and writes `content`.
///
/// # Safety
/// Raw syscalls only; safe to call between `fork` and `exec`.
pub unsafe fn write_file(path: &CStr, mut content: &[u8]) -> Result<(), Errno> {
    let fd = libc::open(
        path.as_ptr(),
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
        0o644 as libc::c_uint,
    );
    if fd < 0 {
        return Err(Errno::last());
    }
    // The umask may have taken bits away from the mode given to open.
    let mut result = check(libc::fchmod(fd, 0o644));
    while result.is_ok() && !content.is_empty() {
        let n = libc::write(fd, content.as_ptr().cast(), content.len());
        if n < 0 {
            if Errno::last() != Errno::EINTR {
                result = Err(Errno::last());
            }
        } else {
            content = &content[n as usize..];
        }
    }
    libc::close(fd);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> [Vec<u8>; 3] {
        [b"h".to_vec(), b"r".to_vec(), b"n\n".to_vec()]
    }

    fn targets(plan: &Plan) -> Vec<String> {
        plan.groups
            .iter()
            .flat_map(|g| g.alternatives.iter().flatten())
            .filter_map(|op| match op {
                Op::Mount { target, .. } => Some(target.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_top_level_folder_is_overlaid_or_fresh() {
        let plan = Plan::new(&files());
        let t = targets(&plan);
        let stage = STAGES.iter().find(|s| Path::new(s).is_dir()).unwrap();
        for dir in ["etc", "usr", "proc", "sys", "dev", "tmp", "run"] {
            if Path::new("/").join(dir).is_dir() {
                assert!(
                    t.contains(&format!("{stage}/{dir}")),
                    "{dir} is not mounted in {t:?}"
                );
            }
        }
        // No mount of the machine's own /tmp, /run or /proc reaches the container.
        let sources: Vec<String> = plan
            .groups
            .iter()
            .flat_map(|g| g.alternatives.iter().flatten())
            .filter_map(|op| match op {
                Op::Mount { source, .. } => Some(source.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        for fresh in ["/tmp", "/run", "/proc", "/dev"] {
            assert!(!sources.contains(&fresh.to_string()), "{fresh} is bound");
        }
    }

    #[test]
    fn overlay_options_name_each_layer() {
        let plan = Plan::new(&files());
        let etc = plan
            .groups
            .iter()
            .flat_map(|g| g.alternatives.iter().flatten())
            .find_map(|op| match op {
                Op::Mount {
                    fstype: Some(f),
                    data: Some(d),
                    ..
                } if f.as_bytes() == b"overlay" && d.to_bytes().starts_with(b"lowerdir=/etc,") => {
                    Some(d.to_string_lossy().into_owned())
                }
                _ => None,
            })
            .expect("an overlay of /etc");
        assert!(
            etc.contains("upperdir=") && etc.contains("workdir=") && etc.ends_with(",userxattr")
        );
    }

    #[test]
    fn the_plan_ends_in_the_new_root() {
        let plan = Plan::new(&files());
        let last = plan.groups.last().expect("groups");
        assert!(last.required);
        assert!(matches!(last.alternatives[0][0], Op::PivotRoot(_)));
    }
}
