use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::cli::EventsArgs;
use crate::isolate::stats;
use crate::state::{Container, Status};

/// runc's events: `{"type":"stats","id":...,"data":{...}}` lines, and `{"type":"oom"}` when
/// the OOM killer strikes; the stream ends when the container stops.
pub fn run(root: &Path, a: &EventsArgs) -> anyhow::Result<i32> {
    let secs: f64 =
        a.interval.trim_end_matches('s').parse().map_err(|_| {
            anyhow::anyhow!("--interval {:?} is not a number of seconds", a.interval)
        })?;
    if secs <= 0.0 {
        anyhow::bail!("--interval must be positive");
    }
    let c = Container::load(root, &a.id)?;
    if c.status() == Status::Stopped {
        anyhow::bail!("container {} is not running", a.id);
    }
    let cg = &c.record.cgroup;
    let emit = || {
        println!(
            "{}",
            json!({"type": "stats", "id": a.id, "data": stats::stats(cg)})
        )
    };
    if a.stats {
        emit();
        return Ok(0);
    }
    let mut ooms = stats::oom_kills(cg);
    let step = Duration::from_millis(100);
    let mut since = Duration::from_secs_f64(secs);
    loop {
        // Checked before the status: an OOM kill of the init also stops the container.
        let now = stats::oom_kills(cg);
        if now > ooms {
            println!("{}", json!({"type": "oom", "id": a.id}));
            ooms = now;
        }
        if c.status() == Status::Stopped {
            break;
        }
        if since >= Duration::from_secs_f64(secs) {
            emit();
            since = Duration::ZERO;
        }
        std::thread::sleep(step);
        since += step;
    }
    Ok(0)
}
