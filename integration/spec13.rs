//! runtime-spec 1.3 features, checked from inside the container: linux.netDevices,
//! linux.memoryPolicy and linux.personality, each with its validation errors; create's
//! failures leave nothing behind.

use std::process::Command;

use crate::support::*;

/// A veth pair on the host, removed again when dropped (a device that was moved into a
/// container's namespace is gone with it).
struct Veth(String);

impl Veth {
    fn new(tag: &str) -> Veth {
        let name = format!("pl{tag}{}", std::process::id() % 100000);
        let st = Command::new("ip")
            .args(["link", "add", &name, "type", "veth", "peer", "name"])
            .arg(format!("{name}p"))
            .status()
            .unwrap();
        assert!(st.success(), "ip link add {name}");
        Veth(name)
    }

    fn on_host(&self) -> bool {
        Command::new("ip")
            .args(["link", "show", &self.0])
            .output()
            .unwrap()
            .status
            .success()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

/// Moved in, renamed, up, with its permanent global address (and not its link-local one),
/// and gone from the host while the container runs.
#[test]
fn net_devices_move_in_with_name_state_and_addresses() {
    let v = Veth::new("a");
    for a in ["169.254.169.13/32", "10.77.0.5/24"] {
        assert!(Command::new("ip")
            .args(["addr", "add", a, "dev", &v.0])
            .status()
            .unwrap()
            .success());
    }
    let mut b = Bundle::new("s13-netdev");
    b.config["linux"]["netDevices"] = serde_json::json!({ v.0.clone(): {"name": "ctr0"} });
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!v.on_host(), "the device left the host's namespace");
    let o = b.palisade(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "ip addr show ctr0; cat /sys/class/net/ctr0/flags",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("inet 169.254.169.13/32"), "{out}");
    assert!(out.contains("inet 10.77.0.5/24"), "{out}");
    let flags =
        u32::from_str_radix(out.lines().last().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "IFF_UP: {out}");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// The name given may end in %d: the kernel numbers it.
#[test]
fn net_devices_take_a_template_name() {
    let v = Veth::new("t");
    let mut b = Bundle::new("s13-netdev-tpl");
    b.config["linux"]["netDevices"] = serde_json::json!({ v.0.clone(): {"name": "net%d"} });
    let out = b.probe("ls /sys/class/net | sort | tr '\\n' ' '");
    assert_eq!(out.trim(), "lo net0", "{out}");
}

/// Refused with the field named, before or while creating, with nothing left and the
/// device still on the host: a name the container's namespace already has, a device the
/// host lacks, no network namespace, a bad name.
#[test]
fn net_devices_errors() {
    let v = Veth::new("e");
    let cases: Vec<(serde_json::Value, bool, &str)> = vec![
        (
            serde_json::json!({ v.0.clone(): {"name": "lo"} }),
            true,
            "already exists",
        ),
        (
            serde_json::json!({"plnosuchdev0": {}}),
            true,
            "no such device",
        ),
        (
            serde_json::json!({ v.0.clone(): {"name": "a/b"} }),
            true,
            "not a network device name",
        ),
        (
            serde_json::json!({ v.0.clone(): {} }),
            false,
            "needs a network namespace",
        ),
    ];
    for (devices, own_netns, says) in cases {
        let mut b = Bundle::new("s13-netdev-err");
        b.config["linux"]["netDevices"] = devices.clone();
        if !own_netns {
            let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "network");
        }
        b.script("true");
        let (code, _, err) = b.run();
        assert_ne!(code, 0, "{devices}");
        assert!(
            err.contains("linux.netDevices") && err.contains(says),
            "{devices}: {err}"
        );
        b.assert_nothing_left();
        assert!(v.on_host(), "{devices}: the device is still the host's");
    }
}

/// set_mempolicy(2) took effect: the process's mappings show the policy (numa_maps).
#[test]
fn memory_policy_is_set_before_exec() {
    let mut b = Bundle::new("s13-mpol");
    for (policy, shows) in [
        (
            serde_json::json!({"mode": "MPOL_BIND", "nodes": "0"}),
            "bind:0",
        ),
        (
            serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "interleave=static:0",
        ),
        (
            serde_json::json!({"mode": "MPOL_PREFERRED", "nodes": "0"}),
            "prefer:0",
        ),
    ] {
        b.config["linux"]["memoryPolicy"] = policy.clone();
        let out = b.probe("head -1 /proc/self/numa_maps");
        assert!(out.contains(shows), "{policy}: {out}");
    }
    // A node the host does not have fails create at the init's step, named.
    b.config["linux"]["memoryPolicy"] = serde_json::json!({"mode": "MPOL_BIND", "nodes": "63"});
    b.script("true");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(
        err.contains("memory_policy") && err.contains("set_mempolicy"),
        "{err}"
    );
    b.assert_nothing_left();
    // A policy the kernel would refuse is refused when the config is read.
    b.config["linux"]["memoryPolicy"] = serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"});
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(
        err.contains("linux.memoryPolicy") && err.contains("takes no nodes"),
        "{err}"
    );
    b.assert_nothing_left();
}

#[test]
fn personality_linux32_shows_in_uname() {
    let mut b = Bundle::new("s13-persona");
    b.config["linux"]["personality"] = serde_json::json!({"domain": "LINUX32"});
    assert_eq!(b.probe("uname -m").trim(), "i686");
    b.config["linux"]["personality"] = serde_json::json!({"domain": "LINUX", "flags": ["X"]});
    b.script("true");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("linux.personality.flags"), "{err}");
}

/// Fields palisade cannot apply are refused, never dropped.
#[test]
fn intel_rdt_and_mount_label_are_refused() {
    for (field, value, says) in [
        (
            "intelRdt",
            serde_json::json!({"closID": "x"}),
            "linux.intelRdt",
        ),
        (
            "mountLabel",
            serde_json::json!("system_u:object_r:container_file_t:s0"),
            "linux.mountLabel",
        ),
    ] {
        let mut b = Bundle::new("s13-unsupported");
        b.config["linux"][field] = value;
        b.script("true");
        let (code, _, err) = b.run();
        assert_ne!(code, 0, "{field}");
        assert!(err.contains(says), "{field}: {err}");
        b.assert_nothing_left();
    }
}

/// Under baseline a host device is moved in only if the profile allows it by name.
#[test]
fn net_devices_under_baseline_need_the_operators_word() {
    let v = Veth::new("p");
    let mut b = Bundle::new("s13-netdev-policy");
    b.under_profile("baseline", "");
    b.config["linux"]["netDevices"] = serde_json::json!({ v.0.clone(): {"name": "ctr0"} });
    b.script("true");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("net-devices") && err.contains(&v.0), "{err}");
    b.assert_nothing_left();
    assert!(v.on_host());
    // A profile of the operator's that extends baseline and names the device.
    let dir = b.path().join("profiles");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("netdev.toml"),
        format!("name = \"netdev\"\nextends = \"baseline\"\n[rules.net-devices]\naction = \"refuse\"\nallowed = [\"{}\"]\n", v.0),
    )
    .unwrap();
    b.under_profile("netdev", &format!("profiles_dir = \"{}\"\n", dir.display()));
    let (code, out, err) = b.run_script("ls /sys/class/net | sort | tr '\\n' ' '");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "ctr0 lo");
}

/// The pid a pidfd refers to, from its fdinfo.
fn pidfd_pid(fd: &std::os::fd::OwnedFd) -> i64 {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `--pidfd-socket` (runc 1.2): create sends a pidfd of the init, exec one of its process;
/// signalling through the pidfd reaches exactly that process.
#[test]
fn pidfd_socket_receives_the_processes() {
    let mut b = Bundle::new("s13-pidfd");
    b.script("sleep 100");
    let sock = b.path().join("pidfd.sock");
    let got = receive_one_fd(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let o = b.palisade(&["create", "--pidfd-socket", sock.to_str().unwrap(), &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (kind, fd) = got.join().unwrap();
    assert_eq!(kind, "standard");
    assert_eq!(pidfd_pid(&fd), b.state_json()["pid"].as_i64().unwrap());
    assert!(b.palisade(&["start", &b.id]).status.success());

    std::fs::remove_file(&sock).unwrap();
    let got = receive_one_fd(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let pidfile = b.path().join("exec.pid");
    let o = b.palisade(&[
        "exec",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "--pidfd-socket",
        sock.to_str().unwrap(),
        &b.id,
        "sleep",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (kind, exec_fd) = got.join().unwrap();
    assert_eq!(kind, "setns");
    let exec_pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pidfd_pid(&exec_fd), exec_pid);

    // SIGKILL through the init's pidfd stops the container.
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal with a valid pidfd and no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    assert_eq!(r, 0);
    b.wait_status("stopped");
    // A socket nobody listens on fails create before anything exists.
    std::fs::remove_file(&sock).unwrap();
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    let o = b.palisade(&["create", "--pidfd-socket", sock.to_str().unwrap(), &b.id]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pidfd-socket"), "{}", stderr(&o));
    b.assert_nothing_left();
}
