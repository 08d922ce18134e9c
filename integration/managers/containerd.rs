//! containerd 1.6 from Debian, driven through `ctr` with palisade as the runc binary of the
//! runc v2 shim: the calls the shim makes (`--root --log --log-format json`, create with a
//! pid file and console socket, start, exec --process --detach, ps --format json, kill,
//! pause, resume, delete) are palisade's to answer.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::daemon::{self, text, Daemon};
use crate::support::BIN;

/// containerd with a config of its own (`extra` is appended to it), on a private socket,
/// root and state; palisade's operator config comes through the environment, which
/// containerd passes to the shim and the shim to palisade.
pub fn start_containerd(
    dir: tempfile::TempDir,
    name: &'static str,
    top: &str,
    extra: &str,
) -> Daemon {
    let p = dir.path();
    let config = format!(
        "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n{top}\
         [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n{extra}",
        root = p.join("root").display(),
        state = p.join("state").display(),
        sock = p.join("containerd.sock").display(),
    );
    std::fs::write(p.join("containerd.toml"), config).unwrap();
    let op = daemon::operator_config(p);
    let cfg = p.join("containerd.toml");
    let sock = p.join("containerd.sock");
    Daemon::start(
        name,
        dir,
        &["containerd", "--config", cfg.to_str().unwrap()],
        &[("PALISADE_CONFIG", &op)],
        |d| {
            sock.exists()
                && d.inside("ctr")
                    .args(["-a", sock.to_str().unwrap(), "version"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        },
    )
}

struct Ctr {
    d: Daemon,
    /// containerd namespace of this test: its containers' cgroups are /<ns>/<id>.
    ns: String,
    rootfs: PathBuf,
}

impl Ctr {
    fn new(name: &'static str) -> Ctr {
        let d = start_containerd(
            daemon::test_dir(name),
            name,
            "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n",
            "",
        );
        let rootfs = d.path().join("rootfs");
        daemon::copy_rootfs(&rootfs);
        let ns = format!("{name}-{}", std::process::id());
        Ctr { d, ns, rootfs }
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut c = self.d.inside("ctr");
        c.arg("-a")
            .arg(self.d.path().join("containerd.sock"))
            .args(["-n", &self.ns])
            .args(args);
        self.d.output(c)
    }

    /// `ctr run` of `cmd` with palisade as the shim's runtime binary.
    fn run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> (i32, String, String) {
        // --rootfs is a switch: the image argument is then the rootfs directory.
        let mut args = vec!["run", "--runc-binary", BIN];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["--rootfs", self.rootfs.to_str().unwrap(), id]);
        args.extend_from_slice(cmd);
        text(&self.ctr(&args))
    }

    /// stdout of a ctr call whose failure does not matter (teardown).
    fn ok_quiet(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.ctr(args).stdout).into_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = text(&self.ctr(args));
        assert_eq!(code, 0, "ctr {args:?}: {out}{err}");
        out
    }

    fn task_status(&self, id: &str) -> String {
        let out = self.ok(&["task", "ls"]);
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_owned()
    }

    fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.task_status(id) != want {
            assert!(Instant::now() < deadline, "task {id} never became {want}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The commands palisade answered, from its audit log: proof that palisade, not runc,
    /// ran the containers.
    fn audited_creates(&self) -> usize {
        self.d
            .audit()
            .iter()
            .filter(|r| r["command"] == "create" && r["profile"] == "baseline")
            .count()
    }

    /// Nothing of the test's containers is left: tasks, containers, palisade state, cgroups,
    /// processes, mounts, shims.
    fn assert_clean(&self) {
        assert_eq!(self.ok(&["task", "ls", "-q"]).trim(), "", "tasks left");
        assert_eq!(
            self.ok(&["containers", "ls", "-q"]).trim(),
            "",
            "containers left"
        );
        let state = format!("/run/containerd/runc/{}", self.ns);
        let o = self.d.output({
            let mut c = self.d.inside("sh");
            c.args(["-c", &format!("ls -A {state} 2>/dev/null")]);
            c
        });
        assert_eq!(text(&o).1.trim(), "", "palisade state left in {state}");
        let left = daemon::cgroups_below(&self.ns);
        assert!(left.is_empty(), "cgroups left: {left:?}");
        let pids = daemon::pids_in_cgroups_matching(&format!("/{}/", self.ns));
        assert!(
            pids.is_empty(),
            "processes left in the containers' cgroups: {pids:?}"
        );
        let task_dir = format!("io.containerd.runtime.v2.task/{}/", self.ns);
        assert!(
            !self.d.mountinfo().contains(&task_dir),
            "mounts left under {task_dir}"
        );
        let shim_arg = format!("-namespace\0{}\0", self.ns);
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&cmdline).contains(&shim_arg),
                "a shim of the test is still running: {:?}",
                e.path()
            );
        }
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        for id in self.ok_quiet(&["task", "ls", "-q"]).lines() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
            std::thread::sleep(Duration::from_millis(200));
            let _ = self.ctr(&["task", "delete", "--force", id]);
        }
        for id in self.ok_quiet(&["containers", "ls", "-q"]).lines() {
            let _ = self.ctr(&["containers", "rm", id]);
        }
        daemon::remove_cgroup_parent(&self.ns);
    }
}

const LOOP: &str = "trap 'exit 0' TERM; while true; do sleep 0.1; done";

#[test]
fn run_rm_gives_the_output_and_exit_status() {
    let c = Ctr::new("ctrd-run");
    let (code, out, err) = c.run(&["--rm"], "hello", &["/bin/sh", "-c", "echo hello; exit 3"]);
    assert_eq!((code, out.as_str()), (3, "hello\n"), "{err}");
    assert_eq!(c.audited_creates(), 1, "palisade did not run the container");
    c.assert_clean();
}

#[test]
fn detached_task_then_exec_ps_kill_delete() {
    let c = Ctr::new("ctrd-task");
    let (code, _, err) = c.run(&["-d"], "web", &["/bin/sh", "-c", LOOP]);
    assert_eq!(code, 0, "{err}");
    c.wait_status("web", "RUNNING");
    // An exec joins the container: same pid namespace (the loop is pid 1 there).
    let (code, out, err) = text(&c.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "web",
        "/bin/sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 4",
    ]));
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("trap 'exit 0' TERM"), "{out}");
    let ps = c.ok(&["task", "ps", "web"]);
    let init = c.ok(&["task", "ls"]);
    let pid = init
        .lines()
        .find(|l| l.starts_with("web"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some(&pid)),
        "{ps}"
    );
    c.ok(&["task", "kill", "web"]);
    c.wait_status("web", "STOPPED");
    c.ok(&["task", "delete", "web"]);
    c.ok(&["containers", "rm", "web"]);
    assert_eq!(c.audited_creates(), 1);
    let execs =
        c.d.audit()
            .iter()
            .filter(|r| r["command"] == "exec")
            .count();
    assert_eq!(
        execs, 1,
        "the exec did not go through palisade's profile check"
    );
    c.assert_clean();
}

/// `ctr run -t` and `task exec -t` under a pty of script(1): what is typed reaches the
/// container's shell through the console socket, and its exit status comes back.
#[test]
fn run_and_exec_with_a_terminal() {
    let c = Ctr::new("ctrd-tty");
    let sock = c.d.path().join("containerd.sock");
    let ctr = format!(
        "nsenter --mount=/proc/{}/ns/mnt -- ctr -a {} -n {}",
        c.d.pid(),
        sock.display(),
        c.ns
    );
    let typed = |cmdline: String| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &cmdline, "/dev/null"])
            .stdin(std::process::Stdio::piped());
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        stdin
            .write_all(b"tty; echo typed-$((6*7)); exit 7\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = typed(format!(
        "{ctr} run -t --rm --runc-binary {BIN} --rootfs {} tty1 /bin/sh",
        c.rootfs.display()
    ));
    assert!(
        out.contains("typed-42") && out.contains("/dev/pts/"),
        "{out}"
    );
    assert_eq!(code, 7, "{out}");

    let (code, _, err) = c.run(&["-d"], "tty2", &["/bin/sh", "-c", LOOP]);
    assert_eq!(code, 0, "{err}");
    c.wait_status("tty2", "RUNNING");
    let (code, out) = typed(format!("{ctr} task exec -t --exec-id e1 tty2 /bin/sh"));
    assert!(
        out.contains("typed-42") && out.contains("/dev/pts/"),
        "{out}"
    );
    assert_eq!(code, 7, "{out}");
    c.ok(&["task", "kill", "-s", "SIGKILL", "tty2"]);
    c.wait_status("tty2", "STOPPED");
    c.ok(&["task", "delete", "tty2"]);
    c.ok(&["containers", "rm", "tty2"]);
    c.assert_clean();
}

#[test]
fn memory_limit_is_visible_inside() {
    let c = Ctr::new("ctrd-mem");
    let file = daemon::memory_limit_file();
    // ctr's spec mounts no cgroupfs: ask for one, read-only.
    let (code, out, err) = c.run(
        &[
            "--rm",
            "--memory-limit",
            "67108864",
            "--mount",
            "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec",
        ],
        "mem",
        &["/bin/cat", file],
    );
    assert_eq!((code, out.trim()), (0, "67108864"), "{err}");
    c.assert_clean();
}

#[test]
fn pause_and_resume_freeze_the_task() {
    let c = Ctr::new("ctrd-pause");
    let counter = "i=0; while true; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/count; sleep 0.05; done";
    let (code, _, err) = c.run(&["-d"], "p", &["/bin/sh", "-c", counter]);
    assert_eq!(code, 0, "{err}");
    c.wait_status("p", "RUNNING");
    let count = || -> u64 {
        std::fs::read_to_string(c.rootfs.join("tmp/count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(300));
    c.ok(&["task", "pause", "p"]);
    assert_eq!(c.task_status("p"), "PAUSED");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "the task ran while paused");
    c.ok(&["task", "resume", "p"]);
    assert_eq!(c.task_status("p"), "RUNNING");
    std::thread::sleep(Duration::from_millis(500));
    assert!(count() > frozen, "the task did not run again after resume");
    c.ok(&["task", "kill", "-s", "SIGKILL", "p"]);
    c.wait_status("p", "STOPPED");
    c.ok(&["task", "delete", "p"]);
    c.ok(&["containers", "rm", "p"]);
    c.assert_clean();
}

#[test]
fn twenty_containers_in_a_row_leave_nothing_behind() {
    let c = Ctr::new("ctrd-many");
    for i in 0..20 {
        let id = format!("n{i}");
        let (code, out, err) = c.run(&["--rm"], &id, &["/bin/echo", &id]);
        assert_eq!((code, out.trim()), (0, id.as_str()), "{err}");
    }
    assert_eq!(c.audited_creates(), 20);
    c.assert_clean();
}

/// A config the profile refuses (`--privileged` passes the host's devices; its extra
/// capabilities baseline hardens): the shim shows palisade's reason with the rule's id.
#[test]
fn a_refusal_reaches_the_user_through_the_shim() {
    let c = Ctr::new("ctrd-refuse");
    let (code, _, err) = c.run(&["--rm", "--privileged"], "priv", &["/bin/true"]);
    assert_ne!(code, 0);
    assert!(err.contains("refused by profile baseline"), "{err}");
    assert!(
        err.contains("[host-devices] linux.devices creates"),
        "{err}"
    );
    let _ = c.ctr(&["containers", "rm", "priv"]);
    let refused =
        c.d.audit()
            .iter()
            .filter(|r| r["decision"] == "refused")
            .count();
    assert_eq!(refused, 1);
    c.assert_clean();
}

/// The section of a learned profile that holds rule `id` (up to the next rule).
fn rule_section(toml: &str, id: &str) -> String {
    let start = toml
        .find(&format!("[rules.{id}]"))
        .unwrap_or_else(|| panic!("no [rules.{id}] in {toml}"));
    let rest = &toml[start..];
    let end = rest[1..]
        .find("\n[rules.")
        .map(|e| e + 1)
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// The learning runtime class, as an operator sets it up: containerd's runc shim runs
/// `palisade-learn` (a link to palisade), and the operator's configuration names the one
/// directory it may write. `ctr run` of a workload there writes the same profile as
/// `palisade learn` of the same workload.
#[test]
fn the_learning_runtime_class_learns_what_the_cli_learns() {
    let c = Ctr::new("ctrd-learn");
    let learn_bin = c.d.path().join("palisade-learn");
    std::os::unix::fs::symlink(BIN, &learn_bin).unwrap();
    let learn_dir = c.d.path().join("learned");
    std::fs::create_dir(&learn_dir).unwrap();
    let op = c.d.path().join("palisade.toml");
    let mut conf = std::fs::read_to_string(&op).unwrap();
    conf.push_str(&format!("learn_dir = \"{}\"\n", learn_dir.display()));
    std::fs::write(&op, conf).unwrap();
    let script = "echo a > /tmp/learn-a; (echo b > /tmp/learn-b) & wait; cat /tmp/learn-a /tmp/learn-b > /dev/null";
    let id = "learnme";
    let (code, out, err) = text(&c.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        learn_bin.to_str().unwrap(),
        "--rootfs",
        c.rootfs.to_str().unwrap(),
        id,
        "/bin/sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 0, "{out}{err}");
    // The recorder outlives the shim's calls: it writes once the last process is gone.
    let profile = learn_dir.join(format!("learned-{id}.toml"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while !profile.exists() {
        let error = learn_dir.join(format!("learned-{id}.error"));
        assert!(
            !error.exists(),
            "{}",
            std::fs::read_to_string(error).unwrap()
        );
        assert!(Instant::now() < deadline, "no {}", profile.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let from_ctr = std::fs::read_to_string(&profile).unwrap();
    assert!(from_ctr.contains("extends = \"baseline\""), "{from_ctr}");

    // The CLI, on a bundle of the same workload as ctr writes it (root, cwd /).
    let mut b = crate::support::Bundle::new(id);
    b.config["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0});
    b.config["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
    b.config["annotations"] = serde_json::json!({});
    b.write();
    let out_dir = tempfile::tempdir().unwrap();
    let o = b.palisade(&[
        "learn",
        "--bundle",
        b.path().to_str().unwrap(),
        "--base",
        "baseline",
        "--name",
        id,
        "--out",
        out_dir.path().to_str().unwrap(),
        &b.id,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_cli =
        std::fs::read_to_string(out_dir.path().join(format!("learned-{id}.toml"))).unwrap();
    for rule in ["seccomp-learned", "landlock-learned", "capabilities"] {
        assert_eq!(
            rule_section(&from_ctr, rule),
            rule_section(&from_cli, rule),
            "{rule} differs:\nctr:\n{from_ctr}\ncli:\n{from_cli}"
        );
    }
    c.assert_clean();
}
