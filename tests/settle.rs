//! What a script sees right after it changes the lab is what `ip` would show a moment
//! later (`Lab::settle_links`): a bridge that got its first port is UP with its carrier,
//! and carries traffic at once; a port's new link-local address is not `tentative`. The
//! kernel makes these changes from work queues, a bridge's after its ports', so the races
//! show on a loaded machine: several labs run at once, each making many networks in a row.

mod common;
use common::netsh;

/// How many labs run at once, and how many fresh networks each makes in a row.
const LABS: usize = 4;
const ROUNDS: usize = 12;

/// Each round: a fresh network, whose bridge gets its first port as the container joins.
/// The host's `ip a` must show the bridge UP with its carrier, and no address tentative;
/// the container must reach a port on the host through its gateway at once (the host's
/// answer goes out through the bridge, which drops it until the kernel has attached the
/// bridge's queueing discipline). Then, the container gone, the bridge is NO-CARRIER.
const DOCKER_ROUNDS: &str = r#"
serve(host(), 8080);
for i in 0..ROUNDS {
    let n = network(`n${i}`);
    let c = run(`c${i}`, n);
    let a = ip_a(host());
    assert(a.contains(`: ${n.bridge}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP `), `round ${i}: ${a}`);
    assert(!a.contains("tentative"), `round ${i}: ${a}`);
    let gw = n.gateway;
    let t = tcp(c, `${gw}:8080`);
    assert(t.ok, `round ${i}: ${c.name} reaches the host through ${gw}: ${t.error}`);
    rm(c);
    let a = ip_a(host());
    assert(a.contains(`: ${n.bridge}: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN `), `round ${i}: ${a}`);
}
print("DONE");
"#;

/// The same with the script's own devices: a bridge in a namespace, a veth whose end joins
/// it, both ends up, IPv6 addresses on both; the bridge is UP at once, nothing tentative,
/// and a ping across goes through the first time.
const OWN_ROUNDS: &str = r#"
for i in 0..ROUNDS {
    let a = netns(`a${i}`);
    let b = netns(`b${i}`);
    ip(`-n a${i} link add br0 type bridge`);
    ip(`-n a${i} link set br0 up`);
    ip(`-n a${i} addr add 10.9.0.1/24 dev br0`);
    ip(`-n a${i} addr add 2001:db8::1/64 dev br0`);
    ip(`-n a${i} link add p0 type veth peer name e0`);
    ip(`-n a${i} link set e0 netns b${i}`);
    ip(`-n a${i} link set p0 master br0`);
    ip(`-n a${i} link set p0 up`);
    ip(`-n b${i} addr add 10.9.0.2/24 dev e0`);
    ip(`-n b${i} addr add 2001:db8::2/64 dev e0`);
    ip(`-n b${i} link set e0 up`);
    let shown = ip_a(a);
    assert(shown.contains(": br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "), `round ${i}: ${shown}`);
    assert(!shown.contains("tentative"), `round ${i}: ${shown}`);
    assert(!ip_a(b).contains("tentative"), `round ${i}: ${ip_a(b)}`);
    assert_reach(b, "10.9.0.1");
    assert_reach(b, "2001:db8::1");
}
print("DONE");
"#;

fn rounds(script: &str) {
    let script = script.replace("ROUNDS", &ROUNDS.to_string());
    let runs: Vec<_> = std::thread::scope(|s| {
        (0..LABS)
            .map(|_| s.spawn(|| netsh().eval(&script).run()))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("lab thread"))
            .collect()
    });
    for run in runs {
        run.success().stdout_has("DONE");
    }
}

#[test]
fn a_bridge_that_gets_its_first_container_is_up_and_carries_traffic_at_once() {
    rounds(DOCKER_ROUNDS);
}

#[test]
fn the_scripts_own_bridge_and_ipv6_addresses_are_settled_at_the_next_look() {
    rounds(OWN_ROUNDS);
}
