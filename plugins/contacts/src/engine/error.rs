//! Why the directory refused a request, mapped onto refusal reasons: a caller can tell
//! "no such contact" from "that row is not valid" from "the store failed".

use ucdesk_sdk::{Error, Reason};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    NotFound(String),
    /// A contact or file that cannot be taken as given.
    #[error("{0}")]
    BadArgument(String),
    /// Understood and refused (the address book changed meanwhile, not allowed).
    #[error("{0}")]
    Refused(String),
    /// Tried and failed: the store, a file, a server.
    #[error("{0}")]
    Failed(String),
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Error {
        let reason = match &e {
            EngineError::NotFound(_) => Reason::NotFound,
            EngineError::BadArgument(_) => Reason::BadRequest,
            EngineError::Refused(_) => Reason::Refused,
            EngineError::Failed(_) => Reason::Failed,
        };
        Error::with(reason, e.to_string())
    }
}

impl From<crate::store::StoreError> for EngineError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NoEntry(_) => EngineError::NotFound(e.to_string()),
            other => EngineError::Failed(other.to_string()),
        }
    }
}

impl From<crate::csv_book::CsvError> for EngineError {
    fn from(e: crate::csv_book::CsvError) -> Self {
        match e {
            crate::csv_book::CsvError::NoHeader { .. } | crate::csv_book::CsvError::NoName { .. } => {
                EngineError::BadArgument(e.to_string())
            }
            other => EngineError::Failed(other.to_string()),
        }
    }
}

impl From<crate::carddav::DavError> for EngineError {
    fn from(e: crate::carddav::DavError) -> Self {
        match e {
            crate::carddav::DavError::Conflict { .. } => EngineError::Refused(e.to_string()),
            other => EngineError::Failed(other.to_string()),
        }
    }
}
