//! linux.resources (runtime-spec config-linux.md#control-groups) as writes to cgroup files,
//! for cgroup v1 (and the v1 controllers of the hybrid layout) and cgroup v2, following
//! runc's libcontainer/cgroups/fs and fs2 mappings. Written by hand rather than through
//! cgroups-rs because its `apply` discards write errors, and a limit that cannot be
//! applied must fail the create.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::cgroups::{hierarchies, is_v2_unified, Cgroup};

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("linux.resources.{field}: {why}")]
    Unsupported { field: String, why: String },
    #[error("linux.resources.{field}: write {value:?} to {path}: {source}")]
    Write {
        field: String,
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
}

fn unsupported(field: &str, why: &str) -> ResourceError {
    ResourceError::Unsupported {
        field: field.into(),
        why: why.into(),
    }
}

/// One file to write: the controller that owns it, the file, the value, and the spec field
/// it comes from (for the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub controller: String,
    pub file: String,
    pub value: String,
    pub field: &'static str,
}

fn w(
    controller: &'static str,
    file: impl Into<String>,
    value: impl ToString,
    field: &'static str,
) -> Write {
    Write {
        controller: controller.into(),
        file: file.into(),
        value: value.to_string(),
        field,
    }
}

fn limit_or_max(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

fn dev(major: i64, minor: i64) -> String {
    format!("{major}:{minor}")
}

/// cpuset.cpus and cpuset.mems: the same files on v1 and v2.
fn cpuset(c: &oci_spec::runtime::LinuxCpu, out: &mut Vec<Write>) {
    if let Some(v) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.cpus", v, "cpu.cpus"));
    }
    if let Some(v) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset", "cpuset.mems", v, "cpu.mems"));
    }
}

/// pids.max: the same file on v1 and v2; no positive limit means none.
fn pids(r: &LinuxResources, out: &mut Vec<Write>) {
    if let Some(p) = r.pids() {
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".into()
        };
        out.push(w("pids", "pids.max", v, "pids.limit"));
    }
}

/// Zero means "not set" for these fields, as in runc's libcontainer/cgroups: Docker and
/// the CRI send a zero for every limit the user left alone, and writing it would fail
/// (blkio.weight 0 is out of range) or starve the container (pids.max 0).
fn without_zeroes(r: &LinuxResources) -> LinuxResources {
    fn nz<T: PartialEq + Default>(v: Option<T>) -> Option<T> {
        v.filter(|v| *v != T::default())
    }
    let mut r = r.clone();
    if let Some(mut m) = *r.memory() {
        let (limit, swap, reservation) = (m.limit(), m.swap(), m.reservation());
        let (kernel, kernel_tcp) = (m.kernel(), m.kernel_tcp());
        m.set_limit(nz(limit))
            .set_swap(nz(swap))
            .set_reservation(nz(reservation))
            .set_kernel(nz(kernel))
            .set_kernel_tcp(nz(kernel_tcp));
        r.set_memory(Some(m));
    }
    if let Some(mut c) = r.cpu().clone() {
        let (shares, period, quota) = (c.shares(), c.period(), c.quota());
        let (rt_period, rt_runtime) = (c.realtime_period(), c.realtime_runtime());
        c.set_shares(nz(shares))
            .set_period(nz(period))
            .set_quota(nz(quota))
            .set_realtime_period(nz(rt_period))
            .set_realtime_runtime(nz(rt_runtime));
        r.set_cpu(Some(c));
    }
    if let Some(mut b) = r.block_io().clone() {
        let (weight, leaf) = (b.weight(), b.leaf_weight());
        b.set_weight(nz(weight)).set_leaf_weight(nz(leaf));
        r.set_block_io(Some(b));
    }
    if r.pids().is_some_and(|p| p.limit() == 0) {
        r.set_pids(None);
    }
    r
}

/// cgroup v1 files, in the order they must be written.
pub fn v1_writes(r: &LinuxResources) -> Result<Vec<Write>, ResourceError> {
    let r = &without_zeroes(r);
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        if m.kernel().is_some() {
            return Err(unsupported(
                "memory.kernel",
                "kernel memory limits are gone from Linux (5.16+); remove it",
            ));
        }
        // A fresh cgroup is unlimited: the memory limit can be lowered first, then the
        // memory+swap limit, which must not be below it.
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.limit_in_bytes", l, "memory.limit"));
        }
        if let Some(s) = m.swap() {
            out.push(w("memory", "memory.memsw.limit_in_bytes", s, "memory.swap"));
        }
        if let Some(v) = m.reservation() {
            out.push(w(
                "memory",
                "memory.soft_limit_in_bytes",
                v,
                "memory.reservation",
            ));
        }
        if let Some(v) = m.kernel_tcp() {
            out.push(w(
                "memory",
                "memory.kmem.tcp.limit_in_bytes",
                v,
                "memory.kernelTCP",
            ));
        }
        if let Some(v) = m.swappiness() {
            if v > 100 {
                return Err(unsupported("memory.swappiness", "must be 0 to 100"));
            }
            out.push(w("memory", "memory.swappiness", v, "memory.swappiness"));
        }
        if m.disable_oom_killer() == Some(true) {
            out.push(w(
                "memory",
                "memory.oom_control",
                1,
                "memory.disableOOMKiller",
            ));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(v) = c.shares() {
            out.push(w("cpu", "cpu.shares", v, "cpu.shares"));
        }
        if let Some(v) = c.period() {
            out.push(w("cpu", "cpu.cfs_period_us", v, "cpu.period"));
        }
        if let Some(v) = c.quota() {
            out.push(w("cpu", "cpu.cfs_quota_us", v, "cpu.quota"));
        }
        if let Some(v) = c.burst() {
            out.push(w("cpu", "cpu.cfs_burst_us", v, "cpu.burst"));
        }
        if let Some(v) = c.idle() {
            out.push(w("cpu", "cpu.idle", v, "cpu.idle"));
        }
        if let Some(v) = c.realtime_period() {
            out.push(w("cpu", "cpu.rt_period_us", v, "cpu.realtimePeriod"));
        }
        if let Some(v) = c.realtime_runtime() {
            out.push(w("cpu", "cpu.rt_runtime_us", v, "cpu.realtimeRuntime"));
        }
        cpuset(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = r.block_io() {
        if let Some(v) = b.weight() {
            out.push(w("blkio", "blkio.weight", v, "blockIO.weight"));
        }
        if let Some(v) = b.leaf_weight() {
            out.push(w("blkio", "blkio.leaf_weight", v, "blockIO.leafWeight"));
        }
        for d in b.weight_device().as_deref().unwrap_or_default() {
            if let Some(v) = d.weight() {
                out.push(w(
                    "blkio",
                    "blkio.weight_device",
                    format!("{} {v}", dev(d.major(), d.minor())),
                    "blockIO.weightDevice",
                ));
            }
            if let Some(v) = d.leaf_weight() {
                out.push(w(
                    "blkio",
                    "blkio.leaf_weight_device",
                    format!("{} {v}", dev(d.major(), d.minor())),
                    "blockIO.weightDevice",
                ));
            }
        }
        let throttles = [
            (
                b.throttle_read_bps_device(),
                "blkio.throttle.read_bps_device",
                "blockIO.throttleReadBpsDevice",
            ),
            (
                b.throttle_write_bps_device(),
                "blkio.throttle.write_bps_device",
                "blockIO.throttleWriteBpsDevice",
            ),
            (
                b.throttle_read_iops_device(),
                "blkio.throttle.read_iops_device",
                "blockIO.throttleReadIOPSDevice",
            ),
            (
                b.throttle_write_iops_device(),
                "blkio.throttle.write_iops_device",
                "blockIO.throttleWriteIOPSDevice",
            ),
        ];
        for (list, file, field) in throttles {
            for d in list.as_deref().unwrap_or_default() {
                out.push(w(
                    "blkio",
                    file,
                    format!("{} {}", dev(d.major(), d.minor()), d.rate()),
                    field,
                ));
            }
        }
    }
    for h in r.hugepage_limits().as_deref().unwrap_or_default() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.limit_in_bytes", h.page_size()),
            h.limit(),
            "hugepageLimits",
        ));
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            out.push(w("net_cls", "net_cls.classid", id, "network.classID"));
        }
        for p in n.priorities().as_deref().unwrap_or_default() {
            out.push(w(
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
                "network.priorities",
            ));
        }
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(unsupported(
            "rdma",
            "rdma limits are not supported by this palisade",
        ));
    }
    if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(unsupported(
            "unified",
            "needs cgroup v2; this host has cgroup v1 controllers",
        ));
    }
    Ok(out)
}

/// cpu.shares (2..262144) → cpu.weight (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// blkio weight (10..1000) → io.weight (1..10000), as runc converts.
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).clamp(10, 1000) - 10) * 9999 / 990
}

/// cgroup v2 files, in the order they must be written.
pub fn v2_writes(r: &LinuxResources) -> Result<Vec<Write>, ResourceError> {
    let r = &without_zeroes(r);
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        for (set, field) in [
            (m.kernel().is_some(), "memory.kernel"),
            (m.kernel_tcp().is_some(), "memory.kernelTCP"),
            (m.swappiness().is_some(), "memory.swappiness"),
            (
                m.disable_oom_killer() == Some(true),
                "memory.disableOOMKiller",
            ),
        ] {
            if set {
                return Err(unsupported(field, "cgroup v2 has no such control"));
            }
        }
        if let Some(l) = m.limit() {
            out.push(w("memory", "memory.max", limit_or_max(l), "memory.limit"));
        }
        // The spec's swap is memory+swap; v2's memory.swap.max is swap alone.
        if let Some(s) = m.swap() {
            let v = match (s, m.limit()) {
                (s, _) if s < 0 => "max".to_string(),
                (s, Some(l)) if l >= 0 => {
                    if s < l {
                        return Err(unsupported(
                            "memory.swap",
                            "memory+swap must not be below memory.limit",
                        ));
                    }
                    (s - l).to_string()
                }
                _ => {
                    return Err(unsupported(
                        "memory.swap",
                        "needs memory.limit on cgroup v2",
                    ))
                }
            };
            out.push(w("memory", "memory.swap.max", v, "memory.swap"));
        }
        if let Some(v) = m.reservation() {
            out.push(w(
                "memory",
                "memory.low",
                limit_or_max(v),
                "memory.reservation",
            ));
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
            return Err(unsupported(
                "cpu.realtimeRuntime",
                "cgroup v2 has no realtime cpu control",
            ));
        }
        if let Some(v) = c.shares() {
            out.push(w("cpu", "cpu.weight", shares_to_weight(v), "cpu.shares"));
        }
        if c.quota().is_some() || c.period().is_some() {
            let period = c.period().unwrap_or(100_000);
            let quota = c
                .quota()
                .filter(|q| *q > 0)
                .map_or("max".to_string(), |q| q.to_string());
            out.push(w(
                "cpu",
                "cpu.max",
                format!("{quota} {period}"),
                "cpu.quota",
            ));
        }
        if let Some(v) = c.burst() {
            out.push(w("cpu", "cpu.max.burst", v, "cpu.burst"));
        }
        if let Some(v) = c.idle() {
            out.push(w("cpu", "cpu.idle", v, "cpu.idle"));
        }
        cpuset(c, &mut out);
    }
    pids(r, &mut out);
    if let Some(b) = r.block_io() {
        if b.leaf_weight().is_some() {
            return Err(unsupported(
                "blockIO.leafWeight",
                "cgroup v2 has no leaf weight",
            ));
        }
        if let Some(v) = b.weight() {
            out.push(w(
                "io",
                "io.weight",
                format!("default {}", blkio_to_io_weight(v)),
                "blockIO.weight",
            ));
        }
        for d in b.weight_device().as_deref().unwrap_or_default() {
            if d.leaf_weight().is_some_and(|l| l != 0) {
                return Err(unsupported(
                    "blockIO.weightDevice[].leafWeight",
                    "cgroup v2 has no leaf weight",
                ));
            }
            if let Some(v) = d.weight() {
                out.push(w(
                    "io",
                    "io.weight",
                    format!("{} {}", dev(d.major(), d.minor()), blkio_to_io_weight(v)),
                    "blockIO.weightDevice",
                ));
            }
        }
        let throttles = [
            (
                b.throttle_read_bps_device(),
                "rbps",
                "blockIO.throttleReadBpsDevice",
            ),
            (
                b.throttle_write_bps_device(),
                "wbps",
                "blockIO.throttleWriteBpsDevice",
            ),
            (
                b.throttle_read_iops_device(),
                "riops",
                "blockIO.throttleReadIOPSDevice",
            ),
            (
                b.throttle_write_iops_device(),
                "wiops",
                "blockIO.throttleWriteIOPSDevice",
            ),
        ];
        for (list, key, field) in throttles {
            for d in list.as_deref().unwrap_or_default() {
                out.push(w(
                    "io",
                    "io.max",
                    format!("{} {key}={}", dev(d.major(), d.minor()), d.rate()),
                    field,
                ));
            }
        }
    }
    for h in r.hugepage_limits().as_deref().unwrap_or_default() {
        out.push(w(
            "hugetlb",
            format!("hugetlb.{}.max", h.page_size()),
            h.limit(),
            "hugepageLimits",
        ));
    }
    if r.network().as_ref().is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    }) {
        return Err(unsupported(
            "network",
            "cgroup v2 has no net_cls or net_prio controller",
        ));
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(unsupported(
            "rdma",
            "rdma limits are not supported by this palisade",
        ));
    }
    for (k, v) in r.unified().clone().unwrap_or_default() {
        let ctrl = k.split('.').next().unwrap_or_default().to_owned();
        if k.contains('/') || !k.contains('.') || ctrl.is_empty() {
            return Err(unsupported(
                "unified",
                &format!("{k:?} is not a cgroup v2 file name"),
            ));
        }
        out.push(Write {
            controller: ctrl,
            file: k,
            value: v,
            field: "unified",
        });
    }
    Ok(out)
}

fn write_file(dir: &Path, wr: &Write) -> Result<(), ResourceError> {
    let path = dir.join(&wr.file);
    fs::write(&path, &wr.value).map_err(|source| ResourceError::Write {
        field: wr.field.into(),
        path,
        value: wr.value.clone(),
        source,
    })
}

/// The writes for this host's cgroup version: computed before anything is created, so
/// that a limit this host cannot express fails create with nothing to undo.
pub fn plan(r: &LinuxResources) -> Result<Vec<Write>, ResourceError> {
    // Memory is accounted hierarchically on every kernel palisade runs on (cgroup v2, and
    // v1's memory.use_hierarchy is fixed at 1 since Linux 5.16): false cannot be had.
    if r.memory().and_then(|m| m.use_hierarchy()) == Some(false) {
        return Err(unsupported(
            "memory.useHierarchy",
            "false: the kernel always accounts memory hierarchically",
        ));
    }
    if is_v2_unified() {
        v2_writes(r)
    } else {
        v1_writes(r)
    }
}

/// Applies planned writes to the (still empty) cgroup `cg`.
pub fn apply(cg: &Cgroup, writes: &[Write]) -> Result<(), ResourceError> {
    if writes.is_empty() {
        return Ok(());
    }
    if is_v2_unified() {
        let dir = cg
            .dirs
            .first()
            .ok_or_else(|| unsupported("", "no cgroup directory"))?;
        enable_v2_controllers(dir, writes)?;
        return writes.iter().try_for_each(|wr| write_file(dir, wr));
    }
    let hs =
        hierarchies().map_err(|e| unsupported("", &format!("read cgroup hierarchies: {e}")))?;
    let dir_of = |wr: &Write| -> Result<&PathBuf, ResourceError> {
        hs.iter()
            .filter(|h| !h.v2 && h.controllers.contains(&wr.controller))
            .find_map(|h| cg.dirs.iter().find(|d| d.starts_with(&h.mountpoint)))
            .ok_or_else(|| {
                unsupported(
                    wr.field,
                    &format!("this host has no {} controller", wr.controller),
                )
            })
    };
    let mut done = vec![false; writes.len()];
    for (i, wr) in writes.iter().enumerate() {
        if done[i] {
            continue;
        }
        let dir = dir_of(wr)?;
        match write_file(dir, wr) {
            // Raising the memory limit above the current memory+swap limit is refused until
            // that one is raised first (runc orders these the same way on update).
            Err(ResourceError::Write { ref source, .. })
                if wr.file == "memory.limit_in_bytes"
                    && source.raw_os_error() == Some(libc::EINVAL) =>
            {
                let Some(j) = writes
                    .iter()
                    .position(|w| w.file == "memory.memsw.limit_in_bytes")
                else {
                    return write_file(dir, wr);
                };
                write_file(dir, &writes[j])?;
                done[j] = true;
                write_file(dir, wr)?;
            }
            other => other?,
        }
    }
    Ok(())
}

/// cgroup v2 hands controllers down through cgroup.subtree_control of every ancestor
/// (cgroups(7), "Enabling and disabling controllers").
fn enable_v2_controllers(dir: &Path, writes: &[Write]) -> Result<(), ResourceError> {
    let mut needed: Vec<&str> = writes.iter().map(|w| w.controller.as_str()).collect();
    needed.sort_unstable();
    needed.dedup();
    let root = Path::new("/sys/fs/cgroup");
    let mut ancestors: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(root))
        .collect();
    ancestors.reverse();
    for a in ancestors {
        let available = fs::read_to_string(a.join("cgroup.controllers")).unwrap_or_default();
        let enabled = fs::read_to_string(a.join("cgroup.subtree_control")).unwrap_or_default();
        for c in &needed {
            if enabled.split_whitespace().any(|e| e == *c) {
                continue;
            }
            if !available.split_whitespace().any(|e| e == *c) {
                return Err(unsupported(
                    c,
                    &format!("controller {c} is not available in {}", a.display()),
                ));
            }
            write_file(a, &w("", "cgroup.subtree_control", format!("+{c}"), ""))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    /// What Docker sends for a container without limits: zeroes, which mean "not set".
    #[test]
    fn zeroes_are_not_limits() {
        let r = res(serde_json::json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimePeriod": 0, "realtimeRuntime": 0},
            "blockIO": {"weight": 0, "leafWeight": 0},
            "pids": {"limit": 0}
        }));
        assert!(v1_writes(&r).unwrap().is_empty());
        assert!(v2_writes(&r).unwrap().is_empty());
    }

    /// What cannot be had is refused, not dropped: useHierarchy false anywhere, a device's
    /// leaf weight on v2 (a zero one is Docker's "unset").
    #[test]
    fn settings_without_a_kernel_control_are_refused() {
        let e = plan(&res(serde_json::json!({"memory": {"useHierarchy": false}}))).unwrap_err();
        assert!(e.to_string().contains("memory.useHierarchy"), "{e}");
        assert!(plan(&res(serde_json::json!({"memory": {"useHierarchy": true}}))).is_ok());
        let leaf = |l: u16| {
            res(
                serde_json::json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": l}]}}),
            )
        };
        let e = v2_writes(&leaf(50)).unwrap_err();
        assert!(e.to_string().contains("leafWeight"), "{e}");
        assert_eq!(v2_writes(&leaf(0)).unwrap().len(), 1);
    }

    #[test]
    fn v1_mapping() {
        let r = res(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 2097152, "disableOOMKiller": true},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": -1},
            "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]}
        }));
        let v: Vec<(String, String)> = v1_writes(&r)
            .unwrap()
            .into_iter()
            .map(|w| (w.file, w.value))
            .collect();
        let want = [
            ("memory.limit_in_bytes", "1048576"),
            ("memory.memsw.limit_in_bytes", "2097152"),
            ("memory.oom_control", "1"),
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpuset.cpus", "0"),
            ("pids.max", "max"),
            ("blkio.weight", "300"),
            ("blkio.throttle.read_bps_device", "8:0 1000"),
        ];
        assert_eq!(
            v,
            want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
    }

    #[test]
    fn v2_mapping() {
        let r = res(serde_json::json!({
            "memory": {"limit": 1000, "swap": 3000, "reservation": -1},
            "cpu": {"shares": 1024, "quota": -1, "period": 50000},
            "pids": {"limit": 20},
            "blockIO": {"weight": 10, "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 7}]},
            "unified": {"memory.high": "2000"}
        }));
        let v: Vec<(String, String)> = v2_writes(&r)
            .unwrap()
            .into_iter()
            .map(|w| (w.file, w.value))
            .collect();
        let want = [
            ("memory.max", "1000"),
            ("memory.swap.max", "2000"),
            ("memory.low", "max"),
            ("cpu.weight", "39"),
            ("cpu.max", "max 50000"),
            ("pids.max", "20"),
            ("io.weight", "default 1"),
            ("io.max", "8:16 wiops=7"),
            ("memory.high", "2000"),
        ];
        assert_eq!(
            v,
            want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
    }

    #[test]
    fn what_a_version_cannot_do_is_refused() {
        let e = v2_writes(&res(serde_json::json!({"memory": {"swappiness": 10}}))).unwrap_err();
        assert!(e.to_string().contains("memory.swappiness"), "{e}");
        let e = v1_writes(&res(serde_json::json!({"unified": {"memory.high": "1"}}))).unwrap_err();
        assert!(e.to_string().contains("unified"), "{e}");
        let e = v2_writes(&res(serde_json::json!({"unified": {"../x": "1"}}))).unwrap_err();
        assert!(e.to_string().contains("not a cgroup v2 file"), "{e}");
        assert!(v1_writes(&res(serde_json::json!({"memory": {"kernel": 1}}))).is_err());
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }
}
