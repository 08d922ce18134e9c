//! File descriptors that reach the container: stdio and `--preserve-fds` only.

use std::io;

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
