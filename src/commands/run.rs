use std::path::Path;

use anyhow::Context;
use nix::sys::signal::SigSet;

use crate::cli::RunArgs;
use crate::lifecycle::{self, CreateRequest};
use crate::process::supervise;

/// Whether config.json asks for a terminal (read before create to set up our side). Only
/// that field is built: the rest is skipped, where building and freeing the whole document
/// cost about 2 µs per mount (scripts/bench.sh, the mounts row).
fn wants_terminal(bundle: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Config {
        process: Option<Process>,
    }
    #[derive(serde::Deserialize)]
    struct Process {
        terminal: Option<bool>,
    }
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Config>(&b).ok())
        .and_then(|c| c.process?.terminal)
        .unwrap_or(false)
}

pub fn run(root: &Path, a: &RunArgs, systemd_cgroup: bool) -> anyhow::Result<i32> {
    let opts = Foreground {
        detach: a.detach,
        keep: a.keep,
        systemd_cgroup,
        recorder: None,
        learn_base: None,
    };
    foreground(root, &a.create, opts, &mut |_| Ok(()))
}

/// How `run` (or `learn`) runs the container.
pub struct Foreground<'a> {
    pub detach: bool,
    pub keep: bool,
    pub systemd_cgroup: bool,
    pub recorder: Option<std::os::fd::OwnedFd>,
    pub learn_base: Option<&'a str>,
}

/// Create, start, wait, delete; `created` runs between create and start, with the pid.
pub fn foreground(
    root: &Path,
    c: &crate::cli::CreateArgs,
    a: Foreground<'_>,
    created: &mut dyn FnMut(i32) -> anyhow::Result<()>,
) -> anyhow::Result<i32> {
    let systemd_cgroup = a.systemd_cgroup;
    let terminal = wants_terminal(&c.bundle);
    let (console, ours) = supervise::console_for(c.console_socket.as_deref(), terminal, a.detach)
        .context("console socket pair")?;
    // Signals are blocked before the container exists so that none sent to `run` is lost;
    // the init unblocks them for itself.
    let mask = if a.detach {
        SigSet::empty()
    } else {
        supervise::block_forwarded_signals()?
    };
    let pid = lifecycle::create(CreateRequest {
        root,
        id: &c.id,
        bundle: &c.bundle,
        console,
        pid_file: c.pid_file.as_deref(),
        no_pivot: c.no_pivot,
        no_new_keyring: c.no_new_keyring,
        preserve_fds: c.preserve_fds,
        pidfd_socket: c.pidfd_socket.as_deref(),
        systemd_cgroup,
        recorder: a.recorder,
        learn_base: a.learn_base,
    })?;
    if let Err(e) = created(pid) {
        let _ = lifecycle::delete(root, &c.id, true);
        return Err(e);
    }
    let master = match ours {
        Some(sock) => Some(supervise::receive_fd(&sock).context("receive the pty master")?),
        None => None,
    };
    if let Err(e) = lifecycle::start(root, &c.id) {
        let _ = lifecycle::delete(root, &c.id, true);
        return Err(e.into());
    }
    if a.detach {
        return Ok(0);
    }
    let code = supervise::supervise(pid, master, &mask)?;
    if !a.keep {
        lifecycle::delete(root, &c.id, true)?;
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::wants_terminal;

    #[test]
    fn terminal_is_read_from_the_config() {
        let cases = [
            (
                r#"{"process": {"terminal": true, "args": ["sh"]}, "mounts": []}"#,
                true,
            ),
            (r#"{"process": {"terminal": false}}"#, false),
            (r#"{"process": {"args": ["sh"]}}"#, false),
            (r#"{"process": null}"#, false),
            (r#"{"root": {"path": "rootfs"}}"#, false),
            (r#"{"process": {"terminal": "yes"}}"#, false),
            ("not json", false),
        ];
        for (config, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("config.json"), config).unwrap();
            assert_eq!(wants_terminal(dir.path()), want, "{config}");
        }
        assert!(!wants_terminal(std::path::Path::new("/nonexistent-bundle")));
    }
}
