//! Docker's embedded DNS server, asked with real queries from inside containers: reverse
//! (PTR) lookups, `<name>.<network>`, which networks answer whom, `--link` on user-defined
//! networks, and `rename`. Every expected value was checked against Docker 20.10.24.

mod common;

use common::{netsh, users};

/// Runs a script that must succeed, as every user the suite checks (root and `nobody` when
/// run as root).
fn holds(script: &str) {
    for user in users() {
        netsh().user(user).eval(script).run().success();
    }
}

#[test]
fn ptr_answers_name_dot_network_and_name_dot_network_resolves() {
    holds(
        r#"
        let n = network("rvn", #{subnet: "10.33.0.0/16"});
        let rv1 = run("rv1", #{network: n, aliases: ["www"]});
        let rv2 = run("rv2", n);
        assert_eq(rv1.ip, "10.33.0.2");
        // nslookup 10.33.0.2 → 2.0.33.10.in-addr.arpa name = rv1.rvn (the name, never an alias)
        assert_eq(resolve_ptr(rv2, "10.33.0.2"), "rv1.rvn");
        assert_eq(resolve_ptr(rv1, "10.33.0.2"), "rv1.rvn", "its own address too");
        assert_eq(resolve_ptr(rv2, "10.33.0.3"), "rv2.rvn");
        assert_eq(resolve_ptr(rv2, "10.33.0.9"), (), "nobody has that address");
        assert_eq(resolve_ptr(rv2, "10.33.0.1"), (), "nor the gateway");
        // <name>.<network>, for names, aliases and short IDs alike.
        assert_eq(resolve(rv2, "rv1.rvn"), "10.33.0.2");
        assert_eq(resolve(rv2, "www.rvn"), "10.33.0.2");
        assert_eq(resolve(rv2, `${rv1.short_id}.rvn`), "10.33.0.2");
        assert_eq(resolve(rv2, "rv1.rvn.example"), ());
        // The real resolver library inside agrees, both ways.
        let fwd = exec(rv2, "getent hosts rv1.rvn");
        assert_eq(fwd.code, 0, fwd.stderr);
        assert(fwd.stdout.starts_with("10.33.0.2 "), fwd.stdout);
        let rev = exec(rv2, "getent hosts 10.33.0.2");
        assert_eq(rev.code, 0, rev.stderr);
        assert(rev.stdout.contains("rv1.rvn"), rev.stdout);
        // On the default bridge there is no embedded DNS server to ask.
        let b1 = run("b1");
        assert_eq(resolve_ptr(b1, "172.17.0.2"), ());
        "#,
    );
}

#[test]
fn only_the_askers_networks_answer_and_the_first_in_order_answers_alone() {
    holds(
        r#"
        network("rvn", #{subnet: "10.33.0.0/16"});
        network("other", #{subnet: "10.44.0.0/16"});
        let rv1 = run("rv1", "rvn");
        let rv2 = run("rv2", "rvn");
        let o1 = run("o1", "other");
        let multi = run("multi", "rvn");
        connect(multi, "other");
        assert_eq([multi.ip_of("rvn"), multi.ip_of("other")], ["10.33.0.4", "10.44.0.3"]);
        // Names and addresses on a network the asker does not share answer nothing.
        assert_eq(resolve(rv2, "o1"), ());
        assert_eq(resolve(rv2, "o1.other"), ());
        assert_eq(resolve_ptr(rv2, "10.44.0.2"), ());
        assert_eq(resolve(rv2, "multi.other"), ());
        // A container on two networks is seen by each through that network.
        assert_eq(resolve(rv2, "multi"), "10.33.0.4");
        assert_eq(resolve(o1, "multi"), "10.44.0.3");
        assert_eq(resolve_ptr(rv2, "10.33.0.4"), "multi.rvn");
        assert_eq(resolve_ptr(o1, "10.44.0.3"), "multi.other");
        // It asks both, "other" before "rvn" (by name): its own name answers from "other" only.
        assert_eq(resolve_ptr(multi, "10.33.0.2"), "rv1.rvn");
        assert_eq(resolve_ptr(multi, "10.44.0.2"), "o1.other");
        let own = exec(multi, "getent ahostsv4 multi");
        assert_eq(own.code, 0, own.stderr);
        assert(own.stdout.contains("10.44.0.3"), own.stdout);
        assert(!own.stdout.contains("10.33.0.4"), own.stdout);
        assert_eq(resolve(multi, "multi.rvn"), "10.33.0.4");
        // Internal networks come last, whatever their names.
        network("aaa", #{internal: true, subnet: "10.71.0.0/24"});
        network("zzz", #{subnet: "10.72.0.0/24"});
        let io = run("io", "aaa");
        connect(io, "zzz");
        assert_eq(resolve(io, "io"), "10.72.0.2");
        connect(io, "rvn");
        assert_eq(resolve(io, "io"), io.ip_of("rvn"));
                // Leaving a network takes its names and PTR records away from the asker.
        disconnect(multi, "other");
        assert_eq(resolve(multi, "o1"), ());
        assert_eq(resolve_ptr(multi, "10.44.0.2"), ());
        assert_eq(resolve_ptr(o1, "10.44.0.3"), ());
        assert_eq(resolve(multi, "multi"), "10.33.0.4");
        "#,
    );
}

#[test]
fn a_link_on_a_user_network_is_the_linkers_own_alias() {
    holds(
        r#"
        network("lkn");
        let lk3 = run("lk3", "lkn");
        let lk4 = run("lk4", #{network: "lkn", link: ["lk3:dbl", "ghost:gg", "late:lt"]});
        let lk5 = run("lk5", "lkn");
        assert_eq(resolve(lk4, "dbl"), lk3.ip);
        assert_eq(resolve(lk4, "dbl.lkn"), lk3.ip);
        assert_eq(resolve(lk5, "dbl"), (), "only the linking container sees the alias");
        let real = exec(lk4, "getent hosts dbl");
        assert_eq(real.code, 0, real.stderr);
        assert(real.stdout.starts_with(`${lk3.ip} `), real.stdout);
        assert_ne(exec(lk5, "getent hosts dbl").code, 0);
        // No /etc/hosts line: the alias lives in DNS.
        assert(!hosts_file(lk4).contains("dbl"), hosts_file(lk4));
        assert(!exec(lk4, "cat /etc/hosts").stdout.contains("dbl"));
        // Docker takes a link to a container that does not exist (yet), and resolves it by
        // name when it is asked.
        assert_eq(resolve(lk4, "gg"), ());
        assert_eq(resolve(lk4, "lt"), ());
        let late = run("late", "lkn");
        assert_eq(resolve(lk4, "lt"), late.ip);
        // The alias hides a container of that name from the linker only.
        let dbl = run("dbl", "lkn");
        assert_eq(resolve(lk4, "dbl"), lk3.ip);
        assert_eq(resolve(lk5, "dbl"), dbl.ip);
        // Inspect: the links belong to the endpoint.
        let i = inspect(lk4);
        assert_eq(i.NetworkSettings.Networks.lkn.Links, ["lk3:dbl", "ghost:gg", "late:lt"]);
        assert_eq(i.HostConfig.Links, ());
        assert_eq(inspect(lk5).NetworkSettings.Networks.lkn.Links, ());
        // A target on a network the linker is not on resolves nothing.
        network("far"); run("fa", "far");
        let lk6 = run("lk6", #{network: "lkn", link: ["fa"]});
        assert_eq(inspect(lk6).NetworkSettings.Networks.lkn.Links, ["fa"]);
        assert_eq(resolve(lk6, "fa"), ());
        // connect's links are aliases of that endpoint, for that container alone.
        network("cn"); let c9 = run("c9", "cn");
        connect(c9, "lkn", #{link: ["late:ll"]});
        assert_eq(resolve(c9, "ll"), late.ip);
        assert_eq(resolve(lk4, "ll"), ());
        assert_eq(inspect(c9).NetworkSettings.Networks.lkn.Links, ["late:ll"]);
        assert_eq(inspect(c9).NetworkSettings.Networks.cn.Links, ());
                // The alias follows the target's name: renamed, it no longer answers.
        // (and, being an alias there, it still hides the container named dbl from lk4).
        rename(lk3, "lk3b");
        assert_eq(resolve(lk4, "dbl"), ());
        assert_eq(resolve(lk5, "dbl"), dbl.ip);
        "#,
    );
}

#[test]
fn links_on_the_default_bridge_stay_hosts_lines_written_once() {
    holds(
        r#"
        let b1 = run("b1");
        let p1 = run("p1", #{link: ["b1", "b1:bal"]});
        let i = inspect(p1);
        assert_eq(i.HostConfig.Links, ["/b1:/p1/b1", "/b1:/p1/bal"]);
        assert_eq(i.NetworkSettings.Networks.bridge.Links, ());
        let line = "172.17.0.2\tb1 " + b1.short_id;
        assert(hosts_file(p1).contains(line), hosts_file(p1));
        // Docker writes those lines once: renaming the target leaves them as they were.
        rename(b1, "b1r");
        assert(hosts_file(p1).contains(line), hosts_file(p1));
        assert(hosts_file(p1).contains("172.17.0.2\tbal " + b1.short_id + " b1"), hosts_file(p1));
        assert_eq(inspect(p1).HostConfig.Links, ["/b1r:/p1/b1", "/b1r:/p1/bal"]);
        let p2 = run("p2", #{link: ["b1r"]});
        assert(hosts_file(p2).contains("172.17.0.2\tb1r " + b1.short_id), hosts_file(p2));
        let refused = "";
        try { run("p3", #{link: ["b1"]}); } catch (e) { refused = e; }
        assert(refused.contains("Error response from daemon: could not get container for b1: No such container: b1"), refused);
        network("un"); run("u1", "un");
        try { run("p4", #{link: ["u1:uu"]}); } catch (e) { refused = e; }
        assert_eq(refused, "Error response from daemon: Cannot link to /u1, as it does not belong to the default network");
        assert_eq(containers(), ["b1r", "p1", "p2", "u1"], "nothing was made");
        // Docker quirk: renaming named b1's default-bridge endpoint, so a container on the
        // default bridge and a user network (it has an embedded DNS server) now resolves b1r
        // there — and still not p2, never renamed.
        let both = run("both", "un");
        connect(both, "bridge");
        assert_eq(resolve(both, "b1r"), "172.17.0.2");
        assert_eq(resolve(both, "b1r.bridge"), "172.17.0.2");
        assert_eq(resolve_ptr(both, "172.17.0.2"), "b1r.bridge");
        assert_eq(resolve(both, "p2"), ());
        assert_eq(resolve_ptr(both, p2.ip), ());
        "#,
    );
}

#[test]
fn rename_takes_effect_at_once_and_frees_the_old_name() {
    holds(
        r#"
        let n = network("rvn", #{subnet: "10.33.0.0/16"});
        let rv1 = run("rv1", #{network: n, aliases: ["www"]});
        let rv2 = run("rv2", n);
        let host = rv1.hostname;
        assert_eq(resolve(rv2, "rv1"), "10.33.0.2", "the server is running before the rename");
        rename(rv1, "rv1b");
        assert_eq(rv1.name, "rv1b", "the object follows the container");
        assert_eq(resolve(rv2, "rv1b"), "10.33.0.2");
        assert_eq(resolve(rv2, "rv1b.rvn"), "10.33.0.2");
        assert_eq(resolve(rv2, "rv1"), ());
        assert_eq(resolve(rv2, "www"), "10.33.0.2", "aliases stay");
        assert_eq(resolve_ptr(rv2, "10.33.0.2"), "rv1b.rvn");
        let real = exec(rv2, "getent hosts rv1b");
        assert_eq(real.code, 0, real.stderr);
        assert_ne(exec(rv2, "getent hosts rv1").code, 0);
        // Network inspect shows the new name; the hostname stays the short ID.
        let members = inspect(n).Containers.values().map(|c| c.Name);
        members.sort();
        assert_eq(members, ["rv1b", "rv2"]);
        assert_eq(inspect(rv1).Name, "/rv1b");
        assert_eq(rv1.hostname, host);
        let inside = exec(rv1, "hostname").stdout;
        inside.trim();
        assert_eq(inside, host);
        assert_eq(containers(), ["rv1b", "rv2"]);
        // The old name is free for a new container, which resolves by it.
        let again = run("rv1", n);
        assert_eq(resolve(rv2, "rv1"), again.ip);
        assert_eq(resolve(rv2, "rv1b"), "10.33.0.2");
        // A leading "/" is Docker's own spelling of a name.
        rename("rv1b", "/rv1c");
        assert_eq(resolve(rv2, "rv1c"), "10.33.0.2");
        "#,
    );
}

#[test]
fn rename_refusals_in_dockers_words_change_nothing() {
    let cases = [
        (
            "rename(\"rv1\", \"rv1\")",
            "Error response from daemon: Renaming a container with the same name as its current name",
        ),
        (
            "rename(\"rv1\", \"bad!\")",
            "Error response from daemon: Error when allocating new name: Invalid container name (/bad!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
        ),
        (
            "rename(\"rv1\", \"a\")",
            "Error response from daemon: Error when allocating new name: Invalid container name (/a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
        ),
        (
            "rename(\"rv1\", \"\")",
            "Error response from daemon: Neither old nor new names may be empty",
        ),
        (
            "rename(\"ghost\", \"g2\")",
            "Error response from daemon: No such container: ghost",
        ),
        (
            "rename(\"rv1\", \"ns1\")",
            "cannot rename container \"rv1\" to \"ns1\": a network namespace is named \"ns1\" \
             (bindings take either by name, so one name cannot mean both)",
        ),
    ];
    for (call, message) in cases {
        let script = format!(
            "netns(\"ns1\"); let n = network(\"rvn\"); run(\"rv1\", n); let rv2 = run(\"rv2\", n);\n\
             let before = [containers(), network_inspect(n), resolve(rv2, \"rv1\")];\n\
             let refused = \"\";\n\
             try {{ {call}; }} catch (e) {{ refused = e; }}\n\
             print(`REFUSED: ${{refused}}`);\n\
             assert_eq([containers(), network_inspect(n), resolve(rv2, \"rv1\")], before, \"the lab changed\");"
        );
        netsh()
            .eval(&script)
            .run()
            .success()
            .stdout_has(&format!("REFUSED: {message}\n"));
    }
    // Taken: the text names the holder's full ID.
    netsh()
        .eval(
            "run(\"rv1\"); let b = run(\"rv2\");\n\
             let refused = \"\";\n\
             try { rename(\"rv1\", \"rv2\"); } catch (e) { refused = e; }\n\
             assert_eq(refused, `Error response from daemon: Error when allocating new name: Conflict. The container name \"/rv2\" is already in use by container \"${b.id}\". You have to remove (or rename) that container to be able to reuse that name.`);\n\
             assert_eq(containers(), [\"rv1\", \"rv2\"]);",
        )
        .run()
        .success();
}
