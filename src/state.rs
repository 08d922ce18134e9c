//! `<root>/<id>/`: a small versioned record (state.json), an exclusive lock for mutating
//! commands, and the exec fifo whose existence means "created, not started". Status is
//! derived from the live process, identified by pid *and* start time.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::isolate::cgroups::Cgroup;
use crate::spec::Hook;

pub const RECORD_VERSION: u32 = 1;
pub const FIFO: &str = "exec.fifo";
/// The config the container runs with (after hardening), which `exec` reads: the bundle's
/// copy may have been changed or removed since `create`.
pub const CONFIG: &str = "config.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container id {0:?} is invalid: use letters, digits, '_', '+', '-' and '.' (not '.' or '..' alone)")]
    InvalidId(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("state {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("state {path}: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("state root {path}: {why}: state files hold the hooks that delete runs as root; use a directory owned by the runtime's user (root) and writable by no one else (mode 0700 or 0711)")]
    Unsafe { path: PathBuf, why: String },
}

/// `--root` and every directory above it must be out of others' reach: state.json holds
/// the poststop hooks `delete` runs as root, and a record or fifo planted by another user
/// would be trusted. The root itself is owned by this process's user and writable by no
/// one else; each directory above it is owned by root or by that user and writable by no
/// one else, or sticky (/tmp: others cannot rename or remove what is not theirs). A root
/// not there yet is checked up to what exists and made 0700.
pub fn check_root(root: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let unsafe_at = |p: &Path, why: String| StateError::Unsafe {
        path: p.to_path_buf(),
        why,
    };
    let abs = std::path::absolute(root).map_err(io_at(root))?;
    // A symlink on the way is followed by every later open: one owned by someone else (in
    // a sticky /tmp, say) could be replaced by its owner after this check.
    let mut prefix = PathBuf::new();
    for c in abs.components() {
        prefix.push(c);
        match fs::symlink_metadata(&prefix) {
            Ok(m) if m.file_type().is_symlink() && m.uid() != 0 && m.uid() != me => {
                return Err(unsafe_at(
                    &prefix,
                    format!("{} is a symlink owned by uid {}", prefix.display(), m.uid()),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(io_at(&prefix)(e)),
        }
    }
    // The existing part, with its symlinks resolved: that is where the files will be.
    let mut existing = abs.as_path();
    let real = loop {
        match fs::canonicalize(existing) {
            Ok(r) => break r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => match existing.parent() {
                Some(p) => existing = p,
                None => return Err(io_at(root)(e)),
            },
            Err(e) => return Err(io_at(existing)(e)),
        }
    };
    let is_root_itself = existing == abs.as_path();
    let mut dir = real.as_path();
    let mut first = true;
    loop {
        let m = fs::metadata(dir).map_err(io_at(dir))?;
        if !m.is_dir() {
            return Err(unsafe_at(dir, "not a directory".into()));
        }
        let root_dir = first && is_root_itself;
        let owners_ok = if root_dir {
            m.uid() == me
        } else {
            m.uid() == 0 || m.uid() == me
        };
        if !owners_ok {
            return Err(unsafe_at(
                dir,
                format!("{} is owned by uid {}", dir.display(), m.uid()),
            ));
        }
        let sticky = m.mode() & 0o1000 != 0;
        if m.mode() & 0o022 != 0 && (root_dir || !sticky) {
            return Err(unsafe_at(
                dir,
                format!(
                    "{} is writable by group or others (mode {:04o})",
                    dir.display(),
                    m.mode() & 0o7777
                ),
            ));
        }
        first = false;
        match dir.parent() {
            Some(p) => dir = p,
            None => return Ok(()),
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// runc's id rule (`^[\w+\-\.]+$`), which also keeps ids from naming paths.
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidId(id.into()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Creating,
    Created,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredHooks {
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
    /// Whether the init runs startContainer hooks after `start` (start waits for them).
    #[serde(default)]
    pub start_container: bool,
}

/// What the runtime remembers of a container: enough to find, signal and clean it up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub version: u32,
    pub id: String,
    pub phase: Phase,
    /// 0 until the init exists.
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: tells the init from a later process with the same pid.
    pub start_time: u64,
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    pub annotations: BTreeMap<String, String>,
    pub cgroup: Cgroup,
    pub hooks: StoredHooks,
    /// What the kernel enforced of the Landlock ruleset, if the container has one.
    #[serde(default)]
    pub landlock: Option<String>,
    /// The hardening profile (name or path) and mode the container was created under;
    /// `exec` is checked against the same.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
}

/// The OCI state (runtime-spec runtime.md#state).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

impl Record {
    pub fn oci_state(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            status,
            pid: (self.pid > 0 && status != Status::Stopped).then_some(self.pid),
            bundle: &self.bundle,
            annotations: &self.annotations,
        }
    }

    pub fn oci_state_json(&self, status: Status) -> String {
        serde_json::to_string(&self.oci_state(status)).expect("state serializes")
    }
}

/// (start time, state letter) of a live pid, from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: the fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// One container directory, locked for the lifetime of this value when opened for change.
pub struct Container {
    pub dir: PathBuf,
    pub record: Record,
    _lock: Option<Lock>,
}

type Lock = nix::fcntl::Flock<File>;

fn lock_dir(dir: &Path) -> Result<Lock, StateError> {
    let f = File::open(dir).map_err(io_at(dir))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| io_at(dir)(e.into()))
}

fn read_record(dir: &Path) -> Result<Record, StateError> {
    let path = dir.join("state.json");
    let text = fs::read(&path).map_err(io_at(&path))?;
    let rec: Record = serde_json::from_slice(&text).map_err(|e| StateError::Corrupt {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if rec.version != RECORD_VERSION {
        return Err(StateError::Corrupt {
            path,
            why: format!("record version {} is not {RECORD_VERSION}", rec.version),
        });
    }
    Ok(rec)
}

impl Container {
    pub fn dir_of(root: &Path, id: &str) -> Result<PathBuf, StateError> {
        validate_id(id)?;
        check_root(root)?;
        Ok(root.join(id))
    }

    /// Reads a container without locking (state, list).
    pub fn load(root: &Path, id: &str) -> Result<Container, StateError> {
        let dir = Self::dir_of(root, id)?;
        if !dir.is_dir() {
            return Err(StateError::NotFound(id.into()));
        }
        Ok(Container {
            record: read_record(&dir)?,
            dir,
            _lock: None,
        })
    }

    /// Locks and reads a container (start, kill, delete).
    pub fn open(root: &Path, id: &str) -> Result<Container, StateError> {
        let dir = Self::dir_of(root, id)?;
        if !dir.is_dir() {
            return Err(StateError::NotFound(id.into()));
        }
        let lock = lock_dir(&dir).map_err(|e| match e {
            StateError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                StateError::NotFound(id.into())
            }
            e => e,
        })?;
        // It may have been deleted while we waited for the lock.
        if !dir.exists() {
            return Err(StateError::NotFound(id.into()));
        }
        Ok(Container {
            record: read_record(&dir)?,
            dir,
            _lock: Some(lock),
        })
    }

    /// Reserves `<root>/<id>/` (0700) with its lock, fifo and first record.
    pub fn reserve(root: &Path, record: Record) -> Result<Container, StateError> {
        let dir = Self::dir_of(root, &record.id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(io_at(root))?;
        // Again once it exists: a directory someone else made there between the first
        // check and this mkdir is theirs, and refused.
        check_root(root)?;
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StateError::Exists(record.id))
            }
            Err(e) => return Err(io_at(&dir)(e)),
        }
        let lock = match lock_dir(&dir) {
            Ok(l) => l,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let c = Container {
            dir,
            record,
            _lock: Some(lock),
        };
        let fifo = c.dir.join(FIFO);
        let made = nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| io_at(&fifo)(e.into()))
            .and_then(|_| c.save());
        if let Err(e) = made {
            c.remove_dir();
            return Err(e);
        }
        Ok(c)
    }

    /// Writes state.json atomically (write a temporary file, then rename).
    pub fn save(&self) -> Result<(), StateError> {
        let tmp = self.dir.join(".state.json.tmp");
        let path = self.dir.join("state.json");
        let bytes = serde_json::to_vec(&self.record).expect("record serializes");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io_at(&tmp))?;
        f.write_all(&bytes).map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(FIFO)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }

    /// Status from the record and the live process.
    pub fn status(&self) -> Status {
        let rec = &self.record;
        if rec.pid <= 0 {
            return if rec.phase == Phase::Creating {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        match proc_stat(rec.pid) {
            Some((start, state)) if start == rec.start_time && state != 'Z' && state != 'X' => {}
            _ => return Status::Stopped,
        }
        match rec.phase {
            Phase::Creating => Status::Creating,
            Phase::Created if self.fifo_path().exists() => Status::Created,
            Phase::Created if self.record.cgroup.frozen() => Status::Paused,
            Phase::Created => Status::Running,
        }
    }

    /// Whether the init is still the process we started (not a reused pid).
    pub fn init_alive(&self) -> bool {
        self.record.pid > 0
            && matches!(proc_stat(self.record.pid), Some((s, st)) if s == self.record.start_time && st != 'Z' && st != 'X')
    }

    pub fn remove_dir(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Every container under `root`, sorted by id; unreadable entries are skipped.
pub fn list(root: &Path) -> Result<Vec<Container>, StateError> {
    check_root(root)?;
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_at(root)(e)),
    };
    let mut out: Vec<Container> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|id| Container::load(root, &id).ok())
        .collect();
    out.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_root_must_be_out_of_others_reach() {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("state");
        // Not there yet: checked up to what exists.
        check_root(&root).unwrap();
        fs::create_dir(&root).unwrap();
        mode(&root, 0o700);
        check_root(&root).unwrap();
        mode(&root, 0o711);
        check_root(&root).unwrap();
        for m in [0o770, 0o777, 0o702] {
            mode(&root, m);
            let e = check_root(&root).unwrap_err().to_string();
            assert!(e.contains("writable by group or others"), "{m:o}: {e}");
            // A subdirectory named as the root is judged by its parents too.
            assert!(check_root(&root.join("sub")).is_err());
        }
        mode(&root, 0o700);
        // Above the root: a sticky world-writable directory (/tmp) is fine, a plain one not.
        mode(t.path(), 0o1777);
        check_root(&root).unwrap();
        mode(t.path(), 0o777);
        assert!(check_root(&root).is_err());
        mode(t.path(), 0o700);
        // Through a symlink, the directory it leads to is what counts.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        check_root(&link).unwrap();
        mode(&root, 0o777);
        assert!(check_root(&link).is_err());
        mode(&root, 0o700);
        if nix::unistd::geteuid().is_root() {
            // Owned by someone else: refused as the root, and as a directory above it.
            nix::unistd::chown(&root, Some(nix::unistd::Uid::from_raw(1000)), None).unwrap();
            assert!(check_root(&root)
                .unwrap_err()
                .to_string()
                .contains("owned by uid 1000"));
            assert!(check_root(&root.join("sub")).is_err());
            // A symlink of someone else's on the way could be swapped after the check.
            nix::unistd::chown(&root, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
            check_root(&link).unwrap();
            nix::unistd::fchownat(
                None,
                &link,
                Some(nix::unistd::Uid::from_raw(1000)),
                None,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .unwrap();
            let e = check_root(&link).unwrap_err().to_string();
            assert!(e.contains("symlink owned by uid 1000"), "{e}");
        }
    }

    pub fn record(id: &str) -> Record {
        Record {
            version: RECORD_VERSION,
            id: id.into(),
            phase: Phase::Creating,
            pid: 0,
            start_time: 0,
            oci_version: "1.2.0".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2026-01-01T00:00:00Z".into(),
            owner: String::new(),
            annotations: BTreeMap::new(),
            cgroup: Cgroup::default(),
            hooks: StoredHooks::default(),
            landlock: None,
            profile: None,
            mode: None,
        }
    }

    #[test]
    fn ids() {
        for ok in ["a", "abc-1.2_3+x", "..a"] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserve_is_exclusive_and_status_follows_the_process() {
        let d = tempfile::tempdir().unwrap();
        let c = Container::reserve(d.path(), record("one")).unwrap();
        assert!(matches!(
            Container::reserve(d.path(), record("one")),
            Err(StateError::Exists(_))
        ));
        assert_eq!(c.status(), Status::Creating);
        let mut c = c;
        // Our own pid is alive; a wrong start time means "another process with our pid".
        c.record.pid = std::process::id() as i32;
        c.record.phase = Phase::Created;
        c.record.start_time = proc_stat(c.record.pid).unwrap().0;
        assert_eq!(c.status(), Status::Created);
        fs::remove_file(c.fifo_path()).unwrap();
        assert_eq!(c.status(), Status::Running);
        c.record.start_time += 1;
        assert_eq!(c.status(), Status::Stopped);
        c.save().unwrap();
        drop(c);
        let again = Container::open(d.path(), "one").unwrap();
        assert_eq!(again.record.phase, Phase::Created);
        assert_eq!(list(d.path()).unwrap().len(), 1);
    }

    #[test]
    fn oci_state_shape() {
        let r = record("x");
        let v: serde_json::Value =
            serde_json::from_str(&r.oci_state_json(Status::Stopped)).unwrap();
        assert_eq!(v["ociVersion"], "1.2.0");
        assert_eq!(v["status"], "stopped");
        assert!(v.get("pid").is_none());
    }
}
