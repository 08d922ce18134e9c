//! Landlock, checked from inside the container: writes outside the allowed paths and TCP
//! to ports not allowed are denied by the kernel.

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
