//! `brctl` (bridge-utils 1.7) and `ping` (iputils) command lines parsed into values, with
//! those programs' own words and exit statuses for what they refuse while parsing. Pure.

use std::time::Duration;

use super::Failure;

/// One `brctl` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brctl {
    /// `brctl show [BRIDGE…]`.
    Show(Vec<String>),
    AddBr(String),
    DelBr(String),
    AddIf {
        bridge: String,
        ifaces: Vec<String>,
    },
    DelIf {
        bridge: String,
        ifaces: Vec<String>,
    },
}

/// bridge-utils' command table: name, arguments needed (at least), usage.
const BRCTL: &[(&str, usize, &str)] = &[
    ("addbr", 1, "<bridge>"),
    ("delbr", 1, "<bridge>"),
    ("addif", 2, "<bridge> <device>"),
    ("delif", 2, "<bridge> <device>"),
    ("show", 0, "[ <bridge> ]"),
];

/// Commands bridge-utils has that the lab's front does not carry out.
const BRCTL_OTHER: &[&str] = &[
    "hairpin",
    "setageing",
    "setbridgeprio",
    "setfd",
    "sethello",
    "setmaxage",
    "setpathcost",
    "setportprio",
    "showmacs",
    "showstp",
    "stp",
];

/// Parses the words after `brctl`.
///
/// Errors, as bridge-utils prints them (status 1): `never heard of command [frob]`;
/// `Incorrect number of arguments for command` with the command's usage line; a usage text
/// when no command is given.
pub fn parse_brctl(words: &[String]) -> Result<Brctl, Failure> {
    let Some((cmd, args)) = words.split_first() else {
        return Err(Failure::new(
            1,
            "Usage: brctl [commands]\ncommands:\n\taddbr     \t<bridge>\t\tadd bridge\n\
             \tdelbr     \t<bridge>\t\tdelete bridge\n\
             \taddif     \t<bridge> <device>\tadd interface to bridge\n\
             \tdelif     \t<bridge> <device>\tdelete interface from bridge\n\
             \tshow      \t[ <bridge> ]\t\tshow a list of bridges",
        ));
    };
    let Some(&(name, need, usage)) = BRCTL.iter().find(|(n, ..)| n == cmd) else {
        if BRCTL_OTHER.contains(&cmd.as_str()) {
            return Err(Failure::new(
                1,
                format!("netsh: \"brctl {cmd}\" is not supported by the lab's brctl front"),
            ));
        }
        return Err(Failure::new(1, format!("never heard of command [{cmd}]")));
    };
    if args.len() < need {
        return Err(Failure::new(
            1,
            format!("Incorrect number of arguments for command\nUsage: brctl {name}\t{usage}"),
        ));
    }
    let one = || args[0].clone();
    Ok(match name {
        "addbr" => Brctl::AddBr(one()),
        "delbr" => Brctl::DelBr(one()),
        "addif" => Brctl::AddIf {
            bridge: one(),
            ifaces: args[1..].to_vec(),
        },
        "delif" => Brctl::DelIf {
            bridge: one(),
            ifaces: args[1..].to_vec(),
        },
        _ => Brctl::Show(args.to_vec()),
    })
}

/// One `ping` command: how many requests (`None`: until interrupted, which the lab's
/// front bounds — see `run::ping`), how long to wait for replies after the last one
/// (`-W`), how far apart (`-i`), quiet output (`-q`), and the target as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub count: Option<u32>,
    pub wait: Option<Duration>,
    pub interval: Duration,
    pub quiet: bool,
    pub target: String,
}

fn seconds(text: &str) -> Option<Duration> {
    let s: f64 = text.parse().ok()?;
    (0.0..1e9).contains(&s).then(|| Duration::from_secs_f64(s))
}

/// Parses the words after `ping`, as iputils' getopt does (`-c 3`, `-c3`, `-qc3`).
///
/// Errors, in iputils' words: `ping: invalid argument: 'x'` (status 1) for a bad count,
/// `ping: bad linger time: x` and `ping: bad timing interval: x` (status 2), `ping: invalid
/// option -- 'z'` (2), `ping: usage error: Destination address required` (2).
pub fn parse_ping(words: &[String]) -> Result<Ping, Failure> {
    let mut ping = Ping {
        count: None,
        wait: None,
        interval: Duration::from_secs(1),
        quiet: false,
        target: String::new(),
    };
    let mut targets = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if !w.starts_with('-') || w == "-" {
            targets.push(w.clone());
            continue;
        }
        for (at, flag) in w[1..].char_indices() {
            match flag {
                'q' => ping.quiet = true,
                'n' => {}
                'c' | 'W' | 'i' => {
                    let rest = &w[1 + at + flag.len_utf8()..];
                    let value = if rest.is_empty() {
                        let v = words.get(i).cloned().ok_or_else(|| {
                            Failure::new(
                                2,
                                format!("ping: option requires an argument -- '{flag}'"),
                            )
                        })?;
                        i += 1;
                        v
                    } else {
                        rest.to_string()
                    };
                    match flag {
                        'c' => {
                            let n: i64 = value.parse().map_err(|_| {
                                Failure::new(1, format!("ping: invalid argument: '{value}'"))
                            })?;
                            if n < 1 {
                                return Err(Failure::new(
                                    1,
                                    format!(
                                        "ping: invalid argument: '{value}': out of range: 1 <= \
                                         value <= 9223372036854775807"
                                    ),
                                ));
                            }
                            ping.count = Some(u32::try_from(n).unwrap_or(u32::MAX));
                        }
                        'W' => {
                            // iputils wants a positive linger time.
                            let wait = seconds(&value).filter(|w| !w.is_zero());
                            ping.wait = Some(wait.ok_or_else(|| {
                                Failure::new(2, format!("ping: bad linger time: {value}"))
                            })?);
                        }
                        _ => {
                            ping.interval = seconds(&value).ok_or_else(|| {
                                Failure::new(2, format!("ping: bad timing interval: {value}"))
                            })?;
                        }
                    }
                    break;
                }
                other => {
                    return Err(Failure::new(
                        2,
                        format!("ping: invalid option -- '{other}'"),
                    ))
                }
            }
        }
    }
    match targets.as_slice() {
        [] => Err(Failure::new(
            2,
            "ping: usage error: Destination address required",
        )),
        [t] => {
            ping.target = t.clone();
            Ok(ping)
        }
        [_, extra @ ..] => Err(Failure::new(
            2,
            format!(
                "netsh: ping takes one target (iputils reads {} as source-route hops, which the \
                 lab's ping front does not send)",
                extra.join(" ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Vec<String> {
        crate::front::words(line).unwrap()
    }

    #[test]
    fn brctl_commands() {
        assert_eq!(parse_brctl(&w("show")).unwrap(), Brctl::Show(vec![]));
        assert_eq!(
            parse_brctl(&w("addbr br0")).unwrap(),
            Brctl::AddBr("br0".into())
        );
        assert_eq!(
            parse_brctl(&w("addif br0 v1 v2")).unwrap(),
            Brctl::AddIf {
                bridge: "br0".into(),
                ifaces: vec!["v1".into(), "v2".into()]
            }
        );
        assert_eq!(
            parse_brctl(&w("frob")).unwrap_err().stderr,
            "never heard of command [frob]"
        );
        let f = parse_brctl(&w("addif br0")).unwrap_err();
        assert_eq!(f.status, 1);
        assert!(f
            .stderr
            .starts_with("Incorrect number of arguments for command\n"));
        assert!(parse_brctl(&[])
            .unwrap_err()
            .stderr
            .starts_with("Usage: brctl"));
    }

    #[test]
    fn ping_options() {
        let p = parse_ping(&w("-c 3 -W 1 -i 0.2 10.0.0.2")).unwrap();
        assert_eq!(p.count, Some(3));
        assert_eq!(p.wait, Some(Duration::from_secs(1)));
        assert_eq!(p.interval, Duration::from_millis(200));
        assert_eq!(p.target, "10.0.0.2");
        let p = parse_ping(&w("-qc2 h")).unwrap();
        assert!(p.quiet);
        assert_eq!(p.count, Some(2));
        assert_eq!(parse_ping(&w("192.168.1.2")).unwrap().count, None);
        let e = |l: &str| {
            let f = parse_ping(&w(l)).unwrap_err();
            (f.status, f.stderr)
        };
        assert_eq!(e("-c x h"), (1, "ping: invalid argument: 'x'".into()));
        assert_eq!(e("-c 0 h").0, 1);
        assert_eq!(e("-W x h"), (2, "ping: bad linger time: x".into()));
        assert_eq!(e("-W 0 h"), (2, "ping: bad linger time: 0".into()));
        assert_eq!(e("-i -1 h"), (2, "ping: bad timing interval: -1".into()));
        assert_eq!(e("-z h"), (2, "ping: invalid option -- 'z'".into()));
        assert_eq!(
            e("-c"),
            (2, "ping: option requires an argument -- 'c'".into())
        );
        assert_eq!(
            e(""),
            (2, "ping: usage error: Destination address required".into())
        );
    }
}
