use crate::cli::SpecArgs;

pub fn run(a: &SpecArgs) -> anyhow::Result<i32> {
    if a.rootless {
        anyhow::bail!("spec --rootless: user namespaces are not supported by this palisade yet");
    }
    let path = a.bundle.join("config.json");
    if path.exists() {
        anyhow::bail!("spec: {} exists; remove it first", path.display());
    }
    let text = serde_json::to_string_pretty(&crate::defaults::hardened_spec())?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| anyhow::anyhow!("spec: write {}: {e}", path.display()))?;
    Ok(0)
}
