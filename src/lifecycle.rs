//! The operations of runtime-spec runtime.md#operations: create, start, kill, delete, in
//! the order that document gives, with every resource made by `create` undone by one owner
//! if a later step fails.

use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::audit;
use crate::hooks::{self, HookError};
use crate::isolate::cgroups::{self, Cgroup, CgroupError};
use crate::isolate::{
    affinity, devfilter, namespaces, netdev, resources, seccomp, systemd, userns,
};
use crate::policy::select::{self, Operator, ANNOTATION_MODE, ANNOTATION_PROFILE};
use crate::policy::{self, Mode, PolicyError, RealHost, Scope, Verdict};
use crate::process::pidfd;
use crate::process::spawn::{self, SpawnError, SpawnOptions};
use crate::spec::{self, Rootfs, SpecError};
use crate::state::{self, Container, Phase, Record, StateError, Status, StoredHooks};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("load bundle: {0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    #[error("{0}")]
    Spawn(#[from] SpawnError),
    #[error("{0}")]
    Hook(#[from] HookError),
    #[error("{0}")]
    Resources(#[from] resources::ResourceError),
    #[error("seccomp: {0}")]
    Seccomp(#[from] crate::isolate::seccomp::SeccompError),
    #[error("{step}: {why}")]
    Step { step: &'static str, why: String },
    #[error("refused: {0} not supported by this palisade yet")]
    Unsupported(String),
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("{0}")]
    Refused(String),
}

pub fn step_err(step: &'static str, why: impl std::fmt::Display) -> Error {
    Error::Step {
        step,
        why: why.to_string(),
    }
}

/// Where the pty master of a terminal process goes.
pub enum Console {
    /// `--console-socket PATH`: connect, as runc does.
    Socket(PathBuf),
    /// `run` in the foreground: one end of our own socket pair.
    Fd(OwnedFd),
}

impl Console {
    /// The descriptor the init sends the pty master over: connected now, as runc does.
    fn connect(self) -> Result<OwnedFd, Error> {
        match self {
            Console::Fd(fd) => Ok(fd),
            Console::Socket(path) => UnixStream::connect(&path)
                .map(OwnedFd::from)
                .map_err(|e| step_err("console", format!("connect {}: {e}", path.display()))),
        }
    }
}

pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub console: Option<Console>,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `--pidfd-socket`: where a pidfd of the init goes.
    pub pidfd_socket: Option<&'a Path>,
    /// `--systemd-cgroup`: the cgroup is a transient systemd scope.
    pub systemd_cgroup: bool,
    /// `palisade learn`: the init's end of the recording session (crate::learn).
    pub recorder: Option<OwnedFd>,
    /// `palisade learn --base`: the profile to run (and learn) under, instead of the
    /// operator's; never looser than it.
    pub learn_base: Option<&'a str>,
}

/// Undoes a half-made create: kills the init, removes the cgroup and the state directory.
struct Undo<'a> {
    dir: &'a Path,
    cgroup: Option<Cgroup>,
    pid: Option<i32>,
    /// Once the create hooks may have run: the poststop hooks and the state they are given
    /// (runtime.md#lifecycle: a failed create hook continues at steps 12 and 13).
    poststop: Option<(Vec<crate::spec::Hook>, String)>,
    /// A pid file written for an init that is then killed: removed, so that it never names
    /// a pid the kernel gives to someone else.
    pid_file: Option<PathBuf>,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        if let Some(cg) = &self.cgroup {
            for p in cg.pids() {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            let _ = cg.remove(true);
        }
        if let Some((hooks, state)) = &self.poststop {
            if let Err(e) = hooks::run_all("poststop", hooks, state) {
                tracing::warn!("{e}");
            }
        }
        if let Some(p) = &self.pid_file {
            let _ = fs::remove_file(p);
        }
        let _ = fs::remove_dir_all(self.dir);
    }
}

fn owner_name() -> String {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

/// runtime.md#create: returns once the init is `Ready` and the pid file is written. The
/// hardening profile decides first, before anything exists; every decision is audited.
pub fn create(mut req: CreateRequest<'_>) -> Result<i32, Error> {
    state::validate_id(req.id)?;
    let id = req.id;
    let bundle = spec::absolute_bundle(req.bundle)?;
    let mut doc = spec::read_document(&bundle.join("config.json"))?;
    let mut op = Operator::from_environment().map_err(PolicyError::from)?;
    // Learning: by `palisade learn`, or by the runtime class invoked as palisade-learn,
    // which writes only where the operator said.
    let learn_err = |e: crate::learn::LearnError| step_err("learn", e.to_string());
    let mut session = None;
    if op.learning {
        let dir = op.learn_dir.clone().ok_or_else(|| {
            step_err(
                "learn",
                "invoked as palisade-learn, but learn_dir is not set in the configuration: the operator chooses where recordings go",
            )
        })?;
        if !dir.is_dir() {
            return Err(step_err(
                "learn",
                format!("learn_dir {} is not a directory", dir.display()),
            ));
        }
        state::check_root(&dir).map_err(|e| step_err("learn", format!("learn_dir: {e}")))?;
        if req.recorder.is_none() {
            let (s, theirs) = crate::learn::Session::new().map_err(|e| step_err("learn", e))?;
            session = Some((s, dir));
            req.recorder = Some(theirs);
        }
    }
    if let Some(base) = req.learn_base {
        let asked =
            policy::Profile::load(base, Some(&op.profiles_dir)).map_err(PolicyError::from)?;
        let floor = policy::Profile::load(&op.profile, Some(&op.profiles_dir))
            .map_err(PolicyError::from)?;
        let looser = asked.loosenings(&floor);
        if !looser.is_empty() {
            return Err(step_err(
                "learn",
                format!(
                    "--base {base} is looser than the operator's profile {} ({})",
                    floor.name,
                    looser.join("; ")
                ),
            ));
        }
        op.profile = base.to_owned();
    }
    if req.recorder.is_some() {
        crate::learn::prepare(&mut doc.value).map_err(learn_err)?;
    }
    // Opened now so that an unwritable audit log refuses the create before anything exists.
    let log = audit::Log::open(&op.audit_log)
        .map_err(|e| step_err("audit", format!("{}: {e}", op.audit_log.display())))?;
    let (profile, mode) = match op.effective(&select::annotations_of(&doc.value)) {
        Ok(chosen) => chosen,
        Err(e) => {
            // A workload asking to lower the floor is a refusal, audited like the others.
            if matches!(e, select::SelectError::Weaker { .. }) {
                let record = audit::refused_selection("create", req.id, &bundle, &doc.bytes, &e);
                log.write(&record)
                    .map_err(|e| step_err("audit", format!("{}: {e}", op.audit_log.display())))?;
            }
            return Err(PolicyError::from(e).into());
        }
    };
    let decision = policy::decide(
        &mut doc.value,
        &profile,
        mode,
        &RealHost,
        Scope::Container,
        &|v| {
            spec::plan_document(v, &bundle, Rootfs::MustExist).map(|mut p| {
                p.new_session_keyring = !req.no_new_keyring;
                p
            })
        },
    )?;
    announce(&decision);
    for w in &decision.plan.process.warnings {
        tracing::warn!("{w}");
    }
    let entry = |outcome: &str, landlock: Option<&str>| {
        audit::Entry {
            command: "create",
            id: req.id,
            bundle: &bundle,
            config_sha256: &audit::sha256_hex(&doc.bytes),
            decision: &decision,
            outcome,
            landlock,
        }
        .to_json()
    };
    if decision.verdict == Verdict::Refused {
        log.write(&entry("refused", None))
            .map_err(|e| step_err("audit", format!("{}: {e}", op.audit_log.display())))?;
        return Err(Error::Refused(decision.refusal()));
    }
    // The config as it runs, kept for exec: the bundle's own bytes unless the profile
    // hardened the document (no remedy changed it: the plan is of those bytes).
    let hardened;
    let config = if decision.hardened.is_empty() {
        &doc.bytes
    } else {
        hardened = serde_json::to_vec(&doc.value).unwrap_or_default();
        &hardened
    };
    let audit_err = |e: io::Error| step_err("audit", format!("{}: {e}", op.audit_log.display()));
    // Fail closed: the record of a container is written before it can be started. Until
    // then its state stays "creating", which `start` refuses, so a runtime killed between
    // the decision and the record leaves nothing startable that was never audited.
    let commit = |landlock: Option<&str>| log.write(&entry("created", landlock)).map_err(audit_err);
    let made = create_planned(req, &decision, config, &profile, mode, &commit);
    if let Err(e) = &made {
        log.write(&entry(&format!("failed: {e}"), None))
            .map_err(audit_err)?;
    }
    if let (Ok((pid, _)), Some((s, dir))) = (&made, session) {
        let writable = policy::catalog::writable_places(&decision.plan);
        s.detach(*pid, id, profile.clone(), writable, &dir)
            .map_err(learn_err)?;
    }
    // Left to the process's end rather than freed node by node: `create` exits next and
    // `run` only waits, and freeing a config of a hundred mounts with its plans cost 1.7 µs
    // per mount, on the path to the container's start (scripts/bench.sh, the mounts row).
    std::mem::forget(doc);
    std::mem::forget(decision);
    made.map(|(pid, _)| pid)
}

/// Warn mode prints every violation; hardening is logged; audit mode only records.
fn announce(d: &policy::Decision) {
    match d.mode {
        Mode::Warn => {
            for v in &d.violations {
                tracing::warn!("profile {} (warn): {}", d.profile, v.line());
            }
        }
        Mode::Enforce => {
            for h in &d.hardened {
                tracing::info!("profile {} hardened: {h}", d.profile);
            }
        }
        Mode::Audit => {}
    }
}

fn create_planned(
    req: CreateRequest<'_>,
    decision: &policy::Decision,
    config: &[u8],
    profile: &policy::Profile,
    mode: Mode,
    commit: &dyn Fn(Option<&str>) -> Result<(), Error>,
) -> Result<(i32, Option<String>), Error> {
    let plan = &decision.plan;
    if !plan.unsupported.is_empty() {
        return Err(Error::Unsupported(plan.unsupported.join("; ")));
    }
    match (&req.console, plan.process.terminal) {
        (None, true) => {
            return Err(step_err(
                "console",
                "process.terminal is set: pass --console-socket (or use run in the foreground)",
            ))
        }
        (Some(_), false) => {
            return Err(step_err(
                "console",
                "--console-socket given but process.terminal is not set",
            ))
        }
        _ => {}
    }
    // Compiled before anything exists, so a bad filter fails create with nothing to undo.
    let filter = compile_filter(plan)?;
    // Likewise the limits, for this host's cgroup version.
    let limits = plan
        .resources
        .as_ref()
        .map(resources::plan)
        .transpose()?
        .unwrap_or_default();
    let scope = req
        .systemd_cgroup
        .then(|| systemd::parse(plan.cgroups_path.as_deref(), req.id))
        .transpose()
        .map_err(CgroupError::from)?;
    let mut cgroup = match &scope {
        Some(scope) => cgroups::locate_systemd(scope)?,
        None => cgroups::locate(plan.cgroups_path.as_deref(), req.id)?,
    };
    let record = Record {
        version: state::RECORD_VERSION,
        id: req.id.to_owned(),
        phase: Phase::Creating,
        pid: 0,
        start_time: 0,
        oci_version: plan.oci_version.clone(),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: crate::logging::rfc3339(SystemTime::now()),
        owner: owner_name(),
        annotations: state_annotations(plan, profile, mode),
        cgroup: cgroup.clone(),
        hooks: StoredHooks {
            poststart: plan.hooks.poststart.clone(),
            poststop: plan.hooks.poststop.clone(),
            start_container: !plan.hooks.start_container.is_empty(),
        },
        landlock: None,
        profile: Some(profile.reference()),
        mode: Some(mode.name().to_owned()),
    };
    let mut c = Container::reserve(req.root, record)?;
    let dir = c.dir.clone();
    let mut undo = Undo {
        dir: &dir,
        cgroup: None,
        pid: None,
        poststop: None,
        pid_file: None,
        armed: true,
    };
    let snapshot = c.config_path();
    fs::write(&snapshot, config)
        .map_err(|e| step_err("state", format!("write {}: {e}", snapshot.display())))?;

    // cgroupfs: made and limited before the init exists. A systemd scope needs the init's
    // pid, so it is made after the spawn, before the init may go on.
    if cgroup.systemd_unit.is_none() {
        let made = cgroup.create();
        // A cgroup that already holds processes is someone else's (a host service's, or
        // another container's): the limits, the device rules, the freezer and the kill of
        // a failed create or of delete would all act on them. runc 1.2 refuses it too.
        // One that existed with cgroups beneath it is a parent of others (system.slice): its
        // limits and device rules would bind all of them.
        if made.is_ok() {
            let shared = match cgroup.pids().first() {
                Some(pid) => Some(format!("holds processes (pid {pid})")),
                None => cgroup
                    .dirs
                    .iter()
                    .filter(|d| !cgroup.created.contains(d))
                    .find(|d| {
                        fs::read_dir(d).is_ok_and(|mut r| {
                            r.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir())))
                        })
                    })
                    .map(|d| format!("has cgroups beneath it ({})", d.display())),
            };
            if let Some(why) = shared {
                for dir in cgroup.created.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(step_err(
                    "cgroup",
                    format!(
                        "{} already {why}: a container's cgroup must be its own (linux.cgroupsPath)",
                        cgroup.dirs.first().map(|d| d.display().to_string()).unwrap_or_default()
                    ),
                ));
            }
        }
        undo.cgroup = Some(cgroup.clone());
        made?;
        c.record.cgroup = cgroup.clone();
        c.save()?;
        limit(plan, &cgroup, &limits)?;
    }

    let console_socket = req.console.map(Console::connect).transpose()?;
    let pidfd_socket = req.pidfd_socket.map(pidfd::connect).transpose()?;
    let seccomp_listener = match filter.as_ref().and_then(|f| f.listener_path.as_ref()) {
        None => None,
        Some(path) => Some(OwnedFd::from(UnixStream::connect(path).map_err(|e| {
            step_err(
                "seccomp",
                format!("connect listenerPath {}: {e}", path.display()),
            )
        })?)),
    };
    let fifo_path = c.fifo_path();
    let fifo: OwnedFd = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| step_err("fifo", format!("open {}: {e}", fifo_path.display())))?
        .into();

    // Idmapping needs host privilege: the runtime makes those binds, the init moves them.
    // The binds (idmapped or not) are made here, before the init exists (isolate::userns).
    let idmapped = userns::idmapped(plan).map_err(|e| step_err("binds", e))?;
    // A systemd scope exists only once the init does: then the runtime joins it by pid.
    let entry = match cgroup.systemd_unit {
        None => Some(cgroup.entry()?),
        Some(_) => None,
    };
    let pending = spawn::spawn(
        plan,
        &cgroup,
        SpawnOptions {
            steps: crate::process::init::STEPS,
            joins: vec![],
            id: req.id,
            seccomp: filter.as_ref(),
            seccomp_listener,
            idmapped,
            new_keyring: plan.new_session_keyring,
            fifo: Some(fifo),
            console_socket,
            no_pivot: req.no_pivot,
            preserve_fds: req.preserve_fds,
            entry,
            recorder: req.recorder,
        },
    )?;
    undo.pid = Some(pending.pid);
    c.record.pid = pending.pid;
    c.record.start_time = state::proc_stat(pending.pid)
        .map(|(t, _)| t)
        .ok_or_else(|| step_err("spawn", "init exited at once"))?;
    c.save()?;
    if namespaces::new_user_namespace(plan) {
        userns::write_maps(pending.pid, &plan.uid_mappings, &plan.gid_mappings)
            .map_err(|e| step_err("userns", e))?;
    }
    if let Some(scope) = &scope {
        // Until the scope is ours, a failure must not stop a unit of that name: it may be
        // another container's.
        if let Err(e) = systemd::start(scope, req.id, pending.pid, &limits) {
            pending.abort("systemd scope failed");
            return Err(CgroupError::from(e).into());
        }
        undo.cgroup = Some(cgroup.clone());
        let made = cgroup
            .create()
            .map_err(Error::from)
            .and_then(|()| limit(plan, &cgroup, &limits));
        undo.cgroup = Some(cgroup.clone());
        if let Err(e) = made {
            pending.abort("cgroup limits failed");
            return Err(e);
        }
        c.record.cgroup = cgroup.clone();
        c.save()?;
    }
    let joined = match (&scope, &pending.v2_unjoined) {
        (Some(_), _) => cgroup.join(pending.pid),
        (None, Some(dir)) => cgroups::join_pid(dir, pending.pid),
        (None, None) => Ok(()),
    };
    if let Err(e) = joined {
        pending.abort("cgroup join failed");
        return Err(e.into());
    }
    if let Some(sock) = &pidfd_socket {
        if let Err(e) = pidfd::send(sock.as_fd(), pending.pid, "standard") {
            pending.abort("pidfd-socket failed");
            return Err(e);
        }
    }
    // linux.netDevices: moved by the runtime, from the host's namespace into the
    // container's, before the init goes on (runtime-spec 1.3).
    if !plan.net_devices.is_empty() {
        let moved = namespaces::open_for(plan, pending.pid, crate::spec::NsKind::Network)
            .map_err(|e| format!("linux.netDevices: the container's network namespace: {e}"))
            .and_then(|ns| ns.ok_or_else(|| "linux.netDevices: no network namespace".into()))
            .and_then(|ns| netdev::move_all(&plan.net_devices, ns.as_fd()));
        if let Err(e) = moved {
            pending.abort("netDevices failed");
            return Err(step_err("netDevices", e));
        }
    }
    if !plan.hooks.poststop.is_empty() {
        undo.poststop = Some((
            plan.hooks.poststop.clone(),
            c.record.oci_state_json(Status::Stopped),
        ));
    }
    if let Some(adj) = plan.process.oom_score_adj {
        if let Err(e) = pending.set_oom_score_adj(adj) {
            pending.abort("oomScoreAdj failed");
            return Err(step_err("oom_score_adj", e));
        }
    }
    pending.proceed(c.record.oci_state_json(Status::Creating))?;
    let landlock = pending.wait_ready(|| {
        let state = c.record.oci_state_json(Status::Creating);
        hooks::run_all("prestart", &plan.hooks.prestart, &state).map_err(|e| e.to_string())?;
        hooks::run_all("createRuntime", &plan.hooks.create_runtime, &state)
            .map_err(|e| e.to_string())?;
        Ok(state)
    })?;
    if let Some(pf) = req.pid_file {
        write_pid_file(pf, pending.pid)
            .map_err(|e| step_err("pid-file", format!("{}: {e}", pf.display())))?;
        undo.pid_file = Some(pf.to_path_buf());
    }
    match landlock.as_deref() {
        None => {}
        Some("fully_enforced") => tracing::info!("landlock: fully enforced"),
        Some(s) => tracing::warn!(
            "landlock: {s} (best effort was asked; this kernel cannot enforce all of it)"
        ),
    }
    c.record.landlock = landlock.clone();
    commit(landlock.as_deref())?;
    c.record.phase = Phase::Created;
    c.save()?;
    undo.armed = false;
    Ok((pending.pid, landlock))
}

/// The config's annotations, with the profile and mode it runs under (shown by `state`).
fn state_annotations(
    plan: &spec::Plan,
    profile: &policy::Profile,
    mode: Mode,
) -> std::collections::BTreeMap<String, String> {
    let mut a = plan.annotations.clone();
    a.insert(ANNOTATION_PROFILE.into(), profile.name.clone());
    a.insert(ANNOTATION_MODE.into(), mode.name().into());
    a
}

/// linux.resources.devices and the planned limits, on the container's cgroup.
fn limit(plan: &spec::Plan, cgroup: &Cgroup, limits: &[resources::Write]) -> Result<(), Error> {
    if cgroups::is_v2_unified() {
        let dir = cgroup.dirs.first().cloned().unwrap_or_default();
        devfilter::attach(&dir, &plan.device_rules).map_err(|e| {
            step_err(
                "cgroup",
                format!("linux.resources.devices on {}: {e}", dir.display()),
            )
        })?;
    } else {
        cgroup.apply_devices_v1(&plan.device_rules)?;
    }
    resources::apply(cgroup, limits)?;
    Ok(())
}

/// The seccomp filter, compiled before anything exists so that a bad one fails at once.
/// Syscalls this libseccomp does not know are skipped as runc does, with a warning unless
/// palisade's own default filter lists them (it names syscalls newer than some libseccomps).
fn compile_filter(plan: &spec::Plan) -> Result<Option<seccomp::Filter>, Error> {
    let Some(s) = &plan.seccomp else {
        return Ok(None);
    };
    let f =
        crate::isolate::seccomp_cache::compile(Path::new(crate::isolate::seccomp_cache::DIR), s)?;
    let unexpected: Vec<&str> = f
        .skipped
        .iter()
        .map(String::as_str)
        .filter(|n| !policy::catalog::DEFAULT_SECCOMP.contains(&format!("\"{n}\"")))
        .collect();
    if !unexpected.is_empty() {
        tracing::warn!(
            "seccomp: this libseccomp does not know {}; skipped",
            unexpected.join(", ")
        );
    }
    Ok(Some(f))
}

/// Written to a new file of a random name beside it and renamed, so a reader never sees a
/// partial pid. The temporary file is created with O_EXCL|O_NOFOLLOW: a name planted in a
/// directory others can write (a symlink to a host file, a file of theirs) is never
/// followed or written through; rename(2) replaces the final name itself, not what a
/// symlink there points to.
fn write_pid_file(path: &Path, pid: i32) -> io::Result<()> {
    let path = std::path::absolute(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("pid");
    let mut last = None;
    for _ in 0..8 {
        let tmp = path.with_file_name(format!(".{name}.{:016x}", crate::sys::random_u64()?));
        let mut f = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let written = f
            .write_all(pid.to_string().as_bytes())
            .and_then(|()| fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        return written;
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// runtime.md#start: releases the init, then runs poststart hooks once the user's process
/// has been executed. Returns at once when there are no poststart hooks.
pub fn start(root: &Path, id: &str) -> Result<(), Error> {
    let c = Container::open(root, id)?;
    match c.status() {
        Status::Created => {}
        Status::Running => {
            return Err(step_err(
                "start",
                format!("container {id} is already running"),
            ))
        }
        s => {
            return Err(step_err(
                "start",
                format!("cannot start container {id}: it is {s}"),
            ))
        }
    }
    let fifo_path = c.fifo_path();
    let fifo = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| {
            step_err(
                "start",
                format!(
                    "container {id} is not waiting to start ({}: {e})",
                    fifo_path.display()
                ),
            )
        })?;
    // One byte releases the init; with startContainer hooks a second one is taken by the
    // init once they have passed, so that a hook's failure is told from a quick exit.
    let bytes: &[u8] = if c.record.hooks.start_container {
        &[0, 0]
    } else {
        &[0]
    };
    (&fifo)
        .write_all(bytes)
        .map_err(|e| step_err("start", format!("release init: {e}")))?;
    let _ = fs::remove_file(&fifo_path);
    if c.record.hooks.poststart.is_empty() && !c.record.hooks.start_container {
        return Ok(());
    }
    // The init holds the only other end; it closes on execve (or on exit), which POLLERR
    // reports.
    wait_exec(fifo.as_fd(), &c);
    // runtime-spec 1.3 runtime.md#lifecycle: a failing startContainer or poststart hook is
    // an error of `start`; the container is stopped and destroyed, with its poststop hooks
    // (steps 12 and 13), rather than left running beside an error.
    // The second byte still there: the init never finished its startContainer hooks. If it
    // still runs (a hook slower than the wait), start returns without judging.
    // (An init that closed the fifo on its way out may not look dead yet: given a moment.)
    let hooks_failed = c.record.hooks.start_container
        && crate::sys::fionread(fifo.as_fd()).map_or(true, |n| n > 0)
        && wait_gone(&c, Duration::from_secs(2));
    let failed = if hooks_failed {
        Some(step_err(
            "start",
            "the container's process stopped before it was executed (a startContainer hook failed? its error is on the container's stderr)",
        ))
    } else {
        hooks::run_all(
            "poststart",
            &c.record.hooks.poststart,
            &c.record.oci_state_json(Status::Running),
        )
        .err()
        .map(Error::from)
    };
    let Some(e) = failed else {
        return Ok(());
    };
    if c.init_alive() {
        let _ = kill(Pid::from_raw(c.record.pid), Signal::SIGKILL);
    }
    if !wait_gone(&c, Duration::from_secs(10)) {
        tracing::warn!("init {} of {id} did not die after SIGKILL", c.record.pid);
        return Err(e);
    }
    if let Err(d) = destroy(&c) {
        tracing::warn!("destroy {id} after the failed start: {d}");
    }
    Err(e)
}

fn wait_exec(fifo: std::os::fd::BorrowedFd<'_>, c: &Container) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && c.init_alive() {
        let mut fds = [PollFd::new(fifo, PollFlags::POLLOUT)];
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLERR))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `SIGTERM`, `TERM`, `15` → signal.
pub fn parse_signal(s: &str) -> Result<Signal, Error> {
    let bad = || step_err("kill", format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

/// runtime.md#kill.
pub fn kill_container(root: &Path, id: &str, sig: Signal, all: bool) -> Result<(), Error> {
    let c = Container::load(root, id)?;
    let status = c.status();
    // runc's words, which containerd's shim matches ("container not running") to treat a
    // kill of a stopped container as done rather than fail a pod's teardown.
    if status == Status::Stopped && !all {
        return Err(step_err("kill", format!("container not running ({id})")));
    }
    // runtime.md#kill: only a created or running (or paused) container is signalled; one
    // still being created is left alone (delete --force removes it).
    if status == Status::Creating && c.init_alive() {
        return Err(step_err(
            "kill",
            format!("container {id} is still being created (delete --force removes it)"),
        ));
    }
    if all {
        let mut pids = c.record.cgroup.pids();
        if pids.is_empty() && c.init_alive() {
            pids.push(c.record.pid);
        }
        for p in pids {
            let _ = kill(Pid::from_raw(p), sig);
        }
        return Ok(());
    }
    // Checked just before signalling: never signal a process that reused the init's pid.
    if !c.init_alive() {
        return Err(step_err("kill", format!("container not running ({id})")));
    }
    kill(Pid::from_raw(c.record.pid), sig)
        .map_err(|e| step_err("kill", format!("signal pid {}: {e}", c.record.pid)))
}

fn wait_gone(c: &Container, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while c.init_alive() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// runtime.md#delete. A created (not started) container is deleted without --force, as runc
/// does; a running one needs --force. `delete --force` also clears a container whose
/// runtime died in the middle of create.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    let c = match Container::open(root, id) {
        Ok(c) => c,
        Err(StateError::NotFound(_)) if force => return Ok(()),
        Err(StateError::Corrupt { .. } | StateError::Io { .. }) if force => {
            // A create killed before its first record: nothing but the directory exists.
            let dir = Container::dir_of(root, id)?;
            let _ = fs::remove_dir_all(dir);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    match c.status() {
        Status::Stopped => {}
        // As runc: a created container is deleted (its init killed), a running, paused or
        // still creating one only with --force.
        // A record still `creating` with no live init is what a create killed before its
        // init existed leaves (the lock we hold says no create is running now): stale.
        Status::Creating if !c.init_alive() => {}
        s @ (Status::Running | Status::Paused | Status::Creating) if !force => {
            return Err(step_err(
                "delete",
                format!("cannot delete container {id} that is not stopped: {s}"),
            ))
        }
        status => {
            // Only a live, verified init is signalled: a create that died before the init
            // existed leaves pid 0, and kill(0) would hit our own process group.
            if c.init_alive() {
                let _ = kill(Pid::from_raw(c.record.pid), Signal::SIGKILL);
            }
            if status == Status::Paused {
                let _ = c.record.cgroup.freeze(false);
            }
            if !wait_gone(&c, Duration::from_secs(10)) {
                return Err(step_err(
                    "delete",
                    format!("init {} of {id} did not die after SIGKILL", c.record.pid),
                ));
            }
        }
    }
    destroy(&c)
}

/// Removes what a stopped container still holds: leftover processes in its cgroup, the
/// cgroup, then runs poststop hooks (a failure only warns) and removes the state.
pub fn destroy(c: &Container) -> Result<(), Error> {
    let cg = &c.record.cgroup;
    for _ in 0..3 {
        let pids = cg.pids();
        if pids.is_empty() {
            break;
        }
        for p in pids {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cg.remove(false)?;
    if let Err(e) = hooks::run_all(
        "poststop",
        &c.record.hooks.poststop,
        &c.record.oci_state_json(Status::Stopped),
    ) {
        tracing::warn!("{e}");
    }
    fs::remove_dir_all(&c.dir)
        .map_err(|e| step_err("delete", format!("remove {}: {e}", c.dir.display())))?;
    Ok(())
}

/// The exit status of a waited-for init as a shell reports it: code, or 128 + signal.
pub fn exit_code(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus as W;
    match status {
        W::Exited(_, code) => Some(code),
        W::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// What `exec` runs: a process JSON (`--process`), or the container's own process with the
/// command line's overrides.
pub enum ExecProcess {
    File(PathBuf),
    Args {
        args: Vec<String>,
        env: Vec<String>,
        cwd: Option<PathBuf>,
        user: Option<String>,
        additional_gids: Vec<u32>,
        caps: Vec<String>,
        no_new_privs: bool,
        tty: bool,
    },
}

pub struct ExecRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub process: ExecProcess,
    pub console: Option<Console>,
    pub pid_file: Option<&'a Path>,
    pub preserve_fds: u32,
    /// `--pidfd-socket`: where a pidfd of the new process goes.
    pub pidfd_socket: Option<&'a Path>,
    pub ignore_paused: bool,
}

/// Makes `doc`'s process the one `exec` runs: a process JSON (`--process`, as the managers
/// pass), or the container's own process with the command line's overrides. The result is
/// planned and checked like a config, so one parser validates both.
fn exec_process(doc: &mut serde_json::Value, p: ExecProcess) -> Result<(), Error> {
    use serde_json::{json, Value};
    let bad = |why: String| step_err("exec", why);
    match p {
        ExecProcess::File(path) => {
            let text = fs::read(&path)
                .map_err(|e| bad(format!("read --process {}: {e}", path.display())))?;
            let mut value: Value = serde_json::from_slice(&text)
                .map_err(|e| bad(format!("parse --process {}: {e}", path.display())))?;
            crate::document::process(&value)
                .map_err(|e| bad(format!("parse --process {}: {e}", path.display())))?;
            // The container's Landlock domain binds every process in it: a manager's exec
            // process does not know process.landlock, so it keeps the container's, with
            // the no_new_privs Landlock needs (landlock_restrict_self(2)).
            // "landlock": null is the absent field (runtime-spec: null is unset); a ruleset
            // other than the container's would start the process outside its domain.
            let own = doc["process"]
                .get("landlock")
                .filter(|l| !l.is_null())
                .cloned()
                .or_else(|| {
                    doc["annotations"][crate::spec::landlock::ANNOTATION]
                        .as_str()
                        .and_then(|t| serde_json::from_str(t).ok())
                });
            match (value.get("landlock").filter(|l| !l.is_null()), own) {
                (None, Some(l)) => {
                    value["landlock"] = l;
                    value["noNewPrivileges"] = true.into();
                }
                (Some(theirs), Some(l)) if *theirs != l => {
                    return Err(bad(format!(
                        "--process {}: process.landlock differs from the container's: an exec'd process stays in the container's Landlock domain",
                        path.display()
                    )));
                }
                _ => {}
            }
            doc["process"] = value;
            Ok(())
        }
        ExecProcess::Args {
            args,
            env,
            cwd,
            user,
            additional_gids,
            caps,
            no_new_privs,
            tty,
        } => {
            if args.is_empty() {
                return Err(bad("no command given".into()));
            }
            if !doc["process"].is_object() {
                return Err(bad("the container's config has no process".into()));
            }
            let p = &mut doc["process"];
            p["args"] = json!(args);
            let mut envs: Vec<Value> = p["env"].as_array().cloned().unwrap_or_default();
            for e in env {
                let Some((key, _)) = e.split_once('=') else {
                    return Err(bad(format!("--env {e:?} is not KEY=VALUE")));
                };
                envs.retain(|old| {
                    old.as_str().and_then(|o| o.split_once('=')).map(|(k, _)| k) != Some(key)
                });
                envs.push(e.into());
            }
            p["env"] = envs.into();
            if let Some(c) = cwd {
                if !c.is_absolute() {
                    return Err(bad(format!("--cwd {} is not absolute", c.display())));
                }
                p["cwd"] = c.to_string_lossy().into_owned().into();
            }
            if let Some(u) = user {
                let (uid, gid) = u
                    .split_once(':')
                    .map_or((u.as_str(), None), |(a, b)| (a, Some(b)));
                let num = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| bad(format!("--user {u:?}: uid[:gid] must be numbers")))
                };
                p["user"]["uid"] = num(uid)?.into();
                if let Some(g) = gid {
                    p["user"]["gid"] = num(g)?.into();
                }
            }
            // runc appends them to the process's own (utils_linux.go getProcess).
            if !additional_gids.is_empty() {
                let mut gids: Vec<Value> = p["user"]["additionalGids"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                gids.extend(additional_gids.iter().map(|g| json!(g)));
                p["user"]["additionalGids"] = gids.into();
            }
            for c in caps {
                let name = if c.starts_with("CAP_") {
                    c.clone()
                } else {
                    format!("CAP_{c}")
                };
                name.parse::<caps::Capability>()
                    .map_err(|_| bad(format!("--cap {c}: unknown capability")))?;
                for set in ["bounding", "effective", "permitted"] {
                    let list = &mut p["capabilities"][set];
                    if !list.is_array() {
                        *list = json!([]);
                    }
                    let list = list.as_array_mut().expect("made an array above");
                    if !list.iter().any(|v| v.as_str() == Some(name.as_str())) {
                        list.push(name.clone().into());
                    }
                }
            }
            if no_new_privs {
                p["noNewPrivileges"] = true.into();
            }
            p["terminal"] = tty.into();
            Ok(())
        }
    }
}

/// runc's `exec`: a new process in a running container, joining its namespaces and cgroup,
/// with the container's seccomp filter and Landlock domain. Returns the process's host pid
/// once it is about to execute.
pub fn exec(req: ExecRequest<'_>) -> Result<i32, Error> {
    use crate::spec::{Namespace, NsKind};
    let c = Container::load(req.root, req.id)?;
    match c.status() {
        Status::Running | Status::Created => {}
        Status::Paused if req.ignore_paused => {}
        Status::Paused => {
            return Err(step_err(
                "exec",
                format!(
                    "container {} is paused (--ignore-paused to exec anyway)",
                    req.id
                ),
            ))
        }
        _ => {
            return Err(step_err(
                "exec",
                format!("container {} is not running", req.id),
            ))
        }
    }
    // The config as created (hardened), not the bundle's, which may have changed since.
    let snapshot = c.config_path();
    let config = if snapshot.exists() {
        snapshot
    } else {
        c.record.bundle.join("config.json")
    };
    let spec::Document {
        bytes, mut value, ..
    } = spec::read_document(&config)?;
    exec_process(&mut value, req.process)?;
    let mut plan = check_exec(&c, &bytes, &mut value)?;
    // As create: a label the host cannot apply (AppArmor, SELinux) is refused, never
    // silently dropped, or the process would run without the confinement it names.
    if !plan.unsupported.is_empty() {
        return Err(Error::Unsupported(plan.unsupported.join("; ")));
    }
    match (&req.console, plan.process.terminal) {
        (None, true) => {
            return Err(step_err(
                "console",
                "--tty needs --console-socket when detached",
            ))
        }
        (Some(_), false) => {
            return Err(step_err("console", "--console-socket given without --tty"))
        }
        _ => {}
    }
    let filter = compile_filter(&plan)?;
    // Every namespace of the init that is not ours: pid and time are entered for the child
    // by the spawn; the user namespace is joined first, the mount namespace last.
    let init = c.record.pid;
    let mut joins = Vec::new();
    plan.namespaces.clear();
    for kind in [
        NsKind::User,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Network,
        NsKind::Cgroup,
        NsKind::Pid,
        NsKind::Time,
        NsKind::Mount,
    ] {
        let theirs = PathBuf::from(format!("/proc/{init}/ns/{}", kind.proc_name()));
        let ours = PathBuf::from(format!("/proc/self/ns/{}", kind.proc_name()));
        if fs::read_link(&theirs).ok() == fs::read_link(&ours).ok() {
            continue;
        }
        plan.namespaces.push(Namespace {
            kind,
            path: Some(theirs.clone()),
            identity: None,
        });
        if !namespaces::for_children(kind) {
            let fd = OwnedFd::from(
                fs::File::open(&theirs)
                    .map_err(|e| step_err("exec", format!("open {}: {e}", theirs.display())))?,
            );
            joins.push((kind, fd));
        }
    }
    // The namespace files are open: make sure they are the init's, not a reused pid's.
    if !c.init_alive() {
        return Err(step_err(
            "exec",
            format!("container {} is not running", req.id),
        ));
    }
    let console_socket = req.console.map(Console::connect).transpose()?;
    let pidfd_socket = req.pidfd_socket.map(pidfd::connect).transpose()?;
    // execCPUAffinity.initial is where "a runtime parent process" runs before the new
    // process is in the container's cgroup (runtime-spec config.md#process): this process,
    // whose affinity the child inherits until its `affinity` step.
    if let Some(cpus) = &plan.process.exec_cpu_affinity.initial {
        affinity::set(Some(cpus)).map_err(|e| {
            step_err(
                "exec",
                format!("process.execCPUAffinity.initial {cpus:?}: sched_setaffinity: {e}"),
            )
        })?;
        tracing::debug!("exec: on CPUs {cpus:?} until the process is in the cgroup");
    }
    let pending = spawn::spawn(
        &plan,
        &c.record.cgroup,
        SpawnOptions {
            steps: crate::process::init::EXEC_STEPS,
            joins,
            id: req.id,
            seccomp: filter.as_ref(),
            seccomp_listener: None,
            idmapped: Default::default(),
            new_keyring: plan.new_session_keyring,
            fifo: None,
            console_socket,
            no_pivot: false,
            preserve_fds: req.preserve_fds,
            entry: Some(c.record.cgroup.entry()?),
            recorder: None,
        },
    )?;
    let run = || -> Result<(), Error> {
        if let Some(dir) = &pending.v2_unjoined {
            cgroups::join_pid(dir, pending.pid)?;
        }
        if let Some(sock) = &pidfd_socket {
            pidfd::send(sock.as_fd(), pending.pid, "setns")?;
        }
        if let Some(adj) = plan.process.oom_score_adj {
            pending
                .set_oom_score_adj(adj)
                .map_err(|e| step_err("oom_score_adj", e))?;
        }
        pending.proceed(c.record.oci_state_json(Status::Running))?;
        pending.wait_ready(|| Err("exec runs no createRuntime hooks".into()))?;
        if let Some(pf) = req.pid_file {
            write_pid_file(pf, pending.pid)
                .map_err(|e| step_err("pid-file", format!("{}: {e}", pf.display())))?;
        }
        Ok(())
    };
    if let Err(e) = run() {
        let _ = kill(Pid::from_raw(pending.pid), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pending.pid), None);
        return Err(e);
    }
    Ok(pending.pid)
}

/// The process `exec` would start, against the profile the container was created under
/// (CIS Docker Benchmark 5.23, 5.24), with the same actions as at create: what the profile
/// hardens is hardened (a manager's exec process repeats the container's unhardened
/// process), what it refuses is refused. Returns the plan that runs.
fn check_exec(
    c: &Container,
    config: &[u8],
    doc: &mut serde_json::Value,
) -> Result<spec::Plan, Error> {
    let op = Operator::from_environment().map_err(PolicyError::from)?;
    let profile = policy::Profile::load(
        c.record.profile.as_deref().unwrap_or(&op.profile),
        Some(&op.profiles_dir),
    )
    .map_err(PolicyError::from)?;
    let mode = c
        .record
        .mode
        .as_deref()
        .and_then(Mode::parse)
        .unwrap_or(Mode::Enforce);
    let log = audit::Log::open(&op.audit_log)
        .map_err(|e| step_err("audit", format!("{}: {e}", op.audit_log.display())))?;
    let planner =
        |v: &serde_json::Value| spec::plan_document(v, &c.record.bundle, Rootfs::MustExist);
    let decision = policy::decide(doc, &profile, mode, &RealHost, Scope::Process, &planner)?;
    announce(&decision);
    let refused = decision.verdict == Verdict::Refused;
    let entry = audit::Entry {
        command: "exec",
        id: &c.record.id,
        bundle: &c.record.bundle,
        config_sha256: &audit::sha256_hex(config),
        decision: &decision,
        outcome: if refused { "refused" } else { "allowed" },
        landlock: c.record.landlock.as_deref(),
    };
    log.write(&entry.to_json())
        .map_err(|e| step_err("audit", format!("{}: {e}", op.audit_log.display())))?;
    if refused {
        return Err(Error::Refused(decision.refusal()));
    }
    Ok(decision.plan)
}

/// The rules on resources of the container's profile, held against its config as created
/// with the update's fields in place (runc's update sets what it is given): an update may
/// not lift a limit the profile asks for, or grant what it refuses (a real-time budget).
fn check_update(c: &Container, r: &oci_spec::runtime::LinuxResources) -> Result<(), Error> {
    const RESOURCE_RULES: &[&str] = &["memory-limit", "pids-limit", "scheduling"];
    let snapshot = c.config_path();
    let config = if snapshot.exists() {
        snapshot
    } else {
        c.record.bundle.join("config.json")
    };
    let mut doc = spec::read_document(&config)?.value;
    let update = serde_json::to_value(r).map_err(|e| step_err("update", e))?;
    let res = &mut doc["linux"]["resources"];
    if !res.is_object() {
        *res = serde_json::json!({});
    }
    for (k, v) in update.as_object().into_iter().flatten() {
        match (res.get_mut(k), v) {
            (Some(serde_json::Value::Object(ours)), serde_json::Value::Object(theirs)) => {
                ours.extend(theirs.clone())
            }
            _ => res[k] = v.clone(),
        }
    }
    let op = Operator::from_environment().map_err(PolicyError::from)?;
    let profile = policy::Profile::load(
        c.record.profile.as_deref().unwrap_or(&op.profile),
        Some(&op.profiles_dir),
    )
    .map_err(PolicyError::from)?;
    let mode = c.record.mode.as_deref().and_then(Mode::parse);
    if mode.unwrap_or(Mode::Enforce) != Mode::Enforce {
        return Ok(());
    }
    let plan = spec::plan_document(&doc, &c.record.bundle, Rootfs::MayBeAbsent)?;
    let lines: Vec<String> = policy::evaluate(&plan, &profile, &RealHost, Scope::Container)
        .iter()
        .filter(|v| RESOURCE_RULES.contains(&v.rule.id))
        .map(|v| v.line())
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "update refused by profile {}: {} rule{} violated\n{}",
        profile.name,
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        lines.join("\n")
    )))
}

/// runc's pause: freezes every process of the container.
pub fn pause(root: &Path, id: &str) -> Result<(), Error> {
    let c = Container::open(root, id)?;
    match c.status() {
        Status::Running | Status::Created => Ok(c.record.cgroup.freeze(true)?),
        s => Err(step_err(
            "pause",
            format!("container {id} is {s}, not running"),
        )),
    }
}

/// runc's resume: thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), Error> {
    let c = Container::open(root, id)?;
    match c.status() {
        Status::Paused => Ok(c.record.cgroup.freeze(false)?),
        s => Err(step_err(
            "resume",
            format!("container {id} is {s}, not paused"),
        )),
    }
}

/// The host pids of the container's processes (runc ps).
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, Error> {
    let c = Container::load(root, id)?;
    if c.status() == Status::Stopped {
        return Err(step_err("ps", format!("container {id} is not running")));
    }
    let mut p = c.record.cgroup.pids();
    if p.is_empty() && c.init_alive() {
        p.push(c.record.pid);
    }
    p.sort_unstable();
    Ok(p)
}

/// runc's update: new limits for a live container, in its cgroup.
pub fn update(root: &Path, id: &str, r: &oci_spec::runtime::LinuxResources) -> Result<(), Error> {
    let c = Container::open(root, id)?;
    if c.status() == Status::Stopped {
        return Err(step_err("update", format!("container {id} is not running")));
    }
    check_update(&c, r)?;
    let writes = resources::plan(r)?;
    // config-linux.md#memory, checkBeforeUpdate: a new limit below the current usage MUST
    // be rejected (on v2 the kernel would OOM-kill the container instead).
    if let Some(m) = r.memory() {
        if let (Some(true), Some(limit)) = (m.check_before_update(), m.limit().filter(|l| *l > 0)) {
            let usage = crate::isolate::stats::memory_usage(&c.record.cgroup).ok_or_else(|| {
                step_err(
                    "update",
                    "checkBeforeUpdate: the container's memory usage cannot be read",
                )
            })?;
            if (limit as u64) < usage {
                return Err(step_err(
                    "update",
                    format!(
                        "linux.resources.memory.limit {limit} is below the container's current usage of {usage} bytes (checkBeforeUpdate)"
                    ),
                ));
            }
        }
    }
    if let Some(unit) = &c.record.cgroup.systemd_unit {
        systemd::set_properties(unit, &writes).map_err(CgroupError::from)?;
    }
    resources::apply(&c.record.cgroup, &writes)?;
    Ok(())
}
