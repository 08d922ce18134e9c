use std::path::Path;

use crate::state::Container;

pub fn run(root: &Path, id: &str) -> anyhow::Result<i32> {
    let c = Container::load(root, id)?;
    let state = c.record.oci_state(c.status());
    println!("{}", serde_json::to_string_pretty(&state)?);
    Ok(0)
}
