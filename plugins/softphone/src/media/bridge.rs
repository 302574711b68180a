//! The local 3-way conference: two calls merged on this phone, everyone hears everyone.
//! One call (the host) keeps the sound card; the bridge hands its microphone frames to
//! the other call (the guest) and each call's received audio to the other, and the host's
//! speaker plays both far ends. Frames are exchanged as "the latest 20 ms" per member:
//! the calls' media clocks are not locked together, so a frame may now and then repeat
//! or be skipped, which a conference tolerates (no queue can grow).

use super::device::{Sink, Source};
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

/// The host's microphone: the card's frame goes to the bridge for the guest, and the
/// host's call sends it plus what the guest's far end says.
pub struct HostSource {
    pub inner: Box<dyn Source>,
    pub bridge: Bridge,
    pub me: String,
    pub rate: u32,
}

impl Source for HostSource {
    fn read(&mut self, frame: &mut [i16]) {
        self.inner.read(frame);
        self.bridge.with(|s| s.mic = (frame.to_vec(), self.rate));
        self.bridge.mix_others(&self.me, frame, self.rate);
    }
}

/// The host's speaker: its own far end plus the guest's.
pub struct HostSink {
    pub inner: Box<dyn Sink>,
    pub bridge: Bridge,
    pub me: String,
    pub rate: u32,
    pub mixed: Vec<i16>,
}

impl Sink for HostSink {
    fn write(&mut self, frame: &[i16]) {
        self.bridge.post_received(&self.me, frame, self.rate);
        self.mixed.clear();
        self.mixed.extend_from_slice(frame);
        self.bridge.mix_others(&self.me, &mut self.mixed, self.rate);
        self.inner.write(&self.mixed);
    }
}

/// The guest's microphone: the host's microphone plus the host's far end.
pub struct GuestSource {
    pub bridge: Bridge,
    pub me: String,
    pub rate: u32,
}

impl Source for GuestSource {
    fn read(&mut self, frame: &mut [i16]) {
        frame.fill(0);
        let mic = self.bridge.with(|s| s.mic.clone());
        add(frame, &mic.0, mic.1, self.rate);
        self.bridge.mix_others(&self.me, frame, self.rate);
    }
}

/// The guest's speaker is the host's: its far end's audio goes to the bridge only.
pub struct GuestSink {
    pub bridge: Bridge,
    pub me: String,
    pub rate: u32,
}

impl Sink for GuestSink {
    fn write(&mut self, frame: &[i16]) {
        self.bridge.post_received(&self.me, frame, self.rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::device::Silence;

    struct Constant(i16);
    impl Source for Constant {
        fn read(&mut self, frame: &mut [i16]) {
            frame.fill(self.0);
        }
    }
    struct Capture(Arc<Mutex<Vec<i16>>>);
    impl Sink for Capture {
        fn write(&mut self, frame: &[i16]) {
            *self.0.lock().unwrap() = frame.to_vec();
        }
    }

    #[test]
    fn everyone_hears_everyone_but_themselves() {
        let bridge = Bridge::default();
        let speaker = Arc::new(Mutex::new(Vec::new()));
        let mut host_mic =
            HostSource { inner: Box::new(Constant(100)), bridge: bridge.clone(), me: "a".into(), rate: 8000 };
        let mut host_out = HostSink {
            inner: Box::new(Capture(speaker.clone())),
            bridge: bridge.clone(),
            me: "a".into(),
            rate: 8000,
            mixed: vec![],
        };
        let mut guest_mic = GuestSource { bridge: bridge.clone(), me: "b".into(), rate: 8000 };
        let mut guest_out = GuestSink { bridge: bridge.clone(), me: "b".into(), rate: 8000 };
        let mut f = vec![0i16; 160];
        // Far end A says 10, far end B says 1000.
        host_out.write(&[10; 160]);
        guest_out.write(&[1000; 160]);
        host_mic.read(&mut f);
        assert_eq!(f[0], 100 + 1000, "A's far end hears us and B's far end");
        guest_mic.read(&mut f);
        assert_eq!(f[0], 100 + 10, "B's far end hears us and A's far end");
        host_out.write(&[10; 160]);
        assert_eq!(speaker.lock().unwrap()[0], 10 + 1000, "we hear both");
        bridge.leave("b");
        host_mic.read(&mut f);
        assert_eq!(f[0], 100);
        let _ = Silence;
    }
}
