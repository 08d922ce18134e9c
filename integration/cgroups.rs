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
