//! config.json and `exec --process` JSON into oci-spec's types, field for field as
//! oci-spec's own deserializers read them, but for `process.execCPUAffinity`.
//!
//! oci-spec checks that field's CPU lists with the regex crate, and its `Process`
//! deserializer alone is what links the regex engine and its Unicode tables into the
//! binary: 0.1 MB of pointers the loader relocates at every start and 0.2 MB of tables
//! among the data the runtime reads, a tenth of a `run`'s peak RSS (scripts/bench.sh).
//! The lists are checked here by a small parser with the same grammar. Nothing else
//! deserializes `Spec` or `Process` in the runtime: the test below holds the two readings
//! equal on a config that sets every field.

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    Box as ConsoleSize, ExecCPUAffinity, Hooks, Linux, LinuxCapabilities, LinuxIOPriority, Mount,
    PosixRlimit, Process, Root, Scheduler, Solaris, Spec, User, Windows, VM, ZOS,
};
use serde::{Deserialize, Deserializer};

/// A config document into oci-spec's [`Spec`].
pub fn spec(value: &serde_json::Value) -> Result<Spec, serde_json::Error> {
    SpecDoc::deserialize(value).map(Spec::from)
}

/// A process document (runtime-spec config.md "process") into oci-spec's [`Process`].
pub fn process(value: &serde_json::Value) -> Result<Process, serde_json::Error> {
    ProcessDoc::deserialize(value).map(Process::from)
}

/// oci-spec's `Spec` as it deserializes, without the top-level `uidMappings` and
/// `gidMappings` it keeps deprecated (they were never in the runtime-spec).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecDoc {
    #[serde(default, rename = "ociVersion")]
    version: String,
    #[serde(default)]
    root: Option<Root>,
    #[serde(default)]
    mounts: Option<Vec<Mount>>,
    #[serde(default)]
    process: Option<ProcessDoc>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    domainname: Option<String>,
    #[serde(default)]
    hooks: Option<Hooks>,
    #[serde(default)]
    annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    linux: Option<Linux>,
    #[serde(default)]
    solaris: Option<Solaris>,
    #[serde(default)]
    windows: Option<Windows>,
    #[serde(default)]
    vm: Option<VM>,
    #[serde(default)]
    zos: Option<ZOS>,
}

impl From<SpecDoc> for Spec {
    fn from(d: SpecDoc) -> Spec {
        // Every field is set: Spec::default() fills in a shell process, mounts and more.
        let mut s = Spec::default();
        s.set_version(d.version)
            .set_root(d.root)
            .set_mounts(d.mounts)
            .set_process(d.process.map(Process::from))
            .set_hostname(d.hostname)
            .set_domainname(d.domainname)
            .set_hooks(d.hooks)
            .set_annotations(d.annotations)
            .set_linux(d.linux)
            .set_solaris(d.solaris)
            .set_windows(d.windows)
            .set_vm(d.vm)
            .set_zos(d.zos);
        s
    }
}

/// oci-spec's `Process` as it deserializes: `user` and `cwd` are required there too.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcessDoc {
    #[serde(default)]
    terminal: Option<bool>,
    #[serde(default)]
    console_size: Option<ConsoleSize>,
    user: User,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    command_line: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    cwd: PathBuf,
    #[serde(default)]
    capabilities: Option<LinuxCapabilities>,
    #[serde(default)]
    rlimits: Option<Vec<PosixRlimit>>,
    #[serde(default)]
    no_new_privileges: Option<bool>,
    #[serde(default)]
    apparmor_profile: Option<String>,
    oom_score_adj: Option<i32>,
    #[serde(default)]
    selinux_label: Option<String>,
    #[serde(default)]
    io_priority: Option<LinuxIOPriority>,
    #[serde(default, deserialize_with = "scheduler")]
    scheduler: Option<Scheduler>,
    #[serde(default, rename = "execCPUAffinity")]
    exec_cpu_affinity: Option<CpuAffinityDoc>,
}

impl From<ProcessDoc> for Process {
    fn from(d: ProcessDoc) -> Process {
        // Every field is set: Process::default() fills in `sh`, an rlimit and capabilities.
        let mut p = Process::default();
        p.set_terminal(d.terminal)
            .set_console_size(d.console_size)
            .set_user(d.user)
            .set_args(d.args)
            .set_command_line(d.command_line)
            .set_env(d.env)
            .set_cwd(d.cwd)
            .set_capabilities(d.capabilities)
            .set_rlimits(d.rlimits)
            .set_no_new_privileges(d.no_new_privileges)
            .set_apparmor_profile(d.apparmor_profile)
            .set_oom_score_adj(d.oom_score_adj)
            .set_selinux_label(d.selinux_label)
            .set_io_priority(d.io_priority)
            .set_scheduler(d.scheduler)
            .set_exec_cpu_affinity(d.exec_cpu_affinity.map(|a| {
                let mut e = ExecCPUAffinity::default();
                e.set_initial(a.initial).set_cpu_affinity_final(a.last);
                e
            }));
        p
    }
}

#[derive(Deserialize)]
struct CpuAffinityDoc {
    #[serde(default, deserialize_with = "cpu_list")]
    initial: Option<String>,
    #[serde(default, rename = "final", deserialize_with = "cpu_list")]
    last: Option<String>,
}

/// runtime-spec names the flag SCHED_FLAG_RESET_ON_FORK, as the kernel does; oci-spec
/// spells it SCHED_RESET_ON_FORK. Both are taken.
fn scheduler<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scheduler>, D::Error> {
    let Some(mut v) = Option::<serde_json::Value>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(flags) = v.get_mut("flags").and_then(|f| f.as_array_mut()) {
        for f in flags {
            if f == "SCHED_FLAG_RESET_ON_FORK" {
                *f = "SCHED_RESET_ON_FORK".into();
            }
        }
    }
    serde_json::from_value(v)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn cpu_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    match value {
        Some(s) if !is_cpu_list(&s) => Err(serde::de::Error::custom(format!(
            "Invalid execCPUAffinity format: {s}"
        ))),
        v => Ok(v),
    }
}

/// oci-spec's grammar, `^(\d+(-\d+)?)(,\d+(-\d+)?)*$`, with ASCII digits: "0-3,7".
fn is_cpu_list(s: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    s.split(',').all(|item| match item.split_once('-') {
        Some((lo, hi)) => number(lo) && number(hi),
        None => number(item),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A config that sets every field oci-spec's Spec and Process read.
    fn full() -> serde_json::Value {
        json!({
            "ociVersion": "1.2.1",
            "root": {"path": "rootfs", "readonly": true},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc",
                        "options": ["nosuid"]}],
            "process": {
                "terminal": true,
                "consoleSize": {"height": 25, "width": 80},
                "user": {"uid": 1, "gid": 2, "umask": 18, "additionalGids": [3],
                         "username": "u"},
                "args": ["/bin/sh", "-c", "true"],
                "commandLine": "sh",
                "env": ["PATH=/bin", "TERM=xterm"],
                "cwd": "/srv",
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                 "inheritable": [], "permitted": ["CAP_KILL"],
                                 "ambient": []},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 64, "soft": 32}],
                "noNewPrivileges": true,
                "apparmorProfile": "p",
                "oomScoreAdj": 100,
                "selinuxLabel": "l",
                "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
                "scheduler": {"policy": "SCHED_OTHER", "nice": 5},
                "execCPUAffinity": {"initial": "0-3,7", "final": "1"}
            },
            "hostname": "h",
            "domainname": "d",
            "hooks": {"createRuntime": [{"path": "/bin/true", "args": ["true"]}]},
            "annotations": {"a": "b"},
            "linux": {"namespaces": [{"type": "pid"}], "maskedPaths": ["/proc/kcore"],
                      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}},
            "windows": {"layerFolders": ["C:\\l"]},
            "vm": {"imagePath": "/i", "hypervisor": {"path": "/h"},
                   "kernel": {"path": "/k"}},
            "solaris": {"milestone": "m"},
            "zos": {"namespaces": [{"type": "pid"}]}
        })
    }

    #[test]
    fn reads_a_config_as_oci_spec_does() {
        let ours = serde_json::to_value(spec(&full()).unwrap()).unwrap();
        let theirs: Spec = serde_json::from_value(full()).unwrap();
        assert_eq!(ours, serde_json::to_value(theirs).unwrap());
        // The kernel's and runtime-spec's name for the flag, which oci-spec spells otherwise.
        let mut c = full();
        c["process"]["scheduler"]["flags"] = json!(["SCHED_FLAG_RESET_ON_FORK"]);
        let flags = serde_json::to_value(spec(&c).unwrap()).unwrap()["process"]["scheduler"]
            ["flags"]
            .clone();
        assert_eq!(flags, json!(["SCHED_RESET_ON_FORK"]));
        // Absent optional fields stay absent, rather than taking the types' defaults.
        let min = json!({"ociVersion": "1.0.0", "process": {"user": {"uid": 0, "gid": 0},
                                                            "cwd": "/"}});
        let ours = serde_json::to_value(spec(&min).unwrap()).unwrap();
        let theirs: Spec = serde_json::from_value(min).unwrap();
        assert_eq!(ours, serde_json::to_value(theirs).unwrap());
        assert_eq!(
            ours,
            json!({"ociVersion": "1.0.0", "process": {
            "user": {"uid": 0, "gid": 0}, "cwd": "/"}})
        );
    }

    #[test]
    fn refuses_what_oci_spec_refuses() {
        let mut bad = Vec::new();
        for (field, value) in [
            ("execCPUAffinity", json!({"initial": "0-3,x"})),
            ("execCPUAffinity", json!({"final": ""})),
            ("execCPUAffinity", json!({"final": "1,"})),
            ("execCPUAffinity", json!({"initial": "1--2"})),
            ("execCPUAffinity", json!({"initial": "-1"})),
            ("user", json!(null)),
            ("cwd", json!(null)),
            ("args", json!("true")),
        ] {
            let mut c = full();
            if value.is_null() {
                c["process"].as_object_mut().unwrap().remove(field);
            } else {
                c["process"][field] = value;
            }
            assert!(serde_json::from_value::<Spec>(c.clone()).is_err(), "{c}");
            bad.push(c);
        }
        for c in bad {
            let e = spec(&c).expect_err("refused").to_string();
            assert!(!e.is_empty());
            assert!(process(&c["process"]).is_err());
        }
        let e = process(&json!({"user": {"uid": 0, "gid": 0}, "cwd": "/",
                                "execCPUAffinity": {"initial": "a"}}))
        .unwrap_err();
        assert!(
            e.to_string().contains("Invalid execCPUAffinity format: a"),
            "{e}"
        );
    }

    #[test]
    fn cpu_lists() {
        for ok in ["0", "0-3", "0-3,7", "1,2,3", "10-20,30-40"] {
            assert!(is_cpu_list(ok), "{ok}");
        }
        for bad in ["", ",", "1,", ",1", "1-", "-1", "1-2-3", "a", "1 ", "١"] {
            assert!(!is_cpu_list(bad), "{bad}");
        }
    }
}
