//! Errors of the kernel's library edges, one enum per failing area.

use std::path::PathBuf;

/// Error returned by settings operations.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("setting keys look like 'plugin_id.name', got {0:?}")]
    BadKey(String),
    #[error("no plugin declares setting {0}")]
    Unknown(String),
    #[error("no plugin '{0}' is installed")]
    UnknownPlugin(String),
    #[error("{key} {reason}")]
    Invalid { key: String, reason: String },
    #[error("{0} is locked by the administrator")]
    Locked(String),
    #[error("{0} is a secret: set it with `ucdesk secret set {0}`")]
    IsSecret(String),
    #[error("settings file {path} is corrupt ({reason}); fix or move it, ucdesk will not overwrite it")]
    Corrupt { path: PathBuf, reason: String },
    #[error("settings file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Error returned by the secret store. Never contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret store {0} cannot be decrypted (corrupt, or its key changed)")]
    Corrupt(PathBuf),
    #[error("secret key file {0} is invalid")]
    BadKey(PathBuf),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} is not declared as a secret by any installed plugin")]
    NotASecret(String),
    #[error("keyring: {0}")]
    Keyring(String),
}

/// Error returned by [`crate::Kernel::new`].
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}
