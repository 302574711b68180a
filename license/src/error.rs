//! Why a license, key or signature is refused. Messages never contain key material.

use crate::Date;

/// A refused license.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    #[error("license file is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    /// Not valid JSON, a missing or unknown field, an unknown edition, a duplicate key,
    /// a bad date: with the place and serde's words.
    #[error("malformed license (line {line}, column {column}): {reason}")]
    Malformed { line: usize, column: usize, reason: String },
    #[error("unknown license format {0:?}")]
    UnknownFormat(String),
    #[error("license is signed by an unknown key {0}")]
    UnknownKey(String),
    #[error("license signature does not match its content (bad signature)")]
    BadSignature,
    #[error("license expired on {0}")]
    Expired(Date),
    #[error("license is not valid before {0}")]
    NotYetValid(Date),
    #[error("license is bound to server domain {expected:?}, but this client uses {actual:?}")]
    WrongBinding { expected: String, actual: String },
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}: not a 32-byte hex key")]
    Format(String),
    #[error("no randomness available: {0}")]
    Random(String),
}

/// A refused plugin signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature file is malformed: {0}")]
    Malformed(String),
    #[error("signed by an untrusted key {0}")]
    UnknownKey(String),
    #[error("the file does not match its signature (modified after signing?)")]
    Mismatch,
}
