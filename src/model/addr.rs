//! Parsing of the addresses users write: `192.168.1.1/24`, `fd00::1/64`, bare addresses.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses an interface address as `ip addr add` takes it: a prefix length is optional and
/// defaults to a host route (/32, /128), and host bits are kept.
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    match text.split_once('/') {
        Some((ip, len)) if ip.parse::<IpAddr>().is_ok() => Err(format!(
            "\"{text}\" has an invalid prefix length \"{len}\" (0-32 for IPv4, 0-128 for IPv6)"
        )),
        _ => Err(format!(
            "\"{text}\" is not an IP address (expected e.g. 192.168.1.1/24 or fd00::1/64)"
        )),
    }
}

/// Parses a destination prefix for a route; `default` is `None`.
pub fn parse_route_dst(text: &str) -> Result<Option<IpNet>, String> {
    match text.trim() {
        "default" | "0.0.0.0/0" => Ok(None),
        other => parse_cidr(other).map(|n| Some(n.trunc())),
    }
}

pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("\"{text}\" is not an IP address"))
}

/// An Ethernet address as iproute2's `ll_addr_a2n` takes it: six hex pairs joined by `:`
/// (a pair may be one digit).
pub fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(
            parse_cidr("192.168.1.1/24").unwrap().to_string(),
            "192.168.1.1/24"
        );
        assert_eq!(parse_cidr("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_cidr("fd00::1/64").unwrap().to_string(), "fd00::1/64");
        assert!(parse_cidr("192.168.1.1/33")
            .unwrap_err()
            .contains("invalid prefix length"));
        assert!(parse_cidr("bb1").unwrap_err().contains("not an IP address"));
    }

    #[test]
    fn route_destinations() {
        assert_eq!(parse_route_dst("default").unwrap(), None);
        assert_eq!(
            parse_route_dst("10.1.2.3/8").unwrap().unwrap().to_string(),
            "10.0.0.0/8"
        );
    }
}
