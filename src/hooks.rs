//! POSIX-platform hooks (runtime-spec config.md#posix-platform-hooks): run with the
//! container's state on stdin, only the hook's own environment, and its timeout.

use std::io::{Read, Seek, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::spec::Hook;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {path}: {why}")]
    Failed {
        kind: String,
        path: String,
        why: String,
    },
}

/// Runs `hooks` in order; the first failure stops the rest.
pub fn run_all(kind: &str, hooks: &[Hook], state: &str) -> Result<(), HookError> {
    for h in hooks {
        run(h, state).map_err(|why| HookError::Failed {
            kind: kind.into(),
            path: h.path.display().to_string(),
            why,
        })?;
    }
    Ok(())
}

fn output_file() -> Result<std::fs::File, String> {
    crate::sys::memfd_sealable(c"palisade-hook-output")
        .map(std::fs::File::from)
        .map_err(|e| format!("memfd: {e}"))
}

fn run(h: &Hook, state: &str) -> Result<(), String> {
    let mut cmd = Command::new(&h.path);
    if let Some((argv0, rest)) = h.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for e in &h.env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    // Output goes to a memory file rather than a pipe: no reader thread, no deadlock on a
    // chatty hook, and the text is there for the error message.
    let out = output_file()?;
    let copy = out.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(copy.try_clone().map_err(|e| e.to_string())?))
        .stderr(Stdio::from(copy));
    // Forked, not posix_spawn-ed: glibc's posix_spawn tries clone3 first and falls back to
    // clone only on ENOSYS, and a startContainer hook runs under the config's filter when
    // that was loaded early. palisade's ENOSYS prologue answers clone3 with ENOSYS only when
    // the filter names no call numbered above it; an allowlist that names, say, close_range
    // and not clone3 answers EPERM. A pre_exec hook makes std fork (glibc's fork is clone).
    // SAFETY: the closure does nothing, so it is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let mut child = cmd.spawn().map_err(|e| format!("start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error (EPIPE is ignored).
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = h.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(s) => break s,
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "timed out after {}s",
                        h.timeout.unwrap_or_default()
                    ));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let mut out = out;
    let _ = out.rewind();
    let _ = out.take(4096).read_to_string(&mut text);
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    };
    let text = text.trim();
    Err(if text.is_empty() {
        how
    } else {
        format!("{how}: {text}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str], timeout: Option<u64>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["GREETING=hi".into()],
            timeout,
        }
    }

    #[test]
    fn state_on_stdin_and_own_env() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let script = format!(
            "cat > {}; echo \"$GREETING\" >> {}",
            out.display(),
            out.display()
        );
        run_all(
            "test",
            &[hook(&["sh", "-c", &script], None)],
            "{\"id\":\"x\"}",
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(out).unwrap(), "{\"id\":\"x\"}hi\n");
    }

    #[test]
    fn failure_names_hook_and_output() {
        let e = run_all(
            "poststart",
            &[hook(&["sh", "-c", "echo nope >&2; exit 3"], None)],
            "{}",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("poststart hook /bin/sh")
                && s.contains("exit status 3")
                && s.contains("nope"),
            "{s}"
        );
    }

    #[test]
    fn timeout_kills() {
        let e = run_all("x", &[hook(&["sh", "-c", "sleep 5"], Some(1))], "{}").unwrap_err();
        assert!(e.to_string().contains("timed out"), "{e}");
    }
}
