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
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
/// The empty bottom layer that lets overlayfs run with lower layers only.
const EMPTY_LAYER: &str = "/run/palisade-cache/empty";

/// Whether the binary we run from cannot be written: a sealed memfd, or a read-only
/// overlayfs (ours has no upper layer, so it cannot be remounted writable).
fn running_from_sealed_copy() -> bool {
    let Ok(f) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    if nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_GET_SEALS)
        .is_ok_and(|s| s & SEALS == SEALS)
    {
        return true;
    }
    // f_type's width differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let overlay = nix::sys::statfs::fstatfs(&f)
        .is_ok_and(|s| s.filesystem_type().0 as i64 == OVERLAYFS_SUPER_MAGIC);
    overlay
        && nix::sys::statvfs::fstatvfs(&f)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// Commands that put a process into a container re-execute the runtime from a copy of its
/// binary that cannot be written. A container process that reaches /proc/<init>/exe (for
/// example by running `#!/proc/self/exe`) then finds that copy, never a writable host
/// binary it could overwrite (CVE-2019-5736). The copy is, as in runc 1.2, the binary seen
/// through a detached read-only overlayfs of its own directory: no bytes are copied, and a
/// filesystem without an upper layer cannot be remounted writable; where overlayfs cannot
/// be mounted, a sealed memfd copy of the binary.
pub fn ensure_sealed_self() -> io::Result<()> {
    if running_from_sealed_copy() {
        return Ok(());
    }
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
    if let Ok(exe) = overlay_exe() {
        // Returns only on failure: then the memfd copy below.
        let _ = sys::fexecve(exe.as_fd(), &argv, &envp);
    }
    let mut exe = std::fs::File::open("/proc/self/exe")?;
    let mem = sys::memfd_sealable(c"palisade")?;
    let mut out = std::fs::File::from(mem.try_clone()?);
    io::copy(&mut exe, &mut out)?;
    nix::fcntl::fcntl(
        mem.as_raw_fd(),
        nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::from_bits_truncate(SEALS)),
    )?;
    Err(sys::fexecve(mem.as_fd(), &argv, &envp))
}

/// Our binary through a new, detached, read-only overlayfs whose layers are its directory
/// and an empty one (two lower layers and no upper one: overlayfs's read-only mode).
fn overlay_exe() -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::fs::DirBuilderExt;
    let path = std::fs::read_link("/proc/self/exe")?;
    let bad = || io::Error::other("binary path unusable as an overlayfs layer");
    let name = path.file_name().ok_or_else(bad)?;
    let dir = path.parent().ok_or_else(bad)?;
    if path.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
        return Err(bad());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(EMPTY_LAYER)?;
    // overlayfs(5): ':' separates layers and '\' escapes; escape both in our directory.
    let escaped = dir
        .to_str()
        .ok_or_else(bad)?
        .replace('\\', "\\\\")
        .replace(':', "\\:");
    let lower = CString::new(format!("{escaped}:{EMPTY_LAYER}")).map_err(|_| bad())?;
    let ctx = sys::fsopen(c"overlay")?;
    sys::fsconfig_set_string(ctx.as_fd(), c"lowerdir", &lower)?;
    let mnt = sys::fsmount(
        ctx.as_fd(),
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
    )?;
    let name = CString::new(name.as_encoded_bytes()).map_err(|_| bad())?;
    sys::open_path_at(mnt.as_fd(), &name)
}
