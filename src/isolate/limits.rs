//! process.rlimits (setrlimit(2)); process.oomScoreAdj is the runtime's to write
//! (process::spawn::Pending::set_oom_score_adj).

use std::io;

use crate::spec::Process;

/// Init step "rlimits".
pub fn apply(p: &Process) -> io::Result<()> {
    for r in &p.rlimits {
        let lim = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        nix::errno::Errno::clear();
        // nix's setrlimit takes an enum that cannot name every resource; prlimit on ourselves.
        let res = nix::sys::resource::setrlimit(resource(r.resource), lim.rlim_cur, lim.rlim_max);
        if let Err(e) = res {
            let why = if e == nix::errno::Errno::EPERM {
                " (raising a hard limit needs CAP_SYS_RESOURCE, which this runtime does not hold here)"
            } else {
                ""
            };
            return Err(io::Error::new(
                io::Error::from(e).kind(),
                format!(
                    "setrlimit {} soft={} hard={}: {e}{why}",
                    r.name, r.soft, r.hard
                ),
            ));
        }
    }
    Ok(())
}

fn resource(r: i32) -> nix::sys::resource::Resource {
    use nix::sys::resource::Resource as R;
    match r as u32 {
        x if x == libc::RLIMIT_AS => R::RLIMIT_AS,
        x if x == libc::RLIMIT_CORE => R::RLIMIT_CORE,
        x if x == libc::RLIMIT_CPU => R::RLIMIT_CPU,
        x if x == libc::RLIMIT_DATA => R::RLIMIT_DATA,
        x if x == libc::RLIMIT_FSIZE => R::RLIMIT_FSIZE,
        x if x == libc::RLIMIT_LOCKS => R::RLIMIT_LOCKS,
        x if x == libc::RLIMIT_MEMLOCK => R::RLIMIT_MEMLOCK,
        x if x == libc::RLIMIT_MSGQUEUE => R::RLIMIT_MSGQUEUE,
        x if x == libc::RLIMIT_NICE => R::RLIMIT_NICE,
        x if x == libc::RLIMIT_NPROC => R::RLIMIT_NPROC,
        x if x == libc::RLIMIT_RSS => R::RLIMIT_RSS,
        x if x == libc::RLIMIT_RTPRIO => R::RLIMIT_RTPRIO,
        x if x == libc::RLIMIT_RTTIME => R::RLIMIT_RTTIME,
        x if x == libc::RLIMIT_SIGPENDING => R::RLIMIT_SIGPENDING,
        x if x == libc::RLIMIT_STACK => R::RLIMIT_STACK,
        _ => R::RLIMIT_NOFILE,
    }
}
