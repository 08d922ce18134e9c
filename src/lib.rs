//! palisade: a hardened, minimal OCI container runtime with runc's command line.
//!
//! The path of one `create`: [`spec`] turns config.json into a validated [`spec::Plan`];
//! [`policy::decide`] applies the hardening profile (refusing before anything exists);
//! [`state`] reserves `<root>/<id>`; [`process::spawn`] clones the init, which walks the
//! ordered step table [`process::init::STEPS`] (each step in the [`isolate`] module of its
//! concern), reports ready and waits for `start`.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod dbus;
pub mod defaults;
pub mod document;
pub mod hooks;
pub mod isolate;
pub mod learn;
pub mod lifecycle;
pub mod logging;
pub mod policy;
pub mod process;
pub mod sanitize;
pub mod spec;
pub mod state;
pub mod sys;
