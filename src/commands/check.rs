use anyhow::Context;

use crate::cli::{CheckArgs, ReportFormat};
use crate::policy::select::{annotations_of, Operator};
use crate::policy::{self, report, Mode, Profile, RealHost, Scope};
use crate::spec::{self, Rootfs};

/// `palisade check`: the enforcement code on a config, creating nothing. Exits 0 when the
/// config complies, 1 when it does not (whether enforce mode would harden or refuse it).
pub fn run(a: &CheckArgs) -> anyhow::Result<i32> {
    let (config, bundle) = if a.config.is_dir() {
        (a.config.join("config.json"), a.config.clone())
    } else {
        let dir = match a.config.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => ".".into(),
        };
        (a.config.clone(), dir)
    };
    let bundle = spec::absolute_bundle(&bundle)?;
    let mut doc = spec::read_document(&config)?;
    let op = Operator::from_environment()?;
    let profile = match &a.profile {
        Some(p) => Profile::load(p, Some(&op.profiles_dir))?,
        None => op.effective(&annotations_of(&doc.value))?.0,
    };
    let text = String::from_utf8_lossy(&doc.bytes).into_owned();
    let decision = policy::decide(
        &mut doc.value,
        &profile,
        Mode::Enforce,
        &RealHost,
        Scope::Container,
        &|v| {
            spec::plan_document(v, &bundle, Rootfs::MayBeAbsent).map(|mut p| {
                p.new_session_keyring = !a.no_new_keyring;
                p
            })
        },
    )
    .with_context(|| format!("{}", config.display()))?;
    let shown = config.display().to_string();
    match a.format {
        ReportFormat::Text => print!("{}", report::text(&decision, &shown)),
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&decision, &shown))?
        ),
        ReportFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&report::sarif(&decision, &shown, &text))?
        ),
    }
    Ok(if decision.violations.is_empty() { 0 } else { 1 })
}
