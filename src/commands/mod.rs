//! One short file per command: parse nothing, decide little, call the library.

pub mod create;
pub mod delete;
pub mod features;
pub mod kill;
pub mod list;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;

use crate::cli::{Cli, Command};

/// Runs the command; returns the process exit status.
pub fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let root = cli.root.as_path();
    if cli.systemd_cgroup {
        anyhow::bail!(
            "--systemd-cgroup: systemd cgroup management is not supported by this palisade yet"
        );
    }
    match cli.command.as_ref().expect("checked by main") {
        Command::Create(a) => create::run(root, a),
        Command::Start(a) => start::run(root, &a.id),
        Command::State(a) => state::run(root, &a.id),
        Command::Kill(a) => kill::run(root, a),
        Command::Delete(a) => delete::run(root, a),
        Command::Run(a) => run::run(root, a),
        Command::List(a) => list::run(root, a),
        Command::Spec(a) => spec::run(a),
        Command::Features => features::run(),
    }
}
