//! The supervisor side of a recording: takes the init's listener once the init has loaded
//! the recording filter (isolate step `record`), then answers every call of every thread
//! and child with SECCOMP_USER_NOTIF_FLAG_CONTINUE (seccomp_unotify(2)), decoding each
//! first, while the thread waits. It ends when the last process under the filter is gone
//! (the listener reports POLLHUP).

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::decode::{self, FileKind, Target};
use super::recording::Recording;
use super::LearnError;
use crate::sys;

/// How long the init may take from telling the recorder to having its listener found.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for the init (process `pid`) to announce the recording filter, then copies the
/// listener out of it with pidfd_getfd. Until the copy is made the init is blocked in its
/// execve, which the filter holds for a supervisor, so nothing of the workload is missed.
pub fn attach(sock: &OwnedFd, pid: i32) -> Result<OwnedFd, LearnError> {
    // Opened while the init is surely alive (it waits for `start`): pidfd_getfd then takes
    // from that very process or fails, even if its pid were reused.
    let pidfd =
        sys::pidfd_open(pid).map_err(|e| LearnError::Attach(format!("pidfd_open {pid}: {e}")))?;
    let mut b = [0u8; 16];
    let n = loop {
        match nix::unistd::read(sock.as_raw_fd(), &mut b) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r,
        }
    };
    match n {
        Ok(n) if n > 0 => {}
        Ok(_) => {
            return Err(LearnError::Attach(
                "the container ended before its process started".into(),
            ))
        }
        Err(e) => return Err(LearnError::Attach(format!("wait for the init: {e}"))),
    }
    let dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let start = Instant::now();
    while start.elapsed() < ATTACH_TIMEOUT {
        for e in std::fs::read_dir(&dir)
            .map_err(|e| LearnError::Attach(format!("{}: {e}", dir.display())))?
        {
            let Ok(e) = e else { continue };
            let is_listener = std::fs::read_link(e.path())
                .is_ok_and(|l| l.as_os_str() == "anon_inode:seccomp notify");
            let Some(fd) = e.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if is_listener {
                return sys::pidfd_getfd(pidfd.as_fd(), fd)
                    .map_err(|e| LearnError::Attach(format!("pidfd_getfd {pid}/{fd}: {e}")));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(LearnError::Attach(format!(
        "the init (pid {pid}) loaded no recording filter within {ATTACH_TIMEOUT:?}"
    )))
}

/// Answers and records every notification until no process is left under the filter.
pub fn record(listener: &OwnedFd, rec: &mut Recording) {
    let fd = listener.as_raw_fd();
    // Older kernels lack it; the recording is the same, only slower.
    let _ = sys::seccomp_notify_sync_wake_up(listener.as_fd());
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        let ev = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ev.contains(PollFlags::POLLIN) {
            if ev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                return;
            }
            continue;
        }
        // ENOENT: the thread died before we read it.
        let Ok(req) = ScmpNotifReq::receive(fd) else {
            continue;
        };
        let arch = req.data.arch;
        let name = req
            .data
            .syscall
            .get_name_by_arch(arch)
            .unwrap_or_else(|_| format!("nr:{}", i32::from(req.data.syscall)));
        if let Some(a) = crate::policy::catalog::oci_arch(arch) {
            rec.arches.insert(a.into());
        }
        decode::note(rec, &name, req.data.args, &Thread(req.pid as i32));
        // The thread may have died meanwhile; nothing to do then.
        let _ = ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::CONTINUE).respond(fd);
    }
}

/// A traced thread, by its id in the runtime's pid namespace.
struct Thread(i32);

impl Thread {
    fn proc(&self, rest: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{rest}", self.0))
    }

    /// `path` opened (O_PATH) inside the thread's root, with `resolve` flags besides
    /// RESOLVE_IN_ROOT.
    fn open_in_root(&self, path: &Path, resolve: u64) -> Option<OwnedFd> {
        let root = std::fs::File::open(self.proc("root")).ok()?;
        let rel = path.strip_prefix("/").unwrap_or(path);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        sys::openat2(
            root.as_fd(),
            rel,
            libc::O_PATH,
            0,
            sys::RESOLVE_IN_ROOT | resolve,
        )
        .ok()
    }

    fn tgid(&self) -> Option<i32> {
        let status = std::fs::read_to_string(self.proc("status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:"))
            .and_then(|v| v.trim().parse().ok())
    }
}

impl Target for Thread {
    fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        match sys::read_remote(self.0, addr, buf) {
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Ok(0),
            r => r,
        }
    }

    // readlink of /proc/PID/cwd and /proc/PID/fd/N gives the path from the root of the
    // thread's mount namespace, which after pivot_root is the container's view.
    fn cwd(&self) -> Option<PathBuf> {
        std::fs::read_link(self.proc("cwd")).ok()
    }

    fn fd_path(&self, fd: i32) -> Option<PathBuf> {
        std::fs::read_link(self.proc(&format!("fd/{fd}"))).ok()
    }

    /// Resolved inside the thread's root (RESOLVE_IN_ROOT), as the call would be.
    fn kind(&self, path: &Path) -> Option<FileKind> {
        let fd = self.open_in_root(path, 0)?;
        let meta = std::fs::File::from(fd).metadata().ok()?;
        Some(if meta.is_dir() {
            FileKind::Dir
        } else {
            FileKind::Other
        })
    }

    fn ids(&self) -> Option<([u32; 4], [u32; 4])> {
        let status = std::fs::read_to_string(self.proc("status")).ok()?;
        let four = |key: &str| -> Option<[u32; 4]> {
            let line = status.lines().find_map(|l| l.strip_prefix(key))?;
            let v: Vec<u32> = line
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            v.try_into().ok()
        };
        Some((four("Uid:")?, four("Gid:")?))
    }

    fn plain(&self, path: &Path) -> bool {
        self.open_in_root(path, sys::RESOLVE_NO_SYMLINKS).is_some()
    }

    fn socket(&self, fd: i32) -> Option<(i32, i32)> {
        use nix::sys::socket::{getsockopt, sockopt};
        let pidfd = sys::pidfd_open(self.tgid()?).ok()?;
        let sock = sys::pidfd_getfd(pidfd.as_fd(), fd).ok()?;
        let typ = getsockopt(&sock, sockopt::SockType).ok()?;
        Some((0, typ as i32))
    }
}
