//! Go's `text/template` for `docker inspect -f` and the `--format` of `ls`/`ps`, over the
//! documents as JSON values (pure).
//!
//! The template language is the `gotmpl` crate's (a port of Go's `text/template`: field
//! paths, variables, `range`/`with`/`if`, pipes, Go's builtins `index len printf print
//! println eq ne lt le gt ge and or not`, Go's printing of values: `<no value>` for a
//! missing key, `map[k:v]` with sorted keys, `[a b]`). netsh adds what the docker CLI adds
//! (`templates.basicFunctions`, docker/cli 20.10): `json`, `split`, `join`, `title`,
//! `lower`, `upper`, `pad`, `truncate`. Documents behave as the Go structs Docker renders:
//! `.ID` is `.Id` (the struct field is `ID`, its JSON name `Id`), and `json` prints an
//! object's keys in the order the document has them (a struct's field order; Go sorts a
//! map's keys, and netsh's documents list map entries sorted). One difference remains: a
//! null field prints `<no value>` (Go's rendering of a nil interface in a map) where Docker,
//! rendering its typed struct, prints `<nil>` for a nil pointer and `[]` for a nil slice.

use std::collections::HashMap;
use std::sync::Arc;

use ::gotmpl::{Template, TemplateError, Value};
use serde_json::Value as Json;

/// Parses and runs `template` against `data`. Errors in the words of Go's template package
/// (`template: :1:2: …`).
pub fn render(template: &str, data: &Json) -> Result<String, String> {
    let order = Arc::new(KeyOrder::of(data));
    let mut data = data.clone();
    if let Json::Object(top) = &mut data {
        if let (Some(id), false) = (top.get("Id").cloned(), top.contains_key("ID")) {
            top.insert("ID".into(), id);
        }
    }
    let value = ::gotmpl::to_value(&data).map_err(|e| go_error(&e))?;
    let json_order = order.clone();
    Template::new("")
        .func("json", move |args| {
            let [v] = args else {
                return Err(arg_count("json", 1, args.len()));
            };
            Ok(Value::String(json_text(v, &json_order).into()))
        })
        .func("split", |args| {
            let [s, sep] = strings("split", args)?;
            Ok(Value::List(
                split(&s, &sep)
                    .into_iter()
                    .map(|p| Value::String(p.into()))
                    .collect(),
            ))
        })
        .func("join", |args| {
            let [list, sep] = args else {
                return Err(arg_count("join", 2, args.len()));
            };
            let Value::List(items) = list else {
                return Err(TemplateError::Exec(
                    "join: wrong type for value; expected []string".into(),
                ));
            };
            let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
            Ok(Value::String(items.join(&sep.to_string()).into()))
        })
        .func("title", |args| {
            let [s] = strings("title", args)?;
            Ok(Value::String(title(&s).into()))
        })
        .func("lower", |args| {
            let [s] = strings("lower", args)?;
            Ok(Value::String(s.to_lowercase().into()))
        })
        .func("upper", |args| {
            let [s] = strings("upper", args)?;
            Ok(Value::String(s.to_uppercase().into()))
        })
        .func("pad", |args| {
            let [s, before, after] = args else {
                return Err(arg_count("pad", 3, args.len()));
            };
            Ok(Value::String(
                pad(&s.to_string(), count(before)?, count(after)?).into(),
            ))
        })
        .func("truncate", |args| {
            let [s, len] = args else {
                return Err(arg_count("truncate", 2, args.len()));
            };
            Ok(Value::String(truncate(&s.to_string(), count(len)?).into()))
        })
        .parse(template)
        .and_then(|t| t.execute_to_string(&value))
        .map_err(|e| go_error(&e))
}

/// An error as Go's template package words it, `template: ` first.
fn go_error(e: &TemplateError) -> String {
    let mut text = e.to_string();
    // Go's words for an unknown function (`parse.(*Tree).useVar`/`hasFunction`).
    if let Some(at) = text.find("undefined function: ") {
        let name = text[at + "undefined function: ".len()..].trim().to_string();
        text = format!("{}function \"{name}\" not defined", &text[..at]);
    }
    if text.starts_with("template:") {
        text
    } else {
        format!("template: :1: {text}")
    }
}

fn arg_count(name: &str, expected: usize, got: usize) -> TemplateError {
    TemplateError::ArgCount {
        name: name.to_string(),
        expected,
        got,
    }
}

/// The `N` arguments of `name` as strings (Go's functions take `string`s).
fn strings<const N: usize>(name: &str, args: &[Value]) -> Result<[String; N], TemplateError> {
    if args.len() != N {
        return Err(arg_count(name, N, args.len()));
    }
    Ok(std::array::from_fn(|i| args[i].to_string()))
}

/// A non-negative whole number argument (`pad`'s and `truncate`'s `int`s).
fn count(v: &Value) -> Result<usize, TemplateError> {
    match v {
        Value::Int(n) if *n >= 0 => Ok(*n as usize),
        Value::Uint(n) => Ok(*n as usize),
        other => Err(TemplateError::Exec(format!(
            "wrong type for value; expected int; got {other}"
        ))),
    }
}

/// Go's `strings.Split`: an empty separator splits after each character.
fn split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(str::to_string).collect()
}

/// Go's `strings.Title`: the first letter of each word upper-cased.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '_' && c != '\'';
    }
    out
}

/// docker/cli's `padWithSpace`: spaces before and after, unless the text is empty.
fn pad(s: &str, before: usize, after: usize) -> String {
    if s.is_empty() {
        return String::new();
    }
    format!("{}{s}{}", " ".repeat(before), " ".repeat(after))
}

/// docker/cli's `truncateWithLength`: the first `len` bytes (whole characters here).
fn truncate(s: &str, len: usize) -> String {
    s.chars().take(len).collect()
}

/// The order of each kind of object's keys in a document: objects with the same set of
/// keys (one Go struct type) list them in the same order.
#[derive(Default)]
struct KeyOrder(HashMap<Vec<String>, Vec<String>>);

impl KeyOrder {
    fn of(doc: &Json) -> KeyOrder {
        let mut order = KeyOrder::default();
        order.learn(doc);
        order
    }

    fn learn(&mut self, v: &Json) {
        match v {
            Json::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let mut sorted = keys.clone();
                sorted.sort();
                self.0.entry(sorted).or_insert(keys);
                m.values().for_each(|x| self.learn(x));
            }
            Json::Array(a) => a.iter().for_each(|x| self.learn(x)),
            _ => {}
        }
    }

    /// `m`'s keys in the document's order (sorted, as Go marshals a map, if unknown).
    fn keys<'m>(&self, m: &'m std::collections::BTreeMap<Arc<str>, Value>) -> Vec<&'m str> {
        let sorted: Vec<String> = m.keys().map(|k| k.to_string()).collect();
        match self.0.get(&sorted) {
            Some(keys) => keys
                .iter()
                .filter_map(|k| m.get_key_value(k.as_str()).map(|(k, _)| &**k))
                .collect(),
            None => m.keys().map(|k| &**k).collect(),
        }
    }
}

/// Docker's `json` function: Go's `json.Marshal` of the value, compact, `<`, `>` and `&`
/// escaped as Go escapes them.
fn json_text(v: &Value, order: &KeyOrder) -> String {
    let mut out = String::new();
    write_json(v, order, &mut out);
    out
}

fn write_json(v: &Value, order: &KeyOrder, out: &mut String) {
    match v {
        Value::Map(m) => {
            out.push('{');
            for (i, k) in order.keys(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&go_json(&Json::String(k.to_string())));
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_json(x, order, out);
                }
            }
            out.push('}');
        }
        Value::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, order, out);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(&go_json(&Json::String(s.to_string()))),
        Value::Nil => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

/// Go's `json.Marshal`: compact, with `<`, `>`, `&` escaped.
pub fn go_json(v: &Json) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Odd templates never panic: every combination of a few awkward pieces renders or is
    /// refused.
    #[test]
    fn odd_templates_never_panic() {
        let doc = json!({"A": {"B": [1, "x", null]}, "Id": "i"});
        let pieces = [
            "{{", "}}", "(", ")", "range ", "end", "else", ".A", ".A.B", "|", "\"", "index ",
            "json ", " ", "- ", " -", "0", "len ", "if ", "é",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let _ = render(&format!("{a}{b}{c}"), &doc);
                    let _ = render(&format!("{{{{{a}{b}{c}}}}}"), &doc);
                    let _ = render(&format!("{{{{range .A.B}}}}{a}{b}{c}{{{{end}}}}"), &doc);
                }
            }
        }
    }

    #[test]
    fn paths_json_range_index() {
        let doc = json!({"Name": "/bb1", "NetworkSettings": {"Networks": {
            "bridge": {"IPAddress": "172.17.0.3", "Aliases": null},
            "bridge2": {"IPAddress": "172.18.0.3", "Aliases": ["e40a58ad05ac"]}}}});
        assert_eq!(render("{{.Name}}", &doc).unwrap(), "/bb1");
        assert_eq!(
            render("{{json .NetworkSettings.Networks.bridge}}", &doc).unwrap(),
            r#"{"IPAddress":"172.17.0.3","Aliases":null}"#
        );
        assert_eq!(
            render(
                "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                &doc
            )
            .unwrap(),
            "172.17.0.3 172.18.0.3 "
        );
        assert_eq!(
            render(
                "{{index .NetworkSettings.Networks.bridge2.Aliases 0}}",
                &doc
            )
            .unwrap(),
            "e40a58ad05ac"
        );
        assert_eq!(render("{{.Nope}}", &doc).unwrap(), "<no value>");
        assert_eq!(
            render("{{.ID}} {{ .Id }}", &json!({"Id": "x1"})).unwrap(),
            "x1 x1"
        );
        assert_eq!(render("{{.Name | upper}}", &doc).unwrap(), "/BB1");
        assert_eq!(
            render(
                "{{join .NetworkSettings.Networks.bridge2.Aliases \",\"}}",
                &doc
            )
            .unwrap(),
            "e40a58ad05ac"
        );
        assert_eq!(
            render("{{join (split \"a,b\" \",\") \"-\"}}", &doc).unwrap(),
            "a-b"
        );
        assert_eq!(
            render(
                "{{(index .NetworkSettings.Networks \"bridge2\").IPAddress}}",
                &doc
            )
            .unwrap(),
            "172.18.0.3"
        );
        assert_eq!(
            render(
                "{{(index .NetworkSettings.Networks \"bridge\").Aliases}}",
                &doc
            )
            .unwrap(),
            "<no value>",
            "a null value prints as Go prints a nil interface in a map"
        );
        assert!(render("{{(index .Name}}", &doc).is_err());
        // Hostile nesting is refused, never a stack overflow.
        let deep = "{{range .}}".repeat(100_000);
        let e = render(&deep, &doc).unwrap_err();
        assert!(e.contains("nesting depth exceeded"), "{e}");
        let parens = format!(
            "{{{{{}.Name{}}}}}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = render(&parens, &doc).unwrap_err();
        assert!(e.contains("nesting depth exceeded"), "{e}");
        // What docker/cli adds, and Go's own functions and variables.
        let ids = json!({"Id": "0123456789abcdef", "Name": "web", "Empty": "",
            "Networks": {"a": {"IP": "1"}, "b": {"IP": "2"}}, "Code": 0});
        let r = |t: &str| render(t, &ids).unwrap();
        assert_eq!(
            r("{{truncate .Id 5}}|{{pad .Name 2 1}}|{{pad .Empty 2 1}}|"),
            "01234|  web ||"
        );
        assert_eq!(r("{{title \"hello big-world\"}}"), "Hello Big-World");
        assert_eq!(
            r("{{range $k, $v := .Networks}}{{$k}}={{$v.IP}} {{end}}"),
            "a=1 b=2 "
        );
        assert_eq!(
            r("{{with .Networks.a}}{{.IP}}{{end}}{{if eq .Code 0}} ok{{end}}"),
            "1 ok"
        );
        assert_eq!(r("{{printf \"%s:%d\" .Name 3}}"), "web:3");
        assert_eq!(
            r("{{json .Networks}}"),
            r#"{"a":{"IP":"1"},"b":{"IP":"2"}}"#
        );
        assert_eq!(
            render("{{if .NetworkSettings}}yes{{else}}no{{end}}", &doc).unwrap(),
            "yes"
        );
        assert_eq!(
            render("{{json \"<a&b>\"}}", &doc).unwrap(),
            r#""\u003ca\u0026b\u003e""#
        );
        assert!(render("{{.Name", &doc).is_err());
        assert!(render("{{range .Name}}", &doc).is_err());
        assert!(render("{{frob .Name}}", &doc)
            .unwrap_err()
            .contains("function \"frob\" not defined"));
    }
}
