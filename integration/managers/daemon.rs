//! A manager's daemon for one test: its own directory, socket and mount namespace, and the
//! checks that nothing of the test's containers is left once it is done.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support;

pub struct Daemon {
    child: Child,
    /// The test's directory: the daemon's config, root, state, socket and log.
    pub dir: tempfile::TempDir,
    name: &'static str,
}

/// A directory of the test's own, reachable by the containers' mapped users.
pub fn test_dir(name: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix(&format!("palisade-{name}-"))
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// The operator configuration the managers' palisade runs under: the default profile
/// (baseline, enforced), with the audit log in the test's directory.
pub fn operator_config(dir: &Path) -> PathBuf {
    let path = dir.join("palisade.toml");
    let text = format!(
        "profile = \"baseline\"\nmode = \"enforce\"\naudit_log = \"{}\"\n\
         rootfs_stores = [\"{}\", \"{}\", \"{}\"]\n",
        dir.join("audit.log").display(),
        dir.join("root/vfs/dir/*").display(),
        // The managers' private stores (vfs: a directory per container) and podman's
        // --rootfs directories, as an operator with its own data root lists them.
        dir.join("data/vfs/dir/*").display(),
        dir.join("rootfs").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The memory limit file as a container sees it (cgroupfs mounted at /sys/fs/cgroup).
pub fn memory_limit_file() -> &'static str {
    if palisade::isolate::cgroups::is_v2_unified() {
        "/sys/fs/cgroup/memory.max"
    } else {
        "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    }
}

/// The busybox rootfs as a tar archive in `dir`, for `podman import` and `docker import`.
pub fn rootfs_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("image-rootfs");
    copy_rootfs(&rootfs);
    let tar = dir.join("rootfs.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

/// A copy of the busybox rootfs at `dest`.
pub fn copy_rootfs(dest: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(support::rootfs())
        .arg(dest)
        .status()
        .unwrap();
    assert!(st.success());
}

impl Daemon {
    /// Starts `argv` in a new mount namespace (private propagation) with a tmpfs on /run,
    /// where containerd's shims, conmon and dockerd keep their sockets; waits until
    /// `ready` holds.
    pub fn start(
        name: &'static str,
        dir: tempfile::TempDir,
        argv: &[&str],
        env: &[(&str, &Path)],
        ready: impl Fn(&Daemon) -> bool,
    ) -> Daemon {
        let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount -t tmpfs -o mode=0755 tmpfs /run && exec \"$@\"")
            .arg("sh")
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        let d = Daemon { child, dir, name };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(&d) {
            assert!(
                Instant::now() < deadline,
                "{name} did not come up:\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("daemon.log")).unwrap_or_default()
    }

    /// `program` in the daemon's mount namespace: the clients must see the same /run.
    pub fn inside(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--mount=/proc/{}/ns/mnt", self.pid()))
            .arg("--")
            .arg(program);
        c.stdin(Stdio::null());
        c
    }

    /// Runs `cmd` with its output in files (a container may hold a pipe open).
    pub fn output(&self, cmd: Command) -> Output {
        support::output_via_files(cmd, self.path())
    }

    /// The mounts of the daemon's namespace.
    pub fn mountinfo(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/mountinfo", self.pid())).unwrap_or_default()
    }

    /// The audit records palisade wrote for this test.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        // What outlives a daemon by design (containerd's shims) must not outlive a failed
        // test: any process naming the test's directory, and what runs in its cgroups.
        let dir = self.path().to_string_lossy().into_owned();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&dir) {
                if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log());
        }
    }
}

/// Host pids whose cgroup path contains `part` (v1 or v2 lines of /proc/PID/cgroup).
pub fn pids_in_cgroups_matching(part: &str) -> Vec<String> {
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        if let Ok(cg) = std::fs::read_to_string(e.path().join("cgroup")) {
            if cg.lines().any(|l| l.contains(part)) {
                out.push(name);
            }
        }
    }
    out
}

/// The cgroup directories below `parent` (relative to each hierarchy) that exist.
pub fn cgroups_below(parent: &str) -> Vec<PathBuf> {
    let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        roots.push(h.path());
    }
    let mut out = vec![];
    for r in roots {
        let p = r.join(parent.trim_start_matches('/'));
        if let Ok(entries) = std::fs::read_dir(&p) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
    }
    out
}

/// Removes the cgroup subtree `parent` a manager made above its containers, killing what
/// a failed test left running in it.
pub fn remove_cgroup_parent(parent: &str) {
    use nix::sys::signal::{kill, Signal};
    for pid in pids_in_cgroups_matching(&format!("{}/", parent.trim_end_matches('/'))) {
        if let Ok(pid) = pid.parse::<i32>() {
            let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let mut roots = vec![PathBuf::from("/sys/fs/cgroup")];
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        roots.push(h.path());
    }
    fn remove_tree(dir: &Path) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_tree(&e.path());
                }
            }
        }
        for _ in 0..50 {
            if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for r in roots {
        let p = r.join(parent.trim_start_matches('/'));
        if p.is_dir() && p != r {
            remove_tree(&p);
        }
    }
}

pub fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
