//! Rules on what the container may take of the host's resources, and on what the init,
//! still root, grants the workload before it drops privileges: limits that bound
//! something, no real-time scheduling, no escape from the OOM killer.

use serde_json::{json, Value};

use super::{int, object, Params, Rule, NIST};
use crate::policy::exposure::Exposure;
use crate::policy::host::Host;
use crate::policy::{Scope, Severity};

// memory-limit, pids-limit ---------------------------------------------------------------

/// A limit is missing, lifted, above the profile's `max`, or at or above what the host has
/// (`ceiling`, `what`), where it bounds nothing.
fn resource_limit(
    value: Option<i64>,
    p: &Params,
    field: &str,
    ceiling: Option<(u64, &str)>,
) -> Vec<String> {
    match (value, int(p, "max")) {
        (Some(v), Some(max)) if max > 0 && v > max => {
            vec![format!("{field} is {v}, above the profile's maximum {max}")]
        }
        (Some(v), _) => match ceiling {
            Some((c, what)) if v as u64 >= c => vec![format!(
                "{field} is {v}, at or above the host's {what} ({c}): it limits nothing"
            )],
            _ => vec![],
        },
        _ => vec![format!(
            "{field} is not set (or linux.resources.unified lifts it): the container can take what the host has"
        )],
    }
}

fn memory_limit(x: &Exposure, p: &Params, host: &dyn Host) -> Vec<String> {
    let ceiling = host.memory_total().map(|m| (m, "memory (MemTotal)"));
    resource_limit(x.memory_limit, p, "linux.resources.memory.limit", ceiling)
}

fn pids_limit(x: &Exposure, p: &Params, host: &dyn Host) -> Vec<String> {
    let ceiling = host.pid_max().map(|m| (m, "kernel.pid_max"));
    resource_limit(x.pids_limit, p, "linux.resources.pids.limit", ceiling)
}

fn fill_limit(doc: &mut Value, p: &Params, group: &str) -> Option<String> {
    let value = int(p, "default")?;
    let res = object(object(doc, "linux"), "resources");
    object(res, group)["limit"] = json!(value);
    Some(format!("linux.resources.{group}.limit: {value}"))
}

fn fill_memory(doc: &mut Value, p: &Params) -> Option<String> {
    fill_limit(doc, p, "memory")
}

fn fill_pids(doc: &mut Value, p: &Params) -> Option<String> {
    fill_limit(doc, p, "pids")
}

pub(super) const MEMORY_LIMIT: Rule = Rule {
    id: "memory-limit",
    title: "Memory is limited",
    severity: Severity::Medium,
    scope: Scope::Container,
    checks: "linux.resources.memory.limit (or memory.max in linux.resources.unified, written after it) is set above 0, below the host's memory (MemTotal: a limit at or above it bounds nothing), and at most `max` bytes when max is above 0.",
    why: "An unlimited container can exhaust the host's memory and trigger the OOM killer on other workloads.",
    closes: "the host's memory (a limit lifted through linux.resources.unified, or one above the host's memory, counts as none)",
    references: &[
        "CIS Docker Benchmark v1.7.0 5.11: the memory usage for containers is limited",
        NIST,
    ],
    fix: "set linux.resources.memory.limit",
    field: "linux.resources",
    defaults: "max = 0\ndefault = 268435456\n",
    check: memory_limit,
    remedy: None,
    fill: Some(fill_memory),
};

pub(super) const PIDS_LIMIT: Rule = Rule {
    id: "pids-limit",
    title: "The number of processes is limited",
    severity: Severity::Medium,
    scope: Scope::Container,
    checks: "linux.resources.pids.limit (or pids.max in linux.resources.unified) is set above 0, below kernel.pid_max (a limit at or above it bounds nothing), and at most `max` when max is above 0.",
    why: "Without a pids limit a fork bomb in one container exhausts the host's process table.",
    closes: "the host's process table (a limit lifted through linux.resources.unified, or one at or above pid_max, counts as none)",
    references: &[
        "CIS Docker Benchmark v1.7.0 5.29: the PIDs cgroup limit is used",
        NIST,
    ],
    fix: "set linux.resources.pids.limit",
    field: "linux.resources",
    defaults: "max = 0\ndefault = 1024\n",
    check: pids_limit,
    remedy: None,
    fill: Some(fill_pids),
};

// scheduling -----------------------------------------------------------------------------

/// setrlimit(2): RLIMIT_RTPRIO is the highest real-time priority an unprivileged process
/// may take (sched_setscheduler(2) SCHED_FIFO, SCHED_RR); RLIMIT_NICE caps the nice value
/// at 20 - limit, so a limit above 20 lets it go below 0. The init raises both while it
/// still holds CAP_SYS_RESOURCE.
fn scheduling(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let p = &x.plan.process;
    let mut out = vec![];
    for r in &p.rlimits {
        let most = r.soft.max(r.hard);
        if r.resource == libc::RLIMIT_RTPRIO as i32 && most > 0 {
            out.push(format!(
                "process.rlimits {} {most} lets the workload make itself real-time (SCHED_FIFO, SCHED_RR) without CAP_SYS_NICE: it then runs before every ordinary task of the host, beyond any CPU share",
                r.name
            ));
        }
        if r.resource == libc::RLIMIT_NICE as i32 && most > 20 {
            out.push(format!(
                "process.rlimits {} {most} lets the workload set a nice value of {} without CAP_SYS_NICE, above the host's own tasks",
                r.name,
                20i64 - most.min(40) as i64
            ));
        }
    }
    if let Some(s) = &p.scheduler {
        let policy = s.sched_policy as i32;
        if matches!(
            policy,
            libc::SCHED_FIFO | libc::SCHED_RR | libc::SCHED_DEADLINE
        ) {
            out.push(format!(
                "process.scheduler asks for a real-time policy ({}): the workload would run before every ordinary task of the host, beyond any CPU share (what CAP_SYS_NICE or RLIMIT_RTPRIO grants)",
                match policy {
                    libc::SCHED_FIFO => "SCHED_FIFO",
                    libc::SCHED_RR => "SCHED_RR",
                    _ => "SCHED_DEADLINE",
                }
            ));
        }
        if s.sched_nice < 0 {
            out.push(format!(
                "process.scheduler.nice {} would put the workload above the host's own tasks (what CAP_SYS_NICE or RLIMIT_NICE grants)",
                s.sched_nice
            ));
        }
    }
    // ioprio_set(2): the real-time class needs CAP_SYS_ADMIN (or CAP_SYS_NICE).
    if p.io_priority.is_some_and(|v| v >> 13 == 1) {
        out.push("process.ioPriority asks for IOPRIO_CLASS_RT: the workload's I/O would go before the host's (what CAP_SYS_ADMIN or CAP_SYS_NICE grants)".into());
    }
    // The same grants spelled as cgroup settings, which the runtime writes as root.
    if let Some(r) = &x.plan.resources {
        if r.cpu()
            .as_ref()
            .and_then(|c| c.realtime_runtime())
            .is_some_and(|v| v > 0)
        {
            out.push("linux.resources.cpu.realtimeRuntime gives the container's cgroup a real-time budget (cgroup v1 cpu.rt_runtime_us): its tasks may run real-time".into());
        }
        for (file, value) in r.unified().iter().flatten() {
            // As the kernel reads the value (sysfs_streq): up to a NUL, without the
            // surrounding white space.
            let v = value.split('\0').next().unwrap_or_default().trim();
            let why = match file.as_str() {
                // Documentation/admin-guide/cgroup-v2.rst
                "io.prio.class" if matches!(v, "promote-to-rt" | "none-to-rt") => {
                    "promotes the container's I/O to the real-time class"
                }
                "cpuset.cpus.partition" if v != "member" => {
                    "makes the container's CPUs a partition of its own, taken from every other cgroup of the host"
                }
                "cpu.weight.nice" if v.parse::<i64>().map_or(true, |n| n < 0) => {
                    "raises the container's CPU weight as a negative nice value would"
                }
                _ => continue,
            };
            out.push(format!("linux.resources.unified {file}={v} {why}"));
        }
    }
    out
}

pub(super) const SCHEDULING: Rule = Rule {
    id: "scheduling",
    title: "No real-time or raised priority for the workload",
    severity: Severity::High,
    scope: Scope::Process,
    checks: "process.rlimits has no RLIMIT_RTPRIO above 0 and no RLIMIT_NICE above 20 (soft or hard: the workload may raise its soft limit to the hard one); process.scheduler asks for no SCHED_FIFO, SCHED_RR or SCHED_DEADLINE policy and no negative nice; process.ioPriority is not of class IOPRIO_CLASS_RT; linux.resources.cpu.realtimeRuntime is not above 0, and linux.resources.unified sets no io.prio.class promote-to-rt (or none-to-rt) no cpuset.cpus.partition other than member and no negative cpu.weight.nice (values read as the kernel reads them, up to a NUL).",
    why: "These are what CAP_SYS_NICE (and for I/O, CAP_SYS_ADMIN) would grant, which the capability rules refuse: the init raises the rlimits while it is still root, and the runtime writes the cgroup settings as root, so the workload runs real-time, ahead of every ordinary task of the host and outside any CPU share, without holding the capability.",
    closes: "real-time CPU and I/O scheduling and raised priority, by rlimit, scheduler, I/O priority or cgroup setting, without the capability; CPUs taken exclusively from the host",
    references: &[
        "sched(7), setrlimit(2) RLIMIT_RTPRIO and RLIMIT_NICE, ioprio_set(2)",
        "Kubernetes Pod Security Standards, baseline: Capabilities (CAP_SYS_NICE is not in the list)",
        NIST,
    ],
    fix: "remove RLIMIT_RTPRIO and RLIMIT_NICE from process.rlimits, use SCHED_OTHER, SCHED_BATCH or SCHED_IDLE with a nice of 0 or more, and the best-effort or idle I/O class",
    field: "process.rlimits",
    defaults: "",
    check: scheduling,
    remedy: None,
    fill: None,
};

// oom-score-adj --------------------------------------------------------------------------

fn oom_score_adj(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let min = int(p, "min").unwrap_or(-998);
    match x.plan.process.oom_score_adj {
        Some(v) if (v as i64) < min => vec![format!(
            "process.oomScoreAdj {v} is below {min}{}: the init, still root, writes it, and the workload is then {} when the host runs out of memory",
            if v == -1000 { " (OOM_SCORE_ADJ_MIN)" } else { "" },
            if v <= -1000 { "never chosen by the OOM killer" } else { "chosen by the OOM killer after nearly every host process" },
        )],
        _ => vec![],
    }
}

pub(super) const OOM_SCORE_ADJ: Rule = Rule {
    id: "oom-score-adj",
    title: "The workload does not escape the OOM killer",
    severity: Severity::Medium,
    scope: Scope::Process,
    checks: "process.oomScoreAdj is at least `min` (-998 by default: the kubelet gives pod sandboxes -998 and Guaranteed containers -997, which the OOM killer can still choose).",
    why: "Lowering oom_score_adj needs CAP_SYS_RESOURCE, which the init holds and the workload does not: at -1000 the workload is never chosen by the OOM killer, which then kills the host's own processes instead.",
    closes: "immunity from the OOM killer (oom_score_adj -999 and -1000) granted by the init",
    references: &["proc(5) /proc/pid/oom_score_adj", NIST],
    fix: "raise process.oomScoreAdj to at least the rule's `min`, or leave it unset",
    field: "process.oomScoreAdj",
    defaults: "min = -998\n",
    check: oom_score_adj,
    remedy: None,
    fill: None,
};
