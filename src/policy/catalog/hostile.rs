//! The config writer as attacker: hostile edits of compliant configs, each of which reaches
//! the host or undoes a layer, must be refused (or hardened until the exposure is gone)
//! by every built-in profile; and a generator of such edits whose every outcome is held
//! against an oracle written over the plan, independently of the rules.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::policy::{self, Mode, Profile, RealHost, Scope, Verdict};
use crate::spec::devices::{v1_allows, v2_allows, ACC_READ, ACC_WRITE};
use crate::spec::{self, MountKind, NsKind, Plan, Rootfs};

const PROFILES: [&str; 3] = ["baseline", "restricted", "sealed"];

fn bundle() -> PathBuf {
    PathBuf::from("/nonexistent-hostile-bundle")
}

fn planner(v: &Value) -> Result<Plan, spec::SpecError> {
    spec::plan_document(v, &bundle(), Rootfs::MayBeAbsent)
}

/// `spec --profile P`'s config.
fn compliant(p: &Profile) -> Value {
    let mut doc = crate::defaults::hardened_spec();
    let left = policy::conform(&mut doc, p, &RealHost, &planner).unwrap();
    assert!(left.is_empty(), "{} spec violates {left:?}", p.name);
    doc
}

/// Enforce mode, as create runs it: None when the config is refused (by the policy, or
/// already by the planner), else the plan that would run.
fn outcome(doc: &Value, p: &Profile) -> Option<Plan> {
    let mut d = doc.clone();
    let decision = policy::decide(
        &mut d,
        p,
        Mode::Enforce,
        &RealHost,
        Scope::Container,
        &planner,
    )
    .ok()?;
    (decision.verdict != Verdict::Refused).then_some(decision.plan)
}

fn push(doc: &mut Value, key: &str, v: Value) {
    doc[key].as_array_mut().unwrap().push(v);
}

fn set_ns(doc: &mut Value, kind: &str, path: Option<&str>) {
    let list = doc["linux"]["namespaces"].as_array_mut().unwrap();
    list.retain(|n| n["type"] != kind);
    list.push(match path {
        Some(p) => json!({"type": kind, "path": p}),
        None => json!({"type": kind}),
    });
}

type Edit = (&'static str, fn(&mut Value));

/// The issue's examples and other spellings of the same effects.
const HOSTILE: &[Edit] = &[
    ("join the host's mount namespace by /proc/1", |d| {
        set_ns(d, "mount", Some("/proc/1/ns/mnt"))
    }),
    ("join the host's mount namespace by /proc/self", |d| {
        set_ns(d, "mount", Some("/proc/self/ns/mnt"))
    }),
    (
        "join the host's mount namespace by /proc/thread-self",
        |d| set_ns(d, "mount", Some("//proc/thread-self/ns/mnt")),
    ),
    ("join the host's network namespace by /proc/1", |d| {
        set_ns(d, "network", Some("/proc/1/ns/net"))
    }),
    ("join the host's pid namespace by /proc/self", |d| {
        set_ns(d, "pid", Some("/proc/self/ns/pid_for_children"))
    }),
    ("a second proc at /p", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/p", "type": "proc", "source": "proc"}),
        )
    }),
    ("proc at /proc/../p spelled as /./p", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/./p/", "type": "proc", "source": "proc"}),
        )
    }),
    ("sysfs writable at /s", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/s", "type": "sysfs", "source": "sysfs", "options": ["rw"]}),
        )
    }),
    ("cgroup2 rw elsewhere", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/cg", "type": "cgroup2", "source": "cgroup2", "options": ["rw"]}),
        )
    }),
    ("v1 cgroup with a controller rw elsewhere", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/cg", "type": "cgroup", "source": "cgroup", "options": ["rw", "memory"]}),
        )
    }),
    ("cgroup rw at its place", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/sys/fs/cgroup/", "type": "cgroup", "source": "cgroup", "options": ["rw", "rbind"]}),
        )
    }),
    ("the host's proc by bind", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/p", "type": "proc", "source": "/proc", "options": ["rbind", "ro"]}),
        )
    }),
    ("the host's root through /proc/self/root", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/h", "type": "none", "source": "/proc/self/root/etc", "options": ["rbind", "ro"]}),
        )
    }),
    ("bpf filesystem", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/b", "type": "bpf", "source": "bpf"}),
        )
    }),
    ("securityfs", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/sys/kernel/security", "type": "securityfs", "source": "securityfs", "options": ["ro"]}),
        )
    }),
    ("a host disk", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/d", "type": "ext4", "source": "/dev/sda1", "options": ["ro"]}),
        )
    }),
    ("overlay writing to /etc", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/o", "type": "overlay", "source": "overlay",
                   "options": ["lowerdir=/nonexistent-hostile-bundle/l,upperdir=/etc,workdir=/tmp/w", "noexec"]}),
        )
    }),
    ("tmpfs remounting the root's filesystem", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "rw"]}),
        )
    }),
    ("device deny of mknod only, spelled mmm", |d| {
        d["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "mmm"}]);
    }),
    ("device allow-all of type a after the deny", |d| {
        d["linux"]["resources"]["devices"] = json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "a", "major": 1, "access": "m"}
        ]);
    }),
    ("device deny of char devices only", |d| {
        d["linux"]["resources"]["devices"] =
            json!([{"allow": false, "type": "c", "access": "rwm"}]);
    }),
    ("the host's / as the root filesystem", |d| {
        d["root"]["path"] = json!("/");
    }),
    (
        "the host's /etc as the root filesystem, spelled relative",
        |d| {
            d["root"]["path"] = json!("../../../../etc");
        },
    ),
    (
        "a bind of the host's / through the container's own procfs",
        |d| {
            push(
                d,
                "mounts",
                json!({"destination": "/h", "type": "bind", "source": "rootfs/proc/self/root", "options": ["rbind", "rw"]}),
            )
        },
    ),
    (
        "/proc/sys bound elsewhere from the container's procfs",
        |d| {
            push(
                d,
                "mounts",
                json!({"destination": "/psys", "type": "bind", "source": "rootfs/proc/sys", "options": ["rbind"]}),
            )
        },
    ),
    ("maskedPaths and readonlyPaths of / only", |d| {
        d["linux"]["maskedPaths"] = json!(["/"]);
        d["linux"]["readonlyPaths"] = json!(["/"]);
    }),
    ("a bind of /usr/bin made ro, then rrw", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/x", "type": "bind", "source": "/usr/bin", "options": ["bind", "ro", "rrw"]}),
        )
    }),
    ("the cgroup view made ro, then rrw", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup", "options": ["ro", "rrw"]}),
        )
    }),
    (
        "another user namespace's uid 0 by a path that cannot be read",
        |d| {
            set_ns(d, "user", Some("/nonexistent/ns/user"));
            d["process"]["user"]["uid"] = json!(0);
        },
    ),
    ("the host's /usr/lib as the root filesystem", |d| {
        d["root"]["path"] = json!("/usr/lib");
    }),
    ("unified lifts the memory and pids limits", |d| {
        d["linux"]["resources"]["unified"] = json!({"memory.max": "max", "pids.max": "max"});
    }),
    ("unified moves pid 1 into the container's cgroup", |d| {
        d["linux"]["resources"]["unified"] = json!({"cgroup.procs": "1"});
    }),
    ("seccomp allow-all with one errno rule for no call", |d| {
        d["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]});
    }),
    ("seccomp log-all", |d| {
        d["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_LOG"});
    }),
    ("seccomp deny-all but bpf under a condition", |d| {
        d["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_GE"}]}]});
    }),
    // The host's keyrings: podman's filter allows keyctl; no user namespace.
    ("keyctl allowed without a user namespace", |d| {
        no_userns(d);
        push_rule(
            d,
            json!({"names": ["keyctl", "add_key", "request_key"], "action": "SCMP_ACT_ALLOW"}),
        );
    }),
    ("keyctl under a condition, logged", |d| {
        no_userns(d);
        push_rule(
            d,
            json!({"names": ["keyctl"], "action": "SCMP_ACT_LOG",
            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_GE"}]}),
        );
    }),
    ("keyctl for a listener", |d| {
        no_userns(d);
        d["linux"]["seccomp"]["listenerPath"] = json!("/run/agent.sock");
        push_rule(d, json!({"names": ["keyctl"], "action": "SCMP_ACT_NOTIFY"}));
    }),
    // The root, devices by identity, idmapped ownership, the init's grants.
    ("root.path a host directory, read-only", |d| {
        d["root"] = json!({"path": "/srv/hostapp", "readonly": true});
    }),
    ("root.path a daemon's socket directory", |d| {
        d["root"] = json!({"path": "/run/postgresql", "readonly": true});
    }),
    (
        "root.path an image layer every container of the image shares",
        |d| {
            d["root"] = json!({"path": "/var/lib/docker/overlay2/abc/diff", "readonly": true});
        },
    ),
    ("the host's console by another name", |d| {
        d["linux"]["devices"] = json!([{"path": "/dev/hostconsole", "type": "c", "major": 5, "minor": 1, "fileMode": 438}]);
    }),
    ("the host's serial line", |d| {
        d["linux"]["devices"] = json!([{"path": "/dev/x", "type": "c", "major": 4, "minor": 64}]);
    }),
    ("an idmapped bind making host root the owner", |d| {
        no_userns(d);
        d["process"]["user"] = json!({"uid": 65534, "gid": 65534});
        push(
            d,
            "mounts",
            json!({"destination": "/data", "type": "bind",
            "source": "/nonexistent-hostile-bundle/data", "options": ["rbind", "rw", "idmap"],
            "uidMappings": [{"containerID": 0, "hostID": 65534, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 65534, "size": 1}]}),
        );
    }),
    ("RLIMIT_RTPRIO with SCHED_FIFO", |d| {
        d["process"]["rlimits"] = json!([{"type": "RLIMIT_RTPRIO", "soft": 99, "hard": 99}]);
        d["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 99});
    }),
    ("oomScoreAdj -1000", |d| {
        d["process"]["oomScoreAdj"] = json!(-1000)
    }),
    ("seccomp flag SPEC_ALLOW", |d| {
        d["linux"]["seccomp"]["flags"] = json!(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    }),
    ("a listener at the Docker socket", |d| {
        d["linux"]["seccomp"]["listenerPath"] = json!("/run/docker.sock");
        push_rule(d, json!({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}));
    }),
    ("a network namespace path that is a device", |d| {
        set_ns(d, "network", Some("/dev/watchdog"))
    }),
];

/// Leaves the container in the host's user namespace.
fn no_userns(d: &mut Value) {
    d["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "user");
    d["linux"]["uidMappings"] = Value::Null;
    d["linux"]["gidMappings"] = Value::Null;
}

fn push_rule(d: &mut Value, rule: Value) {
    if d["linux"]["seccomp"].is_null() {
        d["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []});
    }
    d["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(rule);
}

/// What restricted and sealed promise beyond baseline.
const HOSTILE_STRICT: &[Edit] = &[
    ("a memory limit above the host's memory", |d| {
        d["linux"]["resources"]["memory"] = json!({"limit": i64::MAX / 2});
    }),
    ("a pids limit above pid_max", |d| {
        d["linux"]["resources"]["pids"] = json!({"limit": i64::MAX / 2});
    }),
    (
        "root in a user namespace writing host root's files through a mount mapped like it",
        |d| {
            d["process"]["user"] = json!({"uid": 0, "gid": 0});
            d["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "user");
            d["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            d["linux"]["uidMappings"] = map.clone();
            d["linux"]["gidMappings"] = map.clone();
            push(
                d,
                "mounts",
                json!({"destination": "/data", "type": "bind",
            "source": "/nonexistent-hostile-bundle/data", "options": ["rbind", "rw", "noexec", "idmap"],
            "uidMappings": map, "gidMappings": map}),
            );
        },
    ),
    (
        "a default-deny filter that allows unshare and io_uring",
        |d| {
            d["linux"]["seccomp"]["syscalls"]
                .as_array_mut()
                .unwrap()
                .push(json!({"names": ["unshare", "io_uring_setup"], "action": "SCMP_ACT_ALLOW"}));
        },
    ),
    (
        "a default-deny filter that lets clone make namespaces",
        |d| {
            d["linux"]["seccomp"]["syscalls"]
                .as_array_mut()
                .unwrap()
                .push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW"}));
        },
    ),
    ("a Landlock write grant spelled through ..", |d| {
        d["process"]["landlock"]["rules"]["pathBeneath"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allowedAccess": ["write_file"], "paths": ["/tmp/.."]}));
    }),
    ("a Landlock write grant through /proc/self/root", |d| {
        d["process"]["landlock"]["rules"]["pathBeneath"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allowedAccess": ["write_file"], "paths": ["/proc/self/root"]}));
    }),
    ("Landlock in best effort", |d| {
        d["process"]["landlock"]["enableBestEffort"] = json!(true);
    }),
    ("a writable bind of the root filesystem itself", |d| {
        push(
            d,
            "mounts",
            json!({"destination": "/rw", "type": "bind", "source": "rootfs", "options": ["rbind", "noexec"]}),
        )
    }),
    ("the host's root through a joined user namespace", |d| {
        set_ns(d, "user", Some("/proc/self/ns/user"));
        d["process"]["user"]["uid"] = json!(0);
    }),
];

/// Hooks are refused by restricted and sealed; baseline runs and records them.
const HOSTILE_HOOKS: &[Edit] = &[
    ("prestart hook running a shell", |d| {
        d["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "touch /x"]}]});
    }),
    ("createRuntime hook through a symlink step", |d| {
        d["hooks"] = json!({"createRuntime": [{"path": "/bin/../bin/sh"}]});
    }),
    ("poststop hook through /proc/self/exe", |d| {
        d["hooks"] = json!({"poststop": [{"path": "/proc/self/exe", "args": ["x"]}]});
    }),
];

/// Whether the plan still exposes what the edit reached (for a config hardened, not
/// refused): the oracle below.
#[test]
fn every_hostile_edit_is_refused_by_every_profile() {
    for name in PROFILES {
        let p = Profile::builtin(name).unwrap();
        let base = compliant(&p);
        let (hooks, strict) = if name == "baseline" {
            (&[][..], &[][..])
        } else {
            (HOSTILE_HOOKS, HOSTILE_STRICT)
        };
        for (what, edit) in HOSTILE.iter().chain(hooks).chain(strict) {
            let mut doc = base.clone();
            edit(&mut doc);
            if let Some(plan) = outcome(&doc, &p) {
                let bad = forbidden(&plan, name);
                assert!(
                    bad.is_empty(),
                    "{name} lets through {what:?}: {bad:?}\n{doc:#}"
                );
            }
        }
    }
}

#[test]
fn baseline_records_hooks_rather_than_refusing_them() {
    let p = Profile::builtin("baseline").unwrap();
    let mut doc = compliant(&p);
    HOSTILE_HOOKS[0].1(&mut doc);
    let plan = outcome(&doc, &p).expect("baseline runs hooks");
    let applied = crate::audit::applied(&plan, None);
    assert_eq!(applied["hooks"][0]["kind"], "prestart");
    assert_eq!(applied["hooks"][0]["path"], "/bin/sh");
    assert_eq!(applied["hooks"][0]["args"][2], "touch /x");
}

/// The host's namespace identities, read here directly.
fn host_ns(kind: NsKind) -> Vec<(u64, u64)> {
    spec::host_ns_identities(kind)
}

/// Devices whose read or write is a host escape.
const DEVICES: &[(char, u32, u32)] = &[
    ('b', 8, 0),
    ('c', 1, 1),
    ('c', 10, 200),
    ('b', 7, 0),
    ('c', 5, 1),
    ('c', 4, 64),
];

/// What `plan` exposes that profile `name` forbids, stated over the plan and the kernel's
/// semantics without the rules' code (except for the shared meaning of a mount entry).
fn forbidden(plan: &Plan, name: &str) -> Vec<String> {
    let mut out = vec![];
    let strict = name != "baseline";
    let kinds: &[NsKind] = match name {
        "sealed" => &[
            NsKind::Pid,
            NsKind::Ipc,
            NsKind::Network,
            NsKind::Uts,
            NsKind::Cgroup,
        ],
        _ => &[NsKind::Pid, NsKind::Ipc, NsKind::Network, NsKind::Uts],
    };
    for k in kinds.iter().chain([NsKind::Mount].iter()) {
        match plan.namespace(*k) {
            None => out.push(format!("no {k:?} namespace")),
            Some(n) => {
                if let Some(p) = &n.path {
                    let id = spec::ns_identity(p);
                    if id.is_none() || host_ns(*k).contains(&id.unwrap()) {
                        out.push(format!("host {k:?} namespace via {}", p.display()));
                    }
                }
            }
        }
    }
    let canon =
        |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| crate::policy::host::clean(p));
    let bundle = canon(&plan.bundle);
    let root = canon(&plan.rootfs);
    for s in ["/etc", "/usr", "/proc", "/sys", "/dev", "/root"] {
        if root.starts_with(s) || Path::new(s).starts_with(&root) {
            out.push(format!("root filesystem {}", root.display()));
        }
    }
    for m in &plan.mounts {
        let dest = &m.destination;
        match m.kind() {
            MountKind::Cgroup | MountKind::Cgroup2 => {
                if dest != Path::new("/sys/fs/cgroup") || !m.is_readonly() {
                    out.push(format!("cgroup view at {}", dest.display()));
                }
            }
            MountKind::Filesystem => {
                let place = match m.typ.as_str() {
                    "proc" => Some("/proc"),
                    "sysfs" => Some("/sys"),
                    "devpts" => Some("/dev/pts"),
                    "mqueue" => Some("/dev/mqueue"),
                    "tmpfs" | "ramfs" | "overlay" => None,
                    other => {
                        out.push(format!("{other} filesystem"));
                        None
                    }
                };
                if place.is_some_and(|p| dest != Path::new(p)) {
                    out.push(format!("{} at {}", m.typ, dest.display()));
                }
                if m.typ == "sysfs" && !m.is_readonly() {
                    out.push("writable sysfs".into());
                }
                if m.options.flags.contains(nix::mount::MsFlags::MS_REMOUNT) {
                    out.push("remount".into());
                }
                if m.typ == "overlay" {
                    match m.overlay_dirs() {
                        Err(e) => out.push(e),
                        Ok(dirs) => {
                            for (_, d) in dirs {
                                if !canon(&d).starts_with(&bundle) {
                                    out.push(format!("overlay layer {}", d.display()));
                                }
                            }
                        }
                    }
                }
            }
            MountKind::Bind => {
                let src = canon(m.source.as_deref().unwrap_or(Path::new("/")));
                for s in [
                    "/etc",
                    "/proc",
                    "/sys",
                    "/dev",
                    "/root",
                    "/boot",
                    "/var/run/docker.sock",
                ] {
                    let s = canon(Path::new(s));
                    if src.starts_with(&s) || s.starts_with(&src) {
                        out.push(format!("bind of {}", src.display()));
                    }
                }
                for w in ["/usr", "/bin", "/sbin", "/lib", "/opt"] {
                    let w = canon(Path::new(w));
                    if !m.is_readonly() && (src.starts_with(&w) || w.starts_with(&src)) {
                        out.push(format!("writable bind of {}", src.display()));
                    }
                }
                if strict && !src.starts_with(&bundle) {
                    out.push(format!("bind of {} outside the bundle", src.display()));
                }
            }
        }
    }
    for (kind, major, minor) in DEVICES {
        for access in [ACC_READ, ACC_WRITE] {
            let rules = &plan.device_rules;
            if v1_allows(rules, *kind, *major, *minor, access)
                || v2_allows(rules, *kind, *major, *minor, access)
            {
                out.push(format!("device {kind} {major}:{minor} access {access}"));
            }
        }
    }
    match &plan.seccomp {
        None => out.push("no seccomp".into()),
        Some(s) => {
            let default = serde_json::to_value(s.default_action()).unwrap();
            let lets = |a: &Value| {
                !a.as_str().unwrap_or("").contains("ERRNO")
                    && !a.as_str().unwrap_or("").contains("KILL")
                    && !a.as_str().unwrap_or("").contains("TRAP")
            };
            for call in ["kexec_load", "init_module", "bpf", "open_by_handle_at"] {
                if lets_through(plan, &[call]) {
                    out.push(format!("seccomp lets {call} through"));
                }
            }
            if strict && lets(&default) {
                out.push("seccomp allows what it does not list".into());
            }
        }
    }
    // Masks count only under something other than `/` (a mount over the root is never
    // crossed by a path lookup).
    let covers = |list: &[PathBuf], p: &str| {
        list.iter()
            .any(|l| l != Path::new("/") && Path::new(p).starts_with(l))
    };
    if !covers(&plan.masked_paths, "/proc/kcore")
        || !(covers(&plan.readonly_paths, "/proc/sys") || covers(&plan.masked_paths, "/proc/sys"))
    {
        out.push("/proc/kcore or /proc/sys exposed".into());
    }
    if strict {
        let r = plan.resources.as_ref();
        let unified = r.and_then(|r| r.unified().clone()).unwrap_or_default();
        if unified.get("memory.max").is_some_and(|v| v == "max")
            || unified.get("pids.max").is_some_and(|v| v == "max")
        {
            out.push("a limit lifted".into());
        }
        if let Some(l) = &plan.landlock {
            if l.best_effort() {
                out.push("Landlock best effort".into());
            }
            for r in &l.rules.path_beneath {
                for p in &r.paths {
                    let s = p.to_string_lossy();
                    if s.contains("..") || s.starts_with("/proc") {
                        out.push(format!("Landlock grant on {s}"));
                    }
                }
            }
        }
        if let Some(s) = &plan.seccomp {
            for r in s.syscalls().iter().flatten() {
                let action = format!("{:?}", r.action());
                let lets = !["Errno", "Kill", "Trap"].iter().any(|k| action.contains(k));
                for n in r.names() {
                    if lets && ["unshare", "io_uring_setup"].contains(&n.as_str()) {
                        out.push(format!("seccomp allows {n}"));
                    }
                    if lets && n == "clone" && r.args().as_ref().is_none_or(|a| a.is_empty()) {
                        out.push("seccomp allows clone with any flags".into());
                    }
                }
            }
        }
        for m in &plan.mounts {
            if m.kind() == MountKind::Bind && !m.is_readonly() {
                let src = canon(m.source.as_deref().unwrap_or(Path::new("/")));
                if src.starts_with(&root) || root.starts_with(&src) {
                    out.push(format!(
                        "writable bind of the root filesystem {}",
                        src.display()
                    ));
                }
            }
        }
        if plan
            .namespace(NsKind::User)
            .is_some_and(|n| n.path.is_some())
            && plan.process.uid == 0
        {
            out.push("uid 0 in a joined user namespace".into());
        }
        for (_, list) in plan.hooks.by_kind() {
            for hook in list {
                out.push(format!("hook {}", hook.path.display()));
            }
        }
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
            })
            .unwrap_or(i64::MAX / 1024)
            * 1024;
        let mem = r.and_then(|r| r.memory().as_ref().and_then(|m| m.limit()));
        if !unified.contains_key("memory.max") && mem.is_some_and(|m| m >= total) {
            out.push("a memory limit above the host's memory".into());
        }
        // Writable idmapped mounts through which a process at uid 0 writes on-disk 0.
        if plan.process.uid == 0 {
            for m in &plan.mounts {
                let Some(idm) = &m.idmap else { continue };
                let k = kernel_id(plan, 0);
                if !m.is_readonly()
                    && idm
                        .uid
                        .iter()
                        .any(|e| k == Some(e.host) && e.container == 0)
                {
                    out.push("root writes host root's files through an idmapped mount".into());
                }
            }
        }
    }
    // Keyrings: the host's per-uid ones without a user namespace of the container's own.
    let own_userns = plan.namespace(NsKind::User).is_some_and(|n| match &n.path {
        None => true,
        Some(p) => spec::ns_identity(p).is_some_and(|id| !host_ns(NsKind::User).contains(&id)),
    });
    if !own_userns && lets_through(plan, &["keyctl", "add_key", "request_key"]) {
        out.push("keyring calls in the host's user namespace".into());
    }
    // The root: the bundle's, or an image store's per-container overlay.
    let store = |r: &Path| {
        let s = r.to_string_lossy();
        (s.starts_with("/var/lib/docker/overlay2/")
            || s.starts_with("/var/lib/containers/storage/overlay/"))
            && r.file_name().is_some_and(|n| n == "merged")
            && r.components().count() == 7
    };
    let stores = [
        "/var/lib/docker/overlay2",
        "/var/lib/containers/storage/overlay",
    ];
    let task = Path::new("/run/containerd/io.containerd.runtime.v2.task");
    let _ = (stores, task);
    if !root.starts_with(&bundle) && !store(&root) {
        out.push(format!(
            "root filesystem {} outside the bundle",
            root.display()
        ));
    }
    for d in &plan.devices {
        if matches!((d.kind, d.major), ('c', 4) | ('c', 7))
            || (d.kind, d.major, d.minor) == ('c', 5, 1)
        {
            out.push(format!("device node {} {}:{}", d.kind, d.major, d.minor));
        }
    }
    // Idmapped mounts: what each container id writes as on disk is what it is.
    for m in &plan.mounts {
        let Some(idm) = &m.idmap else { continue };
        for e in &idm.uid {
            for i in [0, e.size.saturating_sub(1)] {
                let k = e.host + i;
                if let Some(inside) = inside_id(plan, k) {
                    if inside != e.container + i {
                        out.push(format!(
                            "container uid {inside} owns on-disk uid {}",
                            e.container + i
                        ));
                    }
                }
            }
        }
    }
    let p = &plan.process;
    for r in &p.rlimits {
        if (r.resource == libc::RLIMIT_RTPRIO as i32 && r.hard.max(r.soft) > 0)
            || (r.resource == libc::RLIMIT_NICE as i32 && r.hard.max(r.soft) > 20)
        {
            out.push(format!("rlimit {}", r.name));
        }
    }
    if let Some(s) = &p.scheduler {
        if [libc::SCHED_FIFO, libc::SCHED_RR, libc::SCHED_DEADLINE]
            .contains(&(s.sched_policy as i32))
            || s.sched_nice < 0
        {
            out.push("a real-time or raised scheduler".into());
        }
    }
    if p.oom_score_adj.is_some_and(|v| v < -998) {
        out.push("oom_score_adj below the kubelet's".into());
    }
    if let Some(s) = &plan.seccomp {
        if s.listener_path().is_some() {
            out.push("a seccomp listener socket".into());
        }
        let flags = serde_json::to_string(&s.flags()).unwrap_or_default();
        if flags.contains("SPEC_ALLOW") {
            out.push("seccomp SPEC_ALLOW".into());
        }
    }
    for n in &plan.namespaces {
        if let Some(path) = &n.path {
            if nix::sys::statfs::statfs(path.as_path())
                .is_ok_and(|f| f.filesystem_type() != spec::NSFS_MAGIC)
            {
                out.push(format!("namespace path {} is no namespace", path.display()));
            }
        }
    }
    out
}

/// The kernel id of container uid `u`: through a new user namespace's map, else itself.
fn kernel_id(plan: &Plan, u: u32) -> Option<u32> {
    match plan.namespace(NsKind::User) {
        None => Some(u),
        Some(n) if n.path.is_none() => plan
            .uid_mappings
            .iter()
            .find(|m| u >= m.container && u - m.container < m.size)
            .map(|m| m.host + (u - m.container)),
        Some(_) => None,
    }
}

/// The container uid whose kernel id is `k`.
fn inside_id(plan: &Plan, k: u32) -> Option<u32> {
    match plan.namespace(NsKind::User) {
        None => Some(k),
        Some(n) if n.path.is_none() => plan
            .uid_mappings
            .iter()
            .find(|m| k >= m.host && k - m.host < m.size)
            .map(|m| m.container + (k - m.host)),
        Some(_) => None,
    }
}

/// Whether the plan's filter lets some call of `calls` run (none: every call runs),
/// computed from the actions as the kernel would apply them.
fn lets_through(plan: &Plan, calls: &[&str]) -> bool {
    let Some(s) = &plan.seccomp else {
        return true;
    };
    let lets = |a: &Value| {
        !a.as_str().unwrap_or("").contains("ERRNO")
            && !a.as_str().unwrap_or("").contains("KILL")
            && !a.as_str().unwrap_or("").contains("TRAP")
    };
    let default = serde_json::to_value(s.default_action()).unwrap();
    calls.iter().any(|call| {
        let rules: Vec<_> = s
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.names().iter().any(|n| n == call))
            .collect();
        let allowed_by_rule = rules
            .iter()
            .any(|r| lets(&serde_json::to_value(r.action()).unwrap()));
        let denied_always = rules.iter().any(|r| {
            !lets(&serde_json::to_value(r.action()).unwrap())
                && r.args().as_ref().is_none_or(|a| a.is_empty())
        });
        allowed_by_rule || (lets(&default) && !denied_always)
    })
}

/// Generates hostile edits of compliant configs: special mounts at random places with
/// random options, namespace paths in every spelling, device rules of every type and
/// access, seccomp filters with permissive defaults, hooks, overlays and binds of host
/// paths. Whatever the decision lets run must show nothing the oracle forbids.
#[test]
fn generated_hostile_configs_find_nothing() {
    let cases: usize = std::env::var("PALISADE_GENERATOR_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let profiles: Vec<(Profile, Value)> = PROFILES
        .iter()
        .map(|n| {
            let p = Profile::builtin(n).unwrap();
            let doc = compliant(&p);
            (p, doc)
        })
        .collect();
    let mut g = Gen(0x853c49e6748fea9b);
    let mut let_through = 0;
    for case in 0..cases {
        let (p, base) = &profiles[case % profiles.len()];
        let mut doc = base.clone();
        for _ in 0..1 + g.below(3) {
            g.mutate(&mut doc);
        }
        if let Some(plan) = outcome(&doc, p) {
            let_through += 1;
            let bad = forbidden(&plan, &p.name);
            assert!(
                bad.is_empty(),
                "case {case}: {} lets through {bad:?}\n{doc:#}",
                p.name
            );
        }
    }
    // The generator must also make configs that pass, or it tests only refusals.
    assert!(
        cases < 100 || let_through > cases / 50,
        "only {let_through} of {cases} passed"
    );
}

struct Gen(u64);

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len() as u64) as usize]
    }

    fn options(&mut self) -> Vec<&'static str> {
        const OPTS: &[&str] = &[
            "ro", "rw", "rro", "rrw", "nosuid", "noexec", "nodev", "remount", "bind", "rbind",
            "private", "rslave", "memory", "size=1m", "mode=755", "defaults", "rrw", "rexec",
            "rnoexec",
        ];
        (0..self.below(4)).map(|_| *self.pick(OPTS)).collect()
    }

    fn mutate(&mut self, doc: &mut Value) {
        const TYPES: &[&str] = &[
            "proc",
            "sysfs",
            "cgroup",
            "cgroup2",
            "tmpfs",
            "devpts",
            "mqueue",
            "debugfs",
            "tracefs",
            "bpf",
            "securityfs",
            "configfs",
            "devtmpfs",
            "hugetlbfs",
            "fusectl",
            "pstore",
            "efivarfs",
            "binfmt_misc",
            "ext4",
            "none",
            "bind",
            "overlay",
            "ramfs",
        ];
        const DESTS: &[&str] = &[
            "/proc",
            "/proc/",
            "/p",
            "/sys",
            "/sys/",
            "/s",
            "/sys/fs/cgroup",
            "/cg",
            "/dev/pts",
            "/dev/mqueue",
            "/tmp",
            "/",
            "/./proc",
            "/sys/kernel/debug",
            "/data",
        ];
        const ROOTS: &[&str] = &[
            "/",
            "/etc",
            "/usr/lib",
            "rootfs",
            "../../..",
            "/proc/1/root",
            "/srv/hostapp",
            "/run/postgresql",
            "/tmp",
            "/var/lib/docker/overlay2/abc/merged",
            "/var/lib/docker/overlay2/abc/diff",
            "/var/lib/docker/overlay2/abc/merged/..",
            "/nonexistent-hostile-bundle/../srv",
        ];
        const SOURCES: &[&str] = &[
            "/",
            "/etc",
            "/etc/passwd",
            "/usr",
            "/usr/local",
            "/usr/bin",
            "/bin",
            "/var",
            "/var/run/docker.sock",
            "/tmp",
            "/proc",
            "/proc/self/root",
            "/proc/1/root/etc",
            "/sys/fs/cgroup",
            "/dev",
            "/dev/sda",
            "/home",
            "/opt",
            "/lib",
            "/srv",
            "/nonexistent-hostile-bundle/data",
            "data",
            "../../etc",
            "proc",
            "/dev/sda1",
        ];
        const NS: &[&str] = &["pid", "network", "ipc", "uts", "cgroup", "mount", "user"];
        const NSPATH: &[&str] = &[
            "/proc/1/ns/",
            "/proc/self/ns/",
            "/proc/thread-self/ns/",
            "//proc/1/ns/",
            "/proc/self/task/../ns/",
            "/nonexistent/ns/",
        ];
        const ACTIONS: &[&str] = &[
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_KILL",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP",
        ];
        const CALLS: &[&str] = &[
            "kexec_load",
            "bpf",
            "init_module",
            "open_by_handle_at",
            "read",
            "no_such_call",
            "BPF",
            "clone",
            "unshare",
            "keyctl",
            "add_key",
            "request_key",
        ];
        match self.below(10) {
            8 => match self.below(6) {
                0 => {
                    let kind = *self.pick(&["RLIMIT_RTPRIO", "RLIMIT_NICE", "RLIMIT_NOFILE"]);
                    let v = *self.pick(&[0u64, 1, 20, 21, 99]);
                    doc["process"]["rlimits"] = json!([{"type": kind, "soft": 0, "hard": v}]);
                }
                1 => {
                    doc["process"]["oomScoreAdj"] = json!(*self.pick(&[-1000, -999, -998, 0, 500]))
                }
                2 => {
                    let policy =
                        *self.pick(&["SCHED_FIFO", "SCHED_RR", "SCHED_OTHER", "SCHED_BATCH"]);
                    let mut sch = json!({"policy": policy, "nice": *self.pick(&[-20, 0, 5])});
                    if matches!(policy, "SCHED_FIFO" | "SCHED_RR") {
                        sch["priority"] = json!(1);
                        sch["nice"] = json!(0);
                    }
                    doc["process"]["scheduler"] = sch;
                }
                3 => {
                    let flag = *self.pick(&[
                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                        "SECCOMP_FILTER_FLAG_LOG",
                        "SECCOMP_FILTER_FLAG_TSYNC",
                    ]);
                    if doc["linux"]["seccomp"].is_object() {
                        doc["linux"]["seccomp"]["flags"] = json!([flag]);
                    }
                    if self.below(2) == 0 {
                        push_rule(
                            doc,
                            json!({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}),
                        );
                        doc["linux"]["seccomp"]["listenerPath"] = json!(*self.pick(&[
                            "/run/docker.sock",
                            "/run/agent.sock",
                            "/run/../run/agent.sock"
                        ]));
                    }
                }
                4 => {
                    let dev = *self.pick(&[
                        (5i64, 1i64),
                        (4, 64),
                        (4, 1),
                        (7, 0),
                        (1, 3),
                        (136, 0),
                        (5, 2),
                    ]);
                    doc["linux"]["devices"] = json!([{"path": *self.pick(&["/dev/x", "/dev/console", "/dev/pts/0"]),
                        "type": "c", "major": dev.0, "minor": dev.1}]);
                }
                _ => {
                    let ns = *self.pick(&["/dev/null", "/dev/watchdog", "/proc/self/ns/net"]);
                    let kind = *self.pick(&["network", "pid", "ipc"]);
                    set_ns(doc, kind, Some(ns));
                }
            },
            9 => {
                // Idmapped binds of the bundle, with and without a user namespace.
                if self.below(2) == 0 {
                    no_userns(doc);
                }
                let uid = *self.pick(&[0u32, 1000, 65534]);
                doc["process"]["user"]["uid"] = json!(uid);
                let (c, h) = *self.pick(&[
                    (0u32, 65534u32),
                    (0, 0),
                    (0, 100000),
                    (33, 1000),
                    (1000, 101000),
                    (0, 101000),
                ]);
                let map =
                    json!([{"containerID": c, "hostID": h, "size": *self.pick(&[1u32, 65536])}]);
                push(
                    doc,
                    "mounts",
                    json!({"destination": "/data", "type": "bind",
                    "source": "/nonexistent-hostile-bundle/data",
                    "options": [*self.pick(&["rw", "ro"]), "rbind", "noexec", *self.pick(&["idmap", "ridmap"])],
                    "uidMappings": map, "gidMappings": map}),
                );
            }
            0 | 1 => {
                let typ = *self.pick(TYPES);
                let mut m = json!({"destination": *self.pick(DESTS), "type": typ,
                    "source": *self.pick(SOURCES), "options": self.options()});
                if typ == "overlay" {
                    let dir = *self.pick(SOURCES);
                    let key = *self.pick(&["lowerdir", "upperdir", "workdir", "lowerdir+"]);
                    m["options"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!(format!("size=1,{key}={dir}")));
                }
                push(doc, "mounts", m);
            }
            2 => {
                let kind = *self.pick(NS);
                let proc_name = match kind {
                    "network" => "net",
                    "mount" => "mnt",
                    k => k,
                };
                let path = format!("{}{proc_name}", self.pick(NSPATH));
                match self.below(3) {
                    0 => {
                        let list = doc["linux"]["namespaces"].as_array_mut().unwrap();
                        list.retain(|n| n["type"] != kind);
                    }
                    _ => set_ns(doc, kind, Some(&path)),
                }
            }
            3 => {
                let rules: Vec<Value> = (0..1 + self.below(3))
                    .map(|_| {
                        let mut r = json!({"allow": self.below(2) == 0,
                            "access": *self.pick(&["r", "w", "m", "rw", "rwm", "mmm", "wm"])});
                        if self.below(3) > 0 {
                            r["type"] = json!(*self.pick(&["a", "b", "c", "u"]));
                        }
                        if self.below(2) == 0 {
                            r["major"] = json!(*self.pick(&[1i64, 7, 8, 10, -1]));
                        }
                        if self.below(2) == 0 {
                            r["minor"] = json!(*self.pick(&[0i64, 1, 3, 200]));
                        }
                        r
                    })
                    .collect();
                let list = doc["linux"]["resources"]["devices"].as_array_mut().unwrap();
                if self.below(2) == 0 {
                    list.clear();
                }
                list.extend(rules);
            }
            4 => {
                let rules: Vec<Value> = (0..self.below(3))
                    .map(|_| {
                        let mut r = json!({"names": [*self.pick(CALLS)],
                            "action": *self.pick(ACTIONS)});
                        if self.below(3) == 0 {
                            r["args"] = json!([{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]);
                        }
                        r
                    })
                    .collect();
                doc["linux"]["seccomp"] =
                    json!({"defaultAction": *self.pick(ACTIONS), "syscalls": rules});
            }
            5 => {
                let kind = *self.pick(&[
                    "prestart",
                    "createRuntime",
                    "createContainer",
                    "startContainer",
                    "poststart",
                    "poststop",
                ]);
                let path =
                    *self.pick(&["/bin/sh", "/proc/self/exe", "/proc/1/exe", "/bin/../bin/sh"]);
                doc["hooks"] = json!({ kind: [{"path": path}] });
            }
            6 if self.below(4) == 0 => {
                doc["root"]["path"] = json!(*self.pick(ROOTS));
            }
            6 => {
                let m = json!({"destination": "/data", "type": "bind",
                    "source": *self.pick(SOURCES), "options": self.options()});
                push(doc, "mounts", m);
            }
            7 if self.below(2) == 0 => match self.below(4) {
                0 => doc["linux"]["maskedPaths"] = json!([*self.pick(&["/", "/proc", "/."])]),
                1 => {
                    doc["linux"]["resources"]["unified"] =
                        json!({*self.pick(&["memory.max", "pids.max", "cgroup.procs"]): "max"})
                }
                2 => {
                    if let Some(rules) = doc
                        .pointer_mut("/process/landlock/rules/pathBeneath")
                        .and_then(|v| v.as_array_mut())
                    {
                        rules.push(json!({"allowedAccess": ["write_file"],
                            "paths": [*self.pick(&["/tmp/..", "/proc/self/root", "/proc"])]}));
                    }
                }
                _ => doc["root"]["path"] = json!(*self.pick(ROOTS)),
            },
            _ => {
                // A harmless edit, so that some configs pass.
                push(
                    doc,
                    "mounts",
                    json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "noexec"]}),
                );
            }
        }
    }
}

/// Docker's prestart hook is `/proc/<dockerd pid>/exe libnetwork-setkey ...`: allowed
/// under restricted when the operator lists the program that process runs, for the hooks
/// that run during create only; spelled any other way, or for a poststop hook, refused.
#[test]
fn a_hook_through_a_process_exe_is_judged_by_its_program() {
    let me = std::fs::canonicalize("/proc/self/exe").unwrap();
    let mut p = Profile::builtin("restricted").unwrap();
    p.allow_hooks(&[me.display().to_string()]);
    let base = compliant(&p);
    let hook = |kind: &str, path: &str| {
        let mut doc = base.clone();
        doc["hooks"] = json!({ kind: [{"path": path, "args": ["libnetwork-setkey", "x"]}] });
        let plan = planner(&doc).unwrap();
        policy::evaluate(&plan, &p, &RealHost, Scope::Container)
            .into_iter()
            .filter(|v| v.rule.id == "hooks")
            .flat_map(|v| v.details)
            .collect::<Vec<_>>()
    };
    let pid = format!("/proc/{}/exe", std::process::id());
    assert_eq!(hook("prestart", &pid), Vec::<String>::new());
    assert_eq!(hook("createRuntime", &pid), Vec::<String>::new());
    assert_eq!(
        hook("prestart", &me.display().to_string()),
        Vec::<String>::new()
    );
    assert_eq!(hook("poststop", &pid).len(), 1);
    assert_eq!(hook("prestart", "/proc/1/exe").len(), 1);
    // The listed program, reached through a `..` step: refused (the step could lead
    // elsewhere by the time the hook runs).
    let dir = me.parent().unwrap();
    let dotted = format!(
        "{}/../{}/{}",
        dir.display(),
        dir.file_name().unwrap().to_string_lossy(),
        me.file_name().unwrap().to_string_lossy()
    );
    assert_eq!(hook("poststart", &dotted).len(), 1);
}
