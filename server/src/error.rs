//! The server crate's one error type: everything that can stop start-up or a
//! command, each with a message that says what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the data directory {0:?} cannot be created or written: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error(transparent)]
    Database(#[from] app::infra::db::OpenError),
    #[error("cannot create the admin account: {0}")]
    Admin(app::error::AppError),
    #[error("cannot listen on {0}: {1}")]
    Bind(std::net::SocketAddr, std::io::Error),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("{0}")]
    Demo(String),
    #[error("bad configuration: {0}")]
    Config(String),
    #[error("a server is running on the data directory {0:?}: stop it first")]
    Busy(PathBuf),
    #[error(
        "another server is already serving this PostgreSQL database; one server per database \
         for now (a second would answer from stale caches): stop the other one first"
    )]
    DatabaseBusy,
    #[error("backup: {0}")]
    Backup(String),
    #[error("copy: {0}")]
    Copy(#[from] app::privacy::ssr::copy::CopyError),
    #[error("cannot rebuild the client search index: {0}")]
    SearchIndex(app::error::AppError),
}
