//! Golden outputs: `assert_snapshot("name", text)` compares a view with
//! `snapshots/<script stem>/<name>.txt` beside the script.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use similar::TextDiff;

/// Which volatile parts of a view are replaced by placeholders before comparing. All on by
/// default; a script turns one off with `#{ids: false}` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalise {
    /// Docker IDs (64 or 12 hex digits, `br-<id>`, host-side `veth<7 hex>` names) become
    /// `<id>` (the IDs are random in every lab, as in Docker).
    pub ids: bool,
    /// MAC addresses other than Docker's `02:42:…` (which follow from the IPv4 address and are
    /// stable) become `<mac>`: the kernel picks them at random. So do the IPv6 link-local
    /// addresses made from them (`fe80::<mac>`, RFC 4291 appendix A).
    pub macs: bool,
    /// RFC 3339 timestamps (`Created` in inspect output) become `<time>`.
    pub timestamps: bool,
}

impl Default for Normalise {
    fn default() -> Self {
        Normalise {
            ids: true,
            macs: true,
            timestamps: true,
        }
    }
}

/// `text` with every match of `pattern` (compiled once, into `cell`) replaced `with`.
fn replace(
    text: String,
    cell: &'static OnceLock<Regex>,
    pattern: &str,
    with: impl regex::Replacer,
) -> String {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid pattern"))
        .replace_all(&text, with)
        .into_owned()
}

/// `text` with its volatile parts replaced as `opts` says.
pub fn normalise(text: &str, opts: Normalise) -> String {
    static TIME: OnceLock<Regex> = OnceLock::new();
    static MAC: OnceLock<Regex> = OnceLock::new();
    static LINK_LOCAL: OnceLock<Regex> = OnceLock::new();
    static ID: OnceLock<Regex> = OnceLock::new();
    static VETH: OnceLock<Regex> = OnceLock::new();
    let mut out = text.to_string();
    if opts.timestamps {
        let rfc3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})";
        out = replace(out, &TIME, rfc3339, "<time>");
    }
    if opts.macs {
        out = replace(
            out,
            &MAC,
            r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b",
            |c: &regex::Captures| {
                let mac = &c[0];
                // Docker's own, loopback's and broadcast stay: they are not random.
                let stable = mac.starts_with("02:42:")
                    || mac == "00:00:00:00:00:00"
                    || mac == "ff:ff:ff:ff:ff:ff";
                if stable {
                    mac.to_string()
                } else {
                    "<mac>".to_string()
                }
            },
        );
        let link_local = r"\bfe80::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,3}\b";
        out = replace(out, &LINK_LOCAL, link_local, "fe80::<mac>");
    }
    if opts.ids {
        out = replace(out, &ID, r"\b(?:[0-9a-f]{64}|[0-9a-f]{12})\b", "<id>");
        out = replace(out, &VETH, r"\bveth[0-9a-f]{7}\b", "veth<id>");
    }
    out
}

/// Where a snapshot lives: `snapshots/<script stem>/<name>.txt` beside `script`. Errors: a
/// name that is empty or would leave that folder.
pub fn path(script: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty()
        || name.contains('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.starts_with('.')
    {
        return Err(format!(
            "snapshot name {name:?} is not usable: it names a file in snapshots/ (no '/', \
             not empty, not starting with '.')"
        ));
    }
    let stem = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".into());
    let dir = script.parent().unwrap_or(Path::new("."));
    Ok(dir.join("snapshots").join(stem).join(format!("{name}.txt")))
}

/// A readable unified diff from the stored snapshot to the new text.
pub fn diff(stored: &str, actual: &str, path: &Path) -> String {
    TextDiff::from_lines(stored, actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{} (stored)", path.display()), "actual")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_parts_become_placeholders() {
        let text = "link/ether 6a:1f:03:aa:bb:cc brd ff:ff:ff:ff:ff:ff\n\
                    inet6 fe80::84e8:f7ff:fe6c:2734/64 scope link\n\
                    link/ether 02:42:ac:11:00:02\n\
                    \"Id\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\n\
                    br-0123456789ab  veth1a2b3c4 \"Created\": \"2026-11-30T16:15:31.123456789Z\"";
        let n = normalise(text, Normalise::default());
        assert_eq!(
            n,
            "link/ether <mac> brd ff:ff:ff:ff:ff:ff\n\
             inet6 fe80::<mac>/64 scope link\n\
             link/ether 02:42:ac:11:00:02\n\
             \"Id\": \"<id>\",\n\
             br-<id>  veth<id> \"Created\": \"<time>\""
        );
        let off = Normalise {
            ids: false,
            macs: false,
            timestamps: false,
        };
        assert_eq!(normalise(text, off), text);
    }

    #[test]
    fn snapshot_paths() {
        let p = path(Path::new("labs/router.rhai"), "ip-a").unwrap();
        assert_eq!(p, PathBuf::from("labs/snapshots/router/ip-a.txt"));
        for bad in ["", "../x", "a/b", ".hidden"] {
            assert!(path(Path::new("a.rhai"), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diff_is_unified() {
        let d = diff("a\nb\n", "a\nc\n", Path::new("s.txt"));
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
    }
}
