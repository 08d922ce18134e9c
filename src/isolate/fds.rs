//! File descriptors that reach the container: stdio and `--preserve-fds` only.

use std::io;

/// First thing in the init: close every descriptor inherited from the runtime except stdio,
/// the `--preserve-fds` range and those the init owns (`keep`). The runtime's state lock and
/// its end of the channel must not live on in the container's init.
pub fn close_inherited(keep: &[i32], preserve_fds: u32) -> io::Result<()> {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd < 3 + preserve_fds as i32 || keep.contains(&fd) {
            continue;
        }
        // The directory handle of read_dir itself is already closed here; EBADF is harmless.
        let _ = nix::unistd::close(fd);
    }
    Ok(())
}

/// Init step "fds": every descriptor from 3 + preserve_fds on becomes close-on-exec, and the
/// preserved ones are cleared of it. A descriptor leaked into the container (an open host
/// directory, say) lets its process escape through /proc/self/fd (CVE-2024-21626).
pub fn close_stray(preserve_fds: u32) -> io::Result<()> {
    match crate::sys::cloexec_from(3 + preserve_fds) {
        Ok(()) => {}
        // A filter of the config's loaded early (noNewPrivileges false) may predate
        // close_range (Linux 5.9) and deny it; the kernel may lack CLOSE_RANGE_CLOEXEC
        // (5.11). The same flags, set one descriptor at a time, as runc's CloseExecFrom does.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EPERM | libc::ENOSYS | libc::EINVAL)
            ) =>
        {
            cloexec_each(3 + preserve_fds as i32)?
        }
        Err(e) => return Err(io::Error::new(e.kind(), format!("close_range: {e}"))),
    }
    for fd in 3..3 + preserve_fds as i32 {
        match nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        ) {
            Ok(_) | Err(nix::errno::Errno::EBADF) => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("preserve fd {fd}: {e}"),
                ))
            }
        }
    }
    Ok(())
}

/// Marks every open descriptor from `first` on close-on-exec, listed from /proc/self/fd.
/// That /proc is the container's: it must be procfs, not a directory of the image posing
/// as it (which would list nothing and leave every descriptor open).
fn cloexec_each(first: i32) -> io::Result<()> {
    use std::os::fd::{AsFd, IntoRawFd};
    let dir = std::fs::File::open("/proc/self/fd")
        .map_err(|e| io::Error::new(e.kind(), format!("open /proc/self/fd: {e}")))?;
    if !super::resolve::is_fs(dir.as_fd(), 0x9fa0)? {
        return Err(io::Error::other(
            "/proc/self/fd is not procfs: the descriptors cannot be listed",
        ));
    }
    let listed = nix::dir::Dir::from_fd(dir.into_raw_fd())
        .map_err(|e| io::Error::other(format!("list /proc/self/fd: {e}")))?;
    let fds: Vec<i32> = listed
        .into_iter()
        .filter_map(|e| e.ok()?.file_name().to_str().ok()?.parse().ok())
        .collect();
    for fd in fds.into_iter().filter(|&fd| fd >= first) {
        let flags = match nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD) {
            Ok(f) => nix::fcntl::FdFlag::from_bits_truncate(f),
            // The directory handle of read_dir itself is already closed here.
            Err(nix::errno::Errno::EBADF) => continue,
            Err(e) => return Err(io::Error::other(format!("fcntl {fd}: {e}"))),
        };
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(flags | nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| io::Error::other(format!("fcntl {fd}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn the_fallback_marks_every_descriptor_close_on_exec() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let fd = f.as_raw_fd();
        // Clear the flag std set, then let the fallback set it again.
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .unwrap();
        cloexec_each(fd).unwrap();
        let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert!(
            nix::fcntl::FdFlag::from_bits_truncate(flags).contains(nix::fcntl::FdFlag::FD_CLOEXEC)
        );
    }
}
