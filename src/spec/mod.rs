//! config.json → [`Plan`]: one validated description of the container that the policy check
//! and every later step read. Nothing here touches the system beyond reading the bundle.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub mod devices;
pub mod landlock;
pub mod memory_policy;
pub mod mount_options;
pub mod mounts;
pub mod ranges;

pub use devices::DeviceRule;
use mount_options::MountOptions;
pub use mounts::{Mount, MountIdmap, MountKind, Pin};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
}

pub(crate) fn invalid(field: impl Into<String>, why: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field: field.into(),
        why: why.into(),
    }
}

/// The namespace kinds of runtime-spec config-linux.md#namespaces, with their CLONE_* flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    User,
    Cgroup,
    Time,
}

impl NsKind {
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Pid,
        NsKind::Network,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Mount,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    pub fn clone_flag(self) -> i32 {
        match self {
            NsKind::Pid => libc::CLONE_NEWPID,
            NsKind::Network => libc::CLONE_NEWNET,
            NsKind::Mount => libc::CLONE_NEWNS,
            NsKind::Ipc => libc::CLONE_NEWIPC,
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::User => libc::CLONE_NEWUSER,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP,
            NsKind::Time => libc::CLONE_NEWTIME,
        }
    }

    /// The spec's name, which is also the runtime-spec `type` value.
    pub fn spec_name(self) -> &'static str {
        match self {
            NsKind::Pid => "pid",
            NsKind::Network => "network",
            NsKind::Mount => "mount",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The file under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::Network => "net",
            NsKind::Mount => "mnt",
            other => other.spec_name(),
        }
    }

    fn from_oci(t: LinuxNamespaceType) -> NsKind {
        match t {
            LinuxNamespaceType::Pid => NsKind::Pid,
            LinuxNamespaceType::Network => NsKind::Network,
            LinuxNamespaceType::Mount => NsKind::Mount,
            LinuxNamespaceType::Ipc => NsKind::Ipc,
            LinuxNamespaceType::Uts => NsKind::Uts,
            LinuxNamespaceType::User => NsKind::User,
            LinuxNamespaceType::Cgroup => NsKind::Cgroup,
            LinuxNamespaceType::Time => NsKind::Time,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub kind: NsKind,
    /// Join this namespace instead of creating one.
    pub path: Option<PathBuf>,
    /// The (device, inode) of the nsfs file `path` led to when the config was planned:
    /// what the policy judged, and what the init checks the file it opens against, so that
    /// a path swapped between the check and the join is refused.
    pub identity: Option<(u64, u64)>,
}

/// Where the runtime keeps what it computes once for many containers (compiled seccomp
/// filters): a host path no container may bind.
pub const RUNTIME_CACHE: &str = "/run/palisade-cache";

/// The (device, inode) of the namespace file at `path`, following every link (a /proc
/// magic link, a bind-mounted nsfs file).
/// statfs(2) f_type of the namespace filesystem (linux/magic.h).
pub use nix::sys::statfs::NSFS_MAGIC;

pub fn ns_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The host's own namespaces of `kind`: the runtime's (managers run palisade in the host's
/// namespaces) and pid 1's (for a runtime started inside a namespace of its own).
pub fn host_ns_identities(kind: NsKind) -> Vec<(u64, u64)> {
    ["self", "1"]
        .iter()
        .filter_map(|p| ns_identity(Path::new(&format!("/proc/{p}/ns/{}", kind.proc_name()))))
        .collect()
}

/// One line of a uid or gid map: `size` ids from `container` on are `host` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

fn id_maps(v: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>) -> Vec<IdMap> {
    v.iter()
        .flatten()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path: PathBuf,
    /// 'c', 'b', 'u' or 'p'.
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Hook {
    pub path: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// Every list with its runtime-spec name, in the order the lifecycle runs them.
    pub fn by_kind(&self) -> [(&'static str, &[Hook]); 6] {
        [
            ("prestart", &self.prestart),
            ("createRuntime", &self.create_runtime),
            ("createContainer", &self.create_container),
            ("startContainer", &self.start_container),
            ("poststart", &self.poststart),
            ("poststop", &self.poststop),
        ]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: Vec<caps::Capability>,
    pub effective: Vec<caps::Capability>,
    pub permitted: Vec<caps::Capability>,
    pub inheritable: Vec<caps::Capability>,
    pub ambient: Vec<caps::Capability>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone)]
pub struct Process {
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub caps: CapSets,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// process.execCPUAffinity, which applies to `exec` only (not to the init).
    pub exec_cpu_affinity: CpuAffinity,
    /// process.scheduler, as sched_setattr(2) takes it.
    pub scheduler: Option<libc::sched_attr>,
    /// process.ioPriority, as ioprio_set(2) takes it.
    pub io_priority: Option<i32>,
    /// What was left out rather than refused (config.md: capabilities that cannot be
    /// granted are logged as warnings); create logs them.
    pub warnings: Vec<String>,
}

/// runtime-spec config.md#process `execCPUAffinity`, as CPU numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuAffinity {
    /// Where the runtime runs before the new process is in the container's cgroup.
    pub initial: Option<Vec<usize>>,
    /// The process's own once in the cgroup; without it, every CPU the cgroup allows.
    pub last: Option<Vec<usize>>,
}

/// The validated container: absolute paths, parsed mount options, known namespaces.
#[derive(Debug, Clone)]
pub struct Plan {
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// The directory `rootfs` led to when planned: the rootfs step checks that the root it
    /// opens is still that one (a path swapped since the check could lead to the host's /).
    pub rootfs_pin: Option<Pin>,
    pub rootfs_readonly: bool,
    pub process: Process,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub mounts: Vec<Mount>,
    pub namespaces: Vec<Namespace>,
    pub rootfs_propagation: MsFlags,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub devices: Vec<Device>,
    pub sysctl: BTreeMap<String, String>,
    pub hooks: Hooks,
    pub annotations: BTreeMap<String, String>,
    pub cgroups_path: Option<PathBuf>,
    /// linux.uidMappings / gidMappings for a new user namespace.
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    /// process.landlock (or the run.oci.landlock annotation), validated.
    pub landlock: Option<self::landlock::Landlock>,
    /// linux.seccomp as given; compiled by isolate::seccomp before anything is created.
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// linux.resources as given (limits are planned per host cgroup version at create).
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// linux.resources.devices followed by the devices every container may use.
    pub device_rules: Vec<DeviceRule>,
    /// How many of `device_rules` come from the config (the rest are palisade's defaults).
    pub device_rules_given: usize,
    /// linux.timeOffsets: (clock, seconds, nanoseconds) for a new time namespace.
    pub time_offsets: Vec<(String, i64, u32)>,
    /// process.apparmorProfile and process.selinuxLabel, read by the policy (create refuses
    /// both: neither LSM is available to palisade yet).
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
    /// linux.memoryPolicy, validated (runtime-spec 1.3).
    pub memory_policy: Option<memory_policy::MemoryPolicy>,
    /// linux.personality: the persona personality(2) takes (PER_LINUX or PER_LINUX32).
    pub personality: Option<u64>,
    /// linux.netDevices: (host name, name in the container), sorted by host name.
    pub net_devices: Vec<NetDevice>,
    /// Layers the init cannot apply yet are kept here so that create refuses them.
    pub unsupported: Vec<String>,
    /// Whether the container gets a session keyring of its own (create without
    /// --no-new-keyring, as runc): else it keeps the caller's, a host object.
    pub new_session_keyring: bool,
}

/// One entry of linux.netDevices (runtime-spec 1.3 config-linux.md#network-devices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevice {
    /// The device's name in the runtime's network namespace.
    pub host: String,
    /// Its name in the container's; may end in a `%d` template the kernel fills in.
    pub name: String,
}

impl Plan {
    pub fn namespace(&self, kind: NsKind) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.kind == kind)
    }

    /// Namespaces to be created (not joined): their CLONE_* flags.
    pub fn new_namespace_flags(&self) -> i32 {
        self.namespaces
            .iter()
            .filter(|n| n.path.is_none())
            .fold(0, |f, n| f | n.kind.clone_flag())
    }
}

/// config.json as read: its bytes (hashed for the audit record) and its document (which the
/// policy may harden before it is planned again).
pub struct Document {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub value: serde_json::Value,
}

/// Reads one config.json.
pub fn read_document(path: &Path) -> Result<Document, SpecError> {
    let bytes = std::fs::read(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value = serde_json::from_slice(&bytes).map_err(|source| SpecError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Document {
        path: path.to_path_buf(),
        bytes,
        value,
    })
}

/// Whether the root filesystem must exist: `create` needs it; `check` and `spec --profile`
/// look at a config alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rootfs {
    MustExist,
    MayBeAbsent,
}

/// Reads `<bundle>/config.json` and validates it into a [`Plan`].
pub fn load(bundle: &Path) -> Result<Plan, SpecError> {
    let bundle = absolute_bundle(bundle)?;
    let doc = read_document(&bundle.join("config.json"))?;
    plan_document(&doc.value, &bundle, Rootfs::MustExist)
}

pub fn absolute_bundle(bundle: &Path) -> Result<PathBuf, SpecError> {
    std::path::absolute(bundle).map_err(|source| SpecError::Read {
        path: bundle.to_path_buf(),
        source,
    })
}

/// Validates a config document into a [`Plan`]; `bundle` must be absolute.
pub fn plan_document(
    value: &serde_json::Value,
    bundle: &Path,
    rootfs: Rootfs,
) -> Result<Plan, SpecError> {
    // From the borrowed document: no copy of its tree (peak RSS, scripts/bench.sh).
    let spec = crate::document::spec(value).map_err(|source| SpecError::Parse {
        path: bundle.join("config.json"),
        source,
    })?;
    let mut plan = plan(spec, bundle, rootfs)?;
    // oci-spec does not know process.landlock yet: read it from the raw document.
    plan.landlock = landlock(value, &plan)?;
    Ok(plan)
}

fn landlock(
    raw: &serde_json::Value,
    plan: &Plan,
) -> Result<Option<self::landlock::Landlock>, SpecError> {
    use self::landlock::{Landlock, ANNOTATION};
    let (value, field) = match (
        &raw["process"]["landlock"],
        plan.annotations.get(ANNOTATION),
    ) {
        (serde_json::Value::Null, None) => return Ok(None),
        (serde_json::Value::Null, Some(text)) => (
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| invalid(format!("annotations[{ANNOTATION:?}]"), e.to_string()))?,
            format!("annotations[{ANNOTATION:?}]"),
        ),
        (v, _) => (v.clone(), "process.landlock".to_string()),
    };
    let l: Landlock = serde_json::from_value(value).map_err(|e| invalid(&field, e.to_string()))?;
    l.validate().map_err(|e| invalid(&field, e.to_string()))?;
    if !plan.process.no_new_privileges {
        return Err(invalid(
            &field,
            "Landlock needs process.noNewPrivileges: true",
        ));
    }
    Ok(Some(l))
}

/// Validates a parsed spec into a [`Plan`]; `bundle` must be absolute.
pub fn plan(mut spec: Spec, bundle: &Path, must: Rootfs) -> Result<Plan, SpecError> {
    oci_version(spec.version())?;
    // Moved out, not copied: the seccomp filter alone can be hundreds of rules.
    let mut linux = spec.linux_mut().take().unwrap_or_default();
    let given = spec.mounts_mut().take().unwrap_or_default();
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "missing: the bundle must name its root filesystem"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = match std::fs::canonicalize(&rootfs) {
        Ok(r) => r,
        Err(_) if must == Rootfs::MayBeAbsent => rootfs,
        Err(e) => {
            return Err(invalid(
                "root.path",
                format!("rootfs {} is not usable: {e}", rootfs.display()),
            ))
        }
    };
    if must == Rootfs::MustExist && !rootfs.is_dir() {
        return Err(invalid(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }

    let process = process(&spec)?;
    let namespaces = namespaces(linux.namespaces().as_deref().unwrap_or_default())?;
    let mut unsupported = Vec::new();

    // The mounts are moved out too, and their field names spelled only for an error: this
    // runs per mount, twice when a profile hardens (scripts/bench.sh, the mounts row).
    let field = |i: usize, sub: &str| format!("mounts[{i}]{sub}");
    let mut mounts = Vec::with_capacity(given.len());
    let mut pins: std::collections::HashMap<PathBuf, Option<Pin>> = Default::default();
    for (i, mut m) in given.into_iter().enumerate() {
        let mut destination = std::mem::take(m.destination_mut());
        // runtime-spec 1.3 config.md#mounts: a relative destination (deprecated) is read
        // as relative to "/". Made absolute here, so that everything after reads one form.
        if destination.is_relative() && !destination.as_os_str().is_empty() {
            destination = Path::new("/").join(destination);
        }
        container_path(&destination, || field(i, ".destination"))?;
        let options = MountOptions::parse(m.options().as_deref().unwrap_or_default());
        let idmap = mount_idmap(&m, &options, &linux, &namespaces, || field(i, ""))?;
        let mut mount = Mount {
            destination,
            source: m.source_mut().take(),
            typ: m.typ_mut().take().unwrap_or_default(),
            options,
            idmap,
            source_pin: None,
        };
        // mount(2) reads at most a page of data, the last byte its NUL (fs/namespace.c,
        // path_mount): longer options would be cut short where the policy cannot see.
        if mount.options.data_string().len() > 4095 {
            return Err(invalid(
                field(i, ".options"),
                "the filesystem options are longer than the 4095 bytes mount(2) reads",
            ));
        }
        if mount.idmap.is_some() && !mount.is_bind() {
            return Err(invalid(field(i, ""), "only bind mounts can be idmapped"));
        }
        if mount.is_bind() {
            match &mount.source {
                Some(s) if s.is_absolute() => {}
                // Relative bind sources are relative to the bundle, as runc does.
                Some(s) => mount.source = Some(bundle.join(s)),
                None => return Err(invalid(field(i, ".source"), "a bind mount needs a source")),
            }
            if mount.kind() == MountKind::Bind {
                // One pin per distinct source: each bind is checked against it when made.
                let src = mount.source.clone().unwrap_or_default();
                mount.source_pin = pins.entry(src).or_insert_with_key(|s| Pin::of(s)).clone();
            }
        } else if mount.typ.is_empty() {
            return Err(invalid(field(i, ".type"), "missing mount type"));
        }
        mounts.push(mount);
    }

    let rootfs_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => mount_options::propagation_flag(p)
            .ok_or_else(|| invalid("linux.rootfsPropagation", format!("unknown value {p:?}")))?,
    };

    let mut devices = Vec::new();
    for (i, d) in linux
        .devices()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        use oci_spec::runtime::LinuxDeviceType as T;
        let field = format!("linux.devices[{i}]");
        let kind = match d.typ() {
            T::C | T::U => 'c',
            T::B => 'b',
            T::P => 'p',
            T::A => {
                return Err(invalid(
                    format!("{field}.type"),
                    "type 'a' is not a device node",
                ))
            }
        };
        container_path(d.path(), || format!("{field}.path"))?;
        let path = d.path().clone();
        if !path.starts_with("/dev") {
            return Err(invalid(
                format!("{field}.path"),
                "devices must live under /dev",
            ));
        }
        // One node per path: a second entry would find the first's node (in a user
        // namespace, a host node bound there) and act on it.
        if devices.iter().any(|o: &Device| o.path == path) {
            return Err(invalid(
                format!("{field}.path"),
                format!("{} is listed twice", path.display()),
            ));
        }
        devices.push(Device {
            path,
            kind,
            major: u64::try_from(d.major()).map_err(|_| invalid(&field, "negative major"))?,
            minor: u64::try_from(d.minor()).map_err(|_| invalid(&field, "negative minor"))?,
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }

    let paths = |v: &Option<Vec<String>>, field: &str| -> Result<Vec<PathBuf>, SpecError> {
        v.as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                container_path(Path::new(p), || format!("{field}[{i}]")).map(|()| p.into())
            })
            .collect()
    };
    let masked_paths = paths(linux.masked_paths(), "linux.maskedPaths")?;
    let readonly_paths = paths(linux.readonly_paths(), "linux.readonlyPaths")?;

    let sysctl: BTreeMap<String, String> = linux
        .sysctl()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for key in sysctl.keys() {
        validate_sysctl(key, &namespaces)?;
    }

    let has_new = |k: NsKind| namespaces.iter().any(|n| n.kind == k);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_new(NsKind::Uts) {
        return Err(invalid(
            "hostname",
            "setting the hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has_new(NsKind::Uts) {
        return Err(invalid(
            "domainname",
            "setting the domainname needs a uts namespace",
        ));
    }
    if !has_new(NsKind::Mount) {
        return Err(invalid(
            "linux.namespaces",
            "a mount namespace is required: palisade never mounts in the host's namespace",
        ));
    }

    // Layers that issue-3 steps apply; until then a config asking for them is refused rather
    // than silently run without them (fail closed).
    let (uid_mappings, gid_mappings) =
        (id_maps(linux.uid_mappings()), id_maps(linux.gid_mappings()));
    match namespaces.iter().find(|n| n.kind == NsKind::User) {
        None if !uid_mappings.is_empty() || !gid_mappings.is_empty() => {
            return Err(invalid(
                "linux.uidMappings",
                "mappings need a user namespace in linux.namespaces",
            ));
        }
        Some(Namespace { path: None, .. })
            if uid_mappings.is_empty() || gid_mappings.is_empty() =>
        {
            return Err(invalid(
                "linux.uidMappings",
                "a new user namespace needs both uidMappings and gidMappings",
            ));
        }
        _ => {}
    }
    let mut time_offsets = Vec::new();
    for (clock, o) in linux.time_offsets().clone().unwrap_or_default() {
        if clock != "monotonic" && clock != "boottime" {
            return Err(invalid(
                format!("linux.timeOffsets.{clock}"),
                "only monotonic and boottime can be offset",
            ));
        }
        time_offsets.push((clock, o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0)));
    }
    time_offsets.sort();
    if !time_offsets.is_empty()
        && !namespaces
            .iter()
            .any(|n| n.kind == NsKind::Time && n.path.is_none())
    {
        return Err(invalid("linux.timeOffsets", "needs a new time namespace"));
    }
    let device_rules = match linux.resources() {
        None => vec![],
        Some(r) => device_rules(r, &devices)?,
    };
    for key in linux
        .resources()
        .as_ref()
        .and_then(|r| r.unified().as_ref())
        .into_iter()
        .flat_map(|u| u.keys())
    {
        // cgroup.procs, cgroup.threads, cgroup.kill, cgroup.freeze, cgroup.type and
        // cgroup.subtree_control act on processes and on the tree, which the runtime
        // manages: a pid written to cgroup.procs moves a host process into the container's
        // cgroup (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files").
        if key.starts_with("cgroup.") {
            return Err(invalid(
                format!("linux.resources.unified[{key:?}]"),
                "core cgroup files are the runtime's to manage; set limits through their controller's files",
            ));
        }
    }
    let label = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned();
    let apparmor_profile = label(
        spec.process()
            .as_ref()
            .and_then(|p| p.apparmor_profile().as_ref()),
    );
    let selinux_label = label(
        spec.process()
            .as_ref()
            .and_then(|p| p.selinux_label().as_ref()),
    );
    if let Some(p) = spec.process() {
        if p.apparmor_profile()
            .as_deref()
            .is_some_and(|s| !s.is_empty())
        {
            unsupported.push("process.apparmorProfile (AppArmor is not available)".into());
        }
        if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) {
            unsupported.push("process.selinuxLabel (SELinux is not active)".into());
        }
    }

    let memory_policy = linux
        .memory_policy()
        .as_ref()
        .map(memory_policy::plan)
        .transpose()?;
    let personality = match linux.personality() {
        None => None,
        Some(p) => {
            if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
                return Err(invalid(
                    "linux.personality.flags",
                    "no personality flags are supported (runtime-spec config-linux.md#personality)",
                ));
            }
            Some(match p.domain() {
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0,
                oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 8,
            })
        }
    };
    let net_devices = net_devices(&linux, &namespaces)?;
    if linux.intel_rdt().is_some() {
        unsupported.push("linux.intelRdt (resctrl is not supported by palisade)".into());
    }
    if linux
        .mount_label()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        unsupported.push("linux.mountLabel (SELinux is not active)".into());
    }

    let hooks = hooks(&spec)?;
    early_filter(&process, linux.seccomp().as_ref())?;
    Ok(Plan {
        oci_version: spec.version().clone(),
        bundle: bundle.to_path_buf(),
        rootfs_pin: Pin::of(&rootfs),
        rootfs,
        rootfs_readonly: root.readonly().unwrap_or(false),
        process,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        mounts,
        namespaces,
        rootfs_propagation,
        masked_paths,
        readonly_paths,
        devices,
        sysctl,
        hooks,
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        cgroups_path: linux.cgroups_path().clone(),
        uid_mappings,
        gid_mappings,
        landlock: None,
        resources: linux.resources().clone(),
        seccomp: linux.seccomp_mut().take(),
        device_rules_given: linux
            .resources()
            .as_ref()
            .and_then(|r| r.devices().as_ref())
            .map_or(0, |d| d.len()),
        device_rules,
        time_offsets,
        apparmor_profile,
        selinux_label,
        memory_policy,
        personality,
        net_devices,
        unsupported,
        new_session_keyring: true,
    })
}

/// The calls by which the init gives up privilege after an early filter (noNewPrivileges
/// false: the config's filter is loaded at `seccomp_early`, before `identity` and
/// `capabilities`).
const PRIVILEGE_CALLS: &[&str] = &[
    "setgroups",
    "setgroups32",
    "setresuid",
    "setresuid32",
    "setresgid",
    "setresgid32",
    "capset",
    "capget",
    "prctl",
];

/// With an early filter, a rule that makes those calls report success without running them
/// (SCMP_ACT_ERRNO with errnoRet 0, or SCMP_ACT_NOTIFY, whose agent may answer success)
/// would leave the process root with every capability while the runtime believes it
/// dropped them. Such a filter is refused; an EPERM or a kill fails closed and is allowed.
fn early_filter(
    process: &Process,
    seccomp: Option<&oci_spec::runtime::LinuxSeccomp>,
) -> Result<(), SpecError> {
    use oci_spec::runtime::LinuxSeccompAction as A;
    let Some(s) = seccomp else { return Ok(()) };
    if process.no_new_privileges {
        return Ok(());
    }
    let fakes = |a: A, errno: Option<u32>| {
        a == A::ScmpActNotify || (a == A::ScmpActErrno && errno == Some(0))
    };
    let refuse = |what: String| {
        Err(invalid(
            "linux.seccomp",
            format!(
                "{what}: with process.noNewPrivileges false the filter is loaded before the runtime drops privileges, and such a rule would make those calls report success without running (set noNewPrivileges, or let these calls through)"
            ),
        ))
    };
    let rules = s.syscalls().as_deref().unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        if fakes(r.action(), r.errno_ret())
            && r.names()
                .iter()
                .any(|n| PRIVILEGE_CALLS.contains(&n.as_str()))
        {
            return refuse(format!(
                "syscalls[{i}] answers a privilege call without running it"
            ));
        }
    }
    if fakes(s.default_action(), s.default_errno_ret()) {
        let allowed = |name: &str| {
            rules.iter().any(|r| {
                matches!(r.action(), A::ScmpActAllow | A::ScmpActLog)
                    && r.args().as_ref().is_none_or(|a| a.is_empty())
                    && r.names().iter().any(|n| n == name)
            })
        };
        // The 32-bit names are not x86_64 calls: the native ones must be let through.
        if let Some(name) = PRIVILEGE_CALLS
            .iter()
            .copied()
            .filter(|n| !n.ends_with("32"))
            .find(|n| !allowed(n))
        {
            return refuse(format!(
                "defaultAction answers {name} (not allowed by any rule) without running it"
            ));
        }
    }
    Ok(())
}

/// linux.netDevices: names the kernel would take (dev_valid_name in net/core/dev.c), a
/// network namespace of the container's to move them into, and no two devices to one name.
fn net_devices(
    linux: &oci_spec::runtime::Linux,
    namespaces: &[Namespace],
) -> Result<Vec<NetDevice>, SpecError> {
    let Some(given) = linux.net_devices() else {
        return Ok(vec![]);
    };
    let valid = |n: &str, template: bool| {
        !n.is_empty()
            && n.len() < 16
            && n != "."
            && n != ".."
            && !n.contains(['/', ':'])
            && !n.chars().any(char::is_whitespace)
            && (template || !n.contains('%'))
            && (!template || n.matches('%').count() <= 1 && (!n.contains('%') || n.contains("%d")))
    };
    let mut out: Vec<NetDevice> = Vec::new();
    for (host, d) in given {
        let field = format!("linux.netDevices[{host:?}]");
        if !valid(host, false) {
            return Err(invalid(
                field,
                "not a network device name (1 to 15 characters, no '/', ':', '%' or blanks)",
            ));
        }
        let name = d
            .name()
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(host.clone());
        if !valid(&name, true) {
            return Err(invalid(
                format!("{field}.name"),
                format!("{name:?} is not a network device name (1 to 15 characters, no '/', ':' or blanks; one %d at most)"),
            ));
        }
        if host == "lo" {
            return Err(invalid(
                field,
                "the loopback device cannot leave its namespace",
            ));
        }
        out.push(NetDevice {
            host: host.clone(),
            name,
        });
    }
    out.sort_by(|a, b| a.host.cmp(&b.host));
    for (i, d) in out.iter().enumerate() {
        if !d.name.contains("%d") && out[..i].iter().any(|o| o.name == d.name) {
            return Err(invalid(
                format!("linux.netDevices[{:?}].name", d.host),
                format!("{:?} is given to two devices", d.name),
            ));
        }
    }
    // Without a network namespace of its own the container has the runtime's: the devices
    // would go nowhere, and moving them into the host's is no move.
    // A new network namespace under a user namespace joined by path is made by the init
    // after the runtime's moves have run (the staged clone): not supported yet.
    let joined_user = namespaces
        .iter()
        .any(|n| n.kind == NsKind::User && n.path.is_some());
    let new_net = namespaces
        .iter()
        .any(|n| n.kind == NsKind::Network && n.path.is_none());
    if !out.is_empty() && joined_user && new_net {
        return Err(invalid(
            "linux.netDevices",
            "not supported with a user namespace joined by path and a new network namespace (join the network namespace by path too)",
        ));
    }
    if !out.is_empty() && !namespaces.iter().any(|n| n.kind == NsKind::Network) {
        return Err(invalid(
            "linux.netDevices",
            "needs a network namespace for the container (linux.namespaces has no network entry)",
        ));
    }
    Ok(out)
}

/// config.md#specification-version: ociVersion is REQUIRED and MUST be SemVer 2.0.0; a
/// major version other than 1 is a format this runtime does not know.
fn oci_version(v: &str) -> Result<(), SpecError> {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &str| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    };
    if v.is_empty() {
        return Err(invalid(
            "ociVersion",
            "missing: the config must say which runtime-spec version it follows",
        ));
    }
    if parts.len() != 3 || !parts.iter().all(|p| numeric(p)) {
        return Err(invalid(
            "ociVersion",
            format!("{v:?} is not a SemVer version (MAJOR.MINOR.PATCH)"),
        ));
    }
    if parts[0] != "1" {
        return Err(invalid(
            "ociVersion",
            format!(
                "{v:?}: this runtime implements runtime-spec 1.x (up to {})",
                crate::defaults::OCI_VERSION
            ),
        ));
    }
    Ok(())
}

/// The mapping of an idmapped mount: its own uidMappings/gidMappings, or with only the
/// "idmap"/"ridmap" option, the container's (as runc 1.2 does).
fn mount_idmap(
    m: &oci_spec::runtime::Mount,
    o: &MountOptions,
    linux: &oci_spec::runtime::Linux,
    ns: &[Namespace],
    field: impl Fn() -> String,
) -> Result<Option<MountIdmap>, SpecError> {
    let (uid, gid) = (id_maps(m.uid_mappings()), id_maps(m.gid_mappings()));
    if !uid.is_empty() || !gid.is_empty() {
        if uid.is_empty() || gid.is_empty() {
            return Err(invalid(
                field(),
                "an idmapped mount needs both uidMappings and gidMappings",
            ));
        }
        return Ok(Some(MountIdmap { uid, gid }));
    }
    if !(o.idmap || o.ridmap) {
        return Ok(None);
    }
    let (uid, gid) = (id_maps(linux.uid_mappings()), id_maps(linux.gid_mappings()));
    if uid.is_empty() || gid.is_empty() || !ns.iter().any(|n| n.kind == NsKind::User) {
        return Err(invalid(
            field(),
            "idmap without mappings needs the container's own user namespace mappings",
        ));
    }
    Ok(Some(MountIdmap { uid, gid }))
}

/// A path inside the container: absolute, without `..` (the runtime-spec requires absolute
/// destinations; `..` could only be used to aim outside the rootfs).
/// `field` names it in the error, spelled only then.
fn container_path(p: &Path, field: impl FnOnce() -> String) -> Result<(), SpecError> {
    if !p.is_absolute() {
        return Err(invalid(
            field(),
            format!("{} is not an absolute path", p.display()),
        ));
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(invalid(field(), format!("{} contains '..'", p.display())));
    }
    Ok(())
}

fn namespaces(list: &[oci_spec::runtime::LinuxNamespace]) -> Result<Vec<Namespace>, SpecError> {
    let mut out: Vec<Namespace> = Vec::new();
    for (i, n) in list.iter().enumerate() {
        let kind = NsKind::from_oci(n.typ());
        if out.iter().any(|o| o.kind == kind) {
            return Err(invalid(
                format!("linux.namespaces[{i}]"),
                format!("namespace {} is listed twice", kind.spec_name()),
            ));
        }
        let path = n.path().clone().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = &path {
            if !p.is_absolute() {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not absolute", p.display()),
                ));
            }
        }
        if let Some(p) = &path {
            // statfs(2) reads the file's filesystem without opening it: a device, a FIFO
            // or a file on FUSE is never opened as root for a namespace (opening
            // /dev/watchdog arms the host's watchdog).
            if nix::sys::statfs::statfs(p.as_path())
                .is_ok_and(|f| f.filesystem_type() != NSFS_MAGIC)
            {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not a namespace file (nsfs)", p.display()),
                ));
            }
        }
        let identity = path.as_deref().and_then(ns_identity);
        if let (NsKind::Mount, Some(p)) = (kind, &path) {
            // The rootfs is made in a new mount namespace. Joining the host's would be
            // leaving it out; joining any other, pivot_root(2) would move the root of
            // every process of that namespace (a daemon's, another container's) into this
            // container's rootfs.
            let host = identity.is_some_and(|id| host_ns_identities(NsKind::Mount).contains(&id));
            return Err(invalid(
                format!("linux.namespaces[{i}].path"),
                format!(
                    "{}{}: palisade makes the root filesystem in a new mount namespace only, since pivot_root in a joined one re-roots its other processes",
                    p.display(),
                    if host { " is the host's mount namespace" } else { "" }
                ),
            ));
        }
        out.push(Namespace {
            kind,
            path,
            identity,
        });
    }
    Ok(out)
}

fn process(spec: &Spec) -> Result<Process, SpecError> {
    let p = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process", "missing: create needs a process to run"))?;
    process_from(p)
}

/// One OCI process (config.json's, or `exec --process`'s) validated.
pub fn process_from(p: &oci_spec::runtime::Process) -> Result<Process, SpecError> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(invalid(
            "process.args",
            "must name at least the program to run",
        ));
    }
    if !p.cwd().is_absolute() {
        return Err(invalid(
            "process.cwd",
            format!("{} is not an absolute path", p.cwd().display()),
        ));
    }
    let env = p.env().clone().unwrap_or_default();
    for (i, e) in env.iter().enumerate() {
        if !e.contains('=') || e.contains('\0') {
            return Err(invalid(
                format!("process.env[{i}]"),
                format!("{e:?} is not KEY=VALUE"),
            ));
        }
    }
    let mut caps = match p.capabilities() {
        None => CapSets::default(),
        Some(c) => CapSets {
            bounding: capset(c.bounding())?,
            effective: capset(c.effective())?,
            permitted: capset(c.permitted())?,
            inheritable: capset(c.inheritable())?,
            ambient: capset(c.ambient())?,
        },
    };
    // The kernel raises an ambient capability only if it is permitted and inheritable
    // (capabilities(7)); runc and crun skip the others without an error, and `runc spec`
    // lists ambient capabilities with an empty inheritable set (CVE-2022-29162). Skipping
    // one grants less, never more.
    // config.md#linux-process: a capability that cannot be granted MUST be logged as a
    // warning.
    let mut warnings = Vec::new();
    let (permitted, inheritable) = (caps.permitted.clone(), caps.inheritable.clone());
    caps.ambient.retain(|c| {
        let keep = permitted.contains(c) && inheritable.contains(c);
        if !keep {
            warnings.push(format!(
                "process.capabilities.ambient: {c} is not both permitted and inheritable; the kernel cannot raise it, so it is left out"
            ));
        }
        keep
    });
    let mut rlimits = Vec::new();
    for (i, r) in p
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let resource = rlimit_resource(&name).ok_or_else(|| {
            invalid(
                format!("process.rlimits[{i}].type"),
                format!("unknown rlimit {name}"),
            )
        })?;
        if r.soft() > r.hard() {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                format!(
                    "{name}: soft limit {} exceeds hard limit {}",
                    r.soft(),
                    r.hard()
                ),
            ));
        }
        if rlimits.iter().any(|x: &Rlimit| x.resource == resource) {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                format!("{name} is listed twice"),
            ));
        }
        rlimits.push(Rlimit {
            name,
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    let cpu_list = |field: &str, list: &Option<String>| {
        list.as_deref()
            .map(|l| {
                crate::isolate::affinity::parse_list(l)
                    .map_err(|e| invalid(format!("process.execCPUAffinity.{field}"), e))
            })
            .transpose()
    };
    let exec_cpu_affinity = match p.exec_cpu_affinity() {
        None => CpuAffinity::default(),
        Some(a) => CpuAffinity {
            initial: cpu_list("initial", a.initial())?,
            last: cpu_list("final", a.cpu_affinity_final())?,
        },
    };
    let scheduler = p
        .scheduler()
        .as_ref()
        .map(crate::isolate::scheduling::sched_attr)
        .transpose()?;
    let io_priority = p
        .io_priority()
        .as_ref()
        .map(crate::isolate::scheduling::ioprio)
        .transpose()?;
    let user = p.user();
    Ok(Process {
        terminal: p.terminal().unwrap_or(false),
        console_size: p.console_size().map(|b| {
            (
                b.height().min(u16::MAX as u64) as u16,
                b.width().min(u16::MAX as u64) as u16,
            )
        }),
        args,
        env,
        cwd: p.cwd().clone(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        caps,
        rlimits,
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
        oom_score_adj: p.oom_score_adj(),
        exec_cpu_affinity,
        scheduler,
        io_priority,
        warnings,
    })
}

fn capset(
    set: &Option<oci_spec::runtime::Capabilities>,
) -> Result<Vec<caps::Capability>, SpecError> {
    let mut out: Vec<caps::Capability> = set
        .iter()
        .flatten()
        .map(|c| {
            let name = c.to_string();
            let name = if name.starts_with("CAP_") {
                name
            } else {
                format!("CAP_{name}")
            };
            name.parse::<caps::Capability>()
                .map_err(|_| invalid("process.capabilities", format!("unknown capability {name}")))
        })
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|c| c.index());
    out.dedup();
    Ok(out)
}

/// RLIMIT_* name → resource number (getrlimit(2)).
pub fn rlimit_resource(name: &str) -> Option<i32> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    } as i32)
}

/// runc's sysctl rules (libcontainer/configs/validate): only namespaced keys, and only when
/// the container has its own namespace of that kind.
fn validate_sysctl(key: &str, ns: &[Namespace]) -> Result<(), SpecError> {
    let field = format!("linux.sysctl[{key:?}]");
    if key.is_empty() || key.contains("..") || key.starts_with('/') || key.contains('\0') {
        return Err(invalid(field, "not a sysctl name"));
    }
    let own = |k: NsKind| ns.iter().any(|n| n.kind == k);
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let k = key.replace('/', ".");
    if IPC.contains(&k.as_str()) || k.starts_with("fs.mqueue.") {
        if own(NsKind::Ipc) {
            return Ok(());
        }
        return Err(invalid(field, "needs an ipc namespace"));
    }
    if k.starts_with("net.") {
        if own(NsKind::Network) {
            return Ok(());
        }
        return Err(invalid(field, "needs a network namespace"));
    }
    if k == "kernel.hostname" || k == "kernel.domainname" {
        return Err(invalid(
            field,
            "set hostname/domainname in the config instead",
        ));
    }
    Err(invalid(
        field,
        "not a namespaced sysctl: it would change the host for every container",
    ))
}

/// The spec's rules, then (as runc does) the devices every container needs, then the
/// devices the spec creates: a deny-all in the spec still leaves /dev/null usable.
fn device_rules(
    r: &oci_spec::runtime::LinuxResources,
    devices: &[Device],
) -> Result<Vec<DeviceRule>, SpecError> {
    use oci_spec::runtime::LinuxDeviceType as T;
    let mut out = Vec::new();
    let list = r.devices().as_deref().unwrap_or_default();
    if list.is_empty() {
        return Ok(out);
    }
    for (i, d) in list.iter().enumerate() {
        let kind = match d.typ().unwrap_or(T::A) {
            T::A => 'a',
            T::C | T::U => 'c',
            T::B => 'b',
            T::P => {
                return Err(invalid(
                    format!("linux.resources.devices[{i}].type"),
                    "'p' has no device rule",
                ))
            }
        };
        let access = d.access().clone().unwrap_or_else(|| "rwm".into());
        if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(invalid(
                format!("linux.resources.devices[{i}].access"),
                format!("{access:?} is not a subset of rwm"),
            ));
        }
        // runc reads a negative number as the wildcard; a number past the kernel's range
        // (12-bit majors, 20-bit minors) would be cut short in the v2 program: refused.
        let number = |v: Option<i64>, max: i64, what: &str| match v {
            Some(n) if n > max => Err(invalid(
                format!("linux.resources.devices[{i}].{what}"),
                format!("{n} is above the kernel's largest {what} number {max}"),
            )),
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Ok(None),
        };
        let (major, minor) = (
            number(d.major(), 0xfff, "major")?,
            number(d.minor(), 0xf_ffff, "minor")?,
        );
        out.push(if kind == 'a' {
            // The kernel reads only the `a` of such a rule (spec::devices).
            DeviceRule {
                allow: d.allow(),
                kind,
                major: None,
                minor: None,
                access: "rwm".into(),
            }
        } else {
            DeviceRule {
                allow: d.allow(),
                kind,
                major,
                minor,
                access,
            }
        });
    }
    let rule = |kind, major, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.into(),
    };
    out.push(rule('c', None, None, "m"));
    out.push(rule('b', None, None, "m"));
    // runc's defaults (libcontainer/specconv AllowedDevices), each the container's own
    // whatever node reaches it. Not c 5:1: a node of it is the host's system console (a
    // container's /dev/console is its pty, bound there).
    for (ma, mi) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)] {
        out.push(rule('c', Some(ma), Some(mi), "rwm"));
    }
    out.push(rule('c', Some(136), None, "rwm"));
    for d in devices.iter().filter(|d| d.kind != 'p') {
        out.push(rule(
            d.kind,
            Some(d.major as i64),
            Some(d.minor as i64),
            "rwm",
        ));
    }
    Ok(out)
}

/// config.md#posix-platform-hooks: `path` MUST be absolute (a bare name would be looked up
/// in the runtime's PATH), and a `timeout` that is set MUST be greater than zero.
fn hooks(spec: &Spec) -> Result<Hooks, SpecError> {
    let Some(h) = spec.hooks() else {
        return Ok(Hooks::default());
    };
    let conv =
        |kind: &str, v: &Option<Vec<oci_spec::runtime::Hook>>| -> Result<Vec<Hook>, SpecError> {
            v.as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    if !h.path().is_absolute() {
                        return Err(invalid(
                            format!("hooks.{kind}[{i}].path"),
                            format!("{} is not an absolute path", h.path().display()),
                        ));
                    }
                    let timeout = match h.timeout() {
                        None => None,
                        Some(t) if t > 0 => Some(t as u64),
                        Some(t) => {
                            return Err(invalid(
                                format!("hooks.{kind}[{i}].timeout"),
                                format!("{t}: a timeout must be greater than zero"),
                            ))
                        }
                    };
                    Ok(Hook {
                        path: h.path().clone(),
                        args: h.args().clone().unwrap_or_default(),
                        env: h.env().clone().unwrap_or_default(),
                        timeout,
                    })
                })
                .collect()
        };
    #[allow(deprecated)]
    let prestart = conv("prestart", h.prestart())?;
    Ok(Hooks {
        prestart,
        create_runtime: conv("createRuntime", h.create_runtime())?,
        create_container: conv("createContainer", h.create_container())?,
        start_container: conv("startContainer", h.start_container())?,
        poststart: conv("poststart", h.poststart())?,
        poststop: conv("poststop", h.poststop())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(config: serde_json::Value) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("rootfs")).unwrap();
        std::fs::write(d.path().join("config.json"), config.to_string()).unwrap();
        d
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]},
            "hostname": "box"
        })
    }

    fn plan_err(config: serde_json::Value) -> String {
        let d = bundle_with(config);
        load(d.path()).unwrap_err().to_string()
    }

    /// config.md: ociVersion is SemVer and 1.x; hook paths absolute, timeouts above zero;
    /// relative mount destinations are taken from "/".
    #[test]
    fn required_forms_of_config_md() {
        let mut c = base();
        c.as_object_mut().unwrap().remove("ociVersion");
        assert!(plan_err(c).contains("ociVersion: missing"));
        for (v, says) in [
            (serde_json::json!(""), "missing"),
            (serde_json::json!("1.2"), "not a SemVer"),
            (serde_json::json!("01.2.0"), "not a SemVer"),
            (serde_json::json!("2.0.0"), "runtime-spec 1.x"),
        ] {
            let mut c = base();
            c["ociVersion"] = v.clone();
            let e = plan_err(c);
            assert!(e.contains("ociVersion") && e.contains(says), "{v}: {e}");
        }
        for v in ["1.0.0", "1.3.0", "1.0.2-dev", "1.1.0-rc.1+build.5"] {
            let mut c = base();
            c["ociVersion"] = v.into();
            let d = bundle_with(c);
            load(d.path()).unwrap();
        }
        let mut c = base();
        c["mounts"] =
            serde_json::json!([{"destination": "tmp/x", "type": "tmpfs", "source": "tmpfs"}]);
        let d = bundle_with(c);
        assert_eq!(
            load(d.path()).unwrap().mounts[0].destination,
            Path::new("/tmp/x")
        );
        let mut c = base();
        c["mounts"] =
            serde_json::json!([{"destination": "../x", "type": "tmpfs", "source": "tmpfs"}]);
        assert!(plan_err(c).contains("contains '..'"));
        let mut c = base();
        c["hooks"] = serde_json::json!({"poststop": [{"path": "true"}]});
        assert!(plan_err(c).contains("hooks.poststop[0].path"));
        for t in [0, -5] {
            let mut c = base();
            c["hooks"] = serde_json::json!({"prestart": [{"path": "/bin/true", "timeout": t}]});
            assert!(plan_err(c).contains("hooks.prestart[0].timeout"));
        }
    }

    #[test]
    fn valid_config_becomes_plan() {
        let d = bundle_with(base());
        let plan = load(d.path()).unwrap();
        assert_eq!(plan.process.args, vec!["sh"]);
        assert!(plan.rootfs.is_absolute());
        assert_eq!(plan.hostname.as_deref(), Some("box"));
        assert_eq!(
            plan.new_namespace_flags(),
            libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS
        );
        assert!(plan.unsupported.is_empty());
    }

    #[test]
    fn unknown_namespace_is_a_parse_error() {
        let mut c = base();
        c["linux"]["namespaces"] = serde_json::json!([{"type": "bogus"}]);
        let d = bundle_with(c);
        let e = load(d.path()).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("bogus"), "{e}");
    }

    #[test]
    fn missing_rootfs_names_the_field() {
        let mut c = base();
        c["root"]["path"] = "nowhere".into();
        let d = bundle_with(c);
        let e = load(d.path()).unwrap_err().to_string();
        assert!(e.starts_with("root.path"), "{e}");
    }

    /// With noNewPrivileges false, a filter that would answer the privilege calls with a
    /// fake success (errnoRet 0, a NOTIFY agent) is refused; with no_new_privs, or with a
    /// plain denial (which fails closed), it is not.
    #[test]
    fn an_early_filter_may_not_fake_the_privilege_calls() {
        let with = |nnp: bool, seccomp: serde_json::Value| {
            let mut c = base();
            c["process"]["noNewPrivileges"] = nnp.into();
            c["linux"]["seccomp"] = seccomp;
            let d = bundle_with(c);
            load(d.path()).map(drop).map_err(|e| e.to_string())
        };
        let fake_capset = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["capset"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]});
        let e = with(false, fake_capset.clone()).unwrap_err();
        assert!(
            e.contains("linux.seccomp") && e.contains("syscalls[0]"),
            "{e}"
        );
        with(true, fake_capset).unwrap();
        let notify = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock",
            "syscalls": [{"names": ["setresuid"], "action": "SCMP_ACT_NOTIFY",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]}]});
        assert!(with(false, notify).is_err());
        let fake_default = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0,
            "syscalls": [{"names": ["setgroups", "setresuid", "setresgid", "capget"], "action": "SCMP_ACT_ALLOW"}]});
        let e = with(false, fake_default).unwrap_err();
        assert!(e.contains("capset"), "{e}");
        let denied = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["capset"], "action": "SCMP_ACT_ERRNO"}]});
        with(false, denied).unwrap();
    }

    /// An ambient capability the kernel cannot raise is left out, with a warning.
    #[test]
    fn ungrantable_ambient_capabilities_are_warned_about() {
        let mut c = base();
        c["process"]["capabilities"] = serde_json::json!({
            "bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"],
            "ambient": ["CAP_KILL"]
        });
        let d = bundle_with(c);
        let p = load(d.path()).unwrap();
        assert!(p.process.caps.ambient.is_empty());
        assert!(
            p.process.warnings[0].contains("CAP_KILL"),
            "{:?}",
            p.process.warnings
        );
    }

    #[test]
    fn dotdot_destinations_are_refused() {
        for dest in ["relative/../../etc", "/a/../../etc"] {
            let mut c = base();
            c["mounts"] =
                serde_json::json!([{"destination": dest, "type": "tmpfs", "source": "tmpfs"}]);
            let d = bundle_with(c);
            let e = load(d.path()).unwrap_err().to_string();
            assert!(e.starts_with("mounts[0].destination"), "{e}");
        }
    }

    #[test]
    fn hostname_needs_uts_namespace() {
        let mut c = base();
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
        let d = bundle_with(c);
        assert!(load(d.path())
            .unwrap_err()
            .to_string()
            .starts_with("hostname"));
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let mut c = base();
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "mount"}]);
        let d = bundle_with(c);
        assert!(load(d.path()).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn sysctl_rules_follow_namespaces() {
        let ns = vec![Namespace {
            kind: NsKind::Ipc,
            path: None,
            identity: None,
        }];
        assert!(validate_sysctl("kernel.shmmax", &ns).is_ok());
        assert!(validate_sysctl("net.ipv4.ip_forward", &ns).is_err());
        assert!(validate_sysctl("kernel.panic", &ns).is_err());
        assert!(validate_sysctl("../../etc/x", &ns).is_err());
    }

    #[test]
    fn rlimits_and_capabilities_are_parsed() {
        let mut c = base();
        c["process"]["rlimits"] =
            serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]);
        c["process"]["capabilities"] = serde_json::json!({"bounding": ["CAP_KILL", "CAP_CHOWN"]});
        let d = bundle_with(c);
        let p = load(d.path()).unwrap();
        assert_eq!(p.process.rlimits[0].resource, libc::RLIMIT_NOFILE as i32);
        assert_eq!(
            p.process.caps.bounding,
            vec![caps::Capability::CAP_CHOWN, caps::Capability::CAP_KILL]
        );
    }
}
