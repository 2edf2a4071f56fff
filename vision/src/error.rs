use std::path::PathBuf;

/// The one error type of the crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("model {}: {message}", path.display())]
    Model { path: PathBuf, message: String },
    #[error("image {}: {message}", path.display())]
    Image { path: PathBuf, message: String },
    #[error("video source {source_name}: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    /// The server could not be reached or answered 5xx: worth retrying later.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server answered, but refused or sent something we cannot use: retrying will not help.
    #[error("server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("queue {}: {message}", path.display())]
    Queue { path: PathBuf, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether trying again later may succeed (network down, server restarting, token not yet
    /// accepted) as opposed to a request the server will never take.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable(_) => true,
            Error::Server { status, .. } => {
                *status == 401
                    || *status == 403
                    || *status == 408
                    || *status == 429
                    || *status >= 500
            }
            _ => false,
        }
    }
}
