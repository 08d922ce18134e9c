//! CPU affinity (sched_setaffinity(2)): runtime-spec config.md#process `execCPUAffinity`
//! for `exec`, and the reset every container process gets once it is in its cgroup.
//!
//! A process inherits its parent's affinity, and entering a cgroup does not widen it
//! (kernels since 6.2 keep the mask a task asked for across cpuset changes). Without a
//! reset, a container started by a caller pinned to one CPU (`taskset`, a pinned manager)
//! would run on that CPU alone, whatever its cpuset allows; runc resets it too. Asking for
//! every CPU gets the cgroup's cpuset: the kernel intersects the request with it.

use std::io;

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Runs the calling thread on `cpus`, or on every CPU its cgroup allows when `None`.
pub fn set(cpus: Option<&[usize]>) -> io::Result<()> {
    let mut set = CpuSet::new();
    match cpus {
        Some(list) => {
            for &cpu in list {
                set.set(cpu).map_err(io::Error::from)?;
            }
        }
        None => {
            for cpu in 0..CpuSet::count() {
                set.set(cpu).map_err(io::Error::from)?;
            }
        }
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// A CPU list as runtime-spec writes it ("0-3,7"), into CPU numbers, each below the
/// kernel's CPU_SETSIZE. The grammar itself was checked when the config was read
/// (`src/document.rs`); this checks what the grammar cannot: ranges that run backwards and
/// CPUs no affinity mask can name.
pub fn parse_list(s: &str) -> Result<Vec<usize>, String> {
    let max = CpuSet::count();
    crate::spec::ranges::parse(s, max, &format!("CPU number below {max}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_list("0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse_list("2,1,1-2").unwrap(), vec![1, 2]);
        assert_eq!(parse_list("1023").unwrap(), vec![1023]);
        assert!(parse_list("1024").unwrap_err().contains("below 1024"));
        assert!(parse_list("3-1").unwrap_err().contains("backwards"));
        assert!(parse_list("x").is_err());
    }
}
