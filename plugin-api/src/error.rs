//! The small, fixed error types that cross the ABI.

use abi_stable::{StableAbi, std_types::RString};
use std::fmt;

/// Why an entry point of a plugin did not succeed.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The plugin refused the request on purpose (bad input, unknown service, ...). The
    /// plugin stays healthy.
    Error,
    /// The plugin panicked; the sdk glue caught it. The kernel marks the plugin failed.
    Panic,
}

/// An error returned by a plugin entry point.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub message: RString,
}

impl Fault {
    pub fn error(message: impl Into<String>) -> Self {
        Fault { kind: FaultKind::Error, message: RString::from(message.into()) }
    }

    pub fn panic(message: impl Into<String>) -> Self {
        Fault { kind: FaultKind::Panic, message: RString::from(message.into()) }
    }

    pub fn is_panic(&self) -> bool {
        self.kind == FaultKind::Panic
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::Error => write!(f, "{}", self.message),
            FaultKind::Panic => write!(f, "panicked: {}", self.message),
        }
    }
}

impl std::error::Error for Fault {}

/// Why a service call made through [`crate::Host::call`] got no answer.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallErrorKind {
    /// No active plugin provides the service.
    UnknownService,
    /// The provider did not answer within the timeout.
    Timeout,
    /// The provider is failed, disabled or stopping.
    Unavailable,
    /// The provider answered with an error of its own (its request was refused).
    Refused,
    /// The provider panicked while handling the call; it is now failed.
    Panicked,
    /// The provider's mailbox is full; try again later.
    Busy,
}

/// The error side of a service call.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub kind: CallErrorKind,
    pub message: RString,
}

impl CallError {
    pub fn new(kind: CallErrorKind, message: impl Into<String>) -> Self {
        CallError { kind, message: RString::from(message.into()) }
    }

    /// A refusal with its [`Reason`] (what the sdk's typed errors become on the wire).
    pub fn refused(reason: Reason, message: impl AsRef<str>) -> Self {
        CallError::new(CallErrorKind::Refused, reason.tag(message.as_ref()))
    }

    /// Why the provider refused, for [`CallErrorKind::Refused`]: the tag its sdk put at
    /// the head of the message, or [`Reason::Refused`] when it put none (an older
    /// plugin). `None` for the other kinds.
    pub fn reason(&self) -> Option<Reason> {
        (self.kind == CallErrorKind::Refused).then(|| Reason::split(&self.message).0)
    }

    /// The message without its reason tag: what a person reads.
    pub fn text(&self) -> &str {
        Reason::split(&self.message).1
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Why a provider refused a call: finer than [`CallErrorKind::Refused`], so a caller
/// can tell "not registered" from "refused" from "bad argument".
///
/// It travels as a tag at the head of the refusal's message (`[bad_request] field
/// 'callid': missing`), not as new [`CallErrorKind`] variants: abi_stable checks an
/// enum's variants exactly, so a new variant would make every 1.x plugin built before
/// it fail the layout check. Untagged messages (older plugins) read as `Refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The request does not decode or a field is missing or out of range.
    BadRequest,
    /// The provider cannot do it yet: not registered, not connected, not set up.
    NotReady,
    /// What the request names does not exist (no such call, conversation, message).
    NotFound,
    /// The provider understood and said no (policy, state, the far end refused).
    Refused,
    /// The provider tried and failed (I/O, the server, a timeout inside it).
    Failed,
}

impl Reason {
    pub const ALL: [Reason; 5] =
        [Reason::BadRequest, Reason::NotReady, Reason::NotFound, Reason::Refused, Reason::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "bad_request",
            Reason::NotReady => "not_ready",
            Reason::NotFound => "not_found",
            Reason::Refused => "refused",
            Reason::Failed => "failed",
        }
    }

    /// `message` with this reason's tag in front.
    pub fn tag(self, message: &str) -> String {
        format!("[{}] {message}", self.as_str())
    }

    /// The reason tagged at the head of `message` (`Refused` when none) and the rest.
    pub fn split(message: &str) -> (Reason, &str) {
        let tagged = message.strip_prefix('[').and_then(|rest| rest.split_once("] "));
        if let Some((tag, text)) = tagged
            && let Some(reason) = Reason::ALL.into_iter().find(|r| r.as_str() == tag)
        {
            return (reason, text);
        }
        (Reason::Refused, message)
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_travel_in_the_message() {
        let e = CallError::refused(Reason::NotReady, "not registered");
        assert_eq!(e.kind, CallErrorKind::Refused);
        assert_eq!(e.reason(), Some(Reason::NotReady));
        assert_eq!(e.to_string(), "not registered");
        // An older plugin's untagged refusal, and text that only looks like a tag.
        let old = CallError::new(CallErrorKind::Refused, "[x] nope");
        assert_eq!((old.reason(), old.text()), (Some(Reason::Refused), "[x] nope"));
        assert_eq!(CallError::new(CallErrorKind::Timeout, "late").reason(), None);
    }
}
