//! What runs of a workload did, as `palisade learn` records them: the system calls by name
//! (with the arguments that decide their risk), the places written, the TCP ports, and the
//! capabilities the calls show a need for. Saved as JSON beside the profile so that
//! recordings of several runs can be merged (`palisade learn --merge`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

/// Bounds on what one workload can make the recorder keep (it runs as root on the host):
/// distinct argument values per call, distinct paths, distinct unnamed call numbers.
/// Past them the recording notes that it stopped keeping: a call with that many values is
/// allowed whatever its arguments (as far as the base allows it), paths past the bound get
/// no grant, unnamed calls stay denied.
pub const MAX_KEPT_VALUES: usize = 64;
pub const MAX_PATHS: usize = 4096;
pub const MAX_UNNAMED: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub version: u32,
    /// The container ids of the runs merged here.
    pub runs: Vec<String>,
    /// The profile the runs were made under, which the learned profile extends.
    pub base: String,
    /// Architectures the calls were made in (OCI names, SCMP_ARCH_*).
    pub arches: BTreeSet<String>,
    /// Per syscall name.
    pub calls: BTreeMap<String, Call>,
    /// Existing files opened for writing or truncated: path → the calls.
    pub write_files: BTreeMap<String, BTreeSet<String>>,
    /// Directories in which entries were made, removed or renamed: path → the calls.
    pub write_dirs: BTreeMap<String, BTreeSet<String>>,
    pub tcp_bind: BTreeSet<u16>,
    pub tcp_connect: BTreeSet<u16>,
    /// Capability → the first call seen that needs it.
    pub capabilities: BTreeMap<String, String>,
    /// What could not be decoded, by call: recorded by name only.
    pub undecoded: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub count: u64,
    /// For the calls whose arguments decide the risk (`decode::DECIDED`): every distinct
    /// tuple of those arguments, masked as the rule will compare them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub values: BTreeSet<Vec<u64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("recording {path}: {why}")]
    Invalid { path: String, why: String },
    #[error("recordings of different bases cannot be merged: {0} and {1}")]
    Bases(String, String),
}

impl Recording {
    pub fn new(id: &str, base: &str) -> Recording {
        Recording {
            version: VERSION,
            runs: vec![id.to_owned()],
            base: base.to_owned(),
            ..Default::default()
        }
    }

    pub fn parse(text: &str, path: &str) -> Result<Recording, RecordingError> {
        let r: Recording = serde_json::from_str(text).map_err(|e| RecordingError::Invalid {
            path: path.into(),
            why: e.to_string(),
        })?;
        if r.version != VERSION {
            return Err(RecordingError::Invalid {
                path: path.into(),
                why: format!("version {} (this palisade reads {VERSION})", r.version),
            });
        }
        Ok(r)
    }

    pub fn call(&mut self, name: &str) -> &mut Call {
        // Counted only for an unnamed call: this runs once per recorded call.
        let name = if name.starts_with("nr:")
            && !self.calls.contains_key(name)
            && self.calls.keys().filter(|k| k.starts_with("nr:")).count() >= MAX_UNNAMED
        {
            "nr:other"
        } else {
            name
        };
        let c = self.calls.entry(name.to_owned()).or_default();
        c.count += 1;
        c
    }

    /// Keeps a distinct argument tuple of call `name` (counted already), up to the bound.
    pub fn value(&mut self, name: &str, v: Vec<u64>) {
        let full = self
            .calls
            .get(name)
            .is_some_and(|c| c.values.len() >= MAX_KEPT_VALUES);
        if full {
            self.undecoded.entry(name.to_owned()).or_insert_with(|| {
                format!("more than {MAX_KEPT_VALUES} distinct argument values: no more kept")
            });
        } else if let Some(c) = self.calls.get_mut(name) {
            c.values.insert(v);
        }
    }

    fn paths_full(&mut self, call: &str) -> bool {
        let full = self.write_files.len() + self.write_dirs.len() >= MAX_PATHS;
        if full {
            self.undecoded.entry(call.to_owned()).or_insert_with(|| {
                format!("more than {MAX_PATHS} distinct paths written: no more kept")
            });
        }
        full
    }

    pub fn write_file(&mut self, path: String, call: &str) {
        if !self.write_files.contains_key(&path) && self.paths_full(call) {
            return;
        }
        self.write_files
            .entry(path)
            .or_default()
            .insert(call.into());
    }

    pub fn write_dir(&mut self, path: String, call: &str) {
        if !self.write_dirs.contains_key(&path) && self.paths_full(call) {
            return;
        }
        self.write_dirs.entry(path).or_default().insert(call.into());
    }

    pub fn needs(&mut self, cap: &str, why: String) {
        self.capabilities.entry(cap.into()).or_insert(why);
    }

    /// The union of two recordings of the same workload (replicas, test suites).
    pub fn merge(&mut self, other: Recording) -> Result<(), RecordingError> {
        if self.base != other.base {
            return Err(RecordingError::Bases(self.base.clone(), other.base));
        }
        self.runs.extend(other.runs);
        self.arches.extend(other.arches);
        for (name, c) in other.calls {
            let mine = self.calls.entry(name).or_default();
            mine.count += c.count;
            mine.values.extend(c.values);
        }
        for (p, calls) in other.write_files {
            self.write_files.entry(p).or_default().extend(calls);
        }
        for (p, calls) in other.write_dirs {
            self.write_dirs.entry(p).or_default().extend(calls);
        }
        self.tcp_bind.extend(other.tcp_bind);
        self.tcp_connect.extend(other.tcp_connect);
        for (cap, why) in other.capabilities {
            self.capabilities.entry(cap).or_insert(why);
        }
        for (call, why) in other.undecoded {
            self.undecoded.entry(call).or_insert(why);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_a_union() {
        let mut a = Recording::new("a", "restricted");
        a.call("read");
        a.call("clone").values.insert(vec![0x1200011]);
        a.write_dir("/tmp".into(), "openat");
        a.tcp_bind.insert(8080);
        let mut b = Recording::new("b", "restricted");
        b.call("read");
        b.call("clone").values.insert(vec![0x3d0f00]);
        b.write_dir("/data".into(), "mkdir");
        b.tcp_connect.insert(8080);
        a.merge(b).unwrap();
        assert_eq!(a.runs, ["a", "b"]);
        assert_eq!(a.calls["read"].count, 2);
        assert_eq!(a.calls["clone"].values.len(), 2);
        assert_eq!(a.write_dirs.len(), 2);
        assert!(a.tcp_bind.contains(&8080) && a.tcp_connect.contains(&8080));
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(Recording::parse(&text, "x").unwrap(), a);
        let c = Recording::new("c", "baseline");
        assert!(a.merge(c).is_err());
    }

    /// A workload cannot make the recorder keep without bound.
    #[test]
    fn what_is_kept_is_bounded() {
        let mut r = Recording::new("a", "restricted");
        for i in 0..10_000u64 {
            r.call("ioctl");
            r.value("ioctl", vec![i]);
            r.call(&format!("nr:{}", 1000 + i));
            r.write_dir(format!("/tmp/{i}"), "mkdir");
        }
        assert_eq!(r.calls["ioctl"].values.len(), MAX_KEPT_VALUES);
        assert!(r.undecoded["ioctl"].contains("no more kept"));
        assert_eq!(
            r.calls.keys().filter(|k| k.starts_with("nr:")).count(),
            MAX_UNNAMED + 1
        );
        assert!(r.calls["nr:other"].count > 9000);
        assert_eq!(r.write_dirs.len(), MAX_PATHS);
        assert!(r.undecoded["mkdir"].contains("paths"));
    }
}
