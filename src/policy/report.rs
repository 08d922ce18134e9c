//! Reports of a decision (text for people, JSON for tools, SARIF 2.1.0 for CI systems that
//! show findings inline) and the pages generated from the catalog and the profiles.

use std::fmt::Write;

use serde_json::{json, Value};

use super::catalog::{self, Rule};
use super::profile::{Profile, BUILTIN};
use super::{Decision, Severity, Verdict, Violation};

/// The verdict `check` reports: as enforce mode would decide.
pub fn verdict_text(d: &Decision) -> &'static str {
    match d.verdict {
        Verdict::Allowed if d.violations.is_empty() => "compliant",
        Verdict::Allowed => "not compliant (allowed in this mode)",
        Verdict::Hardened => "not compliant: would run hardened",
        Verdict::Refused => "not compliant: would be refused",
    }
}

/// Grouped by severity, most severe first, each with its fix.
pub fn text(d: &Decision, config: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{config}: profile {} ({}): {}",
        d.profile,
        d.mode.name(),
        verdict_text(d)
    );
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let group: Vec<&Violation> = d
            .violations
            .iter()
            .filter(|v| v.rule.severity == sev)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", sev.name().to_uppercase());
        for v in group {
            let left = d.remaining.iter().any(|r| r.rule.id == v.rule.id);
            let what = match (v.action, left) {
                (_, true) => "refuse",
                (super::Action::Harden, false) if d.verdict != Verdict::Allowed => "hardened",
                (a, false) => a.name(),
            };
            let _ = writeln!(out, "  [{}] {} ({what})", v.rule.id, v.rule.title);
            for detail in &v.details {
                let _ = writeln!(out, "      - {detail}");
            }
            let _ = writeln!(out, "      fix: {}", v.rule.fix);
        }
    }
    if !d.hardened.is_empty() {
        let _ = writeln!(out, "\nHardening would change:");
        for h in &d.hardened {
            let _ = writeln!(out, "  {h}");
        }
    }
    out
}

fn violation_json(v: &Violation, d: &Decision) -> Value {
    json!({
        "rule": v.rule.id,
        "title": v.rule.title,
        "severity": v.rule.severity,
        "action": v.action,
        "remaining": d.remaining.iter().any(|r| r.rule.id == v.rule.id),
        "details": v.details,
        "field": v.rule.field,
        "why": v.rule.why,
        "fix": v.rule.fix,
        "references": v.rule.references,
    })
}

pub fn json(d: &Decision, config: &str) -> Value {
    json!({
        "config": config,
        "profile": d.profile,
        "mode": d.mode,
        "verdict": d.verdict,
        "compliant": d.violations.is_empty(),
        "violations": d.violations.iter().map(|v| violation_json(v, d)).collect::<Vec<_>>(),
        "hardened": d.hardened,
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The 1-based line of the first `"key"` of the field's last segment in the config text.
fn line_of(text: &str, field: &str) -> usize {
    let key = format!("\"{}\"", field.rsplit('.').next().unwrap_or(field));
    text.lines()
        .position(|l| l.contains(&key))
        .map_or(1, |i| i + 1)
}

/// SARIF 2.1.0 (OASIS): one run, the catalog's rules that fired, one result per violation.
pub fn sarif(d: &Decision, config_uri: &str, config_text: &str) -> Value {
    let mut rules: Vec<&Rule> = d.violations.iter().map(|v| v.rule).collect();
    rules.dedup_by_key(|r| r.id);
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "palisade",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({
                    "id": r.id,
                    "name": r.id,
                    "shortDescription": {"text": r.title},
                    "fullDescription": {"text": r.checks},
                    "help": {"text": format!("{} Fix: {}", r.why, r.fix)},
                    "defaultConfiguration": {"level": sarif_level(r.severity)},
                    "properties": {"severity": r.severity, "references": r.references},
                })).collect::<Vec<_>>(),
            }},
            "properties": {"profile": d.profile, "verdict": d.verdict},
            "results": d.violations.iter().map(|v| json!({
                "ruleId": v.rule.id,
                "level": sarif_level(v.rule.severity),
                "message": {"text": format!("{}: {}. Fix: {}", v.rule.title, v.details.join("; "), v.rule.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": config_uri},
                    "region": {"startLine": line_of(config_text, v.rule.field)},
                }}],
            })).collect::<Vec<_>>(),
        }],
    })
}

fn params_text(p: &catalog::Params) -> String {
    if p.is_empty() {
        return String::new();
    }
    toml::to_string(p).unwrap_or_default()
}

/// `palisade profile explain RULE`.
pub fn explain(r: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", r.id, r.title);
    let _ = writeln!(out, "severity: {}", r.severity.name());
    let _ = writeln!(out, "applies at: {}", scope_text(r));
    let _ = writeln!(out, "checks: {}", r.checks);
    let _ = writeln!(out, "why: {}", r.why);
    let _ = writeln!(out, "fix: {}", r.fix);
    let _ = writeln!(
        out,
        "can be hardened: {}",
        if r.remedy.is_some() { "yes" } else { "no" }
    );
    let _ = writeln!(out, "references:");
    for x in r.references {
        let _ = writeln!(out, "  - {x}");
    }
    let p = params_text(&r.default_params());
    if !p.is_empty() {
        let _ = writeln!(out, "parameters (defaults):");
        for l in p.lines() {
            let _ = writeln!(out, "  {l}");
        }
    }
    let used: Vec<&str> = BUILTIN
        .iter()
        .filter(|(n, _)| Profile::builtin(n).is_ok_and(|p| p.rule(r.id).is_some()))
        .map(|(n, _)| *n)
        .collect();
    let _ = writeln!(
        out,
        "in built-in profiles: {}",
        if used.is_empty() {
            "none".into()
        } else {
            used.join(", ")
        }
    );
    out
}

fn scope_text(r: &Rule) -> &'static str {
    match r.scope {
        super::Scope::Container => "create",
        super::Scope::Process => "create and exec",
    }
}

/// `palisade profile show NAME`: the effective rules after `extends`.
pub fn show(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "profile {} ({})", p.name, p.source);
    if !p.description.is_empty() {
        let _ = writeln!(out, "{}", p.description);
    }
    if !p.ancestors.is_empty() {
        let _ = writeln!(out, "extends: {}", p.ancestors.join(" < "));
    }
    let _ = writeln!(out, "mode: {}", p.mode.name());
    let _ = writeln!(out, "rules: {}", p.rules.len());
    for r in &p.rules {
        let _ = writeln!(
            out,
            "  {:<24} {:<7} {:<8} {}",
            r.rule.id,
            r.action.name(),
            r.rule.severity.name(),
            r.rule.title
        );
        let params = params_text(&r.params);
        for l in params.lines() {
            let _ = writeln!(out, "      {l}");
        }
    }
    out
}

/// profiles/RULES.md: the catalog and the built-in profiles, generated.
pub fn reference() -> String {
    let mut out = String::new();
    out.push_str("# palisade rule catalog\n\n");
    out.push_str(
        "Generated by `palisade profile reference` from the catalog in `src/policy/catalog.rs`;\n",
    );
    out.push_str("do not edit by hand (a unit test checks that this file is current).\n\n");
    out.push_str(
        "References: Kubernetes Pod Security Standards (PSS), CIS Docker Benchmark v1.7.0\n",
    );
    out.push_str("section 5, NIST SP 800-190.\n\n");
    out.push_str("## Built-in profiles\n\n| rule | severity |");
    let profiles: Vec<Profile> = BUILTIN
        .iter()
        .filter_map(|(n, _)| Profile::builtin(n).ok())
        .collect();
    for p in &profiles {
        let _ = write!(out, " {} |", p.name);
    }
    out.push_str("\n|---|---|");
    for _ in &profiles {
        out.push_str("---|");
    }
    out.push('\n');
    for r in catalog::RULES {
        let _ = write!(out, "| [{}](#{}) | {} |", r.id, r.id, r.severity.name());
        for p in &profiles {
            let cell = p.rule(r.id).map_or("", |x| x.action.name());
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push_str("\n## Rules\n");
    for r in catalog::RULES {
        let _ = writeln!(out, "\n### {}\n", r.id);
        let _ = writeln!(
            out,
            "**{}** (severity {}, checked at {})\n",
            r.title,
            r.severity.name(),
            scope_text(r)
        );
        let _ = writeln!(out, "- Checks: {}", r.checks);
        let _ = writeln!(out, "- Why: {}", r.why);
        let _ = writeln!(out, "- Closes: {}", r.closes);
        let _ = writeln!(out, "- Fix: {}", r.fix);
        let _ = writeln!(
            out,
            "- Can be hardened: {}",
            if r.remedy.is_some() { "yes" } else { "no" }
        );
        let _ = writeln!(out, "- References:");
        for x in r.references {
            let _ = writeln!(out, "  - {x}");
        }
        let p = params_text(&r.default_params());
        if !p.is_empty() {
            let _ = writeln!(out, "- Parameters (defaults):\n\n```toml\n{}```", p);
        }
    }
    out
}
