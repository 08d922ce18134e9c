//! One short file per command: parse nothing, decide little, call the library.

pub mod check;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod learn;
pub mod list;
pub mod pause;
pub mod profile;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use anyhow::Context;

use crate::cli::{Cli, Command};

/// Runs the command; returns the process exit status.
pub fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let root = cli.root.as_path();
    crate::policy::host::set_state_root(root);
    // Accepted by every command (managers pass it to all of them); it matters where a
    // cgroup is made. Without systemd that is a clear error, never a silent cgroupfs
    // fallback that would put the container where the operator did not ask.
    let creates = matches!(cli.command, Some(Command::Create(_) | Command::Run(_)));
    if cli.systemd_cgroup && creates && !crate::isolate::systemd::running() {
        return Err(crate::isolate::systemd::SystemdError::NotRunning).context("--systemd-cgroup");
    }
    match cli.command.as_ref().expect("checked by main") {
        Command::Create(a) => create::run(root, a, cli.systemd_cgroup),
        Command::Start(a) => start::run(root, &a.id),
        Command::State(a) => state::run(root, &a.id),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::Run(a) => run::run(root, a, cli.systemd_cgroup),
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
        Command::Learn(a) => learn::run(root, a, cli.systemd_cgroup),
        Command::Profile(c) => profile::run(c),
    }
}
