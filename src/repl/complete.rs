//! Tab completion: what the cursor is in (a `:command`, a member after a dot, a string
//! argument of a binding, a docker/ip/brctl/ping command line, a name) and the live names
//! that fit there — containers, networks and namespaces from the lab, the interfaces of the
//! namespace being addressed, the methods and properties of the value before the dot.
//!
//! The analysis is pure; what the lab and the scope hold comes through [`Source`].

use crate::script::help::{self, BINDINGS};

/// A namespace (or container) a completion is about: a variable holding it, or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Var(String),
    Name(String),
}

/// What completion may ask the session and the lab.
pub trait Source {
    /// Names of the containers.
    fn containers(&self) -> Vec<String>;
    /// Names of the Docker networks.
    fn networks(&self) -> Vec<String>;
    /// Names of the user's namespaces.
    fn namespaces(&self) -> Vec<String>;
    /// Interface names of the namespace or container `of` (none when it names nothing).
    fn interfaces(&self, of: &Target) -> Vec<String>;
    /// The type of the variable `var` (`Netns`, `Container`, `Network`, `Link`,
    /// `PingResult`), or `None`.
    fn type_of(&self, var: &str) -> Option<String>;
    /// The keys of the map in `var` (an `exec` or `tcp` result), if it holds one.
    fn map_keys(&self, var: &str) -> Vec<String>;
    /// Variables and functions of the session.
    fn words(&self) -> Vec<String>;
}

/// The script's keywords (completed like names).
pub const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "return", "import", "export",
    "as", "true", "false", "print", "debug", "throw", "try", "catch", "break", "continue",
];

/// Where the replacement starts and the candidates, for the text before the cursor.
pub fn complete(before: &str, src: &dyn Source) -> (usize, Vec<String>) {
    if let Some(start) = command_start(before) {
        return (start, matching(commands(), &before[start..]));
    }
    // `:help NAME`: the names :help knows.
    if let Some(rest) = before.trim_start().strip_prefix(":help ") {
        let prefix = rest.trim_start();
        let names = BINDINGS.iter().map(|b| b.name);
        return (before.len() - prefix.len(), matching(names, prefix));
    }
    if let Some(found) = front(before, src) {
        return found;
    }
    if let Some(call) = open_string(before) {
        let start = before.len() - call.prefix.len();
        return (
            start,
            matching_owned(string_candidates(&call, src), &call.prefix),
        );
    }
    let (start, prefix) = ident_prefix(before);
    if let Some(receiver) = receiver_before(&before[..start]) {
        return (start, matching_owned(members(receiver, src), prefix));
    }
    if prefix.is_empty() {
        return (start, Vec::new());
    }
    let words = BINDINGS
        .iter()
        .filter(|b| b.on.is_none())
        .map(|b| b.name.to_string())
        .chain(KEYWORDS.iter().map(|k| k.to_string()))
        .chain(src.words());
    (start, matching_owned(words, prefix))
}

/// The `:commands` completion offers.
pub fn commands() -> impl Iterator<Item = &'static str> {
    help::COMMANDS
        .iter()
        .filter_map(|(usage, _)| usage.split_whitespace().next())
}

/// Where a `:command` being typed starts, if the line so far is one.
pub fn command_start(before: &str) -> Option<usize> {
    let trimmed = before.trim_start();
    let name = trimmed.strip_prefix(':')?;
    name.chars()
        .all(|c| c.is_alphanumeric())
        .then_some(before.len() - trimmed.len())
}

/// The identifier that ends at the end of `before`, and the byte index where it starts.
pub fn ident_prefix(before: &str) -> (usize, &str) {
    let start = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_ident(c))
        .last()
        .map_or(before.len(), |(i, _)| i);
    (start, &before[start..])
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The variable before a `.` that ends `before` (`a.` → `a`).
fn receiver_before(before: &str) -> Option<&str> {
    let rest = before.strip_suffix('.')?;
    let (_, name) = ident_prefix(rest);
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// The methods and properties a value of `receiver`'s type has (all types' when unknown).
fn members(receiver: &str, src: &dyn Source) -> Vec<String> {
    let keys = src.map_keys(receiver);
    if !keys.is_empty() {
        return keys;
    }
    let ty = src.type_of(receiver);
    BINDINGS
        .iter()
        .filter(|b| match (&ty, b.on) {
            (Some(t), Some(on)) => on == t,
            (None, Some(on)) => on != "topo",
            _ => false,
        })
        .map(|b| b.name.to_string())
        .collect()
}

/// A string argument being typed: the call it belongs to and what is typed so far.
#[derive(Debug, PartialEq, Eq)]
struct StringArg {
    /// The function (or method) called.
    func: String,
    /// The variable before the dot of a method call.
    receiver: Option<String>,
    /// Which argument (0-based) the string is.
    arg: usize,
    /// The first argument, when it came before this one.
    first: Option<Target>,
    prefix: String,
}

/// The string literal left open at the end of `before`, with the call around it.
fn open_string(before: &str) -> Option<StringArg> {
    struct Call {
        func: String,
        receiver: Option<String>,
        arg: usize,
        open: usize,
        first: Option<Target>,
    }
    let mut calls: Vec<Call> = Vec::new();
    let mut string_start: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in before.char_indices() {
        if let Some(start) = string_start {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                string_start = None;
                if let Some(call) = calls.last_mut() {
                    if call.arg == 0 && call.first.is_none() {
                        call.first = Some(Target::Name(before[start..i].to_string()));
                    }
                }
            }
            continue;
        }
        match c {
            '"' => string_start = Some(i + 1),
            '(' => {
                let (fstart, func) = ident_prefix(before[..i].trim_end());
                let receiver = receiver_before(&before[..fstart]).map(str::to_string);
                calls.push(Call {
                    func: func.to_string(),
                    receiver,
                    arg: 0,
                    open: i + 1,
                    first: None,
                });
            }
            ')' => {
                calls.pop();
            }
            ',' => {
                if let Some(call) = calls.last_mut() {
                    if call.arg == 0 && call.first.is_none() {
                        let raw = before[call.open..i].trim();
                        if !raw.is_empty() && raw.chars().all(is_ident) {
                            call.first = Some(Target::Var(raw.to_string()));
                        }
                    }
                    call.arg += 1;
                }
            }
            _ => {}
        }
    }
    let start = string_start?;
    let call = calls.pop();
    Some(StringArg {
        func: call.as_ref().map(|c| c.func.clone()).unwrap_or_default(),
        receiver: call.as_ref().and_then(|c| c.receiver.clone()),
        arg: call.as_ref().map_or(0, |c| c.arg),
        first: call.and_then(|c| if c.arg > 0 { c.first } else { None }),
        prefix: before[start..].to_string(),
    })
}

/// Functions whose first argument is a container.
const ON_CONTAINER: &[&str] = &[
    "rm",
    "exec",
    "docker_inspect",
    "hosts_file",
    "port",
    "rename",
    "connect",
    "disconnect",
    "serve",
];
/// Functions whose first argument is a network.
const ON_NETWORK: &[&str] = &["network_rm", "network_inspect"];

fn string_candidates(arg: &StringArg, src: &dyn Source) -> Vec<String> {
    let func = arg.func.as_str();
    // A method of a namespace or container: its interfaces (veth's second argument is the
    // peer's namespace).
    if let Some(recv) = &arg.receiver {
        if !(func == "veth" && arg.arg == 1) {
            return src.interfaces(&Target::Var(recv.clone()));
        }
    }
    match (func, arg.arg) {
        ("link", 1) => arg
            .first
            .as_ref()
            .map(|t| src.interfaces(t))
            .unwrap_or_default(),
        ("move_link", 0) => src.interfaces(&Target::Name("host".into())),
        ("connect" | "disconnect", 1) | ("run", 1) => src.networks(),
        (f, 0) if ON_CONTAINER.contains(&f) => src.containers(),
        (f, 0) if ON_NETWORK.contains(&f) => src.networks(),
        ("inspect", 0) => [src.containers(), src.networks()].concat(),
        ("network" | "netns" | "run", 0) => Vec::new(),
        _ => [src.namespaces(), src.containers()].concat(),
    }
}

/// Completion on a docker/ip/brctl/ping command line.
fn front(before: &str, src: &dyn Source) -> Option<(usize, Vec<String>)> {
    let trimmed = before.trim_start();
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let (&first, _) = words.split_first()?;
    if !super::FRONTS.contains(&first) || trimmed.len() == first.len() {
        return None;
    }
    let typing = !before.ends_with(char::is_whitespace);
    let (done, prefix) = if typing {
        (&words[1..words.len() - 1], *words.last()?)
    } else {
        (&words[1..], "")
    };
    let start = before.len() - prefix.len();
    let found = match first {
        "docker" => docker_words(done, prefix, src),
        "ip" => ip_words(done, prefix, src),
        "brctl" => match done {
            [] => strings(&["show", "addbr", "addif", "delbr", "delif"]),
            _ => src.interfaces(&Target::Name("host".into())),
        },
        _ => {
            if prefix.starts_with('-') {
                strings(&["-c", "-W", "-i", "-q"])
            } else {
                [src.containers(), src.namespaces()].concat()
            }
        }
    };
    Some((start, matching_owned(found, prefix)))
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Words that may follow `docker …` when `done` has been typed: the front's own
/// subcommands and flags (from its table, so completion never offers what it refuses), then
/// live names where the command expects them.
fn docker_words(done: &[&str], prefix: &str, src: &dyn Source) -> Vec<String> {
    let path = match done {
        ["network", sub, ..] => format!("network {sub}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    };
    if prefix.starts_with('-') {
        return crate::front::docker::flag_words(&path);
    }
    let paths = crate::front::docker::subcommands();
    match done {
        [] => {
            let mut top: Vec<String> = paths
                .map(|p| p.split(' ').next().unwrap_or(p).to_string())
                .collect();
            top.dedup();
            top
        }
        ["network"] => paths
            .filter_map(|p| p.strip_prefix("network ").map(str::to_string))
            .collect(),
        ["network", "connect" | "disconnect", ..] if done.len() == 2 => src.networks(),
        ["network", ..] => [src.networks(), src.containers()].concat(),
        [.., "--network" | "--net"] => src.networks(),
        [.., "--link"] => src.containers(),
        ["run" | "create" | "pull", ..] => Vec::new(),
        _ => src.containers(),
    }
}

fn ip_words(done: &[&str], prefix: &str, src: &dyn Source) -> Vec<String> {
    // `ip -n NS …`: the namespace addressed, and the words after it.
    let (ns, rest) = match done {
        ["-n", ns, rest @ ..] => (Target::Name(ns.to_string()), rest),
        ["-n"] => return src.namespaces(),
        _ => (Target::Name("host".into()), done),
    };
    match rest {
        [] => strings(&[
            "netns", "link", "addr", "address", "route", "neigh", "a", "l", "r", "-n",
        ]),
        ["netns"] => strings(&["add", "del", "list", "exec"]),
        ["netns", "del" | "exec"] => src.namespaces(),
        ["link" | "l"] => strings(&["add", "set", "show", "del"]),
        ["addr" | "address" | "a"] => strings(&["add", "del", "show"]),
        ["route" | "r"] => strings(&["add", "del", "show"]),
        [.., "netns"] => src.namespaces(),
        [.., "master"] => src.interfaces(&Target::Name("host".into())),
        [.., "type"] => strings(&["veth", "bridge"]),
        ["link", "set"] | ["link" | "l", "del" | "show"] | [.., "dev"] => src.interfaces(&ns),
        ["link", "set", _, ..] => strings(&["up", "down", "netns", "master", "address"]),
        _ if prefix.is_empty() => Vec::new(),
        _ => src.interfaces(&ns),
    }
}

/// The words starting with `prefix`, sorted, once each.
pub fn matching<'w>(words: impl Iterator<Item = &'w str>, prefix: &str) -> Vec<String> {
    matching_owned(words.map(str::to_string), prefix)
}

fn matching_owned(words: impl IntoIterator<Item = String>, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = words
        .into_iter()
        .filter(|w| w.starts_with(prefix))
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lab with containers c1 and web, networks bridge and n1, namespaces a and b; `a` is
    /// a Netns variable, `c` a Container, `r` an exec result.
    struct Fake;

    impl Source for Fake {
        fn containers(&self) -> Vec<String> {
            strings(&["c1", "web"])
        }
        fn networks(&self) -> Vec<String> {
            strings(&["bridge", "n1"])
        }
        fn namespaces(&self) -> Vec<String> {
            strings(&["a", "b"])
        }
        fn interfaces(&self, of: &Target) -> Vec<String> {
            match of {
                Target::Var(v) if v == "a" => strings(&["lo", "veth-a"]),
                Target::Name(n) if n == "a" => strings(&["lo", "veth-a"]),
                Target::Var(v) if v == "c" => strings(&["lo", "eth0"]),
                Target::Name(n) if n == "c1" => strings(&["lo", "eth0"]),
                Target::Name(n) if n == "host" => strings(&["lo", "eth0", "docker0", "br0"]),
                _ => Vec::new(),
            }
        }
        fn type_of(&self, var: &str) -> Option<String> {
            match var {
                "a" => Some("Netns".into()),
                "c" => Some("Container".into()),
                _ => None,
            }
        }
        fn map_keys(&self, var: &str) -> Vec<String> {
            if var == "r" {
                strings(&["code", "ok", "stderr", "stdout"])
            } else {
                Vec::new()
            }
        }
        fn words(&self) -> Vec<String> {
            strings(&["a", "c", "r", "twice"])
        }
    }

    fn c(before: &str) -> Vec<String> {
        complete(before, &Fake).1
    }

    #[test]
    fn names_and_commands() {
        assert_eq!(c("netn"), ["netns"]);
        assert_eq!(c("twi"), ["twice"]);
        assert_eq!(c(":he"), [":help"]);
        assert_eq!(c(":help pi"), ["ping"]);
        assert_eq!(complete(":help  ne", &Fake).0, 7);
        assert_eq!(complete("let x = tw", &Fake), (8, strings(&["twice"])));
        assert!(c("f(").is_empty());
    }

    #[test]
    fn members_after_a_dot() {
        assert!(c("a.").contains(&"veth".to_string()));
        assert_eq!(c("a.del_"), ["del_addr", "del_link", "del_route"]);
        assert_eq!(c("c.ip"), ["ip", "ip_of"]);
        assert_eq!(c("r.st"), ["stderr", "stdout"]);
        assert_eq!(complete("x = c.na", &Fake), (6, strings(&["name"])));
    }

    #[test]
    fn live_names_in_strings() {
        assert_eq!(c("rm(\"w"), ["web"]);
        assert_eq!(c("exec(\""), ["c1", "web"]);
        assert_eq!(c("connect(\"c1\", \"n"), ["n1"]);
        assert_eq!(c("network_rm(\""), ["bridge", "n1"]);
        assert_eq!(c("ping(\""), ["a", "b", "c1", "web"]);
        assert_eq!(c("a.up(\"v"), ["veth-a"]);
        assert_eq!(c("c.link(\"e"), ["eth0"]);
        assert_eq!(c("link(\"c1\", \""), ["eth0", "lo"]);
        assert_eq!(c("link(a, \"v"), ["veth-a"]);
        assert_eq!(c("a.veth(\"x\", \""), ["a", "b", "c1", "web"]);
        // A closed string is not completed as one.
        assert_eq!(c("rm(\"web\") + tw"), ["twice"]);
    }

    #[test]
    fn command_lines() {
        assert_eq!(c("docker ne"), ["network"]);
        assert_eq!(c("docker network c"), ["connect", "create"]);
        assert_eq!(c("docker network connect "), ["bridge", "n1"]);
        assert_eq!(
            c("docker run --ne"),
            ["--net", "--net-alias", "--network", "--network-alias"]
        );
        // Every subcommand and flag the front takes, from its own table.
        assert_eq!(c("docker st"), ["start", "stop"]);
        assert_eq!(c("docker stop -"), ["--help", "--time", "-t"]);
        assert_eq!(c("docker logs --t"), ["--tail"]);
        assert_eq!(c("docker run --network n"), ["n1"]);
        assert_eq!(c("docker rm w"), ["web"]);
        assert_eq!(c("ip netns e"), ["exec"]);
        assert_eq!(c("ip -n "), ["a", "b"]);
        assert_eq!(c("ip -n a link set v"), ["veth-a"]);
        assert_eq!(c("ip link set br0 netns "), ["a", "b"]);
        assert_eq!(c("brctl addif br0 d"), ["docker0"]);
        assert_eq!(c("ping w"), ["web"]);
        // `ping(` is Rhai.
        assert_eq!(c("ping(\"w"), ["web"]);
    }
}
