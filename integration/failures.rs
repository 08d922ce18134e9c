//! Every failure: exit 1, one line naming the step and the path or field, in stderr and in
//! the --log file, and nothing left behind.

use crate::support::*;

fn create_fails(b: &Bundle, want: &[&str]) {
    let log = b.path().join("log.json");
    let _ = std::fs::remove_file(&log);
    b.write();
    let o = output_via_files(
        b.cmd(&[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "create",
            &b.id,
        ]),
        b.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "create should fail: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for w in want {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
    for w in want {
        assert!(
            last["msg"].as_str().unwrap().contains(w),
            "{w:?} not in log {last}"
        );
    }
    b.assert_nothing_left();
}

#[test]
fn missing_config() {
    let b = Bundle::new("f-noconfig");
    let o = b
        .cmd(&["create", "--bundle", "/nonexistent-bundle", &b.id])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent-bundle/config.json"),
        "{}",
        stderr(&o)
    );
    b.assert_nothing_left();
}

#[test]
fn malformed_config() {
    let b = Bundle::new("f-malformed");
    std::fs::write(b.path().join("config.json"), "{\"ociVersion\": ").unwrap();
    let o = b.cmd(&["create", &b.id]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("parse") && stderr(&o).contains("config.json"),
        "{}",
        stderr(&o)
    );
    b.assert_nothing_left();
}

#[test]
fn missing_rootfs() {
    let mut b = Bundle::new("f-norootfs");
    b.config["root"]["path"] = "no-such-rootfs".into();
    create_fails(&b, &["root.path", "no-such-rootfs"]);
}

#[test]
fn unknown_namespace_type() {
    let mut b = Bundle::new("f-nstype");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "galaxy"}));
    create_fails(&b, &["config.json", "galaxy"]);
}

#[test]
fn failing_mount() {
    let mut b = Bundle::new("f-mount");
    b.config["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/data", "type": "bind", "source": "/nonexistent/source", "options": ["rbind"]}));
    create_fails(&b, &["binds: mount /data", "/nonexistent/source"]);
}

#[test]
fn failing_filesystem_mount() {
    let mut b = Bundle::new("f-fsmount");
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"destination": "/x", "type": "nosuchfs", "source": "none"}));
    create_fails(&b, &["init step rootfs", "/x", "nosuchfs"]);
}

#[test]
fn failing_hooks() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = Bundle::new(&format!("f-hook-{}", kind.to_lowercase()));
        b.config["hooks"] = serde_json::json!({kind: [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook says no >&2; exit 3"]}]});
        create_fails(&b, &[kind, "exit status 3", "hook says no"]);
    }
}

#[test]
fn hook_timeout() {
    let mut b = Bundle::new("f-hooktimeout");
    b.config["hooks"] = serde_json::json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    create_fails(&b, &["createRuntime", "timed out"]);
}

#[test]
fn missing_executable() {
    let mut b = Bundle::new("f-noexec");
    b.config["process"]["args"] = serde_json::json!(["no-such-program"]);
    create_fails(
        &b,
        &[
            "init step executable",
            "no-such-program",
            "not found in $PATH",
        ],
    );
}

#[test]
fn unsupported_layers_are_refused_not_ignored() {
    let mut b = Bundle::new("f-apparmor");
    b.config["process"]["apparmorProfile"] = "docker-default".into();
    create_fails(&b, &["apparmorProfile", "not supported"]);
    let mut b = Bundle::new("f-rdma");
    b.config["linux"]["resources"]["rdma"] = serde_json::json!({"mlx4_0": {"hcaHandles": 1}});
    create_fails(&b, &["linux.resources.rdma"]);
}

#[test]
fn invalid_ids_are_refused() {
    let b = Bundle::new("f-id");
    b.write();
    for id in ["../escape", "a/b", ".."] {
        let o = b.cmd(&["create", id]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("invalid"), "{}", stderr(&o));
    }
    assert!(!b.path().join("escape").exists());
}

/// A create killed in the middle (here while a createRuntime hook runs) leaves a state
/// directory and a cgroup; `delete --force` removes them, and the init died with it.
#[test]
fn delete_force_cleans_a_create_killed_midway() {
    let mut b = Bundle::new("f-killed");
    let started = b.path().join("hook-started");
    b.config["hooks"] = serde_json::json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}; sleep 30", started.display())]}]});
    b.write();
    let mut child = b.cmd(&["create", &b.id]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !started.exists() {
        assert!(std::time::Instant::now() < deadline, "hook never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        b.state.join(&b.id).exists(),
        "the killed create left its state (as expected)"
    );
    let o = b.palisade(&["delete", "--force", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The hook's sleep is not the container's; stop it so the leftover check is about us.
    let _ = std::process::Command::new("pkill")
        .args(["-f", &format!("touch {}", started.display())])
        .status();
    b.assert_nothing_left();
}

/// A create that died before its init existed leaves a record with pid 0: deleting it
/// must not signal pid 0 (our own process group) and must remove the record.
#[test]
fn delete_of_a_record_without_an_init() {
    let b = Bundle::new("f-pid0");
    b.write();
    let dir = b.state.join(&b.id);
    std::fs::create_dir_all(&dir).unwrap();
    let record = serde_json::json!({
        "version": 1, "id": b.id, "phase": "creating", "pid": 0, "start_time": 0,
        "oci_version": "1.2.0", "bundle": b.path(), "rootfs": b.rootfs(), "created": "2026-01-01T00:00:00Z",
        "owner": "root", "annotations": {}, "cgroup": {"dirs": [], "created": []}, "hooks": {}
    });
    std::fs::write(dir.join("state.json"), record.to_string()).unwrap();
    assert_eq!(b.status(), "creating");
    let o = b.palisade(&["delete", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.exists());
}
