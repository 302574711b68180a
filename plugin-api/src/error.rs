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
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}
