//! The policy judges what the container reaches, not how the config spells it: hostile
//! configs, each one edit away from a compliant one, refused by the real binary before
//! anything exists; hooks recorded under baseline and refused under restricted.

use serde_json::{json, Value};

use crate::support::*;

fn operator(b: &mut Bundle, profile: &str, extra: &str) -> std::path::PathBuf {
    b.under_profile(profile, extra)
}

fn push_mount(b: &mut Bundle, m: Value) {
    b.config["mounts"].as_array_mut().unwrap().push(m);
}

type Edit = (&'static str, &'static str, fn(&mut Bundle));

/// (what, what the refusal names, the edit)
const HOSTILE: &[Edit] = &[
    (
        "the host's mount namespace",
        "in a new mount namespace only",
        |b| {
            let list = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != "mount");
            list.push(json!({"type": "mount", "path": "/proc/1/ns/mnt"}));
        },
    ),
    (
        "the host's network namespace via /proc/self",
        "[host-network-namespace]",
        |b| {
            let list = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != "network");
            list.push(json!({"type": "network", "path": "/proc/self/ns/net"}));
        },
    ),
    ("a second proc", "[kernel-filesystems] mounts[", |b| {
        push_mount(
            b,
            json!({"destination": "/p", "type": "proc", "source": "proc"}),
        )
    }),
    ("cgroup2 writable elsewhere", "[kernel-filesystems]", |b| {
        push_mount(
            b,
            json!({"destination": "/cg", "type": "cgroup2", "source": "cgroup2", "options": ["rw"]}),
        )
    }),
    ("debugfs", "[kernel-filesystems]", |b| {
        push_mount(
            b,
            json!({"destination": "/dbg", "type": "debugfs", "source": "debugfs"}),
        )
    }),
    (
        "an overlay writing to the host's /etc",
        "[host-mounts]",
        |b| {
            push_mount(
                b,
                json!({"destination": "/o", "type": "overlay", "source": "overlay",
                   "options": ["lowerdir=/usr,upperdir=/etc,workdir=/tmp"]}),
            )
        },
    ),
    (
        "a recursive bind of the root filesystem (its proc, unmasked)",
        "carrying the container's own mounts",
        |b| {
            push_mount(
                b,
                json!({"destination": "/rw", "type": "bind", "source": "rootfs", "options": ["rbind"]}),
            )
        },
    ),
    (
        "a recursive bind of the bundle",
        "carrying the container's own mounts",
        |b| {
            let dir = b.path().to_path_buf();
            push_mount(
                b,
                json!({"destination": "/b", "type": "bind", "source": dir, "options": ["rbind", "ro"]}),
            )
        },
    ),
    (
        "overlay options longer than mount(2) reads",
        "4095 bytes",
        |b| {
            let pad = vec!["index=off"; 500].join(",");
            push_mount(
                b,
                json!({"destination": "/o", "type": "overlay", "source": "overlay",
                       "options": [pad, "lowerdir=/etc"]}),
            )
        },
    ),
    (
        "an allow-everything seccomp filter",
        "[seccomp-enabled]",
        |b| {
            b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ERRNO"}]});
        },
    ),
    ("a writable bind of /usr/local", "[host-mounts]", |b| {
        push_mount(
            b,
            json!({"destination": "/l", "type": "bind", "source": "/usr/local", "options": ["rbind"]}),
        )
    }),
    // The root, devices by identity, idmapped ownership, what the init grants as root.
    (
        "root.path a host directory outside the bundle",
        "is a host directory outside the bundle",
        |b| {
            let dir = host_dir(b);
            b.config["root"] = json!({"path": dir, "readonly": true});
        },
    ),
    (
        "root.path a user's runtime directory",
        "lies in the host's /run/user",
        |b| {
            let dir = format!("/run/user/palisade-it-{}", b.id);
            std::fs::create_dir_all(&dir).unwrap();
            b.config["root"] = json!({"path": dir, "readonly": true});
        },
    ),
    (
        "the host's console by another name",
        "[host-devices]",
        |b| {
            b.config["linux"]["devices"] = json!([{"path": "/dev/hostconsole", "type": "c",
            "major": 5, "minor": 1, "fileMode": 438}]);
        },
    ),
    (
        "an idmapped bind making host root the owner",
        "[idmapped-mounts]",
        |b| {
            std::fs::create_dir_all(b.path().join("data")).unwrap();
            b.config["process"]["user"] = json!({"uid": 65534, "gid": 65534});
            let map = json!([{"containerID": 0, "hostID": 65534, "size": 1}]);
            push_mount(
                b,
                json!({"destination": "/data", "type": "bind", "source": "data",
                       "options": ["rbind", "rw", "idmap"], "uidMappings": map, "gidMappings": map}),
            )
        },
    ),
    ("RLIMIT_RTPRIO and SCHED_FIFO", "[scheduling]", |b| {
        b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_RTPRIO", "soft": 99, "hard": 99}]);
        b.config["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 99});
    }),
    ("oomScoreAdj -1000", "[oom-score-adj]", |b| {
        b.config["process"]["oomScoreAdj"] = json!(-1000);
    }),
    ("seccomp SPEC_ALLOW", "[seccomp-flags]", |b| {
        b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO",
            "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]});
    }),
    (
        "a seccomp listener at the Docker socket",
        "[runtime-sockets]",
        |b| {
            b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO",
                "listenerPath": "/run/docker.sock",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
        },
    ),
    (
        "a device file as a namespace",
        "is not a namespace file",
        |b| {
            let list = b.config["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != "network");
            list.push(json!({"type": "network", "path": "/dev/null"}));
        },
    ),
];

/// A host directory outside the bundle with a secret in it (the issue's /srv/hostapp),
/// removed with the bundle's temporary directory's parent test.
fn host_dir(b: &Bundle) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-it-hostapp-{}", b.id));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), "host's").unwrap();
    dir
}

/// A bind source inside the container's own root filesystem, resolved after proc is
/// mounted there, would be the host's / (`rootfs/proc/self/root`). The policy judges the
/// object the source opens to when checked, and the runtime makes every bind before the
/// container has any mount, checking it is still that object.
#[test]
fn a_bind_source_through_the_containers_proc_never_reaches_the_host() {
    // Not there when checked: it cannot be judged, so baseline refuses it.
    let mut b = Bundle::new("exp-pin-absent");
    operator(&mut b, "baseline", "");
    push_mount(
        &mut b,
        json!({"destination": "/h", "type": "bind", "source": "rootfs/proc/self/root", "options": ["rbind", "ro"]}),
    );
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot be opened on the host now"),
        "{}",
        stderr(&o)
    );
    b.assert_nothing_left();

    // There when checked (a directory of the image): the runtime opens every bind source
    // in its own mount namespace before any mount of the container exists, so the path
    // leads to that directory, never through the container's proc to the host's /.
    let mut b = Bundle::new("exp-pin-image");
    operator(&mut b, "baseline", "");
    let dir = b.rootfs().join("proc/self/root");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker"), "").unwrap();
    push_mount(
        &mut b,
        json!({"destination": "/h", "type": "bind", "source": "rootfs/proc/self/root", "options": ["bind", "ro"]}),
    );
    let out = b.probe("ls /h");
    assert_eq!(out, "marker\n");
}

/// `maskedPaths: ["/"]` masks nothing (a mount over the root is never crossed by a
/// lookup): baseline does not count it, adds the masks, and the container's /proc/sys is
/// read-only.
#[test]
fn a_mask_over_the_root_does_not_count() {
    let mut b = Bundle::new("exp-mask-root");
    operator(&mut b, "baseline", "");
    b.config["linux"]["maskedPaths"] = json!(["/"]);
    b.config["linux"]["readonlyPaths"] = json!(["/"]);
    let out = b.probe(
        "if echo x > /proc/sys/kernel/core_pattern 2>/dev/null; then echo WROTE; else echo DENIED; fi; \
         if head -c1 /proc/kcore >/dev/null 2>&1; then echo READ; else echo MASKED; fi",
    );
    assert!(out.contains("DENIED") && out.contains("MASKED"), "{out}");
}

/// Tried as an attacker who writes config.json would: each edit is refused under baseline,
/// the refusal names what it reaches, and nothing is left behind.
#[test]
fn hostile_configs_are_refused_before_anything_exists() {
    for (what, names, edit) in HOSTILE {
        let mut b = Bundle::new("exp-hostile");
        operator(&mut b, "baseline", "");
        edit(&mut b);
        let o = b.palisade(&["create", &b.id]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{what} was created");
        assert!(err.contains(names), "{what}: {err}");
        b.assert_nothing_left();
        let _ = std::fs::remove_dir(format!("/run/user/palisade-it-{}", b.id));
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("palisade-it-hostapp-{}", b.id)),
        );
    }
}

/// What restricted adds: limits that bound something, and no host root's files through a
/// mount mapped like the user namespace.
#[test]
fn restricted_refuses_limits_that_bound_nothing_and_root_owned_writes() {
    let cases: &[Edit] = &[
        (
            "root.path a host directory outside the bundle",
            "is a host directory outside the bundle",
            |b| {
                let dir = host_dir(b);
                b.config["root"] = json!({"path": dir, "readonly": true});
            },
        ),
        (
            "a memory limit above the host's memory",
            "it limits nothing",
            |b| b.config["linux"]["resources"]["memory"] = json!({"limit": 1i64 << 60}),
        ),
        (
            "root in a user namespace writing through a mount mapped like it",
            "[idmapped-mounts]",
            |b| {
                with_userns(b);
                b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
                std::fs::create_dir_all(b.path().join("data")).unwrap();
                let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                push_mount(
                    b,
                    json!({"destination": "/data", "type": "bind", "source": "data",
                           "options": ["rbind", "rw", "noexec", "idmap"], "uidMappings": map, "gidMappings": map}),
                )
            },
        ),
    ];
    for (what, names, edit) in cases {
        let mut b = Bundle::new("exp-strict");
        b.config = restricted_config(&b);
        operator(&mut b, "restricted", "");
        edit(&mut b);
        let o = b.palisade(&["create", &b.id]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what} was created: {err}");
        assert!(err.contains(names), "{what}: {err}");
        b.assert_nothing_left();
    }
    // The host directory named as the root got no mount point, device or file.
    let b = Bundle::new("exp-strict");
    let dir = host_dir(&b);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["secret"], "{}", dir.display());
    std::fs::remove_dir_all(dir).unwrap();
}

/// A pty given as a device in a user namespace would be the host's node, bound in: the
/// runtime refuses to bind it whatever the profile (here unconfined), and the host's
/// terminal stays out.
#[test]
fn a_host_pty_is_never_bound_into_a_user_namespace() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let name = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
    ))
    .unwrap();
    let rdev = nix::sys::stat::stat(&name).unwrap().st_rdev;
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let mut b = Bundle::new("exp-pty");
    with_userns(&mut b);
    b.config["linux"]["devices"] =
        json!([{"path": name, "type": "c", "major": major, "minor": minor}]);
    b.script("echo hello > /dev/pts/* 2>/dev/null; true");
    let (code, out, err) = b.run();
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("is a pty of the host's"), "{err}");
    b.assert_nothing_left();
}

/// The same check with `palisade check`, which explains by exposure.
#[test]
fn check_explains_by_exposure() {
    let mut b = Bundle::new("exp-check");
    push_mount(
        &mut b,
        json!({"destination": "/p", "type": "proc", "source": "proc"}),
    );
    b.write();
    let o = bin()
        .args(["check", "--profile", "baseline"])
        .arg(b.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("(proc at /p) exposes /proc/sys"),
        "{out}{}",
        stderr(&o)
    );
}

/// A prestart hook runs on the host as root: baseline runs it and records it in the audit
/// record; restricted refuses it (nothing runs) unless the operator lists the program.
#[test]
fn hooks_are_recorded_under_baseline_and_refused_under_restricted() {
    let marker = |b: &Bundle| b.path().join("hook-ran");
    let hook = |b: &Bundle| {
        json!({"prestart": [{"path": "/bin/sh",
            "args": ["sh", "-c", format!("touch {}", marker(b).display())]}]})
    };

    let mut b = Bundle::new("exp-hook-base");
    let audit = operator(&mut b, "baseline", "");
    b.config["hooks"] = hook(&b);
    b.probe("true");
    assert!(marker(&b).exists(), "baseline did not run the hook");
    let records = std::fs::read_to_string(&audit).unwrap();
    let created: Value = records
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["command"] == "create" || r["command"] == "run")
        .unwrap();
    assert_eq!(
        created["applied"]["hooks"][0]["kind"], "prestart",
        "{created}"
    );
    assert_eq!(
        created["applied"]["hooks"][0]["path"], "/bin/sh",
        "{created}"
    );

    let mut b = Bundle::new("exp-hook-restr");
    b.config = restricted_config(&b);
    operator(&mut b, "restricted", "");
    b.config["hooks"] = hook(&b);
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("[hooks]"), "{}", stderr(&o));
    assert!(!marker(&b).exists(), "a refused create ran the hook");
    b.assert_nothing_left();

    // The operator lists /bin/sh: the hook is allowed (a choice the operator makes).
    let mut b = Bundle::new("exp-hook-listed");
    b.config = restricted_config(&b);
    operator(&mut b, "restricted", "hooks = [\"/bin/sh\"]\n");
    b.config["hooks"] = hook(&b);
    b.probe("true");
    assert!(marker(&b).exists(), "the listed hook did not run");
}

/// The runtime's own directory is something the host executes as root: baseline refuses a
/// writable bind of it, found from the path the runtime was invoked by (it runs from a
/// sealed copy of itself, whose own path says nothing).
#[test]
fn a_writable_bind_of_the_runtimes_directory_is_refused() {
    let mut b = Bundle::new("exp-self");
    operator(&mut b, "baseline", "");
    let exe = std::path::PathBuf::from(bin().get_program());
    let dir = exe.parent().unwrap().canonicalize().unwrap();
    push_mount(
        &mut b,
        json!({"destination": "/self", "type": "bind", "source": dir, "options": ["rbind", "rw"]}),
    );
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("which the host executes or trusts"),
        "{}",
        stderr(&o)
    );
    b.assert_nothing_left();
    // Read-only, it is allowed.
    let mut b = Bundle::new("exp-self-ro");
    operator(&mut b, "baseline", "");
    push_mount(
        &mut b,
        json!({"destination": "/self", "type": "bind", "source": dir, "options": ["rbind", "rro"]}),
    );
    b.probe("test -d /self");
}
