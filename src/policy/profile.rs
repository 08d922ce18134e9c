//! Profiles: TOML files that pick rules from the catalog, set their action and parameters,
//! and may `extend` another profile. The built-in ones (profiles/*.toml) are embedded so
//! that palisade works with nothing installed; others are loaded by path or from the
//! operator's profiles directory.

use std::path::{Path, PathBuf};

use super::catalog::{self, Params, Rule};
use super::{Action, Mode};

/// The built-in profiles, weakest first.
pub const BUILTIN: &[(&str, &str)] = &[
    ("unconfined", include_str!("../../profiles/unconfined.toml")),
    ("baseline", include_str!("../../profiles/baseline.toml")),
    ("restricted", include_str!("../../profiles/restricted.toml")),
    ("sealed", include_str!("../../profiles/sealed.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile {name}: not a built-in profile ({}) and no file {}", builtin_names(), path.display())]
    NotFound { name: String, path: PathBuf },
    #[error("profile {0}: read: {1}")]
    Read(String, std::io::Error),
    #[error("profile {0}: {1}")]
    Invalid(String, String),
}

fn builtin_names() -> String {
    BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone)]
pub struct ProfileRule {
    pub rule: &'static Rule,
    pub action: Action,
    pub params: Params,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// The profiles this one extends, nearest first.
    pub ancestors: Vec<String>,
    /// Where it came from: "built-in" or a file.
    pub source: String,
    /// The mode when the operator's configuration sets none.
    pub mode: Mode,
    /// In catalog order, which is the order of checking and hardening.
    pub rules: Vec<ProfileRule>,
}

impl Profile {
    /// How the profile is named where it is recorded (the state, from which `exec` finds it
    /// again) or extended (a learned profile): a built-in's name, else its file.
    pub fn reference(&self) -> String {
        if self.source == "built-in" {
            self.name.clone()
        } else {
            self.source.clone()
        }
    }

    pub fn rule(&self, id: &str) -> Option<&ProfileRule> {
        self.rules.iter().find(|r| r.rule.id == id)
    }

    /// Whether a workload may ask for this profile over `floor`: it is looser in nothing.
    pub fn at_least(&self, floor: &Profile) -> bool {
        self.loosenings(floor).is_empty()
    }

    /// Where this profile is looser than `floor`, rule by rule: a rule of the floor left
    /// out, a weaker action (harden where the floor refuses), or a parameter that lets
    /// more through (catalog::param_order). Naming the floor in `extends` proves nothing:
    /// a profile can extend it and then loosen its rules.
    pub fn loosenings(&self, floor: &Profile) -> Vec<String> {
        let mut out = vec![];
        for f in &floor.rules {
            let id = f.rule.id;
            let Some(mine) = self.rule(id) else {
                out.push(format!("{id}: left out"));
                continue;
            };
            if f.action == Action::Refuse && mine.action == Action::Harden {
                out.push(format!("{id}: harden where the floor refuses"));
            }
            for (key, theirs) in &f.params {
                let ours = mine.params.get(key).unwrap_or(theirs);
                if catalog::looser(id, key, ours, theirs) {
                    out.push(format!("{id}.{key}: looser than the floor's"));
                }
            }
        }
        out
    }

    /// Adds the operator's hook programs (config.toml `hooks`) to the `hooks` rule's list.
    pub fn allow_hooks(&mut self, programs: &[String]) {
        self.extend_list("hooks", "allowed", programs)
    }

    /// Adds the operator's root filesystem places (config.toml `rootfs_stores`) to the
    /// host-mounts rule's list.
    pub fn allow_rootfs_stores(&mut self, places: &[String]) {
        self.extend_list("host-mounts", "rootfs_stores", places)
    }

    /// Appends `values` to list parameter `key` of rule `id`, where the profile has it.
    fn extend_list(&mut self, id: &str, key: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        if let Some(r) = self.rules.iter_mut().find(|r| r.rule.id == id) {
            let list = r
                .params
                .entry(key)
                .or_insert_with(|| toml::Value::Array(vec![]));
            if let Some(a) = list.as_array_mut() {
                a.extend(values.iter().map(|v| toml::Value::String(v.clone())));
            }
        }
    }

    /// A built-in profile, a file path (containing '/' or ending in .toml), or
    /// `<dir>/<name>.toml`.
    pub fn load(name: &str, dir: Option<&Path>) -> Result<Profile, ProfileError> {
        load_depth(name, dir, 0)
    }

    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        load_depth(name, None, 0)
    }
}

/// `extends` chains longer than this are cycles.
const MAX_DEPTH: usize = 8;

fn load_depth(name: &str, dir: Option<&Path>, depth: usize) -> Result<Profile, ProfileError> {
    if depth > MAX_DEPTH {
        return Err(ProfileError::Invalid(
            name.into(),
            format!("extends more than {MAX_DEPTH} levels deep (a cycle?)"),
        ));
    }
    let (text, source) = if name.contains('/') || name.ends_with(".toml") {
        let text = std::fs::read_to_string(name).map_err(|e| ProfileError::Read(name.into(), e))?;
        (text, name.to_owned())
    } else if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        // An edited copy of a built-in would silently not apply: refuse the ambiguity.
        if let Some(shadow) = dir
            .map(|d| d.join(format!("{name}.toml")))
            .filter(|p| p.exists())
        {
            return Err(ProfileError::Invalid(
                shadow.display().to_string(),
                format!("has the name of the built-in profile {name}; give it a name of its own (it may extend {name})"),
            ));
        }
        (text.to_string(), "built-in".to_owned())
    } else {
        let path = dir
            .unwrap_or(Path::new(super::select::PROFILES_DIR))
            .join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(t) => (t, path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProfileError::NotFound {
                    name: name.into(),
                    path,
                })
            }
            Err(e) => return Err(ProfileError::Read(path.display().to_string(), e)),
        }
    };
    parse(&text, &source, dir, depth)
}

/// Parses one profile file; `extends` is loaded the same way (built-in, path or dir).
pub fn parse(
    text: &str,
    source: &str,
    dir: Option<&Path>,
    depth: usize,
) -> Result<Profile, ProfileError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ProfileError::Invalid(source.into(), e.to_string()))?;
    let bad = |why: String| ProfileError::Invalid(source.into(), why);
    for key in table.keys() {
        if !matches!(
            key.as_str(),
            "name" | "description" | "extends" | "mode" | "rules"
        ) {
            return Err(bad(format!(
                "unknown key {key:?} (name, description, extends, mode, rules)"
            )));
        }
    }
    let string = |key: &str| -> Result<Option<String>, ProfileError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("{key} must be a string"))),
        }
    };
    let name = string("name")?.ok_or_else(|| bad("missing name".into()))?;
    if name.is_empty() || name.contains('/') {
        return Err(bad(format!("name {name:?} must be a plain word")));
    }
    let parent = match string("extends")? {
        Some(p) => Some(load_depth(&p, dir, depth + 1)?),
        None => None,
    };
    let mode = match string("mode")? {
        Some(m) => {
            Mode::parse(&m).ok_or_else(|| bad(format!("mode {m:?}: use enforce, warn or audit")))?
        }
        None => parent.as_ref().map_or(Mode::Enforce, |p| p.mode),
    };
    let mut rules: Vec<ProfileRule> = parent.as_ref().map(|p| p.rules.clone()).unwrap_or_default();
    let own = match table.get("rules") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => return Err(bad("rules must be a table of [rules.<id>]".into())),
    };
    for (id, body) in own {
        let rule = catalog::find(&id).ok_or_else(|| {
            bad(format!(
                "unknown rule {id:?} (palisade profile explain lists none by that id)"
            ))
        })?;
        let toml::Value::Table(body) = body else {
            return Err(bad(format!("rules.{id} must be a table")));
        };
        let known = rule.default_params();
        let inherited = rules.iter().position(|r| r.rule.id == id);
        let (mut action, mut params) = match inherited {
            Some(i) => (rules[i].action, rules[i].params.clone()),
            None => (Action::Refuse, known.clone()),
        };
        for (key, value) in body {
            if key == "action" {
                action = match value.as_str() {
                    Some("refuse") => Action::Refuse,
                    Some("harden") => Action::Harden,
                    _ => {
                        return Err(bad(format!(
                            "rules.{id}.action must be \"refuse\" or \"harden\""
                        )))
                    }
                };
                continue;
            }
            let Some(default) = known.get(&key) else {
                return Err(bad(format!(
                    "rules.{id}: unknown parameter {key:?} (it takes: {})",
                    known.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            };
            if default.type_str() != value.type_str() {
                return Err(bad(format!(
                    "rules.{id}.{key} must be {} like its default",
                    default.type_str()
                )));
            }
            params.insert(key, value);
        }
        if action == Action::Harden && rule.remedy.is_none() {
            return Err(bad(format!(
                "rules.{id}: this rule cannot be hardened without surprising the workload; use action = \"refuse\""
            )));
        }
        let entry = ProfileRule {
            rule,
            action,
            params,
        };
        match inherited {
            Some(i) => rules[i] = entry,
            None => rules.push(entry),
        }
    }
    let order = |r: &ProfileRule| catalog::RULES.iter().position(|c| c.id == r.rule.id);
    rules.sort_by_key(order);
    let mut ancestors = vec![];
    if let Some(p) = parent {
        ancestors.push(p.name.clone());
        ancestors.extend(p.ancestors);
    }
    if ancestors.contains(&name) {
        return Err(bad(format!("{name} extends itself")));
    }
    Ok(Profile {
        name,
        description: string("description")?.unwrap_or_default(),
        ancestors,
        source: source.to_owned(),
        mode,
        rules,
    })
}
