//! cgroup placement and limits, checked from inside the container and from the host.

use crate::support::*;

fn cgroup_dirs(id: &str) -> Vec<std::path::PathBuf> {
    cgroup_paths(id)
        .into_iter()
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn memory_limit_is_enforced_by_the_oom_killer() {
    let mut b = Bundle::new("cg-mem");
    b.config["linux"]["resources"]["memory"] =
        serde_json::json!({"limit": 33554432, "swap": 33554432});
    // Holding 64 MB in a shell variable needs twice the limit.
    b.script(&format!(
        "cat {}; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived ${{#x}}",
        cg_file("memory/memory.limit_in_bytes", "memory.max")
    ));
    let (code, out, _) = b.run();
    assert!(out.starts_with("33554432\n"), "{out}");
    assert!(!out.contains("survived"), "{out}");
    assert_eq!(code, 137, "OOM-killed: {out}");
    b.assert_nothing_left();
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let mut b = Bundle::new("cg-pids");
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 8});
    let out = b.probe(&format!(
        "cat {}; for i in $(seq 1 30); do sleep 3 & done 2>&1 | head -1; echo end",
        cg_file("pids/pids.max", "pids.max")
    ));
    assert!(out.starts_with("8\n"), "{out}");
    assert!(
        out.contains("can't fork") || out.contains("Resource temporarily unavailable"),
        "{out}"
    );
}

#[test]
fn cpu_and_cpuset_settings_are_visible() {
    let mut b = Bundle::new("cg-cpu");
    b.config["linux"]["resources"]["cpu"] = serde_json::json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"});
    if cgroup_v2() {
        let out = b.probe("cat /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpuset.cpus; grep Cpus_allowed_list /proc/self/status");
        // shares 512 → weight 1 + 510 * 9999 / 262142 = 20.
        assert_eq!(out, "20\n50000 100000\n0\nCpus_allowed_list:\t0\n");
    } else {
        let out = b.probe("cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/self/status");
        assert_eq!(out, "512\n50000\n100000\n0\nCpus_allowed_list:\t0\n");
    }
}

#[test]
fn cgroup_is_created_joined_and_removed() {
    let mut b = Bundle::new("cg-life");
    b.config["linux"]["cgroupsPath"] = format!("/palisade/{}", "cg-life-custom").into();
    b.script("sleep 100");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let want = if cgroup_v2() {
        "0::/palisade/cg-life-custom"
    } else {
        ":memory:/palisade/cg-life-custom"
    };
    assert!(own.contains(want), "{own}");
    assert!(!cgroup_dirs("cg-life-custom").is_empty());
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    assert!(
        cgroup_dirs("cg-life-custom").is_empty(),
        "cgroup left after delete"
    );
}

/// Every hierarchy of this host has `pid` in `/palisade/<name>`, from the host's view.
fn assert_in_every_hierarchy(pid: &str, name: &str) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(line.ends_with(&format!(":/palisade/{name}")), "{text}");
    }
}

/// `command` under strace, as the bundle's commands run; returns the trace.
fn traced(b: &Bundle, command: &[&str]) -> String {
    b.write();
    let trace = b.path().join("strace.out");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,write,clone3", "-o"])
        .arg(&trace)
        .arg(BIN)
        .arg("--root")
        .arg(&b.state)
        .args(command)
        .current_dir(b.path())
        .env("PALISADE_CONFIG", operator_config())
        .env("PALISADE_TEST_MARK", &b.id)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("strace (scripts/deps.sh --tests installs it)");
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(trace).unwrap()
}

/// A pid written into cgroup.procs waits for an RCU grace period (isolate::cgroups::Entry):
/// the init and exec's process are born in the v2 directory and write themselves, as 0,
/// into each v1 one. Traces of `run` and `exec` show how they got there; /proc shows that
/// they did.
#[test]
fn processes_enter_their_cgroup_by_themselves() {
    let mut b = Bundle::new("cg-entry");
    let v1 = !cgroup_v2();
    let v2 = palisade::isolate::cgroups::hierarchies()
        .unwrap()
        .iter()
        .any(|h| h.v2);
    b.script("true");
    let run = traced(&b, &["run", &b.id]);
    b.script("sleep 100");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    let exec = traced(&b, &["exec", &b.id, "true"]);
    for (what, trace) in [("run", run), ("exec", exec)] {
        assert!(
            !trace
                .lines()
                .any(|l| l.contains("cgroup.procs\"") && l.contains("O_WRONLY")),
            "{what} wrote a pid into cgroup.procs:\n{trace}"
        );
        assert!(
            !v2 || trace.contains("CLONE_INTO_CGROUP"),
            "{what}: no clone3(CLONE_INTO_CGROUP)\n{trace}"
        );
        // The runtime opens each v1 `tasks` file; the new process, another pid, writes 0.
        let pid_of = |l: &str| l.split_whitespace().next().unwrap_or_default().to_owned();
        let opens: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains("/tasks\"") && l.contains("O_WRONLY"))
            .collect();
        let runtime: Vec<String> = opens.iter().map(|l| pid_of(l)).collect();
        let own = trace
            .lines()
            // strace splits a write another thread interrupts into "<unfinished ...>"
            // and "<... write resumed>" lines: match the call's opening, not its end.
            .filter(|l| l.contains("write(") && l.contains(", \"0\", 1"))
            .filter(|l| !runtime.contains(&pid_of(l)))
            .count();
        assert!(
            !v1 || (opens.len() >= 2 && own == opens.len()),
            "{what}: the process did not write itself into each v1 hierarchy\n{trace}"
        );
    }
    assert!(b
        .palisade(&["exec", "-d", &b.id, "sleep", "100"])
        .status
        .success());
    let ps = b.palisade(&["ps", "--format", "json", &b.id]);
    let listed: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert_eq!(listed.len(), 2, "the init and exec's process: {listed:?}");
    for pid in listed {
        assert_in_every_hierarchy(&pid.to_string(), &b.id);
    }
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// A cgroup v2 directory that is a sibling of a threaded cgroup is "domain invalid" and
/// takes no process (cgroup-v2.rst, "Threads"): create says where the init could not go,
/// and leaves nothing behind. Works on pure v2 and on the hybrid layout's unified mount.
#[test]
fn an_init_that_cannot_enter_its_cgroup_fails_create() {
    let root = if cgroup_v2() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/unified"
    };
    if !std::path::Path::new(root).join("cgroup.procs").exists() {
        eprintln!("no cgroup2 mount: nothing to test");
        return;
    }
    let mut b = Bundle::new("cg-nojoin");
    let name = format!("{}-threaded", b.id);
    let parent = std::path::Path::new(root).join("palisade").join(&name);
    std::fs::create_dir_all(parent.join("t")).unwrap();
    std::fs::write(parent.join("t/cgroup.type"), "threaded").unwrap();
    b.config["linux"]["cgroupsPath"] = format!("/palisade/{name}/c").into();
    let (code, _, err) = b.run_script("true");
    let leftover = parent.join("c").exists();
    let _ = std::fs::remove_dir(parent.join("t"));
    let _ = std::fs::remove_dir(&parent);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{}/c", parent.display())),
        "names the cgroup: {err}"
    );
    assert!(!leftover, "the container's own cgroup was removed");
    b.assert_nothing_left();
    assert!(cgroup_dirs(&name).is_empty());
}

/// An empty v1 cpuset above the container (left by another tool, or by a creator that has
/// not filled it yet) would take no task: create fills it from its parent, as runc does,
/// and the container runs with the parent's CPUs.
#[test]
fn an_empty_cpuset_above_the_container_is_filled() {
    if cgroup_v2() {
        eprintln!("cgroup v1 only: an empty cpuset");
        return;
    }
    let mut b = Bundle::new("cg-fill");
    let top = format!("{}-top", b.id);
    let above = std::path::Path::new("/sys/fs/cgroup/cpuset").join(&top);
    std::fs::create_dir(&above).unwrap();
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(read(&above.join("cpuset.cpus")), "");
    b.config["linux"]["cgroupsPath"] = format!("/{top}/c").into();
    let (code, out, err) = b.run_script("cat /sys/fs/cgroup/cpuset/cpuset.cpus");
    let filled = (
        read(&above.join("cpuset.cpus")),
        read(&above.join("cpuset.mems")),
    );
    // create made `top` on the other hierarchies; delete removes only the container's own.
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(h.path().join(&top));
    }
    let host = std::path::Path::new("/sys/fs/cgroup/cpuset");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), read(&host.join("cpuset.cpus")));
    assert_eq!(
        filled,
        (
            read(&host.join("cpuset.cpus")),
            read(&host.join("cpuset.mems"))
        )
    );
    b.assert_nothing_left();
    assert!(!above.exists());
}

#[test]
fn a_limit_that_cannot_be_applied_fails_create() {
    let mut b = Bundle::new("cg-bad");
    b.config["linux"]["resources"]["cpu"] = serde_json::json!({"cpus": "63"});
    b.script("true");
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(
        err.contains("linux.resources.cpu.cpus") && err.contains("cpuset.cpus"),
        "{err}"
    );
    b.assert_nothing_left();
    assert!(cgroup_dirs(&b.id).is_empty());
}

#[test]
fn limits_this_host_cannot_express_are_refused_before_anything_exists() {
    let mut b = Bundle::new("cg-unified");
    b.config["linux"]["resources"]["unified"] = serde_json::json!({"memory.high": "1000000"});
    b.script("true");
    let (code, _, err) = b.run();
    if palisade::isolate::cgroups::is_v2_unified() {
        assert_eq!(code, 0, "{err}");
    } else {
        assert_eq!(code, 1);
        assert!(err.contains("linux.resources.unified"), "{err}");
    }
    b.assert_nothing_left();
}

/// A deny rule spelled `{"allow": false, "access": "mmm"}` denies every device, on cgroup
/// v1 (the kernel reads only its type) and on v2 (palisade's program reads it the same
/// way): a node the container makes of the host's /dev/kmsg cannot be opened. Without
/// any device rule (unconfined, as runc) the same probe writes to it: the control.
#[test]
fn a_deny_all_spelled_mmm_denies_every_device() {
    let probe = "mknod /dev/k c 1 11 && if echo palisade-test > /dev/k; then echo WROTE; else echo DENIED; fi";
    let run = |profile: &str, rules: serde_json::Value| {
        let mut b = Bundle::new("cg-mmm");
        let conf = b.path().join("operator.toml");
        std::fs::write(
            &conf,
            format!(
                "profile = \"{profile}\"\naudit_log = \"{}\"\n",
                b.path().join("audit.log").display()
            ),
        )
        .unwrap();
        b.operator = Some(conf);
        b.config["linux"]["resources"]["devices"] = rules;
        for set in ["bounding", "effective", "permitted"] {
            b.config["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push("CAP_MKNOD".into());
        }
        let out = b.probe(probe);
        b.assert_nothing_left();
        out
    };
    let denied = run(
        "baseline",
        serde_json::json!([{"allow": false, "access": "mmm"}]),
    );
    assert!(denied.contains("DENIED"), "{denied}");
    let control = run("unconfined", serde_json::json!([]));
    assert!(control.contains("WROTE"), "{control}");
}

/// A `cgroupsPath` naming a cgroup that already exists with cgroups beneath it (a parent,
/// as system.slice is) is refused: its limits and device rules would bind everything below
/// it, and the kill of a failed create or of delete would reach their processes. Nothing
/// is left, and the cgroups that were there stay as they were.
#[test]
fn a_cgroup_with_cgroups_beneath_it_is_refused() {
    let parent = format!("palisade-it-parent-{}", std::process::id());
    let base = if cgroup_v2() {
        "/sys/fs/cgroup".to_owned()
    } else {
        "/sys/fs/cgroup/memory".to_owned()
    };
    let child = std::path::Path::new(&base).join(&parent).join("child");
    std::fs::create_dir_all(&child).unwrap();
    let mut b = Bundle::new("cg-parent");
    b.config["linux"]["cgroupsPath"] = format!("/{parent}").into();
    let o = b.palisade(&["create", &b.id]);
    let err = stderr(&o);
    let _ = std::fs::remove_dir(&child);
    let _ = std::fs::remove_dir(child.parent().unwrap());
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("has cgroups beneath it"), "{err}");
    b.assert_nothing_left();
}
