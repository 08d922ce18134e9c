//! The rule catalog: every rule palisade can enforce, with a stable id, what it checks in
//! OCI terms, why (Kubernetes Pod Security Standards, CIS Docker Benchmark v1.7.0 section 5,
//! NIST SP 800-190), how to fix it, and a check over the [`Plan`]. A rule that can be
//! hardened without surprising the workload has a `remedy` that edits the OCI document; a
//! `fill` fixes what only a new config may change (`spec --profile`).
//!
//! profiles/RULES.md is generated from this table (`palisade profile reference`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::exposure::{self, Exposure, MountReach, NsReach};
use super::host::{clean, Host};
use super::{Scope, Severity};
use crate::spec::devices::{Grants, ACC_READ, ACC_WRITE};
use crate::spec::landlock::{fs_access, net_access, Right};
use crate::spec::mount_options::MountOptions;
use crate::spec::{MountKind, Namespace, NsKind, Plan};

/// A rule's parameters, as a profile sets them.
pub type Params = toml::Table;

pub type Check = fn(&Exposure, &Params, &dyn Host) -> Vec<String>;
/// Edits the OCI document so that the rule passes; returns what changed, or None if it
/// cannot (or need not) change anything.
pub type Fix = fn(&mut Value, &Params) -> Option<String>;

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    /// What is checked, in OCI terms.
    pub checks: &'static str,
    pub why: &'static str,
    /// What the container no longer reaches when the rule holds.
    pub closes: &'static str,
    pub references: &'static [&'static str],
    pub fix: &'static str,
    /// The config field a finding points at (dotted), for reports.
    pub field: &'static str,
    /// The parameters and their defaults, as TOML.
    pub defaults: &'static str,
    pub check: Check,
    /// A safe default that `harden` may fill in.
    pub remedy: Option<Fix>,
    /// A fix for new configs only (`spec --profile`).
    pub fill: Option<Fix>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Rule {
    pub fn default_params(&self) -> Params {
        self.defaults
            .parse()
            .expect("catalog defaults are valid TOML (tested)")
    }
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// palisade's own default seccomp filter (profiles/seccomp/default.json).
pub const DEFAULT_SECCOMP: &str = include_str!("../../profiles/seccomp/default.json");

pub fn default_seccomp() -> Value {
    serde_json::from_str(DEFAULT_SECCOMP).expect("profiles/seccomp/default.json is valid (tested)")
}

// Params -------------------------------------------------------------------------------

fn strings(p: &Params, key: &str) -> Vec<String> {
    p.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn int(p: &Params, key: &str) -> Option<i64> {
    p.get(key).and_then(|v| v.as_integer())
}

/// How a parameter orders profiles from loose to strict, for "a chosen profile may not be
/// looser than the operator's floor".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A list of what is let through: fewer is stricter.
    Allows,
    /// A list of what is kept out: more is stricter.
    Denies,
    /// A ceiling, 0 for none: lower is stricter.
    Max,
    /// A floor: higher is stricter.
    Min,
    /// A switch: on is stricter.
    Switch,
    /// What a fix fills in (spec --profile): no bearing on what passes.
    Fill,
    /// A whole value (a learned seccomp filter): any change counts as looser.
    Exact,
}

pub fn param_order(key: &str) -> Option<Order> {
    Some(match key {
        "allowed" | "allow" | "write_dirs" | "write_files" | "bind_tcp" | "connect_tcp" | "env"
        | "rootfs_stores" => Order::Allows,
        "filter" => Order::Exact,
        "paths" | "roots" | "sockets" | "masked" | "readonly" | "syscalls" | "access"
        | "writable" => Order::Denies,
        "max" => Order::Max,
        "min" | "owner_min" => Order::Min,
        "only_allow" => Order::Switch,
        "default" | "uid" | "host_id" | "size" => Order::Fill,
        _ => return None,
    })
}

/// Whether list entry `a` is covered by `b`: the same (capabilities with or without
/// CAP_), or for paths, `a` at or beneath `b`.
fn entry_within(id: &str, a: &str, b: &str) -> bool {
    a == b
        || (id == "capabilities" && cap_name(a) == cap_name(b))
        || (a.starts_with('/')
            && b.starts_with('/')
            && beneath(&clean(Path::new(a)), &clean(Path::new(b))))
}

/// Whether parameter `key` of rule `id` lets more through at `ours` than at `theirs`. A
/// parameter of unknown order counts as looser when it differs (fail closed).
pub fn looser(id: &str, key: &str, ours: &toml::Value, theirs: &toml::Value) -> bool {
    // Ports are integers: compared by their text.
    let list = |v: &toml::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| match x {
                        toml::Value::String(s) => Some(s.clone()),
                        toml::Value::Integer(i) => Some(i.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match param_order(key) {
        Some(Order::Allows) => {
            let floor = list(theirs);
            list(ours)
                .iter()
                .any(|a| !floor.iter().any(|b| entry_within(id, a, b)))
        }
        Some(Order::Denies) => {
            let mine = list(ours);
            list(theirs)
                .iter()
                .any(|b| !mine.iter().any(|a| entry_within(id, b, a)))
        }
        Some(Order::Max) => {
            let (o, t) = (
                ours.as_integer().unwrap_or(0),
                theirs.as_integer().unwrap_or(0),
            );
            t > 0 && (o <= 0 || o > t)
        }
        Some(Order::Min) => match (ours.as_integer(), theirs.as_integer()) {
            (Some(o), Some(t)) => o < t,
            _ => ours != theirs,
        },
        Some(Order::Switch) => theirs.as_bool() == Some(true) && ours.as_bool() != Some(true),
        Some(Order::Fill) => false,
        Some(Order::Exact) | None => ours != theirs,
    }
}

// Document editing ---------------------------------------------------------------------

/// `v[key]`, made an object first when it is missing or null.
fn object<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if !v.is_object() {
        *v = json!({});
    }
    let e = v
        .as_object_mut()
        .expect("made an object above")
        .entry(key)
        .or_insert(Value::Null);
    if !e.is_object() {
        *e = json!({});
    }
    e
}

fn mounts_mut(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc.get_mut("mounts")
        .and_then(|m| m.as_array_mut())
        .into_iter()
        .flatten()
}

fn options_of(m: &Value) -> Vec<String> {
    m["options"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn add_option(m: &mut Value, opt: &str) {
    let mut opts = options_of(m);
    opts.push(opt.to_owned());
    m["options"] = json!(opts);
}

// Shared checks ------------------------------------------------------------------------

pub fn cap_name(s: &str) -> String {
    let u = s.to_uppercase();
    if u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

/// Whether `path` is `dir` or below it, component by component as `Path::starts_with`.
fn beneath(path: &Path, dir: &Path) -> bool {
    Listed::new(path).beneath(&Listed::new(dir))
}

/// A path checked once for plainness, to be compared with many others. The rules compare
/// cleaned or canonical paths, often a hundred binds against a few dozen listed paths: for
/// plain paths a byte comparison gives `Path::starts_with`'s answer, many times faster.
struct Listed<'a> {
    path: &'a Path,
    plain: bool,
}

impl<'a> Listed<'a> {
    fn new(path: &'a Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        Listed {
            path,
            plain: plain(path.as_os_str().as_bytes()),
        }
    }

    /// Whether this path is `dir` or below it.
    fn beneath(&self, dir: &Listed<'_>) -> bool {
        use std::os::unix::ffi::OsStrExt;
        if self.plain && dir.plain {
            let (p, d) = (
                self.path.as_os_str().as_bytes(),
                dir.path.as_os_str().as_bytes(),
            );
            if d == b"/" {
                return true;
            }
            // Paths that differ in the first byte of their first component are unrelated:
            // most pairs stop here, before a comparison of their bytes.
            if p.get(1) != d.get(1) {
                return false;
            }
            return p == d || (p.starts_with(d) && p.get(d.len()) == Some(&b'/'));
        }
        self.path.starts_with(dir.path)
    }
}

fn listed(l: &[PathBuf]) -> Vec<Listed<'_>> {
    l.iter().map(|p| Listed::new(p)).collect()
}

/// Absolute, with no empty or `.` component and no trailing separator: then components
/// and the bytes between separators are the same thing.
fn plain(b: &[u8]) -> bool {
    b.first() == Some(&b'/')
        && (b.len() == 1 || !b.ends_with(b"/"))
        && !b.ends_with(b"/.")
        && !b.windows(2).any(|w| w == b"//")
        && !b.windows(3).any(|w| w == b"/./")
}

/// A namespace of `kind` that is new, or another's: "absent" and "joined the host's, by
/// any path" get the same answer.
fn own_namespace(kind: NsKind, x: &Exposure) -> Vec<String> {
    match x.namespace(kind) {
        NsReach::New | NsReach::Other(_) => vec![],
        NsReach::Host(why) | NsReach::Unknown(why) => vec![why.clone()],
    }
}

fn host_pid(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    own_namespace(NsKind::Pid, x)
}
fn host_ipc(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    own_namespace(NsKind::Ipc, x)
}
fn host_net(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    own_namespace(NsKind::Network, x)
}
/// linux.netDevices: each host device the config moves in, unless the operator allows it by
/// name. Judged by the host's device, whatever name it gets inside.
fn net_devices(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let allowed = strings(p, "allowed");
    x.plan
        .net_devices
        .iter()
        .filter(|d| !allowed.contains(&d.host))
        .map(|d| {
            format!(
                "linux.netDevices moves the host's network device {:?} into the container (as {:?}): the host loses it and the container gets its network",
                d.host, d.name
            )
        })
        .collect()
}

fn host_uts(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    own_namespace(NsKind::Uts, x)
}
fn host_cgroup(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    own_namespace(NsKind::Cgroup, x)
}

fn fill_namespace(doc: &mut Value, kind: &str) -> Option<String> {
    let linux = object(doc, "linux");
    let list = linux
        .as_object_mut()?
        .entry("namespaces")
        .or_insert(json!([]));
    let list = list.as_array_mut()?;
    list.retain(|n| n["type"] != kind);
    list.push(json!({ "type": kind }));
    Some(format!("linux.namespaces: a new {kind} namespace"))
}
fn fill_pid(doc: &mut Value, _: &Params) -> Option<String> {
    fill_namespace(doc, "pid")
}
fn fill_ipc(doc: &mut Value, _: &Params) -> Option<String> {
    fill_namespace(doc, "ipc")
}
fn fill_net(doc: &mut Value, _: &Params) -> Option<String> {
    fill_namespace(doc, "network")
}
fn fill_uts(doc: &mut Value, _: &Params) -> Option<String> {
    fill_namespace(doc, "uts")
}
fn fill_cgroup(doc: &mut Value, _: &Params) -> Option<String> {
    fill_namespace(doc, "cgroup")
}

fn capabilities(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let allowed: BTreeSet<String> = strings(p, "allowed").iter().map(|c| cap_name(c)).collect();
    let c = &plan.process.caps;
    let mut extra: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for (set, caps) in [
        ("bounding", &c.bounding),
        ("effective", &c.effective),
        ("permitted", &c.permitted),
        ("inheritable", &c.inheritable),
        ("ambient", &c.ambient),
    ] {
        for cap in caps {
            let name = cap.to_string();
            if !allowed.contains(&name) {
                extra.entry(name).or_default().push(set);
            }
        }
    }
    extra
        .into_iter()
        .map(|(cap, sets)| format!("{cap} in process.capabilities.{}", sets.join("/")))
        .collect()
}

fn drop_capabilities(doc: &mut Value, p: &Params) -> Option<String> {
    let allowed: BTreeSet<String> = strings(p, "allowed").iter().map(|c| cap_name(c)).collect();
    let sets = doc.pointer_mut("/process/capabilities")?.as_object_mut()?;
    let mut dropped = BTreeSet::new();
    for list in sets.values_mut().filter_map(|v| v.as_array_mut()) {
        list.retain(|c| {
            let name = c.as_str().map(cap_name).unwrap_or_default();
            let keep = allowed.contains(&name);
            if !keep {
                dropped.insert(name);
            }
            keep
        });
    }
    (!dropped.is_empty()).then(|| {
        format!(
            "process.capabilities: dropped {}",
            dropped.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The syscalls of `list` that some call of reaches the kernel through the filter, with
/// clone(2) counted as unshare(2) where it can make namespaces.
fn permitted(s: &exposure::SeccompModel, list: &[String]) -> Vec<String> {
    let mut out: BTreeSet<String> = list.iter().filter(|n| s.permits(n)).cloned().collect();
    if list.iter().any(|n| n == "unshare") && s.clone_makes_namespaces() {
        out.insert("clone with CLONE_NEW* flags (namespaces, as unshare)".into());
    }
    out.into_iter().collect()
}

fn seccomp_enabled(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let Some(s) = &x.seccomp else {
        return vec!["linux.seccomp is absent: every syscall is allowed".into()];
    };
    let let_through = permitted(s, &strings(p, "syscalls"));
    if let_through.is_empty() {
        return vec![];
    }
    vec![format!(
        "linux.seccomp (defaultAction {}) lets through {}, which every runtime's default filter denies",
        s.default_action,
        let_through.join(", ")
    )]
}

fn seccomp_default_deny(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let Some(s) = &x.seccomp else {
        return vec!["linux.seccomp is absent: every syscall is allowed".into()];
    };
    if s.default_permissive {
        vec![format!(
            "linux.seccomp.defaultAction is {}: syscalls the filter does not list are allowed",
            s.default_action
        )]
    } else {
        vec![]
    }
}

fn add_default_seccomp(doc: &mut Value, _: &Params) -> Option<String> {
    let linux = object(doc, "linux");
    if !linux["seccomp"].is_null() {
        // The config chose its own filter: replacing it would surprise; refuse instead.
        return None;
    }
    let filter = default_seccomp();
    let n = filter["syscalls"].as_array().map_or(0, |a| a.len());
    linux["seccomp"] = filter;
    Some(format!(
        "linux.seccomp: added palisade's default filter (profiles/seccomp/default.json, {n} rules)"
    ))
}

fn seccomp_denies(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let Some(s) = &x.seccomp else {
        return vec!["linux.seccomp is absent: every syscall is allowed".into()];
    };
    let mut out = vec![];
    if s.default_permissive {
        out.push("linux.seccomp.defaultAction allows syscalls the filter does not list".into());
    }
    let let_through = permitted(s, &strings(p, "syscalls"));
    if !let_through.is_empty() {
        out.push(format!("linux.seccomp allows {}", let_through.join(", ")));
    }
    out
}

/// `path` is listed, or lies beneath a listed path other than `/`: a mount over `/`
/// lands on the process's root, which path lookup never crosses (pivot_root(2)), so it
/// masks nothing.
fn covered(path: &str, list: &[PathBuf]) -> bool {
    list.iter()
        .filter(|l| {
            l.components()
                .any(|c| matches!(c, std::path::Component::Normal(_)))
        })
        .any(|l| beneath(Path::new(path), l))
}

fn masked_paths(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let mut out = vec![];
    for m in strings(p, "masked") {
        if !covered(&m, &plan.masked_paths) {
            out.push(format!("linux.maskedPaths lacks {m}"));
        }
    }
    for r in strings(p, "readonly") {
        if !covered(&r, &plan.readonly_paths) && !covered(&r, &plan.masked_paths) {
            out.push(format!("linux.readonlyPaths lacks {r}"));
        }
    }
    out
}

fn add_masked_paths(doc: &mut Value, p: &Params) -> Option<String> {
    let mut added = vec![];
    for (field, key) in [("maskedPaths", "masked"), ("readonlyPaths", "readonly")] {
        let linux = object(doc, "linux");
        let list = linux
            .as_object_mut()?
            .entry(field)
            .or_insert(json!([]))
            .as_array_mut()?;
        for want in strings(p, key) {
            if !list.iter().any(|v| v.as_str() == Some(&want)) {
                list.push(json!(want));
                added.push(format!("{field} += {want}"));
            }
        }
    }
    (!added.is_empty()).then(|| format!("linux: {}", added.join(", ")))
}

fn sysctls(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let allowed: BTreeSet<String> = strings(p, "allowed").into_iter().collect();
    plan.sysctl
        .keys()
        .map(|k| k.replace('/', "."))
        .filter(|k| !allowed.contains(k))
        .map(|k| format!("linux.sysctl sets {k}, which is not in the safe set"))
        .collect()
}

/// Whether a writable bind of `src` reaches users' start-up files and keys: /home, a home
/// directory itself, or a dot-file or dot-directory in one (.ssh, .bashrc, .config). A
/// project directory in a home is a workload's data, as `docker run -v` binds it.
fn home_files(src: &Path, home: &Path) -> Option<String> {
    let rest = src.strip_prefix(home).ok()?;
    let mut parts = rest.components();
    match parts.next() {
        None => Some("which holds every user's files".into()),
        Some(_) if parts.clone().next().is_none() => {
            Some("a home directory, with its user's start-up files and keys".into())
        }
        Some(_) => parts
            .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
            .then(|| "a user's dot-files (start-up files, keys)".into()),
    }
}

/// "dir/*" → dir.
fn glob_prefix(p: &Path) -> Option<&Path> {
    (p.file_name()? == "*").then(|| p.parent()).flatten()
}

/// A `rootfs_stores` pattern's part before its first `*` component.
fn store_prefix(pattern: &Path) -> PathBuf {
    pattern
        .components()
        .take_while(|c| c.as_os_str() != "*")
        .collect()
}

/// Whether `path` is at or beneath a directory that `pattern` names, a `*` component
/// standing for any one name (an image store's per-container directory).
fn in_store(path: &Path, pattern: &Path) -> bool {
    let (mut p, mut g) = (path.components(), pattern.components());
    loop {
        match (g.next(), p.next()) {
            (None, _) => return true,
            (Some(_), None) => return false,
            (Some(g), Some(p)) if g.as_os_str() == "*" || g == p => continue,
            _ => return false,
        }
    }
}

/// Places a root filesystem must not be in: what the host keeps its state, kernel views,
/// devices and users' files (shell start-up files, keys) in. A bundle for a container
/// belongs elsewhere (/var/lib, /srv, /tmp).
const NOT_A_ROOTFS: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/etc",
    "/var/log",
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/lib/cloud",
    "/var/lib/systemd",
    "/var/spool",
];

/// root.path is a host directory too: the container gets it whole, writable unless
/// root.readonly. It must not be the host's root or hold what the lists protect, nor lie
/// in what the host executes or trusts. Compared with the lists as written (cleaned):
/// without a realpath of every entry at every create.
/// The root filesystem as the init will find it: the path its pin was read from (the init
/// checks it opens that very directory), else the path resolved now (check, before the root
/// exists).
fn root_of(plan: &Plan, host: &dyn Host) -> PathBuf {
    plan.rootfs_pin
        .as_ref()
        .map(|p| p.path.clone())
        .unwrap_or_else(|| host.canonical(&plan.rootfs))
}

fn host_rootfs(x: &Exposure, p: &Params, host: &dyn Host) -> Option<String> {
    let root = root_of(x.plan, host);
    let root = root.as_path();
    let stores: Vec<PathBuf> = strings(p, "rootfs_stores")
        .iter()
        .map(|s| clean(Path::new(s)))
        .collect();
    let own: Vec<PathBuf> = host
        .runtime_dir()
        .into_iter()
        .chain(host.state_root())
        .chain([PathBuf::from(crate::spec::RUNTIME_CACHE)])
        .collect();
    let protected: Vec<PathBuf> = ["paths", "roots", "writable"]
        .iter()
        .flat_map(|k| strings(p, k))
        .map(|s| clean(Path::new(&s)))
        .chain(own.iter().cloned())
        .collect();
    if let Some(hit) = protected.iter().find(|s| beneath(s, root)) {
        return Some(format!(
            "root.path {} holds the host's {}",
            root.display(),
            hit.display()
        ));
    }
    // Nor in what the lists protect (a root in /run/k3s would hold its containerd socket),
    // except the image stores where managers make root filesystems. A top-level entry is
    // also taken as it resolves (/root and /home are links into /var on some systems).
    let inside: Vec<PathBuf> = strings(p, "writable")
        .iter()
        .chain(strings(p, "paths").iter().filter(|s| {
            !stores
                .iter()
                .any(|g| beneath(&store_prefix(g), Path::new(s.as_str())))
        }))
        .map(|s| clean(Path::new(s)))
        .chain(NOT_A_ROOTFS.iter().map(PathBuf::from))
        .flat_map(|s| {
            let top = s.components().count() == 2;
            let c = if top { host.canonical(&s) } else { s.clone() };
            if c == s {
                vec![s]
            } else {
                vec![s, c]
            }
        })
        .chain(own)
        .collect();
    if let Some(hit) = inside.iter().find(|s| beneath(root, s)) {
        return Some(format!(
            "root.path {} lies in the host's {}",
            root.display(),
            hit.display()
        ));
    }
    // The root is the container's own: the bundle's (unless the bundle holds what the
    // lists protect), an image store's per-container overlay, or a root the operator
    // allows. (The runtime's own directories may lie in a bundle, as a test's state root
    // does: the root was checked above not to hold them.)
    let bundle_ok = !["paths", "writable"]
        .iter()
        .flat_map(|k| strings(p, k))
        .any(|s| beneath(&clean(Path::new(&s)), &x.bundle));
    let in_bundle = bundle_ok && beneath(root, &x.bundle);
    let allowed = || {
        strings(p, "allow")
            .iter()
            .any(|a| beneath(root, &host.canonical(&clean(Path::new(a)))))
    };
    if in_bundle || stores.iter().any(|g| in_store(root, g)) || allowed() {
        return None;
    }
    let whole = "the container would get it whole, and the runtime would make its mount points in it as root";
    // Elsewhere in an image store: a layer every container of its image shares, or the
    // store's own files.
    if let Some(g) = stores.iter().find(|g| beneath(root, &store_prefix(g))) {
        return Some(format!(
            "root.path {} lies in the image store {} but is not a container's own overlay ({}): {whole}",
            root.display(),
            store_prefix(g).display(),
            g.display()
        ));
    }
    // Under the engines' per-container roots, another container's (its task directory,
    // its files).
    if let Some(r) = strings(p, "roots")
        .iter()
        .map(|r| clean(Path::new(r)))
        .map(|r| glob_prefix(&r).map(Path::to_path_buf).unwrap_or(r))
        .find(|r| beneath(root, r))
    {
        return Some(format!(
            "root.path {} lies in {}, where the engines keep other containers' files, outside the bundle {}: {whole}",
            root.display(),
            r.display(),
            x.bundle.display()
        ));
    }
    // Nowhere else on the host: its mount points would be made there (PSS: no hostPath).
    Some(format!(
        "root.path {} is a host directory outside the bundle {} and the image stores: {whole} (an operator lists other roots in config.toml `rootfs_stores`)",
        root.display(),
        x.bundle.display()
    ))
}

fn host_mounts(x: &Exposure, p: &Params, host: &dyn Host) -> Vec<String> {
    let rootfs = host_rootfs(x, p, host);
    // The lists are resolved on the host (realpath per entry): only when a mount names a
    // host path.
    if !x
        .mounts
        .iter()
        .any(|m| !m.host_paths.is_empty() || m.unreadable.is_some())
    {
        return rootfs.into_iter().collect();
    }
    let canon = |list: Vec<String>| -> Vec<PathBuf> {
        list.iter()
            .flat_map(|s| {
                let p = clean(Path::new(s));
                let c = host.canonical(&p);
                if c == p {
                    vec![p]
                } else {
                    vec![p, c]
                }
            })
            .collect()
    };
    let mut writable = canon(strings(p, "writable"));
    writable.extend(host.runtime_dir());
    let mut paths = canon(strings(p, "paths"));
    // The runtime's own state (its files hold the hooks `delete` runs as root) and its
    // cache of compiled seccomp filters (loaded into every container).
    paths.extend(host.state_root());
    paths.push(PathBuf::from(crate::spec::RUNTIME_CACHE));
    let (paths, roots, allow) = (
        paths,
        canon(strings(p, "roots")),
        canon(strings(p, "allow")),
    );
    let (paths, roots, allow, writable) = (
        listed(&paths),
        listed(&roots),
        listed(&allow),
        listed(&writable),
    );
    let only_allow = p.get("only_allow").and_then(|v| v.as_bool()) == Some(true);
    let sockets: BTreeSet<String> = strings(p, "sockets").into_iter().collect();
    // The bundle holds the container's own files, unless it is the host's / or an
    // ancestor of what the lists protect.
    let bundle = Listed::new(&x.bundle);
    let root_path = root_of(x.plan, host);
    let root = Listed::new(&root_path);
    let bundle_ok = !paths.iter().chain(&writable).any(|s| s.beneath(&bundle));
    let home = host.canonical(Path::new("/home"));
    // Per-container files beneath an innermost root (a pod's volumes under
    // /var/lib/kubelet/pods) are the container's; the rest of /var/lib/kubelet is the
    // kubelet's.
    let globs: Vec<Option<Listed>> = roots
        .iter()
        .map(|r| glob_prefix(r.path).map(Listed::new))
        .collect();
    let innermost: Vec<&Listed> = roots
        .iter()
        .filter(|r| {
            glob_prefix(r.path).is_none()
                && !roots
                    .iter()
                    .any(|o| o.path != r.path && glob_prefix(o.path).is_none() && o.beneath(r))
        })
        .collect();
    let mut out: Vec<String> = rootfs.into_iter().collect();
    for m in &x.mounts {
        if let Some(why) = &m.unreadable {
            out.push(format!(
                "{}: {why}, so the host directories it names cannot be checked",
                m.describe()
            ));
            continue;
        }
        for (role, src) in &m.host_paths {
            let l = Listed::new(src);
            let allowed = allow.iter().any(|a| l.beneath(a));
            if *role != "bind" {
                // Overlay layers are read (lowerdir) and written (upperdir, workdir) on the
                // host: only inside the bundle or an allowed root (PSS: no hostPath).
                if !(allowed || bundle_ok && l.beneath(&bundle)) {
                    out.push(format!(
                        "{} names host {} as its {role}, outside the bundle and the allowed roots",
                        m.describe(),
                        src.display()
                    ));
                }
                continue;
            }
            // A recursive bind of the root filesystem, or of what holds it, carries the
            // container's own mounts made before it (its proc, sysfs, earlier binds) to a
            // place where no mask applies, with attributes of its own (rrw).
            let o = &m.mount.options;
            let recursive = o.flags.contains(nix::mount::MsFlags::MS_REC) || o.ridmap;
            if recursive && (l.beneath(&root) || root.beneath(&l)) {
                out.push(format!(
                    "{} binds {} of the root filesystem recursively, carrying the container's own mounts (proc, sysfs, binds) past the masks and read-only rules",
                    m.describe(),
                    src.display()
                ));
                continue;
            }
            if allowed {
                continue;
            }
            let shown = || format!("{} binds host {}", m.describe(), src.display());
            // "ro" on a recursive bind leaves the mounts beneath it writable; "rro" does not.
            let writable_tree = m.writable
                || (o.flags.contains(nix::mount::MsFlags::MS_REC)
                    && o.rec_set & crate::sys::MOUNT_ATTR_RDONLY == 0);
            if let Some(hit) = paths.iter().find(|s| l.beneath(s) || s.beneath(&l)) {
                out.push(format!("{}, which exposes {}", shown(), hit.path.display()));
            } else if let Some(hit) = roots.iter().zip(&globs).find(|(s, g)| match g {
                // "dir/*": dir and each entry of it (a volume's directory, which holds its
                // options beside _data) are the engine's; what lies deeper is a container's.
                Some(dir) => dir.beneath(&l) || l.path.parent() == Some(dir.path),
                None => s.beneath(&l),
            }) {
                out.push(format!(
                    "{}, which exposes {}",
                    shown(),
                    hit.0.path.display()
                ));
            } else if src
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| sockets.contains(n))
            {
                out.push(format!("{}, a container engine socket", shown()));
            } else if let Some(hit) = writable.iter().find(|w| {
                writable_tree
                    && (l.beneath(w) || w.beneath(&l))
                    && !innermost.iter().any(|r| l.beneath(r) && l.path != r.path)
            }) {
                out.push(format!(
                    "{} writable{}, so the container can change {}, which the host executes or trusts",
                    shown(),
                    if m.writable { "" } else { " beneath (ro without rro)" },
                    hit.path.display()
                ));
            } else if let Some(why) = writable_tree.then(|| home_files(src, &home)).flatten() {
                out.push(format!("{} writable, {why}", shown()));
            } else if only_allow && !(bundle_ok && l.beneath(&bundle)) {
                out.push(format!(
                    "{}, which is not beneath the bundle or a root of rules.host-mounts.allow",
                    shown()
                ));
            }
        }
    }
    out
}

/// "c 1:3", "c 136:*", "b 8:0" → (kind, major, minor) with None for '*'.
fn device_spec(s: &str) -> Option<(char, Option<i64>, Option<i64>)> {
    let (kind, nums) = s.trim().split_once(' ')?;
    let (ma, mi) = nums.trim().split_once(':')?;
    let n = |x: &str| {
        if x == "*" {
            Some(None)
        } else {
            x.parse().ok().map(Some)
        }
    };
    Some((kind.chars().next()?, n(ma)?, n(mi)?))
}

/// The devices runc (and palisade) give every container, each of which is the container's
/// own whatever node reaches it: null, zero, full, random, urandom, tty (the caller's
/// controlling terminal), ptmx (the devpts instance beside it) and the pty slaves (a node
/// outside a devpts opens nothing). Not c 5:1: a node of it is the host's system console
/// (/dev/console in a container is its pty, bound there); nor c 4:* (the host's virtual
/// consoles and serial lines), c 7:* (their screen memory), c 1:1, 1:2, 1:4 (memory and
/// ports), c 1:11 (the kernel log) or any block device.
const DEFAULT_DEVICES: &[&str] = &[
    "c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:2", "c 136:*",
];

fn host_devices(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let allowed: Vec<_> = DEFAULT_DEVICES
        .iter()
        .map(|s| s.to_string())
        .chain(strings(p, "allowed"))
        .filter_map(|s| device_spec(&s))
        .collect();
    // An allowed entry with '*' covers every number; a rule with '*' needs such an entry.
    let ok = |kind: char, major: Option<i64>, minor: Option<i64>| {
        allowed.iter().any(|(k, ma, mi)| {
            *k == kind && (ma.is_none() || *ma == major) && (mi.is_none() || *mi == minor)
        })
    };
    let mut out = vec![];
    // In a user namespace mknod is refused: the runtime binds the host's node of the same
    // path instead (as runc does), so a pty entry there is the host's pty.
    let userns = plan.namespace(NsKind::User).is_some();
    for d in plan.devices.iter().filter(|d| d.kind != 'p') {
        if userns && d.kind == 'c' && crate::spec::devices::pty(d.major, d.minor) {
            out.push(format!(
                "linux.devices {} (c {}:{}) in a user namespace is the host's node of that path, bound in: a terminal of the host's",
                d.path.display(),
                d.major,
                d.minor
            ));
            continue;
        }
        if !ok(d.kind, Some(d.major as i64), Some(d.minor as i64)) {
            out.push(format!(
                "linux.devices creates {} ({} {}:{})",
                d.path.display(),
                d.kind,
                d.major,
                d.minor
            ));
        }
    }
    // What the rules grant on cgroup v1 and v2 alike (spec::devices).
    match &x.devices {
        Grants::Everything(why) => out.push(format!(
            "linux.resources.devices: {why}, so the device cgroup lets the container use any device node it can make"
        )),
        Grants::Only(allows) => {
            for r in allows {
                let rw = r.access_bits() & (ACC_READ | ACC_WRITE) != 0;
                let node = |d: &&crate::spec::Device| {
                    d.kind == r.kind
                        && r.major == Some(d.major as i64)
                        && r.minor == Some(d.minor as i64)
                };
                if rw && !ok(r.kind, r.major, r.minor) && !plan.devices.iter().any(|d| node(&d)) {
                    out.push(format!("linux.resources.devices allows {}", r.v1_line()));
                }
            }
        }
    }
    for m in &x.mounts {
        if m.kind == MountKind::Filesystem && m.mount.typ == "devtmpfs" {
            out.push(format!(
                "{} mounts devtmpfs, every device node of the host",
                m.describe()
            ));
        }
    }
    out
}

fn deny_devices_first(doc: &mut Value, _: &Params) -> Option<String> {
    let linux = object(doc, "linux");
    let res = object(linux, "resources");
    let list = res
        .as_object_mut()?
        .entry("devices")
        .or_insert(json!([]))
        .as_array_mut()?;
    let mut changed = vec![];
    // containerd's and Docker's defaults grant the host's console (c 5:1), which no
    // container needs (its /dev/console is its pty, bound there) and which CAP_MKNOD would
    // then open: that grant alone is taken out; any other is refused.
    let before = list.len();
    list.retain(|r| {
        !(r["allow"] == json!(true)
            && r["type"] == json!("c")
            && r["major"] == json!(5)
            && r["minor"] == json!(1))
    });
    if list.len() != before {
        changed.push("the grant of the host's console (c 5:1) removed");
    }
    // Any rule of type a resets the list (spec::devices): a deny one denies every device.
    let denies_all = list
        .iter()
        .any(|r| r["allow"] == json!(false) && r["type"].as_str().is_none_or(|t| t == "a"));
    if !denies_all {
        list.insert(0, json!({"allow": false, "access": "rwm"}));
        changed.push("deny every device first (the default devices stay allowed)");
    }
    (!changed.is_empty()).then(|| format!("linux.resources.devices: {}", changed.join("; ")))
}

/// At or beneath /sys, or a view of kernel settings wherever it is mounted.
fn in_sys(m: &MountReach) -> bool {
    m.mount.destination.starts_with("/sys")
        || matches!(m.kind, MountKind::Cgroup | MountKind::Cgroup2)
        || (m.kind == MountKind::Filesystem && m.mount.typ == "sysfs")
}

fn sys_readonly(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    x.mounts
        .iter()
        .filter(|m| in_sys(m) && m.writable)
        .map(|m| format!("{} is writable", m.describe()))
        .collect()
}

fn sys_make_readonly(doc: &mut Value, _: &Params) -> Option<String> {
    let mut changed = vec![];
    for m in mounts_mut(doc) {
        let dest = m["destination"].as_str().unwrap_or_default().to_owned();
        let opts = MountOptions::parse(&options_of(m));
        let kernel = matches!(m["type"].as_str(), Some("sysfs" | "cgroup" | "cgroup2"));
        if (Path::new(&dest).starts_with("/sys") || kernel) && !opts.is_readonly() {
            add_option(m, "ro");
            changed.push(dest);
        }
    }
    (!changed.is_empty()).then(|| format!("mounts: {} made read-only", changed.join(", ")))
}

/// Where each filesystem a container may mount belongs (None: anywhere). proc, sysfs and
/// the cgroup views only where the masked, read-only and /sys rules apply; every other
/// kernel filesystem (debugfs, tracefs, bpf, securityfs, configfs, devtmpfs, efivarfs,
/// binfmt_misc, ...) and every disk filesystem (a host block device) is refused.
const FILESYSTEMS: &[(&str, Option<&str>)] = &[
    ("proc", Some("/proc")),
    ("sysfs", Some("/sys")),
    ("devpts", Some("/dev/pts")),
    ("mqueue", Some("/dev/mqueue")),
    ("tmpfs", None),
    ("ramfs", None),
    ("overlay", None),
];

/// What a kernel filesystem exposes when it is mounted outside its place.
fn misplaced(typ: &str) -> &'static str {
    match typ {
        "proc" => "exposes /proc/sys, /proc/sysrq-trigger and /proc/kcore unmasked and writable, outside the masked and read-only paths",
        "sysfs" => "exposes kernel and device settings outside the /sys rules",
        _ => "is outside its standard place",
    }
}

fn kernel_filesystems(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let mut out = vec![];
    for m in &x.mounts {
        let dest = &m.mount.destination;
        match m.kind {
            MountKind::Bind => {}
            MountKind::Cgroup | MountKind::Cgroup2 => {
                if dest != Path::new("/sys/fs/cgroup") {
                    out.push(format!(
                        "{} shows the container's cgroup files outside /sys/fs/cgroup{}",
                        m.describe(),
                        if m.writable {
                            ", writable: the container can rewrite its own limits"
                        } else {
                            ""
                        }
                    ));
                }
            }
            MountKind::Filesystem => {
                let typ = m.mount.typ.as_str();
                match FILESYSTEMS.iter().find(|(t, _)| *t == typ) {
                    None => out.push(format!(
                        "{} mounts a {typ} filesystem, which gives the container a kernel interface or host storage; allowed: {}",
                        m.describe(),
                        FILESYSTEMS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
                    )),
                    Some((_, Some(place))) if dest != Path::new(place) => out.push(format!(
                        "{} {} (its place is {place})",
                        m.describe(),
                        misplaced(typ)
                    )),
                    _ => {}
                }
                if m.mount
                    .options
                    .flags
                    .contains(nix::mount::MsFlags::MS_REMOUNT)
                {
                    out.push(format!(
                        "{} remounts what is already mounted there, whose filesystem the host shares",
                        m.describe()
                    ));
                }
            }
        }
    }
    out
}

/// The hook kinds the runtime runs on the host, outside the container.
const HOST_HOOKS: &[&str] = &["prestart", "createRuntime", "poststart", "poststop"];

/// The directories a hook's PATH may list: the system's, which root alone writes.
const SYSTEM_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Whether a hook, a program the operator trusts run as root, may get `name=value`. An
/// allowlist: the loader (LD_*, GLIBC_TUNABLES, GCONV_PATH), shells (BASH_ENV, ENV,
/// BASH_FUNC_*, SHELLOPTS, PS4, IFS), interpreters (PYTHON*, PERL5*, NODE_OPTIONS, ...) and
/// PATH all choose code to run, and no list of them is ever complete.
fn hook_env_ok(name: &str, value: &str, env: &[String]) -> bool {
    let no_path = !value.contains('/');
    match name {
        "PATH" => value.split(':').all(|d| SYSTEM_PATH.contains(&d)),
        "TERM" | "LANG" | "LANGUAGE" => no_path,
        _ if name.starts_with("LC_") && name != "LC_" => no_path,
        _ => env.iter().any(|e| e == name),
    }
}

fn hooks(x: &Exposure, p: &Params, host: &dyn Host) -> Vec<String> {
    let env = strings(p, "env");
    let allowed: Vec<PathBuf> = strings(p, "allowed")
        .iter()
        .map(|s| clean(Path::new(s)))
        .collect();
    let mut out = vec![];
    for h in &x.hooks {
        let path = &h.hook.path;
        let at = format!("hooks.{}[{}] {}", h.kind, h.index, path.display());
        if !HOST_HOOKS.contains(&h.kind) {
            out.push(format!(
                "{at} runs a program of the image with the runtime's privileges, before the container's layers apply"
            ));
            continue;
        }
        use std::os::unix::ffi::OsStrExt;
        let listed = if h.via_process {
            // /proc/PID/exe (Docker's prestart hook): the program that process runs now;
            // only where the hook runs during create, while that process still runs.
            // Compared as files: the program's inode, from a process in the host's mount
            // namespace.
            matches!(h.kind, "prestart" | "createRuntime")
                && h.process_program
                    .is_some_and(|id| allowed.iter().any(|a| host.ns_id(a) == Some(id)))
        } else {
            // Spelled as listed: a path through a symlink or `..` could lead elsewhere by
            // the time the hook runs (a poststop hook runs at delete).
            plain(path.as_os_str().as_bytes())
                && !path
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
                && allowed.contains(&clean(path))
        };
        if !listed {
            out.push(format!(
                "{at} runs {} on the host as root, and it is not an allowed hook program",
                h.program.display()
            ));
        }
        for e in &h.hook.env {
            let (name, value) = e.split_once('=').unwrap_or((e, ""));
            if !hook_env_ok(name, value, &env) {
                out.push(format!(
                    "{at} sets {name}, which the program (its dynamic loader, its shell or interpreter) may take as code or a path to run: only PATH of the system directories, TERM, LANG, LANGUAGE and LC_* (without a path) and the rule's `env` are passed to hooks"
                ));
            }
        }
    }
    out
}

fn propagation(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    use nix::mount::MsFlags;
    let mut out = vec![];
    if plan.rootfs_propagation.contains(MsFlags::MS_SHARED) {
        out.push(
            "linux.rootfsPropagation is shared: mounts made in the container reach the host".into(),
        );
    }
    for (i, m) in plan.mounts.iter().enumerate() {
        if m.options
            .propagation
            .iter()
            .any(|f| f.contains(MsFlags::MS_SHARED))
        {
            out.push(format!(
                "mounts[{i}] {} has shared propagation",
                m.destination.display()
            ));
        }
    }
    out
}

fn lsm_labels(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let mut out = vec![];
    if plan.apparmor_profile.as_deref() == Some("unconfined") {
        out.push("process.apparmorProfile is unconfined".into());
    }
    if let Some(l) = &plan.selinux_label {
        if l.split(':').any(|t| t == "spc_t" || t == "unconfined_t") {
            out.push(format!("process.selinuxLabel {l} is an unconfined type"));
        }
    }
    out
}

/// Whether anything of the mount's tree is writable: "ro" on a recursive bind leaves the
/// mounts beneath it writable; "rro" does not.
fn writable_tree(m: &crate::spec::Mount) -> bool {
    let o = &m.options;
    !m.is_readonly()
        || (o.flags.contains(nix::mount::MsFlags::MS_REC)
            && o.rec_set & crate::sys::MOUNT_ATTR_RDONLY == 0)
}

/// The host id that container id `id` maps to, if it is mapped.
fn host_id(id: u32, maps: &[crate::spec::IdMap]) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.container && id - m.container < m.size)
        .map(|m| m.host + (id - m.container))
}

fn new_userns(plan: &Plan) -> bool {
    matches!(
        plan.namespace(NsKind::User),
        Some(Namespace { path: None, .. })
    )
}

fn run_as_non_root(x: &Exposure, _: &Params, host: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let uid = plan.process.uid;
    let maps = match plan.namespace(NsKind::User) {
        None => None,
        Some(Namespace { path: None, .. }) => Some(plan.uid_mappings.clone()),
        // A joined user namespace maps ids as its creator chose: read from its owner's
        // uid_map where the path names a process, else it cannot be shown safe.
        Some(ns @ Namespace { path: Some(p), .. }) => match host.joined_uid_map(ns) {
            Some(m) => Some(m),
            None => {
                return vec![format!(
                    "the user namespace joined at {} has no uid map palisade can read, so uid {uid} cannot be shown not to be host root",
                    p.display()
                )]
            }
        },
    };
    match maps {
        Some(m) => match host_id(uid, &m) {
            Some(0) => vec![format!(
                "process.user.uid {uid} maps to host uid 0 in the container's user namespace"
            )],
            _ => vec![],
        },
        None if uid == 0 => vec![
            "process.user.uid is 0 and no new user namespace maps it to an unprivileged host uid"
                .into(),
        ],
        None => vec![],
    }
}

fn fill_non_root(doc: &mut Value, p: &Params) -> Option<String> {
    let id = int(p, "uid").unwrap_or(65534);
    let user = object(object(doc, "process"), "user");
    user["uid"] = json!(id);
    user["gid"] = json!(id);
    Some(format!("process.user: uid and gid {id}"))
}

fn no_new_privileges(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    if plan.process.no_new_privileges {
        vec![]
    } else {
        vec!["process.noNewPrivileges is not true: setuid binaries and file capabilities can raise privilege".into()]
    }
}

fn set_no_new_privileges(doc: &mut Value, _: &Params) -> Option<String> {
    let process = object(doc, "process");
    process["noNewPrivileges"] = json!(true);
    Some("process.noNewPrivileges: true".into())
}

fn readonly_rootfs(x: &Exposure, _: &Params, host: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    if !plan.rootfs_readonly {
        return vec!["root.readonly is not true".into()];
    }
    // A writable bind of the root filesystem (or of a directory in it) is the root made
    // writable under another name.
    let root = root_of(plan, host);
    x.mounts
        .iter()
        .filter(|m| m.writable)
        .flat_map(|m| m.host_paths.iter().map(move |(_, p)| (m, p)))
        .filter(|(_, p)| beneath(p, &root) || beneath(&root, p))
        .map(|(m, p)| {
            format!(
                "{} makes {} of the read-only root filesystem writable",
                m.describe(),
                p.display()
            )
        })
        .collect()
}

fn fill_readonly_rootfs(doc: &mut Value, _: &Params) -> Option<String> {
    object(doc, "root")["readonly"] = json!(true);
    Some("root.readonly: true".into())
}

fn names(list: &[String]) -> Vec<Right> {
    list.iter().map(|s| Right::Name(s.clone())).collect()
}

/// Container paths where the container may write: mounts not read-only other than the
/// kernel's views (proc, sysfs, cgroup: /proc/self/root leads to the whole root), and the
/// whole root when it is writable.
/// Where the container can write: its writable mounts (not the kernel's views), and `/`
/// when the root is writable.
pub fn writable_places(plan: &crate::spec::Plan) -> Vec<PathBuf> {
    writable_mounts(&Exposure::of(plan, &super::RealHost))
}

fn writable_mounts(x: &Exposure) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = x
        .mounts
        .iter()
        // A mount over `/` lands beneath the root the container gets (pivot_root(2)): it
        // makes nothing writable, and a grant there would be the whole tree.
        .filter(|m| m.mount.destination != Path::new("/"))
        .filter(|m| m.writable && !kernel_view(m.mount.typ.as_str(), m.kind == MountKind::Bind))
        .map(|m| m.mount.destination.clone())
        .collect();
    if !x.plan.rootfs_readonly {
        out.push(PathBuf::from("/"));
    }
    out
}

/// A mount of the kernel's state rather than of files: no Landlock write grant there.
fn kernel_view(typ: &str, bind: bool) -> bool {
    matches!(typ, "cgroup" | "cgroup2") || (!bind && matches!(typ, "proc" | "sysfs"))
}

fn landlock_writes(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let Some(l) = &plan.landlock else {
        return vec![
            "no Landlock ruleset (process.landlock, or the run.oci.landlock annotation)".into(),
        ];
    };
    let mut out = vec![];
    if l.best_effort() {
        out.push(
            "process.landlock asks for best effort: on a kernel without Landlock the container runs unconfined".into(),
        );
    }
    let want = fs_access(&names(&strings(p, "access"))).unwrap_or_default();
    let handled = fs_access(&l.handled_access.fs).unwrap_or_default();
    let missing = want & !handled;
    if !missing.is_empty() {
        out.push(format!(
            "process.landlock.handledAccess.handledAccessFS does not handle {missing:?}"
        ));
    }
    let writable = writable_mounts(x);
    for (i, r) in l.rules.path_beneath.iter().enumerate() {
        let grants = fs_access(&r.allowed_access).unwrap_or_default() & want;
        if grants.is_empty() {
            continue;
        }
        for path in &r.paths {
            use std::os::unix::ffi::OsStrExt;
            // The kernel opens the path (symlinks, `..`): compared as spelled only when
            // spelled plainly.
            // Nor in /proc or /sys, whatever is mounted there: /proc/self/root leads to the
            // whole root.
            let plainly = plain(path.as_os_str().as_bytes())
                && !path
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
                && !path.starts_with("/proc")
                && !path.starts_with("/sys");
            if !plainly || !writable.iter().any(|w| beneath(path, w)) {
                out.push(format!(
                    "process.landlock.rules.pathBeneath[{i}] lets the container write to {}, which is not a writable mount",
                    path.display()
                ));
            }
        }
    }
    out
}

/// Rights that apply to a regular file (Landlock refuses directory rights on a file).
const FILE_RIGHTS: &[&str] = &["write_file", "truncate"];

fn add_landlock(doc: &mut Value, p: &Params) -> Option<String> {
    let process = doc.get("process")?;
    if !process["landlock"].is_null()
        || doc["annotations"][crate::spec::landlock::ANNOTATION].is_string()
        || process["noNewPrivileges"] != json!(true)
    {
        // A ruleset of the config's own is not replaced; Landlock needs no_new_privs.
        return None;
    }
    let access = strings(p, "access");
    let readonly_root = doc["root"]["readonly"] == json!(true);
    let (mut dirs, mut files) = (vec![], vec![]);
    if !readonly_root {
        dirs.push("/".to_owned());
    }
    for m in doc["mounts"].as_array().into_iter().flatten() {
        let o = MountOptions::parse(&options_of(m));
        let Some(dest) = m["destination"].as_str() else {
            continue;
        };
        if clean(Path::new(dest)) == Path::new("/") {
            continue;
        }
        let bind = o.flags.contains(nix::mount::MsFlags::MS_BIND) || m["type"] == "bind";
        if o.is_readonly() || kernel_view(m["type"].as_str().unwrap_or_default(), bind) {
            continue;
        }
        let source = m["source"].as_str().map(Path::new);
        if bind && source.is_some_and(|s| s.is_absolute() && s.is_file()) {
            files.push(dest.to_owned());
        } else {
            dirs.push(dest.to_owned());
        }
    }
    let file_access: Vec<&String> = access
        .iter()
        .filter(|a| FILE_RIGHTS.contains(&a.as_str()))
        .collect();
    let mut rules = vec![json!({"allowedAccess": access, "paths": dirs})];
    if !files.is_empty() && !file_access.is_empty() {
        rules.push(json!({"allowedAccess": file_access, "paths": files}));
    }
    let n = dirs.len() + files.len();
    doc["process"]["landlock"] = json!({
        "handledAccess": {"handledAccessFS": access},
        "rules": {"pathBeneath": rules},
        "enableBestEffort": false
    });
    Some(format!(
        "process.landlock: writes confined to the {n} writable mount{} ({})",
        if n == 1 { "" } else { "s" },
        dirs.iter()
            .chain(&files)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn landlock_network(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    let want = net_access(&names(&["bind_tcp".into(), "connect_tcp".into()])).unwrap_or_default();
    let handled = plan
        .landlock
        .as_ref()
        .and_then(|l| net_access(&l.handled_access.net))
        .unwrap_or_default();
    if handled.contains(want) {
        vec![]
    } else {
        vec!["process.landlock.handledAccess.handledAccessNetwork does not handle bind_tcp and connect_tcp".into()]
    }
}

fn fill_landlock_network(doc: &mut Value, _: &Params) -> Option<String> {
    let l = doc.pointer_mut("/process/landlock")?;
    object(l, "handledAccess")["handledAccessNetwork"] = json!(["bind_tcp", "connect_tcp"]);
    Some(
        "process.landlock: TCP bind and connect denied (add networkPort rules to allow ports)"
            .into(),
    )
}

fn exec_mounts(plan: &Plan) -> impl Iterator<Item = (usize, &crate::spec::Mount)> {
    plan.mounts.iter().enumerate().filter(|(_, m)| {
        !m.is_readonly()
            && !m.options.is_noexec()
            && (m.is_bind() || matches!(m.typ.as_str(), "tmpfs" | "ramfs" | "overlay"))
    })
}

fn noexec_writable(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    exec_mounts(plan)
        .map(|(i, m)| {
            format!(
                "mounts[{i}] {} is writable and executable",
                m.destination.display()
            )
        })
        .collect()
}

fn fill_noexec(doc: &mut Value, _: &Params) -> Option<String> {
    let mut changed = vec![];
    for m in mounts_mut(doc) {
        let o = MountOptions::parse(&options_of(m));
        let bind = o.flags.contains(nix::mount::MsFlags::MS_BIND) || m["type"] == "bind";
        let t = m["type"].as_str().unwrap_or_default();
        if !o.is_readonly() && !o.is_noexec() && (bind || t == "tmpfs" || t == "ramfs") {
            add_option(m, "noexec");
            changed.push(m["destination"].as_str().unwrap_or_default().to_owned());
        }
    }
    (!changed.is_empty()).then(|| format!("mounts: noexec on {}", changed.join(", ")))
}

fn user_namespace(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let plan = x.plan;
    if !new_userns(plan) {
        return vec![
            "linux.namespaces has no new user namespace: root in the container is root on the host"
                .into(),
        ];
    }
    let mut out = vec![];
    for (field, maps) in [
        ("linux.uidMappings", &plan.uid_mappings),
        ("linux.gidMappings", &plan.gid_mappings),
    ] {
        for m in maps
            .iter()
            .filter(|m| m.host == 0 || m.host.checked_add(m.size).is_none())
        {
            out.push(format!(
                "{field} maps container id {} to host id {} (host root)",
                m.container, m.host
            ));
        }
    }
    // An idmapped mount stores files as the ids its mapping's containerID side names (on
    // disk), for the callers its hostID side names: where on-disk 0 is mapped and the
    // mount is writable, the container writes host root's files, setuid-root ones too.
    for (i, m) in plan.mounts.iter().enumerate() {
        let Some(idm) = &m.idmap else { continue };
        if !writable_tree(m) {
            continue;
        }
        for (field, maps) in [("uidMappings", &idm.uid), ("gidMappings", &idm.gid)] {
            if maps.iter().any(|m| m.container == 0 && m.size > 0) {
                out.push(format!(
                    "mounts[{i}] is a writable idmapped mount whose {field} maps on-disk id 0: the container writes files as host root"
                ));
            }
        }
    }
    out
}

fn fill_userns(doc: &mut Value, p: &Params) -> Option<String> {
    let host = int(p, "host_id").unwrap_or(100000);
    let size = int(p, "size").unwrap_or(65536);
    fill_namespace(doc, "user");
    let linux = object(doc, "linux");
    let map = json!([{"containerID": 0, "hostID": host, "size": size}]);
    linux["uidMappings"] = map.clone();
    linux["gidMappings"] = map;
    Some(format!(
        "linux: a new user namespace, ids 0-{} as host {host}-{}",
        size - 1,
        host + size - 1
    ))
}

const NIST: &str = "NIST SP 800-190 §4.4.3 (insecure container runtime configurations)";

/// Every rule, in the order they are checked and hardened (no_new_privs before Landlock,
/// the user namespace before the root check).
pub static RULES: &[Rule] = &[
    Rule {
        id: "host-pid-namespace",
        title: "The container has its own pid namespace",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.namespaces has a pid namespace that is new, or joined by a path that is not the host's own (compared by namespace identity); joining another container's, as pods do, is fine.",
        why: "In the host's pid namespace the container sees every process of the host, can signal those of its own uid and read their /proc entries (environment, open files).",
        closes: "the host's processes: seeing, signalling and reading them (a joined /proc/1/ns/pid counts as the host's)",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Host Namespaces (hostPID)",
            "CIS Docker Benchmark v1.7.0 5.16: the host's process namespace is not shared",
            NIST,
        ],
        fix: "add {\"type\": \"pid\"} to linux.namespaces",
        field: "linux.namespaces",
        defaults: "",
        check: host_pid,
        remedy: None,
        fill: Some(fill_pid),
    },
    Rule {
        id: "host-ipc-namespace",
        title: "The container has its own IPC namespace",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.namespaces has an ipc namespace that is new, or joined by a path that is not the host's own.",
        why: "The host's IPC namespace shares System V shared memory, semaphores and message queues with every host process: data can be read or corrupted across the boundary.",
        closes: "the host's System V IPC objects and POSIX message queues",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Host Namespaces (hostIPC)",
            "CIS Docker Benchmark v1.7.0 5.17: the host's IPC namespace is not shared",
            NIST,
        ],
        fix: "add {\"type\": \"ipc\"} to linux.namespaces",
        field: "linux.namespaces",
        defaults: "",
        check: host_ipc,
        remedy: None,
        fill: Some(fill_ipc),
    },
    Rule {
        id: "host-network-namespace",
        title: "The container has its own network namespace",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.namespaces has a network namespace that is new, or joined by a path that is not the host's own.",
        why: "In the host's network namespace the container can bind host ports, reach services on the host's loopback, and sniff or spoof traffic with the right capabilities.",
        closes: "the host's network stack: its ports, loopback services and traffic",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Host Namespaces (hostNetwork)",
            "CIS Docker Benchmark v1.7.0 5.10: the host's network namespace is not shared",
            "NIST SP 800-190 §4.4.2 (unbounded network access from containers)",
        ],
        fix: "add {\"type\": \"network\"} to linux.namespaces (or join the pod's by path)",
        field: "linux.namespaces",
        defaults: "",
        check: host_net,
        remedy: None,
        fill: Some(fill_net),
    },
    Rule {
        id: "net-devices",
        title: "No host network device is moved into the container unless allowed",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "Every key of linux.netDevices (a device of the runtime's network namespace) is in the rule's `allowed` list of host device names.",
        why: "A moved device leaves the host and takes its network with it: a physical interface gives the container a link onto whatever network it is cabled to, outside the pod network and its policies.",
        closes: "the host's network devices and the networks behind them",
        references: &[
            "runtime-spec 1.3 config-linux.md#network-devices",
            "NIST SP 800-190 §4.4.2 (unbounded network access from containers)",
        ],
        fix: "remove linux.netDevices, or have the operator add the device to this rule's `allowed` in the profile",
        field: "linux.netDevices",
        defaults: "allowed = []\n",
        check: net_devices,
        remedy: None,
        fill: None,
    },
    Rule {
        id: "host-uts-namespace",
        title: "The container has its own UTS namespace",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "linux.namespaces has a uts namespace that is new, or joined by a path that is not the host's own.",
        why: "Sharing the host's UTS namespace lets a container with CAP_SYS_ADMIN change the host's hostname and domain name.",
        closes: "the host's hostname and domain name",
        references: &[
            "CIS Docker Benchmark v1.7.0 5.21: the host's UTS namespace is not shared",
            NIST,
        ],
        fix: "add {\"type\": \"uts\"} to linux.namespaces",
        field: "linux.namespaces",
        defaults: "",
        check: host_uts,
        remedy: None,
        fill: Some(fill_uts),
    },
    Rule {
        id: "host-cgroup-namespace",
        title: "The container has its own cgroup namespace",
        severity: Severity::Low,
        scope: Scope::Container,
        checks: "linux.namespaces has a cgroup namespace that is new, or joined by a path that is not the host's own.",
        why: "Without one, /proc/self/cgroup shows the host's cgroup hierarchy, telling the workload where it runs and what runs beside it.",
        closes: "the view of the host's cgroup tree",
        references: &[NIST],
        fix: "add {\"type\": \"cgroup\"} to linux.namespaces",
        field: "linux.namespaces",
        defaults: "",
        check: host_cgroup,
        remedy: None,
        fill: Some(fill_cgroup),
    },
    Rule {
        id: "user-namespace",
        title: "Root in the container is not root on the host",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.namespaces has a new user namespace, and neither linux.uidMappings nor linux.gidMappings maps any id to host id 0.",
        why: "In a user namespace, root and every capability of the container are an unprivileged id on the host: a process that escapes the other layers still cannot act as host root.",
        closes: "host root: the container's root and capabilities acting as host uid 0",
        references: &[
            "CIS Docker Benchmark v1.7.0 5.31: the host's user namespace is not shared",
            NIST,
        ],
        fix: "add {\"type\": \"user\"} to linux.namespaces with uidMappings and gidMappings to an unprivileged host range (e.g. containerID 0, hostID 100000, size 65536)",
        field: "linux.uidMappings",
        defaults: "host_id = 100000\nsize = 65536\n",
        check: user_namespace,
        remedy: None,
        fill: Some(fill_userns),
    },
    Rule {
        id: "capabilities",
        title: "Capabilities only from the allowed list",
        severity: Severity::High,
        scope: Scope::Process,
        checks: "Every capability in process.capabilities (bounding, effective, permitted, inheritable, ambient) is in the rule's `allowed` list. Hardening drops the others from every set.",
        why: "Capabilities such as CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE or CAP_NET_RAW are the usual first step of a container escape; the baseline list is what ordinary workloads need.",
        closes: "kernel privileges beyond the allowed list (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_NET_RAW, ...)",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Capabilities; restricted: Capabilities (drop ALL, add only NET_BIND_SERVICE)",
            "CIS Docker Benchmark v1.7.0 5.4: Linux kernel capabilities are restricted; 5.5: privileged containers are not used; 5.23: exec is not used with privileges",
            NIST,
        ],
        fix: "remove the listed capabilities from every set in process.capabilities",
        field: "process.capabilities",
        defaults: "allowed = [\"CAP_AUDIT_WRITE\", \"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FOWNER\", \"CAP_FSETID\", \"CAP_KILL\", \"CAP_MKNOD\", \"CAP_NET_BIND_SERVICE\", \"CAP_SETFCAP\", \"CAP_SETGID\", \"CAP_SETPCAP\", \"CAP_SETUID\", \"CAP_SYS_CHROOT\"]\n",
        check: capabilities,
        remedy: Some(drop_capabilities),
        fill: None,
    },
    Rule {
        id: "seccomp-learned",
        title: "The seccomp filter is the learned one",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.seccomp is exactly the rule's `filter`: the filter `palisade learn` wrote from a recording (default EPERM, the recorded calls allowed, with argument conditions where the recorded values allow them). Hardening puts it in place when the config has no filter, or when the config's filter lets run every call the learned one allows (conditions evaluated on the learned values), so that the replacement loosens nothing.",
        why: "A filter learned from the workload itself allows only what it was seen to do: every other call, including the next kernel bug's entry point, answers EPERM.",
        closes: "every system call the recorded workload never made, and the argument values it never used for clone, socket, ioctl, prctl, personality and setsockopt",
        references: &[NIST, "NIST SP 800-190 §4.5.1 (large attack surface)"],
        fix: "use the learned profile's filter (palisade learn writes the config with it), or learn again with this config",
        field: "linux.seccomp",
        defaults: "filter = {}\n",
        check: learned::seccomp_learned,
        remedy: Some(learned::apply_learned_seccomp),
        fill: Some(learned::apply_learned_seccomp),
    },
    Rule {
        id: "seccomp-enabled",
        title: "A seccomp filter is applied and does not allow everything",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.seccomp is present and its verdict, computed from defaultAction and the rules as palisade compiles them (an unknown name matches nothing; a rule with argument conditions lets some calls through; SCMP_ACT_LOG, SCMP_ACT_TRACE and SCMP_ACT_NOTIFY let calls run), denies every syscall of the rule's `syscalls` list: those every runtime's default filter denies. Hardening adds palisade's default filter when linux.seccomp is absent.",
        why: "Without a filter every syscall of the kernel is reachable; most kernel exploits used in container escapes go through syscalls ordinary workloads never make.",
        closes: "the syscalls every runtime's default filter denies (module loading, kexec, BPF, keyrings, userfaultfd, ...), however the filter spells its rules",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Seccomp (must not be Unconfined)",
            "CIS Docker Benchmark v1.7.0 5.22: the default seccomp profile is not disabled",
            NIST,
        ],
        fix: "set linux.seccomp, e.g. to palisade's profiles/seccomp/default.json",
        field: "linux.seccomp",
        defaults: "syscalls = [\"kexec_load\", \"kexec_file_load\", \"init_module\", \"finit_module\", \"delete_module\", \"open_by_handle_at\", \"bpf\", \"perf_event_open\", \"userfaultfd\", \"iopl\", \"ioperm\", \"acct\", \"swapon\", \"swapoff\", \"quotactl\", \"lookup_dcookie\", \"add_key\", \"request_key\"]\n",
        check: seccomp_enabled,
        remedy: Some(add_default_seccomp),
        fill: None,
    },
    Rule {
        id: "seccomp-default-deny",
        title: "The seccomp filter denies what it does not list",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.seccomp.defaultAction is SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD or SCMP_ACT_TRAP. Hardening adds palisade's default filter when linux.seccomp is absent.",
        why: "A deny-list filter lets through every syscall it forgot, including those added to the kernel after it was written; an allow-list does not.",
        closes: "every syscall the filter does not name, including those newer than it",
        references: &[
            "Kubernetes Pod Security Standards, restricted: Seccomp (RuntimeDefault or Localhost)",
            "CIS Docker Benchmark v1.7.0 5.22: the default seccomp profile is not disabled",
            NIST,
        ],
        fix: "use an allow-list filter with defaultAction SCMP_ACT_ERRNO, such as profiles/seccomp/default.json",
        field: "linux.seccomp",
        defaults: "",
        check: seccomp_default_deny,
        remedy: Some(add_default_seccomp),
        fill: None,
    },
    Rule {
        id: "seccomp-denies",
        title: "The seccomp filter denies the syscalls used in escapes",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.seccomp denies by default and no SCMP_ACT_ALLOW or SCMP_ACT_LOG rule names a syscall of the rule's `syscalls` list (whatever its argument conditions).",
        why: "io_uring, userfaultfd, bpf, perf_event_open, keyrings, module loading, kexec, namespace creation and the mount family are the kernel surface behind most container escapes and rarely needed by a workload.",
        closes: "the namespace, mount, io_uring, keyring, BPF and ptrace syscalls behind known escapes, and clone with CLONE_NEW* flags",
        references: &[NIST, "NIST SP 800-190 §4.5.1 (large attack surface)"],
        fix: "remove those syscalls from the filter's allow rules (palisade's profiles/seccomp/default.json denies them all)",
        field: "linux.seccomp",
        defaults: "syscalls = [\"io_uring_setup\", \"io_uring_enter\", \"io_uring_register\", \"userfaultfd\", \"keyctl\", \"add_key\", \"request_key\", \"bpf\", \"perf_event_open\", \"init_module\", \"finit_module\", \"delete_module\", \"kexec_load\", \"kexec_file_load\", \"unshare\", \"setns\", \"clone3\", \"mount\", \"umount\", \"umount2\", \"pivot_root\", \"fsopen\", \"fsconfig\", \"fsmount\", \"fspick\", \"move_mount\", \"open_tree\", \"mount_setattr\", \"open_by_handle_at\", \"ptrace\", \"process_vm_readv\", \"process_vm_writev\", \"pidfd_getfd\", \"kcmp\", \"lookup_dcookie\", \"quotactl\", \"swapon\", \"swapoff\", \"reboot\", \"syslog\", \"acct\", \"iopl\", \"ioperm\", \"modify_ldt\", \"vhangup\", \"nfsservctl\"]\n",
        check: seccomp_denies,
        remedy: None,
        fill: Some(add_default_seccomp),
    },
    identity::HOST_KEYRINGS,
    seccomp::SECCOMP_FLAGS,
    Rule {
        id: "masked-paths",
        title: "Sensitive /proc and /sys files are masked or read-only",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "linux.maskedPaths covers every path of the rule's `masked` list and linux.readonlyPaths (or maskedPaths) every path of `readonly` (a listed ancestor covers its descendants). Hardening adds the missing entries.",
        why: "/proc/kcore, /proc/keys, /proc/sysrq-trigger and their kind expose kernel memory and state or act on the whole host; the container's own /proc must hide them (the PSS procMount Default).",
        closes: "kernel memory, keys and host controls under /proc and /sys in the container's own /proc",
        references: &[
            "Kubernetes Pod Security Standards, baseline: /proc Mount Type (procMount Default)",
            NIST,
        ],
        fix: "add the listed paths to linux.maskedPaths / linux.readonlyPaths",
        field: "linux.maskedPaths",
        defaults: "masked = [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", \"/proc/scsi\", \"/sys/firmware\", \"/sys/devices/virtual/powercap\"]\nreadonly = [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]\n",
        check: masked_paths,
        remedy: Some(add_masked_paths),
        fill: None,
    },
    Rule {
        id: "sysctls",
        title: "Only safe sysctls",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "Every key of linux.sysctl is in the rule's `allowed` list (the Pod Security Standards' safe set by default).",
        why: "Other namespaced sysctls change kernel behaviour in ways that can weaken isolation or exhaust host resources (for example kernel.msgmax or net.core settings).",
        closes: "namespaced kernel settings outside the safe set",
        references: &["Kubernetes Pod Security Standards, baseline: Sysctls", NIST],
        fix: "remove the listed keys from linux.sysctl",
        field: "linux.sysctl",
        defaults: "allowed = [\"kernel.shm_rmid_forced\", \"net.ipv4.ip_local_port_range\", \"net.ipv4.ip_unprivileged_port_start\", \"net.ipv4.tcp_syncookies\", \"net.ipv4.ping_group_range\", \"net.ipv4.ip_local_reserved_ports\", \"net.ipv4.tcp_keepalive_time\", \"net.ipv4.tcp_fin_timeout\", \"net.ipv4.tcp_keepalive_intvl\", \"net.ipv4.tcp_keepalive_probes\"]\n",
        check: sysctls,
        remedy: None,
        fill: None,
    },
    Rule {
        id: "host-mounts",
        title: "No sensitive host paths are bind-mounted",
        severity: Severity::Critical,
        scope: Scope::Container,
        checks: "No bind mount's source (symlinks resolved on the host) is a path of the rule's `paths` list, lies beneath one, or is an ancestor of one; none is an ancestor of (or equal to) a path of `roots`, beneath which runtimes keep per-container files; none is a file named in `sockets`; no writable bind (or recursive bind made `ro` without `rro`) is at, beneath or above a path of `writable` or the runtime's own directory. With `only_allow`, every bind source lies in the bundle or beneath an `allow` entry. root.path lies in the bundle, in an image store's per-container overlay (`rootfs_stores`, `*` for one name, which the operator extends with `rootfs_stores` in config.toml) or beneath an `allow` entry, and neither holds nor lies in what the lists protect. Every directory an overlay names (lowerdir, upperdir, workdir) lies in the bundle or beneath an `allow` entry. Sources at or beneath an `allow` entry are not checked further.",
        why: "A bind of the host's /, /etc, /proc, /sys, /dev or a container engine's socket or state hands the container the host: it can rewrite host files, load host credentials, or start a privileged container through the engine.",
        closes: "host files: sensitive paths and engine sockets by bind, what the host executes by writable bind, host directories as overlay layers, a host directory as the root filesystem",
        references: &[
            "Kubernetes Pod Security Standards, baseline: HostPath Volumes",
            "CIS Docker Benchmark v1.7.0 5.6: sensitive host system directories are not mounted; 5.32: the Docker socket is not mounted inside any containers",
            "NIST SP 800-190 §4.5.5 (host file system tampering)",
        ],
        fix: "remove the bind mount, or mount only the specific non-sensitive directory the workload needs",
        field: "mounts",
        defaults: "paths = [\"/etc\", \"/proc\", \"/sys\", \"/dev\", \"/boot\", \"/root\", \"/lib/modules\", \"/usr/lib/modules\", \"/var/log\", \"/var/run/docker.sock\", \"/run/docker.sock\", \"/run/docker\", \"/run/containerd/containerd.sock\", \"/run/containerd/containerd.sock.ttrpc\", \"/run/containerd/s\", \"/run/containerd/runc\", \"/run/crio\", \"/run/podman\", \"/run/systemd\", \"/run/dbus\", \"/run/palisade\", \"/run/runc\", \"/run/k3s\", \"/run/libvirt\", \"/run/snapd.socket\", \"/run/snapd-snap.socket\", \"/run/user\", \"/run/postgresql\", \"/var/snap/lxd\", \"/var/lib/kubelet/pki\", \"/var/lib/kubelet/config.yaml\", \"/var/lib/kubelet/kubeconfig\", \"/var/lib/kubelet/device-plugins\", \"/var/lib/kubelet/plugins\", \"/var/lib/kubelet/plugins_registry\", \"/var/lib/kubelet/pod-resources\", \"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs\", \"/var/lib/containerd/io.containerd.content.v1.content\", \"/var/lib/containerd/io.containerd.metadata.v1.bolt\", \"/var/lib/docker/overlay2\", \"/var/lib/docker/image\", \"/var/lib/docker/containerd\", \"/var/lib/docker/network\", \"/var/lib/docker/plugins\", \"/var/lib/docker/swarm\", \"/var/lib/docker/buildkit\", \"/var/lib/containers/storage/overlay\", \"/var/lib/containers/storage/overlay-images\", \"/var/lib/containers/storage/overlay-layers\", \"/var/lib/containers/storage/libpod\", \"/var/lib/docker/rootfs\", \"/var/lib/docker/vfs\", \"/var/lib/docker/btrfs\", \"/var/lib/docker/zfs\", \"/var/lib/docker/fuse-overlayfs\", \"/var/lib/containers/storage/secrets\", \"/var/lib/containers/storage/vfs\", \"/var/lib/containers/storage/vfs-images\", \"/var/lib/containers/storage/vfs-layers\", \"/var/lib/containerd/io.containerd.snapshotter.v1.native\", \"/var/lib/containerd/io.containerd.snapshotter.v1.btrfs\", \"/var/lib/containerd/io.containerd.snapshotter.v1.devmapper\", \"/var/lib/rancher\", \"/var/lib/etcd\"]\nroots = [\"/var/lib/kubelet\", \"/var/lib/kubelet/pods\", \"/var/lib/containerd\", \"/run/containerd\", \"/run/containerd/io.containerd.runtime.v2.task\", \"/run/containers\", \"/var/lib/docker\", \"/var/lib/docker/containers\", \"/var/lib/docker/volumes\", \"/var/lib/containers\", \"/var/lib/containers/storage\", \"/var/lib/containers/storage/overlay-containers\", \"/var/lib/containers/storage/volumes\", \"/var/lib/docker/volumes/*\", \"/var/lib/docker/containers/*\", \"/var/lib/containers/storage/volumes/*\", \"/var/lib/containers/storage/overlay-containers/*\", \"/var/lib/kubelet/pods/*\", \"/run/containerd/io.containerd.runtime.v2.task/*\"]\nsockets = [\"docker.sock\", \"containerd.sock\", \"crio.sock\", \"podman.sock\", \"dockershim.sock\", \"cri-dockerd.sock\", \"kubelet.sock\", \"snapd.socket\", \"libvirt-sock\"]\nallow = []\nrootfs_stores = [\"/var/lib/docker/overlay2/*/merged\", \"/var/lib/docker/fuse-overlayfs/*/merged\", \"/var/lib/containers/storage/overlay/*/merged\"]\nwritable = [\"/usr\", \"/bin\", \"/sbin\", \"/lib\", \"/lib32\", \"/lib64\", \"/libx32\", \"/opt\", \"/usr/local\", \"/etc\", \"/boot\", \"/root\", \"/var/lib/kubelet\", \"/var/spool\", \"/opt/cni/bin\", \"/var/lib/dpkg\", \"/var/lib/cloud\"]\nonly_allow = false\n",
        check: host_mounts,
        remedy: None,
        fill: None,
    },
    identity::IDMAPPED_MOUNTS,
    Rule {
        id: "host-devices",
        title: "No host devices beyond the default set",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "linux.devices creates only the default devices, judged by their numbers whatever their path (null, zero, full, random, urandom, tty, ptmx, pty slaves: each the container's own; not c 5:1, the host's system console, nor the host's ttys, memory or disks) and those in `allowed` (\"c MAJOR:MINOR\", * for any minor); linux.resources.devices starts by denying every device and then allows read or write only to such devices; no devtmpfs is mounted. Hardening adds the initial deny-all and takes out a grant of the host's console (c 5:1), which containerd's and Docker's defaults carry.",
        why: "A device node of the host's disks, memory or kernel interfaces gives raw access beneath every other layer; without the device cgroup's deny-all, any node the container can mknod is usable.",
        closes: "host device nodes (disks, memory, kernel interfaces), as the device cgroup grants them on v1 and v2",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Privileged Containers",
            "CIS Docker Benchmark v1.7.0 5.18: host devices are not directly exposed to containers",
            NIST,
        ],
        fix: "remove the extra devices and start linux.resources.devices with {\"allow\": false, \"access\": \"rwm\"}",
        field: "linux.devices",
        defaults: "allowed = []\n",
        check: host_devices,
        remedy: Some(deny_devices_first),
        fill: None,
    },
    Rule {
        id: "kernel-filesystems",
        title: "Kernel filesystems only at their standard places",
        severity: Severity::Critical,
        scope: Scope::Container,
        checks: "Every mount that is not a bind makes a filesystem of an allowed type at its place: proc at /proc, sysfs at /sys, devpts at /dev/pts, mqueue at /dev/mqueue, cgroup and cgroup2 at /sys/fs/cgroup; tmpfs, ramfs and overlay anywhere (overlay layers are checked by host-mounts). No other type (debugfs, tracefs, bpf, securityfs, configfs, devtmpfs, hugetlbfs, efivarfs, pstore, binfmt_misc, fusectl, a disk filesystem), and no remount option.",
        why: "The masked and read-only paths and the /sys rules apply at the standard places only: a second proc at /p hands the container a writable /proc/sys (core_pattern runs a program on the host), a cgroup view elsewhere lets it rewrite its own limits (and on v1 reach release_agent), kernel filesystems expose kernel interfaces, and a disk filesystem is the host's storage.",
        closes: "kernel filesystems and host storage: a second, unmasked /proc; cgroup files outside /sys/fs/cgroup; debugfs, bpf, securityfs and the like; disks",
        references: &[
            "Kubernetes Pod Security Standards, restricted: Volume Types (an allowlist); baseline: /proc Mount Type",
            "CIS Docker Benchmark v1.7.0 5.5: privileged containers are not used",
            "NIST SP 800-190 §4.5.5 (host file system tampering)",
        ],
        fix: "mount proc, sysfs and cgroup only at /proc, /sys and /sys/fs/cgroup, and no other kernel filesystem",
        field: "mounts",
        defaults: "",
        check: kernel_filesystems,
        remedy: None,
        fill: None,
    },
    Rule {
        id: "sys-readonly",
        title: "/sys is read-only",
        severity: Severity::High,
        scope: Scope::Container,
        checks: "Every mount at or beneath /sys (sysfs, cgroup, binds) has the ro (or rro) option. Hardening adds ro.",
        why: "A writable /sys changes host kernel and device settings (uevent helpers, device power, cgroup files of the host) from inside the container.",
        closes: "writable kernel and device settings under /sys and in cgroup views",
        references: &[
            "Kubernetes Pod Security Standards, baseline: Privileged Containers",
            "CIS Docker Benchmark v1.7.0 5.5: privileged containers are not used",
            NIST,
        ],
        fix: "add \"ro\" to the options of the /sys mounts",
        field: "mounts",
        defaults: "",
        check: sys_readonly,
        remedy: Some(sys_make_readonly),
        fill: None,
    },
    Rule {
        id: "mount-propagation",
        title: "No shared mount propagation",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "No mount has the shared or rshared option and linux.rootfsPropagation is not shared or rshared.",
        why: "With shared propagation, mounts made inside the container appear on the host (and the reverse), so a container can place mounts over host paths.",
        closes: "mounts crossing between the container and the host",
        references: &[
            "CIS Docker Benchmark v1.7.0 5.20: the mount propagation mode is not set to shared",
            NIST,
        ],
        fix: "use private or slave (rslave) propagation",
        field: "mounts",
        defaults: "",
        check: propagation,
        remedy: None,
        fill: None,
    },
    Rule {
        id: "hooks",
        title: "Hooks run only allowed host programs",
        severity: Severity::Critical,
        scope: Scope::Container,
        checks: "Every prestart, createRuntime, poststart and poststop hook's path is, as spelled (no symlink step, no `..`), a program of the rule's `allowed` list, which the operator extends with `hooks` in config.toml; a /proc/PID/exe path (Docker's prestart hook) counts when that process runs an allowed program, for prestart and createRuntime only. No createContainer or startContainer hook (they run an image's program). A hook's env holds only PATH of the system directories, TERM, LANG, LANGUAGE, LC_* without a path, and the names of the rule's `env` (which the operator extends). Under profiles without this rule, every hook is recorded in the audit record.",
        why: "A hook is a program the runtime runs on the host, as root, outside every layer of the container: a config that may name any program and arguments runs any command on the host.",
        closes: "host programs that the config names, run as root outside the container",
        references: &[
            "runtime-spec config.md#posix-platform-hooks",
            "NIST SP 800-190 §4.4.3 (insecure container runtime configurations)",
        ],
        fix: "remove the hook, or have the operator list its program under hooks in /etc/palisade/config.toml",
        field: "hooks",
        defaults: "allowed = []\nenv = []\n",
        check: hooks,
        remedy: None,
        fill: None,
    },
    sockets::RUNTIME_SOCKETS,
    Rule {
        id: "lsm-labels",
        title: "AppArmor and SELinux labels are not unconfined",
        severity: Severity::Medium,
        scope: Scope::Process,
        checks: "process.apparmorProfile is not \"unconfined\" and process.selinuxLabel does not name the spc_t or unconfined_t type (either may be unset).",
        why: "An explicitly unconfined label turns off the mandatory access control the host relies on for containers.",
        closes: "the host's mandatory access control, turned off by label",
        references: &[
            "Kubernetes Pod Security Standards, baseline: AppArmor; SELinux",
            "CIS Docker Benchmark v1.7.0 5.2: an AppArmor profile is enabled; 5.3: SELinux security options are set",
            NIST,
        ],
        fix: "remove the unconfined label or use the runtime's default",
        field: "process.apparmorProfile",
        defaults: "",
        check: lsm_labels,
        remedy: None,
        fill: None,
    },
    Rule {
        id: "run-as-non-root",
        title: "The process does not run as host root",
        severity: Severity::High,
        scope: Scope::Process,
        checks: "process.user.uid is not 0, or a new user namespace maps it to a host uid other than 0.",
        why: "Root in the container is root on the host's files and kernel objects the other layers miss; most escapes need it.",
        closes: "a process that is host uid 0 (directly, or through a user namespace's map)",
        references: &[
            "Kubernetes Pod Security Standards, restricted: Running as Non-root; Running as Non-root user",
            "CIS Docker Benchmark v1.7.0 5.24: exec is not used with the root user",
            NIST,
        ],
        fix: "set process.user.uid (and gid) to an unprivileged id, or add a user namespace mapping 0 to an unprivileged host id",
        field: "process.user",
        defaults: "uid = 65534\n",
        check: run_as_non_root,
        remedy: None,
        fill: Some(fill_non_root),
    },
    Rule {
        id: "no-new-privileges",
        title: "no_new_privs is set",
        severity: Severity::High,
        scope: Scope::Process,
        checks: "process.noNewPrivileges is true. Hardening sets it.",
        why: "Without no_new_privs a setuid binary or a file capability in the image raises the process's privilege at exec.",
        closes: "privilege gained at exec through setuid binaries and file capabilities",
        references: &[
            "Kubernetes Pod Security Standards, restricted: Privilege Escalation (allowPrivilegeEscalation false)",
            "CIS Docker Benchmark v1.7.0 5.26: the container is restricted from acquiring additional privileges",
            NIST,
        ],
        fix: "set process.noNewPrivileges to true",
        field: "process.noNewPrivileges",
        defaults: "",
        check: no_new_privileges,
        remedy: Some(set_no_new_privileges),
        fill: None,
    },
    Rule {
        id: "readonly-rootfs",
        title: "The root filesystem is read-only",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "root.readonly is true.",
        why: "A read-only root keeps an attacker from altering the container's binaries and libraries, and makes writable places explicit mounts.",
        closes: "changes to the image's binaries and libraries, including through a writable bind of the root filesystem",
        references: &[
            "CIS Docker Benchmark v1.7.0 5.13: the container's root filesystem is mounted as read only",
            "NIST SP 800-190 §4.4.4 (app vulnerabilities)",
        ],
        fix: "set root.readonly to true and mount tmpfs where the workload writes",
        field: "root",
        defaults: "",
        check: readonly_rootfs,
        remedy: None,
        fill: Some(fill_readonly_rootfs),
    },
    resources::MEMORY_LIMIT,
    resources::PIDS_LIMIT,
    resources::SCHEDULING,
    resources::OOM_SCORE_ADJ,
    Rule {
        id: "landlock-learned",
        title: "Landlock confines writes and TCP ports to what the recording saw",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "process.landlock handles the write rights of `access` and TCP bind and connect (without best effort), grants the write rights only at or beneath the rule's `write_dirs` (file rights also on the files of `write_files`), and allows TCP bind and connect only on the ports of `bind_tcp` and `connect_tcp`. Hardening adds that ruleset when the config has none and noNewPrivileges is true.",
        why: "A learned ruleset keeps a compromised workload from writing anywhere it did not write while recorded, and from listening or connecting on other TCP ports, by any path.",
        closes: "writes outside the recorded directories and files, and TCP bind and connect on other ports",
        references: &["NIST SP 800-190 §4.5.5 (host file system tampering)", "NIST SP 800-190 §4.4.2 (unbounded network access from containers)"],
        fix: "remove process.landlock so that the learned ruleset is added, or narrow it to the recorded places and ports",
        field: "process",
        defaults: "access = [\"write_file\", \"remove_dir\", \"remove_file\", \"make_char\", \"make_dir\", \"make_reg\", \"make_sock\", \"make_fifo\", \"make_block\", \"make_sym\", \"refer\", \"truncate\"]\nwrite_dirs = []\nwrite_files = []\nbind_tcp = []\nconnect_tcp = []\n",
        check: learned::landlock_learned,
        remedy: Some(learned::add_learned_landlock),
        fill: Some(learned::add_learned_landlock),
    },
    Rule {
        id: "landlock-writes",
        title: "Landlock confines writes to the writable mounts",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "process.landlock (or the run.oci.landlock annotation) handles every filesystem right of the rule's `access` list, and grants them only at or beneath mounts that are not read-only (or anywhere when the root is writable). Hardening adds such a ruleset when the config has none and noNewPrivileges is true.",
        why: "Landlock is enforced by the kernel on every path lookup: even a process that gets past the mount layout (a leaked descriptor, a /proc magic link, a racing mount) cannot write outside the places the container declared writable.",
        closes: "writes outside the writable mounts by any path (a leaked descriptor, a magic link, a racing mount)",
        references: &[
            "NIST SP 800-190 §4.5.5 (host file system tampering)",
            NIST,
        ],
        fix: "add process.landlock handling the write rights, with pathBeneath rules for the writable mounts only",
        field: "process",
        defaults: "access = [\"write_file\", \"remove_dir\", \"remove_file\", \"make_char\", \"make_dir\", \"make_reg\", \"make_sock\", \"make_fifo\", \"make_block\", \"make_sym\", \"refer\", \"truncate\"]\n",
        check: landlock_writes,
        remedy: Some(add_landlock),
        fill: None,
    },
    Rule {
        id: "landlock-network",
        title: "Landlock restricts TCP bind and connect",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "process.landlock handles bind_tcp and connect_tcp (Landlock ABI 4), so only the ports of its networkPort rules are usable.",
        why: "A compromised workload that cannot open TCP connections cannot reach internal services or exfiltrate data over TCP, whatever the network namespace allows.",
        closes: "TCP bind and connect to ports the ruleset does not name",
        references: &["NIST SP 800-190 §4.4.2 (unbounded network access from containers)"],
        fix: "add \"bind_tcp\" and \"connect_tcp\" to process.landlock.handledAccess.handledAccessNetwork, with networkPort rules for the ports the workload needs",
        field: "process",
        defaults: "",
        check: landlock_network,
        remedy: None,
        fill: Some(fill_landlock_network),
    },
    Rule {
        id: "noexec-writable",
        title: "Writable mounts are not executable",
        severity: Severity::Medium,
        scope: Scope::Container,
        checks: "Every bind, tmpfs or ramfs mount that is not read-only has the noexec option.",
        why: "Where the container can write and execute, an attacker can drop and run a tool; noexec on every writable place means only the image's own (read-only) binaries run.",
        closes: "running files the container wrote",
        references: &["NIST SP 800-190 §4.4.4 (app vulnerabilities)", NIST],
        fix: "add \"noexec\" to the options of the writable mounts",
        field: "mounts",
        defaults: "",
        check: noexec_writable,
        remedy: None,
        fill: Some(fill_noexec),
    },
];

#[cfg(test)]
mod hostile;
mod identity;
mod learned;
mod resources;
mod seccomp;
mod sockets;
pub use learned::{native_arch, oci_arch};
#[cfg(test)]
mod tests;
