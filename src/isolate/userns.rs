//! User namespaces (runtime-spec config-linux.md#user-namespace-mappings,
//! user_namespaces(7)): the runtime writes the init's id maps, and builds the helper
//! namespaces whose mappings idmapped mounts use.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::mounts::{self, BindTree};
use crate::spec::MountKind;
use crate::spec::{IdMap, Plan};
use crate::sys;

/// The text of a /proc/PID/uid_map or gid_map.
pub fn map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// Writes the maps of `pid`'s new user namespace. The runtime is root on the host, so the
/// kernel does not require setgroups to be denied first (user_namespaces(7)).
pub fn write_maps(pid: i32, uid: &[IdMap], gid: &[IdMap]) -> io::Result<()> {
    for (file, maps) in [("gid_map", gid), ("uid_map", uid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, map_text(maps))
            .map_err(|e| io::Error::new(e.kind(), format!("write {path}: {e}")))?;
    }
    Ok(())
}

/// Whether container id 0 is mapped (then the init becomes root of its namespace).
pub fn maps_root(maps: &[IdMap]) -> bool {
    maps.iter().any(|m| m.container == 0 && m.size > 0)
}

/// A user namespace with these mappings, held open by descriptor: a short-lived child makes
/// it, the runtime writes its maps, opens /proc/CHILD/ns/user and lets the child go.
pub fn helper(uid: &[IdMap], gid: &[IdMap]) -> io::Result<OwnedFd> {
    let holder = sys::UsernsHolder::new()?;
    let pid = holder.pid();
    write_maps(pid, uid, gid)?;
    Ok(std::fs::File::open(format!("/proc/{pid}/ns/user"))?.into())
}

/// The binds the runtime makes before the init exists: every bind of the config, idmapped
/// or not, as a detached tree the init attaches.
#[derive(Default)]
pub struct Idmapped {
    /// The rootfs itself, when its owner is not mapped into the container's new user
    /// namespace (files owned by host root then appear owned by the container's root).
    pub rootfs: Option<BindTree>,
    /// Index-aligned with plan.mounts; `None` for mounts that are not binds.
    pub mounts: Vec<Option<BindTree>>,
}

fn host_id_mapped(maps: &[IdMap], id: u32) -> bool {
    maps.iter().any(|m| id >= m.host && id - m.host < m.size)
}

/// Builds every idmapped bind of `plan`, sharing one helper namespace per mapping.
pub fn idmapped(plan: &Plan) -> io::Result<Idmapped> {
    let mut helpers: HashMap<String, OwnedFd> = HashMap::new();
    let mut userns_for = |uid: &[IdMap], gid: &[IdMap]| -> io::Result<OwnedFd> {
        let key = format!("{}|{}", map_text(uid), map_text(gid));
        if !helpers.contains_key(&key) {
            helpers.insert(key.clone(), helper(uid, gid)?);
        }
        helpers[&key].try_clone()
    };
    let mut out = Idmapped::default();
    if super::namespaces::new_user_namespace(plan) {
        let st = nix::sys::stat::stat(&plan.rootfs)?;
        if !host_id_mapped(&plan.uid_mappings, st.st_uid)
            || !host_id_mapped(&plan.gid_mappings, st.st_gid)
        {
            let userns = userns_for(&plan.uid_mappings, &plan.gid_mappings)?;
            let mut o = mounts::MountOptions::parse(&["rbind".into()]);
            o.ridmap = true;
            let tree = mounts::detached_bind(&plan.rootfs, &o, Some(userns.as_fd()))
                .and_then(|t| t.verify(&plan.rootfs, plan.rootfs_pin.as_ref()).map(|()| t))
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("idmapped rootfs {}: {e}", plan.rootfs.display()),
                    )
                })?;
            out.rootfs = Some(tree);
        }
    }
    // Every bind's source is opened here, in the runtime's mount namespace, before any
    // mount of the container exists: a source path through the container's own mounts
    // (rootfs/proc/self/root once proc is mounted there) cannot reach them, and the tree
    // is checked against the object the policy judged (spec::Pin).
    for m in &plan.mounts {
        if m.kind() != MountKind::Bind {
            out.mounts.push(None);
            continue;
        }
        let source = m.source.as_deref().unwrap_or(Path::new("/"));
        let what = if m.idmap.is_some() {
            "idmapped mount"
        } else {
            "mount"
        };
        let userns = match &m.idmap {
            Some(idm) => Some(userns_for(&idm.uid, &idm.gid)?),
            None => None,
        };
        let tree = mounts::detached_bind(source, &m.options, userns.as_ref().map(|u| u.as_fd()))
            .and_then(|t| t.verify(source, m.source_pin.as_ref()).map(|()| t))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{what} {} (bind from {}): {e}",
                        m.destination.display(),
                        source.display()
                    ),
                )
            })?;
        out.mounts.push(Some(tree));
    }
    Ok(out)
}

/// In a new or joined user namespace: become its root when it maps one, so that the
/// steps that follow act as the container's root (runc does the same).
pub fn become_root() -> io::Result<()> {
    let mapped = |file: &str| -> bool {
        std::fs::read_to_string(file)
            .map(|t| t.lines().any(|l| l.split_whitespace().next() == Some("0")))
            .unwrap_or(false)
    };
    if !mapped("/proc/self/uid_map") || !mapped("/proc/self/gid_map") {
        return Ok(());
    }
    let err = |what: &str, e: nix::errno::Errno| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("{what} 0 in the user namespace: {e}"),
        )
    };
    let (g, u) = (nix::unistd::Gid::from_raw(0), nix::unistd::Uid::from_raw(0));
    nix::unistd::setresgid(g, g, g).map_err(|e| err("setresgid", e))?;
    nix::unistd::setresuid(u, u, u).map_err(|e| err("setresuid", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn map_text_is_the_proc_format() {
        let m = [
            IdMap {
                container: 0,
                host: 100000,
                size: 65536,
            },
            IdMap {
                container: 65536,
                host: 1000,
                size: 1,
            },
        ];
        assert_eq!(map_text(&m), "0 100000 65536\n65536 1000 1\n");
        assert!(host_id_mapped(&m, 100000) && host_id_mapped(&m, 1000) && !host_id_mapped(&m, 0));
        assert!(maps_root(&m));
        assert!(!maps_root(&m[1..]));
    }

    #[test]
    fn helper_namespace_has_the_mappings() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let m = [IdMap {
            container: 0,
            host: 200000,
            size: 1000,
        }];
        let fd = helper(&m, &m).unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert!(
            link.to_string_lossy().starts_with("user:["),
            "{}",
            link.display()
        );
        // Through a bind idmapped with it, a file of host root shows as the mapped 200000.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        let o = mounts::MountOptions::parse(&["bind".into()]);
        let tree = mounts::detached_bind(dir.path(), &o, Some(fd.as_fd())).unwrap();
        let flags = nix::fcntl::AtFlags::empty();
        let st = nix::sys::stat::fstatat(Some(tree.tree.as_raw_fd()), "f", flags).unwrap();
        assert_eq!((st.st_uid, st.st_gid), (200000, 200000));
    }
}
