//! The registry's errors. Callers never match on sqlx errors: everything the database can say
//! arrives here as one of these variants, each with the exit code it maps to.

use std::fmt::Display;

use crate::exit::Exit;
use crate::model::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the registry at {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot update the registry schema: {0}")]
    Migrate(String),
    #[error("registry database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unknown user '{0}': add it with `wasess users add {0}`")]
    UnknownUser(String),
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("{0}")]
    InvalidInput(String),
    /// A rule (docs/architecture.md) refused the operation.
    #[error("{}", .0.message)]
    Refused(Box<Verdict>),
    /// The connect attempt no longer owns the user's lock (it expired and was taken, or the
    /// pairing was cancelled or cleaned up).
    #[error("the connect attempt for '{0}' no longer holds its lock")]
    LockLost(String),
    /// The row is not in a state the operation applies to.
    #[error("{0}")]
    WrongState(String),
    /// Another live daemon holds this node id.
    #[error("node id '{node}' is held by a live daemon (host {host}, pid {pid}): give this one another --node-id")]
    NodeTaken {
        node: String,
        host: String,
        pid: u32,
    },
    /// An import would overwrite users that exist here (`--merge` allows it).
    #[error("{count} of the imported users exist here already ({users}{more}): nothing imported; \
             add --merge to update them", more = if *.count > 5 { ", …" } else { "" })]
    ImportWouldOverwrite { count: usize, users: String },
    #[error("internal registry error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn open(location: impl Display, source: sqlx::Error) -> Error {
        Error::Open {
            location: location.to_string(),
            source,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Open { .. } | Error::Migrate(_) | Error::Database(_) | Error::Internal(_) => {
                Exit::Internal
            }
            Error::UnknownUser(_) => Exit::NotFound,
            Error::UserExists(_)
            | Error::LockLost(_)
            | Error::WrongState(_)
            | Error::NodeTaken { .. }
            | Error::ImportWouldOverwrite { .. } => Exit::Refused,
            Error::InvalidInput(_) => Exit::Usage,
            Error::Refused(verdict) => match verdict.reason_code {
                crate::model::ReasonCode::UnknownUser => Exit::NotFound,
                _ => Exit::Refused,
            },
        }
    }

    /// Whether the database refused a write because another writer got there first.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }
}
