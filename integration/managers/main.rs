//! The real managers driving palisade: containerd (through `ctr` and through its CRI
//! plugin, as the kubelet does), podman with conmon, and Docker, each from Debian's
//! packages and started by the test itself on private sockets and directories, inside a
//! private mount namespace with its own `/run`.

#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod daemon;

mod containerd;
mod cri;
mod docker;
mod podman;
