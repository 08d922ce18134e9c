//! process.capabilities (config.md#linux-process, capabilities(7)).

use std::collections::HashSet;
use std::io;

use caps::{CapSet, Capability};

use crate::spec::CapSets;

fn err(what: &str, e: caps::errors::CapsError) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Init step "bounding_set": drops what the bounding set does not list. Done while still
/// root with CAP_SETPCAP, before the identity step.
pub fn drop_bounding(c: &CapSets) -> io::Result<()> {
    let keep: HashSet<Capability> = c.bounding.iter().copied().collect();
    for cap in caps::all() {
        if keep.contains(&cap) {
            continue;
        }
        // A capability this kernel does not know is not in the bounding set anyway.
        if let Ok(true) = caps::has_cap(None, CapSet::Bounding, cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| err(&format!("drop {cap} from bounding set"), e))?;
        }
    }
    Ok(())
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
