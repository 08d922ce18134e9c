//! process.noNewPrivileges (config.md#linux-process; prctl(2) PR_SET_NO_NEW_PRIVS).

use std::io;

/// Init step "no_new_privs": irreversible once set.
pub fn apply(on: bool) -> io::Result<()> {
    if on {
        crate::sys::set_no_new_privs()
            .map_err(|e| io::Error::new(e.kind(), format!("PR_SET_NO_NEW_PRIVS: {e}")))?;
    }
    Ok(())
}
