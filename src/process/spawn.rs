//! The runtime's side of starting an init: clone it into its namespaces, place it in its
//! cgroup, answer its requests, and return once it reports `Ready`.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use super::init::{self, Ctx};
use super::sync::{Channel, Msg};
use crate::isolate::cgroups::{Cgroup, Entry};
use crate::isolate::namespaces::{self, ChildrenIn};
use crate::spec::Plan;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("spawn init: {0}")]
    Clone(io::Error),
    #[error("init step {step}: {error}")]
    Step { step: String, error: String },
    #[error("{0}")]
    Runtime(String),
    #[error("talk to init: {0}")]
    Channel(io::Error),
}

pub struct SpawnOptions<'a> {
    /// The init's steps, or those of `exec`.
    pub steps: &'static [(&'static str, init::Step)],
    /// For `exec`: namespaces of the running container to join.
    pub joins: Vec<(crate::spec::NsKind, OwnedFd)>,
    pub seccomp: Option<&'a crate::isolate::seccomp::Filter>,
    /// Connected to linux.seccomp.listenerPath when the filter has NOTIFY rules.
    pub seccomp_listener: Option<OwnedFd>,
    /// Idmapped binds made by the runtime.
    pub idmapped: crate::isolate::userns::Idmapped,
    pub id: &'a str,
    pub new_keyring: bool,
    pub fifo: Option<OwnedFd>,
    pub console_socket: Option<OwnedFd>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    /// How the process enters its cgroup by itself; `None` when the runtime joins it by
    /// pid (a systemd scope, which exists only once the init does).
    pub entry: Option<Entry>,
    /// `palisade learn`: the init's end of the recording session.
    pub recorder: Option<OwnedFd>,
}

/// A running init that has not reported `Ready` yet.
pub struct Pending {
    pub pid: i32,
    chan: Channel,
    /// The cgroup v2 directory the init was not born in (cloned by a first stage, or a
    /// kernel without CLONE_INTO_CGROUP): the runtime writes its pid there.
    pub v2_unjoined: Option<std::path::PathBuf>,
}

/// Clones the init. New namespaces come from the clone flags, except the cgroup namespace,
/// which the init unshares after the runtime has moved it into its cgroup. Pid (and time)
/// namespaces given by path are entered for the child only.
pub fn spawn(plan: &Plan, cgroup: &Cgroup, opts: SpawnOptions<'_>) -> Result<Pending, SpawnError> {
    let (ours, theirs) = Channel::pair().map_err(SpawnError::Clone)?;
    let flags = if namespaces::joins_user_namespace(plan) {
        0
    } else {
        plan.new_namespace_flags() & !libc::CLONE_NEWCGROUP & !libc::CLONE_NEWTIME
    };
    let children_in = ChildrenIn::enter(plan).map_err(SpawnError::Clone)?;
    let mut opts = opts;
    let mut entry = opts.entry.take().unwrap_or_default();
    let v2 = entry.v2.take();
    let mut theirs = Some(theirs);
    let mut opts = Some(opts);
    let mut entry = Some(entry);
    let mut init = || {
        let opts = opts.take().expect("once");
        let steps = opts.steps;
        init::run(
            Ctx {
                joins: opts.joins,
                plan,
                cgroup,
                chan: theirs.take().expect("once"),
                fifo: opts.fifo,
                console_socket: opts.console_socket,
                no_pivot: opts.no_pivot,
                preserve_fds: opts.preserve_fds,
                id: opts.id,
                seccomp: opts.seccomp,
                seccomp_listener: opts.seccomp_listener,
                idmapped: opts.idmapped,
                new_keyring: opts.new_keyring,
                state: String::new(),
                cgroup_entry: entry.take().expect("once"),
                executable: None,
                exec_args: None,
                recorder: opts.recorder,
                recording: None,
                landlock_status: None,
                root: None,
                cwd_pending: false,
            },
            steps,
        )
    };
    let mut born_in_v2 = false;
    let pid = if namespaces::needs_stage(plan) {
        namespaces::clone_staged(plan, flags, &mut init)
    } else if let Some((dir, fd)) = &v2 {
        match sys::clone3_into_cgroup(flags, fd.as_fd(), &mut init) {
            // A kernel before 5.7 (no clone3, or no CLONE_INTO_CGROUP): the runtime joins.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL)
                ) =>
            {
                sys::clone_into(flags, &mut init)
            }
            Err(e) => {
                return Err(SpawnError::Clone(io::Error::new(
                    e.kind(),
                    format!("clone3 into cgroup {}: {e}", dir.display()),
                )))
            }
            Ok(pid) => {
                born_in_v2 = true;
                Ok(pid)
            }
        }
    } else {
        sys::clone_into(flags, &mut init)
    }
    .map_err(SpawnError::Clone)?;
    drop(children_in);
    // Our copies of the init's descriptors close here (the clone has its own).
    drop(theirs);
    drop(opts);
    drop(entry);
    Ok(Pending {
        pid,
        chan: ours,
        v2_unjoined: v2.filter(|_| !born_in_v2).map(|(dir, _)| dir),
    })
}

impl Pending {
    /// process.oomScoreAdj, written by the runtime from the host's procfs before the init
    /// goes on, as runc does: from inside a user namespace the init cannot write it (its
    /// /proc/self files belong to host root while it is not dumpable), and the workload
    /// inherits it through execve.
    pub fn set_oom_score_adj(&self, adj: i32) -> io::Result<()> {
        std::fs::write(format!("/proc/{}/oom_score_adj", self.pid), adj.to_string()).map_err(|e| {
            let why = if adj < 0 && e.raw_os_error() == Some(libc::EACCES) {
                " (lowering it needs CAP_SYS_RESOURCE, which this runtime does not hold here)"
            } else {
                ""
            };
            io::Error::new(e.kind(), format!("write oomScoreAdj {adj}: {e}{why}"))
        })
    }

    /// Lets the init go on (its cgroup is ready).
    pub fn proceed(&self, state: String) -> Result<(), SpawnError> {
        self.chan.send(&Msg::Proceed { state }).map_err(|e| {
            // An init whose first step failed has said why and gone; one that is still
            // waiting (the send itself failed) has said nothing, and must not be waited for.
            match self.chan.try_recv() {
                Ok(Some(Msg::Failed { step, error })) => SpawnError::Step { step, error },
                _ => SpawnError::Channel(e),
            }
        })
    }

    /// Stops the init before it starts anything.
    pub fn abort(&self, reason: &str) {
        let _ = self.chan.send(&Msg::Abort {
            reason: reason.into(),
        });
    }

    /// Serves the init until `Ready`, returning its Landlock status. `create_runtime_hooks`
    /// runs the prestart and createRuntime hooks and returns the state JSON for the
    /// createContainer hooks.
    pub fn wait_ready(
        &self,
        mut create_runtime_hooks: impl FnMut() -> Result<String, String>,
    ) -> Result<Option<String>, SpawnError> {
        loop {
            match self.chan.recv().map_err(SpawnError::Channel)? {
                Some(Msg::Ready { landlock }) => return Ok(landlock),
                Some(Msg::RunCreateRuntimeHooks) => match create_runtime_hooks() {
                    Ok(state) => self
                        .chan
                        .send(&Msg::HooksDone { state })
                        .map_err(SpawnError::Channel)?,
                    Err(e) => {
                        self.abort(&e);
                        return Err(SpawnError::Runtime(e));
                    }
                },
                Some(Msg::Failed { step, error }) => return Err(SpawnError::Step { step, error }),
                Some(other) => {
                    return Err(SpawnError::Runtime(format!(
                        "unexpected message from init: {other:?}"
                    )))
                }
                None => {
                    return Err(SpawnError::Runtime(
                        "init exited before it was ready".into(),
                    ))
                }
            }
        }
    }
}
