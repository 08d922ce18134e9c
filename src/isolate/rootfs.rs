//! The container's root filesystem: propagation, the rootfs bind, every mount of the spec,
//! device nodes, pivot_root, masked and read-only paths (runtime-spec config.md#root,
//! #mounts; config-linux.md#rootfs-mount-propagation, #masked-paths, #readonly-paths).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::cgroups::Cgroup;
use super::devices;
use super::mounts::{self, MountOptions};
use super::resolve;
use super::userns::Idmapped;
use crate::spec::{Mount, MountKind, Plan};
use crate::sys;

fn ctx(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Init step "rootfs": everything up to (not including) pivot_root. Returns the rootfs fd.
pub fn prepare(plan: &Plan, cgroup: &Cgroup, idmapped: &Idmapped) -> io::Result<OwnedFd> {
    // Our mounts must never propagate back to the host: make "/" slave (or what the spec
    // asks) in this new mount namespace first.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        plan.rootfs_propagation,
        None::<&str>,
    )
    .map_err(io::Error::from)
    .map_err(ctx("set propagation of /"))?;
    if plan.rootfs_propagation.contains(MsFlags::MS_SHARED) {
        make_parent_private(&plan.rootfs).map_err(ctx("make the rootfs parent mount private"))?;
    }
    match &idmapped.rootfs {
        // The idmapped copy the runtime made goes onto the rootfs directory itself.
        Some(tree) => resolve::open_path(&plan.rootfs)
            .and_then(|dir| sys::move_mount_fd(tree.tree.as_fd(), dir.as_fd()))
            .map_err(ctx(format!("idmapped rootfs {}", plan.rootfs.display())))?,
        None => mount(
            Some(&plan.rootfs),
            &plan.rootfs,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(io::Error::from)
        .map_err(ctx(format!("bind rootfs {}", plan.rootfs.display())))?,
    }
    let root = resolve::open_root(&plan.rootfs)
        .map_err(ctx(format!("open rootfs {}", plan.rootfs.display())))?;
    if let Some(pin) = &plan.rootfs_pin {
        let st = nix::sys::stat::fstat(root.as_raw_fd()).map_err(io::Error::from)?;
        if (st.st_dev, st.st_ino) != pin.id {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "rootfs {} is no longer the directory the config was checked with",
                    plan.rootfs.display()
                ),
            ));
        }
    }

    let mut has_dev_bind = false;
    let mut has_devpts = false;
    for (i, m) in plan.mounts.iter().enumerate() {
        let res = match idmapped.mounts.get(i).and_then(|t| t.as_ref()) {
            Some(tree) => mounts::attach(root.as_fd(), tree, &m.destination, &m.options),
            None => mount_one(root.as_fd(), m, cgroup),
        };
        res.map_err(|e| {
            ctx(format_args!(
                "mount {} ({} from {})",
                m.destination.display(),
                if m.is_bind() { "bind" } else { m.typ.as_str() },
                m.source.as_deref().unwrap_or(Path::new("none")).display()
            ))(e)
        })?;
        has_dev_bind |= m.destination == Path::new("/dev") && m.is_bind();
        has_devpts |= m.destination == Path::new("/dev/pts") && m.typ == "devpts";
    }
    // A /dev bound from the host already has its nodes (runc: needsSetupDev).
    if !has_dev_bind {
        // A default the config lists itself is made once, as the config says.
        for d in devices::defaults()
            .iter()
            .filter(|d| !plan.devices.iter().any(|c| c.path == d.path))
        {
            devices::create(root.as_fd(), d, devices::Existing::Replace)
                .map_err(ctx(format!("create device {}", d.path.display())))?;
        }
    }
    for d in &plan.devices {
        devices::create(root.as_fd(), d, devices::Existing::Refuse)
            .map_err(ctx(format!("create device {}", d.path.display())))?;
    }
    if !has_dev_bind {
        devices::symlinks(root.as_fd(), has_devpts).map_err(ctx("create /dev symlinks"))?;
    }
    Ok(root)
}

fn mount_one(root: BorrowedFd<'_>, m: &Mount, cgroup: &Cgroup) -> io::Result<()> {
    // Mount::kind is the one reading of a mount entry, which the policy reads too.
    match m.kind() {
        MountKind::Cgroup => return cgroup_mount(root, m, cgroup),
        MountKind::Cgroup2 => return cgroup2_mount(root, m, cgroup),
        // The runtime makes every bind before the init exists (userns::idmapped); this arm
        // serves only a bind it did not prepare, with the same check.
        MountKind::Bind => {
            let source = m
                .source
                .as_deref()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
            return mounts::bind_pinned(
                root,
                source,
                m.source_pin.as_ref(),
                &m.destination,
                &m.options,
            );
        }
        MountKind::Filesystem if m.typ == "tmpfs" => return tmpfs(root, m),
        MountKind::Filesystem => {}
    }
    let made = mounts::filesystem(
        root,
        &m.typ,
        m.source.as_deref(),
        &m.destination,
        &m.options,
    );
    match made {
        // A sysfs belongs to the network namespace: from a user namespace that does not own
        // that one (a network namespace joined by path), the kernel refuses a new sysfs.
        // runc and crun bind the /sys we have instead; here read-only on the whole tree.
        Err(e) if m.typ == "sysfs" && e.raw_os_error() == Some(libc::EPERM) => {
            let o = MountOptions::parse(&[
                "rbind".into(),
                "rro".into(),
                "rnosuid".into(),
                "rnodev".into(),
                "rnoexec".into(),
            ]);
            mounts::bind(root, Path::new("/sys"), &m.destination, &o)
        }
        // devpts's gid=5 names a group the user namespace may not map (EINVAL, EOVERFLOW):
        // runc mounts it again without the gid option, and so does palisade.
        Err(e)
            if m.typ == "devpts"
                && matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EOVERFLOW))
                && m.options.data.iter().any(|d| d.starts_with("gid=")) =>
        {
            let mut o = m.options.clone();
            o.data.retain(|d| !d.starts_with("gid="));
            mounts::filesystem(root, &m.typ, m.source.as_deref(), &m.destination, &o)
        }
        r => r,
    }
}

/// A tmpfs over a directory of the image gets that directory's mode unless its options
/// give one (runc since its PR 3912: `mode=` of the directory before the options, the
/// later option winning; a tmpfs's own default is 1777), and with `tmpcopyup` a copy of
/// the directory's contents. The directory is opened before the tmpfs covers it; the copy
/// goes through descriptors only (isolate::copyup).
fn tmpfs(root: BorrowedFd<'_>, m: &Mount) -> io::Result<()> {
    let copy_up = m.options.data.iter().any(|d| d == "tmpcopyup");
    let dir = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let below = match resolve::open_in_root_with(root, &m.destination, dir) {
        Ok(fd) => Some(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
        // Not a directory: the mount itself says why.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => None,
        Err(e) => return Err(e),
    };
    let mut o = m.options.clone();
    if let Some(fd) = &below {
        if !o.data.iter().any(|d| d.starts_with("mode=")) {
            let st = nix::sys::stat::fstat(fd.as_raw_fd())?;
            o.data.insert(0, format!("mode={:o}", st.st_mode & 0o7777));
        }
    }
    // Copied into while writable, made read-only after.
    let readonly = copy_up && below.is_some() && o.flags.contains(MsFlags::MS_RDONLY);
    if readonly {
        o.flags -= MsFlags::MS_RDONLY;
    }
    mounts::filesystem(root, "tmpfs", m.source.as_deref(), &m.destination, &o)?;
    let (Some(below), true) = (below, copy_up) else {
        return Ok(());
    };
    let top = resolve::open_in_root_with(root, &m.destination, dir)?;
    super::copyup::copy_dir(&below, &top)?;
    if readonly {
        let ro = MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | (o.flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC));
        nix::mount::mount(
            None::<&Path>,
            &resolve::fd_path(top.as_fd()),
            None::<&str>,
            ro,
            None::<&str>,
        )?;
    }
    Ok(())
}

/// `type: cgroup`: the container's own cgroup directories, read-only as the spec asks,
/// under a tmpfs on v1/hybrid (one directory per hierarchy) or directly on v2.
fn cgroup_mount(root: BorrowedFd<'_>, m: &Mount, cgroup: &Cgroup) -> io::Result<()> {
    let mut bind_opts = m.options.clone();
    bind_opts.flags |= MsFlags::MS_BIND;
    bind_opts.data.clear();
    let base = Path::new("/sys/fs/cgroup");
    if cgroup.dirs.len() == 1 && cgroup.dirs[0].parent() == Some(base)
        || super::cgroups::is_v2_unified()
    {
        return mounts::bind(root, &cgroup.dirs[0], &m.destination, &bind_opts);
    }
    let mut tmpfs = MountOptions::parse(&[
        "nosuid".into(),
        "nodev".into(),
        "noexec".into(),
        "mode=755".into(),
    ]);
    tmpfs.flags -= MsFlags::MS_RDONLY;
    mounts::filesystem(
        root,
        "tmpfs",
        Some(Path::new("tmpfs")),
        &m.destination,
        &tmpfs,
    )?;
    for dir in &cgroup.dirs {
        let Some(name) = dir
            .strip_prefix(base)
            .ok()
            .and_then(|r| r.components().next())
        else {
            continue;
        };
        mounts::bind(root, dir, &m.destination.join(name.as_os_str()), &bind_opts)?;
    }
    if m.options.flags.contains(MsFlags::MS_RDONLY) {
        let fd = resolve::open_in_root(root, &m.destination)?;
        sys::mount_setattr(fd.as_fd(), false, sys::MOUNT_ATTR_RDONLY, 0, 0)?;
    }
    Ok(())
}

/// `type: cgroup2`: the container's own directory of the unified hierarchy (the whole
/// host hierarchy would show every other cgroup of the machine).
fn cgroup2_mount(root: BorrowedFd<'_>, m: &Mount, cgroup: &Cgroup) -> io::Result<()> {
    let unified = if super::cgroups::is_v2_unified() {
        cgroup.dirs.first()
    } else {
        cgroup
            .dirs
            .iter()
            .find(|d| d.starts_with("/sys/fs/cgroup/unified"))
    };
    let unified = unified.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "this host has no cgroup2 hierarchy",
        )
    })?;
    let mut bind_opts = m.options.clone();
    bind_opts.flags |= MsFlags::MS_BIND;
    bind_opts.data.clear();
    mounts::bind(root, unified, &m.destination, &bind_opts)
}

/// pivot_root(2) fails when the new root's parent mount is shared; with a shared
/// rootfsPropagation the parent of the rootfs is made private (runc does the same).
fn make_parent_private(rootfs: &Path) -> io::Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let mut best: Option<PathBuf> = None;
    for line in info.lines() {
        let Some(mp) = line.split_whitespace().nth(4) else {
            continue;
        };
        let mp = PathBuf::from(mp);
        if rootfs.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|b| mp.components().count() > b.components().count())
        {
            best = Some(mp);
        }
    }
    let parent = best.unwrap_or_else(|| PathBuf::from("/"));
    mount(
        None::<&str>,
        &parent,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// Init step "pivot_root": the rootfs becomes "/", the old root is detached. With
/// `--no-pivot`, MS_MOVE + chroot instead (weaker: the old root stays reachable to a
/// process that can escape the chroot).
pub fn pivot(root: OwnedFd, no_pivot: bool) -> io::Result<()> {
    use nix::unistd::{chdir, chroot, fchdir};
    // Into the directory the rootfs step opened and checked, by its descriptor.
    fchdir(root.as_raw_fd())?;
    if no_pivot {
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)?;
        chroot(".")?;
        chdir("/")?;
        return Ok(());
    }
    let old = std::fs::File::open("/")?;
    // pivot_root(".", ".") stacks the old root on top of the new one (pivot_root(2) NOTES).
    sys::pivot_root(Path::new("."), Path::new(".")).map_err(ctx("pivot_root"))?;
    fchdir(old.as_raw_fd())?;
    // Keep the unmount from propagating to the host.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(io::Error::from)
        .map_err(ctx("detach old root"))?;
    chdir("/")?;
    Ok(())
}

/// The container's /dev/null, verified to be the null device before it is used as the
/// source of masks: a symlink or another file there must not be mounted over a masked path
/// (CVE-2025-31133). The verified descriptor itself is cloned, so nothing can be swapped in
/// between the check and the mount.
fn verified_dev_null(root: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let fd = sys::openat2(
        root,
        Path::new("dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        sys::RESOLVE_NO_SYMLINKS,
    )
    .map_err(ctx("open /dev/null without following symlinks"))?;
    let st = nix::sys::stat::fstat(fd.as_raw_fd())?;
    let null = nix::sys::stat::makedev(1, 3);
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != null {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "/dev/null in the container is not the null device (CVE-2025-31133)",
        ));
    }
    Ok(fd)
}

/// Init step "paths": maskedPaths (files covered by /dev/null, directories by an empty
/// read-only tmpfs), readonlyPaths (recursive read-only binds onto themselves), then a
/// read-only root when `root.readonly` is set.
pub fn mask_and_lock(plan: &Plan) -> io::Result<()> {
    let root = resolve::open_root(Path::new("/"))?;
    let mut devnull: Option<OwnedFd> = None;
    for p in &plan.masked_paths {
        let target = match resolve::open_in_root(root.as_fd(), p) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(ctx(format!("maskedPaths {}", p.display()))(e)),
        };
        let is_dir =
            nix::sys::stat::fstat(target.as_raw_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let res = if is_dir {
            let o = MountOptions::parse(&[
                "ro".into(),
                "nosuid".into(),
                "nodev".into(),
                "noexec".into(),
                "size=0".into(),
            ]);
            let tmpfs = Some(Path::new("tmpfs"));
            mounts::filesystem_onto(root.as_fd(), target.as_fd(), "tmpfs", tmpfs, p, &o)
        } else {
            if devnull.is_none() {
                devnull = Some(verified_dev_null(root.as_fd())?);
            }
            let src = devnull.as_ref().map(|d| d.as_fd()).expect("set above");
            sys::open_tree_fd(src, false).and_then(|tree| {
                sys::mount_setattr(tree.as_fd(), false, sys::MOUNT_ATTR_RDONLY, 0, 0)?;
                sys::move_mount_fd(tree.as_fd(), target.as_fd())
            })
        };
        res.map_err(ctx(format!("maskedPaths {}", p.display())))?;
    }
    for p in &plan.readonly_paths {
        let target = match resolve::open_in_root(root.as_fd(), p) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(ctx(format!("readonlyPaths {}", p.display()))(e)),
        };
        sys::open_tree_fd(target.as_fd(), true)
            .and_then(|tree| {
                sys::mount_setattr(tree.as_fd(), true, sys::MOUNT_ATTR_RDONLY, 0, 0)?;
                sys::move_mount_fd(tree.as_fd(), target.as_fd())
            })
            .map_err(ctx(format!("readonlyPaths {}", p.display())))?;
    }
    if plan.rootfs_readonly {
        // Only the root mount itself, as runc does: mounts below keep their own modes.
        sys::mount_setattr(root.as_fd(), false, sys::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(ctx("make / read-only"))?;
    }
    Ok(())
}
