//! `exec`: a process entering a running container gets its namespaces, cgroup, and
//! the container's capabilities, no_new_privs, seccomp filter and Landlock domain.

use std::time::{Duration, Instant};

use crate::support::*;

fn running(b: &mut Bundle) {
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn exec(b: &Bundle, args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    let o = b.palisade(&full);
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

/// `exec -d --pid-file` of a sleep; returns the host pid from the pid file.
fn exec_detached_sleep(b: &Bundle) -> i32 {
    let pidfile = b.path().join("exec.pid");
    let (code, _, err) = exec(
        b,
        &[
            "-d",
            "--pid-file",
            pidfile.to_str().unwrap(),
            &b.id,
            "sleep",
            "30",
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn exec_joins_the_container() {
    let mut b = Bundle::new("ex-join");
    b.config["hostname"] = "exbox".into();
    running(&mut b);
    let init = b.state_json()["pid"].as_i64().unwrap();
    let (code, out, err) = exec(&b, &[&b.id, "sh", "-c",
        "hostname; echo $$; cat /etc/motd; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; readlink /proc/self/ns/net; grep -E '(:memory:|^0::)' /proc/self/cgroup | tail -1; exit 6"]);
    assert_eq!(code, 6, "{err}");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "exbox");
    assert_ne!(l[1], "1", "not the init");
    assert!(
        l[1].parse::<u32>().unwrap() < 100,
        "a pid of the container's namespace: {}",
        l[1]
    );
    assert_eq!(l[2], "palisade test rootfs");
    assert_eq!(l[3], "CapEff:\t0000000020000420");
    assert_eq!(l[4], "NoNewPrivs:\t1");
    assert_eq!(
        l[5],
        std::fs::read_link(format!("/proc/{init}/ns/net"))
            .unwrap()
            .display()
            .to_string()
    );
    assert!(
        l[6].ends_with(":/"),
        "the container's cgroup (its namespace root): {}",
        l[6]
    );
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// exec reads the config the container was created from, kept in its state directory: the
/// bundle's own bytes when the profile changed nothing. It still runs, with the created
/// config's environment, after the bundle's config.json is overwritten with garbage.
#[test]
fn exec_reads_the_config_as_created() {
    let mut b = Bundle::new("ex-kept");
    b.config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push("KEPT=as-created".into());
    running(&mut b);
    let given = std::fs::read(b.path().join("config.json")).unwrap();
    let kept = std::fs::read(b.state.join(&b.id).join("config.json")).unwrap();
    assert!(
        kept == given,
        "unhardened, the state keeps the bundle's bytes"
    );
    std::fs::write(b.path().join("config.json"), "{not json").unwrap();
    let o = output_via_files(b.cmd(&["exec", &b.id, "sh", "-c", "echo $KEPT"]), b.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "as-created");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn exec_overrides_and_detach() {
    let mut b = Bundle::new("ex-opts");
    running(&mut b);
    let (code, out, err) = exec(
        &b,
        &[
            "--user",
            "1000:1000",
            "--env",
            "FOO=bar",
            "--cwd",
            "/tmp",
            &b.id,
            "sh",
            "-c",
            "id -u; id -g; echo $FOO; pwd",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1000\n1000\nbar\n/tmp\n");
    let pid = exec_detached_sleep(&b);
    // The detached process may still be on its way to execve when exec returns.
    let deadline = Instant::now() + Duration::from_secs(5);
    let cmd = loop {
        let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
        if cmd.starts_with("sleep\0") || Instant::now() > deadline {
            break cmd;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(cmd.starts_with("sleep\0"), "{cmd:?}");
    // A failed exec exits 255, as runc's does (not 1, which the process could return).
    let (code, _, err) = exec(&b, &[&b.id, "no-such-command"]);
    assert_eq!(code, 255);
    assert!(err.contains("not found in $PATH"), "{err}");
    let proc_json = b.path().join("process.json");
    std::fs::write(&proc_json, serde_json::json!({"args": ["sh", "-c", "echo from-json $X"], "cwd": "/", "env": ["X=1"], "user": {"uid": 0, "gid": 0}}).to_string()).unwrap();
    let (code, out, err) = exec(&b, &["--process", proc_json.to_str().unwrap(), &b.id]);
    assert_eq!((code, out.as_str()), (0, "from-json 1\n"), "{err}");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    let (code, _, err) = exec(&b, &[&b.id, "true"]);
    assert_eq!(code, 255);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn exec_keeps_seccomp_and_landlock() {
    let mut b = Bundle::new("ex-confined");
    b.config["root"]["readonly"] = false.into();
    b.config["linux"]["seccomp"] = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]
    });
    b.config["process"]["landlock"] = serde_json::json!({
        "handledAccess": {"handledAccessFS": ["write_file", "make_reg"]},
        "rules": {"pathBeneath": [{"allowedAccess": ["write_file", "make_reg"], "paths": ["/tmp"]}]}
    });
    running(&mut b);
    let probe = "grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; sh -c 'echo x > /etc/f' 2>&1; echo ok > /tmp/f && echo tmp-ok; true";
    // A manager's process JSON knows nothing of process.landlock: the domain still binds it.
    let proc_json = b.path().join("process.json");
    let mut process = b.config["process"].clone();
    process["args"] = serde_json::json!(["sh", "-c", probe]);
    process["noNewPrivileges"] = false.into();
    process.as_object_mut().unwrap().remove("landlock");
    std::fs::write(&proc_json, process.to_string()).unwrap();
    // "landlock": null is the field unset (runtime-spec): the same.
    let null_json = b.path().join("process-null.json");
    process["landlock"] = serde_json::Value::Null;
    std::fs::write(&null_json, process.to_string()).unwrap();
    for args in [
        vec![b.id.as_str(), "sh", "-c", probe],
        vec!["--process", proc_json.to_str().unwrap(), &b.id],
        vec!["--process", null_json.to_str().unwrap(), &b.id],
    ] {
        let (code, out, err) = exec(&b, &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            out.contains("Seccomp:\t2") && out.contains("Input/output error"),
            "{args:?}: {out}"
        );
        assert!(
            out.contains("Permission denied") && out.contains("tmp-ok"),
            "{args:?}: {out}"
        );
    }
    // A ruleset of its own, other than the container's, would start the process outside
    // the container's domain: refused.
    let own_json = b.path().join("process-own.json");
    process["landlock"] = serde_json::json!({
        "handledAccess": {"handledAccessFS": ["make_reg"]},
        "rules": {"pathBeneath": [{"allowedAccess": ["make_reg"], "paths": ["/"]}]}
    });
    process["noNewPrivileges"] = true.into();
    std::fs::write(&own_json, process.to_string()).unwrap();
    let (code, _, err) = exec(&b, &["--process", own_json.to_str().unwrap(), &b.id]);
    assert_ne!(code, 0);
    assert!(err.contains("differs from the container's"), "{err}");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
}

#[test]
fn exec_into_a_user_namespace() {
    let mut b = Bundle::new("ex-userns");
    with_userns(&mut b);
    running(&mut b);
    let pid = exec_detached_sleep(&b);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(uid.split_whitespace().nth(1), Some("100000"), "{uid}");
    let (code, out, err) = exec(&b, &[&b.id, "id", "-u"]);
    assert_eq!((code, out.as_str()), (0, "0\n"), "{err}");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
}

#[test]
fn exec_with_a_terminal_through_the_console_socket() {
    use std::io::{Read, Write};
    let mut b = Bundle::new("ex-tty");
    running(&mut b);
    let sock = b.path().join("c.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let (code, _, err) = exec(
        &b,
        &[
            "-d",
            "-t",
            "--console-socket",
            sock.to_str().unwrap(),
            &b.id,
            "sh",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (conn, _) = listener.accept().unwrap();
    let mut m = std::fs::File::from(palisade::process::supervise::receive_fd(&conn).unwrap());
    m.write_all(b"tty; exit\n").unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = m.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains("/dev/pts/") {
            break;
        }
    }
    assert!(
        String::from_utf8_lossy(&out).contains("/dev/pts/"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
}

/// The CPUs this machine has online ("0-1"); the affinity tests need two.
fn online_cpus() -> String {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let online = online.trim().to_owned();
    assert!(
        online.contains('-') || online.contains(','),
        "these tests need two CPUs online, this machine has {online}"
    );
    online
}

fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in {status:?}"))
        .trim()
        .to_owned()
}

/// A runtime started on one CPU (`taskset`, a pinned manager) does not pin the container:
/// the init and an exec'd process run on every CPU their cgroup allows, as with runc.
#[test]
fn the_container_does_not_inherit_the_callers_cpus() {
    let all = online_cpus();
    let mut b = Bundle::new("aff-reset");
    b.script("grep Cpus_allowed_list /proc/self/status; sleep 100");
    let o = b.palisade_on_cpus("0", &["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let init = b.state_json()["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert_eq!(cpus_allowed(&status), all, "the init");
    let o = b.palisade_on_cpus("0", &["exec", &b.id, "cat", "/proc/self/status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(cpus_allowed(&stdout(&o)), all, "an exec'd process");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// process.execCPUAffinity (runtime-spec 1.2): `initial` is where the runtime runs until
/// the process is in the container's cgroup, `final` the process's own after; from
/// `exec --process` or from config.json, whose init it does not apply to.
#[test]
fn exec_cpu_affinity() {
    let all = online_cpus();
    let mut b = Bundle::new("aff-exec");
    b.config["process"]["execCPUAffinity"] = serde_json::json!({"final": "1"});
    running(&mut b);
    let init = b.state_json()["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert_eq!(cpus_allowed(&status), all, "not for the init");
    let (code, out, err) = exec(&b, &[&b.id, "cat", "/proc/self/status"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cpus_allowed(&out), "1", "config.json's final");

    let proc_json = b.path().join("process.json");
    let log = b.path().join("exec-log.json");
    let with = |affinity: serde_json::Value| {
        std::fs::write(
            &proc_json,
            serde_json::json!({"args": ["cat", "/proc/self/status"], "cwd": "/",
                               "user": {"uid": 0, "gid": 0}, "execCPUAffinity": affinity})
            .to_string(),
        )
        .unwrap();
        let _ = std::fs::remove_file(&log);
        b.palisade(&[
            "--debug",
            "--log",
            log.to_str().unwrap(),
            "exec",
            "--process",
            proc_json.to_str().unwrap(),
            &b.id,
        ])
    };
    let o = with(serde_json::json!({"initial": "1", "final": "0"}));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(cpus_allowed(&stdout(&o)), "0");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("on CPUs [1] until"), "{logged}");
    // initial alone: the process gets every CPU once in the cgroup.
    let o = with(serde_json::json!({"initial": "1"}));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(cpus_allowed(&stdout(&o)), all);
    for (bad, says) in [
        (
            serde_json::json!({"initial": "1-0"}),
            "process.execCPUAffinity.initial",
        ),
        (
            serde_json::json!({"final": "4096"}),
            "process.execCPUAffinity.final",
        ),
        (
            serde_json::json!({"final": "0-x"}),
            "Invalid execCPUAffinity format",
        ),
    ] {
        let o = with(bad.clone());
        assert_eq!(o.status.code(), Some(255), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{bad}: {}", stderr(&o));
    }
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// exec refuses a label the host cannot apply, as create does: the process would otherwise
/// run without the confinement its process JSON names.
#[test]
fn exec_refuses_labels_it_cannot_apply() {
    let mut b = Bundle::new("ex-labels");
    running(&mut b);
    let proc_json = b.path().join("process.json");
    for (field, value) in [
        ("apparmorProfile", "docker-default"),
        ("selinuxLabel", "system_u:system_r:container_t:s0"),
    ] {
        let mut p = serde_json::json!({"args": ["sh", "-c", "echo ran"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
        p[field] = value.into();
        std::fs::write(&proc_json, p.to_string()).unwrap();
        let (code, out, err) = exec(&b, &["--process", proc_json.to_str().unwrap(), &b.id]);
        assert_ne!(code, 0, "{field}");
        assert!(!out.contains("ran"), "{field}: {out}");
        assert!(err.contains(&format!("process.{field}")), "{err}");
    }
}

/// `exec --additional-gids` adds to the process's groups, as runc's does; it does not
/// replace them.
#[test]
fn additional_gids_are_added_to_the_processes_own() {
    let mut b = Bundle::new("exec-gids");
    b.config["process"]["user"] =
        serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out, err) = exec(&b, &["--additional-gids", "65534", &b.id, "id", "-G"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1000 5 65534\n");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}
