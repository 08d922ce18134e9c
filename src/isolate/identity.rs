//! process.user (config.md#user): supplementary groups, gid, uid and umask.

use std::io;

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

use crate::spec::Process;
use crate::sys;

/// Init step "identity". PR_SET_KEEPCAPS keeps the permitted set across setresuid so that
/// the capability step can still grant what the spec lists to a non-root user.
pub fn apply(p: &Process) -> io::Result<()> {
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
