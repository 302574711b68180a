//! The installed license as the kernel sees it, and the gate that locks plugins whose
//! feature it does not grant.
//!
//! The license lives in `<config>/license.json`. It is verified against the vendor key
//! this build trusts (plus keys the deployment policy adds) before any plugin is
//! instantiated. A plugin that names a feature is `locked` unless a valid license
//! grants it; plugins without a feature are never locked.

use crate::{
    discovery::Candidate,
    gate::{Gate, Verdict},
};
use serde::Serialize;
use std::path::Path;
use ucdesk_license::{Date, LicenseDocument, LicenseError, TrustedKeys, features_of};
use ucdesk_plugin_api::Manifest;

/// Days before expiry from which the license warns (admin policy may change it).
pub const DEFAULT_WARN_DAYS: i64 = 14;

/// The state of the installed license.
#[derive(Debug, Clone, PartialEq)]
pub enum LicenseStatus {
    /// No license file.
    Missing,
    /// A file that cannot be trusted or read: the reason.
    Refused(String),
    /// Signed correctly but not valid now (expired, not yet valid, wrong binding).
    Invalid { document: LicenseDocument, reason: LicenseError },
    /// Valid; `warning` when it expires soon.
    Valid { document: LicenseDocument, warning: Option<String> },
}

/// `ucdesk license show --json` and the `kernel.license` service answer this.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseReport {
    /// `valid`, `missing`, `refused`, `expired`, `not_yet_valid`, `wrong_binding`.
    pub state: &'static str,
    pub reason: Option<String>,
    pub warning: Option<String>,
    pub license_id: Option<String>,
    pub licensee: Option<String>,
    pub edition: Option<String>,
    pub features: Vec<String>,
    pub limits: serde_json::Map<String, serde_json::Value>,
    pub issued: Option<String>,
    pub expires: Option<String>,
    pub server_domain: Option<String>,
    /// This build trusts the repository's development vendor key (a development
    /// build: anyone with the repository can sign licenses it accepts).
    pub development_key: bool,
}

impl LicenseStatus {
    /// Reads and checks the license at `path` as of `today`.
    pub fn load(
        path: &Path,
        trusted: &TrustedKeys,
        today: Date,
        server_domain: Option<&str>,
        warn_days: i64,
    ) -> Self {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return LicenseStatus::Missing,
            Err(e) => return LicenseStatus::Refused(format!("{}: {e}", path.display())),
        };
        LicenseStatus::check(&bytes, trusted, today, server_domain, warn_days)
    }

    /// Checks license file content.
    pub fn check(
        bytes: &[u8],
        trusted: &TrustedKeys,
        today: Date,
        server_domain: Option<&str>,
        warn_days: i64,
    ) -> Self {
        let document = match ucdesk_license::verify(bytes, trusted) {
            Ok(d) => d,
            Err(e) => return LicenseStatus::Refused(e.to_string()),
        };
        if let Err(reason) = document.check_validity(today, server_domain) {
            return LicenseStatus::Invalid { document, reason };
        }
        let left = today.days_until(document.expires);
        let warning = (left <= warn_days).then(|| match left {
            0 => format!("license expires today ({})", document.expires),
            1 => format!("license expires tomorrow ({})", document.expires),
            n => format!("license expires on {} (in {n} days)", document.expires),
        });
        LicenseStatus::Valid { document, warning }
    }

    pub fn document(&self) -> Option<&LicenseDocument> {
        match self {
            LicenseStatus::Invalid { document, .. } | LicenseStatus::Valid { document, .. } => Some(document),
            _ => None,
        }
    }

    /// Why a plugin needing `feature` may not run, or None when it may.
    pub fn lock_reason(&self, feature: &str) -> Option<String> {
        match self {
            LicenseStatus::Valid { document, .. } if document.has_feature(feature) => None,
            LicenseStatus::Valid { .. } => Some(format!("license lacks feature '{feature}'")),
            LicenseStatus::Missing => Some(format!("no license installed (feature '{feature}' needs one)")),
            LicenseStatus::Refused(reason) => {
                Some(format!("license refused: {reason} (feature '{feature}' is locked)"))
            }
            LicenseStatus::Invalid { reason, .. } => {
                Some(format!("{reason} (feature '{feature}' is locked)"))
            }
        }
    }

    pub fn report(&self) -> LicenseReport {
        let d = self.document();
        let (state, reason, warning) = match self {
            LicenseStatus::Missing => ("missing", Some("no license installed".to_string()), None),
            LicenseStatus::Refused(r) => ("refused", Some(r.clone()), None),
            LicenseStatus::Invalid { reason, .. } => (
                match reason {
                    LicenseError::Expired(_) => "expired",
                    LicenseError::NotYetValid(_) => "not_yet_valid",
                    LicenseError::WrongBinding { .. } => "wrong_binding",
                    _ => "refused",
                },
                Some(reason.to_string()),
                None,
            ),
            LicenseStatus::Valid { warning, .. } => ("valid", None, warning.clone()),
        };
        LicenseReport {
            state,
            reason,
            warning,
            license_id: d.map(|d| d.license_id.clone()),
            licensee: d.map(|d| d.licensee.clone()),
            edition: d.map(|d| d.edition.to_string()),
            features: d.map(features_of).unwrap_or_default(),
            limits: d.map(|d| d.limits.clone().into_iter().collect()).unwrap_or_default(),
            issued: d.map(|d| d.issued.to_string()),
            expires: d.map(|d| d.expires.to_string()),
            server_domain: d.and_then(|d| d.server_domain.clone()),
            development_key: ucdesk_license::vendor_key_is_development(),
        }
    }
}

/// Locks plugins whose feature the license does not grant.
pub struct LicenseGate(pub std::sync::Arc<LicenseStatus>);

impl Gate for LicenseGate {
    fn after_manifest(&self, manifest: &Manifest, _candidate: &Candidate) -> Verdict {
        match manifest.feature.as_deref().and_then(|f| self.0.lock_reason(f)) {
            Some(reason) => Verdict::Lock(reason),
            None => Verdict::Allow,
        }
    }
}

/// The keys licenses are accepted from: this build's vendor key, plus the policy's.
pub fn trust(policy: Option<&crate::policy::Policy>) -> TrustedKeys {
    let vendor = ucdesk_license::vendor_key();
    match policy {
        Some(p) => p.license_trust(vendor),
        None => TrustedKeys::new([vendor]),
    }
}
