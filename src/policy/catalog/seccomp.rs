//! Rules on the seccomp filter's own switches (the rules on what it lets through are in the
//! catalog's table for now).

use super::{Params, Rule, NIST};
use crate::policy::exposure::{action_name, Exposure};
use crate::policy::host::Host;
use crate::policy::{Scope, Severity};

/// seccomp(2): SECCOMP_FILTER_FLAG_SPEC_ALLOW keeps the kernel from turning on its
/// Speculative Store Bypass mitigation for the filtered task.
const MITIGATIONS_OFF: &[&str] = &["SECCOMP_FILTER_FLAG_SPEC_ALLOW"];

fn seccomp_flags(x: &Exposure, _: &Params, _: &dyn Host) -> Vec<String> {
    let Some(s) = &x.plan.seccomp else {
        return vec![];
    };
    s.flags()
        .iter()
        .flatten()
        .map(action_name)
        .filter(|f| MITIGATIONS_OFF.contains(&f.as_str()))
        .map(|f| {
            format!("linux.seccomp.flags has {f}: the kernel leaves the Speculative Store Bypass (Spectre v4) mitigation off for the container, so it may read other processes' memory by speculation")
        })
        .collect()
}

pub(super) const SECCOMP_FLAGS: Rule = Rule {
    id: "seccomp-flags",
    title: "The seccomp filter switches no mitigation off",
    severity: Severity::Medium,
    scope: Scope::Container,
    checks: "linux.seccomp.flags does not have SECCOMP_FILTER_FLAG_SPEC_ALLOW.",
    why: "Loading a filter turns on the kernel's Speculative Store Bypass mitigation for the task; SPEC_ALLOW keeps it off, leaving a speculative side channel into other processes' memory open to the workload.",
    closes: "the Speculative Store Bypass (Spectre v4) side channel, left open by a seccomp flag",
    references: &["seccomp(2) SECCOMP_FILTER_FLAG_SPEC_ALLOW; CVE-2018-3639", NIST],
    fix: "remove SECCOMP_FILTER_FLAG_SPEC_ALLOW from linux.seccomp.flags",
    field: "linux.seccomp.flags",
    defaults: "",
    check: seccomp_flags,
    remedy: None,
    fill: None,
};
