use crate::support::*;

#[test]
fn hostname_domainname_and_sysctl() {
    let mut b = Bundle::new("host");
    b.config["hostname"] = "box1".into();
    b.config["domainname"] = "example.test".into();
    b.config["linux"]["sysctl"] =
        serde_json::json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"});
    // With the default readonlyPaths, /proc/sys ends up read-only: sysctls go in first.
    let out = b.probe("hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward' 2>&1; true");
    assert_eq!(out, "box1\nexample.test\n1\n1000\nsh: can't create /proc/sys/net/ipv4/ip_forward: Read-only file system\n");
}

#[test]
fn sysctl_outside_a_namespace_is_refused() {
    let mut b = Bundle::new("sysctlhost");
    b.config["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"});
    let (code, _, err) = b.run();
    assert_eq!(code, 1);
    assert!(
        err.contains("linux.sysctl") && err.contains("kernel.panic"),
        "{err}"
    );
    b.assert_nothing_left();
}

#[test]
fn rlimits_and_oom_score() {
    let mut b = Bundle::new("limits");
    b.config["process"]["rlimits"] = serde_json::json!([
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 800},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
    ]);
    b.config["process"]["oomScoreAdj"] = 500.into();
    let out =
        b.probe("grep -E 'open files|core file' /proc/self/limits; cat /proc/self/oom_score_adj");
    assert!(
        out.lines().any(|l| l.starts_with("Max open files")
            && l.split_whitespace().collect::<Vec<_>>()[3..5] == ["512", "800"]),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Max core file size") && l.contains(" 0 ")),
        "{out}"
    );
    assert!(out.ends_with("500\n"), "{out}");
    // In a user namespace too (a Kubernetes pod with hostUsers: false): the runtime writes
    // it from the host's procfs, where the init, not dumpable, could not.
    let mut b = Bundle::new("limits-userns");
    with_userns(&mut b);
    b.config["process"]["oomScoreAdj"] = 0.into();
    assert_eq!(b.probe("cat /proc/self/oom_score_adj"), "0\n");
    b.config["process"]["oomScoreAdj"] = 300.into();
    assert_eq!(b.probe("cat /proc/self/oom_score_adj"), "300\n");
}

/// This machine cannot lower oom_score_adj (no CAP_SYS_RESOURCE in the bounding set); where
/// that is so, the error must say why. Where the capability exists, it must work.
#[test]
fn negative_oom_score_works_or_says_why() {
    let mut b = Bundle::new("oomneg");
    b.config["process"]["oomScoreAdj"] = (-100).into();
    b.script("cat /proc/self/oom_score_adj");
    let (code, out, err) = b.run();
    let has_sys_resource = caps::has_cap(
        None,
        caps::CapSet::Bounding,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap();
    if has_sys_resource {
        assert_eq!((code, out.as_str()), (0, "-100\n"), "{err}");
    } else {
        assert_eq!(code, 1);
        assert!(
            err.contains("oom_score_adj")
                && err.contains("oomScoreAdj")
                && err.contains("CAP_SYS_RESOURCE"),
            "{err}"
        );
        b.assert_nothing_left();
    }
}

/// `run -d` of a sleep; returns the init's pid and what the host's ionice(1) says of it.
fn run_detached_ionice(b: &mut Bundle) -> (String, String) {
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let init = b.state_json()["pid"].as_i64().unwrap().to_string();
    let io = std::process::Command::new("ionice")
        .args(["-p", &init])
        .output()
        .unwrap();
    (init, String::from_utf8_lossy(&io.stdout).into_owned())
}

/// process.scheduler and process.ioPriority reach the process (and what it starts); the
/// scheduler as /proc/self/stat's nice (field 19) and policy (field 41), the I/O priority
/// as the host's ionice(1) reads it.
#[test]
fn scheduler_and_io_priority() {
    let mut b = Bundle::new("sched");
    b.config["process"]["scheduler"] = serde_json::json!({"policy": "SCHED_BATCH", "nice": 7});
    b.config["process"]["ioPriority"] =
        serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    let (_, io) = run_detached_ionice(&mut b);
    assert_eq!(io, "best-effort: prio 6\n");
    let o = b.palisade(&["exec", &b.id, "awk", "{print $19, $41}", "/proc/self/stat"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "7 3\n", "nice 7, SCHED_BATCH (3)");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// The scheduler and I/O priority are applied with the container's own capabilities: a
/// negative nice value or the real-time I/O class needs CAP_SYS_NICE (not in runc spec's
/// default set) in the container's sets, else create fails naming the field and leaves
/// nothing behind. (Real-time CPU policies need that and a cgroup with real-time runtime:
/// linux.resources.cpu.realtimeRuntime on a kernel with RT group scheduling.)
#[test]
fn scheduling_needs_the_containers_own_capability() {
    let nice = serde_json::json!({"policy": "SCHED_OTHER", "nice": -5});
    let rt_io = serde_json::json!({"class": "IOPRIO_CLASS_RT", "priority": 0});
    for (field, value) in [("scheduler", &nice), ("ioPriority", &rt_io)] {
        let mut b = Bundle::new("rtsched");
        b.config["process"][field] = value.clone();
        let (code, _, err) = b.run_script("true");
        assert_eq!(code, 1, "{field}: {err}");
        assert!(
            err.contains("scheduling") && err.contains(&format!("process.{field}")),
            "{field}: {err}"
        );
        assert!(err.contains("Operation not permitted"), "{field}: {err}");
        b.assert_nothing_left();
    }
    let mut b = Bundle::new("rtnice");
    b.config["process"]["scheduler"] = nice;
    b.config["process"]["ioPriority"] = rt_io;
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_NICE".into());
    }
    let (init, io) = run_detached_ionice(&mut b);
    assert_eq!(io, "realtime: prio 0\n");
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    assert_eq!(fields[19 - 3], "-5", "nice: {stat}");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// Without process.user.umask the workload gets runc's 0022, not the caller's (a manager
/// started with umask 0077 is common).
#[test]
fn the_default_umask_is_runcs_not_the_callers() {
    use std::os::unix::process::CommandExt;
    let mut b = Bundle::new("umask");
    b.script("umask");
    b.write();
    let mut c = b.cmd(&["run", &b.id]);
    // SAFETY: umask(2) cannot fail and touches no memory; nothing else runs in the child
    // between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    let o = output_via_files(c, b.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0022\n");
}

/// A name given twice: the last value, as runc gives it (getenv would find the first).
#[test]
fn a_name_given_twice_keeps_its_last_value() {
    let mut b = Bundle::new("envdup");
    let env = b.config["process"]["env"].as_array_mut().unwrap();
    env.push("TWICE=first".into());
    env.push("TWICE=last".into());
    assert_eq!(b.probe("echo $TWICE; env | grep -c '^TWICE='"), "last\n1\n");
}

/// HOME as runc sets it: the user's home in the image's /etc/passwd where the environment
/// has none, `/` for a user it does not list; the environment's own wins. A FIFO planted at
/// /etc/passwd by the image is not read (nor does it hang the start).
#[test]
fn home_comes_from_the_images_passwd() {
    let home = |uid: u32, env: Option<&str>, fifo: bool| {
        let mut b = Bundle::new("home");
        b.config["process"]["user"] = serde_json::json!({"uid": uid, "gid": uid});
        let list = b.config["process"]["env"].as_array_mut().unwrap();
        list.retain(|e| !e.as_str().unwrap_or_default().starts_with("HOME="));
        if let Some(e) = env {
            list.push(e.into());
        }
        if fifo {
            let p = b.rootfs().join("etc/passwd");
            std::fs::remove_file(&p).unwrap();
            nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        }
        b.probe("echo $HOME")
    };
    assert_eq!(home(1000, None, false), "/home/user\n");
    assert_eq!(home(0, None, false), "/root\n");
    assert_eq!(home(4242, None, false), "/\n");
    assert_eq!(home(1000, Some("HOME=/data"), false), "/data\n");
    assert_eq!(home(1000, None, true), "/\n");
}

/// A non-root workload writes to /dev/stdout when its stdio is the manager's pipe (the
/// pipe is handed to it, as runc does); a host file given as stdio keeps its owner.
#[test]
fn stdio_pipes_are_handed_to_the_containers_user() {
    use std::os::unix::fs::MetadataExt;
    let mut b = Bundle::new("stdio");
    b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    b.script("echo to-stdout > /dev/stdout && echo to-stderr > /dev/stderr");
    b.write();
    let o = b.cmd(&["run", &b.id]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "to-stdout\n");
    assert!(stderr(&o).contains("to-stderr"), "{}", stderr(&o));
    // Through files of the host's: written through the descriptor, never re-owned.
    let mut b = Bundle::new("stdio-file");
    b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    b.script("echo through-fd");
    b.write();
    let o = output_via_files(b.cmd(&["run", &b.id]), b.path());
    assert!(o.status.success(), "{}", stderr(&o));
    for e in std::fs::read_dir(b.path()).unwrap().flatten() {
        if e.path().is_file() {
            assert_ne!(e.metadata().unwrap().uid(), 1000, "{}", e.path().display());
        }
    }
}

#[test]
fn user_groups_umask_env_and_cwd() {
    let mut b = Bundle::new("user");
    b.config["process"]["user"] =
        serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 63});
    b.config["process"]["cwd"] = "/home/user".into();
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push("GREETING=hello there".into());
    let out = b.probe("id -u; id -g; id -G; umask; pwd; echo $GREETING; grep -E '^(Uid|Gid|Groups)' /proc/self/status");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(
        &l[..6],
        [
            "1000",
            "1000",
            "1000 5 65534",
            "0077",
            "/home/user",
            "hello there"
        ],
        "{out}"
    );
}

#[test]
fn capabilities_are_exactly_the_spec_sets() {
    let mut b = Bundle::new("caps");
    b.config["process"]["capabilities"] = serde_json::json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL", "CAP_CHOWN"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"],
        "ambient": []
    });
    let out = b.probe("grep ^Cap /proc/self/status");
    // CHOWN=0, KILL=5, NET_BIND_SERVICE=10. (For uid 0, execve makes effective = permitted.)
    assert!(out.contains("CapInh:\t0000000000000000"), "{out}");
    assert!(out.contains("CapPrm:\t0000000000000021"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000021"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000000"), "{out}");
}

#[test]
fn ambient_capabilities_reach_a_non_root_user() {
    let mut b = Bundle::new("ambient");
    b.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
    let c = serde_json::json!(["CAP_NET_BIND_SERVICE"]);
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        b.config["process"]["capabilities"][set] = c.clone();
    }
    let out = b.probe("grep -E '^Cap(Eff|Amb)' /proc/self/status");
    assert!(
        out.contains("CapEff:\t0000000000000400") && out.contains("CapAmb:\t0000000000000400"),
        "{out}"
    );
}

#[test]
fn no_new_privileges_follows_the_spec() {
    let mut b = Bundle::new("nnp");
    assert!(b
        .probe("grep NoNewPrivs /proc/self/status")
        .contains("NoNewPrivs:\t1"));
    b.config["process"]["noNewPrivileges"] = false.into();
    assert!(b
        .probe("grep NoNewPrivs /proc/self/status")
        .contains("NoNewPrivs:\t0"));
}

#[test]
fn preserve_fds_passes_exactly_those() {
    let mut b = Bundle::new("fds");
    b.script("ls /proc/self/fd | sort -n | tr '\\n' ' '; cat <&3");
    b.write();
    // fd 3 is preserved, fd 4 is not and must not reach the container.
    let outer = format!(
        "exec 3<{} 4</etc/hostname; exec \"$0\" --root {} run --preserve-fds 1 {}",
        b.rootfs().join("etc/motd").display(),
        b.state.display(),
        b.id
    );
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &outer, BIN])
        .current_dir(b.path())
        .env("PALISADE_TEST_MARK", &b.id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    // ls opens one directory itself (the lowest free number, 4); nothing else is open.
    assert!(s.starts_with("0 1 2 3 4 palisade test rootfs"), "{s}");
}

#[test]
fn session_keyring_is_the_containers_own_unless_asked() {
    let mut b = Bundle::new("keyring");
    b.script("true");
    let ring = format!("_ses.{}", b.id);
    assert!(b.palisade(&["create", &b.id]).status.success());
    assert!(
        std::fs::read_to_string("/proc/keys")
            .unwrap()
            .contains(&ring),
        "no {ring} keyring"
    );
    assert!(b.palisade(&["delete", &b.id]).status.success());
    // A dead keyring lingers until the kernel collects it: use another id.
    let other = format!("{}-nk", b.id);
    assert!(b
        .palisade(&["create", "--no-new-keyring", &other])
        .status
        .success());
    let keys = std::fs::read_to_string("/proc/keys").unwrap();
    assert!(
        !keys.contains(&format!("_ses.{other}")),
        "--no-new-keyring made one"
    );
    assert!(b.palisade(&["delete", &other]).status.success());
}
