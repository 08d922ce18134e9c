use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};

use crate::cli::UpdateArgs;

/// "100m", "1G", "1048576", "-1" → bytes.
fn bytes(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.trim_end_matches('b');
    let (num, mul) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not a size"))?;
    Ok(if n < 0 { -1 } else { n * mul })
}

/// --resources (a LinuxResources JSON, - for stdin), then runc's single-value flags on top.
pub fn run(root: &Path, a: &UpdateArgs) -> anyhow::Result<i32> {
    let mut r: Value = match &a.resources {
        None => json!({}),
        Some(p) => {
            let mut text = String::new();
            if p == Path::new("-") {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("update: read {}: {e}", p.display()))?;
            }
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("update: parse resources: {e}"))?
        }
    };
    if !r.is_object() {
        anyhow::bail!("update: resources must be a JSON object (runtime-spec LinuxResources)");
    }
    let mut set = |path: &[&str], v: Value| {
        let mut cur = &mut r;
        for k in &path[..path.len() - 1] {
            cur = cur
                .as_object_mut()
                .expect("object")
                .entry(*k)
                .or_insert_with(|| json!({}));
        }
        cur[path[path.len() - 1]] = v;
    };
    if let Some(v) = a.blkio_weight {
        set(&["blockIO", "weight"], json!(v));
    }
    for (v, k) in [
        (a.cpu_period, "period"),
        (a.cpu_rt_period, "realtimePeriod"),
        (a.cpu_share, "shares"),
    ] {
        if let Some(v) = v {
            set(&["cpu", k], json!(v));
        }
    }
    for (v, k) in [
        (a.cpu_quota, "quota"),
        (a.cpu_rt_runtime, "realtimeRuntime"),
    ] {
        if let Some(v) = v {
            set(&["cpu", k], json!(v));
        }
    }
    if let Some(v) = &a.cpuset_cpus {
        set(&["cpu", "cpus"], json!(v));
    }
    if let Some(v) = &a.cpuset_mems {
        set(&["cpu", "mems"], json!(v));
    }
    for (v, k) in [
        (&a.memory, "limit"),
        (&a.memory_reservation, "reservation"),
        (&a.memory_swap, "swap"),
    ] {
        if let Some(v) = v {
            set(&["memory", k], json!(bytes(v)?));
        }
    }
    if let Some(v) = a.pids_limit {
        set(&["pids", "limit"], json!(v));
    }
    let res: oci_spec::runtime::LinuxResources =
        serde_json::from_value(r).map_err(|e| anyhow::anyhow!("update: resources: {e}"))?;
    crate::lifecycle::update(root, &a.id, &res)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::bytes("100m").unwrap(), 100 << 20);
        assert_eq!(super::bytes("1G").unwrap(), 1 << 30);
        assert_eq!(super::bytes("4096").unwrap(), 4096);
        assert_eq!(super::bytes("-1").unwrap(), -1);
        assert!(super::bytes("lots").is_err());
    }
}
