//! Landlock (kernel Documentation/userspace-api/landlock.rst): the init's step that builds
//! the ruleset the plan describes (spec::landlock) and restricts itself. Paths are container
//! paths, opened after pivot_root, once every mount is in place.

use landlock::{
    CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus,
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
                let fd = PathFd::new(p).map_err(|e| LandlockError::Path {
                    path: p.clone(),
                    why: e.to_string(),
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

/// The Landlock ABI version of the running kernel (0 when Landlock is unavailable).
/// The first Landlock ABI with the restrict_self logging flags.
const LOG_ABI: i64 = 7;

pub fn kernel_abi() -> i64 {
    crate::sys::landlock_abi()
}
