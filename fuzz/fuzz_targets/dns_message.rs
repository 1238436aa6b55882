//! The embedded DNS server's message handling under libFuzzer: `cargo fuzz run dns_message`.
//!
//! Every packet the server gets goes through `answer` (TCP) or `answer_udp` (UDP), pure
//! functions of the bytes and the records, so the server's own source file is compiled in
//! here as it is; the one thing it needs of the rest of netsh, entering a namespace to bind
//! its sockets, is never called and stands in as a stub. Whatever the input, neither may
//! panic, and a response must be a DNS message that fits its transport and answers the
//! query's ID.

#![no_main]

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Stands in for netsh's `kernel` module, which dns.rs names for binding in a namespace.
#[allow(dead_code)]
mod kernel {
    pub mod netns {
        use std::io;
        use std::os::fd::BorrowedFd;

        /// Never called by the message handling.
        pub fn run_in<T, F>(_ns: BorrowedFd<'_>, _f: F) -> io::Result<T>
        where
            T: Send,
            F: FnOnce() -> io::Result<T> + Send,
        {
            Err(io::Error::other("no namespaces in the fuzz target"))
        }
    }
}

#[allow(dead_code)]
#[path = "../../src/services/dns.rs"]
mod dns;

fn records() -> &'static dns::Records {
    static RECORDS: OnceLock<dns::Records> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut r = dns::Records::default();
        r.insert("web", Ipv4Addr::new(172, 18, 0, 2));
        r.insert("web", Ipv4Addr::new(172, 18, 0, 3));
        r.insert("db.n1", Ipv4Addr::new(172, 18, 0, 4));
        // PTR questions take their own path (4.0.18.172.in-addr.arpa).
        r.insert_pointer(Ipv4Addr::new(172, 18, 0, 4), "db.n1");
        for i in 0..200u32 {
            r.insert("many", Ipv4Addr::from(0x0a00_0000 + i));
        }
        r
    })
}

/// A response answers the query's ID, is a response, and fits `limit`.
fn check(query: &[u8], response: Option<Vec<u8>>, limit: usize) {
    let Some(bytes) = response else { return };
    assert!(bytes.len() >= 12, "a response shorter than a header");
    assert!(bytes.len() <= limit, "{} bytes over a limit of {limit}", bytes.len());
    assert_eq!(bytes[..2], query[..2], "the response answers another ID");
    assert!(bytes[2] & 0x80 != 0, "the response is not flagged as one");
}

fuzz_target!(|data: &[u8]| {
    let records = records();
    check(data, dns::answer(data, records), 65535);
    check(data, dns::answer_udp(data, records), 4096);
});
