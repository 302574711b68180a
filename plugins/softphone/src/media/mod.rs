//! A call's media between the RTP socket and the audio devices: the negotiated codec
//! (G.711, G.722 and Opus from the pure-Rust `audio-codec` crate), the jitter buffer and
//! concealment on the way in, the devices at either end, and the quality statistics.
//! `rtp.rs` owns the socket and the 20 ms clock and calls into the rest; `call.rs` is
//! the engine's side of it. Nothing here knows about SIP or the engine: the folder
//! depends only on `sdp`, `sdes` and `util`.

pub mod bridge;
pub mod call;
pub mod card;
pub mod device;
pub mod echo;
pub mod io;
pub mod jitter;
pub mod quality;
pub mod ring;
pub mod rtp;
pub mod srtp;

use crate::sdp::{Codec, Format};
use audio_codec::{CodecType, Decoder, Encoder};

/// Frame length: 20 ms, the ptime we offer and the one every peer here uses.
pub const FRAME_MS: u32 = 20;

/// Which device a test is for (`phone.test_device {kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Input,
    Output,
    Ring,
}

/// The preferences' device test, for one second: a microphone's level (0-100 on a
/// -60..0 dBFS scale, as the level bar shows it), or a test sound on a speaker (440 Hz)
/// or a ringing device (the ringtone at the ring volume).
pub async fn test_device(
    kind: DeviceKind,
    spec: device::DeviceSpec,
    ring_volume: u32,
) -> Result<serde_json::Value, String> {
    use ring::{Cadence, Pattern, Tone};
    const RATE: u32 = 16_000;
    let frames = 1000 / FRAME_MS;
    let mut frame = vec![0i16; (RATE * FRAME_MS / 1000) as usize];
    let mut clock = tokio::time::interval(std::time::Duration::from_millis(FRAME_MS as u64));
    match kind {
        DeviceKind::Input => {
            let mut source = tokio::task::block_in_place(|| device::open_source(&spec, RATE))
                .map_err(|e| e.to_string())?;
            // A sound server can take a second or two to deliver the first capture.
            for _ in 0..150 {
                if source.ready() {
                    break;
                }
                clock.tick().await;
                source.read(&mut frame);
            }
            let (mut energy, mut peak, mut n) = (0.0f64, 0i32, 0usize);
            for _ in 0..frames {
                clock.tick().await;
                source.read(&mut frame);
                energy += frame.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
                peak = peak.max(frame.iter().map(|&s| (s as i32).abs()).max().unwrap_or(0));
                n += frame.len();
            }
            let rms = (energy / n.max(1) as f64).sqrt();
            let dbfs = 20.0 * (rms.max(1.0) / 32768.0).log10();
            let level = ((dbfs + 60.0) / 60.0 * 100.0).clamp(0.0, 100.0).round();
            Ok(serde_json::json!({ "level": level, "rms": rms.round(), "peak": peak }))
        }
        DeviceKind::Output | DeviceKind::Ring => {
            let mut sink =
                tokio::task::block_in_place(|| device::open_sink(&spec, RATE)).map_err(|e| e.to_string())?;
            let mut sound: Box<dyn io::Source> = match kind {
                DeviceKind::Ring => ring::source(&Tone::Default, Cadence::Ring, RATE, ring_volume)
                    .map_err(|e| e.to_string())?,
                _ => Box::new(Pattern::new(Cadence::Ringback, RATE, 100)),
            };
            // Wait (up to 3 s) for the card to start playing, then play a second and
            // give the last frames time to leave the ring.
            for _ in 0..150 {
                if sink.ready() {
                    break;
                }
                clock.tick().await;
            }
            for _ in 0..frames {
                clock.tick().await;
                sound.read(&mut frame);
                sink.write(&frame);
            }
            // Some sound servers buffer a second or more: let the end of the sound play.
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
            Ok(serde_json::json!({ "played_ms": frames * FRAME_MS }))
        }
    }
}

/// One negotiated format's encoder and decoder, mono PCM at the codec's audio rate.
pub struct CodecPair {
    pub format: Format,
    enc: Box<dyn Encoder>,
    dec: Box<dyn Decoder>,
    /// Samples in one frame at the audio rate.
    pub frame: usize,
    /// RTP timestamp units in one frame.
    pub ts_step: u32,
    scratch: Vec<i16>,
}

impl CodecPair {
    pub fn new(format: Format) -> CodecPair {
        let (enc, dec): (Box<dyn Encoder>, Box<dyn Decoder>) = match format.codec {
            // Mono in a 2-channel Opus stream is legal (RFC 7587 §3.4) and halves the work.
            Codec::Opus => (
                audio_codec::create_opus_encoder(48_000, 1, audio_codec::opus::OpusApplication::Voip),
                audio_codec::create_opus_decoder(48_000, 1),
            ),
            Codec::G722 => {
                (audio_codec::create_encoder(CodecType::G722), audio_codec::create_decoder(CodecType::G722))
            }
            Codec::Pcmu => {
                (audio_codec::create_encoder(CodecType::PCMU), audio_codec::create_decoder(CodecType::PCMU))
            }
            Codec::Pcma => {
                (audio_codec::create_encoder(CodecType::PCMA), audio_codec::create_decoder(CodecType::PCMA))
            }
        };
        let codec = format.codec;
        CodecPair {
            format,
            enc,
            dec,
            frame: (codec.audio_rate() * FRAME_MS / 1000) as usize,
            ts_step: codec.clock_rate() * FRAME_MS / 1000,
            scratch: Vec::new(),
        }
    }

    pub fn rate(&self) -> u32 {
        self.format.codec.audio_rate()
    }

    pub fn encode(&mut self, pcm: &[i16]) -> Vec<u8> {
        self.enc.encode(pcm)
    }

    /// Decodes one payload into `out` (one frame), mixing stereo down and padding with
    /// silence; false when the payload does not decode (then `out` is untouched).
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> bool {
        self.scratch.resize(self.dec.max_decode_samples(payload.len()).max(out.len() * 2), 0);
        let Ok(n) = self.dec.decode_into(payload, &mut self.scratch) else { return false };
        let channels = self.dec.channels().max(1) as usize;
        let mono = self.scratch[..n]
            .chunks(channels)
            .map(|c| (c.iter().map(|&s| s as i32).sum::<i32>() / c.len() as i32) as i16);
        let mut written = 0;
        for (o, s) in out.iter_mut().zip(mono) {
            *o = s;
            written += 1;
        }
        out[written..].fill(0);
        true
    }

    /// E-model equipment impairment and packet-loss robustness (ITU-T G.113 App. I;
    /// G.711 with concealment). The wideband codecs are scored on the same narrowband
    /// scale, which undersells them; good enough to rank calls.
    pub fn impairment(&self) -> (f64, f64) {
        match self.format.codec {
            Codec::Pcmu | Codec::Pcma => (0.0, 25.1),
            Codec::G722 => (0.0, 25.1),
            Codec::Opus => (0.0, 30.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as i16)
            .collect()
    }

    #[test]
    fn every_codec_round_trips_a_tone() {
        for (codec, pt) in [(Codec::Pcmu, 0), (Codec::Pcma, 8), (Codec::G722, 9), (Codec::Opus, 111)] {
            let mut c = CodecPair::new(Format { pt, codec });
            assert_eq!(c.ts_step, if codec == Codec::Opus { 960 } else { 160 });
            let mut energy = 0.0;
            for _ in 0..10 {
                let input = tone(c.rate(), 440.0, c.frame);
                let payload = c.encode(&input);
                assert!(!payload.is_empty(), "{codec:?} encodes");
                let mut out = vec![0i16; c.frame];
                assert!(c.decode(&payload, &mut out), "{codec:?} decodes");
                energy = out.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / out.len() as f64;
            }
            assert!(energy.sqrt() > 2000.0, "{codec:?} kept the tone: rms {}", energy.sqrt());
        }
    }
}
