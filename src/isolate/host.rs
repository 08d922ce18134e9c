//! Hostname, domainname (config.md#hostname, #domainname) and linux.sysctl.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::Path;

use super::resolve;
use crate::spec::Plan;
use crate::sys;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Init step "host".
pub fn apply(plan: &Plan) -> io::Result<()> {
    // A new network namespace starts with lo down; a joined one is left as it is.
    if plan
        .namespace(crate::spec::NsKind::Network)
        .is_some_and(|n| n.path.is_none())
    {
        super::netdev::loopback_up()
            .map_err(|e| io::Error::new(e.kind(), format!("bring lo up: {e}")))?;
    }
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).map_err(|e| {
            io::Error::new(io::Error::from(e).kind(), format!("sethostname {h:?}: {e}"))
        })?;
    }
    if let Some(d) = &plan.domainname {
        let c = std::ffi::CString::new(d.as_str())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        write_proc_sys(Path::new("kernel/domainname"), c.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("set domainname {d:?}: {e}")))?;
    }
    for (key, value) in &plan.sysctl {
        let rel = key.replace('.', "/");
        write_proc_sys(Path::new(&rel), value.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("sysctl {key}={value}: {e}")))?;
    }
    Ok(())
}

/// Writes below the container's /proc/sys (see [`write_proc`]).
fn write_proc_sys(rel: &Path, value: &[u8]) -> io::Result<()> {
    write_proc(&Path::new("sys").join(rel), value)
}

/// Writes a file of the container's procfs. The /proc the init sees must really be procfs
/// (a rootfs could put anything at /proc), and the path is resolved without symlinks and
/// without crossing a mount: a file bind-mounted over the target cannot receive the write
/// instead (CVE-2025-52881 class: redirected procfs writes).
pub fn write_proc(rel: &Path, value: &[u8]) -> io::Result<()> {
    let root = resolve::open_root(Path::new("/"))?;
    let proc = resolve::open_in_root_with(
        root.as_fd(),
        Path::new("/proc"),
        libc::O_PATH | libc::O_DIRECTORY,
    )?;
    if !resolve::is_fs(proc.as_fd(), PROC_SUPER_MAGIC)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc is not procfs",
        ));
    }
    let fd = sys::openat2(
        proc.as_fd(),
        rel,
        libc::O_WRONLY | libc::O_TRUNC,
        0,
        sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_BENEATH | sys::RESOLVE_NO_XDEV,
    )?;
    std::fs::File::from(fd).write_all(value)
}
