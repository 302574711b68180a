//! The receive side's jitter buffer: packets go in as they arrive (any order, with
//! gaps and duplicates), one 20 ms frame comes out per media tick. It holds `target`
//! frames before playing, and the target follows the measured interarrival jitter
//! (RFC 3550 §6.4.1) so a calm network costs little delay and a rough one does not
//! starve the speaker. A missing frame is reported as [`Playout::Conceal`]; the caller
//! conceals it (repeat the last frame, fading).

use std::collections::BTreeMap;

/// Frames held before playout starts, whatever the jitter says.
const MIN_TARGET: usize = 1;
/// Never hold more than this (200 ms at 20 ms frames): past that, talk is awkward.
const MAX_TARGET: usize = 10;
/// A sequence jump larger than this (1 s of frames) is a restarted stream, not loss.
const RESYNC: u64 = 50;

#[derive(Debug, PartialEq)]
pub enum Playout {
    /// The next frame's payload.
    Frame(Vec<u8>),
    /// The frame is missing (lost, or not here yet): conceal it.
    Conceal,
    /// Still filling up before (re)starting: play silence, nothing is lost.
    Buffering,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub played: u64,
    pub concealed: u64,
    /// Arrived after their turn (counted as lost by the listener, not by the network).
    pub late: u64,
    pub duplicates: u64,
    /// Dropped to cut delay when the buffer overfilled.
    pub discarded: u64,
}

pub struct JitterBuffer {
    packets: BTreeMap<u64, Vec<u8>>,
    /// The extended sequence number to play next.
    next: Option<u64>,
    /// Highest extended sequence number seen (for unwrapping 16-bit numbers).
    highest: Option<u64>,
    target: usize,
    playing: bool,
    pub stats: Stats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        JitterBuffer {
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            target: 2,
            playing: false,
            stats: Stats::default(),
        }
    }
}

impl JitterBuffer {
    /// Sets the target depth from the interarrival jitter: three times the jitter plus
    /// 10 ms (uniformly spread delays reach three times their RFC 3550 jitter).
    pub fn adapt(&mut self, jitter_ms: f64, frame_ms: f64) {
        let frames = ((3.0 * jitter_ms + 10.0) / frame_ms).ceil() as usize;
        self.target = frames.clamp(MIN_TARGET, MAX_TARGET);
    }

    pub fn target(&self) -> usize {
        self.target
    }

    /// The extended (32-bit-plus) form of `seq`, nearest to the highest seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(high) = self.highest else {
            // Start high enough that a first packet's predecessors do not underflow.
            let ext = (1u64 << 32) + seq as u64;
            self.highest = Some(ext);
            return ext;
        };
        let base = high & !0xffff;
        let candidates =
            [base.wrapping_sub(0x1_0000) + seq as u64, base + seq as u64, base + 0x1_0000 + seq as u64];
        let ext = candidates.into_iter().min_by_key(|c| c.abs_diff(high)).unwrap_or(base + seq as u64);
        self.highest = Some(high.max(ext));
        ext
    }

    pub fn push(&mut self, seq: u16, payload: Vec<u8>) {
        let ext = self.extend(seq);
        if let Some(n) = self.next
            && ext < n
        {
            if n - ext <= RESYNC {
                self.stats.late += 1;
                return;
            }
            // The far end restarted its numbering: start over from this packet.
            self.packets.clear();
            self.next = None;
            self.playing = false;
        }
        if self.packets.insert(ext, payload).is_some() {
            self.stats.duplicates += 1;
        }
        // Overfilled (a burst after a stall): drop the oldest to get back near target.
        while self.packets.len() > self.target + 4 {
            if let Some((&first, _)) = self.packets.iter().next() {
                self.packets.remove(&first);
                self.stats.discarded += 1;
                self.next = Some(first + 1);
            }
        }
    }

    pub fn pop(&mut self) -> Playout {
        if !self.playing {
            if self.packets.len() < self.target {
                return Playout::Buffering;
            }
            self.playing = true;
            let first = self.packets.keys().next().copied();
            // Resume where we stopped (what is missing in between was lost), unless
            // the stream jumped so far that it is a new one.
            self.next = match (self.next, first) {
                (Some(n), Some(f)) if f >= n && f - n <= RESYNC => Some(n),
                (_, f) => f,
            };
        }
        let Some(next) = self.next else { return Playout::Buffering };
        if let Some(p) = self.packets.remove(&next) {
            self.next = Some(next + 1);
            self.stats.played += 1;
            return Playout::Frame(p);
        }
        self.stats.concealed += 1;
        if self.packets.is_empty() {
            // Starved: conceal this frame and refill before playing on; the missing
            // packet may still come and play in its turn.
            self.playing = false;
        } else {
            // A gap with later packets waiting: that one is lost, move past it.
            self.next = Some(next + 1);
        }
        Playout::Conceal
    }
}

/// Conceals missing frames: the last good frame again, halved each time, then silence
/// after three (60 ms). Simple, codec-independent, and enough to hide single losses.
#[derive(Default)]
pub struct Concealer {
    last: Vec<i16>,
    run: u32,
}

impl Concealer {
    pub fn good(&mut self, frame: &[i16]) {
        self.last.clear();
        self.last.extend_from_slice(frame);
        self.run = 0;
    }

    pub fn conceal(&mut self, frame: &mut [i16]) {
        self.run += 1;
        if self.run > 3 || self.last.len() != frame.len() {
            frame.fill(0);
            return;
        }
        for s in self.last.iter_mut() {
            *s /= 2;
        }
        frame.copy_from_slice(&self.last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(jb: &mut JitterBuffer, n: usize) -> Vec<Playout> {
        (0..n).map(|_| jb.pop()).collect()
    }

    #[test]
    fn buffers_then_plays_in_order_across_the_wrap() {
        let mut jb = JitterBuffer::default();
        jb.push(65535, vec![1]);
        assert_eq!(jb.pop(), Playout::Buffering);
        jb.push(1, vec![3]);
        jb.push(0, vec![2]);
        assert_eq!(
            frames(&mut jb, 3),
            [Playout::Frame(vec![1]), Playout::Frame(vec![2]), Playout::Frame(vec![3])]
        );
    }

    #[test]
    fn a_lost_packet_is_concealed_and_a_late_one_dropped() {
        let mut jb = JitterBuffer::default();
        for seq in [10u16, 11, 13, 14] {
            jb.push(seq, vec![seq as u8]);
        }
        let out = frames(&mut jb, 4);
        assert_eq!(
            out,
            [Playout::Frame(vec![10]), Playout::Frame(vec![11]), Playout::Conceal, Playout::Frame(vec![13])]
        );
        jb.push(12, vec![12]);
        assert_eq!(jb.stats.late, 1);
        jb.push(13, vec![13]);
        assert_eq!(jb.stats.late, 2);
        assert_eq!(jb.stats.concealed, 1);
    }

    #[test]
    fn starving_refills_and_waits_for_the_missing_packet() {
        let mut jb = JitterBuffer::default();
        jb.push(1, vec![1]);
        jb.push(2, vec![2]);
        assert_eq!(frames(&mut jb, 3), [Playout::Frame(vec![1]), Playout::Frame(vec![2]), Playout::Conceal]);
        // 3 was only late: it still plays once the buffer is refilled.
        jb.push(3, vec![3]);
        jb.push(4, vec![4]);
        assert_eq!(frames(&mut jb, 2), [Playout::Frame(vec![3]), Playout::Frame(vec![4])]);
    }

    #[test]
    fn a_restarted_stream_resyncs_instead_of_counting_loss() {
        let mut jb = JitterBuffer::default();
        jb.push(5000, vec![1]);
        jb.push(5001, vec![2]);
        assert_eq!(frames(&mut jb, 2), [Playout::Frame(vec![1]), Playout::Frame(vec![2])]);
        jb.push(100, vec![3]);
        jb.push(101, vec![4]);
        assert_eq!(frames(&mut jb, 2), [Playout::Frame(vec![3]), Playout::Frame(vec![4])]);
        assert_eq!((jb.stats.late, jb.stats.concealed), (0, 0));
    }

    #[test]
    fn target_follows_jitter_and_overfill_is_trimmed() {
        let mut jb = JitterBuffer::default();
        jb.adapt(0.0, 20.0);
        assert_eq!(jb.target(), 1);
        jb.adapt(30.0, 20.0);
        assert_eq!(jb.target(), 5);
        jb.adapt(500.0, 20.0);
        assert_eq!(jb.target(), MAX_TARGET);
        jb.adapt(0.0, 20.0);
        for seq in 0..20u16 {
            jb.push(seq, vec![]);
        }
        assert_eq!(jb.packets.len(), 5);
        assert_eq!(jb.stats.discarded, 15);
    }

    #[test]
    fn concealment_fades_to_silence() {
        let mut c = Concealer::default();
        c.good(&[800; 4]);
        let mut f = [0i16; 4];
        c.conceal(&mut f);
        assert_eq!(f, [400; 4]);
        c.conceal(&mut f);
        c.conceal(&mut f);
        assert_eq!(f, [100; 4]);
        c.conceal(&mut f);
        assert_eq!(f, [0; 4]);
    }
}
