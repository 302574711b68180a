//! A call's RTP stream as signalling needs it: a bound UDP port that sends G.711
//! silence every 20 ms (so NATs, SBCs and RTP timeouts see a live stream), sends DTMF
//! as RFC 4733 events, and decodes the far end's events. Packets are webrtc-rs's
//! `rtc-rtp` types. The media engine (codecs, devices, jitter buffer, SRTP) replaces
//! the silence with sound; the socket, SSRC and sequence handling stay.
//!
//! Symmetric RTP: the far end's SDP may name an address it does not send from (baresip
//! on loopback names the host's LAN address), so once a packet arrives from the far
//! end we answer to where it came from.

use bytes::Bytes;
use rtc_rtp::{Header, Packet};
use rtc_shared::marshal::{Marshal, Unmarshal};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const FRAME: Duration = Duration::from_millis(20);
const SAMPLES_PER_FRAME: u32 = 160;
/// An RFC 4733 tone lasts 100 ms, then 40 ms of pause before the next digit.
const TONE_FRAMES: u32 = 5;
const GAP_FRAMES: u32 = 2;

/// What the call tells its stream.
#[derive(Debug)]
pub enum RtpCmd {
    /// The negotiated far end: where to send, which audio and event payload types.
    Remote {
        addr: SocketAddr,
        audio_pt: u8,
        event_pt: Option<u8>,
    },
    /// Whether we may send (not when we hold or the far end is inactive/sendonly to us).
    Sending(bool),
    Dtmf(String),
}

/// Handle held by the call; dropping it stops the task.
pub struct RtpStream {
    pub port: u16,
    tx: mpsc::UnboundedSender<RtpCmd>,
}

impl RtpStream {
    /// Binds a port on `ip` and starts the stream task. Received digits go to `digits`.
    pub async fn bind(
        ip: std::net::IpAddr,
        digits: mpsc::UnboundedSender<char>,
    ) -> std::io::Result<RtpStream> {
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(ip, 0)).await?);
        let port = socket.local_addr()?.port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(socket, rx, digits));
        Ok(RtpStream { port, tx })
    }

    pub fn send(&self, cmd: RtpCmd) {
        let _ = self.tx.send(cmd);
    }
}

/// RFC 4733 event code of a DTMF key.
pub fn event_code(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(12 + (c as u8 - b'A')),
        'a'..='d' => Some(12 + (c as u8 - b'a')),
        _ => None,
    }
}

pub fn event_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

struct Sender {
    ssrc: u32,
    seq: u16,
    ts: u32,
    remote: Option<SocketAddr>,
    latched: bool,
    audio_pt: u8,
    event_pt: Option<u8>,
    sending: bool,
    queue: VecDeque<u8>,
    /// The tone being sent: code, frames sent, its timestamp.
    tone: Option<(u8, u32, u32)>,
    gap: u32,
}

impl Sender {
    fn packet(&mut self, pt: u8, marker: bool, ts: u32, payload: Vec<u8>) -> Vec<u8> {
        let p = Packet {
            header: Header {
                version: 2,
                marker,
                payload_type: pt,
                sequence_number: self.seq,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Header::default()
            },
            payload: Bytes::from(payload),
        };
        self.seq = self.seq.wrapping_add(1);
        p.marshal().map(|b| b.to_vec()).unwrap_or_default()
    }

    /// The packets of one 20 ms tick.
    fn tick(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.tone.is_none() && self.gap == 0 && self.event_pt.is_some() {
            if let Some(code) = self.queue.pop_front() {
                self.tone = Some((code, 0, self.ts));
            }
        }
        match (self.tone, self.event_pt) {
            (Some((code, sent, start)), Some(pt)) => {
                let frames = sent + 1;
                let duration = (frames * SAMPLES_PER_FRAME) as u16;
                let end = frames >= TONE_FRAMES;
                // Volume 10 dBm0 below max; the end packet goes three times (§2.5.1.4).
                let payload =
                    vec![code, if end { 0x80 | 10 } else { 10 }, (duration >> 8) as u8, duration as u8];
                let copies = if end { 3 } else { 1 };
                for _ in 0..copies {
                    out.push(self.packet(pt, sent == 0, start, payload.clone()));
                }
                if end {
                    self.tone = None;
                    self.gap = GAP_FRAMES;
                } else {
                    self.tone = Some((code, frames, start));
                }
            }
            _ => {
                self.gap = self.gap.saturating_sub(1);
                // G.711 silence: 0xFF in mu-law, 0xD5 in A-law.
                let silence = if self.audio_pt == 8 { 0xD5 } else { 0xFF };
                let ts = self.ts;
                out.push(self.packet(self.audio_pt, false, ts, vec![silence; SAMPLES_PER_FRAME as usize]));
            }
        }
        self.ts = self.ts.wrapping_add(SAMPLES_PER_FRAME);
        out
    }
}

async fn run(
    socket: Arc<UdpSocket>,
    mut rx: mpsc::UnboundedReceiver<RtpCmd>,
    digits: mpsc::UnboundedSender<char>,
) {
    let mut s = Sender {
        ssrc: crate::util::random_u32(),
        seq: crate::util::random_u32() as u16,
        ts: crate::util::random_u32(),
        remote: None,
        latched: false,
        audio_pt: 0,
        event_pt: None,
        sending: true,
        queue: VecDeque::new(),
        tone: None,
        gap: 0,
    };
    let mut clock = tokio::time::interval(FRAME);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 2048];
    let mut last_event_ts: Option<u32> = None;
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => return,
                Some(RtpCmd::Remote { addr, audio_pt, event_pt }) => {
                    if !s.latched {
                        s.remote = Some(addr);
                    }
                    s.audio_pt = audio_pt;
                    s.event_pt = event_pt;
                }
                Some(RtpCmd::Sending(on)) => s.sending = on,
                Some(RtpCmd::Dtmf(keys)) => s.queue.extend(keys.chars().filter_map(event_code)),
            },
            _ = clock.tick() => {
                if let (true, Some(to)) = (s.sending, s.remote) {
                    for p in s.tick() {
                        let _ = socket.send_to(&p, to).await;
                    }
                }
            }
            got = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let Ok(p) = Packet::unmarshal(&mut &buf[..n]) else { continue };
                if p.header.version != 2 {
                    continue;
                }
                if !s.latched || s.remote != Some(from) {
                    s.remote = Some(from);
                    s.latched = true;
                }
                if Some(p.header.payload_type) == s.event_pt && p.payload.len() >= 4 {
                    // One digit per event timestamp, however many packets carry it.
                    if last_event_ts != Some(p.header.timestamp) {
                        last_event_ts = Some(p.header.timestamp);
                        if let Some(c) = event_char(p.payload[0]) {
                            let _ = digits.send(c);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_both_ways() {
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(event_char(event_code(c).unwrap()), Some(c));
        }
        assert_eq!(event_code('x'), None);
    }

    #[test]
    fn a_digit_is_five_frames_then_three_ends_on_one_timestamp() {
        let mut s = Sender {
            ssrc: 1,
            seq: 65535,
            ts: 1000,
            remote: None,
            latched: false,
            audio_pt: 0,
            event_pt: Some(101),
            sending: true,
            queue: VecDeque::from([5]),
            tone: None,
            gap: 0,
        };
        let packets: Vec<Packet> = (0..TONE_FRAMES + 1)
            .flat_map(|_| s.tick())
            .map(|b| Packet::unmarshal(&mut b.as_slice()).unwrap())
            .collect();
        let events: Vec<&Packet> = packets.iter().filter(|p| p.header.payload_type == 101).collect();
        assert_eq!(events.len(), 4 + 3);
        assert!(events[0].header.marker);
        assert!(events.iter().all(|p| p.header.timestamp == 1000 && p.payload[0] == 5));
        assert!(events[4..].iter().all(|p| p.payload[1] & 0x80 != 0));
        assert_eq!(u16::from_be_bytes([events[6].payload[2], events[6].payload[3]]), 800);
        // Sequence numbers wrap and never repeat; after the tone comes silence.
        assert_eq!(packets[0].header.sequence_number, 65535);
        assert_eq!(packets[1].header.sequence_number, 0);
        assert_eq!(packets.last().unwrap().header.payload_type, 0);
    }
}
