//! Signed release feeds: what "Check for updates" reads. A feed is one JSON document at
//! a URL the policy or the settings give, [`SignedRelease`]: the newest release's
//! version, date, notes, package URL and the package's SHA-256, with a detached Ed25519
//! signature by the same keys that sign licenses over the release's canonical bytes.
//! The signature, not the transport, is what makes the offer trustworthy: the package
//! downloaded from the URL must then match the signed digest.

use crate::{PublicKey, TrustedKeys, date::Date, keys::KeyPair};
use serde::{Deserialize, Serialize};

/// `format` of a release feed this code reads.
pub const FEED_FORMAT: &str = "ucdesk-release-feed/1";

/// Largest feed accepted; real ones are a few hundred bytes.
pub const MAX_FEED_BYTES: usize = 64 * 1024;

/// One release, as the vendor signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Semantic version (`0.7.0`).
    pub version: String,
    pub date: Date,
    /// What changed, as people read it.
    pub notes: String,
    /// Where the package is downloaded from.
    pub package_url: String,
    /// SHA-256 of the package (hex), checked after the download.
    pub sha256: String,
}

/// The feed document: a release and its signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRelease {
    pub format: String,
    pub key_id: String,
    pub signature: String,
    pub release: Release,
}

/// Why a feed was not believed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("the update feed is {size} bytes, more than {max}")]
    TooLarge { size: usize, max: usize },
    #[error("the update feed is not a release feed: {0}")]
    Malformed(String),
    #[error("the update feed has format {0:?}; this ucdesk reads {FEED_FORMAT}")]
    UnknownFormat(String),
    #[error("the update feed is signed by key {0}, which this ucdesk does not trust")]
    UnknownKey(String),
    #[error("the update feed's signature does not verify: it was changed after signing")]
    BadSignature,
}

/// What is signed: the feed format and a NUL, then the release with its fields in
/// declaration order (serde's, fixed by the struct), so the file's whitespace and key
/// order cannot change it. The prefix keeps a feed's signature from being taken for a
/// license's or a plugin's, which the same keys sign.
pub fn release_bytes(release: &Release) -> Vec<u8> {
    let mut bytes = format!("{FEED_FORMAT}\0").into_bytes();
    bytes.extend(serde_json::to_vec(release).expect("a release serializes"));
    bytes
}

/// Signs `release` with `key`.
pub fn sign_release(release: Release, key: &KeyPair) -> SignedRelease {
    SignedRelease {
        format: FEED_FORMAT.into(),
        key_id: key.public().id(),
        signature: key.sign(&release_bytes(&release)),
        release,
    }
}

/// Parses a feed and checks its signature against `trusted`.
pub fn verify_release(text: &[u8], trusted: &TrustedKeys) -> Result<Release, FeedError> {
    if text.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge { size: text.len(), max: MAX_FEED_BYTES });
    }
    let feed: SignedRelease =
        serde_json::from_slice(text).map_err(|e| FeedError::Malformed(e.to_string()))?;
    if feed.format != FEED_FORMAT {
        return Err(FeedError::UnknownFormat(feed.format));
    }
    let key: &PublicKey =
        trusted.get(&feed.key_id).ok_or_else(|| FeedError::UnknownKey(feed.key_id.clone()))?;
    if !key.verify(&release_bytes(&feed.release), &feed.signature) {
        return Err(FeedError::BadSignature);
    }
    Ok(feed.release)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release {
            version: "0.7.0".into(),
            date: Date::new(2026, 12, 1).unwrap(),
            notes: "Faster start".into(),
            package_url: "https://example.invalid/ucdesk_0.7.0_amd64.deb".into(),
            sha256: "00".repeat(32),
        }
    }

    #[test]
    fn a_signed_feed_verifies_and_any_change_or_stranger_is_refused() {
        let key = KeyPair::generate().unwrap();
        let trusted = TrustedKeys::new([key.public()]);
        let text = serde_json::to_vec_pretty(&sign_release(release(), &key)).unwrap();
        assert_eq!(verify_release(&text, &trusted).unwrap(), release());
        let changed = String::from_utf8(text.clone()).unwrap().replace("0.7.0", "9.9.9");
        assert_eq!(verify_release(changed.as_bytes(), &trusted), Err(FeedError::BadSignature));
        let stranger = KeyPair::generate().unwrap();
        let theirs = serde_json::to_vec(&sign_release(release(), &stranger)).unwrap();
        assert!(matches!(verify_release(&theirs, &trusted), Err(FeedError::UnknownKey(_))));
        assert!(matches!(verify_release(b"{\"format\": 1}", &trusted), Err(FeedError::Malformed(_))));
    }
}
