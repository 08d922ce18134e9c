//! What the container will reach of the host and of the kernel, derived once from the
//! [`Plan`]: the one model every rule reads, so that two spellings of one effect get one
//! verdict. A namespace is new, the host's (however its path is spelled), another's, or
//! absent; a mount is a bind of host paths, a cgroup view, or a filesystem of a type, at a
//! place, writable or not; devices are what the rules grant on cgroup v1 and v2 alike;
//! seccomp is the filter's verdict per syscall; hooks are host programs run as root.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::host::Host;
use crate::spec::devices::{self, Grants};
use crate::spec::{Hook, Mount, MountKind, NsKind, Plan};

/// Where a namespace of one kind comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsReach {
    /// Made for the container.
    New,
    /// Joined by a path that leads to another namespace than the host's (a pod's).
    Other(PathBuf),
    /// The host's: left out of linux.namespaces, or joined by a path that leads to the
    /// host's own (/proc/1/ns/*, /proc/self/ns/*, a host process's, a bind of one).
    Host(String),
    /// Joined by a path that cannot be compared with the host's.
    Unknown(String),
}

/// One mount entry as the init will make it.
#[derive(Debug)]
pub struct MountReach<'a> {
    pub index: usize,
    pub mount: &'a Mount,
    pub kind: MountKind,
    pub writable: bool,
    /// Host paths the mount exposes, canonical, each with the role that names it ("bind",
    /// "lowerdir", "upperdir", "workdir", ...).
    pub host_paths: Vec<(&'static str, PathBuf)>,
    /// A spelling the model cannot read for certain (refused by the rules that care).
    pub unreadable: Option<String>,
}

impl MountReach<'_> {
    /// "proc at /p", "bind of /srv at /data", for details.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            MountKind::Bind => "bind".to_owned(),
            MountKind::Cgroup => "cgroup".to_owned(),
            MountKind::Cgroup2 => "cgroup2".to_owned(),
            MountKind::Filesystem => self.mount.typ.clone(),
        };
        format!(
            "mounts[{}] ({what} at {})",
            self.index,
            self.mount.destination.display()
        )
    }
}

/// A hook: a host program that palisade runs as root, outside every container layer.
#[derive(Debug)]
pub struct HookReach<'a> {
    /// runtime-spec name of the hook list ("prestart", "createRuntime", ...).
    pub kind: &'static str,
    pub index: usize,
    pub hook: &'a Hook,
    /// The program the path leads to on the host now.
    pub program: PathBuf,
    /// Given as /proc/PID/exe: the program of a running process (Docker's prestart hook).
    pub via_process: bool,
    /// For /proc/PID/exe: the (device, inode) of the program that process runs, when the
    /// process is in the host's mount namespace (a name is only a name: any process can
    /// run a file called /usr/bin/dockerd in a namespace of its own).
    pub process_program: Option<(u64, u64)>,
}

/// The filter's verdict per syscall, computed from its rules the way palisade compiles
/// them (isolate::seccomp): a name libseccomp does not know matches nothing, a rule whose
/// action equals the default changes nothing, and a rule with argument conditions lets
/// its action happen for some calls.
#[derive(Debug)]
pub struct SeccompModel<'a> {
    pub default_action: String,
    pub default_permissive: bool,
    /// Per syscall name, each rule naming it: (permissive, conditions).
    by_name: HashMap<&'a str, Vec<(bool, &'a [oci_spec::runtime::LinuxSeccompArg])>>,
}

/// Actions after which the syscall runs: allowed, logged, or left to a tracer or a
/// user-notification listener to decide (a tracer or listener can let it through).
pub fn permissive(action: &str) -> bool {
    !matches!(
        action,
        "SCMP_ACT_ERRNO"
            | "SCMP_ACT_KILL"
            | "SCMP_ACT_KILL_PROCESS"
            | "SCMP_ACT_KILL_THREAD"
            | "SCMP_ACT_TRAP"
    )
}

pub fn action_name<T: serde::Serialize>(a: &T) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The CLONE_NEW* flags clone(2) takes (CLONE_NEWTIME only through clone3 and unshare).
pub const CLONE_NEW_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

impl<'a> SeccompModel<'a> {
    fn of(s: &'a oci_spec::runtime::LinuxSeccomp) -> SeccompModel<'a> {
        let default_action = action_name(&s.default_action());
        let mut by_name: HashMap<&str, Vec<_>> = HashMap::new();
        for r in s.syscalls().iter().flatten() {
            let p = permissive(&action_name(&r.action()));
            let args: &[_] = r.args().as_deref().unwrap_or_default();
            for n in r.names() {
                by_name.entry(n.as_str()).or_default().push((p, args));
            }
        }
        SeccompModel {
            default_permissive: permissive(&default_action),
            default_action,
            by_name,
        }
    }

    /// Whether some call of `name` runs. Names are compared as libseccomp does, exactly:
    /// a misspelled or unknown name in a rule matches nothing.
    pub fn permits(&self, name: &str) -> bool {
        let rules = self
            .by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        rules.iter().any(|(p, _)| *p)
            || (self.default_permissive && !rules.iter().any(|(p, args)| !p && args.is_empty()))
    }

    /// Whether clone(2) can make namespaces: the other spelling of unshare(2). It cannot
    /// when every rule that lets clone run requires (flags & mask) == value with the mask
    /// covering every CLONE_NEW* flag and the value none (Docker's and palisade's default
    /// filters do this), or flags == a value without them.
    pub fn clone_makes_namespaces(&self) -> bool {
        use oci_spec::runtime::LinuxSeccompOperator as Op;
        let rules = self
            .by_name
            .get("clone")
            .map(Vec::as_slice)
            .unwrap_or_default();
        if self.default_permissive {
            return !rules.iter().any(|(p, args)| !p && args.is_empty());
        }
        // Or an exact flags word without them (a learned filter's rules).
        let safe = |a: &oci_spec::runtime::LinuxSeccompArg| {
            a.index() == 0
                && ((a.op() == Op::ScmpCmpMaskedEq
                    && a.value() & CLONE_NEW_FLAGS == CLONE_NEW_FLAGS
                    && a.value_two().unwrap_or(0) & CLONE_NEW_FLAGS == 0)
                    // (not on s390x, whose clone takes the stack first, the flags second)
                    || (a.op() == Op::ScmpCmpEq
                        && a.value() & CLONE_NEW_FLAGS == 0
                        && !cfg!(target_arch = "s390x")))
        };
        rules.iter().filter(|(p, _)| *p).any(|(_, args)| {
            let mut seen = std::collections::HashSet::new();
            let distinct = args.iter().all(|a| seen.insert(a.index()));
            // Conditions on distinct arguments hold together; a repeated index makes each
            // condition a rule of its own (isolate::seccomp, as runc does).
            let guarded = if distinct {
                args.iter().any(safe)
            } else {
                args.iter().all(safe)
            };
            !guarded
        })
    }
}

/// Everything the rules judge.
pub struct Exposure<'a> {
    pub plan: &'a Plan,
    /// Every namespace kind, in NsKind::ALL order.
    pub namespaces: Vec<(NsKind, NsReach)>,
    pub mounts: Vec<MountReach<'a>>,
    pub devices: Grants<'a>,
    pub seccomp: Option<SeccompModel<'a>>,
    pub hooks: Vec<HookReach<'a>>,
    /// The bundle directory, canonical on the host.
    pub bundle: PathBuf,
    /// The memory and pids limits the cgroup will hold: linux.resources.memory.limit and
    /// pids.limit, unless linux.resources.unified writes memory.max or pids.max after them.
    pub memory_limit: Option<i64>,
    pub pids_limit: Option<i64>,
    /// The host's keyrings the container reaches: what shares them, when some keyring call
    /// ([`KEYRING_CALLS`]) gets through the filter.
    pub keyrings: Vec<String>,
    /// The keyring calls the filter lets run (all of them without a filter).
    pub keyring_calls: Vec<&'static str>,
}

/// Host uids below this are the host's own accounts; subordinate ranges (subuid(5),
/// Kubernetes' user-namespace pods) start at or above it.
pub const HOST_ACCOUNTS: u32 = 65536;

/// The calls that reach keyrings: keyctl(2) (KEY_SPEC_USER_KEYRING, KEYCTL_JOIN_SESSION_KEYRING
/// by name, KEYCTL_SEARCH), add_key(2) and request_key(2) into the user keyring.
pub const KEYRING_CALLS: [&str; 3] = ["keyctl", "add_key", "request_key"];

/// keyrings(7): the kernel keeps one user and one user-session keyring per uid per user
/// namespace, so a container without a user namespace of its own shares those of its uids
/// with the host; and without a session keyring of its own it keeps the caller's.
fn keyrings(plan: &Plan, user: &NsReach, calls: &[&str], host: &dyn Host) -> Vec<String> {
    if calls.is_empty() {
        return vec![];
    }
    let mut out = vec![];
    // A user namespace of the container's own keeps the host's keyrings out only where it
    // maps no host account: key permissions compare host uids, and the host's uid 0 or
    // uid 1000 keyrings are theirs by serial number from any namespace.
    let accounts = |maps: &[crate::spec::IdMap]| {
        maps.iter().find(|m| m.host < HOST_ACCOUNTS).map(|m| {
            format!(
                "the user namespace maps container uid {} to host uid {}, a host account's, whose keyrings the kernel checks by host uid",
                m.container, m.host
            )
        })
    };
    let mapped = match user {
        NsReach::New => accounts(&plan.uid_mappings),
        NsReach::Other(p) => match plan
            .namespace(NsKind::User)
            .and_then(|ns| host.joined_uid_map(ns))
        {
            Some(m) => accounts(&m),
            None => Some(format!(
                "the uid map of the user namespace joined at {} cannot be read",
                p.display()
            )),
        },
        _ => None,
    };
    let shared = match user {
        NsReach::New | NsReach::Other(_) => mapped.as_ref(),
        NsReach::Host(why) | NsReach::Unknown(why) => Some(why),
    };
    if let Some(why) = shared {
        out.push(format!(
            "{} let the container's uids (process.user.uid {}, and any uid it can become) reach the host's per-uid user and user-session keyrings ({why})",
            calls.join(", "),
            plan.process.uid
        ));
    }
    if !plan.new_session_keyring {
        out.push(format!(
            "{} reach the caller's session keyring, which --no-new-keyring leaves to the container",
            calls.join(", ")
        ));
    }
    out
}

/// The limit `field` (a pointer into linux.resources) sets, or the cgroup v2 file `file`
/// of linux.resources.unified, which is written after it ("max": no limit). Zero or less
/// is no limit.
fn limit(plan: &Plan, field: &str, file: &str) -> Option<i64> {
    let r = plan.resources.as_ref()?;
    let unified = r.unified().as_ref().and_then(|u| u.get(file));
    let v = match unified {
        Some(v) => v.trim().parse::<i64>().ok(),
        None => serde_json::to_value(r)
            .ok()
            .and_then(|v| v.pointer(field).and_then(|x| x.as_i64())),
    };
    v.filter(|v| *v > 0)
}

impl<'a> Exposure<'a> {
    pub fn of(plan: &'a Plan, host: &dyn Host) -> Exposure<'a> {
        let namespaces: Vec<(NsKind, NsReach)> = NsKind::ALL
            .iter()
            .map(|k| (*k, namespace(plan, *k, host)))
            .collect();
        let seccomp = plan.seccomp.as_ref().map(SeccompModel::of);
        let keyring_calls: Vec<&'static str> = KEYRING_CALLS
            .into_iter()
            .filter(|c| seccomp.as_ref().is_none_or(|s| s.permits(c)))
            .collect();
        let user = &namespaces
            .iter()
            .find(|(k, _)| *k == NsKind::User)
            .expect("every kind is modelled")
            .1;
        let keyrings = keyrings(plan, user, &keyring_calls, host);
        Exposure {
            plan,
            namespaces,
            mounts: plan
                .mounts
                .iter()
                .enumerate()
                .map(|(i, m)| mount(plan, i, m, host))
                .collect(),
            devices: devices::grants(&plan.device_rules),
            seccomp,
            hooks: hooks(plan, host),
            bundle: host.canonical(&plan.bundle),
            memory_limit: limit(plan, "/memory/limit", "memory.max"),
            pids_limit: limit(plan, "/pids/limit", "pids.max"),
            keyrings,
            keyring_calls,
        }
    }

    pub fn namespace(&self, kind: NsKind) -> &NsReach {
        &self
            .namespaces
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every kind is modelled")
            .1
    }
}

fn namespace(plan: &Plan, kind: NsKind, host: &dyn Host) -> NsReach {
    let name = kind.spec_name();
    let Some(ns) = plan.namespace(kind) else {
        return NsReach::Host(format!(
            "linux.namespaces has no {name} namespace: the container shares the host's"
        ));
    };
    let Some(p) = &ns.path else {
        return NsReach::New;
    };
    // The identity the plan recorded is the one the init checks when it joins; one read
    // now would not be checked (spec::Namespace::identity).
    let theirs = ns
        .identity
        .or_else(|| (!host.plan_pins_only()).then(|| host.ns_id(p)).flatten());
    let ours = host.host_ns(kind);
    match theirs {
        None => NsReach::Unknown(format!(
            "the {name} namespace at {} cannot be read, so it cannot be shown not to be the host's",
            p.display()
        )),
        Some(_) if ours.is_empty() => NsReach::Unknown(format!(
            "the host's {name} namespace cannot be read to compare with {}",
            p.display()
        )),
        Some(id) if ours.contains(&id) => NsReach::Host(format!(
            "the {name} namespace at {} is the host's own",
            p.display()
        )),
        Some(_) => NsReach::Other(p.clone()),
    }
}

fn mount<'a>(plan: &Plan, index: usize, m: &'a Mount, host: &dyn Host) -> MountReach<'a> {
    let kind = m.kind();
    let mut host_paths = vec![];
    let mut unreadable = None;
    match kind {
        MountKind::Bind => {
            // The pinned path is the one the mount step will check the source against. A
            // source that cannot be opened now cannot be judged: it may come to lead
            // anywhere (rootfs/proc/self/root, once proc is mounted there, is the host's /).
            let src = m.source.as_deref().unwrap_or(Path::new(""));
            let pin = m
                .source_pin
                .clone()
                .or_else(|| (!host.plan_pins_only()).then(|| host.pin(src)).flatten());
            match pin {
                Some(pin) => host_paths.push(("bind", pin.path)),
                None => {
                    unreadable = Some(format!(
                        "its source {} cannot be opened on the host now",
                        src.display()
                    ))
                }
            }
        }
        MountKind::Filesystem if m.typ == "overlay" => match m.overlay_dirs() {
            Ok(dirs) => {
                let root = host.canonical(&plan.rootfs);
                for (k, d) in dirs {
                    match host.pin(&d) {
                        // The root filesystem is the image's, and the container's mounts
                        // land there first: a path in it may lead anywhere by mount time.
                        Some(pin) if pin.path.starts_with(&root) => {
                            unreadable =
                                Some(format!("{k} {} lies in the root filesystem", d.display()))
                        }
                        Some(pin) => host_paths.push((k, pin.path)),
                        None => {
                            unreadable = Some(format!(
                                "{k} {} cannot be opened on the host now",
                                d.display()
                            ))
                        }
                    }
                }
            }
            Err(e) => unreadable = Some(e),
        },
        _ => {}
    }
    MountReach {
        index,
        mount: m,
        kind,
        writable: !m.is_readonly(),
        host_paths,
        unreadable,
    }
}

fn hooks<'a>(plan: &'a Plan, host: &dyn Host) -> Vec<HookReach<'a>> {
    let mut out = vec![];
    for (kind, list) in plan.hooks.by_kind() {
        for (index, hook) in list.iter().enumerate() {
            let via_process = proc_exe(&hook.path);
            let program = via_process
                .then(|| std::fs::read_link(&hook.path).ok())
                .flatten()
                .unwrap_or_else(|| host.canonical(&hook.path));
            let process_program = via_process
                .then(|| {
                    let ns = hook.path.with_file_name("ns").join("mnt");
                    let host_mnt = host.host_ns(crate::spec::NsKind::Mount);
                    host.ns_id(&ns)
                        .filter(|id| host_mnt.contains(id))
                        .and(host.ns_id(&hook.path))
                })
                .flatten();
            out.push(HookReach {
                kind,
                index,
                hook,
                program,
                via_process,
                process_program,
            });
        }
    }
    out
}

/// /proc/PID/exe and /proc/self/exe.
fn proc_exe(p: &Path) -> bool {
    let c: Vec<_> = p.components().collect();
    c.len() == 4
        && c[1].as_os_str() == "proc"
        && c[3].as_os_str() == "exe"
        && c[2]
            .as_os_str()
            .to_str()
            .is_some_and(|s| s == "self" || s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_exe_spellings() {
        assert!(proc_exe(Path::new("/proc/123/exe")));
        assert!(proc_exe(Path::new("/proc/self/exe")));
        assert!(proc_exe(Path::new("//proc/123/./exe")));
        assert!(!proc_exe(Path::new("/proc/123/root/exe")));
        assert!(!proc_exe(Path::new("/usr/bin/exe")));
    }
}
