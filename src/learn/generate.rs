//! A recording → the smallest profile that runs it: a TOML profile that extends the base
//! with the learned seccomp filter (rule `seccomp-learned`), the learned Landlock writes
//! and TCP ports (rule `landlock-learned`) and the capabilities the calls showed a need
//! for; and a report that says why each rule is there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::decode::DECIDED;
use super::recording::Recording;
use crate::policy::exposure::CLONE_NEW_FLAGS;
use crate::policy::Profile;

/// More distinct values than this and a call is allowed whatever its arguments (noted).
pub const MAX_VALUES: usize = 32;

pub struct Learned {
    pub name: String,
    pub toml: String,
    pub report: String,
    /// The seccomp filter, OCI form.
    pub filter: Value,
    pub syscalls: usize,
    pub capabilities: Vec<String>,
}

/// The calls the base's rules keep denied: never in a learned filter.
fn denied_by(base: &Profile) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for id in ["seccomp-denies", "seccomp-enabled"] {
        if let Some(r) = base.rule(id) {
            for v in r
                .params
                .get("syscalls")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(s) = v.as_str() {
                    out.insert(s.to_owned());
                }
            }
        }
    }
    out
}

fn under(p: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| p.starts_with(d))
}

/// `writable`: the places the container could write (its writable mounts, or `/`); a write
/// recorded elsewhere failed, and is left out.
pub fn learn(name: &str, rec: &Recording, base: &Profile, writable: &[PathBuf]) -> Learned {
    let mut notes: Vec<String> = vec![];
    let denied = denied_by(base);
    let no_namespaces = denied.contains("unshare");

    // (a) seccomp.
    let mut plain: Vec<String> = vec![];
    let mut conditional: Vec<Value> = vec![];
    let mut clone_values: BTreeSet<Vec<u64>> = BTreeSet::new();
    for n in ["clone", "clone3"] {
        if let Some(c) = rec.calls.get(n) {
            clone_values.extend(c.values.iter().cloned());
        }
    }
    if no_namespaces {
        let before = clone_values.len();
        clone_values.retain(|v| v.first().is_some_and(|f| f & CLONE_NEW_FLAGS == 0));
        if clone_values.len() != before {
            notes.push("clone with CLONE_NEW* flags was recorded, but the base profile denies namespace creation: left out".into());
        }
    }
    let mut names: BTreeSet<&str> = rec.calls.keys().map(String::as_str).collect();
    if !clone_values.is_empty() {
        names.insert("clone");
    }
    for name in names {
        if name.starts_with("nr:") {
            notes.push(format!("{name}: a call libseccomp cannot name: left out"));
            continue;
        }
        if name == "clone3" {
            // clone3's flags are behind a pointer, out of a filter's reach: ENOSYS makes
            // libc fall back to clone, whose flags are checked.
            conditional.push(
                json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}),
            );
            continue;
        }
        if denied.contains(name) {
            notes.push(format!(
                "{name}: recorded, but the base profile {} denies it: left out",
                base.name
            ));
            continue;
        }
        let values = if name == "clone" {
            &clone_values
        } else {
            &rec.calls[name].values
        };
        match DECIDED.iter().find(|(n, _)| *n == name) {
            Some((_, args)) if !values.is_empty() && values.len() <= MAX_VALUES => {
                for v in values {
                    // A profile is TOML, whose integers are i64: a larger value (no flag
                    // word or option uses the top bit) is left out, so denied.
                    if v.iter().any(|x| *x > i64::MAX as u64) {
                        notes.push(format!(
                            "{name}: the value {v:x?} does not fit a profile: left out"
                        ));
                        continue;
                    }
                    let conds: Vec<Value> = args
                        .iter()
                        .zip(v)
                        .map(|(&(index, mask), &value)| {
                            if mask == u64::MAX {
                                json!({"index": index, "value": value, "op": "SCMP_CMP_EQ"})
                            } else {
                                json!({"index": index, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"})
                            }
                        })
                        .collect();
                    conditional
                        .push(json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": conds}));
                }
            }
            Some(_) if values.len() > MAX_VALUES => {
                notes.push(format!(
                    "{name}: {} distinct argument values (more than {MAX_VALUES}): allowed whatever its arguments",
                    values.len()
                ));
                plain.push(name.to_owned());
            }
            _ => plain.push(name.to_owned()),
        }
    }
    let allowed = plain.len()
        + conditional
            .iter()
            .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
            .filter_map(|r| r["names"][0].as_str())
            .collect::<BTreeSet<_>>()
            .len();
    let mut rules = vec![];
    if !plain.is_empty() {
        rules.push(json!({"names": plain, "action": "SCMP_ACT_ALLOW"}));
    }
    rules.extend(conditional);
    // Always: clone3's flags are behind a pointer, out of a filter's reach, and a base
    // filter that answered it ENOSYS (palisade's does) kept it out of the recording.
    // ENOSYS, never EPERM, makes libc fall back to clone, whose flags are checked.
    rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}));
    // The native architecture only: a call made through another ABI (int 0x80 on x86_64)
    // has other numbers and other calls (socketcall), out of this filter's argument rules.
    let native = crate::policy::catalog::native_arch();
    for a in &rec.arches {
        if Some(a.as_str()) != native {
            notes.push(format!(
                "calls in the {a} architecture: not allowed (only the native one is)"
            ));
        }
    }
    let filter = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EPERM,
        "architectures": native.into_iter().collect::<Vec<_>>(),
        "syscalls": rules,
    });

    // (b) Landlock.
    // Whether a recorded place may be granted; if not, why, in the report.
    let mut grantable = |p: &Path, what: &str| {
        let why = if p.starts_with("/proc") || p.starts_with("/sys") {
            "in /proc or /sys, where no profile grants writes"
        } else if !under(p, writable) {
            "not on a writable mount, so they failed"
        } else {
            return true;
        };
        notes.push(format!("writes {what} {p:?}: {why}: left out"));
        false
    };
    let mut dirs: Vec<PathBuf> = rec
        .write_dirs
        .keys()
        .map(PathBuf::from)
        .filter(|d| grantable(d, "in"))
        .collect();
    dirs.sort();
    let mut kept: Vec<PathBuf> = vec![];
    for d in dirs {
        if !under(&d, &kept) {
            kept.push(d);
        }
    }
    let dirs = kept;
    let files: Vec<PathBuf> = rec
        .write_files
        .keys()
        .map(PathBuf::from)
        .filter(|f| grantable(f, "to") && !under(f, &dirs))
        .collect();

    // (c) capabilities: what the calls need, within what the base allows.
    let base_caps = base.rule("capabilities").map(|r| {
        r.params
            .get("allowed")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(crate::policy::catalog::cap_name)
                    .collect::<BTreeSet<_>>()
            })
            .unwrap_or_default()
    });
    let mut caps: Vec<String> = vec![];
    for (cap, why) in &rec.capabilities {
        match &base_caps {
            Some(allowed) if !allowed.contains(cap) => notes.push(format!(
                "{cap} ({why}): needed, but the base profile {} does not allow it: left out",
                base.name
            )),
            _ => caps.push(cap.clone()),
        }
    }
    for (call, why) in &rec.undecoded {
        notes.push(format!(
            "{call}: arguments not decoded ({why}): recorded by name only"
        ));
    }

    // The profile.
    let mut t = toml::Table::new();
    t.insert("name".into(), name.into());
    t.insert(
        "description".into(),
        format!(
            "learned from {} run(s) under {}: {allowed} syscalls, {} capabilities",
            rec.runs.len(),
            rec.base,
            caps.len()
        )
        .into(),
    );
    t.insert("extends".into(), rec.base.clone().into());
    let mut rules_t = toml::Table::new();
    let mut caps_t = toml::Table::new();
    if base.rule("capabilities").is_none() {
        caps_t.insert("action".into(), "harden".into());
    }
    caps_t.insert(
        "allowed".into(),
        toml::Value::Array(caps.iter().map(|c| c.clone().into()).collect()),
    );
    rules_t.insert("capabilities".into(), caps_t.into());
    if base.rule("no-new-privileges").is_none() {
        let mut n = toml::Table::new();
        n.insert("action".into(), "harden".into());
        rules_t.insert("no-new-privileges".into(), n.into());
    }
    let mut s = toml::Table::new();
    s.insert("action".into(), "harden".into());
    s.insert(
        "filter".into(),
        toml::Value::try_from(&filter).expect("a JSON filter without nulls is TOML"),
    );
    rules_t.insert("seccomp-learned".into(), s.into());
    let mut l = toml::Table::new();
    l.insert("action".into(), "harden".into());
    let strs = |v: &[PathBuf]| {
        toml::Value::Array(
            v.iter()
                .map(|p| p.to_string_lossy().into_owned().into())
                .collect(),
        )
    };
    let ports =
        |v: &BTreeSet<u16>| toml::Value::Array(v.iter().map(|p| i64::from(*p).into()).collect());
    l.insert("write_dirs".into(), strs(&dirs));
    l.insert("write_files".into(), strs(&files));
    l.insert("bind_tcp".into(), ports(&rec.tcp_bind));
    l.insert("connect_tcp".into(), ports(&rec.tcp_connect));
    rules_t.insert("landlock-learned".into(), l.into());
    t.insert("rules".into(), rules_t.into());
    let toml = format!(
        "# Learned by `palisade learn` from {} run(s) ({}) under {}.\n# {name}.md beside this file says why each rule is here. Review it before use.\n{}",
        rec.runs.len(),
        rec.runs.join(", "),
        rec.base,
        toml::to_string(&t).expect("a table serialises")
    );

    let report = report(name, rec, &filter, allowed, &dirs, &files, &caps, &notes);
    Learned {
        name: name.to_owned(),
        toml,
        report,
        filter,
        syscalls: allowed,
        capabilities: caps,
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    name: &str,
    rec: &Recording,
    filter: &Value,
    allowed: usize,
    dirs: &[PathBuf],
    files: &[PathBuf],
    caps: &[String],
    notes: &[String],
) -> String {
    let mut r = String::new();
    let total: u64 = rec.calls.values().map(|c| c.count).sum();
    let _ = writeln!(r, "# Profile {name}\n");
    let _ = writeln!(
        r,
        "Learned by `palisade learn` from {} run(s) ({}) under the profile `{}`. The recording began at the workload's execve and saw {total} system calls of {} kinds. The profile extends `{}`: everything that profile requires still holds.\n",
        rec.runs.len(),
        rec.runs.join(", "),
        rec.base,
        rec.calls.len(),
        rec.base
    );
    let _ = writeln!(
        r,
        "## Seccomp: {allowed} system calls allowed, every other answers EPERM\n"
    );
    let _ = writeln!(r, "Rule `seccomp-learned`. Calls newer than the newest one named answer ENOSYS (palisade's prologue), so that libc falls back to older ones.\n");
    let _ = writeln!(r, "| call | times | allowed for |\n|---|---|---|");
    let mut conds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for rule in filter["syscalls"].as_array().into_iter().flatten() {
        let Some(args) = rule["args"].as_array() else {
            continue;
        };
        let n = rule["names"][0].as_str().unwrap_or_default();
        let what: Vec<String> = args
            .iter()
            .map(|a| {
                let v = a["valueTwo"]
                    .as_u64()
                    .unwrap_or_else(|| a["value"].as_u64().unwrap_or(0));
                format!("arg{}={v:#x}", a["index"])
            })
            .collect();
        conds.entry(n).or_default().push(what.join(" "));
    }
    let plain: BTreeSet<&str> = filter["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["args"].is_null() && r["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|r| {
            r["names"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
        })
        .collect();
    for (n, c) in &rec.calls {
        let why = if n == "clone3" {
            "answers ENOSYS: libc then calls clone, whose flags are checked".to_owned()
        } else if let Some(v) = conds.get(n.as_str()) {
            v.join("; ")
        } else if plain.contains(n.as_str()) {
            "any arguments".to_owned()
        } else {
            "left out (see below)".to_owned()
        };
        let _ = writeln!(r, "| {n} | {} | {why} |", c.count);
    }
    let _ = writeln!(r, "\n## Landlock: writes and TCP ports\n");
    let _ = writeln!(r, "Rule `landlock-learned`: the write rights are handled, and granted only here (a directory: creating, removing and writing beneath it; a file: writing it).\n");
    for d in dirs {
        let calls = rec
            .write_dirs
            .iter()
            .filter(|(p, _)| Path::new(p).starts_with(d))
            .flat_map(|(_, c)| c.iter().cloned())
            .collect::<BTreeSet<_>>();
        let _ = writeln!(
            r,
            "- directory {:?} ({})",
            d,
            calls.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    for f in files {
        let calls = rec
            .write_files
            .get(&*f.to_string_lossy())
            .cloned()
            .unwrap_or_default();
        let _ = writeln!(
            r,
            "- file {:?} ({})",
            f,
            calls.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if dirs.is_empty() && files.is_empty() {
        let _ = writeln!(r, "- no writes: none granted");
    }
    let list = |s: &BTreeSet<u16>| {
        if s.is_empty() {
            "none".to_owned()
        } else {
            s.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        r,
        "- TCP bind: {}\n- TCP connect: {}",
        list(&rec.tcp_bind),
        list(&rec.tcp_connect)
    );
    let _ = writeln!(r, "\n## Capabilities\n");
    if caps.is_empty() {
        let _ = writeln!(r, "None: no recorded call needs one.");
    }
    for c in caps {
        let _ = writeln!(
            r,
            "- {c}: {}",
            rec.capabilities
                .get(c)
                .map(String::as_str)
                .unwrap_or_default()
        );
    }
    let _ = writeln!(r, "\nOnly what a call alone shows is derived (chown, setuid, mknod of a device, raw sockets, ports below 1024). A workload that writes files it does not own needs CAP_DAC_OVERRIDE, which no call shows: give it in a profile that extends this one.");
    if !notes.is_empty() {
        let _ = writeln!(r, "\n## Left out or not decoded\n");
        for n in notes {
            // Paths and values in a note are the workload's: one line each, escaped.
            let _ = writeln!(r, "- {}", n.escape_debug());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_becomes_the_smallest_profile() {
        let base = Profile::builtin("restricted").unwrap();
        let mut r = Recording::new("t", "restricted");
        r.arches.insert("SCMP_ARCH_X86_64".into());
        for n in ["read", "write", "execve", "unshare", "nr:999"] {
            r.call(n);
        }
        r.call("clone");
        r.value("clone", vec![0x1200011]);
        r.value("clone", vec![0x1200011 | libc::CLONE_NEWUSER as u64]);
        r.call("clone3");
        r.value("clone3", vec![0x3d0f00]);
        r.call("ioctl");
        for i in 0..(MAX_VALUES as u64 + 1) {
            r.value("ioctl", vec![0x5400 + i]);
        }
        r.call("socket");
        r.value("socket", vec![2, 1]);
        // A value no TOML integer holds, and a call through another ABI.
        r.call("prctl");
        r.value("prctl", vec![1 << 63]);
        r.arches.insert("SCMP_ARCH_X86".into());
        for (d, call) in [
            ("/tmp/a", "mkdir"),
            ("/tmp/a/b", "openat"),
            ("/proc/self", "openat"),
            ("/ro", "openat"),
        ] {
            r.write_dir(d.into(), call);
        }
        r.write_file("/dev/null".into(), "openat");
        r.write_file("/tmp/a/b/f".into(), "openat");
        r.tcp_bind.insert(80);
        r.needs("CAP_NET_BIND_SERVICE", "bind to port 80".into());
        r.needs("CAP_SETUID", "setuid to id 5".into());
        let l = learn(
            "learned-t",
            &r,
            &base,
            &[PathBuf::from("/tmp"), PathBuf::from("/dev")],
        );
        let rules = l.filter["syscalls"].as_array().unwrap();
        let plain: Vec<&str> = rules[0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        // unshare is denied by the base; an unnamed call cannot be allowed; ioctl had too
        // many values to list.
        assert_eq!(plain, ["execve", "ioctl", "read", "write"]);
        let clone: Vec<&Value> = rules.iter().filter(|r| r["names"][0] == "clone").collect();
        // The fork's flags and clone3's (as clone's): not the one with CLONE_NEWUSER.
        assert_eq!(clone.len(), 2, "{clone:?}");
        assert!(clone.iter().all(|r| r["args"][0]["op"] == "SCMP_CMP_EQ"));
        assert!(rules
            .iter()
            .any(|r| r["names"][0] == "clone3" && r["errnoRet"] == libc::ENOSYS));
        let socket = rules.iter().find(|r| r["names"][0] == "socket").unwrap();
        assert_eq!(socket["args"][1]["op"], "SCMP_CMP_MASKED_EQ");
        assert_eq!(l.syscalls, 6);
        assert_eq!(l.capabilities, ["CAP_NET_BIND_SERVICE"]);
        // Nested directories collapse; /proc and a read-only place are left out; a file
        // beneath a granted directory needs no rule of its own.
        assert!(l.toml.contains("write_dirs = [\"/tmp/a\"]"), "{}", l.toml);
        assert!(
            l.toml.contains("write_files = [\"/dev/null\"]"),
            "{}",
            l.toml
        );
        assert!(l.toml.contains("bind_tcp = [80]"));
        for note in [
            "unshare",
            "nr:999",
            "ioctl",
            "/proc/self",
            "/ro",
            "CAP_SETUID",
        ] {
            assert!(
                l.report.contains(note),
                "{note} not in the report:\n{}",
                l.report
            );
        }
        // The text is a profile palisade loads, extending the base.
        let p = crate::policy::profile::parse(&l.toml, "learned-t", None, 0).unwrap();
        assert_eq!(p.ancestors.first().map(String::as_str), Some("restricted"));
        assert!(p.rule("seccomp-learned").is_some() && p.rule("landlock-learned").is_some());
        // Not looser than its base: a workload may ask for it where the base is the floor.
        assert!(p.loosenings(&base).is_empty(), "{:?}", p.loosenings(&base));
    }
}
