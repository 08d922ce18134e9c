//! The foreground side of `run` and `exec`: signals sent to the runtime go to the
//! container's process, a terminal is proxied through the pty, and the process's exit
//! status comes back as ours.

use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::lifecycle;

/// Where the pty master goes: the given console socket, or, for a terminal process in the
/// foreground, our own end of a socket pair (returned, to receive the master on).
pub fn console_for(
    socket: Option<&std::path::Path>,
    terminal: bool,
    detach: bool,
) -> std::io::Result<(Option<lifecycle::Console>, Option<UnixStream>)> {
    match (socket, terminal && !detach) {
        (Some(p), _) => Ok((Some(lifecycle::Console::Socket(p.to_path_buf())), None)),
        (None, true) => {
            let (mine, theirs) = UnixStream::pair()?;
            Ok((Some(lifecycle::Console::Fd(theirs.into())), Some(mine)))
        }
        (None, false) => Ok((None, None)),
    }
}

/// Blocks every signal the supervisor forwards, before the process exists, so that none
/// is lost; the container's process unblocks them for itself.
pub fn block_forwarded_signals() -> nix::Result<SigSet> {
    let mut mask = SigSet::empty();
    for s in Signal::iterator() {
        if !matches!(
            s,
            Signal::SIGKILL
                | Signal::SIGSTOP
                | Signal::SIGSEGV
                | Signal::SIGBUS
                | Signal::SIGILL
                | Signal::SIGFPE
        ) {
            mask.add(s);
        }
    }
    mask.thread_block()?;
    Ok(mask)
}

/// runc's console protocol: one SCM_RIGHTS descriptor.
pub fn receive_fd(sock: &UnixStream) -> anyhow::Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                return Ok(crate::sys::own_received_fd(*fd));
            }
        }
    }
    anyhow::bail!("no descriptor in the console message")
}

/// Forwards signals to the init, proxies the terminal, and returns the init's exit status.
pub fn supervise(pid: i32, master: Option<OwnedFd>, mask: &SigSet) -> anyhow::Result<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC)?;
    let stdin = std::io::stdin();
    let raw = master
        .as_ref()
        .and_then(|m| RawMode::enter(stdin.as_fd(), m.as_fd()));
    let mut stdin_open = master.is_some();
    let mut code = None;
    let mut buf = [0u8; 8192];
    while code.is_none() {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            if let Some(info) = sfd.read_signal()? {
                let sig = Signal::try_from(info.ssi_signo as i32)?;
                match sig {
                    Signal::SIGCHLD => code = reap(pid),
                    Signal::SIGWINCH => {
                        if let Some(m) = &master {
                            if let Ok((r, c)) = crate::sys::window_size(stdin.as_fd()) {
                                let _ = crate::sys::set_window_size(m.as_fd(), r, c);
                            }
                        }
                    }
                    s => {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), s);
                    }
                }
            }
        }
        if let Some(m) = &master {
            if ready.get(1) == Some(&true) && !copy_once(m, &mut std::io::stdout(), &mut buf) {
                // The pty's last slave is gone: the container is exiting.
                code = code.or_else(|| wait_blocking(pid));
            }
            if ready.get(2) == Some(&true) {
                match stdin.lock().read(&mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let _ = std::fs::File::from(m.try_clone()?).write_all(&buf[..n]);
                    }
                }
            }
        }
    }
    if let Some(m) = &master {
        // Whatever the container wrote just before exiting.
        let _ = nix::fcntl::fcntl(
            m.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        while copy_once(m, &mut std::io::stdout(), &mut buf) {}
    }
    drop(raw);
    Ok(code.unwrap_or(1))
}

fn copy_once(from: &OwnedFd, to: &mut impl Write, buf: &mut [u8]) -> bool {
    match nix::unistd::read(from.as_raw_fd(), buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = to.write_all(&buf[..n]);
            let _ = to.flush();
            true
        }
    }
}

fn reap(pid: i32) -> Option<i32> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(s) if s.pid() == Some(Pid::from_raw(pid)) => return lifecycle::exit_code(s),
            Ok(_) => continue,
        }
    }
}

fn wait_blocking(pid: i32) -> Option<i32> {
    waitpid(Pid::from_raw(pid), None)
        .ok()
        .and_then(lifecycle::exit_code)
}

/// Our terminal in raw mode while it drives the container's pty; restored on drop.
struct RawMode {
    fd: OwnedFd,
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    fn enter(
        stdin: std::os::fd::BorrowedFd<'_>,
        master: std::os::fd::BorrowedFd<'_>,
    ) -> Option<RawMode> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let saved = tcgetattr(stdin).ok()?;
        if let Ok((r, c)) = crate::sys::window_size(stdin) {
            let _ = crate::sys::set_window_size(master, r, c);
        }
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode {
            fd: stdin.try_clone_to_owned().ok()?,
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            self.fd.as_fd(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}
