//! Syntax colours for the line being typed: keywords, strings, numbers, comments, netsh's
//! bindings and the word of a docker/ip/brctl/ping command line. Only colour codes are
//! added: the visible text, and so the cursor's place, stay as typed.

use colored::Colorize;

use crate::script::help::BINDINGS;

use super::complete::KEYWORDS;

/// `line` with colour codes around its tokens.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    if let Some((word, _)) = super::split_front(line) {
        if super::is_front_line(line) {
            let at = line.find(word).unwrap_or(0);
            out.push_str(&line[..at]);
            out.push_str(&word.bold().to_string());
            out.push_str(&line[at + word.len()..]);
            return out;
        }
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let end_of = |j: usize| chars.get(j).map_or(line.len(), |&(b, _)| b);
        if c == '/' && chars.get(i + 1).is_some_and(|&(_, n)| n == '/') {
            out.push_str(&line[at..].dimmed().to_string());
            break;
        }
        if c == '"' || c == '`' {
            let mut j = i + 1;
            let mut escaped = false;
            while j < chars.len() {
                let d = chars[j].1;
                j += 1;
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == c {
                    break;
                }
            }
            out.push_str(&line[at..end_of(j)].green().to_string());
            i = j;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.') {
                j += 1;
            }
            out.push_str(&line[at..end_of(j)].cyan().to_string());
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let word = &line[at..end_of(j)];
            let after_dot = line[..at].ends_with('.');
            if KEYWORDS.contains(&word) {
                out.push_str(&word.magenta().bold().to_string());
            } else if !after_dot && BINDINGS.iter().any(|b| b.on.is_none() && b.name == word) {
                out.push_str(&word.blue().to_string());
            } else {
                out.push_str(word);
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The text without its colour codes (tests).
#[cfg(test)]
pub fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_change_nothing_visible() {
        colored::control::set_override(true);
        for line in [
            "let a = netns(\"a\"); // comment",
            "ping(a, \"10.0.0.2\", #{count: 3}).ok",
            "\"unterminated \\\" string",
            "docker run -d --name web busybox",
            "ünï 42 `tmpl ${x}`",
            "",
        ] {
            let coloured = highlight(line);
            assert_eq!(plain(&coloured), line);
        }
        assert!(highlight("let x = 1").contains('\x1b'));
    }
}
