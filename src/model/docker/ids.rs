//! Docker's identifiers: 64 hex digits (12 for short forms), `02:42:` MACs derived from the
//! IPv4 address, `veth` + 7 hex host-side interface names, `br-` + short id bridge names.

use std::net::Ipv4Addr;

/// Draws identifiers from a seeded generator, so the model stays pure and tests are
/// repeatable; the lab seeds it from the kernel's randomness.
#[derive(Debug, Clone)]
pub struct Ids {
    rng: fastrand::Rng,
}

impl Ids {
    pub fn with_seed(seed: u64) -> Ids {
        Ids {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from_digit(self.rng.u32(0..16), 16).unwrap_or('0'))
            .collect()
    }

    /// A container, network or endpoint ID.
    pub fn id(&mut self) -> String {
        self.hex(64)
    }

    /// The host end of a container's veth pair.
    pub fn veth_name(&mut self) -> String {
        format!("veth{}", self.hex(7))
    }

    /// A locally administered MAC for a bridge (Docker uses the 02:42 prefix for those too).
    pub fn bridge_mac(&mut self) -> String {
        let b: Vec<String> = (0..4).map(|_| format!("{:02x}", self.rng.u8(..))).collect();
        format!("02:42:{}", b.join(":"))
    }
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// 172.18.0.3 → 02:42:ac:12:00:03.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

pub fn bridge_name(network_id: &str) -> String {
    format!("br-{}", short(network_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_lowercase_hex_and_short_is_12() {
        let mut ids = Ids::with_seed(1);
        let id = ids.id();
        assert_eq!(id.len(), 64);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(short(&id).len(), 12);
        assert_ne!(ids.id(), id);
    }

    #[test]
    fn names_and_macs() {
        let mut ids = Ids::with_seed(7);
        let v = ids.veth_name();
        assert_eq!(v.len(), 11);
        assert!(v.starts_with("veth"));
        assert_eq!(mac_for(Ipv4Addr::new(172, 18, 0, 3)), "02:42:ac:12:00:03");
        assert_eq!(
            bridge_name("8034bac3c9334d2e9723a317c93a9fc6a6f2848512d7ccd80848249c75b10a8a"),
            "br-8034bac3c933"
        );
        assert!(ids.bridge_mac().starts_with("02:42:"));
    }
}
