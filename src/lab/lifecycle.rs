//! A container's life after `run`: its main program (the command it was run with), which
//! the lab watches; `docker stop`, `start`, `restart`, `kill`; and what happens when the
//! program ends by itself. Docker 20.10's rules:
//!
//! - A container runs while its main program runs. When the program ends — by itself, or
//!   because `stop` or `kill` ended it — the container is `exited` with the program's exit
//!   code, and the daemon releases its networks (`releaseNetwork`): the sandbox and its
//!   veths go, addresses and host ports are given back, its names leave the networks' DNS.
//!   What stays is the configuration: the networks it is on, with the addresses and aliases
//!   asked for.
//! - `start` makes a new sandbox and allocates the networks again, in the order the
//!   container joined them (an address not asked for may differ from last time), then runs
//!   the command again. Output accumulates in one log across starts (`docker logs`).
//! - `stop` sends SIGTERM, waits up to the timeout (10 s by default), then SIGKILL.
//!
//! One difference is the kernel's, not netsh's choice: in Docker the command is PID 1 of the
//! container, and the kernel never delivers a signal PID 1 has no handler for — so
//! `sh -c 'while …'` ignores SIGTERM and `docker stop` waits its 10 s and kills (137). In
//! netsh the container's init is PID 1 and the command its child, so SIGTERM ends such a
//! command at once (143).
//!
//! A container without a command idles until stopped, as `docker run -itd busybox` does
//! (netsh does not pull images, so it does not know an image's own command).
//!
//! The lab notices that a main program ended whenever it looks at itself
//! (`settle_removals`), so no view ever shows a running container whose program is gone.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::docker::sandbox_ns;
use super::{clock, Lab, LabError, Result};
use crate::firewall;
use crate::kernel::process::{self, SharedLog};
use crate::kernel::Op;
use crate::model::docker::{Container, NetMode, State};

/// A container's main program as the lab watches it.
pub(super) struct MainProgram {
    /// netsh's child: it ends with the program, with its exit code.
    relay: std::process::Child,
    /// The program's pid as netsh sees it.
    pid: u32,
    /// The thread reading its output into the log.
    reader: std::thread::JoinHandle<()>,
}

impl MainProgram {
    /// Whether the program has ended, without reaping its relay: until `end` reaps it, the
    /// relay's pid — the ID of the process group `end` signals — cannot be handed to a new
    /// process, so that signal can never reach one that got a recycled pid (the kernel
    /// recycles them quickly: `pid_max` may be 32768).
    fn has_ended(&self) -> bool {
        let pid = Pid::from_raw(self.relay.id() as i32);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        !matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::StillAlive))
    }

    /// Kills what is left of the program's process group, reaps the relay, and waits
    /// (briefly: a process that left the group may hold the output open for good) until
    /// the log holds everything the program printed. Returns the exit code.
    pub(super) fn end(mut self) -> i32 {
        process::signal_group(&self.relay, Signal::SIGKILL);
        let code = match self.relay.wait() {
            Ok(status) => status.code().unwrap_or(137),
            Err(_) => 137,
        };
        let deadline = Instant::now() + LOG_GRACE;
        while !self.reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(STOP_POLL);
        }
        code
    }
}

/// How long the end of a main program waits for the last of its output.
const LOG_GRACE: Duration = Duration::from_millis(250);

/// How often `stop` looks whether the program has ended yet (a condition, not a delay:
/// it returns as soon as the program has gone).
const STOP_POLL: Duration = Duration::from_millis(2);

impl Lab {
    /// Starts the main program of `c` (running, with a command) in its namespaces, its
    /// output going to the container's log. `argv` is the program as the image runs it
    /// (see [`image_argv`]).
    pub fn start_main(&self, c: &Container, argv: &[String]) -> Result<()> {
        let who = self.container_who(&c.id)?;
        let log = self.log_of(&c.id);
        let (relay, pid, reader) = self.with_exec_spec(&who, argv, Duration::ZERO, |spec| {
            process::spawn_logged(spec, log)
        })?;
        self.running
            .mains
            .borrow_mut()
            .insert(c.id.clone(), MainProgram { relay, pid, reader });
        Ok(())
    }

    /// The log of container `id`, made on first use; it lives as long as the container.
    pub(super) fn log_of(&self, id: &str) -> SharedLog {
        self.running
            .logs
            .borrow_mut()
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    /// What container `key`'s programs printed (`docker logs`): its main program's
    /// output, in the order written, over all its starts; with the output of a `docker run`
    /// that waited for it.
    pub fn container_log(&self, key: &str) -> Result<String> {
        let id = self.docker().container(key)?.id.clone();
        let log = self.log_of(&id);
        let log = log
            .lock()
            .map_err(|_| LabError::Invalid("the container's log is unreadable".into()))?;
        Ok(String::from_utf8_lossy(&log.data).into_owned())
    }

    /// Adds `text` to container `id`'s log (the output of a `docker run` that waited).
    pub fn append_log(&self, id: &str, text: &str) {
        if let Ok(mut log) = self.log_of(id).lock() {
            log.data.extend_from_slice(text.as_bytes());
        }
    }

    /// `docker stop [-t SECONDS]`: SIGTERM to the main program, SIGKILL after `timeout`,
    /// then the container exits and its networks are released. Stopping a container that
    /// does not run does nothing (as Docker). Returns whether it was running.
    pub fn stop_container(&self, key: &str, timeout: Duration) -> Result<bool> {
        self.signal_container(key, Some(timeout))
    }

    /// `docker kill`: SIGKILL to the main program, then as `stop`. Docker refuses to kill a
    /// container that does not run: `Container … is not running`.
    pub fn kill_container(&self, key: &str) -> Result<()> {
        let (id, running) = {
            let d = self.docker();
            let c = d.container(key)?;
            (c.id.clone(), c.state == State::Running)
        };
        if !running {
            return Err(LabError::Docker(format!(
                "Cannot kill container: {key}: Container {id} is not running"
            )));
        }
        self.signal_container(key, None).map(|_| ())
    }

    fn signal_container(&self, key: &str, term_for: Option<Duration>) -> Result<bool> {
        self.reap_mains();
        let (id, running) = {
            let d = self.docker();
            let c = d.container(key)?;
            (c.id.clone(), c.state == State::Running)
        };
        if !running {
            return Ok(false);
        }
        let main = self.running.mains.borrow_mut().remove(&id);
        let code = match main {
            Some(main) => {
                if let Some(timeout) = term_for {
                    let _ = kill(Pid::from_raw(main.pid as i32), Signal::SIGTERM);
                    let deadline = Instant::now() + timeout;
                    while Instant::now() < deadline && !main.has_ended() {
                        std::thread::sleep(STOP_POLL);
                    }
                }
                main.end()
            }
            // A container without a command: its init is all there is.
            None => 137,
        };
        self.take_down(&id, State::Exited { code })?;
        self.auto_remove(&id)?;
        Ok(true)
    }

    /// A container run with `--rm` that has stopped goes (the daemon's `AutoRemove`).
    fn auto_remove(&self, id: &str) -> Result<()> {
        let remove = self
            .docker()
            .container(id)
            .is_ok_and(|c| c.auto_remove && c.state != State::Running);
        if remove {
            self.remove_container(id)?;
        }
        Ok(())
    }

    /// `docker start`: a created or exited container gets its networks again (see
    /// `Docker::start`) and its command runs again. Returns the container and whether it
    /// was started (a running one is left alone). All or nothing.
    pub fn start_container(&self, key: &str) -> Result<(Container, bool)> {
        self.reap_mains();
        let saved = self.docker.borrow().clone();
        let (c, started) = self.docker.borrow_mut().start(key, &clock::now_rfc3339())?;
        if !started {
            return Ok((c, false));
        }
        // Only published ports change the firewall: as it was, from the model before.
        let fw_before =
            (!c.ports.is_empty()).then(|| firewall::derive_in(&saved, firewall::Scope::Ports));
        let mut built = super::docker::Built::default();
        match self.build_run(&c.id, fw_before.as_ref(), &mut built) {
            Ok(c) => {
                if !c.cmd.is_empty() {
                    if let Err(e) = self.start_main(&c, &image_argv(&c.image, &c.cmd)) {
                        self.take_down(&c.id, State::Exited { code: 127 })?;
                        return Err(e);
                    }
                }
                Ok((c, true))
            }
            Err(e) => {
                self.unbuild_start(&c, built, saved);
                Err(e)
            }
        }
    }

    /// `docker restart [-t SECONDS]`: `stop`, then `start`.
    pub fn restart_container(&self, key: &str, timeout: Duration) -> Result<Container> {
        self.stop_container(key, timeout)?;
        self.start_container(key).map(|(c, _)| c)
    }

    /// The main program of a `docker run` that waited for it ended with `code`: the
    /// container exits.
    pub fn main_ended(&self, key: &str, code: i32) -> Result<()> {
        let id = self.docker().container(key)?.id.clone();
        self.take_down(&id, State::Exited { code })?;
        self.auto_remove(&id)
    }

    /// Containers whose main program has ended by itself exit, before anything reads
    /// the model (`docker ps`, `inspect`).
    pub fn settle_containers(&self) {
        self.reap_mains();
    }

    /// Containers whose main program has ended by itself exit (see the module
    /// documentation). Called whenever the lab looks at itself; never recursive.
    pub(super) fn reap_mains(&self) {
        if self.running.reaping.replace(true) {
            return;
        }
        let ended: Vec<(String, i32)> = {
            let mut mains = self.running.mains.borrow_mut();
            let ended: Vec<String> = mains
                .iter()
                .filter(|(_, m)| m.has_ended())
                .map(|(id, _)| id.clone())
                .collect();
            ended
                .into_iter()
                .filter_map(|id| {
                    // What the program left in its group goes with it.
                    let code = mains.remove(&id)?.end();
                    Some((id, code))
                })
                .collect()
        };
        for (id, code) in ended {
            if let Err(e) = self
                .take_down(&id, State::Exited { code })
                .and_then(|()| self.auto_remove(&id))
            {
                eprintln!(
                    "container {id}: its program ended, but its network could not be released: {e}"
                );
            }
        }
        self.running.reaping.set(false);
    }

    /// Ends whatever still runs of container `id`'s main program (its process group).
    pub(super) fn end_main(&self, id: &str) {
        let main = self.running.mains.borrow_mut().remove(id);
        if let Some(m) = main {
            m.end();
        }
    }

    /// Container `id` stops running (`to`: exited with a code): what runs in it ends, its
    /// published ports close, its namespace goes (the kernel takes the veths with it), its
    /// names leave the networks' DNS, and the model releases its networks. The firewall
    /// changes first and is restored if the namespace cannot go. The next look at the lab
    /// waits until the kernel has dismantled the veths and the bridges show it (a bridge
    /// that lost its last port reads `linkdown`), so it sees the stopped lab.
    pub(super) fn take_down(&self, id: &str, to: State) -> Result<()> {
        self.end_main(id);
        let (c, names) = {
            let d = self.docker();
            let c = d.container(id)?.clone();
            if c.state != State::Running {
                drop(d);
                self.docker
                    .borrow_mut()
                    .release_networks(id, to, &clock::now_rfc3339())?;
                return Ok(());
            }
            let names: Vec<_> = c
                .endpoints
                .iter()
                .map(|e| (e.network_id.clone(), self.dns_names_of(&c, &e.network_id)))
                .collect();
            (c, names)
        };
        let now = clock::now_rfc3339();
        let undo = if c.ports.is_empty() {
            None
        } else {
            let mut next = self.docker.borrow().clone();
            next.release_networks(&c.id, to, &now)?;
            self.firewall_between(
                &self.firewall_state(firewall::Scope::Ports),
                &firewall::derive_in(&next, firewall::Scope::Ports),
            )?
        };
        if c.mode == NetMode::Own {
            if let Err(e) = self.apply(Op::DelNetns { ns: sandbox_ns(&c) }) {
                self.firewall_undo(undo);
                return Err(e);
            }
            self.release_sandbox(&c);
        }
        self.stop_proxies(&c);
        self.docker.borrow_mut().release_networks(&c.id, to, &now)?;
        for (network_id, n) in names {
            self.dns_left(&c, &network_id, n)?;
            self.settle_network_device(&network_id);
        }
        Ok(())
    }
}

/// The program a container of `image` runs for `argv`. Images are not pulled: programs
/// come from the machine's files. A `busybox` image's programs are busybox's applets, so
/// when the machine has busybox, `ping`, `ip a` or `/bin/sh` in such a container run as
/// `busybox ping` … (their output then reads as in a real busybox container: `ip a`
/// without `state`, busybox's `ping` statistics).
///
/// A program that is no applet (`nosuchprog`) keeps its own name, so it fails as in a
/// busybox container: not found (Docker's `executable file not found in $PATH`), not
/// busybox's `applet not found`.
pub fn image_argv(image: &str, argv: &[String]) -> Vec<String> {
    let busybox_image =
        image == "busybox" || image.starts_with("busybox:") || image.starts_with("busybox@");
    match argv.split_first() {
        Some((prog, rest)) if busybox_image => {
            let applet = prog.rsplit('/').next().unwrap_or(prog);
            if applet == "busybox" || !busybox_applets().contains(applet) {
                return argv.to_vec();
            }
            let mut out = vec!["busybox".to_string(), applet.to_string()];
            out.extend(rest.iter().cloned());
            out
        }
        _ => argv.to_vec(),
    }
}

/// The applets of the machine's busybox (`busybox --list`), read once; empty without
/// busybox.
fn busybox_applets() -> &'static std::collections::HashSet<String> {
    static APPLETS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    APPLETS.get_or_init(|| {
        ["/bin/busybox", "/usr/bin/busybox"]
            .iter()
            .find(|p| std::path::Path::new(p).exists())
            .and_then(|p| std::process::Command::new(p).arg("--list").output().ok())
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    })
}
