//! Sockets the runtime connects to, as root on the host, because the config names them.

use std::path::Path;

use super::{plain, strings, Params, Rule, NIST};
use crate::policy::exposure::Exposure;
use crate::policy::host::{clean, Host};
use crate::policy::{Scope, Severity};

fn runtime_sockets(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    use std::os::unix::ffi::OsStrExt;
    let Some(path) = x
        .plan
        .seccomp
        .as_ref()
        .and_then(|s| s.listener_path().as_deref())
    else {
        return vec![];
    };
    let allowed: Vec<_> = strings(p, "allowed")
        .iter()
        .map(|s| clean(Path::new(s)))
        .collect();
    // Spelled as listed: a path through `..` (or a symlink the listed parent does not
    // hold) could lead to another socket by the time the runtime connects.
    let listed = plain(path.as_os_str().as_bytes())
        && !path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        && allowed.contains(&clean(path));
    if listed {
        return vec![];
    }
    vec![format!(
        "linux.seccomp.listenerPath {}: the runtime connects to this socket as root on the host and sends it the container's state and its seccomp notification descriptor (whoever holds it decides the outcome of the calls the filter hands over), and it is not an allowed listener",
        path.display()
    )]
}

pub(super) const RUNTIME_SOCKETS: Rule = Rule {
    id: "runtime-sockets",
    title: "The runtime connects only to the operator's sockets",
    severity: Severity::High,
    scope: Scope::Container,
    checks: "linux.seccomp.listenerPath, if set, is spelled plainly (no `..`) and is in the rule's `allowed` list of seccomp agent sockets.",
    why: "The runtime connects to the listener socket as root, from the host, and writes the container's state to it with the notification descriptor: a config that names any socket makes the runtime talk to a host daemon of its choosing, and hands the verdict on its own calls to whoever listens there.",
    closes: "host sockets the runtime would connect to as root because the config names them, and seccomp verdicts handed to an agent the operator did not choose",
    references: &["runtime-spec config-linux.md#seccomp (listenerPath)", NIST],
    fix: "remove linux.seccomp.listenerPath (and SCMP_ACT_NOTIFY), or have the operator list the agent's socket in this rule's `allowed`",
    field: "linux.seccomp.listenerPath",
    defaults: "allowed = []\n",
    check: runtime_sockets,
    remedy: None,
    fill: None,
};
