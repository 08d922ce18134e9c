use crate::cli::SpecArgs;
use crate::policy::select::{Operator, ANNOTATION_PROFILE};
use crate::policy::{self, Profile, RealHost};
use crate::spec::{self, Rootfs};

/// `spec`: palisade's hardened default config, made to pass the profile `create` would use
/// (or the one named by --profile, which is then also asked for by annotation).
pub fn run(a: &SpecArgs) -> anyhow::Result<i32> {
    if a.rootless {
        anyhow::bail!(
            "spec --rootless: rootless containers are not supported by this palisade yet"
        );
    }
    let path = a.bundle.join("config.json");
    if path.exists() {
        anyhow::bail!("spec: {} exists; remove it first", path.display());
    }
    let op = Operator::from_environment()?;
    let profile = match &a.profile {
        Some(p) => Profile::load(p, Some(&op.profiles_dir))?,
        None => op.effective(&Default::default())?.0,
    };
    let bundle = spec::absolute_bundle(&a.bundle)?;
    let mut doc = crate::defaults::hardened_spec();
    if a.profile.is_some() && profile.source == "built-in" {
        doc["annotations"] = serde_json::json!({ ANNOTATION_PROFILE: profile.name });
    }
    let left = policy::conform(&mut doc, &profile, &RealHost, &|v| {
        spec::plan_document(v, &bundle, Rootfs::MayBeAbsent)
    })?;
    if !left.is_empty() {
        let lines: Vec<String> = left.iter().map(|v| v.line()).collect();
        anyhow::bail!(
            "spec: cannot write a config that passes profile {}:\n{}",
            profile.name,
            lines.join("\n")
        );
    }
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| anyhow::anyhow!("spec: write {}: {e}", path.display()))?;
    Ok(0)
}
