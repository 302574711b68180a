//! The activation pipeline's decision points for policy and licensing.
//!
//! The kernel asks a [`Gate`] twice per plugin: before its library is loaded (only the
//! file is known: allow-lists, pinned hashes, signatures) and after its manifest was
//! read (license features, version rules). The default lets everything through.

use crate::discovery::Candidate;
use ucdesk_plugin_api::Manifest;

/// A gate's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Allowed, but load this private copy of the bytes that were checked instead of the
    /// discovered file (which its owner could replace between check and load).
    LoadFrom(std::path::PathBuf),
    /// Policy says no: the plugin becomes `refused` with this reason.
    Refuse(String),
    /// The license says no: the plugin becomes `locked` with this reason.
    Lock(String),
}

/// Policy and licensing hooks of the activation pipeline.
pub trait Gate: Send + Sync {
    /// Before any code of the library runs.
    fn before_load(&self, candidate: &Candidate) -> Verdict {
        let _ = candidate;
        Verdict::Allow
    }

    /// After the manifest was read, before dependency resolution.
    fn after_manifest(&self, manifest: &Manifest, candidate: &Candidate) -> Verdict {
        let _ = (manifest, candidate);
        Verdict::Allow
    }
}

/// Lets every plugin through.
pub struct AllowAll;

impl Gate for AllowAll {}
