//! Hardening profiles: the rule catalog with stable ids ([`catalog`]), profiles that select
//! and parameterise rules ([`profile`]), who chooses the profile ([`select`]), and the
//! reports ([`report`]).
//!
//! Checks read only the [`Plan`]; hardening edits only the OCI document, which is then
//! planned and checked again, so what passes the check is exactly what runs. `create`,
//! `run`, `exec` and `check` all go through [`decide`].

pub mod catalog;
pub mod exposure;
pub mod host;
pub mod profile;
pub mod report;
pub mod select;

use serde::Serialize;
use serde_json::Value;

use crate::spec::{Plan, SpecError};
pub use catalog::Rule;
pub use host::{Host, RealHost};
pub use profile::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What a profile does with a violated rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The container does not start.
    Refuse,
    /// A safe default is filled in (and recorded); refused if none can be.
    Harden,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Refuse => "refuse",
            Action::Harden => "harden",
        }
    }
}

/// How a profile is applied, as Pod Security Admission does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Run, record only.
    Audit,
    /// Run, print the violations.
    Warn,
    /// Refuse or harden.
    Enforce,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Audit => "audit",
            Mode::Warn => "warn",
            Mode::Enforce => "enforce",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "audit" => Mode::Audit,
            "warn" => Mode::Warn,
            "enforce" => Mode::Enforce,
            _ => return None,
        })
    }
}

/// Which rules apply: all of them at create, those about the process at exec (CIS Docker
/// Benchmark 5.23, 5.24: no exec with more privilege than the container's profile allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Container,
    Process,
}

/// Details shown per rule in a refusal or warning line.
pub const LINE_DETAILS: usize = 5;

/// One violated rule and the specific things that violate it.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    #[serde(serialize_with = "rule_id")]
    pub rule: &'static Rule,
    pub action: Action,
    pub details: Vec<String>,
}

fn rule_id<S: serde::Serializer>(r: &&'static Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.id)
}

impl Violation {
    /// "[rule-id] detail; detail. Fix: ..." on one line, with at most [`LINE_DETAILS`]
    /// details (a privileged config lists every host device); reports list them all.
    pub fn line(&self) -> String {
        let mut shown = self.details[..self.details.len().min(LINE_DETAILS)].join("; ");
        if self.details.len() > LINE_DETAILS {
            shown.push_str(&format!(
                "; and {} more (palisade check lists them all)",
                self.details.len() - LINE_DETAILS
            ));
        }
        format!("[{}] {shown}. Fix: {}", self.rule.id, self.rule.fix)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Hardened,
    Refused,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Hardened => "hardened",
            Verdict::Refused => "refused",
        }
    }
}

/// The outcome of applying a profile to one config.
#[derive(Debug)]
pub struct Decision {
    pub profile: String,
    pub mode: Mode,
    pub verdict: Verdict,
    /// Violations of the config as given.
    pub violations: Vec<Violation>,
    /// What hardening changed, one line per change.
    pub hardened: Vec<String>,
    /// Violations left after hardening: the reasons for a refusal.
    pub remaining: Vec<Violation>,
    /// The plan of the config as it will run (hardened when the verdict is Hardened).
    pub plan: Plan,
}

impl Decision {
    /// The refusal as one message: a line per violated rule, with its id and fix.
    pub fn refusal(&self) -> String {
        let mut msg = format!(
            "refused by profile {} ({}): {} rule{} violated",
            self.profile,
            self.mode.name(),
            self.remaining.len(),
            if self.remaining.len() == 1 { "" } else { "s" }
        );
        for v in &self.remaining {
            msg.push('\n');
            msg.push_str(&v.line());
        }
        msg
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Profile(#[from] profile::ProfileError),
    #[error("{0}")]
    Select(#[from] select::SelectError),
}

/// Every rule of `profile` in `scope` that `plan` violates, in catalog order.
pub fn evaluate(plan: &Plan, profile: &Profile, host: &dyn Host, scope: Scope) -> Vec<Violation> {
    if profile.rules.is_empty() {
        return vec![];
    }
    let exposure = exposure::Exposure::of(plan, host);
    profile
        .rules
        .iter()
        .filter(|r| scope == Scope::Container || r.rule.scope == Scope::Process)
        .filter_map(|r| {
            let details = (r.rule.check)(&exposure, &r.params, host);
            (!details.is_empty()).then_some(Violation {
                rule: r.rule,
                action: r.action,
                details,
            })
        })
        .collect()
}

/// Applies `profile` to the document: checks the plan, and in enforce mode hardens what
/// may be hardened, plans again, and refuses what is left. `planner` is the very function
/// that turns the document into the plan that runs.
pub fn decide(
    doc: &mut Value,
    profile: &Profile,
    mode: Mode,
    host: &dyn Host,
    scope: Scope,
    planner: &dyn Fn(&Value) -> Result<Plan, SpecError>,
) -> Result<Decision, PolicyError> {
    let plan = planner(doc)?;
    let violations = evaluate(&plan, profile, host, scope);
    let mut decision = Decision {
        profile: profile.name.clone(),
        mode,
        verdict: Verdict::Allowed,
        violations,
        hardened: vec![],
        remaining: vec![],
        plan,
    };
    if decision.violations.is_empty() || mode != Mode::Enforce {
        return Ok(decision);
    }
    for v in decision
        .violations
        .iter()
        .filter(|v| v.action == Action::Harden)
    {
        let params = &profile
            .rule(v.rule.id)
            .expect("violated rule is in the profile")
            .params;
        if let Some(change) = v.rule.remedy.and_then(|f| f(doc, params)) {
            decision.hardened.push(format!("[{}] {change}", v.rule.id));
        }
    }
    if !decision.hardened.is_empty() {
        decision.plan = planner(doc)?;
    }
    decision.remaining = evaluate(&decision.plan, profile, host, scope);
    decision.verdict = if !decision.remaining.is_empty() {
        Verdict::Refused
    } else if decision.hardened.is_empty() {
        Verdict::Allowed
    } else {
        Verdict::Hardened
    };
    Ok(decision)
}

/// Makes `doc` pass `profile` with every rule's fix (`spec --profile`): rules that a
/// profile would only refuse are fixed here too, since a new config surprises nobody.
pub fn conform(
    doc: &mut Value,
    profile: &Profile,
    host: &dyn Host,
    planner: &dyn Fn(&Value) -> Result<Plan, SpecError>,
) -> Result<Vec<Violation>, PolicyError> {
    for r in &profile.rules {
        let plan = planner(doc)?;
        let exposure = exposure::Exposure::of(&plan, host);
        if !(r.rule.check)(&exposure, &r.params, host).is_empty() {
            if let Some(f) = r.rule.fill.or(r.rule.remedy) {
                f(doc, &r.params);
            }
        }
    }
    Ok(evaluate(&planner(doc)?, profile, host, Scope::Container))
}

/// The fuzz target's body (integration/fuzz): any bytes as a config, through the planner,
/// every built-in profile in every mode, and `conform`; and the bytes as a profile file.
/// Errors are fine; a panic is a bug.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let bundle = std::path::Path::new("/nonexistent-fuzz-bundle");
    let planner =
        |v: &Value| crate::spec::plan_document(v, bundle, crate::spec::Rootfs::MayBeAbsent);
    if let Ok(doc) = serde_json::from_slice::<Value>(data) {
        for (name, _) in profile::BUILTIN {
            let p = Profile::builtin(name).expect("built-in profiles load");
            for mode in [Mode::Enforce, Mode::Warn] {
                let mut d = doc.clone();
                if let Ok(decision) =
                    decide(&mut d, &p, mode, &RealHost, Scope::Container, &planner)
                {
                    let _ = decision.refusal();
                    let _ = report::sarif(&decision, "config.json", "");
                    let _ = decide(&mut d, &p, mode, &RealHost, Scope::Process, &planner);
                }
            }
            let _ = conform(&mut doc.clone(), &p, &RealHost, &planner);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = profile::parse(text, "fuzz", Some(bundle), 0);
    }
}
