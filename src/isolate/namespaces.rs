//! Namespaces (runtime-spec config-linux.md#namespaces): new ones are created by the clone
//! flags of the spawn; those given by `path` are joined with setns(2).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use crate::spec::{Namespace, NsKind, Plan};
use crate::sys;

/// Opens a namespace file given by `path` for setns.
fn open_ns(path: &Path) -> io::Result<OwnedFd> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_cloexec()
        .open(path)?
        .into())
}

trait CloexecOpen {
    fn custom_flags_cloexec(&mut self) -> &mut Self;
}

impl CloexecOpen for std::fs::OpenOptions {
    fn custom_flags_cloexec(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_CLOEXEC)
    }
}

/// Joins `kind` at `path`; setns itself checks that the file is a namespace of that kind.
pub fn join(kind: NsKind, path: &Path) -> io::Result<()> {
    let fd = open_ns(path)?;
    sys::setns(fd.as_fd(), kind.clone_flag()).map_err(|e| {
        if e.raw_os_error() == Some(libc::EINVAL) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a {} namespace", path.display(), kind.spec_name()),
            )
        } else {
            e
        }
    })
}

/// The kinds that setns changes only for children (pid, time): the parent joins these
/// before it spawns the init, and returns to its own afterwards (see [`ChildrenIn`]).
pub fn for_children(kind: NsKind) -> bool {
    matches!(kind, NsKind::Pid | NsKind::Time)
}

/// The parent's own pid/time namespaces for children, restored when dropped.
pub struct ChildrenIn {
    saved: Vec<(NsKind, OwnedFd)>,
}

impl ChildrenIn {
    /// Makes the next child start in the namespaces joined by path of the kinds in
    /// [`for_children`].
    pub fn enter(plan: &Plan) -> io::Result<ChildrenIn> {
        let mut saved = Vec::new();
        for ns in plan.namespaces.iter().filter(|n| for_children(n.kind)) {
            let Some(path) = &ns.path else { continue };
            let own = open_ns(Path::new(&format!(
                "/proc/self/ns/{}_for_children",
                ns.kind.proc_name()
            )))?;
            join(ns.kind, path)
                .map_err(|e| io::Error::new(e.kind(), format!("join {}: {e}", path.display())))?;
            saved.push((ns.kind, own));
        }
        // A new time namespace can only be made by unshare(2), for our next child, and its
        // offsets written before that child exists (time_namespaces(7)).
        if plan
            .namespaces
            .iter()
            .any(|n| n.kind == NsKind::Time && n.path.is_none())
        {
            let own = open_ns(Path::new("/proc/self/ns/time_for_children"))?;
            sys::unshare(libc::CLONE_NEWTIME)
                .map_err(|e| io::Error::new(e.kind(), format!("unshare time namespace: {e}")))?;
            saved.push((NsKind::Time, own));
            let mut text = String::new();
            for (clock, secs, nanos) in &plan.time_offsets {
                text.push_str(&format!("{clock} {secs} {nanos}\n"));
            }
            if !text.is_empty() {
                std::fs::write("/proc/self/timens_offsets", text).map_err(|e| {
                    io::Error::new(e.kind(), format!("write linux.timeOffsets: {e}"))
                })?;
            }
        }
        Ok(ChildrenIn { saved })
    }
}

impl Drop for ChildrenIn {
    fn drop(&mut self) {
        for (kind, fd) in self.saved.drain(..) {
            let _ = sys::setns(fd.as_fd(), kind.clone_flag());
        }
    }
}

/// Init step: join the namespaces given by path (other than pid/time, joined by the parent),
/// then unshare the cgroup namespace now that the parent has placed us in our cgroup, so that
/// its root is the container's own cgroup.
pub fn enter(plan: &Plan) -> io::Result<()> {
    // NsKind::ALL starts with the user namespace: what is joined or made afterwards
    // belongs to it.
    for kind in NsKind::ALL {
        let Some(Namespace {
            path: Some(path), ..
        }) = plan.namespace(kind)
        else {
            continue;
        };
        if for_children(kind) {
            continue;
        }
        join(kind, path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "join {} namespace {}: {e}",
                    kind.spec_name(),
                    path.display()
                ),
            )
        })?;
    }
    // The cgroup namespace is made here, once the runtime has placed us in our cgroup, so
    // that its root is the container's cgroup. With a joined user namespace every new
    // namespace is made here, so that it belongs to that user namespace.
    let new = plan.new_namespace_flags();
    let mut flags = new & libc::CLONE_NEWCGROUP;
    if joins_user_namespace(plan) {
        flags |= new
            & (libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET);
    }
    if flags != 0 {
        sys::unshare(flags)
            .map_err(|e| io::Error::new(e.kind(), format!("unshare namespaces: {e}")))?;
    }
    Ok(())
}

/// Whether the container joins an existing user namespace (then the init is cloned into
/// no new namespace and makes them from inside that one).
pub fn joins_user_namespace(plan: &Plan) -> bool {
    plan.namespace(NsKind::User)
        .is_some_and(|n| n.path.is_some())
}

/// Whether the container gets a new user namespace whose maps the runtime writes.
pub fn new_user_namespace(plan: &Plan) -> bool {
    plan.namespace(NsKind::User)
        .is_some_and(|n| n.path.is_none())
}
