//! Just enough of the D-Bus wire protocol (dbus-specification, "Message Protocol") to call
//! systemd's manager: method calls with string, boolean, uint32, uint64 and array-of-uint32
//! arguments, and their replies or errors. Blocking, on one socket, without a thread, a
//! C library or an async runtime in the runtime process.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: authentication refused: {reply}")]
    Auth { path: String, reply: String },
    #[error("{name}: {message}")]
    Call { name: String, message: String },
    #[error("{0}: malformed message")]
    Malformed(&'static str),
}

/// A value of a property list `a(sv)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    U32s(Vec<u32>),
}

/// An argument of a method call.
pub enum Arg<'a> {
    Str(&'a str),
    Bool(bool),
    /// `a(sv)`.
    Props(&'a [(&'a str, Value)]),
    /// `a(sa(sv))`, always empty here (StartTransientUnit's auxiliary units).
    NoAux,
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Bool(_) => "b",
            Arg::Props(_) => "a(sv)",
            Arg::NoAux => "a(sa(sv))",
        }
    }
}

/// Little-endian-or-native marshalling into one buffer; offsets count from the message
/// start, which is what alignment is measured against.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn align(&mut self, n: usize) {
        while self.0.len() % n != 0 {
            self.0.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.align(4);
        self.0.extend_from_slice(&v.to_ne_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.align(8);
        self.0.extend_from_slice(&v.to_ne_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
    /// An array whose elements align to `elem_align`; `f` writes the elements.
    fn array(&mut self, elem_align: usize, f: impl FnOnce(&mut Out)) {
        self.u32(0);
        let len_at = self.0.len() - 4;
        self.align(elem_align);
        let start = self.0.len();
        f(self);
        let len = (self.0.len() - start) as u32;
        self.0[len_at..len_at + 4].copy_from_slice(&len.to_ne_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => {
                self.sig("s");
                self.str(s);
            }
            Value::Bool(b) => {
                self.sig("b");
                self.u32(u32::from(*b));
            }
            Value::U64(n) => {
                self.sig("t");
                self.u64(*n);
            }
            Value::U32s(ns) => {
                self.sig("au");
                self.array(4, |o| ns.iter().for_each(|n| o.u32(*n)));
            }
        }
    }
    fn arg(&mut self, a: &Arg<'_>) {
        match a {
            Arg::Str(s) => self.str(s),
            Arg::Bool(b) => self.u32(u32::from(*b)),
            Arg::Props(props) => self.array(8, |o| {
                for (name, v) in props.iter() {
                    o.align(8);
                    o.str(name);
                    o.value(v);
                }
            }),
            Arg::NoAux => self.array(8, |_| {}),
        }
    }
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
// Header field codes.
const F_PATH: u8 = 1;
const F_INTERFACE: u8 = 2;
const F_MEMBER: u8 = 3;
const F_ERROR_NAME: u8 = 4;
const F_REPLY_SERIAL: u8 = 5;
const F_DESTINATION: u8 = 6;
const F_SIGNATURE: u8 = 8;

/// A method call, marshalled.
pub fn method_call(
    serial: u32,
    dest: &str,
    path: &str,
    iface: &str,
    member: &str,
    args: &[Arg<'_>],
) -> Vec<u8> {
    let mut body = Out::default();
    for a in args {
        body.arg(a);
    }
    let signature: String = args.iter().map(Arg::signature).collect();
    let mut m = Out::default();
    m.u8(if cfg!(target_endian = "little") {
        b'l'
    } else {
        b'B'
    });
    m.u8(METHOD_CALL);
    m.u8(0);
    m.u8(1);
    m.u32(body.0.len() as u32);
    m.u32(serial);
    m.array(8, |o| {
        let mut field = |code: u8, sig: &str, s: &str| {
            o.align(8);
            o.u8(code);
            o.sig(sig);
            if sig == "g" {
                o.sig(s);
            } else {
                o.str(s);
            }
        };
        field(F_PATH, "o", path);
        field(F_DESTINATION, "s", dest);
        field(F_INTERFACE, "s", iface);
        field(F_MEMBER, "s", member);
        if !signature.is_empty() {
            field(F_SIGNATURE, "g", &signature);
        }
    });
    m.align(8);
    // The body's own alignment starts at this 8-aligned offset, as marshalled.
    m.0.extend_from_slice(&body.0);
    m.0
}

/// What a reply says: its kind, the serial it answers, an error's name and first string.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub kind: u8,
    pub reply_serial: u32,
    pub error: Option<(String, String)>,
}

fn rd_u32(b: &[u8], at: usize) -> Result<u32, DbusError> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes(s.try_into().unwrap()))
        .ok_or(DbusError::Malformed("short read"))
}

fn rd_str(b: &[u8], at: usize) -> Result<(String, usize), DbusError> {
    let len = rd_u32(b, at)? as usize;
    let s = b
        .get(at + 4..at + 4 + len)
        .ok_or(DbusError::Malformed("string"))?;
    Ok((String::from_utf8_lossy(s).into_owned(), at + 4 + len + 1))
}

/// Reads one message from `r`.
fn read_message(r: &mut impl Read) -> Result<Reply, DbusError> {
    let io = |e| DbusError::Io {
        path: "reply".into(),
        source: e,
    };
    let mut fixed = [0u8; 16];
    r.read_exact(&mut fixed).map_err(io)?;
    // Only native-endian peers (systemd on the same host).
    let native = if cfg!(target_endian = "little") {
        b'l'
    } else {
        b'B'
    };
    if fixed[0] != native {
        return Err(DbusError::Malformed("byte order"));
    }
    let body_len = rd_u32(&fixed, 4)? as usize;
    let fields_len = rd_u32(&fixed, 12)? as usize;
    let header_len = (16 + fields_len).div_ceil(8) * 8;
    if header_len + body_len > 1 << 26 {
        return Err(DbusError::Malformed("length"));
    }
    let mut rest = vec![0u8; header_len - 16 + body_len];
    r.read_exact(&mut rest).map_err(io)?;
    let mut msg = fixed.to_vec();
    msg.extend_from_slice(&rest);
    let mut reply = Reply {
        kind: fixed[1],
        reply_serial: 0,
        error: None,
    };
    let mut at = 16;
    let mut error_name = None;
    let mut signature = String::new();
    while at < 16 + fields_len {
        at = at.div_ceil(8) * 8;
        let code = msg[at];
        let sig_len = msg[at + 1] as usize;
        let sig = String::from_utf8_lossy(&msg[at + 2..at + 2 + sig_len]).into_owned();
        at += 2 + sig_len + 1;
        match sig.as_str() {
            "u" => {
                at = at.div_ceil(4) * 4;
                if code == F_REPLY_SERIAL {
                    reply.reply_serial = rd_u32(&msg, at)?;
                }
                at += 4;
            }
            "s" | "o" => {
                at = at.div_ceil(4) * 4;
                let (s, next) = rd_str(&msg, at)?;
                if code == F_ERROR_NAME {
                    error_name = Some(s);
                }
                at = next;
            }
            "g" => {
                let len = msg[at] as usize;
                if code == F_SIGNATURE {
                    signature = String::from_utf8_lossy(&msg[at + 1..at + 1 + len]).into_owned();
                }
                at += 1 + len + 1;
            }
            _ => return Err(DbusError::Malformed("header field")),
        }
    }
    if let Some(name) = error_name {
        let message = if signature.starts_with('s') {
            rd_str(&msg, header_len)?.0
        } else {
            String::new()
        };
        reply.error = Some((name, message));
    }
    Ok(reply)
}

/// A connection to a D-Bus peer (the bus daemon or systemd's private socket).
pub struct Connection {
    stream: BufReader<UnixStream>,
    path: String,
    serial: u32,
}

impl Connection {
    /// Connects and authenticates with SASL EXTERNAL (our uid, which the peer checks with
    /// SO_PEERCRED). `hello`: the peer is a bus daemon, which wants Hello first.
    pub fn open(path: &Path, hello: bool) -> Result<Connection, DbusError> {
        let p = path.display().to_string();
        let io = |e| DbusError::Io {
            path: p.clone(),
            source: e,
        };
        let mut s = UnixStream::connect(path).map_err(io)?;
        // systemd answers in microseconds; a stuck manager must not hang create forever.
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(io)?;
        let uid = nix::unistd::geteuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        s.write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
            .map_err(io)?;
        let mut stream = BufReader::new(s);
        let mut line = String::new();
        stream.read_line(&mut line).map_err(io)?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Auth {
                path: p,
                reply: line.trim().to_owned(),
            });
        }
        stream.get_mut().write_all(b"BEGIN\r\n").map_err(io)?;
        let mut c = Connection {
            stream,
            path: p,
            serial: 0,
        };
        if hello {
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                &[],
            )?;
        }
        Ok(c)
    }

    /// Calls a method and waits for its reply, skipping signals and other messages.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        args: &[Arg<'_>],
    ) -> Result<(), DbusError> {
        self.serial += 1;
        let msg = method_call(self.serial, dest, path, iface, member, args);
        let p = self.path.clone();
        self.stream
            .get_mut()
            .write_all(&msg)
            .map_err(|e| DbusError::Io { path: p, source: e })?;
        loop {
            let r = read_message(&mut self.stream)?;
            if !matches!(r.kind, METHOD_RETURN | ERROR) || r.reply_serial != self.serial {
                continue;
            }
            return match r.error {
                Some((name, message)) => Err(DbusError::Call { name, message }),
                None => Ok(()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshals_a_call_as_the_specification_lays_it_out() {
        let props = [
            ("Delegate", Value::Bool(true)),
            ("PIDs", Value::U32s(vec![7])),
            ("MemoryMax", Value::U64(1 << 20)),
        ];
        let m = method_call(
            3,
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            &[
                Arg::Str("x.scope"),
                Arg::Str("fail"),
                Arg::Props(&props),
                Arg::NoAux,
            ],
        );
        assert_eq!(&m[..4], b"l\x01\x00\x01");
        let body_len = u32::from_ne_bytes(m[4..8].try_into().unwrap()) as usize;
        let fields_len = u32::from_ne_bytes(m[12..16].try_into().unwrap()) as usize;
        let header = (16 + fields_len).div_ceil(8) * 8;
        assert_eq!(m.len(), header + body_len);
        let body = &m[header..];
        // "x.scope", then "fail" at offset 12 (4 + 7 + 1).
        assert_eq!(&body[..12], b"\x07\0\0\0x.scope\0");
        assert_eq!(&body[12..21], b"\x04\0\0\0fail\0");
        // The property array: length at 24, first struct at 32 (8-aligned).
        let arr_len = u32::from_ne_bytes(body[24..28].try_into().unwrap()) as usize;
        assert_eq!(&body[32..36], &8u32.to_ne_bytes());
        assert_eq!(&body[36..45], b"Delegate\0");
        assert_eq!(&body[45..48], b"\x01b\0");
        assert_eq!(&body[48..52], &1u32.to_ne_bytes());
        // After the array: the empty a(sa(sv)), its length and its padding to 8.
        let aux = (32 + arr_len).div_ceil(4) * 4;
        assert_eq!(&body[aux..aux + 4], &0u32.to_ne_bytes());
        assert_eq!(body.len(), (aux + 4).div_ceil(8) * 8);
        assert!(m.windows(17).any(|w| w == b"ssa(sv)a(sa(sv))\0"));
    }

    #[test]
    fn reads_an_error_reply() {
        // An error answering serial 5: ERROR_NAME, REPLY_SERIAL, SIGNATURE "s", body "no".
        let mut h = Out::default();
        h.u8(b'l');
        h.u8(ERROR);
        h.u8(1);
        h.u8(1);
        h.u32(7);
        h.u32(9);
        h.array(8, |o| {
            o.align(8);
            o.u8(F_ERROR_NAME);
            o.sig("s");
            o.str("org.freedesktop.systemd1.NoSuchUnit");
            o.align(8);
            o.u8(F_REPLY_SERIAL);
            o.sig("u");
            o.u32(5);
            o.align(8);
            o.u8(F_SIGNATURE);
            o.sig("g");
            o.sig("s");
        });
        h.align(8);
        h.str("no");
        let r = read_message(&mut &h.0[..]).unwrap();
        assert_eq!(r.kind, ERROR);
        assert_eq!(r.reply_serial, 5);
        assert_eq!(
            r.error,
            Some(("org.freedesktop.systemd1.NoSuchUnit".into(), "no".into()))
        );
    }
}
