use std::path::Path;

use crate::cli::KillArgs;
use crate::lifecycle;

pub fn run(root: &Path, a: &KillArgs) -> anyhow::Result<i32> {
    let sig = lifecycle::parse_signal(&a.signal)?;
    lifecycle::kill_container(root, &a.id, sig, a.all)?;
    Ok(0)
}
