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
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            std::os::fd::AsRawFd::as_raw_fd(&conn),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = None;
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(f) = c {
                fd = f.first().copied();
            }
        }
        let n = msg.bytes;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.unwrap())).unwrap();
        (
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            link.display().to_string(),
        )
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
