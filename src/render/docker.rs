//! Docker's and bridge-utils' tables: `docker network ls`, `brctl show`.

use crate::kernel::nft::ListedRule;
use crate::kernel::LinkInfo;
use crate::model::docker::ids::short;
use crate::model::docker::{Container, Docker, Network, State};

/// Lays out rows like Go's tabwriter as the docker CLI configures it (minimum width 10,
/// padding 3; the last column is not padded).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            let w = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0);
            (w + 3).max(10)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// `docker network ls`: rows sorted by name, in natural order.
pub fn network_ls(networks: &[Network]) -> String {
    let mut sorted: Vec<&Network> = networks.iter().collect();
    // The docker CLI sorts by name in natural order (`sortorder.NaturalLess`, since 18.09):
    // `n9` before `n10`.
    sorted.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let mut rows = vec![vec![
        "NETWORK ID".to_string(),
        "NAME".into(),
        "DRIVER".into(),
        "SCOPE".into(),
    ]];
    for n in sorted {
        rows.push(vec![
            short(&n.id).to_string(),
            n.name.clone(),
            n.driver.name().to_string(),
            "local".into(),
        ]);
    }
    table(&rows)
}

/// Docker's firewall as the kernel holds it, one line per rule: `chain: expressions`
/// and `# comment` when the rule has one (`forward: meta cmp meta cmp immediate  # isolate
/// bridge networks`). Expressions are listed by name only, as `nft --debug=netlink` names
/// them, so the lines show which rules exist and in what order, not their operands.
pub fn nft_rules(rules: &[ListedRule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| {
            let mut line = format!("{}: {}", r.chain, r.exprs.join(" "));
            if let Some(c) = &r.comment {
                line.push_str(&format!("  # {c}"));
            }
            line
        })
        .collect()
}

/// `brctl show`, with bridge-utils' own tab layout: one line per bridge with its first
/// port, further ports on continuation lines. Bridges and ports sorted by name.
pub fn brctl_show(links: &[LinkInfo]) -> String {
    let mut out = String::from("bridge name\tbridge id\t\tSTP enabled\tinterfaces\n");
    let mut bridges: Vec<&LinkInfo> = links.iter().filter(|l| l.kind == "bridge").collect();
    bridges.sort_by(|a, b| a.name.cmp(&b.name));
    for br in bridges {
        let info = br.bridge.clone().unwrap_or_default();
        let id = format!("{:04x}.{}", info.priority, br.mac.replace(':', ""));
        let stp = if info.stp { "yes" } else { "no" };
        let mut ports: Vec<&str> = links
            .iter()
            .filter(|l| l.master_ifindex == Some(br.ifindex))
            .map(|l| l.name.as_str())
            .collect();
        ports.sort_unstable();
        out.push_str(&format!("{}\t\t{id}\t{stp}\t\t", br.name));
        match ports.split_first() {
            Some((first, rest)) => {
                out.push_str(first);
                out.push('\n');
                for p in rest {
                    out.push_str(&format!("\t\t\t\t\t\t\t{p}\n"));
                }
            }
            None => out.push('\n'),
        }
    }
    out
}

/// `docker port`: `8080/tcp -> 0.0.0.0:8081` and `8080/tcp -> [::]:8081` lines (Go's
/// `net.JoinHostPort`), in the docker CLI's natural order (`sortorder.NaturalLess`:
/// digit runs compared as numbers, so `9/tcp` before `80/tcp`).
pub fn port_lines(d: &Docker, c: &Container) -> String {
    let mut lines: Vec<String> = d
        .published_ports(c)
        .iter()
        .flat_map(|p| {
            p.bound.iter().map(move |(a, n)| {
                let addr = std::net::SocketAddr::new(*a, *n);
                format!("{}/{} -> {addr}", p.container_port, p.proto.name())
            })
        })
        .collect();
    lines.sort_by(|a, b| natural_cmp(a, b));
    lines.into_iter().map(|l| l + "\n").collect()
}

/// Natural string order (`github.com/fvbommel/sortorder`'s `NaturalLess`, which the docker
/// CLI sorts `docker port` with): runs of digits compare as numbers, the rest byte by byte.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (x, y) = (&a[si..i], &b[sj..j]);
            let strip = |d: &[u8]| {
                let k = d.iter().position(|c| *c != b'0').unwrap_or(d.len());
                d[k..].to_vec()
            };
            let (tx, ty) = (strip(x), strip(y));
            let o = tx
                .len()
                .cmp(&ty.len())
                .then(tx.cmp(&ty))
                .then(x.len().cmp(&y.len()));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {

    #[test]
    fn nft_rules_one_line_each_with_comments() {
        let rule = |chain: &str, comment: Option<&str>| ListedRule {
            chain: chain.into(),
            exprs: vec!["meta".into(), "cmp".into(), "immediate".into()],
            comment: comment.map(str::to_string),
        };
        assert_eq!(
            nft_rules(&[
                rule("forward", Some("isolate bridge networks")),
                rule("postrouting", None)
            ]),
            [
                "forward: meta cmp immediate  # isolate bridge networks",
                "postrouting: meta cmp immediate"
            ]
        );
    }

    use super::*;
    use crate::model::docker::Docker;

    #[test]
    fn network_ls_is_dockers_table() {
        let d = Docker::new(1, "now");
        let ids: Vec<String> = d
            .networks()
            .iter()
            .map(|n| short(&n.id).to_string())
            .collect();
        assert_eq!(
            network_ls(d.networks()),
            format!(
                "NETWORK ID     NAME      DRIVER    SCOPE\n\
                 {}   bridge    bridge    local\n\
                 {}   host      host      local\n\
                 {}   none      null      local\n",
                ids[0], ids[1], ids[2]
            )
        );
    }

    fn link(ifindex: u32, name: &str, kind: &str, master: Option<u32>) -> LinkInfo {
        LinkInfo {
            ipv6: false,
            ifindex,
            name: name.into(),
            peer_ifindex: None,
            link_netnsid: None,
            flags: 0,
            mtu: 1500,
            qdisc: String::new(),
            operstate: "UP".into(),
            mac: "02:42:8a:bf:39:c1".into(),
            broadcast: String::new(),
            link_type: "ether".into(),
            kind: kind.into(),
            master_ifindex: master,
            master: None,
            group: 0,
            txqlen: 0,
            addrs: Vec::new(),
            bridge: (kind == "bridge").then(crate::kernel::state::BridgeInfo::default),
        }
    }

    #[test]
    fn brctl_show_layout() {
        let links = vec![
            link(3, "docker0", "bridge", None),
            link(19, "vethf6a7340", "veth", Some(3)),
            link(21, "veth0000001", "veth", Some(3)),
            link(32, "br-a19ca8dcfc5a", "bridge", None),
        ];
        assert_eq!(
            brctl_show(&links),
            "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n\
             br-a19ca8dcfc5a\t\t8000.02428abf39c1\tno\t\t\n\
             docker0\t\t8000.02428abf39c1\tno\t\tveth0000001\n\
             \t\t\t\t\t\t\tvethf6a7340\n"
        );
    }
}

/// `docker network ls` with its flags: `-q` only the IDs, `--no-trunc` the full IDs,
/// `--format` a Go template per row (`table …`: with headers; the fields `.ID`, `.Name`,
/// `.Driver`, `.Scope`, `.IPv6`, `.Internal`, `.CreatedAt`, `.Labels`); rows in the CLI's
/// natural name order. Errors: the template's, in Go's words.
pub fn network_ls_with(
    networks: &[&Network],
    quiet: bool,
    no_trunc: bool,
    format: Option<&str>,
) -> Result<String, String> {
    let mut sorted: Vec<&Network> = networks.to_vec();
    sorted.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<serde_json::Value> = sorted
        .iter()
        .map(|n| {
            serde_json::json!({
                "ID": if no_trunc { n.id.as_str() } else { short(&n.id) },
                "Name": n.name,
                "Driver": n.driver.name(),
                "Scope": "local",
                "IPv6": "false",
                "Internal": n.internal.to_string(),
                "CreatedAt": n.created,
                "Labels": "",
            })
        })
        .collect();
    let header = serde_json::json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv6": "IPV6", "Internal": "INTERNAL", "CreatedAt": "CREATED AT", "Labels": "LABELS",
    });
    let format = match (quiet, format) {
        (true, _) => "{{.ID}}",
        (false, Some(f)) => f,
        (false, None) => "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}",
    };
    format_rows(format, &header, &rows)
}

/// The docker CLI's `--format` for its lists: a Go template run per row, `\t` and `\n`
/// written out as tab and newline; `table TEMPLATE` adds a header row (the template run
/// over the column titles) and lays the tab-separated cells out as its tabwriter does.
pub fn format_rows(
    format: &str,
    header: &serde_json::Value,
    rows: &[serde_json::Value],
) -> Result<String, String> {
    let (is_table, t) = match format.strip_prefix("table") {
        Some(rest) => (true, rest),
        None => (false, format),
    };
    let t = t
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    let mut lines = Vec::new();
    if is_table {
        lines.push(crate::front::gotmpl::render(&t, header)?);
    }
    for r in rows {
        lines.push(crate::front::gotmpl::render(&t, r)?);
    }
    if !is_table {
        return Ok(lines.into_iter().map(|l| l + "\n").collect());
    }
    let cells: Vec<Vec<String>> = lines
        .iter()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    Ok(table(&cells))
}

/// Docker's `inspect` output: a JSON array indented by four spaces (no final newline).
pub fn json_array(docs: Vec<serde_json::Value>) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    match serde::Serialize::serialize(&serde_json::Value::Array(docs), &mut ser) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("cannot render JSON: {e}"),
    }
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp as netsh writes them
/// (`2026-11-27T22:45:57.174186187Z`); `None` for anything else.
fn epoch_secs(ts: &str) -> Option<i64> {
    let (date, time) = ts.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.get(..8)?.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `docker ps`'s STATUS: `Up 5 seconds` (since it last started), `Exited (137) 2 minutes
/// ago` (since it ended), `Created` (Docker 20.10's `container.State.String`).
fn status(c: &Container, now: i64) -> String {
    let since = |at: &Option<String>| {
        human_duration(now - at.as_deref().and_then(epoch_secs).unwrap_or(now))
    };
    match c.state {
        State::Created => "Created".into(),
        State::Running => format!("Up {}", since(&c.started_at)),
        State::Exited { code } => format!("Exited ({code}) {} ago", since(&c.finished_at)),
    }
}

/// go-units' `HumanDuration`, as `docker ps` shows ages (`5 seconds`, `About a minute`).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h) = (s / 60, s / 3600);
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if (s + 1800) / 3600 == 1 => "About an hour".into(),
        _ if (s + 1800) / 3600 < 48 => format!("{} hours", (s + 1800) / 3600),
        _ if h < 24 * 7 * 2 => format!("{} days", h / 24),
        _ if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", h / 24 / 365),
    }
}

/// Go's `strconv.Quote` for the printable text Docker shows (quotes and backslashes
/// escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The docker CLI's `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// A container's command as the daemon lists it: the path, then the arguments, each with a
/// space in single quotes (`/bin/sh -c 'while true; do sleep 3600; done'`).
pub fn command_line(c: &Container) -> String {
    let command = c.command();
    std::iter::once(command[0].to_string())
        .chain(command[1..].iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `docker ps`'s PORTS cell: `0.0.0.0:8081->8080/tcp, :::8081->8080/tcp`.
fn ports_cell(d: &Docker, c: &Container) -> String {
    let mut cells: Vec<(u16, String, String)> = d
        .published_ports(c)
        .iter()
        .flat_map(|p| {
            p.bound.iter().map(move |(a, n)| {
                (
                    p.container_port,
                    a.to_string(),
                    format!("{a}:{n}->{}/{}", p.container_port, p.proto.name()),
                )
            })
        })
        .collect();
    cells.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.contains(':').cmp(&b.1.contains(':')))
    });
    cells
        .into_iter()
        .map(|(_, _, s)| s)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `docker ps [-a] [-q] [--no-trunc] [--format T]`: newest first, as the daemon lists
/// them, in Docker's columns (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES;
/// the CLI's default `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}`).
/// `shown` are the containers to list, in order (see `front::docker_exec`'s filters);
/// those only created (`docker create`) show as `Created`. `now` is the
/// current time as RFC 3339, for the ages. Errors: the template's, in Go's words.
pub fn ps(
    d: &Docker,
    shown: &[&Container],
    quiet: bool,
    no_trunc: bool,
    format: Option<&str>,
    now: &str,
) -> Result<String, String> {
    let now = epoch_secs(now).unwrap_or(0);
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .map(|c| {
            let age = human_duration(now - epoch_secs(&c.created).unwrap_or(now));
            let cmd = command_line(c);
            let cmd = if no_trunc { cmd } else { ellipsis(&cmd, 20) };
            let networks: Vec<String> = c
                .networks()
                .filter_map(|e| d.network_by_id(&e.network_id))
                .map(|n| n.name.clone())
                .collect();
            serde_json::json!({
                "ID": if no_trunc { c.id.as_str() } else { short(&c.id) },
                "Image": c.image_name(),
                "Command": go_quote(&cmd),
                "CreatedAt": c.created,
                "RunningFor": format!("{age} ago"),
                "Ports": ports_cell(d, c),
                "Status": status(c, now),
                "State": c.state.name(),
                "Names": c.name,
                "Networks": networks.join(","),
                "Labels": "",
                "Mounts": "",
                "Size": "0B",
            })
        })
        .collect();
    let header = serde_json::json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "State": "STATE",
        "Names": "NAMES", "Networks": "NETWORKS", "Labels": "LABELS", "Mounts": "MOUNTS",
        "Size": "SIZE",
    });
    let format = match (quiet, format) {
        (true, _) => "{{.ID}}",
        (false, Some(f)) => f,
        (false, None) => {
            "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
        }
    };
    format_rows(format, &header, &rows)
}

#[cfg(test)]
mod ps_tests {
    use super::*;

    #[test]
    fn ages_and_commands() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(42), "42 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(epoch_secs("1970-01-02T00:00:01.000000000Z"), Some(86_401));
        assert_eq!(
            epoch_secs("2026-11-27T22:45:57.174186187Z").map(|s| s % 86_400),
            Some(22 * 3600 + 45 * 60 + 57)
        );
        assert_eq!(
            go_quote(&ellipsis(
                "/bin/sh -c 'while true; do sleep 3600; done'",
                20
            )),
            "\"/bin/sh -c 'while t…\""
        );
    }
}
