use super::*;
use crate::render::docker::{natural_cmp, port_lines};
use crate::render::inspect;
use serde_json::{json, Value};

const NOW: &str = "2026-11-27T22:45:57.174186187Z";

fn docker() -> Docker {
    Docker::new(42, NOW)
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn run(d: &mut Docker, name: &str, net: &str) -> Container {
    d.run(name, net, &AttachSpec::default(), NOW).unwrap()
}

#[test]
fn three_predefined_networks() {
    let d = docker();
    let names: Vec<_> = d.networks().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["bridge", "host", "none"]);
    let bridge = d.network("bridge").unwrap();
    assert_eq!(bridge.bridge.as_deref(), Some("docker0"));
    assert_eq!(bridge.subnet().unwrap().to_string(), "172.17.0.0/16");
    assert_eq!(bridge.gateway().unwrap(), ip("172.17.0.1"));
    assert_eq!(d.network("host").unwrap().driver, driver::HOST);
    assert_eq!(d.network("none").unwrap().driver, driver::NULL);
}

#[test]
fn user_networks_take_the_next_pool_and_a_br_bridge() {
    let mut d = docker();
    let n = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    assert_eq!(n.subnet().unwrap().to_string(), "172.18.0.0/16");
    assert_eq!(n.gateway().unwrap(), ip("172.18.0.1"));
    assert_eq!(n.bridge.clone().unwrap(), format!("br-{}", &n.id[..12]));
    let n3 = d
        .create_network("bridge3", &NetworkSpec::default(), NOW)
        .unwrap();
    assert_eq!(n3.subnet().unwrap().to_string(), "172.19.0.0/16");
}

#[test]
fn explicit_subnet_gateway_and_overlap() {
    let mut d = docker();
    let spec = NetworkSpec {
        subnet: Some("10.10.0.0/24".into()),
        gateway: Some("10.10.0.254".into()),
        ..Default::default()
    };
    let n = d.create_network("n1", &spec, NOW).unwrap();
    assert_eq!(n.gateway().unwrap(), ip("10.10.0.254"));
    let overlapping = NetworkSpec {
        subnet: Some("10.10.0.128/25".into()),
        ..Default::default()
    };
    assert_eq!(
        d.create_network("n2", &overlapping, NOW).unwrap_err(),
        DockerError::PoolOverlap
    );
    let on_docker0 = NetworkSpec {
        subnet: Some("172.17.5.0/24".into()),
        ..Default::default()
    };
    assert_eq!(
        d.create_network("n3", &on_docker0, NOW).unwrap_err(),
        DockerError::PoolOverlap
    );
    // A refused create changes nothing.
    assert_eq!(d.networks().len(), 4);
    let gw_only = NetworkSpec {
        gateway: Some("10.0.0.1".into()),
        ..Default::default()
    };
    assert_eq!(
        d.create_network("n4", &gw_only, NOW).unwrap_err(),
        DockerError::GatewayWithoutSubnet
    );
}

#[test]
fn network_creation_errors() {
    let mut d = docker();
    d.create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    let e = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap_err();
    assert_eq!(e.to_string(), "network with name bridge2 already exists");
    // Docker 20.10 takes any name but the predefined ones.
    for name in ["my net", "a/b", "é", "x!", "x:y", "ingress", "container:x"] {
        d.create_network(name, &NetworkSpec::default(), NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in ["bridge", "host", "none", "default"] {
        let e = d
            .create_network(name, &NetworkSpec::default(), NOW)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("operation is not permitted on predefined {name} network")
        );
    }
    let e = d
        .create_network("", &NetworkSpec::default(), NOW)
        .unwrap_err();
    assert_eq!(e, DockerError::EmptyNetworkName);
    let spec = NetworkSpec {
        driver: Some("overlay".into()),
        ..Default::default()
    };
    assert_eq!(
        d.create_network("ov", &spec, NOW).unwrap_err().to_string(),
        "the overlay driver is Docker's, but netsh models the bridge, host and null drivers only"
    );
    let spec = NetworkSpec {
        driver: Some("host".into()),
        ..Default::default()
    };
    assert!(matches!(
        d.create_network("h2", &spec, NOW),
        Err(DockerError::SingleInstance(_))
    ));
    let spec = NetworkSpec {
        subnet: Some("10.0.0.0/33".into()),
        ..Default::default()
    };
    assert!(matches!(
        d.create_network("x1", &spec, NOW),
        Err(DockerError::InvalidSubnet(_))
    ));
}

#[test]
fn containers_get_lowest_free_addresses_macs_and_eth0() {
    let mut d = docker();
    let mytom = run(&mut d, "mytom", "bridge");
    let e = &mytom.endpoints[0];
    assert_eq!(e.ip, Some((ip("172.17.0.2"), 16)));
    assert_eq!(e.mac.as_deref(), Some("02:42:ac:11:00:02"));
    assert_eq!(e.gateway, Some(ip("172.17.0.1")));
    assert_eq!(e.ifname.as_deref(), Some("eth0"));
    let host_if = e.host_ifname.clone().unwrap();
    assert!(host_if.starts_with("veth") && host_if.len() == 11);
    assert!(e.aliases.is_empty(), "no aliases on the default bridge");
    assert_eq!(mytom.network_mode, "default");
    let bb1 = run(&mut d, "bb1", "bridge");
    assert_eq!(bb1.endpoints[0].ip, Some((ip("172.17.0.3"), 16)));
}

#[test]
fn connect_adds_eth1_and_disconnect_releases() {
    let mut d = docker();
    let n = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    run(&mut d, "bb", "bridge2");
    let bb1 = run(&mut d, "bb1", "bridge");
    let (c, e) = d.connect("bb1", "bridge2", &AttachSpec::default()).unwrap();
    assert_eq!(e.ifname.as_deref(), Some("eth1"));
    assert_eq!(e.ip, Some((ip("172.18.0.3"), 16)));
    assert_eq!(e.mac.as_deref(), Some("02:42:ac:12:00:03"));
    assert_eq!(e.aliases, vec![bb1.short_id().to_string()]);
    assert_eq!(c.endpoints.len(), 2);
    assert_eq!(d.members(&n.id).len(), 2);

    let err = d
        .connect("bb1", "bridge2", &AttachSpec::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "endpoint with name bb1 already exists in network bridge2"
    );

    d.disconnect("bb1", "bridge2").unwrap();
    let err = d.disconnect("bb1", "bridge2").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("container {} is not connected to network bridge2", bb1.id)
    );
    // The address came back: the next container on bridge2 gets .3 again.
    let bb9 = run(&mut d, "bb9", "bridge2");
    assert_eq!(bb9.endpoints[0].ip, Some((ip("172.18.0.3"), 16)));
}

#[test]
fn ifnames_are_never_reused() {
    // Docker 20.10: run rc1 on rn1, connect rn2, disconnect rn1, connect rn3 → eth2; rn1
    // again → eth3.
    let mut d = docker();
    for n in ["rn1", "rn2", "rn3"] {
        d.create_network(n, &NetworkSpec::default(), NOW).unwrap();
    }
    run(&mut d, "rc1", "rn1");
    d.connect("rc1", "rn2", &AttachSpec::default()).unwrap();
    d.disconnect("rc1", "rn1").unwrap();
    let (_, e) = d.connect("rc1", "rn3", &AttachSpec::default()).unwrap();
    assert_eq!(e.ifname.as_deref(), Some("eth2"));
    let (c, e) = d.connect("rc1", "rn1", &AttachSpec::default()).unwrap();
    assert_eq!(e.ifname.as_deref(), Some("eth3"));
    assert_eq!(c.next_ifindex, 4);
    // A connect taken back gives its index back.
    d.undo_connect(&c.id, &e.network_id);
    let (_, e) = d.connect("rc1", "rn1", &AttachSpec::default()).unwrap();
    assert_eq!(e.ifname.as_deref(), Some("eth3"));
    // none and host endpoints have no interface and take no index.
    let none = run(&mut d, "rc2", "none");
    assert_eq!(none.next_ifindex, 0);
}

#[test]
fn the_gateway_is_re_chosen_on_every_connect_and_disconnect() {
    let mut d = docker();
    let spec = |internal| NetworkSpec {
        internal,
        ..Default::default()
    };
    d.create_network("front", &spec(false), NOW).unwrap();
    d.create_network("back", &spec(false), NOW).unwrap();
    d.create_network("aint", &spec(true), NOW).unwrap();
    let gw = |d: &Docker| {
        let c = d.container("gw1").unwrap();
        let e = d.gateway_endpoint(c).unwrap();
        (e.ifname.clone().unwrap(), e.gateway.unwrap().to_string())
    };
    run(&mut d, "gw1", "front");
    assert_eq!(gw(&d), ("eth0".into(), "172.18.0.1".into()));
    // "back" sorts before "front".
    d.connect("gw1", "back", &AttachSpec::default()).unwrap();
    assert_eq!(gw(&d), ("eth1".into(), "172.19.0.1".into()));
    // Internal networks come after the others, whatever their names.
    d.connect("gw1", "aint", &AttachSpec::default()).unwrap();
    assert_eq!(gw(&d), ("eth1".into(), "172.19.0.1".into()));
    d.disconnect("gw1", "back").unwrap();
    assert_eq!(gw(&d), ("eth0".into(), "172.18.0.1".into()));
    d.disconnect("gw1", "front").unwrap();
    // Only an internal network left: its gateway is still the default route.
    assert_eq!(gw(&d), ("eth2".into(), "172.20.0.1".into()));
    d.disconnect("gw1", "aint").unwrap();
    let c = d.container("gw1").unwrap();
    assert!(d.gateway_endpoint(c).is_none());
    // none, host and container: modes have no gateway of their own.
    run(&mut d, "n1", "none");
    assert!(d.gateway_endpoint(d.container("n1").unwrap()).is_none());
    run(&mut d, "h1", "host");
    assert!(d.gateway_endpoint(d.container("h1").unwrap()).is_none());
    run(&mut d, "b1", "bridge");
    run(&mut d, "s1", "container:b1");
    let s1 = d.container("s1").unwrap();
    assert_eq!(
        d.gateway_endpoint(s1).and_then(|e| e.gateway),
        Some(ip("172.17.0.1"))
    );
}

#[test]
fn hosts_file_lines_follow_the_networks() {
    let mut d = docker();
    d.create_network("h1", &NetworkSpec::default(), NOW)
        .unwrap();
    d.create_network("h2", &NetworkSpec::default(), NOW)
        .unwrap();
    let c = run(&mut d, "hc", "h1");
    let own = |d: &Docker| {
        let c = d.container("hc").unwrap();
        d.hosts_file(c)
            .lines()
            .skip(6)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let id = c.short_id().to_string();
    assert_eq!(own(&d), [format!("172.18.0.2\t{id}")]);
    d.connect("hc", "h2", &AttachSpec::default()).unwrap();
    assert_eq!(
        own(&d),
        [format!("172.18.0.2\t{id}"), format!("172.19.0.2\t{id}")]
    );
    // Docker 20.10 drops every line of the container here (a bug); netsh drops only h1's.
    d.disconnect("hc", "h1").unwrap();
    assert_eq!(own(&d), [format!("172.19.0.2\t{id}")]);
    d.connect("hc", "h1", &AttachSpec::default()).unwrap();
    assert_eq!(
        own(&d),
        [format!("172.19.0.2\t{id}"), format!("172.18.0.2\t{id}")]
    );
}

#[test]
fn fixed_addresses_follow_dockers_ipam_rules() {
    let mut d = docker();
    d.create_network("auto", &NetworkSpec::default(), NOW)
        .unwrap();
    let spec = NetworkSpec {
        subnet: Some("10.77.0.0/16".into()),
        ..Default::default()
    };
    d.create_network("sub", &spec, NOW).unwrap();
    let at = |ip: &str| AttachSpec {
        ip: Some(ip.into()),
        ..Default::default()
    };
    let words = |r: Result<Container, DockerError>| r.unwrap_err().to_string();
    assert_eq!(
        words(d.run("c1", "auto", &at("172.18.0.50"), NOW)),
        "user specified IP address is supported only when connecting to networks with user configured subnets"
    );
    for net in ["bridge", "host", "none"] {
        assert_eq!(
            words(d.run("c1", net, &at("172.17.0.50"), NOW)),
            "user specified IP address is supported on user defined networks only"
        );
    }
    // container: mode ignores the address, as Docker does.
    run(&mut d, "b1", "bridge");
    d.run("s1", "container:b1", &at("1.2.3.4"), NOW).unwrap();
    assert_eq!(
        words(d.run("c1", "sub", &at("10.99.0.5"), NOW)),
        "Invalid address 10.99.0.5: It does not belong to any of this network's subnets"
    );
    for held in ["10.77.0.1", "10.77.0.0", "10.77.255.255"] {
        assert_eq!(
            words(d.run("c1", "sub", &at(held), NOW)),
            "Address already in use"
        );
    }
    d.run("c1", "sub", &at("10.77.0.9"), NOW).unwrap();
    assert_eq!(
        words(d.run("c2", "sub", &at("10.77.0.9"), NOW)),
        "Address already in use"
    );
    assert_eq!(
        words(d.run("c2", "sub", &at("bogus"), NOW)),
        "invalid IPv4 address: bogus"
    );
    // connect alike.
    run(&mut d, "c3", "auto");
    let connect = |d: &mut Docker, net: &str, ip: &str| {
        d.connect("c3", net, &at(ip)).unwrap_err().to_string()
    };
    assert_eq!(
        connect(&mut d, "bridge", "172.17.0.77"),
        "user specified IP address is supported on user defined networks only"
    );
    assert_eq!(
        connect(&mut d, "sub", "10.77.0.9"),
        "Address already in use"
    );
    assert_eq!(
        connect(&mut d, "sub", "10.99.0.5"),
        "Invalid address 10.99.0.5: It does not belong to any of this network's subnets"
    );
    let (_, e) = d.connect("c3", "sub", &at("10.77.0.10")).unwrap();
    assert_eq!(e.ip, Some((ip("10.77.0.10"), 16)));
}

#[test]
fn default_pools_are_handed_out_round_robin_over_the_labs_life() {
    let mut d = docker();
    let create = |d: &mut Docker, name: &str| {
        d.create_network(name, &NetworkSpec::default(), NOW)
            .unwrap()
            .subnet()
            .unwrap()
            .to_string()
    };
    assert_eq!(create(&mut d, "p1"), "172.18.0.0/16");
    assert_eq!(create(&mut d, "p2"), "172.19.0.0/16");
    assert_eq!(create(&mut d, "p3"), "172.20.0.0/16");
    d.remove_network("p2").unwrap();
    // p2's pool is not handed out again at once.
    assert_eq!(create(&mut d, "p4"), "172.21.0.0/16");
    // A given subnet neither takes nor moves the cursor.
    let spec = NetworkSpec {
        subnet: Some("172.22.0.0/16".into()),
        ..Default::default()
    };
    d.create_network("given", &spec, NOW).unwrap();
    assert_eq!(create(&mut d, "p5"), "172.23.0.0/16");
    // The rest of the list, then round to the freed 172.19.
    for i in 0..7 {
        create(&mut d, &format!("q{i}"));
    }
    assert_eq!(create(&mut d, "last172"), "172.31.0.0/16");
    for i in 0..16 {
        assert_eq!(
            create(&mut d, &format!("c{i}")),
            format!("192.168.{}.0/20", i * 16)
        );
    }
    assert_eq!(create(&mut d, "round"), "172.19.0.0/16");
}

#[test]
fn aliases_list_the_asked_ones_then_the_short_id() {
    let mut d = docker();
    d.create_network("an", &NetworkSpec::default(), NOW)
        .unwrap();
    let spec = AttachSpec {
        aliases: vec!["zz".into(), "aa".into()],
        ..Default::default()
    };
    let c = d.run("al", "an", &spec, NOW).unwrap();
    assert_eq!(c.endpoints[0].aliases, ["zz", "aa", c.short_id()]);
}

#[test]
fn fixed_ip_and_aliases_need_a_user_defined_network() {
    let mut d = docker();
    d.create_network("n1", &NetworkSpec::default(), NOW)
        .unwrap();
    let spec = AttachSpec {
        ip: Some("172.18.0.10".into()),
        aliases: vec!["web".into()],
    };
    assert_eq!(
        d.run("c1", "n1", &spec, NOW).unwrap_err(),
        DockerError::FixedIpWithoutSubnet
    );
    d.remove_network("n1").unwrap();
    let given = NetworkSpec {
        subnet: Some("172.18.0.0/16".into()),
        ..Default::default()
    };
    d.create_network("n1", &given, NOW).unwrap();
    let c = d.run("c1", "n1", &spec, NOW).unwrap();
    assert_eq!(c.endpoints[0].ip, Some((ip("172.18.0.10"), 16)));
    assert_eq!(c.endpoints[0].aliases[0], "web");
    assert_eq!(
        d.run("c2", "n1", &spec, NOW).unwrap_err(),
        DockerError::AddressInUse(ip("172.18.0.10"))
    );
    assert!(
        d.container("c2").is_err(),
        "a refused run leaves no container"
    );
    let spec = AttachSpec {
        ip: Some("172.17.0.10".into()),
        ..Default::default()
    };
    assert_eq!(
        d.run("c3", "bridge", &spec, NOW).unwrap_err(),
        DockerError::FixedIpOnDefaultNetwork
    );
    let spec = AttachSpec {
        ip: Some("10.9.9.9".into()),
        ..Default::default()
    };
    assert_eq!(
        d.run("c4", "n1", &spec, NOW).unwrap_err().to_string(),
        "Invalid address 10.9.9.9: It does not belong to any of this network's subnets"
    );
    let spec = AttachSpec {
        aliases: vec!["x".into()],
        ..Default::default()
    };
    // `docker run` (the CLI's words) and `docker network connect` (the daemon's).
    for net in ["bridge", "host", "none", "container:c1"] {
        assert_eq!(
            d.run("c5", net, &spec, NOW).unwrap_err(),
            DockerError::RunAliasOnDefaultNetwork
        );
    }
    // An unknown network is the daemon's to refuse.
    assert_eq!(
        d.run("c5", "nonet", &spec, NOW).unwrap_err(),
        DockerError::NoSuchNetwork("nonet".into())
    );
    run(&mut d, "c6", "n1");
    assert_eq!(
        d.connect("c6", "bridge", &spec).unwrap_err(),
        DockerError::AliasOnDefaultNetwork
    );
}

#[test]
fn container_names_and_lookups() {
    let mut d = docker();
    let bb = run(&mut d, "bb", "bridge");
    let e = d
        .run("bb", "bridge", &AttachSpec::default(), NOW)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("Conflict. The container name \"/bb\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.", bb.id)
    );
    assert_eq!(
        d.run("bb!", "bridge", &AttachSpec::default(), NOW)
            .unwrap_err()
            .to_string(),
        "Invalid container name (bb!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    assert_eq!(d.container(&bb.id[..5]).unwrap().name, "bb");
    assert_eq!(d.container(&bb.id).unwrap().name, "bb");
    assert_eq!(
        d.container("nope").unwrap_err().to_string(),
        "No such container: nope"
    );
    assert_eq!(
        d.run("c", "bridge3", &AttachSpec::default(), NOW)
            .unwrap_err()
            .to_string(),
        "Invalid container name (c), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    assert_eq!(
        d.run("cc", "bridge3", &AttachSpec::default(), NOW)
            .unwrap_err()
            .to_string(),
        "network bridge3 not found"
    );
}

#[test]
fn removing_networks_and_containers() {
    let mut d = docker();
    let n = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    run(&mut d, "bb", "bridge2");
    assert_eq!(
        d.remove_network("bridge2").unwrap_err().to_string(),
        format!(
            "error while removing network: network bridge2 id {} has active endpoints",
            n.id
        )
    );
    assert_eq!(
        d.remove_network("bridge").unwrap_err().to_string(),
        "bridge is a pre-defined network and cannot be removed"
    );
    d.remove_container("bb").unwrap();
    d.remove_network("bridge2").unwrap();
    assert!(d.network("bridge2").is_err());
    // Its pool is free again, but IPAM goes round-robin: the next network gets the next
    // pool.
    let again = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    assert_eq!(again.subnet().unwrap().to_string(), "172.19.0.0/16");
}

#[test]
fn modes_none_host_and_container() {
    let mut d = docker();
    let bb1 = run(&mut d, "bb1", "bridge");
    let shared = run(&mut d, "bb1-1", "container:bb1");
    assert_eq!(shared.mode, NetMode::Container(bb1.id.clone()));
    assert!(shared.endpoints.is_empty());
    assert_eq!(shared.network_mode, format!("container:{}", bb1.id));
    assert_eq!(
        d.connect("bb1-1", "bridge", &AttachSpec::default())
            .unwrap_err(),
        DockerError::SharedNamespace
    );
    assert!(matches!(
        d.remove_container("bb1"),
        Err(DockerError::NamespaceInUse { .. })
    ));

    let none = run(&mut d, "bb3", "none");
    assert_eq!(none.endpoints.len(), 1);
    assert_eq!(none.endpoints[0].ip, None);
    assert_eq!(
        d.connect("bb3", "bridge", &AttachSpec::default())
            .unwrap_err(),
        DockerError::NoneNetwork
    );

    let host = run(&mut d, "bb4", "host");
    assert_eq!(host.mode, NetMode::Host);
    assert_eq!(host.endpoints[0].mac, None);
    // Docker 20.10's words for every mode (daemon's updateNetworkSettings and
    // DisconnectFromNetwork), as the reference engine prints them.
    let connect =
        |d: &mut Docker, c: &str, n: &str| d.connect(c, n, &AttachSpec::default()).unwrap_err();
    let disconnect = |d: &mut Docker, c: &str, n: &str| d.disconnect(c, n).unwrap_err();
    assert_eq!(
        connect(&mut d, "bb4", "bridge"),
        DockerError::SharedNamespace
    );
    assert!(matches!(
        connect(&mut d, "bb4", "host"),
        DockerError::AlreadyConnected { .. }
    ));
    assert_eq!(connect(&mut d, "bb1", "host"), DockerError::HostNetwork);
    assert_eq!(connect(&mut d, "bb1", "none"), DockerError::NoneNetwork);
    assert!(matches!(
        connect(&mut d, "bb3", "none"),
        DockerError::AlreadyConnected { .. }
    ));
    assert_eq!(
        connect(&mut d, "bb1-1", "host"),
        DockerError::SharedNamespace
    );
    assert_eq!(disconnect(&mut d, "bb4", "host"), DockerError::HostNetwork);
    for (c, n) in [
        ("bb1", "host"),
        ("bb1", "none"),
        ("bb1-1", "bridge"),
        ("bb4", "bridge"),
    ] {
        let id = d.container(c).unwrap().id.clone();
        assert_eq!(
            disconnect(&mut d, c, n).to_string(),
            format!("container {id} is not connected to network {n}")
        );
    }
    // A container may leave none, and then join anything.
    d.disconnect("bb3", "none").unwrap();
    d.connect("bb3", "bridge", &AttachSpec::default()).unwrap();
    // Links and published ports with the shared modes.
    let extras = |links: &[&str], publish: &[&str]| RunExtras {
        links: links.iter().map(|s| s.to_string()).collect(),
        publish: publish.iter().map(|s| s.to_string()).collect(),
        ..RunExtras::default()
    };
    let run_x = |d: &mut Docker, net: &str, x: &RunExtras| {
        d.run_with("x1", net, &AttachSpec::default(), x, NOW)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        run_x(&mut d, "container:bb1", &extras(&["bb4"], &[])),
        "conflicting options: container type network can't be used with links. This would result in undefined behavior"
    );
    assert_eq!(
        run_x(&mut d, "host", &extras(&["bb4"], &[])),
        "conflicting options: host type networking can't be used with links. This would result in undefined behavior"
    );
    assert_eq!(
        run_x(&mut d, "container:bb1", &extras(&[], &["8099:80"])),
        "conflicting options: port publishing and the container type network mode"
    );
}

#[test]
fn network_inspect_matches_dockers_shape() {
    let mut d = docker();
    let n = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    let bb = run(&mut d, "bb", "bridge2");
    let v = inspect::network(&d, d.network("bridge2").unwrap());
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "Name",
            "Id",
            "Created",
            "Scope",
            "Driver",
            "EnableIPv6",
            "IPAM",
            "Internal",
            "Attachable",
            "Ingress",
            "ConfigFrom",
            "ConfigOnly",
            "Containers",
            "Options",
            "Labels"
        ]
    );
    assert_eq!(v["Id"], n.id);
    assert_eq!(v["IPAM"]["Config"][0]["Subnet"], "172.18.0.0/16");
    assert_eq!(v["IPAM"]["Config"][0]["Gateway"], "172.18.0.1");
    assert_eq!(v["IPAM"]["Options"], json!({}));
    let c = &v["Containers"][&bb.id];
    assert_eq!(c["Name"], "bb");
    assert_eq!(c["MacAddress"], "02:42:ac:12:00:02");
    assert_eq!(c["IPv4Address"], "172.18.0.2/16");
    assert_eq!(c["IPv6Address"], "");
    let host = inspect::network(&d, d.network("host").unwrap());
    assert_eq!(host["IPAM"]["Config"], json!([]));
    assert_eq!(host["IPAM"]["Options"], Value::Null);
    let bridge = inspect::network(&d, d.network("bridge").unwrap());
    assert_eq!(
        bridge["Options"]["com.docker.network.bridge.name"],
        "docker0"
    );
}

#[test]
fn container_inspect_networks() {
    let mut d = docker();
    d.create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    let bb1 = run(&mut d, "bb1", "bridge");
    d.connect("bb1", "bridge2", &AttachSpec::default()).unwrap();
    let v = inspect::container(&d, d.container("bb1").unwrap());
    assert_eq!(v["Name"], "/bb1");
    let ns = &v["NetworkSettings"];
    assert_eq!(ns["IPAddress"], "172.17.0.2");
    assert_eq!(ns["Gateway"], "172.17.0.1");
    let b = &ns["Networks"]["bridge"];
    let keys: Vec<_> = b.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "IPAMConfig",
            "Links",
            "Aliases",
            "MacAddress",
            "DriverOpts",
            "GwPriority",
            "NetworkID",
            "EndpointID",
            "Gateway",
            "IPAddress",
            "IPPrefixLen",
            "IPv6Gateway",
            "GlobalIPv6Address",
            "GlobalIPv6PrefixLen",
            "DNSNames"
        ]
    );
    assert_eq!(b["IPAMConfig"], Value::Null);
    assert_eq!(b["Aliases"], Value::Null);
    assert_eq!(b["DriverOpts"], Value::Null);
    let b2 = &ns["Networks"]["bridge2"];
    assert_eq!(b2["IPAMConfig"], json!({}));
    assert_eq!(b2["Aliases"], json!([bb1.short_id()]));
    assert_eq!(b2["DriverOpts"], json!({}));
    assert_eq!(b2["IPAddress"], "172.18.0.2");
    assert_eq!(b2["IPPrefixLen"], 16);

    run(&mut d, "bb1-1", "container:bb1");
    let shared = inspect::container(&d, d.container("bb1-1").unwrap());
    assert_eq!(shared["NetworkSettings"]["Networks"], json!({}));
    assert_eq!(shared["NetworkSettings"]["SandboxID"], "");
    assert_eq!(shared["NetworkSettings"]["IPAddress"], "");
}

fn run_x(
    d: &mut Docker,
    name: &str,
    net: &str,
    links: &[&str],
    publish: &[&str],
) -> Result<(Container, Vec<String>), DockerError> {
    let extras = RunExtras {
        links: links.iter().map(|s| s.to_string()).collect(),
        publish: publish.iter().map(|s| s.to_string()).collect(),
        ..RunExtras::default()
    };
    d.run_with(name, net, &AttachSpec::default(), &extras, NOW)
}

#[test]
fn hosts_files_and_links_work_one_way() {
    let mut d = docker();
    run(&mut d, "mytom", "bridge");
    let bb1 = run(&mut d, "bb1", "bridge");
    let (bb2, _) = run_x(&mut d, "bb2", "bridge", &["bb1"], &[]).unwrap();
    let hosts = d.hosts_file(&bb2);
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
    assert!(hosts.ends_with(&format!(
        "172.17.0.3\tbb1 {}\n172.17.0.4\t{}\n",
        bb1.short_id(),
        bb2.short_id()
    )));
    // One way only: bb1's file knows nothing of bb2.
    assert!(!d.hosts_file(&bb1).contains("bb2"));
    let (bb5, _) = run_x(&mut d, "bb5", "bridge", &["bb1:db"], &[]).unwrap();
    assert!(d
        .hosts_file(&bb5)
        .contains(&format!("172.17.0.3\tdb {} bb1\n", bb1.short_id())));
    assert_eq!(
        run_x(&mut d, "bb6", "bridge", &["ghost"], &[])
            .unwrap_err()
            .to_string(),
        "could not get container for ghost: No such container: ghost"
    );
    let v = inspect::container(&d, d.container("bb2").unwrap());
    assert_eq!(v["HostConfig"]["Links"], json!(["/bb1:/bb2/bb1"]));
}

/// A link's hosts line names the target's hostname (not always its short ID) and points at
/// its default-bridge address even when it joined another network first; a target in the
/// host's namespace is refused when the container is created (moby integration-cli
/// TestLinksPingLinkedContainers, TestDockerNetworkLinkOnDefaultNetworkOnly,
/// TestLinksNetworkHostContainer).
#[test]
fn links_name_the_hostname_and_the_bridge_address() {
    let mut d = docker();
    let extras = RunExtras {
        hostname: Some("fred".into()),
        ..RunExtras::default()
    };
    d.run_with("container1", "bridge", &AttachSpec::default(), &extras, NOW)
        .unwrap();
    let (c3, _) = run_x(&mut d, "c3", "bridge", &["container1:alias1"], &[]).unwrap();
    assert!(d
        .hosts_file(&c3)
        .contains("172.17.0.2\talias1 fred container1\n"));

    d.create_network("udnet", &NetworkSpec::default(), NOW)
        .unwrap();
    run(&mut d, "uc", "udnet");
    assert_eq!(
        run_x(&mut d, "c4", "bridge", &["uc"], &[])
            .unwrap_err()
            .to_string(),
        "Cannot link to /uc, as it does not belong to the default network"
    );
    d.connect("uc", "bridge", &AttachSpec::default()).unwrap();
    let uc = d.container("uc").unwrap().clone();
    let (c5, _) = run_x(&mut d, "c5", "bridge", &["uc:u"], &[]).unwrap();
    assert!(d
        .hosts_file(&c5)
        .contains(&format!("172.17.0.4\tu {} uc\n", uc.short_id())));

    run(&mut d, "hc", "host");
    for net in ["bridge", "none"] {
        assert_eq!(
            run_x(&mut d, "c6", net, &["hc:h"], &[])
                .unwrap_err()
                .to_string(),
            "conflicting options: host type networking can't be used with links. This would result in undefined behavior"
        );
    }
    run(&mut d, "follower", "container:hc");
    assert!(run_x(&mut d, "c7", "bridge", &["follower"], &[])
        .unwrap_err()
        .to_string()
        .starts_with("conflicting options: host type networking"));
}

#[test]
fn resolv_conf_and_dns_names() {
    let mut d = docker();
    let n = d
        .create_network("bridge2", &NetworkSpec::default(), NOW)
        .unwrap();
    let bb = run(&mut d, "bb", "bridge2");
    let mytom = run(&mut d, "mytom", "bridge");
    assert_eq!(
        d.resolv_conf(&bb, "nameserver 10.0.0.53\n"),
        "nameserver 127.0.0.11\noptions ndots:0\n"
    );
    assert_eq!(
        d.resolv_conf(&mytom, "nameserver 10.0.0.53\n"),
        "nameserver 10.0.0.53\n"
    );
    assert!(d.has_embedded_dns(&bb));
    assert!(!d.has_embedded_dns(&mytom));
    let entry = d.dns_entry(&bb, &n.id).unwrap();
    assert_eq!(entry.ip, ip("172.18.0.2"));
    assert!(entry.names.contains(&"bb".to_string()));
    assert!(entry.names.contains(&bb.short_id().to_string()));
    let bridge_id = d.network("bridge").unwrap().id.clone();
    assert!(
        d.dns_entry(&mytom, &bridge_id).is_none(),
        "no name resolution on the default bridge"
    );
}

#[test]
fn published_ports() {
    let mut d = docker();
    d.create_network("n1", &NetworkSpec::default(), NOW)
        .unwrap();
    let (web, warnings) = run_x(&mut d, "web", "n1", &[], &["8081:8080", "53:53/udp"]).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(
        port_lines(&d, &web),
        "53/udp -> 0.0.0.0:53\n53/udp -> [::]:53\n8080/tcp -> 0.0.0.0:8081\n8080/tcp -> [::]:8081\n"
    );
    let v = inspect::container(&d, d.container("web").unwrap());
    assert_eq!(
        v["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"],
        "8081"
    );
    assert_eq!(v["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"], "");
    let e = run_x(&mut d, "web2", "n1", &[], &["8081:80"]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("driver failed programming external connectivity on endpoint web2 ("),
        "{text}"
    );
    assert!(
        text.ends_with("): Bind for 0.0.0.0:8081 failed: port is already allocated"),
        "{text}"
    );
    assert!(d.container("web2").is_err(), "nothing half-built");
    let (host, warnings) = run_x(&mut d, "web3", "host", &[], &["8081:8080"]).unwrap();
    assert_eq!(
        warnings,
        ["WARNING: Published ports are discarded when using host network mode"]
    );
    // Docker keeps them as asked (HostConfig.PortBindings) and publishes nothing, so
    // they take no host port either.
    assert_eq!(host.ports.len(), 1);
    assert!(d.published_ports(&host).is_empty());
    assert_eq!(port_lines(&d, &host), "");
    let v = inspect::container(&d, &host);
    assert_eq!(v["NetworkSettings"]["Ports"], json!({}));
    assert_eq!(
        v["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"],
        "8081"
    );
    // On none, Docker takes them silently and maps nothing.
    let (none, warnings) = run_x(&mut d, "web4", "none", &[], &["8081:80"]).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(port_lines(&d, &none), "");
    for bad in ["x:80", "80:0", "80:80/sctp", "1.2.3:80:80", "0", "1:2:3:4"] {
        assert!(PortBinding::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        PortBinding::parse("127.0.0.1:8081:8080/udp").unwrap(),
        [PortBinding {
            host_ip: Some(ip("127.0.0.1").into()),
            host_port: 8081,
            host_port_end: 8081,
            container_port: 8080,
            proto: Proto::Udp,
            bound: Vec::new(),
        }]
    );
}

/// A container whose networks are all internal publishes nothing (libnetwork programs
/// external connectivity only on a gateway endpoint of an ordinary network): its ports are
/// allocated when it joins one, refused then if another took them meanwhile, and released
/// when it leaves it (peer case C22, moby TestPortBindingOnSandbox).
#[test]
fn internal_networks_publish_nothing_until_an_ordinary_one_joins() {
    let mut d = docker();
    let internal = NetworkSpec {
        internal: true,
        ..Default::default()
    };
    d.create_network("inner", &internal, NOW).unwrap();
    d.create_network("outer", &NetworkSpec::default(), NOW)
        .unwrap();
    let (c, _) = run_x(&mut d, "web", "inner", &[], &["9090:80"]).unwrap();
    assert!(!d.external(&c));
    assert_eq!(port_lines(&d, &c), "");
    let v = inspect::container(&d, &c);
    assert_eq!(v["NetworkSettings"]["Ports"], json!({ "80/tcp": null }));
    assert_eq!(
        v["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        "9090"
    );
    // The port is free for another container meanwhile…
    let (other, _) = run_x(&mut d, "other", "bridge", &[], &["9090:80"]).unwrap();
    // … so joining an ordinary network is refused, and changes nothing.
    let e = d
        .connect("web", "outer", &AttachSpec::default())
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("Bind for 0.0.0.0:9090 failed: port is already allocated"),
        "{e}"
    );
    let web = d.container("web").unwrap().clone();
    assert_eq!(web.endpoints.len(), 1);
    assert_eq!(port_lines(&d, &web), "");
    d.remove_container(&other.id).unwrap();
    d.connect("web", "outer", &AttachSpec::default()).unwrap();
    let web = d.container("web").unwrap().clone();
    assert!(d.external(&web));
    assert_eq!(
        port_lines(&d, &web),
        "80/tcp -> 0.0.0.0:9090\n80/tcp -> [::]:9090\n"
    );
    d.disconnect("web", "outer").unwrap();
    let web = d.container("web").unwrap().clone();
    assert_eq!(port_lines(&d, &web), "");
    assert!(web.ports.iter().all(|p| p.bound.is_empty()));
    // Released: another container takes it.
    run_x(&mut d, "taker", "bridge", &[], &["9090:80"]).unwrap();
}

/// Host port ranges (moby integration-cli TestPortList): `9090-9092:80` takes the next
/// free port of the range, per host address, and fails when the range is used up; a
/// removed container's port is handed out again once the search wraps around;
/// `9800-9803:80-83` maps port for port; malformed ranges are refused in the CLI's words.
#[test]
fn host_port_ranges() {
    let mut d = docker();
    let mut ids = Vec::new();
    for i in 0..3u16 {
        let (c, _) = run_x(&mut d, &format!("r{i}"), "bridge", &[], &["9090-9092:80"]).unwrap();
        assert_eq!(
            port_lines(&d, &c),
            format!("80/tcp -> 0.0.0.0:{0}\n80/tcp -> [::]:{0}\n", 9090 + i)
        );
        let v = inspect::container(&d, &c);
        assert_eq!(
            v["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
            "9090-9092"
        );
        ids.push(c.id);
    }
    let e = run_x(&mut d, "r3", "bridge", &[], &["9090-9092:80"]).unwrap_err();
    assert!(e.to_string().ends_with("all ports are allocated"), "{e}");
    assert!(d.container("r3").is_err());
    for id in &ids {
        d.remove_container(id).unwrap();
    }
    let (c, _) = run_x(&mut d, "again", "bridge", &[], &["9090-9092:80"]).unwrap();
    assert_eq!(
        port_lines(&d, &c),
        "80/tcp -> 0.0.0.0:9090\n80/tcp -> [::]:9090\n"
    );

    let (c, _) = run_x(&mut d, "four", "bridge", &[], &["9800-9803:80-83"]).unwrap();
    let lines = port_lines(&d, &c);
    for i in 0..4 {
        assert!(
            lines.contains(&format!("{}/tcp -> 0.0.0.0:{}\n", 80 + i, 9800 + i)),
            "{lines}"
        );
        assert!(
            lines.contains(&format!("{}/tcp -> [::]:{}\n", 80 + i, 9800 + i)),
            "{lines}"
        );
    }
    for (bad, why) in [
        ("9090-9089:80", "invalid hostPort: 9090-9089"),
        ("9090-:80", "invalid hostPort: 9090-"),
        ("-9090:80", "invalid hostPort: -9090"),
        (
            "9800-9801:80-83",
            "invalid ranges specified for container and host Ports: 80-83 and 9800-9801",
        ),
        ("9800:80/sctp", "netsh publishes TCP and UDP ports only"),
    ] {
        assert!(
            PortBinding::parse(bad)
                .unwrap_err()
                .to_string()
                .contains(why),
            "{bad}"
        );
    }
}

#[test]
fn host_veth_names_are_drawn_again_on_a_clash() {
    let mut d = docker();
    // What the model would draw next, found on a copy.
    let drawn = run(&mut d.clone(), "bb1", "bridge").endpoints[0]
        .host_ifname
        .clone()
        .unwrap();
    let c = run(&mut d, "bb1", "bridge");
    let net = c.endpoints[0].network_id.clone();
    assert_eq!(c.endpoints[0].host_ifname.as_deref(), Some(drawn.as_str()));
    // The host has a link by that name: the lab asks for another.
    let renewed = d.renew_host_ifname(&c.id, &net, &|n| n == drawn).unwrap();
    assert_ne!(renewed, drawn);
    assert!(
        renewed.starts_with("veth") && renewed.len() == 11,
        "{renewed}"
    );
    assert_eq!(
        d.container("bb1").unwrap().endpoints[0]
            .host_ifname
            .as_deref(),
        Some(renewed.as_str())
    );
    // Names the model already gave out are never drawn again, whatever `taken` says.
    let other = run(&mut d, "bb2", "bridge");
    let theirs = other.endpoints[0].host_ifname.clone().unwrap();
    for _ in 0..200 {
        let n = d.renew_host_ifname(&c.id, &net, &|_| false).unwrap();
        assert_ne!(n, theirs);
    }
}

#[test]
fn removal_and_disconnect_checks_change_nothing() {
    let mut d = docker();
    let n = d
        .create_network("n2", &NetworkSpec::default(), NOW)
        .unwrap();
    run(&mut d, "bb1", "n2");
    let before = d.clone();
    assert!(d.check_remove_network("n2").is_err());
    assert_eq!(d.check_remove_container("bb1").unwrap().name, "bb1");
    assert_eq!(d.check_disconnect("bb1", "n2").unwrap().network_id, n.id);
    assert!(d.check_disconnect("bb1", "bridge").is_err());
    assert_eq!(d.containers(), before.containers());
    assert_eq!(d.networks(), before.networks());
}

/// Docker 20.10.24, by hand: `-p 8192:80 -p 8191:9 -p 8190:80 -p 127.0.0.2:8193:80`.
#[test]
fn port_listing_and_inspect_follow_dockers_order() {
    let mut d = docker();
    let (c, _) = run_x(
        &mut d,
        "pa2",
        "bridge",
        &[],
        &["8192:80", "8191:9", "8190:80", "127.0.0.2:8193:80"],
    )
    .unwrap();
    assert_eq!(
        port_lines(&d, &c),
        "9/tcp -> 0.0.0.0:8191\n9/tcp -> [::]:8191\n80/tcp -> 0.0.0.0:8190\n\
         80/tcp -> 0.0.0.0:8192\n80/tcp -> 127.0.0.2:8193\n80/tcp -> [::]:8190\n\
         80/tcp -> [::]:8192\n"
    );
    let v = inspect::container(&d, &c);
    assert_eq!(
        v["NetworkSettings"]["Ports"].to_string(),
        r#"{"80/tcp":[{"HostIp":"127.0.0.2","HostPort":"8193"},{"HostIp":"0.0.0.0","HostPort":"8190"},{"HostIp":"::","HostPort":"8190"},{"HostIp":"0.0.0.0","HostPort":"8192"},{"HostIp":"::","HostPort":"8192"}],"9/tcp":[{"HostIp":"0.0.0.0","HostPort":"8191"},{"HostIp":"::","HostPort":"8191"}]}"#
    );
    assert_eq!(
        v["HostConfig"]["PortBindings"].to_string(),
        r#"{"80/tcp":[{"HostIp":"","HostPort":"8192"},{"HostIp":"","HostPort":"8190"},{"HostIp":"127.0.0.2","HostPort":"8193"}],"9/tcp":[{"HostIp":"","HostPort":"8191"}]}"#
    );
}

/// The same host port twice in one run, or one another container holds: refused with the
/// endpoint's ID; a port on another address of the host is the allocator's to give.
#[test]
fn port_conflicts_name_the_endpoint() {
    let mut d = docker();
    let e = run_x(&mut d, "pa3", "bridge", &[], &["8082:8080", "8082:8090"]).unwrap_err();
    let DockerError::PortAllocated {
        container,
        endpoint,
        ip,
        port,
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!(
        (container.as_str(), ip.as_str(), *port),
        ("pa3", "0.0.0.0", 8082)
    );
    assert_eq!(endpoint.len(), 64);
    assert_eq!(
        e.to_string(),
        format!("driver failed programming external connectivity on endpoint pa3 ({endpoint}): Bind for 0.0.0.0:8082 failed: port is already allocated")
    );
    assert!(d.containers().is_empty());
    assert_eq!(
        d.network("bridge")
            .unwrap()
            .pool
            .clone()
            .unwrap()
            .allocate()
            .unwrap(),
        ip_addr("172.17.0.2"),
        "the address went back"
    );
    run_x(
        &mut d,
        "pa4",
        "bridge",
        &[],
        &["8082:8080", "8082:8080/udp"],
    )
    .unwrap();
    assert!(run_x(&mut d, "pa5", "bridge", &[], &["8082:80"]).is_err());
    run_x(&mut d, "pa6", "bridge", &[], &["127.0.0.1:8082:80"]).unwrap();
    assert!(run_x(&mut d, "pa7", "bridge", &[], &["127.0.0.1:8082:80"]).is_err());
    d.remove_container("pa4").unwrap();
    run_x(&mut d, "pa5", "bridge", &[], &["8082:80"]).unwrap();
}

fn ip_addr(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn natural_order_compares_numbers_as_numbers() {
    let mut v = vec![
        "80/tcp -> x",
        "9/tcp -> x",
        "53/udp -> [::]:53",
        "53/udp -> 0.0.0.0:53",
    ];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        v,
        [
            "9/tcp -> x",
            "53/udp -> 0.0.0.0:53",
            "53/udp -> [::]:53",
            "80/tcp -> x"
        ]
    );
}

/// Docker 20.10.24, by hand: `-p 80 -p 127.0.0.1::81 -p 53/udp`, then another `-p 80`:
/// ephemeral ports per address and protocol, the next after the last handed out, so IPv4
/// and IPv6 can differ; `HostConfig.PortBindings` keeps `""`.
#[test]
fn unasked_host_ports_come_from_the_ephemeral_range_per_address() {
    let mut d = docker();
    // Someone holds 0.0.0.0:32768/tcp (on the reference, another container did).
    run_x(&mut d, "holder", "bridge", &[], &["32768:9"]).unwrap();
    let (c, _) = run_x(
        &mut d,
        "rp1",
        "bridge",
        &[],
        &["80", "127.0.0.1::81", "53/udp"],
    )
    .unwrap();
    assert_eq!(
        port_lines(&d, &c),
        "53/udp -> 0.0.0.0:32768\n53/udp -> [::]:32768\n80/tcp -> 0.0.0.0:32769\n\
         80/tcp -> [::]:32769\n81/tcp -> 127.0.0.1:32768\n"
    );
    let v = inspect::container(&d, &c);
    assert_eq!(
        v["HostConfig"]["PortBindings"].to_string(),
        r#"{"53/udp":[{"HostIp":"","HostPort":""}],"80/tcp":[{"HostIp":"","HostPort":""}],"81/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}"#
    );
    let (c2, _) = run_x(&mut d, "rp2", "bridge", &[], &["80"]).unwrap();
    assert_eq!(
        port_lines(&d, &c2),
        "80/tcp -> 0.0.0.0:32770\n80/tcp -> [::]:32770\n"
    );
    // Removal frees the ports, but the search goes on after the last one handed out.
    d.remove_container("rp2").unwrap();
    let (c3, _) = run_x(&mut d, "rp3", "bridge", &[], &["80"]).unwrap();
    assert_eq!(
        port_lines(&d, &c3),
        "80/tcp -> 0.0.0.0:32771\n80/tcp -> [::]:32771\n"
    );
    let e = run_x(&mut d, "rp4", "bridge", &[], &["32769:80"]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("Bind for 0.0.0.0:32769 failed: port is already allocated"),
        "{e}"
    );
}

/// An address given as `0.0.0.0` binds IPv4 alone, so the families' ephemeral ports part
/// ways; an asked port then held on `::` only is refused there, as Go prints it.
#[test]
fn an_asked_port_held_on_ipv6_alone_is_refused_as_ipv6() {
    let mut d = docker();
    let (h, _) = run_x(&mut d, "h4", "bridge", &[], &["0.0.0.0:32768:9"]).unwrap();
    assert_eq!(port_lines(&d, &h), "9/tcp -> 0.0.0.0:32768\n");
    let (c, _) = run_x(&mut d, "rp", "bridge", &[], &["80"]).unwrap();
    assert_eq!(
        port_lines(&d, &c),
        "80/tcp -> 0.0.0.0:32769\n80/tcp -> [::]:32768\n"
    );
    d.remove_container("h4").unwrap();
    let e = run_x(&mut d, "rp4", "bridge", &[], &["32768:80"]).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("Bind for :::32768 failed: port is already allocated"),
        "{e}"
    );
    assert!(d.container("rp4").is_err());
}

/// Docker 20.10.24: `-p [::1]:8189:80` binds `::1` alone; `-p 1:2:3:4` is `invalid IP
/// address: 1:2`.
#[test]
fn ipv6_host_addresses_and_the_clis_words() {
    let mut d = docker();
    let (c, _) = run_x(&mut d, "v6", "bridge", &[], &["[::1]:8189:80", "[::1]::81"]).unwrap();
    assert_eq!(
        port_lines(&d, &c),
        "80/tcp -> [::1]:8189\n81/tcp -> [::1]:32768\n"
    );
    let v = inspect::container(&d, &c);
    assert_eq!(
        v["HostConfig"]["PortBindings"]["80/tcp"].to_string(),
        r#"[{"HostIp":"::1","HostPort":"8189"}]"#
    );
    assert_eq!(
        PortBinding::parse("1:2:3:4").unwrap_err().to_string(),
        "invalid IP address: 1:2"
    );
    assert_eq!(
        PortBinding::parse("abc").unwrap_err().to_string(),
        "invalid containerPort: abc"
    );
}
