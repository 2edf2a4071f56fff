//! Vision program of Avtosalon Analitika: cameras at the showroom doors recognise returning
//! clients, say "unknown" for strangers, and report enter/exit events to the server.
//!
//! It never touches the database: everything goes through the server's `/api/vision` contract.

pub mod accuracy;
pub mod api;
pub mod bench;
pub mod camera;
pub mod config;
pub mod detect;
pub mod embed;
pub mod error;
pub mod gallery;
pub mod kiosk;
pub mod pipeline;
pub mod queue;
pub mod run;
pub mod strangers;
pub mod track;

pub use error::{Error, Result};

use std::path::PathBuf;

/// Where the models live: `$VISION_MODELS`, else the cache `vision.mk` fills.
pub fn models_dir() -> PathBuf {
    env_dir("VISION_MODELS", "models")
}

/// Where the test media live: `$VISION_MEDIA`, else the cache `vision.mk` fills.
pub fn media_dir() -> PathBuf {
    env_dir("VISION_MEDIA", "media")
}

fn env_dir(var: &str, leaf: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/avtosalon/vision").join(leaf)
        }
    }
}

/// Milliseconds since the Unix epoch (the server's `occurred_at` unit).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
