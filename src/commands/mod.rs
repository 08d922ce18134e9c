//! One short file per command: parse nothing, decide little, call the library.

pub mod check;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod profile;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use crate::cli::{Cli, Command};

/// Runs the command; returns the process exit status.
pub fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let root = cli.root.as_path();
    let creates = matches!(
        cli.command,
        Some(Command::Create(_) | Command::Run(_) | Command::Exec(_))
    );
    if cli.systemd_cgroup && creates {
        // Accepted everywhere (managers pass it to every command); creating a systemd
        // scope comes with the isolation layer, and a silent cgroupfs fallback would put
        // the container where the operator did not ask.
        if !std::path::Path::new("/run/systemd/system").exists() {
            anyhow::bail!(
                "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use cgroupfs paths without --systemd-cgroup"
            );
        }
        anyhow::bail!(
            "--systemd-cgroup: creating transient systemd scopes is not implemented by this palisade yet"
        );
    }
    match cli.command.as_ref().expect("checked by main") {
        Command::Create(a) => create::run(root, a),
        Command::Start(a) => start::run(root, &a.id),
        Command::State(a) => state::run(root, &a.id),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::Run(a) => run::run(root, a),
        Command::Exec(a) => exec::run(root, a),
        Command::Pause(a) => pause::pause(root, &a.id),
        Command::Resume(a) => pause::resume(root, &a.id),
        Command::Ps(a) => ps::run(root, a),
        Command::Events(a) => events::run(root, a),
        Command::Update(a) => update::run(root, a),
        Command::Checkpoint(_) | Command::Restore(_) => {
            anyhow::bail!(
                "checkpoint and restore are not supported by palisade (no CRIU integration)"
            )
        }
        Command::List(a) => list::run(root, a),
        Command::Spec(a) => spec::run(a),
        Command::Features => features::run(),
        Command::Check(a) => check::run(a),
        Command::Profile(c) => profile::run(c),
    }
}
