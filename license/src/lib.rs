//! Signed licenses and plugin signatures for ucdesk.
//!
//! A license is a [`LicenseDocument`] (who, which edition and features, which limits,
//! valid when, optionally bound to a server domain) sealed in a [`SignedLicense`]
//! envelope with a detached Ed25519 signature over its *canonical bytes*: the document
//! re-serialised with fixed field order and sorted limits, so whitespace and key order
//! in the file cannot change what was signed. Unknown fields and duplicate keys are
//! refused, not ignored.
//!
//! The same keys sign plugin libraries ([`sign_plugin`], [`verify_plugin`]) and the
//! release feed "Check for updates" reads ([`sign_release`], [`verify_release`]).
//!
//! The kernel trusts [`vendor_key`] (compiled in; a development key unless the build
//! sets `UCDESK_VENDOR_PUBKEY`) plus the keys its deployment policy names.

mod date;
mod document;
mod error;
mod keys;
mod plugin_sig;
mod release;

pub use date::Date;
pub use document::{Edition, LicenseDocument, SignedLicense, canonical_bytes, features_of};
pub use error::{KeyError, LicenseError, SignatureError};
pub use keys::{KeyPair, PublicKey, TrustedKeys, vendor_key, vendor_key_is_development};
pub use plugin_sig::{PluginSignature, sign_plugin, verify_plugin};
pub use release::{
    FEED_FORMAT, FeedError, MAX_FEED_BYTES, Release, SignedRelease, release_bytes, sign_release,
    verify_release,
};

/// Largest license file accepted; real ones are a few hundred bytes.
pub const MAX_LICENSE_BYTES: usize = 64 * 1024;

/// Issues a license: signs `document` with `key`.
pub fn issue(document: LicenseDocument, key: &KeyPair) -> SignedLicense {
    let signature = key.sign(&canonical_bytes(&document));
    SignedLicense {
        format: document::FORMAT.to_string(),
        key_id: key.public().id(),
        signature,
        license: document,
    }
}

/// Parses a license file and checks its signature against `trusted`. Dates and binding
/// are checked separately ([`LicenseDocument::check_validity`]) so that an expired
/// license can still be shown.
pub fn verify(text: &[u8], trusted: &TrustedKeys) -> Result<LicenseDocument, LicenseError> {
    if text.len() > MAX_LICENSE_BYTES {
        return Err(LicenseError::TooLarge { size: text.len(), max: MAX_LICENSE_BYTES });
    }
    let signed: SignedLicense = serde_json::from_slice(text).map_err(|e| LicenseError::Malformed {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    if signed.format != document::FORMAT {
        return Err(LicenseError::UnknownFormat(signed.format));
    }
    let key = trusted.get(&signed.key_id).ok_or_else(|| LicenseError::UnknownKey(signed.key_id.clone()))?;
    if !key.verify(&canonical_bytes(&signed.license), &signed.signature) {
        return Err(LicenseError::BadSignature);
    }
    Ok(signed.license)
}
