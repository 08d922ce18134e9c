use std::path::Path;
use std::process::Command;

use crate::cli::{ListFormat, PsArgs};

/// As runc does: JSON is the pid list; the table is ps(1)'s own output, keeping the header
/// and the rows whose PID column is one of the container's.
pub fn run(root: &Path, a: &PsArgs) -> anyhow::Result<i32> {
    let pids = crate::lifecycle::pids(root, &a.id)?;
    if a.format == ListFormat::Json {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let args = if a.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_args.clone()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| anyhow::anyhow!("ps: run ps(1): {e}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "ps: ps(1) {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("ps: no PID column in ps(1)'s output"))?;
    println!("{header}");
    for l in lines {
        if l.split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            println!("{l}");
        }
    }
    Ok(0)
}
