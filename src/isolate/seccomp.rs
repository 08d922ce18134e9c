//! linux.seccomp (runtime-spec config-linux.md#seccomp) through libseccomp. The runtime
//! compiles the filter to BPF before anything is created, so every error surfaces at
//! `create`; the init then loads those bytes with one seccomp(2) call.

use std::io::{self, IoSlice, Read, Seek};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompOperator as Op};

use super::seccomp_enosys::{self, Highest};
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("linux.seccomp.{field}: {why}")]
    Invalid { field: String, why: String },
    #[error("libseccomp: {0}")]
    Lib(String),
}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> SeccompError {
    SeccompError::Invalid {
        field: field.into(),
        why: why.into(),
    }
}

fn lib(e: impl std::fmt::Display) -> SeccompError {
    SeccompError::Lib(e.to_string())
}

// seccomp(2) filter flags.
const FLAG_LOG: u32 = 1 << 1;
const FLAG_SPEC_ALLOW: u32 = 1 << 2;
const FLAG_NEW_LISTENER: u32 = 1 << 3;
const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

/// A compiled filter, ready for the init.
#[derive(Debug, Clone)]
pub struct Filter {
    pub bpf: Vec<u8>,
    pub flags: u32,
    /// Where the NOTIFY listener descriptor goes (runtime-spec: listenerPath).
    pub listener_path: Option<std::path::PathBuf>,
    pub listener_metadata: String,
    /// For the audit record and `features`: how many rules, which default.
    pub rules: usize,
    pub default_action: String,
    /// Syscall names this libseccomp does not know (skipped, as runc does).
    pub skipped: Vec<String>,
}

fn action(a: A, errno: Option<u32>, field: &str) -> Result<ScmpAction, SeccompError> {
    let ret = |e: Option<u32>| e.map(|v| v as i32).unwrap_or(libc::EPERM);
    // config-linux.md#seccomp: "When the action doesn't support an errno, the runtime MUST
    // print and error and fail."
    if errno.is_some() && !matches!(a, A::ScmpActErrno | A::ScmpActTrace) {
        return Err(invalid(
            field,
            format!(
                "errnoRet is set but {} returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)",
                name_of(&a)
            ),
        ));
    }
    Ok(match a {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(ret(errno)),
        A::ScmpActTrace => ScmpAction::Trace(
            u16::try_from(ret(errno))
                .map_err(|_| invalid(field, "errnoRet of SCMP_ACT_TRACE must fit 16 bits"))?,
        ),
        A::ScmpActAllow => ScmpAction::Allow,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActNotify => ScmpAction::Notify,
    })
}

fn compare(op: Op, value: u64, value_two: Option<u64>) -> (ScmpCompareOp, u64) {
    match op {
        Op::ScmpCmpNe => (ScmpCompareOp::NotEqual, value),
        Op::ScmpCmpLt => (ScmpCompareOp::Less, value),
        Op::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, value),
        Op::ScmpCmpEq => (ScmpCompareOp::Equal, value),
        Op::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, value),
        Op::ScmpCmpGt => (ScmpCompareOp::Greater, value),
        // The spec's value is the mask, valueTwo the value the masked argument must equal.
        Op::ScmpCmpMaskedEq => (ScmpCompareOp::MaskedEqual(value), value_two.unwrap_or(0)),
    }
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Builds and exports the filter.
pub fn compile(s: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let default = action(s.default_action(), s.default_errno_ret(), "defaultAction")?;
    let mut ctx = ScmpFilterContext::new_filter(default).map_err(lib)?;
    // palisade sets no_new_privs itself, in its own step, as the spec asks.
    ctx.set_ctl_nnp(false).map_err(lib)?;
    // The filter's architectures: the native one, which libseccomp always includes, and
    // those listed.
    let mut arches = vec![ScmpArch::native()];
    for (i, a) in s
        .architectures()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = name_of(a);
        let arch = ScmpArch::from_str(&name)
            .map_err(|_| invalid(format!("architectures[{i}]"), format!("unknown {name}")))?;
        ctx.add_arch(arch).map_err(lib)?;
        arches.push(arch);
    }
    let mut flags = 0;
    for (i, f) in s.flags().as_deref().unwrap_or_default().iter().enumerate() {
        flags |= match name_of(f).as_str() {
            "SECCOMP_FILTER_FLAG_LOG" => FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => FLAG_SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => FLAG_WAIT_KILLABLE_RECV,
            // TSYNC makes no difference to a single-threaded init.
            "SECCOMP_FILTER_FLAG_TSYNC" => 0,
            other => {
                return Err(invalid(
                    format!("flags[{i}]"),
                    format!("unknown flag {other}"),
                ))
            }
        };
    }
    let mut notify = default == ScmpAction::Notify;
    let mut rules = 0;
    let mut skipped = Vec::new();
    let mut highest = Highest::default();
    for (i, sc) in s
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &field)?;
        notify |= act == ScmpAction::Notify;
        let args = sc.args().as_deref().unwrap_or_default();
        // runc's rule: conditions on distinct arguments are ANDed in one rule; when an
        // argument index repeats, each condition becomes a rule of its own (ORed).
        let mut seen = std::collections::HashSet::new();
        let distinct = args.iter().all(|a| seen.insert(a.index()));
        let conds: Vec<ScmpArgCompare> = args
            .iter()
            .map(|a| {
                let (op, datum) = compare(a.op(), a.value(), a.value_two());
                ScmpArgCompare::new(a.index() as u32, op, datum)
            })
            .collect();
        if args.iter().any(|a| a.index() > 5) {
            return Err(invalid(
                format!("{field}.args"),
                "argument index must be 0 to 5",
            ));
        }
        for name in sc.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                skipped.push(name.clone());
                continue;
            };
            for &arch in &arches {
                if let Ok(n) = ScmpSyscall::from_name_by_arch(name, arch) {
                    highest.note(arch, i32::from(n));
                }
            }
            // A rule whose action equals the default is redundant; libseccomp refuses it.
            if act == default {
                continue;
            }
            let res = if conds.is_empty() {
                ctx.add_rule(act, nr)
            } else if distinct {
                ctx.add_rule_conditional(act, nr, &conds)
            } else {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, nr, std::slice::from_ref(c)))
            };
            res.map_err(|e| invalid(&field, format!("{name}: {e}")))?;
            rules += 1;
        }
    }
    // Syscalls newer than the profile answer ENOSYS rather than the default error, so that
    // programs fall back to older calls (runc does the same): see seccomp_enosys. Not
    // where unnamed calls are allowed, logged, traced or handed to a listener (those
    // decide for themselves), nor where the default already is ENOSYS (podman's profile).
    let enosys = !matches!(
        default,
        ScmpAction::Allow
            | ScmpAction::Log
            | ScmpAction::Trace(_)
            | ScmpAction::Notify
            | ScmpAction::Errno(libc::ENOSYS)
    );
    if notify {
        if s.listener_path().is_none() {
            return Err(invalid(
                "listenerPath",
                "SCMP_ACT_NOTIFY needs a listenerPath",
            ));
        }
        flags |= FLAG_NEW_LISTENER;
    }
    Ok(Filter {
        bpf: if enosys {
            seccomp_enosys::prepend(&highest, &export(&ctx)?)
        } else {
            export(&ctx)?
        },
        flags,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone().unwrap_or_default(),
        rules,
        default_action: name_of(&s.default_action()),
        skipped,
    })
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompError> {
    let fd = sys::memfd_sealable(c"palisade-seccomp").map_err(lib)?;
    let mut f = std::fs::File::from(fd);
    ctx.export_bpf(&mut f).map_err(lib)?;
    f.rewind().map_err(lib)?;
    let mut bpf = Vec::new();
    f.read_to_end(&mut bpf).map_err(lib)?;
    if bpf.is_empty() || bpf.len() % 8 != 0 {
        return Err(SeccompError::Lib(format!(
            "exported filter has {} bytes, not whole instructions",
            bpf.len()
        )));
    }
    Ok(bpf)
}

/// Loads the filter into the calling thread; returns the NOTIFY listener, if any.
pub fn load(f: &Filter) -> io::Result<Option<OwnedFd>> {
    sys::seccomp_set_filter(&f.bpf, f.flags)
        .map_err(|e| io::Error::new(e.kind(), format!("seccomp(SECCOMP_SET_MODE_FILTER): {e}")))
}

/// Sends the listener to the agent as runtime-spec config-linux.md#seccomp says: the
/// container process state as JSON with the descriptor in SCM_RIGHTS.
pub fn send_listener(
    sock: BorrowedFd<'_>,
    listener: BorrowedFd<'_>,
    f: &Filter,
    state: &str,
) -> io::Result<()> {
    let state: serde_json::Value = serde_json::from_str(state).unwrap_or_default();
    let msg = serde_json::json!({
        "ociVersion": crate::defaults::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": state["pid"],
        "metadata": f.listener_metadata,
        "state": state,
    })
    .to_string();
    let fds = [listener.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(msg.as_bytes())],
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seccomp(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn compiles_rules_args_and_flags() {
        let f = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
                {"names": ["read", "write", "no_such_call_xyz"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index": 2, "value": 511, "valueTwo": 448, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        })))
        .unwrap();
        assert_eq!(f.flags, FLAG_LOG);
        assert_eq!(f.rules, 4);
        assert_eq!(f.skipped, vec!["no_such_call_xyz"]);
        assert!(f.bpf.len() >= 8 * 10);
    }

    /// podman's default profile: every unlisted call answers ENOSYS.
    #[test]
    fn a_default_of_enosys_compiles() {
        let f = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["bdflush"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
            ]
        })))
        .unwrap();
        assert_eq!(f.rules, 3);
    }

    /// config-linux.md#seccomp: an errnoRet on an action without an errno fails.
    #[test]
    fn errno_ret_only_with_actions_that_return_one() {
        let e = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1
        })))
        .unwrap_err()
        .to_string();
        assert!(e.contains("defaultAction") && e.contains("errnoRet"), "{e}");
        let e = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL_PROCESS", "errnoRet": 5}]
        })))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("errnoRet") && e.contains("SCMP_ACT_KILL_PROCESS"),
            "{e}"
        );
    }

    #[test]
    fn notify_needs_a_listener() {
        let e = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        })))
        .unwrap_err();
        assert!(e.to_string().contains("listenerPath"), "{e}");
    }

    #[test]
    fn bad_argument_index_is_refused() {
        let e = compile(&seccomp(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]
        })))
        .unwrap_err();
        assert!(e.to_string().contains("syscalls[0].args"), "{e}");
    }
}
