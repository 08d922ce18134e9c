//! One recorded call, decoded while its thread waits for the supervisor's answer: the
//! arguments that decide its risk, the path it writes (read from the thread's memory and
//! resolved against its cwd or dirfd), the TCP port it binds or connects, the capability
//! it needs. The memory may change after the answer (seccomp_unotify(2), "Caveats"); that
//! matters to a supervisor that decides, not to one that only records.

use std::path::{Path, PathBuf};

use crate::policy::host::clean;

use super::recording::Recording;

/// The calls whose arguments decide the risk, with the arguments recorded (x86_64
/// numbering) and the mask each is compared under: whole, as libc passes them, except
/// socket's type without SOCK_NONBLOCK and SOCK_CLOEXEC, and ioctl's request by its low
/// 32 bits (callers pass an int, which C may sign-extend to the unsigned long).
pub const DECIDED: &[(&str, &[(usize, u64)])] = &[
    ("clone", &[(0, u64::MAX)]),
    ("socket", &[(0, u64::MAX), (1, 0xf)]),
    ("ioctl", &[(1, 0xffff_ffff)]),
    ("prctl", &[(0, u64::MAX)]),
    ("personality", &[(0, u64::MAX)]),
    ("setsockopt", &[(1, u64::MAX), (2, u64::MAX)]),
];

/// The calls a capability is needed for, as far as the call alone shows it.
const CAP_CALLS: &[(&str, &str)] = &[
    ("setgroups", "CAP_SETGID"),
    ("chroot", "CAP_SYS_CHROOT"),
    ("sethostname", "CAP_SYS_ADMIN"),
    ("setdomainname", "CAP_SYS_ADMIN"),
];

/// What the decoder needs of the traced thread.
pub trait Target {
    /// Bytes of its memory at `addr`; fewer at an unmapped page.
    fn read(&self, addr: u64, buf: &mut [u8]) -> std::io::Result<usize>;
    /// Its working directory, as the container sees it.
    fn cwd(&self) -> Option<PathBuf>;
    /// What its descriptor `fd` names, as the container sees it.
    fn fd_path(&self, fd: i32) -> Option<PathBuf>;
    /// Whether `path` exists in its root, and is a directory.
    fn kind(&self, path: &Path) -> Option<FileKind>;
    /// (domain, type) of its socket `fd`.
    fn socket(&self, fd: i32) -> Option<(i32, i32)>;
    /// Its (real, effective, saved, filesystem) user and group ids.
    fn ids(&self) -> Option<([u32; 4], [u32; 4])>;
    /// Whether `path` is reached in its root without a symlink (Landlock grants where a
    /// path leads; palisade refuses rule paths through symlinks).
    fn plain(&self, path: &Path) -> bool;
}

/// Records a grant of a write to `path` (a directory, or a file), unless it passes a
/// symlink: then nothing is granted, and the report says why.
fn grant(rec: &mut Recording, t: &dyn Target, path: String, call: &str, dir: bool) {
    if !t.plain(Path::new(&path)) {
        rec.undecoded
            .entry(call.to_owned())
            .or_insert_with(|| format!("{path:?} passes a symlink: not granted"));
        return;
    }
    if dir {
        rec.write_dir(path, call);
    } else {
        rec.write_file(path, call);
    }
}

/// The set*id calls: (name, capability, whether it sets gids, the argument indices that
/// name ids, whether the filesystem id counts as one the caller holds). Without the
/// capability a process may only move among the ids it already holds (setuid(2),
/// setresuid(2), setfsuid(2)); anything else shows the need.
const SET_IDS: &[(&str, &str, bool, &[usize], bool)] = &[
    ("setuid", "CAP_SETUID", false, &[0], false),
    ("setreuid", "CAP_SETUID", false, &[0, 1], false),
    ("setresuid", "CAP_SETUID", false, &[0, 1, 2], false),
    ("setfsuid", "CAP_SETUID", false, &[0], true),
    ("setgid", "CAP_SETGID", true, &[0], false),
    ("setregid", "CAP_SETGID", true, &[0, 1], false),
    ("setresgid", "CAP_SETGID", true, &[0, 1, 2], false),
    ("setfsgid", "CAP_SETGID", true, &[0], true),
];

/// chown and its kin: (name, index of the uid argument).
const CHOWNS: &[(&str, usize)] = &[("chown", 1), ("lchown", 1), ("fchown", 1), ("fchownat", 2)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Dir,
    Other,
}

const AT_FDCWD: i32 = -100;
const PATH_MAX: usize = 4096;

/// Records call `name` with its arguments `a` into `rec`.
pub fn note(rec: &mut Recording, name: &str, a: [u64; 6], t: &dyn Target) {
    rec.call(name);
    if let Some((_, args)) = DECIDED.iter().find(|(n, _)| *n == name) {
        rec.value(name, args.iter().map(|&(i, mask)| a[i] & mask).collect());
    }
    if let Some((_, cap)) = CAP_CALLS.iter().find(|(n, _)| *n == name) {
        rec.needs(cap, format!("{name} was called"));
    }
    if let Some(&(_, cap, gids, idx, fs)) = SET_IDS.iter().find(|(n, ..)| *n == name) {
        match t.ids() {
            Some((u, g)) => {
                let held = if gids { g } else { u };
                let held = if fs { &held[..] } else { &held[..3] };
                let other = idx
                    .iter()
                    .map(|&i| a[i] as u32)
                    .find(|id| *id != u32::MAX && !held.contains(id));
                if let Some(id) = other {
                    rec.needs(
                        cap,
                        format!("{name} to id {id}, which the process did not hold"),
                    );
                }
            }
            None => rec.needs(
                cap,
                format!("{name} was called (the ids could not be read)"),
            ),
        }
    }
    if let Some(&(_, i)) = CHOWNS.iter().find(|(n, _)| *n == name) {
        // Giving a file away needs CAP_CHOWN; a group change by the owner may not, which
        // the call alone does not show: counted too.
        if a[i] as u32 != u32::MAX || a[i + 1] as u32 != u32::MAX {
            rec.needs("CAP_CHOWN", format!("{name} was called"));
        }
    }
    let fd = |i: usize| a[i] as u32 as i32;
    let r = match name {
        "clone3" => clone3(rec, a[0], t),
        "open" => open(rec, name, AT_FDCWD, a[0], a[1], t),
        "openat" => open(rec, name, fd(0), a[1], a[2], t),
        "openat2" => read_u64(t, a[2]).and_then(|flags| open(rec, name, fd(0), a[1], flags, t)),
        "creat" => open(
            rec,
            name,
            AT_FDCWD,
            a[0],
            (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
            t,
        ),
        "truncate" => path(t, AT_FDCWD, a[0]).map(|p| grant(rec, t, p, name, false)),
        "mkdir" => made(rec, name, AT_FDCWD, a[0], t),
        "mkdirat" => made(rec, name, fd(0), a[1], t),
        "rmdir" | "unlink" => removed(rec, name, AT_FDCWD, a[0], t),
        "unlinkat" => removed(rec, name, fd(0), a[1], t),
        "mknod" | "mknodat" => {
            let (dirfd, p, mode) = if name == "mknod" {
                (AT_FDCWD, a[0], a[1])
            } else {
                (fd(0), a[1], a[2])
            };
            let kind = mode as u32 & libc::S_IFMT;
            if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
                rec.needs("CAP_MKNOD", format!("{name} of a device node"));
            }
            made(rec, name, dirfd, p, t)
        }
        "rename" | "link" => parent(t, AT_FDCWD, a[0])
            .map(|p| {
                if name == "rename" {
                    grant(rec, t, p, name, true)
                }
            })
            .and_then(|()| parent(t, AT_FDCWD, a[1]))
            .map(|p| grant(rec, t, p, name, true)),
        "renameat" | "renameat2" | "linkat" => parent(t, fd(0), a[1])
            .map(|p| {
                if name != "linkat" {
                    grant(rec, t, p, name, true)
                }
            })
            .and_then(|()| parent(t, fd(2), a[3]))
            .map(|p| grant(rec, t, p, name, true)),
        "symlink" => made(rec, name, AT_FDCWD, a[1], t),
        "symlinkat" => made(rec, name, fd(1), a[2], t),
        "bind" | "connect" => sockaddr(rec, name, fd(0), a[1], a[2], t),
        "socket" => {
            let (domain, typ) = (a[0] as i32, a[1] as i32 & 0xf);
            if domain == libc::AF_PACKET || typ == libc::SOCK_RAW {
                rec.needs("CAP_NET_RAW", "a raw or packet socket".into());
            }
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(why) = r {
        rec.undecoded.entry(name.to_owned()).or_insert(why);
    }
}

type Decoded = Result<(), String>;

fn read_u64(t: &dyn Target, addr: u64) -> Result<u64, String> {
    let mut b = [0u8; 8];
    match t.read(addr, &mut b) {
        Ok(8) => Ok(u64::from_ne_bytes(b)),
        Ok(_) => Err(format!("memory at {addr:#x} is not mapped")),
        Err(e) => Err(format!("read memory at {addr:#x}: {e}")),
    }
}

/// clone3's flags and exit signal, read from its struct clone_args; recorded as the
/// clone(2) flags word they make, since the learned filter answers clone3 with ENOSYS and
/// libc then calls clone, whose flags the filter can see.
fn clone3(rec: &mut Recording, addr: u64, t: &dyn Target) -> Decoded {
    let flags = read_u64(t, addr)?;
    let exit_signal = read_u64(t, addr + 32)?;
    rec.value("clone3", vec![flags | (exit_signal & 0xff)]);
    Ok(())
}

/// A NUL-terminated string of the target's, read page by page (a string may end just
/// before an unmapped page).
fn cstring(t: &dyn Target, addr: u64) -> Result<Vec<u8>, String> {
    if addr == 0 {
        return Err("NULL path".into());
    }
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < PATH_MAX {
        let page_left = 4096 - (at % 4096) as usize;
        let mut buf = vec![0u8; page_left.min(PATH_MAX - out.len())];
        let n = t
            .read(at, &mut buf)
            .map_err(|e| format!("read memory at {at:#x}: {e}"))?;
        if n == 0 {
            return Err(format!("memory at {at:#x} is not mapped"));
        }
        if let Some(end) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        at += n as u64;
    }
    Err("path longer than PATH_MAX".into())
}

/// The absolute, lexically clean path a call names relative to `dirfd` (or the cwd).
fn path(t: &dyn Target, dirfd: i32, addr: u64) -> Result<String, String> {
    use std::os::unix::ffi::OsStrExt;
    let raw = cstring(t, addr)?;
    let p = Path::new(std::ffi::OsStr::from_bytes(&raw));
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else if dirfd == AT_FDCWD {
        t.cwd().ok_or("the cwd cannot be read")?.join(p)
    } else {
        t.fd_path(dirfd)
            .ok_or_else(|| format!("descriptor {dirfd} cannot be read"))?
            .join(p)
    };
    Ok(clean(&full).to_string_lossy().into_owned())
}

/// A call that makes an entry: one that exists already fails (EEXIST) and needs no grant.
fn made(rec: &mut Recording, name: &str, dirfd: i32, addr: u64, t: &dyn Target) -> Decoded {
    let full = path(t, dirfd, addr)?;
    if t.kind(Path::new(&full)).is_none() {
        grant(rec, t, parent_of(&full), name, true);
    }
    Ok(())
}

/// A call that removes an entry: one that does not exist fails (ENOENT).
fn removed(rec: &mut Recording, name: &str, dirfd: i32, addr: u64, t: &dyn Target) -> Decoded {
    let full = path(t, dirfd, addr)?;
    if t.kind(Path::new(&full)).is_some() {
        grant(rec, t, parent_of(&full), name, true);
    }
    Ok(())
}

fn parent_of(p: &str) -> String {
    Path::new(p)
        .parent()
        .unwrap_or(Path::new("/"))
        .to_string_lossy()
        .into_owned()
}

fn parent(t: &dyn Target, dirfd: i32, addr: u64) -> Result<String, String> {
    let p = path(t, dirfd, addr)?;
    Ok(Path::new(&p)
        .parent()
        .unwrap_or(Path::new("/"))
        .to_string_lossy()
        .into_owned())
}

fn open(
    rec: &mut Recording,
    name: &str,
    dirfd: i32,
    p: u64,
    flags: u64,
    t: &dyn Target,
) -> Decoded {
    let flags = flags as i32;
    let writes = flags & (libc::O_WRONLY | libc::O_RDWR) != 0
        || flags & (libc::O_CREAT | libc::O_TRUNC) != 0;
    if !writes || flags & libc::O_PATH != 0 {
        return Ok(());
    }
    let full = path(t, dirfd, p)?;
    if flags & libc::O_TMPFILE == libc::O_TMPFILE {
        grant(rec, t, full, name, true);
        return Ok(());
    }
    match t.kind(Path::new(&full)) {
        // An existing file: writing it needs no right on its directory.
        Some(FileKind::Other) => grant(rec, t, full, name, false),
        Some(FileKind::Dir) => {}
        None => grant(rec, t, parent_of(&full), name, true),
    }
    Ok(())
}

fn sockaddr(
    rec: &mut Recording,
    name: &str,
    fd: i32,
    addr: u64,
    len: u64,
    t: &dyn Target,
) -> Decoded {
    let mut buf = [0u8; 110];
    let len = (len as usize).min(buf.len());
    if len < 2 {
        return Ok(());
    }
    let n = t
        .read(addr, &mut buf[..len])
        .map_err(|e| format!("read the address: {e}"))?;
    let family = u16::from_ne_bytes([buf[0], buf[1]]) as i32;
    match family {
        libc::AF_UNIX if name == "bind" && n > 2 && buf[2] != 0 => {
            // A path socket (not abstract): bind makes a file in its directory.
            let end = buf[2..n].iter().position(|&b| b == 0).map_or(n, |e| e + 2);
            let raw = String::from_utf8_lossy(&buf[2..end]).into_owned();
            let full = if raw.starts_with('/') {
                PathBuf::from(&raw)
            } else {
                t.cwd().ok_or("the cwd cannot be read")?.join(&raw)
            };
            let dir = clean(&full)
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf();
            grant(rec, t, dir.to_string_lossy().into_owned(), name, true);
        }
        libc::AF_INET | libc::AF_INET6 if n >= 4 => {
            let port = u16::from_be_bytes([buf[2], buf[3]]);
            let Some((_, typ)) = t.socket(fd) else {
                return Err(format!("the type of socket {fd} cannot be read"));
            };
            if typ == libc::SOCK_STREAM {
                if name == "bind" {
                    rec.tcp_bind.insert(port);
                } else {
                    rec.tcp_connect.insert(port);
                }
            }
            if name == "bind" && port != 0 && port < 1024 {
                rec.needs("CAP_NET_BIND_SERVICE", format!("bind to port {port}"));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A thread whose memory is a few strings at fixed addresses.
    struct Fake {
        mem: HashMap<u64, Vec<u8>>,
        files: Vec<&'static str>,
        dirs: Vec<&'static str>,
    }

    impl Target for Fake {
        fn read(&self, addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            for (base, bytes) in &self.mem {
                if addr >= *base && addr < base + bytes.len() as u64 {
                    let from = (addr - base) as usize;
                    let n = buf.len().min(bytes.len() - from);
                    buf[..n].copy_from_slice(&bytes[from..from + n]);
                    return Ok(n);
                }
            }
            Ok(0)
        }
        fn cwd(&self) -> Option<PathBuf> {
            Some("/work".into())
        }
        fn fd_path(&self, fd: i32) -> Option<PathBuf> {
            (fd == 7).then(|| "/data".into())
        }
        fn kind(&self, p: &Path) -> Option<FileKind> {
            let p = p.to_str()?;
            if self.dirs.contains(&p) {
                Some(FileKind::Dir)
            } else {
                self.files.contains(&p).then_some(FileKind::Other)
            }
        }
        fn socket(&self, fd: i32) -> Option<(i32, i32)> {
            Some((
                libc::AF_INET,
                if fd == 3 {
                    libc::SOCK_STREAM
                } else {
                    libc::SOCK_DGRAM
                },
            ))
        }
        fn ids(&self) -> Option<([u32; 4], [u32; 4])> {
            Some(([1000, 0, 1000, 0], [1000; 4]))
        }
        fn plain(&self, p: &Path) -> bool {
            !p.starts_with("/etc")
        }
    }

    fn fake() -> Fake {
        let mut mem = HashMap::new();
        mem.insert(0x1000, b"out.txt\0".to_vec());
        mem.insert(0x2000, b"/dev/null\0".to_vec());
        mem.insert(0x3000, b"../etc/x/../y\0".to_vec());
        mem.insert(0x7000, b"/data\0".to_vec());
        let mut sin = vec![0u8; 16];
        sin[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        sin[2..4].copy_from_slice(&8080u16.to_be_bytes());
        mem.insert(0x4000, sin);
        let mut sun = vec![0u8; 110];
        sun[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        sun[2..16].copy_from_slice(b"/run/app.sock\0");
        mem.insert(0x5000, sun);
        let mut args = vec![0u8; 40];
        args[..8].copy_from_slice(&0x3d0f00u64.to_ne_bytes());
        args[32..].copy_from_slice(&17u64.to_ne_bytes());
        mem.insert(0x6000, args);
        Fake {
            mem,
            files: vec!["/dev/null"],
            dirs: vec!["/work", "/data"],
        }
    }

    #[test]
    fn writes_are_files_or_directories() {
        let t = fake();
        let mut r = Recording::default();
        let wr = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64;
        note(
            &mut r,
            "openat",
            [AT_FDCWD as u32 as u64, 0x1000, wr, 0, 0, 0],
            &t,
        );
        note(&mut r, "openat", [7, 0x1000, wr, 0, 0, 0], &t);
        note(
            &mut r,
            "openat",
            [AT_FDCWD as u32 as u64, 0x2000, wr, 0, 0, 0],
            &t,
        );
        // Read-only opens and O_PATH are not writes.
        note(
            &mut r,
            "openat",
            [AT_FDCWD as u32 as u64, 0x1000, 0, 0, 0, 0],
            &t,
        );
        note(
            &mut r,
            "mkdirat",
            [AT_FDCWD as u32 as u64, 0x3000, 0, 0, 0, 0],
            &t,
        );
        // An entry that exists is not made again; one that does not is not removed.
        note(&mut r, "mkdir", [0x7000, 0, 0, 0, 0, 0], &t);
        note(&mut r, "unlink", [0x1000, 0, 0, 0, 0, 0], &t);
        note(
            &mut r,
            "renameat2",
            [7, 0x1000, AT_FDCWD as u32 as u64, 0x3000, 0, 0],
            &t,
        );
        let dirs: Vec<&String> = r.write_dirs.keys().collect();
        // /etc passes a symlink (here): no grant.
        assert_eq!(dirs, ["/data", "/work"]);
        assert!(r.undecoded["mkdirat"].contains("symlink"));
        let files: Vec<&String> = r.write_files.keys().collect();
        assert_eq!(files, ["/dev/null"]);
        assert_eq!(r.calls["openat"].count, 4);
    }

    #[test]
    fn ports_sockets_and_decided_arguments() {
        let t = fake();
        let mut r = Recording::default();
        note(&mut r, "bind", [3, 0x4000, 16, 0, 0, 0], &t);
        note(&mut r, "connect", [3, 0x4000, 16, 0, 0, 0], &t);
        note(&mut r, "connect", [4, 0x4000, 16, 0, 0, 0], &t);
        note(&mut r, "bind", [5, 0x5000, 110, 0, 0, 0], &t);
        assert_eq!(r.tcp_bind.iter().collect::<Vec<_>>(), [&8080]);
        assert_eq!(r.tcp_connect.iter().collect::<Vec<_>>(), [&8080]);
        assert!(r.write_dirs.contains_key("/run"));
        assert!(r.capabilities.is_empty());
        let sock = (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64;
        note(
            &mut r,
            "socket",
            [libc::AF_INET as u64, sock, 0, 0, 0, 0],
            &t,
        );
        assert_eq!(
            r.calls["socket"].values.iter().next().unwrap(),
            &vec![libc::AF_INET as u64, libc::SOCK_STREAM as u64]
        );
        note(&mut r, "ioctl", [1, 0xffff_ffff_8000_5401, 0, 0, 0, 0], &t);
        assert_eq!(
            r.calls["ioctl"].values.iter().next().unwrap(),
            &vec![0x8000_5401]
        );
        note(&mut r, "clone3", [0x6000, 88, 0, 0, 0, 0], &t);
        assert_eq!(
            r.calls["clone3"].values.iter().next().unwrap(),
            &vec![0x3d0f11]
        );
        note(
            &mut r,
            "socket",
            [libc::AF_PACKET as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0],
            &t,
        );
        note(&mut r, "chown", [0x1000, 0, 0, 0, 0, 0], &t);
        // Moving among the ids held needs nothing; another id does.
        note(&mut r, "setuid", [1000, 0, 0, 0, 0, 0], &t);
        note(
            &mut r,
            "setresgid",
            [u32::MAX as u64, 1000, u32::MAX as u64, 0, 0, 0],
            &t,
        );
        let caps: Vec<&String> = r.capabilities.keys().collect();
        assert_eq!(caps, ["CAP_CHOWN", "CAP_NET_RAW"]);
        note(&mut r, "setgid", [5, 0, 0, 0, 0, 0], &t);
        assert!(r.capabilities["CAP_SETGID"].contains("id 5"));
    }

    #[test]
    fn unreadable_arguments_are_named() {
        let t = fake();
        let mut r = Recording::default();
        let wr = libc::O_WRONLY as u64;
        note(
            &mut r,
            "openat",
            [AT_FDCWD as u32 as u64, 0x9000, wr, 0, 0, 0],
            &t,
        );
        note(&mut r, "openat", [9, 0x1000, wr, 0, 0, 0], &t);
        assert!(r.undecoded["openat"].contains("not mapped"));
        assert_eq!(r.calls["openat"].count, 2);
    }
}
