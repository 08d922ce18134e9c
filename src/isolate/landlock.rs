//! Landlock (kernel Documentation/userspace-api/landlock.rst): the init's step that builds
//! the ruleset the plan describes (spec::landlock) and restricts itself. Paths are container
//! paths, opened after pivot_root, once every mount is in place.

use landlock::{
    CompatLevel, Compatible, NetPort, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus,
};

pub use crate::spec::landlock::*;
use crate::spec::landlock::{fold, fs_right, net_right};

impl Landlock {
    /// Builds the ruleset and restricts the calling process. Returns the enforcement
    /// status the kernel gave ("fully_enforced", "partially_enforced", "not_enforced").
    pub fn apply(&self) -> Result<&'static str, LandlockError> {
        let k = |e: landlock::RulesetError| LandlockError::Kernel(e.to_string());
        let level = if self.best_effort() {
            CompatLevel::BestEffort
        } else {
            CompatLevel::HardRequirement
        };
        let fs = fold(&self.handled_access.fs, "handledAccessFS", fs_right)?;
        let net = fold(&self.handled_access.net, "handledAccessNetwork", net_right)?;
        let mut rs = Ruleset::default().set_compatibility(level);
        if !fs.is_empty() {
            rs = rs.handle_access(fs).map_err(k)?;
        }
        if !net.is_empty() {
            rs = rs.handle_access(net).map_err(k)?;
        }
        // Denials of the workload itself (after execve) are logged by the kernel
        // (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON, ABI 7). Asked for only where the kernel
        // has it: a best-effort downgrade would make the crate report the whole ruleset
        // "partially_enforced" although every access right is enforced.
        let mut created = rs.create().map_err(k)?;
        if kernel_abi() >= LOG_ABI {
            created = created.log_new_exec(true).map_err(k)?;
        }
        for r in &self.rules.path_beneath {
            let access = fold(&r.allowed_access, "allowedAccess", fs_right)?;
            for p in &r.paths {
                let fd = open_no_symlinks(p).map_err(|why| LandlockError::Path {
                    path: p.clone(),
                    why,
                })?;
                created = created.add_rule(PathBeneath::new(fd, access)).map_err(k)?;
            }
        }
        for r in &self.rules.network_port {
            let access = fold(&r.allowed_access, "allowedAccess", net_right)?;
            for port in &r.ports {
                created = created.add_rule(NetPort::new(*port, access)).map_err(k)?;
            }
        }
        let status = created.restrict_self().map_err(k)?;
        Ok(match status.ruleset {
            RulesetStatus::FullyEnforced => "fully_enforced",
            RulesetStatus::PartiallyEnforced => "partially_enforced",
            RulesetStatus::NotEnforced => "not_enforced",
        })
    }
}

/// A rule's path, opened component by component without following a symlink: a rule is
/// granted where the path leads, so a symlink in the image (`/data/l -> /`) would carry a
/// grant checked as "beneath /data" to the whole root. openat with O_NOFOLLOW, not
/// openat2, since this step may run under the config's filter (init::LATE_SYSCALLS).
fn open_no_symlinks(p: &std::path::Path) -> Result<std::os::fd::OwnedFd, String> {
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStrExt;
    let mut fd: std::os::fd::OwnedFd = std::fs::File::open("/")
        .map_err(|e| format!("open /: {e}"))?
        .into();
    for c in p.components() {
        let std::path::Component::Normal(name) = c else {
            if c == std::path::Component::ParentDir {
                return Err("`..` in a Landlock path".into());
            }
            continue;
        };
        let name = std::ffi::CString::new(name.as_bytes()).map_err(|e| e.to_string())?;
        let next = crate::sys::open_path_at(fd.as_fd(), &name).map_err(|e| e.to_string())?;
        let mode = crate::sys::fstat_mode(next.as_fd()).map_err(|e| e.to_string())?;
        if mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(format!(
                "{} is a symlink: Landlock would grant where it leads; name the target instead",
                name.to_string_lossy()
            ));
        }
        fd = next;
    }
    Ok(fd)
}

/// The Landlock ABI version of the running kernel (0 when Landlock is unavailable).
/// The first Landlock ABI with the restrict_self logging flags.
const LOG_ABI: i64 = 7;

pub fn kernel_abi() -> i64 {
    crate::sys::landlock_abi()
}
