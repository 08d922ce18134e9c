//! palisade's entry point: sanitize, parse, log, dispatch, and turn any error into one line.

use clap::Parser;

use palisade::cli::{Cli, Command, LogFormat};
use palisade::{commands, logging, sanitize};

fn version() -> String {
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "palisade version {}\nspec: {}\nlibseccomp: {v}",
        env!("CARGO_PKG_VERSION"),
        palisade::defaults::OCI_VERSION
    )
}

/// The commands that put a process into a container and so run from a sealed copy.
fn puts_a_process_in_a_container(c: &Command) -> bool {
    matches!(c, Command::Create(_) | Command::Run(_) | Command::Exec(_))
}

fn seal_or_exit() {
    if let Err(e) = sanitize::ensure_sealed_self() {
        eprintln!(
            "palisade: cannot re-execute from a sealed copy of itself (CVE-2019-5736 defence): {e}"
        );
        std::process::exit(1);
    }
}

fn main() {
    // Re-executed before parsing when any argument names such a command, so that parsing
    // is not done twice. The check after parsing below remains what guarantees it.
    if std::env::args_os()
        .skip(1)
        .any(|a| matches!(a.as_encoded_bytes(), b"create" | b"run" | b"exec"))
    {
        seal_or_exit();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help is not an error; every usage error exits 1, as runc's do.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    if cli.version {
        println!("{}", version());
        return;
    }
    let Some(command) = &cli.command else {
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        std::process::exit(1);
    };
    let preserve = match command {
        Command::Create(a) => a.preserve_fds,
        Command::Run(a) => a.create.preserve_fds,
        Command::Exec(a) => a.preserve_fds,
        _ => 0,
    };
    if let Err(e) = sanitize::close_inherited_fds(preserve) {
        eprintln!("palisade: mark inherited descriptors close-on-exec: {e}");
        std::process::exit(1);
    }
    if puts_a_process_in_a_container(command) {
        seal_or_exit();
    }
    let format = match cli.log_format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    };
    let to_file = match logging::init(cli.log.as_deref(), format, cli.debug) {
        Ok(f) => f,
        Err(e) => {
            // A manager cleaning up after itself may already have removed the bundle that
            // held the log; the command itself (delete --force, typically) must still run.
            let path = cli.log.as_deref().unwrap_or(std::path::Path::new("-"));
            eprintln!(
                "palisade: open log {}: {e}; logging to stderr",
                path.display()
            );
            logging::init(None, format, cli.debug).unwrap_or(false)
        }
    };
    match commands::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let name = command_name(command);
            let text = one_line(&e);
            let msg = if text.starts_with(&format!("{name}:")) {
                text
            } else {
                format!("{name}: {text}")
            };
            if format == logging::Format::Json {
                // One record: the shim shows the last error record's msg, which must hold
                // every line (every violated rule of a refusal).
                tracing::error!("{msg}");
            } else {
                for line in msg.lines() {
                    tracing::error!("{line}");
                }
            }
            if to_file {
                eprintln!("palisade: {msg}");
            }
            // runc exits 255 when exec fails (exec.go: fatalWithCode(..., 255)), so that a
            // caller tells it from the process's own exit status 1.
            std::process::exit(if name == "exec" { 255 } else { 1 });
        }
    }
}

/// The error and those of its causes that its own text does not already include.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg = format!("{msg}: {c}");
        }
    }
    msg
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Create(_) => "create",
        Command::Start(_) => "start",
        Command::State(_) => "state",
        Command::Kill(_) => "kill",
        Command::Delete(_) => "delete",
        Command::Run(_) => "run",
        Command::Exec(_) => "exec",
        Command::Pause(_) => "pause",
        Command::Resume(_) => "resume",
        Command::Ps(_) => "ps",
        Command::Events(_) => "events",
        Command::Update(_) => "update",
        Command::Checkpoint(_) => "checkpoint",
        Command::Restore(_) => "restore",
        Command::List(_) => "list",
        Command::Spec(_) => "spec",
        Command::Features => "features",
        Command::Check(_) => "check",
        Command::Learn(_) => "learn",
        Command::Profile(_) => "profile",
    }
}
