//! Profile learning (`palisade learn`, or a runtime class invoked as `palisade-learn`):
//! the workload runs once under its base profile with a recording filter loaded as the
//! init's last step before execve ([`crate::process::init`], step `record`); the runtime,
//! as the filter's supervisor, records every call and answers CONTINUE
//! ([`supervisor`], [`decode`]); the recording ([`recording`]) becomes the smallest
//! profile that runs it ([`generate`]).

pub mod decode;
pub mod generate;
pub mod recording;
pub mod supervisor;

use std::io::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use generate::Learned;
pub use recording::{Recording, RecordingError};

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("learn: attach the recorder: {0}")]
    Attach(String),
    #[error("learn: write {path}: {why}")]
    Output { path: PathBuf, why: String },
    #[error("learn: {0}")]
    Recording(#[from] RecordingError),
    #[error("learn: {field}: {why}")]
    Config { field: &'static str, why: String },
    #[error("learn: {0}")]
    Io(#[from] std::io::Error),
}

/// The invoked name of the learning runtime class.
pub const INVOKED_NAME: &str = "palisade-learn";

/// A recording about to start: the runtime's end of the socket on which the init says
/// that it is loading the recording filter.
pub struct Session {
    ours: OwnedFd,
}

impl Session {
    /// The session and the init's end (close-on-exec: the workload never holds it).
    pub fn new() -> std::io::Result<(Session, OwnedFd)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((Session { ours: a }, b))
    }

    /// Records the container whose init is `pid` until its last process is gone.
    pub fn record(self, pid: i32, id: &str, base: &str) -> Result<Recording, LearnError> {
        let listener = supervisor::attach(&self.ours, pid)?;
        let mut rec = Recording::new(id, base);
        supervisor::record(&listener, &mut rec);
        Ok(rec)
    }

    /// The runtime-class mode: `create` returns at once, so a recorder of its own, detached
    /// from the caller (a containerd shim), records and writes into `dir`, the operator's
    /// directory. Returns in the caller once the recorder is on its way.
    pub fn detach(
        self,
        pid: i32,
        id: &str,
        base: crate::policy::Profile,
        writable: Vec<PathBuf>,
        dir: &Path,
    ) -> Result<(), LearnError> {
        use nix::unistd::{fork, setsid, ForkResult};
        // SAFETY: fork of `create`, which runs no other thread; the child only records and
        // writes files, then exits without returning into the caller's code.
        match unsafe { fork() }.map_err(std::io::Error::from)? {
            ForkResult::Parent { child } => {
                let _ = nix::sys::wait::waitpid(child, None);
                return Ok(());
            }
            ForkResult::Child => {}
        }
        let _ = setsid();
        // SAFETY: as above; the first child exits at once so that the recorder is nobody's
        // child to wait for.
        if let Ok(ForkResult::Parent { .. }) = unsafe { fork() } {
            // SAFETY: _exit ends the intermediate child without running the caller's code.
            unsafe { libc::_exit(0) };
        }
        detach_stdio(self.ours.as_raw_fd());
        let name = profile_name(id);
        let outcome = self.record(pid, id, &base.reference()).and_then(|rec| {
            let learned = generate::learn(&name, &rec, &base, &writable);
            write(dir, &learned, &rec, None).map(|_| ())
        });
        if let Err(e) = outcome {
            let _ = write_file(&dir.join(format!("{name}.error")), e.to_string().as_bytes());
        }
        // SAFETY: the recorder's work is done; nothing of the caller's may run here.
        unsafe { libc::_exit(0) }
    }
}

/// Stdio to /dev/null and every other descriptor closed but `keep`: a shim waits for its
/// pipes to close.
fn detach_stdio(keep: i32) {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2 && fd != keep)
        .collect();
    for fd in fds {
        let _ = nix::unistd::close(fd);
    }
}

pub fn profile_name(id: &str) -> String {
    format!("learned-{id}")
}

/// The edits a learning run makes to the config before the profile judges it:
/// no_new_privs, since the recording filter is loaded at the last step, where the process
/// may hold no capability (seccomp(2): without it only CAP_SYS_ADMIN may load a filter);
/// and no listener of the config's own, since a process has one listener at most
/// (SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EBUSY).
pub fn prepare(doc: &mut Value) -> Result<(), LearnError> {
    if !doc["linux"]["seccomp"]["listenerPath"].is_null() {
        return Err(LearnError::Config {
            field: "linux.seccomp.listenerPath",
            why:
                "a recording needs the process's one seccomp listener: remove the listener to learn"
                    .into(),
        });
    }
    let notify = doc["linux"]["seccomp"]["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| {
            matches!(
                r["action"].as_str(),
                Some("SCMP_ACT_NOTIFY" | "SCMP_ACT_TRACE")
            )
        })
        || matches!(
            doc["linux"]["seccomp"]["defaultAction"].as_str(),
            Some("SCMP_ACT_NOTIFY" | "SCMP_ACT_TRACE")
        );
    if notify {
        return Err(LearnError::Config {
            field: "linux.seccomp",
            why: "SCMP_ACT_NOTIFY and SCMP_ACT_TRACE rules: the recording filter's notification takes precedence over them (seccomp(2)), so their calls would run and be learned; remove them to learn".into(),
        });
    }
    match doc.get_mut("process").and_then(Value::as_object_mut) {
        Some(p) => {
            p.insert("noNewPrivileges".into(), Value::Bool(true));
            Ok(())
        }
        None => Err(LearnError::Config {
            field: "process",
            why: "absent".into(),
        }),
    }
}

/// What `write` made.
pub struct Outputs {
    pub profile: PathBuf,
    pub report: PathBuf,
    pub recording: PathBuf,
    pub config: Option<PathBuf>,
}

/// Writes `<name>.toml`, `<name>.md`, `<name>.recording.json` (and `<name>.config.json`)
/// into `dir`: each to a new file of a random name, then renamed over the old one, so a
/// symlink planted at a name is replaced, never followed.
pub fn write(
    dir: &Path,
    l: &Learned,
    rec: &Recording,
    config: Option<&Value>,
) -> Result<Outputs, LearnError> {
    let name = &l.name;
    let out = Outputs {
        profile: dir.join(format!("{name}.toml")),
        report: dir.join(format!("{name}.md")),
        recording: dir.join(format!("{name}.recording.json")),
        config: config.map(|_| dir.join(format!("{name}.config.json"))),
    };
    write_file(&out.profile, l.toml.as_bytes())?;
    write_file(&out.report, l.report.as_bytes())?;
    let json = serde_json::to_vec_pretty(rec).expect("a recording serialises");
    write_file(&out.recording, &json)?;
    if let (Some(path), Some(c)) = (&out.config, config) {
        write_file(
            path,
            &serde_json::to_vec_pretty(c).expect("a document serialises"),
        )?;
    }
    Ok(out)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), LearnError> {
    let bad = |why: String| LearnError::Output {
        path: path.to_path_buf(),
        why,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{:016x}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        crate::sys::random_u64().map_err(|e| bad(e.to_string()))?
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| bad(format!("create {}: {e}", tmp.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            bad(e.to_string())
        })
}
