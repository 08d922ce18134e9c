//! The defences runc's CVEs taught, each tried the way an attacker would.

use crate::support::*;

/// CVE-2019-5736: the init runs from a copy of palisade that cannot be written (a
/// read-only overlayfs without an upper layer, or a sealed memfd), never from the host's
/// binary. Opening the running host binary for writing would fail with ETXTBSY, so the test
/// asks for the copy's own errors.
#[test]
fn init_runs_from_a_sealed_copy() {
    use std::io::Write;
    let mut b = Bundle::new("d-exe");
    b.script("true");
    assert!(b.palisade(&["create", &b.id]).status.success());
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let proc_exe = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&proc_exe).unwrap();
    let host = std::fs::canonicalize(BIN).unwrap();
    assert_ne!(exe, host, "the init runs from the host binary");
    match std::fs::OpenOptions::new().write(true).open(&proc_exe) {
        Err(e) => assert_eq!(
            e.raw_os_error(),
            Some(libc::EROFS),
            "{e} ({})",
            exe.display()
        ),
        Ok(mut f) => {
            assert!(
                exe.to_string_lossy().contains("memfd:palisade"),
                "{}",
                exe.display()
            );
            assert!(f.write(b"x").is_err(), "the memfd copy is writable");
        }
    }
    assert!(b.palisade(&["delete", &b.id]).status.success());
}

/// CVE-2021-30465 class: a symlink in the rootfs pointing at a host path must resolve
/// inside the rootfs, never on the host.
#[test]
fn mount_destination_symlinks_stay_inside() {
    let mut b = Bundle::new("d-symlink");
    let host_target = b.path().join("host-target");
    std::fs::create_dir(&host_target).unwrap();
    std::os::unix::fs::symlink(&host_target, b.rootfs().join("evil")).unwrap();
    // The test's temporary directory is under /tmp: keep the rootfs's own /tmp visible.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/tmp");
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"}));
    b.config["root"]["readonly"] = false.into();
    let out = b.probe("grep ' - tmpfs ' /proc/self/mountinfo | grep -c sub");
    assert_eq!(out.trim(), "1");
    assert!(
        !host_target.join("sub").exists(),
        "the mount target was created on the host"
    );
    assert!(b
        .rootfs()
        .join(host_target.strip_prefix("/").unwrap())
        .join("sub")
        .exists());
}

/// CVE-2019-19921 class: no mount may land inside /proc through a symlink, whether the
/// target already exists there (checked on the very descriptor mounted onto) or would be
/// created there (its nearest existing ancestor is named).
#[test]
fn mounts_into_proc_are_refused() {
    for (name, dest, named) in [
        ("d-proc", "/kern/x", "(/kern)"),
        ("d-proc-existing", "/kern", "(/kern)"),
    ] {
        let mut b = Bundle::new(name);
        std::os::unix::fs::symlink("/proc/sys/kernel", b.rootfs().join("kern")).unwrap();
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
        b.script("true");
        let (code, _, err) = b.run();
        assert_eq!(code, 1, "{dest}");
        assert!(
            err.contains("procfs") && err.contains(named) && err.contains("CVE-2019-19921"),
            "{dest}: {err}"
        );
        b.assert_nothing_left();
    }
}

/// The few /proc files that lxcfs and friends bind over may still be bound over.
#[test]
fn listed_proc_files_may_be_bound_over() {
    let mut b = Bundle::new("d-proc-allowed");
    let fake = b.path().join("meminfo");
    std::fs::write(&fake, "MemTotal: 1 kB\n").unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(serde_json::json!(
        {"destination": "/proc/meminfo", "type": "bind", "source": fake, "options": ["bind", "ro"]}
    ));
    assert_eq!(b.probe("cat /proc/meminfo").trim(), "MemTotal: 1 kB");
}

/// CVE-2024-21626: no runtime descriptor leaks into the container, and a cwd pointing
/// through /proc/self/fd is refused.
#[test]
fn no_leaked_fds_and_no_magic_link_cwd() {
    let mut b = Bundle::new("d-fds");
    // The container's process itself lists its descriptors: stdio, and the directory it is
    // reading (3). Anything else would have come from the runtime.
    b.config["process"]["args"] = serde_json::json!(["ls", "/proc/self/fd"]);
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "0\n1\n2\n3\n");
    for cwd in ["/proc/self/fd/7", "/proc/self/cwd"] {
        b.config["process"]["cwd"] = cwd.into();
        b.script("pwd");
        let (code, _, err) = b.run();
        assert_eq!(code, 1, "cwd {cwd} must be refused");
        assert!(err.contains("cwd"), "{err}");
        b.assert_nothing_left();
    }
}

/// CVE-2025-52565: a /dev/console symlink in the rootfs must not redirect the pty's bind.
#[test]
fn console_symlink_is_not_followed() {
    let mut b = Bundle::new("d-console");
    // No /dev tmpfs: the rootfs's own /dev is used, with a planted symlink.
    b.config["mounts"] = serde_json::json!([{"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["newinstance", "ptmxmode=0666"]}]);
    b.config["root"]["readonly"] = false.into();
    std::fs::write(b.rootfs().join("etc/target"), "untouched").unwrap();
    std::os::unix::fs::symlink("/etc/target", b.rootfs().join("dev/console")).unwrap();
    b.config["process"]["terminal"] = true.into();
    let sock = b.path().join("c.sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = b.palisade(&["create", "--console-socket", sock.to_str().unwrap(), &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("CVE-2025-52565"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("etc/target")).unwrap(),
        "untouched"
    );
    b.assert_nothing_left();
}

/// CVE-2025-31133: a rootfs whose /dev/null is a symlink does not get that file mounted
/// over masked paths; the node is replaced by the real null device first.
#[test]
fn dev_null_symlink_does_not_unmask() {
    let mut b = Bundle::new("d-devnull");
    b.config["mounts"] =
        serde_json::json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
    b.config["root"]["readonly"] = false.into();
    std::fs::write(b.rootfs().join("etc/payload"), "payload").unwrap();
    std::os::unix::fs::symlink("/etc/payload", b.rootfs().join("dev/null")).unwrap();
    b.config["linux"]["maskedPaths"] = serde_json::json!(["/proc/timer_list"]);
    let out = b.probe("stat -c '%F %t:%T' /dev/null; wc -c < /proc/timer_list");
    assert_eq!(out, "character special file 1:3\n0\n");
}
