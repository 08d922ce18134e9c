//! Helpers for the integration tests: a busybox rootfs built once from Debian's
//! busybox-static, bundles made from `palisade spec`, and checks that nothing is left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// The operator configuration the tests run under: the `unconfined` profile, so that the
/// runtime's mechanisms are tested on the configs each test writes (the policy tests set
/// their own), and an audit log of the test run's own.
pub fn operator_config() -> &'static Path {
    static CONFIG: OnceLock<PathBuf> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("palisade-it-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        let text = format!(
            "profile = \"unconfined\"\naudit_log = \"{}\"\n",
            dir.join("audit.log").display()
        );
        std::fs::write(&path, text).unwrap();
        path
    })
}

/// `palisade` under the tests' operator configuration.
pub fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.env("PALISADE_CONFIG", operator_config());
    c
}

/// The shared, never-modified source rootfs.
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the integration tests create real containers and must run as root"
        );
        if let Ok(p) = std::env::var("PALISADE_TEST_ROOTFS") {
            return PathBuf::from(p);
        }
        let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-rootfs");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-rootfs.sh");
        let st = Command::new("bash")
            .arg(script)
            .arg(&dest)
            .status()
            .expect("run make-rootfs.sh");
        assert!(st.success(), "make-rootfs.sh failed");
        dest
    })
}

pub struct Bundle {
    pub dir: tempfile::TempDir,
    /// The --root of this test, so tests never see each other's containers.
    pub state: PathBuf,
    pub id: String,
    pub config: Value,
    /// An operator configuration of this test's own (PALISADE_CONFIG), if it set one.
    pub operator: Option<PathBuf>,
}

impl Bundle {
    /// A bundle with a private copy of the rootfs and palisade's hardened default config,
    /// without a terminal.
    pub fn new(name: &str) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("palisade-it-")
            .tempdir()
            .unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(rootfs())
            .arg(dir.path().join("rootfs"))
            .status()
            .unwrap();
        assert!(st.success());
        let out = bin()
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        config["process"]["terminal"] = false.into();
        let id = format!("{name}-{}", std::process::id());
        let env = config["process"]["env"].as_array_mut().unwrap();
        env.push(format!("PALISADE_TEST_MARK={id}").into());
        let state = dir.path().join("state");
        Bundle {
            dir,
            state,
            id,
            config,
            operator: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn script(&mut self, script: &str) -> &mut Self {
        self.config["process"]["args"] = serde_json::json!(["sh", "-c", script]);
        self
    }

    pub fn write(&self) {
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// `palisade --root STATE ARGS...` in the bundle directory, marked so that leftovers
    /// can be found.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.arg("--root")
            .arg(&self.state)
            .args(args)
            .current_dir(self.path());
        c.env("PALISADE_TEST_MARK", &self.id);
        if let Some(op) = &self.operator {
            c.env("PALISADE_CONFIG", op);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Output goes through files, not pipes: a created container's init holds the
    /// runtime's stdio (as runc's does), so a pipe would not see EOF until it exits.
    pub fn palisade(&self, args: &[&str]) -> Output {
        self.write();
        output_via_files(self.cmd(args), self.path())
    }

    /// Like [`Bundle::palisade`], with the runtime started on `cpus` only (`taskset -c`),
    /// as under a manager pinned to some CPUs.
    pub fn palisade_on_cpus(&self, cpus: &str, args: &[&str]) -> Output {
        self.write();
        let c = self.cmd(args);
        let mut t = Command::new("taskset");
        t.arg("-c")
            .arg(cpus)
            .arg(c.get_program())
            .args(c.get_args());
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                t.env(k, v);
            }
        }
        t.current_dir(self.path()).stdin(Stdio::null());
        output_via_files(t, self.path())
    }

    /// `run` of the config as it is; returns (exit status, stdout, stderr).
    pub fn run(&self) -> (i32, String, String) {
        let out = self.palisade(&["run", &self.id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `run` of `sh -c script`; returns (exit status, stdout, stderr).
    pub fn run_script(&mut self, script: &str) -> (i32, String, String) {
        self.script(script);
        self.run()
    }

    /// Runs `script` in the container and returns its stdout, failing on a non-zero exit.
    pub fn probe(&mut self, script: &str) -> String {
        self.script(script);
        let (code, out, err) = self.run();
        assert_eq!(
            code, 0,
            "container script failed: {script}\nstdout: {out}\nstderr: {err}"
        );
        out
    }

    pub fn state_json(&self) -> Value {
        let out = self.palisade(&["state", &self.id]);
        assert!(
            out.status.success(),
            "state: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn status(&self) -> String {
        self.state_json()["status"].as_str().unwrap().to_owned()
    }

    pub fn wait_status(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.status() != want {
            assert!(Instant::now() < deadline, "container never became {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the container has written `name` into its (writable) rootfs: scripts
    /// that install a trap create it once the trap is in place.
    pub fn wait_marker(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.rootfs().join(name).exists() {
            assert!(
                Instant::now() < deadline,
                "the container never wrote {name}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Nothing of this container is left: state, cgroup, mounts, processes.
    pub fn assert_nothing_left(&self) {
        assert!(
            !self.state.join(&self.id).exists(),
            "state directory left behind"
        );
        for cg in cgroup_paths(&self.id) {
            assert!(!cg.exists(), "cgroup {} left behind", cg.display());
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let p = self.path().to_string_lossy().into_owned();
        assert!(
            !mountinfo.contains(&p),
            "a mount under {p} was left in the host namespace"
        );
        let mark = format!("PALISADE_TEST_MARK={}", self.id);
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.parse::<u32>().is_err() || name == std::process::id().to_string() {
                continue;
            }
            if let Ok(env) = std::fs::read(e.path().join("environ")) {
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                let zombie = stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'));
                if !zombie && env.split(|b| *b == 0).any(|v| v == mark.as_bytes()) {
                    panic!("process {name} of container {} is still alive", self.id);
                }
            }
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Best effort: a failed test must not leave containers running.
        let _ = self.cmd(&["delete", "--force", &self.id]).output();
    }
}

pub fn output_via_files(mut cmd: Command, dir: &Path) -> Output {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (o, e) = (dir.join(format!(".out{n}")), dir.join(format!(".err{n}")));
    cmd.stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap());
    let status = cmd.status().unwrap();
    let out = Output {
        status,
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read(&e).unwrap(),
    };
    let _ = std::fs::remove_file(o);
    let _ = std::fs::remove_file(e);
    out
}

/// Where the default cgroup of container `id` would be, on every hierarchy (v1) or in the
/// unified tree (v2).
pub fn cgroup_paths(id: &str) -> Vec<PathBuf> {
    let mut out = vec![Path::new("/sys/fs/cgroup/palisade").join(id)];
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        out.push(h.path().join("palisade").join(id));
    }
    out
}

/// A new user namespace mapping container 0..65535 to host 100000..165535. The mapped root
/// must be able to reach the bundle, as with runc.
pub fn with_userns(b: &mut Bundle) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "user"}));
    let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["uidMappings"] = map.clone();
    b.config["linux"]["gidMappings"] = map;
}

/// Whether the host runs pure cgroup v2 (the VM lane does).
pub fn cgroup_v2() -> bool {
    palisade::isolate::cgroups::is_v2_unified()
}

/// A cgroup file as the container sees it: under its controller's directory on v1, flat on v2.
pub fn cg_file(v1: &str, v2: &str) -> String {
    if cgroup_v2() {
        format!("/sys/fs/cgroup/{v2}")
    } else {
        format!("/sys/fs/cgroup/{v1}")
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Bundle {
    /// Runs this bundle under an operator configuration of its own naming `profile`
    /// (enforce mode) plus `extra` TOML lines; returns the audit log's path.
    pub fn under_profile(&mut self, profile: &str, extra: &str) -> PathBuf {
        let audit = self.path().join("audit.log");
        let conf = self.path().join("operator.toml");
        std::fs::write(
            &conf,
            format!(
                "profile = \"{profile}\"\nmode = \"enforce\"\naudit_log = \"{}\"\n{extra}",
                audit.display()
            ),
        )
        .unwrap();
        self.operator = Some(conf);
        audit
    }
}

/// One message from the first connection to `listener`: its data and the descriptor it
/// carries with SCM_RIGHTS (runc's protocol for consoles, pidfds and seccomp agents).
pub fn receive_one_fd(
    listener: std::os::unix::net::UnixListener,
) -> std::thread::JoinHandle<(String, std::os::fd::OwnedFd)> {
    use std::os::fd::{AsRawFd, FromRawFd};
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = None;
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: the descriptor was just received and is owned by nobody else.
                fd = Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        let n = msg.bytes;
        (
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            fd.expect("a descriptor"),
        )
    })
}

/// `palisade spec --profile restricted`'s config for this bundle, without a terminal.
pub fn restricted_config(b: &Bundle) -> Value {
    std::fs::remove_file(b.path().join("config.json")).unwrap_or_default();
    let o = bin()
        .args(["spec", "--profile", "restricted", "--bundle"])
        .arg(b.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut c: Value =
        serde_json::from_slice(&std::fs::read(b.path().join("config.json")).unwrap()).unwrap();
    c["process"]["terminal"] = false.into();
    c["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(format!("PALISADE_TEST_MARK={}", b.id).into());
    c
}
