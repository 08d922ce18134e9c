use std::path::Path;

use crate::cli::DeleteArgs;

pub fn run(root: &Path, a: &DeleteArgs) -> anyhow::Result<i32> {
    crate::lifecycle::delete(root, &a.id, a.force)?;
    Ok(0)
}
