//! Why the SMS engine refused a request, as a type mapped onto refusal reasons: the
//! caller of `sms.*` can tell "no number" from "too long" from "the store failed".

use ucdesk_sdk::{Error, Reason};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Not set up, not connected, no gateway, no number.
    #[error("{0}")]
    NotReady(String),
    #[error("{0}")]
    NotFound(String),
    /// A number, text or file that cannot be sent as given (too long, too many files).
    #[error("{0}")]
    BadArgument(String),
    /// Understood, and refused (by the gateway).
    #[error("{0}")]
    Refused(String),
    /// Tried and failed: the store, a file, the disk.
    #[error("{0}")]
    Failed(String),
}

impl From<SmsError> for Error {
    fn from(e: SmsError) -> Error {
        let reason = match &e {
            SmsError::NotReady(_) => Reason::NotReady,
            SmsError::NotFound(_) => Reason::NotFound,
            SmsError::BadArgument(_) => Reason::BadRequest,
            SmsError::Refused(_) => Reason::Refused,
            SmsError::Failed(_) => Reason::Failed,
        };
        Error::with(reason, e.to_string())
    }
}

impl From<crate::store::StoreError> for SmsError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NoMessage(_) => SmsError::NotFound(e.to_string()),
            other => SmsError::Failed(other.to_string()),
        }
    }
}
