//! User namespaces: id maps, the host-side identity, idmapped rootfs and mounts.

use crate::support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

#[test]
fn container_root_is_an_unprivileged_host_uid() {
    let mut b = Bundle::new("us-map");
    with_userns(&mut b);
    b.script("cat /proc/self/uid_map; id -u; sleep 100");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("100000"),
        "{uid_line}"
    );
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap(),
        std::fs::read_link("/proc/self/ns/user").unwrap()
    );
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
    b.script("cat /proc/self/uid_map /proc/self/gid_map; id -u");
    let out = b.probe("cat /proc/self/uid_map /proc/self/gid_map; id -u");
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        fields,
        ["0", "100000", "65536", "0", "100000", "65536", "0"],
        "{out}"
    );
}

#[test]
fn rootfs_owned_by_host_root_stays_usable() {
    let mut b = Bundle::new("us-rootfs");
    with_userns(&mut b);
    b.config["root"]["readonly"] = false.into();
    let out = b.probe("stat -c '%u:%g' /etc/motd; cat /etc/motd; touch /created && echo created");
    assert_eq!(out, "0:0\npalisade test rootfs\ncreated\n");
    // Through the idmapped rootfs the new file belongs to host root, like the rest.
    assert_eq!(
        std::fs::metadata(b.rootfs().join("created")).unwrap().uid(),
        0
    );
}

#[test]
fn idmapped_bind_mounts() {
    let mut b = Bundle::new("us-idmap");
    with_userns(&mut b);
    let own = b.path().join("hostowned");
    std::fs::create_dir(&own).unwrap();
    std::fs::write(own.join("f"), "root's").unwrap();
    let other = b.path().join("uid1000");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("g"), "user's").unwrap();
    nix::unistd::chown(&other.join("g"), Some(1000.into()), Some(1000.into())).unwrap();
    let m = b.config["mounts"].as_array_mut().unwrap();
    m.push(serde_json::json!({"destination": "/own", "type": "bind", "source": own, "options": ["rbind", "idmap"]}));
    // On disk 1000 → host 100000 → root inside the container.
    let map = serde_json::json!([{"containerID": 1000, "hostID": 100000, "size": 1}]);
    m.push(serde_json::json!({"destination": "/other", "type": "bind", "source": other, "options": ["rbind"],
        "uidMappings": map, "gidMappings": map}));
    let out = b.probe("stat -c '%u' /own/f /other/g; echo x > /own/new && echo own-writable");
    assert_eq!(out, "0\n0\nown-writable\n");
    assert_eq!(std::fs::metadata(own.join("new")).unwrap().uid(), 0);
}

/// The namespace file of `kind` of process `pid`, as its link reads.
fn ns_link(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

/// Gives `b`'s namespace of spec type `kind` the path `path`, adding it if absent.
fn ns_path(b: &mut Bundle, kind: &str, path: &str) {
    let list = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    match list.iter_mut().find(|n| n["type"] == kind) {
        Some(n) => n["path"] = path.into(),
        None => list.push(serde_json::json!({"type": kind, "path": path})),
    }
}

/// A detached container of `name`, set up by `setup`, that sleeps, and its init's pid.
fn sleeper(name: &str, setup: impl FnOnce(&mut Bundle)) -> (Bundle, i64) {
    let mut b = Bundle::new(name);
    setup(&mut b);
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pid = b.state_json()["pid"].as_i64().unwrap();
    (b, pid)
}

/// A uid_map line of with_userns's mapping.
fn assert_mapped(line: &str) {
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
}

#[test]
fn joining_a_user_namespace_by_path() {
    let (owner, pid) = sleeper("us-owner", with_userns);
    let mut b = Bundle::new("us-join");
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    ns_path(&mut b, "pid", &format!("/proc/{pid}/ns/pid"));
    ns_path(&mut b, "user", &format!("/proc/{pid}/ns/user"));
    let out = b.probe("readlink /proc/self/ns/user; cat /proc/self/uid_map; hostname");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], ns_link(pid, "user"));
    assert_mapped(l[1]);
    assert_eq!(l[2], "palisade");
    assert!(owner
        .palisade(&["delete", "--force", &owner.id])
        .status
        .success());
}

/// Kubernetes' user-namespaced pods: each container joins the pod's user namespace by
/// path and gets a pid namespace of its own, which must belong to that user namespace.
#[test]
fn joining_a_user_namespace_by_path_with_a_new_pid_namespace() {
    let (owner, pid) = sleeper("us-owner2", with_userns);
    let (b, init) = sleeper("us-joinpid", |b| {
        std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        ns_path(b, "user", &format!("/proc/{pid}/ns/user"));
    });
    assert_eq!(ns_link(init, "user"), ns_link(pid, "user"));
    assert_ne!(ns_link(init, "pid"), ns_link(pid, "pid"));
    assert_ne!(
        ns_link(init, "pid"),
        ns_link(std::process::id() as i64, "pid")
    );
    // The new pid namespace belongs to the joined user namespace: its root (the
    // container's root, host uid 100000) may mount a proc of it and see itself as pid 1.
    let o = b.palisade(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "echo $$; cat /proc/1/uid_map /proc/1/comm",
    ]);
    let out = stdout(&o);
    let l: Vec<&str> = out.lines().collect();
    assert!(l.len() == 3 && l[0] != "1", "{out} {}", stderr(&o));
    assert_mapped(l[1]);
    assert_eq!(l[2], "sleep");
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("NSpid:") && l.ends_with("\t1")),
        "{status}"
    );
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
    assert!(owner
        .palisade(&["delete", "--force", &owner.id])
        .status
        .success());
}

/// A new user namespace with a network namespace joined by path (another container's,
/// which belongs to the host's user namespace): joined first, while the host's privileges
/// last, then the user namespace is made.
#[test]
fn a_new_user_namespace_with_a_network_namespace_joined_by_path() {
    let (net, pid) = sleeper("us-netowner", |_| {});
    let mut b = Bundle::new("us-mixed");
    with_userns(&mut b);
    ns_path(&mut b, "network", &format!("/proc/{pid}/ns/net"));
    // Its sysfs cannot be made from here (it belongs to that network namespace): /sys is
    // the host's, bound read-only.
    let out = b.probe("readlink /proc/self/ns/net; cat /proc/self/uid_map; hostname; awk '$5 == \"/sys\" {print $6}' /proc/self/mountinfo");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], ns_link(pid, "net"));
    assert_mapped(l[1]);
    assert_eq!(l[2], "palisade");
    assert!(l[3].split(',').any(|o| o == "ro"), "{out}");
    b.assert_nothing_left();
    // A path that is no namespace fails the create with its name, leaving nothing.
    ns_path(&mut b, "network", "/proc/self/ns/nonexistent");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(err.contains("/proc/self/ns/nonexistent"), "{err}");
    b.assert_nothing_left();
    assert!(net
        .palisade(&["delete", "--force", &net.id])
        .status
        .success());
}

#[test]
fn mistakes_with_user_namespaces_are_refused_clearly() {
    let mut b = Bundle::new("us-nomap");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "user"}));
    b.script("true");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(err.contains("uidMappings"), "{err}");
    b.assert_nothing_left();
}

/// In a user namespace a device node cannot be made, so the host's node at that path is
/// bound in: only if it is the very device the config names. A host file at that path (a
/// shared-memory segment in /dev/shm, say; here a plain file in the host's /dev) is
/// refused, not bound.
#[test]
fn a_device_bound_from_the_host_must_be_that_device() {
    let mut b = Bundle::new("u-devbind");
    with_userns(&mut b);
    let host_file = format!("/dev/palisade-it-{}", std::process::id());
    std::fs::write(&host_file, "host secret").unwrap();
    b.config["linux"]["devices"] =
        serde_json::json!([{"path": host_file, "type": "c", "major": 1, "minor": 3}]);
    b.script("cat /dev/palisade-it-* 2>/dev/null; true");
    let (code, out, err) = b.run();
    let _ = std::fs::remove_file(&host_file);
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains("host secret"));
    assert!(err.contains("not the c device 1:3"), "{err}");
    b.assert_nothing_left();
    // The real node at a device's path is bound, as before.
    b.config["linux"]["devices"] =
        serde_json::json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]);
    assert_eq!(b.probe("stat -c '%t:%T' /dev/fuse").trim(), "a:e5");
}

/// devpts's gid=5 where the user namespace does not map group 5 (Kubernetes maps a pod's
/// own range): mounted again without the option, as runc does, rather than failing.
#[test]
fn devpts_without_a_mapped_tty_group() {
    let mut b = Bundle::new("us-devpts");
    with_userns(&mut b);
    b.config["linux"]["gidMappings"] =
        serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 1}]);
    b.config["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0});
    let devpts = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "devpts")
        .cloned()
        .unwrap();
    assert!(devpts["options"].to_string().contains("gid=5"), "{devpts}");
    assert_eq!(b.probe("test -c /dev/pts/ptmx && echo ok"), "ok\n");
}
