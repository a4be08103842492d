//! The daemon's errors, and how each reaches a client: a JSON-RPC error whose
//! `data.exit_code` is the CLI's exit code (README, "Exit codes").

use crate::exit::Exit;
use crate::protocol::RpcError;
use crate::{backend, registry};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Registry(#[from] registry::Error),
    #[error(transparent)]
    Backend(#[from] backend::Error),
    #[error("{0}")]
    InvalidParams(String),
    #[error("unknown method '{0}'")]
    UnknownMethod(String),
    #[error("{0}")]
    NotFound(String),
    /// Refused by a rule; the reason code names the rule.
    #[error("{message}")]
    Refused {
        message: String,
        reason_code: Option<String>,
    },
    #[error("{0}")]
    TimedOut(String),
    /// Logged out here, but WhatsApp did not confirm the device's removal.
    #[error("{0}")]
    NotUnlinked(String),
    #[error("{0}")]
    Cancelled(String),
    /// Another daemon holds the data dir (or serves the socket).
    #[error("{0}")]
    AlreadyRunning(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Io(String),
}

impl From<crate::datadir::Error> for Error {
    fn from(error: crate::datadir::Error) -> Error {
        match error {
            crate::datadir::Error::AlreadyRunning(message) => Error::AlreadyRunning(message),
            crate::datadir::Error::Io(message) => Error::Io(message),
        }
    }
}

impl Error {
    pub fn refused(message: impl Into<String>) -> Error {
        Error::Refused {
            message: message.into(),
            reason_code: None,
        }
    }

    pub fn io(context: impl std::fmt::Display, error: std::io::Error) -> Error {
        Error::Io(format!("{context}: {error}"))
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Registry(error) => error.exit(),
            Error::Backend(error) => error.exit(),
            Error::InvalidParams(_) | Error::UnknownMethod(_) | Error::Config(_) => Exit::Usage,
            Error::NotFound(_) => Exit::NotFound,
            Error::Refused { .. } | Error::AlreadyRunning(_) => Exit::Refused,
            Error::TimedOut(_) => Exit::TimedOut,
            Error::NotUnlinked(_) => Exit::Backend,
            Error::Cancelled(_) => Exit::Cancelled,
            Error::Io(_) => Exit::Internal,
        }
    }

    /// The code of the rule that refused, when a rule did.
    pub fn reason_code(&self) -> Option<String> {
        match self {
            Error::Registry(registry::Error::Refused(verdict)) => {
                Some(verdict.reason_code.as_str().to_string())
            }
            Error::Refused { reason_code, .. } => reason_code.clone(),
            _ => None,
        }
    }

    pub fn to_rpc(&self) -> RpcError {
        let reason = self.reason_code();
        let error = match self {
            Error::InvalidParams(message) => RpcError::new(
                crate::protocol::code::INVALID_PARAMS,
                Exit::Usage,
                message.clone(),
            ),
            Error::UnknownMethod(_) => RpcError::new(
                crate::protocol::code::METHOD_NOT_FOUND,
                Exit::Usage,
                self.to_string(),
            ),
            other => RpcError::application(other.exit(), one_line(&other.to_string())),
        };
        match reason {
            Some(reason) => error.with_reason(&reason),
            None => error,
        }
    }
}

/// Messages travel as one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
