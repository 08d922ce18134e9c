//! The init's `memory_policy` step: set_mempolicy(2) with the plan's `linux.memoryPolicy`.
//! The policy is the thread's and is inherited across fork and kept across execve, so the
//! container's process runs under it (runtime-spec 1.3 config-linux.md#memory-policy).

use std::io;

use crate::spec::memory_policy::MemoryPolicy;

pub fn apply(p: Option<&MemoryPolicy>) -> io::Result<()> {
    let Some(p) = p else {
        return Ok(());
    };
    crate::sys::set_mempolicy(p.mode | p.flags, &p.mask()).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::EINVAL) {
            " (a node outside the container's cpuset.mems, not online, or a mode this kernel lacks)"
        } else {
            ""
        };
        io::Error::new(
            e.kind(),
            format!(
                "set_mempolicy linux.memoryPolicy nodes {:?}: {e}{hint}",
                p.text
            ),
        )
    })
}
