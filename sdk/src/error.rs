//! The error a plugin returns from its entry points, with the [`Reason`] a caller of
//! its services sees.

use std::fmt;
use ucdesk_plugin_api::{CallError, CallErrorKind, Reason};

/// An error from plugin code: refused input, a failed call, an I/O problem. The
/// kernel reports it to the caller; unlike a panic it does not fail the plugin
/// (except from [`crate::Plugin::new`] and [`crate::Plugin::start`]).
///
/// From a service handler its [`Reason`] reaches the caller
/// ([`CallError::reason`]), so an engine's own error enum maps each variant onto one
/// (`impl From<EngineError> for Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    reason: Reason,
    message: String,
}

impl Error {
    /// A plain refusal ([`Reason::Refused`]).
    pub fn new(message: impl Into<String>) -> Self {
        Error::with(Reason::Refused, message)
    }

    pub fn with(reason: Reason, message: impl Into<String>) -> Self {
        Error { reason, message: message.into() }
    }

    /// The request does not decode, or a field is missing or out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::with(Reason::BadRequest, message)
    }

    /// Not possible yet: not registered, not connected, not set up.
    pub fn not_ready(message: impl Into<String>) -> Self {
        Error::with(Reason::NotReady, message)
    }

    /// What the request names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::with(Reason::NotFound, message)
    }

    /// Tried and failed (I/O, the server).
    pub fn failed(message: impl Into<String>) -> Self {
        Error::with(Reason::Failed, message)
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The message with its reason tag, as a service refusal travels.
    pub(crate) fn tagged(&self) -> String {
        self.reason.tag(&self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::bad_request(format!("invalid JSON: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::failed(e.to_string())
    }
}

/// A failed call to another plugin keeps the provider's reason; a timeout or an
/// unavailable provider is "not ready" here.
impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        let reason = match e.kind {
            CallErrorKind::Refused => e.reason().unwrap_or(Reason::Refused),
            CallErrorKind::UnknownService | CallErrorKind::Unavailable | CallErrorKind::Busy => {
                Reason::NotReady
            }
            CallErrorKind::Timeout | CallErrorKind::Panicked => Reason::Failed,
        };
        Error::with(reason, e.text())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::new(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::new(message)
    }
}
