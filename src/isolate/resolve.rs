//! Paths inside the container's root, resolved by the kernel with RESOLVE_IN_ROOT so that
//! neither `..` nor a symlink (absolute or relative, planted by the image or swapped in by a
//! running container) can lead outside it (CVE-2021-30465, CVE-2024-45310 classes).

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::sys;

/// What to create when a path does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

const RESOLVE: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

/// `/a/b` → `a/b`: openat2 with RESOLVE_IN_ROOT takes paths relative to the root fd.
fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// Opens a host path with O_PATH (host paths come from the administrator's config).
pub fn open_path(path: &Path) -> io::Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)?
        .into())
}

/// Opens a directory of the host as the root for later lookups.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?
        .into())
}

/// Opens `path` (absolute, as seen from inside) below `root` with O_PATH.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    let rel = relative(path);
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    sys::openat2(root, &rel, libc::O_PATH, 0, RESOLVE)
}

/// Opens `path` inside `root` with the given flags (for files the init reads or writes).
pub fn open_in_root_with(root: BorrowedFd<'_>, path: &Path, flags: i32) -> io::Result<OwnedFd> {
    sys::openat2(root, &relative(path), flags, 0, RESOLVE)
}

/// Opens `path` inside `root`, first creating missing directories (0755) and, for
/// [`Kind::File`], an empty final file (0644). A symlink met on the way (a dangling one
/// included) is followed inside the root, as the kernel would resolve it there; every step
/// is resolved again with RESOLVE_IN_ROOT, so nothing is ever created outside.
pub fn open_or_create(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> io::Result<OwnedFd> {
    match open_in_root(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = relative(path)
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut done = PathBuf::new();
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        let next = done.join(&part);
        let last = todo.is_empty();
        match open_in_root(root, &next) {
            Ok(fd) if last => return Ok(fd),
            Ok(_) => {
                done = next;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let parent = open_in_root(root, &done)?;
        // A dangling symlink: continue from its target, inside the root.
        if let Ok(target) = nix::fcntl::readlinkat(Some(parent.as_raw_fd()), part.as_os_str()) {
            links += 1;
            if links > 40 {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = PathBuf::from(target);
            if target.is_absolute() {
                done = PathBuf::new();
            }
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => todo.push_front(n.to_owned()),
                    Component::ParentDir => todo.push_front("..".into()),
                    _ => {}
                }
            }
            continue;
        }
        if part == ".." {
            done.pop();
            continue;
        }
        if last && kind == Kind::File {
            match nix::fcntl::openat(
                Some(parent.as_raw_fd()),
                part.as_os_str(),
                nix::fcntl::OFlag::O_CREAT
                    | nix::fcntl::OFlag::O_EXCL
                    | nix::fcntl::OFlag::O_WRONLY
                    | nix::fcntl::OFlag::O_NOFOLLOW
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::from_bits_truncate(0o644),
            ) {
                Ok(fd) => nix::unistd::close(fd).map_err(io::Error::from)?,
                Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            match nix::sys::stat::mkdirat(
                Some(parent.as_raw_fd()),
                part.as_os_str(),
                nix::sys::stat::Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let fd = open_in_root(root, &next)?;
        if last {
            return Ok(fd);
        }
        done = next;
    }
    open_in_root(root, path)
}

/// The /proc/self/fd path of a descriptor, for the few calls (mount(2) of a new filesystem)
/// that take only paths. The magic link names exactly the opened inode.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Whether `fd` names a mount point root in a filesystem with the given magic (statfs(2)).
pub fn is_fs(fd: BorrowedFd<'_>, magic: i64) -> io::Result<bool> {
    let st = nix::sys::statfs::fstatfs(fd).map_err(io::Error::from)?;
    Ok(st.filesystem_type().0 as i64 == magic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/marker"), "inside").unwrap();
        // An absolute symlink pointing at the host's /etc must resolve to the root's /etc.
        std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc", root.join("dots")).unwrap();
        let rfd = open_root(&root).unwrap();
        for p in ["/evil/marker", "/dots/marker"] {
            let fd = open_in_root_with(rfd.as_fd(), Path::new(p), libc::O_RDONLY).unwrap();
            let text = std::fs::read_to_string(fd_path(fd.as_fd())).unwrap();
            assert_eq!(text, "inside", "{p}");
        }
    }

    #[test]
    fn dangling_symlinks_are_followed_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let outside = d.path().join("outside");
        std::os::unix::fs::symlink(&outside, root.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../x/y", root.join("rel")).unwrap();
        let rfd = open_root(&root).unwrap();
        open_or_create(rfd.as_fd(), Path::new("/evil/sub"), Kind::Dir).unwrap();
        assert!(!outside.exists(), "created outside the root");
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        open_or_create(rfd.as_fd(), Path::new("/rel/z"), Kind::File).unwrap();
        assert!(root.join("x/y/z").is_file());
    }

    #[test]
    fn creates_missing_parents_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink("/", root.join("up")).unwrap();
        let rfd = open_root(&root).unwrap();
        open_or_create(rfd.as_fd(), Path::new("/up/new/dir/file"), Kind::File).unwrap();
        assert!(root.join("new/dir/file").is_file());
        assert!(!Path::new("/new/dir/file").exists());
    }
}
