//! A container's life through the docker front, as Docker 20.10 lives it: a container runs
//! while its command runs; `stop`, `kill` or the command's own end make it `exited` and
//! release its networks (no sandbox, no address, no DNS name, no host port); `start` and
//! `restart` allocate them again and run the command again; `logs` shows what it printed
//! over all its starts; `create` allocates nothing until `start`. Real packets check each
//! change of reachability.

mod common;

use common::{netsh, users, DOCKER_PRELUDE};

/// Helpers every script here starts with.
const PRELUDE: &str = r#"
// One field of `docker inspect`, as -f prints it (without the newline).
fn field(c, f) {
    let v = docker(`inspect -f '{{${f}}}' ${c}`);
    v.trim();
    v
}
// Waits until container c's state is `want` (its command ends by itself).
fn wait_state(c, want) {
    for i in 0..2000 {
        if field(c, ".State.Status") == want { return; }
        sleep(0.01);
    }
    fail(`${c} never became ${want}`);
}
// Waits until container c's log reads `want` (its command prints as it runs).
fn wait_log(c, want) {
    for i in 0..2000 {
        if docker(`logs ${c}`) == want { return; }
        sleep(0.01);
    }
    fail(`${c}'s log never read ${want}: ${docker("logs " + c)}`);
}
fn pings(from, to) {
    try { docker(`exec ${from} ping -c1 -W1 ${to}`); return true; } catch (e) { return false; }
}
"#;

fn check(script: &str) {
    for user in users() {
        netsh()
            .user(user)
            .eval(&format!(
                "{DOCKER_PRELUDE}{PRELUDE}\n{script}\nprint(\"DONE\");"
            ))
            .run()
            .success()
            .stdout_has("DONE");
    }
}

/// `stop` releases what the container had on every network; `start` gives it back
/// (addresses not asked for are allocated afresh, lowest free first), and runs the command
/// again; its output accumulates in `logs`.
#[test]
fn stop_releases_the_networks_and_start_allocates_them_again() {
    check(
        r#"
docker("network create n1");
docker("run -d --name web --network n1 busybox /bin/sh -c 'echo hello; while true; do sleep 3600; done'");
docker("run -d --name peer --network n1 busybox sleep 3600");
docker("network connect bridge web");
assert_eq(field("web", ".NetworkSettings.Networks.n1.IPAddress"), "172.18.0.2");
assert(pings("peer", "web"), "web answers by name while it runs");
let sandbox = field("web", ".NetworkSettings.SandboxID");

assert_eq(docker("stop web"), "web\n");
assert_eq(field("web", ".State.Status"), "exited");
// In netsh the command is not PID 1, so SIGTERM ends `sh` at once (see lifecycle.rs).
assert_eq(field("web", ".State.ExitCode"), "143");
assert_eq(field("web", ".State.Running"), "false");
assert_eq(field("web", ".NetworkSettings.SandboxID"), "");
assert_eq(field("web", ".NetworkSettings.Networks.n1.IPAddress"), "");
assert_eq(field("web", ".NetworkSettings.Networks.n1.EndpointID"), "");
assert_eq(field("web", ".NetworkSettings.Networks.n1.MacAddress"), "");
assert_eq(field("web", ".NetworkSettings.IPAddress"), "");
// The configuration stays: the network's ID and the short-ID alias.
assert_eq(field("web", ".NetworkSettings.Networks.n1.NetworkID"), field("n1", ".Id"));
assert(field("web", ".NetworkSettings.Networks.n1.Aliases").contains(docker("inspect -f '{{.Id}}' web").sub_string(0, 12)));
assert(!docker("network inspect n1").contains("\"Name\": \"web\""), "n1 no longer lists web");
assert(!pings("peer", "web"), "web's name is gone from n1's DNS");
assert(!pings("peer", "172.18.0.2"), "nothing answers on web's old address");
refused("exec web true", 1, "Error response from daemon: Container " + field("web", ".Id") + " is not running");
assert(docker("ps -a --filter status=exited --format '{{.Names}} {{.Status}}'").starts_with("web Exited (143) "));
assert_eq(docker("ps --format '{{.Names}}'"), "peer\n");
assert_eq(docker("logs web"), "hello\n");
// Stopping a stopped container is no error.
assert_eq(docker("stop web"), "web\n");

// Meanwhile another container takes the lowest free address.
docker("run -d --name late --network n1 busybox sleep 3600");
assert_eq(field("late", ".NetworkSettings.Networks.n1.IPAddress"), "172.18.0.2");

assert_eq(docker("start web"), "web\n");
assert_eq(field("web", ".State.Status"), "running");
assert_eq(field("web", ".NetworkSettings.Networks.n1.IPAddress"), "172.18.0.4");
assert_eq(field("web", ".NetworkSettings.Networks.bridge.IPAddress"), "172.17.0.2");
assert(field("web", ".NetworkSettings.SandboxID") != sandbox, "a new sandbox");
// Interfaces are counted afresh in the new sandbox, in join order.
let ip_a = docker("exec web ip a");
assert(ip_a.contains("eth0@") && ip_a.contains("inet 172.18.0.4/16"), ip_a);
assert(ip_a.contains("eth1@") && ip_a.contains("inet 172.17.0.2/16"), ip_a);
assert(pings("peer", "web"), "web answers by name again");
assert_eq(docker("logs web"), "hello\nhello\n");
assert_eq(docker("logs --tail 1 web"), "hello\n");
"#,
    );
}

/// A container whose command ends by itself has exited with its code and released its
/// network; an attached `run` waits for it; `--rm` leaves nothing; `kill` is SIGKILL.
#[test]
fn a_container_lives_as_long_as_its_command() {
    check(
        r#"
docker("run -d --name short busybox sh -c 'echo bye; exit 3'");
wait_state("short", "exited");
assert_eq(field("short", ".State.ExitCode"), "3");
assert_eq(field("short", ".NetworkSettings.IPAddress"), "");
assert_eq(docker("logs short"), "bye\n");
docker("run -d --name keeper busybox sleep 3600");
assert_eq(field("keeper", ".NetworkSettings.IPAddress"), "172.17.0.2", "short gave 172.17.0.2 back");

assert_eq(docker("run --name once busybox echo hi"), "hi\n");
assert_eq(field("once", ".State.Status"), "exited");
assert_eq(docker("logs once"), "hi\n");
refused("run --name twice busybox sh -c 'exit 4'", 4, "");
assert_eq(field("twice", ".State.ExitCode"), "4");
docker("run --rm --name gone busybox true");
refused("inspect gone", 1, "No such object: gone");

assert_eq(docker("kill keeper"), "keeper\n");
assert_eq(field("keeper", ".State.ExitCode"), "137");
refused("kill keeper", 1, "is not running");
// A program that ignores SIGTERM is killed when the timeout passes.
docker("run -d --name stubborn busybox sh -c \"trap '' TERM; echo ready; while true; do sleep 1; done\"");
wait_log("stubborn", "ready\n");
docker("stop -t 1 stubborn");
assert_eq(field("stubborn", ".State.ExitCode"), "137");
// A stopped container is removed without -f; a running one is not.
docker("run -d --name busy busybox sleep 3600");
refused("rm busy", 1, "You cannot remove a running container");
assert_eq(docker("rm keeper stubborn"), "keeper\nstubborn\n");
assert_eq(docker("rm -f busy"), "busy\n");
"#,
    );
}

/// `create` allocates nothing; `start` does. `restart` is a stop and a start. Networks
/// joined while stopped are built at the next start.
#[test]
fn create_restart_and_connect_while_stopped() {
    check(
        r#"
docker("network create n2");
docker("create --name made --network n2 busybox sh -c 'echo up; sleep 3600'");
assert_eq(field("made", ".State.Status"), "created");
assert_eq(field("made", ".NetworkSettings.Networks.n2.NetworkID"), "");
assert_eq(field("made", ".NetworkSettings.Networks.n2.IPAddress"), "");
assert(!docker("network inspect n2").contains("made"));
assert_eq(docker("ps -a --format '{{.Names}} {{.Status}}'"), "made Created\n");
docker("start made");
assert_eq(field("made", ".NetworkSettings.Networks.n2.IPAddress"), "172.18.0.2");
wait_log("made", "up\n");

docker("restart -t 1 made");
assert_eq(field("made", ".State.Status"), "running");
wait_log("made", "up\nup\n");

docker("stop made");
docker("network create n3");
docker("network connect --alias db n3 made");
docker("network disconnect n2 made");
refused("network connect n3 made", 1, "endpoint with name made already exists in network n3");
assert_eq(field("made", ".NetworkSettings.Networks.n3.IPAddress"), "");
assert(!field("made", "json .NetworkSettings.Networks").contains("\"n2\""), "n2 left the configuration");
docker("run -d --name asker --network n3 busybox sleep 3600");
assert(!pings("asker", "db"), "db is not there while made is stopped");
docker("start made");
let ip_a = docker("exec made ip a");
assert(ip_a.contains("eth0@") && ip_a.contains("inet 172.19.0.3/16") && !ip_a.contains("eth1"), ip_a);
assert(pings("asker", "db"), "the alias given while stopped answers");
"#,
    );
}

/// A stopped container's host ports are free for others; starting it again then fails as
/// Docker fails, and it stays exited. Links and `container:` need a running target.
#[test]
fn what_a_stopped_container_holds_and_what_needs_it_running() {
    check(
        r#"
docker("run -d --name p1 -p 8085:80 busybox httpd -f -p 80");
assert(tcp(host(), "127.0.0.1:8085").ok, "published while p1 runs");
docker("stop p1");
assert(!tcp(host(), "127.0.0.1:8085").ok, "closed once p1 stopped");
assert_eq(docker("port p1"), "");
docker("run -d --name p2 -p 8085:80 busybox httpd -f -p 80");
refused("start p1", 1, "Bind for 0.0.0.0:8085 failed: port is already allocated");
assert_eq(field("p1", ".State.Status"), "exited");
docker("rm -f p2");
docker("start p1");
assert(tcp(host(), "127.0.0.1:8085").ok, "published again");

docker("run -d --name owner busybox sleep 3600");
docker("run -d --name guest --network container:owner busybox sleep 3600");
docker("stop owner");
// The guest's programs lived in the owner's namespaces: they end with it.
wait_state("guest", "exited");
refused("start guest", 1, "cannot join network of a non running container: " + field("owner", ".Id"));
refused("run -d --name linker --link owner busybox sleep 1", 125, "Cannot link to a non running container: /owner AS /linker/owner");
docker("start owner");
docker("start guest");
assert_eq(docker("exec guest hostname"), docker("exec owner hostname"));
"#,
    );
}

/// `--rm` removes the container whatever ends it: `stop`, `kill`, or its command's own
/// end (the daemon's AutoRemove), detached as well as attached.
#[test]
fn rm_removes_the_container_however_it_ends() {
    check(
        r#"
docker("run -d --rm --name r1 busybox sleep 600");
docker("run -d --rm --name r2 busybox sleep 600");
docker("run -d --rm --name r3 busybox sh -c 'exit 0'");
docker("run -d --name kept busybox sh -c 'exit 0'");
assert_eq(docker("stop -t 0 r1"), "r1\n");
assert_eq(docker("kill r2"), "r2\n");
wait_state("kept", "exited");
for i in 0..2000 {
    if !docker("ps -a --format '{{.Names}}'").contains("r3") { break; }
    sleep(0.01);
}
assert_eq(docker("ps -a --format '{{.Names}}'"), "kept\n", "only the one without --rm stays");
assert_eq(docker("run --rm --name r4 busybox echo hi"), "hi\n");
refused("inspect r4", 1, "No such object: r4");
"#,
    );
}

/// The CLI's refusals of the lifecycle commands, in its words.
#[test]
fn lifecycle_refusals() {
    check(
        r#"
refused("stop -t x c", 125, "invalid argument \"x\" for \"-t, --time\" flag: strconv.ParseInt: parsing \"x\": invalid syntax");
refused("stop nope", 1, "Error response from daemon: No such container: nope");
refused("restart nope", 1, "Error response from daemon: No such container: nope");
refused("kill nope", 1, "Error response from daemon: No such container: nope");
refused("logs nope", 1, "Error: No such container: nope");
refused("logs", 1, "\"docker logs\" requires exactly 1 argument.");
"#,
    );
}
