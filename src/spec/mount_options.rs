//! Mount options of runtime-spec config.md#mounts, parsed once into flags for mount(2),
//! attributes for mount_setattr(2), propagation and filesystem data. The plan, the policy
//! and the init's mount step all read this one parse.

use nix::mount::MsFlags;

use crate::sys;

/// Parsed mount options: flags for mount(2), recursive attributes for mount_setattr(2),
/// propagation changes, and the rest as filesystem data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub clear: MsFlags,
    pub propagation: Vec<MsFlags>,
    /// MOUNT_ATTR_* set / cleared on the whole subtree ("rro", "rnosuid", ...).
    pub rec_set: u64,
    pub rec_clear: u64,
    pub data: Vec<String>,
    /// "idmap" (the mount itself) or "ridmap" (the whole tree): an idmapped bind.
    pub idmap: bool,
    pub ridmap: bool,
}

/// propagation option → flags, shared by mount options and linux.rootfsPropagation.
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            clear: MsFlags::empty(),
            propagation: vec![],
            rec_set: 0,
            rec_clear: 0,
            data: vec![],
            idmap: false,
            ridmap: false,
        }
    }
}

impl MountOptions {
    /// The option table of mount(8) as runc reads it (libcontainer/specconv).
    pub fn parse(options: &[String]) -> MountOptions {
        let mut o = MountOptions::default();
        for opt in options {
            let (set, clear) = match opt.as_str() {
                "defaults" => (MsFlags::empty(), MsFlags::empty()),
                "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
                "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
                "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
                "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
                "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
                "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
                "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
                "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
                "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
                "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
                "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
                "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
                "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
                "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
                "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
                "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
                "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
                "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
                "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
                "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
                "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
                "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
                "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
                "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
                "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
                "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
                "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
                "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
                // mount(2) MS_NOSYMFOLLOW (Linux 5.10): symlinks on the mount are not
                // followed. A protection: never dropped.
                "nosymfollow" => (NOSYMFOLLOW, MsFlags::empty()),
                "symfollow" => (MsFlags::empty(), NOSYMFOLLOW),
                "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
                "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
                "idmap" => {
                    o.idmap = true;
                    continue;
                }
                "ridmap" => {
                    o.ridmap = true;
                    continue;
                }
                // runc's extension for tmpfs (isolate::copyup): not a filesystem option.
                "tmpcopyup" => {
                    o.data.push(opt.clone());
                    continue;
                }
                other => {
                    if let Some(p) = propagation_flag(other) {
                        o.propagation.push(p);
                    } else if let Some((set, clear)) = recursive_attr(other) {
                        // The later option wins, as for the per-mount flags.
                        o.rec_set = (o.rec_set & !clear) | set;
                        o.rec_clear = (o.rec_clear & !set) | clear;
                    } else {
                        o.data.push(other.to_owned());
                    }
                    continue;
                }
            };
            o.flags = (o.flags - clear) | set;
            o.clear = (o.clear - set) | clear;
        }
        o
    }

    /// Read-only: "ro", or "rro" on the whole tree, and no "rrw" after either (the
    /// recursive attributes are applied after the mount's own: mounts::detached_bind).
    pub fn is_readonly(&self) -> bool {
        (self.flags.contains(MsFlags::MS_RDONLY) || self.rec_set & sys::MOUNT_ATTR_RDONLY != 0)
            && self.rec_clear & sys::MOUNT_ATTR_RDONLY == 0
    }

    /// Not executable: "noexec", or "rnoexec" on the whole tree, and no "rexec".
    pub fn is_noexec(&self) -> bool {
        (self.flags.contains(MsFlags::MS_NOEXEC) || self.rec_set & sys::MOUNT_ATTR_NOEXEC != 0)
            && self.rec_clear & sys::MOUNT_ATTR_NOEXEC == 0
    }

    /// MOUNT_ATTR_* equivalents of the per-mount flags, for binds done through mount_setattr.
    pub fn attr_set_clear(&self) -> (u64, u64) {
        let mut set = 0;
        let mut clear = 0;
        for (flag, attr) in [
            (MsFlags::MS_RDONLY, sys::MOUNT_ATTR_RDONLY),
            (MsFlags::MS_NOSUID, sys::MOUNT_ATTR_NOSUID),
            (MsFlags::MS_NODEV, sys::MOUNT_ATTR_NODEV),
            (MsFlags::MS_NOEXEC, sys::MOUNT_ATTR_NOEXEC),
            (MsFlags::MS_NODIRATIME, sys::MOUNT_ATTR_NODIRATIME),
            (NOSYMFOLLOW, sys::MOUNT_ATTR_NOSYMFOLLOW),
        ] {
            if self.flags.contains(flag) {
                set |= attr;
            } else if self.clear.contains(flag) {
                clear |= attr;
            }
        }
        // The atime mode is one field: setting one value means clearing the field first.
        for (flag, attr) in [
            (MsFlags::MS_NOATIME, sys::MOUNT_ATTR_NOATIME),
            (MsFlags::MS_STRICTATIME, sys::MOUNT_ATTR_STRICTATIME),
            (MsFlags::MS_RELATIME, sys::MOUNT_ATTR_RELATIME),
        ] {
            if self.flags.contains(flag) {
                set |= attr;
                clear |= sys::MOUNT_ATTR__ATIME;
            }
        }
        (set, clear)
    }

    pub fn data_string(&self) -> String {
        self.data
            .iter()
            .filter(|d| d.as_str() != "tmpcopyup")
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// nix's MsFlags has no name for it.
const NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

/// "rro", "rnosuid", ... (runc 1.1, mount_setattr(2) with AT_RECURSIVE).
fn recursive_attr(opt: &str) -> Option<(u64, u64)> {
    Some(match opt {
        "rro" => (sys::MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, sys::MOUNT_ATTR_RDONLY),
        "rnosuid" => (sys::MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, sys::MOUNT_ATTR_NOSUID),
        "rnodev" => (sys::MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, sys::MOUNT_ATTR_NODEV),
        "rnoexec" => (sys::MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, sys::MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (sys::MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, sys::MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (sys::MOUNT_ATTR_RELATIME, sys::MOUNT_ATTR__ATIME),
        "rnoatime" => (sys::MOUNT_ATTR_NOATIME, sys::MOUNT_ATTR__ATIME),
        "rstrictatime" => (sys::MOUNT_ATTR_STRICTATIME, sys::MOUNT_ATTR__ATIME),
        // "atime" on the whole tree: noatime cleared, the default (relatime) back.
        "ratime" => (sys::MOUNT_ATTR_RELATIME, sys::MOUNT_ATTR__ATIME),
        "rnosymfollow" => (sys::MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, sys::MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> MountOptions {
        MountOptions::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_data_and_propagation() {
        let o = parse(&["rbind", "ro", "nosuid", "rprivate", "mode=755", "size=64k"]);
        assert!(o.flags.contains(
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
        ));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.data_string(), "mode=755,size=64k");
    }

    /// config.md#linux-mount-options lists these as flags, not filesystem data.
    #[test]
    fn iversion_and_lazytime_are_flags() {
        let o = parse(&["iversion", "lazytime"]);
        assert!(o
            .flags
            .contains(MsFlags::MS_I_VERSION | MsFlags::MS_LAZYTIME));
        assert!(o.data.is_empty());
        let o = parse(&["lazytime", "nolazytime", "noiversion"]);
        assert!(!o.flags.contains(MsFlags::MS_LAZYTIME));
        assert!(o
            .clear
            .contains(MsFlags::MS_LAZYTIME | MsFlags::MS_I_VERSION));
    }

    #[test]
    fn later_option_wins() {
        let o = parse(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.clear.contains(MsFlags::MS_RDONLY));
        assert_eq!(o.attr_set_clear(), (0, sys::MOUNT_ATTR_RDONLY));
    }

    #[test]
    fn a_recursive_clear_undoes_the_mounts_own_flag() {
        assert!(!parse(&["ro", "rrw"]).is_readonly());
        assert!(!parse(&["rro", "rrw"]).is_readonly());
        assert!(parse(&["rrw", "rro"]).is_readonly());
        assert!(!parse(&["noexec", "rexec"]).is_noexec());
        assert!(!parse(&["rexec", "noexec"]).is_noexec());
        assert!(parse(&["rexec", "rnoexec"]).is_noexec());
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&["rro", "rnoexec"]);
        assert_eq!(o.rec_set, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOEXEC);
        assert!(o.data.is_empty());
    }

    #[test]
    fn idmap_is_noted() {
        assert!(parse(&["idmap"]).idmap);
    }
}
