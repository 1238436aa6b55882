//! Carries out a parsed docker command line ([`super::docker::Command`]) against the lab,
//! through the same `Lab` methods as the bindings (one model, one engine), and answers as
//! the docker CLI does: what it prints on stdout, or what it prints on stderr with its exit
//! status.

use std::time::Duration;

use serde_json::Value;

use super::docker::{CliError, Command, RunArgs};
use super::gotmpl;
use crate::lab::lifecycle::image_argv;
use crate::lab::{Lab, LabError};
use crate::model::docker::{AttachSpec, DnsConfig, NetworkSpec, RunExtras, State};
use crate::render;
use crate::render::inspect;

/// A failed command: the CLI's stderr (without its final newline), its exit status, and
/// what it had printed on stdout before failing (`rm a nope` prints `a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: i32,
    pub stderr: String,
    pub stdout: String,
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Failure {
        Failure {
            status: e.status,
            stderr: e.message,
            stdout: String::new(),
        }
    }
}

/// What a command may wait for.
pub struct Context {
    /// How long `exec` (and `run` without `-d`) may let the program run.
    pub exec_timeout: Duration,
}

fn daemon(e: LabError) -> Failure {
    Failure {
        status: 1,
        stderr: e.to_string(),
        stdout: String::new(),
    }
}

/// The CLI's `wrapResponseError` for a 404: `Error: No such container: x` rather than the
/// daemon's sentence (`docker rm`, `exec`, `port`, `network rm`, `network inspect`).
fn not_found(e: LabError, object: &str) -> Failure {
    if let LabError::Docker(msg) = &e {
        if let Some(id) = msg.strip_prefix("No such container: ") {
            if object == "container" {
                return failure(1, format!("Error: No such container: {id}"));
            }
        }
        if let Some(rest) = msg.strip_prefix("network ") {
            if let Some(id) = rest.strip_suffix(" not found") {
                if object == "network" {
                    return failure(1, format!("Error: No such network: {id}"));
                }
            }
        }
    }
    daemon(e)
}

fn failure(status: i32, stderr: String) -> Failure {
    Failure {
        status,
        stderr,
        stdout: String::new(),
    }
}

/// `docker run`/`create` errors: `docker: <message>.` and the help hint, status 125
/// (the CLI's `reportError` and `cli.StatusError{StatusCode: 125}`).
fn run_error(path: &str, e: LabError) -> Failure {
    let text = e.to_string();
    let text = text.trim_end_matches('.');
    failure(125, format!("docker: {text}.\nSee 'docker {path} --help'."))
}

/// Runs one docker command line (without the leading `docker`). `Ok` is Docker's stdout.
pub fn run_line(lab: &Lab, line: &str, ctx: &Context) -> Result<String, Failure> {
    let cmd = super::docker::parse(line)?;
    execute(lab, &cmd, ctx)
}

/// Carries out a parsed command.
pub fn execute(lab: &Lab, cmd: &Command, ctx: &Context) -> Result<String, Failure> {
    // Containers whose command ended meanwhile have exited: every answer says so.
    lab.settle_containers();
    match cmd {
        Command::NetworkLs {
            quiet,
            no_trunc,
            filters,
            format,
        } => {
            let d = lab.docker();
            let keep = filter_networks(d.networks(), filters)?;
            render::docker::network_ls_with(&keep, *quiet, *no_trunc, format.as_deref())
                .map_err(|e| failure(1, e))
        }
        Command::Pull { image } => pull(image),
        Command::Help(text) => Ok(text.clone()),
        Command::NetworkPrune { force } => {
            // The CLI asks first; docker() has no input to answer with, so without -f the
            // answer is the default, No (the CLI's `PromptForConfirmation` on end of input).
            if !force {
                return Ok("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ".into());
            }
            let unused: Vec<String> = {
                let d = lab.docker();
                d.networks()
                    .iter()
                    .filter(|n| n.user_defined() && d.members(&n.id).is_empty())
                    .map(|n| n.name.clone())
                    .collect()
            };
            let mut deleted = Vec::new();
            for name in unused {
                lab.remove_network(&name).map_err(daemon)?;
                deleted.push(name);
            }
            if deleted.is_empty() {
                return Ok(String::new());
            }
            Ok(format!("Deleted Networks:\n{}\n\n", deleted.join("\n")))
        }
        Command::NetworkCreate {
            name,
            driver,
            subnet,
            gateway,
            internal,
            ip_range,
            aux,
            labels,
            options,
        } => {
            let spec = NetworkSpec {
                driver: driver.clone(),
                subnet: subnet.clone(),
                gateway: gateway.clone(),
                internal: *internal,
                ip_range: ip_range.clone(),
                aux: aux.clone(),
                labels: labels.clone(),
                options: options.clone(),
            };
            let n = lab.create_network(name, &spec).map_err(daemon)?;
            Ok(format!("{}\n", n.id))
        }
        Command::NetworkInspect { names, format } => {
            let mut docs = Vec::new();
            let mut errors = Vec::new();
            {
                let d = lab.docker();
                for name in names {
                    match d.network(name) {
                        Ok(n) => docs.push(inspect::network(&d, n)),
                        Err(_) => errors.push(format!("Error: No such network: {name}")),
                    }
                }
            }
            inspect_output(docs, format.as_deref(), errors)
        }
        Command::NetworkConnect {
            network,
            container,
            ip,
            aliases,
            links,
        } => {
            let spec = AttachSpec {
                ip: ip.clone(),
                aliases: aliases.clone(),
            };
            lab.connect_linked(container, network, &spec, links)
                .map_err(daemon)?;
            Ok(String::new())
        }
        Command::NetworkDisconnect { network, container } => {
            lab.disconnect(container, network).map_err(daemon)?;
            Ok(String::new())
        }
        Command::NetworkRm { names } => each(names, |n| {
            lab.remove_network(n).map_err(|e| not_found(e, "network"))
        }),
        Command::Run(r) => run(lab, r, false, ctx),
        Command::Create(r) => run(lab, r, true, ctx),
        Command::Rm { force, names } => each(names, |n| {
            // Docker 20.10 refuses to remove a running container without -f.
            if !force {
                let d = lab.docker();
                let c = d
                    .container(n)
                    .map_err(|e| not_found(e.into(), "container"))?;
                if c.state == State::Running {
                    return Err(failure(1, format!(
                        "Error response from daemon: You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                        c.id
                    )));
                }
            }
            lab.remove_container(n)
                .map_err(|e| not_found(e, "container"))
        }),
        Command::Start { names } => {
            let mut failed = Vec::new();
            let start = |n: &str| -> Result<(), Failure> {
                lab.start_container(n).map_err(daemon)?;
                Ok(())
            };
            let out = each(names, |n| {
                start(n).inspect_err(|_| failed.push(n.to_string()))
            });
            // The CLI sums up after the daemon's errors: `Error: failed to start
            // containers: a, b`.
            out.map_err(|mut f| {
                f.stderr.push_str(&format!(
                    "\nError: failed to start containers: {}",
                    failed.join(", ")
                ));
                f
            })
        }
        Command::Stop { time, names } => each(names, |n| {
            lab.stop_container(n, stop_timeout(*time))
                .map(|_| ())
                .map_err(daemon)
        }),
        Command::Restart { time, names } => each(names, |n| {
            lab.restart_container(n, stop_timeout(*time))
                .map(|_| ())
                .map_err(daemon)
        }),
        Command::Kill { names } => each(names, |n| lab.kill_container(n).map_err(daemon)),
        Command::Logs { container, tail } => {
            let log = lab
                .container_log(container)
                .map_err(|e| not_found(e, "container"))?;
            Ok(match tail {
                None => log,
                Some(n) => {
                    let lines: Vec<&str> = log.split_inclusive('\n').collect();
                    lines[lines.len().saturating_sub(*n)..].concat()
                }
            })
        }
        Command::Rename {
            container,
            new_name,
        } => {
            lab.rename_container(container, new_name).map_err(daemon)?;
            Ok(String::new())
        }
        Command::Exec {
            detach,
            container,
            argv,
            env,
        } => {
            let image = lab
                .docker()
                .container(container)
                .map_err(|e| not_found(e.into(), "container"))?
                .image
                .clone();
            // A container that does not run: `Container <id> is not running`.
            let mut who = lab.container_who(container).map_err(daemon)?;
            who.env = env.clone();
            let prog = argv[0].clone();
            let refused = |e: LabError| not_started(&e, &prog, true).unwrap_or_else(|| daemon(e));
            let argv = &image_argv(&image, argv);
            if *detach {
                lab.exec_detached(&who, argv).map_err(refused)?;
                return Ok(String::new());
            }
            program_result(lab.exec(&who, argv, ctx.exec_timeout).map_err(refused)?)
        }
        Command::Inspect {
            format,
            names,
            kind,
        } => {
            let mut docs = Vec::new();
            let mut errors = Vec::new();
            let (containers, networks) = match kind.as_deref() {
                Some("container") => (true, false),
                Some("network") => (false, true),
                _ => (true, true),
            };
            {
                let d = lab.docker();
                for name in names {
                    // Like `docker inspect`: containers first, then networks.
                    match (d.container(name), d.network(name)) {
                        (Ok(c), _) if containers => docs.push(inspect::container(&d, c)),
                        (_, Ok(n)) if networks => docs.push(inspect::network(&d, n)),
                        _ => errors.push(match kind.as_deref() {
                            Some(k) => format!("Error: No such {k}: {name}"),
                            None => format!("Error: No such object: {name}"),
                        }),
                    }
                }
            }
            inspect_output(docs, format.as_deref(), errors)
        }
        Command::Ps {
            all,
            quiet,
            no_trunc,
            format,
            filters,
        } => {
            let d = lab.docker();
            let shown = filter_containers(&d, *all, filters)?;
            let now = crate::lab::clock::now_rfc3339();
            render::docker::ps(&d, &shown, *quiet, *no_trunc, format.as_deref(), &now)
                .map_err(|e| failure(1, e))
        }
        Command::Port { container, private } => {
            let d = lab.docker();
            let c = d
                .container(container)
                .map_err(|e| not_found(e.into(), "container"))?;
            let lines = render::docker::port_lines(&d, c);
            let Some(private) = private else {
                return Ok(lines);
            };
            let (port, proto) = private.split_once('/').unwrap_or((private, "tcp"));
            let prefix = format!("{port}/{proto} -> ");
            let picked: String = lines
                .lines()
                .filter_map(|l| l.strip_prefix(&prefix))
                .map(|a| format!("{a}\n"))
                .collect();
            if picked.is_empty() {
                return Err(failure(
                    1,
                    format!("Error: No public port '{port}/{proto}' published for {container}"),
                ));
            }
            Ok(picked)
        }
    }
}

/// `docker pull IMAGE`: netsh never pulls (a container's programs come from the machine),
/// so every well-formed reference is "up to date". The reference is checked as the
/// docker CLI's `reference.ParseNormalizedNamed` does, in its words (`invalid reference
/// format`, `invalid reference format: repository name must be lowercase`).
fn pull(image: &str) -> Result<String, Failure> {
    let (name, tag) =
        super::docker::check_reference(image).map_err(|why| failure(1, why.into()))?;
    let full = if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let default = if image.contains([':', '@']) {
        ""
    } else {
        "Using default tag: latest\n"
    };
    Ok(format!(
        "{default}Status: Image is up to date for {name}{tag}\n{full}{tag}\n"
    ))
}

/// `docker rm a b`, `docker network rm a b`: each in turn, its name printed when done,
/// every failure reported, status 1 when any failed.
fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> Result<(), Failure>,
) -> Result<String, Failure> {
    let mut out = String::new();
    let mut errors = Vec::new();
    for n in names {
        match f(n) {
            Ok(()) => out.push_str(&format!("{n}\n")),
            Err(e) => errors.push(e.stderr),
        }
    }
    partial(out, errors)
}

/// What a command over several objects answers: its stdout when every object went well,
/// else a failure (status 1) with every object's error and what it printed for the others.
fn partial(out: String, errors: Vec<String>) -> Result<String, Failure> {
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Failure {
            status: 1,
            stderr: errors.join("\n"),
            stdout: out,
        })
    }
}

/// `inspect` output: the documents as Docker's indented JSON array, or each through the
/// `-f` template (one line each); missing objects reported after, status 1.
fn inspect_output(
    docs: Vec<Value>,
    format: Option<&str>,
    errors: Vec<String>,
) -> Result<String, Failure> {
    let out = match format {
        None => {
            if docs.is_empty() && !errors.is_empty() {
                "[]\n".to_string()
            } else {
                render::docker::json_array(docs) + "\n"
            }
        }
        Some(t) => {
            let mut out = String::new();
            for doc in &docs {
                let line = gotmpl::render(t, doc).map_err(|e| failure(1, e))?;
                out.push_str(&line);
                out.push('\n');
            }
            out
        }
    };
    partial(out, errors)
}

/// `network ls --filter`: the daemon's filters (`name` substring, `id` prefix, `driver`,
/// `type=custom|builtin`, `label=KEY` — the network has that label — or `label=KEY=VALUE`
/// — with that value); the same key given twice is an OR, different keys an AND.
fn filter_networks<'a>(
    all: &'a [crate::model::docker::Network],
    filters: &[(String, String)],
) -> Result<Vec<&'a crate::model::docker::Network>, Failure> {
    for (k, v) in filters {
        match k.as_str() {
            "name" | "id" | "driver" | "label" => {}
            "type" if v == "custom" || v == "builtin" => {}
            "type" => return Err(invalid_filter(format!(": 'type'='{v}'"))),
            other => return Err(invalid_filter(format!(" '{other}'"))),
        }
    }
    Ok(all
        .iter()
        .filter(|n| {
            passes(filters, |key, v| match key {
                "name" => n.name.contains(v),
                "id" => n.id.starts_with(v),
                "driver" => n.driver.name() == v,
                "label" => n.labels.iter().any(|(k, val)| match v.split_once('=') {
                    Some((key, want)) => k == key && val == want,
                    None => k == v,
                }),
                _ => (v == "builtin") == n.predefined(),
            })
        })
        .collect())
}

/// The daemon's filter semantics (`filters.Args`): values of one key are alternatives,
/// different keys must all hold. `hit(key, value)` says whether one value matches.
fn passes(filters: &[(String, String)], hit: impl Fn(&str, &str) -> bool) -> bool {
    filters.iter().all(|(key, _)| {
        filters
            .iter()
            .filter(|(k, _)| k == key)
            .any(|(_, v)| hit(key, v))
    })
}

/// `Error response from daemon: Invalid filter …` (status 1).
fn invalid_filter(what: String) -> Failure {
    failure(
        1,
        format!("Error response from daemon: Invalid filter{what}"),
    )
}

/// The containers `docker ps` lists: started ones (every one with `-a`), newest first,
/// through the daemon's filters — `name` (substring), `id` (prefix), `network` (name or
/// ID), `ancestor` (the image as named), `status` (`running`, `created`; a status given
/// implies `-a`, as the daemon does); the same key twice is an OR, different keys an AND.
fn filter_containers<'a>(
    d: &'a crate::model::docker::Docker,
    all: bool,
    filters: &[(String, String)],
) -> Result<Vec<&'a crate::model::docker::Container>, Failure> {
    const STATUSES: [&str; 7] = [
        "created",
        "restarting",
        "running",
        "removing",
        "paused",
        "exited",
        "dead",
    ];
    for (k, v) in filters {
        match k.as_str() {
            "name" | "id" | "network" | "ancestor" => {}
            "status" if STATUSES.contains(&v.as_str()) => {}
            "status" => return Err(invalid_filter(format!(" 'status={v}'"))),
            other => return Err(invalid_filter(format!(" '{other}'"))),
        }
    }
    let all = all || filters.iter().any(|(k, _)| k == "status");
    Ok(d.containers()
        .iter()
        .rev()
        .filter(|c| all || c.state == State::Running)
        .filter(|c| {
            passes(filters, |key, v| match key {
                "name" => c.name.contains(v),
                "id" => c.id.starts_with(v),
                "network" => c.networks().any(|e| {
                    d.network_by_id(&e.network_id)
                        .is_some_and(|n| n.name == v || n.id.starts_with(v))
                }),
                "ancestor" => c.image == v,
                _ => c.state.name() == v,
            })
        })
        .collect())
}

/// `docker stop`'s and `restart`'s `-t`: seconds to wait after SIGTERM (10 by default,
/// Docker's `defaultStopTimeout`).
fn stop_timeout(time: Option<u64>) -> Duration {
    Duration::from_secs(time.unwrap_or(10))
}

fn run(lab: &Lab, r: &RunArgs, create_only: bool, ctx: &Context) -> Result<String, Failure> {
    let path = if create_only { "create" } else { "run" };
    // Docker names an unnamed container with two random words; netsh draws a name the
    // same shape from the container's place in the lab.
    let name = match &r.name {
        Some(n) => n.clone(),
        None => unnamed(lab),
    };
    let network = r.network.clone().unwrap_or_else(|| "bridge".into());
    if let Some(h) = &r.hostname {
        // The daemon's `ErrConflictNetworkHostname`: a container sharing another's namespace
        // has that one's hostname.
        if network.starts_with("container:") {
            return Err(failure(
                125,
                format!("docker: Error response from daemon: conflicting options: hostname and the network mode.\nSee 'docker {path} --help'."),
            ));
        }
        check_hostname(h).map_err(|why| {
            failure(
                125,
                format!("docker: invalid hostname \"{h}\": {why}.\nSee 'docker {path} --help'."),
            )
        })?;
    }
    let attach = AttachSpec {
        ip: r.ip.clone(),
        aliases: r.aliases.clone(),
    };
    // `-P`: the image's exposed ports (netsh's images expose none) and `--expose`d ones,
    // each on a host port the allocator picks (as `-p PORT` does). `--expose` alone only
    // documents the port.
    let mut publish = r.publish.clone();
    if r.publish_all {
        publish.extend(r.expose.iter().cloned());
    }
    let extras = RunExtras {
        auto_remove: r.rm,
        links: r.links.clone(),
        publish,
        image: r.image.clone(),
        cmd: r.cmd.clone(),
        create_only,
        hostname: r.hostname.clone(),
        env: r.env.clone(),
        extra_hosts: r.add_hosts.clone(),
        dns: DnsConfig {
            servers: r.dns.clone(),
            search: r.dns_search.clone(),
            options: r.dns_options.clone(),
        },
    };
    let c = lab
        .run_container(&name, &network, &attach, &extras)
        .map_err(|e| run_error(path, e))?;
    if create_only || (r.detach && r.cmd.is_empty()) {
        // Without a command the container idles until stopped, as `run -itd busybox`.
        return Ok(format!("{}\n", c.id));
    }
    let argv = &image_argv(&r.image, &r.cmd);
    if r.detach {
        if let Err(e) = lab.start_main(&c, argv) {
            return Err(unstarted(lab, &c.id, e));
        }
        return Ok(format!("{}\n", c.id));
    }
    // Attached: `run` waits for the command and prints what it printed; then the container
    // has exited with its code (and `--rm` removes it). Without a command, the image's own
    // is not known (images are not pulled): nothing runs, as for a command that ends at
    // once with nothing to say.
    let out = if r.cmd.is_empty() {
        None
    } else {
        let who = lab.container_who(&c.id).map_err(|e| run_error(path, e))?;
        match lab.exec(&who, argv, ctx.exec_timeout) {
            Ok(out) => Some(out),
            Err(e) => return Err(unstarted(lab, &c.id, e)),
        }
    };
    if let Some(out) = &out {
        lab.append_log(&c.id, &format!("{}{}", out.stdout, out.stderr));
    }
    let code = out.as_ref().map_or(0, |o| o.code);
    // With `--rm` the container goes as it ends.
    lab.main_ended(&c.id, code)
        .map_err(|e| run_error(path, e))?;
    match out {
        Some(out) => program_result(out),
        None => Ok(String::new()),
    }
}

/// `run` whose command could not start: nothing stays half-built (Docker 20.10 would leave
/// the container `Created`; netsh removes it), and the error in Docker's words (127 for a
/// program that is not there, else 125).
fn unstarted(lab: &Lab, id: &str, e: LabError) -> Failure {
    let prog = lab
        .docker()
        .container(id)
        .ok()
        .and_then(|c| c.cmd.first().cloned())
        .unwrap_or_default();
    let f = not_started(&e, &prog, false).unwrap_or_else(|| run_error("run", e));
    if let Err(rm) = lab.remove_container(id) {
        let mut f = f;
        f.stderr
            .push_str(&format!("\nand the container could not be removed: {rm}"));
        return f;
    }
    f
}

/// A program that cannot start, as Docker 20.10's runtime says it: for `run` (`exec` false)
/// `docker: Error response from daemon: OCI runtime create failed: …` with status 127, for
/// `exec` `OCI runtime exec failed: …` with status 126. Other errors: `None`.
fn not_started(e: &LabError, prog: &str, exec: bool) -> Option<Failure> {
    let text = e.to_string();
    let cause = if text.ends_with("not found in PATH") {
        format!("exec: \"{prog}\": executable file not found in $PATH")
    } else if text.ends_with("no such file in the container") {
        format!("exec: \"{prog}\": stat {prog}: no such file or directory")
    } else {
        return None;
    };
    let caused =
        format!("container_linux.go:380: starting container process caused: {cause}: unknown");
    Some(if exec {
        failure(
            126,
            format!("OCI runtime exec failed: exec failed: {caused}"),
        )
    } else {
        failure(
            127,
            format!("docker: Error response from daemon: OCI runtime create failed: {caused}."),
        )
    })
}

/// A program's end as `docker exec` and attached `docker run` report it: its stdout, or a
/// failure with its exit code as the status.
fn program_result(out: crate::kernel::process::ExecOutput) -> Result<String, Failure> {
    if out.code == 0 {
        Ok(out.stdout)
    } else {
        Err(Failure {
            status: out.code,
            stderr: out.stderr.trim_end_matches('\n').to_string(),
            stdout: out.stdout,
        })
    }
}

/// A hostname the kernel and resolvers take (RFC 1123 labels: letters, digits, `-`, not
/// at a label's ends; at most 63 bytes a label and 64 in all, the kernel's limit). Docker
/// 20.10 takes more and fails later at `sethostname`; netsh refuses first, in its own words.
fn check_hostname(h: &str) -> Result<(), &'static str> {
    if h.is_empty() || h.len() > 64 {
        return Err("a hostname has 1 to 64 characters");
    }
    let ok_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if h.split('.').all(ok_label) {
        Ok(())
    } else {
        Err("each dot-separated label has letters, digits and inner dashes only")
    }
}

/// A free name for an unnamed container, Docker's `adjective_surname` shape.
fn unnamed(lab: &Lab) -> String {
    const LEFT: &[&str] = &[
        "admiring", "brave", "clever", "eager", "gifted", "happy", "keen", "quirky",
    ];
    const RIGHT: &[&str] = &[
        "bell", "curie", "darwin", "euler", "hopper", "lovelace", "noether", "turing",
    ];
    let d = lab.docker();
    let taken = |n: &str| d.containers().iter().any(|c| c.name == n);
    let mut i = d.containers().len();
    loop {
        let base = format!(
            "{}_{}",
            LEFT[i % LEFT.len()],
            RIGHT[(i / LEFT.len()) % RIGHT.len()]
        );
        let name = if i < LEFT.len() * RIGHT.len() {
            base
        } else {
            format!("{base}{}", i / (LEFT.len() * RIGHT.len()))
        };
        if !taken(&name) {
            return name;
        }
        i += 1;
    }
}
