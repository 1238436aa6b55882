//! Values as the REPL shows them to people: an `exec` result as the program's output, a
//! `tcp`/`udp`/`http_get` result as one line like a ping's, a container with its networks
//! and addresses — never a raw map with `\n` escapes. A success is green and a failure red
//! when colour is on. Anything else shows as `print` would show it.

use colored::Colorize;
use rhai::{Dynamic, Map};

use crate::script::Session;

/// The text the REPL prints for `value` (without a final newline).
pub fn show(session: &Session, value: Dynamic) -> String {
    if let Some(map) = value.read_lock::<Map>().map(|m| m.clone()) {
        if let Some(text) = result_map(&map) {
            return text;
        }
    }
    let ty = value.type_name();
    let short = ty.rsplit("::").next().unwrap_or(ty);
    let described = match short {
        "ContainerRef" => session.eval_on(
            &value,
            r#"let s = `container ${v.name} (${v.short_id})`;
               let sep = ": ";
               for x in v.networks { s += `${sep}${x} ${v.ip_of(x)}`; sep = ", "; }
               s"#,
        ),
        "NetworkRef" => session.eval_on(
            &value,
            r#"`network ${v.name} (${v.short_id}): ${v.driver}` +
               if v.subnet == () { "" } else { `, ${v.subnet} gw ${v.gateway}` } +
               if v.bridge == () { "" } else { `, on ${v.bridge}` } +
               if v.internal { ", internal" } else { "" }"#,
        ),
        "PingResult" => {
            let ok = session.eval_on(&value, "v.ok").is_some_and(|s| s == "true");
            return paint(session.display(value), ok);
        }
        _ => None,
    };
    described.unwrap_or_else(|| session.display(value))
}

/// An `exec`, `tcp`/`udp` or `http_get` result, recognised by its keys.
fn result_map(m: &Map) -> Option<String> {
    let has = |keys: &[&str]| keys.iter().all(|k| m.contains_key(*k));
    let text = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
    let flag = |k: &str| m.get(k).and_then(|v| v.as_bool().ok()).unwrap_or(false);
    let cut = |k: &str| if flag(k) { " (truncated)" } else { "" };
    if has(&["stdout", "stderr", "code", "ok", "timed_out"]) {
        let mut out = String::new();
        for stream in ["stdout", "stderr"] {
            out.push_str(&text(stream));
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
        }
        let code = m.get("code").and_then(|c| c.as_int().ok()).unwrap_or(0);
        let status = if flag("timed_out") {
            paint(format!("timed out (exit code {code})"), false)
        } else if code == 0 {
            paint("exit code 0".to_string(), true)
        } else {
            paint(format!("exit code {code}"), false)
        };
        out.push_str(&status);
        if flag("truncated") {
            out.push_str(" (output truncated)");
        }
        return Some(out);
    }
    if m.len() == 1 && m.contains_key("pid") {
        return Some(paint(
            format!("started in the background, pid {}", text("pid")),
            true,
        ));
    }
    if has(&["ok", "status", "body", "error"]) {
        return Some(if flag("ok") {
            paint(
                format!(
                    "HTTP {}: {:?}{}",
                    text("status"),
                    text("body"),
                    cut("truncated")
                ),
                true,
            )
        } else {
            paint(format!("failed: {}", text("error")), false)
        });
    }
    if has(&["ok", "reply", "error"]) {
        return Some(if flag("ok") {
            paint(
                format!("reply {:?}{}", text("reply"), cut("truncated")),
                true,
            )
        } else {
            paint(format!("failed: {}", text("error")), false)
        });
    }
    None
}

/// Green for a success, red for a failure (plain when colour is off).
fn paint(text: String, ok: bool) -> String {
    if ok {
        text.green().to_string()
    } else {
        text.red().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `result_map` shows, without colour codes (other tests turn colour on).
    fn shown(m: &Map) -> Option<String> {
        result_map(m).map(|s| crate::repl::highlight::plain(&s))
    }

    fn map(pairs: &[(&str, Dynamic)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    #[test]
    fn results_show_as_one_line_or_as_the_output() {
        let exec = map(&[
            ("stdout", "hi\n".into()),
            ("stderr", "oops\n".into()),
            ("code", Dynamic::from(2_i64)),
            ("ok", false.into()),
            ("timed_out", false.into()),
            ("truncated", false.into()),
        ]);
        assert_eq!(shown(&exec).unwrap(), "hi\noops\nexit code 2");
        let tcp = map(&[
            ("ok", true.into()),
            ("reply", "hello\n".into()),
            ("error", Dynamic::UNIT),
            ("truncated", false.into()),
        ]);
        assert_eq!(shown(&tcp).unwrap(), "reply \"hello\\n\"");
        let refused = map(&[
            ("ok", false.into()),
            ("reply", "".into()),
            ("error", "connection refused".into()),
            ("truncated", false.into()),
        ]);
        assert_eq!(shown(&refused).unwrap(), "failed: connection refused");
        let http = map(&[
            ("ok", true.into()),
            ("status", Dynamic::from(200_i64)),
            ("body", "hi".into()),
            ("error", Dynamic::UNIT),
            ("truncated", false.into()),
        ]);
        assert_eq!(shown(&http).unwrap(), "HTTP 200: \"hi\"");
        assert!(result_map(&map(&[("a", Dynamic::UNIT)])).is_none());
    }
}
