//! Landlock (kernel Documentation/userspace-api/landlock.rst) from `process.landlock` as
//! proposed for the runtime-spec (opencontainers/runtime-spec PR #1241), or from the
//! `run.oci.landlock` annotation carrying the same JSON for managers that do not know the
//! field. Paths are container paths, opened after pivot_root, once every mount is in place.

use std::path::PathBuf;

use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};
use serde::Deserialize;

pub const ANNOTATION: &str = "run.oci.landlock";

/// An access right by name (as the proposal spells them) or by its bit in
/// include/uapi/linux/landlock.h, so rights newer than this build can still be named.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Right {
    Name(String),
    Bits(u64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Handled {
    #[serde(rename = "handledAccessFS", default)]
    pub fs: Vec<Right>,
    #[serde(rename = "handledAccessNetwork", default)]
    pub net: Vec<Right>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathRule {
    pub allowed_access: Vec<Right>,
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortRule {
    pub allowed_access: Vec<Right>,
    pub ports: Vec<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    #[serde(default)]
    pub path_beneath: Vec<PathRule>,
    #[serde(default)]
    pub network_port: Vec<PortRule>,
}

/// `process.landlock`. The earlier draft's spellings (`ruleset`, `disableBestEffort`) are
/// accepted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Landlock {
    #[serde(alias = "ruleset", default)]
    pub handled_access: Handled,
    #[serde(default)]
    pub rules: Rules,
    #[serde(default)]
    pub enable_best_effort: bool,
    #[serde(default)]
    pub disable_best_effort: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    #[error("landlock path {path}: {why}")]
    Path { path: PathBuf, why: String },
    #[error("landlock: {0}")]
    Kernel(String),
}

fn fs_right(r: &Right, field: &str) -> Result<BitFlags<AccessFs>, LandlockError> {
    let bad = |why: String| LandlockError::Invalid {
        field: field.into(),
        why,
    };
    Ok(match r {
        Right::Bits(b) => BitFlags::<AccessFs>::from_bits(*b)
            .map_err(|_| bad(format!("unknown access bits {b:#x}")))?,
        Right::Name(n) => BitFlags::from(match n.as_str() {
            "execute" => AccessFs::Execute,
            "write_file" => AccessFs::WriteFile,
            "read_file" => AccessFs::ReadFile,
            "read_dir" => AccessFs::ReadDir,
            "remove_dir" => AccessFs::RemoveDir,
            "remove_file" => AccessFs::RemoveFile,
            "make_char" => AccessFs::MakeChar,
            "make_dir" => AccessFs::MakeDir,
            "make_reg" => AccessFs::MakeReg,
            "make_sock" => AccessFs::MakeSock,
            "make_fifo" => AccessFs::MakeFifo,
            "make_block" => AccessFs::MakeBlock,
            "make_sym" => AccessFs::MakeSym,
            "refer" => AccessFs::Refer,
            "truncate" => AccessFs::Truncate,
            "ioctl_dev" => AccessFs::IoctlDev,
            other => return Err(bad(format!("unknown filesystem access {other:?}"))),
        }),
    })
}

fn net_right(r: &Right, field: &str) -> Result<BitFlags<AccessNet>, LandlockError> {
    let bad = |why: String| LandlockError::Invalid {
        field: field.into(),
        why,
    };
    Ok(match r {
        Right::Bits(b) => BitFlags::<AccessNet>::from_bits(*b)
            .map_err(|_| bad(format!("unknown access bits {b:#x}")))?,
        Right::Name(n) => BitFlags::from(match n.as_str() {
            "bind_tcp" => AccessNet::BindTcp,
            "connect_tcp" => AccessNet::ConnectTcp,
            other => return Err(bad(format!("unknown network access {other:?}"))),
        }),
    })
}

fn fold<T: landlock::Access>(
    v: &[Right],
    field: &str,
    f: fn(&Right, &str) -> Result<BitFlags<T>, LandlockError>,
) -> Result<BitFlags<T>, LandlockError> {
    v.iter()
        .try_fold(BitFlags::<T>::empty(), |acc, r| Ok(acc | f(r, field)?))
}

/// The filesystem rights named in `rights`, or None if one is not a known right.
pub fn fs_access(rights: &[Right]) -> Option<BitFlags<AccessFs>> {
    fold(rights, "", fs_right).ok()
}

/// The network rights named in `rights`, or None if one is not a known right.
pub fn net_access(rights: &[Right]) -> Option<BitFlags<AccessNet>> {
    fold(rights, "", net_right).ok()
}

impl Landlock {
    pub fn best_effort(&self) -> bool {
        self.enable_best_effort || self.disable_best_effort == Some(false)
    }

    /// Checks every name and path shape without touching the kernel (at plan time).
    pub fn validate(&self) -> Result<(), LandlockError> {
        let fs = fold(
            &self.handled_access.fs,
            "process.landlock.handledAccess.handledAccessFS",
            fs_right,
        )?;
        let net = fold(
            &self.handled_access.net,
            "process.landlock.handledAccess.handledAccessNetwork",
            net_right,
        )?;
        if fs.is_empty() && net.is_empty() {
            return Err(LandlockError::Invalid {
                field: "process.landlock.handledAccess".into(),
                why: "handles no access: the ruleset would restrict nothing".into(),
            });
        }
        for (i, r) in self.rules.path_beneath.iter().enumerate() {
            let field = format!("process.landlock.rules.pathBeneath[{i}]");
            let a = fold(&r.allowed_access, &field, fs_right)?;
            if !fs.contains(a) {
                return Err(LandlockError::Invalid {
                    field,
                    why: "allows access the ruleset does not handle".into(),
                });
            }
            if let Some(p) = r.paths.iter().find(|p| !p.is_absolute()) {
                return Err(LandlockError::Invalid {
                    field,
                    why: format!("{} is not absolute", p.display()),
                });
            }
        }
        for (i, r) in self.rules.network_port.iter().enumerate() {
            let field = format!("process.landlock.rules.networkPort[{i}]");
            let a = fold(&r.allowed_access, &field, net_right)?;
            if !net.contains(a) {
                return Err(LandlockError::Invalid {
                    field,
                    why: "allows access the ruleset does not handle".into(),
                });
            }
        }
        Ok(())
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Landlock {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn proposal_and_draft_spellings() {
        let a = parse(serde_json::json!({
            "handledAccess": {"handledAccessFS": ["write_file", "make_reg"], "handledAccessNetwork": ["connect_tcp"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["write_file"], "paths": ["/tmp"]}],
                      "networkPort": [{"allowedAccess": ["connect_tcp"], "ports": [443]}]},
            "enableBestEffort": true
        }));
        a.validate().unwrap();
        assert!(a.best_effort());
        let b = parse(serde_json::json!({
            "ruleset": {"handledAccessFS": [2]},
            "rules": {"pathBeneath": [{"allowedAccess": ["write_file"], "paths": ["/tmp"]}]},
            "disableBestEffort": true
        }));
        b.validate().unwrap();
        assert!(!b.best_effort());
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse(serde_json::json!({"handledAccess": {"handledAccessFS": ["fly"]}}))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("fly"), "{e}");
        let e = parse(serde_json::json!({
            "handledAccess": {"handledAccessFS": ["write_file"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["execute"], "paths": ["/bin"]}]}
        }))
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("pathBeneath[0]"), "{e}");
        assert!(parse(serde_json::json!({})).validate().is_err());
        assert!(serde_json::from_value::<Landlock>(serde_json::json!({"bogus": 1})).is_err());
    }
}
