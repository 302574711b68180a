//! Call quality as the phone measures it: RFC 3550 receiver statistics (loss,
//! interarrival jitter), RTCP sender and receiver reports to and from the far end
//! (which give the round-trip time and what the far end lost of ours), and a MOS
//! estimate from the ITU-T G.107 E-model, simplified the usual way for VoIP clients.

use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What we know of the far end's stream (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Default)]
pub struct Receiving {
    pub ssrc: Option<u32>,
    base_seq: Option<u64>,
    max_seq: u64,
    cycles: u64,
    last_seq: u16,
    pub received: u64,
    // For the fraction lost since the last report.
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter in timestamp units, as RFC 3550 keeps it (×16 fixed point avoided: f64).
    jitter: f64,
    last_transit: Option<i64>,
    clock_rate: u32,
    started: Option<Instant>,
    /// When the last SR from the far end arrived, and its middle 32 NTP bits.
    last_sr: Option<(Instant, u32)>,
}

impl Receiving {
    pub fn new(clock_rate: u32) -> Receiving {
        Receiving { clock_rate, ..Default::default() }
    }

    /// One arriving RTP packet: its SSRC, sequence number and timestamp.
    pub fn packet(&mut self, ssrc: u32, seq: u16, ts: u32, now: Instant) {
        if self.ssrc != Some(ssrc) {
            // A new source (or the first): statistics start over.
            *self = Receiving { clock_rate: self.clock_rate, last_sr: self.last_sr, ..Default::default() };
            self.ssrc = Some(ssrc);
            self.base_seq = Some(seq as u64);
            self.max_seq = seq as u64;
            self.last_seq = seq;
        }
        if seq < self.last_seq && self.last_seq.wrapping_sub(seq) > 0x8000 {
            self.cycles += 0x1_0000;
        }
        let ext = self.cycles + seq as u64;
        if ext > self.max_seq {
            self.max_seq = ext;
            self.last_seq = seq;
        }
        self.received += 1;
        let started = *self.started.get_or_insert(now);
        let arrival = (now.duration_since(started).as_secs_f64() * self.clock_rate as f64) as i64;
        let transit = arrival - ts as i64;
        if let Some(prev) = self.last_transit {
            let d = (transit - prev).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    pub fn expected(&self) -> u64 {
        self.base_seq.map(|b| self.max_seq + 1 - b).unwrap_or(0)
    }

    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    pub fn jitter_ms(&self) -> f64 {
        if self.clock_rate == 0 { 0.0 } else { self.jitter * 1000.0 / self.clock_rate as f64 }
    }

    /// A reception report block about the far end's stream; resets the interval.
    pub fn report(&mut self, now: Instant) -> Option<ReceptionReport> {
        let ssrc = self.ssrc?;
        let expected = self.expected();
        let interval_expected = expected - self.expected_prior;
        let interval_received = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let interval_lost = interval_expected.saturating_sub(interval_received);
        let fraction_lost =
            (interval_lost << 8).checked_div(interval_expected).map_or(0, |f| f.min(255) as u8);
        let (lsr, dlsr) = match self.last_sr {
            Some((at, middle)) => (middle, (now.duration_since(at).as_secs_f64() * 65536.0) as u32),
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc,
            fraction_lost,
            total_lost: self.lost().min(0x7f_ffff) as u32,
            last_sequence_number: self.max_seq as u32,
            jitter: self.jitter as u32,
            last_sender_report: lsr,
            delay: dlsr,
        })
    }
}

/// What the far end reports about our stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct Remote {
    pub fraction_lost: f64,
    pub rtt: Option<Duration>,
}

/// NTP time now (seconds since 1900 in the high 32 bits).
pub fn ntp_now() -> u64 {
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_unix.as_secs() + 2_208_988_800;
    let frac = ((since_unix.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

fn middle32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Builds our compound RTCP report: an SR stamped `ntp` when we sent media (else an
/// RR), with a reception report about the far end, and an SDES CNAME (RFC 3550 §6.1
/// requires one). Keep `sr_id(ntp)`: the far end's reports name this SR by it.
pub fn build_report(
    ssrc: u32,
    ntp: u64,
    sent: Option<(u32, u32, u32)>,
    about: Option<ReceptionReport>,
    cname: &str,
) -> Vec<u8> {
    let reports: Vec<ReceptionReport> = about.into_iter().collect();
    let first: Box<dyn rtc_rtcp::packet::Packet> = match sent {
        Some((rtp_time, packet_count, octet_count)) => Box::new(SenderReport {
            ssrc,
            ntp_time: ntp,
            rtp_time,
            packet_count,
            octet_count,
            reports,
            profile_extensions: Default::default(),
        }),
        None => Box::new(ReceiverReport { ssrc, reports, profile_extensions: Default::default() }),
    };
    let sdes = Box::new(SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: ssrc,
            items: vec![SourceDescriptionItem {
                sdes_type: SdesType::SdesCname,
                text: bytes::Bytes::copy_from_slice(cname.as_bytes()),
            }],
        }],
    });
    rtc_rtcp::packet::marshal(&[first, sdes]).map(|b| b.to_vec()).unwrap_or_default()
}

/// Reads a compound RTCP packet from the far end: remembers its SR (for our next
/// report's LSR/DLSR) and returns what it says about our stream `our_ssrc`.
pub fn read_report(
    data: &[u8],
    our_ssrc: u32,
    recv: &mut Receiving,
    sent_srs: &[(u32, Instant)],
    now: Instant,
) -> Option<Remote> {
    let packets = rtc_rtcp::packet::unmarshal(&mut &data[..]).ok()?;
    let mut found = None;
    for p in &packets {
        let any = p.as_any();
        let blocks = if let Some(sr) = any.downcast_ref::<SenderReport>() {
            recv.last_sr = Some((now, middle32(sr.ntp_time)));
            &sr.reports
        } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            &rr.reports
        } else {
            continue;
        };
        for b in blocks.iter().filter(|b| b.ssrc == our_ssrc) {
            // RTT = now - LSR - DLSR (RFC 3550 §6.4.1), with LSR matched to the SR we sent.
            // Saturating: the far end may count its delay in whole milliseconds (libre
            // does), which can exceed a sub-millisecond loopback round trip; that is an
            // RTT of about zero, not an unknown one.
            let rtt = sent_srs
                .iter()
                .find(|(mid, _)| *mid == b.last_sender_report && b.last_sender_report != 0)
                .map(|(_, at)| {
                    let dlsr = Duration::from_secs_f64(b.delay as f64 / 65536.0);
                    now.duration_since(*at).saturating_sub(dlsr)
                });
            found = Some(Remote { fraction_lost: b.fraction_lost as f64 / 256.0, rtt });
        }
    }
    found
}

/// The middle 32 bits of an NTP time: how an SR is named in the reports about it.
pub fn sr_id(ntp: u64) -> u32 {
    middle32(ntp)
}

/// Mean opinion score (1-4.5) from the simplified E-model (ITU-T G.107): delay from
/// half the RTT plus the jitter buffer plus the codec's own; equipment impairment from
/// the codec and the loss, with packet-loss robustness for concealment.
pub fn mos(rtt_ms: f64, jitter_ms: f64, loss: f64, codec_ie: f64, codec_bpl: f64) -> f64 {
    let delay = rtt_ms / 2.0 + 2.0 * jitter_ms + 10.0;
    let id = 0.024 * delay + if delay > 177.3 { 0.11 * (delay - 177.3) } else { 0.0 };
    let ppl = (loss * 100.0).clamp(0.0, 100.0);
    let ie_eff = codec_ie + (95.0 - codec_ie) * ppl / (ppl + codec_bpl);
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    (1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
}

/// The exportable report of one logged call (Diagnostic Logs → Call Quality).
pub fn report_text(
    callid: &str,
    number: &str,
    start: &str,
    reports: &[ucdesk_sdk::contract::phone::CallQuality],
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let n = reports.len().max(1) as f64;
    let avg =
        |f: &dyn Fn(&ucdesk_sdk::contract::phone::CallQuality) -> f64| reports.iter().map(f).sum::<f64>() / n;
    let max = |f: &dyn Fn(&ucdesk_sdk::contract::phone::CallQuality) -> f64| {
        reports.iter().map(f).fold(0.0, f64::max)
    };
    let rtts: Vec<f64> = reports.iter().filter_map(|r| r.rtt_ms).collect();
    let _ = writeln!(out, "Call quality report");
    let _ = writeln!(out, "Call:     {callid}");
    let _ = writeln!(out, "Number:   {number}");
    let _ = writeln!(out, "Started:  {start}");
    if let Some(last) = reports.last() {
        let _ = writeln!(out, "Codec:    {}", last.codec);
        let min_mos = reports.iter().map(|r| r.mos).fold(f64::MAX, f64::min);
        let _ = writeln!(out, "MOS:      average {:.2}, lowest {:.2}", avg(&|r| r.mos), min_mos);
        match rtts.is_empty() {
            true => {
                let _ = writeln!(out, "RTT:      not reported by the far end");
            }
            false => {
                let (a, m) = (
                    rtts.iter().sum::<f64>() / rtts.len() as f64,
                    rtts.iter().fold(0.0, |a: f64, b| a.max(*b)),
                );
                let _ = writeln!(out, "RTT:      average {a:.1} ms, highest {m:.1} ms");
            }
        }
        let _ = writeln!(
            out,
            "Jitter:   average {:.1} ms, highest {:.1} ms",
            avg(&|r| r.jitter_ms),
            max(&|r| r.jitter_ms)
        );
        let _ = writeln!(
            out,
            "Loss:     {:.1}% received ({} of {} packets), far end reported {}",
            last.loss_pct,
            last.packets_lost,
            last.packets_received + last.packets_lost,
            last.remote_loss_pct.map(|l| format!("{l:.1}%")).unwrap_or_else(|| "nothing".into())
        );
        let _ = writeln!(out, "Concealed frames: {}", last.concealed);
    }
    let _ = writeln!(out, "\n  #   MOS   RTT ms  jitter ms  loss %  buffer ms");
    for (i, r) in reports.iter().enumerate() {
        let rtt = r.rtt_ms.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:>3}  {:.2}  {rtt:>6}  {:>9.1}  {:>6.1}  {:>9}",
            i + 1,
            r.mos,
            r.jitter_ms,
            r.loss_pct,
            r.jitter_buffer_ms
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_jitter_follow_rfc3550() {
        let mut r = Receiving::new(8000);
        let t0 = Instant::now();
        // 100 packets, every 10th missing, perfectly paced: loss 10 %, jitter 0.
        for i in 0..100u32 {
            if i % 10 != 5 {
                r.packet(
                    7,
                    65500u16.wrapping_add(i as u16),
                    i * 160,
                    t0 + Duration::from_millis(20 * i as u64),
                );
            }
        }
        assert_eq!((r.expected(), r.received, r.lost()), (100, 90, 10));
        assert!(r.jitter_ms() < 1.0, "{}", r.jitter_ms());
        let block = r.report(t0).unwrap();
        assert_eq!(block.fraction_lost, 25); // 10/100 * 256
        assert_eq!(block.total_lost, 10);
    }

    #[test]
    fn reports_round_trip_and_give_rtt() {
        let t0 = Instant::now();
        let mut ours = Receiving::new(8000);
        ours.packet(2, 1, 0, t0);
        // We send an SR; the far end's RR names it 30 ms later with 10 ms of its own delay.
        let sr = build_report(1, ntp_now(), Some((160, 1, 160)), ours.report(t0), "alice@ucdesk");
        let parsed = rtc_rtcp::packet::unmarshal(&mut &sr[..]).unwrap();
        let sent = parsed[0].as_any().downcast_ref::<SenderReport>().unwrap();
        let id = sr_id(sent.ntp_time);
        let mut theirs = Receiving::new(8000);
        theirs.packet(1, 1, 0, t0);
        let mut block = theirs.report(t0).unwrap();
        block.last_sender_report = id;
        block.delay = (0.010 * 65536.0) as u32;
        let rr = rtc_rtcp::packet::marshal(&[Box::new(ReceiverReport {
            ssrc: 2,
            reports: vec![block.clone()],
            profile_extensions: Default::default(),
        }) as Box<dyn rtc_rtcp::packet::Packet>])
        .unwrap();
        let remote = read_report(&rr, 1, &mut ours, &[(id, t0)], t0 + Duration::from_millis(30)).unwrap();
        let rtt = remote.rtt.unwrap().as_secs_f64() * 1000.0;
        assert!((19.0..=21.0).contains(&rtt), "{rtt}");
        // A far end whose delay rounds up past the elapsed time still gives an RTT (zero).
        let mut late = block;
        late.delay = (0.031 * 65536.0) as u32;
        let rr = rtc_rtcp::packet::marshal(&[Box::new(ReceiverReport {
            ssrc: 2,
            reports: vec![late],
            profile_extensions: Default::default(),
        }) as Box<dyn rtc_rtcp::packet::Packet>])
        .unwrap();
        let remote = read_report(&rr, 1, &mut ours, &[(id, t0)], t0 + Duration::from_millis(30)).unwrap();
        assert_eq!(remote.rtt, Some(Duration::ZERO));
        assert!(read_report(b"junk", 1, &mut ours, &[], t0).is_none());
    }

    #[test]
    fn mos_falls_as_loss_and_delay_rise() {
        let clean = mos(20.0, 2.0, 0.0, 0.0, 25.1);
        assert!(clean > 4.3, "{clean}");
        let lossy = mos(20.0, 2.0, 0.05, 0.0, 25.1);
        let worse = mos(20.0, 2.0, 0.15, 0.0, 25.1);
        let far = mos(600.0, 2.0, 0.0, 0.0, 25.1);
        assert!(clean > lossy && lossy > worse, "{clean} {lossy} {worse}");
        assert!(far < clean - 0.5, "{far}");
        assert!((1.0..=4.5).contains(&mos(5000.0, 500.0, 1.0, 0.0, 25.1)));
    }
}
