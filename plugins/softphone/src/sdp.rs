//! SDP offer/answer for one audio stream (RFC 3264), over webrtc-rs's `rtc-sdp` types.
//!
//! We offer the enabled codecs in the user's priority order (Opus, G.722, PCMU, PCMA;
//! Preferences → Codecs) and telephone-event (RFC 4733 DTMF); answers keep the
//! offerer's order among what we have enabled and its payload types (Opus is dynamic).
//! Telephone-event runs on the audio codec's clock (RFC 4733 §2.1): an offer may list it
//! at several rates (Linphone offers 48000, 16000 and 8000 with Opus); we answer with the
//! entry at the rate of the codec we send, under the offerer's payload type for that
//! entry, and take digits on any telephone-event type either side named. Hold is
//! a direction change (RFC 3264 §8.4): we offer `sendonly` (or `inactive` when the far
//! end already holds us) and answer a held offer with `recvonly`/`inactive`.
//! Media itself (RTP, codecs, devices) belongs to the media module; here the port is a
//! real bound socket so the far end's packets have somewhere to go.

use crate::sdes::Keys;
use rtc_sdp::description::common::{Address, Attribute, ConnectionInformation};
use rtc_sdp::description::media::{MediaName, RangedPort};
use rtc_sdp::description::session::{Origin, TimeDescription, Timing};
use rtc_sdp::{MediaDescription, SessionDescription};
use std::net::IpAddr;

/// Our telephone-event payload type when we offer (8 kHz, for G.711 and G.722).
pub const TELEPHONE_EVENT_PT: u8 = 101;
/// Our 48 kHz telephone-event payload type, offered beside Opus.
pub const TELEPHONE_EVENT_48K_PT: u8 = 102;
/// Our Opus payload type when we offer (dynamic; answers use the offerer's).
pub const OPUS_PT: u8 = 111;

/// An audio codec we can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    G722,
    Pcmu,
    Pcma,
}

impl Codec {
    /// Every codec, in the default priority order.
    pub const ALL: [Codec; 4] = [Codec::Opus, Codec::G722, Codec::Pcmu, Codec::Pcma];

    /// The setting's name (`softphone.codecs`).
    pub fn id(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::G722 => "g722",
            Codec::Pcmu => "pcmu",
            Codec::Pcma => "pcma",
        }
    }

    pub fn from_id(id: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.id().eq_ignore_ascii_case(id.trim()))
    }

    /// The rtpmap encoding name.
    fn encoding(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::G722 => "G722",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate (G.722 says 8000 for historical reasons, RFC 3551 §4.5.2).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            _ => 8_000,
        }
    }

    /// The rate of the audio the codec carries.
    pub fn audio_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::G722 => 16_000,
            _ => 8_000,
        }
    }

    fn static_pt(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::Opus => None,
        }
    }
}

/// A telephone-event entry: its payload type and clock rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFormat {
    pub pt: u8,
    pub rate: u32,
}

/// A codec as the far end numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub pt: u8,
    pub codec: Codec,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SdpError {
    #[error("SDP does not parse: {0}")]
    Parse(String),
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("no common audio codec (offered {0})")]
    NoCommonCodec(String),
    #[error("the far end offers encryption we cannot use (only {suite} with SDES keys)", suite = crate::sdes::SUITE)]
    NoCommonCrypto,
    #[error("encryption is required and the far end offers none")]
    EncryptionRequired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaDir {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl MediaDir {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaDir::SendRecv => "sendrecv",
            MediaDir::SendOnly => "sendonly",
            MediaDir::RecvOnly => "recvonly",
            MediaDir::Inactive => "inactive",
        }
    }

    /// What we answer to an offer with this direction, given whether we hold.
    pub fn answer_to(self, we_hold: bool) -> MediaDir {
        match (self, we_hold) {
            (MediaDir::SendRecv, false) => MediaDir::SendRecv,
            (MediaDir::SendRecv, true) | (MediaDir::RecvOnly, _) => MediaDir::SendOnly,
            (MediaDir::SendOnly, false) => MediaDir::RecvOnly,
            (MediaDir::SendOnly, true) | (MediaDir::Inactive, _) => MediaDir::Inactive,
        }
    }

    /// Whether the far end, sending this, holds us.
    pub fn holds_us(self) -> bool {
        matches!(self, MediaDir::SendOnly | MediaDir::Inactive)
    }
}

/// Our side of the stream.
#[derive(Debug, Clone)]
pub struct Local {
    pub addr: IpAddr,
    pub port: u16,
    pub session_id: u64,
    /// Bumped on every new offer or answer we send (RFC 3264 §8).
    pub version: u64,
    /// The codecs the user enabled, in priority order.
    pub codecs: Vec<Codec>,
    /// Our SRTP master key for what we send (used when SRTP is on).
    pub keys: Keys,
    /// Offer SRTP, and refuse a call without it.
    pub require_srtp: bool,
}

/// What the far end's SDP says.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub addr: Option<IpAddr>,
    pub port: u16,
    /// Audio formats we know, in the far end's order.
    pub codecs: Vec<Format>,
    /// Its telephone-event entries, in its order (one per clock rate).
    pub telephone_events: Vec<EventFormat>,
    pub dir: MediaDir,
    /// The far end's SDES key for what it sends, and its tag.
    pub crypto: Option<(u32, Keys)>,
    /// It said RTP/SAVP (encryption is part of the offer, not an option).
    pub savp: bool,
}

pub fn parse(body: &[u8]) -> Result<Remote, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Parse("not UTF-8".into()))?;
    // rtc-sdp wants CRLF or LF lines and nothing after the last one.
    let sd = SessionDescription::unmarshal(&mut std::io::Cursor::new(text.trim_end().to_string() + "\r\n"))
        .map_err(|e| SdpError::Parse(e.to_string()))?;
    let media =
        sd.media_descriptions.iter().find(|m| m.media_name.media == "audio").ok_or(SdpError::NoAudio)?;
    let addr_of = |c: &Option<ConnectionInformation>| {
        c.as_ref().and_then(|c| c.address.as_ref()).and_then(|a| a.address.parse::<IpAddr>().ok())
    };
    let addr = addr_of(&media.connection_information).or_else(|| addr_of(&sd.connection_information));
    let rtpmap = media.codecs();
    let mut codecs = Vec::new();
    let mut telephone_events = Vec::new();
    for f in &media.media_name.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        let name = rtpmap.get(&pt).map(|c| c.name.to_ascii_uppercase());
        let codec = match (pt, name.as_deref()) {
            (_, Some("TELEPHONE-EVENT")) => {
                let rate = rtpmap.get(&pt).map_or(8000, |c| c.clock_rate);
                telephone_events.push(EventFormat { pt, rate: if rate == 0 { 8000 } else { rate } });
                continue;
            }
            (_, Some("OPUS")) => Codec::Opus,
            (_, Some("G722")) | (9, None) => Codec::G722,
            (_, Some("PCMU")) | (0, None) => Codec::Pcmu,
            (_, Some("PCMA")) | (8, None) => Codec::Pcma,
            _ => continue,
        };
        codecs.push(Format { pt, codec });
    }
    let dir =
        direction(&media.attributes).or_else(|| direction(&sd.attributes)).unwrap_or(MediaDir::SendRecv);
    let port = media.media_name.port.value.clamp(0, u16::MAX as isize) as u16;
    // Port 0 or address 0.0.0.0 is the old way to say "on hold" (RFC 2543).
    let dir = if port == 0 || addr.is_some_and(|a| a.is_unspecified()) { MediaDir::Inactive } else { dir };
    if codecs.is_empty() {
        return Err(SdpError::NoCommonCodec(media.media_name.formats.join(" ")));
    }
    let crypto = media
        .attributes
        .iter()
        .filter(|a| a.key == "crypto")
        .find_map(|a| a.value.as_deref().and_then(Keys::parse));
    let savp = media.media_name.protos.iter().any(|p| p == "SAVP");
    Ok(Remote { addr, port, codecs, telephone_events, dir, crypto, savp })
}

fn direction(attrs: &[Attribute]) -> Option<MediaDir> {
    attrs.iter().find_map(|a| match a.key.as_str() {
        "sendrecv" => Some(MediaDir::SendRecv),
        "sendonly" => Some(MediaDir::SendOnly),
        "recvonly" => Some(MediaDir::RecvOnly),
        "inactive" => Some(MediaDir::Inactive),
        _ => None,
    })
}

/// Our offer: the enabled codecs in priority order, then telephone-event at each rate
/// they need (8000 always, 48000 beside Opus); with our SDES key over RTP/SAVP when
/// SRTP is required.
pub fn offer(local: &Local, dir: MediaDir) -> String {
    let formats: Vec<Format> = local
        .codecs
        .iter()
        .map(|&codec| Format { pt: codec.static_pt().unwrap_or(OPUS_PT), codec })
        .collect();
    let crypto = local.require_srtp.then_some(1);
    build(local, &formats, &offered_events(local), dir, crypto)
}

/// The telephone-event entries our offer lists.
pub fn offered_events(local: &Local) -> Vec<EventFormat> {
    let mut events = Vec::new();
    if local.codecs.contains(&Codec::Opus) {
        events.push(EventFormat { pt: TELEPHONE_EVENT_48K_PT, rate: 48_000 });
    }
    events.push(EventFormat { pt: TELEPHONE_EVENT_PT, rate: 8000 });
    events
}

/// The far end's telephone-event entry to send digits with beside `codec`: the one on
/// the codec's clock (RFC 4733 §2.1; 48000 for Opus, RFC 7587 §4.1), else 8000 (what
/// every implementation takes), else its first.
pub fn event_for(remote: &Remote, codec: Codec) -> Option<EventFormat> {
    let at = |rate: u32| remote.telephone_events.iter().copied().find(|e| e.rate == rate);
    at(codec.clock_rate()).or_else(|| at(8000)).or_else(|| remote.telephone_events.first().copied())
}

/// The offered formats we have enabled, in the offerer's order.
pub fn common(local: &Local, remote: &Remote) -> Vec<Format> {
    remote.codecs.iter().copied().filter(|f| local.codecs.contains(&f.codec)).collect()
}

/// Whether media with this far end is encrypted, or why it cannot go ahead.
pub fn secure(local: &Local, remote: &Remote) -> Result<bool, SdpError> {
    match (&remote.crypto, remote.savp, local.require_srtp) {
        (Some(_), _, _) => Ok(true),
        (None, true, _) => Err(SdpError::NoCommonCrypto),
        (None, false, true) => Err(SdpError::EncryptionRequired),
        (None, false, false) => Ok(false),
    }
}

/// Our answer to `remote`: the common codecs in the offerer's order, with its payload
/// types; encrypted when it offered a key we can use. Errors when nothing is in common
/// (the caller refuses the call with 488).
pub fn answer(local: &Local, remote: &Remote, dir: MediaDir) -> Result<String, SdpError> {
    let formats = common(local, remote);
    if formats.is_empty() {
        let offered: Vec<&str> = remote.codecs.iter().map(|f| f.codec.id()).collect();
        return Err(SdpError::NoCommonCodec(offered.join(" ")));
    }
    let crypto = secure(local, remote)?.then(|| remote.crypto.as_ref().map_or(1, |(tag, _)| *tag));
    let events: Vec<EventFormat> = event_for(remote, formats[0].codec).into_iter().collect();
    Ok(build(local, &formats, &events, dir, crypto))
}

/// `crypto`: the tag of our `a=crypto` line when the stream is SRTP.
fn build(
    local: &Local,
    formats: &[Format],
    events: &[EventFormat],
    dir: MediaDir,
    crypto: Option<u32>,
) -> String {
    let ip_kind = if local.addr.is_ipv6() { "IP6" } else { "IP4" };
    let conn = ConnectionInformation {
        network_type: "IN".into(),
        address_type: ip_kind.into(),
        address: Some(Address { address: local.addr.to_string(), ttl: None, range: None }),
    };
    let mut media = MediaDescription {
        media_name: MediaName {
            media: "audio".into(),
            port: RangedPort { value: local.port as isize, range: None },
            protos: vec!["RTP".into(), if crypto.is_some() { "SAVP" } else { "AVP" }.into()],
            formats: vec![],
        },
        media_title: None,
        connection_information: None,
        bandwidth: vec![],
        encryption_key: None,
        attributes: vec![],
    };
    for f in formats {
        // Opus is always described as 2 channels (RFC 7587 §7); we send mono in it.
        let (channels, fmtp) = match f.codec {
            Codec::Opus => (2, "minptime=10;useinbandfec=1".to_string()),
            _ => (0, String::new()),
        };
        media = media.with_codec(f.pt, f.codec.encoding().into(), f.codec.clock_rate(), channels, fmtp);
    }
    for e in events {
        media = media.with_codec(e.pt, "telephone-event".into(), e.rate, 0, "0-16".into());
    }
    media =
        media.with_value_attribute("ptime".into(), "20".into()).with_property_attribute(dir.as_str().into());
    if let Some(tag) = crypto {
        media = media.with_value_attribute("crypto".into(), local.keys.crypto_attribute(tag));
    }
    let sd = SessionDescription {
        version: 0,
        origin: Origin {
            username: "ucdesk".into(),
            session_id: local.session_id,
            session_version: local.version,
            network_type: "IN".into(),
            address_type: ip_kind.into(),
            unicast_address: local.addr.to_string(),
        },
        session_name: "ucdesk".into(),
        session_information: None,
        uri: None,
        email_address: None,
        phone_number: None,
        connection_information: Some(conn),
        bandwidth: vec![],
        time_descriptions: vec![TimeDescription {
            timing: Timing { start_time: 0, stop_time: 0 },
            repeat_times: vec![],
        }],
        time_zones: vec![],
        encryption_key: None,
        attributes: vec![],
        media_descriptions: vec![media],
    };
    sd.marshal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Local {
        Local {
            addr: "127.0.0.1".parse().unwrap(),
            port: 40000,
            session_id: 7,
            version: 1,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            keys: Keys::random(),
            require_srtp: false,
        }
    }

    #[test]
    fn offer_round_trips_through_the_parser() {
        let sdp = offer(&local(), MediaDir::SendRecv);
        assert!(sdp.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        assert!(sdp.contains("a=fmtp:101 0-16\r\n"));
        let r = parse(sdp.as_bytes()).unwrap();
        assert_eq!(r.codecs, [Format { pt: 0, codec: Codec::Pcmu }, Format { pt: 8, codec: Codec::Pcma }]);
        assert_eq!(r.telephone_events, [EventFormat { pt: 101, rate: 8000 }]);
        assert_eq!(r.dir, MediaDir::SendRecv);
        assert_eq!(r.port, 40000);
        assert_eq!(r.addr, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn answer_follows_the_offerer() {
        // baresip's shape: PCMA first, its own telephone-event PT, LF line ends.
        let theirs = "v=0\no=- 1 2 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\n\
                      m=audio 5004 RTP/AVP 8 0 9 96\na=rtpmap:9 G722/8000\na=rtpmap:96 telephone-event/8000\n\
                      a=sendonly\n";
        let r = parse(theirs.as_bytes()).unwrap();
        assert_eq!(r.codecs.iter().map(|f| f.pt).collect::<Vec<_>>(), [8, 0, 9]);
        assert_eq!(r.telephone_events, [EventFormat { pt: 96, rate: 8000 }]);
        assert_eq!(r.dir, MediaDir::SendOnly);
        let ours = answer(&local(), &r, r.dir.answer_to(false)).unwrap();
        assert!(ours.contains("m=audio 40000 RTP/AVP 8 0 96\r\n"), "{ours}");
        assert!(ours.contains("a=recvonly"));
    }

    #[test]
    fn opus_keeps_the_offerers_payload_type_and_disabled_codecs_drop_out() {
        let mut l = local();
        l.codecs = vec![Codec::Opus, Codec::G722, Codec::Pcmu];
        let ours = offer(&l, MediaDir::SendRecv);
        assert!(ours.contains("m=audio 40000 RTP/AVP 111 9 0 102 101\r\n"), "{ours}");
        assert!(ours.contains("a=rtpmap:102 telephone-event/48000\r\n"), "{ours}");
        assert!(ours.contains("a=rtpmap:111 opus/48000/2\r\n"), "{ours}");
        assert!(ours.contains("a=rtpmap:9 G722/8000\r\n"), "{ours}");
        let theirs = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
                      m=audio 5004 RTP/AVP 8 96 0\r\na=rtpmap:96 opus/48000/2\r\n";
        let r = parse(theirs.as_bytes()).unwrap();
        assert_eq!(
            common(&l, &r),
            [Format { pt: 96, codec: Codec::Opus }, Format { pt: 0, codec: Codec::Pcmu }]
        );
        l.codecs = vec![Codec::G722];
        assert!(matches!(answer(&l, &r, MediaDir::SendRecv), Err(SdpError::NoCommonCodec(_))));
    }

    #[test]
    fn srtp_is_offered_when_required_and_accepted_when_offered() {
        let mut l = local();
        l.require_srtp = true;
        let ours = offer(&l, MediaDir::SendRecv);
        assert!(ours.contains("m=audio 40000 RTP/SAVP 0 8 101\r\n"), "{ours}");
        assert!(ours.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{ours}");
        let r = parse(ours.as_bytes()).unwrap();
        assert!(r.savp && r.crypto.as_ref().is_some_and(|(tag, k)| *tag == 1 && *k == l.keys));

        // Answering an SRTP offer with its tag, even when we would not have asked.
        let mut plain = local();
        plain.require_srtp = false;
        let theirs = ours.replace("a=crypto:1 ", "a=crypto:7 ");
        let r = parse(theirs.as_bytes()).unwrap();
        let answer_sdp = answer(&plain, &r, MediaDir::SendRecv).unwrap();
        assert!(
            answer_sdp.contains("RTP/SAVP") && answer_sdp.contains("a=crypto:7 AES_CM_128"),
            "{answer_sdp}"
        );
        assert!(!answer_sdp.contains(&l.keys.crypto_attribute(7)), "our own key, not theirs");

        // Required but the far end has none; SAVP with a suite we lack.
        let clear = parse(offer(&plain, MediaDir::SendRecv).as_bytes()).unwrap();
        assert_eq!(answer(&l, &clear, MediaDir::SendRecv), Err(SdpError::EncryptionRequired));
        let strange = ours.replace("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM");
        let r = parse(strange.as_bytes()).unwrap();
        assert_eq!(answer(&plain, &r, MediaDir::SendRecv), Err(SdpError::NoCommonCrypto));
    }

    #[test]
    fn hold_directions() {
        assert_eq!(MediaDir::SendRecv.answer_to(true), MediaDir::SendOnly);
        assert_eq!(MediaDir::SendOnly.answer_to(true), MediaDir::Inactive);
        assert_eq!(MediaDir::Inactive.answer_to(false), MediaDir::Inactive);
        let old_style =
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
        assert_eq!(parse(old_style.as_bytes()).unwrap().dir, MediaDir::Inactive);
    }

    #[test]
    fn bad_offers_are_errors() {
        assert!(matches!(parse(b"garbage"), Err(SdpError::Parse(_))));
        let video = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n";
        assert_eq!(parse(video.as_bytes()), Err(SdpError::NoAudio));
        let g729 = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 18\r\n";
        assert!(matches!(parse(g729.as_bytes()), Err(SdpError::NoCommonCodec(_))));
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    /// Linphone's Opus offer: telephone-event at 48000, 16000 and 8000.
    fn linphone_offer(rates: &[(u8, u32)], audio: &str) -> Remote {
        let pts: Vec<String> = rates.iter().map(|(pt, _)| pt.to_string()).collect();
        let maps: String =
            rates.iter().map(|(pt, rate)| format!("a=rtpmap:{pt} telephone-event/{rate}\r\n")).collect();
        let sdp = format!(
            "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
             m=audio 5004 RTP/AVP {audio} {}\r\na=rtpmap:96 opus/48000/2\r\n{maps}",
            pts.join(" ")
        );
        parse(sdp.as_bytes()).unwrap()
    }

    #[test]
    fn telephone_event_is_answered_at_the_rate_of_the_codec_we_send() {
        let mut l = local();
        l.codecs = vec![Codec::Opus, Codec::Pcmu];
        let three = [(101, 48_000), (100, 16_000), (102, 8000)];
        // Opus first: the 48 kHz entry, under its own payload type.
        let r = linphone_offer(&three, "96 0");
        assert_eq!(r.telephone_events.len(), 3);
        assert_eq!(event_for(&r, Codec::Opus), Some(EventFormat { pt: 101, rate: 48_000 }));
        let ours = answer(&l, &r, MediaDir::SendRecv).unwrap();
        assert!(ours.contains("m=audio 40000 RTP/AVP 96 0 101\r\n"), "{ours}");
        assert!(ours.contains("a=rtpmap:101 telephone-event/48000\r\n"), "{ours}");
        // G.711 first: the 8 kHz entry, never the first entry relabelled.
        let r = linphone_offer(&three, "0 96");
        let ours = answer(&l, &r, MediaDir::SendRecv).unwrap();
        assert!(ours.contains("m=audio 40000 RTP/AVP 0 96 102\r\n"), "{ours}");
        assert!(ours.contains("a=rtpmap:102 telephone-event/8000\r\n"), "{ours}");
        assert!(!ours.contains("telephone-event/48000"), "{ours}");
        // Two rates, and one: Opus without a 48 kHz entry falls back to 8000.
        let r = linphone_offer(&[(110, 16_000), (111, 8000)], "96");
        assert_eq!(event_for(&r, Codec::Opus), Some(EventFormat { pt: 111, rate: 8000 }));
        let r = linphone_offer(&[(97, 48_000)], "0");
        assert_eq!(event_for(&r, Codec::Pcmu), Some(EventFormat { pt: 97, rate: 48_000 }));
        let r = linphone_offer(&[], "0");
        assert_eq!(event_for(&r, Codec::Pcmu), None);
        assert!(!answer(&l, &r, MediaDir::SendRecv).unwrap().contains("telephone-event"));
    }
}
