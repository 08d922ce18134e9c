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

/// What to do with a file of the rootfs at a device's path that is not that device.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// The default devices: the image's file is replaced (a /dev/null symlink planted in
    /// the image must not be what masks are made from, CVE-2025-31133).
    Replace,
    /// linux.devices: config-linux.md#devices says a mismatching file is an error.
    Refuse,
}

/// Creates one node. A node of the same type and number already there is kept as it is:
/// it is not the runtime's, and may be a host node bound there, so its mode and owner are
/// not touched.
pub fn create(root: BorrowedFd<'_>, d: &Device, existing: Existing) -> io::Result<()> {
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
            return Ok(());
        }
        if existing == Existing::Refuse {
            // config-linux.md#devices: "If a file already exists at path that does not
            // match the requested device, the runtime MUST generate an error."
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} already exists in the rootfs and is not the {} device {}:{} asked for",
                    d.path.display(),
                    d.kind,
                    d.major,
                    d.minor
                ),
            ));
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
        Err(nix::errno::Errno::EPERM) => bind_from_host(dir.as_fd(), name, d, kind, dev),
        Err(e) => Err(e.into()),
    }
}

/// The host's node at the same path, bound in: opened without following symlinks and
/// checked to be the very device the plan (and the policy) names, so that an entry judged
/// as c 1:3 cannot bring in whatever file the host has at that path.
fn bind_from_host(
    dir: BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    d: &Device,
    kind: SFlag,
    dev: libc::dev_t,
) -> io::Result<()> {
    let host = &d.path;
    let bad = |why: String| io::Error::other(format!("host device {}: {why}", host.display()));
    let slash = super::resolve::open_root(Path::new("/"))?;
    let src = crate::sys::openat2(
        slash.as_fd(),
        host.strip_prefix("/").unwrap_or(host),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        crate::sys::RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| bad(e.to_string()))?;
    let st = nix::sys::stat::fstat(src.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != kind.bits() || st.st_rdev != dev {
        return Err(bad(format!(
            "not the {} device {}:{} the config names",
            d.kind, d.major, d.minor
        )));
    }
    // A pty made as a node in the container opens nothing of the host's (the kernel finds
    // a pty only through a devpts); bound from the host it is a host terminal, someone's
    // keystrokes (the policy's host-devices rule refuses these in a user namespace too).
    if d.kind == 'c' && crate::spec::devices::pty(d.major, d.minor) {
        return Err(bad(format!(
            "c {}:{} is a pty of the host's: a user namespace cannot make the node, and the host's is not bound in",
            d.major, d.minor
        )));
    }
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

/// The node just made (or kept) is opened without following symlinks and checked to be
/// the device asked for; its mode and owner are set through that descriptor. By path,
/// while `/` is still the host's, a symlink raced into its place would make chmod give a
/// host file the device's mode (the CVE-2025-31133/52565 class of path races).
fn chown_chmod(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, d: &Device) -> io::Result<()> {
    let node = crate::sys::openat2(
        dir,
        Path::new(name),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        crate::sys::RESOLVE_NO_SYMLINKS | crate::sys::RESOLVE_BENEATH,
    )?;
    let st = nix::sys::stat::fstat(node.as_raw_fd())?;
    let dev = nix::sys::stat::makedev(d.major, d.minor);
    let want = match d.kind {
        'b' => libc::S_IFBLK,
        'p' => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    };
    if st.st_mode & libc::S_IFMT != want || (want != libc::S_IFIFO && st.st_rdev != dev) {
        return Err(io::Error::other(format!(
            "{} changed after it was made",
            d.path.display()
        )));
    }
    // mknod is subject to the umask; the spec's fileMode is exact.
    crate::sys::fchown_fchmod(node.as_fd(), d.uid, d.gid, d.mode & 0o7777)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn fifo(path: &str, mode: u32) -> Device {
        Device {
            path: Path::new("/dev").join(path),
            kind: 'p',
            major: 0,
            minor: 0,
            mode,
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }

    /// The mode is set on the node made, exactly (not through the umask), and a symlink in
    /// the node's place is never followed: the file it names keeps its mode.
    #[test]
    fn mode_and_owner_go_through_the_node_not_its_path() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::File::open(d.path()).unwrap();
        nix::unistd::mkfifo(&d.path().join("node"), Mode::from_bits_truncate(0o600)).unwrap();
        chown_chmod(dir.as_fd(), "node".as_ref(), &fifo("node", 0o4640)).unwrap();
        let m = std::fs::symlink_metadata(d.path().join("node")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o4640);

        let target = d.path().join("host-file");
        std::fs::write(&target, "x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("link")).unwrap();
        assert!(chown_chmod(dir.as_fd(), "link".as_ref(), &fifo("link", 0o666)).is_err());
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
        // A node of another type in its place is refused too.
        assert!(chown_chmod(dir.as_fd(), "host-file".as_ref(), &fifo("host-file", 0o666)).is_err());
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
    }
}
