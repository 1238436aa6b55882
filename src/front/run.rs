//! Carries out parsed `ip`, `brctl` and `ping` lines against the lab, through the same
//! `Lab` methods as the script bindings (so `--trace` prints each change and the lab's
//! checks run first: a refused line changes nothing), and turns the lab's refusals into
//! what the real program prints on stderr, with its exit status.

use std::net::IpAddr;
use std::time::Duration;

use super::ip::{self as parse_ip, Family, IpCmd, IpLine, LinkChange, LinkKind, RouteSpec};
use super::tools::{parse_brctl, parse_ping, Brctl};
use super::{words, Failure, Outcome};
use crate::kernel::{Errno, LinkInfo, HOST};
use crate::lab::{Lab, LabError};
use crate::probe::ping::{Event, PingOptions};
use crate::render;

/// Where a line runs: the lab, the namespace it addresses (the lab host, or the one `ip
/// netns exec` chose), and the time left before the script's deadline (`None`: no limit).
pub struct Env<'a> {
    pub lab: &'a Lab,
    pub ns: String,
    pub remaining: Option<Duration>,
}

impl<'a> Env<'a> {
    /// A line typed on the lab host.
    pub fn host(lab: &'a Lab, remaining: Option<Duration>) -> Env<'a> {
        Env {
            lab,
            ns: HOST.to_string(),
            remaining,
        }
    }

    fn within(&self, ns: &str) -> Env<'a> {
        Env {
            lab: self.lab,
            ns: ns.to_string(),
            remaining: self.remaining,
        }
    }
}

/// How long `ping` without `-c` runs in a script: iputils runs until interrupted, which a
/// script cannot do, so the lab's front stops after this many requests (on the REPL's
/// terminal it runs until Ctrl-C).
pub const PING_DEFAULT_COUNT: u32 = 4;
/// iputils' wait for replies after the last request when no `-W` is given (`MAXWAIT`).
const PING_DEFAULT_WAIT: Duration = Duration::from_secs(10);
/// How long a program started by `ip netns exec` may run (as `exec()`'s default).
const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// A lab refusal as iproute2 words it (status 2 for what the kernel refuses, 1 for what
/// `ip` itself finds missing); the lab's own refusals that iproute2 has no words for
/// (Docker's interfaces, names the lab keeps) keep the lab's words, status 2.
fn ip_failure(e: LabError) -> Failure {
    match e {
        LabError::NoSuchDevice { dev, .. } => {
            Failure::new(1, format!("Cannot find device \"{dev}\""))
        }
        LabError::DeviceExists { .. } | LabError::RouteExists { .. } => {
            Failure::new(2, "RTNETLINK answers: File exists")
        }
        LabError::NetnsExists(name) => Failure::new(
            1,
            format!("Cannot create namespace file \"/var/run/netns/{name}\": File exists"),
        ),
        LabError::NoSuchNetns { name, .. } => Failure::new(
            255,
            format!("Cannot open network namespace \"{name}\": No such file or directory"),
        ),
        LabError::AddrExists { addr, .. } if addr.addr().is_ipv4() => {
            Failure::new(2, "Error: ipv4: Address already assigned.")
        }
        LabError::AddrExists { .. } => Failure::new(2, "RTNETLINK answers: File exists"),
        LabError::AddrMissing { addr, .. } if addr.addr().is_ipv4() => {
            Failure::new(2, "Error: ipv4: Address not found.")
        }
        LabError::AddrMissing { .. } => {
            Failure::new(2, "RTNETLINK answers: Cannot assign requested address")
        }
        LabError::GatewayUnreachable { .. } => {
            Failure::new(2, "Error: Nexthop has invalid gateway.")
        }
        LabError::NoRoute { .. } => Failure::new(2, "RTNETLINK answers: No such process"),
        LabError::Kernel(k) => match k.errno {
            Some(Errno::ENETDOWN) => Failure::new(2, "Error: Device for nexthop is not up."),
            // glibc's words for EOPNOTSUPP (nix has ENOTSUP's older text for the same value).
            Some(Errno::EOPNOTSUPP) => {
                Failure::new(2, "RTNETLINK answers: Operation not supported")
            }
            Some(errno) => Failure::new(2, format!("RTNETLINK answers: {}", errno.desc())),
            None => Failure::new(2, format!("netsh: {k}")),
        },
        other => Failure::new(2, format!("netsh: {other}")),
    }
}

/// Whether `ns` is a namespace `ip netns` knows: the user's, not containers' (Docker's are
/// not in /var/run/netns either) nor the lab host (which has no name there).
fn known_ns(lab: &Lab, ns: &str) -> bool {
    lab.namespaces().iter().any(|n| n == ns)
}

fn cannot_open(ns: &str) -> Failure {
    Failure::new(
        255,
        format!("Cannot open network namespace \"{ns}\": No such file or directory"),
    )
}

/// `ip LINE`: the words of `line` run as iproute2 6.1 would, on the lab host.
///
/// Returns what `ip` prints on stdout (nothing for a change), or a [`Failure`] with `ip`'s
/// stderr and exit status: 1 for what `ip` finds missing (`Cannot find device "veth9"`),
/// 2 for what the kernel refuses (`RTNETLINK answers: File exists`), 255 for bad command
/// lines (`Command line is not complete. Try option "help"`).
pub fn ip(env: &Env<'_>, line: &str) -> Outcome {
    ip_words(env, &words(line)?)
}

fn ip_words(env: &Env<'_>, words: &[String]) -> Outcome {
    let IpLine { netns, family, cmd } = parse_ip::parse(words)?;
    let ns = match netns {
        Some(ns) if !known_ns(env.lab, &ns) => return Err(cannot_open(&ns)),
        Some(ns) => ns,
        None => env.ns.clone(),
    };
    let env = env.within(&ns);
    let lab = env.lab;
    let ns = env.ns.as_str();
    match cmd {
        IpCmd::NetnsList => Ok(lab
            .netns_list()
            .map_err(ip_failure)?
            .into_iter()
            .map(|(n, id)| match id {
                Some(id) => format!("{n} (id: {id})\n"),
                None => format!("{n}\n"),
            })
            .collect()),
        IpCmd::NetnsAdd(name) => match lab.add_netns(&name) {
            Ok(()) => Ok(String::new()),
            Err(LabError::InvalidName(_)) => {
                Err(Failure::new(255, format!("Invalid netns name \"{name}\"")))
            }
            Err(e) => Err(ip_failure(e)),
        },
        IpCmd::NetnsDel(name) => {
            if !known_ns(lab, &name) {
                return Err(Failure::new(
                    1,
                    format!(
                        "Cannot remove namespace file \"/var/run/netns/{name}\": No such file \
                         or directory"
                    ),
                ));
            }
            lab.del_netns(&name).map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::NetnsExec { ns: target, argv } => {
            if !known_ns(lab, &target) {
                return Err(cannot_open(&target));
            }
            netns_exec(&env.within(&target), &argv)
        }
        IpCmd::LinkShow { dev } => {
            let links = lab.links(ns).map_err(ip_failure)?;
            match dev {
                None => Ok(render::ip::ip_link(&links)),
                Some(d) => render::ip::ip_link_dev(&links, &d).ok_or_else(|| no_device(&d)),
            }
        }
        IpCmd::AddrShow { dev } => {
            let links = lab.links(ns).map_err(ip_failure)?;
            match dev {
                None => Ok(render::ip::ip_addr(&links)),
                Some(d) => render::ip::ip_addr_dev(&links, &d).ok_or_else(|| no_device(&d)),
            }
        }
        IpCmd::LinkAdd { name, kind } => {
            match kind {
                LinkKind::Bridge => lab.add_bridge(ns, &name, false),
                LinkKind::Veth { peer, peer_netns } => {
                    let peer_ns = match peer_netns {
                        Some(p) if !known_ns(lab, &p) => return Err(invalid_netns(&p)),
                        Some(p) => p,
                        None => ns.to_string(),
                    };
                    lab.add_veth(ns, &name, &peer_ns, &peer)
                }
            }
            .map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::LinkSet { dev, changes } => link_set(&env, &dev, &changes),
        IpCmd::LinkDel { dev } => {
            lab.del_link(ns, &dev).map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::AddrAdd { addr, dev, brd } => {
            lab.add_addr_brd(ns, &dev, &addr.to_string(), brd)
                .map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::AddrDel { addr, dev } => {
            lab.del_addr(ns, &dev, &addr.to_string())
                .map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::RouteShow => {
            let routes = lab.routes(ns).map_err(ip_failure)?;
            let v6 = family == Some(Family::V6);
            let routes: Vec<_> = routes.into_iter().filter(|r| r.ipv6 == v6).collect();
            Ok(render::ip::ip_route(&routes))
        }
        IpCmd::RouteAdd(RouteSpec { dst, via, dev }) => {
            let dst = family_default(&dst, via, family);
            let via = via.map(|v| v.to_string());
            lab.add_route(ns, &dst, via.as_deref(), dev.as_deref())
                .map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::RouteDel(RouteSpec { dst, via, .. }) => {
            lab.del_route(ns, &family_default(&dst, via, family))
                .map_err(ip_failure)?;
            Ok(String::new())
        }
        IpCmd::NeighShow => {
            let neighbours = lab.neighbours(ns).map_err(ip_failure)?;
            Ok(render::ip::ip_neigh(&neighbours))
        }
    }
}

/// `default` in the family iproute2 takes it in: IPv6 (`::/0`) with `-6` or an IPv6
/// gateway, IPv4 otherwise.
fn family_default(dst: &str, via: Option<IpAddr>, family: Option<Family>) -> String {
    let v6 = family == Some(Family::V6) || via.is_some_and(|v| v.is_ipv6());
    if dst == "default" && v6 {
        "::/0".to_string()
    } else {
        dst.to_string()
    }
}

fn no_device(dev: &str) -> Failure {
    Failure::new(1, format!("Device \"{dev}\" does not exist."))
}

fn invalid_netns(ns: &str) -> Failure {
    Failure::new(
        255,
        format!("Error: argument \"{ns}\" is wrong: Invalid \"netns\" value"),
    )
}

/// `ip link set DEV CHANGE…`: every change checked before any is made, then made in the
/// kernel's order (`do_setlink`: the move to another namespace first, then the address,
/// the master, the state).
fn link_set(env: &Env<'_>, dev: &str, changes: &[LinkChange]) -> Outcome {
    let lab = env.lab;
    let mut ns = env.ns.clone();
    lab.link(&ns, dev).map_err(ip_failure)?;
    let mut target = None;
    for change in changes {
        match change {
            LinkChange::Netns(to) if !known_ns(lab, to) => return Err(invalid_netns(to)),
            LinkChange::Netns(to) => target = Some(to.clone()),
            LinkChange::Address(mac) if !crate::model::addr::is_mac(mac) => {
                return Err(Failure::new(1, format!("\"{mac}\" is invalid lladdr.")))
            }
            _ => {}
        }
    }
    // The master is looked up where the link will be.
    let there = target.clone().unwrap_or_else(|| ns.clone());
    for change in changes {
        if let LinkChange::Master(m) = change {
            let master = lab.links(&there).map_err(ip_failure)?;
            match master.iter().find(|l| &l.name == m) {
                None => {
                    return Err(Failure::new(
                        255,
                        format!("Error: argument \"{m}\" is wrong: Device does not exist"),
                    ))
                }
                Some(l) if l.kind != "bridge" => {
                    return Err(Failure::new(
                        2,
                        "RTNETLINK answers: Operation not supported",
                    ))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(to) = target {
        if to != ns {
            lab.move_link(&ns, dev, &to).map_err(ip_failure)?;
            ns = to;
        }
    }
    for change in changes {
        if let LinkChange::Address(mac) = change {
            lab.set_mac(&ns, dev, mac).map_err(ip_failure)?;
        }
    }
    for change in changes {
        match change {
            LinkChange::Master(m) => lab.set_master(&ns, dev, Some(m)),
            LinkChange::NoMaster => lab.set_master(&ns, dev, None),
            _ => Ok(()),
        }
        .map_err(ip_failure)?;
    }
    for change in changes {
        match change {
            LinkChange::Up => lab.set_up(&ns, dev, true),
            LinkChange::Down => lab.set_up(&ns, dev, false),
            _ => Ok(()),
        }
        .map_err(ip_failure)?;
    }
    Ok(String::new())
}

/// `ip netns exec NS CMD…`: `ip`, `ping` and `brctl` run through the lab's own fronts in
/// that namespace (so the lab knows what they change, and `ping` works on a machine
/// without one); any other program runs for real inside the namespace, as `exec()` runs
/// it, its stdout returned and its exit status and stderr carried by the failure.
fn netns_exec(env: &Env<'_>, argv: &[String]) -> Outcome {
    let program = argv[0].rsplit('/').next().unwrap_or("");
    match program {
        "ip" => ip_words(env, &argv[1..]),
        "ping" => ping_words(env, &argv[1..]),
        "brctl" => brctl_words(env, &argv[1..]),
        _ => {
            let timeout = match env.remaining {
                Some(left) if left < EXEC_TIMEOUT => left,
                _ => EXEC_TIMEOUT,
            };
            let who = env.lab.netns_who(&env.ns);
            // iproute2 says `exec of "prog" failed: …` and exits 255 when the program
            // cannot start; the lab's words say why.
            let out = env
                .lab
                .exec(&who, argv, timeout)
                .map_err(|e| Failure::new(255, format!("exec of \"{}\" failed: {e}", argv[0])))?;
            if out.timed_out && env.remaining.is_some_and(|l| l <= timeout) {
                return Err(Failure {
                    deadline: true,
                    ..Failure::new(124, "")
                });
            }
            if out.code == 0 {
                Ok(out.stdout)
            } else {
                Err(Failure {
                    status: out.code,
                    stderr: out.stderr.trim_end().to_string(),
                    stdout: out.stdout,
                    deadline: false,
                })
            }
        }
    }
}

/// `brctl LINE` on the lab host, as bridge-utils 1.7 runs it: `show` prints bridge-utils'
/// table; `addbr`/`delbr`/`addif`/`delif` change the lab and print nothing. Refusals in
/// bridge-utils' words, status 1 (`device br0 already exists; can't create bridge with the
/// same name`, `bridge br0 is still up; can't delete it`, `interface veth9 does not
/// exist!`, `device v1 is not a slave of br0`).
pub fn brctl(env: &Env<'_>, line: &str) -> Outcome {
    brctl_words(env, &words(line)?)
}

fn brctl_words(env: &Env<'_>, words: &[String]) -> Outcome {
    let lab = env.lab;
    let ns = env.ns.as_str();
    let cmd = parse_brctl(words)?;
    let links = lab.links(ns).map_err(ip_failure)?;
    let find = |name: &str| links.iter().find(|l| l.name == name);
    let fail = |msg: String| Err(Failure::new(1, msg));
    match cmd {
        Brctl::Show(names) => {
            for n in &names {
                if find(n).is_none_or(|l| l.kind != "bridge") {
                    return fail(format!("bridge {n} does not exist!"));
                }
            }
            let shown: Vec<LinkInfo> = links
                .iter()
                .filter(|l| l.kind != "bridge" || names.is_empty() || names.contains(&l.name))
                .cloned()
                .collect();
            Ok(render::docker::brctl_show(&shown))
        }
        Brctl::AddBr(br) => {
            if find(&br).is_some() {
                return fail(format!(
                    "device {br} already exists; can't create bridge with the same name"
                ));
            }
            lab.add_bridge(ns, &br, false)
                .map_err(|e| Failure::new(1, format!("add bridge failed: {e}")))?;
            Ok(String::new())
        }
        Brctl::DelBr(br) => match find(&br) {
            Some(l) if l.kind == "bridge" && l.is_up() => {
                fail(format!("bridge {br} is still up; can't delete it"))
            }
            Some(l) if l.kind == "bridge" => {
                lab.del_link(ns, &br)
                    .map_err(|e| Failure::new(1, format!("can't delete bridge {br}: {e}")))?;
                Ok(String::new())
            }
            _ => fail(format!("bridge {br} doesn't exist; can't delete it")),
        },
        Brctl::AddIf { bridge, ifaces } => ports(env, &links, &bridge, &ifaces, true),
        Brctl::DelIf { bridge, ifaces } => ports(env, &links, &bridge, &ifaces, false),
    }
}

/// `brctl addif|delif BRIDGE IFACE…`: each interface in turn; like bridge-utils, a failure
/// does not stop the next one, and the command then exits 1 with every message.
fn ports(env: &Env<'_>, links: &[LinkInfo], bridge: &str, ifaces: &[String], add: bool) -> Outcome {
    let find = |name: &str| links.iter().find(|l| l.name == name);
    let mut errors = Vec::new();
    for i in ifaces {
        let result = match (find(bridge), find(i)) {
            (_, None) => Err(format!("interface {i} does not exist!")),
            (None, _) => Err(format!("bridge {bridge} does not exist!")),
            (Some(b), _) if b.kind != "bridge" => Err(format!("bridge {bridge} does not exist!")),
            (_, Some(l)) if add && l.kind == "bridge" => Err(format!(
                "device {i} is a bridge device itself; can't enslave a bridge device to a \
                 bridge device."
            )),
            (_, Some(l)) if add && l.master.is_some() => Err(format!(
                "device {i} is already a member of a bridge; can't enslave it to bridge \
                 {bridge}."
            )),
            (_, Some(l)) if !add && l.master.as_deref() != Some(bridge) => {
                Err(format!("device {i} is not a slave of {bridge}"))
            }
            _ if add => env
                .lab
                .set_master(&env.ns, i, Some(bridge))
                .map_err(|e| format!("can't add {i} to bridge {bridge}: {e}")),
            _ => env
                .lab
                .set_master(&env.ns, i, None)
                .map_err(|e| format!("can't delete {i} from {bridge}: {e}")),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(String::new())
    } else {
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// `ping LINE` from the lab host, as iputils' ping: real ICMP echo requests, and iputils'
/// output (header, a line per reply or ICMP error, statistics). Exit status 0 when a reply
/// came, 1 when none did (the output is then carried by the failure), 2 for what ping
/// refuses (`ping: nosuch: Name or service not known`, `ping: connect: Network is
/// unreachable`). Without `-c` it stops after [`PING_DEFAULT_COUNT`] requests (a script
/// cannot interrupt it) — on the REPL's terminal it runs until Ctrl-C, as iputils does,
/// each line shown as it comes (see `crate::live`); without `-W` it waits up to 10 s for
/// the last replies, as iputils does — it returns as soon as every request is answered.
pub fn ping(env: &Env<'_>, line: &str) -> Outcome {
    ping_words(env, &words(line)?)
}

fn ping_words(env: &Env<'_>, words: &[String]) -> Outcome {
    let lab = env.lab;
    let p = parse_ping(words)?;
    let ip: IpAddr = match p.target.parse() {
        Ok(ip) => ip,
        Err(_) => {
            let who = lab.netns_who(&env.ns);
            lab.resolve(&who.resolver, &p.target)
                .map_err(|e| Failure::new(2, format!("netsh: {e}")))?
                .ok_or_else(|| {
                    Failure::new(2, format!("ping: {}: Name or service not known", p.target))
                })?
        }
    };
    // On the REPL's terminal (see crate::live) ping runs as iputils does, until Ctrl-C, and
    // prints each line as it comes.
    let live = crate::live::on();
    let unbounded = if live { u32::MAX } else { PING_DEFAULT_COUNT };
    let opts = PingOptions {
        count: p.count.unwrap_or(unbounded),
        timeout: p.wait.unwrap_or(PING_DEFAULT_WAIT),
        interval: p.interval,
        // iputils connect()s before its first request and ends at once (status 2) when
        // the kernel refuses; a ping without `-c` would otherwise go on failing quietly.
        fail_fast: true,
    };
    let (opts, cut) = match env.remaining {
        Some(left) => crate::probe::ping::fit(&opts, left),
        None => (opts, false),
    };
    let asked = render::ping::Asked {
        target: &p.target,
        quiet: p.quiet,
        interval: opts.interval,
    };
    // iputils prints its header once its socket is connected (a first request that cannot
    // leave is `ping: connect: …` instead), then each reply or ICMP error.
    let mut headed = false;
    let mut show = |event: Event<'_>| {
        let line = match event {
            Event::Sent if headed => return,
            Event::Sent => {
                headed = true;
                render::ping::header(&asked, ip)
            }
            _ if asked.quiet => return,
            Event::Reply(r) => render::ping::reply_line(&asked, ip, r),
            Event::Problem(seq, message) => render::ping::problem_line(seq, message),
        };
        crate::live::stdout(line.as_bytes());
    };
    let observe: &mut dyn FnMut(Event<'_>) = if live { &mut show } else { &mut |_| {} };
    let report = lab
        .ping_observed(&env.ns, &ip.to_string(), &opts, observe)
        .map_err(|e| Failure::new(2, format!("netsh: {e}")))?;
    // Ctrl-C ends a streaming ping as it ends iputils' (statistics, then the prompt): it
    // was the ping's, not the entry's.
    let interrupted = live && crate::interrupt::requested();
    if interrupted {
        crate::interrupt::clear();
    }
    if report.received == 0 && report.problems.is_empty() {
        if let Some(err) = &report.error {
            // A request the kernel would not send: iputils finds out on its first
            // connect() and says so, capitalised as strerror writes it.
            let mut c = err.chars();
            let err: String = c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default();
            return Err(Failure::new(2, format!("ping: connect: {err}")));
        }
    }
    // Checked after a refused first request: that ended the ping before any deadline.
    if cut && !interrupted {
        return Err(Failure {
            deadline: true,
            ..Failure::new(1, "")
        });
    }
    if live && crate::live::shown() {
        crate::live::stdout(render::ping::statistics(&asked, &report).as_bytes());
    }
    let out = render::ping::output(&asked, &report);
    if report.received > 0 {
        Ok(out)
    } else {
        Err(Failure {
            status: 1,
            stderr: String::new(),
            stdout: out,
            deadline: false,
        })
    }
}
