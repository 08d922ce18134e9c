//! Resource usage of a container's cgroup in the shape of runc's `events` data (a subset:
//! cpu, memory, pids), and its OOM-kill counter.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::cgroups::{hierarchies, is_v2_unified, Cgroup};

fn read(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

fn num(p: &Path) -> u64 {
    read(p).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// "key value" lines (memory.stat, cpu.stat, memory.events) as a map.
fn kv(p: &Path) -> Map<String, Value> {
    read(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_owned(), json!(v.trim().parse::<u64>().ok()?))))
        .collect()
}

/// The directory of `controller` for this cgroup (v1), or the one directory (v2).
fn dir(cg: &Cgroup, controller: &str) -> Option<PathBuf> {
    if is_v2_unified() {
        return cg.dirs.first().cloned();
    }
    let hs = hierarchies().ok()?;
    hs.iter()
        .filter(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
        .find_map(|h| {
            cg.dirs
                .iter()
                .find(|d| d.starts_with(&h.mountpoint))
                .cloned()
        })
}

/// runc's stats `data` object.
pub fn stats(cg: &Cgroup) -> Value {
    let v2 = is_v2_unified();
    let mut out = Map::new();
    if v2 {
        if let Some(d) = dir(cg, "cpu") {
            let s = kv(&d.join("cpu.stat"));
            let us = |k: &str| s.get(k).and_then(|v| v.as_u64()).unwrap_or(0) * 1000;
            out.insert("cpu".into(), json!({"usage": {"total": us("usage_usec"), "user": us("user_usec"), "kernel": us("system_usec")}}));
        }
        if let Some(d) = dir(cg, "memory") {
            let limit = read(&d.join("memory.max"))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            out.insert("memory".into(), json!({
                "usage": {"usage": num(&d.join("memory.current")), "limit": limit, "max": num(&d.join("memory.peak"))},
                "raw": kv(&d.join("memory.stat")),
            }));
        }
    } else {
        if let Some(d) = dir(cg, "cpuacct") {
            let percpu: Vec<u64> = read(&d.join("cpuacct.usage_percpu"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            // cpuacct.stat is in clock ticks; runc reports nanoseconds.
            let ticks = kv(&d.join("cpuacct.stat"));
            let ns = |k: &str| {
                ticks.get(k).and_then(|v| v.as_u64()).unwrap_or(0)
                    * (1_000_000_000 / crate::sys::clock_ticks())
            };
            out.insert("cpu".into(), json!({"usage": {"total": num(&d.join("cpuacct.usage")), "percpu": percpu, "user": ns("user"), "kernel": ns("system")}}));
        }
        if let Some(d) = dir(cg, "memory") {
            out.insert(
                "memory".into(),
                json!({
                    "usage": {
                        "usage": num(&d.join("memory.usage_in_bytes")),
                        "limit": num(&d.join("memory.limit_in_bytes")),
                        "max": num(&d.join("memory.max_usage_in_bytes")),
                        "failcnt": num(&d.join("memory.failcnt")),
                    },
                    "raw": kv(&d.join("memory.stat")),
                }),
            );
        }
    }
    if let Some(d) = dir(cg, "pids") {
        let limit = read(&d.join("pids.max"))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        out.insert(
            "pids".into(),
            json!({"current": num(&d.join("pids.current")), "limit": limit}),
        );
    }
    Value::Object(out)
}

/// The memory the cgroup uses now, in bytes.
pub fn memory_usage(cg: &Cgroup) -> Option<u64> {
    let d = dir(cg, "memory")?;
    let file = if is_v2_unified() {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    read(&d.join(file))?.parse().ok()
}

/// How many processes of the cgroup the OOM killer has killed so far.
pub fn oom_kills(cg: &Cgroup) -> u64 {
    let Some(d) = dir(cg, "memory") else { return 0 };
    let file = if is_v2_unified() {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    kv(&d.join(file))
        .get("oom_kill")
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}
