//! What one netsh lab could leave on the machine, told apart from what everything else on the
//! machine (another netsh, a Docker engine, compilers writing /tmp) does meanwhile.
//!
//! While netsh runs (stopped for a moment), [`Lab::record`] notes what belongs to the lab:
//! its user namespace (every process netsh starts lives in it or in a namespace nested in it,
//! and an open descriptor of it here keeps its inode from being recycled while we look), the
//! inodes of the lab's other namespaces, the processes descending from netsh, the names of
//! the lab host's links and the identities the lab's user namespace maps to outside. After
//! netsh has ended, [`Lab::leftovers`] looks for exactly those things on the machine.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `ioctl(NS_GET_PARENT)` on a user namespace descriptor: a descriptor of its parent
/// (`_IO(0xb7, 0x2)`, linux/nsfs.h).
const NS_GET_PARENT: nix::libc::c_ulong = 0xb702;
/// `ioctl(NS_GET_USERNS)` on a namespace descriptor: the user namespace owning it
/// (`_IO(0xb7, 0x1)`).
const NS_GET_USERNS: nix::libc::c_ulong = 0xb701;

/// How deep under /tmp new files are looked for.
const TMP_DEPTH: usize = 3;

/// Where the lab mounts things inside its own mount namespaces; the same mount appearing in
/// the machine's mount table would be one of the lab's that escaped.
const LAB_MOUNT_POINTS: [&str; 12] = [
    "/",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/hostname",
    "/tmp",
    "/dev",
    "/proc",
    "/run",
    "/var/run",
    "/sys",
    "/run/netns",
    "/var/run/netns",
];

/// Names under /tmp that the test suite itself makes (public copies, .ci/run's work
/// directory, the benchmark's scripts): never counted as the lab's.
pub const SUITE_TMP_PREFIXES: [&str; 3] = ["netsh-test-", "netsh-ci.", "netsh-bench-"];

/// The machine's state that a lab could add to, taken before the lab starts.
#[derive(Debug, Clone)]
pub struct Machine {
    links: BTreeSet<String>,
    mounts: BTreeSet<String>,
    files: BTreeSet<PathBuf>,
}

fn dir_names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn mountinfo() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Files under /tmp (a few levels deep) and /run/netns, without the suite's own.
fn machine_files() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    fn walk(dir: &Path, depth: usize, out: &mut BTreeSet<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            if depth == 0 {
                let name = e.file_name().to_string_lossy().into_owned();
                if SUITE_TMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
                    continue;
                }
            }
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            out.insert(path.clone());
            if is_dir && depth + 1 < TMP_DEPTH && out.len() < 200_000 {
                walk(&path, depth + 1, out);
            }
        }
    }
    walk(Path::new("/tmp"), 0, &mut out);
    for name in dir_names("/run/netns") {
        out.insert(Path::new("/run/netns").join(name));
    }
    out
}

impl Machine {
    /// The machine's links, mounts and files now.
    pub fn now() -> Machine {
        Machine {
            links: dir_names("/sys/class/net"),
            mounts: mountinfo(),
            files: machine_files(),
        }
    }
}

/// Fields of `/proc/<pid>/stat` after the command name (field 3, the state, is index 0).
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// A process: its pid and start time (which tells it from a later process with its pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Proc {
    pub pid: i32,
    start: u64,
}

impl Proc {
    /// The process `pid` now, if it runs (a zombie has ended: it only waits to be reaped).
    pub fn of(pid: i32) -> Option<Proc> {
        let f = stat_fields(pid)?;
        if f.first().is_some_and(|s| s == "Z" || s == "X") {
            return None;
        }
        Some(Proc {
            pid,
            start: f.get(19)?.parse().ok()?,
        })
    }

    /// Whether this very process still runs.
    pub fn alive(&self) -> bool {
        Proc::of(self.pid) == Some(*self)
    }
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The namespace links of every thread of `pid` and its descriptors that are namespaces:
/// each path with its target (`net:[N]`, `user:[N]` …).
fn namespace_links(pid: i32) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut look = |dir: &Path| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(t) = std::fs::read_link(e.path()) {
                    let t = t.to_string_lossy().into_owned();
                    let ns = t.ends_with(']')
                        && t.split_once(":[").is_some_and(|(kind, _)| {
                            ["net", "user", "mnt", "pid", "uts", "ipc", "cgroup", "time"]
                                .contains(&kind)
                        });
                    if ns {
                        out.push((e.path(), t));
                    }
                }
            }
        }
    };
    look(Path::new(&format!("/proc/{pid}/fd")));
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            look(&t.path().join("ns"));
        }
    }
    out
}

/// `net:[N]`, `user:[N]` … targets of the namespace links of every thread of `pid` and of its
/// descriptors that are namespaces.
pub fn namespaces_of(pid: i32) -> BTreeSet<String> {
    namespace_links(pid).into_iter().map(|(_, t)| t).collect()
}

/// The inode of the user namespace `pid` lives in, as `/proc/<pid>/ns/user` names it.
fn userns_of(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/user"))
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
}

fn ino_of(fd: &OwnedFd) -> Option<u64> {
    nix::sys::stat::fstat(fd).ok().map(|st| st.st_ino)
}

/// Whether the namespace behind `fd` is owned by (for a user namespace: is or nests in) the
/// user namespace with inode `userns`. Walks up the chain of parents with `NS_GET_PARENT`.
fn within_userns(fd: OwnedFd, userns: u64, first_step: nix::libc::c_ulong) -> bool {
    let mut current = fd;
    let mut step = first_step;
    for _ in 0..40 {
        // SAFETY: an ioctl that takes no argument and returns a new descriptor or -1.
        let up = unsafe { nix::libc::ioctl(current.as_raw_fd(), step as _) };
        if up < 0 {
            return false;
        }
        // SAFETY: the kernel just returned this descriptor to us.
        current = unsafe { OwnedFd::from_raw_fd(up) };
        if ino_of(&current) == Some(userns) {
            return true;
        }
        step = NS_GET_PARENT;
    }
    false
}

/// What a running lab consists of, recorded while netsh was stopped.
#[derive(Debug)]
pub struct Lab {
    /// netsh itself.
    pub netsh: Proc,
    /// When netsh was started; files older than this are not the lab's.
    started: SystemTime,
    /// The lab's user namespace, held open so its inode cannot go to another namespace while
    /// we look; None when netsh had not entered it yet.
    userns: Option<(File, u64)>,
    /// The lab's namespaces (`net:[N]` …), without the machine's own.
    pub namespaces: BTreeSet<String>,
    /// netsh's descendants.
    pub processes: BTreeSet<Proc>,
    /// Link names seen in the lab, plus names the caller knows the lab uses.
    links: BTreeSet<String>,
    /// Identities outside (ranges start, count) the lab's user namespace maps to.
    uids: Vec<(u32, u32)>,
}

/// netsh's descendants now (a process whose parent is `root` or one of its descendants).
fn descendants(root: i32) -> BTreeSet<Proc> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for pid in pids() {
        if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            if let Some(proc_) = Proc::of(c) {
                out.insert(proc_);
            }
            todo.push(c);
        }
    }
    out
}

/// Link names in the network namespace of `pid`'s main thread.
fn links_of(pid: i32) -> BTreeSet<String> {
    std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_string()))
        .collect()
}

impl Lab {
    /// Records the lab of the netsh process `netsh` (started at `started`), which should be
    /// stopped (SIGSTOP) so that the picture is consistent. `known_links` are link names the
    /// caller knows the lab makes (for example from its `--trace`). None when netsh has
    /// already ended.
    pub fn record(netsh: i32, started: SystemTime, known_links: &BTreeSet<String>) -> Option<Lab> {
        let me = Proc::of(netsh)?;
        let machine: BTreeSet<String> = namespaces_of(std::process::id() as i32)
            .into_iter()
            .chain(namespaces_of(1))
            .collect();
        let own_userns = userns_of(std::process::id() as i32);
        let netsh_userns = userns_of(netsh)?;
        let userns = if Some(&netsh_userns) == own_userns.as_ref() {
            None
        } else {
            let file = File::open(format!("/proc/{netsh}/ns/user")).ok()?;
            let ino = file.metadata().ok()?.ino();
            Some((file, ino))
        };
        let processes = descendants(netsh);
        let mut namespaces = namespaces_of(netsh);
        let mut links = known_links.clone();
        links.extend(links_of(netsh));
        for p in &processes {
            namespaces.extend(namespaces_of(p.pid));
            links.extend(links_of(p.pid));
        }
        namespaces.retain(|n| !machine.contains(n));
        let uids = std::fs::read_to_string(format!("/proc/{netsh}/uid_map"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<u32> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (f.len() == 3).then(|| (f[1], f[2]))
            })
            .collect();
        // Still there (not a zombie): the picture is of a running lab.
        Proc::of(netsh)?;
        Some(Lab {
            netsh: me,
            started,
            userns,
            namespaces,
            processes,
            links,
            uids,
        })
    }

    /// Whether the lab's user namespace maps `uid` outside, root excepted: the machine's
    /// root is everybody's, so a root-owned file cannot be told apart from other programs'.
    fn maps_uid(&self, uid: u32) -> bool {
        uid != 0
            && self
                .uids
                .iter()
                .any(|&(start, count)| uid >= start && uid - start < count)
    }

    /// Whether the process `pid` lives in the lab's user namespace or one nested in it.
    fn in_lab_userns(&self, pid: i32, cache: &mut BTreeMap<String, bool>) -> bool {
        let Some((_, ino)) = &self.userns else {
            return false;
        };
        let Some(name) = userns_of(pid) else {
            return false;
        };
        if let Some(&known) = cache.get(&name) {
            return known;
        }
        let inside = if name == format!("user:[{ino}]") {
            true
        } else {
            File::open(format!("/proc/{pid}/ns/user"))
                .ok()
                .is_some_and(|f| within_userns(OwnedFd::from(f), *ino, NS_GET_PARENT))
        };
        cache.insert(name, inside);
        inside
    }

    /// One of the lab's namespaces that `pid` holds (as a thread's namespace or a
    /// descriptor), if any. An inode alone could be a namespace made since with a recycled
    /// number: it counts only if the namespace it names is owned by the lab's user namespace
    /// (which we hold, so that one cannot be recycled).
    fn held_by(&self, pid: i32) -> Option<String> {
        let (_, userns) = self.userns.as_ref()?;
        namespace_links(pid).into_iter().find_map(|(path, target)| {
            if !self.namespaces.contains(&target) {
                return None;
            }
            if target == format!("user:[{userns}]") {
                return Some(target);
            }
            let step = if target.starts_with("user:") {
                NS_GET_PARENT
            } else {
                NS_GET_USERNS
            };
            let fd = OwnedFd::from(File::open(&path).ok()?);
            within_userns(fd, *userns, step).then_some(target)
        })
    }

    /// Everything of the lab still on the machine, in words; empty when nothing is left.
    ///
    /// - processes: netsh's recorded descendants, any process in the lab's user namespace
    ///   (or one nested in it), whatever its parent now, and any process holding one of the
    ///   lab's namespaces (found by inode in /proc/*/ns and /proc/*/fd);
    /// - namespaces: a bind mount of one of the lab's namespaces in the machine's mount
    ///   table (processes holding them are found above);
    /// - mounts: a new mount in the machine's mount table at a place the lab mounts inside
    ///   its own mount namespaces;
    /// - links: a new link in the machine's network namespace with a name the lab used;
    /// - files: new files under /tmp and /run/netns owned by an identity the lab maps to
    ///   outside, changed after netsh started.
    pub fn leftovers(&self, before: &Machine) -> Vec<String> {
        let mut left = Vec::new();
        if self.netsh.alive() {
            left.push(format!("netsh itself (pid {})", self.netsh.pid));
        }
        for p in &self.processes {
            if p.alive() {
                left.push(format!(
                    "process {} ({}) started by netsh",
                    p.pid,
                    comm(p.pid)
                ));
            }
        }
        let mut cache = BTreeMap::new();
        let own = std::process::id() as i32;
        for pid in pids() {
            if pid == own || Proc::of(pid).is_none() || self.processes.iter().any(|p| p.pid == pid)
            {
                continue;
            }
            if self.in_lab_userns(pid, &mut cache) {
                left.push(format!(
                    "process {pid} ({}) in the lab's user namespace",
                    comm(pid)
                ));
            } else if let Some(ns) = self.held_by(pid) {
                left.push(format!(
                    "process {pid} ({}) holds the lab's {ns}",
                    comm(pid)
                ));
            }
        }
        for line in mountinfo().difference(&before.mounts) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(root), Some(point)) = (fields.get(3), fields.get(4)) else {
                continue;
            };
            let fstype = line
                .split_once(" - ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            if fstype == "nsfs" {
                let ours = self.namespaces.iter().any(|n| root.contains(n.as_str()))
                    || self.userns.as_ref().is_some_and(|(_, ino)| {
                        File::open(point)
                            .ok()
                            .is_some_and(|f| within_userns(OwnedFd::from(f), *ino, NS_GET_USERNS))
                    });
                if ours {
                    left.push(format!("the lab's namespace {root} mounted at {point}"));
                }
            } else if LAB_MOUNT_POINTS.contains(point) {
                left.push(format!(
                    "a {fstype} mount at {point} in the machine: {line}"
                ));
            }
        }
        for link in dir_names("/sys/class/net").difference(&before.links) {
            if self.links.contains(link) {
                left.push(format!("link {link} in the machine's network namespace"));
            }
        }
        let since = self.started - Duration::from_secs(1);
        for path in machine_files().difference(&before.files) {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            let changed = SystemTime::UNIX_EPOCH
                + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec().max(0) as u32);
            if changed >= since && self.maps_uid(meta.uid()) {
                left.push(format!(
                    "{} (owner {}), made while the lab ran",
                    path.display(),
                    meta.uid()
                ));
            }
        }
        left
    }

    /// Waits (generously: the kernel dismantles namespaces and reaps processes in its own
    /// time on a loaded machine) until nothing of the lab is left; fails listing what is.
    pub fn wait_gone(&self, before: &Machine) {
        super::wait_for(
            &format!("nothing left of the lab of netsh pid {}", self.netsh.pid),
            Duration::from_secs(60),
            || {
                let left = self.leftovers(before);
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("left behind:\n  {}", left.join("\n  ")))
                }
            },
        )
    }
}
