//! Hardening profiles through the real binary: refusals before anything exists, hardening
//! seen from inside the container, warn and audit modes, who chooses the profile, exec
//! checked against the container's profile, the audit log, and the verdicts on the configs
//! real managers (runc, containerd's ctr, podman) produce.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::*;

/// Makes `b` run under an operator configuration of its own; returns its audit log.
fn operator(b: &mut Bundle, profile: &str, mode: &str) -> PathBuf {
    let audit = b.path().join("audit.log");
    let conf = b.path().join("operator.toml");
    std::fs::write(
        &conf,
        format!(
            "profile = \"{profile}\"\nmode = \"{mode}\"\naudit_log = \"{}\"\n",
            audit.display()
        ),
    )
    .unwrap();
    b.operator = Some(conf);
    audit
}

fn audit_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256(path: &Path) -> String {
    let o = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn drop_namespace(b: &mut Bundle, kind: &str) {
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != kind);
}

fn add_caps(b: &mut Bundle, caps: &[&str]) {
    for set in ["bounding", "effective", "permitted"] {
        let list = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        list.extend(caps.iter().map(|c| json!(c)));
    }
}

/// The CapBnd mask printed by a probe.
fn cap_bnd(out: &str) -> u64 {
    let line = out.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

const CAP_SYS_ADMIN: u64 = 1 << 21;
const CAP_NET_RAW: u64 = 1 << 13;

#[test]
fn a_refused_create_names_every_rule_and_leaves_nothing() {
    let mut b = Bundle::new("pol-refuse");
    let audit = operator(&mut b, "baseline", "enforce");
    drop_namespace(&mut b, "pid");
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/hostetc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]
    }));
    b.config["linux"]["sysctl"] = json!({"kernel.msgmax": "8192"});
    add_caps(&mut b, &["CAP_SYS_ADMIN"]);
    let log = b.path().join("log.json");
    let o = b.palisade(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        &b.id,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for rule in ["host-pid-namespace", "host-mounts", "sysctls"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("[{rule}]")) && l.contains("Fix:")),
            "no line for {rule}: {err}"
        );
    }
    // Capabilities can be hardened: not a reason for the refusal.
    assert!(!err.contains("[capabilities]"), "{err}");
    // What containerd's shim shows: the last error record of the json log.
    let last = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"] == "error")
        .unwrap();
    let msg = last["msg"].as_str().unwrap();
    assert!(msg.starts_with("create: refused by profile baseline (enforce): 3 rules violated"));
    assert!(msg.contains("[host-pid-namespace]") && msg.contains("[host-mounts]"));
    b.assert_nothing_left();
    let records = audit_records(&audit);
    let r = records.last().unwrap();
    assert_eq!(r["decision"], "refused");
    assert_eq!(r["outcome"], "refused");
    assert_eq!(r["id"], b.id.as_str());
    assert_eq!(
        r["config_sha256"],
        sha256(&b.path().join("config.json")).as_str()
    );
    assert_eq!(r["refused_for"].as_array().unwrap().len(), 3);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&audit).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn baseline_hardening_is_seen_inside_the_container() {
    let mut b = Bundle::new("pol-harden");
    let audit = operator(&mut b, "baseline", "enforce");
    add_caps(&mut b, &["CAP_SYS_ADMIN", "CAP_NET_RAW"]);
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys" {
            m["options"] = json!(["nosuid", "noexec", "nodev"]);
        }
    }
    b.config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p != "/proc/kcore");
    assert!(b.config["linux"]["seccomp"].is_null());
    let (code, out, err) = b.run_script(
        "grep -E '^(CapBnd|Seccomp):' /proc/self/status; grep ' /sys ' /proc/mounts; \
         echo kcore=$(head -c 16 /proc/kcore | wc -c)",
    );
    assert_eq!(code, 0, "{err}");
    let bnd = cap_bnd(&out);
    assert_eq!(bnd & (CAP_SYS_ADMIN | CAP_NET_RAW), 0, "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains(" sysfs ro,"), "{out}");
    assert!(out.contains("kcore=0"), "{out}");
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(r["decision"], "hardened");
    assert_eq!(r["outcome"], "created");
    let hardened = r["hardened"].to_string();
    for rule in [
        "capabilities",
        "seccomp-enabled",
        "sys-readonly",
        "masked-paths",
    ] {
        assert!(hardened.contains(&format!("[{rule}]")), "{hardened}");
    }
    assert_eq!(r["applied"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");

    // `state` shows the profile and mode.
    let o = b.palisade(&["create", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = b.palisade(&["state", &b.id]);
    let st: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The state keeps the config as hardened, which exec reads.
    let kept: Value =
        serde_json::from_slice(&std::fs::read(b.state.join(&b.id).join("config.json")).unwrap())
            .unwrap();
    assert_eq!(kept["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(st["annotations"]["io.palisade.profile"], "baseline");
    assert_eq!(st["annotations"]["io.palisade.mode"], "enforce");
    let o = b.palisade(&["delete", "--force", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn warn_mode_runs_the_config_and_names_the_violations() {
    let mut b = Bundle::new("pol-warn");
    let audit = operator(&mut b, "baseline", "warn");
    add_caps(&mut b, &["CAP_SYS_ADMIN"]);
    let (code, out, err) = b.run_script("grep CapBnd /proc/self/status");
    assert_eq!(code, 0, "{err}");
    assert_ne!(
        cap_bnd(&out) & CAP_SYS_ADMIN,
        0,
        "warn must not change the config"
    );
    assert!(
        err.contains("profile baseline (warn): [capabilities] CAP_SYS_ADMIN"),
        "{err}"
    );
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(
        (r["decision"].as_str(), r["mode"].as_str()),
        (Some("allowed"), Some("warn"))
    );
    assert_eq!(r["violations"][0]["rule"], "capabilities");
}

#[test]
fn audit_mode_runs_the_config_and_only_records() {
    let mut b = Bundle::new("pol-audit");
    let audit = operator(&mut b, "baseline", "audit");
    add_caps(&mut b, &["CAP_SYS_ADMIN"]);
    let (code, out, err) = b.run_script("grep CapBnd /proc/self/status");
    assert_eq!(code, 0, "{err}");
    assert_ne!(cap_bnd(&out) & CAP_SYS_ADMIN, 0);
    assert!(!err.contains("capabilities"), "audit mode printed: {err}");
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(r["mode"], "audit");
    assert_eq!(r["violations"][0]["rule"], "capabilities");
}

#[test]
fn a_workload_annotation_can_raise_the_floor_but_not_lower_it() {
    let mut b = Bundle::new("pol-annot-low");
    let audit = operator(&mut b, "restricted", "enforce");
    b.config["annotations"] = json!({"io.palisade.profile": "baseline"});
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("io.palisade.profile") && err.contains("not at least as strict"),
        "{err}"
    );
    b.assert_nothing_left();
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(r["decision"], "refused");
    assert!(r["reason"]
        .as_str()
        .unwrap()
        .contains("io.palisade.profile"));

    let mut b = Bundle::new("pol-annot-high");
    operator(&mut b, "baseline", "enforce");
    b.config["annotations"] = json!({"io.palisade.profile": "restricted"});
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("refused by profile restricted"), "{err}");
    assert!(err.contains("[run-as-non-root]"), "{err}");
    b.assert_nothing_left();
}

#[test]
fn the_binary_name_selects_the_profile() {
    let mut b = Bundle::new("pol-argv0");
    let audit = operator(&mut b, "baseline", "enforce");
    let link = b.path().join("palisade-restricted");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    b.write();
    let mut c = Command::new(&link);
    c.arg("--root")
        .arg(&b.state)
        .args(["create", &b.id])
        .env("PALISADE_CONFIG", b.operator.as_ref().unwrap())
        .env("PALISADE_TEST_MARK", &b.id)
        .current_dir(b.path());
    let o = output_via_files(c, b.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("refused by profile restricted"), "{err}");
    b.assert_nothing_left();
    assert_eq!(
        audit_records(&audit).pop().unwrap()["profile"],
        "restricted"
    );
}

/// A bundle whose config is `palisade spec --profile P`, running a probe.
fn profile_bundle(name: &str, profile: &str, probe: &str) -> (Bundle, PathBuf) {
    let mut b = Bundle::new(name);
    let audit = operator(&mut b, profile, "enforce");
    let dir = b.path().join("spec");
    std::fs::create_dir(&dir).unwrap();
    let o = bin()
        .args(["spec", "--profile", profile, "--bundle"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["sh", "-c", probe]);
    config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!(format!("PALISADE_TEST_MARK={}", b.id)));
    b.config = config;
    (b, audit)
}

#[test]
fn spec_for_restricted_runs_under_restricted() {
    let (b, audit) = profile_bundle(
        "pol-restricted",
        "restricted",
        "id -u; grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status; \
         touch /etc/x 2>&1; mkdir /tmp/d && echo tmp-ok",
    );
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("65534\n"), "{out}");
    assert!(
        out.contains("NoNewPrivs:\t1") && out.contains("Seccomp:\t2"),
        "{out}"
    );
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("/etc/x: Read-only file system"), "{out}");
    assert!(out.contains("tmp-ok"), "{out}");
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(
        (r["profile"].as_str(), r["decision"].as_str()),
        (Some("restricted"), Some("allowed"))
    );
    assert_eq!(r["applied"]["landlock"], "fully_enforced");
    assert_eq!(r["applied"]["cgroup"]["pidsLimit"], 1024);
}

#[test]
fn spec_for_sealed_runs_under_sealed() {
    let (b, audit) = profile_bundle(
        "pol-sealed",
        "sealed",
        "cat /proc/self/uid_map; grep CapEff /proc/self/status; \
         nc 127.0.0.1 80 </dev/null 2>&1; cp /bin/busybox /tmp/bb 2>&1; /tmp/bb true 2>&1; echo done",
    );
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    let map: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    // Landlock handles TCP connect: denied before routing is even looked at.
    assert!(out.contains("(127.0.0.1): Permission denied"), "{out}");
    // /tmp is writable but noexec.
    assert!(out.contains("/tmp/bb: Permission denied"), "{out}");
    let r = audit_records(&audit).pop().unwrap();
    assert_eq!(r["profile"], "sealed");
    assert_eq!(r["applied"]["user"]["userns"], true);
}

#[test]
fn exec_is_judged_by_the_containers_profile() {
    let (mut b, audit) = profile_bundle("pol-exec", "restricted", "sleep 100");
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exec = |args: &[&str]| {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        let o = b.palisade(&full);
        (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
    };
    let status = "grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status";
    let want = "CapBnd:\t0000000000000400\nNoNewPrivs:\t1\nSeccomp:\t2\n";
    let (code, out, err) = exec(&[&b.id, "id", "-u"]);
    assert_eq!((code, out.trim()), (0, "65534"), "{err}");
    // restricted hardens capabilities: an extra one asked for is dropped, as at create.
    let (code, out, err) = exec(&["--cap", "CAP_SYS_ADMIN", &b.id, "sh", "-c", status]);
    assert_eq!((code, out.as_str()), (0, want), "{err}");
    // What a manager passes: the container's process as the config first had it (here
    // with NET_RAW and without no_new_privs or Landlock), hardened the same way.
    let mut process = b.config["process"].clone();
    process["args"] = json!(["sh", "-c", status]);
    process["noNewPrivileges"] = json!(false);
    process.as_object_mut().unwrap().remove("landlock");
    for set in ["bounding", "effective", "permitted"] {
        process["capabilities"][set] = json!(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    }
    let file = b.path().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let (code, out, err) = exec(&["--process", file.to_str().unwrap(), &b.id]);
    assert_eq!((code, out.as_str()), (0, want), "{err}");
    // restricted refuses root: an exec as root is refused, not hardened.
    let (code, _, err) = exec(&["--user", "0", &b.id, "true"]);
    assert_eq!(code, 255, "a failed exec exits as runc's does");
    assert!(err.contains("[run-as-non-root]"), "{err}");
    let records = audit_records(&audit);
    let execs: Vec<_> = records
        .iter()
        .filter(|r| r["command"] == "exec")
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(execs, ["allowed", "hardened", "hardened", "refused"]);
    let o = b.palisade(&["delete", "--force", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    b.assert_nothing_left();
}

/// `check --format json`: (verdict, rules refused, rules hardened), and the exit status.
fn check(config: &Path, profile: &str) -> (String, Vec<String>, Vec<String>, i32) {
    let o = bin()
        .args(["check", "--profile", profile, "--format", "json"])
        .arg(config)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("check {}: {}", config.display(), stderr(&o)));
    let rules = |remaining: bool| -> Vec<String> {
        let mut v: Vec<String> = r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["remaining"] == remaining)
            .map(|v| v["rule"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    (
        r["verdict"].as_str().unwrap().to_owned(),
        rules(true),
        rules(false),
        o.status.code().unwrap_or(-1),
    )
}

/// podman's config, caught by a runtime that saves it and fails (podman passes it to the
/// runtime's `create`; it has no command to print it).
fn podman_config(dir: &Path) -> PathBuf {
    let out = dir.join("podman.json");
    let runtime = dir.join("capture");
    std::fs::write(
        &runtime,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in --bundle|-b) cp \"$2/config.json\" {};; esac; shift; done\nexit 1\n",
            out.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join("rootfs");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(&copy)
        .status()
        .unwrap()
        .success());
    let o = Command::new("podman")
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .arg("--runtime")
        .arg(&runtime)
        .args([
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            "--storage-driver",
            "vfs",
        ])
        .args(["run", "--rm", "--network", "none", "--rootfs"])
        .arg(&copy)
        .arg("/bin/true")
        .output()
        .expect("podman (scripts/deps.sh installs it)");
    assert!(
        out.exists(),
        "podman did not call the runtime: {}",
        stderr(&o)
    );
    out
}

#[test]
fn verdicts_on_the_configs_real_managers_produce() {
    let d = tempfile::tempdir().unwrap();
    let runc = d.path().join("runc");
    std::fs::create_dir(&runc).unwrap();
    let o = Command::new("runc")
        .arg("spec")
        .current_dir(&runc)
        .output()
        .expect("runc (scripts/deps.sh installs it)");
    assert!(o.status.success(), "{}", stderr(&o));
    let ctr = d.path().join("ctr.json");
    let o = Command::new("ctr")
        .args(["oci", "spec"])
        .output()
        .expect("ctr (scripts/deps.sh installs containerd)");
    assert!(o.status.success(), "{}", stderr(&o));
    let mut spec: Value = serde_json::from_slice(&o.stdout).unwrap();
    // `ctr run` fills in the command; the default spec has none.
    spec["process"]["args"] = json!(["sh"]);
    std::fs::write(&ctr, spec.to_string()).unwrap();
    let podman = podman_config(d.path());
    // podman removed its per-container files when the capturing runtime failed; the policy
    // judges a bind by the object its source opens to (spec::Pin), so they are made again,
    // as podman would have them at create.
    let captured: Value = serde_json::from_slice(&std::fs::read(&podman).unwrap()).unwrap();
    for m in captured["mounts"].as_array().unwrap() {
        let Some(src) = m["source"].as_str().filter(|s| s.starts_with('/')) else {
            continue;
        };
        let bind = m["type"] == "bind"
            || m["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x == "bind" || x == "rbind"));
        if !bind || Path::new(src).exists() {
            continue;
        }
        if m["destination"].as_str().unwrap_or("").starts_with("/etc/") {
            std::fs::create_dir_all(Path::new(src).parent().unwrap()).unwrap();
            std::fs::write(src, "").unwrap();
        } else {
            std::fs::create_dir_all(src).unwrap();
        }
    }

    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    type Expect<'a> = (&'a str, &'a [&'a str], &'a [&'a str]);
    let cases: &[(&Path, &str, Expect)] = &[
        (
            &runc.join("config.json"),
            "baseline",
            // runc 1.1.5's spec masks no /sys/devices/virtual/powercap, has no filter (so
            // keyctl would reach the host's keyrings until the default filter is added).
            (
                "hardened",
                &[],
                &["host-keyrings", "masked-paths", "seccomp-enabled"],
            ),
        ),
        (
            &runc.join("config.json"),
            "restricted",
            (
                "refused",
                &["memory-limit", "pids-limit", "run-as-non-root"],
                &[
                    "capabilities",
                    "host-keyrings",
                    "landlock-writes",
                    "masked-paths",
                    "seccomp-default-deny",
                    "seccomp-denies",
                    "seccomp-enabled",
                ],
            ),
        ),
        (
            &ctr,
            "baseline",
            (
                "hardened",
                &[],
                &[
                    "capabilities",
                    "host-keyrings",
                    "masked-paths",
                    "seccomp-enabled",
                ],
            ),
        ),
        (
            &ctr,
            "restricted",
            (
                "refused",
                &[
                    "memory-limit",
                    "pids-limit",
                    "readonly-rootfs",
                    "run-as-non-root",
                ],
                &[
                    "capabilities",
                    "host-keyrings",
                    "landlock-writes",
                    "masked-paths",
                    "seccomp-default-deny",
                    "seccomp-denies",
                    "seccomp-enabled",
                ],
            ),
        ),
        // podman's filter allows keyctl, add_key and request_key: without a user namespace
        // they reach the host's keyrings, so baseline denies them in its filter (and masks
        // /sys/devices/virtual/powercap, which podman 4.3 leaves readable).
        (
            &podman,
            "baseline",
            ("hardened", &[], &["host-keyrings", "masked-paths"]),
        ),
        (
            &podman,
            "restricted",
            (
                "refused",
                // podman's filter allows unshare, mount and keyctl (it leaves them to
                // capabilities): not what restricted asks of a filter.
                &[
                    "memory-limit",
                    "readonly-rootfs",
                    "run-as-non-root",
                    "seccomp-denies",
                ],
                &[
                    "capabilities",
                    "host-keyrings",
                    "landlock-writes",
                    "masked-paths",
                    "no-new-privileges",
                ],
            ),
        ),
    ];
    for (config, profile, (verdict, refused, hardened)) in cases {
        let got = check(config, profile);
        let name = config.display();
        assert_eq!(got.0, *verdict, "{name} under {profile}: {got:?}");
        assert_eq!(got.1, s(refused), "{name} under {profile}: refused for");
        assert_eq!(got.2, s(hardened), "{name} under {profile}: hardened");
        assert_eq!(got.3, if *verdict == "allowed" { 0 } else { 1 });
    }
    // sealed asks for more than any manager's default: every one is refused.
    for config in [runc.join("config.json"), ctr.clone(), podman.clone()] {
        let got = check(&config, "sealed");
        assert_eq!(got.0, "refused");
        assert!(got.1.contains(&"user-namespace".to_string()), "{got:?}");
    }
}

#[test]
fn check_reports_as_text_and_sarif() {
    let mut b = Bundle::new("pol-check");
    drop_namespace(&mut b, "pid");
    b.write();
    let o = bin()
        .args(["check", "--profile", "baseline"])
        .arg(b.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("would be refused") && text.contains("HIGH:"),
        "{text}"
    );
    assert!(
        text.contains("[host-pid-namespace]") && text.contains("fix: add {\"type\": \"pid\"}"),
        "{text}"
    );
    let o = bin()
        .args(["check", "--profile", "baseline", "--format", "sarif"])
        .arg(b.path().join("config.json"))
        .output()
        .unwrap();
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "host-pid-namespace" && r["level"] == "error"));
    // check creates nothing.
    assert!(!b.state.exists());

    // A config from `spec --profile` passes that profile.
    for p in ["baseline", "restricted", "sealed"] {
        let dir = b.path().join(p);
        std::fs::create_dir(&dir).unwrap();
        let o = bin()
            .args(["spec", "--profile", p, "--bundle"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let got = check(&dir.join("config.json"), p);
        assert_eq!((got.0.as_str(), got.3), ("allowed", 0), "{p}: {got:?}");
    }
}

#[test]
fn profile_commands_explain_the_catalog() {
    let o = bin().args(["profile", "list"]).output().unwrap();
    let out = stdout(&o);
    for p in ["unconfined", "baseline", "restricted", "sealed"] {
        assert!(out.lines().any(|l| l.starts_with(p)), "{out}");
    }
    let o = bin().args(["profile", "show", "sealed"]).output().unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("extends: restricted < baseline") && out.contains("user-namespace"),
        "{out}"
    );
    let o = bin()
        .args(["profile", "explain", "host-mounts"])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("CIS Docker Benchmark") && out.contains("roots ="),
        "{out}"
    );
    let o = bin().args(["profile", "explain", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn joining_the_hosts_namespace_by_path_is_refused() {
    let mut b = Bundle::new("pol-hostns");
    let audit = operator(&mut b, "baseline", "enforce");
    drop_namespace(&mut b, "network");
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())}));
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "[host-network-namespace] the network namespace at /proc/{}/ns/net is the host's own",
            std::process::id()
        )),
        "{err}"
    );
    b.assert_nothing_left();
    assert_eq!(audit_records(&audit).pop().unwrap()["decision"], "refused");
}
