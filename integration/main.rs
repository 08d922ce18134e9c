//! Integration tests: the real `palisade` binary, as root, on real bundles, with probes run
//! inside the container to check that each setting took effect.

mod support;

mod cgroups;
mod cli;
mod defences;
mod exec;
mod exposure;
mod failures;
mod hygiene;
mod keyrings;
mod landlock;
mod learn;
mod lifecycle;
mod manage;
mod namespaces;
mod policy;
mod process;
mod rootfs;
mod seccomp;
mod spec13;
mod systemd;
mod terminal;
mod userns;
