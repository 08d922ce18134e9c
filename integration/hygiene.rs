//! The runtime's own hygiene: files it writes on the host, the state root it trusts, the
//! states `delete` refuses, and the audit record that comes before a startable container.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::*;

/// The pid file goes through a new file of a random name and a rename: names planted
/// beside it (the old predictable temporary name, the pid file's own name) as symlinks to
/// a host file never lead the write to that file.
#[test]
fn the_pid_file_is_never_written_through_a_symlink() {
    let mut b = Bundle::new("hy-pidfile");
    b.script("sleep 100");
    let host_file = b.path().join("host-file");
    std::fs::write(&host_file, "precious\n").unwrap();
    let pidfile = b.path().join("init.pid");
    std::os::unix::fs::symlink(&host_file, b.path().join(".init.pid.tmp")).unwrap();
    std::os::unix::fs::symlink(&host_file, &pidfile).unwrap();
    let o = b.palisade(&["create", "--pid-file", pidfile.to_str().unwrap(), &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "precious\n");
    let m = std::fs::symlink_metadata(&pidfile).unwrap();
    assert!(m.file_type().is_file(), "the symlink itself is replaced");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        b.state_json()["pid"].to_string()
    );
    // No temporary file is left beside it.
    let left: Vec<String> = std::fs::read_dir(b.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".init.pid.") && n != ".init.pid.tmp")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// As runc: `delete` without --force refuses a running or paused container (and kills
/// nothing); a created one it deletes.
#[test]
fn delete_without_force_refuses_running_and_paused() {
    let mut b = Bundle::new("hy-delete");
    b.script("sleep 100");
    let o = b.palisade(&["run", "-d", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = b.palisade(&["delete", &b.id]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not stopped: running"),
        "{}",
        stderr(&o)
    );
    assert_eq!(b.status(), "running");
    assert!(b.palisade(&["pause", &b.id]).status.success());
    let o = b.palisade(&["delete", &b.id]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not stopped: paused"), "{}", stderr(&o));
    assert_eq!(b.status(), "paused");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}

/// A state root others can write, or owned by someone else, is refused by every command
/// before anything is made: its records carry the hooks `delete` runs as root.
#[test]
fn an_unsafe_state_root_is_refused() {
    let mut b = Bundle::new("hy-root");
    b.script("true");
    std::fs::create_dir_all(&b.state).unwrap();
    for (mode, owner) in [(0o777, 0), (0o770, 0), (0o700, 1000)] {
        std::fs::set_permissions(&b.state, std::fs::Permissions::from_mode(mode)).unwrap();
        nix::unistd::chown(&b.state, Some(nix::unistd::Uid::from_raw(owner)), None).unwrap();
        for args in [
            vec!["create", &b.id],
            vec!["list"],
            vec!["delete", "--force", &b.id],
        ] {
            let o = b.palisade(&args);
            assert!(
                !o.status.success(),
                "{args:?} under mode {mode:o} uid {owner}"
            );
            let e = stderr(&o);
            assert!(
                e.contains("state root") && e.contains(b.state.to_str().unwrap()),
                "{e}"
            );
        }
        assert_eq!(
            std::fs::read_dir(&b.state).unwrap().count(),
            0,
            "nothing made"
        );
    }
    // Its parent counts too: a group-writable directory above the root.
    nix::unistd::chown(&b.state, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    std::fs::set_permissions(&b.state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let above = b.path().join("shared");
    std::fs::create_dir(&above).unwrap();
    std::fs::set_permissions(&above, std::fs::Permissions::from_mode(0o775)).unwrap();
    let mut list = bin();
    list.arg("--root").arg(above.join("state")).arg("list");
    let o = output_via_files(list, b.path());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("writable by group or others"),
        "{}",
        stderr(&o)
    );
    // The safe root works.
    let o = b.palisade(&["run", &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    b.assert_nothing_left();
}

/// The audit record of a create is written before the container can be started: a
/// runtime killed (-9) while it writes the record leaves a container `start` refuses,
/// which `delete --force` removes. The audit log is a fifo kept full, so the runtime
/// blocks right at that write.
#[test]
fn a_create_killed_before_its_audit_record_leaves_nothing_startable() {
    use std::os::unix::fs::OpenOptionsExt;
    let mut b = Bundle::new("hy-audit");
    b.script("echo ran");
    let fifo = b.path().join("audit.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let chunk = [b'#'; 4096];
    while std::io::Write::write(&mut writer, &chunk).is_ok() {}
    let conf = b.path().join("operator.toml");
    std::fs::write(
        &conf,
        format!(
            "profile = \"unconfined\"\naudit_log = \"{}\"\n",
            fifo.display()
        ),
    )
    .unwrap();
    b.operator = Some(conf);
    b.write();
    let mut create = b.cmd(&["create", &b.id]);
    create
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(b.path().join("create.err")).unwrap());
    let mut child = create.spawn().unwrap();
    let wchan = format!("/proc/{}/wchan", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&wchan)
        .unwrap_or_default()
        .ends_with("pipe_write")
    {
        assert!(
            Instant::now() < deadline,
            "create never blocked on the audit log: wchan {:?}, exit {:?}, stderr {:?}",
            std::fs::read_to_string(&wchan),
            child.try_wait(),
            std::fs::read_to_string(b.path().join("create.err"))
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The init is made and ready; the record is not written.
    let st = b.state_json();
    assert_eq!(st["status"], "creating", "{st}");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(writer);
    drop(reader);
    let o = b.palisade(&["start", &b.id]);
    assert!(!o.status.success(), "an unaudited container must not start");
    assert!(stderr(&o).contains("creating"), "{}", stderr(&o));
    let o = b.palisade(&["kill", &b.id, "KILL"]);
    assert!(!o.status.success(), "a creating container is not signalled");
    let o = b.palisade(&["delete", &b.id]);
    assert!(!o.status.success(), "creating needs --force");
    assert!(b.palisade(&["delete", "--force", &b.id]).status.success());
    b.assert_nothing_left();
}
