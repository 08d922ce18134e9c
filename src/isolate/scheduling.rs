//! process.scheduler (sched_setattr(2)) and process.ioPriority (ioprio_set(2)),
//! runtime-spec config.md#process.
//!
//! Both are applied after the capabilities step, with the container process's own
//! privileges: a real-time policy, a negative nice value or the real-time I/O class then
//! needs CAP_SYS_NICE (or CAP_SYS_ADMIN for I/O) in the container's own sets, as it would
//! if the workload asked itself. Applied by the still-privileged init, as other runtimes
//! do, they would let any config starve the node's CPUs or disks.

use std::io;

use oci_spec::runtime::{IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy};

use crate::spec::{invalid, Process, SpecError};
use crate::sys;

/// Applies the process's scheduler, then its I/O priority.
pub fn apply(p: &Process) -> io::Result<()> {
    if let Some(attr) = &p.scheduler {
        sys::sched_setattr(attr).map_err(|e| {
            io::Error::new(e.kind(), format!("process.scheduler: sched_setattr: {e}"))
        })?;
    }
    if let Some(ioprio) = p.io_priority {
        sys::ioprio_set(ioprio).map_err(|e| {
            io::Error::new(e.kind(), format!("process.ioPriority: ioprio_set: {e}"))
        })?;
    }
    Ok(())
}

/// process.scheduler as sched_setattr(2) takes it.
pub fn sched_attr(s: &oci_spec::runtime::Scheduler) -> Result<libc::sched_attr, SpecError> {
    use LinuxSchedulerPolicy as P;
    let policy = match s.policy() {
        P::SchedOther => libc::SCHED_OTHER,
        P::SchedFifo => libc::SCHED_FIFO,
        P::SchedRr => libc::SCHED_RR,
        P::SchedBatch => libc::SCHED_BATCH,
        // SCHED_ISO is reserved and never implemented by Linux.
        P::SchedIso => {
            return Err(invalid(
                "process.scheduler.policy",
                "SCHED_ISO is not implemented by Linux",
            ))
        }
        P::SchedIdle => libc::SCHED_IDLE,
        P::SchedDeadline => libc::SCHED_DEADLINE,
    } as u32;
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(invalid(
            "process.scheduler.nice",
            format!("{nice} is outside -20..19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
    if realtime && !(1..=99).contains(&priority) || !realtime && priority != 0 {
        return Err(invalid(
            "process.scheduler.priority",
            format!(
                "{priority} is not valid for {:?} (1..99 for SCHED_FIFO and SCHED_RR, else 0)",
                s.policy()
            ),
        ));
    }
    let mut flags = 0u64;
    for f in s.flags().as_deref().unwrap_or_default() {
        use LinuxSchedulerFlag as F;
        let flag = match f {
            F::SchedResetOnFork => libc::SCHED_FLAG_RESET_ON_FORK,
            F::SchedFlagReclaim => libc::SCHED_FLAG_RECLAIM,
            F::SchedFlagDLOverrun => libc::SCHED_FLAG_DL_OVERRUN,
            F::SchedFlagKeepPolicy => libc::SCHED_FLAG_KEEP_POLICY,
            F::SchedFlagKeepParams => libc::SCHED_FLAG_KEEP_PARAMS,
            // Utilization clamps need the values of a larger sched_attr, which the
            // runtime-spec does not carry.
            F::SchedFlagUtilClampMin | F::SchedFlagUtilClampMax => {
                return Err(invalid(
                    "process.scheduler.flags",
                    format!("{f:?} needs clamp values the runtime-spec does not give"),
                ))
            }
        };
        flags |= flag as u64;
    }
    Ok(libc::sched_attr {
        size: 0,
        sched_policy: policy,
        sched_flags: flags,
        sched_nice: nice,
        sched_priority: priority as u32,
        sched_runtime: s.runtime().unwrap_or(0),
        sched_deadline: s.deadline().unwrap_or(0),
        sched_period: s.period().unwrap_or(0),
    })
}

/// process.ioPriority as ioprio_set(2) takes it: the class in the top bits, 0..7 below.
pub fn ioprio(p: &oci_spec::runtime::LinuxIOPriority) -> Result<i32, SpecError> {
    const CLASS_SHIFT: i32 = 13;
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = p.priority();
    if !(0..=7).contains(&level) {
        return Err(invalid(
            "process.ioPriority.priority",
            format!("{level} is outside 0..7"),
        ));
    }
    Ok(class << CLASS_SHIFT | level as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(v: serde_json::Value) -> Result<libc::sched_attr, SpecError> {
        sched_attr(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn schedulers() {
        let a = sched(serde_json::json!({"policy": "SCHED_BATCH", "nice": 5})).unwrap();
        assert_eq!((a.sched_policy, a.sched_nice, a.sched_priority), (3, 5, 0));
        let a = sched(serde_json::json!({"policy": "SCHED_FIFO", "priority": 10,
                                         "flags": ["SCHED_RESET_ON_FORK"]}))
        .unwrap();
        assert_eq!(
            (a.sched_policy, a.sched_priority, a.sched_flags),
            (1, 10, 1)
        );
        for bad in [
            serde_json::json!({"policy": "SCHED_FIFO"}),
            serde_json::json!({"policy": "SCHED_OTHER", "priority": 3}),
            serde_json::json!({"policy": "SCHED_OTHER", "nice": 20}),
            serde_json::json!({"policy": "SCHED_ISO"}),
        ] {
            assert!(sched(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn io_priorities() {
        let p = |v| ioprio(&serde_json::from_value(v).unwrap());
        assert_eq!(
            p(serde_json::json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0})).unwrap(),
            3 << 13
        );
        assert_eq!(
            p(serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 4})).unwrap(),
            2 << 13 | 4
        );
        assert!(p(serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 8})).is_err());
    }
}
