//! The container's cgroup: where it lives on cgroup v1, v2 and the hybrid layout (v1
//! controllers plus a cgroup2 mount at /sys/fs/cgroup/unified), creating it, joining it and
//! removing it. Limits (`linux.resources`) are applied by the isolation layer on top of this.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const CGROUP2_SUPER_MAGIC: i64 = 0x63677270;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cgroupsPath {0:?}: {1}")]
    Path(String, &'static str),
    #[error("systemd: {0}")]
    Systemd(#[from] super::systemd::SystemdError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One mounted hierarchy: where it is and what it controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// Controllers ("cpu", "memory", "name=systemd"); empty for cgroup2.
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// The hierarchies of this machine, read from a mountinfo text.
pub fn hierarchies_from(mountinfo: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or_default();
        let _source = r.next();
        let super_opts = r.next().unwrap_or_default();
        let Some(mountpoint) = left.split_whitespace().nth(4) else {
            continue;
        };
        let mountpoint = PathBuf::from(mountpoint.replace("\\040", " "));
        match fstype {
            "cgroup2" => out.push(Hierarchy {
                mountpoint,
                controllers: vec![],
                v2: true,
            }),
            "cgroup" => out.push(Hierarchy {
                mountpoint,
                controllers: super_opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                    .filter(|o| {
                        !matches!(
                            *o,
                            "clone_children" | "noprefix" | "xattr" | "cpuset_v2_mode"
                        )
                    })
                    .map(str::to_owned)
                    .collect(),
                v2: false,
            }),
            _ => {}
        }
    }
    out
}

/// The hierarchies this process should use: on a pure v2 host only /sys/fs/cgroup. Read
/// once per process (and inherited by the init, a clone whose mount namespace starts as a
/// copy): mountinfo grows with every mount of the host and is read through the kernel's
/// mount table lock, and one create would otherwise read it four times.
pub fn hierarchies() -> io::Result<Vec<Hierarchy>> {
    static LAYOUT: std::sync::OnceLock<Vec<Hierarchy>> = std::sync::OnceLock::new();
    if let Some(h) = LAYOUT.get() {
        return Ok(h.clone());
    }
    let h = read_hierarchies()?;
    Ok(LAYOUT.get_or_init(|| h).clone())
}

fn read_hierarchies() -> io::Result<Vec<Hierarchy>> {
    let st = nix::sys::statfs::statfs("/sys/fs/cgroup").map_err(io::Error::from)?;
    if st.filesystem_type().0 as i64 == CGROUP2_SUPER_MAGIC {
        return Ok(vec![Hierarchy {
            mountpoint: "/sys/fs/cgroup".into(),
            controllers: vec![],
            v2: true,
        }]);
    }
    let all = hierarchies_from(&fs::read_to_string("/proc/self/mountinfo")?);
    Ok(all
        .into_iter()
        .filter(|h| h.mountpoint.starts_with("/sys/fs/cgroup"))
        .collect())
}

pub fn is_v2_unified() -> bool {
    hierarchies()
        .map(|h| h.len() == 1 && h[0].v2)
        .unwrap_or(false)
}

/// This process's own cgroup in a hierarchy (from /proc/self/cgroup).
fn own_path(h: &Hierarchy, proc_cgroup: &str) -> PathBuf {
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("/"),
        );
        let matches = if h.v2 {
            ctrls.is_empty()
        } else {
            let set: Vec<&str> = ctrls.split(',').collect();
            h.controllers.iter().all(|c| set.contains(&c.as_str())) && !set.is_empty()
        };
        if matches {
            return PathBuf::from(path);
        }
    }
    PathBuf::from("/")
}

/// Where the container's cgroup is: one directory per hierarchy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cgroup {
    pub dirs: Vec<PathBuf>,
    /// Directories that did not exist before this container (removed if create fails).
    #[serde(default)]
    pub created: Vec<PathBuf>,
    /// With `--systemd-cgroup`: the transient scope unit that holds the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
}

/// How a new process (an init, or one `exec` starts) enters the container's cgroup without
/// the runtime writing its pid. A pid written into cgroup.procs takes the kernel's global
/// cgroup_threadgroup_rwsem for writing, which first waits for an RCU grace period: 1 to
/// 15 ms per create here, the largest single cost of `run`. So the process is born in the
/// cgroup v2 directory (clone3 with CLONE_INTO_CGROUP), and on each v1 hierarchy it
/// writes 0, meaning itself, into `tasks`: moving one thread that is the writer itself
/// needs no such lock (kernel/cgroup/cgroup.c, cgroup_procs_write_start). The process is
/// single-threaded then, so that thread is the whole process.
#[derive(Debug, Default)]
pub struct Entry {
    /// The cgroup v2 directory (pure v2, or the hybrid layout's unified one).
    pub v2: Option<(PathBuf, OwnedFd)>,
    /// Each v1 hierarchy's `tasks` file, opened for writing by the runtime.
    pub v1_tasks: Vec<(PathBuf, fs::File)>,
}

impl Entry {
    /// In the new process, before anything else: joins every v1 hierarchy. The files are
    /// closed once written.
    pub fn join_v1_self(&mut self) -> io::Result<()> {
        use std::io::Write;
        for (path, mut f) in self.v1_tasks.drain(..) {
            f.write_all(b"0")
                .map_err(|e| io::Error::new(e.kind(), format!("join {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// Copies the parent's cpuset.cpus and cpuset.mems into `dir` where `dir`'s are empty.
/// Two creators may both copy: they write the same value.
fn fill_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let file = dir.join(f);
        let cur = fs::read_to_string(&file).map_err(io_err(&file))?;
        if cur.trim().is_empty() {
            let from = parent.join(f);
            let v = fs::read_to_string(&from).map_err(io_err(&from))?;
            fs::write(&file, v.trim()).map_err(io_err(&file))?;
        }
    }
    Ok(())
}

/// Moves the process `pid` into one directory, through cgroup.procs.
pub fn join_pid(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let f = dir.join("cgroup.procs");
    fs::write(&f, pid.to_string()).map_err(io_err(&f))
}

/// Resolves `cgroupsPath` (absolute, relative to our own cgroup, or the default
/// `/palisade/<id>`) on every hierarchy.
pub fn locate(cgroups_path: Option<&Path>, id: &str) -> Result<Cgroup, CgroupError> {
    let default = PathBuf::from("/palisade").join(id);
    let wanted = cgroups_path
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(&default);
    let text = wanted.to_string_lossy().to_string();
    if wanted
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(CgroupError::Path(text, "must not contain '..'"));
    }
    if !wanted.is_absolute() && text.contains(':') {
        return Err(CgroupError::Path(
            text,
            "looks like a systemd slice:prefix:name path; pass --systemd-cgroup",
        ));
    }
    let hs = hierarchies().map_err(io_err(Path::new("/sys/fs/cgroup")))?;
    let proc_cgroup =
        fs::read_to_string("/proc/self/cgroup").map_err(io_err(Path::new("/proc/self/cgroup")))?;
    let rel: PathBuf = wanted
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::Path(text, "names the root cgroup"));
    }
    let dirs = hs
        .iter()
        .map(|h| {
            if wanted.is_absolute() {
                h.mountpoint.join(&rel)
            } else {
                let own: PathBuf = own_path(h, &proc_cgroup)
                    .components()
                    .filter(|c| matches!(c, std::path::Component::Normal(_)))
                    .collect();
                h.mountpoint.join(own).join(&rel)
            }
        })
        .collect();
    Ok(Cgroup {
        dirs,
        created: vec![],
        systemd_unit: None,
    })
}

/// With `--systemd-cgroup`: the scope's directory on every hierarchy. systemd makes it
/// when the scope starts (super::systemd::start); `create` then makes what systemd does not
/// manage (v1 controllers such as freezer or cpuset).
pub fn locate_systemd(scope: &super::systemd::Scope) -> Result<Cgroup, CgroupError> {
    let rel = super::systemd::cgroup_path(scope);
    let hs = hierarchies().map_err(io_err(Path::new("/sys/fs/cgroup")))?;
    Ok(Cgroup {
        dirs: hs.iter().map(|h| h.mountpoint.join(&rel)).collect(),
        created: vec![],
        systemd_unit: Some(scope.unit.clone()),
    })
}

impl Cgroup {
    /// Creates every directory (recording which are new), from the hierarchy's root down,
    /// and on the v1 cpuset hierarchy fills each level's empty cpuset.cpus and cpuset.mems
    /// from its parent, whether that level is new or was there before: a cpuset without
    /// CPUs or memory nodes takes no task (cpuset(7)), and one left empty by another tool,
    /// or by a creator that has not filled it yet, would otherwise fail every container
    /// beneath it. runc does the same (libcontainer/cgroups/fs/cpuset.go).
    pub fn create(&mut self) -> Result<(), CgroupError> {
        let hs = hierarchies().map_err(io_err(Path::new("/sys/fs/cgroup")))?;
        for dir in self.dirs.clone() {
            let Some(h) = hs
                .iter()
                .filter(|h| dir.starts_with(&h.mountpoint))
                .max_by_key(|h| h.mountpoint.as_os_str().len())
            else {
                return Err(io_err(&dir)(io::Error::new(
                    io::ErrorKind::NotFound,
                    "not beneath a mounted cgroup hierarchy",
                )));
            };
            let cpuset = !h.v2 && h.controllers.iter().any(|c| c == "cpuset");
            let mut cur = h.mountpoint.clone();
            for part in dir
                .strip_prefix(&h.mountpoint)
                .unwrap_or(Path::new(""))
                .components()
            {
                let parent = cur.clone();
                cur.push(part);
                match fs::create_dir(&cur) {
                    Ok(()) => self.created.push(cur.clone()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err(&cur)(e)),
                }
                if cpuset {
                    fill_cpuset(&parent, &cur)?;
                }
            }
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup on every hierarchy.
    pub fn join(&self, pid: i32) -> Result<(), CgroupError> {
        self.dirs.iter().try_for_each(|dir| join_pid(dir, pid))
    }

    /// Opens what a new process needs to enter this cgroup by itself (see [`Entry`]).
    pub fn entry(&self) -> Result<Entry, CgroupError> {
        let mut entry = Entry::default();
        for dir in &self.dirs {
            let fd: OwnedFd = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                .open(dir)
                .map_err(io_err(dir))?
                .into();
            // f_type's width differs between architectures.
            #[allow(clippy::unnecessary_cast)]
            let v2 = nix::sys::statfs::fstatfs(&fd)
                .map_err(|e| io_err(dir)(e.into()))?
                .filesystem_type()
                .0 as i64
                == CGROUP2_SUPER_MAGIC;
            if v2 {
                entry.v2 = Some((dir.clone(), fd));
            } else {
                let tasks = dir.join("tasks");
                let f = fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(&tasks)
                    .map_err(io_err(&tasks))?;
                entry.v1_tasks.push((tasks, f));
            }
        }
        Ok(entry)
    }

    /// linux.resources.devices on the v1 devices controller, in order (devices.deny "a"
    /// first when the spec starts with a deny-all). cgroup v2 uses isolate::devfilter.
    pub fn apply_devices_v1(&self, rules: &[crate::spec::DeviceRule]) -> Result<(), CgroupError> {
        if rules.is_empty() {
            return Ok(());
        }
        let dir = self
            .dirs
            .iter()
            .find(|d| d.starts_with("/sys/fs/cgroup/devices"))
            .ok_or_else(|| {
                CgroupError::Path("devices".into(), "no v1 devices controller is mounted")
            })?;
        for r in rules {
            let file = dir.join(if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            });
            fs::write(&file, r.v1_line()).map_err(io_err(&file))?;
        }
        Ok(())
    }

    /// Freezes or thaws every process of the cgroup (v1 freezer.state, v2 cgroup.freeze)
    /// and waits until the kernel reports it done.
    pub fn freeze(&self, on: bool) -> Result<(), CgroupError> {
        let (file, value, done): (PathBuf, &str, fn(&str) -> bool) = if is_v2_unified() {
            let dir = self
                .dirs
                .first()
                .ok_or_else(|| CgroupError::Path(String::new(), "no cgroup"))?;
            if on {
                (dir.join("cgroup.freeze"), "1", |ev| {
                    ev.lines().any(|l| l == "frozen 1")
                })
            } else {
                (dir.join("cgroup.freeze"), "0", |ev| {
                    ev.lines().any(|l| l == "frozen 0")
                })
            }
        } else {
            let dir = self
                .dirs
                .iter()
                .find(|d| d.starts_with("/sys/fs/cgroup/freezer"))
                .ok_or_else(|| {
                    CgroupError::Path("freezer".into(), "no v1 freezer controller is mounted")
                })?;
            if on {
                (dir.join("freezer.state"), "FROZEN", |s| {
                    s.trim() == "FROZEN"
                })
            } else {
                (dir.join("freezer.state"), "THAWED", |s| {
                    s.trim() == "THAWED"
                })
            }
        };
        fs::write(&file, value).map_err(io_err(&file))?;
        let check = if file.ends_with("cgroup.freeze") {
            file.with_file_name("cgroup.events")
        } else {
            file.clone()
        };
        for _ in 0..2000 {
            if done(&fs::read_to_string(&check).map_err(io_err(&check))?) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(CgroupError::Io {
            path: check,
            source: io::Error::from(io::ErrorKind::TimedOut),
        })
    }

    /// Whether the cgroup is frozen.
    pub fn frozen(&self) -> bool {
        if is_v2_unified() {
            return self
                .dirs
                .first()
                .and_then(|d| fs::read_to_string(d.join("cgroup.events")).ok())
                .is_some_and(|ev| ev.lines().any(|l| l == "frozen 1"));
        }
        self.dirs
            .iter()
            .find(|d| d.starts_with("/sys/fs/cgroup/freezer"))
            .and_then(|d| fs::read_to_string(d.join("freezer.state")).ok())
            .is_some_and(|s| s.trim() == "FROZEN")
    }

    /// Every pid in the cgroup (from the first hierarchy that lists any).
    pub fn pids(&self) -> Vec<i32> {
        for dir in &self.dirs {
            if let Ok(t) = fs::read_to_string(dir.join("cgroup.procs")) {
                let v: Vec<i32> = t.lines().filter_map(|l| l.trim().parse().ok()).collect();
                if !v.is_empty() {
                    return v;
                }
            }
        }
        vec![]
    }

    /// Removes the leaf directories (and, after a failed create, the parents made for it).
    /// Exiting tasks can keep a cgroup busy for a moment, so EBUSY is retried briefly.
    pub fn remove(&self, with_created_parents: bool) -> Result<(), CgroupError> {
        if let Some(unit) = &self.systemd_unit {
            // systemd removes the scope's own directories; the rmdirs below then find them
            // gone, or remove them first, which systemd tolerates.
            if let Err(e) = super::systemd::stop(unit) {
                tracing::warn!("stop {unit}: {e}");
            }
        }
        let mut targets: Vec<PathBuf> = self.dirs.clone();
        if with_created_parents {
            targets.extend(self.created.iter().cloned());
        }
        targets.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        targets.dedup();
        for d in targets {
            let mut tries = 0;
            loop {
                match fs::remove_dir(&d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e) => return Err(io_err(&d)(e)),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    #[test]
    fn reads_hybrid_layout() {
        let h = hierarchies_from(HYBRID);
        assert_eq!(h.len(), 4);
        assert_eq!(h[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h[2].controllers, vec!["name=systemd"]);
        assert!(h[3].v2);
    }

    #[test]
    fn own_path_matches_controller_sets() {
        let h = hierarchies_from(HYBRID);
        let pc = "4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n9:name=systemd:/\n0::/u\n";
        assert_eq!(own_path(&h[1], pc), PathBuf::from("/process_api/abc"));
        assert_eq!(own_path(&h[0], pc), PathBuf::from("/x"));
        assert_eq!(own_path(&h[3], pc), PathBuf::from("/u"));
    }
}
