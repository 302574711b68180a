//! SRTP keyed in the SDP (SDES, RFC 4568) with AES_CM_128_HMAC_SHA1_80 (RFC 3711), over
//! webrtc-rs's `rtc-srtp`. Each side picks its own master key for what it sends and
//! puts it in its `a=crypto` line; the far end's line keys what we receive. The keys
//! travel in the SIP signalling, so they are only secret when that is TLS: the call
//! window shows the encryption indicator only for TLS + SRTP.

use base64::Engine as _;
use rtc_srtp::context::Context;
use rtc_srtp::protection_profile::ProtectionProfile;

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

/// One call's SRTP: our context for sending, theirs for receiving.
pub struct Srtp {
    tx: Context,
    rx: Context,
}

impl Srtp {
    pub fn new(ours: &Keys, theirs: &Keys) -> Result<Srtp, String> {
        let provider = rtc_srtp::crypto::default_provider().map_err(|e| format!("no SRTP crypto: {e:?}"))?;
        let context = |k: &Keys| {
            Context::new(
                &k.key,
                &k.salt,
                ProtectionProfile::Aes128CmHmacSha1_80,
                None,
                None,
                provider.crypto(),
            )
            .map_err(|e| format!("SRTP context: {e}"))
        };
        Ok(Srtp { tx: context(ours)?, rx: context(theirs)? })
    }

    pub fn protect_rtp(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.tx.encrypt_rtp(packet).ok().map(|b| b.to_vec())
    }

    /// None for a packet that fails authentication (or a replay): it is dropped.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.rx.decrypt_rtp(packet).ok().map(|b| b.to_vec())
    }

    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.tx.encrypt_rtcp(packet).ok().map(|b| b.to_vec())
    }

    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.rx.decrypt_rtcp(packet).ok().map(|b| b.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_shared::marshal::Marshal;

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

    #[test]
    fn two_ends_talk_and_tampering_is_caught() {
        let (a, b) = (Keys::random(), Keys::random());
        let mut alice = Srtp::new(&a, &b).unwrap();
        let mut bob = Srtp::new(&b, &a).unwrap();
        let packet = rtc_rtp::Packet {
            header: rtc_rtp::Header {
                version: 2,
                payload_type: 0,
                sequence_number: 7,
                timestamp: 160,
                ssrc: 42,
                ..Default::default()
            },
            payload: bytes::Bytes::from(vec![0x55; 160]),
        }
        .marshal()
        .unwrap();
        let secret = alice.protect_rtp(&packet).unwrap();
        assert_ne!(&secret[12..172], &packet[12..]);
        assert_eq!(bob.unprotect_rtp(&secret).unwrap(), packet.to_vec());
        let mut tampered = alice.protect_rtp(&packet).unwrap();
        tampered[20] ^= 1;
        assert!(bob.unprotect_rtp(&tampered).is_none());
    }
}
