//! A small evaluator of Go's `text/template` for `docker inspect -f`, over the inspect
//! documents as JSON values (pure).
//!
//! Covers what people type with `-f`: text, field paths (`.NetworkSettings.IPAddress`,
//! `.` itself), string literals, `{{range PIPELINE}}…{{end}}` (over a list's elements or a
//! map's values, in key order as Go ranges over a map), `{{if PIPELINE}}…{{else}}…{{end}}`,
//! pipes (`{{.Name | upper}}`), parenthesised pipelines with a field path after them
//! (`{{(index .NetworkSettings.Networks "n1").IPAddress}}`), and the functions `json` (Docker's added function:
//! `json.Marshal`, compact, `<>&` escaped as Go does), `index`, `len`, and Docker's `upper`,
//! `lower`, `title`, `join`, `split`. A value prints as Go's `fmt` prints it: strings raw,
//! `<nil>` for null, `<no value>` for a missing map key, lists as `[a b]`, maps as
//! `map[k:v]` with sorted keys.

use serde_json::Value;

/// How deep `range`/`if` blocks and parentheses may nest (the evaluator recurses on them,
/// so a hostile template must not exhaust the stack).
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(String),
    Range(String, Vec<Node>),
    If(String, Vec<Node>, Vec<Node>),
}

/// Parses and runs `template` against `data`. Errors in the words of Go's template package
/// (`template: :1: unexpected EOF`, `template: :1:2: executing "" at <…>: …`), shortened.
pub fn render(template: &str, data: &Value) -> Result<String, String> {
    let tokens = lex(template)?;
    let mut pos = 0;
    let (nodes, end) = parse_nodes(&tokens, &mut pos, 0)?;
    if let Some(e) = end {
        return Err(format!("template: :1: unexpected {{{{{e}}}}}"));
    }
    let mut out = String::new();
    run(&nodes, data, &mut out)?;
    Ok(out)
}

enum Tok {
    Text(String),
    Action(String),
}

fn lex(t: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Tok::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "template: :1: unclosed action".to_string())?;
        let mut inner = &after[..end];
        // `{{- x -}}` trims the white space around the action.
        if let Some(s) = inner.strip_prefix("- ") {
            inner = s;
            if let Some(Tok::Text(prev)) = out.last_mut() {
                *prev = prev.trim_end().to_string();
            }
        }
        let trim_after = inner.ends_with(" -");
        if trim_after {
            inner = &inner[..inner.len() - 2];
        }
        out.push(Tok::Action(inner.trim().to_string()));
        rest = &after[end + 2..];
        if trim_after {
            rest = rest.trim_start();
        }
    }
    if !rest.is_empty() {
        out.push(Tok::Text(rest.to_string()));
    }
    Ok(out)
}

/// Nodes up to an `{{end}}` or `{{else}}` (returned as the second value).
fn parse_nodes(
    toks: &[Tok],
    pos: &mut usize,
    depth: usize,
) -> Result<(Vec<Node>, Option<String>), String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "template: :1: nested deeper than {MAX_NESTING} levels"
        ));
    }
    let mut nodes = Vec::new();
    while *pos < toks.len() {
        let tok = &toks[*pos];
        *pos += 1;
        match tok {
            Tok::Text(s) => nodes.push(Node::Text(s.clone())),
            Tok::Action(a) if a == "end" || a == "else" => return Ok((nodes, Some(a.clone()))),
            Tok::Action(a) if a.starts_with("range ") || a.starts_with("if ") => {
                let (kw, pipe) = a.split_once(' ').unwrap_or((a, ""));
                let (body, end) = parse_nodes(toks, pos, depth + 1)?;
                let mut other = Vec::new();
                match end.as_deref() {
                    Some("end") => {}
                    Some("else") => {
                        let (e, end2) = parse_nodes(toks, pos, depth + 1)?;
                        if end2.as_deref() != Some("end") {
                            return Err("template: :1: unexpected EOF".into());
                        }
                        other = e;
                    }
                    _ => return Err("template: :1: unexpected EOF".into()),
                }
                nodes.push(if kw == "range" {
                    Node::Range(pipe.trim().to_string(), body)
                } else {
                    Node::If(pipe.trim().to_string(), body, other)
                });
            }
            Tok::Action(a) if a.starts_with("/*") => {}
            Tok::Action(a) => nodes.push(Node::Action(a.clone())),
        }
    }
    Ok((nodes, None))
}

fn run(nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(s) => out.push_str(s),
            Node::Action(p) => match eval_pipeline(p, dot)? {
                Some(v) => out.push_str(&go_print(&v)),
                None => out.push_str("<no value>"),
            },
            Node::Range(p, body) => match eval_pipeline(p, dot)? {
                Some(Value::Array(items)) => {
                    for item in &items {
                        run(body, item, out)?;
                    }
                }
                Some(Value::Object(map)) => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort();
                    for k in keys {
                        run(body, &map[k], out)?;
                    }
                }
                Some(Value::Null) | None => {}
                Some(v) => {
                    return Err(format!(
                        "template: range can't iterate over {}",
                        go_print(&v)
                    ))
                }
            },
            Node::If(p, yes, no) => {
                let v = eval_pipeline(p, dot)?;
                run(if truthy(v.as_ref()) { yes } else { no }, dot, out)?;
            }
        }
    }
    Ok(())
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    }
}

/// Words of a command: field paths, quoted strings, identifiers.
fn words(cmd: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = cmd.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => {
                        if let Some(e) = chars.next() {
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                    }
                    Some(ch) => s.push(ch),
                    None => return Err("template: :1: unterminated quoted string".into()),
                }
            }
            out.push(s);
        } else if c == '(' {
            // A parenthesised pipeline, then perhaps a field path: `(index .A "k").B`.
            let mut s = String::new();
            let (mut depth, mut quoted) = (0, false);
            for ch in chars.by_ref() {
                s.push(ch);
                match ch {
                    '"' => quoted = !quoted,
                    '(' if !quoted => {
                        depth += 1;
                        if depth > MAX_NESTING {
                            return Err(format!(
                                "template: :1: nested deeper than {MAX_NESTING} levels"
                            ));
                        }
                    }
                    ')' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if depth != 0 {
                return Err("template: :1: unclosed left paren".into());
            }
            rest_of_word(&mut chars, &mut s);
            out.push(s);
        } else {
            let mut s = String::new();
            rest_of_word(&mut chars, &mut s);
            out.push(s);
        }
    }
    Ok(out)
}

/// Moves the characters up to the next white space from `chars` to `s`.
fn rest_of_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, s: &mut String) {
    while let Some(&ch) = chars.peek() {
        if ch.is_whitespace() {
            break;
        }
        s.push(ch);
        chars.next();
    }
}

fn eval_pipeline(p: &str, dot: &Value) -> Result<Option<Value>, String> {
    let mut prev: Option<Option<Value>> = None;
    for cmd in split_pipes(p) {
        let mut ws = words(&cmd)?;
        if ws.is_empty() {
            return Err("template: :1: missing value for command".into());
        }
        let head = ws.remove(0);
        let mut args: Vec<Option<Value>> =
            ws.iter().map(|w| arg(w, dot)).collect::<Result<_, _>>()?;
        if let Some(p) = prev.take() {
            args.push(p);
        }
        let v = if head.starts_with(['.', '"', '(']) {
            if !args.is_empty() {
                return Err(format!(
                    "template: :1: can't give argument to non-function {head}"
                ));
            }
            arg(&head, dot)?
        } else {
            call(&head, args)?
        };
        prev = Some(v);
    }
    Ok(prev.unwrap_or(None))
}

/// Splits on `|` outside quotes.
fn split_pipes(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut depth = 0_i32;
    for c in p.chars() {
        match c {
            '|' if !quoted && depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => {
                match c {
                    '"' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => depth -= 1,
                    _ => {}
                }
                cur.push(c);
            }
        }
    }
    out.push(cur);
    out
}

fn arg(w: &str, dot: &Value) -> Result<Option<Value>, String> {
    if let Some(s) = w.strip_prefix('"') {
        return Ok(Some(Value::String(s.to_string())));
    }
    if w == "." {
        return Ok(Some(dot.clone()));
    }
    if w.starts_with('(') {
        let Some(close) = w.rfind(')') else {
            return Err("template: :1: unclosed left paren".into());
        };
        let v = eval_pipeline(&w[1..close], dot)?;
        return match (&w[close + 1..], v) {
            ("", v) => Ok(v),
            (_, None) => Ok(None),
            (rest, Some(v)) => arg(rest, &v),
        };
    }
    if let Some(path) = w.strip_prefix('.') {
        let mut cur = dot.clone();
        for field in path.split('.') {
            cur = match cur {
                // The docker CLI runs a template on the typed value first, whose Go field is
                // `ID` where the JSON says `Id`; both work there.
                Value::Object(ref m) => match m.get(field).or_else(|| match field {
                    "ID" => m.get("Id"),
                    _ => None,
                }) {
                    Some(v) => v.clone(),
                    None => return Ok(None),
                },
                Value::Null => return Ok(None),
                other => {
                    return Err(format!(
                        "template: :1: executing \"\" at <{w}>: can't evaluate field {field} in type {}",
                        go_type(&other)
                    ))
                }
            };
        }
        return Ok(Some(cur));
    }
    if let Ok(n) = w.parse::<i64>() {
        return Ok(Some(Value::from(n)));
    }
    match w {
        "true" => Ok(Some(Value::Bool(true))),
        "false" => Ok(Some(Value::Bool(false))),
        "nil" => Ok(Some(Value::Null)),
        _ => Err(format!("template: :1: function \"{w}\" not defined")),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "interface {}",
    }
}

fn call(name: &str, args: Vec<Option<Value>>) -> Result<Option<Value>, String> {
    let need = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "template: :1: wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    let s = |v: &Option<Value>| v.as_ref().map(go_print).unwrap_or_default();
    match name {
        "json" => {
            need(1)?;
            Ok(Some(Value::String(go_json(
                args[0].as_ref().unwrap_or(&Value::Null),
            ))))
        }
        "len" => {
            need(1)?;
            let n = match &args[0] {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                Some(Value::String(s)) => s.len(),
                _ => return Err("template: :1: error calling len: len of nil".into()),
            };
            Ok(Some(Value::from(n)))
        }
        "index" => {
            if args.is_empty() {
                return Err(
                    "template: :1: wrong number of args for index: want at least 1 got 0".into(),
                );
            }
            let mut cur = args[0].clone();
            for k in &args[1..] {
                cur = match (cur, k) {
                    (Some(Value::Object(m)), Some(Value::String(key))) => m.get(key).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(i))) => {
                        let i = i.as_u64().unwrap_or(u64::MAX) as usize;
                        Some(a.get(i).cloned().ok_or_else(|| {
                            format!("template: :1: error calling index: index out of range: {i}")
                        })?)
                    }
                    (Some(Value::Null) | None, _) => {
                        return Err("template: :1: error calling index: index of untyped nil".into())
                    }
                    (_, _) => return Err("template: :1: error calling index: cannot index".into()),
                };
            }
            Ok(Some(cur.unwrap_or(Value::Null)))
        }
        "upper" | "lower" | "title" => {
            need(1)?;
            let t = s(&args[0]);
            Ok(Some(Value::String(match name {
                "upper" => t.to_uppercase(),
                "lower" => t.to_lowercase(),
                _ => t
                    .split(' ')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            })))
        }
        "join" => {
            need(2)?;
            let items = match &args[0] {
                Some(Value::Array(a)) => a.iter().map(go_print).collect::<Vec<_>>(),
                _ => return Err("template: :1: error calling join: not a list".into()),
            };
            Ok(Some(Value::String(items.join(&s(&args[1])))))
        }
        "split" => {
            need(2)?;
            let parts = s(&args[0])
                .split(&s(&args[1]))
                .map(|p| Value::String(p.to_string()))
                .collect();
            Ok(Some(Value::Array(parts)))
        }
        "println" => Ok(Some(Value::String(
            args.iter().map(s).collect::<Vec<_>>().join(" ") + "\n",
        ))),
        "print" => Ok(Some(Value::String(args.iter().map(s).collect::<String>()))),
        _ => Err(format!("template: :1: function \"{name}\" not defined")),
    }
}

/// Go's `json.Marshal`: compact, with `<`, `>`, `&` escaped.
pub fn go_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A value as Go's `fmt.Print` shows it.
fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            format!(
                "map[{}]",
                keys.iter()
                    .map(|k| format!("{k}:{}", go_print(&o[*k])))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
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
                    for d in pieces {
                        let _ = render(&format!("{a}{b}{c}{d}"), &doc);
                        let _ = render(&format!("{{{{{a}{b}{c}{d}}}}}"), &doc);
                    }
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
            "<nil>"
        );
        assert!(render("{{(index .Name}}", &doc).is_err());
        let deep = "{{range .}}".repeat(100_000);
        assert!(render(&deep, &doc)
            .unwrap_err()
            .contains("nested deeper than 64"));
        let parens = format!(
            "{{{{{}.Name{}}}}}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(render(&parens, &doc)
            .unwrap_err()
            .contains("nested deeper than 64"));
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
