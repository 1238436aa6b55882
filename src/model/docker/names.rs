//! Names as Docker validates them.

/// Docker's rule for container (and here network) names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    let rest: Vec<char> = chars.collect();
    !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_name_rule() {
        for ok in ["bb", "bb1", "bb1-1", "my_tom", "a.b", "9x", "bridge2"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "b", "-bb", "_bb", ".bb", "bb!", "b b", "bb/1", "bé"] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
