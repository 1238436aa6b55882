//! Validation of the names users give to namespaces and interfaces.

/// IFNAMSIZ is 16 bytes including the terminating NUL.
pub const IFNAMSIZ_MAX: usize = 15;

/// Checks an interface name the way the kernel's `dev_valid_name` does (not empty, at most
/// 15 bytes — IFNAMSIZ less its NUL —, not `.` or `..`, no `/`, `:` or whitespace), and says
/// why not. netsh also refuses a NUL or other control character (the kernel would cut the
/// name there, or print it unreadably) and a leading `-` (`ip` would read the name as an
/// option). Everything else — `;`, `$`, quotes, non-ASCII — is a valid name; `--trace`
/// quotes it.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an interface name cannot be empty".into());
    }
    if name.len() > IFNAMSIZ_MAX {
        return Err(format!(
            "an interface name is at most {IFNAMSIZ_MAX} bytes (IFNAMSIZ), \"{name}\" has {}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("\"{name}\" is not a valid interface name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "an interface name cannot contain {c:?} (found in {name:?})"
        ));
    }
    if name.starts_with('-') {
        return Err(format!(
            "an interface name cannot start with '-' (`ip` would read \"{name}\" as an option)"
        ));
    }
    Ok(())
}

/// Checks a network namespace name as `ip netns add` would accept it (a file name under
/// /run/netns: not empty, not `.` or `..`, no `/`, at most NAME_MAX = 255 bytes), keeping
/// "host" for the lab's own host namespace. netsh also refuses whitespace and control
/// characters (a name must read as one word) and a leading `-` (`ip` would read it as an
/// option); `;`, `$`, quotes and non-ASCII are valid, and `--trace` quotes them.
pub fn check_netns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a namespace name cannot be empty".into());
    }
    if name == "host" {
        return Err("\"host\" is the lab's host namespace; use host() to reach it".into());
    }
    if name == "." || name == ".." || name.contains('/') {
        return Err(format!(
            "\"{name}\" is not a valid namespace name (it must be a plain file name)"
        ));
    }
    if name.len() > 255 {
        return Err("a namespace name is at most 255 bytes".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "a namespace name cannot contain {c:?} (found in {name:?})"
        ));
    }
    if name.starts_with('-') {
        return Err(format!(
            "a namespace name cannot start with '-' (`ip` would read \"{name}\" as an option)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel() {
        assert!(check_ifname("veth-ns1").is_ok());
        assert!(check_ifname("abcdefghijklmno").is_ok());
        assert!(check_ifname("abcdefghijklmnop")
            .unwrap_err()
            .contains("at most 15 bytes"));
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("a:b").is_err());
        assert!(check_ifname("a b").is_err());
        assert!(check_ifname("..").is_err());
        assert!(check_ifname("a\nb").is_err());
        assert!(check_ifname("a\0b").is_err());
        assert!(check_ifname("-n").is_err());
        // The kernel takes these; --trace quotes them.
        assert!(check_ifname("a;id").is_ok());
        assert!(check_ifname("$(id)").is_ok());
        assert!(check_ifname("it's").is_ok());
        assert!(check_ifname("ünï").is_ok());
        assert!(check_ifname("ünïcödé€€").is_err(), "17 bytes");
    }

    #[test]
    fn namespace_names() {
        assert!(check_netns_name("ns1").is_ok());
        assert!(check_netns_name("host").unwrap_err().contains("host()"));
        assert!(check_netns_name("a/b").is_err());
        assert!(check_netns_name("").is_err());
        assert!(check_netns_name("a b").is_err());
        assert!(check_netns_name("a\nb").is_err());
        assert!(check_netns_name("-n").is_err());
        assert!(check_netns_name(".").is_err());
        assert!(check_netns_name(&"x".repeat(256)).is_err());
        assert!(check_netns_name(&"x".repeat(255)).is_ok());
        assert!(check_netns_name("a;id").is_ok());
        assert!(check_netns_name("$(id)").is_ok());
        assert!(check_netns_name("ünï").is_ok());
    }
}
