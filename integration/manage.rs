//! What managers do to a live container: pause/resume, ps, update; checkpoint is refused.

use crate::support::*;

fn running(b: &mut Bundle) {
    b.script("while true; do sleep 0.1; done");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Where the kernel has the task waiting: a frozen task sits in the freezer
/// (`__refrigerator` on cgroup v1; on v2 it is trapped in signal delivery, `get_signal`).
fn wchan(pid: i64) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default()
}

#[test]
fn pause_and_resume() {
    let mut b = Bundle::new("m-pause");
    running(&mut b);
    let pid = b.state_json()["pid"].as_i64().unwrap();
    assert!(b.palisade(&["pause", &b.id]).status.success());
    assert_eq!(b.status(), "paused");
    let w = wchan(pid);
    let frozen = ["__refrigerator", "do_freezer_trap", "get_signal"];
    assert!(frozen.contains(&w.as_str()), "not frozen: {w}");
    let o = b.palisade(&["exec", &b.id, "true"]);
    assert_eq!(
        o.status.code(),
        Some(255),
        "a failed exec exits as runc's does"
    );
    assert!(stderr(&o).contains("paused"), "{}", stderr(&o));
    let o = b.palisade(&["resume", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(b.status(), "running");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let w = wchan(pid);
    assert!(!frozen.contains(&w.as_str()), "still frozen: {w}");
    let o = b.palisade(&["resume", &b.id]);
    assert_eq!(o.status.code(), Some(1), "resume of a running container");
    // A paused container can still be deleted with --force.
    assert!(b.palisade(&["pause", &b.id]).status.success());
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn ps_lists_the_containers_processes() {
    let mut b = Bundle::new("m-ps");
    running(&mut b);
    let pid = b.state_json()["pid"].as_i64().unwrap();
    let j: Vec<i64> =
        serde_json::from_str(&stdout(&b.palisade(&["ps", "--format", "json", &b.id]))).unwrap();
    assert!(j.contains(&pid), "{j:?}");
    let t = stdout(&b.palisade(&["ps", &b.id]));
    let mut lines = t.lines();
    assert!(lines.next().unwrap().contains("PID"));
    assert!(t.contains("while true"), "{t}");
    assert!(
        lines.all(|l| !l.contains("palisade-it")),
        "only the container's rows: {t}"
    );
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
}

#[test]
fn update_changes_live_limits() {
    let mut b = Bundle::new("m-update");
    b.config["linux"]["resources"]["memory"] =
        serde_json::json!({"limit": 33554432, "swap": 33554432});
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 10});
    running(&mut b);
    let res = b.path().join("res.json");
    std::fs::write(
        &res,
        r#"{"memory": {"limit": 134217728, "swap": 134217728}, "pids": {"limit": 50}}"#,
    )
    .unwrap();
    let o = b.palisade(&["update", "--resources", res.to_str().unwrap(), &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (mem, pids) = (
        cg_file("memory/memory.limit_in_bytes", "memory.max"),
        cg_file("pids/pids.max", "pids.max"),
    );
    let o = b.palisade(&["exec", &b.id, "cat", &mem, &pids]);
    assert_eq!(stdout(&o), "134217728\n50\n", "{}", stderr(&o));
    let o = b.palisade(&["update", "--memory", "64m", "--pids-limit", "20", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&b.palisade(&["exec", &b.id, "cat", &mem, &pids]));
    assert_eq!(out, "67108864\n20\n");
    let o = b.palisade(&["update", "--cpuset-cpus", "99", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cpuset.cpus"), "{}", stderr(&o));
    // checkBeforeUpdate: a limit below what the container uses now is refused and not
    // written; without it the same limit is written.
    let low = r#"{"memory": {"limit": 4096, "swap": 4096, "checkBeforeUpdate": true}}"#;
    std::fs::write(&res, low).unwrap();
    let o = b.palisade(&["update", "--resources", res.to_str().unwrap(), &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("checkBeforeUpdate"), "{}", stderr(&o));
    let out = stdout(&b.palisade(&["exec", &b.id, "cat", &mem]));
    assert_eq!(out, "67108864\n");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
}

/// An update is held to the container's profile: under restricted it cannot lift the
/// memory or pids limit, or give the cgroup a real-time budget; a new limit is fine.
#[test]
fn update_is_held_to_the_containers_profile() {
    let mut b = Bundle::new("upd-profile");
    b.config = restricted_config(&b);
    b.under_profile("restricted", "");
    running(&mut b);
    let update = |json: serde_json::Value| {
        let res = b.path().join("update.json");
        std::fs::write(&res, json.to_string()).unwrap();
        b.palisade(&["update", "--resources", res.to_str().unwrap(), &b.id])
    };
    let o = update(serde_json::json!({"memory": {"limit": 100_000_000}}));
    assert!(o.status.success(), "{}", stderr(&o));
    for (lift, rule) in [
        (
            serde_json::json!({"memory": {"limit": -1}}),
            "[memory-limit]",
        ),
        (
            serde_json::json!({"unified": {"pids.max": "max"}}),
            "[pids-limit]",
        ),
        (
            serde_json::json!({"cpu": {"realtimeRuntime": 950000, "realtimePeriod": 1000000}}),
            "[scheduling]",
        ),
    ] {
        let o = update(lift.clone());
        assert_eq!(o.status.code(), Some(1), "{lift}: {}", stderr(&o));
        assert!(stderr(&o).contains(rule), "{lift}: {}", stderr(&o));
    }
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn checkpoint_and_restore_say_they_are_not_supported() {
    let b = Bundle::new("m-ckpt");
    for cmd in ["checkpoint", "restore"] {
        let o = b.palisade(&[cmd, &b.id]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("not supported"), "{}", stderr(&o));
    }
}

#[test]
fn events_report_stats_and_oom() {
    let mut b = Bundle::new("m-events");
    b.config["linux"]["resources"]["memory"] =
        serde_json::json!({"limit": 33554432, "swap": 33554432});
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 30});
    b.script("sleep 1.5; x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 100");
    assert!(b.palisade(&["run", "-d", &b.id]).status.success());
    let once: serde_json::Value =
        serde_json::from_str(&stdout(&b.palisade(&["events", "--stats", &b.id]))).unwrap();
    assert_eq!(once["type"], "stats");
    assert_eq!(once["id"], b.id.as_str());
    assert_eq!(once["data"]["memory"]["usage"]["limit"], 33554432);
    assert_eq!(once["data"]["pids"]["limit"], 30);
    assert!(once["data"]["pids"]["current"].as_u64().unwrap() >= 1);
    // The stream ends when the container stops; the OOM kill is reported on the way.
    let o = b.palisade(&["events", "--interval", "1s", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["type"] == "stats"), "{lines:?}");
    assert!(lines.iter().any(|l| l["type"] == "oom"), "{lines:?}");
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
}
