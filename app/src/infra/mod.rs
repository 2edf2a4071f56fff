//! Server-only plumbing every feature builds on: the database and its write
//! lock, the shared state, the audit log, tokens, files on disk, password
//! hashing, the sign-in throttle, the public address and time. It imports no feature.

pub mod audit;
pub mod db;
pub mod files;
pub mod password;
pub mod site;
pub mod sql;
pub mod state;
pub mod throttle;
pub mod time;
pub mod tokens;

pub use db::Db;
pub use state::AppState;

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
