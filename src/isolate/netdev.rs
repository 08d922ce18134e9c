//! `linux.netDevices` (runtime-spec 1.3 config-linux.md#network-devices): host network
//! devices moved into the container's network namespace by the runtime, before the init
//! goes on. For each device: its permanent, global addresses are read, the device is moved
//! under a random name of its own (RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME), found
//! there by that name, renamed (a name taken there is an error, a `%d` template is filled in
//! by the kernel), set up, and given its addresses again (the move flushes them). Nothing is moved back: when the namespace dies the kernel
//! returns physical devices to the initial namespace and destroys virtual ones, as the spec
//! says it must be left to do.
//!
//! rtnetlink(7) by hand: the four requests are small, and the crates for it are async
//! frameworks larger than this module.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{
    recvfrom, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

use crate::spec::NetDevice;

// include/uapi/linux/rtnetlink.h, netlink.h, if_link.h, if_addr.h.
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 0x1;
const HDR: usize = 16;
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;

/// An address as the kernel reported it, to be given again after the move.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    family: u8,
    prefixlen: u8,
    scope: u8,
    /// IFA_ADDRESS, IFA_LOCAL and IFA_BROADCAST as read.
    attrs: Vec<(u16, Vec<u8>)>,
}

/// Moves every device of `devices` into the namespace `netns` (the container's), with its
/// name there, state up and permanent global addresses. Errors name the device.
pub fn move_all(devices: &[NetDevice], netns: BorrowedFd<'_>) -> Result<(), String> {
    if devices.is_empty() {
        return Ok(());
    }
    let same = |a: BorrowedFd<'_>, b: &str| -> bool {
        let x = nix::sys::stat::fstat(a.as_raw_fd()).ok();
        let y = nix::sys::stat::stat(b).ok();
        matches!((x, y), (Some(x), Some(y)) if (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino))
    };
    if same(netns, "/proc/self/ns/net") {
        return Err(
            "linux.netDevices: the container's network namespace is the runtime's own".into(),
        );
    }
    let mut host = Netlink::open().map_err(|e| format!("linux.netDevices: netlink: {e}"))?;
    let mut inside = Netlink::open_in(netns)
        .map_err(|e| format!("linux.netDevices: netlink in the container's namespace: {e}"))?;
    for d in devices {
        move_one(&mut host, &mut inside, d, netns).map_err(|e| {
            format!(
                "linux.netDevices[{:?}] (as {:?} in the container): {e}",
                d.host, d.name
            )
        })?;
    }
    Ok(())
}

fn move_one(
    host: &mut Netlink,
    inside: &mut Netlink,
    d: &NetDevice,
    netns: BorrowedFd<'_>,
) -> Result<(), String> {
    let index = host
        .index_of(&d.host)
        .map_err(|e| format!("no such device in the runtime's network namespace ({e})"))?;
    let addrs = host
        .addresses(index)
        .map_err(|e| format!("read its addresses: {e}"))?;
    // Checked before the move: the kernel moves first and renames after (do_setlink), so a
    // taken name would fail only once the device had left the host.
    if !d.name.contains("%d") && inside.index_of(&d.name).is_ok() {
        return Err(format!(
            "a device named {:?} already exists in the container's network namespace (end the name in %d to let the kernel number it)",
            d.name
        ));
    }
    // Moved under a name of its own, unguessable and unused there, so that it is found
    // again by that name whatever index the namespace gives it; then renamed (a `%d`
    // template is numbered by the kernel).
    let moving = format!(
        "plsd{:011x}",
        crate::sys::random_u64().map_err(|e| e.to_string())? & 0xfff_ffff_ffff
    );
    let mut msg = ifinfomsg(index, 0, 0);
    attr(
        &mut msg,
        IFLA_NET_NS_FD,
        &(netns.as_raw_fd() as u32).to_ne_bytes(),
    );
    attr(&mut msg, IFLA_IFNAME, &cstr(&moving));
    host.ack(RTM_NEWLINK, 0, &msg)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => {
                format!("the kernel cannot move it ({e}; a device bound to its namespace?)")
            }
            _ => format!("move: {e}"),
        })?;
    let index = inside
        .index_of(&moving)
        .map_err(|e| format!("find it after the move: {e}"))?;
    let mut msg = ifinfomsg(index, 0, 0);
    attr(&mut msg, IFLA_IFNAME, &cstr(&d.name));
    inside.ack(RTM_NEWLINK, 0, &msg).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => format!(
            "a device named {:?} already exists in the container's network namespace (end the name in %d to let the kernel number it)",
            d.name
        ),
        _ => format!("rename it to {:?}: {e}", d.name),
    })?;
    let name = inside
        .link_name(index)
        .map_err(|e| format!("find it after the rename: {e}"))?;
    inside
        .ack(RTM_NEWLINK, 0, &ifinfomsg(index, IFF_UP, IFF_UP))
        .map_err(|e| format!("set {name} up: {e}"))?;
    for a in &addrs {
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(&[a.family, a.prefixlen, 0, a.scope]);
        msg.extend_from_slice(&index.to_ne_bytes());
        for (t, v) in &a.attrs {
            attr(&mut msg, *t, v);
        }
        inside
            .ack(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &msg)
            .map_err(|e| format!("give {name} its address back: {e}"))?;
    }
    Ok(())
}

/// struct ifinfomsg for `index`, with flags to set under `change`.
fn ifinfomsg(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut m = vec![0u8; IFINFOMSG];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&change.to_ne_bytes());
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Appends one rtattr, padded to 4 bytes.
fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

/// The rtattrs of `buf`, as (type, value).
fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = vec![];
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

/// Brings up the loopback device of the calling thread's network namespace, as runc (its
/// "loopback" network for a new namespace) and crun do: a workload and its health check,
/// or a database and its client, talk over 127.0.0.1.
pub fn loopback_up() -> io::Result<()> {
    let mut nl = Netlink::open()?;
    let lo = nl.index_of("lo")?;
    nl.ack(RTM_NEWLINK, 0, &ifinfomsg(lo, IFF_UP, IFF_UP))
}

struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    fn open() -> io::Result<Netlink> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        Ok(Netlink { fd, seq: 0 })
    }

    /// A socket of the namespace `netns`: a netlink socket belongs to the network namespace
    /// of the thread that made it, so a short-lived thread joins the namespace and makes it.
    fn open_in(netns: BorrowedFd<'_>) -> io::Result<Netlink> {
        let ns = netns.try_clone_to_owned()?;
        std::thread::spawn(move || {
            crate::sys::setns(ns.as_fd(), libc::CLONE_NEWNET)?;
            Netlink::open()
        })
        .join()
        .map_err(|_| io::Error::other("the thread that joins the namespace panicked"))?
    }

    /// Sends one request and collects the payloads of its replies, up to the ack (or the
    /// end of a dump).
    fn request(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<Vec<(u16, Vec<u8>)>> {
        self.seq += 1;
        let len = HDR + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        send(self.fd.as_raw_fd(), &msg, MsgFlags::empty())?;
        let mut out = vec![];
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let (n, from) = recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), &mut buf)?;
            // Only the kernel (port 0) answers: a process of the namespace that may send
            // netlink messages must not pass for it.
            if from.is_none_or(|a| a.pid() != 0) {
                continue;
            }
            let mut rest = &buf[..n];
            while rest.len() >= HDR {
                let mlen = u32::from_ne_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
                let mtype = u16::from_ne_bytes([rest[4], rest[5]]);
                let seq = u32::from_ne_bytes(rest[8..12].try_into().expect("4 bytes"));
                if mlen < HDR || mlen > rest.len() {
                    return Err(io::Error::other("malformed netlink reply"));
                }
                let payload = &rest[HDR..mlen];
                rest = &rest[((mlen + 3) & !3).min(rest.len())..];
                if seq != self.seq {
                    continue;
                }
                match mtype {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = i32::from_ne_bytes(
                            payload
                                .get(0..4)
                                .ok_or_else(|| io::Error::other("short netlink error"))?
                                .try_into()
                                .expect("4 bytes"),
                        );
                        return if code == 0 {
                            Ok(out)
                        } else {
                            Err(io::Error::from_raw_os_error(-code))
                        };
                    }
                    t => {
                        out.push((t, payload.to_vec()));
                        if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }

    fn ack(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
        self.request(kind, flags | NLM_F_ACK, body).map(drop)
    }

    /// The permanent addresses of global scope of device `index` (runtime-spec: these are
    /// the ones the runtime MUST preserve).
    fn addresses(&mut self, index: u32) -> io::Result<Vec<Addr>> {
        let mut body = vec![0u8; IFADDRMSG];
        body[0] = libc::AF_UNSPEC as u8;
        let mut out = vec![];
        for (_, m) in self.request(RTM_GETADDR, NLM_F_DUMP, &body)? {
            if m.len() < IFADDRMSG
                || u32::from_ne_bytes(m[4..8].try_into().expect("4 bytes")) != index
            {
                continue;
            }
            let a = attrs(&m[IFADDRMSG..]);
            let flags = a
                .iter()
                .find(|(t, _)| *t == IFA_FLAGS)
                .and_then(|(_, v)| v.get(0..4))
                .map_or(m[2] as u32, |v| {
                    u32::from_ne_bytes(v.try_into().expect("4 bytes"))
                });
            if flags & IFA_F_PERMANENT == 0 || m[3] != RT_SCOPE_UNIVERSE {
                continue;
            }
            out.push(Addr {
                family: m[0],
                prefixlen: m[1],
                scope: m[3],
                attrs: a
                    .into_iter()
                    .filter(|(t, _)| matches!(*t, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST))
                    .map(|(t, v)| (t, v.to_vec()))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// RTM_GETLINK by index; the device's name.
    fn link_name(&mut self, index: u32) -> io::Result<String> {
        let replies = self.request(RTM_GETLINK, 0, &ifinfomsg(index, 0, 0))?;
        replies
            .iter()
            .filter(|(t, m)| *t == RTM_NEWLINK && m.len() >= IFINFOMSG)
            .flat_map(|(_, m)| {
                attrs(&m[IFINFOMSG..])
                    .into_iter()
                    .map(|(t, v)| (t, v.to_vec()))
                    .collect::<Vec<_>>()
            })
            .find(|(t, _)| *t == IFLA_IFNAME)
            .map(|(_, v)| {
                String::from_utf8_lossy(v.split(|b| *b == 0).next().unwrap_or(&[])).into_owned()
            })
            .ok_or_else(|| io::Error::other(format!("no device of index {index}")))
    }

    /// RTM_GETLINK by name; the device's index.
    fn index_of(&mut self, name: &str) -> io::Result<u32> {
        let mut body = ifinfomsg(0, 0, 0);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        let replies = self.request(RTM_GETLINK, 0, &body)?;
        replies
            .iter()
            .find(|(t, m)| *t == RTM_NEWLINK && m.len() >= IFINFOMSG)
            .map(|(_, m)| i32::from_ne_bytes(m[4..8].try_into().expect("4 bytes")) as u32)
            .ok_or_else(|| io::Error::other(format!("no device named {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_read_back() {
        let mut b = vec![];
        attr(&mut b, IFLA_IFNAME, &cstr("eth9"));
        attr(&mut b, IFLA_NET_NS_FD, &7u32.to_ne_bytes());
        assert_eq!(b.len(), 12 + 8);
        let a = attrs(&b);
        assert_eq!(a[0], (IFLA_IFNAME, &b"eth9\0"[..]));
        assert_eq!(a[1], (IFLA_NET_NS_FD, &7u32.to_ne_bytes()[..]));
    }

    /// The loopback device of this namespace, read through the same requests.
    #[test]
    fn links_are_found_by_name_and_index() {
        let mut nl = Netlink::open().unwrap();
        let lo = nl.index_of("lo").unwrap();
        assert_eq!(nl.link_name(lo).unwrap(), "lo");
        assert!(nl.index_of("no-such-dev0").is_err());
        // lo's 127.0.0.1 is of host scope: not one of the addresses a move preserves.
        assert!(nl.addresses(lo).unwrap().is_empty());
    }
}
