//! Why the phone engine refused a request, as a type: the caller of `phone.*` can tell
//! "not registered" from "no such call" from "bad number" from "the far end refused"
//! (each maps onto a refusal `Reason` the caller reads from `CallError::reason`).

use ucdesk_sdk::{Error, Reason};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// No account, or not registered (yet, or any more).
    #[error("{0}")]
    NotReady(String),
    /// The request names a call that does not exist (or ended).
    #[error("no call {0}")]
    NoCall(String),
    /// The number, target or digits cannot be used as given.
    #[error("{0}")]
    BadArgument(String),
    /// Understood, and not possible in the call's state or refused by the far end.
    #[error("{0}")]
    Refused(String),
    /// Tried and failed: the network, the store, a device.
    #[error("{0}")]
    Failed(String),
}

impl From<PhoneError> for Error {
    fn from(e: PhoneError) -> Error {
        let reason = match &e {
            PhoneError::NotReady(_) => Reason::NotReady,
            PhoneError::NoCall(_) => Reason::NotFound,
            PhoneError::BadArgument(_) => Reason::BadRequest,
            PhoneError::Refused(_) => Reason::Refused,
            PhoneError::Failed(_) => Reason::Failed,
        };
        Error::with(reason, e.to_string())
    }
}

/// What the lower layers (SDP, media, transactions) report in words is a refusal
/// unless a site says better.
impl From<String> for PhoneError {
    fn from(message: String) -> Self {
        PhoneError::Refused(message)
    }
}

impl From<&str> for PhoneError {
    fn from(message: &str) -> Self {
        PhoneError::Refused(message.to_string())
    }
}
