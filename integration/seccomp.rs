//! linux.seccomp, checked from inside the container.

use crate::support::*;

fn with_filter(b: &mut Bundle, filter: serde_json::Value) {
    b.config["linux"]["seccomp"] = filter;
}

#[test]
fn denied_syscall_returns_the_configured_errno() {
    let mut b = Bundle::new("sc-errno");
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]
        }),
    );
    let out = b.probe("grep -E '^Seccomp(_filters)?:' /proc/self/status; mkdir /tmp/x 2>&1; true");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("Seccomp_filters:\t1"), "{out}");
    assert!(
        out.contains("Input/output error"),
        "EIO (5) expected: {out}"
    );
}

#[test]
fn argument_conditions_select_calls() {
    let mut b = Bundle::new("sc-args");
    // kill(pid, sig): refuse SIGUSR1 (10) or SIGUSR2 (12): one index twice means OR.
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"},
                                   {"index": 1, "value": 12, "op": "SCMP_CMP_EQ"}]}]
        }),
    );
    let out = b.probe("trap '' USR1 USR2 HUP; kill -USR1 $$ 2>&1; kill -USR2 $$ 2>&1; kill -HUP $$ && echo hup-sent");
    assert_eq!(out.matches("Operation not permitted").count(), 2, "{out}");
    assert!(out.contains("hup-sent"), "{out}");
}

#[test]
fn kill_actions_kill_the_process() {
    let mut b = Bundle::new("sc-kill");
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"}]
        }),
    );
    // busybox runs uname inside the shell itself: the container's process dies of SIGSYS
    // and run reports 128 + 31.
    b.script("uname >/dev/null; echo survived");
    let (code, out, _) = b.run();
    assert_eq!((code, out.as_str()), (159, ""));
    b.assert_nothing_left();
}

#[test]
fn default_deny_with_an_allow_list() {
    let mut b = Bundle::new("sc-deny");
    // Allow only what a static busybox `true` after execve needs; anything else is EPERM.
    let allowed = [
        "execve",
        "brk",
        "arch_prctl",
        "set_tid_address",
        "exit_group",
        "exit",
        "getuid",
        "geteuid",
        "uname",
        "readlink",
        "mprotect",
        "prlimit64",
        "getrandom",
        "rseq",
        "set_robust_list",
        "write",
    ];
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]
        }),
    );
    b.config["process"]["args"] = serde_json::json!(["/bin/true"]);
    let (code, _, err) = b.run();
    assert_eq!(code, 0, "{err}");
    // The same filter stops a shell that wants to open files.
    b.script("cat /etc/motd");
    let (code, _, _) = b.run();
    assert_ne!(code, 0);
}

#[test]
fn without_no_new_privileges_the_filter_is_loaded_before_capabilities_drop() {
    let mut b = Bundle::new("sc-nonnp");
    b.config["process"]["noNewPrivileges"] = false.into();
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let out = b.probe(
        "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; mkdir /tmp/x 2>&1; true",
    );
    assert!(
        out.contains("Seccomp:\t2") && out.contains("NoNewPrivs:\t0"),
        "{out}"
    );
    assert!(
        out.contains("CapEff:\t0000000020000420"),
        "capabilities still dropped: {out}"
    );
    assert!(out.contains("Operation not permitted"), "{out}");
}

#[test]
fn unknown_syscall_names_are_skipped_bad_filters_fail_create() {
    let mut b = Bundle::new("sc-unknown");
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_syscall_at_all", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let (code, _, err) = b.run_script("true");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no_such_syscall_at_all"),
        "a warning names it: {err}"
    );
    with_filter(
        &mut b,
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}),
    );
    let (code, _, err) = b.run_script("true");
    assert_eq!(code, 1);
    assert!(
        err.contains("seccomp") || err.contains("config.json"),
        "{err}"
    );
    b.assert_nothing_left();
}

#[test]
fn notify_listener_receives_the_fd_and_state() {
    use std::os::unix::net::UnixListener;
    let mut b = Bundle::new("sc-notify");
    let sock = b.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    with_filter(
        &mut b,
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "agent-meta",
            "syscalls": [{"names": ["swapon"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    b.script("echo running");
    let received = receive_one_fd(listener);
    let agent = std::thread::spawn(move || {
        let (data, fd) = received.join().unwrap();
        let link = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
        .unwrap();
        (data, link.display().to_string())
    });
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "running\n");
    let (json, link) = agent.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["metadata"], "agent-meta");
    assert_eq!(v["fds"][0], "seccompFd");
    assert_eq!(v["state"]["id"], b.id.as_str());
    assert!(v["pid"].as_i64().unwrap() > 1);
    assert!(link.contains("seccomp"), "{link}");
}

/// Docker's default allowlist of late 2019 (integration/data/docker-2019-syscalls.txt says
/// where it comes from): default errno EPERM, the classic calls allowed, clone only without
/// namespace flags and personality only for its common values, as the profile had them.
fn allowlist_of_2019() -> serde_json::Value {
    let names: Vec<&str> = include_str!("data/docker-2019-syscalls.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let personality: Vec<serde_json::Value> = [0u64, 8, 0x20000, 0x20008, 0xffffffff]
        .iter()
        .map(|v| {
            serde_json::json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                    "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let mut syscalls = vec![
        serde_json::json!({"names": names, "action": "SCMP_ACT_ALLOW"}),
        serde_json::json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2080505856u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}),
    ];
    syscalls.extend(personality);
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls
    })
}

/// Tried as a new user would: `spec`'s config with an allowlist written before openat2,
/// close_range and clone3 existed, and noNewPrivileges unset, so the filter is loaded early
/// (seccomp_early) and every later step of the init runs under it. runc runs this config;
/// so must palisade, under no profile and under baseline, for `run` and for `exec`.
#[test]
fn an_allowlist_of_2019_runs_with_an_early_filter() {
    for profile in ["unconfined", "baseline"] {
        let mut b = Bundle::new(&format!("sc-2019-{profile}"));
        b.under_profile(profile, "");
        with_filter(&mut b, allowlist_of_2019());
        b.config["process"]
            .as_object_mut()
            .unwrap()
            .remove("noNewPrivileges");
        b.config["process"]["cwd"] = "/tmp".into();
        // A startContainer hook runs under the filter too (the runtime forks it).
        b.config["hooks"] = serde_json::json!({"startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", "echo hooked > /tmp/hook"]}]});
        let out = b.probe(
            "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; pwd; \
             ls /proc/self/fd | wc -l; (echo in-a-child); mkdir /tmp/d && echo made; cat /tmp/hook",
        );
        assert!(out.contains("Seccomp:\t2"), "{profile}: {out}");
        assert!(out.contains("NoNewPrivs:\t0"), "{profile}: {out}");
        assert!(out.contains("/tmp\n"), "{profile}: {out}");
        assert!(out.contains("in-a-child"), "{profile}: {out}");
        assert!(out.contains("made"), "{profile}: {out}");
        assert!(out.contains("hooked"), "{profile}: {out}");
        // A call the list does not name fails with its errno.
        assert!(
            !b.probe("unshare -U true 2>&1; echo rc=$?").contains("rc=0"),
            "{profile}: unshare must be denied"
        );
        // exec runs the same steps under the same filter.
        b.script("sleep 100");
        let o = b.palisade(&["run", "-d", &b.id]);
        assert!(o.status.success(), "{profile}: {}", stderr(&o));
        let o = b.palisade(&[
            "exec",
            "--cwd",
            "/tmp",
            &b.id,
            "sh",
            "-c",
            "pwd; grep ^Seccomp: /proc/self/status",
        ]);
        assert!(o.status.success(), "{profile}: exec: {}", stderr(&o));
        assert!(
            stdout(&o).contains("/tmp\nSeccomp:\t2"),
            "{profile}: {}",
            stdout(&o)
        );
        let o = b.palisade(&["delete", "--force", &b.id]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

/// The system calls the init makes after an early filter is loaded, as strace sees them,
/// are those `LATE_SYSCALLS` lists: a new call in a late step cannot slip in unnoticed.
/// Traced for `run` (strace follows the init to the end) and for `exec`, each from the
/// filter's load to the workload's execve.
#[test]
fn the_late_steps_make_only_the_listed_calls() {
    let listed: std::collections::BTreeSet<&str> = palisade::process::init::LATE_SYSCALLS
        .iter()
        .flat_map(|(_, calls)| calls.iter().copied())
        .collect();
    let mut b = Bundle::new("sc-late");
    // Allows everything, so that each call is seen as made; one rule to make it a filter.
    with_filter(
        &mut b,
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    b.config["process"]["noNewPrivileges"] = false.into();
    b.config["process"]["args"] = serde_json::json!(["true"]);
    b.write();
    let trace = b.path().join("run.trace");
    fn traced(b: &Bundle, args: &[&str], out: &std::path::Path) {
        let mut c = b.cmd(args);
        let mut t = std::process::Command::new("strace");
        t.args(["-f", "-qq", "-o"])
            .arg(out)
            .arg(c.get_program())
            .args(c.get_args());
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                t.env(k, v);
            }
        }
        t.current_dir(b.path());
        c = t;
        let o = output_via_files(c, b.path());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    traced(&b, &["run", &b.id], &trace);
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exec_trace = b.path().join("exec.trace");
    traced(&b, &["exec", &b.id, "true"], &exec_trace);
    for t in [trace, exec_trace] {
        let calls = calls_after_filter(&std::fs::read_to_string(&t).unwrap());
        assert!(!calls.is_empty(), "{}: no filter load traced", t.display());
        let extra: Vec<&String> = calls
            .iter()
            .filter(|c| !listed.contains(c.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{}: calls after the early filter that LATE_SYSCALLS does not list: {extra:?}",
            t.display()
        );
    }
}

/// The calls of the process that loaded a filter, from that load up to its next execve
/// (strace -f output: "PID name(args) = ret").
fn calls_after_filter(trace: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut init: Option<&str> = None;
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !rest[name.len()..].starts_with('(') {
            continue; // "<... resumed>", "+++ exited", signals
        }
        match init {
            None if name == "seccomp"
                && rest.contains("SECCOMP_SET_MODE_FILTER")
                && rest.contains("filter=")
                && rest.trim_end().ends_with("= 0") =>
            {
                init = Some(pid);
            }
            Some(p) if p == pid => {
                out.insert(name.clone());
                if name == "execve" {
                    break;
                }
            }
            _ => {}
        }
    }
    out
}

/// A config's own early filter (noNewPrivileges false) cannot keep the runtime from dropping
/// privilege: the bounding set is dropped before the filter exists, so a filter answering
/// PR_CAPBSET_READ with EINVAL changes nothing; a filter that would fake success for the
/// identity and capability calls is refused before anything exists.
#[test]
fn an_early_filter_cannot_keep_privileges() {
    let mut b = Bundle::new("sc-early-priv");
    b.config["process"]["noNewPrivileges"] = false.into();
    b.config["process"]["capabilities"] = serde_json::json!({
        "bounding": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"]});
    with_filter(
        &mut b,
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["prctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                          "args": [{"index": 0, "value": 23, "op": "SCMP_CMP_EQ"}]}]}),
    );
    let out = b.probe("grep -E '^Cap(Bnd|Prm|Eff):' /proc/self/status");
    for set in ["CapBnd", "CapPrm", "CapEff"] {
        assert!(out.contains(&format!("{set}:\t0000000000000001")), "{out}");
    }
    with_filter(
        &mut b,
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["capset", "setresuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}),
    );
    b.script("true");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(
        err.contains("linux.seccomp") && err.contains("noNewPrivileges"),
        "{err}"
    );
    b.assert_nothing_left();
}
