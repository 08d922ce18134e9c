//! The few raw system calls that nix and libc do not wrap safely. Every `unsafe` block of
//! the project lives here, each with a SAFETY note; callers get safe functions that return
//! `io::Result` and owned file descriptors.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

// Kernel ABI constants from include/uapi/linux/mount.h and openat2.h; stable since 5.2/5.6/5.12.
pub const OPEN_TREE_CLONE: u32 = 0x1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = check(ret)? as RawFd;
    // SAFETY: the kernel just returned this descriptor to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): open `path` below `dir` with the given RESOLVE_* restrictions. With
/// RESOLVE_IN_ROOT every `..` and absolute symlink stays inside `dir`, which is how mount
/// targets are resolved inside the rootfs (CVE-2021-30465, CVE-2024-45310 classes).
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    // SAFETY: `c` is a valid NUL-terminated string and `how` a properly sized open_how that
    // both outlive the call; the kernel copies them before returning.
    owned(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
}

/// Takes ownership of a descriptor the kernel installed for us through SCM_RIGHTS.
pub fn own_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: recvmsg just created this descriptor in our table; nothing else refers to it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Restores default signal dispositions and an empty mask: the runtime ignores SIGPIPE (as
/// every Rust program does) and `run` blocks the signals it forwards, and neither must leak
/// into the container, where ignored dispositions and the mask survive execve(2).
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; failures (invalid numbers) are harmless.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
}

/// open_tree(2) on an already-open file: a detached copy of the mount at `fd`
/// (with `recursive`, of the whole subtree), ready for mount_setattr and move_mount.
pub fn open_tree_fd(fd: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
    open_tree_at(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH as u32, recursive)
}

/// open_tree(2) of a host path: as [`open_tree_fd`], for the mount at `path`. The path is
/// resolved once, here; everything after works on the returned descriptor.
pub fn open_tree(path: &Path, recursive: bool) -> io::Result<OwnedFd> {
    open_tree_at(libc::AT_FDCWD, &cstr(path)?, 0, recursive)
}

fn open_tree_at(dir: RawFd, path: &CStr, flags: u32, recursive: bool) -> io::Result<OwnedFd> {
    let mut flags = flags | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `path` is a valid C string the kernel copies during the call (an empty one
    // with AT_EMPTY_PATH names `dir` itself); no memory is retained.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dir, path.as_ptr(), flags) })
}

/// fsopen(2): a filesystem context for `fstype`, to configure with fsconfig.
pub fn fsopen(fstype: &CStr) -> io::Result<OwnedFd> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    // SAFETY: `fstype` is a valid C string; the kernel keeps no pointer to it.
    owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })
}

/// fsconfig(FSCONFIG_SET_STRING) of `key` to `value` on a filesystem context.
pub fn fsconfig_set_string(ctx: BorrowedFd<'_>, key: &CStr, value: &CStr) -> io::Result<()> {
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    // SAFETY: key and value are valid C strings, copied by the kernel during the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    })
    .map(|_| ())
}

/// fsconfig(FSCONFIG_CMD_CREATE), then fsmount(2): a detached mount of the configured
/// filesystem with the MOUNT_ATTR_* flags `attrs`.
pub fn fsmount(ctx: BorrowedFd<'_>, attrs: u64) -> io::Result<OwnedFd> {
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    // SAFETY: FSCONFIG_CMD_CREATE takes no pointers (NULL key and value).
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: fsmount takes the context descriptor and two integer flag words.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, ctx.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

/// openat(2) with O_PATH|O_NOFOLLOW of `name`, a plain name, in the directory at `dir`.
pub fn open_path_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; the returned descriptor is ours.
    owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    } as libc::c_long)
}

/// move_mount(2) from a detached tree to the file or directory open at `to`.
pub fn move_mount_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: both paths are empty C strings naming the descriptors themselves.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(|_| ())
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount open at `fd`: set and clear MOUNT_ATTR_* flags and
/// optionally change propagation (MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE).
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    propagation: u64,
) -> io::Result<()> {
    setattr(
        fd,
        recursive,
        MountAttr {
            attr_set: set,
            attr_clr: clear,
            propagation,
            userns_fd: 0,
        },
    )
}

/// mount_setattr(2) with MOUNT_ATTR_IDMAP: the detached mount at `fd` shows file owners
/// through the id mapping of the user namespace `userns`.
pub fn mount_setattr_idmap(
    fd: BorrowedFd<'_>,
    recursive: bool,
    userns: BorrowedFd<'_>,
) -> io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    setattr(
        fd,
        recursive,
        MountAttr {
            attr_set: MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: userns.as_raw_fd() as u64,
        },
    )
}

fn setattr(fd: BorrowedFd<'_>, recursive: bool, attr: MountAttr) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `attr` is a valid mount_attr of the size passed; the path is an empty string.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(|_| ())
}

/// pivot_root(2); nix has no wrapper taking ".", "." as runc uses it.
pub fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let (n, o) = (cstr(new_root)?, cstr(put_old)?);
    // SAFETY: both arguments are valid C strings that outlive the call.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) }).map(|_| ())
}

/// close_range(2) with CLOSE_RANGE_CLOEXEC: mark every descriptor from `first` on
/// close-on-exec without closing it (so `--preserve-fds` survive until the init decides).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes flags of this process's own descriptors.
    check(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })
    .map(|_| ())
}

/// memfd_create(2) with sealing allowed, close-on-exec.
pub fn memfd_sealable(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; the returned fd is owned by us.
    owned(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
            as libc::c_long
    })
}

/// fexecve(3) through execveat(AT_EMPTY_PATH); returns only on failure.
pub fn fexecve(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings kept alive by the
    // borrowed slices for the duration of the call; on success the call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    io::Error::last_os_error()
}

/// prctl(PR_SET_DUMPABLE): a non-dumpable process's /proc/PID files (exe, fd, mem) are
/// closed to other processes, container processes included (CVE-2019-5736 class).
pub fn set_dumpable(on: bool) -> io::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes an integer argument and touches no memory of ours.
    check(
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) } as libc::c_long,
    )
    .map(|_| ())
}

/// chown and chmod of exactly the inode `fd` names (an O_PATH descriptor is enough), never
/// of what a path leads to: fchownat(AT_EMPTY_PATH), then fchmodat2(AT_EMPTY_PATH) (Linux
/// 6.6) or, before it, chmod through the descriptor's /proc/self/fd magic link, which
/// names the opened inode and nothing a symlink could swap in. chown first: it clears
/// the set-id bits the mode may ask for.
pub fn fchown_fchmod(fd: BorrowedFd<'_>, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    // SAFETY: the empty C string lives across the call; integer arguments otherwise.
    check(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    } as libc::c_long)?;
    // SAFETY: as above.
    check(unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode as libc::mode_t,
            libc::AT_EMPTY_PATH,
        )
    })
    .map(|_| ())
    .or_else(|e| match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) => {
            let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
            std::fs::set_permissions(&link, std::os::unix::fs::PermissionsExt::from_mode(mode))
        }
        _ => Err(e),
    })
}

/// set_mempolicy(2): `mode` with its MPOL_F_* flags, over the nodes of `mask` (64-bit
/// words). The kernel reads maxnode - 1 bits (mm/mempolicy.c, get_nodes).
pub fn set_mempolicy(mode: i32, mask: &[u64]) -> io::Result<()> {
    let (ptr, maxnode) = if mask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (mask.as_ptr(), mask.len() as libc::c_ulong * 64 + 1)
    };
    // SAFETY: the kernel reads at most maxnode - 1 bits, which `mask` holds.
    check(unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) }).map(|_| ())
}

/// personality(2): sets the execution domain, kept across execve.
pub fn set_personality(persona: u64) -> io::Result<()> {
    // SAFETY: integer argument only. The call returns the previous persona, which may look
    // negative to `check` only as -1 with errno set.
    check(unsafe { libc::personality(persona as libc::c_ulong) } as libc::c_long).map(|_| ())
}

/// pidfd_open(2): a descriptor of process `pid`, close-on-exec.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments; the returned descriptor is ours.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
}

/// ioctl(FIONREAD): the bytes waiting in a pipe or fifo, from either end.
pub fn fionread(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`, which lives across the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } as libc::c_long)?;
    Ok(n.max(0) as usize)
}

/// getrandom(2): 8 random bytes, for names that must not be guessed in advance.
pub fn random_u64() -> io::Result<u64> {
    let mut b = [0u8; 8];
    // SAFETY: the kernel writes at most b.len() bytes into our buffer.
    let n = check(unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) } as libc::c_long)?;
    if n as usize != b.len() {
        return Err(io::Error::other("getrandom: short read"));
    }
    Ok(u64::from_ne_bytes(b))
}

/// prctl(PR_CAPBSET_READ): whether capability number `cap` is in the bounding set; None
/// when the kernel has no such capability (EINVAL: `cap` > /proc/sys/kernel/cap_last_cap).
pub fn capbset_read(cap: u32) -> io::Result<Option<bool>> {
    // SAFETY: integer-only prctl.
    match check(
        unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) }
            as libc::c_long,
    ) {
        Ok(v) => Ok(Some(v == 1)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(e),
    }
}

/// prctl(PR_CAPBSET_DROP): removes capability number `cap` from the bounding set.
pub fn capbset_drop(cap: u32) -> io::Result<()> {
    // SAFETY: integer-only prctl.
    check(
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) }
            as libc::c_long,
    )
    .map(|_| ())
}

/// prctl(PR_SET_NO_NEW_PRIVS, 1): irreversible; execve can no longer grant privileges.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: integer-only prctl.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long).map(|_| ())
}

/// prctl(PR_SET_KEEPCAPS): keep the permitted set across the setresuid of the identity step.
pub fn set_keepcaps(on: bool) -> io::Result<()> {
    // SAFETY: integer-only prctl.
    check(
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0, 0, 0) } as libc::c_long,
    )
    .map(|_| ())
}

/// prctl(PR_SET_PDEATHSIG): the init dies with its parent until `create` hands it over.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: integer-only prctl.
    check(
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) }
            as libc::c_long,
    )
    .map(|_| ())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring, so the container does
/// not share the runtime's (and through it the host's) session keys.
pub fn join_session_keyring(name: &CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: `name` is a valid C string the kernel only reads during the call.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) })
        .map(|_| ())
}

/// seccomp(SECCOMP_SET_MODE_FILTER) with a BPF program exported by libseccomp. Returns the
/// notification listener when `flags` asks for one (SECCOMP_FILTER_FLAG_NEW_LISTENER).
pub fn seccomp_set_filter(bpf: &[u8], flags: u32) -> io::Result<Option<OwnedFd>> {
    const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
    const NEW_LISTENER: u32 = 1 << 3;
    let prog = libc::sock_fprog {
        len: (bpf.len() / 8) as libc::c_ushort,
        filter: bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `bpf`, whole 8-byte sock_filter instructions that outlive the
    // call; the kernel copies the program before returning.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })?;
    if flags & NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the return value is a new descriptor that we own.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }));
    }
    Ok(None)
}

/// The Landlock ABI version (landlock_create_ruleset(NULL, 0, VERSION)), 0 if unavailable.
pub fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_long = 1;
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag the call only returns a number.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    v.max(0)
}

/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program; the verifier's log is
/// part of the error.
pub fn bpf_load_cgroup_device(insns: &[u8]) -> io::Result<OwnedFd> {
    #[repr(C)]
    struct Load {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
    }
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    let mut log = vec![0u8; 1 << 16];
    let attr = Load {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: c"Apache-2.0".as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
    };
    // SAFETY: `attr` points at the program, the license string and the log buffer, all of
    // which outlive the call; the kernel writes at most log_size bytes into the log.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const Load,
            std::mem::size_of::<Load>(),
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        let text = String::from_utf8_lossy(&log[..log.iter().position(|b| *b == 0).unwrap_or(0)])
            .into_owned();
        return Err(io::Error::new(
            e.kind(),
            format!("load device filter: {e} {}", text.trim()),
        ));
    }
    // SAFETY: a non-negative return is a new program descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// bpf(BPF_PROG_ATTACH) of a device program to a cgroup, alongside those already there.
pub fn bpf_attach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    #[repr(C)]
    struct Attach {
        target_fd: u32,
        attach_bpf_fd: u32,
        attach_type: u32,
        attach_flags: u32,
    }
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_CGROUP_DEVICE: u32 = 6;
    const BPF_F_ALLOW_MULTI: u32 = 2;
    let attr = Attach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    // SAFETY: `attr` is a valid, fully initialised prefix of union bpf_attr.
    check(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const Attach,
            std::mem::size_of::<Attach>(),
        )
    })
    .map(|_| ())
    .map_err(|e| io::Error::new(e.kind(), format!("attach device filter: {e}")))
}

/// setns(2) with a namespace file descriptor.
pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: plain integer syscall on a descriptor we borrow.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) } as libc::c_long).map(|_| ())
}

/// unshare(2) with the given CLONE_NEW* flags.
pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: plain integer syscall.
    check(unsafe { libc::unshare(flags) } as libc::c_long).map(|_| ())
}

/// clone(2) for the container init with CLONE_NEW* `flags`: the child runs `child` on a
/// fresh stack and exits with its status, never returning into the caller's frames. The
/// caller must be single-threaded (palisade always is), so the child's copy of the heap and
/// of every lock is consistent, as after fork(2).
pub fn clone_into(flags: i32, child: impl FnOnce() -> i32) -> io::Result<libc::pid_t> {
    // Untouched pages of this buffer are never backed, so 8 MiB costs only what the init uses.
    let mut stack = vec![0u8; 8 << 20];
    let mut child = Some(child);
    let cb: Box<dyn FnMut() -> isize> = Box::new(move || match child.take() {
        Some(f) => f() as isize,
        None => 127,
    });
    // SAFETY: without CLONE_VM the child gets a private copy of our memory, the stack buffer
    // included, and runs `cb` on it; glibc's clone wrapper ends the child with exit(2) on the
    // callback's return value. No other thread exists whose locks the child could inherit.
    let pid = unsafe {
        nix::sched::clone(
            cb,
            &mut stack,
            nix::sched::CloneFlags::from_bits_retain(flags),
            Some(libc::SIGCHLD),
        )
    }
    .map_err(io::Error::from)?;
    Ok(pid.as_raw())
}

/// A process that only holds a new user namespace open (user_namespaces(7): its maps are
/// written through /proc/PID/uid_map, and /proc/PID/ns/user opened, while it lives). It
/// shares our memory (CLONE_VM), so making and ending it copies and tears down no page
/// tables: it blocks reading a pipe and exits when dropping the holder closes the pipe's
/// other end; the drop then reaps it.
pub struct UsernsHolder {
    pid: libc::pid_t,
    release: Option<OwnedFd>,
    /// The child's stack and arguments: in use until the child is reaped.
    _mem: Box<HolderMem>,
}

#[repr(C)]
struct HolderMem {
    /// The pipe's read end, and the write end, which is the child's to close.
    fds: [libc::c_int; 2],
    stack: [u8; 16 << 10],
}

/// The holder's body: no allocation, no lock, nothing shared written but the stack it was
/// given; only close(2) and read(2).
extern "C" fn hold_namespace(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the `fds` of a HolderMem that the parent keeps until it has
    // reaped this process. The child's descriptors are its own copies (no CLONE_FILES):
    // closing its write end leaves only the parent's, whose close ends the read. Neither
    // call can fail (a valid descriptor; palisade installs no signal handler that could
    // interrupt the read, only Rust's fatal SIGSEGV/SIGBUS ones), so neither writes errno,
    // the one thread-local the child shares with the parent. Were the read cut short, the
    // child would only exit early, and writing its maps would fail.
    unsafe {
        let [r, w] = *(arg as *const [libc::c_int; 2]);
        libc::close(w);
        let mut b = 0u8;
        libc::read(r, (&mut b as *mut u8).cast(), 1);
    }
    0
}

impl UsernsHolder {
    pub fn new() -> io::Result<UsernsHolder> {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let mut mem = Box::new(HolderMem {
            fds: [r.as_raw_fd(), w.as_raw_fd()],
            stack: [0; 16 << 10],
        });
        let top = mem.stack.as_mut_ptr_range().end;
        let arg = mem.fds.as_mut_ptr().cast();
        // SAFETY: the child runs hold_namespace on `mem.stack` (glibc's wrapper aligns the
        // top) with `arg` in `mem`, both kept by the holder until the drop has reaped it.
        // Sharing our memory, it writes only its stack: no allocator, lock or errno (see
        // hold_namespace). Without CLONE_THREAD it is a process of its own, reaped with
        // waitpid through SIGCHLD.
        let pid = unsafe {
            libc::clone(
                hold_namespace,
                top.cast(),
                libc::CLONE_VM | libc::CLONE_NEWUSER | libc::SIGCHLD,
                arg,
            )
        };
        check(pid as libc::c_long)?;
        drop(r);
        Ok(UsernsHolder {
            pid,
            release: Some(w),
            _mem: mem,
        })
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }
}

impl Drop for UsernsHolder {
    fn drop(&mut self) {
        // Our write end closing ends the child's read; its memory must outlive the child.
        self.release.take();
        let pid = nix::unistd::Pid::from_raw(self.pid);
        while let Err(nix::errno::Errno::EINTR) = nix::sys::wait::waitpid(pid, None) {}
    }
}

/// struct clone_args of include/uapi/linux/sched.h, up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// clone3(2) with CLONE_INTO_CGROUP: the child is born in the cgroup v2 directory `cgroup`
/// and runs `child`, then exits with its return value. Born there, it never migrates, so
/// no write of its pid into cgroup.procs takes the kernel's global threadgroup lock (which
/// waits for an RCU grace period). ENOSYS, E2BIG or EINVAL: a kernel older than 5.7.
pub fn clone3_into_cgroup(
    flags: i32,
    cgroup: BorrowedFd<'_>,
    child: impl FnOnce() -> i32,
) -> io::Result<libc::pid_t> {
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed. Without CLONE_VM and with no
    // stack given, the child continues here on a private copy of our memory, as after
    // fork(2); this process has a single thread, so no lock can be held by a thread the
    // child lacks. The child never returns from this function: it ends in _exit(2).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        let code = child();
        // SAFETY: _exit ends this child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) }
    }
    Ok(check(pid)? as libc::pid_t)
}

/// Sets the controlling terminal of this session (ioctl TIOCSCTTY).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) } as libc::c_long).map(|_| ())
}

/// Sets a terminal's window size (ioctl TIOCSWINSZ).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize that outlives the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } as libc::c_long).map(|_| ())
}

/// Reads a terminal's window size (ioctl TIOCGWINSZ).
pub fn window_size(fd: BorrowedFd<'_>) -> io::Result<(u16, u16)> {
    // SAFETY: winsize is plain old data; all-zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: `ws` is a valid, writable winsize for the kernel to fill.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } as libc::c_long)?;
    Ok((ws.ws_row, ws.ws_col))
}

/// Opens the pty peer of a master (ioctl TIOCGPTPEER), without resolving any path: the slave
/// can never be swapped for something else under /dev/pts.
pub fn open_pty_peer(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new descriptor we then own.
    owned(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    } as libc::c_long)
}

/// Unlocks a pty master (ioctl TIOCSPTLCK 0).
pub fn unlock_pty(master: BorrowedFd<'_>) -> io::Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the valid pointer we pass.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &zero) } as libc::c_long)
        .map(|_| ())
}

/// sched_setattr(2) for the calling thread; glibc has no wrapper.
pub fn sched_setattr(attr: &libc::sched_attr) -> io::Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<libc::sched_attr>() as u32;
    // SAFETY: `a` is a live, initialized sched_attr whose size field says how much the
    // kernel may read; pid 0 is the calling thread.
    check(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const libc::sched_attr, 0) })
        .map(|_| ())
}

/// ioprio_set(2) for the calling process (IOPRIO_WHO_PROCESS, 0); glibc has no wrapper.
pub fn ioprio_set(ioprio: i32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: plain integers; the kernel touches no memory of ours.
    check(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, ioprio) }).map(|_| ())
}

/// The calling thread's umask, set to `mask`.
pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail and touches no memory.
    unsafe {
        libc::umask(mask as libc::mode_t);
    }
}

/// Clock ticks per second, for turning /proc/PID/stat start times into seconds.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// argv and envp made ready for execve(2) ahead of time, so that the exec itself allocates
/// nothing: once the recording filter is loaded (`palisade learn`), every call the init
/// made would be counted as the workload's.
pub struct ExecArgs {
    strings: Vec<CString>,
    /// argv's pointers, NULL, envp's pointers, NULL (into `strings`, which never moves
    /// its heap buffers once built).
    ptrs: Vec<*const libc::c_char>,
    argc: usize,
}

impl ExecArgs {
    pub fn new(argv: Vec<CString>, envp: Vec<CString>) -> ExecArgs {
        let argc = argv.len();
        let strings: Vec<CString> = argv.into_iter().chain(envp).collect();
        let mut ptrs: Vec<*const libc::c_char> = Vec::with_capacity(strings.len() + 2);
        for (i, s) in strings.iter().enumerate() {
            if i == argc {
                ptrs.push(std::ptr::null());
            }
            ptrs.push(s.as_ptr());
        }
        if strings.len() == argc {
            ptrs.push(std::ptr::null());
        }
        ptrs.push(std::ptr::null());
        ExecArgs {
            strings,
            ptrs,
            argc,
        }
    }

    pub fn argv(&self) -> &[CString] {
        &self.strings[..self.argc]
    }
}

/// execve(2) with arguments built beforehand; returns only on failure, and makes no other
/// system call on the way.
pub fn execve_prepared(path: &CStr, a: &ExecArgs) -> io::Error {
    // SAFETY: `ptrs` holds argv's pointers, NULL, envp's pointers, NULL, each into a
    // CString of `a.strings` that outlives the call; on success the call does not return.
    unsafe {
        libc::execve(
            path.as_ptr(),
            a.ptrs.as_ptr(),
            a.ptrs.as_ptr().add(a.argc + 1),
        );
    }
    io::Error::last_os_error()
}

/// The recording filter of `palisade learn`: every system call, of every architecture,
/// goes to the user-notification listener (seccomp_unotify(2)), which answers CONTINUE.
/// One instruction: BPF_RET|BPF_K SECCOMP_RET_USER_NOTIF.
pub const RECORD_ALL_BPF: [u8; 8] = {
    let k: u32 = 0x7fc0_0000;
    let kb = k.to_ne_bytes();
    [0x06, 0x00, 0, 0, kb[0], kb[1], kb[2], kb[3]]
};

/// SECCOMP_FILTER_FLAG_NEW_LISTENER.
pub const SECCOMP_NEW_LISTENER: u32 = 1 << 3;

/// pidfd_getfd(2): a copy, close-on-exec, of descriptor `fd` of the process behind `pidfd`
/// (needs ptrace access to it: the runtime as root has it).
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments; the returned descriptor is ours.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })
}

/// process_vm_readv(2) of `buf.len()` bytes at `addr` in process `pid`; returns how many
/// were read (fewer when the range crosses into an unmapped page).
pub fn read_remote(pid: i32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, writable for its length; the remote range is only
    // read by the kernel, which checks it against the other process's mappings.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    check(n as libc::c_long).map(|n| n as usize)
}

/// fstat(2) by its own syscall number (glibc's fstat is newfstatat, which filters of 2019
/// do not allow): the file's st_mode.
pub fn fstat_mode(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: an all-zero `stat` is a valid value; the kernel fills it and reads nothing.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `struct stat` for the duration of the call.
    check(unsafe { libc::syscall(libc::SYS_fstat, fd.as_raw_fd(), &mut st as *mut libc::stat) })?;
    Ok(st.st_mode)
}

/// SECCOMP_IOCTL_NOTIF_SET_FLAGS with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): the
/// supervisor and the notifying thread hand the CPU to each other, rather than waking on
/// another one, which is most of a notification's cost when every call notifies.
pub fn seccomp_notify_sync_wake_up(listener: BorrowedFd<'_>) -> io::Result<()> {
    const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104; // _IOW('!', 4, __u64)
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    // SAFETY: an ioctl taking an integer flag word by value, on a descriptor we hold.
    check(unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    } as libc::c_long)
    .map(|_| ())
}
