//! The local 3-way conference: two calls merged on this phone, everyone hears everyone.
//! One call (the host) uses the sound card; the bridge hands its microphone frames to
//! the other call (the guest) and each call's received audio to the other, and the host's
//! speaker plays both far ends. The calls keep their own devices open; the guest just
//! stops using its own, so leaving the conference needs no reopening (nor truncates a
//! recording). Frames are exchanged as "the latest 20 ms" per member:
//! the calls' media clocks are not locked together, so a frame may now and then repeat
//! or be skipped, which a conference tolerates (no queue can grow).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    /// The host's microphone, latest frame, and its rate.
    mic: (Vec<i16>, u32),
    /// What each call received from its far end, latest frame, and its rate.
    received: HashMap<String, (Vec<i16>, u32)>,
}

/// Shared by the calls of one conference.
#[derive(Clone, Default)]
pub struct Bridge(Arc<Mutex<State>>);

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bridge")
    }
}

impl Bridge {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds the other members' received audio (not `me`'s) into `frame` at `rate`.
    fn mix_others(&self, me: &str, frame: &mut [i16], rate: u32) {
        self.with(|s| {
            for (id, (samples, r)) in &s.received {
                if id != me {
                    add(frame, samples, *r, rate);
                }
            }
        });
    }

    fn post_received(&self, me: &str, frame: &[i16], rate: u32) {
        self.with(|s| s.received.insert(me.to_string(), (frame.to_vec(), rate)));
    }

    /// A call leaves: its audio stops reaching the others.
    pub fn leave(&self, me: &str) {
        self.with(|s| s.received.remove(me));
    }
}

/// Mixes `samples` (at `from` Hz) into `frame` (at `to` Hz), saturating.
fn add(frame: &mut [i16], samples: &[i16], from: u32, to: u32) {
    let converted;
    let samples = if from == to {
        samples
    } else {
        converted = audio_codec::resample(samples, from, to);
        &converted
    };
    for (o, s) in frame.iter_mut().zip(samples) {
        *o = o.saturating_add(*s);
    }
}

impl Bridge {
    /// The host call's microphone frame: shared with the guest, then the guest's far end
    /// is added so the host's far end hears it too.
    pub fn host_capture(&self, me: &str, frame: &mut [i16], rate: u32) {
        self.with(|s| s.mic = (frame.to_vec(), rate));
        self.mix_others(me, frame, rate);
    }

    /// The host call's received frame: shared, and `mixed` gets it plus the guest's far
    /// end for the speaker.
    pub fn host_playout(&self, me: &str, frame: &[i16], rate: u32, mixed: &mut Vec<i16>) {
        self.post_received(me, frame, rate);
        mixed.clear();
        mixed.extend_from_slice(frame);
        self.mix_others(me, mixed, rate);
    }

    /// The guest call's "microphone": the host's microphone plus the host's far end.
    pub fn guest_capture(&self, me: &str, frame: &mut [i16], rate: u32) {
        frame.fill(0);
        let mic = self.with(|s| s.mic.clone());
        add(frame, &mic.0, mic.1, rate);
        self.mix_others(me, frame, rate);
    }

    /// The guest call's received frame goes to the bridge (the host's speaker plays it).
    pub fn guest_playout(&self, me: &str, frame: &[i16], rate: u32) {
        self.post_received(me, frame, rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_hears_everyone_but_themselves() {
        let bridge = Bridge::default();
        let mut f = vec![0i16; 160];
        let mut speaker = Vec::new();
        // Far end A (host's) says 10, far end B (guest's) says 1000; our microphone 100.
        bridge.host_playout("a", &[10; 160], 8000, &mut speaker);
        bridge.guest_playout("b", &[1000; 160], 8000);
        f.fill(100);
        bridge.host_capture("a", &mut f, 8000);
        assert_eq!(f[0], 100 + 1000, "A's far end hears us and B's far end");
        bridge.guest_capture("b", &mut f, 8000);
        assert_eq!(f[0], 100 + 10, "B's far end hears us and A's far end");
        bridge.host_playout("a", &[10; 160], 8000, &mut speaker);
        assert_eq!(speaker[0], 10 + 1000, "we hear both");
        bridge.leave("b");
        f.fill(100);
        bridge.host_capture("a", &mut f, 8000);
        assert_eq!(f[0], 100);
    }
}
