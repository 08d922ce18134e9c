//! The container's init: the child of the runtime, already in its new namespaces. It walks
//! [`STEPS`] top to bottom, reports `Ready`, waits for `start`, and execs the user's process.
//! Every failure names its step.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::sync::{Channel, Msg};
use crate::hooks;
use crate::isolate::{
    affinity, caps, cgroups::Cgroup, console, fds, host, identity, limits, namespaces, nnp,
    resolve, rootfs, scheduling, seccomp, userns,
};
use crate::spec::Plan;
use crate::sys;

/// What the init works with; owned by the forked child.
pub struct Ctx<'a> {
    pub plan: &'a Plan,
    pub cgroup: &'a Cgroup,
    pub chan: Channel,
    /// Opened read-write by the runtime; `start` writes one byte into it (create only).
    pub fifo: Option<OwnedFd>,
    /// For `exec`: the running container's namespaces to join, user namespace first.
    pub joins: Vec<(crate::spec::NsKind, OwnedFd)>,
    /// Where the pty master goes when the process asks for a terminal.
    pub console_socket: Option<OwnedFd>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    pub seccomp: Option<&'a seccomp::Filter>,
    pub seccomp_listener: Option<OwnedFd>,
    /// Idmapped binds made by the runtime.
    pub idmapped: crate::isolate::userns::Idmapped,
    /// Container id, for the session keyring's name.
    pub id: &'a str,
    pub new_keyring: bool,
    /// OCI state handed over with the createRuntime reply, for createContainer hooks.
    pub state: String,
    /// The cgroup files this process writes itself into first.
    pub cgroup_entry: crate::isolate::cgroups::Entry,
    pub executable: Option<CString>,
    /// argv and envp, built by `executable` so that the exec allocates nothing.
    pub exec_args: Option<sys::ExecArgs>,
    /// `palisade learn`: the runtime's end for the recording (step `record`).
    pub recorder: Option<OwnedFd>,
    /// The recording filter's listener, held until execve closes it (close-on-exec); the
    /// recorder takes its own copy first.
    pub recording: Option<OwnedFd>,
    /// What the kernel enforced of the Landlock ruleset, reported with `Ready`.
    pub landlock_status: Option<String>,
    /// The rootfs the rootfs step opened and checked against the plan's pin: pivot_root
    /// goes into this very directory, not into what its path leads to by then.
    pub root: Option<OwnedFd>,
    /// Root could not search the cwd: `cwd_as_user` tries again as the final user.
    pub cwd_pending: bool,
}

pub type Step = fn(&mut Ctx) -> io::Result<()>;

/// The order of the init, written once. Why this order:
/// - mounts need the namespaces; hooks run where runtime-spec config.md#posix-platform-hooks
///   puts them (createRuntime and createContainer after the mounts, before pivot_root);
/// - the console needs the container's devpts, so it follows pivot_root;
/// - sysctls are written while the process is still root with all capabilities, and
///   before /proc/sys becomes read-only (the default readonlyPaths), as runc does;
/// - masks and read-only paths come after every mount, so nothing is mounted over them;
/// - rlimits and the oom score before dropping privileges (raising them needs privilege);
/// - the bounding set is dropped while CAP_SETPCAP is held, then the uid changes with
///   KEEPCAPS, then the capability sets are set exactly;
/// - the scheduler and I/O priority with the container's own capabilities, so that a
///   real-time class or a negative nice value needs CAP_SYS_NICE in its sets;
/// - no_new_privs, then Landlock (which requires it, or CAP_SYS_ADMIN);
/// - the cwd is opened and entered as root, before any filter of the config's is loaded
///   (openat2 is newer than many allowlists), as runc first tries it; only a directory root
///   cannot reach is tried again as the final user (`cwd_as_user`);
/// - the executable is resolved as the final user, before `ready`, so that a missing
///   program fails `create`, not `start`;
/// - stray descriptors are closed last before waiting (CVE-2024-21626);
/// - seccomp comes after `start` and the startContainer hooks, as the last step before
///   execve, so the filter need not allow the runtime's own system calls.
pub const STEPS: &[(&str, Step)] = &[
    ("cgroup", step_cgroup),
    ("namespaces", step_namespaces),
    // Once in the cgroup (the runtime's Proceed says so): not the caller's CPUs.
    ("affinity", step_affinity),
    ("keyring", step_keyring),
    ("rootfs", step_rootfs),
    ("hooks_create_runtime", step_hooks_create_runtime),
    ("hooks_create_container", step_hooks_create_container),
    ("pivot_root", step_pivot_root),
    ("console", step_console),
    ("host", step_host),
    ("paths", step_paths),
    ("rlimits", step_rlimits),
    // Before any filter of the config's: older allowlists gate set_mempolicy on CAP_SYS_NICE.
    ("memory_policy", step_memory_policy),
    ("personality", step_personality),
    ("cwd", step_cwd),
    // Before any filter of the config's: a filter answering PR_CAPBSET_READ with EINVAL
    // would otherwise end the walk with nothing dropped. Dropping from the bounding set
    // leaves the effective set, and so CAP_SYS_ADMIN for seccomp_early, as it is.
    ("bounding_set", step_bounding_set),
    // Without no_new_privs the kernel takes a filter only from a task holding
    // CAP_SYS_ADMIN: then seccomp goes here, before any privilege is dropped (as runc does).
    // Every later step then runs under the config's filter: see LATE_SYSCALLS; a filter
    // that would fake success for the privilege calls is refused (spec::early_filter).
    ("seccomp_early", step_seccomp_early),
    ("identity", step_identity),
    ("capabilities", step_capabilities),
    // With the container's own capabilities: a real-time policy needs CAP_SYS_NICE there.
    ("scheduling", step_scheduling),
    ("no_new_privs", step_no_new_privs),
    // Landlock after no_new_privs, which it requires; its paths are container paths.
    ("landlock", step_landlock),
    ("executable", step_executable),
    ("cwd_as_user", step_cwd_as_user),
    ("fds", step_fds),
    ("ready", step_ready),
    ("wait_start", step_wait_start),
    ("hooks_start_container", step_hooks_start_container),
    // With no_new_privs: seccomp last, so the filter need not allow the runtime's calls.
    ("seccomp", step_seccomp),
    ("record", step_record),
];

/// `exec`: a process entering a running container. It joins the container's namespaces
/// and cgroup instead of making them, and then follows the init's order from rlimits on,
/// with no wait for `start`.
pub const EXEC_STEPS: &[(&str, Step)] = &[
    ("cgroup", step_cgroup),
    ("join", step_join),
    // The container's session keyring, by its name, as runc's setns init joins it: not the
    // caller's.
    ("keyring", step_keyring),
    ("affinity", step_exec_affinity),
    ("console", step_console),
    ("rlimits", step_rlimits),
    ("memory_policy", step_memory_policy),
    ("personality", step_personality),
    ("cwd", step_cwd),
    ("bounding_set", step_bounding_set),
    ("seccomp_early", step_seccomp_early),
    ("identity", step_identity),
    ("capabilities", step_capabilities),
    ("scheduling", step_scheduling),
    ("no_new_privs", step_no_new_privs),
    ("landlock", step_landlock),
    ("executable", step_executable),
    ("cwd_as_user", step_cwd_as_user),
    ("fds", step_fds),
    ("ready", step_ready),
    ("seccomp", step_seccomp),
];

/// The system calls each step after `seccomp_early` makes, by name (x86_64). When
/// `process.noNewPrivileges` is false the config's filter is loaded at `seccomp_early` and
/// every later step runs under it; allowlists written before 2020 (Docker's default profile
/// of its time, older Kubernetes RuntimeDefault profiles) deny openat2, close_range, clone3,
/// faccessat2 and the like with EPERM. So the late steps keep to the calls such lists
/// allow, and a newer call is only tried where an older one can stand in for it on
/// EPERM/ENOSYS. An integration test (integration/seccomp.rs) traces the init after the
/// filter is loaded and holds it to this table; a unit test holds the table to such a list.
/// The calls marked "(only if ...)" are made only when the config asks for that setting.
pub const LATE_SYSCALLS: &[(&str, &[&str])] = &[
    // fstat and fchown: the stdio handed to the user (isolate::identity::give_stdio).
    (
        "identity",
        &[
            "fstat",
            "newfstatat",
            "statx",
            "fchown",
            "setgroups",
            "setresgid",
            "setresuid",
            "prctl",
            "umask",
        ],
    ),
    ("capabilities", &["capget", "capset", "prctl"]),
    // (only if process.scheduler / ioPriority / a nice value is set)
    (
        "scheduling",
        &["sched_setattr", "ioprio_set", "setpriority"],
    ),
    ("no_new_privs", &["prctl"]),
    // (only if linux.landlock is set: the config's filter must allow Landlock's calls)
    (
        "landlock",
        &[
            "landlock_create_ruleset",
            "landlock_add_rule",
            "landlock_restrict_self",
            "open",
            "openat",
            "fstat",
            "close",
            "prctl",
        ],
    ),
    // Rust's std tries statx and falls back to newfstatat on EPERM/ENOSYS by itself.
    (
        "executable",
        &["access", "statx", "newfstatat", "stat", "fstat"],
    ),
    // (only if root could not reach the cwd): openat2, and chdir on EPERM/ENOSYS.
    (
        "cwd_as_user",
        &[
            "openat", "openat2", "chdir", "fchdir", "getcwd", "close", "fcntl",
        ],
    ),
    // close_range, and on EPERM/ENOSYS /proc/self/fd walked with fcntl.
    (
        "fds",
        &[
            "close_range",
            "open",
            "openat",
            "getdents64",
            "fstat",
            "newfstatat",
            "statx",
            "fcntl",
            "close",
        ],
    ),
    ("ready", &["prctl", "sendto", "sendmsg", "write"]),
    ("wait_start", &["read"]),
    // (only if startContainer hooks are set): fork and exec of each hook.
    (
        "hooks_start_container",
        &[
            "memfd_create",
            "fcntl",
            "dup",
            "pipe2",
            "clone",
            "fork",
            "vfork",
            "execve",
            "wait4",
            "write",
            "read",
            "lseek",
            "close",
            "poll",
            "kill",
            "nanosleep",
            "clock_nanosleep",
            "rt_sigprocmask",
            "rt_sigaction",
            "fstat",
            "newfstatat",
            "statx",
        ],
    ),
    ("exec", &["execve"]),
];

/// The calls of [`LATE_SYSCALLS`] newer than the allowlists of 2019, each tried only where
/// an older call stands in for it when the filter answers EPERM (or the kernel ENOSYS).
pub const LATE_WITH_FALLBACK: &[&str] = &["openat2", "close_range"];

/// Enters the container's cgroup on every v1 hierarchy (the v2 one it was born in), before
/// anything else and while it is still our code alone that runs.
fn step_cgroup(c: &mut Ctx) -> io::Result<()> {
    c.cgroup_entry.join_v1_self()
}

/// Joins the running container's namespaces (the user namespace first, so that the others
/// are entered with its privileges); setns into the mount namespace also moves us into the
/// container's root.
fn step_join(c: &mut Ctx) -> io::Result<()> {
    wait_proceed(c)?;
    for (kind, fd) in &c.joins {
        sys::setns(fd.as_fd(), kind.clone_flag()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("join the container's {} namespace: {e}", kind.spec_name()),
            )
        })?;
        if *kind == crate::spec::NsKind::User {
            userns::become_root()?;
        }
    }
    Ok(())
}

/// Every CPU the container's cgroup allows, not the affinity inherited from the caller of
/// the runtime (runc does the same). execCPUAffinity does not apply to the init.
fn step_affinity(_: &mut Ctx) -> io::Result<()> {
    affinity::set(None).map_err(|e| io::Error::new(e.kind(), format!("sched_setaffinity: {e}")))
}

/// `exec`: execCPUAffinity.final once in the cgroup, else every CPU the cgroup allows.
fn step_exec_affinity(c: &mut Ctx) -> io::Result<()> {
    let last = c.plan.process.exec_cpu_affinity.last.as_deref();
    affinity::set(last).map_err(|e| {
        let what = if last.is_some() {
            "process.execCPUAffinity.final"
        } else {
            "every CPU"
        };
        io::Error::new(e.kind(), format!("sched_setaffinity to {what}: {e}"))
    })
}

/// The step names in order (pinned by a test, shown by `palisade features`).
pub fn step_names() -> Vec<&'static str> {
    STEPS.iter().map(|(n, _)| *n).collect()
}

/// Waits for the runtime's `Proceed` (cgroup joined, id maps written) and keeps the state
/// it carries.
fn wait_proceed(c: &mut Ctx) -> io::Result<()> {
    match c.chan.expect("proceed")? {
        Msg::Proceed { state } => {
            c.state = state;
            Ok(())
        }
        Msg::Abort { reason } => Err(io::Error::other(reason)),
        other => Err(io::Error::other(format!("unexpected message {other:?}"))),
    }
}

fn step_namespaces(c: &mut Ctx) -> io::Result<()> {
    wait_proceed(c)?;
    namespaces::enter(c.plan)?;
    // In a user namespace (made with maps the runtime wrote, or joined), act as its root.
    if c.plan.namespace(crate::spec::NsKind::User).is_some() {
        userns::become_root()?;
    }
    Ok(())
}

/// A session keyring of the container's own, as runc makes unless --no-new-keyring.
fn step_keyring(c: &mut Ctx) -> io::Result<()> {
    if !c.new_keyring {
        return Ok(());
    }
    let name = std::ffi::CString::new(format!("_ses.{}", c.id)).map_err(io::Error::other)?;
    match sys::join_session_keyring(&name) {
        // A kernel without keys cannot leak them either.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        other => other.map_err(|e| io::Error::new(e.kind(), format!("join session keyring: {e}"))),
    }
}

fn step_rootfs(c: &mut Ctx) -> io::Result<()> {
    let root = rootfs::prepare(c.plan, c.cgroup, &c.idmapped)?;
    // A missing cwd is created now, as root and inside the rootfs, as runc does.
    resolve::open_or_create(root.as_fd(), &c.plan.process.cwd, resolve::Kind::Dir)
        .map(drop)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("create cwd {}: {e}", c.plan.process.cwd.display()),
            )
        })?;
    c.root = Some(root);
    Ok(())
}

fn step_hooks_create_runtime(c: &mut Ctx) -> io::Result<()> {
    if c.plan.hooks.prestart.is_empty()
        && c.plan.hooks.create_runtime.is_empty()
        && c.plan.hooks.create_container.is_empty()
    {
        return Ok(());
    }
    c.chan.send(&Msg::RunCreateRuntimeHooks)?;
    match c.chan.expect("hooks done")? {
        Msg::HooksDone { state } => {
            c.state = state;
            Ok(())
        }
        Msg::Abort { reason } => Err(io::Error::other(reason)),
        other => Err(io::Error::other(format!("unexpected message {other:?}"))),
    }
}

fn step_hooks_create_container(c: &mut Ctx) -> io::Result<()> {
    hooks::run_all("createContainer", &c.plan.hooks.create_container, &c.state)
        .map_err(io::Error::other)
}

fn step_pivot_root(c: &mut Ctx) -> io::Result<()> {
    let root = c
        .root
        .take()
        .ok_or_else(|| io::Error::other("the rootfs step did not run"))?;
    rootfs::pivot(root, c.no_pivot)
}

fn step_console(c: &mut Ctx) -> io::Result<()> {
    if !c.plan.process.terminal {
        return Ok(());
    }
    let sock = c.console_socket.take().ok_or_else(|| {
        io::Error::other("process.terminal is set but no console socket was given")
    })?;
    // /dev/console belongs to the container's init; an exec'd process only gets a pty.
    console::setup(
        sock.as_fd(),
        c.plan.process.console_size,
        c.joins.is_empty(),
    )
}

fn step_paths(c: &mut Ctx) -> io::Result<()> {
    rootfs::mask_and_lock(c.plan)
}

fn step_host(c: &mut Ctx) -> io::Result<()> {
    host::apply(c.plan)
}

fn step_rlimits(c: &mut Ctx) -> io::Result<()> {
    limits::apply(&c.plan.process)
}

fn step_memory_policy(c: &mut Ctx) -> io::Result<()> {
    crate::isolate::mempolicy::apply(c.plan.memory_policy.as_ref())
}

/// linux.personality (personality(2)): kept across execve, so the process runs under it.
fn step_personality(c: &mut Ctx) -> io::Result<()> {
    match c.plan.personality {
        None => Ok(()),
        Some(p) => sys::set_personality(p)
            .map_err(|e| io::Error::new(e.kind(), format!("personality {p:#x}: {e}"))),
    }
}

fn step_bounding_set(c: &mut Ctx) -> io::Result<()> {
    caps::drop_bounding(&c.plan.process.caps)
}

fn step_identity(c: &mut Ctx) -> io::Result<()> {
    identity::apply(&c.plan.process)
}

fn step_capabilities(c: &mut Ctx) -> io::Result<()> {
    caps::apply(&c.plan.process.caps)
}

fn step_scheduling(c: &mut Ctx) -> io::Result<()> {
    scheduling::apply(&c.plan.process)
}

fn step_no_new_privs(c: &mut Ctx) -> io::Result<()> {
    nnp::apply(c.plan.process.no_new_privileges)
}

fn step_landlock(c: &mut Ctx) -> io::Result<()> {
    if let Some(l) = &c.plan.landlock {
        let status = l.apply().map_err(io::Error::other)?;
        c.landlock_status = Some(status.to_owned());
    }
    Ok(())
}

fn step_executable(c: &mut Ctx) -> io::Result<()> {
    let p = &c.plan.process;
    let path = find_executable(&p.args[0], &p.env, &p.cwd)?;
    c.executable =
        Some(CString::new(path.into_os_string().into_encoded_bytes()).map_err(io::Error::other)?);
    let cstrings = |v: &[String]| -> Vec<CString> {
        v.iter()
            .filter_map(|a| CString::new(a.as_str()).ok())
            .collect()
    };
    let env = with_home(&p.env, p.uid);
    c.exec_args = Some(sys::ExecArgs::new(cstrings(&p.args), cstrings(&env)));
    Ok(())
}

/// The environment as runc's prepareEnv gives it: one entry per name, the last one given
/// (getenv(3) would find the first), in the order of those; and HOME, where it has none,
/// the user's home in the container's /etc/passwd, or `/`.
fn with_home(env: &[String], uid: u32) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut env: Vec<String> = env
        .iter()
        .rev()
        .filter(|e| seen.insert(e.split('=').next().unwrap_or_default()))
        .cloned()
        .collect();
    env.reverse();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = passwd_home(Path::new("/etc/passwd"), uid).unwrap_or_else(|| "/".into());
        env.push(format!("HOME={home}"));
    }
    env
}

/// The home directory of `uid` in a passwd(5) file of the image's: opened without
/// blocking and read only if it is a regular file (a FIFO there must not hang the init),
/// at most 1 MiB of it.
fn passwd_home(path: &Path, uid: u32) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let ft = f.metadata().ok()?.file_type();
    if !ft.is_file() || ft.is_fifo() {
        return None;
    }
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid) && !f[5].is_empty())
            .then(|| f[5].to_owned())
    })
}

/// exec.LookPath as runc uses it: a name with a slash is taken as is, otherwise the
/// container's PATH (or the default one) is searched for an executable file.
fn find_executable(name: &str, env: &[String], cwd: &Path) -> io::Result<PathBuf> {
    let is_exec = |p: &Path| {
        nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok()
            && p.metadata().map(|m| m.is_file()).unwrap_or(false)
    };
    if name.contains('/') {
        let p = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            cwd.join(name)
        };
        if is_exec(&p) {
            return Ok(PathBuf::from(name));
        }
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("exec: {name:?}: no such executable file"),
        ));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let p = Path::new(dir).join(name);
        if is_exec(&p) {
            return Ok(p);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("exec: {name:?}: executable file not found in $PATH"),
    ))
}

/// cwd is resolved inside the new root without magic links, and checked to be reachable
/// from it: a cwd such as /proc/self/fd/N naming a leaked host directory is refused
/// (CVE-2024-21626). As root and before any filter of the config's (runc's finalizeNamespace
/// tries the chdir as root first too); a directory root may not search (a user namespace
/// whose root does not own it) is left to `cwd_as_user`.
fn step_cwd(c: &mut Ctx) -> io::Result<()> {
    match enter_cwd(&c.plan.process.cwd, false) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            c.cwd_pending = true;
            Ok(())
        }
        other => other,
    }
}

/// The second try of runc's finalizeNamespace, as the final user, possibly under the
/// config's filter: openat2, then a plain chdir where the filter denies openat2 (EPERM) or
/// the kernel lacks it (ENOSYS). The chdir path is resolved inside the pivoted root; the
/// reachability check below still refuses a leaked directory.
fn step_cwd_as_user(c: &mut Ctx) -> io::Result<()> {
    if !std::mem::take(&mut c.cwd_pending) {
        return Ok(());
    }
    enter_cwd(&c.plan.process.cwd, true)
}

fn enter_cwd(cwd: &Path, late: bool) -> io::Result<()> {
    let named = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} {}: {e}", cwd.display()))
    };
    let root = resolve::open_root(Path::new("/"))?;
    match sys::openat2(
        root.as_fd(),
        &relative(cwd),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(dir) => {
            nix::unistd::fchdir(dir.as_raw_fd()).map_err(|e| named("chdir", io::Error::from(e)))?
        }
        Err(e) if late && matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => {
            std::env::set_current_dir(cwd).map_err(|e| named("chdir", e))?
        }
        Err(e) => return Err(named("cwd", e)),
    }
    let now = std::env::current_dir()?;
    if !now.is_absolute() || now.to_string_lossy().starts_with("(unreachable)") {
        return Err(io::Error::other(format!(
            "cwd {} is outside the container root (CVE-2024-21626)",
            cwd.display()
        )));
    }
    Ok(())
}

fn relative(p: &Path) -> PathBuf {
    let r: PathBuf = p
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    if r.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        r
    }
}

fn step_fds(c: &mut Ctx) -> io::Result<()> {
    fds::close_stray(c.preserve_fds)
}

fn step_ready(c: &mut Ctx) -> io::Result<()> {
    // From here on the init outlives `create`: it must not die with it.
    sys::set_parent_death_signal(0)?;
    c.chan.send(&Msg::Ready {
        landlock: c.landlock_status.clone(),
    })
}

fn step_wait_start(c: &mut Ctx) -> io::Result<()> {
    let mut byte = [0u8; 1];
    loop {
        let fifo = c
            .fifo
            .as_ref()
            .ok_or_else(|| io::Error::other("no exec fifo"))?;
        match nix::unistd::read(fifo.as_raw_fd(), &mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("wait for start: {e}"),
                ))
            }
        }
    }
}

/// After the hooks succeed the init takes the second byte `start` wrote: `start` sees it
/// gone and knows they passed (lifecycle::start), where an init that died in a hook leaves it.
fn step_hooks_start_container(c: &mut Ctx) -> io::Result<()> {
    if c.plan.hooks.start_container.is_empty() {
        return Ok(());
    }
    hooks::run_all("startContainer", &c.plan.hooks.start_container, &c.state)
        .map_err(io::Error::other)?;
    step_wait_start(c)
}

fn step_seccomp_early(c: &mut Ctx) -> io::Result<()> {
    if c.plan.process.no_new_privileges {
        return Ok(());
    }
    load_seccomp(c)
}

fn step_seccomp(c: &mut Ctx) -> io::Result<()> {
    if !c.plan.process.no_new_privileges {
        return Ok(());
    }
    load_seccomp(c)
}

/// `palisade learn` only: the recording filter, the very last step, so that none of the
/// runtime's own calls is recorded and execve is the first. The recorder is told before the
/// filter is loaded; after it, nothing runs but the return to execve (no allocation, no
/// logging): the recorder takes the listener from this process (pidfd_getfd) and answers
/// every call, this one's execve first.
fn step_record(c: &mut Ctx) -> io::Result<()> {
    let Some(sock) = c.recorder.take() else {
        return Ok(());
    };
    nix::unistd::write(&sock, b"armed").map_err(|e| {
        io::Error::new(io::Error::from(e).kind(), format!("tell the recorder: {e}"))
    })?;
    c.recording = sys::seccomp_set_filter(&sys::RECORD_ALL_BPF, sys::SECCOMP_NEW_LISTENER)
        .map_err(|e| io::Error::new(e.kind(), format!("load the recording filter: {e}")))?;
    // Dropped at execve (close-on-exec), not here: close(2) would be recorded.
    std::mem::forget(sock);
    Ok(())
}

fn load_seccomp(c: &mut Ctx) -> io::Result<()> {
    let Some(filter) = c.seccomp else {
        return Ok(());
    };
    if let Some(listener) = seccomp::load(filter)? {
        let sock = c
            .seccomp_listener
            .take()
            .ok_or_else(|| io::Error::other("NOTIFY filter without a listener connection"))?;
        seccomp::send_listener(sock.as_fd(), listener.as_fd(), filter, &c.state)
            .map_err(|e| io::Error::new(e.kind(), format!("send the seccomp listener: {e}")))?;
    }
    Ok(())
}

/// The child's whole life: returns only an exit status (the runtime sees it on failure).
pub fn run(mut ctx: Ctx, steps: &[(&str, Step)]) -> i32 {
    // Until execve nobody, the container's own processes included, may open our
    // /proc/PID/exe or memory (CVE-2019-5736 class); execve resets this.
    let _ = sys::set_dumpable(false);
    let _ = sys::set_parent_death_signal(libc::SIGKILL);
    sys::reset_signals();
    let mut keep = vec![ctx.chan.as_raw_fd()];
    keep.extend(ctx.fifo.as_ref().map(|f| f.as_raw_fd()));
    keep.extend(ctx.joins.iter().map(|(_, f)| f.as_raw_fd()));
    keep.extend(ctx.console_socket.as_ref().map(|s| s.as_raw_fd()));
    keep.extend(ctx.seccomp_listener.as_ref().map(|s| s.as_raw_fd()));
    keep.extend(ctx.recorder.as_ref().map(|s| s.as_raw_fd()));
    keep.extend(
        ctx.idmapped
            .mounts
            .iter()
            .flatten()
            .map(|b| b.tree.as_raw_fd()),
    );
    keep.extend(ctx.idmapped.rootfs.as_ref().map(|b| b.tree.as_raw_fd()));
    keep.extend(ctx.cgroup_entry.v1_tasks.iter().map(|(_, f)| f.as_raw_fd()));
    if let Err(e) = fds::close_inherited(&keep, ctx.preserve_fds) {
        report(&ctx, "fds", &e.to_string());
        return 1;
    }
    for (name, step) in steps {
        if let Err(e) = step(&mut ctx) {
            report(&ctx, name, &e.to_string());
            return 1;
        }
    }
    // Nothing between the last step and execve makes a system call (see step `record`).
    let (Some(exe), Some(args)) = (&ctx.executable, &ctx.exec_args) else {
        report(&ctx, "exec", "the executable step did not run");
        return 127;
    };
    let err = sys::execve_prepared(exe, args);
    report(
        &ctx,
        "exec",
        &format!("exec {}: {err}", exe.to_string_lossy()),
    );
    127
}

/// Before `ready` the runtime is listening; after it the error goes to the container's
/// stderr, which is where the workload's own output goes too.
fn report(ctx: &Ctx, step: &str, error: &str) {
    let sent = ctx
        .chan
        .send(&Msg::Failed {
            step: step.to_owned(),
            error: error.to_owned(),
        })
        .is_ok();
    if !sent
        || step == "wait_start"
        || step == "hooks_start_container"
        || step == "seccomp"
        || step == "exec"
    {
        eprintln!("palisade init: {step}: {error}");
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn duplicate_names_keep_the_last_value_as_runc_does() {
        let env: Vec<String> = ["A=1", "PATH=/bin", "A=2", "HOME=/h", "B=x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(with_home(&env, 0), ["PATH=/bin", "A=2", "HOME=/h", "B=x"]);
    }

    use super::*;

    /// The order is part of the security design (see STEPS); changing it must be deliberate.
    #[test]
    fn step_order_is_pinned() {
        assert_eq!(
            step_names(),
            vec![
                "cgroup",
                "namespaces",
                "affinity",
                "keyring",
                "rootfs",
                "hooks_create_runtime",
                "hooks_create_container",
                "pivot_root",
                "console",
                "host",
                "paths",
                "rlimits",
                "memory_policy",
                "personality",
                "cwd",
                "bounding_set",
                "seccomp_early",
                "identity",
                "capabilities",
                "scheduling",
                "no_new_privs",
                "landlock",
                "executable",
                "cwd_as_user",
                "fds",
                "ready",
                "wait_start",
                "hooks_start_container",
                "seccomp",
                "record",
            ]
        );
    }

    /// Every call a late step makes is one Docker's allowlist of 2019 allows (clone without
    /// namespace flags, as that list has it), or has a classic fallback; Landlock's calls
    /// are made only for a config that asks for Landlock.
    #[test]
    fn late_steps_keep_to_an_allowlist_of_2019() {
        let era: std::collections::HashSet<&str> =
            include_str!("../../integration/data/docker-2019-syscalls.txt")
                .lines()
                .filter(|l| !l.starts_with('#'))
                .chain(["clone"])
                .collect();
        for (step, calls) in LATE_SYSCALLS {
            assert!(
                step_names().contains(step) || *step == "exec",
                "{step} is not a step"
            );
            for call in *calls {
                let landlock = *step == "landlock" && call.starts_with("landlock_");
                assert!(
                    era.contains(call) || LATE_WITH_FALLBACK.contains(call) || landlock,
                    "{step}: {call} is denied by allowlists of 2019 and has no fallback"
                );
            }
        }
        // The late steps are exactly those after seccomp_early.
        let names = step_names();
        let early = names.iter().position(|n| *n == "seccomp_early").unwrap();
        let late: Vec<&str> = names[early + 1..]
            .iter()
            .copied()
            .filter(|n| *n != "seccomp" && *n != "record")
            .chain(["exec"])
            .collect();
        let documented: Vec<&str> = LATE_SYSCALLS.iter().map(|(s, _)| *s).collect();
        assert_eq!(documented, late);
    }

    #[test]
    fn path_lookup() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(find_executable("sh", &env, Path::new("/"))
            .unwrap()
            .ends_with("sh"));
        let e = find_executable("no-such-program-x", &env, Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("not found in $PATH"));
    }
}
