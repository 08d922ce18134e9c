//! podman 4.3 from Debian, with conmon, `--runtime` palisade and private storage
//! (`--root`, `--runroot`, `--tmpdir`). conmon passes palisade no `--root` and a bare
//! environment, so palisade runs as installed (its default state root) through a wrapper
//! that names the test's operator configuration, as /etc/palisade/config.toml would: the
//! default profile, and the private store and --rootfs directories as roots.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::daemon::{self, text};
use crate::support::{output_via_files, BIN};

struct Podman {
    dir: tempfile::TempDir,
    image: &'static str,
}

impl Podman {
    fn new(name: &str) -> Podman {
        let dir = daemon::test_dir(name);
        // No CAP_SYS_RESOURCE on these machines: podman's default nofile of 1048576 would
        // fail with any runtime.
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:4096\", \"nproc=4096:4096\"]\n\
             [engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n",
        )
        .unwrap();
        let op = daemon::operator_config(dir.path());
        let wrapper = dir.path().join("palisade-runtime");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nPALISADE_CONFIG={} exec {BIN} \"$@\"\n",
                op.display()
            ),
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Podman {
            dir,
            image: "localhost/palisade-busybox:test",
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let p = self.path();
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(p.join("root"))
            .arg("--runroot")
            .arg(p.join("runroot"))
            .arg("--tmpdir")
            .arg(p.join("tmp"))
            .args(["--storage-driver", "vfs", "--runtime"])
            .arg(p.join("palisade-runtime"))
            .args(args)
            .env("CONTAINERS_CONF", p.join("containers.conf"))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        text(&output_via_files(self.cmd(args), self.path()))
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "podman {args:?}: {out}{err}");
        out.trim().to_owned()
    }

    /// A copy of the busybox rootfs for `--rootfs` (podman writes into it).
    fn rootfs(&self, name: &str) -> PathBuf {
        let dest = self.path().join(name);
        daemon::copy_rootfs(&dest);
        dest
    }

    /// The busybox rootfs as an image, through `podman import`.
    fn import(&self) {
        let tar = daemon::rootfs_tar(self.path());
        self.ok(&["import", "-q", tar.to_str().unwrap(), self.image]);
    }

    fn status(&self, name: &str) -> String {
        self.ok(&["inspect", name, "--format", "{{.State.Status}}"])
    }

    /// Nothing of container `id` is left: palisade's state under its default root, its
    /// cgroups, its processes.
    fn assert_gone(&self, id: &str) {
        assert!(
            !Path::new("/run/palisade").join(id).exists(),
            "palisade state of {id} left"
        );
        let pids = daemon::pids_in_cgroups_matching(id);
        assert!(pids.is_empty(), "processes of {id} left: {pids:?}");
        let o = Command::new("find")
            .args(["/sys/fs/cgroup", "-maxdepth", "4", "-name"])
            .arg(format!("*{id}*"))
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&o.stdout);
        assert_eq!(found.trim(), "", "cgroups of {id} left");
    }

    /// Records palisade wrote for container `id` in the test's audit log.
    fn audited(&self, id: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["id"] == id)
            .collect()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-af", "-t", "0"]).output();
        let _ = self.cmd(&["system", "reset", "-f"]).output();
    }
}

const LOOP: &str = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

#[test]
fn run_with_a_rootfs_gives_output_and_exit_status() {
    let p = Podman::new("podman-run");
    let rootfs = p.rootfs("rootfs");
    let (code, out, err) = p.run(&[
        "run",
        "--name",
        "r1",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "/bin/sh",
        "-c",
        "echo hello; exit 3",
    ]);
    assert_eq!((code, out.as_str()), (3, "hello\n"), "{err}");
    let id = p.ok(&["inspect", "r1", "--format", "{{.Id}}"]);
    assert!(
        p.audited(&id).iter().any(|r| r["command"] == "create"),
        "palisade did not create {id}"
    );
    p.ok(&["rm", "r1"]);
    p.assert_gone(&id);
}

#[test]
fn imported_image_with_exec_terminal_and_memory_limit() {
    let p = Podman::new("podman-exec");
    p.import();
    let id = p.ok(&[
        "run",
        "-d",
        "--name",
        "m",
        "--network",
        "none",
        "--memory",
        "64m",
        p.image,
        "/bin/sh",
        "-c",
        LOOP,
    ]);
    let limit = daemon::memory_limit_file();
    let (code, out, err) = p.run(&[
        "exec",
        "m",
        "/bin/sh",
        "-c",
        &format!("cat {limit}; exit 4"),
    ]);
    assert_eq!((code, out.trim()), (4, "67108864"), "{err}");
    // exec -t under a pty of script(1): the process gets a terminal of its own.
    let mut args: Vec<String> = vec!["podman".into()];
    for a in p.cmd(&[]).get_args() {
        args.push(a.to_string_lossy().into_owned());
    }
    let cmdline = format!(
        "CONTAINERS_CONF={}/containers.conf {} exec -it m /bin/sh -c 'tty; exit 6'",
        p.path().display(),
        args.join(" ")
    );
    let o = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("/dev/pts/"), "{out}");
    assert_eq!(o.status.code(), Some(6), "{out}");
    let execs = p
        .audited(&id)
        .iter()
        .filter(|r| r["command"] == "exec")
        .count();
    assert_eq!(execs, 2, "the execs did not go through palisade");
    p.ok(&["stop", "-t", "5", "m"]);
    p.ok(&["rm", "m"]);
    p.assert_gone(&id);
}

/// `podman stop`: SIGTERM, and SIGKILL once the timeout passes for a process that ignores it.
#[test]
fn stop_sends_term_then_kill_after_the_timeout() {
    let p = Podman::new("podman-stop");
    p.import();
    let polite = p.ok(&[
        "run",
        "-d",
        "--name",
        "polite",
        "--network",
        "none",
        p.image,
        "/bin/sh",
        "-c",
        LOOP,
    ]);
    let stubborn = p.ok(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "--network",
        "none",
        p.image,
        "/bin/sh",
        "-c",
        "trap '' TERM; while :; do sleep 0.1; done",
    ]);
    let (code, _, err) = p.run(&["stop", "-t", "10", "polite"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("SIGKILL"), "TERM was enough: {err}");
    assert_eq!(
        p.ok(&["inspect", "polite", "--format", "{{.State.ExitCode}}"]),
        "0"
    );
    let (code, _, err) = p.run(&["stop", "-t", "1", "stubborn"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resorting to SIGKILL"), "{err}");
    assert_eq!(
        p.ok(&["inspect", "stubborn", "--format", "{{.State.ExitCode}}"]),
        "137"
    );
    p.ok(&["rm", "polite", "stubborn"]);
    p.assert_gone(&polite);
    p.assert_gone(&stubborn);
}

#[test]
fn pause_and_unpause() {
    let p = Podman::new("podman-pause");
    let rootfs = p.rootfs("rootfs");
    let id = p.ok(&[
        "run",
        "-d",
        "--name",
        "p",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "/bin/sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/count; sleep 0.05; done",
    ]);
    let count = || -> u64 {
        std::fs::read_to_string(rootfs.join("tmp/count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(300));
    p.ok(&["pause", "p"]);
    assert_eq!(p.status("p"), "paused");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "the container ran while paused");
    p.ok(&["unpause", "p"]);
    assert_eq!(p.status("p"), "running");
    std::thread::sleep(Duration::from_millis(500));
    assert!(count() > frozen, "the container did not run again");
    p.ok(&["rm", "-f", "-t", "0", "p"]);
    p.assert_gone(&id);
}

/// `--privileged` passes the host's devices, which baseline refuses: podman shows why.
#[test]
fn a_refusal_reaches_the_user() {
    let p = Podman::new("podman-refuse");
    let rootfs = p.rootfs("rootfs");
    let (code, _, err) = p.run(&[
        "run",
        "--name",
        "priv",
        "--privileged",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "/bin/true",
    ]);
    assert_eq!(code, 126, "{err}");
    assert!(
        err.contains("refused by profile baseline") && err.contains("[host-devices]"),
        "{err}"
    );
    let id = p.ok(&["inspect", "priv", "--format", "{{.Id}}"]);
    p.ok(&["rm", "priv"]);
    p.assert_gone(&id);
}
