//! Rules on whose objects the container acts as: the host's per-uid keyrings, and the host
//! ids that files written through an idmapped mount end up owned by.

use serde_json::{json, Value};

use super::{Params, Rule, NIST};
use crate::policy::exposure::{permissive, Exposure, KEYRING_CALLS};
use crate::policy::host::Host;
use crate::policy::{Scope, Severity};
use crate::spec::{IdMap, Namespace, NsKind};

// host-keyrings --------------------------------------------------------------------------

fn host_keyrings(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    x.keyrings.clone()
}

/// Takes the keyring calls out of every rule of the config's filter and, where its default
/// lets unlisted calls run, denies them with EPERM (as Docker's and palisade's defaults
/// answer them). Without a filter nothing is done here: seccomp-enabled adds palisade's
/// default, which denies them.
fn deny_keyring_calls(doc: &mut Value, _: &Params) -> Option<String> {
    let filter = doc.pointer_mut("/linux/seccomp")?.as_object_mut()?;
    let default = filter
        .get("defaultAction")
        .and_then(|a| a.as_str())
        .unwrap_or("SCMP_ACT_ALLOW")
        .to_owned();
    let open = permissive(&default);
    let rules = filter.entry("syscalls").or_insert(json!([]));
    if !rules.is_array() {
        *rules = json!([]);
    }
    let rules = rules.as_array_mut()?;
    let names = |r: &Value| -> Vec<String> {
        r["names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    // Calls an unconditional rule already denies (ERRNO, KILL, TRAP) keep that rule.
    let denied: Vec<&str> = KEYRING_CALLS
        .into_iter()
        .filter(|c| {
            rules.iter().any(|r| {
                !permissive(r["action"].as_str().unwrap_or_default())
                    && r["args"].as_array().is_none_or(|a| a.is_empty())
                    && names(r).iter().any(|n| n == c)
            })
        })
        .collect();
    let mut changed = false;
    for r in rules.iter_mut() {
        let lets = permissive(r["action"].as_str().unwrap_or_default());
        let conditional = r["args"].as_array().is_some_and(|a| !a.is_empty());
        // Rules that let the calls run lose them; so do conditional deny rules where one
        // unconditional deny is added below (a conditional rule beside it would conflict).
        if let Some(list) = r.get_mut("names").and_then(|n| n.as_array_mut()) {
            let before = list.len();
            list.retain(|n| {
                let Some(n) = n.as_str().filter(|n| KEYRING_CALLS.contains(n)) else {
                    return true;
                };
                !(lets || (open && conditional && !denied.contains(&n)))
            });
            changed |= lets && list.len() != before;
        }
    }
    rules.retain(|r| r["names"].as_array().is_none_or(|n| !n.is_empty()));
    let missing: Vec<&str> = KEYRING_CALLS
        .into_iter()
        .filter(|c| !denied.contains(c))
        .collect();
    if open && !missing.is_empty() {
        rules.push(json!({"names": missing, "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM}));
        changed = true;
    }
    // (A filter that seccomp-enabled has just added denies them already.)
    changed.then(|| {
        format!(
            "linux.seccomp: {} denied (EPERM): without a user namespace of its own the container would reach the host's keyrings",
            KEYRING_CALLS.join(", ")
        )
    })
}

pub(super) const HOST_KEYRINGS: Rule = Rule {
    id: "host-keyrings",
    title: "The container reaches none of the host's keyrings",
    severity: Severity::High,
    // At exec too: an exec process's uid is another way to a host keyring.
    scope: Scope::Process,
    checks: "Where some keyring call (keyctl, add_key, request_key) gets through linux.seccomp (evaluated like the other seccomp rules: arguments, SCMP_ACT_LOG, TRACE and NOTIFY let calls run; no filter lets all through), the container has a user namespace that is new or another's (not the host's, however joined), and a session keyring of its own (create without --no-new-keyring). Hardening takes the three calls out of the filter's rules and denies them with EPERM.",
    why: "The kernel keeps one user keyring per uid per user namespace: without a user namespace of its own, uid 0 in the container shares host root's user keyring (Kerberos tickets, filesystem encryption keys, tokens that services cache there) and can list, link and read its keys; with --no-new-keyring it also keeps the caller's session keyring.",
    closes: "the host's per-uid user and user-session keyrings, and the caller's session keyring under --no-new-keyring",
    references: &["keyrings(7), user-keyring(7), session-keyring(7)", NIST],
    fix: "run the workload in a user namespace of its own if it needs keyrings; otherwise deny keyctl, add_key and request_key in linux.seccomp (palisade's default filter does)",
    field: "linux.seccomp",
    defaults: "",
    check: host_keyrings,
    remedy: Some(deny_keyring_calls),
    fill: Some(deny_keyring_calls),
};

// idmapped-mounts ------------------------------------------------------------------------

/// A user namespace's map (container id → host id); None for no user namespace, where
/// the container's ids are the host's. Err when a joined namespace's map cannot be read.
fn ns_map(x: &Exposure, host: &dyn Host, gid: bool) -> Result<Option<Vec<IdMap>>, String> {
    let plan = x.plan;
    match plan.namespace(NsKind::User) {
        None => Ok(None),
        Some(Namespace { path: None, .. }) => Ok(Some(if gid {
            plan.gid_mappings.clone()
        } else {
            plan.uid_mappings.clone()
        })),
        Some(ns @ Namespace { path: Some(p), .. }) => {
            let m = if gid {
                host.joined_gid_map(ns)
            } else {
                host.joined_uid_map(ns)
            };
            m.map(Some).ok_or_else(|| {
                format!(
                    "the user namespace joined at {} has no map palisade can read, so the ids its idmapped mounts hand out cannot be judged",
                    p.display()
                )
            })
        }
    }
}

/// Each run of ids the container has that the mount maps: (inside, on disk, how many). An
/// idmapped mount's entry maps on-disk ids `container..` to the callers `host..` (kernel
/// ids); the container's own map turns its ids into kernel ids (none: the same numbers).
fn runs<'a>(
    mount: &'a [IdMap],
    ns: Option<&'a [IdMap]>,
) -> impl Iterator<Item = (u64, u64, u64)> + 'a {
    const IDENTITY: &[IdMap] = &[IdMap {
        container: 0,
        host: 0,
        size: u32::MAX,
    }];
    let ns = ns.unwrap_or(IDENTITY);
    mount.iter().flat_map(move |e| {
        ns.iter().filter_map(move |k| {
            let (e_lo, e_hi) = (e.host as u64, e.host as u64 + e.size as u64);
            let (k_lo, k_hi) = (k.host as u64, k.host as u64 + k.size as u64);
            let (lo, hi) = (e_lo.max(k_lo), e_hi.min(k_hi));
            (lo < hi).then(|| {
                (
                    k.container as u64 + (lo - k_lo),
                    e.container as u64 + (lo - e_lo),
                    hi - lo,
                )
            })
        })
    })
}

/// The first run where an id of the container and the on-disk id it writes and owns
/// through the mount differ.
fn misowned(mount: &[IdMap], ns: Option<&[IdMap]>) -> Option<(u64, u64, u64)> {
    runs(mount, ns).find(|(inside, disk, _)| inside != disk)
}

/// Whose files on-disk ids from `disk` are on the host.
fn whose(disk: u64) -> &'static str {
    match disk {
        0 => "host root's files (setuid-root programs, root's data)",
        1..=999 => "a host system account's files",
        _ => "another owner's files on the host",
    }
}

/// The container ids (inside) its processes can write as: all of them where setuid and
/// setgid programs work (no no_new_privs) or a capability changes ids or owners; else the
/// process's own.
fn reachable(x: &Exposure, gid: bool) -> Option<Vec<u32>> {
    use caps::Capability as C;
    let p = &x.plan.process;
    let c = &p.caps;
    let change = if gid { C::CAP_SETGID } else { C::CAP_SETUID };
    let held = |cap: C| {
        [&c.permitted, &c.effective, &c.ambient]
            .iter()
            .any(|s| s.contains(&cap))
    };
    if !p.no_new_privileges || held(change) || held(C::CAP_CHOWN) {
        return None;
    }
    Some(if gid {
        std::iter::once(p.gid)
            .chain(p.additional_gids.iter().copied())
            .collect()
    } else {
        vec![p.uid]
    })
}

/// The lowest on-disk id below `min` that an id of the container writes as through the
/// mount: (inside, on disk).
fn low_owner(
    mount: &[IdMap],
    ns: Option<&[IdMap]>,
    ids: Option<&[u32]>,
    min: u64,
) -> Option<(u64, u64)> {
    let to_kernel = |u: u64| -> Option<u64> {
        match ns {
            None => Some(u),
            Some(ns) => ns
                .iter()
                .find(|k| u >= k.container as u64 && u - (k.container as u64) < k.size as u64)
                .map(|k| k.host as u64 + (u - k.container as u64)),
        }
    };
    let on_disk = |k: u64| {
        mount
            .iter()
            .find(|e| k >= e.host as u64 && k - (e.host as u64) < e.size as u64)
            .map(|e| e.container as u64 + (k - e.host as u64))
    };
    match ids {
        Some(ids) => ids
            .iter()
            .filter_map(|&u| Some((u as u64, on_disk(to_kernel(u as u64)?)?)))
            .filter(|(_, d)| *d < min)
            .min_by_key(|(_, d)| *d),
        // Every id: the lowest on-disk id any entry hands a mapped container id.
        None => runs(mount, ns)
            .filter(|(_, disk, _)| *disk < min)
            .min_by_key(|(_, disk, _)| *disk)
            .map(|(inside, disk, _)| (inside, disk)),
    }
}

fn idmapped_mounts(x: &Exposure, p: &Params, host: &dyn Host) -> Vec<String> {
    let owner_min = super::int(p, "owner_min").unwrap_or(0).max(0) as u64;
    let mut out = vec![];
    for m in &x.mounts {
        let Some(idm) = &m.mount.idmap else { continue };
        for (gid, field, maps) in [
            (false, "uidMappings", &idm.uid),
            (true, "gidMappings", &idm.gid),
        ] {
            let ns = match ns_map(x, host, gid) {
                Ok(ns) => ns,
                Err(why) => {
                    out.push(format!("{}: {why}", m.describe()));
                    break;
                }
            };
            if let Some((inside, disk, n)) = misowned(maps, ns.as_deref()) {
                let kind = if gid { "gid" } else { "uid" };
                let more = if n > 1 {
                    format!(" (and the {} after it)", n - 1)
                } else {
                    String::new()
                };
                out.push(format!(
                    "{} is idmapped ({field}) so that container {kind} {inside}{more} owns and creates files as on-disk {kind} {disk}: {}",
                    m.describe(),
                    whose(disk),
                ));
            } else if super::writable_tree(m.mount) && owner_min > 0 {
                // The same ids inside and on disk, but written as on-disk ids a user
                // namespace would otherwise have kept from the host's disk.
                let ids = reachable(x, gid);
                if let Some((inside, disk)) =
                    low_owner(maps, ns.as_deref(), ids.as_deref(), owner_min)
                {
                    let kind = if gid { "gid" } else { "uid" };
                    out.push(format!(
                        "{} is a writable idmapped mount through which container {kind} {inside}{} writes files as on-disk {kind} {disk} (below {owner_min}): {}",
                        m.describe(),
                        if ids.is_none() { ", which the process can become," } else { "" },
                        whose(disk),
                    ));
                }
            }
        }
    }
    out
}

pub(super) const IDMAPPED_MOUNTS: Rule = Rule {
    id: "idmapped-mounts",
    title: "Idmapped mounts give the container's ids no other owner's files",
    severity: Severity::High,
    // At exec too: an exec process's user writes through the container's mounts.
    scope: Scope::Process,
    checks: "For every mount with uidMappings or gidMappings (idmap, ridmap), each id the container's processes can have (its user namespace's map, or every id without one; a joined namespace's map read from its owner, else refused) reads and writes through the mount as the same on-disk id it is inside the container: the mount's map composed with the container's is the identity. The Kubernetes shape (the mount mapped like the pod's user namespace) passes; a map that makes a container id own on-disk 0, a system id or another user's ids does not. With `owner_min` above 0 (restricted: 1000), no writable idmapped mount lets an id the process has or can become (any, without no_new_privs or with CAP_SETUID, CAP_SETGID or CAP_CHOWN) write files as an on-disk id below it: root in a user namespace, through a Kubernetes-shaped mount, writes host root's files.",
    why: "Through an idmapped mount a file's on-disk owner is whatever the mount's map says for the caller: a map from on-disk 0 to the container's unprivileged uid lets it create files owned by host root on the host's disk, setuid-root programs included, and act as owner on root's files.",
    closes: "ownership of host files through an idmapped mount: host root's (setuid-root files written to the host's disk), system accounts' and other users'",
    references: &[
        "mount_setattr(2) MOUNT_ATTR_IDMAP; runtime-spec config.md#posix-platform-mounts (uidMappings, gidMappings)",
        "NIST SP 800-190 §4.5.5 (host file system tampering)",
    ],
    fix: "map the mount like the container's user namespace (the same containerID, hostID and size), or drop uidMappings/gidMappings from the mount; under `owner_min`, run the process as a non-root id (without CAP_SETUID, CAP_SETGID, CAP_CHOWN, and with no_new_privs) or make the mount read-only",
    field: "mounts",
    defaults: "owner_min = 0\n",
    check: idmapped_mounts,
    remedy: None,
    fill: None,
};
