//! Detached signatures of plugin libraries (`FILE.sig` beside `FILE`).

use crate::{KeyPair, SignatureError, TrustedKeys};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const FORMAT: &str = "ucdesk-plugin-signature/1";
/// Domain separation: a plugin signature can never pass as a license signature.
const CONTEXT: &[u8] = b"ucdesk plugin signature v1\0";

/// The content of a `.sig` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSignature {
    pub format: String,
    pub key_id: String,
    /// SHA-256 of the library, hex.
    pub sha256: String,
    pub signature: String,
}

fn message(digest: &[u8]) -> Vec<u8> {
    [CONTEXT, digest].concat()
}

/// Signs a library's bytes.
pub fn sign_plugin(library: &[u8], key: &KeyPair) -> PluginSignature {
    let digest = Sha256::digest(library);
    PluginSignature {
        format: FORMAT.into(),
        key_id: key.public().id(),
        sha256: hex::encode(digest),
        signature: key.sign(&message(&digest)),
    }
}

/// Checks a library against the text of its `.sig` file; returns the signer's key id.
pub fn verify_plugin(
    library: &[u8],
    signature: &[u8],
    trusted: &TrustedKeys,
) -> Result<String, SignatureError> {
    let sig: PluginSignature =
        serde_json::from_slice(signature).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if sig.format != FORMAT {
        return Err(SignatureError::Malformed(format!("unknown format {:?}", sig.format)));
    }
    let key = trusted.get(&sig.key_id).ok_or_else(|| SignatureError::UnknownKey(sig.key_id.clone()))?;
    let digest = Sha256::digest(library);
    if hex::encode(digest) != sig.sha256 || !key.verify(&message(&digest), &sig.signature) {
        return Err(SignatureError::Mismatch);
    }
    Ok(sig.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_the_exact_file_and_key() {
        let key = KeyPair::generate().unwrap();
        let trusted = TrustedKeys::new([key.public()]);
        let library = b"\x7fELF pretend library".to_vec();
        let sig = serde_json::to_vec(&sign_plugin(&library, &key)).unwrap();
        assert_eq!(verify_plugin(&library, &sig, &trusted), Ok(key.public().id()));
        let mut modified = library.clone();
        modified[3] ^= 1;
        assert_eq!(verify_plugin(&modified, &sig, &trusted), Err(SignatureError::Mismatch));
        let stranger = KeyPair::generate().unwrap();
        let foreign = serde_json::to_vec(&sign_plugin(&library, &stranger)).unwrap();
        assert!(matches!(verify_plugin(&library, &foreign, &trusted), Err(SignatureError::UnknownKey(_))));
        assert!(matches!(verify_plugin(&library, b"junk", &trusted), Err(SignatureError::Malformed(_))));
    }
}
