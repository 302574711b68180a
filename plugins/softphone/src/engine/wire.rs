//! Reading SIP off the wire: the header, URI, Refer-To and transfer-progress parsers the
//! engine applies to what the far end sends, and [`read_sip_message`], the one path
//! the fuzz target drives through all of them. Only pure functions live here, and they
//! import nothing of the engine above them, so the fuzzer and the unit tests reach
//! every parser without a runtime, an account or a call.

use crate::sdp;
use rsipstack::sip as rsip;

/// `%XX` escapes for everything but unreserved characters and `@` (a Replaces value
/// inside a Refer-To URI).
pub(super) fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` escapes back to bytes; None when an escape is broken or the result is not UTF-8.
pub(super) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The first header called `name` (any case), as text.
pub(super) fn header_value(req: &rsip::Request, name: &str) -> Option<String> {
    req.headers.iter().find(|h| h.name().eq_ignore_ascii_case(name)).map(|h| h.value().to_string())
}

/// Progress of a transfer, from a NOTIFY of the REFER's implicit subscription (RFC 3515
/// §2.4.4: a message/sipfrag status line). rsipstack's `ReferStatus::parse` only sees
/// untyped headers, but its parser types `Event` and `Subscription-State`, so a NOTIFY
/// off the wire never matched it; this reads the headers by name.
pub(super) struct ReferProgress {
    pub(super) code: u16,
    pub(super) reason: String,
    pub(super) terminated: bool,
}

pub(super) fn refer_progress(req: &rsip::Request) -> Option<ReferProgress> {
    let event = header_value(req, "Event")?;
    if !event.trim().to_ascii_lowercase().starts_with("refer") {
        return None;
    }
    let terminated = header_value(req, "Subscription-State")
        .is_some_and(|s| s.trim().to_ascii_lowercase().starts_with("terminated"));
    let body = std::str::from_utf8(&req.body).ok()?;
    let line = body.lines().find(|l| l.starts_with("SIP/2.0 "))?;
    let mut parts = line.splitn(3, ' ').skip(1);
    let code = parts.next()?.parse::<u16>().ok().filter(|c| (100..700).contains(c))?;
    Some(ReferProgress { code, reason: parts.next().unwrap_or_default().trim().to_string(), terminated })
}

/// The user part of the first URI in a header value (`"Bob" <sip:100@host>;tag=x`).
pub(super) fn uri_user(v: &str) -> Option<String> {
    let start = v.find("sip:").or_else(|| v.find("sips:")).or_else(|| v.find("tel:"))?;
    let rest = &v[start..];
    let rest = rest.split_once(':')?.1;
    let end = rest.find(['@', '>', ';']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|s| !s.is_empty())
}

/// Caller number and name: P-Asserted-Identity when a trusted proxy set it, else From.
pub(super) fn caller_of(req: &rsip::Request) -> (String, Option<String>) {
    let from =
        header_value(req, "P-Asserted-Identity").or_else(|| header_value(req, "From")).unwrap_or_default();
    let number = uri_user(&from).unwrap_or_else(|| "anonymous".into());
    let name = from
        .split_once('<')
        .map(|(n, _)| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty());
    (number, name)
}

/// A Refer-To value: the target URI and its embedded Replaces header, if any
/// (`<sip:carol@pbx?Replaces=call%40host%3Bto-tag%3Da%3Bfrom-tag%3Db>`).
#[derive(Debug, PartialEq)]
pub(super) struct ReferTarget {
    pub(super) uri: String,
    pub(super) replaces: Option<String>,
}

impl ReferTarget {
    pub(super) fn parse(value: &str) -> Option<ReferTarget> {
        let v = value.trim();
        let v = match v.strip_prefix('<') {
            Some(rest) => &rest[..rest.find('>')?],
            None => v.split(';').next()?,
        };
        let (uri, headers) = v.split_once('?').unwrap_or((v, ""));
        let scheme = uri.split(':').next()?.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "sip" | "sips") || uri.len() <= scheme.len() + 1 {
            return None;
        }
        let replaces = headers
            .split('&')
            .filter_map(|h| h.split_once('='))
            .find(|(name, _)| name.eq_ignore_ascii_case("Replaces"))
            .and_then(|(_, value)| percent_decode(value));
        Some(ReferTarget { uri: uri.to_string(), replaces })
    }
}

/// Everything the phone reads from a SIP message off the wire, in the order the stack
/// and the engine read it: parse, the transaction key and dialog headers the transport
/// and dialog layers look at, then the engine's own readers (caller, callee, transfer
/// progress, SDP). It must never panic on any input; the fuzz target
/// (`plugins/softphone/fuzz`) and a seeded mutation test hold it to that. Returns a
/// summary so the work cannot be optimised away.
#[doc(hidden)]
pub fn read_sip_message(data: &[u8]) -> Option<String> {
    use rsipstack::sip::prelude::HeadersExt;
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    let msg = rsip::SipMessage::try_from(data).ok()?;
    match msg {
        rsip::SipMessage::Request(req) => {
            let key = TransactionKey::from_request(&req, TransactionRole::Server).ok();
            let tag = req.to_header().ok().and_then(|t| t.tag().ok().flatten());
            let cseq = req.cseq_header().ok().and_then(|c| c.seq().ok());
            let via = req.via_header().ok().map(|v| v.value().to_string());
            let (number, name) = caller_of(&req);
            let callee = header_value(&req, "To").and_then(|v| uri_user(&v));
            let progress = refer_progress(&req).map(|p| (p.code, p.terminated));
            let refer = header_value(&req, "Refer-To").and_then(|v| ReferTarget::parse(&v));
            let offer = sdp::parse(&req.body).ok().map(|r| r.port);
            Some(format!(
                "{} {key:?} {tag:?} {cseq:?} {via:?} {number} {name:?} {callee:?} {progress:?} {refer:?} {offer:?}",
                req.method
            ))
        }
        rsip::SipMessage::Response(resp) => {
            let answer = sdp::parse(&resp.body).ok().map(|r| r.port);
            Some(format!("{} {answer:?}", resp.status_code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK776asdhds;rport\r\n\
        Max-Forwards: 70\r\n\
        To: \"Alice\" <sip:alice@127.0.0.1>\r\n\
        From: \"Bob B\" <sip:bob@127.0.0.1>;tag=1928301774\r\n\
        P-Asserted-Identity: <sip:+15551234@127.0.0.1>\r\n\
        Call-ID: a84b4c76e66710@pc33\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:bob@127.0.0.1:5080>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 142\r\n\r\n\
        v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

    const NOTIFY: &str = "NOTIFY sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1\r\n\
        To: <sip:alice@127.0.0.1>;tag=abc\r\n\
        From: <sip:bob@127.0.0.1>;tag=def\r\n\
        Call-ID: x@y\r\nCSeq: 2 NOTIFY\r\n\
        Event: refer;id=3\r\n\
        Subscription-State: terminated;reason=noresource\r\n\
        Content-Type: message/sipfrag\r\nContent-Length: 15\r\n\r\n\
        SIP/2.0 200 OK\r\n";

    #[test]
    fn reads_caller_offer_and_transfer_progress() {
        let invite = read_sip_message(INVITE.as_bytes()).unwrap();
        assert!(invite.contains("+15551234"), "P-Asserted-Identity wins over From: {invite}");
        assert!(invite.contains("Some(\"alice\")") && invite.contains("Some(4000)"), "{invite}");
        let notify = read_sip_message(NOTIFY.as_bytes()).unwrap();
        assert!(notify.contains("Some((200, true))"), "{notify}");
        assert_eq!(read_sip_message(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn refer_to_round_trips_replaces() {
        let replaces = "abc@host;to-tag=x y;from-tag=z";
        let ours = format!("<sip:carol@pbx:5070?Replaces={}>", percent_encode(replaces));
        let t = ReferTarget::parse(&ours).unwrap();
        assert_eq!(t, ReferTarget { uri: "sip:carol@pbx:5070".into(), replaces: Some(replaces.into()) });
        assert_eq!(ReferTarget::parse("sip:bob@pbx;method=INVITE").unwrap().uri, "sip:bob@pbx");
        assert_eq!(ReferTarget::parse("<tel:+1555>"), None, "only SIP targets");
        assert_eq!(ReferTarget::parse("<sip:>"), None);
        assert_eq!(ReferTarget::parse("<sip:bob@pbx"), None, "unclosed bracket");
        assert_eq!(ReferTarget::parse("<sip:a@b?Replaces=%zz>").unwrap().replaces, None);
        assert_eq!(percent_decode("%4"), None);
    }

    /// A seeded mutation run over real messages (the fuzz target's corpus seeds):
    /// flipped bytes, truncations, duplicated and spliced spans. Nothing may panic.
    #[test]
    fn mutated_messages_never_panic() {
        let seeds = [INVITE.as_bytes(), NOTIFY.as_bytes()];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let mut m = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % m.len().max(1);
                match next() % 5 {
                    0 => {
                        let i = at.min(m.len() - 1);
                        m[i] = next() as u8;
                    }
                    1 => m.truncate(at),
                    2 => {
                        let end = (at + (next() % 32) as usize).min(m.len());
                        let span = m[at..end].to_vec();
                        m.splice(at..at, span);
                    }
                    3 => m.insert(at, [b':', b';', b'<', b'>', b'\r', b'\n', b' ', 0][next() as usize % 8]),
                    _ => {
                        let other = seeds[next() as usize % seeds.len()];
                        let from = next() as usize % other.len();
                        m.extend_from_slice(&other[from..]);
                    }
                }
                if m.is_empty() {
                    break;
                }
            }
            let _ = read_sip_message(&m);
        }
    }
}
