//! runc's `tmpcopyup` mount option: a tmpfs mounted over a directory of the image starts
//! with a copy of that directory's contents (podman asks for it on every `--tmpfs` and on
//! `--read-only`'s /tmp, /var/tmp and /run).
//!
//! The image chooses what is copied: every entry is opened relative to its parent's
//! descriptor without following symlinks (a symlink is copied as a symlink), and only
//! directories, regular files and symlinks are copied (a FIFO would block the init, a
//! device node is not the image's to hand over). Hard links become separate files.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid};

/// Directories deeper than this are refused rather than recursed into without end.
const MAX_DEPTH: usize = 128;

/// Copies the entries of directory `from` into directory `to` (both opened O_DIRECTORY),
/// with their modes and owners.
pub fn copy_dir(from: &OwnedFd, to: &OwnedFd) -> io::Result<()> {
    copy_entries(from, to, 0)
}

fn copy_entries(from: &OwnedFd, to: &OwnedFd, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "tmpcopyup: directories nested deeper than {MAX_DEPTH}"
        )));
    }
    // Dir takes ownership of its descriptor: a duplicate, so that `from` stays usable.
    let mut dir = nix::dir::Dir::from_fd(nix::unistd::dup(from.as_raw_fd())?)?;
    let names: Vec<std::ffi::OsString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| {
            use std::os::unix::ffi::OsStrExt;
            OsStr::from_bytes(e.file_name().to_bytes()).to_owned()
        })
        .filter(|n| n != "." && n != "..")
        .collect();
    for name in names {
        copy_entry(from, to, &name, depth)
            .map_err(|e| io::Error::new(e.kind(), format!("tmpcopyup {name:?}: {e}")))?;
    }
    Ok(())
}

fn copy_entry(from: &OwnedFd, to: &OwnedFd, name: &OsStr, depth: usize) -> io::Result<()> {
    let st = nix::sys::stat::fstatat(Some(from.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    if kind == SFlag::S_IFDIR {
        nix::sys::stat::mkdirat(Some(to.as_raw_fd()), name, Mode::from_bits_truncate(0o700))?;
        let src = open_at(from, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let dst = open_at(to, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        copy_entries(&src, &dst, depth + 1)?;
        own(&dst, &st, perm)
    } else if kind == SFlag::S_IFREG {
        let src = open_at(from, name, OFlag::O_RDONLY | OFlag::O_NONBLOCK)?;
        let dst = nix::fcntl::openat(
            Some(to.as_raw_fd()),
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        // SAFETY: openat just returned this descriptor, which nothing else owns.
        let dst = unsafe { OwnedFd::from_raw_fd(dst) };
        io::copy(
            &mut std::fs::File::from(src),
            &mut std::fs::File::from(dst.try_clone()?),
        )?;
        own(&dst, &st, perm)
    } else if kind == SFlag::S_IFLNK {
        let target = nix::fcntl::readlinkat(Some(from.as_raw_fd()), name)?;
        nix::unistd::symlinkat(target.as_os_str(), Some(to.as_raw_fd()), name)?;
        nix::unistd::fchownat(
            Some(to.as_raw_fd()),
            name,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .or_else(ignore_unmapped)
        .map_err(io::Error::from)
    } else {
        Ok(())
    }
}

/// Opens `name` in `dir` without following a symlink there.
fn open_at(dir: &OwnedFd, name: &OsStr, flags: OFlag) -> io::Result<OwnedFd> {
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat just returned this descriptor, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The copy's owner, then its mode (chown clears the set-id bits, so the mode goes last).
fn own(fd: &OwnedFd, st: &FileStat, perm: Mode) -> io::Result<()> {
    nix::unistd::fchown(
        fd.as_raw_fd(),
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
    .or_else(ignore_unmapped)?;
    nix::sys::stat::fchmod(fd.as_raw_fd(), perm)?;
    Ok(())
}

/// An owner the container's user namespace does not map cannot be given (EINVAL): the copy
/// stays the init's, as a file the container makes would.
fn ignore_unmapped(e: nix::errno::Errno) -> nix::Result<()> {
    match e {
        nix::errno::Errno::EINVAL => Ok(()),
        e => Err(e),
    }
}
