use std::path::Path;

use crate::cli::{ListArgs, ListFormat};
use crate::state;

pub fn run(root: &Path, a: &ListArgs) -> anyhow::Result<i32> {
    let all = state::list(root)?;
    if a.quiet {
        for c in &all {
            println!("{}", c.record.id);
        }
        return Ok(0);
    }
    match a.format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = all
                .iter()
                .map(|c| {
                    let status = c.status();
                    serde_json::json!({
                        "ociVersion": c.record.oci_version,
                        "id": c.record.id,
                        "pid": if status == state::Status::Stopped { 0 } else { c.record.pid },
                        "status": status,
                        "bundle": c.record.bundle,
                        "rootfs": c.record.rootfs,
                        "created": c.record.created,
                        "owner": c.record.owner,
                        "annotations": c.record.annotations,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string(&v)?);
        }
        ListFormat::Table => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for c in &all {
                let status = c.status();
                let pid = if status == state::Status::Stopped {
                    0
                } else {
                    c.record.pid
                };
                rows.push(vec![
                    c.record.id.clone(),
                    pid.to_string(),
                    status.to_string(),
                    c.record.bundle.display().to_string(),
                    c.record.created.clone(),
                    c.record.owner.clone(),
                ]);
            }
            let widths: Vec<usize> = (0..6)
                .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
                .collect();
            for r in rows {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                println!("{}", line.join("   ").trim_end());
            }
        }
    }
    Ok(0)
}
