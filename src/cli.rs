//! The command line, runc's flags and names; structs only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    about = "palisade: a hardened OCI container runtime with runc's command line",
    disable_version_flag = true
)]
pub struct Cli {
    // The global flags come before the command, as runc's do (not `global = true`).
    /// Root directory for the state of containers.
    #[arg(long, default_value = "/run/palisade")]
    pub root: PathBuf,
    /// Log file (default: stderr).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Log format.
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug messages.
    #[arg(long)]
    pub debug: bool,
    /// Use systemd for cgroups (slice:prefix:name cgroupsPath).
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// Rootless mode (runc's global flag: auto, true or false; before the command).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Each command's flags are built only when that command runs (or its help is shown):
/// building all of them cost every call 0.1 MB of heap (peak RSS, scripts/bench.sh).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create a container.
    Create(CreateArgs),
    /// Start the user process of a created container.
    Start(IdArg),
    /// Print the OCI state of a container.
    State(IdArg),
    /// Send a signal to the container's init (default SIGTERM).
    Kill(KillArgs),
    /// Delete a container and its resources.
    Delete(DeleteArgs),
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// Create and start a container, wait for it, and remove it.
    Run(RunArgs),
    /// List containers.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Freeze every process of a container.
    Pause(IdArg),
    /// Thaw a paused container.
    Resume(IdArg),
    /// List a container's processes.
    Ps(PsArgs),
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Resource usage as JSON: once with --stats, else every --interval, with OOM events.
    Events(EventsArgs),
    /// Not supported: answers so clearly.
    Checkpoint(Unsupported),
    /// Not supported: answers so clearly.
    Restore(Unsupported),
    /// Write a hardened config.json.
    Spec(SpecArgs),
    /// Print the features this runtime implements (runtime-spec features.md).
    Features,
    /// Check a bundle or config.json against a hardening profile; creates nothing.
    Check(CheckArgs),
    /// Run a bundle once under a recording filter and write the smallest profile that
    /// runs it; or merge recordings into one profile.
    Learn(LearnArgs),
    /// List, show and explain hardening profiles and rules.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Profile name or file (default: the one `create` would use).
    #[arg(long)]
    pub profile: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Judge the config as `create --no-new-keyring` would run it (the caller's session
    /// keyring kept).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// A bundle directory or a config.json file.
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// The built-in profiles and those in the profiles directory.
    List,
    /// A profile's effective rules, after `extends`.
    Show { name: String },
    /// What a rule checks, why, and how to fix it.
    Explain { rule: String },
    /// The rule catalog as Markdown (profiles/RULES.md).
    Reference,
}

#[derive(Debug, Args)]
pub struct IdArg {
    pub id: String,
}

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// Path to the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is set.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's init pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the runtime's session keyring instead of a new one for the container.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra descriptors (3 .. 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Unix socket that receives a pidfd of the container's init (runc 1.2).
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Detach from the container's process.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// The bundle to run and record.
    #[arg(short = 'b', long, required_unless_present = "merge")]
    pub bundle: Option<PathBuf>,
    /// The profile to run under, which the learned one extends (default: the operator's;
    /// never looser than it).
    #[arg(long)]
    pub base: Option<String>,
    /// The directory the profile, its report and the recording are written to.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Merge recordings (<name>.recording.json) into one profile instead of running.
    #[arg(long, num_args = 1.., conflicts_with_all = ["bundle", "base"])]
    pub merge: Vec<PathBuf>,
    /// The learned profile is named learned-<NAME> (default: the container id, or
    /// "merged").
    #[arg(long)]
    pub name: Option<String>,
    /// The container id.
    #[arg(required_unless_present = "merge")]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Process JSON (runtime-spec `process`) instead of the command line.
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Return once the process has started.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process's pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master (with --tty and --detach).
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the new process (runc 1.2).
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Environment variables (KEY=VALUE), added to the container's.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional group ids.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Capabilities to add to the process.
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Pass N extra descriptors (3 .. 3+N-1) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Exec even into a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    pub id: String,
    /// Options for ps(1) (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// LinuxResources JSON, or - for standard input.
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes (k, m, g suffixes accepted; -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Interval between statistics, in seconds ("5" or "5s").
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct Unsupported {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container, not only its init.
    #[arg(short = 'a', long)]
    pub all: bool,
    pub id: String,
    /// Signal name (TERM, SIGTERM) or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill the container first if it is running.
    #[arg(short = 'f', long)]
    pub force: bool,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Print only the ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Directory to write config.json into.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write a config for a rootless container (needs user namespaces).
    #[arg(long)]
    pub rootless: bool,
    /// Write a config that passes this profile (default: the one `create` would use).
    #[arg(long)]
    pub profile: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn runc_style_invocations_parse() {
        let c = Cli::try_parse_from([
            "palisade",
            "--root",
            "/r",
            "--log",
            "/b/log.json",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "--console-socket",
            "/s",
            "id1",
        ])
        .unwrap();
        assert_eq!(c.root, PathBuf::from("/r"));
        assert_eq!(c.log_format, LogFormat::Json);
        let Some(Command::Create(a)) = c.command else {
            panic!()
        };
        assert_eq!(a.id, "id1");
        assert_eq!(a.pid_file, Some(PathBuf::from("/b/init.pid")));
        let c = Cli::try_parse_from(["palisade", "kill", "--all", "id1", "9"]).unwrap();
        let Some(Command::Kill(k)) = c.command else {
            panic!()
        };
        assert!(k.all && k.signal == "9");
        let c = Cli::try_parse_from(["palisade", "delete", "-f", "x"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Delete(DeleteArgs { force: true, .. }))
        ));
        assert!(Cli::try_parse_from(["palisade", "create", "--bogus", "x"]).is_err());
    }

    /// runc's global flags belong to runc itself, not to its commands: `runc state --root
    /// /r id` fails with "flag provided but not defined: -root". They are not propagated to
    /// every subcommand here either, which also keeps clap from copying them into each.
    #[test]
    fn global_flags_go_before_the_command() {
        let c =
            Cli::try_parse_from(["palisade", "--root", "/r", "--debug", "state", "id1"]).unwrap();
        assert!(c.debug && c.root == std::path::Path::new("/r"));
        for flag in [&["--root", "/r"][..], &["--debug"], &["--log", "/l"]] {
            let mut argv = vec!["palisade", "state"];
            argv.extend_from_slice(flag);
            argv.push("id1");
            assert!(Cli::try_parse_from(&argv).is_err(), "{argv:?}");
        }
    }

    /// Subcommands are built only when used (`#[command(defer)]`); help must still show
    /// every one and each one's own flags.
    #[test]
    fn deferred_subcommands_still_have_their_help() {
        let mut root = Cli::command();
        let help = root.render_long_help().to_string();
        for name in [
            "create", "start", "state", "kill", "delete", "exec", "run", "list", "pause", "resume",
            "ps", "update", "events", "spec", "features", "check",
        ] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
        let e = Cli::try_parse_from(["palisade", "run", "--help"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        let text = e.to_string();
        assert!(
            text.contains("--bundle") && text.contains("--detach"),
            "{text}"
        );
    }
}
