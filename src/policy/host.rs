//! What the rules need to know about the host: namespace identities and where host paths
//! really lead. A trait, so that the rules are tested without the host.

use std::path::{Component, Path, PathBuf};

use crate::spec::NsKind;

pub trait Host {
    /// The identity (device, inode) of the namespace file at `path` (or of any file: a
    /// hook's program), following links, if it can be read.
    fn ns_id(&self, path: &Path) -> Option<(u64, u64)>;

    /// The host's own namespace of `kind`: the runtime's, since managers run palisade in
    /// the host's namespaces.
    fn own_ns(&self, kind: NsKind) -> Option<(u64, u64)> {
        self.ns_id(Path::new(&format!("/proc/self/ns/{}", kind.proc_name())))
    }

    /// Every identity of the host's namespace of `kind`.
    fn host_ns(&self, kind: NsKind) -> Vec<(u64, u64)> {
        self.own_ns(kind).into_iter().collect()
    }

    /// The directory of the runtime's own binary, which the host executes as root.
    fn runtime_dir(&self) -> Option<PathBuf> {
        None
    }

    /// The runtime's state root (--root), whose files hold the hooks `delete` runs.
    fn state_root(&self) -> Option<PathBuf> {
        None
    }

    /// The uid map of a user namespace joined by path, where it can be read.
    fn joined_uid_map(&self, ns: &crate::spec::Namespace) -> Option<Vec<crate::spec::IdMap>> {
        self.joined_map(ns, "uid_map")
    }

    /// The gid map of a user namespace joined by path, where it can be read.
    fn joined_gid_map(&self, ns: &crate::spec::Namespace) -> Option<Vec<crate::spec::IdMap>> {
        self.joined_map(ns, "gid_map")
    }

    /// `file` (uid_map or gid_map) of a user namespace joined by path.
    fn joined_map(
        &self,
        _ns: &crate::spec::Namespace,
        _file: &str,
    ) -> Option<Vec<crate::spec::IdMap>> {
        None
    }

    /// The host's memory (MemTotal, bytes): a memory limit at or above it bounds nothing.
    fn memory_total(&self) -> Option<u64> {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    }

    /// kernel.pid_max: a pids limit at or above it bounds nothing.
    fn pid_max(&self) -> Option<u64> {
        std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether only the identities and pins the plan recorded count (the real host: what
    /// the policy judges must be what the init checks), rather than ones read now.
    fn plan_pins_only(&self) -> bool {
        false
    }

    /// `path` as one host object (spec::Pin), None when it cannot be opened.
    fn pin(&self, path: &Path) -> Option<crate::spec::Pin> {
        Some(crate::spec::Pin {
            path: self.canonical(path),
            id: (0, 0),
        })
    }

    /// `path` with symlinks resolved where it exists (/var/run → /run), else cleaned.
    fn canonical(&self, path: &Path) -> PathBuf;
}

/// The machine palisade runs on.
pub struct RealHost;

static STATE_ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Records the runtime's --root for [`Host::state_root`] (once, at start).
pub fn set_state_root(root: &Path) {
    let _ = STATE_ROOT.set(root.to_path_buf());
}

impl Host for RealHost {
    fn ns_id(&self, path: &Path) -> Option<(u64, u64)> {
        crate::spec::ns_identity(path)
    }

    /// The runtime's and pid 1's: palisade may run inside a namespace of its own.
    fn host_ns(&self, kind: NsKind) -> Vec<(u64, u64)> {
        crate::spec::host_ns_identities(kind)
    }

    /// The runtime runs from a sealed copy of itself (sanitize, CVE-2019-5736), whose path
    /// says nothing of where the binary lives: that is found from argv[0], as the manager
    /// invoked it (an absolute path, or a name looked up in PATH).
    fn runtime_dir(&self) -> Option<PathBuf> {
        let argv0 = PathBuf::from(std::env::args_os().next()?);
        let exe = if argv0.components().count() > 1 {
            argv0
        } else {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(&argv0))
                .find(|p| p.is_file())?
        };
        // The binary itself resolved (a palisade-<profile> link leads to it).
        let exe = self.canonical(&std::path::absolute(exe).ok()?);
        let dir = exe.parent()?.to_path_buf();
        // Never the whole root: that would be a mistake in finding it, not a place to keep.
        (dir != Path::new("/")).then_some(dir)
    }

    fn state_root(&self) -> Option<PathBuf> {
        STATE_ROOT.get().map(|r| self.canonical(r))
    }

    fn plan_pins_only(&self) -> bool {
        true
    }

    fn pin(&self, path: &Path) -> Option<crate::spec::Pin> {
        crate::spec::Pin::of(path)
    }

    /// For /proc/PID/ns/user: PID's uid_map, read between two looks at its namespace, so
    /// that a PID reused meanwhile by another process is noticed.
    fn joined_map(
        &self,
        ns: &crate::spec::Namespace,
        file: &str,
    ) -> Option<Vec<crate::spec::IdMap>> {
        let path = ns.path.as_deref()?;
        let c: Vec<_> = path.components().collect();
        let pid = c.get(2)?.as_os_str().to_str()?;
        if c.len() != 5
            || c[1].as_os_str() != "proc"
            || c[3].as_os_str() != "ns"
            || c[4].as_os_str() != "user"
            || !pid.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let want = ns.identity.or_else(|| self.ns_id(path))?;
        let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
        if self.ns_id(path)? != want {
            return None;
        }
        if text.trim().is_empty() {
            // Not written yet: whatever its creator writes next is unknown.
            return None;
        }
        text.lines()
            .map(|l| {
                let n: Vec<u32> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (n.len() == 3).then(|| crate::spec::IdMap {
                    container: n[0],
                    host: n[1],
                    size: n[2],
                })
            })
            .collect()
    }

    /// Remembered for the life of the process: a create evaluates the profile twice (before
    /// and after hardening), each time resolving every listed host path and bind source.
    fn canonical(&self, path: &Path) -> PathBuf {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static SEEN: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
        let seen = SEEN.get_or_init(Default::default);
        if let Some(c) = seen.lock().ok().and_then(|m| m.get(path).cloned()) {
            return c;
        }
        // realpath(3) reads every component's link; most listed paths do not exist on a
        // given host, and one stat says so (their answer is then the cleaned path, as a
        // failed realpath gives).
        let c = std::fs::metadata(path)
            .and_then(|_| std::fs::canonicalize(path))
            .unwrap_or_else(|_| clean(path));
        if let Ok(mut m) = seen.lock() {
            m.insert(path.to_path_buf(), c.clone());
        }
        c
    }
}

/// `path` without `.`, `..` or repeated separators, lexically.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}
