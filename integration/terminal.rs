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
    let master = palisade::commands::run::receive_fd(&conn).unwrap();
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
