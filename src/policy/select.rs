//! Who chooses the profile. The operator sets a floor: the configuration file
//! (/etc/palisade/config.toml, or the file named by PALISADE_CONFIG), overridden per
//! runtime class by the name palisade is invoked under (`palisade-restricted`, a symlink
//! that containerd's BinaryName can point at). A workload may ask for a stricter profile
//! with the `io.palisade.profile` annotation; asking for a weaker one is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Mode, Profile};

pub const CONFIG_ENV: &str = "PALISADE_CONFIG";
pub const CONFIG_FILE: &str = "/etc/palisade/config.toml";
pub const PROFILES_DIR: &str = "/etc/palisade/profiles";
pub const AUDIT_LOG: &str = "/var/log/palisade/audit.log";
/// The workload's request (config.json annotations), and what `state` shows.
pub const ANNOTATION_PROFILE: &str = "io.palisade.profile";
pub const ANNOTATION_MODE: &str = "io.palisade.mode";
/// With nothing configured: the Pod Security Standards baseline, enforced.
pub const DEFAULT_PROFILE: &str = "baseline";
/// `palisade-<profile>` selects <profile>.
const BINARY_PREFIX: &str = "palisade-";

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("configuration {path}: {why}")]
    Config { path: PathBuf, why: String },
    #[error("{0}")]
    Profile(#[from] super::profile::ProfileError),
    #[error("annotation {ANNOTATION_PROFILE}={asked:?} is not at least as strict as the operator's profile {floor}: a workload may only ask for a profile that is as strict as {floor} in every rule{}", if looser.is_empty() { String::new() } else { format!(" (looser in: {})", looser.join("; ")) })]
    Weaker {
        asked: String,
        floor: String,
        looser: Vec<String>,
    },
}

/// The operator's choices.
#[derive(Debug, Clone)]
pub struct Operator {
    /// A profile name or path.
    pub profile: String,
    /// Set by the configuration; otherwise the profile's own.
    pub mode: Option<Mode>,
    pub audit_log: PathBuf,
    pub profiles_dir: PathBuf,
    /// Host programs that hooks may run where the profile's `hooks` rule applies.
    pub hooks: Vec<String>,
    /// Where root filesystems may lie besides the bundle and the engines' default stores
    /// (host-mounts `rootfs_stores`: a custom data root, podman's --rootfs directories).
    pub rootfs_stores: Vec<String>,
    /// Where the learning runtime class writes what it learns (`learn_dir`); without it
    /// that class refuses to run: a workload never chooses where the runtime writes.
    pub learn_dir: Option<PathBuf>,
    /// Invoked as `palisade-learn`: every container is recorded (crate::learn).
    pub learning: bool,
}

impl Default for Operator {
    fn default() -> Self {
        Operator {
            profile: DEFAULT_PROFILE.into(),
            mode: None,
            audit_log: PathBuf::from(AUDIT_LOG),
            profiles_dir: PathBuf::from(PROFILES_DIR),
            hooks: vec![],
            rootfs_stores: vec![],
            learn_dir: None,
            learning: false,
        }
    }
}

impl Operator {
    /// The configuration file, then the invoked name.
    pub fn from_environment() -> Result<Operator, SelectError> {
        let (path, must_exist) = match std::env::var_os(CONFIG_ENV) {
            Some(p) if !p.is_empty() => (PathBuf::from(p), true),
            _ => (PathBuf::from(CONFIG_FILE), false),
        };
        let mut op = match std::fs::read_to_string(&path) {
            Ok(text) => parse_config(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Operator::default()
            }
            Err(e) => {
                return Err(SelectError::Config {
                    path,
                    why: e.to_string(),
                })
            }
        };
        let argv0 = std::env::args_os().next();
        let argv0 = argv0.as_deref().map(Path::new);
        if argv0
            .and_then(Path::file_name)
            .is_some_and(|n| n == crate::learn::INVOKED_NAME)
        {
            op.learning = true;
        } else if let Some(p) = invoked_profile(argv0) {
            op.profile = p;
        }
        Ok(op)
    }

    /// The profile and mode for a container with these annotations.
    pub fn effective(
        &self,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(Profile, Mode), SelectError> {
        let floor = Profile::load(&self.profile, Some(&self.profiles_dir))?;
        let profile = match annotations.get(ANNOTATION_PROFILE) {
            None => floor,
            Some(asked) if asked == &floor.name => floor,
            Some(asked) => {
                // Only names: a workload must not make the runtime read a file of its choosing.
                if asked.contains('/') || asked.ends_with(".toml") {
                    return Err(SelectError::Weaker {
                        asked: asked.clone(),
                        floor: floor.name,
                        looser: vec![],
                    });
                }
                let p = Profile::load(asked, Some(&self.profiles_dir))?;
                let looser = p.loosenings(&floor);
                if !looser.is_empty() {
                    return Err(SelectError::Weaker {
                        asked: asked.clone(),
                        floor: floor.name,
                        looser,
                    });
                }
                // A profile's own mode never loosens the floor's: enforce > warn > audit.
                let mode = p.mode.max(floor.mode);
                Profile { mode, ..p }
            }
        };
        let mut profile = profile;
        profile.allow_hooks(&self.hooks);
        profile.allow_rootfs_stores(&self.rootfs_stores);
        let mode = self.mode.unwrap_or(profile.mode);
        Ok((profile, mode))
    }
}

/// config.json's annotations (strings only, as the runtime-spec defines them).
pub fn annotations_of(doc: &serde_json::Value) -> BTreeMap<String, String> {
    doc["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// `palisade-restricted` → "restricted".
pub fn invoked_profile(argv0: Option<&Path>) -> Option<String> {
    let name = argv0?.file_name()?.to_str()?;
    let p = name.strip_prefix(BINARY_PREFIX)?;
    (!p.is_empty()).then(|| p.to_owned())
}

pub fn parse_config(text: &str, path: &Path) -> Result<Operator, SelectError> {
    let bad = |why: String| SelectError::Config {
        path: path.to_path_buf(),
        why,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let mut op = Operator::default();
    for (key, value) in table {
        if key == "hooks" || key == "rootfs_stores" {
            let list = value
                .as_array()
                .ok_or_else(|| bad(format!("{key} must be a list of absolute paths")))?;
            for v in list {
                match v.as_str() {
                    Some(p) if p.starts_with('/') => {
                        if key == "hooks" {
                            op.hooks.push(p.to_owned())
                        } else {
                            op.rootfs_stores.push(p.to_owned())
                        }
                    }
                    _ => return Err(bad(format!("{key}: {v} is not an absolute path"))),
                }
            }
            continue;
        }
        let s = value
            .as_str()
            .ok_or_else(|| bad(format!("{key} must be a string")))?
            .to_owned();
        match key.as_str() {
            "profile" => op.profile = s,
            "mode" => {
                op.mode = Some(
                    Mode::parse(&s)
                        .ok_or_else(|| bad(format!("mode {s:?}: use enforce, warn or audit")))?,
                )
            }
            "audit_log" => op.audit_log = PathBuf::from(s),
            "profiles_dir" => op.profiles_dir = PathBuf::from(s),
            "learn_dir" if s.starts_with('/') => op.learn_dir = Some(PathBuf::from(s)),
            "learn_dir" => return Err(bad(format!("learn_dir {s:?} is not an absolute path"))),
            other => {
                return Err(bad(format!(
                "unknown key {other:?} (profile, mode, audit_log, profiles_dir, hooks, rootfs_stores, learn_dir)"
            )))
            }
        }
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_name_selects_a_profile() {
        assert_eq!(
            invoked_profile(Some(Path::new("/usr/local/bin/palisade-restricted"))),
            Some("restricted".into())
        );
        assert_eq!(invoked_profile(Some(Path::new("/usr/bin/palisade"))), None);
        assert_eq!(invoked_profile(Some(Path::new("palisade-"))), None);
        let op = parse_config(
            "learn_dir = \"/var/lib/palisade/learned\"\n",
            Path::new("/c"),
        )
        .unwrap();
        assert_eq!(
            op.learn_dir,
            Some(PathBuf::from("/var/lib/palisade/learned"))
        );
        assert!(parse_config("learn_dir = \"learned\"\n", Path::new("/c")).is_err());
    }

    #[test]
    fn config_file_is_strict() {
        let p = Path::new("/etc/palisade/config.toml");
        let op = parse_config("profile = \"restricted\"\nmode = \"warn\"\n", p).unwrap();
        assert_eq!(op.profile, "restricted");
        assert_eq!(op.mode, Some(Mode::Warn));
        assert!(parse_config("mode = \"lax\"", p).is_err());
        assert!(parse_config("profiel = \"baseline\"", p).is_err());
        assert!(parse_config("profile = [", p).is_err());
    }

    #[test]
    fn a_workload_may_only_ask_for_a_stricter_profile() {
        let op = Operator {
            profile: "restricted".into(),
            ..Operator::default()
        };
        let ask = |p: &str| {
            let mut a = BTreeMap::new();
            a.insert(ANNOTATION_PROFILE.to_owned(), p.to_owned());
            op.effective(&a)
        };
        assert_eq!(ask("sealed").unwrap().0.name, "sealed");
        assert_eq!(ask("restricted").unwrap().0.name, "restricted");
        assert!(matches!(ask("baseline"), Err(SelectError::Weaker { .. })));
        assert!(matches!(ask("unconfined"), Err(SelectError::Weaker { .. })));
        assert!(matches!(
            ask("/tmp/x.toml"),
            Err(SelectError::Weaker { .. })
        ));
        let open = Operator {
            profile: "unconfined".into(),
            ..Operator::default()
        };
        let mut a = BTreeMap::new();
        a.insert(ANNOTATION_PROFILE.to_owned(), "baseline".to_owned());
        assert_eq!(open.effective(&a).unwrap().0.name, "baseline");
        let (p, mode) = op.effective(&BTreeMap::new()).unwrap();
        assert_eq!((p.name.as_str(), mode), ("restricted", Mode::Enforce));
    }

    /// Extending the floor proves nothing: a profile that extends restricted and loosens
    /// one rule, or asks for a weaker mode, cannot be chosen by a workload.
    #[test]
    fn selection_compares_rule_by_rule_and_never_loosens_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| {
            std::fs::write(dir.path().join(format!("{name}.toml")), body).unwrap();
        };
        write(
            "wide",
            "name = \"wide\"\nextends = \"restricted\"\n[rules.capabilities]\nallowed = [\"CAP_SYS_ADMIN\"]\n",
        );
        write(
            "soft",
            "name = \"soft\"\nextends = \"restricted\"\n[rules.readonly-rootfs]\naction = \"refuse\"\n[rules.no-new-privileges]\naction = \"harden\"\n[rules.host-mounts]\nallow = [\"/\"]\n",
        );
        write(
            "quiet",
            "name = \"quiet\"\nextends = \"restricted\"\nmode = \"audit\"\n",
        );
        write(
            "tight",
            "name = \"tight\"\nextends = \"restricted\"\n[rules.memory-limit]\nmax = 1048576\n[rules.capabilities]\nallowed = []\n",
        );
        write(
            "nolimit",
            "name = \"nolimit\"\nextends = \"tight\"\n[rules.memory-limit]\nmax = 0\n",
        );
        let op = |floor: &str| Operator {
            profile: floor.into(),
            profiles_dir: dir.path().to_path_buf(),
            ..Operator::default()
        };
        let ask = |op: &Operator, p: &str| {
            let mut a = BTreeMap::new();
            a.insert(ANNOTATION_PROFILE.to_owned(), p.to_owned());
            op.effective(&a)
        };
        let restricted = op("restricted");
        match ask(&restricted, "wide") {
            Err(SelectError::Weaker { looser, .. }) => {
                assert!(
                    looser.iter().any(|l| l.contains("capabilities.allowed")),
                    "{looser:?}"
                )
            }
            other => panic!("wide was chosen: {other:?}"),
        }
        match ask(&restricted, "soft") {
            Err(SelectError::Weaker { looser, .. }) => {
                assert!(
                    looser.iter().any(|l| l.contains("host-mounts.allow")),
                    "{looser:?}"
                )
            }
            other => panic!("soft was chosen: {other:?}"),
        }
        // A stricter profile is chosen, and its audit mode does not lower enforce.
        let (p, mode) = ask(&restricted, "quiet").unwrap();
        assert_eq!((p.name.as_str(), mode), ("quiet", Mode::Enforce));
        assert_eq!(ask(&restricted, "tight").unwrap().0.name, "tight");
        assert!(matches!(
            ask(&op("tight"), "nolimit"),
            Err(SelectError::Weaker { .. })
        ));
        assert_eq!(ask(&restricted, "sealed").unwrap().0.name, "sealed");
    }

    #[test]
    fn operator_hooks_join_the_hooks_rule() {
        let p = Path::new("/etc/palisade/config.toml");
        let op = parse_config(
            "profile = \"restricted\"\nhooks = [\"/usr/bin/nvidia-container-runtime-hook\"]\n",
            p,
        )
        .unwrap();
        let (profile, _) = op.effective(&BTreeMap::new()).unwrap();
        let allowed = &profile.rule("hooks").unwrap().params["allowed"];
        assert_eq!(
            allowed.as_array().unwrap()[0].as_str(),
            Some("/usr/bin/nvidia-container-runtime-hook")
        );
        assert!(parse_config("hooks = [\"relative\"]", p).is_err());
        assert!(parse_config("hooks = \"/bin/x\"", p).is_err());
    }

    #[test]
    fn operator_rootfs_stores_join_host_mounts() {
        let p = Path::new("/etc/palisade/config.toml");
        let op = parse_config("rootfs_stores = [\"/data/docker/overlay2/*/merged\"]\n", p).unwrap();
        let (profile, _) = op.effective(&BTreeMap::new()).unwrap();
        let stores = &profile.rule("host-mounts").unwrap().params["rootfs_stores"];
        assert!(stores
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str() == Some("/data/docker/overlay2/*/merged")));
        assert!(parse_config("rootfs_stores = [\"data\"]", p).is_err());
    }

    #[test]
    fn every_parameter_has_an_order() {
        for r in crate::policy::catalog::RULES {
            for key in r.default_params().keys() {
                assert!(
                    crate::policy::catalog::param_order(key).is_some(),
                    "{}.{key} has no order: a chosen profile could loosen it unseen",
                    r.id
                );
            }
        }
    }
}
