//! What the rules need to know about the host: namespace identities and where host paths
//! really lead. A trait, so that the rules are tested without the host.

use std::path::{Component, Path, PathBuf};

use crate::spec::NsKind;

pub trait Host {
    /// The identity (device, inode) of the namespace file at `path`, if it can be read.
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

    /// `path` with symlinks resolved where it exists (/var/run → /run), else cleaned.
    fn canonical(&self, path: &Path) -> PathBuf;
}

/// The machine palisade runs on.
pub struct RealHost;

impl Host for RealHost {
    fn ns_id(&self, path: &Path) -> Option<(u64, u64)> {
        crate::spec::ns_identity(path)
    }

    /// The runtime's and pid 1's: palisade may run inside a namespace of its own.
    fn host_ns(&self, kind: NsKind) -> Vec<(u64, u64)> {
        crate::spec::host_ns_identities(kind)
    }

    fn runtime_dir(&self) -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        Some(self.canonical(exe.parent()?))
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
        let c = std::fs::canonicalize(path).unwrap_or_else(|_| clean(path));
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
