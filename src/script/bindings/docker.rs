//! Docker's commands as functions: `network("bridge2")`, `run("bb", "bridge2")`,
//! `connect`, `disconnect`, `rename`, `rm`, `network_rm`, and the views `network_ls()`,
//! `network_inspect(n)`, `docker_inspect(c)`, `inspect(name)`, `brctl_show()`.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, Map};
use serde_json::Value;

use super::{lab_err, str_opt, Res};
use crate::kernel::HOST;
use crate::lab::Lab;
use crate::model::docker::ids::short;
use crate::model::docker::{AttachSpec, NetworkSpec, RunExtras};
use crate::render;
use crate::render::inspect;
use crate::script::diagnostic::runtime;

/// A container, as scripts hold it (by ID: it stays valid if names are reused).
#[derive(Clone)]
pub struct ContainerRef {
    pub lab: Rc<Lab>,
    pub id: String,
}

/// A Docker network, as scripts hold it.
#[derive(Clone)]
pub struct NetworkRef {
    pub lab: Rc<Lab>,
    pub id: String,
}

/// A container argument: a container object or a name/ID.
pub fn container_key(value: &Dynamic) -> Res<String> {
    if let Some(c) = value.read_lock::<ContainerRef>() {
        return Ok(c.id.clone());
    }
    if value.is_string() {
        return Ok(value.to_string());
    }
    Err(runtime(format!(
        "expected a container (a container object or its name), got {}",
        crate::script::diagnostic::type_words(value.type_name())
    )))
}

fn network_key(value: &Dynamic) -> Res<String> {
    if let Some(n) = value.read_lock::<NetworkRef>() {
        return Ok(n.id.clone());
    }
    if value.is_string() {
        return Ok(value.to_string());
    }
    Err(runtime(format!(
        "expected a network (a network object or its name), got {}",
        crate::script::diagnostic::type_words(value.type_name())
    )))
}

/// An option holding a list of strings; a single string is a list of one.
fn strings(map: &Map, key: &str, example: &str) -> Res<Vec<String>> {
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(v) if v.is_string() => Ok(vec![v.to_string()]),
        Some(v) => {
            let arr = v
                .clone()
                .into_typed_array::<rhai::ImmutableString>()
                .map_err(|_| {
                    runtime(format!(
                        "option \"{key}\" must be an array of strings, e.g. {example}"
                    ))
                })?;
            Ok(arr.into_iter().map(|s| s.to_string()).collect())
        }
    }
}

fn check_keys(map: &Map, allowed: &[&str], what: &str) -> Res<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(runtime(format!(
            "unknown {what} option \"{k}\" (expected {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn aliases(map: &Map) -> Res<Vec<String>> {
    match map.get("aliases") {
        None => Ok(Vec::new()),
        Some(v) => {
            let arr = v
                .clone()
                .into_typed_array::<rhai::ImmutableString>()
                .map_err(|_| {
                    runtime("option \"aliases\" must be an array of strings, e.g. [\"db\"]")
                })?;
            Ok(arr.into_iter().map(|s| s.to_string()).collect())
        }
    }
}

fn attach_spec(map: &Map, what: &str) -> Res<AttachSpec> {
    Ok(AttachSpec {
        ip: str_opt(map, "ip", what)?,
        aliases: aliases(map)?,
    })
}

fn network_spec(map: &Map) -> Res<NetworkSpec> {
    check_keys(map, &["driver", "subnet", "gateway", "internal"], "network")?;
    let internal = match map.get("internal") {
        None => false,
        Some(v) => v.as_bool().map_err(|t| {
            runtime(format!(
                "network option \"internal\" must be a bool, got {}",
                crate::script::diagnostic::type_words(t)
            ))
        })?,
    };
    Ok(NetworkSpec {
        driver: str_opt(map, "driver", "network")?,
        subnet: str_opt(map, "subnet", "network")?,
        gateway: str_opt(map, "gateway", "network")?,
        internal,
        ..NetworkSpec::default()
    })
}

/// serde_json → Rhai, for `inspect()`.
fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::Number(n) => n
            .as_i64()
            .map(Dynamic::from)
            .unwrap_or_else(|| Dynamic::from(n.as_f64().unwrap_or_default())),
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(a) => Dynamic::from(a.iter().map(to_dynamic).collect::<Array>()),
        Value::Object(o) => Dynamic::from(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), to_dynamic(v)))
                .collect::<Map>(),
        ),
    }
}

/// Docker's `inspect` output for one object: a JSON array, indented by four spaces.
fn docker_json(doc: Value) -> String {
    render::docker::json_array(vec![doc])
}

fn container_doc(lab: &Lab, key: &str) -> Res<Value> {
    let d = lab.docker();
    let c = d.container(key).map_err(|e| lab_err(e.into()))?;
    Ok(inspect::container(&d, c))
}

fn network_doc(lab: &Lab, key: &str) -> Res<Value> {
    let d = lab.docker();
    let n = d.network(key).map_err(|e| lab_err(e.into()))?;
    Ok(inspect::network(&d, n))
}

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    register_types(engine);

    let l = lab.clone();
    let create = move |name: &str, spec: &NetworkSpec| -> Res<NetworkRef> {
        let n = l.create_network(name, spec).map_err(lab_err)?;
        Ok(NetworkRef {
            lab: l.clone(),
            id: n.id,
        })
    };
    let c = create.clone();
    engine.register_fn("network", move |name: &str| {
        c(name, &NetworkSpec::default())
    });
    engine.register_fn("network", move |name: &str, opts: Map| {
        create(name, &network_spec(&opts)?)
    });

    let l = lab.clone();
    engine.register_fn("network_rm", move |n: Dynamic| -> Res<()> {
        l.remove_network(&network_key(&n)?).map_err(lab_err)
    });

    let l = lab.clone();
    let run = move |name: &str,
                    network: &str,
                    spec: &AttachSpec,
                    extras: &RunExtras|
          -> Res<ContainerRef> {
        let c = l
            .run_container(name, network, spec, extras)
            .map_err(lab_err)?;
        Ok(ContainerRef {
            lab: l.clone(),
            id: c.id,
        })
    };
    let r = run.clone();
    engine.register_fn("run", move |name: &str| {
        r(
            name,
            "bridge",
            &AttachSpec::default(),
            &RunExtras::default(),
        )
    });
    let r = run.clone();
    engine.register_fn(
        "run",
        move |name: &str, net: Dynamic| -> Res<ContainerRef> {
            if let Some(opts) = net.read_lock::<Map>() {
                check_keys(
                    &opts,
                    &["network", "ip", "aliases", "link", "publish"],
                    "run",
                )?;
                let network = match opts.get("network") {
                    Some(n) if !n.is_unit() => network_key(n)?,
                    _ => "bridge".into(),
                };
                let extras = RunExtras {
                    links: strings(&opts, "link", "[\"bb1\", \"bb1:alias\"]")?,
                    publish: strings(&opts, "publish", "[\"8081:8080\", \"53:53/udp\"]")?,
                    ..RunExtras::default()
                };
                return r(name, &network, &attach_spec(&opts, "run")?, &extras);
            }
            r(
                name,
                &network_key(&net)?,
                &AttachSpec::default(),
                &RunExtras::default(),
            )
        },
    );
    let l = lab.clone();
    engine.register_fn("port", move |c: Dynamic| -> Res<String> {
        let d = l.docker();
        let found = d
            .container(&container_key(&c)?)
            .map_err(|e| lab_err(e.into()))?;
        Ok(crate::render::docker::port_lines(&d, found))
    });
    let l = lab.clone();
    engine.register_fn("hosts_file", move |c: Dynamic| -> Res<String> {
        let d = l.docker();
        let found = d
            .container(&container_key(&c)?)
            .map_err(|e| lab_err(e.into()))?;
        Ok(d.hosts_file(found))
    });

    // connect(container, network [, #{ip, aliases, link}]): `docker network connect`;
    // `link: ["db:alias"]` (`--link`) makes DNS aliases for this container alone.
    let l = lab.clone();
    let connect = move |c: Dynamic, n: Dynamic, spec: AttachSpec, links: Vec<String>| -> Res<()> {
        l.connect_linked(&container_key(&c)?, &network_key(&n)?, &spec, &links)
            .map_err(lab_err)
    };
    let cn = connect.clone();
    engine.register_fn("connect", move |c: Dynamic, n: Dynamic| {
        cn(c, n, AttachSpec::default(), Vec::new())
    });
    engine.register_fn(
        "connect",
        move |c: Dynamic, n: Dynamic, opts: Map| -> Res<()> {
            check_keys(&opts, &["ip", "aliases", "link"], "connect")?;
            let links = strings(&opts, "link", "[\"db\", \"db:alias\"]")?;
            connect(c, n, attach_spec(&opts, "connect")?, links)
        },
    );

    let l = lab.clone();
    engine.register_fn("disconnect", move |c: Dynamic, n: Dynamic| -> Res<()> {
        l.disconnect(&container_key(&c)?, &network_key(&n)?)
            .map_err(lab_err)
    });
    // rename(container, new_name): `docker rename`. The container keeps its ID, hostname,
    // addresses and aliases; its DNS records on every network change at once (the old name
    // stops resolving and is free for another container). Container objects stay valid
    // (they hold the ID). Errors in Docker's words: an empty name, the same name, an invalid
    // or taken name, an unknown container; and a name a network namespace of the lab has.
    let l = lab.clone();
    engine.register_fn("rename", move |c: Dynamic, new_name: &str| -> Res<()> {
        l.rename_container(&container_key(&c)?, new_name)
            .map_err(lab_err)
    });
    let l = lab.clone();
    engine.register_fn("rm", move |c: Dynamic| -> Res<()> {
        l.remove_container(&container_key(&c)?).map_err(lab_err)
    });

    let l = lab.clone();
    engine.register_fn("network_ls", move || {
        render::docker::network_ls(l.docker().networks())
    });
    let l = lab.clone();
    engine.register_fn("network_inspect", move |n: Dynamic| -> Res<String> {
        Ok(docker_json(network_doc(&l, &network_key(&n)?)?))
    });
    let l = lab.clone();
    engine.register_fn("docker_inspect", move |c: Dynamic| -> Res<String> {
        Ok(docker_json(container_doc(&l, &container_key(&c)?)?))
    });
    let l = lab.clone();
    engine.register_fn("inspect", move |x: Dynamic| -> Res<Dynamic> {
        if let Some(n) = x.read_lock::<NetworkRef>() {
            return Ok(to_dynamic(&network_doc(&l, &n.id)?));
        }
        let key = container_key(&x)?;
        match container_doc(&l, &key) {
            Ok(doc) => Ok(to_dynamic(&doc)),
            // Like `docker inspect`: containers first, then networks.
            Err(_) => {
                Ok(to_dynamic(&network_doc(&l, &key).map_err(|_| {
                    runtime(format!("Error: No such object: {key}"))
                })?))
            }
        }
    });
    let l = lab.clone();
    engine.register_fn("brctl_show", move || -> Res<String> {
        Ok(render::docker::brctl_show(&l.links(HOST).map_err(lab_err)?))
    });
    let l = lab.clone();
    engine.register_fn("nft_rules", move || -> Res<Array> {
        let rules = l.firewall_rules().map_err(lab_err)?;
        Ok(render::docker::nft_rules(&rules)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    });
    let l = lab.clone();
    engine.register_fn("containers", move || -> Array {
        l.docker()
            .containers()
            .iter()
            .map(|c| Dynamic::from(c.name.clone()))
            .collect()
    });
    let l = lab.clone();
    engine.register_fn("networks", move || -> Array {
        l.docker()
            .networks()
            .iter()
            .map(|n| Dynamic::from(n.name.clone()))
            .collect()
    });
}

fn register_types(engine: &mut Engine) {
    fn with<T>(c: &ContainerRef, f: impl FnOnce(&crate::model::docker::Container) -> T) -> Res<T> {
        let d = c.lab.docker();
        let found = d.container(&c.id).map_err(|e| lab_err(e.into()))?;
        Ok(f(found))
    }
    fn first_ip(c: &crate::model::docker::Container) -> String {
        c.endpoints
            .iter()
            .find_map(|e| e.ip.map(|(ip, _)| ip.to_string()))
            .unwrap_or_default()
    }
    engine
        .register_type_with_name::<ContainerRef>("Container")
        .register_get("id", |c: &mut ContainerRef| c.id.clone())
        .register_get("short_id", |c: &mut ContainerRef| short(&c.id).to_string())
        .register_get("name", |c: &mut ContainerRef| with(c, |c| c.name.clone()))
        .register_get("hostname", |c: &mut ContainerRef| {
            with(c, |c| c.hostname().to_string())
        })
        .register_get("ip", |c: &mut ContainerRef| with(c, first_ip))
        .register_get("mac", |c: &mut ContainerRef| {
            with(c, |c| {
                c.endpoints
                    .iter()
                    .find_map(|e| e.mac.clone())
                    .unwrap_or_default()
            })
        })
        .register_get("networks", |c: &mut ContainerRef| -> Res<Array> {
            let d = c.lab.docker();
            let found = d.container(&c.id).map_err(|e| lab_err(e.into()))?;
            Ok(found
                .endpoints
                .iter()
                .filter_map(|e| d.network_by_id(&e.network_id))
                .map(|n| Dynamic::from(n.name.clone()))
                .collect())
        })
        .register_fn("ip_of", |c: &mut ContainerRef, net: &str| -> Res<String> {
            let d = c.lab.docker();
            let found = d.container(&c.id).map_err(|e| lab_err(e.into()))?;
            let n = d.network(net).map_err(|e| lab_err(e.into()))?;
            found
                .endpoint(&n.id)
                .and_then(|e| e.ip)
                .map(|(ip, _)| ip.to_string())
                .ok_or_else(|| {
                    runtime(format!(
                        "container {} is not connected to network {}",
                        found.name, n.name
                    ))
                })
        })
        .register_fn("to_string", |c: &mut ContainerRef| {
            with(c, |c| format!("container({})", c.name))
        })
        .register_fn("to_debug", |c: &mut ContainerRef| {
            with(c, |c| format!("container({})", c.name))
        });

    fn net<T>(n: &NetworkRef, f: impl FnOnce(&crate::model::docker::Network) -> T) -> Res<T> {
        let d = n.lab.docker();
        let found = d.network(&n.id).map_err(|e| lab_err(e.into()))?;
        Ok(f(found))
    }
    engine
        .register_type_with_name::<NetworkRef>("Network")
        .register_get("id", |n: &mut NetworkRef| n.id.clone())
        .register_get("short_id", |n: &mut NetworkRef| short(&n.id).to_string())
        .register_get("name", |n: &mut NetworkRef| net(n, |n| n.name.clone()))
        .register_get("driver", |n: &mut NetworkRef| {
            net(n, |n| n.driver.name().to_string())
        })
        .register_get("bridge", |n: &mut NetworkRef| {
            net(n, |n| n.bridge.clone().unwrap_or_default())
        })
        .register_get("subnet", |n: &mut NetworkRef| {
            net(n, |n| n.subnet().map(|s| s.to_string()).unwrap_or_default())
        })
        .register_get("gateway", |n: &mut NetworkRef| {
            net(n, |n| {
                n.gateway().map(|g| g.to_string()).unwrap_or_default()
            })
        })
        .register_get("internal", |n: &mut NetworkRef| net(n, |n| n.internal))
        .register_fn("to_string", |n: &mut NetworkRef| {
            net(n, |n| format!("network({})", n.name))
        })
        .register_fn("to_debug", |n: &mut NetworkRef| {
            net(n, |n| format!("network({})", n.name))
        });
}
