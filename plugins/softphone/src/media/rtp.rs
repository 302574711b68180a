//! A call's RTP stream: a bound port pair (RTP on an even port, RTCP on the next), a
//! 20 ms clock, and the media pipeline between the socket and the devices (the rest of
//! `media/`): each tick reads a frame from the input device, encodes it and sends it (or
//! an RFC 4733 DTMF event instead), and plays one frame out of the jitter buffer into
//! the output device. Every 5 s it sends an RTCP report and tells the engine how the
//! call sounds. Packets are webrtc-rs's `rtc-rtp`/`rtc-rtcp` types.
//!
//! Symmetric RTP: the far end's SDP may name an address it does not send from (baresip
//! on loopback names the host's LAN address), so once a packet arrives from the far
//! end we answer to where it came from.

use super::bridge::Bridge;
use super::device::{self, DeviceSpec};
use super::echo::Canceller;
use super::io::{Silence, Sink, Source};
use super::jitter::{Concealer, JitterBuffer, Playout};
use super::quality::{self, Receiving};
use super::ring::{self, Cadence, Tone};
use super::srtp::Srtp;
use super::{CodecPair, FRAME_MS};
use crate::sdes::Keys;
use crate::sdp::{Codec, EventFormat, Format};
use crate::util;
use bytes::Bytes;
use rtc_rtp::{Header, Packet};
use rtc_shared::marshal::{Marshal, Unmarshal};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const FRAME: Duration = Duration::from_millis(FRAME_MS as u64);
/// Units per 20 ms frame on an 8 kHz clock (G.711's, and telephone-event's usual one).
const EVENT_UNITS_PER_FRAME: u32 = 160;
/// An RFC 4733 tone lasts 100 ms, then 40 ms of pause before the next digit.
const TONE_FRAMES: u32 = 5;
const GAP_FRAMES: u32 = 2;
/// RTCP and quality reports every this many frames (5 s).
const REPORT_FRAMES: u32 = 250;

/// What the call tells its stream.
#[derive(Debug)]
pub enum RtpCmd {
    /// The negotiated far end: where to send, which format, the telephone-event entry
    /// we send digits with, and every payload type digits may arrive on.
    Remote {
        addr: SocketAddr,
        format: Format,
        event: Option<EventFormat>,
        events_in: Vec<u8>,
        /// SRTP keys (ours for sending, theirs for receiving) when the call is encrypted.
        srtp: Option<(Keys, Keys)>,
    },
    /// Whether we may send (not when we hold or the far end is inactive/sendonly to us).
    Sending(bool),
    Dtmf(String),
    /// New devices for a live call (the call stays up).
    Devices(MediaSetup),
    /// Join a local conference: the host keeps its devices and shares them, a guest
    /// gives its own up and talks through the bridge.
    Conference {
        bridge: Bridge,
        host: bool,
    },
    /// Leave the conference: back to the call's own devices.
    LeaveConference,
    /// Mute: silence instead of the microphone (the stream keeps flowing).
    Mute(bool),
    /// Play a ringback tone to our speaker until the far end's audio arrives (Some), or
    /// stop it (None).
    Ringback(Option<Tone>),
}

/// What the stream tells the call.
#[derive(Debug)]
pub enum MediaEvent {
    Digit(char),
    Quality(ucdesk_sdk::contract::phone::CallQuality),
    /// A device could not be opened; the call goes on with silence there.
    Device(String),
}

/// The devices a call uses and how it names itself in RTCP.
#[derive(Debug, Clone, Default)]
pub struct MediaSetup {
    pub input: DeviceSpec,
    pub output: DeviceSpec,
    pub cname: String,
    /// Cancel the speaker's echo from the microphone (sound cards only).
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
}

/// Handle held by the call; dropping it stops the task.
pub struct RtpStream {
    pub port: u16,
    tx: mpsc::UnboundedSender<RtpCmd>,
}

impl RtpStream {
    /// Binds an RTP/RTCP port pair on `ip` and starts the stream task. `callid` names
    /// quality reports; events go to `events`.
    pub async fn bind(
        ip: std::net::IpAddr,
        callid: String,
        setup: MediaSetup,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> std::io::Result<RtpStream> {
        let (rtp, rtcp) = bind_pair(ip).await?;
        let port = rtp.local_addr()?.port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(Arc::new(rtp), Arc::new(rtcp), rx, callid, setup, events));
        Ok(RtpStream { port, tx })
    }

    pub fn send(&self, cmd: RtpCmd) {
        let _ = self.tx.send(cmd);
    }
}

/// An even port for RTP and the next one for RTCP (RFC 3550 §11).
async fn bind_pair(ip: std::net::IpAddr) -> std::io::Result<(UdpSocket, UdpSocket)> {
    let mut last = None;
    for _ in 0..64 {
        let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = rtp.local_addr()?.port();
        if port % 2 == 1 || port == u16::MAX {
            continue;
        }
        match UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
            Ok(rtcp) => return Ok((rtp, rtcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free RTP/RTCP port pair")))
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
    /// RTP timestamp units per frame for the audio codec.
    ts_step: u32,
    remote: Option<SocketAddr>,
    latched: bool,
    /// None until the call's session says what to send: a ringback or the far end's
    /// early packets must not make us send in a format the answer did not pick.
    audio_pt: Option<u8>,
    event: Option<EventFormat>,
    packets: u32,
    octets: u32,
    sending: bool,
    queue: VecDeque<u8>,
    /// The tone being sent: code, frames sent, its timestamp.
    tone: Option<(u8, u32, u32)>,
    gap: u32,
}

impl Sender {
    /// A stream's sender before its session is known: sending allowed, no format yet.
    fn new(ssrc: u32, seq: u16, ts: u32) -> Sender {
        Sender {
            ssrc,
            seq,
            ts,
            ts_step: EVENT_UNITS_PER_FRAME,
            remote: None,
            latched: false,
            audio_pt: None,
            event: None,
            packets: 0,
            octets: 0,
            sending: true,
            queue: VecDeque::new(),
            tone: None,
            gap: 0,
        }
    }

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
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(p.payload.len() as u32);
        p.marshal().map(|b| b.to_vec()).unwrap_or_default()
    }

    /// The packets of one 20 ms tick; `audio` encodes the next frame when it is audio's turn.
    fn tick(&mut self, audio: impl FnOnce() -> Vec<u8>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some(audio_pt) = self.audio_pt else { return out };
        if self.tone.is_none()
            && self.gap == 0
            && self.event.is_some()
            && let Some(code) = self.queue.pop_front()
        {
            self.tone = Some((code, 0, self.ts));
        }
        match (self.tone, self.event) {
            (Some((code, sent, start)), Some(EventFormat { pt, rate })) => {
                let frames = sent + 1;
                // The duration counts on the event's own clock (160 units a frame at 8 kHz,
                // 960 at 48 kHz).
                let duration = (frames * rate / 50).min(u16::MAX as u32) as u16;
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
                let ts = self.ts;
                let payload = audio();
                out.push(self.packet(audio_pt, false, ts, payload));
            }
        }
        self.ts = self.ts.wrapping_add(self.ts_step);
        out
    }
}

/// Opening a sound card can take a while (ALSA probing, a sound server's handshake):
/// tell the runtime this worker is busy so the other tasks move elsewhere meanwhile.
fn open_blocking<T>(open: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(open),
        _ => open(),
    }
}

/// The media side of one call, owned by its stream task.
struct Media {
    callid: String,
    setup: MediaSetup,
    codec: Option<CodecPair>,
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
    jitter: JitterBuffer,
    conceal: Concealer,
    recv: Receiving,
    /// Our recent SRs (id, when), to match the far end's LSR for the RTT.
    sent_srs: VecDeque<(u32, Instant)>,
    remote: Option<quality::Remote>,
    frame: Vec<i16>,
    /// The conference this call is in, and whether it hosts (keeps the devices).
    conference: Option<(Bridge, bool)>,
    muted: bool,
    /// Echo canceller, when both devices are sound cards.
    aec: Option<Canceller>,
    /// The ringback tone, played while no audio has come from the far end.
    ringback: Option<Box<dyn Source>>,
    /// The host's speaker mix in a conference.
    mixed: Vec<i16>,
}

impl Media {
    /// (Re)creates the codec for `format`; devices open at its rate the first time and
    /// again only if the rate changes.
    fn set_format(&mut self, format: Format, events: &mpsc::UnboundedSender<MediaEvent>) {
        if self.codec.as_ref().is_some_and(|c| c.format == format) {
            return;
        }
        let reopen = self.codec.as_ref().is_none_or(|c| c.rate() != format.codec.audio_rate());
        let codec = CodecPair::new(format);
        self.frame = vec![0; codec.frame];
        self.codec = Some(codec);
        if reopen {
            self.recv = Receiving::new(format.codec.clock_rate());
            self.jitter = JitterBuffer::default();
            self.reopen(true, true, events);
        }
    }

    /// New devices mid-call: reopened at the codec's rate; the stream itself is untouched.
    fn switch_devices(&mut self, setup: MediaSetup, events: &mpsc::UnboundedSender<MediaEvent>) {
        let changed = (setup.input != self.setup.input, setup.output != self.setup.output);
        self.setup = setup;
        // Even with the same devices, the echo canceller settings may have changed.
        self.reopen(changed.0, changed.1, events);
    }

    /// Opens the configured devices (input and/or output) and puts them in place,
    /// inside the conference wiring when the call hosts one.
    fn reopen(&mut self, input: bool, output: bool, events: &mpsc::UnboundedSender<MediaEvent>) {
        let Some(rate) = self.codec.as_ref().map(|c| c.rate()) else { return };
        let (input_spec, output_spec) =
            (self.setup.input.for_call(&self.callid), self.setup.output.for_call(&self.callid));
        if input {
            self.source = open_blocking(|| device::open_source(&input_spec, rate)).unwrap_or_else(|e| {
                let _ = events.send(MediaEvent::Device(format!("microphone: {e}")));
                Box::new(Silence)
            });
        }
        if output {
            self.sink = open_blocking(|| device::open_sink(&output_spec, rate)).unwrap_or_else(|e| {
                let _ = events.send(MediaEvent::Device(format!("speaker: {e}")));
                Box::new(Silence)
            });
        }
        // Acoustic echo exists only between a real speaker and microphone.
        let cards = [&self.setup.input, &self.setup.output]
            .iter()
            .all(|d| matches!(d, DeviceSpec::Default | DeviceSpec::Card(_)));
        let wanted = self.setup.echo_cancellation || self.setup.noise_suppression;
        self.aec = (cards && wanted && matches!(rate, 8000 | 16000 | 32000 | 48000))
            .then(|| Canceller::new(rate, self.setup.noise_suppression));
    }

    fn ringback(&mut self, tone: Option<Tone>, events: &mpsc::UnboundedSender<MediaEvent>) {
        let Some(tone) = tone else {
            self.ringback = None;
            return;
        };
        if self.codec.is_none() {
            // No session yet (a 180 without SDP): open the devices for G.711 meanwhile;
            // the real codec reopens them if its rate differs.
            self.set_format(Format { pt: 0, codec: Codec::Pcmu }, events);
        }
        let rate = self.codec.as_ref().map_or(8000, |c| c.rate());
        self.ringback = ring::source(&tone, Cadence::Ringback, rate, 100).ok();
    }

    fn join(&mut self, bridge: Bridge, host: bool) {
        self.conference = Some((bridge, host));
    }

    fn leave(&mut self) {
        if let Some((bridge, _)) = self.conference.take() {
            bridge.leave(&self.callid);
        }
    }

    fn encode_next(&mut self) -> Vec<u8> {
        let Some(codec) = &mut self.codec else { return Vec::new() };
        let rate = codec.rate();
        match &self.conference {
            // A guest's "microphone" is the host's, plus the host's far end.
            Some((bridge, false)) => bridge.guest_capture(&self.callid, &mut self.frame, rate),
            _ => {
                self.source.read(&mut self.frame);
                if let Some(aec) = &mut self.aec {
                    aec.capture(&mut self.frame);
                }
                if self.muted {
                    self.frame.fill(0);
                }
                if let Some((bridge, true)) = &self.conference {
                    bridge.host_capture(&self.callid, &mut self.frame, rate);
                }
            }
        }
        codec.encode(&self.frame)
    }

    /// One frame out of the jitter buffer into the output device.
    fn play(&mut self) {
        let Some(codec) = &mut self.codec else { return };
        match self.jitter.pop() {
            Playout::Frame(p) if codec.decode(&p, &mut self.frame) => {
                // The far end's audio is here: no more ringback, whatever happens next.
                self.ringback = None;
                self.conceal.good(&self.frame);
            }
            Playout::Frame(_) | Playout::Conceal => self.conceal.conceal(&mut self.frame),
            Playout::Buffering => match &mut self.ringback {
                Some(tone) => tone.read(&mut self.frame),
                None => self.frame.fill(0),
            },
        }
        let rate = codec.rate();
        match &self.conference {
            Some((bridge, false)) => bridge.guest_playout(&self.callid, &self.frame, rate),
            Some((bridge, true)) => {
                bridge.host_playout(&self.callid, &self.frame, rate, &mut self.mixed);
                if let Some(aec) = &mut self.aec {
                    aec.render(&self.mixed);
                }
                self.sink.write(&self.mixed);
            }
            None => {
                if let Some(aec) = &mut self.aec {
                    aec.render(&self.frame);
                }
                self.sink.write(&self.frame);
            }
        }
    }

    fn quality(&self, callid: &str) -> Option<ucdesk_sdk::contract::phone::CallQuality> {
        let codec = self.codec.as_ref()?;
        let expected = self.recv.expected().max(1) as f64;
        let loss = (self.recv.lost() as f64 + self.jitter.stats.late as f64) / expected;
        let rtt_ms = self.remote.and_then(|r| r.rtt).map(|d| d.as_secs_f64() * 1000.0);
        let (ie, bpl) = codec.impairment();
        // Without an RTT yet, assume a LAN's 20 ms rather than nothing.
        let mos = quality::mos(rtt_ms.unwrap_or(20.0), self.recv.jitter_ms(), loss, ie, bpl);
        Some(ucdesk_sdk::contract::phone::CallQuality {
            callid: callid.to_string(),
            codec: codec.format.codec.id().to_string(),
            mos: (mos * 100.0).round() / 100.0,
            rtt_ms: rtt_ms.map(|r| (r * 10.0).round() / 10.0),
            jitter_ms: (self.recv.jitter_ms() * 10.0).round() / 10.0,
            loss_pct: (loss * 1000.0).round() / 10.0,
            remote_loss_pct: self.remote.map(|r| (r.fraction_lost * 1000.0).round() / 10.0),
            packets_received: self.recv.received,
            packets_lost: self.recv.lost(),
            concealed: self.jitter.stats.concealed,
            jitter_buffer_ms: (self.jitter.target() as u32) * FRAME_MS,
        })
    }
}

async fn run(
    socket: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
    mut rx: mpsc::UnboundedReceiver<RtpCmd>,
    callid: String,
    setup: MediaSetup,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let mut s = Sender::new(util::random_u32(), util::random_u32() as u16, util::random_u32());
    let mut m = Media {
        callid: callid.clone(),
        setup,
        codec: None,
        source: Box::new(Silence),
        sink: Box::new(Silence),
        jitter: JitterBuffer::default(),
        conceal: Concealer::default(),
        recv: Receiving::new(8000),
        sent_srs: VecDeque::new(),
        remote: None,
        frame: Vec::new(),
        conference: None,
        muted: false,
        aec: None,
        ringback: None,
        mixed: Vec::new(),
    };
    let mut rtcp_to: Option<SocketAddr> = None;
    let mut clock = tokio::time::interval(FRAME);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 2048];
    let mut rtcp_buf = vec![0u8; 2048];
    let mut last_event_ts: Option<u32> = None;
    let mut events_in: Vec<u8> = Vec::new();
    let mut ticks: u32 = 0;
    // SRTP, when the call is encrypted: every packet in and out goes through it.
    let mut srtp: Option<Srtp> = None;
    let mut srtp_keys: Option<(Keys, Keys)> = None;
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => return,
                Some(RtpCmd::Remote { addr, format, event, events_in: digits_on, srtp: keys }) => {
                    srtp = match keys {
                        Some((ours, theirs)) if srtp_keys.as_ref() != Some(&(ours.clone(), theirs.clone())) => {
                            srtp_keys = Some((ours.clone(), theirs.clone()));
                            match Srtp::new(&ours, &theirs) {
                                Ok(s) => Some(s),
                                Err(e) => {
                                    let _ = events.send(MediaEvent::Device(format!("encryption: {e}")));
                                    None
                                }
                            }
                        }
                        Some(_) => srtp,
                        None => {
                            srtp_keys = None;
                            None
                        }
                    };
                    if !s.latched {
                        s.remote = Some(addr);
                        rtcp_to = Some(SocketAddr::new(addr.ip(), addr.port().wrapping_add(1)));
                    }
                    m.set_format(format, &events);
                    s.audio_pt = Some(format.pt);
                    s.ts_step = m.codec.as_ref().map_or(EVENT_UNITS_PER_FRAME, |c| c.ts_step);
                    s.event = event;
                    events_in = digits_on;
                }
                Some(RtpCmd::Sending(on)) => s.sending = on,
                Some(RtpCmd::Devices(setup)) => m.switch_devices(setup, &events),
                Some(RtpCmd::Conference { bridge, host }) => m.join(bridge, host),
                Some(RtpCmd::LeaveConference) => m.leave(),
                Some(RtpCmd::Mute(on)) => m.muted = on,
                Some(RtpCmd::Ringback(tone)) => m.ringback(tone, &events),
                Some(RtpCmd::Dtmf(keys)) => s.queue.extend(keys.chars().filter_map(event_code)),
            },
            _ = clock.tick() => {
                if let (true, Some(to)) = (s.sending, s.remote) {
                    for p in s.tick(|| m.encode_next()) {
                        let p = match &mut srtp {
                            Some(c) => match c.protect_rtp(&p) { Some(p) => p, None => continue },
                            None => p,
                        };
                        let _ = socket.send_to(&p, to).await;
                    }
                }
                m.jitter.adapt(m.recv.jitter_ms(), FRAME_MS as f64);
                m.play();
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(REPORT_FRAMES) && m.codec.is_some() {
                    let now = Instant::now();
                    if let Some(to) = rtcp_to {
                        let sent = (s.packets > 0).then_some((s.ts, s.packets, s.octets));
                        let ntp = quality::ntp_now();
                        let report = quality::build_report(s.ssrc, ntp, sent, m.recv.report(now), &m.setup.cname);
                        if sent.is_some() {
                            m.sent_srs.push_back((quality::sr_id(ntp), now));
                            if m.sent_srs.len() > 8 {
                                m.sent_srs.pop_front();
                            }
                        }
                        let report = match &mut srtp {
                            Some(c) => c.protect_rtcp(&report),
                            None => Some(report),
                        };
                        if let Some(report) = report {
                            let _ = rtcp.send_to(&report, to).await;
                        }
                    }
                    if let Some(q) = m.quality(&callid) {
                        let _ = events.send(MediaEvent::Quality(q));
                    }
                }
            }
            got = rtcp.recv_from(&mut rtcp_buf) => {
                let Ok((n, from)) = got else { continue };
                let clear = match &mut srtp {
                    Some(c) => match c.unprotect_rtcp(&rtcp_buf[..n]) { Some(p) => p, None => continue },
                    None => rtcp_buf[..n].to_vec(),
                };
                rtcp_to = Some(from);
                let srs: Vec<(u32, Instant)> = m.sent_srs.iter().copied().collect();
                if let Some(r) = quality::read_report(&clear, s.ssrc, &mut m.recv, &srs, Instant::now()) {
                    m.remote = Some(r);
                }
            }
            got = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                // An encrypted call drops what does not authenticate (noise, attacks).
                let clear = match &mut srtp {
                    Some(c) => match c.unprotect_rtp(&buf[..n]) { Some(p) => p, None => continue },
                    None => buf[..n].to_vec(),
                };
                let Ok(p) = Packet::unmarshal(&mut clear.as_slice()) else { continue };
                if p.header.version != 2 {
                    continue;
                }
                if !s.latched || s.remote != Some(from) {
                    s.remote = Some(from);
                    s.latched = true;
                }
                if events_in.contains(&p.header.payload_type) && p.payload.len() >= 4 {
                    // One digit per event timestamp, however many packets carry it.
                    if last_event_ts != Some(p.header.timestamp) {
                        last_event_ts = Some(p.header.timestamp);
                        if let Some(c) = event_char(p.payload[0]) {
                            let _ = events.send(MediaEvent::Digit(c));
                        }
                    }
                } else if m.codec.as_ref().is_some_and(|c| c.format.pt == p.header.payload_type) {
                    m.recv.packet(p.header.ssrc, p.header.sequence_number, p.header.timestamp, Instant::now());
                    m.jitter.push(p.header.sequence_number, p.payload.to_vec());
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
        let mut s = Sender::new(1, 65535, 1000);
        s.audio_pt = Some(0);
        s.event = Some(EventFormat { pt: 101, rate: 8000 });
        s.queue.push_back(5);
        let packets: Vec<Packet> = (0..TONE_FRAMES + 1)
            .flat_map(|_| s.tick(|| vec![0xff; 160]))
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

    #[test]
    fn nothing_goes_out_before_the_session_says_what_and_digits_count_on_their_own_clock() {
        let mut s = Sender::new(1, 1, 0);
        s.ts_step = 960;
        s.queue.push_back(1);
        // A ringback (or the far end's early packets) before the answer: silence on the wire.
        assert!(s.tick(|| vec![0xff; 160]).is_empty());
        s.audio_pt = Some(96);
        s.event = Some(EventFormat { pt: 101, rate: 48_000 });
        let packets: Vec<Packet> = (0..TONE_FRAMES)
            .flat_map(|_| s.tick(|| vec![1; 40]))
            .map(|b| Packet::unmarshal(&mut b.as_slice()).unwrap())
            .collect();
        let end = packets.last().unwrap();
        assert_eq!(end.header.payload_type, 101);
        assert_eq!(u16::from_be_bytes([end.payload[2], end.payload[3]]), 4800);
    }
}
