//! The whole tutorial pasted into the REPL through a pseudo-terminal: every command line of
//! its code blocks, in its order, as a learner pastes them, gives the outcome a real Docker
//! 20.10 host gives (`../shared/docs/tutorial-on-real-docker.txt`): the same success or
//! failure, addresses, names, MACs, interface names and JSON fields. Pings the tutorial
//! leaves running stream their lines to the terminal until Ctrl-C, which ends them with
//! their statistics and gives the prompt back, the lab intact.
//!
//! The command lines are read from the tutorial itself (`../shared/seed/
//! docker-networking-tutorial.zh.md`, or `$NETSH_TUTORIAL`), so the test follows it.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use common::pty::{self, ctrl_c, leave, parent, read_until, start_repl_as, type_line, Repl};
use common::users;

/// Words that start a command line of the lab.
const COMMANDS: &[&str] = &["docker", "ip", "brctl", "ping"];
/// Words that start the tutorial's other shell commands (`ifconfig`, `yum -y install
/// bridge-utils`): not the lab's, so the REPL answers them with a one-line hint.
const OUTSIDE: &[&str] = &["ifconfig", "yum"];

/// Commands the tutorial assumes were run before one of its own, where the transcript of
/// the real Docker host runs them (its second command: `mytom`, which the tutorial first
/// uses in `docker exec mytom ip a`, started right after the first `docker network ls`).
const PRESUMED: &[(&str, &str)] = &[(
    "docker network ls",
    r#"docker run -d --name mytom busybox /bin/sh -c "while true; do sleep 3600; done""#,
)];

fn tutorial() -> PathBuf {
    std::env::var_os("NETSH_TUTORIAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/seed/docker-networking-tutorial.zh.md")
        })
}

/// The tutorial's command lines as the repository keeps them (`tests/data/`), for machines
/// without the tutorial itself (a fresh clone in CI).
fn kept_copy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tutorial-commands.md")
}

/// The markdown to take the lines from: the tutorial when it is at hand, else the kept
/// copy of its command lines.
fn source() -> (PathBuf, String) {
    let path = tutorial();
    match std::fs::read_to_string(&path) {
        Ok(text) => (path, text),
        Err(_) => {
            let copy = kept_copy();
            let text = std::fs::read_to_string(&copy).unwrap_or_else(|e| {
                panic!(
                    "cannot read the tutorial at {} nor its kept copy {} ({e}); \
                     NETSH_TUTORIAL names the tutorial",
                    path.display(),
                    copy.display()
                )
            });
            (copy, text)
        }
    }
}

/// The kept copy holds exactly the tutorial's command lines (checked where the tutorial is
/// at hand; elsewhere the copy is all there is to check against).
#[test]
fn the_kept_copy_matches_the_tutorial() {
    let kept = std::fs::read_to_string(kept_copy()).expect("tests/data/tutorial-commands.md");
    match std::fs::read_to_string(tutorial()) {
        Ok(markdown) => assert_eq!(lines(&kept), lines(&markdown), "refresh tests/data/"),
        Err(_) => assert!(lines(&kept).len() > 60),
    }
}

/// The lines to paste, in the tutorial's order, with the [`PRESUMED`] ones where the
/// transcript has them.
///
/// The rule: inside a fenced code block (between lines starting with ```), a line whose
/// first word (up to the first space) is `docker`, `ip`, `brctl` or `ping` is a command
/// line. Every other line there is a comment (`#ns1 created`), the mark of cut output
/// (`....`) or output (`ns2`, `docker0   8000.02428abf39c1 no vethf6a7340`, `^C`, `ping:
/// bad address 'bb2'` — whose first word is `ping:`), and is skipped; except the shell
/// commands of [`OUTSIDE`], pasted too.
fn lines(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut presumed: Vec<&(&str, &str)> = PRESUMED.iter().collect();
    let mut in_block = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let first = line.split(' ').next().unwrap_or("");
        if !in_block || !(COMMANDS.contains(&first) || OUTSIDE.contains(&first)) {
            continue;
        }
        out.push(line.trim_end().to_string());
        if let Some(at) = presumed
            .iter()
            .position(|(after, _)| *after == line.trim_end())
        {
            out.push(presumed.remove(at).1.to_string());
        }
    }
    assert!(
        presumed.is_empty(),
        "the tutorial lost a line: {presumed:?}"
    );
    out
}

/// Types `line`, waits for the prompt, returns what the command printed (`\n` line ends).
fn run(r: &mut Repl, line: &str) -> String {
    pty::run(r, line).replace("\r\n", "\n")
}

/// What ends a ping the tutorial leaves running: Ctrl-C, once it has shown `text`.
enum Until {
    Shown(&'static str),
    /// Once the program (a busybox `ping` whose arguments end so) has a handler for SIGINT:
    /// it prints its statistics from there, and shows nothing before (it writes its header
    /// into a pipe, unflushed, and gets no reply).
    Handles(&'static [&'static str]),
}

/// Types `line`, waits as `until` says, types Ctrl-C, waits for the prompt; returns what
/// the command printed.
fn interrupt(r: &mut Repl, line: &str, until: Until) -> String {
    pty::at_prompt(r);
    r.seen.clear();
    type_line(r, line);
    match until {
        Until::Shown(text) => read_until(&mut r.master, &mut r.seen, text),
        Until::Handles(tail) => wait_for_sigint_handler(r.child.id(), tail),
    }
    ctrl_c(r);
    pty::after_echo(r, line).replace("\r\n", "\n")
}

/// Waits until a process of netsh's lab (a grandchild: netsh, a relay, the program) whose
/// arguments end with `tail` catches SIGINT (`SigCgt` in its status).
fn wait_for_sigint_handler(netsh: u32, tail: &[&str]) {
    let catches_sigint = |pid: u32| -> bool {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (nix::libc::SIGINT - 1)) != 0)
    };
    common::wait_until(
        &format!("{tail:?} runs in netsh's lab and catches SIGINT"),
        Duration::from_secs(120),
        || {
            let Ok(entries) = std::fs::read_dir("/proc") else {
                return false;
            };
            entries.flatten().any(|e| {
                let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                    return false;
                };
                let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                    return false;
                };
                let args: Vec<String> = cmdline
                    .split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                args.ends_with(&tail.iter().map(|t| t.to_string()).collect::<Vec<_>>())
                    && parent(pid).and_then(parent) == Some(netsh)
                    && catches_sigint(pid)
            })
        },
    );
}

fn has(line: &str, out: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(out.contains(w), "{line}: no {w:?} in:\n{out}");
    }
}

fn lacks(line: &str, out: &str, unwanted: &[&str]) {
    for w in unwanted {
        assert!(!out.contains(w), "{line}: {w:?} in:\n{out}");
    }
}

/// The captures of `re` on the first line of `out` that it matches.
fn capture(line: &str, out: &str, re: &str) -> Vec<String> {
    let re = Regex::new(re).expect("regex");
    let caps = out
        .lines()
        .find_map(|l| re.captures(l))
        .unwrap_or_else(|| panic!("{line}: nothing matches {re} in:\n{out}"));
    caps.iter()
        .skip(1)
        .map(|c| c.map_or(String::new(), |c| c.as_str().to_string()))
        .collect()
}

/// A full ID and a newline, as `run -d` and `network create` print it.
fn full_id(line: &str, out: &str) -> String {
    capture(line, out, r"^([0-9a-f]{64})$").remove(0)
}

/// iputils' statistics after Ctrl-C, for a ping that got replies: how many came.
fn iputils_interrupted(line: &str, out: &str, target: &str) -> u32 {
    has(
        line,
        out,
        &[
            &format!("PING {target} ({target}) 56(84) bytes of data.\n"),
            &format!("64 bytes from {target}: icmp_seq=1 ttl=64 time="),
            &format!("^C\n--- {target} ping statistics ---\n"),
            "rtt min/avg/max/mdev = ",
        ],
    );
    let c = capture(
        line,
        out,
        r"^(\d+) packets transmitted, (\d+) received, (\d+)% packet loss, time \d+ms$",
    );
    c[1].parse().expect("a count")
}

/// busybox's statistics after Ctrl-C (`to` as typed, `ip` its address): how many replies
/// came.
fn busybox_interrupted(line: &str, out: &str, to: &str, ip: &str) -> u32 {
    has(
        line,
        out,
        &[
            &format!("PING {to} ({ip}): 56 data bytes\n"),
            &format!("\n--- {to} ping statistics ---\n"),
        ],
    );
    let c = capture(
        line,
        out,
        r"^(\d+) packets transmitted, (\d+) packets received, (\d+)% packet loss$",
    );
    let received: u32 = c[1].parse().expect("a count");
    if received > 0 {
        has(
            line,
            out,
            &[
                &format!("64 bytes from {ip}: seq=0 ttl=64 time="),
                "round-trip min/avg/max = ",
            ],
        );
    }
    received
}

/// What the session learnt so far (IDs, MACs, interface indexes), for later checks.
#[derive(Default)]
struct Seen {
    ids: HashMap<String, String>,
    /// The `ip link` view's index and MAC of each end of the tutorial's veth pair.
    veth: HashMap<String, (String, String)>,
    docker0_mac: String,
    /// The host end of mytom's veth: name, index, the container end's index.
    mytom_port: (String, String, String),
    bb1_ip_a: String,
}

/// Checks what `line` (its `nth` time in the tutorial) printed and its exit status.
fn check(line: &str, nth: usize, out: &str, status: i64, seen: &mut Seen) {
    let ok = |expected: i64| {
        assert_eq!(status, expected, "{line}: exit status; it printed:\n{out}");
    };
    let id12 = |seen: &Seen, name: &str| seen.ids[name][..12].to_string();
    let busybox = r#"busybox /bin/sh -c "while true; do sleep 3600; done""#;
    match (line, nth) {
        ("ip netns list", _) => {
            ok(0);
            assert_eq!(out, "ns2\nns1\n");
        }
        ("ip netns exec ns1 ip a" | "ip netns exec ns2 ip a", 0) => {
            ok(0);
            assert!(
                out.starts_with(
                    "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000\n"
                ),
                "{line}:\n{out}"
            );
            assert_eq!(out.lines().count(), 2, "{line}: only lo:\n{out}");
        }
        ("ip link", 0) => {
            ok(0);
            for (end, peer) in [("veth-ns1", "veth-ns2"), ("veth-ns2", "veth-ns1")] {
                let c = capture(
                    line,
                    out,
                    &format!(
                        r"^(\d+): {end}@{peer}: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000$"
                    ),
                );
                let mac = out
                    .split(&format!(": {end}@{peer}: "))
                    .nth(1)
                    .map(|rest| {
                        capture(
                            line,
                            rest,
                            r"^    link/ether ([0-9a-f:]{17}) brd ff:ff:ff:ff:ff:ff$",
                        )
                    })
                    .expect("its MAC")
                    .remove(0);
                seen.veth.insert(end.into(), (c[0].clone(), mac));
            }
        }
        ("ip link", 1) => {
            ok(0);
            lacks(line, out, &["veth-ns"]);
        }
        ("ip netns exec ns1 ip link" | "ip netns exec ns2 ip link", _) => {
            ok(0);
            let (end, peer) = if line.contains("ns1") {
                ("veth-ns1", "veth-ns2")
            } else {
                ("veth-ns2", "veth-ns1")
            };
            let (index, mac) = &seen.veth[end];
            let (peer_index, _) = &seen.veth[peer];
            has(
                line,
                out,
                &[
                    &format!("{index}: {end}@if{peer_index}: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n"),
                    &format!("    link/ether {mac} brd ff:ff:ff:ff:ff:ff link-netnsid "),
                ],
            );
        }
        ("ip netns exec ns1 ip a" | "ip netns exec ns2 ip a", 1 | 2) => {
            ok(0);
            let (end, peer, addr) = if line.contains("ns1") {
                ("veth-ns1", "veth-ns2", "192.168.1.1")
            } else {
                ("veth-ns2", "veth-ns1", "192.168.1.2")
            };
            let (index, mac) = &seen.veth[end];
            let (peer_index, _) = &seen.veth[peer];
            let flags = if nth == 1 {
                "<BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN"
            } else {
                "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP"
            };
            has(
                line,
                out,
                &[
                    "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000\n",
                    &format!("{index}: {end}@if{peer_index}: {flags} group default qlen 1000\n"),
                    &format!("    link/ether {mac} brd ff:ff:ff:ff:ff:ff link-netnsid "),
                    &format!("    inet {addr}/24 scope global {end}\n"),
                ],
            );
        }
        ("ip netns exec ns1 ping 192.168.1.2" | "ip netns exec ns2 ping 192.168.1.1", _) => {
            ok(0);
            let target = &line[line.len() - 11..];
            assert!(
                iputils_interrupted(line, out, target) >= 3,
                "{line}:\n{out}"
            );
        }
        ("docker network ls", _) => {
            ok(0);
            assert!(
                out.starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"),
                "{line}:\n{out}"
            );
            let mut rows = vec![
                "   bridge    bridge    local\n",
                "   host      host      local\n",
                "   none      null      local\n",
            ];
            if nth == 1 {
                rows.push("   bridge2   bridge    local\n");
                has(
                    line,
                    out,
                    &[&format!("{}   bridge2 ", id12(seen, "bridge2"))],
                );
            }
            has(line, out, &rows);
            assert_eq!(out.lines().count(), rows.len() + 1, "{line}:\n{out}");
        }
        (l, _)
            if l.starts_with("docker run -d --name ")
                || l.starts_with("docker run --name mytomcat") =>
        {
            ok(0);
            let name = l
                .split(' ')
                .nth(if l.starts_with("docker run -d") { 4 } else { 3 })
                .expect("a name");
            if name == "mytomcat" {
                // As Docker prints it (on stderr) before the ID.
                has(
                    line,
                    out,
                    &["WARNING: Published ports are discarded when using host network mode\n"],
                );
            } else {
                assert!(l.ends_with(busybox), "{l}");
            }
            seen.ids.insert(name.to_string(), full_id(line, out));
        }
        ("ip a", 0) => {
            ok(0);
            has(
                line,
                out,
                &[
                    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n",
                    "2: eth0",
                    "3: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \n",
                    "    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\n",
                ],
            );
            let docker0 = out.split("3: docker0: ").nth(1).expect("docker0");
            seen.docker0_mac = capture(
                line,
                docker0,
                r"^    link/ether (02:42:[0-9a-f:]{11}) brd ff:ff:ff:ff:ff:ff$",
            )
            .remove(0);
        }
        ("docker network inspect bridge", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    "        \"Name\": \"bridge\",\n",
                    "        \"Driver\": \"bridge\",\n",
                    "                    \"Subnet\": \"172.17.0.0/16\",\n                    \"Gateway\": \"172.17.0.1\"\n",
                    "            \"com.docker.network.bridge.name\": \"docker0\",\n",
                    &format!("            \"{}\": {{\n                \"Name\": \"mytom\",\n", seen.ids["mytom"]),
                    "                \"MacAddress\": \"02:42:ac:11:00:02\",\n                \"IPv4Address\": \"172.17.0.2/16\",\n",
                ],
            );
            if nth == 2 {
                has(
                    line,
                    out,
                    &[
                        &format!("            \"{}\": {{\n                \"Name\": \"bb1\",\n", seen.ids["bb1"]),
                        "                \"MacAddress\": \"02:42:ac:11:00:03\",\n                \"IPv4Address\": \"172.17.0.3/16\",\n",
                    ],
                );
            }
        }
        ("ip a", 1) => {
            ok(0);
            let c = capture(
                line,
                out,
                r"^(\d+): (veth[0-9a-f]{7})@if(\d+): <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP group default $",
            );
            seen.mytom_port = (c[1].clone(), c[0].clone(), c[2].clone());
        }
        ("docker exec [容器名称] ip a", _) => {
            // As Docker prints it, and nothing else (no diagnostic around it).
            ok(1);
            assert_eq!(out, "Error: No such container: [容器名称]\n", "{line}");
        }
        ("docker exec mytom ip a", _) => {
            ok(0);
            let (_, host_index, index) = &seen.mytom_port;
            has(
                line,
                out,
                &[
                    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n",
                    &format!("{index}: eth0@if{host_index}: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue \n"),
                    "    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff\n",
                    "    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\n",
                ],
            );
        }
        // Not the lab's: a one-line hint.
        ("ifconfig" | "yum -y install bridge-utils", _) => {
            let hint = if line == "ifconfig" {
                "`ip a`"
            } else {
                "brctl is built into the lab"
            };
            has(line, out, &[hint]);
            assert_eq!(out.lines().count(), 1, "{line}:\n{out}");
        }
        ("brctl show", _) => {
            ok(0);
            let id = seen.docker0_mac.replace(':', "");
            has(
                line,
                out,
                &[
                    "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n",
                    &format!("docker0\t\t8000.{id}\tno\t\t{}\n", seen.mytom_port.0),
                ],
            );
            if nth > 0 {
                let br = format!("br-{}", id12(seen, "bridge2"));
                let row = capture(
                    line,
                    out,
                    &format!(r"^{br}\t\t8000\.0242[0-9a-f]{{8}}\tno\t\t(.*)$"),
                );
                if nth == 1 {
                    assert_eq!(row[0], "", "{line}: no port yet:\n{out}");
                } else {
                    assert!(row[0].starts_with("veth"), "{line}: bb's port:\n{out}");
                }
            }
        }
        ("docker inspect mytom", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    &format!("        \"Id\": \"{}\",\n", seen.ids["mytom"]),
                    "        \"Name\": \"/mytom\",\n",
                    "            \"Gateway\": \"172.17.0.1\",\n",
                    "            \"IPAddress\": \"172.17.0.2\",\n",
                    "            \"MacAddress\": \"02:42:ac:11:00:02\",\n",
                ],
            );
        }
        ("docker network create -d bridge bridge2", _) => {
            ok(0);
            seen.ids.insert("bridge2".into(), full_id(line, out));
        }
        ("docker pull busybox[:tag]", _) => {
            ok(1);
            assert_eq!(out, "invalid reference format\n", "{line}");
        }
        ("docker network inspect bridge2", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    &format!("        \"Id\": \"{}\",\n", seen.ids["bridge2"]),
                    "                    \"Subnet\": \"172.18.0.0/16\",\n                    \"Gateway\": \"172.18.0.1\"\n",
                    &format!("            \"{}\": {{\n                \"Name\": \"bb\",\n", seen.ids["bb"]),
                    "                \"MacAddress\": \"02:42:ac:12:00:02\",\n                \"IPv4Address\": \"172.18.0.2/16\",\n",
                ],
            );
            if nth == 1 {
                has(
                    line,
                    out,
                    &[
                        &format!("            \"{}\": {{\n                \"Name\": \"bb1\",\n", seen.ids["bb1"]),
                        "                \"MacAddress\": \"02:42:ac:12:00:03\",\n                \"IPv4Address\": \"172.18.0.3/16\",\n",
                    ],
                );
            }
        }
        ("ip a", 2) => {
            ok(0);
            let br = format!("br-{}", id12(seen, "bridge2"));
            has(
                line,
                out,
                &[
                    &format!(": {br}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \n"),
                    &format!("    inet 172.18.0.1/16 brd 172.18.255.255 scope global {br}\n"),
                ],
            );
            capture(
                line,
                out,
                &format!(
                    r"^\d+: veth[0-9a-f]{{7}}@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master {br} state UP group default $"
                ),
            );
        }
        ("docker exec bb ip a", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    ": eth0@if",
                    "    link/ether 02:42:ac:12:00:02 brd ff:ff:ff:ff:ff:ff\n",
                    "    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0\n",
                ],
            );
        }
        ("docker network connect bridge2 bb1", _) => {
            ok(0);
            assert_eq!(out, "", "{line}");
        }
        ("docker exec bb1 ip a" | "docker exec bb1-1 ip a", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    "<BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue \n",
                    "    link/ether 02:42:ac:11:00:03 brd ff:ff:ff:ff:ff:ff\n",
                    "    inet 172.17.0.3/16 brd 172.17.255.255 scope global eth0\n",
                    "    link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff\n",
                    "    inet 172.18.0.3/16 brd 172.18.255.255 scope global eth1\n",
                ],
            );
            capture(line, out, r"^\d+: eth0@if\d+: ");
            capture(line, out, r"^\d+: eth1@if\d+: ");
            // bb1-1 shares bb1's namespace: the same view, to the byte.
            if seen.bb1_ip_a.is_empty() {
                seen.bb1_ip_a = out.to_string();
            } else {
                assert_eq!(out, seen.bb1_ip_a, "{line}");
            }
        }
        ("docker inspect bb1", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    &format!("                \"bridge2\": {{\n                    \"IPAMConfig\": {{}},\n                    \"Links\": null,\n                    \"Aliases\": [\n                        \"{}\"\n                    ],\n", id12(seen, "bb1")),
                    &format!("                    \"NetworkID\": \"{}\",\n", seen.ids["bridge2"]),
                    "                    \"Gateway\": \"172.17.0.1\",\n                    \"IPAddress\": \"172.17.0.3\",\n",
                    "                    \"Gateway\": \"172.18.0.1\",\n                    \"IPAddress\": \"172.18.0.3\",\n",
                    "                    \"MacAddress\": \"02:42:ac:11:00:03\",\n",
                    "                    \"MacAddress\": \"02:42:ac:12:00:03\",\n",
                ],
            );
        }
        ("docker exec bb ping 172.18.0.3 -c 3", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    "PING 172.18.0.3 (172.18.0.3): 56 data bytes\n",
                    "64 bytes from 172.18.0.3: seq=0 ttl=64 time=",
                    "64 bytes from 172.18.0.3: seq=2 ttl=64 time=",
                    "\n--- 172.18.0.3 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = ",
                ],
            );
        }
        ("docker exec bb1 ping 172.18.0.2", _) => {
            ok(0);
            assert!(busybox_interrupted(line, out, "172.18.0.2", "172.18.0.2") >= 2);
        }
        ("docker exec bb ping 172.17.0.3", _) => {
            // Another network, isolated: no reply, status 1.
            ok(1);
            assert_eq!(
                busybox_interrupted(line, out, "172.17.0.3", "172.17.0.3"),
                0
            );
            lacks(line, out, &["bytes from"]);
        }
        ("docker exec bb ping bb1", _) => {
            ok(0);
            assert!(busybox_interrupted(line, out, "bb1", "172.18.0.3") >= 2);
        }
        ("docker exec bb2 ping bb1", _) => {
            // The link's name, on the default bridge.
            ok(0);
            assert!(busybox_interrupted(line, out, "bb1", "172.17.0.3") >= 2);
        }
        ("docker exec bb2 ping bb", _) => {
            ok(1);
            assert_eq!(out, "ping: bad address 'bb'\n", "{line}");
        }
        ("docker exec bb1 ping bb2", _) => {
            ok(1);
            assert_eq!(out, "ping: bad address 'bb2'\n", "{line}");
        }
        ("docker inspect bb1-1", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    &format!(
                        "            \"NetworkMode\": \"container:{}\",\n",
                        seen.ids["bb1"]
                    ),
                    "            \"SandboxID\": \"\",\n            \"SandboxKey\": \"\",\n",
                    "            \"IPAddress\": \"\",\n",
                    "            \"MacAddress\": \"\",\n            \"Networks\": {}\n",
                ],
            );
        }
        ("docker inspect bb3" | "docker inspect bb4", _) => {
            ok(0);
            let network = if line.ends_with("bb3") {
                "none"
            } else {
                "host"
            };
            has(
                line,
                out,
                &[
                    &format!("            \"Networks\": {{\n                \"{network}\": {{\n                    \"IPAMConfig\": null,\n"),
                    "                    \"Gateway\": \"\",\n                    \"IPAddress\": \"\",\n",
                    "                    \"MacAddress\": \"\",\n",
                ],
            );
        }
        ("docker exec bb3 ip a", _) => {
            ok(0);
            assert!(
                out.starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"),
                "{line}:\n{out}"
            );
            assert_eq!(out.lines().count(), 4, "{line}: lo alone:\n{out}");
        }
        ("docker network inspect host", _) => {
            ok(0);
            has(
                line,
                out,
                &[
                    "        \"Name\": \"host\",\n",
                    "            \"Config\": []\n",
                    &format!("            \"{}\": {{\n                \"Name\": \"bb4\",\n", seen.ids["bb4"]),
                    "                \"MacAddress\": \"\",\n                \"IPv4Address\": \"\",\n                \"IPv6Address\": \"\"\n",
                ],
            );
        }
        ("docker pull tomcat:8.5.49", _) => {
            ok(0);
            assert_eq!(
                out,
                "Status: Image is up to date for tomcat:8.5.49\ndocker.io/library/tomcat:8.5.49\n"
            );
        }
        // The rest change the lab and print nothing, as the real programs do.
        _ => {
            ok(0);
            assert_eq!(out, "", "{line}");
        }
    }
}

/// The pings the tutorial leaves running, and when the test presses Ctrl-C.
fn unbounded(line: &str) -> Option<Until> {
    Some(match line {
        "ip netns exec ns1 ping 192.168.1.2" | "ip netns exec ns2 ping 192.168.1.1" => {
            Until::Shown("icmp_seq=3 ")
        }
        "docker exec bb ping 172.17.0.3" => Until::Handles(&["ping", "172.17.0.3"]),
        l if l.starts_with("docker exec ") && l.contains(" ping ") && !l.contains("-c") => {
            // Those that get replies; `ping bb` and `ping bb2` end at once.
            if l.ends_with(" bb") || l.ends_with(" bb2") {
                return None;
            }
            Until::Shown("seq=2 ")
        }
        _ => return None,
    })
}

#[test]
fn the_tutorial_pasted_into_the_repl() {
    let (path, markdown) = source();
    let lines = lines(&markdown);
    assert!(lines.len() > 60, "{}: {lines:?}", path.display());
    std::thread::scope(|s| {
        for user in users() {
            let lines = &lines;
            s.spawn(move || paste(user, lines));
        }
    });
}

fn paste(user: common::As, lines: &[String]) {
    let mut r = start_repl_as(user, &[], "dumb");
    let mut seen = Seen::default();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        let nth = times.entry(line).or_default();
        let out = match unbounded(line) {
            Some(until) => interrupt(&mut r, line, until),
            None => run(&mut r, line),
        };
        let status = if OUTSIDE.iter().any(|w| line.starts_with(w)) {
            0
        } else {
            let ask = if line.starts_with("docker ") {
                "docker_status()"
            } else {
                "last_status()"
            };
            let answer = run(&mut r, ask);
            answer
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{ask} after {line}: {answer}"))
        };
        check(line, *nth, &out, status, &mut seen);
        *nth += 1;
    }
    // Every Ctrl-C stopped a ping, never the lab: every container still there, and the
    // namespaces' pair still carries pings.
    let out = run(&mut r, "containers()");
    assert_eq!(
        out,
        "[\"mytom\", \"bb\", \"bb1\", \"bb2\", \"bb1-1\", \"bb3\", \"bb4\", \"mytomcat\"]\n"
    );
    let out = run(&mut r, "ip netns exec ns1 ping -c 1 192.168.1.2");
    has(
        "ping -c 1",
        &out,
        &["1 packets transmitted, 1 received, 0% packet loss"],
    );
    leave(r);
}
