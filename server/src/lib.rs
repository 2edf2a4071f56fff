//! The `server` binary's library: configuration, start-up and serving
//! (`serve`), the HTTP API (`http`), the Telegram bot, background jobs, the
//! one-shot commands and the demo-data generator.

// Leptos view types nest deeply; the client card needs more than the default.
#![recursion_limit = "256"]

pub mod bot;
pub mod cameras;
pub mod commands;
pub mod config;
pub mod demo;
pub mod error;
pub mod guard;
pub mod http;
pub mod jobs;
pub mod serve;
pub mod sessions;
pub mod shield;
pub mod tls;

use std::path::Path;

pub use config::{Cli, Command, Config};
pub use error::ServerError;
pub use serve::{Started, router, start};

/// Holds the data directory for one process at a time (released when the
/// process ends, also when it is killed): a second server, or a restore
/// while the server runs, is refused instead of corrupting the data.
pub fn lock_data_dir(dir: &Path) -> Result<std::fs::File, ServerError> {
    use std::os::fd::AsRawFd;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ServerError::DataDir(dir.to_path_buf(), e))?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        return Err(ServerError::Busy(dir.to_path_buf()));
    }
    Ok(file)
}

/// Makes sure the data directory exists and can be written.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ServerError> {
    let fail = |e| ServerError::DataDir(dir.to_path_buf(), e);
    // Photos, documents and the database: readable by this user only.
    app::infra::files::private_dir(dir).map_err(fail)?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}
