//! `linux.memoryPolicy` (runtime-spec 1.3 config-linux.md#memory-policy): the NUMA policy
//! set_mempolicy(2) gives the container's process, checked here against the kernel's own
//! rules (mm/mempolicy.c) so that a bad policy fails create with the field named, not the
//! init with EINVAL. The init's `memory_policy` step (isolate::mempolicy) applies it.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType as F, MemoryPolicyModeType as M};

use super::{invalid, SpecError};

/// include/uapi/linux/mempolicy.h.
const MPOL_F_STATIC_NODES: i32 = 1 << 15;
const MPOL_F_RELATIVE_NODES: i32 = 1 << 14;
const MPOL_F_NUMA_BALANCING: i32 = 1 << 13;

/// The highest node number a nodemask may name here (the kernel's MAX_NUMNODES is at most
/// 1 << 10 on x86_64 distributions).
pub const MAX_NODE: usize = 1023;

/// A validated policy: the mode with its flags as set_mempolicy(2) takes them, and the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPolicy {
    pub mode: i32,
    pub flags: i32,
    pub nodes: Vec<usize>,
    /// As the config wrote it, for messages.
    pub text: String,
}

impl MemoryPolicy {
    /// The nodemask as set_mempolicy(2) reads it: 64-bit words, lowest node first.
    pub fn mask(&self) -> Vec<u64> {
        let mut words = vec![0u64; self.nodes.iter().max().map_or(0, |m| m / 64 + 1)];
        for n in &self.nodes {
            words[n / 64] |= 1 << (n % 64);
        }
        words
    }
}

pub fn plan(p: &LinuxMemoryPolicy) -> Result<MemoryPolicy, SpecError> {
    let field = "linux.memoryPolicy";
    let (mode, name) = match p.mode() {
        M::MpolDefault => (0, "MPOL_DEFAULT"),
        M::MpolPreferred => (1, "MPOL_PREFERRED"),
        M::MpolBind => (2, "MPOL_BIND"),
        M::MpolInterleave => (3, "MPOL_INTERLEAVE"),
        M::MpolLocal => (4, "MPOL_LOCAL"),
        M::MpolPreferredMany => (5, "MPOL_PREFERRED_MANY"),
        M::MpolWeightedInterleave => (6, "MPOL_WEIGHTED_INTERLEAVE"),
    };
    let text = p.nodes().clone().unwrap_or_default();
    let nodes = if text.trim().is_empty() {
        vec![]
    } else {
        parse_nodes(&text).map_err(|why| invalid(format!("{field}.nodes"), why))?
    };
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= match f {
            F::MpolFStaticNodes => MPOL_F_STATIC_NODES,
            F::MpolFRelativeNodes => MPOL_F_RELATIVE_NODES,
            F::MpolFNumaBalancing => MPOL_F_NUMA_BALANCING,
        };
    }
    let refuse = |why: String| Err(invalid(field, why));
    match mode {
        // MPOL_DEFAULT and MPOL_LOCAL take no nodes (set_mempolicy(2), EINVAL).
        0 | 4 if !nodes.is_empty() => return refuse(format!("{name} takes no nodes")),
        0 | 4 if flags != 0 => return refuse(format!("{name} takes no flags")),
        // MPOL_PREFERRED with no nodes means local allocation; the others need nodes.
        2 | 3 | 5 | 6 if nodes.is_empty() => {
            return refuse(format!("{name} needs nodes (a list such as \"0-1\")"))
        }
        _ => {}
    }
    if flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 {
        return refuse("MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other".into());
    }
    if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) != 0 && nodes.is_empty() {
        return refuse(format!(
            "{name} with MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES needs nodes"
        ));
    }
    if flags & MPOL_F_NUMA_BALANCING != 0 && mode != 2 && mode != 5 {
        return refuse(format!(
            "MPOL_F_NUMA_BALANCING goes only with MPOL_BIND or MPOL_PREFERRED_MANY, not {name}"
        ));
    }
    Ok(MemoryPolicy {
        mode,
        flags,
        nodes,
        text,
    })
}

/// "0-3,7" into node numbers.
fn parse_nodes(s: &str) -> Result<Vec<usize>, String> {
    super::ranges::parse(s, MAX_NODE + 1, &format!("node number up to {MAX_NODE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: serde_json::Value) -> Result<MemoryPolicy, String> {
        let p: LinuxMemoryPolicy = serde_json::from_value(json).map_err(|e| e.to_string())?;
        plan(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn modes_nodes_and_flags_follow_the_kernels_rules() {
        let p = policy(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0-2,7",
                                          "flags": ["MPOL_F_STATIC_NODES"]}))
        .unwrap();
        assert_eq!((p.mode, p.flags), (2, 1 << 15));
        assert_eq!(p.nodes, vec![0, 1, 2, 7]);
        assert_eq!(p.mask(), vec![0b1000_0111]);
        let p = policy(serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "64"})).unwrap();
        assert_eq!(p.mask(), vec![0, 1]);
        assert!(policy(serde_json::json!({"mode": "MPOL_PREFERRED"})).is_ok());
        assert!(policy(serde_json::json!({"mode": "MPOL_DEFAULT"})).is_ok());
        for (bad, says) in [
            (
                serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
                "takes no nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
                "takes no nodes",
            ),
            (serde_json::json!({"mode": "MPOL_BIND"}), "needs nodes"),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "3-1"}),
                "backwards",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "x"}),
                "not a node number",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "4096"}),
                "not a node number",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "0",
                "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
                "exclude each other",
            ),
            (
                serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0",
                "flags": ["MPOL_F_NUMA_BALANCING"]}),
                "only with MPOL_BIND",
            ),
            (serde_json::json!({"mode": "MPOL_NOPE"}), "unknown variant"),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NOPE"]}),
                "unknown variant",
            ),
        ] {
            let e = policy(bad.clone()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
