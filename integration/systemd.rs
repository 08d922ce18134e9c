//! `--systemd-cgroup`: the container in a transient scope made by a real systemd over
//! D-Bus. systemd is not PID 1 on the test machine, so these run in the VM lane, where
//! `scripts/vm-test.sh --systemd` boots the host's own systemd as the VM's init, once with
//! cgroup v2 and once with the hybrid layout, and sets PALISADE_TEST_SYSTEMD=1. Elsewhere
//! they say why they did nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

fn systemd_here() -> bool {
    if std::env::var_os("PALISADE_TEST_SYSTEMD").is_none() {
        eprintln!("systemd tests run in the VM lane (scripts/vm-test.sh --systemd)");
        return false;
    }
    assert!(
        Path::new("/run/systemd/system").exists(),
        "PALISADE_TEST_SYSTEMD is set but systemd is not running"
    );
    eprintln!(
        "systemd with the {} cgroup layout",
        if v2() { "v2" } else { "hybrid" }
    );
    true
}

fn systemctl_show(unit: &str, prop: &str) -> String {
    let o = Command::new("systemctl")
        .args(["show", "-P", prop, unit])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The scope's directories: one on v2; on the hybrid layout, those of the controllers the
/// tests read, systemd's own hierarchy and the cgroup2 mount.
fn scope_dirs(rel: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if v2() {
        vec![base.join(rel)]
    } else {
        ["memory", "pids", "systemd", "unified"]
            .iter()
            .map(|h| base.join(h).join(rel))
            .collect()
    }
}

/// The scope is stopped and its directories are gone.
fn assert_scope_gone(unit: &str, rel: &str) {
    for d in scope_dirs(rel) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert_ne!(systemctl_show(unit, "ActiveState"), "active");
}

/// A limit file of the scope, by its v2 name (its v1 equivalent on the hybrid layout).
fn limit_file(rel: &str, v2_name: &str) -> PathBuf {
    let base = Path::new("/sys/fs/cgroup");
    match (v2(), v2_name) {
        (true, _) => base.join(rel).join(v2_name),
        (false, "memory.max") => base.join("memory").join(rel).join("memory.limit_in_bytes"),
        (false, f) => base.join("pids").join(rel).join(f),
    }
}

#[test]
fn the_container_lives_in_a_transient_scope_until_delete() {
    if !systemd_here() {
        return;
    }
    let mut b = Bundle::new("sd-scope");
    b.config["linux"]["cgroupsPath"] = format!("palisadetest-a.slice:ptest:{}", b.id).into();
    b.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 67108864});
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 40});
    b.script("sleep 100");
    let o = b.palisade(&["--systemd-cgroup", "run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let unit = format!("ptest-{}.scope", b.id);
    let rel = format!("palisadetest.slice/palisadetest-a.slice/{unit}");
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    if v2() {
        assert_eq!(own.trim(), format!("0::/{rel}"));
    } else {
        for h in [":memory:", ":pids:", ":name=systemd:", "0::"] {
            assert!(
                own.lines()
                    .any(|l| l.contains(h) && l.ends_with(&format!("/{rel}"))),
                "{h} {own}"
            );
        }
    }
    assert_eq!(systemctl_show(&unit, "ActiveState"), "active");
    assert_eq!(systemctl_show(&unit, "Delegate"), "yes");
    // The limits are systemd's too.
    let memory_prop = if v2() { "MemoryMax" } else { "MemoryLimit" };
    assert_eq!(systemctl_show(&unit, memory_prop), "67108864");
    assert_eq!(systemctl_show(&unit, "TasksMax"), "40");
    // Seen from inside, through the container's cgroup namespace.
    let inside = if v2() {
        ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max"]
    } else {
        [
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/pids/pids.max",
        ]
    };
    let log = b.palisade(&["exec", &b.id, "cat", inside[0], inside[1]]);
    assert_eq!(stdout(&log), "67108864\n40\n", "{}", stderr(&log));
    // exec joins the scope: every hierarchy's path is the namespace's root.
    let o = b.palisade(&[
        "--systemd-cgroup",
        "exec",
        &b.id,
        "cat",
        "/proc/self/cgroup",
    ]);
    let cg = stdout(&o);
    assert!(
        !cg.is_empty() && cg.lines().all(|l| l.ends_with(":/")),
        "{cg} {}",
        stderr(&o)
    );
    // update reaches systemd as well as the file.
    let o = b.palisade(&["--systemd-cgroup", "update", "--memory", "134217728", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(systemctl_show(&unit, memory_prop), "134217728");
    // A daemon-reload makes systemd write every unit's limits again: the created one and
    // the updated one survive it, as they would not if only cgroupfs held them.
    assert!(Command::new("systemctl")
        .arg("daemon-reload")
        .status()
        .unwrap()
        .success());
    let read = |f: &str| std::fs::read_to_string(limit_file(&rel, f)).unwrap();
    assert_eq!(read("memory.max").trim(), "134217728");
    assert_eq!(read("pids.max").trim(), "40");
    let o = b.palisade(&["--systemd-cgroup", "delete", "--force", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_scope_gone(&unit, &rel);
    b.assert_nothing_left();
}

#[test]
fn default_path_and_a_run_to_completion() {
    if !systemd_here() {
        return;
    }
    let mut b = Bundle::new("sd-default");
    b.script("cat /proc/self/cgroup; exit 3");
    let o = b.palisade(&["--systemd-cgroup", "run", &b.id]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let cg = stdout(&o);
    assert!(
        !cg.is_empty() && cg.lines().all(|l| l.ends_with(":/")),
        "{cg}"
    );
    let unit = format!("palisade-{}.scope", b.id);
    assert_scope_gone(&unit, &format!("system.slice/{unit}"));
    b.assert_nothing_left();
}

#[test]
fn a_bad_path_or_a_refused_unit_leaves_nothing() {
    if !systemd_here() {
        return;
    }
    let mut b = Bundle::new("sd-bad");
    b.script("true");
    b.config["linux"]["cgroupsPath"] = "/not/a/slice/path".into();
    let o = b.palisade(&["--systemd-cgroup", "run", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("slice:prefix:name"), "{}", stderr(&o));
    b.assert_nothing_left();
    // A unit systemd refuses (the scope's name is taken by a running unit).
    let mut other = Bundle::new("sd-taken");
    other.script("sleep 100");
    other.config["linux"]["cgroupsPath"] = "system.slice:ptaken:same".into();
    let o = other.palisade(&["--systemd-cgroup", "run", "-d", &other.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    b.config["linux"]["cgroupsPath"] = "system.slice:ptaken:same".into();
    let o = b.palisade(&["--systemd-cgroup", "run", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("ptaken-same.scope"), "{}", stderr(&o));
    b.assert_nothing_left();
    // The refused create did not stop the unit it collided with.
    assert_eq!(systemctl_show("ptaken-same.scope", "ActiveState"), "active");
    assert!(other
        .palisade(&["--systemd-cgroup", "delete", "--force", &other.id])
        .status
        .success());
    other.assert_nothing_left();
}
