//! The systemd cgroup driver (`--systemd-cgroup`): the container gets a transient scope
//! unit, made by systemd's manager over D-Bus (org.freedesktop.systemd1(5),
//! StartTransientUnit), as runc and crun do. cgroupsPath is `slice:prefix:name`; the scope
//! is `<prefix>-<name>.scope` in that slice. The scope is delegated (Delegate=yes), so the
//! limits palisade then writes through cgroupfs are ours to write; the main ones are also
//! unit properties, so that a `systemctl daemon-reload` does not reset them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::dbus::{Arg, Connection, DbusError, Value};
use crate::isolate::resources::Write;

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("cgroupsPath {0:?}: {1}")]
    Path(String, &'static str),
    #[error("systemd is not running on this host (no /run/systemd/system); use cgroupfs paths without --systemd-cgroup")]
    NotRunning,
    #[error("D-Bus {0}")]
    Dbus(#[from] DbusError),
    #[error("{unit}: systemd did not move pid {pid} into the scope within {secs} s")]
    Timeout { unit: String, pid: i32, secs: u64 },
}

/// Where systemd puts the container: its slice and its scope unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub slice: String,
    pub unit: String,
}

/// Parses `slice:prefix:name` (runc's systemd cgroupsPath). Empty: `system.slice`, and
/// `palisade-<id>.scope`.
pub fn parse(cgroups_path: Option<&Path>, id: &str) -> Result<Scope, SystemdError> {
    let text = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if text.is_empty() {
        return Ok(Scope {
            slice: "system.slice".into(),
            unit: format!("palisade-{id}.scope"),
        });
    }
    let parts: Vec<&str> = text.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(SystemdError::Path(
            text,
            "with --systemd-cgroup it must be slice:prefix:name",
        ));
    };
    let ok = |s: &str| !s.contains('/') && !s.contains("..") && s.chars().all(|c| !c.is_control());
    if !ok(slice) || !ok(prefix) || !ok(name) || name.is_empty() {
        return Err(SystemdError::Path(
            text,
            "slice, prefix and name must be non-empty unit name parts without '/'",
        ));
    }
    if !slice.is_empty() && !slice.ends_with(".slice") {
        return Err(SystemdError::Path(text, "the slice must end in .slice"));
    }
    if name.ends_with(".slice") {
        return Err(SystemdError::Path(
            text,
            "a slice as the container's own unit is not supported; name a scope",
        ));
    }
    Ok(Scope {
        slice: if slice.is_empty() {
            "system.slice".into()
        } else {
            slice.into()
        },
        unit: if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        },
    })
}

/// The scope's cgroup path below a hierarchy's root (systemd.slice(5): `a-b.slice` lives
/// in `a.slice/a-b.slice`).
pub fn cgroup_path(s: &Scope) -> PathBuf {
    let mut p = PathBuf::new();
    let stem = s.slice.trim_end_matches(".slice");
    if stem != "-" {
        let mut acc = String::new();
        for part in stem.split('-') {
            if !acc.is_empty() {
                acc.push('-');
            }
            acc.push_str(part);
            p.push(format!("{acc}.slice"));
        }
    }
    p.join(&s.unit)
}

pub fn running() -> bool {
    Path::new("/run/systemd/system").exists()
}

/// systemd's own socket (what systemctl uses as root), else the system bus.
fn connect() -> Result<Connection, SystemdError> {
    if !running() {
        return Err(SystemdError::NotRunning);
    }
    let private = Path::new("/run/systemd/private");
    if private.exists() {
        return Ok(Connection::open(private, false)?);
    }
    let bus = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .and_then(|a| a.strip_prefix("unix:path=").map(str::to_owned))
        .unwrap_or_else(|| "/run/dbus/system_bus_socket".into());
    Ok(Connection::open(Path::new(&bus), true)?)
}

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// Unit properties for the limits among `writes` (systemd.resource-control(5)), so that
/// systemd keeps them; everything is also written through cgroupfs afterwards.
pub fn properties(writes: &[Write]) -> Vec<(&'static str, Value)> {
    let num = |v: &str| -> Option<u64> {
        if v == "max" || v == "-1" {
            Some(u64::MAX)
        } else {
            v.parse().ok()
        }
    };
    let mut out = Vec::new();
    let mut quota_period = (None, None);
    for w in writes {
        let prop = match w.file.as_str() {
            "memory.max" => "MemoryMax",
            "memory.high" => "MemoryHigh",
            "memory.low" => "MemoryLow",
            "memory.swap.max" => "MemorySwapMax",
            "memory.limit_in_bytes" => "MemoryLimit",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "cpu.shares" => "CPUShares",
            "cpu.max" => {
                let mut it = w.value.split_whitespace();
                quota_period = (it.next().and_then(num), it.next().and_then(num));
                continue;
            }
            "cpu.cfs_quota_us" => {
                quota_period.0 = num(&w.value);
                continue;
            }
            "cpu.cfs_period_us" => {
                quota_period.1 = num(&w.value);
                continue;
            }
            _ => continue,
        };
        if let Some(n) = num(&w.value) {
            out.push((prop, Value::U64(n)));
        }
    }
    if let (Some(q), p) = quota_period {
        let period = p.unwrap_or(100_000).max(1);
        let per_sec = if q == u64::MAX {
            u64::MAX
        } else {
            q.saturating_mul(1_000_000) / period
        };
        out.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        out.push(("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    out
}

/// Starts the scope with `pid` in it and waits until systemd has moved it there.
pub fn start(s: &Scope, id: &str, pid: i32, limits: &[Write]) -> Result<(), SystemdError> {
    let mut props = vec![
        (
            "Description",
            Value::Str(format!("palisade container {id}")),
        ),
        ("Slice", Value::Str(s.slice.clone())),
        ("Delegate", Value::Bool(true)),
        ("DefaultDependencies", Value::Bool(false)),
        ("PIDs", Value::U32s(vec![pid as u32])),
    ];
    props.extend(properties(limits));
    connect()?.call(
        DEST,
        PATH,
        MANAGER,
        "StartTransientUnit",
        &[
            Arg::Str(&s.unit),
            Arg::Str("fail"),
            Arg::Props(&props),
            Arg::NoAux,
        ],
    )?;
    // The reply names a queued job; the move happens when it runs.
    let want = format!("/{}", s.unit);
    let wait = Duration::from_secs(10);
    let end = Instant::now() + wait;
    loop {
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cg.lines().any(|l| l.ends_with(&want)) {
            return Ok(());
        }
        if Instant::now() > end {
            // The unit is ours: leave nothing behind.
            let _ = stop(&s.unit);
            return Err(SystemdError::Timeout {
                unit: s.unit.clone(),
                pid,
                secs: wait.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// New limits for a running scope (runc update): kept by systemd, then written through
/// cgroupfs by the caller.
pub fn set_properties(unit: &str, limits: &[Write]) -> Result<(), SystemdError> {
    let props = properties(limits);
    if props.is_empty() {
        return Ok(());
    }
    connect()?.call(
        DEST,
        PATH,
        MANAGER,
        "SetUnitProperties",
        &[Arg::Str(unit), Arg::Bool(true), Arg::Props(&props)],
    )?;
    Ok(())
}

/// Stops the scope (systemd then removes its cgroup). A unit already gone is fine.
pub fn stop(unit: &str) -> Result<(), SystemdError> {
    match connect()?.call(
        DEST,
        PATH,
        MANAGER,
        "StopUnit",
        &[Arg::Str(unit), Arg::Str("replace")],
    ) {
        Err(DbusError::Call { name, .. }) if name.ends_with(".NoSuchUnit") => Ok(()),
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(p: &str) -> Result<Scope, SystemdError> {
        parse(Some(Path::new(p)), "c1")
    }

    #[test]
    fn parses_slice_prefix_name() {
        let s = scope("kubepods-besteffort-pod12.slice:cri-containerd:abc").unwrap();
        assert_eq!(s.unit, "cri-containerd-abc.scope");
        assert_eq!(
            cgroup_path(&s),
            PathBuf::from(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope"
            )
        );
        let d = parse(None, "c1").unwrap();
        assert_eq!(
            cgroup_path(&d),
            PathBuf::from("system.slice/palisade-c1.scope")
        );
        assert_eq!(scope(":p:n").unwrap().slice, "system.slice");
        assert_eq!(
            cgroup_path(&scope("-.slice::n").unwrap()),
            PathBuf::from("n.scope")
        );
        for bad in [
            "/abs/path",
            "a:b",
            "x.slice:p:",
            "notaslice:p:n",
            "a.slice:p:n.slice",
            "a.slice:../x:n",
        ] {
            assert!(scope(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_become_unit_properties() {
        let w = |file: &str, value: &str| Write {
            controller: String::new(),
            file: file.into(),
            value: value.into(),
            field: "",
        };
        let p = properties(&[
            w("memory.max", "1048576"),
            w("pids.max", "max"),
            w("cpu.max", "50000 100000"),
            w("io.weight", "default 100"),
        ]);
        assert_eq!(
            p,
            vec![
                ("MemoryMax", Value::U64(1 << 20)),
                ("TasksMax", Value::U64(u64::MAX)),
                ("CPUQuotaPerSecUSec", Value::U64(500_000)),
                ("CPUQuotaPeriodUSec", Value::U64(100_000)),
            ]
        );
    }
}
