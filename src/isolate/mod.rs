//! One module per isolation concern; each exposes the small functions that the init's step
//! table (process::init::STEPS) calls in order.

pub mod affinity;
pub mod caps;
pub mod cgroups;
pub mod console;
pub mod copyup;
pub mod devfilter;
pub mod devices;
pub mod fds;
pub mod host;
pub mod identity;
pub mod landlock;
pub mod limits;
pub mod mempolicy;
pub mod mounts;
pub mod namespaces;
pub mod netdev;
pub mod nnp;
pub mod resolve;
pub mod resources;
pub mod rootfs;
pub mod scheduling;
pub mod seccomp;
pub mod seccomp_cache;
pub mod seccomp_enosys;
pub mod stats;
pub mod systemd;
pub mod userns;
