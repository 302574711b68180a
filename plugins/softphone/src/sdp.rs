//! SDP offer/answer for one audio stream (RFC 3264), over webrtc-rs's `rtc-sdp` types.
//!
//! We offer PCMU, PCMA and telephone-event (RFC 4733 DTMF); answers keep the offerer's
//! order among what we support and the offerer's telephone-event payload type. Hold is
//! a direction change (RFC 3264 §8.4): we offer `sendonly` (or `inactive` when the far
//! end already holds us) and answer a held offer with `recvonly`/`inactive`.
//! Media itself (RTP, codecs, devices) belongs to the media module; here the port is a
//! real bound socket so the far end's packets have somewhere to go.

use rtc_sdp::description::common::{Address, Attribute, ConnectionInformation};
use rtc_sdp::description::media::{MediaName, RangedPort};
use rtc_sdp::description::session::{Origin, TimeDescription, Timing};
use rtc_sdp::{MediaDescription, SessionDescription};
use std::net::IpAddr;

/// The audio codecs we can carry, in our order of preference.
pub const AUDIO_CODECS: [(u8, &str); 2] = [(0, "PCMU"), (8, "PCMA")];
/// Our telephone-event payload type when we offer.
pub const TELEPHONE_EVENT_PT: u8 = 101;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SdpError {
    #[error("SDP does not parse: {0}")]
    Parse(String),
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("no common audio codec (offered {0})")]
    NoCommonCodec(String),
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
}

/// What the far end's SDP says.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub addr: Option<IpAddr>,
    pub port: u16,
    /// Audio payload types we support, in the far end's order.
    pub codecs: Vec<u8>,
    pub telephone_event: Option<u8>,
    pub dir: MediaDir,
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
    let mut telephone_event = None;
    for f in &media.media_name.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        let name = rtpmap.get(&pt).map(|c| c.name.to_ascii_uppercase());
        match (pt, name.as_deref()) {
            (_, Some("TELEPHONE-EVENT")) => telephone_event = telephone_event.or(Some(pt)),
            (0, None | Some("PCMU")) => codecs.push(0),
            (8, None | Some("PCMA")) => codecs.push(8),
            _ => {}
        }
    }
    let dir =
        direction(&media.attributes).or_else(|| direction(&sd.attributes)).unwrap_or(MediaDir::SendRecv);
    let port = media.media_name.port.value.clamp(0, u16::MAX as isize) as u16;
    // Port 0 or address 0.0.0.0 is the old way to say "on hold" (RFC 2543).
    let dir = if port == 0 || addr.is_some_and(|a| a.is_unspecified()) { MediaDir::Inactive } else { dir };
    if codecs.is_empty() {
        return Err(SdpError::NoCommonCodec(media.media_name.formats.join(" ")));
    }
    Ok(Remote { addr, port, codecs, telephone_event, dir })
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

/// Our offer: every codec we support, then telephone-event.
pub fn offer(local: &Local, dir: MediaDir) -> String {
    let codecs: Vec<u8> = AUDIO_CODECS.iter().map(|(pt, _)| *pt).collect();
    build(local, &codecs, Some(TELEPHONE_EVENT_PT), dir)
}

/// Our answer to `remote`: the common codecs in the offerer's order.
pub fn answer(local: &Local, remote: &Remote, dir: MediaDir) -> String {
    build(local, &remote.codecs, remote.telephone_event, dir)
}

fn build(local: &Local, codecs: &[u8], telephone_event: Option<u8>, dir: MediaDir) -> String {
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
            protos: vec!["RTP".into(), "AVP".into()],
            formats: vec![],
        },
        media_title: None,
        connection_information: None,
        bandwidth: vec![],
        encryption_key: None,
        attributes: vec![],
    };
    for pt in codecs {
        let name = AUDIO_CODECS.iter().find(|(p, _)| p == pt).map(|(_, n)| *n).unwrap_or("PCMU");
        media = media.with_codec(*pt, name.into(), 8000, 0, String::new());
    }
    if let Some(pt) = telephone_event {
        media = media.with_codec(pt, "telephone-event".into(), 8000, 0, "0-16".into());
    }
    media =
        media.with_value_attribute("ptime".into(), "20".into()).with_property_attribute(dir.as_str().into());
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
        Local { addr: "127.0.0.1".parse().unwrap(), port: 40000, session_id: 7, version: 1 }
    }

    #[test]
    fn offer_round_trips_through_the_parser() {
        let sdp = offer(&local(), MediaDir::SendRecv);
        assert!(sdp.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        assert!(sdp.contains("a=fmtp:101 0-16\r\n"));
        let r = parse(sdp.as_bytes()).unwrap();
        assert_eq!(r.codecs, [0, 8]);
        assert_eq!(r.telephone_event, Some(101));
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
        assert_eq!(r.codecs, [8, 0]);
        assert_eq!(r.telephone_event, Some(96));
        assert_eq!(r.dir, MediaDir::SendOnly);
        let ours = answer(&local(), &r, r.dir.answer_to(false));
        assert!(ours.contains("m=audio 40000 RTP/AVP 8 0 96\r\n"), "{ours}");
        assert!(ours.contains("a=recvonly"));
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
}
