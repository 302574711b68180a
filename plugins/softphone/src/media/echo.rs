//! Echo cancellation (and optional noise suppression) for the softphone, with sonora, a
//! pure-Rust port of WebRTC's audio processing (AEC3). What goes to the speaker is the
//! reference ("render"); what the microphone hears has that echo removed ("capture")
//! before it is encoded. Frames are split into the 10 ms blocks the canceller works in.
//! AEC3 adapts in the first seconds of a call (the manual: "up to 10 seconds").

use sonora::config::{EchoCanceller, NoiseSuppression};
use sonora::{AudioProcessing, Config, StreamConfig};

pub struct Canceller {
    apm: AudioProcessing,
    block: usize,
    out: Vec<i16>,
}

impl Canceller {
    /// For audio at `rate` Hz (8, 16, 32 or 48 kHz).
    pub fn new(rate: u32, noise_suppression: bool) -> Canceller {
        let config = Config {
            echo_canceller: Some(EchoCanceller::default()),
            noise_suppression: noise_suppression.then(NoiseSuppression::default),
            ..Default::default()
        };
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(StreamConfig::new(rate, 1))
            .render_config(StreamConfig::new(rate, 1))
            .build();
        Canceller { apm, block: (rate / 100) as usize, out: Vec::new() }
    }

    /// What is about to be played.
    pub fn render(&mut self, frame: &[i16]) {
        self.out.resize(self.block, 0);
        for chunk in frame.chunks_exact(self.block) {
            let _ = self.apm.process_render_i16(chunk, &mut self.out);
        }
    }

    /// What the microphone heard; the echo is taken out in place.
    pub fn capture(&mut self, frame: &mut [i16]) {
        self.out.resize(self.block, 0);
        for chunk in frame.chunks_exact_mut(self.block) {
            if self.apm.process_capture_i16(chunk, &mut self.out).is_ok() {
                chunk.copy_from_slice(&self.out);
            }
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Echo return loss enhancement, in dB, over the last half of a run: far-end noise
    /// through an echo path of `delay_ms` and `gain`, a silent near end.
    pub fn erle(rate: u32, delay_ms: u32, gain: f32, seconds: u32) -> f64 {
        let mut aec = Canceller::new(rate, false);
        let frame = (rate / 50) as usize;
        let delay = (rate * delay_ms / 1000) as usize;
        let mut seed = 0x1234_5678u32;
        let mut far: Vec<i16> = Vec::new();
        let (mut before, mut after) = (0.0f64, 0.0f64);
        let frames = seconds * 50;
        for i in 0..frames {
            // Speech-like: noise shaped by a slow envelope (AEC3 needs broadband render).
            let envelope = 0.5 + 0.5 * ((i as f32) * 0.13).sin().abs();
            let render: Vec<i16> = (0..frame)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    ((seed as i32 % 8000) as f32 * envelope) as i16
                })
                .collect();
            far.extend_from_slice(&render);
            aec.render(&render);
            let start = far.len() - frame;
            let mut mic: Vec<i16> = (0..frame)
                .map(|k| {
                    let idx = (start + k).checked_sub(delay);
                    idx.map(|j| (far[j] as f32 * gain) as i16).unwrap_or(0)
                })
                .collect();
            let p_in: f64 = mic.iter().map(|&s| (s as f64).powi(2)).sum();
            aec.capture(&mut mic);
            let p_out: f64 = mic.iter().map(|&s| (s as f64).powi(2)).sum();
            if i >= frames / 2 {
                before += p_in;
                after += p_out;
            }
        }
        10.0 * (before / after.max(1.0)).log10()
    }

    #[test]
    fn echo_is_cancelled() {
        for rate in [8000, 16000] {
            let db = erle(rate, 40, 0.5, 10);
            eprintln!("ERLE at {rate} Hz, 40 ms echo path at -6 dB: {db:.1} dB");
            assert!(db > 15.0, "ERLE {db:.1} dB at {rate} Hz");
        }
    }
}
