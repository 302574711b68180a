//! Ringing: the ringtone for an incoming call on the ring device, and the ringback tone
//! a caller hears while the far end rings. The manual's defaults differ for the two
//! directions: inbound rings with the North American two-tone cadence (440 + 480 Hz,
//! 2 s on, 4 s off), outbound hears the ETSI ringback (425 Hz, 1 s on, 4 s off). A custom
//! ringtone is a WAV or MP3 file, looped. Volume scales the samples (0-100).

use super::device::{self, DeviceSpec, WavSource};
use super::io::{DeviceError, Silence, Sink, Source};
use std::f64::consts::PI;
use std::path::PathBuf;
use std::time::Duration;

/// What to ring with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Default,
    Silent,
    File(PathBuf),
}

impl Tone {
    pub fn parse(text: &str) -> Result<Tone, String> {
        match text.trim() {
            "" | "default" => Ok(Tone::Default),
            "silent" => Ok(Tone::Silent),
            t => match t.strip_prefix("file:") {
                Some(p) if [".wav", ".mp3"].iter().any(|x| p.trim().to_ascii_lowercase().ends_with(x)) => {
                    Ok(Tone::File(PathBuf::from(p.trim())))
                }
                Some(p) => Err(format!("ringtone {p:?} is not a .wav or .mp3 file")),
                None => Err(format!("ringtone {t:?} is not default, silent or file:PATH (.wav, .mp3)")),
            },
        }
    }
}

/// Which cadence a synthesized tone follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Incoming: 440 + 480 Hz, 2 s on, 4 s off.
    Ring,
    /// Outgoing, while the far end rings: 425 Hz, 1 s on, 4 s off.
    Ringback,
}

/// A synthesized ring pattern, frame by frame.
pub struct Pattern {
    cadence: Cadence,
    rate: u32,
    at: u64,
    gain: f64,
}

impl Pattern {
    pub fn new(cadence: Cadence, rate: u32, volume: u32) -> Pattern {
        Pattern { cadence, rate, at: 0, gain: volume.min(100) as f64 / 100.0 }
    }
}

impl Source for Pattern {
    fn read(&mut self, frame: &mut [i16]) {
        let (freqs, on, period): (&[f64], f64, f64) = match self.cadence {
            Cadence::Ring => (&[440.0, 480.0], 2.0, 6.0),
            Cadence::Ringback => (&[425.0], 1.0, 5.0),
        };
        for s in frame.iter_mut() {
            let t = self.at as f64 / self.rate as f64;
            let v = if t % period < on {
                freqs.iter().map(|f| (2.0 * PI * f * t).sin()).sum::<f64>() / freqs.len() as f64
            } else {
                0.0
            };
            *s = (v * 12000.0 * self.gain) as i16;
            self.at += 1;
        }
    }
}

/// A WAV ringtone looped, at a volume.
struct Looped {
    path: PathBuf,
    rate: u32,
    inner: WavSource,
    gain: f64,
    played: usize,
}

impl Source for Looped {
    fn read(&mut self, frame: &mut [i16]) {
        self.inner.read(frame);
        self.played += 1;
        // A file that has run out gives silence: start it again.
        if frame.iter().all(|&s| s == 0)
            && self.played > 1
            && let Ok(again) = WavSource::open(&self.path, self.rate)
        {
            self.inner = again;
            self.played = 0;
        }
        for s in frame.iter_mut() {
            *s = (*s as f64 * self.gain) as i16;
        }
    }
}

/// The source of a ringtone at `rate` Hz.
pub fn source(tone: &Tone, cadence: Cadence, rate: u32, volume: u32) -> Result<Box<dyn Source>, DeviceError> {
    Ok(match tone {
        Tone::Silent => Box::new(Silence),
        Tone::Default => Box::new(Pattern::new(cadence, rate, volume)),
        Tone::File(path) => Box::new(Looped {
            inner: WavSource::open(path, rate)?,
            path: path.clone(),
            rate,
            gain: volume.min(100) as f64 / 100.0,
            played: 0,
        }),
    })
}

/// A ringtone playing on a device until dropped.
pub struct Ringer {
    task: tokio::task::JoinHandle<()>,
}

impl Ringer {
    /// Starts ringing `tone` on `device`; errors (no such device, bad file) are returned
    /// so the phone can say why it is silent, and the call rings on regardless.
    pub fn start(tone: &Tone, device_spec: &DeviceSpec, volume: u32) -> Result<Option<Ringer>, DeviceError> {
        if *tone == Tone::Silent || *device_spec == DeviceSpec::Null {
            return Ok(None);
        }
        const RATE: u32 = 16_000;
        let mut src = source(tone, Cadence::Ring, RATE, volume)?;
        let mut sink: Box<dyn Sink> = tokio::task::block_in_place(|| device::open_sink(device_spec, RATE))?;
        let task = tokio::spawn(async move {
            let mut frame = vec![0i16; (RATE / 50) as usize];
            let mut clock = tokio::time::interval(Duration::from_millis(20));
            clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                clock.tick().await;
                src.read(&mut frame);
                sink.write(&frame);
            }
        });
        Ok(Some(Ringer { task }))
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        // Aborting drops the sink with the task: a file is finalised, a card closed.
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadences_and_volume() {
        let mut ring = Pattern::new(Cadence::Ring, 8000, 100);
        let mut frame = vec![0i16; 160];
        ring.read(&mut frame);
        assert!(frame.iter().any(|&s| s.abs() > 5000), "ringing at first");
        for _ in 0..100 {
            ring.read(&mut frame); // to 2.02 s: the off part
        }
        assert!(frame.iter().all(|&s| s == 0), "quiet after 2 s");
        let mut soft = Pattern::new(Cadence::Ringback, 8000, 25);
        soft.read(&mut frame);
        let peak = frame.iter().map(|s| s.abs()).max().unwrap();
        assert!((2500..=3100).contains(&peak), "a quarter of full scale: {peak}");
        assert_eq!(Tone::parse("silent").unwrap(), Tone::Silent);
        assert!(Tone::parse("file:/x.ogg").is_err());
        assert_eq!(Tone::parse("file:/x.mp3").unwrap(), Tone::File("/x.mp3".into()));
        assert_eq!(Tone::parse("file:/x.wav").unwrap(), Tone::File("/x.wav".into()));
    }
}
