//! Compiled seccomp filters, kept by content hash. libseccomp takes about 12 ms to turn a
//! ~360-rule profile into BPF, more than the rest of `create`; the same profile runs for
//! most containers. The key covers everything the BPF depends on (the filter as given,
//! palisade's version and binary, libseccomp's version where it is a shared library, the
//! kernel and the native architecture), so a hit is exactly what compiling would give.
//!
//! The cache directory is trusted only when it is a real directory owned by us (root) and
//! writable by nobody else, and each entry only when it is a regular file of ours with the
//! same mode: whoever could write a filter here could weaken every container's. Anything
//! else is ignored and the filter compiled afresh; the cache never makes `create` fail.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::seccomp::{self, Filter, SeccompError};

/// Cleared at boot with the rest of /run, so entries never outlive the kernel they were
/// made for.
pub const DIR: &str = "/run/palisade-cache/seccomp";
/// A cache that grows past this many filters is emptied.
const MAX_ENTRIES: usize = 256;
const MAGIC: &[u8] = b"palisade-seccomp-bpf v1\n";

/// `seccomp::compile`, through the cache at `dir`.
pub fn compile(dir: &Path, s: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let Some(key) = key(s) else {
        return seccomp::compile(s);
    };
    let trusted = trusted_dir(dir);
    if trusted {
        if let Some(f) = load(&dir.join(&key), s) {
            return Ok(f);
        }
    }
    let f = seccomp::compile(s)?;
    if trusted || make_dir(dir) {
        if let Err(e) = store(dir, &key, &f) {
            tracing::debug!("seccomp cache: store {}: {e}", dir.display());
        }
    }
    Ok(f)
}

fn key(s: &LinuxSeccomp) -> Option<String> {
    let spec = serde_json::to_vec(s).ok()?;
    // Linked statically (scripts/build.rs), libseccomp is part of the binary keyed below,
    // and asking its version would only fault its code in; a shared one can be upgraded
    // under the same binary.
    #[cfg(seccomp_static)]
    let lib = "static";
    #[cfg(not(seccomp_static))]
    let lib = {
        let v = libseccomp::ScmpVersion::current().ok()?;
        format!("{}.{}.{}", v.major, v.minor, v.micro)
    };
    let uname = nix::sys::utsname::uname().ok()?;
    // The binary itself (its size and modification time): a rebuilt palisade whose
    // version did not change may compile differently.
    let exe = fs::metadata("/proc/self/exe").ok()?;
    let build = format!("{} {}.{}", exe.len(), exe.mtime(), exe.mtime_nsec());
    let mut h = Sha256::new();
    for part in [
        env!("CARGO_PKG_VERSION").as_bytes(),
        build.as_bytes(),
        lib.as_bytes(),
        uname.release().as_encoded_bytes(),
        // libseccomp's native architecture is the one it and palisade were built for.
        std::env::consts::ARCH.as_bytes(),
        &spec,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Ours, of the expected kind (a directory or a regular file, never a link to one), and
/// writable by nobody else.
fn trusted(meta: &fs::Metadata, dir: bool) -> bool {
    let kind = if dir {
        meta.file_type().is_dir()
    } else {
        meta.file_type().is_file()
    };
    kind && meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 == 0
}

fn trusted_dir(dir: &Path) -> bool {
    // Every level we made must be trusted, not only the last one.
    [dir.parent(), Some(dir)]
        .into_iter()
        .flatten()
        .all(|d| fs::symlink_metadata(d).is_ok_and(|m| trusted(&m, true)))
}

fn make_dir(dir: &Path) -> bool {
    let _ = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    trusted_dir(dir)
}

fn load(path: &Path, s: &LinuxSeccomp) -> Option<Filter> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    if !trusted(&f.metadata().ok()?, false) {
        return None;
    }
    let mut data = Vec::new();
    f.read_to_end(&mut data).ok()?;
    let rest = data.strip_prefix(MAGIC)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let meta: serde_json::Value = serde_json::from_slice(&rest[..nl]).ok()?;
    let bpf = rest[nl + 1..].to_vec();
    if bpf.is_empty() || bpf.len() % 8 != 0 {
        return None;
    }
    Some(Filter {
        bpf,
        flags: u32::try_from(meta["flags"].as_u64()?).ok()?,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone().unwrap_or_default(),
        rules: usize::try_from(meta["rules"].as_u64()?).ok()?,
        default_action: meta["defaultAction"].as_str()?.to_owned(),
        skipped: serde_json::from_value(meta["skipped"].clone()).ok()?,
    })
}

fn store(dir: &Path, key: &str, f: &Filter) -> std::io::Result<()> {
    if fs::read_dir(dir)?.count() >= MAX_ENTRIES {
        for e in fs::read_dir(dir)?.flatten() {
            let _ = fs::remove_file(e.path());
        }
    }
    let meta = serde_json::json!({
        "flags": f.flags,
        "rules": f.rules,
        "defaultAction": f.default_action,
        "skipped": f.skipped,
    });
    let tmp: PathBuf = dir.join(format!(".{key}.{}", std::process::id()));
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let mut data = MAGIC.to_vec();
    data.extend_from_slice(meta.to_string().as_bytes());
    data.push(b'\n');
    data.extend_from_slice(&f.bpf);
    let written = out.write_all(&data).and_then(|_| out.sync_data());
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // A rename is atomic: a reader sees the whole entry or none.
    fs::rename(&tmp, dir.join(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn filter() -> LinuxSeccomp {
        serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["read", "write", "no_such_call_xyz"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_hit_is_what_compiling_gives() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("cache/seccomp");
        let fresh = seccomp::compile(&filter()).unwrap();
        let first = compile(&dir, &filter()).unwrap();
        let entries: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1);
        let m = entries[0].metadata().unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let hit = load(&entries[0].path(), &filter()).expect("entry loads");
        for f in [&first, &hit] {
            assert_eq!(f.bpf, fresh.bpf);
            assert_eq!((f.flags, f.rules), (fresh.flags, fresh.rules));
            assert_eq!(f.skipped, ["no_such_call_xyz"]);
            assert_eq!(f.default_action, fresh.default_action);
        }
        // Another filter is another entry.
        let mut other = filter();
        other.set_default_errno_ret(Some(38));
        let o = compile(&dir, &other).unwrap();
        assert_ne!(o.bpf, first.bpf);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    /// An entry someone else could have written is never used.
    #[test]
    fn untrusted_entries_and_directories_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("cache/seccomp");
        compile(&dir, &filter()).unwrap();
        let entry = fs::read_dir(&dir).unwrap().flatten().next().unwrap().path();
        // A tampered entry (an ALLOW-everything program would look like this) that is
        // group-writable is not loaded.
        fs::set_permissions(&entry, fs::Permissions::from_mode(0o620)).unwrap();
        assert!(load(&entry, &filter()).is_none());
        fs::set_permissions(&entry, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&entry, &filter()).is_some());
        // A directory writable by others is not trusted, nor is a symlink to one.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(!trusted_dir(&dir));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(trusted_dir(&dir));
        let link = d.path().join("cache/link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(!trusted_dir(&link));
        // A symlinked entry is not followed.
        let alias = dir.join("alias");
        std::os::unix::fs::symlink(&entry, &alias).unwrap();
        assert!(load(&alias, &filter()).is_none());
        // Garbage is not a filter.
        fs::write(&entry, b"palisade-seccomp-bpf v1\n{}\nxyz").unwrap();
        assert!(load(&entry, &filter()).is_none());
    }

    /// The policy keeps every container away from the cache (host-mounts): it must lie
    /// where the policy looks.
    #[test]
    fn the_cache_is_where_the_policy_protects() {
        assert!(std::path::Path::new(DIR).starts_with(crate::spec::RUNTIME_CACHE));
    }
}
