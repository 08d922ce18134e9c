use std::path::Path;

use crate::cli::CreateArgs;
use crate::lifecycle::{self, Console, CreateRequest};

pub fn run(root: &Path, a: &CreateArgs, systemd_cgroup: bool) -> anyhow::Result<i32> {
    lifecycle::create(CreateRequest {
        root,
        id: &a.id,
        bundle: &a.bundle,
        console: a.console_socket.clone().map(Console::Socket),
        pid_file: a.pid_file.as_deref(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        pidfd_socket: a.pidfd_socket.as_deref(),
        systemd_cgroup,
        recorder: None,
        learn_base: None,
    })?;
    Ok(0)
}
