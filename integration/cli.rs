use crate::support::*;

#[test]
fn unknown_flags_and_commands_exit_1() {
    for args in [&["bogus"][..], &["create", "--bogus", "x"], &["kill"]] {
        let o = bin().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn version_names_spec_and_libseccomp() {
    let o = bin().arg("--version").output().unwrap();
    let s = stdout(&o);
    assert!(
        s.starts_with("palisade version ")
            && s.contains("\nspec: 1.3.0")
            && s.contains("\nlibseccomp: 2."),
        "{s}"
    );
}

#[test]
fn features_is_truthful_json() {
    let o = bin().arg("features").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    assert_eq!(v["linux"]["apparmor"]["enabled"], false);
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "user"));
    assert_eq!(v["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    let abi: i64 = v["annotations"]["io.palisade.landlock.abi"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(abi, palisade::isolate::landlock::kernel_abi());
    assert_eq!(
        v["annotations"]["io.palisade.init.steps"],
        palisade::process::init::step_names().join(",")
    );
    assert!(v["annotations"]["io.palisade.init.steps"]
        .as_str()
        .unwrap()
        .starts_with("cgroup,namespaces,affinity,keyring,rootfs"));
}

#[test]
fn spec_refuses_to_overwrite() {
    let b = Bundle::new("spec-overwrite");
    let o = bin()
        .args(["spec", "--bundle"])
        .arg(b.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("exists"));
}

#[test]
fn list_shows_containers_in_table_and_json() {
    let mut b = Bundle::new("list");
    b.script("sleep 100");
    let o = b.palisade(&["create", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&b.palisade(&["list"]));
    assert!(
        t.starts_with("ID") && t.contains(&b.id) && t.contains("created"),
        "{t}"
    );
    let q = stdout(&b.palisade(&["list", "-q"]));
    assert_eq!(q.trim(), b.id);
    let j: serde_json::Value =
        serde_json::from_slice(&b.palisade(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(j[0]["id"], b.id.as_str());
    assert_eq!(j[0]["status"], "created");
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn systemd_cgroup_flag_is_accepted_and_creating_refuses_clearly() {
    let mut b = Bundle::new("systemd");
    b.script("true");
    let o = b.palisade(&["--systemd-cgroup", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = b.palisade(&["--systemd-cgroup", "create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--systemd-cgroup"), "{}", stderr(&o));
    if !std::path::Path::new("/run/systemd/system").exists() {
        assert!(
            stderr(&o).contains("systemd is not running"),
            "{}",
            stderr(&o)
        );
    }
    b.assert_nothing_left();
}

/// A manager's cleanup may run after the bundle holding the log is gone.
#[test]
fn an_unopenable_log_does_not_stop_delete_force() {
    let b = Bundle::new("logless");
    let o = b.palisade(&[
        "--log",
        "/nonexistent/dir/log.json",
        "--log-format",
        "json",
        "delete",
        "--force",
        &b.id,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("logging to stderr"), "{}", stderr(&o));
}
