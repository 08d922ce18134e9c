//! Docker 20.10 from Debian (docker.io): dockerd with palisade added as a runtime
//! (`--add-runtime`, which the daemon.json `runtimes` key also sets), its own containerd,
//! vfs storage, no bridge or iptables, on a private socket, data root, exec root and
//! cgroup parent, driven by Debian's docker client.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::daemon::{self, text, Daemon};
use crate::support::{output_via_files, BIN};

const IMAGE: &str = "palisade/busybox:test";
const DOCKER: &str = "/usr/bin/docker";

struct Docker {
    d: Daemon,
    cgroup_parent: String,
}

impl Docker {
    fn new(name: &'static str) -> Docker {
        let dir = daemon::test_dir(name);
        let p = dir.path().to_path_buf();
        let op = daemon::operator_config(&p);
        let cgroup_parent = format!("/palisade-{name}-{}", std::process::id());
        let sock = p.join("docker.sock");
        let args: Vec<String> = vec![
            "dockerd".into(),
            format!("--data-root={}", p.join("data").display()),
            format!("--exec-root={}", p.join("exec").display()),
            format!("--pidfile={}", p.join("docker.pid").display()),
            format!("--host=unix://{}", sock.display()),
            "--iptables=false".into(),
            "--ip-masq=false".into(),
            "--bridge=none".into(),
            "--storage-driver=vfs".into(),
            "--exec-opt=native.cgroupdriver=cgroupfs".into(),
            format!("--cgroup-parent={cgroup_parent}"),
            // No CAP_SYS_RESOURCE here: a nofile above the hard limit fails with any runtime.
            "--default-ulimit=nofile=1024:4096".into(),
            format!("--add-runtime=palisade={BIN}"),
            "--default-runtime=palisade".into(),
        ];
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let d = Daemon::start(name, dir, &argv, &[("PALISADE_CONFIG", &op)], |_| {
            sock.exists()
                && Command::new(DOCKER)
                    .arg("--host")
                    .arg(format!("unix://{}", sock.display()))
                    .arg("info")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        });
        let docker = Docker { d, cgroup_parent };
        let tar = daemon::rootfs_tar(docker.d.path());
        docker.ok(&["import", tar.to_str().unwrap(), IMAGE]);
        docker
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.arg("--host")
            .arg(format!(
                "unix://{}",
                self.d.path().join("docker.sock").display()
            ))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        text(&output_via_files(self.cmd(args), self.d.path()))
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "docker {args:?}: {out}{err}");
        out.trim().to_owned()
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", name, "--format", format])
    }

    /// Nothing is left: palisade's state under the shim's root, cgroups below the daemon's
    /// cgroup parent, processes in them.
    fn assert_clean(&self) {
        let state: PathBuf = self.d.path().join("exec/runtime-runc/moby");
        let left: Vec<_> = std::fs::read_dir(&state)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "palisade state left in {state:?}: {left:?}"
        );
        let cgroups = daemon::cgroups_below(&self.cgroup_parent);
        assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
        let pids = daemon::pids_in_cgroups_matching(&format!("{}/", self.cgroup_parent));
        assert!(pids.is_empty(), "processes left: {pids:?}");
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-f", "-v", "life", "stubborn"]).output();
        daemon::remove_cgroup_parent(&self.cgroup_parent);
    }
}

const LOOP: &str = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

#[test]
fn run_gives_output_and_exit_status() {
    let d = Docker::new("docker-run");
    let (code, out, err) = d.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "/bin/sh",
        "-c",
        "echo hello; grep ^Seccomp: /proc/self/status; exit 3",
    ]);
    assert_eq!((code, out.as_str()), (3, "hello\nSeccomp:\t2\n"), "{err}");
    let creates =
        d.d.audit()
            .iter()
            .filter(|r| r["command"] == "create")
            .count();
    assert_eq!(creates, 1, "palisade did not run the container");
    d.assert_clean();
}

#[test]
fn detached_with_exec_terminal_pause_update_and_stop() {
    let d = Docker::new("docker-life");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "life",
        "--network",
        "none",
        "--memory",
        "64m",
        IMAGE,
        "/bin/sh",
        "-c",
        LOOP,
    ]);
    let limit = daemon::memory_limit_file();
    let (code, out, err) = d.run(&[
        "exec",
        "life",
        "/bin/sh",
        "-c",
        &format!("cat {limit}; exit 4"),
    ]);
    assert_eq!((code, out.trim()), (4, "67108864"), "{err}");
    // A live update goes to palisade's `update --resources -`.
    d.ok(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "life",
    ]);
    let (code, out, err) = d.run(&["exec", "life", "cat", limit]);
    assert_eq!((code, out.trim()), (0, "134217728"), "{err}");
    let sock = d.d.path().join("docker.sock");
    let o = Command::new("script")
        .args([
            "-qec",
            &format!(
                "{DOCKER} --host unix://{} exec -it life /bin/sh -c 'tty; exit 6'",
                sock.display()
            ),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("/dev/pts/"), "{tty}");
    assert_eq!(o.status.code(), Some(6), "{tty}");
    d.ok(&["pause", "life"]);
    assert_eq!(d.inspect("life", "{{.State.Status}}"), "paused");
    d.ok(&["unpause", "life"]);
    assert_eq!(d.inspect("life", "{{.State.Status}}"), "running");
    let top = d.ok(&["top", "life"]);
    assert!(top.contains("while :"), "{top}");
    d.ok(&["stop", "-t", "10", "life"]);
    assert_eq!(d.inspect("life", "{{.State.ExitCode}}"), "0");
    d.ok(&["rm", "life"]);
    d.assert_clean();
}

#[test]
fn stop_kills_after_the_timeout_and_refusals_reach_the_user() {
    let d = Docker::new("docker-stop");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--network",
        "none",
        IMAGE,
        "/bin/sh",
        "-c",
        "trap '' TERM; while :; do sleep 0.1; done",
    ]);
    d.ok(&["stop", "-t", "1", "stubborn"]);
    assert_eq!(d.inspect("stubborn", "{{.State.ExitCode}}"), "137");
    d.ok(&["rm", "stubborn"]);
    let (code, _, err) = d.run(&[
        "run",
        "--rm",
        "--privileged",
        "--network",
        "none",
        IMAGE,
        "true",
    ]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("refused by profile baseline") && err.contains("[host-devices]"),
        "{err}"
    );
    d.assert_clean();
}
