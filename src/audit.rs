//! The audit log: one JSON line per policy decision (create, run, exec), appended with one
//! write(2) to a file opened O_APPEND, so that concurrent runtimes never interleave records
//! (a regular file's O_APPEND write is atomic with respect to other appends).

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::SystemTime;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::policy::{Decision, Violation};
use crate::spec::{NsKind, Plan};

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn violations(v: &[Violation]) -> Value {
    json!(v
        .iter()
        .map(|v| json!({"rule": v.rule.id, "action": v.action, "details": v.details}))
        .collect::<Vec<_>>())
}

/// What the container runs with, as planned after the decision.
pub fn applied(plan: &Plan, landlock: Option<&str>) -> Value {
    let seccomp = plan.seccomp.as_ref().map(|s| {
        json!({
            "defaultAction": s.default_action(),
            "rules": s.syscalls().as_ref().map_or(0, |v| v.iter().map(|r| r.names().len()).sum::<usize>()),
        })
    });
    let res = plan
        .resources
        .as_ref()
        .and_then(|r| serde_json::to_value(r).ok())
        .unwrap_or(Value::Null);
    json!({
        "namespaces": plan.namespaces.iter().map(|n| json!({
            "type": n.kind.spec_name(),
            "path": n.path,
        })).collect::<Vec<_>>(),
        "user": {
            "uid": plan.process.uid,
            "gid": plan.process.gid,
            "userns": plan.namespace(NsKind::User).is_some(),
            "uidMappings": plan.uid_mappings.iter().map(|m| [m.container, m.host, m.size]).collect::<Vec<_>>(),
            "gidMappings": plan.gid_mappings.iter().map(|m| [m.container, m.host, m.size]).collect::<Vec<_>>(),
        },
        "capabilities": plan.process.caps.bounding.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "noNewPrivileges": plan.process.no_new_privileges,
        "seccomp": seccomp,
        "landlock": match (&plan.landlock, landlock) {
            (None, _) => Value::Null,
            (Some(_), Some(status)) => json!(status),
            (Some(_), None) => json!("requested"),
        },
        // Host programs the runtime runs as root (runtime-spec config.md#posix-platform-hooks):
        // every one is on record, whichever profile let it run.
        "hooks": hooks(plan),
        "cgroup": {
            "memoryLimit": res.pointer("/memory/limit"),
            "pidsLimit": res.pointer("/pids/limit"),
            "cpuQuota": res.pointer("/cpu/quota"),
            "cpuShares": res.pointer("/cpu/shares"),
        },
    })
}

fn hooks(plan: &Plan) -> Value {
    plan.hooks
        .by_kind()
        .iter()
        .flat_map(|(kind, list)| {
            list.iter()
                .map(move |h| json!({"kind": kind, "path": h.path, "args": h.args}))
        })
        .collect()
}

/// One record: `outcome` is what happened after the decision ("created", "failed: ...",
/// "refused").
pub struct Entry<'a> {
    pub command: &'a str,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub config_sha256: &'a str,
    pub decision: &'a Decision,
    pub outcome: &'a str,
    pub landlock: Option<&'a str>,
}

impl Entry<'_> {
    pub fn to_json(&self) -> Value {
        record(self)
    }
}

fn record(e: &Entry<'_>) -> Value {
    let d = e.decision;
    json!({
        "time": crate::logging::rfc3339(SystemTime::now()),
        "command": e.command,
        "id": e.id,
        "bundle": e.bundle,
        "config_sha256": e.config_sha256,
        "profile": d.profile,
        "mode": d.mode,
        "decision": d.verdict,
        "violations": violations(&d.violations),
        "hardened": d.hardened,
        "refused_for": violations(&d.remaining),
        "outcome": e.outcome,
        "applied": applied(&d.plan, e.landlock),
    })
}

/// A refusal before any profile applied: the workload asked for a profile weaker than the
/// operator's floor.
pub fn refused_selection(
    command: &str,
    id: &str,
    bundle: &Path,
    config: &[u8],
    why: &dyn std::fmt::Display,
) -> Value {
    json!({
        "time": crate::logging::rfc3339(SystemTime::now()),
        "command": command,
        "id": id,
        "bundle": bundle,
        "config_sha256": sha256_hex(config),
        "decision": "refused",
        "outcome": "refused",
        "reason": why.to_string(),
    })
}

/// The audit log, opened before a decision is acted on.
pub struct Log {
    file: std::fs::File,
}

impl Log {
    /// Opens (creating 0600, its directory 0700) for appending.
    pub fn open(path: &Path) -> io::Result<Log> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)?;
            }
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path)?;
        Ok(Log { file })
    }

    /// One line, one write(2).
    pub fn write(&self, record: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let n = nix::unistd::write(&self.file, &line)?;
        if n != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write: {n} of {} bytes", line.len()),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn concurrent_appends_stay_whole_lines() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/audit.log");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let big = "x".repeat(3000);
                        Log::open(&path)
                            .unwrap()
                            .write(&json!({"t": t, "i": i, "pad": big}))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 400);
        for l in text.lines() {
            serde_json::from_str::<Value>(l).unwrap();
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
