//! Namespaces (runtime-spec config-linux.md#namespaces): new ones are created by the clone
//! flags of the spawn; those given by `path` are joined with setns(2).

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use crate::spec::{Namespace, NsKind, Plan};
use crate::sys;

/// Opens a namespace file given by `path` for setns: first as O_PATH, which opens nothing
/// of a device or FIFO, and only once it is seen to be on nsfs, for reading through that
/// descriptor (setns(2) needs a file opened for real).
fn open_ns(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let at: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)?
        .into();
    let fs = nix::sys::statfs::fstatfs(&at).map_err(io::Error::from)?;
    if fs.filesystem_type() != crate::spec::NSFS_MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a namespace file (nsfs)", path.display()),
        ));
    }
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_cloexec()
        .open(format!("/proc/self/fd/{}", at.as_raw_fd()))?
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

/// Opens the namespace file of a planned namespace, and checks that it is the one the
/// policy judged when the config was planned: a path (or a symlink on it) changed since
/// then could lead into the host's namespace.
fn open_planned(ns: &Namespace, path: &Path) -> io::Result<OwnedFd> {
    let fd = open_ns(path)?;
    if let Some(want) = ns.identity {
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(io::Error::from)?;
        if (st.st_dev, st.st_ino) != want {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is no longer the namespace the config was checked with",
                    path.display()
                ),
            ));
        }
    }
    Ok(fd)
}

/// The namespace of `kind` the container's init (`pid`) is in or will join: the planned
/// file, checked, for a joined one; the init's own for one it was cloned into.
pub fn open_for(plan: &Plan, pid: i32, kind: NsKind) -> io::Result<Option<OwnedFd>> {
    match plan.namespace(kind) {
        None => Ok(None),
        Some(ns) => match &ns.path {
            Some(path) => open_planned(ns, path).map(Some),
            None => open_ns(Path::new(&format!("/proc/{pid}/ns/{}", kind.proc_name()))).map(Some),
        },
    }
}

/// Joins the planned namespace at `path`; setns itself checks that the file is a
/// namespace of that kind.
pub fn join(ns: &Namespace, path: &Path) -> io::Result<()> {
    let kind = ns.kind;
    let fd = open_planned(ns, path)?;
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
            join(ns, path)
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
        let Some(
            ns @ Namespace {
                path: Some(path), ..
            },
        ) = plan.namespace(kind)
        else {
            continue;
        };
        if for_children(kind) {
            continue;
        }
        // Already joined by the first stage (clone_staged): joining again would be
        // refused, for a user namespace, or not permitted from a new user namespace.
        if stage_joins(plan, kind) {
            continue;
        }
        join(ns, path).map_err(|e| {
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

/// Whether the init needs a first stage (see [`clone_staged`]): a joined user namespace
/// with a new pid namespace, or a new user namespace with others joined by path.
pub fn needs_stage(plan: &Plan) -> bool {
    let new = |k| plan.namespace(k).is_some_and(|n| n.path.is_none());
    let joined = |k| plan.namespace(k).is_some_and(|n| n.path.is_some());
    (joined(NsKind::User) && new(NsKind::Pid))
        || (new(NsKind::User)
            && NsKind::ALL
                .into_iter()
                .any(|k| k != NsKind::User && !for_children(k) && joined(k)))
}

/// Whether the first stage, if there is one, joins `kind` (given by path): the user
/// namespace when that is joined, else every kind but pid and time (joined by the parent).
fn stage_joins(plan: &Plan, kind: NsKind) -> bool {
    if !needs_stage(plan) {
        return false;
    }
    if joins_user_namespace(plan) {
        kind == NsKind::User
    } else {
        !for_children(kind)
    }
}

/// Clones `child` through a first stage, as runc's multi-stage fork does, for the two cases
/// where the order of setns and unshare matters:
/// - a joined user namespace and a new pid namespace: the stage joins the user namespace
///   and unshares the pid namespace, which then belongs to it; `child` is its pid 1;
/// - a new user namespace and namespaces joined by path, which belong to another user
///   namespace: the stage joins them while it still has the host's privileges, then
///   `child` is cloned with `flags` (the new user namespace among them).
///
/// The stage clones with CLONE_PARENT, so that the child is ours to wait for. Returns its
/// pid.
pub fn clone_staged(plan: &Plan, flags: i32, child: impl FnOnce() -> i32) -> io::Result<i32> {
    let ctx =
        |what: String, e: io::Error| io::Error::new(e.kind(), format!("first stage: {what}: {e}"));
    let user_joined = plan.namespace(NsKind::User).and_then(|n| n.path.as_ref());
    // What the stage joins, opened here so that a bad path fails with its name.
    let mut joins = Vec::new();
    for kind in NsKind::ALL {
        let Some((ns, path)) = plan
            .namespace(kind)
            .and_then(|n| n.path.as_ref().map(|p| (n, p)))
        else {
            continue;
        };
        if stage_joins(plan, kind) {
            let fd =
                open_planned(ns, path).map_err(|e| ctx(format!("open {}", path.display()), e))?;
            joins.push((kind, fd));
        }
    }
    let (child_flags, unshare_pid) = match user_joined {
        Some(_) => (0, true),
        None => (flags, false),
    };
    let (pid_r, pid_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ctx("pipe".into(), e.into()))?;
    let (joins_ref, pid_w_ref) = (&joins, &pid_w);
    let stage = sys::clone_into(0, move || {
        // The stage enters a namespace the container's processes may share: like the init,
        // nobody may open its /proc/PID/exe or memory (CVE-2019-5736 class).
        if sys::set_dumpable(false).is_err() {
            return 4;
        }
        for (i, (kind, fd)) in joins_ref.iter().enumerate() {
            if sys::setns(fd.as_fd(), kind.clone_flag()).is_err() {
                return 10 + i as i32;
            }
        }
        if unshare_pid && sys::unshare(libc::CLONE_NEWPID).is_err() {
            return 2;
        }
        match sys::clone_into(libc::CLONE_PARENT | child_flags, child) {
            Ok(pid) => {
                let _ = nix::unistd::write(pid_w_ref, &pid.to_ne_bytes());
                0
            }
            Err(_) => 3,
        }
    })
    .map_err(|e| ctx("clone".into(), e))?;
    drop(pid_w);
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(stage), None);
    let mut buf = [0u8; 4];
    let n = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&pid_r), &mut buf).unwrap_or(0);
    let path_of = |kind: NsKind| {
        plan.namespace(kind)
            .and_then(|n| n.path.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    match status {
        Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) if n == 4 => Ok(i32::from_ne_bytes(buf)),
        Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
            let what = match code {
                2 => "unshare the pid namespace".to_owned(),
                3 => "clone the init".to_owned(),
                4 => "make itself non-dumpable".to_owned(),
                c => match joins.get((c - 10).max(0) as usize) {
                    Some((kind, _)) => {
                        format!("join {} namespace {}", kind.spec_name(), path_of(*kind))
                    }
                    None => format!("exit status {c}"),
                },
            };
            Err(ctx(what, io::Error::other("failed")))
        }
        other => Err(ctx("wait".into(), io::Error::other(format!("{other:?}")))),
    }
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
