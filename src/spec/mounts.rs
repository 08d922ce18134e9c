//! One mount of the plan (runtime-spec config.md#mounts): what kind of mount the init will
//! make of it, and the host directories an overlay names. The init's mount step and the
//! policy both read [`Mount::kind`], so that they cannot disagree on what a spelling does.

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::mount_options::MountOptions;
use super::IdMap;

/// The id mapping of an idmapped mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountIdmap {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
}

#[derive(Debug, Clone)]
pub struct Mount {
    /// Absolute path inside the container.
    pub destination: PathBuf,
    pub typ: String,
    pub source: Option<PathBuf>,
    pub options: MountOptions,
    /// Set for idmapped binds ("idmap"/"ridmap", or the mount's own mappings).
    pub idmap: Option<MountIdmap>,
    /// For a bind: the host object its source led to when the config was planned.
    pub source_pin: Option<Pin>,
}

/// A host path as one object: its canonical path and its (device, inode), both read from
/// one descriptor, so that the path the policy judges and the object the runtime checks
/// each bind against (BindTree::verify, in userns::idmapped) are the same, whatever is
/// swapped on the path meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub path: PathBuf,
    pub id: (u64, u64),
}

impl Pin {
    /// None when `path` cannot be opened (the mount will fail and say why).
    pub fn of(path: &Path) -> Option<Pin> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        // O_PATH opens any kind of file without acting on it (a FIFO does not block, a
        // device is not opened): open(2).
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)
            .ok()?;
        let meta = f.metadata().ok()?;
        let path = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()?;
        path.is_absolute().then_some(Pin {
            path,
            id: (meta.dev(), meta.ino()),
        })
    }
}

/// What the init makes of a mount entry, in the order it decides (isolate::rootfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A bind of the host path `source` (type "bind", or a "bind"/"rbind" option, or an
    /// idmapped mount, which the runtime makes as a bind before the init exists).
    Bind,
    /// `type: cgroup`: the container's own cgroup directories, bound from the host.
    Cgroup,
    /// `type: cgroup2`: the container's own directory of the unified hierarchy.
    Cgroup2,
    /// A new filesystem of `typ`, made by mount(2).
    Filesystem,
}

impl Mount {
    pub fn kind(&self) -> MountKind {
        if self.idmap.is_some() {
            MountKind::Bind
        } else if self.typ == "cgroup" {
            MountKind::Cgroup
        } else if self.typ == "cgroup2" {
            MountKind::Cgroup2
        } else if self.is_bind() {
            MountKind::Bind
        } else {
            MountKind::Filesystem
        }
    }

    pub fn is_bind(&self) -> bool {
        self.options.flags.contains(MsFlags::MS_BIND) || self.typ == "bind"
    }

    /// Mounted read-only ("ro", or "rro" on the whole tree).
    pub fn is_readonly(&self) -> bool {
        self.options.is_readonly()
    }

    /// The host directories an overlay mount names, with the option that names each
    /// (Documentation/filesystems/overlayfs.rst: lowerdir, upperdir, workdir, and the
    /// fsconfig spellings lowerdir+ and datadir+). The options reach mount(2) joined by
    /// commas, so one option string may hold several. A spelling this cannot read for
    /// certain (an escaped separator, a relative path) is an error: the caller refuses it.
    pub fn overlay_dirs(&self) -> Result<Vec<(&'static str, PathBuf)>, String> {
        let mut out = vec![];
        let data = self.options.data_string();
        for opt in data.split(',').filter(|o| !o.is_empty()) {
            let Some((key, value)) = opt.split_once('=') else {
                continue;
            };
            let key: &'static str = match key {
                "lowerdir" => "lowerdir",
                "upperdir" => "upperdir",
                "workdir" => "workdir",
                "lowerdir+" => "lowerdir+",
                "datadir+" => "datadir+",
                _ => continue,
            };
            if value.contains('\\') {
                return Err(format!("{key}={value} has an escaped character"));
            }
            let dirs: Vec<&str> = if key == "lowerdir" {
                // "a::b" separates data-only layers (overlayfs.rst, "Data-only lower layers").
                value.split(':').filter(|d| !d.is_empty()).collect()
            } else {
                vec![value]
            };
            for d in dirs {
                let p = Path::new(d);
                if !p.is_absolute() {
                    return Err(format!("{key} {d} is not an absolute path"));
                }
                out.push((key, p.to_path_buf()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(typ: &str, opts: &[&str]) -> Mount {
        Mount {
            destination: "/x".into(),
            typ: typ.into(),
            source: Some("/src".into()),
            options: MountOptions::parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            idmap: None,
            source_pin: None,
        }
    }

    #[test]
    fn the_kind_follows_the_inits_order() {
        assert_eq!(mount("cgroup", &["rbind"]).kind(), MountKind::Cgroup);
        assert_eq!(mount("cgroup2", &[]).kind(), MountKind::Cgroup2);
        assert_eq!(mount("proc", &["bind"]).kind(), MountKind::Bind);
        assert_eq!(mount("bind", &[]).kind(), MountKind::Bind);
        assert_eq!(mount("none", &["rbind"]).kind(), MountKind::Bind);
        assert_eq!(mount("proc", &[]).kind(), MountKind::Filesystem);
        let mut m = mount("cgroup", &["bind"]);
        m.idmap = Some(MountIdmap {
            uid: vec![],
            gid: vec![],
        });
        assert_eq!(m.kind(), MountKind::Bind);
    }

    #[test]
    fn overlay_dirs_in_every_spelling() {
        let m = mount(
            "overlay",
            &[
                "lowerdir=/a:/b::/c",
                "upperdir=/u,workdir=/w",
                "lowerdir+=/d",
            ],
        );
        let dirs: Vec<String> = m
            .overlay_dirs()
            .unwrap()
            .into_iter()
            .map(|(k, p)| format!("{k} {}", p.display()))
            .collect();
        assert_eq!(
            dirs,
            [
                "lowerdir /a",
                "lowerdir /b",
                "lowerdir /c",
                "upperdir /u",
                "workdir /w",
                "lowerdir+ /d"
            ]
        );
        assert!(mount("overlay", &["upperdir=u"]).overlay_dirs().is_err());
        assert!(mount("overlay", &["lowerdir=/a\\:b"])
            .overlay_dirs()
            .is_err());
    }
}
