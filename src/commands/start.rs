use std::path::Path;

pub fn run(root: &Path, id: &str) -> anyhow::Result<i32> {
    crate::lifecycle::start(root, id)?;
    Ok(0)
}
