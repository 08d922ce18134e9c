//! `process.landlock` as proposed for the runtime-spec (opencontainers/runtime-spec PR
//! #1241), or the `run.oci.landlock` annotation carrying the same JSON: the ruleset as the
//! plan describes it, and its rights as kernel bits. The policy reads these; the init's
//! Landlock step (isolate::landlock) applies them.

use std::path::PathBuf;

use landlock::{AccessFs, AccessNet, BitFlags};
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

pub(crate) fn fs_right(r: &Right, field: &str) -> Result<BitFlags<AccessFs>, LandlockError> {
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

pub(crate) fn net_right(r: &Right, field: &str) -> Result<BitFlags<AccessNet>, LandlockError> {
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

pub(crate) fn fold<T: landlock::Access>(
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
