//! process.user (config.md#user): supplementary groups, gid, uid and umask.

use std::io;

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::spec::Process;
use crate::sys;

/// Init step "identity". PR_SET_KEEPCAPS keeps the permitted set across setresuid so that
/// the capability step can still grant what the spec lists to a non-root user.
pub fn apply(p: &Process) -> io::Result<()> {
    give_stdio(p);
    let groups: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    setgroups(&groups).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("setgroups {:?}: {e}", p.additional_gids),
        )
    })?;
    let gid = Gid::from_raw(p.gid);
    setresgid(gid, gid, gid).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("setresgid {}: {e}", p.gid),
        )
    })?;
    sys::set_keepcaps(true)?;
    let uid = Uid::from_raw(p.uid);
    setresuid(uid, uid, uid).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("setresuid {}: {e}", p.uid),
        )
    })?;
    sys::set_keepcaps(false)?;
    // runc's default: 0022 where process.user.umask is absent, never the caller's.
    sys::set_umask(p.umask.unwrap_or(0o022));
    Ok(())
}

/// Hands the process its stdio, as runc does (fixStdioPermissions): a non-root workload
/// opens /dev/stdout (/proc/self/fd/1) again, which needs it to own the pipe. Only what
/// belongs to this run is given: the pipes and sockets a manager passes, and the pty the
/// console step made in the container's devpts; never a file or a terminal of the host's
/// (runc changes their owner too: palisade does not, on purpose). A pipe of another user
/// namespace cannot change owner: left as it is, as runc leaves it.
fn give_stdio(p: &Process) {
    use std::os::fd::{AsFd, AsRawFd};
    let uid = Uid::from_raw(p.uid);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for fd in [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()] {
        let Ok(st) = nix::sys::stat::fstat(fd.as_raw_fd()) else {
            continue;
        };
        let kind = st.st_mode & libc::S_IFMT;
        let pty = kind == libc::S_IFCHR
            && p.terminal
            && crate::spec::devices::pty(
                nix::sys::stat::major(st.st_rdev),
                nix::sys::stat::minor(st.st_rdev),
            );
        if !(kind == libc::S_IFIFO || kind == libc::S_IFSOCK || pty) || st.st_uid == p.uid {
            continue;
        }
        let _ = nix::unistd::fchown(fd.as_raw_fd(), Some(uid), None);
    }
}
