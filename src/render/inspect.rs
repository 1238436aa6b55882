//! `docker network inspect` and `docker inspect` documents, with Docker's field names and
//! order. (Docker marshals Go maps with sorted keys, so `Containers`, `Networks` and
//! `Options` are sorted too.)

use serde_json::{json, Map, Value};

use crate::model::docker::ids::short;
use crate::model::docker::{
    allocation_order, Container, Docker, Endpoint, NetMode, Network, PortBinding, State,
};

fn sorted(mut entries: Vec<(String, Value)>) -> Value {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect::<Map<String, Value>>())
}

fn cidr(e: &Endpoint) -> String {
    e.ip.map(|(ip, len)| format!("{ip}/{len}"))
        .unwrap_or_default()
}

/// One element of `docker network inspect NAME`.
pub fn network(docker: &Docker, n: &Network) -> Value {
    let containers = docker
        .members(&n.id)
        .into_iter()
        .map(|(c, e)| {
            (
                c.id.clone(),
                json!({
                    "Name": c.name,
                    "EndpointID": e.id,
                    "MacAddress": e.mac.clone().unwrap_or_default(),
                    "IPv4Address": cidr(e),
                    "IPv6Address": "",
                }),
            )
        })
        .collect();
    // The user's configuration as given when there is one (no Gateway unless given; Go's
    // `omitempty` leaves out what was not), otherwise what IPAM allocated.
    let config = match (&n.user_config, &n.pool) {
        (Some(u), _) => {
            let mut entry = Map::new();
            entry.insert("Subnet".into(), json!(u.subnet));
            if let Some(r) = &u.ip_range {
                entry.insert("IPRange".into(), json!(r));
            }
            if let Some(g) = u.gateway {
                entry.insert("Gateway".into(), json!(g.to_string()));
            }
            if !u.aux.is_empty() {
                entry.insert(
                    "AuxiliaryAddresses".into(),
                    sorted(u.aux.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
                );
            }
            json!([Value::Object(entry)])
        }
        (None, Some(p)) => {
            json!([{ "Subnet": p.subnet.to_string(), "Gateway": p.gateway.to_string() }])
        }
        (None, None) => json!([]),
    };
    let ipam_options = if n.user_defined_bridge() {
        json!({})
    } else {
        Value::Null
    };
    // The driver's own (the default bridge's), then the options given at creation.
    let options = sorted(
        n.driver
            .inspect_options(n)
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .chain(n.options.iter().map(|(k, v)| (k.clone(), json!(v))))
            .collect(),
    );
    let labels = sorted(
        n.labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect(),
    );
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver.name(),
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": ipam_options, "Config": config },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": sorted(containers),
        "Options": options,
        "Labels": labels,
    })
}

/// One entry of a container's `NetworkSettings.Networks`.
fn endpoint(n: &Network, e: &Endpoint) -> Value {
    let ipam_config = match (e.fixed_ip, e.at_run) {
        (Some(ip), _) => json!({ "IPv4Address": ip.to_string() }),
        (None, true) => Value::Null,
        (None, false) => json!({}),
    };
    let aliases = if n.user_defined_bridge() {
        json!(e.aliases)
    } else {
        Value::Null
    };
    let driver_opts = if e.at_run { Value::Null } else { json!({}) };
    json!({
        "IPAMConfig": ipam_config,
        "Links": if e.links.is_empty() { Value::Null } else { json!(e.links) },
        "Aliases": aliases,
        "MacAddress": e.mac.clone().unwrap_or_default(),
        "DriverOpts": driver_opts,
        "GwPriority": 0,
        "NetworkID": n.id,
        "EndpointID": e.id,
        "Gateway": e.gateway.map(|g| g.to_string()).unwrap_or_default(),
        "IPAddress": e.ip.map(|(ip, _)| ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": e.ip.map(|(_, len)| len).unwrap_or(0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    })
}

/// `NetworkSettings` of `docker inspect CONTAINER`.
pub fn network_settings(docker: &Docker, c: &Container) -> Value {
    let shares = matches!(c.mode, NetMode::Container(_));
    let networks: Vec<(String, Value)> = if shares {
        Vec::new()
    } else {
        c.networks()
            .filter_map(|e| {
                let n = docker.network_by_id(&e.network_id)?;
                let mut v = endpoint(n, e);
                if c.state == State::Created {
                    // Not connected yet: Docker fills the ID in when it first starts.
                    v["NetworkID"] = json!("");
                }
                Some((n.name.clone(), v))
            })
            .collect()
    };
    // The top-level fields mirror the endpoint on the default bridge network, if any.
    let default = c.endpoints.iter().find(|e| {
        docker
            .network_by_id(&e.network_id)
            .is_some_and(|n| n.default_bridge)
    });
    let (sandbox_id, sandbox_key) = if shares || c.state != State::Running {
        (String::new(), String::new())
    } else {
        (
            c.sandbox_id.clone(),
            format!("/var/run/docker/netns/{}", short(&c.sandbox_id)),
        )
    };
    json!({
        "Bridge": "",
        "SandboxID": sandbox_id,
        "SandboxKey": sandbox_key,
        "Ports": ports(docker, c, false),
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": default.map(|e| e.id.clone()).unwrap_or_default(),
        "Gateway": default.and_then(|e| e.gateway).map(|g| g.to_string()).unwrap_or_default(),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": default.and_then(|e| e.ip).map(|(ip, _)| ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": default.and_then(|e| e.ip).map(|(_, l)| l).unwrap_or(0),
        "IPv6Gateway": "",
        "MacAddress": default.and_then(|e| e.mac.clone()).unwrap_or_default(),
        "Networks": sorted(networks),
    })
}

/// `{"8080/tcp": [{"HostIp": …, "HostPort": "8081"}]}`. `NetworkSettings.Ports` shows what
/// was bound, in the order Docker allocated it (see [`allocation_order`]): an
/// unspecified host IP as `0.0.0.0` then `::`; `HostConfig.PortBindings` shows what was asked,
/// in the order asked, `""` for all addresses. (Docker 20.10.24: `-p 8192:80 -p 8190:80 -p
/// 127.0.0.2:8193:80` gives Ports `[127.0.0.2:8193, 0.0.0.0:8190, :::8190, 0.0.0.0:8192,
/// :::8192]`.)
fn ports(docker: &Docker, c: &Container, asked: bool) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    let mut add = |key: String, binding: Value| match entries.iter_mut().find(|(k, _)| *k == key) {
        Some((_, Value::Array(list))) => list.push(binding),
        _ => entries.push((key, json!([binding]))),
    };
    let key = |p: &PortBinding| format!("{}/{}", p.container_port, p.proto.name());
    if asked {
        for p in &c.ports {
            let ip = p.host_ip.map(|i| i.to_string()).unwrap_or_default();
            let port = match p.host_port {
                0 => String::new(),
                n if p.host_range() => format!("{n}-{}", p.host_port_end),
                n => n.to_string(),
            };
            add(key(p), json!({ "HostIp": ip, "HostPort": port }));
        }
    } else if !docker.external(c) && c.endpoints.iter().any(|e| e.ip.is_some()) {
        // On internal networks only, nothing is bound: the endpoint lists its ports as
        // exposed, each with no binding (`"8080/tcp": null`).
        for p in &c.ports {
            if !entries.iter().any(|(k, _)| *k == key(p)) {
                entries.push((key(p), Value::Null));
            }
        }
    } else {
        for p in allocation_order(docker.published_ports(c)) {
            for (a, n) in &p.bound {
                add(
                    key(p),
                    json!({ "HostIp": a.to_string(), "HostPort": n.to_string() }),
                );
            }
        }
    }
    sorted(entries)
}

/// `HostConfig.Links`: `["/bb1:/bb2/bb1"]`, or null.
fn links(docker: &Docker, c: &Container) -> Value {
    if c.links.is_empty() {
        return Value::Null;
    }
    let list: Vec<String> = c
        .links
        .iter()
        .filter_map(|(id, alias, _)| {
            let t = docker.containers().iter().find(|x| &x.id == id)?;
            Some(format!("/{}:/{}/{}", t.name, c.name, alias))
        })
        .collect();
    json!(list)
}

/// `State` of `docker inspect CONTAINER`: Docker's zero time for what has not happened yet.
fn state(c: &Container) -> Value {
    const NEVER: &str = "0001-01-01T00:00:00Z";
    let code = match c.state {
        State::Exited { code } => code,
        _ => 0,
    };
    json!({
        "Status": c.state.name(),
        "Running": c.state == State::Running,
        "Paused": false,
        "Restarting": false,
        "OOMKilled": false,
        "Dead": false,
        "ExitCode": code,
        "Error": "",
        "StartedAt": c.started_at.as_deref().unwrap_or(NEVER),
        "FinishedAt": c.finished_at.as_deref().unwrap_or(NEVER),
    })
}

/// One element of `docker inspect CONTAINER`.
pub fn container(docker: &Docker, c: &Container) -> Value {
    let hostname = docker.namespace_owner(c).hostname().to_string();
    let host_mode = c.mode == NetMode::Host
        || c.endpoints.iter().any(|e| {
            docker
                .network_by_id(&e.network_id)
                .is_some_and(|n| n.driver.shares_host_namespace())
        });
    json!({
        "Id": c.id,
        "Created": c.created,
        "Path": c.command()[0],
        "Args": c.command()[1..],
        "State": state(c),
        "Name": format!("/{}", c.name),
        "RestartCount": 0,
        "Driver": "netsh",
        "HostConfig": {
            "NetworkMode": c.network_mode,
            "PortBindings": ports(docker, c, true),
            "Dns": c.dns.servers,
            "DnsOptions": c.dns.options,
            "DnsSearch": c.dns.search,
            "ExtraHosts": if c.extra_hosts.is_empty() {
                Value::Null
            } else {
                json!(c.extra_hosts.iter().map(|(n, ip)| format!("{n}:{ip}")).collect::<Vec<_>>())
            },
            "Links": links(docker, c),
        },
        "Config": {
            "Hostname": if host_mode { String::new() } else { hostname },
            "Domainname": "",
            "Env": c.env,
            "Cmd": c.command(),
            "Image": c.image_name(),
        },
        "NetworkSettings": network_settings(docker, c),
    })
}
