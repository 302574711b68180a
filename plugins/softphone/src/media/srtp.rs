//! SRTP keyed in the SDP (SDES, RFC 4568) with AES_CM_128_HMAC_SHA1_80 (RFC 3711), over
//! webrtc-rs's `rtc-srtp`. Each side picks its own master key for what it sends and
//! puts it in its `a=crypto` line; the far end's line keys what we receive. The keys
//! travel in the SIP signalling, so they are only secret when that is TLS: the call
//! window shows the encryption indicator only for TLS + SRTP. The keys and their
//! `a=crypto` form are `sdes.rs`, below both this and the SDP code.

use crate::sdes::Keys;
use rtc_srtp::context::Context;
use rtc_srtp::protection_profile::ProtectionProfile;

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
                k.key(),
                k.salt(),
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
