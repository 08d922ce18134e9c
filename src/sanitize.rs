//! What the runtime does to itself before anything else.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use crate::sys;

/// Every inherited descriptor from 3 + `preserve` on becomes close-on-exec: none reaches a
/// hook or the container unless `--preserve-fds` hands it over (CVE-2024-21626 class).
pub fn close_inherited_fds(preserve: u32) -> io::Result<()> {
    sys::cloexec_from(3 + preserve)
}

const SEALS: i32 = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

fn running_from_sealed_copy() -> bool {
    std::fs::File::open("/proc/self/exe")
        .ok()
        .and_then(|f| nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|s| s & SEALS == SEALS)
}

/// Commands that put a process into a container re-execute the runtime from a sealed
/// in-memory copy of its binary. A container process that reaches /proc/<init>/exe (for
/// example by running `#!/proc/self/exe`) then finds an immutable memfd, never the host's
/// binary, which it could otherwise overwrite (CVE-2019-5736).
pub fn ensure_sealed_self() -> io::Result<()> {
    if running_from_sealed_copy() {
        return Ok(());
    }
    let mut exe = std::fs::File::open("/proc/self/exe")?;
    let mem = sys::memfd_sealable(c"palisade")?;
    let mut out = std::fs::File::from(mem.try_clone()?);
    io::copy(&mut exe, &mut out)?;
    nix::fcntl::fcntl(
        mem.as_raw_fd(),
        nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::from_bits_truncate(SEALS)),
    )?;
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).map_err(io::Error::other))
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut b = k.into_encoded_bytes();
            b.push(b'=');
            b.extend(v.into_encoded_bytes());
            CString::new(b).map_err(io::Error::other)
        })
        .collect::<Result<_, _>>()?;
    Err(sys::fexecve(mem.as_fd(), &argv, &envp))
}
