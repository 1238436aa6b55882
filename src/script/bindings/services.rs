//! Names, programs and services inside the lab: `resolve`, `resolve_ptr`, `exec`, `serve`, the `tcp`,
//! `udp` and `http_get` probes, and `outside()`.

use std::rc::Rc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, Map};

use super::netns::Netns;
use super::{lab_err, who, Res};
use crate::lab::Lab;
use crate::probe::tcp;
use crate::script::diagnostic::runtime;
use crate::script::limits;
use crate::services::responder::Kind;

/// A TCP or UDP probe's result: `#{ok, reply, truncated, error}`.
fn reply_map(r: tcp::Reply) -> Map {
    let mut m = Map::new();
    m.insert("ok".into(), r.ok.into());
    m.insert("reply".into(), r.data.into());
    m.insert("truncated".into(), r.truncated.into());
    m.insert(
        "error".into(),
        r.error.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    m
}

fn failed(error: String) -> Map {
    reply_map(tcp::Reply {
        ok: false,
        data: String::new(),
        truncated: false,
        error: Some(error),
    })
}

/// `exec`'s command: a string split on whitespace (quotes group words), or an array.
fn argv(cmd: &Dynamic) -> Res<Vec<String>> {
    if let Some(arr) = cmd.read_lock::<Array>() {
        let v: Vec<String> = arr.iter().map(|d| d.to_string()).collect();
        if v.is_empty() {
            return Err(runtime("exec needs a program to run, got an empty array"));
        }
        return Ok(v);
    }
    if !cmd.is_string() {
        return Err(runtime(format!(
            "exec expects a command string or an array of words, got {}",
            crate::script::diagnostic::type_words(cmd.type_name())
        )));
    }
    let text = cmd.to_string();
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for ch in text.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(runtime(format!("exec: unterminated quote in {text:?}")));
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    if words.is_empty() {
        return Err(runtime("exec needs a program to run"));
    }
    Ok(words)
}

/// A datagram's payload: a string, or an array of byte values (for malformed packets).
fn payload_bytes(v: &Dynamic) -> Res<Vec<u8>> {
    if v.is_string() {
        return Ok(v.to_string().into_bytes());
    }
    if let Some(arr) = v.read_lock::<Array>() {
        return arr
            .iter()
            .map(|b| {
                b.as_int()
                    .ok()
                    .and_then(|i| u8::try_from(i).ok())
                    .ok_or_else(|| {
                        runtime(format!("payload bytes must be integers 0-255, got {b}"))
                    })
            })
            .collect();
    }
    Err(runtime(format!(
        "a payload is a string or an array of bytes, got {}",
        crate::script::diagnostic::type_words(v.type_name())
    )))
}

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    let l = lab.clone();
    engine.register_fn(
        "resolve",
        move |from: Dynamic, name: &str| -> Res<Dynamic> {
            let w = who(&l, &from)?;
            Ok(l.resolve(&w.resolver, name)
                .map_err(lab_err)?
                .map(|ip| Dynamic::from(ip.to_string()))
                .unwrap_or(Dynamic::UNIT))
        },
    );

    // resolve_ptr(from, address): the name a PTR query for the IPv4 `address` answers inside
    // `from` ("rv1.rvn", no final dot), as `nslookup ADDRESS` asks its embedded DNS server
    // (Docker answers `<container>.<network>` for addresses on the asker's networks), or ()
    // when nothing answers with a name. An argument that is not an IPv4 address is an error.
    let l = lab.clone();
    engine.register_fn(
        "resolve_ptr",
        move |from: Dynamic, address: &str| -> Res<Dynamic> {
            let w = who(&l, &from)?;
            let addr: std::net::Ipv4Addr = address.trim().parse().map_err(|_| {
                runtime(format!(
                    "resolve_ptr: \"{address}\" is not an IPv4 address (e.g. \"172.18.0.2\"; \
                     the lab's Docker networks are IPv4 only)"
                ))
            })?;
            Ok(l.resolve_ptr(&w.resolver, addr)
                .map_err(lab_err)?
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT))
        },
    );

    // udp(from, "host:port" [, payload]) and tcp(from, "host:port"): one datagram or one
    // connection from inside `from`, the host a name, an IPv4 address or `[IPv6]`. Returns
    // #{ok, reply, truncated, error}: at most 64 KiB of reply are kept (tcp::REPLY_LIMIT),
    // and `truncated` says the peer sent more. A malformed target is an error; an
    // unresolvable host, a refusal or silence is a result with `ok: false`.
    let l = lab.clone();
    engine.register_fn(
        "udp",
        move |from: Dynamic, target: &str, payload: Dynamic| -> Res<Map> {
            let w = who(&l, &from)?;
            let bytes = payload_bytes(&payload)?;
            let addr = match l.socket_addr(&w.resolver, target).map_err(lab_err)? {
                Ok(a) => a,
                Err(e) => return Ok(failed(e)),
            };
            Ok(reply_map(
                l.udp_probe(&w.ns, addr, &bytes).map_err(lab_err)?,
            ))
        },
    );

    for (name, kind) in [("tcp", Kind::Tcp), ("udp", Kind::Udp)] {
        let l = lab.clone();
        engine.register_fn(name, move |from: Dynamic, target: &str| -> Res<Map> {
            let w = who(&l, &from)?;
            let addr = match l.socket_addr(&w.resolver, target).map_err(lab_err)? {
                Ok(a) => a,
                Err(e) => return Ok(failed(e)),
            };
            let reply = match kind {
                Kind::Tcp => l.tcp_probe(&w.ns, addr),
                Kind::Udp => l.udp_probe(&w.ns, addr, b"ping\n"),
            };
            Ok(reply_map(reply.map_err(lab_err)?))
        });
    }

    // http_get(from, "http://host[:port][/path]"): an HTTP/1.0 GET from inside `from`, IPv6
    // hosts in brackets. Returns #{ok, status, body, truncated, error}; at most 64 KiB of the
    // reply (head and body) are read, and `truncated` says there was more.
    let l = lab.clone();
    engine.register_fn("http_get", move |from: Dynamic, url: &str| -> Res<Map> {
        let w = who(&l, &from)?;
        let (host, port, path) = tcp::parse_url(url).map_err(runtime)?;
        let addr = match l
            .socket_addr(&w.resolver, &tcp::join_host_port(&host, Some(port)))
            .map_err(lab_err)?
        {
            Ok(a) => a,
            Err(e) => return Ok(failed(e)),
        };
        let r = l.http_probe(&w.ns, addr, &host, &path).map_err(lab_err)?;
        let mut m = Map::new();
        m.insert("ok".into(), r.ok.into());
        m.insert("status".into(), i64::from(r.status).into());
        m.insert("body".into(), r.body.into());
        m.insert("truncated".into(), r.truncated.into());
        m.insert(
            "error".into(),
            r.error.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
        );
        Ok(m)
    });

    // serve(at, port [, "tcp"|"http"|"udp" | #{proto, reply}]): a responder on `port` of
    // every IPv4 and IPv6 address of `at`; `reply` replaces the greeting ("hello from NAME").
    let l = lab.clone();
    let serve = move |at: Dynamic, port: i64, kind: &str, reply: Option<String>| -> Res<()> {
        let w = who(&l, &at)?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| runtime(format!("serve: invalid port {port}")))?;
        let kind = match kind {
            "tcp" | "http" => Kind::Tcp,
            "udp" => Kind::Udp,
            other => {
                return Err(runtime(format!(
                    "serve: unknown protocol \"{other}\" (expected tcp, http or udp)"
                )))
            }
        };
        let reply = reply.unwrap_or_else(|| format!("hello from {}\n", w.name));
        l.serve(&w.ns, port, kind, reply).map_err(lab_err)
    };
    let s = serve.clone();
    engine.register_fn("serve", move |at: Dynamic, port: i64| {
        s(at, port, "tcp", None)
    });
    let s = serve.clone();
    engine.register_fn("serve", move |at: Dynamic, port: i64, kind: &str| {
        s(at, port, kind, None)
    });
    engine.register_fn(
        "serve",
        move |at: Dynamic, port: i64, opts: Map| -> Res<()> {
            if let Some(k) = opts
                .keys()
                .find(|k| !["proto", "reply"].contains(&k.as_str()))
            {
                return Err(runtime(format!(
                    "unknown serve option \"{k}\" (expected proto, reply)"
                )));
            }
            let proto = super::str_opt(&opts, "proto", "serve")?;
            let reply = super::str_opt(&opts, "reply", "serve")?;
            serve(at, port, proto.as_deref().unwrap_or("tcp"), reply)
        },
    );

    let l = lab.clone();
    engine.register_fn("outside", move || -> Res<Netns> {
        let name = l.outside().map_err(lab_err)?;
        Ok(Netns {
            lab: l.clone(),
            name,
        })
    });

    let l = lab.clone();
    let exec = move |at: Dynamic, cmd: Dynamic, timeout_ms: i64| -> Res<Map> {
        let w = who(&l, &at)?;
        let argv = argv(&cmd)?;
        let timeout = u64::try_from(timeout_ms)
            .ok()
            .filter(|t| *t > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| runtime(format!("exec: invalid timeout {timeout_ms} ms")))?;
        // The script's deadline comes first (see script::limits): a program still running
        // then is killed like one past its own timeout, and the script stops.
        let (timeout, cut_by_deadline) = match limits::remaining() {
            Some(left) if left.is_zero() => return Err(limits::timed_out()),
            Some(left) if left < timeout => (left, true),
            _ => (timeout, false),
        };
        let out = l.exec(&w, &argv, timeout).map_err(lab_err)?;
        if let Some(stop) = limits::interrupted() {
            return Err(stop);
        }
        if cut_by_deadline && out.timed_out {
            return Err(limits::timed_out());
        }
        let mut m = Map::new();
        m.insert("stdout".into(), out.stdout.into());
        m.insert("stderr".into(), out.stderr.into());
        m.insert("code".into(), i64::from(out.code).into());
        m.insert("ok".into(), (out.code == 0).into());
        m.insert("timed_out".into(), out.timed_out.into());
        m.insert("truncated".into(), out.truncated.into());
        Ok(m)
    };
    let e = exec.clone();
    engine.register_fn("exec", move |at: Dynamic, cmd: Dynamic| e(at, cmd, 10_000));
    let l = lab.clone();
    engine.register_fn(
        "exec",
        move |at: Dynamic, cmd: Dynamic, opts: Map| -> Res<Map> {
            if let Some(k) = opts
                .keys()
                .find(|k| !["timeout", "detach"].contains(&k.as_str()))
            {
                return Err(runtime(format!(
                    "unknown exec option \"{k}\" (expected timeout, detach)"
                )));
            }
            let detach = match opts.get("detach") {
                None => false,
                Some(v) => v.as_bool().map_err(|t| {
                    runtime(format!(
                        "exec option \"detach\" must be a bool, got {}",
                        crate::script::diagnostic::type_words(t)
                    ))
                })?,
            };
            if detach {
                let w = who(&l, &at)?;
                let pid = l.exec_detached(&w, &argv(&cmd)?).map_err(lab_err)?;
                let mut m = Map::new();
                m.insert("pid".into(), i64::from(pid).into());
                return Ok(m);
            }
            let timeout = match opts.get("timeout") {
                None => 10_000,
                Some(v) => v.as_int().map_err(|t| {
                    runtime(format!(
                        "exec option \"timeout\" must be an integer (ms), got {}",
                        crate::script::diagnostic::type_words(t)
                    ))
                })?,
            };
            exec(at, cmd, timeout)
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        let words = |s: &str| argv(&Dynamic::from(s.to_string())).unwrap();
        assert_eq!(words("ip a"), ["ip", "a"]);
        assert_eq!(words("sh -c 'echo a  b'"), ["sh", "-c", "echo a  b"]);
        assert_eq!(words("printf \"\""), ["printf", ""]);
        assert!(argv(&Dynamic::from("sh -c 'x".to_string())).is_err());
        assert!(argv(&Dynamic::from("  ".to_string())).is_err());
    }
}
