//! The CLI's errors: each is one line on stderr and one exit code.

use crate::exit::Exit;
use crate::protocol::RpcError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach wasessd at {socket}: {cause} (is the daemon running? start it with `wasessd`)")]
    Unreachable { socket: String, cause: String },
    #[error("the daemon closed the connection without answering")]
    ConnectionLost,
    /// The daemon answered with an error.
    #[error("{}", .0.message)]
    Rpc(RpcError),
    #[error("{0}")]
    Usage(String),
    /// Refused on this side (offline mode while a daemon runs, a reset not confirmed).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    #[error("{0}")]
    TimedOut(String),
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Unreachable { .. } | Error::ConnectionLost => Exit::Unreachable,
            Error::Rpc(error) => error.data.exit_code,
            Error::Usage(_) => Exit::Usage,
            Error::Refused(_) => Exit::Refused,
            Error::Io(_) => Exit::Internal,
            Error::Registry(error) => error.exit(),
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled => Exit::Cancelled,
        }
    }

    pub fn reason_code(&self) -> Option<&str> {
        match self {
            Error::Rpc(error) => error.data.reason_code.as_deref(),
            Error::Registry(crate::registry::Error::Refused(verdict)) => {
                Some(verdict.reason_code.as_str())
            }
            _ => None,
        }
    }

    pub fn io(context: impl std::fmt::Display, error: std::io::Error) -> Error {
        Error::Io(format!("{context}: {error}"))
    }
}
