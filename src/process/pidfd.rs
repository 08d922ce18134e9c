//! `--pidfd-socket` (runc 1.2): a pidfd of the container's init (create, run) or of an
//! exec'd process, sent over a unix socket with SCM_RIGHTS and, as runc sends it, the kind of
//! init as data ("standard", or "setns" for exec). A manager that holds it signals and
//! waits for exactly that process, never for a pid reused after it exits.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::lifecycle::{step_err, Error};

/// Connected before anything exists, so that a bad path fails with nothing to undo.
pub fn connect(path: &Path) -> Result<OwnedFd, Error> {
    UnixStream::connect(path)
        .map(OwnedFd::from)
        .map_err(|e| step_err("pidfd-socket", format!("connect {}: {e}", path.display())))
}

/// pidfd_open(2) of `pid` (a child of this process, so not yet reaped: the pid is ours).
pub fn send(sock: BorrowedFd<'_>, pid: i32, kind: &str) -> Result<(), Error> {
    let fd = crate::sys::pidfd_open(pid)
        .map_err(|e| step_err("pidfd-socket", format!("pidfd_open {pid}: {e}")))?;
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(kind.as_bytes())];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| step_err("pidfd-socket", format!("send the pidfd: {e}")))?;
    Ok(())
}
