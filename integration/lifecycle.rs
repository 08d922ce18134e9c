use crate::support::*;

#[test]
fn create_start_kill_delete_walks_the_states() {
    let mut b = Bundle::new("states");
    // A writable root for the readiness marker: pid 1 ignores TERM until its trap is set.
    b.config["root"]["readonly"] = false.into();
    b.script("trap 'exit 0' TERM; touch /ready; while true; do sleep 0.05; done");
    let pidfile = b.path().join("init.pid");
    let o = b.palisade(&["create", "--pid-file", pidfile.to_str().unwrap(), &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let st = b.state_json();
    assert_eq!(st["status"], "created");
    assert_eq!(st["ociVersion"], "1.3.0");
    assert_eq!(st["bundle"], b.path().to_str().unwrap());
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(st["pid"], pid);

    // Wrong-state operations fail with clear messages.
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    assert!(b.palisade(&["start", &b.id]).status.success());
    assert_eq!(b.status(), "running");
    let o = b.palisade(&["start", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already running"), "{}", stderr(&o));
    let o = b.palisade(&["delete", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not stopped"), "{}", stderr(&o));

    b.wait_marker("ready");
    assert!(b.palisade(&["kill", &b.id, "TERM"]).status.success());
    b.wait_status("stopped");
    let st = b.state_json();
    assert!(
        st.get("pid").is_none(),
        "a stopped container has no pid: {st}"
    );
    let o = b.palisade(&["kill", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    // runc's words, which containerd's shim matches.
    assert!(
        stderr(&o).contains("container not running"),
        "{}",
        stderr(&o)
    );
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
    let o = b.palisade(&["state", &b.id]);
    assert!(stderr(&o).contains("does not exist"));
    assert!(
        b.palisade(&["delete", "--force", &b.id]).status.success(),
        "delete --force of nothing succeeds"
    );
}

#[test]
fn kill_delivers_the_named_signal() {
    let mut b = Bundle::new("signal");
    b.config["root"]["readonly"] = false.into();
    b.script("trap 'echo usr1 > /got; exit 0' USR1; touch /ready; while true; do sleep 0.05; done");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    b.wait_marker("ready");
    let o = b.palisade(&["kill", &b.id, "SIGUSR1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    b.wait_status("stopped");
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("got")).unwrap(),
        "usr1\n"
    );
    assert!(b.palisade(&["delete", &b.id]).status.success());
}

#[test]
fn kill_all_reaches_every_process_and_numbers_work() {
    let mut b = Bundle::new("killall");
    b.script("sleep 1000 & sleep 1000 & wait");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    assert!(b.palisade(&["kill", "--all", &b.id, "9"]).status.success());
    b.wait_status("stopped");
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn run_returns_the_exit_status() {
    let mut b = Bundle::new("exitcode");
    b.script("exit 7");
    assert_eq!(b.run().0, 7);
    b.assert_nothing_left();
    // pid 1 of a pid namespace ignores SIGKILL sent from inside it: run without one.
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    b.script("kill -KILL $$");
    assert_eq!(b.run().0, 128 + 9, "killed by a signal: 128 + signal");
    b.assert_nothing_left();
}

/// Kubernetes allows 256 KB of annotations; the OCI state that carries them travels to the
/// init as one packet, which once had to fit 64 KB and then the socket's default 208 KB.
#[test]
fn large_annotations_reach_the_state() {
    let mut b = Bundle::new("bigann");
    let big = "a".repeat(260_000);
    b.config["annotations"] = serde_json::json!({ "example.com/big": big });
    b.script("true");
    let o = b.palisade(&["create", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        b.state_json()["annotations"]["example.com/big"],
        big.as_str()
    );
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
}

/// Annotations too large for the channel fail create with a clear error; the init, which
/// is still waiting for its first message, is not waited for in turn.
#[test]
fn oversized_annotations_fail_create_cleanly() {
    let mut b = Bundle::new("hugeann");
    b.config["annotations"] = serde_json::json!({ "example.com/huge": "a".repeat(8 << 20) });
    b.script("true");
    let o = b.palisade(&["create", &b.id]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is more than the channel to the init takes"),
        "{err}"
    );
    b.assert_nothing_left();
}

#[test]
fn delete_of_created_container_needs_no_force() {
    let mut b = Bundle::new("delcreated");
    b.script("true");
    assert!(b.palisade(&["create", &b.id]).status.success());
    let o = b.palisade(&["delete", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    b.assert_nothing_left();
}

#[test]
fn hooks_run_at_their_points_with_state() {
    let mut b = Bundle::new("hooks");
    let out = b.path().join("hooks.log");
    let o = out.display().to_string();
    let hook = |name: &str| serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("printf '{name} ' >> {o}; cat >> {o}; echo >> {o}")]});
    // createContainer runs in the container's namespaces (before the hostname is set, as
    // with runc): its uts namespace is the container's.
    let in_container = |name: &str| serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo {name} $(readlink /proc/self/ns/uts) >> {o}")]});
    b.config["hooks"] = serde_json::json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [in_container("createContainer")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    b.script("readlink /proc/self/ns/uts");
    let (code, uts, err) = b.run();
    assert_eq!(code, 0, "{err}");
    let log = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with("prestart {") && lines[0].contains("\"status\":\"creating\""),
        "{log}"
    );
    assert!(lines[1].starts_with("createRuntime {"), "{log}");
    assert_eq!(lines[2], format!("createContainer {}", uts.trim()), "{log}");
    assert!(
        lines[3].starts_with("poststart {") && lines[3].contains("\"status\":\"running\""),
        "{log}"
    );
    assert!(
        lines[4].starts_with("poststop {") && lines[4].contains("\"status\":\"stopped\""),
        "{log}"
    );
    assert!(lines[0].contains(&format!("\"id\":\"{}\"", b.id)));
    b.assert_nothing_left();
}

#[test]
fn start_container_hook_runs_inside_after_start() {
    let mut b = Bundle::new("starthook");
    b.config["root"]["readonly"] = false.into();
    b.config["hooks"] = serde_json::json!({
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo started > /marker"]}]
    });
    b.script("cat /marker");
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "started\n");
}

/// runtime-spec: a failing poststop hook is logged as a warning; delete still completes.
#[test]
fn failing_poststop_only_warns() {
    let mut b = Bundle::new("poststopfail");
    b.config["hooks"] = serde_json::json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "echo cleanup failed >&2; exit 9"]}]});
    b.script("true");
    let (code, _, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("poststop") && err.contains("exit status 9") && err.contains("level=warning"),
        "{err}"
    );
    b.assert_nothing_left();
}

/// `runc spec`'s own default config runs as runc runs it: its ambient capabilities come
/// without inheritable ones (CVE-2022-29162), so the kernel cannot raise them; runc and
/// crun skip them, and so does palisade.
#[test]
fn runc_specs_default_config_runs() {
    let mut b = Bundle::new("lc-runcspec");
    let gen = b.path().join("runc-spec");
    std::fs::create_dir(&gen).unwrap();
    let o = std::process::Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(&gen)
        .output()
        .expect("runc (scripts/deps.sh --tests installs it)");
    assert!(o.status.success(), "{}", stderr(&o));
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(gen.join("config.json")).unwrap()).unwrap();
    assert!(config["process"]["capabilities"]["inheritable"].is_null());
    config["process"]["terminal"] = false.into();
    config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(format!("PALISADE_TEST_MARK={}", b.id).into());
    b.config = config;
    let out = b.probe("grep -E '^Cap(Inh|Eff|Amb):' /proc/self/status");
    assert_eq!(
        out,
        "CapInh:\t0000000000000000\nCapEff:\t0000000020000420\nCapAmb:\t0000000000000000\n"
    );
    b.assert_nothing_left();
}

/// runtime-spec 1.3: a failing poststart hook fails `start`, and the container is stopped
/// and destroyed, with its poststop hooks run (runtime.md#lifecycle, steps 9, 12, 13).
#[test]
fn failing_poststart_fails_start_and_destroys() {
    let mut b = Bundle::new("poststart-fails");
    let log = b.path().join("poststop.log");
    b.config["hooks"] = serde_json::json!({
        "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no >&2; exit 3"]}],
        "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", format!("echo ran > {}", log.display())]}],
    });
    b.script("sleep 100");
    assert!(b.palisade(&["create", &b.id]).status.success());
    let o = b.palisade(&["start", &b.id]);
    assert!(!o.status.success(), "start must fail");
    assert!(stderr(&o).contains("poststart"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\n");
    b.assert_nothing_left();
    // run reports it the same way.
    let _ = std::fs::remove_file(&log);
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("poststart"), "{err}");
    b.assert_nothing_left();
}

/// A failing startContainer hook fails `start` too, instead of leaving a stopped
/// container behind a successful start.
#[test]
fn failing_start_container_hook_fails_start() {
    let mut b = Bundle::new("starthook-fails");
    b.config["hooks"] = serde_json::json!({
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]
    });
    b.script("echo never");
    assert!(b.palisade(&["create", &b.id]).status.success());
    let o = b.palisade(&["start", &b.id]);
    assert!(!o.status.success(), "start must fail");
    assert!(stderr(&o).contains("startContainer"), "{}", stderr(&o));
    b.assert_nothing_left();
}

/// runtime.md#lifecycle: a failing prestart or createContainer hook fails create, which
/// then destroys what it made and runs the poststop hooks (steps 12 and 13).
#[test]
fn failing_create_hooks_run_poststop() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = Bundle::new("createhook-fails");
        let log = b.path().join("poststop.log");
        b.config["hooks"] = serde_json::json!({
            kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}],
            "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", log.display())]}],
        });
        b.script("true");
        let o = b.palisade(&["create", &b.id]);
        assert!(!o.status.success(), "{kind}");
        let state = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            state.contains("\"status\":\"stopped\""),
            "{kind}: poststop got {state:?}"
        );
        b.assert_nothing_left();
    }
}

/// With startContainer hooks that pass, a process that exits at once is not mistaken for a
/// failed hook: start succeeds and the container is stopped, not destroyed.
#[test]
fn a_quick_exit_after_start_container_hooks_is_no_failure() {
    let mut b = Bundle::new("starthook-quick");
    b.config["hooks"] = serde_json::json!({
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "true"]}]
    });
    b.script("exit 0");
    for _ in 0..5 {
        assert!(b.palisade(&["create", &b.id]).status.success());
        let o = b.palisade(&["start", &b.id]);
        assert!(o.status.success(), "{}", stderr(&o));
        b.wait_status("stopped");
        assert!(b.palisade(&["delete", &b.id]).status.success());
    }
}
