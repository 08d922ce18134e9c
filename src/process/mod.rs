//! The container's process: spawned by the runtime (spawn), set up by the init (init), the
//! two talking over one typed channel (sync).

pub mod init;
pub mod pidfd;
pub mod spawn;
pub mod supervise;
pub mod sync;
