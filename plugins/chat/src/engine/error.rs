//! Why the chat engine refused a request, as a type: the caller of `chat.*` can tell
//! "not connected" from "no such conversation" from "bad address" from "the server refused"
//! (each maps onto a refusal `Reason` the caller reads from `CallError::reason`).

use ucdesk_sdk::{Error, Reason};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// No account, or not connected (yet, or any more): it needs the server.
    #[error("{0}")]
    NotReady(String),
    /// The request names a conversation or message that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An address, name or value that cannot be used as given.
    #[error("{0}")]
    BadArgument(String),
    /// Understood, and not possible now or refused by the server.
    #[error("{0}")]
    Refused(String),
    /// Tried and failed: the network, the store, a file.
    #[error("{0}")]
    Failed(String),
}

impl From<ChatError> for Error {
    fn from(e: ChatError) -> Error {
        let reason = match &e {
            ChatError::NotReady(_) => Reason::NotReady,
            ChatError::NotFound(_) => Reason::NotFound,
            ChatError::BadArgument(_) => Reason::BadRequest,
            ChatError::Refused(_) => Reason::Refused,
            ChatError::Failed(_) => Reason::Failed,
        };
        Error::with(reason, e.to_string())
    }
}

/// What the lower layers (stanzas, the store, uploads) report in words is a refusal
/// unless a site says better.
impl From<String> for ChatError {
    fn from(message: String) -> Self {
        ChatError::Refused(message)
    }
}

impl From<&str> for ChatError {
    fn from(message: &str) -> Self {
        ChatError::Refused(message.to_string())
    }
}
