//! The one channel between the runtime and the container's init: a SOCK_SEQPACKET pair
//! carrying [`Msg`], one JSON message per packet, each request answered by a named reply.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    recv, send, setsockopt, socketpair, sockopt, AddressFamily, MsgFlags, SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// runtime → init: you are in your cgroup; go on with the steps. `state` is the OCI
    /// state (with the init's pid as the host sees it).
    Proceed { state: String },
    /// init → runtime: mounts are in place; run prestart and createRuntime hooks.
    RunCreateRuntimeHooks,
    /// runtime → init: those hooks passed; `state` is the OCI state for createContainer hooks.
    HooksDone { state: String },
    /// runtime → init: stop here (a hook failed); the init exits.
    Abort { reason: String },
    /// init → runtime: every step before `wait_start` is done; `landlock` is what the
    /// kernel enforced of the ruleset, when there is one.
    Ready { landlock: Option<String> },
    /// init → runtime: `step` failed.
    Failed { step: String, error: String },
}

pub struct Channel {
    fd: OwnedFd,
}

/// Room for one runtime message (see [`Channel::pair`]).
const SEND_BUFFER: usize = 4 << 20;

impl Channel {
    /// A connected pair: (runtime side, init side), both close-on-exec.
    pub fn pair() -> io::Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        // A SOCK_SEQPACKET packet goes whole or fails with EMSGSIZE once it exceeds the
        // sender's buffer (net.core.wmem_default, 208 KB here). The runtime's messages
        // carry the OCI state, whose annotations Kubernetes allows up to 256 KB: its side
        // gets room for SEND_BUFFER, past net.core.wmem_max where it may (CAP_NET_ADMIN,
        // socket(7)). Where neither is allowed, a larger message fails with a clear error.
        if setsockopt(&a, sockopt::SndBufForce, &SEND_BUFFER).is_err() {
            let _ = setsockopt(&a, sockopt::SndBuf, &SEND_BUFFER);
        }
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
        match send(self.fd.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => Ok(()),
            // ENOBUFS: a packet too large for the kernel to allocate in one piece.
            Err(nix::errno::Errno::EMSGSIZE | nix::errno::Errno::ENOBUFS) => {
                Err(io::Error::other(format!(
                    "a message of {} bytes is more than the channel to the init takes \
                 (the OCI state with its annotations, socket(7) SO_SNDBUF)",
                    bytes.len()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The next message, or None when the other side has closed. The packet's length is
    /// read first (MSG_PEEK with MSG_TRUNC gives a SOCK_SEQPACKET packet's real length,
    /// recv(2)), so a buffer of exactly that size takes it: an OCI state with large
    /// annotations fits, and a small message costs no large zeroed buffer.
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        self.recv_with(MsgFlags::empty())
    }

    /// A message already queued, without waiting for one: what a peer that has gone said
    /// last. Err(WouldBlock) when there is none.
    pub fn try_recv(&self) -> io::Result<Option<Msg>> {
        self.recv_with(MsgFlags::MSG_DONTWAIT)
    }

    fn recv_with(&self, wait: MsgFlags) -> io::Result<Option<Msg>> {
        let mut reset = false;
        let mut read = |buf: &mut [u8], flags: MsgFlags| loop {
            match recv(self.fd.as_raw_fd(), buf, flags) {
                Err(nix::errno::Errno::EINTR) => continue,
                // A peer that exits with our last message unread resets the connection; what
                // it sent before (its `Failed`) is still queued behind that error, which this
                // read consumed (net/unix/af_unix.c, unix_release_sock).
                Err(nix::errno::Errno::ECONNRESET) if !reset => reset = true,
                other => break other,
            }
        };
        let len = read(&mut [], wait | MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
        if len == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; len];
        let n = read(&mut buf, wait)?;
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(io::Error::other)
    }

    /// The next message, which must be one of the replies the caller expects.
    pub fn expect(&self, what: &str) -> io::Result<Msg> {
        self.recv()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("peer closed while waiting for {what}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_eof_is_none() {
        let (a, b) = Channel::pair().unwrap();
        let m = Msg::Failed {
            step: "rootfs".into(),
            error: "boom".into(),
        };
        a.send(&Msg::Proceed { state: "{}".into() }).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Proceed { state: "{}".into() }));
        a.send(&m).unwrap();
        a.send(&Msg::Ready { landlock: None }).unwrap();
        assert_eq!(b.recv().unwrap(), Some(m));
        assert_eq!(b.expect("ready").unwrap(), Msg::Ready { landlock: None });
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }

    /// An init that fails its first step says why and exits with our `Proceed` unread.
    #[test]
    fn a_failure_sent_before_a_reset_is_still_read() {
        let (init, runtime) = Channel::pair().unwrap();
        let failed = Msg::Failed {
            step: "cgroup".into(),
            error: "boom".into(),
        };
        init.send(&failed).unwrap();
        runtime.send(&Msg::Proceed { state: "{}".into() }).unwrap();
        drop(init);
        assert_eq!(runtime.recv().unwrap(), Some(failed));
        assert_eq!(runtime.recv().unwrap(), None);
    }

    /// An OCI state with large annotations is one large packet; it arrives whole.
    #[test]
    fn a_message_larger_than_64_kib_arrives_whole() {
        let (a, b) = Channel::pair().unwrap();
        let big = Msg::Proceed {
            state: "x".repeat(150_000),
        };
        a.send(&big).unwrap();
        assert_eq!(b.recv().unwrap(), Some(big));
    }

    /// try_recv returns what is queued and never waits for more.
    #[test]
    fn try_recv_does_not_wait() {
        let (a, b) = Channel::pair().unwrap();
        let e = b.try_recv().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        a.send(&Msg::Ready { landlock: None }).unwrap();
        assert_eq!(b.try_recv().unwrap(), Some(Msg::Ready { landlock: None }));
    }
}
