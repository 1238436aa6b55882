//! Namespaces, links, addresses and routes: `netns("ns1")`, `veth(a, b)`, `ns1.addr(…)`.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, ImmutableString, Map};

use super::{is_host, lab_err, ns_name, str_opt, Res};
use crate::kernel::{LinkInfo, HOST};
use crate::lab::Lab;
use crate::render;
use crate::script::diagnostic::runtime;

/// A network namespace of the lab, as scripts hold it.
#[derive(Clone)]
pub struct Netns {
    pub lab: Rc<Lab>,
    pub name: String,
}

impl Netns {
    fn ip_addr(&self) -> Res<String> {
        let links = self.lab.links(&self.name).map_err(lab_err)?;
        Ok(render::ip::ip_addr(&links))
    }
}

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    engine
        .register_type_with_name::<Netns>("Netns")
        .register_get("name", |ns: &mut Netns| ns.name.clone())
        .register_fn("to_string", |ns: &mut Netns| format!("netns({})", ns.name))
        .register_fn("to_debug", |ns: &mut Netns| format!("netns({})", ns.name))
        .register_fn("==", |a: Netns, b: Netns| a.name == b.name)
        .register_fn("!=", |a: Netns, b: Netns| a.name != b.name);

    register_links(engine);

    let l = lab.clone();
    engine.register_fn("netns", move |name: &str| -> Res<Netns> {
        l.add_netns(name).map_err(lab_err)?;
        Ok(Netns {
            lab: l.clone(),
            name: name.to_string(),
        })
    });
    let l = lab.clone();
    engine.register_fn("host", move || Netns {
        lab: l.clone(),
        name: HOST.to_string(),
    });
    let l = lab.clone();
    engine.register_fn("namespaces", move || -> Array {
        l.namespaces().into_iter().map(Dynamic::from).collect()
    });
    let l = lab.clone();
    engine.register_fn("del_netns", move |ns: Dynamic| -> Res<()> {
        let name = ns_name(&l, &ns)?;
        l.del_netns(&name).map_err(lab_err)
    });
    let l = lab.clone();
    engine.register_fn("veth", move |a: &str, b: &str| -> Res<()> {
        l.add_veth(HOST, a, HOST, b).map_err(lab_err)
    });
    let l = lab.clone();
    engine.register_fn("move_link", move |dev: &str, to: Dynamic| -> Res<()> {
        let to = ns_name(&l, &to)?;
        l.move_link(HOST, dev, &to).map_err(lab_err)
    });

    // Views, as functions of a namespace (or its name), reading like the commands.
    for (name, f) in [
        ("ip_a", render::ip::ip_addr as fn(&[LinkInfo]) -> String),
        ("ip_addr", render::ip::ip_addr),
        ("ip_link", render::ip::ip_link),
    ] {
        let l = lab.clone();
        engine.register_fn(name, move |ns: Dynamic| -> Res<String> {
            let ns = ns_name(&l, &ns)?;
            Ok(f(&l.links(&ns).map_err(lab_err)?))
        });
    }
    let l = lab.clone();
    engine.register_fn("links", move |ns: Dynamic| -> Res<Array> {
        let ns = ns_name(&l, &ns)?;
        let links = l.links(&ns).map_err(lab_err)?;
        Ok(links.into_iter().map(Dynamic::from).collect())
    });
    let l = lab.clone();
    engine.register_fn("link", move |ns: Dynamic, dev: &str| -> Res<LinkInfo> {
        let ns = ns_name(&l, &ns)?;
        l.link(&ns, dev).map_err(lab_err)
    });
    let l = lab.clone();
    engine.register_fn("ip_route", move |ns: Dynamic| -> Res<String> {
        let ns = ns_name(&l, &ns)?;
        Ok(render::ip::ip_route(&l.routes(&ns).map_err(lab_err)?))
    });

    register_methods(engine);
}

fn register_methods(engine: &mut Engine) {
    engine
        .register_fn("ip_a", |ns: &mut Netns| ns.ip_addr())
        .register_fn("ip_addr", |ns: &mut Netns| ns.ip_addr())
        .register_fn("ip_link", |ns: &mut Netns| -> Res<String> {
            let links = ns.lab.links(&ns.name).map_err(lab_err)?;
            Ok(render::ip::ip_link(&links))
        })
        .register_fn("ip_route", |ns: &mut Netns| -> Res<String> {
            let routes = ns.lab.routes(&ns.name).map_err(lab_err)?;
            Ok(render::ip::ip_route(&routes))
        })
        .register_fn("links", |ns: &mut Netns| -> Res<Array> {
            let links = ns.lab.links(&ns.name).map_err(lab_err)?;
            Ok(links.into_iter().map(Dynamic::from).collect())
        })
        .register_fn("link_names", |ns: &mut Netns| -> Res<Array> {
            let links = ns.lab.links(&ns.name).map_err(lab_err)?;
            Ok(links.into_iter().map(|l| Dynamic::from(l.name)).collect())
        })
        .register_fn("link", |ns: &mut Netns, dev: &str| -> Res<LinkInfo> {
            ns.lab.link(&ns.name, dev).map_err(lab_err)
        })
        .register_fn("has_link", |ns: &mut Netns, dev: &str| -> Res<bool> {
            ns.lab.has_link(&ns.name, dev).map_err(lab_err)
        })
        .register_fn("addrs", |ns: &mut Netns, dev: &str| -> Res<Array> {
            let link = ns.lab.link(&ns.name, dev).map_err(lab_err)?;
            Ok(link.addrs.iter().map(|a| Dynamic::from(a.cidr())).collect())
        })
        .register_fn("addr", |ns: &mut Netns, dev: &str, cidr: &str| -> Res<()> {
            ns.lab.add_addr(&ns.name, dev, cidr).map_err(lab_err)
        })
        .register_fn(
            "del_addr",
            |ns: &mut Netns, dev: &str, cidr: &str| -> Res<()> {
                ns.lab.del_addr(&ns.name, dev, cidr).map_err(lab_err)
            },
        )
        .register_fn("up", |ns: &mut Netns, dev: &str| -> Res<()> {
            ns.lab.set_up(&ns.name, dev, true).map_err(lab_err)
        })
        .register_fn("down", |ns: &mut Netns, dev: &str| -> Res<()> {
            ns.lab.set_up(&ns.name, dev, false).map_err(lab_err)
        })
        .register_fn(
            "veth",
            |ns: &mut Netns, dev: &str, peer_ns: Dynamic, peer: &str| -> Res<()> {
                let peer_ns = ns_name(&ns.lab, &peer_ns)?;
                ns.lab
                    .add_veth(&ns.name, dev, &peer_ns, peer)
                    .map_err(lab_err)
            },
        )
        .register_fn("veth", |ns: &mut Netns, dev: &str, peer: &str| -> Res<()> {
            let name = ns.name.clone();
            ns.lab.add_veth(&name, dev, &name, peer).map_err(lab_err)
        })
        .register_fn("bridge", |ns: &mut Netns, name: &str| -> Res<()> {
            ns.lab.add_bridge(&ns.name, name, true).map_err(lab_err)
        })
        .register_fn(
            "master",
            |ns: &mut Netns, dev: &str, bridge: &str| -> Res<()> {
                ns.lab
                    .set_master(&ns.name, dev, Some(bridge))
                    .map_err(lab_err)
            },
        )
        .register_fn("nomaster", |ns: &mut Netns, dev: &str| -> Res<()> {
            ns.lab.set_master(&ns.name, dev, None).map_err(lab_err)
        })
        .register_fn(
            "move_link",
            |ns: &mut Netns, dev: &str, to: Dynamic| -> Res<()> {
                let to = ns_name(&ns.lab, &to)?;
                ns.lab.move_link(&ns.name, dev, &to).map_err(lab_err)
            },
        )
        .register_fn("del_link", |ns: &mut Netns, dev: &str| -> Res<()> {
            ns.lab.del_link(&ns.name, dev).map_err(lab_err)
        })
        .register_fn("route", |ns: &mut Netns, dst: &str, via: &str| -> Res<()> {
            ns.lab
                .add_route(&ns.name, dst, Some(via), None)
                .map_err(lab_err)
        })
        .register_fn("route", |ns: &mut Netns, spec: Map| -> Res<()> {
            for key in spec.keys() {
                if !["to", "via", "dev"].contains(&key.as_str()) {
                    return Err(runtime(format!(
                        "unknown route option \"{key}\" (expected to, via, dev)"
                    )));
                }
            }
            let to = str_opt(&spec, "to", "route")?.unwrap_or_else(|| "default".into());
            let via = str_opt(&spec, "via", "route")?;
            let dev = str_opt(&spec, "dev", "route")?;
            if via.is_none() && dev.is_none() {
                return Err(runtime(
                    "a route needs a gateway (via) or an interface (dev)",
                ));
            }
            ns.lab
                .add_route(&ns.name, &to, via.as_deref(), dev.as_deref())
                .map_err(lab_err)
        })
        .register_fn("del_route", |ns: &mut Netns, dst: &str| -> Res<()> {
            ns.lab.del_route(&ns.name, dst).map_err(lab_err)
        })
        .register_fn(
            "sysctl",
            |ns: &mut Netns, key: &str, value: Dynamic| -> Res<()> {
                ns.lab
                    .sysctl(&ns.name, key, &value.to_string())
                    .map_err(lab_err)
            },
        )
        .register_fn("sysctl", |ns: &mut Netns, key: &str| -> Res<String> {
            ns.lab.read_sysctl(&ns.name, key).map_err(lab_err)
        })
        .register_fn("is_host", |ns: &mut Netns| is_host(&ns.name));
}

/// `Link`: a snapshot of one interface, as `ip link` saw it when it was read.
fn register_links(engine: &mut Engine) {
    fn opt_int(v: Option<u32>) -> Dynamic {
        v.map(|i| Dynamic::from(i64::from(i)))
            .unwrap_or(Dynamic::UNIT)
    }
    engine
        .register_type_with_name::<LinkInfo>("Link")
        .register_get("name", |l: &mut LinkInfo| l.name.clone())
        .register_get("ifindex", |l: &mut LinkInfo| i64::from(l.ifindex))
        .register_get("peer_ifindex", |l: &mut LinkInfo| opt_int(l.peer_ifindex))
        .register_get("mac", |l: &mut LinkInfo| l.mac.clone())
        .register_get("state", |l: &mut LinkInfo| l.operstate.clone())
        .register_get("up", |l: &mut LinkInfo| l.is_up())
        .register_get("carrier", |l: &mut LinkInfo| l.has_carrier())
        .register_get("mtu", |l: &mut LinkInfo| i64::from(l.mtu))
        .register_get("kind", |l: &mut LinkInfo| l.kind.clone())
        .register_get("qdisc", |l: &mut LinkInfo| l.qdisc.clone())
        .register_get("master", |l: &mut LinkInfo| {
            l.master.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT)
        })
        .register_get("flags", |l: &mut LinkInfo| -> Array {
            render::ip::link_flags(l)
                .into_iter()
                .map(Dynamic::from)
                .collect()
        })
        .register_get("addrs", |l: &mut LinkInfo| -> Array {
            l.addrs.iter().map(|a| Dynamic::from(a.cidr())).collect()
        })
        .register_fn("has_addr", |l: &mut LinkInfo, cidr: ImmutableString| {
            l.addrs
                .iter()
                .any(|a| a.cidr() == cidr.as_str() || a.addr.to_string() == cidr.as_str())
        })
        .register_fn("to_string", |l: &mut LinkInfo| {
            render::ip::ip_addr(std::slice::from_ref(l))
        })
        .register_fn("to_debug", |l: &mut LinkInfo| {
            render::ip::ip_addr(std::slice::from_ref(l))
        });
}
