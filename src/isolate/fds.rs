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
    crate::sys::cloexec_from(3 + preserve_fds)
        .map_err(|e| io::Error::new(e.kind(), format!("close_range: {e}")))?;
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
