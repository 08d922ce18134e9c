use std::path::Path;

pub fn pause(root: &Path, id: &str) -> anyhow::Result<i32> {
    crate::lifecycle::pause(root, id)?;
    Ok(0)
}

pub fn resume(root: &Path, id: &str) -> anyhow::Result<i32> {
    crate::lifecycle::resume(root, id)?;
    Ok(0)
}
