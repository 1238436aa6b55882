//! `docker network create` off the tutorial's path: names Docker takes, and IPAM's
//! configuration and refusals, each as a real Docker 20.10.24 (engine 20.10.24+dfsg1, API
//! 1.41) printed it when the same steps ran on both by hand.

mod common;

use common::netsh;

/// Runs `script`; it must succeed and print `OK`.
fn holds(script: &str) {
    netsh().eval(script).run().success().stdout_has("OK");
}

/// Docker accepts any network name: `docker network create ck-<200 × x>` succeeds and
/// the network works. (netsh's firewall named networks in rule comments, which hold at
/// most 128 bytes: a long name failed the network.)
#[test]
fn a_long_network_name_is_accepted() {
    let name = "x".repeat(150);
    holds(&format!(
        "network(\"{name}\");\n\
         let c = run(\"c1\", \"{name}\");\n\
         assert_eq(c.ip, \"172.18.0.2\");\n\
         print(\"OK\");"
    ));
}

/// Docker accepts `docker network create 'ck-a"b'` (and a name with a newline or a
/// tab); the firewall's comments must not choke on it.
#[test]
fn a_network_name_with_a_quote_is_accepted() {
    holds(
        "network(\"a\\\"b\");\n\
         let c = run(\"c1\", \"a\\\"b\");\n\
         assert_eq(c.ip, \"172.18.0.2\");\n\
         print(\"OK\");",
    );
}

/// Docker 20.10.24: `docker network create --subnet 10.33.0.0/24 ck-ovl` beside a network
/// on 10.33.0.0/24 prints "Error response from daemon: Pool overlaps with other one on
/// this address space" — no "invalid pool request: " (that prefix is newer Docker's).
#[test]
fn an_overlapping_subnet_is_refused_in_docker_20_10_words() {
    holds(
        "network(\"dn\", #{subnet: \"10.33.0.0/24\"});\n\
         let msg = \"\";\n\
         try { network(\"ovl\", #{subnet: \"10.33.0.128/25\"}); } catch (e) { msg = `${e}`; }\n\
         assert_eq(msg, \"Error response from daemon: Pool overlaps with other one on this address space\");\n\
         print(\"OK\");",
    );
}

/// Docker: `docker network create --subnet 10.99.0.0/24 ck-sub` then `docker network
/// inspect ck-sub` shows `"Config": [{"Subnet": "10.99.0.0/24"}]` — no Gateway, as the
/// user gave none (the raw API answer is the same).
#[test]
fn a_subnet_given_without_gateway_shows_no_gateway_in_ipam_config() {
    holds(
        "network(\"sub\", #{subnet: \"10.99.0.0/24\"});\n\
         assert_eq(inspect(\"sub\").IPAM.Config, [#{Subnet: \"10.99.0.0/24\"}]);\n\
         print(\"OK\");",
    );
}

/// Docker: `docker network create --subnet 10.40.0.0/24 --gateway 10.41.0.1 ck-gwbad`
/// prints "no matching subnet for gateway 10.41.0.1" (the CLI's check, no "Error response
/// from daemon").
#[test]
fn a_gateway_outside_the_subnet_is_refused_in_docker_words() {
    holds(
        "let msg = \"\";\n\
         try { network(\"gwbad\", #{subnet: \"10.40.0.0/24\", gateway: \"10.41.0.1\"}); } catch (e) { msg = `${e}`; }\n\
         assert_eq(msg, \"no matching subnet for gateway 10.41.0.1\");\n\
         print(\"OK\");",
    );
}

/// Docker 20.10.24, a gateway on the subnet's network or broadcast address:
/// `docker network create --subnet 10.44.0.0/24 --gateway 10.44.0.0 ck-gw0` prints
/// "Error response from daemon: failed to allocate gateway (10.44.0.0): Address already in
/// use" (the same for 10.45.0.255 on 10.45.0.0/24); a /31 prints "Error response from daemon:
/// failed to allocate gateway (): No available addresses on this pool".
#[test]
fn gateway_allocation_failures_in_docker_words() {
    holds(
        "fn refusal(name, spec) { let msg = \"\"; try { network(name, spec); } catch (e) { msg = `${e}`; } msg }\n\
         assert_eq(refusal(\"gw0\", #{subnet: \"10.44.0.0/24\", gateway: \"10.44.0.0\"}),\n\
             \"Error response from daemon: failed to allocate gateway (10.44.0.0): Address already in use\");\n\
         assert_eq(refusal(\"gw255\", #{subnet: \"10.45.0.0/24\", gateway: \"10.45.0.255\"}),\n\
             \"Error response from daemon: failed to allocate gateway (10.45.0.255): Address already in use\");\n\
         assert_eq(refusal(\"s31\", #{subnet: \"10.46.0.0/31\"}),\n\
             \"Error response from daemon: failed to allocate gateway (): No available addresses on this pool\");\n\
         print(\"OK\");",
    );
}

/// Docker 20.10.24 accepts a subnet written with host bits: `docker network create
/// --subnet 10.42.0.5/24 ck-hostbits` succeeds, inspect keeps `"Config": [{"Subnet":
/// "10.42.0.5/24"}]`, and a container on it gets 10.42.0.2 with `default via 10.42.0.1`.
#[test]
fn a_subnet_with_host_bits_is_accepted() {
    holds(
        "network(\"hb\", #{subnet: \"10.42.0.5/24\"});\n\
         assert_eq(inspect(\"hb\").IPAM.Config, [#{Subnet: \"10.42.0.5/24\"}]);\n\
         let c = run(\"hbc\", \"hb\");\n\
         assert_eq(c.ip, \"10.42.0.2\");\n\
         assert(ip_route(c).contains(\"default via 10.42.0.1 dev eth0\"));\n\
         print(\"OK\");",
    );
}

/// The docker CLI lists networks by name in natural order (`sortorder.NaturalLess`):
/// digit runs compare as numbers, the rest byte by byte, so `B` before `a` and `n9` before
/// `n10`.
#[test]
fn network_ls_sorts_names_naturally() {
    holds(
        "for n in [\"n10\", \"a\", \"n9\", \"B\"] { network(n); }\n\
         let names = [];\n\
         for line in network_ls().split(\"\\n\") { let w = line.split(\" \").filter(|x| x != \"\"); if w.len() > 1 { names.push(w[1]); } }\n\
         assert_eq(names, [\"ID\", \"B\", \"a\", \"bridge\", \"host\", \"n9\", \"n10\", \"none\"]);\n\
         print(\"OK\");",
    );
}
