//! Mount options of runtime-spec config.md#mounts, parsed once into flags, and the mounting of
//! one entry onto a target opened inside the rootfs.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::stat::fstat;

use super::resolve::{self, Kind};
pub use crate::spec::mount_options::{propagation_flag, MountOptions};
use crate::sys;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Files under /proc that may be bind-mounted over (lxcfs and friends do); any other mount
/// into procfs is refused, since it could hide or replace kernel controls (CVE-2019-19921).
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// The descriptor a mount goes onto: `dest` resolved inside `root`, created as `kind()`
/// says when missing (asked only then: a bind's source is not examined otherwise).
/// A target in procfs is refused (CVE-2019-19921), checked on this very descriptor, so
/// that no symlink swapped in after the check can move the mount into /proc
/// (CVE-2025-52881 class).
fn target(
    root: BorrowedFd<'_>,
    dest: &Path,
    kind: impl FnOnce() -> io::Result<Kind>,
) -> io::Result<OwnedFd> {
    let allowed = proc_allowed(dest);
    let fd = match resolve::open_in_root(root, dest) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            // Name the procfs ancestor rather than fail on creating a file in it.
            if !allowed {
                let mut cur = dest.to_path_buf();
                while cur.pop() {
                    match resolve::open_in_root(root, &cur) {
                        Ok(fd) => {
                            refuse_proc(fd.as_fd(), &cur)?;
                            break;
                        }
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            resolve::open_or_create(root, dest, kind()?)?
        }
        other => other?,
    };
    if !allowed {
        refuse_proc(fd.as_fd(), dest)?;
    }
    Ok(fd)
}

/// Whether `dest` is /proc or in PROC_ALLOWED, compared as paths ("/proc//stat" counts).
/// Only a path under /proc can be: the others skip the eleven comparisons, each a walk
/// over both paths' components, at every mount.
fn proc_allowed(dest: &Path) -> bool {
    dest.starts_with("/proc") && in_allow_list(dest)
}

fn in_allow_list(dest: &Path) -> bool {
    dest == Path::new("/proc") || PROC_ALLOWED.iter().any(|p| Path::new(p) == dest)
}

fn refuse_proc(fd: BorrowedFd<'_>, path: &Path) -> io::Result<()> {
    if resolve::is_fs(fd, PROC_SUPER_MAGIC)? {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "destination resolves into procfs ({}): refused (CVE-2019-19921)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Bind-mounts the host `source` onto `dest` inside `root`. The source is opened once and the
/// target resolved inside the root, then the detached tree is moved fd to fd: no path is
/// resolved twice, so a symlink swapped in between cannot redirect the mount
/// (CVE-2021-30465).
pub fn bind(root: BorrowedFd<'_>, source: &Path, dest: &Path, o: &MountOptions) -> io::Result<()> {
    let tree = detached_bind(source, o, None)?;
    attach(root, &tree, dest, o)
}

/// [`bind`] of a config's source, which must still be the object the policy judged
/// (spec::Pin): a symlink swapped in on the source's path since the check is refused.
pub fn bind_pinned(
    root: BorrowedFd<'_>,
    source: &Path,
    pin: Option<&crate::spec::Pin>,
    dest: &Path,
    o: &MountOptions,
) -> io::Result<()> {
    let tree = detached_bind(source, o, None)?;
    tree.verify(source, pin)?;
    attach(root, &tree, dest, o)
}

/// A detached bind of `source` with the per-mount and recursive attributes of `o` and,
/// with `idmap`, the id mapping of that user namespace (idmapped mounts need host
/// privilege, so the runtime makes these before the init exists and hands them down).
pub fn detached_bind(
    source: &Path,
    o: &MountOptions,
    idmap: Option<BorrowedFd<'_>>,
) -> io::Result<BindTree> {
    let tree = sys::open_tree(source, o.flags.contains(MsFlags::MS_REC) || o.ridmap)?;
    if let Some(userns) = idmap {
        sys::mount_setattr_idmap(tree.as_fd(), o.ridmap, userns).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("idmap (the filesystem may not support idmapped mounts): {e}"),
            )
        })?;
    }
    let (set, clear) = o.attr_set_clear();
    if set != 0 || clear != 0 {
        sys::mount_setattr(tree.as_fd(), false, set, clear, 0)?;
    }
    set_recursive(tree.as_fd(), o)?;
    Ok(BindTree { tree })
}

/// A bind mount made but not yet attached anywhere.
pub struct BindTree {
    pub tree: std::os::fd::OwnedFd,
}

impl BindTree {
    /// Checks that the tree's root is the object `pin` recorded when the config was planned.
    pub fn verify(&self, source: &Path, pin: Option<&crate::spec::Pin>) -> io::Result<()> {
        let Some(pin) = pin else { return Ok(()) };
        let st = fstat(self.tree.as_raw_fd()).map_err(io::Error::from)?;
        if (st.st_dev, st.st_ino) != pin.id {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is no longer {}, the source the config was checked with",
                    source.display(),
                    pin.path.display()
                ),
            ));
        }
        Ok(())
    }

    /// What a missing target is created as: a directory for a directory, else a file.
    fn kind(&self) -> io::Result<Kind> {
        let st = fstat(self.tree.as_raw_fd()).map_err(io::Error::from)?;
        Ok(if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            Kind::Dir
        } else {
            Kind::File
        })
    }
}

/// Moves a detached bind onto `dest` inside `root` (created, when missing, as a directory
/// or a file to match the source), then applies propagation.
pub fn attach(root: BorrowedFd<'_>, b: &BindTree, dest: &Path, o: &MountOptions) -> io::Result<()> {
    let target = target(root, dest, || b.kind())?;
    sys::move_mount_fd(b.tree.as_fd(), target.as_fd())?;
    set_propagation(b.tree.as_fd(), o)
}

/// The recursive attributes ("rro", "rnosuid", ...) on a whole mount tree.
fn set_recursive(mount: BorrowedFd<'_>, o: &MountOptions) -> io::Result<()> {
    if o.rec_set != 0 || o.rec_clear != 0 {
        sys::mount_setattr(mount, true, o.rec_set, o.rec_clear, 0)?;
    }
    Ok(())
}

/// Propagation options, in the order given, on an attached mount.
fn set_propagation(mount: BorrowedFd<'_>, o: &MountOptions) -> io::Result<()> {
    for p in &o.propagation {
        let rec = p.contains(MsFlags::MS_REC);
        sys::mount_setattr(mount, rec, 0, 0, (*p - MsFlags::MS_REC).bits())?;
    }
    Ok(())
}

/// Mounts a filesystem of `typ` onto `dest` inside `root` through the target's descriptor.
pub fn filesystem(
    root: BorrowedFd<'_>,
    typ: &str,
    source: Option<&Path>,
    dest: &Path,
    o: &MountOptions,
) -> io::Result<()> {
    let target = target(root, dest, || Ok(Kind::Dir))?;
    filesystem_onto(root, target.as_fd(), typ, source, dest, o)
}

/// [`filesystem`] onto a target the caller opened and vouches for: maskedPaths, which
/// are in /proc by design.
pub fn filesystem_onto(
    root: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    typ: &str,
    source: Option<&Path>,
    dest: &Path,
    o: &MountOptions,
) -> io::Result<()> {
    let data = o.data_string();
    let fd_path = resolve::fd_path(target);
    let flags = o.flags - MsFlags::MS_BIND - MsFlags::MS_REC;
    nix::mount::mount(
        Some(source.unwrap_or(Path::new(typ))),
        &fd_path,
        Some(typ),
        flags,
        (!data.is_empty()).then_some(data.as_str()),
    )
    .map_err(io::Error::from)?;
    if o.propagation.is_empty() && o.rec_set == 0 && o.rec_clear == 0 {
        return Ok(());
    }
    // The target descriptor still names the covered directory: reopen to reach the new mount.
    let mounted = resolve::open_or_create(root, dest, Kind::Dir)?;
    set_recursive(mounted.as_fd(), o)?;
    set_propagation(mounted.as_fd(), o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_allowed_is_a_comparison_of_paths() {
        for (d, want) in [
            ("/proc", true),
            ("/proc/", true),
            ("/proc/cpuinfo", true),
            ("//proc//cpuinfo/", true),
            ("/./proc/./net/dev", true),
            ("/proc/sys/kernel/ns_last_pid", true),
            ("/proc/sys/kernel/core_pattern", false),
            ("/proc/sysrq-trigger", false),
            ("/procx/cpuinfo", false),
            ("/mnt/proc/cpuinfo", false),
            ("/cpuinfo", false),
            ("/", false),
            ("/dev", false),
        ] {
            let d = Path::new(d);
            assert_eq!(proc_allowed(d), want, "{}", d.display());
            assert_eq!(in_allow_list(d), want, "{}", d.display());
        }
    }
}
