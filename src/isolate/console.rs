//! The container's terminal (runtime-spec config.md#process `terminal`; runc's
//! --console-socket protocol): the init opens a pty in the container's devpts, sends the
//! master over the console socket with SCM_RIGHTS, binds the slave to /dev/console and makes
//! it the controlling terminal and stdio.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use super::resolve;
use crate::sys;

fn ctx(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Sends `master` over the unix socket `sock` as runc does: one SCM_RIGHTS descriptor, the
/// terminal's name as data.
pub fn send_master(sock: BorrowedFd<'_>, master: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
    Ok(())
}

/// Init step "console": only when the process asks for a terminal.
pub fn setup(
    socket: BorrowedFd<'_>,
    size: Option<(u16, u16)>,
    bind_dev_console: bool,
) -> io::Result<()> {
    let root = resolve::open_root(Path::new("/"))?;
    let master: OwnedFd = resolve::open_in_root_with(
        root.as_fd(),
        Path::new("/dev/ptmx"),
        libc::O_RDWR | libc::O_NOCTTY,
    )
    .map_err(ctx("open /dev/ptmx in the container"))?;
    sys::unlock_pty(master.as_fd()).map_err(ctx("unlock pty"))?;
    let slave = sys::open_pty_peer(master.as_fd()).map_err(ctx("open pty peer"))?;
    if let Some((rows, cols)) = size {
        sys::set_window_size(slave.as_fd(), rows, cols).map_err(ctx("set console size"))?;
    }
    if bind_dev_console {
        bind_console(root.as_fd(), slave.as_fd()).map_err(ctx("bind /dev/console"))?;
    }
    send_master(socket, master.as_fd(), "/dev/ptmx")
        .map_err(ctx("send pty master over the console socket"))?;
    drop(master);
    nix::unistd::setsid()
        .map_err(io::Error::from)
        .map_err(ctx("setsid"))?;
    sys::set_controlling_terminal(slave.as_fd()).map_err(ctx("set controlling terminal"))?;
    for target in 0..=2 {
        nix::unistd::dup2(slave.as_raw_fd(), target)
            .map_err(io::Error::from)
            .map_err(ctx("dup pty to stdio"))?;
    }
    Ok(())
}

/// /dev/console is opened without following symlinks (a symlink planted there must not send
/// the pty's bind mount elsewhere, CVE-2025-52565) and created as a plain file if missing.
fn bind_console(root: BorrowedFd<'_>, slave: BorrowedFd<'_>) -> io::Result<()> {
    let dev = sys::openat2(
        root,
        Path::new("dev"),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        sys::RESOLVE_NO_SYMLINKS,
    )?;
    let flags = nix::fcntl::OFlag::O_CREAT
        | nix::fcntl::OFlag::O_NOFOLLOW
        | nix::fcntl::OFlag::O_CLOEXEC
        | nix::fcntl::OFlag::O_RDONLY;
    match nix::fcntl::openat(
        Some(dev.as_raw_fd()),
        "console",
        flags,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    ) {
        Ok(fd) => nix::unistd::close(fd)?,
        Err(nix::errno::Errno::ELOOP) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "/dev/console is a symlink (CVE-2025-52565)",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let target = sys::openat2(
        dev.as_fd(),
        Path::new("console"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        sys::RESOLVE_NO_SYMLINKS,
    )?;
    let st = nix::sys::stat::fstat(target.as_raw_fd())?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "/dev/console is neither a file nor a device",
        ));
    }
    let tree = sys::open_tree_fd(slave, false)?;
    sys::move_mount_fd(tree.as_fd(), target.as_fd())
}
