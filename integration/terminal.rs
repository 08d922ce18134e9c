use crate::support::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

#[test]
fn console_socket_delivers_a_working_pty() {
    let mut b = Bundle::new("console");
    b.config["process"]["terminal"] = true.into();
    b.config["process"]["consoleSize"] = serde_json::json!({"height": 40, "width": 123});
    b.config["process"]["args"] = serde_json::json!(["sh"]);
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let o = b.palisade(&["create", "--console-socket", sock.to_str().unwrap(), &b.id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (conn, _) = listener.accept().unwrap();
    let master = palisade::process::supervise::receive_fd(&conn).unwrap();
    assert!(b.palisade(&["start", &b.id]).status.success());
    let mut m = std::fs::File::from(master);
    m.write_all(b"tty; stty size; ls -l /dev/console; exit 5\n")
        .unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match m.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let s = String::from_utf8_lossy(&out);
    assert!(s.contains("/dev/pts/0"), "{s}");
    assert!(s.contains("40 123"), "{s}");
    assert!(s.contains("136,"), "/dev/console is the pty: {s}");
    b.wait_status("stopped");
    assert!(b.palisade(&["delete", &b.id]).status.success());
    b.assert_nothing_left();
}

#[test]
fn terminal_without_console_socket_is_refused_when_detached() {
    let mut b = Bundle::new("noconsole");
    b.config["process"]["terminal"] = true.into();
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("console-socket"), "{}", stderr(&o));
    b.assert_nothing_left();
}

/// `run` with process.terminal and no console socket, driven from a real terminal as a
/// person would: the container gets a pty, input and output pass through, the exit status
/// comes back.
#[test]
fn run_in_the_foreground_with_a_terminal() {
    let mut b = Bundle::new("runtty");
    b.config["process"]["terminal"] = true.into();
    b.config["process"]["args"] = serde_json::json!(["sh"]);
    b.write();
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut cmd = b.cmd(&["run", &b.id]);
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut m = std::fs::File::from(pty.master);
    std::thread::sleep(Duration::from_millis(500));
    m.write_all(b"echo in-$((6*7)); tty; exit 4\n").unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match m.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&out).contains("/dev/pts/0") {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let status = child.wait().unwrap();
    let out = reader.join().unwrap();
    assert!(out.contains("in-42") && out.contains("/dev/pts/0"), "{out}");
    assert_eq!(status.code(), Some(4), "{out}");
    b.assert_nothing_left();
}
