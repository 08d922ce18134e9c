//! Device nodes and /dev symlinks (runtime-spec config-linux.md#default-devices and
//! #devices), created inside the rootfs through directory descriptors.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use nix::fcntl::AtFlags;
use nix::sys::stat::{fstatat, mknodat, Mode, SFlag};

use super::resolve::{self, Kind};
use crate::spec::Device;

/// The default devices every container gets.
pub fn defaults() -> Vec<Device> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| Device {
        path: Path::new("/dev").join(name),
        kind: 'c',
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// Creates one node; a node of the same type and number already there is kept, anything
/// else at that path is replaced.
pub fn create(root: BorrowedFd<'_>, d: &Device) -> io::Result<()> {
    let parent = d.path.parent().unwrap_or(Path::new("/dev"));
    let name = d
        .path
        .file_name()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let dir = resolve::open_or_create(root, parent, Kind::Dir)?;
    let kind = match d.kind {
        'b' => SFlag::S_IFBLK,
        'p' => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let dev = nix::sys::stat::makedev(d.major, d.minor);
    let perm = Mode::from_bits_truncate(d.mode & 0o7777);
    if let Ok(st) = fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        if st.st_mode & libc::S_IFMT == kind.bits() && (kind == SFlag::S_IFIFO || st.st_rdev == dev)
        {
            return chown_chmod(dir.as_fd(), name, d);
        }
        let flag = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            nix::unistd::UnlinkatFlags::RemoveDir
        } else {
            nix::unistd::UnlinkatFlags::NoRemoveDir
        };
        nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, flag)?;
    }
    match mknodat(Some(dir.as_raw_fd()), name, kind, perm, dev) {
        Ok(()) => chown_chmod(dir.as_fd(), name, d),
        // In a user namespace the kernel refuses mknod: bind the host's node of the same
        // path instead, as runc does.
        Err(nix::errno::Errno::EPERM) => bind_from_host(dir.as_fd(), name, &d.path),
        Err(e) => Err(e.into()),
    }
}

fn bind_from_host(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, host: &Path) -> io::Result<()> {
    let src = super::resolve::open_path(host)
        .map_err(|e| io::Error::new(e.kind(), format!("host device {}: {e}", host.display())))?;
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_EXCL
            | nix::fcntl::OFlag::O_RDONLY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    nix::unistd::close(fd)?;
    let target = crate::sys::openat2(
        dir,
        Path::new(name),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        crate::sys::RESOLVE_NO_SYMLINKS,
    )?;
    let tree = crate::sys::open_tree_fd(src.as_fd(), false)?;
    crate::sys::move_mount_fd(tree.as_fd(), target.as_fd())
}

fn chown_chmod(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, d: &Device) -> io::Result<()> {
    // mknod is subject to the umask; the spec's fileMode is exact.
    nix::sys::stat::fchmodat(
        Some(dir.as_raw_fd()),
        name,
        Mode::from_bits_truncate(d.mode & 0o7777),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )?;
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(nix::unistd::Uid::from_raw(d.uid)),
        Some(nix::unistd::Gid::from_raw(d.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and, with a devpts at /dev/pts, /dev/ptmx.
pub fn symlinks(root: BorrowedFd<'_>, has_devpts: bool) -> io::Result<()> {
    let dir = resolve::open_or_create(root, Path::new("/dev"), Kind::Dir)?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if has_devpts {
        // The container's own devpts instance, not the host's ptmx (runc does the same).
        let _ = nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            "ptmx",
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        links.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in links {
        match nix::unistd::symlinkat(target, Some(dir.as_raw_fd()), name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
