//! Every rule against a passing config and a violating one. The passing config is
//! `spec --profile sealed` (which every rule of the catalog is in); each case changes it in
//! one way and expects exactly its rule to fire.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;
use crate::policy::{self, Action, Mode, Profile, Scope, Verdict};
use crate::spec::{self, Rootfs};

/// Namespace files named /host/<kind> are the host's; any other path is another container's.
struct FakeHost;

impl Host for FakeHost {
    fn ns_id(&self, path: &Path) -> Option<(u64, u64)> {
        let s = path.to_str()?;
        if s.starts_with("/missing") {
            return None;
        }
        let kind = s.rsplit('/').next()?;
        let base = if s.starts_with("/host/") { 1 } else { 2 };
        Some((base, kind.len() as u64))
    }
    fn own_ns(&self, kind: NsKind) -> Option<(u64, u64)> {
        self.ns_id(&PathBuf::from(format!("/host/{}", kind.proc_name())))
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        let p = clean(path);
        match p.strip_prefix("/var/run") {
            Ok(rest) => Path::new("/run").join(rest),
            Err(_) => p,
        }
    }
}

fn bundle() -> PathBuf {
    PathBuf::from("/nonexistent-bundle")
}

fn planner(v: &Value) -> Result<Plan, spec::SpecError> {
    spec::plan_document(v, &bundle(), Rootfs::MayBeAbsent)
}

/// `decide` in enforce mode, as create runs it.
fn enforce(doc: &mut Value, p: &Profile) -> policy::Decision {
    policy::decide(doc, p, Mode::Enforce, &FakeHost, Scope::Container, &planner).unwrap()
}

fn sealed() -> Profile {
    Profile::builtin("sealed").unwrap()
}

/// A config that passes every rule.
fn passing() -> Value {
    let mut doc = crate::defaults::hardened_spec();
    let left = policy::conform(&mut doc, &sealed(), &FakeHost, &planner).unwrap();
    assert!(left.is_empty(), "sealed spec violates {left:?}");
    doc
}

fn fired(doc: &Value) -> Vec<&'static str> {
    let plan = planner(doc).unwrap_or_else(|e| panic!("plan: {e}\n{doc:#}"));
    policy::evaluate(&plan, &sealed(), &FakeHost, Scope::Container)
        .iter()
        .map(|v| v.rule.id)
        .collect()
}

fn mount(doc: &mut Value, m: Value) {
    doc["mounts"].as_array_mut().unwrap().push(m);
}

fn set_ns(doc: &mut Value, kind: &str, path: Option<&str>) {
    let list = doc["linux"]["namespaces"].as_array_mut().unwrap();
    list.retain(|n| n["type"] != kind);
    if let Some(p) = path {
        list.push(json!({"type": kind, "path": p}));
    }
}

type Case = (&'static str, &'static str, fn(&mut Value));

/// (rule, what the case does, the change). Several cases per rule where it has several ways
/// to be violated.
const CASES: &[Case] = &[
    ("host-pid-namespace", "no pid namespace", |d| {
        set_ns(d, "pid", None)
    }),
    ("host-pid-namespace", "the host's, by path", |d| {
        set_ns(d, "pid", Some("/host/pid"))
    }),
    ("host-pid-namespace", "an unreadable path", |d| {
        set_ns(d, "pid", Some("/missing/pid"))
    }),
    ("host-ipc-namespace", "no ipc namespace", |d| {
        set_ns(d, "ipc", None)
    }),
    ("host-network-namespace", "the host's, by path", |d| {
        set_ns(d, "network", Some("/host/net"))
    }),
    ("net-devices", "a host device moved in, renamed", |d| {
        d["linux"]["netDevices"] = json!({"eth1": {"name": "eth0"}});
    }),
    ("host-uts-namespace", "no uts namespace", |d| {
        set_ns(d, "uts", None);
        d["hostname"] = Value::Null;
    }),
    ("host-cgroup-namespace", "no cgroup namespace", |d| {
        set_ns(d, "cgroup", None)
    }),
    ("user-namespace", "maps to host root", |d| {
        d["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    }),
    ("capabilities", "CAP_SYS_ADMIN", |d| {
        d["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_ADMIN"]);
    }),
    ("seccomp-denies", "allows bpf", |d| {
        d["linux"]["seccomp"]["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"names": ["bpf"], "action": "SCMP_ACT_ALLOW"}));
    }),
    ("masked-paths", "/proc/kcore not masked", |d| {
        d["linux"]["maskedPaths"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p != "/proc/kcore");
    }),
    ("masked-paths", "/proc/sys not read-only", |d| {
        d["linux"]["readonlyPaths"] = json!(["/proc/bus"]);
    }),
    ("sysctls", "kernel.msgmax", |d| {
        d["linux"]["sysctl"] = json!({"kernel.msgmax": "8192"});
    }),
    ("host-mounts", "/etc/shadow", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "bind", "source": "/etc/shadow", "options": ["rbind", "ro", "noexec"]}),
        );
    }),
    ("host-mounts", "/var (ancestor of /var/lib/kubelet)", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "bind", "source": "/var", "options": ["rbind", "ro"]}),
        );
    }),
    ("host-mounts", "the docker socket through /var/run", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "bind", "source": "/var/run/docker.sock", "options": ["bind", "ro"]}),
        );
    }),
    ("host-mounts", "/", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "bind", "source": "/", "options": ["rbind", "ro"]}),
        );
    }),
    ("host-devices", "a disk node", |d| {
        d["linux"]["devices"] = json!([{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}]);
    }),
    ("host-devices", "no device deny-all", |d| {
        d["linux"]["resources"]["devices"] = json!([]);
    }),
    ("host-devices", "allows every device", |d| {
        d["linux"]["resources"]["devices"] = json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "access": "rwm"}
        ]);
    }),
    ("host-devices", "devtmpfs", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "devtmpfs", "source": "devtmpfs", "options": ["ro"]}),
        );
    }),
    ("kernel-filesystems", "a second proc at /p", |d| {
        mount(
            d,
            json!({"destination": "/p", "type": "proc", "source": "proc", "options": ["ro", "noexec"]}),
        );
    }),
    ("kernel-filesystems", "cgroup2 elsewhere", |d| {
        mount(
            d,
            json!({"destination": "/cg", "type": "cgroup2", "source": "cgroup2", "options": ["ro"]}),
        );
    }),
    ("kernel-filesystems", "debugfs", |d| {
        mount(
            d,
            json!({"destination": "/sys/kernel/debug", "type": "debugfs", "source": "debugfs", "options": ["ro"]}),
        );
    }),
    ("kernel-filesystems", "the host's disk", |d| {
        mount(
            d,
            json!({"destination": "/disk", "type": "ext4", "source": "/dev/sda1", "options": ["ro"]}),
        );
    }),
    ("kernel-filesystems", "a remount", |d| {
        mount(
            d,
            json!({"destination": "/", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro"]}),
        );
    }),
    ("hooks", "prestart shell", |d| {
        d["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "id"]}]});
    }),
    ("hooks", "createContainer", |d| {
        d["hooks"] = json!({"createContainer": [{"path": "/bin/true"}]});
    }),
    ("host-mounts", "overlay upperdir on /etc", |d| {
        mount(
            d,
            json!({"destination": "/o", "type": "overlay", "source": "overlay", "options": ["lowerdir=/nonexistent-bundle/l", "upperdir=/etc", "workdir=/nonexistent-bundle/w", "ro"]}),
        );
    }),
    ("host-mounts", "overlay dirs hidden in one option", |d| {
        mount(
            d,
            json!({"destination": "/o", "type": "overlay", "source": "overlay", "options": ["size=1,lowerdir=/usr", "ro"]}),
        );
    }),
    (
        "host-mounts",
        "the compiled seccomp filters every container loads",
        |d| {
            mount(
                d,
                json!({"destination": "/c", "type": "bind", "source": "/run/palisade-cache/seccomp", "options": ["rbind", "ro"]}),
            );
        },
    ),
    ("host-mounts", "Docker's run directory", |d| {
        mount(
            d,
            json!({"destination": "/d", "type": "bind", "source": "/run/docker", "options": ["rbind", "ro"]}),
        );
    }),
    ("host-mounts", "every pod's volumes", |d| {
        mount(
            d,
            json!({"destination": "/p", "type": "bind", "source": "/var/lib/kubelet/pods", "options": ["rbind", "ro"]}),
        );
    }),
    (
        "user-namespace",
        "a writable idmapped bind writing as host root",
        |d| {
            mount(
                d,
                json!({"destination": "/x", "type": "bind", "source": "/nonexistent-bundle/x", "options": ["rbind", "noexec", "idmap"]}),
            );
        },
    ),
    ("host-mounts", "a writable bind of /usr/local", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "bind", "source": "/usr/local", "options": ["rbind", "noexec"]}),
        );
    }),
    ("sys-readonly", "/sys writable", |d| {
        for m in d["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/sys" {
                m["options"] = json!(["nosuid", "noexec", "nodev"]);
            }
        }
    }),
    ("mount-propagation", "rshared mount", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["rshared", "noexec"]}),
        );
    }),
    ("mount-propagation", "shared rootfs", |d| {
        d["linux"]["rootfsPropagation"] = json!("shared");
    }),
    ("lsm-labels", "unconfined AppArmor", |d| {
        d["process"]["apparmorProfile"] = json!("unconfined");
    }),
    ("lsm-labels", "spc_t", |d| {
        d["process"]["selinuxLabel"] = json!("system_u:system_r:spc_t:s0");
    }),
    ("run-as-non-root", "uid 0 mapped to host root", |d| {
        d["process"]["user"]["uid"] = json!(0);
        d["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    }),
    ("no-new-privileges", "false", |d| {
        d["process"]["noNewPrivileges"] = json!(false);
        d["process"]["landlock"] = Value::Null;
    }),
    ("readonly-rootfs", "writable root", |d| {
        d["root"]["readonly"] = json!(false);
    }),
    ("memory-limit", "none", |d| {
        d["linux"]["resources"]["memory"] = Value::Null;
    }),
    ("pids-limit", "none", |d| {
        d["linux"]["resources"]["pids"] = Value::Null;
    }),
    ("pids-limit", "lifted by unified pids.max", |d| {
        d["linux"]["resources"]["unified"] = json!({"pids.max": "max"});
    }),
    ("memory-limit", "lifted by unified memory.max", |d| {
        d["linux"]["resources"]["unified"] = json!({"memory.max": "max"});
    }),
    ("landlock-writes", "no ruleset", |d| {
        d["process"]["landlock"] = Value::Null;
    }),
    ("landlock-writes", "writes granted on /etc", |d| {
        d["process"]["landlock"]["rules"]["pathBeneath"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allowedAccess": ["write_file"], "paths": ["/etc"]}));
    }),
    ("landlock-network", "no network rights", |d| {
        d["process"]["landlock"]["handledAccess"]["handledAccessNetwork"] = json!([]);
    }),
    ("host-keyrings", "no user namespace, keyctl allowed", |d| {
        set_ns(d, "user", None);
        d["linux"]["uidMappings"] = Value::Null;
        d["linux"]["gidMappings"] = Value::Null;
        d["linux"]["seccomp"]["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"names": ["keyctl"], "action": "SCMP_ACT_ALLOW"}));
    }),
    (
        "host-keyrings",
        "the host's user namespace, keyctl logged",
        |d| {
            set_ns(d, "user", Some("/host/user"));
            d["linux"]["seccomp"]["syscalls"]
                .as_array_mut()
                .unwrap()
                .push(json!({"names": ["add_key"], "action": "SCMP_ACT_LOG"}));
        },
    ),
    ("host-keyrings", "no user namespace, no filter", |d| {
        set_ns(d, "user", None);
        d["linux"]["uidMappings"] = Value::Null;
        d["linux"]["gidMappings"] = Value::Null;
        d["linux"]["seccomp"] = Value::Null;
    }),
    (
        "idmapped-mounts",
        "on-disk 0 owned by container uid 1000",
        |d| {
            mount(
                d,
                json!({"destination": "/x", "type": "bind", "source": "/nonexistent-bundle/x", "options": ["rbind", "ro", "idmap"],
                   "uidMappings": [{"containerID": 0, "hostID": 101000, "size": 1}],
                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}),
            );
        },
    ),
    (
        "idmapped-mounts",
        "mapped like the user namespace, root writing",
        |d| {
            d["process"]["user"]["uid"] = json!(0);
            mount(
                d,
                json!({"destination": "/x", "type": "bind", "source": "/nonexistent-bundle/x", "options": ["rbind", "noexec", "idmap"],
                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}),
            );
        },
    ),
    ("seccomp-flags", "SPEC_ALLOW", |d| {
        d["linux"]["seccomp"]["flags"] = json!(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    }),
    ("runtime-sockets", "a listener at the Docker socket", |d| {
        d["linux"]["seccomp"]["listenerPath"] = json!("/run/docker.sock");
        d["linux"]["seccomp"]["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}));
    }),
    ("scheduling", "RLIMIT_RTPRIO 99", |d| {
        d["process"]["rlimits"] = json!([{"type": "RLIMIT_RTPRIO", "soft": 0, "hard": 99}]);
    }),
    ("scheduling", "RLIMIT_NICE 40", |d| {
        d["process"]["rlimits"] = json!([{"type": "RLIMIT_NICE", "soft": 40, "hard": 40}]);
    }),
    ("scheduling", "SCHED_FIFO", |d| {
        d["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 99});
    }),
    ("scheduling", "nice -20", |d| {
        d["process"]["scheduler"] = json!({"policy": "SCHED_OTHER", "nice": -20});
    }),
    ("scheduling", "real-time I/O", |d| {
        d["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_RT", "priority": 0});
    }),
    ("scheduling", "unified io.prio.class", |d| {
        d["linux"]["resources"]["unified"] = json!({"io.prio.class": "promote-to-rt"});
    }),
    ("scheduling", "unified io.prio.class ended by a NUL", |d| {
        d["linux"]["resources"]["unified"] = json!({"io.prio.class": "promote-to-rt\u{0}"});
    }),
    ("scheduling", "a negative cpu.weight.nice", |d| {
        d["linux"]["resources"]["unified"] = json!({"cpu.weight.nice": "-20"});
    }),
    ("scheduling", "an isolated cpuset partition", |d| {
        d["linux"]["resources"]["unified"] = json!({"cpuset.cpus.partition": "isolated"});
    }),
    ("scheduling", "a real-time budget", |d| {
        d["linux"]["resources"]["cpu"] =
            json!({"realtimeRuntime": 950000, "realtimePeriod": 1000000});
    }),
    ("oom-score-adj", "-1000", |d| {
        d["process"]["oomScoreAdj"] = json!(-1000);
    }),
    ("memory-limit", "above the host's memory", |d| {
        d["linux"]["resources"]["memory"]["limit"] = json!(i64::MAX / 2);
    }),
    ("pids-limit", "above pid_max", |d| {
        d["linux"]["resources"]["pids"]["limit"] = json!(i64::MAX / 2);
    }),
    ("host-devices", "the host's console", |d| {
        d["linux"]["devices"] = json!([{"path": "/dev/hostconsole", "type": "c", "major": 5, "minor": 1, "fileMode": 438}]);
    }),
    ("host-devices", "a serial line", |d| {
        d["linux"]["devices"] =
            json!([{"path": "/dev/ttyS0", "type": "c", "major": 4, "minor": 64}]);
    }),
    (
        "host-devices",
        "a pty in a user namespace (the host's, bound)",
        |d| {
            d["linux"]["devices"] =
                json!([{"path": "/dev/pts/0", "type": "c", "major": 136, "minor": 0}]);
        },
    ),
    ("hooks", "an allowed shell with BASH_ENV", |d| {
        d["hooks"] =
            json!({"prestart": [{"path": "/usr/bin/allowed-hook", "env": ["BASH_ENV=/tmp/x"]}]});
    }),
    (
        "hooks",
        "an allowed program with PATH into the bundle",
        |d| {
            d["hooks"] = json!({"prestart": [{"path": "/usr/bin/allowed-hook", "env": ["PATH=/nonexistent-bundle/bin:/usr/bin"]}]});
        },
    ),
    ("hooks", "an allowed program with GLIBC_TUNABLES", |d| {
        d["hooks"] = json!({"prestart": [{"path": "/usr/bin/allowed-hook", "env": ["GLIBC_TUNABLES=glibc.malloc.check=3"]}]});
    }),
    ("noexec-writable", "exec tmpfs", |d| {
        mount(
            d,
            json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}),
        );
    }),
];

#[test]
fn the_passing_config_passes_every_rule() {
    assert_eq!(fired(&passing()), Vec::<&str>::new());
    assert_eq!(
        sealed().rules.len(),
        RULES.len() - LEARNED_ONLY.len(),
        "sealed holds every rule but those of learned profiles"
    );
}

/// Rules only a learned profile carries: their parameters come from a recording.
const LEARNED_ONLY: &[&str] = &["seccomp-learned", "landlock-learned"];

/// A learned profile over `unconfined`: a filter of three calls, writes in /tmp, TCP 8080.
fn learned_profile() -> (Profile, Value) {
    let filter = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["execve", "read", "write"], "action": "SCMP_ACT_ALLOW"},
                     {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x1200011, "op": "SCMP_CMP_EQ"}]}]});
    let mut t = toml::Table::new();
    t.insert("filter".into(), toml::Value::try_from(&filter).unwrap());
    let text = format!(
        "name = \"l\"\nextends = \"unconfined\"\n[rules.no-new-privileges]\naction = \"harden\"\n\
         [rules.landlock-learned]\naction = \"harden\"\nwrite_dirs = [\"/tmp\"]\nwrite_files = [\"/dev/null\"]\n\
         bind_tcp = [8080]\nconnect_tcp = [8080]\n[rules.seccomp-learned]\naction = \"harden\"\n{}",
        toml::to_string(&toml::Table::from_iter([(
            "rules".to_owned(),
            toml::Value::Table(toml::Table::from_iter([(
                "seccomp-learned".to_owned(),
                toml::Value::Table(t)
            )]))
        )]))
        .unwrap()
    );
    let p = crate::policy::profile::parse(&text, "l", None, 0)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    (p, filter)
}

fn learned_fired(doc: &Value, p: &Profile) -> Vec<String> {
    let plan = planner(doc).unwrap_or_else(|e| panic!("plan: {e}\n{doc:#}"));
    policy::evaluate(&plan, p, &FakeHost, Scope::Container)
        .iter()
        .flat_map(|v| v.details.iter().map(move |d| format!("{}: {d}", v.rule.id)))
        .collect()
}

#[test]
fn learned_rules_hold_a_config_to_the_recording() {
    let (p, filter) = learned_profile();
    let mut doc = passing();
    doc["linux"]["seccomp"] = filter.clone();
    doc["process"]["landlock"] = json!({
        "handledAccess": {"handledAccessFS": ["write_file", "remove_dir", "remove_file", "make_char",
            "make_dir", "make_reg", "make_sock", "make_fifo", "make_block", "make_sym", "refer", "truncate"],
            "handledAccessNetwork": ["bind_tcp", "connect_tcp"]},
        "rules": {"pathBeneath": [
            {"allowedAccess": ["write_file", "make_reg"], "paths": ["/tmp"]},
            {"allowedAccess": ["write_file"], "paths": ["/dev/null"]}],
            "networkPort": [{"allowedAccess": ["bind_tcp", "connect_tcp"], "ports": [8080]}]}
    });
    assert_eq!(learned_fired(&doc, &p), Vec::<String>::new());
    let fires = |edit: &dyn Fn(&mut Value), want: &str| {
        let mut d = doc.clone();
        edit(&mut d);
        let got = learned_fired(&d, &p);
        assert!(got.iter().any(|g| g.contains(want)), "{want}: {got:?}");
    };
    fires(
        &|d| {
            d["linux"]["seccomp"]["syscalls"][0]["names"]
                .as_array_mut()
                .unwrap()
                .push("unshare".into())
        },
        "also lets through unshare",
    );
    fires(
        &|d| {
            d["linux"]["seccomp"]["syscalls"][1]["args"][0]["value"] =
                json!(0x1200011 | libc::CLONE_NEWUSER)
        },
        "not the learned filter",
    );
    fires(
        &|d| {
            d["linux"].as_object_mut().unwrap().remove("seccomp");
        },
        "absent",
    );
    fires(
        &|d| d["process"]["landlock"]["rules"]["pathBeneath"][0]["paths"] = json!(["/"]),
        "grants writes at /",
    );
    fires(
        &|d| d["process"]["landlock"]["rules"]["pathBeneath"][0]["paths"] = json!(["/tmp/../etc"]),
        "/tmp/../etc",
    );
    // A write right on a file that is not a recorded file, and a directory right on one.
    fires(
        &|d| d["process"]["landlock"]["rules"]["pathBeneath"][1]["paths"] = json!(["/etc/passwd"]),
        "/etc/passwd",
    );
    fires(
        &|d| {
            d["process"]["landlock"]["rules"]["pathBeneath"][1]["allowedAccess"] =
                json!(["make_reg"])
        },
        "/dev/null",
    );
    fires(
        &|d| d["process"]["landlock"]["rules"]["networkPort"][0]["ports"] = json!([8080, 22]),
        "port 22",
    );
    fires(
        &|d| {
            d["process"]["landlock"]["handledAccess"]["handledAccessNetwork"] = json!(["bind_tcp"]);
            d["process"]["landlock"]["rules"]["networkPort"][0]["allowedAccess"] =
                json!(["bind_tcp"]);
        },
        "bind_tcp and connect_tcp",
    );
    fires(
        &|d| d["process"]["landlock"]["enableBestEffort"] = json!(true),
        "best effort",
    );
    fires(
        &|d| {
            d["process"].as_object_mut().unwrap().remove("landlock");
        },
        "no Landlock ruleset",
    );
}

#[test]
fn learned_rules_harden_only_where_nothing_is_loosened() {
    let (p, filter) = learned_profile();
    // palisade's default filter lets run every call the learned one allows: replaced; no
    // ruleset: the learned one is added.
    let mut doc = passing();
    doc["process"].as_object_mut().unwrap().remove("landlock");
    doc["linux"]["seccomp"] = serde_json::from_str(DEFAULT_SECCOMP).unwrap();
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Hardened, "{}", d.refusal());
    assert_eq!(
        serde_json::to_value(d.plan.seccomp.as_ref().unwrap()).unwrap()["syscalls"],
        filter["syscalls"]
    );
    let l = d.plan.landlock.as_ref().unwrap();
    assert_eq!(l.rules.network_port.len(), 2);
    // A filter that allows read only from fd 0: the learned "read" would loosen it.
    let mut doc = passing();
    doc["process"].as_object_mut().unwrap().remove("landlock");
    doc["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["execve", "write", "clone"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]});
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Refused);
    assert!(d.refusal().contains("[seccomp-learned]"), "{}", d.refusal());
    // A ruleset that confines reads too is not replaced by one that does not.
    let mut doc = passing();
    doc["process"]["landlock"] = json!({"handledAccess": {"handledAccessFS": ["read_file", "write_file"]},
        "rules": {"pathBeneath": [{"allowedAccess": ["read_file", "write_file"], "paths": ["/"]}]}});
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Refused);
    assert!(
        d.refusal().contains("[landlock-learned]"),
        "{}",
        d.refusal()
    );
}

#[test]
fn each_case_violates_its_rule() {
    for (rule, what, change) in CASES {
        let mut doc = passing();
        change(&mut doc);
        let got = fired(&doc);
        assert!(
            got.contains(rule),
            "{rule} ({what}) did not fire; fired: {got:?}"
        );
    }
}

#[test]
fn every_rule_has_a_violating_case() {
    let seccomp = ["seccomp-enabled", "seccomp-default-deny"];
    for r in RULES {
        // Those of learned profiles have theirs in learned_rules_hold_a_config_to_the_recording.
        if seccomp.contains(&r.id) || LEARNED_ONLY.contains(&r.id) {
            continue;
        }
        assert!(
            CASES.iter().any(|(id, _, _)| *id == r.id),
            "rule {} has no case",
            r.id
        );
    }
}

#[test]
fn seccomp_rules() {
    let mut doc = passing();
    doc["linux"]["seccomp"] = Value::Null;
    let got = fired(&doc);
    for id in ["seccomp-enabled", "seccomp-default-deny", "seccomp-denies"] {
        assert!(got.contains(&id), "{id} with no filter: {got:?}");
    }
    doc["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let got = fired(&doc);
    assert!(got.contains(&"seccomp-enabled") && got.contains(&"seccomp-default-deny"));
    // A deny-list filter that denies what every default filter denies is enabled
    // (baseline) but not default-deny (restricted).
    let list = find("seccomp-enabled").unwrap().default_params()["syscalls"].clone();
    doc["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": list, "action": "SCMP_ACT_ERRNO"}]});
    let got = fired(&doc);
    assert!(!got.contains(&"seccomp-enabled") && got.contains(&"seccomp-default-deny"));
    // One errno rule for a name the kernel does not have is an allow-everything filter.
    doc["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]});
    assert!(fired(&doc).contains(&"seccomp-enabled"));
}

#[test]
fn joining_another_containers_namespace_is_fine() {
    let mut doc = passing();
    set_ns(&mut doc, "network", Some("/proc/1234/ns/net"));
    set_ns(&mut doc, "ipc", Some("/proc/1234/ns/ipc"));
    assert_eq!(fired(&doc), Vec::<&str>::new());
}

#[test]
fn per_container_files_under_runtime_roots_are_fine() {
    let mut doc = passing();
    // Under baseline: restricted and sealed take binds only from allowed roots.
    mount(
        &mut doc,
        json!({"destination": "/etc/hosts", "type": "bind", "source": "/var/lib/kubelet/pods/p/etc-hosts", "options": ["rbind", "ro"]}),
    );
    mount(
        &mut doc,
        json!({"destination": "/dev/shm", "type": "bind", "source": "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/s/shm", "options": ["rbind", "ro"]}),
    );
    let plan = planner(&doc).unwrap();
    let baseline = Profile::builtin("baseline").unwrap();
    assert!(policy::evaluate(&plan, &baseline, &FakeHost, Scope::Container).is_empty());
    let v = policy::evaluate(&plan, &sealed(), &FakeHost, Scope::Container);
    assert!(v.iter().any(|v| v.rule.id == "host-mounts"), "{v:?}");
    // An operator's profile allows the kubelet's pods and the CRI's sandboxes.
    let text = "name = \"pods\"\nextends = \"sealed\"\n[rules.host-mounts]\nallow = [\"/var/lib/kubelet/pods\", \"/run/containerd/io.containerd.grpc.v1.cri/sandboxes\"]\n";
    let pods = crate::policy::profile::parse(text, "test", None, 0).unwrap();
    assert!(policy::evaluate(&plan, &pods, &FakeHost, Scope::Container).is_empty());

    // Docker's and podman's per-container files under their default data roots, and a
    // pod's emptyDir, writable as the managers bind them.
    let mut doc = passing();
    for src in [
        "/var/lib/docker/containers/c1/hosts",
        "/var/lib/docker/containers/c1/mounts/shm",
        "/var/lib/docker/volumes/data/_data",
        "/var/lib/containers/storage/overlay-containers/c1/userdata/resolv.conf",
        "/var/lib/kubelet/pods/p/volumes/kubernetes.io~empty-dir/cache",
    ] {
        mount(
            &mut doc,
            json!({"destination": "/m", "type": "bind", "source": src, "options": ["rbind", "rprivate"]}),
        );
    }
    let plan = planner(&doc).unwrap();
    let baseline = Profile::builtin("baseline").unwrap();
    let v = policy::evaluate(&plan, &baseline, &FakeHost, Scope::Container);
    assert!(v.is_empty(), "{v:?}");
    // What lies beside them is not a container's own: the image store, every pod, the
    // kubelet's configuration.
    for src in [
        "/var/lib/docker/overlay2",
        "/var/lib/kubelet/pods",
        "/var/lib/kubelet/pods/p",
        "/var/lib/kubelet/config.yaml",
        "/var/lib/docker",
        "/var/lib/docker/volumes/data",
        "/var/lib/docker/containers/c2",
        "/var/lib/docker/vfs",
        "/var/lib/rancher/k3s",
        "/run/k3s/containerd/containerd.sock",
    ] {
        let mut d = passing();
        mount(
            &mut d,
            json!({"destination": "/m", "type": "bind", "source": src, "options": ["rbind", "ro"]}),
        );
        let plan = planner(&d).unwrap();
        let v = policy::evaluate(&plan, &baseline, &FakeHost, Scope::Container);
        assert!(v.iter().any(|v| v.rule.id == "host-mounts"), "{src}: {v:?}");
    }
    // Files of the bundle itself are the container's own.
    let mut doc = passing();
    mount(
        &mut doc,
        json!({"destination": "/etc/hosts", "type": "bind", "source": "hosts", "options": ["rbind", "ro"]}),
    );
    assert_eq!(fired(&doc), Vec::<&str>::new());
}

/// Users' start-up files and keys: a writable bind of a home directory or of a dot-file
/// in one is refused under baseline; a project directory in a home is not.
#[test]
fn home_directories_by_what_they_hold() {
    let baseline = Profile::builtin("baseline").unwrap();
    let hit = |src: &str, opts: Value| {
        let mut d = passing();
        mount(
            &mut d,
            json!({"destination": "/m", "type": "bind", "source": src, "options": opts}),
        );
        let plan = planner(&d).unwrap();
        policy::evaluate(&plan, &baseline, &FakeHost, Scope::Container)
            .iter()
            .any(|v| v.rule.id == "host-mounts")
    };
    assert!(hit("/home", json!(["rbind"])));
    assert!(hit("/home/admin", json!(["rbind"])));
    assert!(hit("/home/admin/.ssh", json!(["rbind"])));
    assert!(hit("/home/admin/src/.git/hooks", json!(["rbind"])));
    assert!(!hit("/home/admin/src", json!(["bind"])));
    assert!(!hit("/home/admin", json!(["rbind", "rro"])));
}

/// root.path in what the lists protect or in the runtime's own files is refused; in an
/// engine's image store it is what Docker and podman pass.
#[test]
fn root_filesystems_by_place() {
    let baseline = Profile::builtin("baseline").unwrap();
    let hit_in = |root: &str, bundle: &str| {
        let mut d = passing();
        d["root"]["path"] = json!(root);
        let plan = spec::plan_document(&d, Path::new(bundle), Rootfs::MayBeAbsent).unwrap();
        policy::evaluate(&plan, &baseline, &FakeHost, Scope::Container)
            .iter()
            .any(|v| v.rule.id == "host-mounts")
    };
    let hit = |root: &str| hit_in(root, "/nonexistent-bundle");
    for bad in [
        "/",
        "/usr/lib",
        "/run/k3s/containerd",
        "/run/palisade-cache/seccomp",
        "/run/containerd/runc/k8s.io",
        "/home/admin/bundle/rootfs",
        "/etc/ssh",
        // Host directories the container would get whole: a daemon's sockets, a user's
        // runtime directory, another container's root, an image layer shared by every
        // container of its image.
        "/run/postgresql",
        "/run/user/1000",
        "/run/containerd/io.containerd.runtime.v2.task/k8s.io/other/rootfs",
        "/var/lib/docker/overlay2/abc/diff",
        "/var/lib/docker/overlay2/l",
        "/var/lib/docker/overlay2",
    ] {
        assert!(hit(bad), "{bad} passed");
    }
    for good in [
        "/var/lib/docker/overlay2/abc/merged",
        "/var/lib/containers/storage/overlay/abc/merged",
        "/nonexistent-bundle/rootfs",
        "rootfs",
    ] {
        assert!(!hit(good), "{good} refused");
    }
    // The bundle's own, wherever the manager keeps bundles.
    for (root, bundle) in [
        (
            "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
            "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc",
        ),
        ("/srv/bundle/rootfs", "/srv/bundle"),
    ] {
        assert!(!hit_in(root, bundle), "{root} refused");
    }
    // A bundle that holds what the lists protect does not make its root the container's.
    assert!(hit_in("/etc/x", "/"));
    // Nowhere else on the host (PSS: no hostPath), under baseline as under restricted.
    let restricted = Profile::builtin("restricted").unwrap();
    let strict = |root: &str| {
        let mut d = passing();
        d["root"]["path"] = json!(root);
        let plan = planner(&d).unwrap();
        policy::evaluate(&plan, &restricted, &FakeHost, Scope::Container)
            .iter()
            .any(|v| v.rule.id == "host-mounts")
    };
    for bad in ["/srv/hostapp", "/tmp/x", "/nonexistent-bundle/../srv"] {
        assert!(hit(bad), "{bad} passed baseline");
        assert!(strict(bad), "{bad} passed restricted");
    }
    // The operator's places (config.toml rootfs_stores), as select joins them.
    let mut roots = Profile::builtin("baseline").unwrap();
    roots.allow_rootfs_stores(&["/srv/containers/*/root".to_owned()]);
    let place = |root: &str| {
        let mut d = passing();
        d["root"]["path"] = json!(root);
        let plan = planner(&d).unwrap();
        policy::evaluate(&plan, &roots, &FakeHost, Scope::Container)
            .iter()
            .any(|v| v.rule.id == "host-mounts")
    };
    assert!(!place("/srv/containers/c1/root"));
    assert!(place("/srv/containers/c1/other"));
    for good in ["/var/lib/docker/overlay2/abc/merged", "rootfs"] {
        assert!(!strict(good), "{good} refused by restricted");
    }
    // An operator's root.
    let text =
        "name = \"roots\"\nextends = \"restricted\"\n[rules.host-mounts]\nallow = [\"/srv/apps\"]\n";
    let roots = crate::policy::profile::parse(text, "test", None, 0).unwrap();
    let mut d = passing();
    d["root"]["path"] = json!("/srv/apps/one");
    let plan = planner(&d).unwrap();
    let v = policy::evaluate(&plan, &roots, &FakeHost, Scope::Container);
    assert!(!v.iter().any(|v| v.rule.id == "host-mounts"), "{v:?}");
}

#[test]
fn the_allow_parameter_lets_a_path_through() {
    let mut doc = passing();
    mount(
        &mut doc,
        json!({"destination": "/x", "type": "bind", "source": "/etc/ssl/certs", "options": ["rbind", "ro"]}),
    );
    let p = Profile::builtin("baseline").unwrap();
    let plan = planner(&doc).unwrap();
    let hit = |p: &Profile| {
        policy::evaluate(&plan, p, &FakeHost, Scope::Container)
            .iter()
            .any(|v| v.rule.id == "host-mounts")
    };
    assert!(hit(&p));
    let text = "name = \"certs\"\nextends = \"baseline\"\n[rules.host-mounts]\nallow = [\"/etc/ssl/certs\"]\n";
    let custom = crate::policy::profile::parse(text, "test", None, 0).unwrap();
    assert!(!hit(&custom));
}

#[test]
fn baseline_hardens_what_it_can_and_refuses_the_rest() {
    let mut doc = crate::defaults::hardened_spec();
    doc["process"]["capabilities"]["bounding"] = json!(["CAP_NET_RAW", "CAP_KILL"]);
    doc["linux"]["resources"] = json!({});
    for m in doc["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/sys" {
            m["options"] = json!(["nosuid"]);
        }
    }
    let p = Profile::builtin("baseline").unwrap();
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Hardened, "{:?}", d.remaining);
    let ids: Vec<_> = d.violations.iter().map(|v| v.rule.id).collect();
    assert_eq!(
        ids,
        [
            "capabilities",
            "seccomp-enabled",
            "host-keyrings",
            "host-devices",
            "sys-readonly"
        ]
    );
    assert_eq!(d.hardened.len(), 4, "{:?}", d.hardened);
    assert!(d.plan.seccomp.is_some());
    assert!(d
        .plan
        .mounts
        .iter()
        .any(|m| m.destination == Path::new("/sys") && m.is_readonly()));
    assert_eq!(d.plan.device_rules_given, 1);
    // Hardened once, nothing is left to harden.
    let again = enforce(&mut doc, &p);
    assert_eq!(again.verdict, Verdict::Allowed);

    let mut bad = crate::defaults::hardened_spec();
    set_ns(&mut bad, "pid", None);
    bad["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_ADMIN"]);
    let d = enforce(&mut bad, &p);
    assert_eq!(d.verdict, Verdict::Refused);
    let left: Vec<_> = d.remaining.iter().map(|v| v.rule.id).collect();
    assert_eq!(left, ["host-pid-namespace"]);
    assert!(d.refusal().contains("[host-pid-namespace]"));
}

#[test]
fn warn_and_audit_change_nothing() {
    let p = Profile::builtin("baseline").unwrap();
    for mode in [Mode::Warn, Mode::Audit] {
        let mut doc = crate::defaults::hardened_spec();
        set_ns(&mut doc, "pid", None);
        let before = doc.clone();
        let d = policy::decide(&mut doc, &p, mode, &FakeHost, Scope::Container, &planner).unwrap();
        assert_eq!(d.verdict, Verdict::Allowed);
        assert!(!d.violations.is_empty());
        assert_eq!(doc, before);
    }
}

#[test]
fn a_config_with_its_own_filter_is_not_replaced() {
    let mut doc = crate::defaults::hardened_spec();
    doc["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let p = Profile::builtin("baseline").unwrap();
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Refused);
    assert_eq!(doc["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
}

#[test]
fn landlock_hardening_confines_writes_to_writable_mounts() {
    let mut doc = crate::defaults::hardened_spec();
    doc["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    doc["linux"]["resources"]["memory"] = json!({"limit": 1 << 28});
    doc["linux"]["resources"]["pids"] = json!({"limit": 100});
    let p = Profile::builtin("restricted").unwrap();
    let d = enforce(&mut doc, &p);
    assert_eq!(d.verdict, Verdict::Hardened, "{:?}", d.remaining);
    let l = d.plan.landlock.as_ref().expect("landlock added");
    let paths: Vec<_> = l.rules.path_beneath[0]
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        paths.contains(&"/tmp".to_string()) && !paths.contains(&"/".to_string()),
        "{paths:?}"
    );
    assert!(!paths.contains(&"/sys".to_string()));
}

/// exec is judged on the process rules alone (it joins the container's namespaces), with
/// the actions create has: hardened where the profile hardens, refused where it refuses.
#[test]
fn exec_hardens_and_refuses_like_create_on_process_rules_only() {
    let exec_doc = |uid: u32| {
        let mut doc = passing();
        let p = &mut doc["process"];
        p["capabilities"]["bounding"]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_ADMIN".into());
        p["noNewPrivileges"] = false.into();
        p["user"]["uid"] = uid.into();
        p.as_object_mut().unwrap().remove("landlock");
        let l = doc["linux"].as_object_mut().unwrap();
        l.remove("uidMappings");
        l.remove("gidMappings");
        l["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "user" && n["type"] != "network");
        doc
    };
    let decide = |doc: &mut Value| {
        let p = Profile::builtin("restricted").unwrap();
        policy::decide(doc, &p, Mode::Enforce, &FakeHost, Scope::Process, &planner).unwrap()
    };

    let mut doc = exec_doc(1000);
    let d = decide(&mut doc);
    assert_eq!(d.verdict, Verdict::Hardened, "{:?}", d.remaining);
    let hardened: Vec<_> = d
        .hardened
        .iter()
        .map(|h| h.split(']').next().unwrap())
        .collect();
    assert_eq!(hardened, ["[capabilities", "[no-new-privileges"]);
    assert!(d.plan.process.no_new_privileges);
    assert!(!d
        .plan
        .process
        .caps
        .bounding
        .contains(&caps::Capability::CAP_SYS_ADMIN));

    let mut doc = exec_doc(0);
    let d = decide(&mut doc);
    let ids: Vec<_> = d.remaining.iter().map(|v| v.rule.id).collect();
    assert_eq!(ids, ["run-as-non-root"]);
    assert_eq!(d.verdict, Verdict::Refused);
}

#[test]
fn catalog_is_consistent() {
    let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len(), "duplicate rule id");
    for r in RULES {
        let _ = r.default_params();
        assert!(
            !r.references.is_empty() && !r.fix.is_empty() && !r.why.is_empty(),
            "{}",
            r.id
        );
    }
    let f = default_seccomp();
    assert_eq!(f["defaultAction"], "SCMP_ACT_ERRNO");
    let filter: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(f).unwrap();
    let compiled = crate::isolate::seccomp::compile(&filter).unwrap();
    assert!(compiled.rules > 300, "{} rules", compiled.rules);
}

#[test]
fn every_profile_file_loads_and_extends_in_order() {
    for (name, _) in crate::policy::profile::BUILTIN {
        let p = Profile::builtin(name).unwrap();
        assert_eq!(&p.name, name);
    }
    let r = Profile::builtin("restricted").unwrap();
    assert_eq!(r.ancestors, ["baseline"]);
    assert_eq!(
        r.rule("capabilities").unwrap().params["allowed"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let s = sealed();
    assert_eq!(s.ancestors, ["restricted", "baseline"]);
    assert_eq!(s.rule("capabilities").unwrap().action, Action::Refuse);
    assert!(Profile::builtin("unconfined").unwrap().rules.is_empty());
}

#[test]
fn profile_files_are_checked() {
    let parse = |t: &str| crate::policy::profile::parse(t, "test", None, 0);
    assert!(parse("name = \"x\"\n[rules.no-such-rule]\naction = \"refuse\"").is_err());
    assert!(parse("name = \"x\"\n[rules.capabilities]\nallowd = []").is_err());
    assert!(parse("name = \"x\"\n[rules.capabilities]\nallowed = \"CAP_KILL\"").is_err());
    assert!(parse("name = \"x\"\n[rules.readonly-rootfs]\naction = \"harden\"").is_err());
    assert!(parse("name = \"x\"\nextends = \"nope\"").is_err());
    assert!(parse("name = \"x\"\nmode = \"lax\"").is_err());
    assert!(parse("nom = \"x\"").is_err());
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.toml"), "name = \"a\"\nextends = \"b\"\n").unwrap();
    std::fs::write(d.path().join("b.toml"), "name = \"b\"\nextends = \"a\"\n").unwrap();
    let e = Profile::load("a", Some(d.path())).unwrap_err().to_string();
    assert!(e.contains("deep") || e.contains("itself"), "{e}");
    std::fs::write(
        d.path().join("c.toml"),
        "name = \"c\"\nextends = \"restricted\"\nmode = \"warn\"\n",
    )
    .unwrap();
    let c = Profile::load("c", Some(d.path())).unwrap();
    assert_eq!((c.mode, c.ancestors.len()), (Mode::Warn, 2));
    std::fs::write(d.path().join("baseline.toml"), "name = \"baseline\"\n").unwrap();
    let e = Profile::load("baseline", Some(d.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("name of its own"), "{e}");
}

#[test]
fn the_reference_page_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/RULES.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == crate::policy::report::reference(),
        "profiles/RULES.md is stale: run `palisade profile reference > profiles/RULES.md`"
    );
}

#[test]
fn sarif_points_at_the_field() {
    let mut doc = crate::defaults::hardened_spec();
    set_ns(&mut doc, "pid", None);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let p = Profile::builtin("baseline").unwrap();
    let d = enforce(&mut doc, &p);
    let s = crate::policy::report::sarif(&d, "config.json", &text);
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    let pid = results
        .iter()
        .find(|r| r["ruleId"] == "host-pid-namespace")
        .unwrap();
    let line = pid["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap();
    assert!(text
        .lines()
        .nth(line as usize - 1)
        .unwrap()
        .contains("\"namespaces\""));
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        "host-pid-namespace"
    );
}

/// The fuzz target's body on stable: seeds and byte-level mutations of them must never
/// panic (scripts/fuzz.sh runs the coverage-guided fuzzer on the same function).
#[test]
fn fuzz_body_survives_mutated_configs() {
    let mut seeds: Vec<Vec<u8>> = vec![passing().to_string().into_bytes()];
    seeds.push(crate::defaults::hardened_spec().to_string().into_bytes());
    for (_, text) in crate::policy::profile::BUILTIN {
        seeds.push(text.as_bytes().to_vec());
    }
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for seed in &seeds {
        crate::policy::fuzz_one(seed);
        for _ in 0..40 {
            let mut m = seed.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[i] = next() as u8,
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, b"{}[]\",:0-"[(next() % 9) as usize]),
                }
            }
            crate::policy::fuzz_one(&m);
        }
    }
}

/// Structural mutations: any node of a passing config replaced by a value of another kind.
#[test]
fn fuzz_body_survives_retyped_nodes() {
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let base = passing();
    let mut all = vec![];
    pointers(&base, String::new(), &mut all);
    let values = [
        json!(null),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(""),
        json!("/"),
        json!("../.."),
        json!([]),
        json!({}),
        json!(true),
    ];
    // Every third node keeps the test quick; the values rotate, so each kind is tried.
    for (i, p) in all
        .iter()
        .enumerate()
        .filter(|(i, p)| !p.is_empty() && i % 3 == 0)
    {
        let mut doc = base.clone();
        *doc.pointer_mut(p).unwrap() = values[i % values.len()].clone();
        crate::policy::fuzz_one(doc.to_string().as_bytes());
    }
}

#[test]
fn a_refusal_line_stays_readable() {
    let mut doc = passing();
    let devices: Vec<Value> = (0..40)
        .map(|i| json!({"path": format!("/dev/tty{i}"), "type": "c", "major": 4, "minor": i}))
        .collect();
    doc["linux"]["devices"] = json!(devices);
    let plan = planner(&doc).unwrap();
    let v = policy::evaluate(&plan, &sealed(), &FakeHost, Scope::Container);
    let dev = v.iter().find(|v| v.rule.id == "host-devices").unwrap();
    assert_eq!(dev.details.len(), 40);
    let line = dev.line();
    assert!(
        line.contains("/dev/tty4 ") && !line.contains("/dev/tty5 "),
        "{line}"
    );
    assert!(line.contains("and 35 more"), "{line}");
}

/// The byte comparison answers as `Path::starts_with` does, on plain paths and odd ones.
#[test]
fn beneath_agrees_with_path_starts_with() {
    let paths = [
        "/",
        "/a",
        "/a/",
        "/ab",
        "/a/b",
        "/a/b/",
        "/a//b",
        "/a/./b",
        "/a/.",
        "/a/..",
        "/a/../b",
        "a",
        "a/b",
        "",
        "/.",
        "//",
        "/var/run/docker.sock",
        "/var/run",
        "/var/runner",
        "/b",
        "/b/a",
        "/e",
        "/etc",
        "/etc/x",
    ];
    for p in paths {
        for d in paths {
            assert_eq!(
                beneath(Path::new(p), Path::new(d)),
                Path::new(p).starts_with(d),
                "beneath({p:?}, {d:?})"
            );
        }
    }
}

/// The rules a profile fires on `doc`, with their details.
fn fired_by(doc: &Value, p: &Profile) -> Vec<(&'static str, Vec<String>)> {
    let plan = planner(doc).unwrap_or_else(|e| panic!("plan: {e}\n{doc:#}"));
    policy::evaluate(&plan, p, &FakeHost, Scope::Container)
        .into_iter()
        .map(|v| (v.rule.id, v.details))
        .collect()
}

fn fires(doc: &Value, p: &Profile, id: &str) -> bool {
    fired_by(doc, p).iter().any(|(r, _)| *r == id)
}

/// A hook the operator allows still gets no environment that chooses code: an allowlist.
#[test]
fn hook_environment_is_an_allowlist() {
    let mut p = Profile::builtin("restricted").unwrap();
    p.allow_hooks(&["/usr/bin/allowed-hook".to_owned()]);
    let with_env = |env: &[&str]| {
        let mut d = passing();
        d["hooks"] = json!({"prestart": [{"path": "/usr/bin/allowed-hook", "env": env}]});
        fires(&d, &p, "hooks")
    };
    assert!(!with_env(&[]));
    assert!(!with_env(&[
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
        "LANG=C.UTF-8",
        "LC_ALL=C"
    ]));
    for bad in [
        "BASH_ENV=/tmp/x",
        "ENV=/tmp/x",
        "BASH_FUNC_id%%=() { /bin/sh; }",
        "SHELLOPTS=xtrace",
        "PS4=$(id)",
        "PATH=/nonexistent-bundle/bin:/usr/bin",
        "PATH=",
        "LD_PRELOAD=/tmp/x.so",
        "GLIBC_TUNABLES=glibc.malloc.check=3",
        "GCONV_PATH=/tmp",
        "PYTHONSTARTUP=/tmp/x.py",
        "NODE_OPTIONS=--require /tmp/x.js",
        "PERL5OPT=-Mx",
        "LANG=/tmp/locale",
        "IFS=/",
    ] {
        assert!(with_env(&[bad]), "{bad} passed");
    }
    // The operator names what its hooks need.
    let text = "name = \"gpu\"\nextends = \"restricted\"\n[rules.hooks]\nallowed = [\"/usr/bin/allowed-hook\"]\nenv = [\"NVIDIA_VISIBLE_DEVICES\"]\n";
    let gpu = crate::policy::profile::parse(text, "test", None, 0).unwrap();
    let mut d = passing();
    d["hooks"] = json!({"prestart": [{"path": "/usr/bin/allowed-hook", "env": ["NVIDIA_VISIBLE_DEVICES=all"]}]});
    assert!(!fires(&d, &gpu, "hooks"), "{:?}", fired_by(&d, &gpu));
}

/// keyrings(7): without a user namespace of its own the container shares the host's per-uid
/// keyrings; baseline takes the keyring calls out of a filter that allows them.
#[test]
fn keyrings_are_judged_by_user_namespace_filter_and_session() {
    use crate::policy::exposure::Exposure;
    let baseline = Profile::builtin("baseline").unwrap();
    let mut d = passing();
    set_ns(&mut d, "user", None);
    d["linux"]["uidMappings"] = Value::Null;
    d["linux"]["gidMappings"] = Value::Null;
    d["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["keyctl", "getpid"], "action": "SCMP_ACT_ALLOW"}));
    assert!(fires(&d, &baseline, "host-keyrings"));
    let decision = enforce(&mut d.clone(), &baseline);
    assert!(
        decision
            .hardened
            .iter()
            .any(|h| h.starts_with("[host-keyrings]")),
        "{:?}",
        decision.hardened
    );
    let x = Exposure::of(&decision.plan, &FakeHost);
    assert!(x.keyring_calls.is_empty(), "{:?}", x.keyring_calls);
    assert!(x.seccomp.as_ref().unwrap().permits("getpid"));
    // An allow-all default gets an explicit deny.
    let mut d2 = d.clone();
    d2["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["keyctl"], "action": "SCMP_ACT_NOTIFY"}]});
    let mut doc = d2.clone();
    let mut params = Params::new();
    params.insert("x".into(), toml::Value::Boolean(true));
    super::identity::HOST_KEYRINGS.remedy.unwrap()(&mut doc, &params).unwrap();
    let plan = planner(&doc).unwrap();
    assert!(
        Exposure::of(&plan, &FakeHost).keyring_calls.is_empty(),
        "{doc:#}"
    );
    // In a user namespace of its own: none of the host's, unless the session keyring is
    // the caller's (--no-new-keyring).
    let mut d = passing();
    d["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["keyctl"], "action": "SCMP_ACT_ALLOW"}));
    let mut plan = planner(&d).unwrap();
    assert!(Exposure::of(&plan, &FakeHost).keyrings.is_empty());
    plan.new_session_keyring = false;
    let x = Exposure::of(&plan, &FakeHost);
    assert_eq!(x.keyrings.len(), 1, "{:?}", x.keyrings);
    assert!(x.keyrings[0].contains("--no-new-keyring"));
    // A user namespace that maps a host account (host uid 0 here) shares its keyrings by
    // serial number: judged like none.
    let mut d = passing();
    d["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    d["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["keyctl"], "action": "SCMP_ACT_ALLOW"}));
    let plan = planner(&d).unwrap();
    let x = Exposure::of(&plan, &FakeHost);
    assert!(
        x.keyrings.iter().any(|k| k.contains("host uid 0")),
        "{:?}",
        x.keyrings
    );
    // A deny rule of the filter's own (KILL) stays as it is; `syscalls: null` is hardened.
    let mut doc = json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["keyctl"], "action": "SCMP_ACT_KILL_PROCESS"}]}}});
    super::identity::HOST_KEYRINGS.remedy.unwrap()(&mut doc, &Params::new()).unwrap();
    let rules = doc["linux"]["seccomp"]["syscalls"].as_array().unwrap();
    assert_eq!(rules[0]["action"], "SCMP_ACT_KILL_PROCESS", "{doc:#}");
    assert_eq!(
        rules[1]["names"],
        json!(["add_key", "request_key"]),
        "{doc:#}"
    );
    let mut doc =
        json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": null}}});
    assert!(super::identity::HOST_KEYRINGS.remedy.unwrap()(&mut doc, &Params::new()).is_some());
    // Another container's user namespace (a pod's) is judged by its map, which this test
    // host cannot read: counted as the host's (the real host reads /proc/PID/uid_map).
    let mut d = passing();
    set_ns(&mut d, "user", Some("/pod/user"));
    d["linux"]["uidMappings"] = Value::Null;
    d["linux"]["gidMappings"] = Value::Null;
    d["linux"]["seccomp"] = Value::Null;
    let got = fired_by(&d, &baseline);
    let (_, why) = got
        .iter()
        .find(|(r, _)| *r == "host-keyrings")
        .expect("fired");
    assert!(why[0].contains("cannot be read"), "{why:?}");
}

/// An idmapped mount is judged by the on-disk ids the container's ids end up owning.
#[test]
fn idmapped_mounts_by_the_owners_they_make() {
    let baseline = Profile::builtin("baseline").unwrap();
    let restricted = Profile::builtin("restricted").unwrap();
    let map = |c: u32, h: u32, n: u32| json!([{"containerID": c, "hostID": h, "size": n}]);
    let with = |userns: bool, uid: u32, m: Value, opts: &[&str]| {
        let mut d = passing();
        d["process"]["user"]["uid"] = json!(uid);
        d["process"]["user"]["gid"] = json!(uid);
        if !userns {
            set_ns(&mut d, "user", None);
            d["linux"]["uidMappings"] = Value::Null;
            d["linux"]["gidMappings"] = Value::Null;
        }
        mount(
            &mut d,
            json!({"destination": "/data", "type": "bind", "source": "/nonexistent-bundle/data",
                   "options": opts, "uidMappings": m, "gidMappings": m}),
        );
        d
    };
    // The config: no user namespace, uid 65534 owns on-disk 0.
    let d = with(false, 65534, map(0, 65534, 1), &["rbind", "rw", "idmap"]);
    let got = fired_by(&d, &baseline);
    let (_, details) = got
        .iter()
        .find(|(r, _)| *r == "idmapped-mounts")
        .expect("fired");
    assert!(details[0].contains("host root's files"), "{details:?}");
    assert!(fires(&d, &restricted, "idmapped-mounts"));
    // Read-only too: the owner of root's files reads them.
    assert!(fires(
        &with(false, 65534, map(0, 65534, 1), &["rbind", "ro", "idmap"]),
        &baseline,
        "idmapped-mounts"
    ));
    // A system account's files, another user's.
    assert!(fires(
        &with(false, 1000, map(33, 1000, 1), &["rbind", "idmap"]),
        &baseline,
        "idmapped-mounts"
    ));
    // The identity without a user namespace, and the Kubernetes shape, change no owner.
    assert!(!fires(
        &with(false, 1000, map(0, 0, 65536), &["rbind", "idmap"]),
        &baseline,
        "idmapped-mounts"
    ));
    let k8s = map(0, 100000, 65536);
    assert!(!fires(
        &with(true, 0, k8s.clone(), &["rbind", "idmap"]),
        &baseline,
        "idmapped-mounts"
    ));
    // restricted: root in the user namespace writes host root's files through it.
    let d = with(true, 0, k8s.clone(), &["rbind", "noexec", "idmap"]);
    let got = fired_by(&d, &restricted);
    let (_, details) = got
        .iter()
        .find(|(r, _)| *r == "idmapped-mounts")
        .expect("fired");
    assert!(details[0].contains("on-disk uid 0"), "{details:?}");
    // As uid 1000 without the capabilities that change ids, it writes as 1000: fine; read-only, fine.
    assert!(!fires(
        &with(true, 1000, k8s.clone(), &["rbind", "noexec", "idmap"]),
        &restricted,
        "idmapped-mounts"
    ));
    assert!(!fires(
        &with(true, 0, k8s.clone(), &["rbind", "rro", "idmap"]),
        &restricted,
        "idmapped-mounts"
    ));
    // "ro" on a recursive bind leaves the mounts beneath it writable, idmapped too.
    assert!(fires(
        &with(true, 0, k8s.clone(), &["rbind", "ro", "ridmap"]),
        &restricted,
        "idmapped-mounts"
    ));
    assert!(!fires(
        &with(true, 0, k8s.clone(), &["rbind", "rro", "ridmap"]),
        &restricted,
        "idmapped-mounts"
    ));
    // With CAP_SETUID it can become root inside: refused.
    let mut d = with(true, 1000, k8s, &["rbind", "noexec", "idmap"]);
    d["process"]["capabilities"]["permitted"] = json!(["CAP_SETUID"]);
    assert!(fires(&d, &restricted, "idmapped-mounts"));
}

/// The OOM killer's floor is the kubelet's: pod sandboxes at -998 run, -999 and -1000 do not.
#[test]
fn oom_score_adj_down_to_the_kubelets() {
    let baseline = Profile::builtin("baseline").unwrap();
    for (v, refused) in [
        (-1000, true),
        (-999, true),
        (-998, false),
        (-997, false),
        (0, false),
        (1000, false),
    ] {
        let mut d = passing();
        d["process"]["oomScoreAdj"] = json!(v);
        assert_eq!(fires(&d, &baseline, "oom-score-adj"), refused, "{v}");
    }
    // A workload's profile may not lower the floor.
    let floor = &baseline.rule("oom-score-adj").unwrap().params["min"];
    assert!(looser(
        "oom-score-adj",
        "min",
        &toml::Value::Integer(-1000),
        floor
    ));
    assert!(!looser(
        "oom-score-adj",
        "min",
        &toml::Value::Integer(0),
        floor
    ));
    assert!(looser(
        "idmapped-mounts",
        "owner_min",
        &toml::Value::Integer(0),
        &toml::Value::Integer(1000)
    ));
}

/// sealed denies every syscall the catalog lists behind escapes, not restricted's subset.
#[test]
fn sealed_denies_what_it_promises() {
    let sealed = sealed();
    let catalog = find("seccomp-denies").unwrap().default_params();
    let theirs = strings(&sealed.rule("seccomp-denies").unwrap().params, "syscalls");
    for call in strings(&catalog, "syscalls") {
        assert!(theirs.contains(&call), "sealed does not deny {call}");
        let mut d = passing();
        d["linux"]["seccomp"]["syscalls"]
            .as_array_mut()
            .unwrap()
            .push(json!({"names": [call], "action": "SCMP_ACT_ALLOW"}));
        assert!(fires(&d, &sealed, "seccomp-denies"), "{call}");
    }
}

/// A namespace path that is not an nsfs file is never opened (a device, a FIFO).
#[test]
fn a_namespace_path_must_be_a_namespace_file() {
    let mut d = passing();
    set_ns(&mut d, "network", Some("/dev/null"));
    let e = planner(&d).unwrap_err().to_string();
    assert!(e.contains("not a namespace file"), "{e}");
}

/// A mount over `/` makes nothing writable: no Landlock grant of the whole tree for it.
#[test]
fn a_mount_over_the_root_is_not_a_writable_place() {
    let mut d = passing();
    mount(
        &mut d,
        json!({"destination": "/", "type": "tmpfs", "source": "tmpfs", "options": ["noexec"]}),
    );
    let plan = planner(&d).unwrap();
    assert!(!writable_places(&plan).contains(&PathBuf::from("/")));
    d["process"]["landlock"]["rules"]["pathBeneath"]
        .as_array_mut()
        .unwrap()
        .push(json!({"allowedAccess": ["write_file"], "paths": ["/"]}));
    assert!(fired(&d).contains(&"landlock-writes"));
}
