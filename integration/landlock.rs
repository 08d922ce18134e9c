//! Landlock, checked from inside the container: writes outside the allowed paths and TCP
//! to ports not allowed are denied by the kernel.

use std::time::{Duration, Instant};

use crate::support::*;

fn confine_writes(b: &mut Bundle, field: &str, best_effort: bool) {
    let ll = serde_json::json!({
        "handledAccess": {"handledAccessFS": ["write_file", "make_reg", "make_dir", "remove_file", "truncate"]},
        "rules": {"pathBeneath": [{"allowedAccess": ["write_file", "make_reg", "make_dir", "remove_file", "truncate"], "paths": ["/tmp", "/dev"]}]},
        "enableBestEffort": best_effort
    });
    if field == "annotation" {
        b.config["annotations"] = serde_json::json!({"run.oci.landlock": ll.to_string()});
    } else {
        b.config["process"]["landlock"] = ll;
    }
}

#[test]
fn writes_outside_allowed_paths_are_denied() {
    let mut b = Bundle::new("ll-fs");
    // A writable root, so that a denial can only come from Landlock.
    b.config["root"]["readonly"] = false.into();
    confine_writes(&mut b, "process", false);
    let out = b.probe("echo ok > /tmp/allowed && cat /tmp/allowed; sh -c 'echo no > /etc/denied' 2>&1; mkdir /home/user/d 2>&1; true");
    assert!(out.starts_with("ok\n"), "{out}");
    assert_eq!(out.matches("Permission denied").count(), 2, "{out}");
    assert!(!b.rootfs().join("etc/denied").exists());
}

#[test]
fn the_annotation_carries_the_same_ruleset() {
    let mut b = Bundle::new("ll-annot");
    b.config["root"]["readonly"] = false.into();
    confine_writes(&mut b, "annotation", false);
    let out = b.probe("sh -c 'echo no > /etc/denied' 2>&1; echo ok > /tmp/x && echo tmp-ok");
    assert!(
        out.contains("Permission denied") && out.contains("tmp-ok"),
        "{out}"
    );
}

#[test]
fn tcp_connect_and_bind_follow_the_port_rules() {
    let mut b = Bundle::new("ll-net");
    b.config["process"]["landlock"] = serde_json::json!({
        "handledAccess": {"handledAccessNetwork": ["connect_tcp", "bind_tcp"]},
        "rules": {"networkPort": [{"allowedAccess": ["connect_tcp", "bind_tcp"], "ports": [8080]}]}
    });
    // The network namespace's loopback is down: an allowed connect fails later, with
    // another error than Landlock's EACCES.
    let out = b.probe("nc -w 1 127.0.0.1 81 </dev/null 2>&1; echo ---; nc -w 1 127.0.0.1 8080 </dev/null 2>&1; echo ---; timeout 1 nc -l -p 82 2>&1; true");
    let parts: Vec<&str> = out.split("---").collect();
    assert!(
        parts[0].contains("Permission denied"),
        "connect to 81: {out}"
    );
    assert!(
        !parts[1].contains("Permission denied"),
        "connect to 8080 is allowed: {out}"
    );
    assert!(parts[2].contains("Permission denied"), "bind to 82: {out}");
}

#[test]
fn landlock_needs_no_new_privileges() {
    let mut b = Bundle::new("ll-nnp");
    confine_writes(&mut b, "process", false);
    b.config["process"]["noNewPrivileges"] = false.into();
    b.script("true");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(
        err.contains("process.landlock") && err.contains("noNewPrivileges"),
        "{err}"
    );
    b.assert_nothing_left();
}

/// A right this kernel does not have (LANDLOCK_ACCESS_FS_RESOLVE_UNIX, ABI 9) fails the
/// create unless best effort is asked; then the partial enforcement is reported.
#[test]
fn unenforceable_rights_fail_unless_best_effort() {
    if palisade::isolate::landlock::kernel_abi() >= 9 {
        eprintln!("this kernel has Landlock ABI 9: the right used here is enforceable");
        return;
    }
    let mut b = Bundle::new("ll-hard");
    b.config["process"]["landlock"] = serde_json::json!({
        "handledAccess": {"handledAccessFS": ["write_file", 65536]},
        "rules": {"pathBeneath": [{"allowedAccess": ["write_file"], "paths": ["/tmp"]}]}
    });
    b.script("echo ran");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(err.contains("init step landlock"), "{err}");
    b.assert_nothing_left();
    b.config["process"]["landlock"]["enableBestEffort"] = true.into();
    let log = b.path().join("log.json");
    let o = b.palisade(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        &b.id,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ran\n");
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("partially_enforced"));
}

/// The kernel's audit netlink interface (linux/audit.h), just enough to switch auditing
/// on for one test and read its records: Landlock logs denials only while audit is on.
struct Audit {
    control: std::os::fd::OwnedFd,
    records: std::os::fd::OwnedFd,
    was_enabled: u32,
}

const AUDIT_GET: u16 = 1000;
const AUDIT_SET: u16 = 1001;
const AUDIT_STATUS_ENABLED: u32 = 1;
const AUDIT_LANDLOCK_ACCESS: u16 = 1423;
/// AUDIT_NLGRP_READLOG: every record, read-only (needs CAP_AUDIT_READ).
const AUDIT_GROUP_READLOG: u32 = 1;

fn netlink_audit(groups: u32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket/bind calls on a descriptor we own from here on.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_AUDIT,
        );
        assert!(
            fd >= 0,
            "netlink audit: {}",
            std::io::Error::last_os_error()
        );
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_nl = std::mem::zeroed();
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = groups;
        let r = libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &addr as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        );
        assert_eq!(r, 0, "bind audit: {}", std::io::Error::last_os_error());
        fd
    }
}

/// One netlink message of `fd` within `timeout`: its type and payload.
fn netlink_recv(fd: &std::os::fd::OwnedFd, timeout: Duration) -> Option<(u16, Vec<u8>)> {
    use std::os::fd::AsFd;
    let mut pfd = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    if nix::poll::poll(&mut pfd, ms).ok()? == 0 {
        return None;
    }
    let mut buf = vec![0u8; 65536];
    let n = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(fd), &mut buf).ok()?;
    let len = (u32::from_ne_bytes(buf[0..4].try_into().ok()?) as usize).min(n);
    let kind = u16::from_ne_bytes(buf[4..6].try_into().ok()?);
    Some((kind, buf[16..len].to_vec()))
}

impl Audit {
    fn send(&self, kind: u16, payload: &[u8]) {
        let mut msg = Vec::new();
        msg.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
        msg.extend_from_slice(&[0u8; 8]);
        msg.extend_from_slice(payload);
        nix::unistd::write(&self.control, &msg).expect("audit request");
    }

    /// `enabled` of struct audit_status.
    fn enabled(&self) -> u32 {
        self.send(AUDIT_GET, &[]);
        loop {
            let (kind, p) = netlink_recv(&self.control, Duration::from_secs(2)).expect("AUDIT_GET");
            if kind == AUDIT_GET {
                return u32::from_ne_bytes(p[4..8].try_into().unwrap());
            }
        }
    }

    fn set_enabled(&self, on: u32) {
        let mut status = [0u8; 32];
        status[0..4].copy_from_slice(&AUDIT_STATUS_ENABLED.to_ne_bytes());
        status[4..8].copy_from_slice(&on.to_ne_bytes());
        self.send(AUDIT_SET, &status);
    }

    fn on() -> Audit {
        let control = netlink_audit(0);
        let records = netlink_audit(AUDIT_GROUP_READLOG);
        let mut a = Audit {
            control,
            records,
            was_enabled: 0,
        };
        a.was_enabled = a.enabled();
        a.set_enabled(1);
        assert_ne!(a.enabled(), 0, "audit could not be switched on");
        a
    }

    /// The Landlock access records seen within `timeout`.
    fn landlock_records(&self, timeout: Duration) -> Vec<String> {
        let end = Instant::now() + timeout;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match netlink_recv(&self.records, left) {
                Some((AUDIT_LANDLOCK_ACCESS, p)) => out.push(String::from_utf8_lossy(&p).into()),
                Some(_) => {}
                None => break,
            }
        }
        out
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        if self.was_enabled == 0 {
            self.set_enabled(0);
        }
    }
}

/// Denials of the workload, which runs after execve, are logged by the kernel: palisade
/// asks for LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON. Without it the kernel would log only
/// denials of palisade's own init, before the exec, and this record would not exist.
#[test]
fn denials_of_the_workload_reach_the_audit_log() {
    if palisade::isolate::landlock::kernel_abi() < 7 {
        eprintln!("this kernel's Landlock (ABI < 7) has no denial logging");
        return;
    }
    let mut b = Bundle::new("ll-audit");
    b.config["root"]["readonly"] = false.into();
    confine_writes(&mut b, "process", false);
    std::fs::create_dir(b.rootfs().join("ll-audit-probe")).unwrap();
    let audit = Audit::on();
    let out = b.probe("sh -c 'echo no > /ll-audit-probe/f' 2>&1; true");
    assert!(out.contains("Permission denied"), "{out}");
    let records = audit.landlock_records(Duration::from_secs(3));
    drop(audit);
    assert!(
        records
            .iter()
            .any(|r| r.contains("blockers=fs.make_reg") && r.contains("path=\"/ll-audit-probe\"")),
        "no Landlock record for the denied write: {records:?}"
    );
}

/// A rule's path is granted where it leads: a symlink in the image (`/tmp-link -> /`)
/// would carry a grant that reads as one place to the whole root. Refused, by the step.
#[test]
fn a_rule_through_a_symlink_is_refused() {
    let mut b = Bundle::new("ll-symlink");
    b.config["root"]["readonly"] = false.into();
    std::os::unix::fs::symlink("/", b.rootfs().join("home/user/l")).unwrap();
    b.config["process"]["landlock"] = serde_json::json!({
        "handledAccess": {"handledAccessFS": ["write_file", "make_reg"]},
        "rules": {"pathBeneath": [{"allowedAccess": ["write_file", "make_reg"], "paths": ["/tmp", "/home/user/l/etc"]}]}
    });
    let (code, _, err) = b.run_script("echo x > /etc/owned");
    assert_ne!(code, 0);
    assert!(err.contains("landlock") && err.contains("symlink"), "{err}");
    assert!(!b.rootfs().join("etc/owned").exists());
    b.assert_nothing_left();
    // The target itself, named plainly, is fine.
    b.config["process"]["landlock"]["rules"]["pathBeneath"][0]["paths"] =
        serde_json::json!(["/tmp"]);
    assert_eq!(b.probe("echo x > /tmp/ok && echo ok"), "ok\n");
}
