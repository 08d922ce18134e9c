//! Mount options of runtime-spec config.md#mounts, parsed once into flags, and the mounting of
//! one entry onto a target opened inside the rootfs.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::stat::fstat;

use super::resolve::{self, Kind};
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

/// Parsed mount options: flags for mount(2), recursive attributes for mount_setattr(2),
/// propagation changes, and the rest as filesystem data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub clear: MsFlags,
    pub propagation: Vec<MsFlags>,
    /// MOUNT_ATTR_* set / cleared on the whole subtree ("rro", "rnosuid", ...).
    pub rec_set: u64,
    pub rec_clear: u64,
    pub data: Vec<String>,
    /// "idmap" (the mount itself) or "ridmap" (the whole tree): an idmapped bind.
    pub idmap: bool,
    pub ridmap: bool,
}

/// propagation option → flags, shared by mount options and linux.rootfsPropagation.
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            clear: MsFlags::empty(),
            propagation: vec![],
            rec_set: 0,
            rec_clear: 0,
            data: vec![],
            idmap: false,
            ridmap: false,
        }
    }
}

impl MountOptions {
    /// The option table of mount(8) as runc reads it (libcontainer/specconv).
    pub fn parse(options: &[String]) -> MountOptions {
        let mut o = MountOptions::default();
        for opt in options {
            let (set, clear) = match opt.as_str() {
                "defaults" => (MsFlags::empty(), MsFlags::empty()),
                "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
                "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
                "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
                "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
                "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
                "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
                "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
                "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
                "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
                "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
                "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
                "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
                "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
                "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
                "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
                "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
                "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
                "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
                "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
                "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
                "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
                "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
                "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
                "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
                "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
                "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
                "idmap" => {
                    o.idmap = true;
                    continue;
                }
                "ridmap" => {
                    o.ridmap = true;
                    continue;
                }
                // runc extension for tmpfs; palisade does not copy up, so it must not pretend.
                "tmpcopyup" => {
                    o.data.push(opt.clone());
                    continue;
                }
                other => {
                    if let Some(p) = propagation_flag(other) {
                        o.propagation.push(p);
                    } else if let Some((set, clear)) = recursive_attr(other) {
                        o.rec_set |= set;
                        o.rec_clear |= clear;
                    } else {
                        o.data.push(other.to_owned());
                    }
                    continue;
                }
            };
            o.flags = (o.flags - clear) | set;
            o.clear = (o.clear - set) | clear;
        }
        o
    }

    /// Read-only: "ro", or "rro" on the whole tree.
    pub fn is_readonly(&self) -> bool {
        self.flags.contains(MsFlags::MS_RDONLY) || self.rec_set & sys::MOUNT_ATTR_RDONLY != 0
    }

    /// Not executable: "noexec", or "rnoexec" on the whole tree.
    pub fn is_noexec(&self) -> bool {
        self.flags.contains(MsFlags::MS_NOEXEC) || self.rec_set & sys::MOUNT_ATTR_NOEXEC != 0
    }

    /// MOUNT_ATTR_* equivalents of the per-mount flags, for binds done through mount_setattr.
    pub fn attr_set_clear(&self) -> (u64, u64) {
        let mut set = 0;
        let mut clear = 0;
        for (flag, attr) in [
            (MsFlags::MS_RDONLY, sys::MOUNT_ATTR_RDONLY),
            (MsFlags::MS_NOSUID, sys::MOUNT_ATTR_NOSUID),
            (MsFlags::MS_NODEV, sys::MOUNT_ATTR_NODEV),
            (MsFlags::MS_NOEXEC, sys::MOUNT_ATTR_NOEXEC),
            (MsFlags::MS_NODIRATIME, sys::MOUNT_ATTR_NODIRATIME),
        ] {
            if self.flags.contains(flag) {
                set |= attr;
            } else if self.clear.contains(flag) {
                clear |= attr;
            }
        }
        // The atime mode is one field: setting one value means clearing the field first.
        for (flag, attr) in [
            (MsFlags::MS_NOATIME, sys::MOUNT_ATTR_NOATIME),
            (MsFlags::MS_STRICTATIME, sys::MOUNT_ATTR_STRICTATIME),
            (MsFlags::MS_RELATIME, sys::MOUNT_ATTR_RELATIME),
        ] {
            if self.flags.contains(flag) {
                set |= attr;
                clear |= sys::MOUNT_ATTR__ATIME;
            }
        }
        (set, clear)
    }

    pub fn data_string(&self) -> String {
        self.data
            .iter()
            .filter(|d| d.as_str() != "tmpcopyup")
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// "rro", "rnosuid", ... (runc 1.1, mount_setattr(2) with AT_RECURSIVE).
fn recursive_attr(opt: &str) -> Option<(u64, u64)> {
    Some(match opt {
        "rro" => (sys::MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, sys::MOUNT_ATTR_RDONLY),
        "rnosuid" => (sys::MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, sys::MOUNT_ATTR_NOSUID),
        "rnodev" => (sys::MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, sys::MOUNT_ATTR_NODEV),
        "rnoexec" => (sys::MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, sys::MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (sys::MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, sys::MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (sys::MOUNT_ATTR_RELATIME, sys::MOUNT_ATTR__ATIME),
        "rnoatime" => (sys::MOUNT_ATTR_NOATIME, sys::MOUNT_ATTR__ATIME),
        "rstrictatime" => (sys::MOUNT_ATTR_STRICTATIME, sys::MOUNT_ATTR__ATIME),
        _ => return None,
    })
}

/// Bind-mounts the host `source` onto `dest` inside `root`. The source is opened once and the
/// target resolved inside the root, then the detached tree is moved fd to fd: no path is
/// resolved twice, so a symlink swapped in between cannot redirect the mount
/// (CVE-2021-30465).
pub fn bind(root: BorrowedFd<'_>, source: &Path, dest: &Path, o: &MountOptions) -> io::Result<()> {
    let tree = detached_bind(source, o, None)?;
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

    fn parse(v: &[&str]) -> MountOptions {
        MountOptions::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

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

    #[test]
    fn flags_data_and_propagation() {
        let o = parse(&["rbind", "ro", "nosuid", "rprivate", "mode=755", "size=64k"]);
        assert!(o.flags.contains(
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
        ));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.data_string(), "mode=755,size=64k");
    }

    #[test]
    fn later_option_wins() {
        let o = parse(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.clear.contains(MsFlags::MS_RDONLY));
        assert_eq!(o.attr_set_clear(), (0, sys::MOUNT_ATTR_RDONLY));
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&["rro", "rnoexec"]);
        assert_eq!(o.rec_set, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOEXEC);
        assert!(o.data.is_empty());
    }

    #[test]
    fn idmap_is_noted() {
        assert!(parse(&["idmap"]).idmap);
    }
}
