use crate::support::*;

fn ns_of(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn new_namespaces_and_pid_1() {
    let mut b = Bundle::new("newns");
    let out = b.probe("echo $$; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup | grep memory");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "1", "the process is pid 1 of its pid namespace");
    for (i, kind) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .enumerate()
    {
        assert_ne!(
            l[i + 1],
            ns_of(std::process::id() as i64, kind),
            "{kind} namespace is the host's"
        );
    }
    assert!(
        l[7].ends_with(":/"),
        "cgroup namespace root is the container's cgroup: {}",
        l[7]
    );
}

#[test]
fn joining_namespaces_by_path() {
    // The first container owns the namespaces (as a pod sandbox does), the second joins them.
    let mut owner = Bundle::new("nsowner");
    owner.config["hostname"] = "sandbox".into();
    owner.script("sleep 1000");
    assert!(owner.palisade(&["run", "-d", &owner.id]).status.success());
    let pid = owner.state_json()["pid"].as_i64().unwrap();

    let mut b = Bundle::new("nsjoin");
    b.config["hostname"] = serde_json::Value::Null;
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    for n in ns.iter_mut() {
        let t = n["type"].as_str().unwrap().to_owned();
        let file = match t.as_str() {
            "network" => "net",
            "ipc" => "ipc",
            "uts" => "uts",
            "pid" => "pid",
            _ => continue,
        };
        n["path"] = format!("/proc/{pid}/ns/{file}").into();
    }
    let out = b.probe("hostname; for n in net ipc pid; do readlink /proc/self/ns/$n; done; ps -o pid,args | grep -c '[s]leep 1000'");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "sandbox");
    assert_eq!(l[1], ns_of(pid, "net"));
    assert_eq!(l[2], ns_of(pid, "ipc"));
    assert_eq!(l[3], ns_of(pid, "pid"));
    assert_eq!(
        l[4], "1",
        "the sandbox's process is visible in the shared pid namespace"
    );
    assert!(owner
        .palisade(&["delete", "--force", &owner.id])
        .status
        .success());
    owner.assert_nothing_left();
}

#[test]
fn joining_a_path_that_is_not_a_namespace_fails_clearly() {
    let mut b = Bundle::new("nsbad");
    b.config["linux"]["namespaces"] =
        serde_json::json!([{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/uts"}]);
    b.config["hostname"] = serde_json::Value::Null;
    b.script("true");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(
        err.contains("namespaces") && err.contains("not a network namespace"),
        "{err}"
    );
    b.assert_nothing_left();
}

/// A new network namespace gets lo up, as under runc and crun (flags 0x9: UP, LOOPBACK),
/// and the workload talks to itself over 127.0.0.1.
#[test]
fn a_new_network_namespace_has_loopback_up() {
    let mut b = Bundle::new("netlo");
    let out = b.probe(
        "cat /sys/class/net/lo/flags; (nc -l -p 7070 > /tmp/got &) ; sleep 0.3; \
         echo ping | nc 127.0.0.1 7070; sleep 0.3; cat /tmp/got",
    );
    assert_eq!(out, "0x9\nping\n", "{out}");
}

#[test]
fn time_namespace_with_offsets() {
    let mut b = Bundle::new("timens");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] =
        serde_json::json!({"boottime": {"secs": 86400, "nanosecs": 0}});
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = b.probe("cut -d' ' -f1 /proc/uptime");
    let inside: f64 = out.trim().parse().unwrap();
    assert!(
        inside - host_uptime > 86000.0,
        "boottime offset not applied: host {host_uptime}, inside {inside}"
    );
}
