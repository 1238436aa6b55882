//! The docker CLI's command line, parsed into a [`Command`] (pure: no lab, no I/O).
//!
//! Words are split as a shell splits them (`shlex`), then each subcommand's flags are read
//! from a table, the way the docker CLI's cobra/pflag setup reads them: long flags as
//! `--name value` or `--name=value`, short ones as `-d`, grouped (`-dp 8081:8080`) or with
//! the value attached (`-p8081:8080`); `--` ends the flags; `run`, `create` and `exec` stop
//! reading flags at the first argument (`SetInterspersed(false)`), so the container's
//! command keeps its own flags. Errors carry the CLI's words and exit status: 125 for a flag
//! error (the CLI's `FlagErrorFunc`), 1 for a wrong number of arguments or an unknown
//! command (`cli.RequiresExactArgs` and friends return plain errors).

/// A refusal before anything reaches the daemon: the CLI's text (what it prints on stderr,
/// without the final newline) and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub status: i32,
    pub message: String,
}

impl CliError {
    fn new(status: i32, message: impl Into<String>) -> CliError {
        CliError {
            status,
            message: message.into(),
        }
    }
}

/// `docker run` and `docker create` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunArgs {
    pub detach: bool,
    /// `-i`/`--interactive` (`-t` is read and changes nothing: netsh gives containers no
    /// terminal).
    pub interactive: bool,
    pub name: Option<String>,
    /// `--network`/`--net`; `None` is the default bridge.
    pub network: Option<String>,
    pub links: Vec<String>,
    pub ip: Option<String>,
    /// `--alias`/`--network-alias`.
    pub aliases: Vec<String>,
    /// `-h/--hostname`.
    pub hostname: Option<String>,
    pub publish: Vec<String>,
    /// `-P/--publish-all`: every `--expose`d port on an ephemeral host port.
    pub publish_all: bool,
    /// `--expose PORT[/PROTO]`.
    pub expose: Vec<String>,
    pub rm: bool,
    /// `-e/--env KEY=VALUE`, or `KEY` with its value from netsh's own environment (`KEY`
    /// alone when that has none: Docker then leaves it out).
    pub env: Vec<String>,
    /// `--add-host NAME:IP`.
    pub add_hosts: Vec<String>,
    /// `--dns IP` (as Go prints the address).
    pub dns: Vec<String>,
    /// `--dns-search DOMAIN`.
    pub dns_search: Vec<String>,
    /// `--dns-option OPT` (`--dns-opt`).
    pub dns_options: Vec<String>,
    pub image: String,
    /// The container's command (empty: the image's default).
    pub cmd: Vec<String>,
}

/// One docker command line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    NetworkLs {
        quiet: bool,
        no_trunc: bool,
        /// `--filter KEY=VALUE`, in the order given.
        filters: Vec<(String, String)>,
        /// `--format`: a Go template per row (`table …` for a table with headers).
        format: Option<String>,
    },
    NetworkCreate {
        name: String,
        driver: Option<String>,
        subnet: Option<String>,
        gateway: Option<String>,
        internal: bool,
        /// `--ip-range CIDR`.
        ip_range: Option<String>,
        /// `--aux-address NAME=IP`, in the order given.
        aux: Vec<(String, String)>,
        /// `--label KEY=VALUE`, in the order given.
        labels: Vec<(String, String)>,
        /// `-o/--opt KEY=VALUE`, in the order given.
        options: Vec<(String, String)>,
    },
    NetworkInspect {
        names: Vec<String>,
        format: Option<String>,
    },
    NetworkConnect {
        network: String,
        container: String,
        ip: Option<String>,
        aliases: Vec<String>,
        links: Vec<String>,
    },
    NetworkDisconnect {
        network: String,
        container: String,
    },
    NetworkRm {
        names: Vec<String>,
    },
    /// `docker network prune [-f]`.
    NetworkPrune {
        force: bool,
    },
    Run(RunArgs),
    Create(RunArgs),
    Rm {
        force: bool,
        names: Vec<String>,
    },
    Rename {
        container: String,
        new_name: String,
    },
    /// `docker start C…`: created or exited containers run (again).
    Start {
        names: Vec<String>,
    },
    /// `docker stop [-t SECONDS] C…`: SIGTERM, SIGKILL after `time` (default 10 s).
    Stop {
        time: Option<u64>,
        names: Vec<String>,
    },
    /// `docker restart [-t SECONDS] C…`: stop, then start.
    Restart {
        time: Option<u64>,
        names: Vec<String>,
    },
    /// `docker kill C…`: SIGKILL.
    Kill {
        names: Vec<String>,
    },
    /// `docker logs [--tail N] C`: what the container's command printed.
    Logs {
        container: String,
        /// `--tail N`: the last N lines (`all`, the default: every line).
        tail: Option<usize>,
    },
    Exec {
        detach: bool,
        container: String,
        argv: Vec<String>,
        /// `-e/--env`, as for `run`.
        env: Vec<String>,
    },
    Inspect {
        format: Option<String>,
        names: Vec<String>,
        /// `--type container|network`: look only among those.
        kind: Option<String>,
    },
    Ps {
        all: bool,
        quiet: bool,
        no_trunc: bool,
        format: Option<String>,
        /// `--filter KEY=VALUE`, in the order given.
        filters: Vec<(String, String)>,
    },
    /// `docker pull IMAGE`: images are never pulled; the reference is checked.
    Pull {
        image: String,
    },
    Port {
        container: String,
        private: Option<String>,
    },
    /// `--help` on any subcommand: its usage, printed on stdout (status 0).
    Help(String),
}

/// One flag of a subcommand's table.
struct Flag {
    long: &'static str,
    /// Other long names (`--net` for `--network`).
    also: &'static [&'static str],
    short: Option<char>,
    /// Takes a value (a string flag) rather than being a bool.
    value: bool,
}

const fn f(long: &'static str, short: Option<char>, value: bool) -> Flag {
    Flag {
        long,
        also: &[],
        short,
        value,
    }
}

/// How many arguments a subcommand takes (cobra's `Args` validators in the docker CLI).
#[derive(Clone, Copy)]
enum Arity {
    None,
    Exact(usize),
    Min(usize),
    Range(usize, usize),
}

struct Spec {
    path: &'static str,
    usage: &'static str,
    about: &'static str,
    flags: &'static [Flag],
    arity: Arity,
    /// Flags only before the first argument (`run`, `create`, `exec`).
    stop_at_arg: bool,
}

const RUN_FLAGS: &[Flag] = &[
    f("detach", Some('d'), false),
    f("name", None, true),
    Flag {
        long: "network",
        also: &["net"],
        short: None,
        value: true,
    },
    f("link", None, true),
    f("ip", None, true),
    f("ip6", None, true),
    Flag {
        long: "network-alias",
        also: &["alias", "net-alias"],
        short: None,
        value: true,
    },
    f("publish", Some('p'), true),
    f("publish-all", Some('P'), false),
    f("expose", None, true),
    f("rm", None, false),
    f("hostname", Some('h'), true),
    f("env", Some('e'), true),
    f("add-host", None, true),
    f("dns", None, true),
    f("dns-search", None, true),
    Flag {
        long: "dns-option",
        also: &["dns-opt"],
        short: None,
        value: true,
    },
    f("interactive", Some('i'), false),
    f("tty", Some('t'), false),
];

/// Docker commands that exist but lie outside what netsh models (images, volumes, the
/// engine itself): refused in netsh's words, not as unknown commands.
const NOT_MODELLED: &[&str] = &[
    "attach",
    "build",
    "builder",
    "checkpoint",
    "commit",
    "compose",
    "config",
    "container",
    "context",
    "cp",
    "diff",
    "events",
    "export",
    "history",
    "image",
    "images",
    "import",
    "info",
    "load",
    "login",
    "logout",
    "manifest",
    "node",
    "pause",
    "plugin",
    "push",
    "save",
    "search",
    "secret",
    "service",
    "stack",
    "stats",
    "swarm",
    "system",
    "tag",
    "top",
    "trust",
    "unpause",
    "update",
    "version",
    "volume",
    "wait",
];

const SPECS: &[Spec] = &[
    Spec {
        path: "network ls",
        usage: "docker network ls [OPTIONS]",
        about: "List networks",
        flags: &[
            f("quiet", Some('q'), false),
            f("no-trunc", None, false),
            f("filter", Some('f'), true),
            f("format", None, true),
        ],
        arity: Arity::None,
        stop_at_arg: false,
    },
    Spec {
        path: "network create",
        usage: "docker network create [OPTIONS] NETWORK",
        about: "Create a network",
        flags: &[
            f("driver", Some('d'), true),
            f("subnet", None, true),
            f("gateway", None, true),
            f("internal", None, false),
            f("ip-range", None, true),
            f("aux-address", None, true),
            f("label", None, true),
            f("opt", Some('o'), true),
            f("ipv6", None, false),
        ],
        arity: Arity::Exact(1),
        stop_at_arg: false,
    },
    Spec {
        path: "network inspect",
        usage: "docker network inspect [OPTIONS] NETWORK [NETWORK...]",
        about: "Display detailed information on one or more networks",
        flags: &[f("format", Some('f'), true)],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "network connect",
        usage: "docker network connect [OPTIONS] NETWORK CONTAINER",
        about: "Connect a container to a network",
        flags: &[
            f("ip", None, true),
            f("ip6", None, true),
            f("alias", None, true),
            f("link", None, true),
        ],
        arity: Arity::Exact(2),
        stop_at_arg: false,
    },
    Spec {
        path: "network disconnect",
        usage: "docker network disconnect [OPTIONS] NETWORK CONTAINER",
        about: "Disconnect a container from a network",
        flags: &[f("force", Some('f'), false)],
        arity: Arity::Exact(2),
        stop_at_arg: false,
    },
    Spec {
        path: "network rm",
        usage: "docker network rm NETWORK [NETWORK...]",
        about: "Remove one or more networks",
        flags: &[],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "network prune",
        usage: "docker network prune [OPTIONS]",
        about: "Remove all unused networks",
        flags: &[f("force", Some('f'), false)],
        arity: Arity::None,
        stop_at_arg: false,
    },
    Spec {
        path: "run",
        usage: "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]",
        about: "Run a command in a new container",
        flags: RUN_FLAGS,
        arity: Arity::Min(1),
        stop_at_arg: true,
    },
    Spec {
        path: "create",
        usage: "docker create [OPTIONS] IMAGE [COMMAND] [ARG...]",
        about: "Create a new container",
        flags: RUN_FLAGS,
        arity: Arity::Min(1),
        stop_at_arg: true,
    },
    Spec {
        path: "rm",
        usage: "docker rm [OPTIONS] CONTAINER [CONTAINER...]",
        about: "Remove one or more containers",
        flags: &[f("force", Some('f'), false)],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "start",
        usage: "docker start [OPTIONS] CONTAINER [CONTAINER...]",
        about: "Start one or more stopped containers",
        flags: &[],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "stop",
        usage: "docker stop [OPTIONS] CONTAINER [CONTAINER...]",
        about: "Stop one or more running containers",
        flags: &[f("time", Some('t'), true)],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "restart",
        usage: "docker restart [OPTIONS] CONTAINER [CONTAINER...]",
        about: "Restart one or more containers",
        flags: &[f("time", Some('t'), true)],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "kill",
        usage: "docker kill [OPTIONS] CONTAINER [CONTAINER...]",
        about: "Kill one or more running containers",
        flags: &[],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "logs",
        usage: "docker logs [OPTIONS] CONTAINER",
        about: "Fetch the logs of a container",
        flags: &[f("tail", Some('n'), true)],
        arity: Arity::Exact(1),
        stop_at_arg: false,
    },
    Spec {
        path: "rename",
        usage: "docker rename CONTAINER NEW_NAME",
        about: "Rename a container",
        flags: &[],
        arity: Arity::Exact(2),
        stop_at_arg: false,
    },
    Spec {
        path: "exec",
        usage: "docker exec [OPTIONS] CONTAINER COMMAND [ARG...]",
        about: "Run a command in a running container",
        flags: &[
            f("detach", Some('d'), false),
            f("interactive", Some('i'), false),
            f("tty", Some('t'), false),
            f("env", Some('e'), true),
        ],
        arity: Arity::Min(2),
        stop_at_arg: true,
    },
    Spec {
        path: "inspect",
        usage: "docker inspect [OPTIONS] NAME|ID [NAME|ID...]",
        about: "Return low-level information on Docker objects",
        flags: &[f("format", Some('f'), true), f("type", None, true)],
        arity: Arity::Min(1),
        stop_at_arg: false,
    },
    Spec {
        path: "ps",
        usage: "docker ps [OPTIONS]",
        about: "List containers",
        flags: &[
            f("all", Some('a'), false),
            f("quiet", Some('q'), false),
            f("no-trunc", None, false),
            f("format", None, true),
            f("filter", Some('f'), true),
        ],
        arity: Arity::None,
        stop_at_arg: false,
    },
    Spec {
        path: "pull",
        usage: "docker pull [OPTIONS] NAME[:TAG|@DIGEST]",
        about: "Pull an image or a repository from a registry",
        flags: &[f("quiet", Some('q'), false)],
        arity: Arity::Exact(1),
        stop_at_arg: false,
    },
    Spec {
        path: "port",
        usage: "docker port CONTAINER [PRIVATE_PORT[/PROTO]]",
        about: "List port mappings or a specific mapping for the container",
        flags: &[],
        arity: Arity::Range(1, 2),
        stop_at_arg: false,
    },
];

/// Flags as read: (long name, value; `"true"`/`"false"` for a bool), in order.
struct Parsed {
    flags: Vec<(&'static str, String)>,
    args: Vec<String>,
    /// `--help` was among the flags.
    help: bool,
}

impl Parsed {
    fn one(&self, long: &str) -> Option<String> {
        self.flags
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.clone())
    }
    fn all(&self, long: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(l, _)| *l == long)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn bool(&self, long: &str) -> bool {
        self.one(long).is_some_and(|v| v == "true")
    }
}

/// netsh's networks are IPv4 only: Docker's IPv6 options are read, and refused in netsh's
/// words, except an `--ip6` that is no IPv6 address at all, which the daemon refuses first
/// in its own (20.10's `validateNetworkingConfig`: `invalid IPv6 address: …` for text that
/// does not parse, an IPv4 or an IPv4-mapped address; after an invalid `--ip`, which is the
/// daemon's to report).
fn ipv4_only(spec: &Spec, p: &Parsed) -> Result<(), CliError> {
    let refuse = |status: i32, what: String| {
        let text = match spec.path {
            "run" | "create" => format!("docker: {what}.\n{}", help_hint(spec)),
            _ => what,
        };
        Err(CliError::new(status, text))
    };
    let status = if spec.path == "network connect" {
        1
    } else {
        125
    };
    if spec.path == "network create" {
        if p.bool("ipv6") {
            return refuse(
                1,
                "netsh models IPv4 networks only: --ipv6 (an IPv6 subnet) is not supported".into(),
            );
        }
        for s in p.all("subnet") {
            if s.contains(':') {
                return refuse(
                    1,
                    format!("netsh models IPv4 networks only: cannot use IPv6 subnet {s}"),
                );
            }
        }
        return Ok(());
    }
    let Some(v6) = p.one("ip6") else {
        return Ok(());
    };
    if p.one("ip")
        .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_err())
    {
        return Ok(());
    }
    match v6.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(a)) if a.to_ipv4_mapped().is_none() => refuse(
            status,
            format!("netsh models IPv4 networks only: cannot give the container IPv6 address {v6} (--ip6)"),
        ),
        _ => refuse(
            status,
            format!("Error response from daemon: invalid IPv6 address: {v6}"),
        ),
    }
}

fn help_hint(spec: &Spec) -> String {
    format!("See 'docker {} --help'.", spec.path)
}

fn flag_error(spec: &Spec, what: String) -> CliError {
    CliError::new(125, format!("{what}\n{}", help_hint(spec)))
}

/// pflag's bool values (`strconv.ParseBool`).
fn parse_bool(spec: &Spec, name: &str, v: &str) -> Result<String, CliError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok("true".into()),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok("false".into()),
        _ => Err(flag_error(
            spec,
            format!("invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"),
        )),
    }
}

fn parse_flags(spec: &Spec, words: &[String]) -> Result<Parsed, CliError> {
    let mut out = Parsed {
        flags: Vec::new(),
        args: Vec::new(),
        help: false,
    };
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w == "--" {
            out.args.extend(words[i..].iter().cloned());
            break;
        }
        if w == "--help" {
            out.help = true;
            continue;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let flag = spec
                .flags
                .iter()
                .find(|fl| fl.long == name || fl.also.contains(&name))
                .ok_or_else(|| flag_error(spec, format!("unknown flag: --{name}")))?;
            let value = if flag.value {
                let v = match inline {
                    Some(v) => v,
                    None if i < words.len() => {
                        i += 1;
                        words[i - 1].clone()
                    }
                    None => {
                        return Err(flag_error(
                            spec,
                            format!("flag needs an argument: --{name}"),
                        ))
                    }
                };
                validate(spec, flag, v)?
            } else {
                match inline {
                    Some(v) => parse_bool(spec, name, &v)?,
                    None => "true".into(),
                }
            };
            out.flags.push((flag.long, value));
            continue;
        }
        if w.len() > 1 && w.starts_with('-') {
            let shorts: Vec<char> = w[1..].chars().collect();
            let mut j = 0;
            while j < shorts.len() {
                let c = shorts[j];
                j += 1;
                let flag = spec
                    .flags
                    .iter()
                    .find(|fl| fl.short == Some(c))
                    .ok_or_else(|| {
                        flag_error(spec, format!("unknown shorthand flag: '{c}' in {w}"))
                    })?;
                if !flag.value {
                    out.flags.push((flag.long, "true".into()));
                    continue;
                }
                let rest: String = shorts[j..].iter().collect();
                let value = if !rest.is_empty() {
                    rest.strip_prefix('=').unwrap_or(&rest).to_string()
                } else if i < words.len() {
                    i += 1;
                    words[i - 1].clone()
                } else {
                    return Err(flag_error(
                        spec,
                        format!("flag needs an argument: '{c}' in -{c}"),
                    ));
                };
                let value = validate(spec, flag, value)?;
                out.flags.push((flag.long, value));
                break;
            }
            continue;
        }
        out.args.push(w.clone());
        if spec.stop_at_arg {
            out.args.extend(words[i..].iter().cloned());
            break;
        }
    }
    if !out.help {
        check_arity(spec, out.args.len())?;
    }
    Ok(out)
}

fn check_arity(spec: &Spec, n: usize) -> Result<(), CliError> {
    let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
    let what = match spec.arity {
        Arity::None if n > 0 => "accepts no arguments".to_string(),
        Arity::Exact(k) if n != k => format!("requires exactly {k} {}", plural(k)),
        Arity::Min(k) if n < k => format!("requires at least {k} {}", plural(k)),
        Arity::Range(a, b) if n < a || n > b => {
            format!("requires at least {a} and at most {b} {}", plural(b))
        }
        _ => return Ok(()),
    };
    Err(CliError::new(
        1,
        format!(
            "\"docker {}\" {what}.\n{}\n\nUsage:  {}\n\n{}",
            spec.path,
            help_hint(spec),
            spec.usage,
            spec.about
        ),
    ))
}

/// A subcommand's usage as `docker … --help` prints it: usage line, what it does, the
/// flags netsh takes (long and short names, and `string` for those with a value).
fn help_text(spec: &Spec) -> String {
    let mut out = format!("\nUsage:  {}\n\n{}\n", spec.usage, spec.about);
    if !spec.flags.is_empty() {
        out.push_str("\nOptions:\n");
        for fl in spec.flags {
            let short = fl
                .short
                .map(|c| format!("-{c}, "))
                .unwrap_or_else(|| "    ".into());
            let value = if fl.value { " string" } else { "" };
            out.push_str(&format!("  {short}--{}{value}\n", fl.long));
            for also in fl.also {
                out.push_str(&format!("      --{also}{value}\n"));
            }
        }
    }
    out
}

/// `--filter KEY=VALUE` values (the CLI's `opts.FilterOpt`: the key lower-cased, both
/// trimmed); one without `=` is a flag error.
fn filters(spec: &Spec, p: &Parsed) -> Result<Vec<(String, String)>, CliError> {
    p.all("filter")
        .into_iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) => Ok((k.trim().to_lowercase(), val.trim().to_string())),
            None => Err(flag_error(
                spec,
                format!("invalid argument \"{v}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"),
            )),
        })
        .collect()
}

/// The subcommands the front takes, as typed after `docker` (`run`, `network ls` …), in
/// the order of its table; for completion and help.
pub fn subcommands() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.path)
}

/// The flags of subcommand `path` (`run`, `network create` …) as they can be typed:
/// `--name`, its other long names (`--net`), and its short form (`-d`); and `--help`,
/// which every subcommand takes. Empty for an unknown subcommand.
pub fn flag_words(path: &str) -> Vec<String> {
    SPECS
        .iter()
        .filter(|s| s.path == path)
        .flat_map(|s| {
            s.flags
                .iter()
                .flat_map(|f| {
                    std::iter::once(format!("--{}", f.long))
                        .chain(f.also.iter().map(|a| format!("--{a}")))
                        .chain(f.short.map(|c| format!("-{c}")))
                })
                .chain(std::iter::once("--help".to_string()))
        })
        .collect()
}

/// `KEY=VALUE` words as the CLI's `MapOpts` and `ConvertKVStringsToMap` read them: a word
/// without `=` is a key with an empty value.
/// Go's `net.ParseCIDR`: the address as written and the network it names.
fn go_parse_cidr(text: &str) -> Option<(std::net::IpAddr, ipnet::IpNet)> {
    let (addr, len) = text.split_once('/')?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let net = ipnet::IpNet::new(ip, len.parse().ok()?).ok()?.trunc();
    Some((ip, net))
}

/// docker/cli's `subnetMatches`: whether `data` (an address, or a CIDR's address) is in
/// `subnet`; an address that does not parse matches nothing, a CIDR that does not parse is
/// Go's error.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (_, net) = go_parse_cidr(subnet)
        .ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        go_parse_cidr(data)
            .ok_or_else(|| format!("invalid CIDR address: {data}"))?
            .0
    } else {
        match data.parse() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    Ok(net.contains(&ip))
}

/// docker/cli 20.10's `consolidateIpam` (`network create`), in its order and words: every
/// ip-range or gateway needs a subnet; subnets may not overlap; each range, gateway and
/// auxiliary address must fall in a subnet, and a subnet takes one range and one gateway.
fn consolidate_ipam(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &[(String, String)],
) -> Result<(), String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    for (i, s) in subnets.iter().enumerate() {
        for k in &subnets[..i] {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
    }
    // Each range, then each gateway, takes the subnets that contain it.
    for (what, values, verb) in [("ranges", ranges, "on"), ("gateways", gateways, "for")] {
        let mut taken: Vec<Option<&String>> = vec![None; subnets.len()];
        for v in values {
            let mut matched = false;
            for (i, s) in subnets.iter().enumerate() {
                if !subnet_matches(s, v)? {
                    continue;
                }
                if let Some(old) = taken[i] {
                    return Err(format!(
                        "cannot configure multiple {what} ({v}, {old}) {verb} the same subnet ({s})"
                    ));
                }
                taken[i] = Some(v);
                matched = true;
            }
            if !matched {
                let one = if what == "ranges" { "range" } else { "gateway" };
                return Err(format!("no matching subnet for {one} {v}"));
            }
        }
    }
    for (_, a) in aux {
        let mut matched = false;
        for s in subnets {
            matched |= subnet_matches(s, a)?;
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {a}"));
        }
    }
    Ok(())
}

fn key_values(words: &[String]) -> Vec<(String, String)> {
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w.clone(), String::new()),
        })
        .collect()
}

/// A flag holding a whole number of seconds (pflag's `int`): absent, or its value; a
/// malformed one in pflag's words (`strconv.ParseInt`), status 125.
fn int_flag(spec: &Spec, p: &Parsed, long: &str, shown: &str) -> Result<Option<u64>, CliError> {
    p.one(long)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                flag_error(
                    spec,
                    format!("invalid argument \"{v}\" for \"{shown}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"),
                )
            })
        })
        .transpose()
}

/// A flag's value as the CLI's option validators take it (they run as pflag sets the
/// value, so a bad one stops the parse there): the value to keep, or the CLI's flag error
/// `invalid argument "V" for "-e, --env" flag: …` (status 125).
///
/// - `env` (`opts.ValidateEnv`): an empty name is refused (`invalid environment variable:
///   V`); `KEY` alone takes `KEY=VALUE` from netsh's own environment when it has `KEY`.
/// - `add-host` (`opts.ValidateExtraHost`): `NAME:IP` split at the first `:` (so IPv6
///   works), a name and an address (or `host-gateway`) needed.
/// - `dns` (`opts.ValidateIPAddress`): an IP address, kept as Go prints it.
/// - `dns-search` (`opts.ValidateDNSSearch`): `.` or a domain name.
/// - `label` (`opts.ValidateLabel`, 20.10): `KEY=VALUE`.
fn validate(spec: &Spec, flag: &Flag, value: String) -> Result<String, CliError> {
    let refuse = |why: String| {
        let name = match flag.short {
            Some(c) => format!("-{c}, --{}", flag.long),
            None => format!("--{}", flag.long),
        };
        flag_error(
            spec,
            format!(
                "invalid argument {} for \"{name}\" flag: {why}",
                go_quote(&value)
            ),
        )
    };
    match flag.long {
        "env" => {
            let key = value.split('=').next().unwrap_or_default();
            if key.is_empty() {
                return Err(refuse(format!("invalid environment variable: {value}")));
            }
            if !value.contains('=') {
                if let Some(v) = std::env::var_os(&value) {
                    return Ok(format!("{value}={}", v.to_string_lossy()));
                }
            }
            Ok(value)
        }
        "add-host" => {
            let Some((name, ip)) = value.split_once(':').filter(|(n, _)| !n.is_empty()) else {
                return Err(refuse(format!(
                    "bad format for add-host: {}",
                    go_quote(&value)
                )));
            };
            let _ = name;
            if ip != "host-gateway" && ip.trim().parse::<std::net::IpAddr>().is_err() {
                return Err(refuse(format!(
                    "invalid IP address in add-host: {}",
                    go_quote(ip)
                )));
            }
            Ok(value)
        }
        "dns" => match value.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(ip.to_string()),
            Err(_) => Err(refuse(format!("{value} is not an ip address"))),
        },
        "dns-search" => {
            let v = value.trim_matches(' ');
            if v == "." {
                return Ok(v.to_string());
            }
            valid_domain(v)
                .map(str::to_string)
                .ok_or_else(|| refuse(format!("{v} is not a valid domain")))
        }
        "label" if !value.contains('=') => Err(refuse(format!("bad attribute format: {value}"))),
        _ => Ok(value),
    }
}

/// The docker CLI's `validateDomain`: at least one letter, dot-separated labels of letters,
/// digits and inner dashes, one final dot and trailing whitespace allowed; the name without
/// them, shorter than 255 bytes.
fn valid_domain(v: &str) -> Option<&str> {
    if !v.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = v.trim_end();
    let name = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    (name.split('.').all(label_ok) && name.len() < 255).then_some(name)
}

/// A string as Go's `%q` prints it (for the printable ASCII the CLI's messages show, Rust's
/// `{:?}` agrees).
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// Whether `cmd` (a container's command; empty: the image's, a shell for the images people
/// type) is an interactive shell, which reads its commands from the terminal.
fn wants_a_terminal(cmd: &[String]) -> bool {
    match cmd {
        [] => true,
        [prog, rest @ ..] => {
            let base = prog.rsplit('/').next().unwrap_or(prog);
            ["sh", "ash", "bash", "dash", "zsh"].contains(&base)
                && rest.iter().all(|a| a.starts_with('-') && a != "-c")
        }
    }
}

/// netsh's refusal of `-it` with a shell: containers get no terminal from netsh.
fn interactive_refusal(container: &str) -> String {
    format!(
        "netsh: an interactive shell needs a terminal, and netsh gives containers none: \
         type each command as its own line (docker exec {container} ip a), or start the \
         container with -d and a command that keeps it running"
    )
}

/// An image reference as the docker CLI's `reference.ParseNormalizedNamed` takes it:
/// `NAME[:TAG][@DIGEST]`, the name lowercase path components (letters, digits, `._-`
/// separators inside), the tag up to 128 `[\w.-]` characters. Errors in its words.
/// Returns the name and the tag or digest part (`:latest` when none is given).
pub fn check_reference(image: &str) -> Result<(&str, String), &'static str> {
    let (name, tag) = match image.split_once('@') {
        Some((n, d)) => (n, format!("@{d}")),
        None => match image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((n, t)) => (n, format!(":{t}")),
            None => (image, ":latest".to_string()),
        },
    };
    let tag_ok = tag[1..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
        && tag.len() > 1;
    // Each `/`-separated component: letters and digits, with `.`, `_` or `-` only inside
    // (a registry host first may carry a `:port`).
    let registry = name.contains('/');
    let name_ok = name.split('/').enumerate().all(|(i, part)| {
        let extra = if i == 0 && registry { "._-:" } else { "._-" };
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
            && !part.starts_with(['.', '-', '_'])
            && !part.ends_with(['.', '-', '_'])
    });
    if !name_ok || !tag_ok {
        return Err("invalid reference format");
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("invalid reference format: repository name must be lowercase");
    }
    Ok((name, tag))
}

/// Splits a command line as a shell does (quotes, backslash escapes).
pub fn split(line: &str) -> Result<Vec<String>, CliError> {
    shlex::split(line).ok_or_else(|| {
        CliError::new(
            1,
            format!("cannot split the command line {line:?}: an unterminated quote or a trailing backslash"),
        )
    })
}

/// Parses a docker command line without the leading `docker`
/// (`network create -d bridge bridge2`).
pub fn parse(line: &str) -> Result<Command, CliError> {
    let mut words = split(line)?;
    if words.first().is_some_and(|w| w == "docker") {
        words.remove(0);
    }
    parse_words(&words)
}

/// Parses a command line already split into words (without `docker`).
pub fn parse_words(words: &[String]) -> Result<Command, CliError> {
    let Some(first) = words.first() else {
        return Err(CliError::new(
            1,
            "a docker command is missing, e.g. docker(\"network ls\") or docker(\"run -d --name web busybox\")",
        ));
    };
    let (path, rest) = if first == "network" {
        match words.get(1).map(String::as_str) {
            Some(sub @ ("ls" | "list" | "create" | "inspect" | "connect" | "disconnect" | "rm" | "remove"
                | "prune")) => {
                let sub = match sub {
                    "list" => "ls",
                    "remove" => "rm",
                    s => s,
                };
                (format!("network {sub}"), &words[2..])
            }
            Some(other) => {
                return Err(CliError::new(
                    1,
                    format!("docker: 'network {other}' is not a docker command.\nSee 'docker network --help'"),
                ))
            }
            None => {
                return Err(CliError::new(
                    1,
                    "\"docker network\" requires a subcommand: ls, create, inspect, connect, disconnect, rm, prune.\nSee 'docker network --help'.",
                ))
            }
        }
    } else if first == "container" && words.len() > 1 {
        // `docker container ls|run|rm …` are the same commands.
        let sub = match words[1].as_str() {
            "ls" | "list" => "ps",
            s => s,
        };
        (sub.to_string(), &words[2..])
    } else {
        (first.clone(), &words[1..])
    };
    let top = path.split(' ').next().unwrap_or_default();
    if !SPECS.iter().any(|s| s.path == path) && NOT_MODELLED.contains(&top) {
        return Err(CliError::new(
            1,
            format!(
                "netsh: \"docker {path}\" is Docker's, but netsh models Docker's networking \
                 only (networks, containers and what runs in them; no images, volumes or \
                 engine commands)"
            ),
        ));
    }
    let Some(spec) = SPECS.iter().find(|s| s.path == path) else {
        return Err(CliError::new(
            1,
            format!("docker: '{path}' is not a docker command.\nSee 'docker --help'"),
        ));
    };
    let p = parse_flags(spec, rest)?;
    if p.help {
        return Ok(Command::Help(help_text(spec)));
    }
    ipv4_only(spec, &p)?;
    let args = p.args.clone();
    let cmd = match spec.path {
        "network ls" => Command::NetworkLs {
            quiet: p.bool("quiet"),
            no_trunc: p.bool("no-trunc"),
            filters: filters(spec, &p)?,
            format: p.one("format"),
        },
        "network create" => {
            // The CLI's `consolidateIpam`: every range, gateway and auxiliary address needs
            // a subnet of its own, and subnets may not overlap.
            let (subnets, ranges, gateways) =
                (p.all("subnet"), p.all("ip-range"), p.all("gateway"));
            let aux = key_values(&p.all("aux-address"));
            consolidate_ipam(&subnets, &ranges, &gateways, &aux)
                .map_err(|e| CliError::new(1, e))?;
            if subnets.len() > 1 {
                return Err(CliError::new(
                    1,
                    format!(
                        "netsh holds one subnet per network; --subnet was given {} times ({})",
                        subnets.len(),
                        subnets.join(", ")
                    ),
                ));
            }
            Command::NetworkCreate {
                name: args[0].clone(),
                driver: p.one("driver"),
                subnet: p.one("subnet"),
                gateway: p.one("gateway"),
                internal: p.bool("internal"),
                ip_range: p.one("ip-range"),
                aux: key_values(&p.all("aux-address")),
                labels: key_values(&p.all("label")),
                options: key_values(&p.all("opt")),
            }
        }
        "network inspect" => Command::NetworkInspect {
            names: args,
            format: p.one("format"),
        },
        "network connect" => Command::NetworkConnect {
            network: args[0].clone(),
            container: args[1].clone(),
            ip: p.one("ip"),
            aliases: p.all("alias"),
            links: p.all("link"),
        },
        "network disconnect" => Command::NetworkDisconnect {
            network: args[0].clone(),
            container: args[1].clone(),
        },
        "network rm" => Command::NetworkRm { names: args },
        "network prune" => Command::NetworkPrune {
            force: p.bool("force"),
        },
        "run" | "create" => {
            check_reference(&args[0]).map_err(|why| {
                CliError::new(125, format!("docker: {why}.\n{}", help_hint(spec)))
            })?;
            if !p.bool("detach") && p.bool("interactive") && wants_a_terminal(&args[1..]) {
                let name = p.one("name").unwrap_or_else(|| "CONTAINER".into());
                return Err(CliError::new(125, interactive_refusal(&name)));
            }
            let run = RunArgs {
                detach: p.bool("detach"),
                interactive: p.bool("interactive"),
                name: p.one("name"),
                network: p.one("network"),
                links: p.all("link"),
                ip: p.one("ip"),
                aliases: p.all("network-alias"),
                hostname: p.one("hostname"),
                publish: p.all("publish"),
                publish_all: p.bool("publish-all"),
                expose: p.all("expose"),
                rm: p.bool("rm"),
                env: p.all("env"),
                add_hosts: p.all("add-host"),
                dns: p.all("dns"),
                dns_search: p.all("dns-search"),
                dns_options: p.all("dns-option"),
                image: args[0].clone(),
                cmd: args[1..].to_vec(),
            };
            if spec.path == "run" {
                Command::Run(run)
            } else {
                Command::Create(run)
            }
        }
        "rm" => Command::Rm {
            force: p.bool("force"),
            names: args,
        },
        "start" => Command::Start { names: args },
        "stop" => Command::Stop {
            time: int_flag(spec, &p, "time", "-t, --time")?,
            names: args,
        },
        "restart" => Command::Restart {
            time: int_flag(spec, &p, "time", "-t, --time")?,
            names: args,
        },
        "kill" => Command::Kill { names: args },
        "logs" => Command::Logs {
            container: args[0].clone(),
            tail: match p.one("tail").as_deref() {
                None | Some("all") => None,
                Some(n) => Some(n.parse().map_err(|_| {
                    CliError::new(
                        1,
                        format!("Error response from daemon: invalid value for \"tail\": \"{n}\""),
                    )
                })?),
            },
        },
        "rename" => Command::Rename {
            container: args[0].clone(),
            new_name: args[1].clone(),
        },
        "exec" if !p.bool("detach") && p.bool("interactive") && wants_a_terminal(&args[1..]) => {
            return Err(CliError::new(1, interactive_refusal(&args[0])))
        }
        "exec" => Command::Exec {
            detach: p.bool("detach"),
            container: args[0].clone(),
            argv: args[1..].to_vec(),
            env: p.all("env"),
        },
        "inspect" => {
            let kind = p.one("type");
            if let Some(k) = kind
                .as_deref()
                .filter(|k| !["container", "network"].contains(k))
            {
                return Err(CliError::new(
                    1,
                    format!("\"{k}\" is not a valid value for --type"),
                ));
            }
            Command::Inspect {
                format: p.one("format"),
                names: args,
                kind,
            }
        }
        "ps" => Command::Ps {
            all: p.bool("all"),
            quiet: p.bool("quiet"),
            no_trunc: p.bool("no-trunc"),
            format: p.one("format"),
            filters: filters(spec, &p)?,
        },
        "pull" => Command::Pull {
            image: args[0].clone(),
        },
        "port" => Command::Port {
            container: args[0].clone(),
            private: args.get(1).cloned(),
        },
        other => unreachable!("a spec without a command: {other}"),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).unwrap_or_else(|e| panic!("{line}: {}", e.message))
    }
    fn err(line: &str) -> CliError {
        parse(line).expect_err(line)
    }

    #[test]
    fn tutorial_lines() {
        assert_eq!(
            ok("network create -d bridge bridge2"),
            Command::NetworkCreate {
                name: "bridge2".into(),
                driver: Some("bridge".into()),
                subnet: None,
                gateway: None,
                internal: false,
                ip_range: None,
                aux: vec![],
                labels: vec![],
                options: vec![],
            }
        );
        let Command::Run(r) = ok(
            "run -d --name bb --network bridge2 busybox /bin/sh -c \"while true; do sleep 3600; done\"",
        ) else {
            panic!()
        };
        assert!(r.detach);
        assert_eq!(r.name.as_deref(), Some("bb"));
        assert_eq!(r.network.as_deref(), Some("bridge2"));
        assert_eq!(r.image, "busybox");
        assert_eq!(r.cmd, ["/bin/sh", "-c", "while true; do sleep 3600; done"]);
        let Command::Run(r) = ok("run --name mytomcat --network host -dp 8081:8080 tomcat:8.5.49")
        else {
            panic!()
        };
        assert!(r.detach);
        assert_eq!(r.publish, ["8081:8080"]);
        assert_eq!(r.image, "tomcat:8.5.49");
        assert!(r.cmd.is_empty());
        assert_eq!(
            ok("exec bb ping 172.18.0.3 -c 3"),
            Command::Exec {
                detach: false,
                container: "bb".into(),
                argv: vec!["ping".into(), "172.18.0.3".into(), "-c".into(), "3".into()],
                env: vec![],
            }
        );
        assert_eq!(
            ok("inspect -f '{{json .NetworkSettings}}' bb1-1"),
            Command::Inspect {
                format: Some("{{json .NetworkSettings}}".into()),
                names: vec!["bb1-1".into()],
                kind: None,
            }
        );
        assert_eq!(
            ok("network connect bridge2 bb1"),
            Command::NetworkConnect {
                network: "bridge2".into(),
                container: "bb1".into(),
                ip: None,
                aliases: vec![],
                links: vec![]
            }
        );
        assert!(matches!(ok("network ls"), Command::NetworkLs { .. }));
        let Command::Help(h) = ok("network create --help") else {
            panic!()
        };
        assert!(h.starts_with("\nUsage:  docker network create [OPTIONS] NETWORK\n\nCreate a network\n\nOptions:\n  -d, --driver string\n"), "{h}");
        // After the image, --help is the program's.
        let Command::Run(r) = ok("run busybox ls --help") else {
            panic!()
        };
        assert_eq!(r.cmd, ["ls", "--help"]);
        assert_eq!(
            ok("network prune -f"),
            Command::NetworkPrune { force: true }
        );
        assert!(matches!(ok("docker network ls"), Command::NetworkLs { .. }));
    }

    #[test]
    fn flag_forms() {
        let Command::Run(r) =
            ok("run --net=n1 -p8080 --alias a --network-alias b --net-alias=c --ip=10.0.0.5 --rm=true img")
        else {
            panic!()
        };
        assert_eq!(r.network.as_deref(), Some("n1"));
        assert_eq!(r.publish, ["8080"]);
        assert_eq!(r.aliases, ["a", "b", "c"]);
        assert_eq!(r.ip.as_deref(), Some("10.0.0.5"));
        assert!(r.rm);
        assert!(!r.detach);
        let Command::Run(r) = ok("run -dP --expose 80 --expose=53/udp img") else {
            panic!()
        };
        assert!(r.publish_all && r.detach);
        assert_eq!(r.expose, ["80", "53/udp"]);
        assert_eq!(
            ok("network ls -q --filter name=br -f driver=bridge --no-trunc"),
            Command::NetworkLs {
                quiet: true,
                no_trunc: true,
                filters: vec![
                    ("name".into(), "br".into()),
                    ("driver".into(), "bridge".into())
                ],
                format: None,
            }
        );
        assert_eq!(
            ok("rm -f a b"),
            Command::Rm {
                force: true,
                names: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            ok("ps -aq"),
            Command::Ps {
                all: true,
                quiet: true,
                no_trunc: false,
                format: None,
                filters: vec![],
            }
        );
        assert!(matches!(
            ok("container ls -a"),
            Command::Ps { all: true, .. }
        ));
        assert!(matches!(
            ok("network create --internal --subnet 10.1.0.0/24 --gateway=10.1.0.254 n"),
            Command::NetworkCreate { internal: true, .. }
        ));
    }

    /// `network create`'s IPAM flags are checked as the docker CLI's `consolidateIpam` does,
    /// in its words and order, before netsh's own one-subnet limit (moby
    /// TestDockerNetworkIPAMInvalidCombinations, docker/cli TestNetworkCreateErrors).
    #[test]
    fn ipam_flags_are_consolidated_as_the_cli_does() {
        for (line, text) in [
            ("network create --subnet=192.168.0.0/16 --ip-range=192.170.0.0/16 t", "no matching subnet for range 192.170.0.0/16"),
            ("network create --subnet=192.168.0.0/16 --gateway=192.168.0.1 --gateway=192.168.0.2 t", "every ip-range or gateway must have a corresponding subnet"),
            ("network create --subnet=192.168.0.0/16 --subnet=192.168.1.0/16 t", "multiple overlapping subnet configuration is not supported"),
            ("network create --subnet=10.1.0.0/24 --subnet=10.2.0.0/24 --gateway=10.1.0.1 --gateway=10.1.0.2 t", "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"),
            ("network create --subnet=10.1.0.0/24 --subnet=10.2.0.0/24 --ip-range=10.1.0.0/25 --ip-range=10.1.0.128/25 t", "cannot configure multiple ranges (10.1.0.128/25, 10.1.0.0/25) on the same subnet (10.1.0.0/24)"),
            ("network create --subnet=10.1.0.0/16 --gateway=bogus t", "no matching subnet for gateway bogus"),
            ("network create --subnet=10.1.0.0/16 --ip-range=10.1.0.0/33 t", "invalid CIDR address: 10.1.0.0/33"),
            ("network create --subnet=bogus --gateway=10.1.0.1 t", "invalid subnet: invalid CIDR address: bogus"),
            ("network create --subnet=10.1.0.0/16 --aux-address a=10.2.0.5 t", "no matching subnet for aux-address 10.2.0.5"),
            ("network create --subnet=10.1.0.0/24 --subnet=10.2.0.0/24 t", "netsh holds one subnet per network"),
        ] {
            let e = err(line);
            assert_eq!(e.status, 1, "{line}");
            assert!(e.message.contains(text), "{line}: {}", e.message);
            assert!(!e.message.contains("daemon"), "{line}: {}", e.message);
        }
        assert!(matches!(
            ok("network create --subnet=10.1.0.0/16 --ip-range=10.1.1.0/24 --gateway=10.1.0.1 --aux-address a=10.1.1.5 t"),
            Command::NetworkCreate { .. }
        ));
    }

    /// IPv6 options are read and refused: garbage and IPv4 given to `--ip6` in the daemon's
    /// words (moby TestDockerNetworkValidateIP), a real IPv6 address, `--ipv6` and an IPv6
    /// subnet in netsh's.
    #[test]
    fn ipv6_options_are_refused() {
        for (line, status, text) in [
            ("run --ip6 mynet_ip6 busybox", 125, "docker: Error response from daemon: invalid IPv6 address: mynet_ip6.\nSee 'docker run --help'."),
            ("run --ip6 172.28.99.99 busybox", 125, "invalid IPv6 address: 172.28.99.99"),
            ("create --ip6 ::ffff:172.28.99.99 busybox", 125, "invalid IPv6 address: ::ffff:172.28.99.99"),
            ("run --ip 172.28.99.99 --ip6 2001:db8::9 busybox", 125, "docker: netsh models IPv4 networks only: cannot give the container IPv6 address 2001:db8::9 (--ip6).\nSee 'docker run --help'."),
            ("network connect --ip6 2001:db8::9 n c", 1, "netsh models IPv4 networks only"),
            ("network create --ipv6 n", 1, "netsh models IPv4 networks only: --ipv6"),
            ("network create --subnet 2001:db8::/64 n", 1, "cannot use IPv6 subnet 2001:db8::/64"),
        ] {
            let e = err(line);
            assert_eq!(e.status, status, "{line}");
            assert!(e.message.contains(text), "{line}: {}", e.message);
        }
        // An invalid --ip is the daemon's to report first.
        assert!(matches!(
            ok("run --ip bogus --ip6 2001:db8::9 busybox"),
            Command::Run(_)
        ));
    }

    #[test]
    fn option_values_are_checked_as_the_clis_validators_do() {
        let Command::Run(r) = ok("run -e A=1 -eB= --env=C --add-host h:::1 --dns ::ffff:1.2.3.4 --dns-search Example.ORG. --dns-opt ndots:1 img")
        else {
            panic!()
        };
        assert_eq!(r.env, ["A=1", "B=", "C"]);
        assert_eq!(r.add_hosts, ["h:::1"]);
        // Go prints an IPv4-mapped address as IPv4; Rust keeps it IPv6: both parse.
        assert_eq!(r.dns.len(), 1);
        assert_eq!(r.dns_search, ["Example.ORG"]);
        assert_eq!(r.dns_options, ["ndots:1"]);
        let refusal = |line: &str| {
            let e = err(line);
            assert_eq!(e.status, 125, "{line}");
            e.message.lines().next().unwrap_or_default().to_string()
        };
        assert_eq!(
            refusal("run -e = img"),
            "invalid argument \"=\" for \"-e, --env\" flag: invalid environment variable: ="
        );
        assert_eq!(
            refusal("run --add-host=h img"),
            "invalid argument \"h\" for \"--add-host\" flag: bad format for add-host: \"h\""
        );
        assert_eq!(
            refusal("run --add-host h:x img"),
            "invalid argument \"h:x\" for \"--add-host\" flag: invalid IP address in add-host: \"x\""
        );
        assert_eq!(
            refusal("create --dns 1.2.3 img"),
            "invalid argument \"1.2.3\" for \"--dns\" flag: 1.2.3 is not an ip address"
        );
        for bad in ["a..b", "-a.b", "a-.b", "1.2", "a_b.c"] {
            assert!(valid_domain(bad).is_none(), "{bad}");
        }
        assert_eq!(valid_domain("a-b.c1. "), Some("a-b.c1"));
        assert_eq!(
            refusal("network create --label k n"),
            "invalid argument \"k\" for \"--label\" flag: bad attribute format: k"
        );
        let Command::NetworkCreate { options, aux, .. } =
            ok("network create -o a=1 --opt b --subnet 10.0.0.0/24 --aux-address x=10.0.0.9 n")
        else {
            panic!()
        };
        assert_eq!(
            options,
            [("a".into(), "1".into()), ("b".into(), String::new())]
        );
        assert_eq!(aux, [("x".to_string(), "10.0.0.9".to_string())]);
    }

    /// Odd input never panics: every combination of a few awkward words parses or is
    /// refused with a status.
    #[test]
    fn odd_input_never_panics() {
        let words = [
            "run", "network", "create", "-", "--", "-p", "-p=", "--name=", "=", "-dp", "é", "-é",
            "--net", "'", "\\", "ps", "-a", "inspect", "-f", "{{", "port", "x",
        ];
        for a in words {
            for b in words {
                for c in words {
                    match parse(&format!("{a} {b} {c}")) {
                        Ok(_) => {}
                        Err(e) => assert!(e.status == 1 || e.status == 125, "{a} {b} {c}"),
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_in_the_clis_words() {
        let e = err("network create");
        assert_eq!(e.status, 1);
        assert!(e
            .message
            .starts_with("\"docker network create\" requires exactly 1 argument.\nSee 'docker network create --help'.\n\nUsage:  docker network create [OPTIONS] NETWORK"));
        let e = err("network create --bogus x");
        assert_eq!(e.status, 125);
        assert_eq!(
            e.message,
            "unknown flag: --bogus\nSee 'docker network create --help'."
        );
        let e = err("run -x busybox");
        assert_eq!(e.status, 125);
        assert_eq!(
            e.message,
            "unknown shorthand flag: 'x' in -x\nSee 'docker run --help'."
        );
        assert_eq!(
            err("run --name").message,
            "flag needs an argument: --name\nSee 'docker run --help'."
        );
        assert!(err("run")
            .message
            .starts_with("\"docker run\" requires at least 1 argument."));
        assert!(err("ps x")
            .message
            .starts_with("\"docker ps\" accepts no arguments."));
        assert!(err("port")
            .message
            .starts_with("\"docker port\" requires at least 1 and at most 2 arguments."));
        assert_eq!(
            err("frob").message,
            "docker: 'frob' is not a docker command.\nSee 'docker --help'"
        );
        assert_eq!(err("network ls -f nope").status, 125);
        assert_eq!(err("network create --internal=maybe n").status, 125);
        assert_eq!(err("").status, 1);
        assert!(err("run 'unterminated")
            .message
            .contains("unterminated quote"));
    }
}
