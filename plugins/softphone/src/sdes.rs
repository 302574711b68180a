//! SDES key material (RFC 4568): the master key and salt each side of an encrypted
//! call picks for what it sends, and their `a=crypto` form. The SDP code carries the
//! line and the SRTP code keys packets with it; the keys live below both so that
//! neither has to import the other.

use base64::Engine as _;

/// The one suite every SDES peer supports.
pub const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";

/// A master key (16 bytes) and salt (14 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    key: [u8; 16],
    salt: [u8; 14],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach a log.
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn random() -> Keys {
        let mut both = [0u8; 30];
        getrandom::fill(&mut both).expect("the OS random generator is available");
        let (mut key, mut salt) = ([0u8; 16], [0u8; 14]);
        key.copy_from_slice(&both[..16]);
        salt.copy_from_slice(&both[16..]);
        Keys { key, salt }
    }

    pub fn key(&self) -> &[u8; 16] {
        &self.key
    }

    pub fn salt(&self) -> &[u8; 14] {
        &self.salt
    }

    /// Our `a=crypto` value for `tag`.
    pub fn crypto_attribute(&self, tag: u32) -> String {
        let mut both = Vec::with_capacity(30);
        both.extend_from_slice(&self.key);
        both.extend_from_slice(&self.salt);
        format!("{tag} {SUITE} inline:{}", base64::engine::general_purpose::STANDARD.encode(both))
    }

    /// Reads an `a=crypto` value (`1 AES_CM_128_HMAC_SHA1_80 inline:KEY[|lifetime][|MKI:len]`);
    /// None for another suite, session parameters, or a key that is not 30 bytes.
    pub fn parse(value: &str) -> Option<(u32, Keys)> {
        let mut parts = value.split_whitespace();
        let tag = parts.next()?.parse().ok()?;
        if parts.next()? != SUITE {
            return None;
        }
        let params = parts.next()?;
        if parts.next().is_some() {
            // Session parameters (UNENCRYPTED_SRTP, KDR, ...) change the protocol: skip.
            return None;
        }
        let inline = params.strip_prefix("inline:")?;
        let material = inline.split('|').next()?;
        let both = base64::engine::general_purpose::STANDARD.decode(material).ok()?;
        if both.len() != 30 {
            return None;
        }
        let (mut key, mut salt) = ([0u8; 16], [0u8; 14]);
        key.copy_from_slice(&both[..16]);
        salt.copy_from_slice(&both[16..]);
        Some((tag, Keys { key, salt }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_lines_round_trip_and_strangers_are_refused() {
        let k = Keys::random();
        let line = k.crypto_attribute(3);
        let (tag, back) = Keys::parse(&line).unwrap();
        assert_eq!((tag, &back), (3, &k));
        assert_eq!(Keys::parse(&format!("{line}|2^31")).map(|(_, k)| k), Some(back), "a lifetime is fine");
        assert!(Keys::parse("1 AES_256_CM_HMAC_SHA1_80 inline:AAAA").is_none());
        assert!(Keys::parse("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA").is_none(), "short key");
        assert!(Keys::parse(&format!("{line} UNENCRYPTED_SRTP")).is_none());
        assert_eq!(format!("{k:?}"), "Keys(..)");
    }
}
