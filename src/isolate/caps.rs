//! process.capabilities (config.md#linux-process, capabilities(7)).

use std::collections::HashSet;
use std::io;

use caps::{CapSet, Capability};

use crate::spec::CapSets;

fn err(what: &str, e: caps::errors::CapsError) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Init step "bounding_set": drops what the bounding set does not list. Done while still
/// root with CAP_SETPCAP, before the identity step. Every number the kernel knows is
/// walked, up to its cap_last_cap (PR_CAPBSET_READ answers EINVAL past it, as libcap
/// probes it), not only the names this build knows: a capability added to a newer kernel
/// must not stay in the bounding set because the runtime has no name for it.
pub fn drop_bounding(c: &CapSets) -> io::Result<()> {
    drop_bounding_with(c, crate::sys::capbset_read, crate::sys::capbset_drop)
}

fn drop_bounding_with(
    c: &CapSets,
    read: impl Fn(u32) -> io::Result<Option<bool>>,
    mut drop: impl FnMut(u32) -> io::Result<()>,
) -> io::Result<()> {
    let keep: HashSet<u32> = c.bounding.iter().map(|c| c.index() as u32).collect();
    for cap in 0..=MAX_CAP_PROBE {
        match read(cap) {
            Ok(None) => return Ok(()),
            Ok(Some(false)) => {}
            Ok(Some(true)) if keep.contains(&cap) => {}
            Ok(Some(true)) => drop(cap).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("drop {} from bounding set: {e}", cap_name(cap)),
                )
            })?,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("read bounding set ({}): {e}", cap_name(cap)),
                ))
            }
        }
    }
    Err(io::Error::other(format!(
        "the kernel reports more than {MAX_CAP_PROBE} capabilities in the bounding set"
    )))
}

/// The capability numbers fit a 64-bit mask (capget's v3 ABI); nothing beyond is probed.
const MAX_CAP_PROBE: u32 = 63;

fn cap_name(n: u32) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() as u32 == n)
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("capability {n}"))
}

/// Init step "capabilities": effective, permitted and inheritable exactly as listed, then
/// ambient. Inheritable stays empty unless the spec sets it (CVE-2022-29162: a non-empty
/// inheritable set lets file capabilities of the image grant privileges on execve).
pub fn apply(c: &CapSets) -> io::Result<()> {
    let set = |v: &[Capability]| -> HashSet<Capability> { v.iter().copied().collect() };
    // capset(2) requires effective ⊆ permitted at every call: shrink effective first.
    caps::set(None, CapSet::Effective, &set(&c.effective))
        .map_err(|e| err("set effective capabilities", e))?;
    caps::set(None, CapSet::Permitted, &set(&c.permitted)).map_err(|e| {
        err(
            "set permitted capabilities (effective must be a subset of permitted)",
            e,
        )
    })?;
    caps::set(None, CapSet::Inheritable, &set(&c.inheritable))
        .map_err(|e| err("set inheritable capabilities", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| err("clear ambient capabilities", e))?;
    for cap in &c.ambient {
        caps::raise(None, CapSet::Ambient, *cap)
            .map_err(|e| err(&format!("raise ambient {cap}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A kernel newer than the `caps` crate (cap_last_cap 45, numbers it has no name for):
    /// everything not listed goes, the unnamed numbers included, and nothing past 45 is tried.
    #[test]
    fn the_bounding_set_is_dropped_up_to_the_kernels_last_capability() {
        let last = 45u32;
        let bset = RefCell::new((0..=last).collect::<HashSet<u32>>());
        let c = CapSets {
            bounding: vec![Capability::CAP_KILL, Capability::CAP_CHOWN],
            ..Default::default()
        };
        let mut asked_past_last = false;
        drop_bounding_with(
            &c,
            |n| {
                if n > last {
                    return Ok(None);
                }
                Ok(Some(bset.borrow().contains(&n)))
            },
            |n| {
                asked_past_last |= n > last;
                bset.borrow_mut().remove(&n);
                Ok(())
            },
        )
        .unwrap();
        assert!(!asked_past_last);
        let mut left: Vec<u32> = bset.into_inner().into_iter().collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                Capability::CAP_CHOWN.index() as u32,
                Capability::CAP_KILL.index() as u32
            ]
        );
    }
}
