use std::path::Path;

use anyhow::Context;
use nix::sys::signal::SigSet;

use crate::cli::ExecArgs;
use crate::lifecycle::{self, ExecProcess, ExecRequest};
use crate::process::supervise;

pub fn run(root: &Path, a: &ExecArgs) -> anyhow::Result<i32> {
    let process = match &a.process {
        Some(f) => ExecProcess::File(f.clone()),
        None => ExecProcess::Args {
            args: a.command.clone(),
            env: a.env.clone(),
            cwd: a.cwd.clone(),
            user: a.user.clone(),
            additional_gids: a.additional_gids.clone(),
            caps: a.cap.clone(),
            no_new_privs: a.no_new_privs,
            tty: a.tty,
        },
    };
    // With --process the terminal comes from the JSON: look before deciding who holds it.
    let tty = match &a.process {
        Some(f) => std::fs::read(f)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["terminal"].as_bool())
            .unwrap_or(false),
        None => a.tty,
    };
    let (console, ours) = supervise::console_for(a.console_socket.as_deref(), tty, a.detach)
        .context("console socket pair")?;
    let mask = if a.detach {
        SigSet::empty()
    } else {
        supervise::block_forwarded_signals()?
    };
    let pid = lifecycle::exec(ExecRequest {
        root,
        id: &a.id,
        process,
        console,
        pid_file: a.pid_file.as_deref(),
        preserve_fds: a.preserve_fds,
        pidfd_socket: a.pidfd_socket.as_deref(),
        ignore_paused: a.ignore_paused,
    })?;
    if a.detach {
        return Ok(0);
    }
    let master = match ours {
        Some(sock) => Some(supervise::receive_fd(&sock).context("receive the pty master")?),
        None => None,
    };
    supervise::supervise(pid, master, &mask)
}
