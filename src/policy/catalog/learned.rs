//! The rules a learned profile carries (`palisade learn`): the seccomp filter the
//! recording allows, and the Landlock writes and TCP ports it saw.

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompOperator as Op};
use serde_json::{json, Value};

use super::{fs_access, names, net_access, object, strings, Params, FILE_RIGHTS};
use crate::policy::exposure::{action_name, permissive, Exposure};
use crate::policy::Host;

/// The learned filter, from the rule's `filter` table.
fn learned_filter(p: &Params) -> Option<(Value, LinuxSeccomp)> {
    let v = serde_json::to_value(p.get("filter")?).ok()?;
    let s = serde_json::from_value(v.clone()).ok()?;
    Some((v, s))
}

fn same(a: &LinuxSeccomp, b: &LinuxSeccomp) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// The names the filter lets run (some call of).
fn allowed_names(s: &LinuxSeccomp) -> BTreeSet<String> {
    s.syscalls()
        .iter()
        .flatten()
        .filter(|r| permissive(&action_name(&r.action())))
        .flat_map(|r| r.names().iter().cloned())
        .collect()
}

pub(super) fn seccomp_learned(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let Some((_, want)) = learned_filter(p) else {
        return vec!["the rule's `filter` is not an OCI seccomp filter".into()];
    };
    let Some(have) = &x.plan.seccomp else {
        return vec!["linux.seccomp is absent: the learned filter is not applied".into()];
    };
    if same(have, &want) {
        return vec![];
    }
    let learned = allowed_names(&want);
    let extra: Vec<String> = x
        .seccomp
        .as_ref()
        .map(|m| {
            let mut all: BTreeSet<String> = allowed_names(have);
            if m.default_permissive {
                all.insert("every call it does not name".into());
            }
            all.into_iter()
                .filter(|n| !learned.contains(n) && (n.starts_with("every") || m.permits(n)))
                .collect()
        })
        .unwrap_or_default();
    const SHOWN: usize = 12;
    if extra.is_empty() {
        vec!["linux.seccomp is not the learned filter".into()]
    } else {
        let more = extra.len().saturating_sub(SHOWN);
        vec![format!(
            "linux.seccomp is not the learned filter: it also lets through {}{}",
            extra[..extra.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(" and {more} more calls")
            } else {
                String::new()
            }
        )]
    }
}

/// Puts the learned filter in place of the config's when that loosens nothing: the
/// config has none, or every call the learned filter allows, the config's filter allows
/// too (argument conditions evaluated on the learned values). Otherwise the config stays
/// as it is and is refused.
pub(super) fn apply_learned_seccomp(doc: &mut Value, p: &Params) -> Option<String> {
    let (v, want) = learned_filter(p)?;
    let linux = object(doc, "linux");
    if !linux["seccomp"].is_null() {
        let have: LinuxSeccomp = serde_json::from_value(linux["seccomp"].clone()).ok()?;
        if !covers(&have, &want) {
            return None;
        }
    }
    let n = allowed_names(&want).len();
    linux["seccomp"] = v;
    Some(format!(
        "linux.seccomp: the learned filter ({n} calls allowed)"
    ))
}

/// Actions after which the call surely runs. Stricter than exposure's `permissive`, which
/// also counts NOTIFY and TRACE (a listener or tracer may let the call run): here a call
/// counts as allowed only if it surely is, since the learned filter replaces the config's.
fn runs(action: &str) -> bool {
    matches!(action, "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG")
}

/// The architectures a filter admits: those it lists, or the native one (libseccomp
/// kills every other).
fn arches_of(s: &LinuxSeccomp) -> BTreeSet<String> {
    let mut a: BTreeSet<String> = s
        .architectures()
        .iter()
        .flatten()
        .map(action_name)
        .collect();
    if a.is_empty() {
        if let Some(n) = native_arch() {
            a.insert(n.into());
        }
    }
    a
}

/// The OCI name (config-linux.md#seccomp) of a libseccomp architecture.
pub fn oci_arch(a: libseccomp::ScmpArch) -> Option<&'static str> {
    Some(match a {
        libseccomp::ScmpArch::X8664 => "SCMP_ARCH_X86_64",
        libseccomp::ScmpArch::X86 => "SCMP_ARCH_X86",
        libseccomp::ScmpArch::X32 => "SCMP_ARCH_X32",
        libseccomp::ScmpArch::Aarch64 => "SCMP_ARCH_AARCH64",
        libseccomp::ScmpArch::Arm => "SCMP_ARCH_ARM",
        libseccomp::ScmpArch::Riscv64 => "SCMP_ARCH_RISCV64",
        libseccomp::ScmpArch::Ppc64Le => "SCMP_ARCH_PPC64LE",
        libseccomp::ScmpArch::S390X => "SCMP_ARCH_S390X",
        _ => return None,
    })
}

/// The OCI name of the architecture palisade runs on.
pub fn native_arch() -> Option<&'static str> {
    oci_arch(libseccomp::ScmpArch::native())
}

/// Whether `have` surely lets run every call `want` allows.
pub(super) fn covers(have: &LinuxSeccomp, want: &LinuxSeccomp) -> bool {
    if !arches_of(want).is_subset(&arches_of(have)) {
        return false;
    }
    // The learned filter itself denies by default and carries nothing else.
    if permissive(&action_name(&want.default_action()))
        || want.listener_path().is_some()
        || want.flags().as_ref().is_some_and(|f| !f.is_empty())
    {
        return false;
    }
    let default_runs = runs(&action_name(&have.default_action()));
    want.syscalls()
        .iter()
        .flatten()
        .filter(|r| permissive(&action_name(&r.action())))
        .all(|r| {
            // One condition per argument, as palisade writes them.
            let mut seen = BTreeSet::new();
            if !r.args().iter().flatten().all(|a| seen.insert(a.index())) {
                return false;
            }
            let fixed: Option<Vec<(usize, u64, u64)>> = r
                .args()
                .iter()
                .flatten()
                .map(|a| match a.op() {
                    Op::ScmpCmpEq => Some((a.index(), u64::MAX, a.value())),
                    Op::ScmpCmpMaskedEq => Some((a.index(), a.value(), a.value_two()? & a.value())),
                    _ => None,
                })
                .collect();
            let Some(fixed) = fixed else { return false };
            r.names()
                .iter()
                .all(|n| allows(have, default_runs, n, &fixed))
        })
}

/// Whether `s` surely lets `name` run for every call whose arguments satisfy `fixed`
/// ((index, mask, value): arg & mask == value). Unknown is no.
fn allows(s: &LinuxSeccomp, default_runs: bool, name: &str, fixed: &[(usize, u64, u64)]) -> bool {
    let mut allowed = false;
    for r in s
        .syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
    {
        let p = runs(&action_name(&r.action()));
        let verdict = holds(r.args().as_deref().unwrap_or_default(), fixed);
        if !p && verdict != Some(false) {
            return false;
        }
        if p && verdict == Some(true) {
            allowed = true;
        }
    }
    allowed || default_runs
}

/// Whether a rule's conditions hold: conditions on distinct arguments hold together, a
/// repeated index makes each a rule of its own (isolate::seccomp, as runc does).
fn holds(
    conds: &[oci_spec::runtime::LinuxSeccompArg],
    fixed: &[(usize, u64, u64)],
) -> Option<bool> {
    if conds.is_empty() {
        return Some(true);
    }
    let one = |a: &oci_spec::runtime::LinuxSeccompArg| -> Option<bool> {
        let &(_, mask, value) = fixed.iter().find(|(i, _, _)| *i == a.index())?;
        if a.op() == Op::ScmpCmpMaskedEq {
            // libseccomp compares (arg & mask) with (datum & mask), and newer versions read
            // a zero mask as "arg == 0": unknown. Known when the condition's mask is within
            // the bits fixed.
            let m = a.value();
            return (m != 0 && m & !mask == 0).then(|| value & m == a.value_two().unwrap_or(0) & m);
        }
        let v = a.value();
        // Only some bits known: equality is still decided when they differ.
        if mask != u64::MAX {
            return match a.op() {
                Op::ScmpCmpEq if v & mask != value => Some(false),
                Op::ScmpCmpNe if v & mask != value => Some(true),
                _ => None,
            };
        }
        let x = value;
        Some(match a.op() {
            Op::ScmpCmpNe => x != v,
            Op::ScmpCmpLt => x < v,
            Op::ScmpCmpLe => x <= v,
            Op::ScmpCmpEq => x == v,
            Op::ScmpCmpGe => x >= v,
            Op::ScmpCmpGt => x > v,
            Op::ScmpCmpMaskedEq => unreachable!("handled above"),
        })
    };
    let mut seen = BTreeSet::new();
    let distinct = conds.iter().all(|a| seen.insert(a.index()));
    let results: Vec<Option<bool>> = conds.iter().map(one).collect();
    if distinct {
        if results.contains(&Some(false)) {
            Some(false)
        } else if results.iter().all(|r| *r == Some(true)) {
            Some(true)
        } else {
            None
        }
    } else if results.contains(&Some(true)) {
        Some(true)
    } else if results.iter().all(|r| *r == Some(false)) {
        Some(false)
    } else {
        None
    }
}

/// The rights Landlock grants on a file (not a directory) that a write needs.
fn file_rights() -> landlock::BitFlags<landlock::AccessFs> {
    let names: Vec<String> = FILE_RIGHTS.iter().map(|s| s.to_string()).collect();
    fs_access(&super::names(&names)).unwrap_or_default()
}

fn ports(p: &Params, key: &str) -> BTreeSet<u16> {
    p.get(key)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_integer().and_then(|i| u16::try_from(i).ok()))
        .collect()
}

fn under(path: &Path, dirs: &[String]) -> bool {
    dirs.iter().any(|d| super::beneath(path, Path::new(d)))
}

pub(super) fn landlock_learned(x: &Exposure, p: &Params, _: &dyn Host) -> Vec<String> {
    let Some(l) = &x.plan.landlock else {
        return vec!["no Landlock ruleset: the learned writes and ports are not enforced".into()];
    };
    let mut out = vec![];
    if l.best_effort() {
        out.push("process.landlock asks for best effort".into());
    }
    let access = fs_access(&names(&strings(p, "access"))).unwrap_or_default();
    let handled = fs_access(&l.handled_access.fs).unwrap_or_default();
    if !handled.contains(access) {
        out.push(format!(
            "process.landlock.handledAccess.handledAccessFS does not handle {:?}",
            access & !handled
        ));
    }
    let tcp = net_access(&names(&["bind_tcp".into(), "connect_tcp".into()])).unwrap_or_default();
    let handled_net = net_access(&l.handled_access.net).unwrap_or_default();
    if !handled_net.contains(tcp) {
        out.push("process.landlock.handledAccess.handledAccessNetwork does not handle bind_tcp and connect_tcp".into());
    }
    let (dirs, files) = (strings(p, "write_dirs"), strings(p, "write_files"));
    let file_rights = file_rights();
    for (i, r) in l.rules.path_beneath.iter().enumerate() {
        let grants = fs_access(&r.allowed_access).unwrap_or_default() & access;
        if grants.is_empty() {
            continue;
        }
        for path in &r.paths {
            let plainly = super::plain(path.as_os_str().as_encoded_bytes())
                && !path
                    .components()
                    .any(|c| c == std::path::Component::ParentDir);
            let ok = plainly
                && (under(path, &dirs)
                    || (file_rights.contains(grants)
                        && files.iter().any(|f| Path::new(f) == path)));
            if !ok {
                out.push(format!(
                    "process.landlock.rules.pathBeneath[{i}] grants writes at {}, which the recording did not write",
                    path.display()
                ));
            }
        }
    }
    let (bind, connect) = (ports(p, "bind_tcp"), ports(p, "connect_tcp"));
    let bind_right = net_access(&names(&["bind_tcp".into()])).unwrap_or_default();
    let connect_right = net_access(&names(&["connect_tcp".into()])).unwrap_or_default();
    for (i, r) in l.rules.network_port.iter().enumerate() {
        let grants = net_access(&r.allowed_access).unwrap_or_default();
        for port in &r.ports {
            if grants.contains(bind_right) && !bind.contains(port) {
                out.push(format!("process.landlock.rules.networkPort[{i}] allows binding TCP port {port}, which the recording did not bind"));
            }
            if grants.contains(connect_right) && !connect.contains(port) {
                out.push(format!("process.landlock.rules.networkPort[{i}] allows connecting to TCP port {port}, which the recording did not connect to"));
            }
        }
    }
    out
}

/// Whether the learned ruleset confines at least as much as `have`, so that putting it in
/// place of `have` loosens nothing: `have` handles no right the learned one leaves free,
/// and grants each learned grant too (at the place or above it), and each learned port.
fn within(have: &crate::spec::landlock::Landlock, p: &Params) -> bool {
    let access = fs_access(&names(&strings(p, "access"))).unwrap_or_default();
    let Some(handled) = fs_access(&have.handled_access.fs) else {
        return false;
    };
    if !access.contains(handled) {
        return false;
    }
    let granted = |path: &Path, rights| {
        have.rules.path_beneath.iter().any(|r| {
            fs_access(&r.allowed_access).is_some_and(|g| g.contains(rights))
                && r.paths.iter().any(|q| super::beneath(path, q))
        })
    };
    let file_rights = file_rights();
    let dirs_ok = strings(p, "write_dirs")
        .iter()
        .all(|d| granted(Path::new(d), access & handled));
    let files_ok = strings(p, "write_files")
        .iter()
        .all(|f| granted(Path::new(f), file_rights & access & handled));
    let Some(net) = net_access(&have.handled_access.net) else {
        return false;
    };
    let ports_ok = [("bind_tcp", "bind_tcp"), ("connect_tcp", "connect_tcp")]
        .iter()
        .all(|(key, right)| {
            let r = net_access(&names(&[right.to_string()])).unwrap_or_default();
            !net.contains(r)
                || ports(p, key).iter().all(|port| {
                    have.rules.network_port.iter().any(|n| {
                        net_access(&n.allowed_access).is_some_and(|g| g.contains(r))
                            && n.ports.contains(port)
                    })
                })
        });
    dirs_ok && files_ok && ports_ok
}

/// Adds the learned ruleset when the config has none, or in place of the config's when
/// that loosens nothing (`within`; a ruleset that confines reads too stays, and the config
/// is refused). Landlock needs no_new_privs.
pub(super) fn add_learned_landlock(doc: &mut Value, p: &Params) -> Option<String> {
    let process = doc.get("process")?;
    if doc["annotations"][crate::spec::landlock::ANNOTATION].is_string()
        || process["noNewPrivileges"] != json!(true)
    {
        return None;
    }
    if !process["landlock"].is_null() {
        let have: crate::spec::landlock::Landlock =
            serde_json::from_value(process["landlock"].clone()).ok()?;
        if !within(&have, p) {
            return None;
        }
    }
    let access = strings(p, "access");
    let (dirs, files) = (strings(p, "write_dirs"), strings(p, "write_files"));
    let file_access: Vec<&String> = access
        .iter()
        .filter(|a| FILE_RIGHTS.contains(&a.as_str()))
        .collect();
    let mut rules = vec![];
    if !dirs.is_empty() {
        rules.push(json!({"allowedAccess": access, "paths": dirs}));
    }
    if !files.is_empty() && !file_access.is_empty() {
        rules.push(json!({"allowedAccess": file_access, "paths": files}));
    }
    let mut net = vec![];
    let (bind, connect) = (ports(p, "bind_tcp"), ports(p, "connect_tcp"));
    if !bind.is_empty() {
        net.push(json!({"allowedAccess": ["bind_tcp"], "ports": bind}));
    }
    if !connect.is_empty() {
        net.push(json!({"allowedAccess": ["connect_tcp"], "ports": connect}));
    }
    doc["process"]["landlock"] = json!({
        "handledAccess": {"handledAccessFS": access, "handledAccessNetwork": ["bind_tcp", "connect_tcp"]},
        "rules": {"pathBeneath": rules, "networkPort": net},
        "enableBestEffort": false
    });
    Some(format!(
        "process.landlock: writes only in {} director{} and {} file{}, TCP bind {:?}, connect {:?}",
        dirs.len(),
        if dirs.len() == 1 { "y" } else { "ies" },
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        bind,
        connect
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    /// The learned clone rule (exact flags) is within palisade's default filter, whose
    /// clone rule masks the namespace flags; a rule with CLONE_NEWUSER is not.
    #[test]
    fn coverage_is_judged_on_the_learned_values() {
        let default: LinuxSeccomp = serde_json::from_str(super::super::DEFAULT_SECCOMP).unwrap();
        let learned = |flags: u64| {
            filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": flags, "op": "SCMP_CMP_EQ"}]}
            ]}))
        };
        assert!(covers(&default, &learned(0x1200011)));
        assert!(!covers(
            &default,
            &learned(0x1200011 | libc::CLONE_NEWUSER as u64)
        ));
        let unshare = filter(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ALLOW"}]}),
        );
        assert!(!covers(&default, &unshare));
        // A config that allows read only for fd 0: the learned "read, any fd" is not within.
        let narrow = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["write", "clone"], "action": "SCMP_ACT_ALLOW"}
        ]}));
        assert!(!covers(&narrow, &learned(0x1200011)));
        // A deny rule whose condition cannot be decided on the learned values: no.
        let deny = filter(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_NE"}]}
        ]}));
        assert!(!covers(&deny, &learned(0x11)));
        // socket(AF_INET, SOCK_STREAM) with the type's flags masked off is within a rule
        // that only refuses AF_VSOCK.
        let socket = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 15, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
        assert!(covers(&default, &socket));
        // libseccomp masks the datum: this rule denies AF_VSOCK (40 = 0x128 & 0xff).
        let vsock = filter(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 0xff, "valueTwo": 0x128, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
        let learned_vsock = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(!covers(&vsock, &learned_vsock));
        // NOTIFY and TRACE do not surely let a call run.
        for action in ["SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE"] {
            let f = filter(json!({"defaultAction": action}));
            assert!(!covers(&f, &learned(0x11)), "{action}");
        }
        // Another architecture than the config admits (none listed: the native one).
        let mut x86 = learned(0x11);
        x86.set_architectures(Some(vec![oci_spec::runtime::Arch::ScmpArchX86]));
        assert!(!covers(
            &filter(json!({"defaultAction": "SCMP_ACT_ALLOW"})),
            &x86
        ));
        let permissive_default = filter(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert!(covers(&permissive_default, &learned(0x11)));
    }
}
