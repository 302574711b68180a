//! Notification sounds (Preferences -> Alerts -> Sounds): a new message and a contact
//! signing in, each on or off, each a .wav file the user may change (the manual takes
//! .wav only) or the built-in chime, previewed from the page. Played on the default
//! sound card through cpal (the card stack the softphone uses), each on a thread of its
//! own so a frame never waits on the card; a sound that is still playing is not started
//! a second time.
//!
//! The built-in chimes are synthesised here (two short sine notes with a soft attack
//! and decay), so no audio asset ships with the binary.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Which sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    Message,
    SignIn,
}

#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    #[error("{path}: only .wav files can be notification sounds")]
    NotWav { path: String },
    #[error("{path}: {source}")]
    Read { path: String, source: hound::Error },
    #[error("no sound card: {0}")]
    Card(String),
}

/// Mono samples at a rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub rate: u32,
    pub samples: Vec<f32>,
}

impl Clip {
    /// `file` when set (a .wav), else the built-in chime for `sound`.
    pub fn load(sound: Sound, file: &str) -> Result<Clip, SoundError> {
        if file.trim().is_empty() {
            return Ok(chime(sound));
        }
        read_wav(Path::new(file.trim()))
    }
}

/// Reads a .wav file (any bit depth, mixed down to mono).
pub fn read_wav(path: &Path) -> Result<Clip, SoundError> {
    let shown = path.display().to_string();
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")) {
        return Err(SoundError::NotWav { path: shown });
    }
    let read = |source| SoundError::Read { path: shown.clone(), source };
    let reader = hound::WavReader::open(path).map_err(read)?;
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(read)?,
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(read)?
        }
    };
    let samples = interleaved.chunks(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect();
    Ok(Clip { rate: spec.sample_rate, samples })
}

/// The built-in sound: a rising pair of notes for a message, a softer falling pair for
/// a contact signing in.
pub fn chime(sound: Sound) -> Clip {
    let rate = 16_000;
    let notes: [(f32, f32); 2] = match sound {
        Sound::Message => [(880.0, 0.12), (1318.5, 0.18)],
        Sound::SignIn => [(659.3, 0.12), (523.3, 0.18)],
    };
    let mut samples = Vec::new();
    for (hz, secs) in notes {
        let n = (rate as f32 * secs) as usize;
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let envelope = (t / 0.01).min(1.0) * (1.0 - i as f32 / n as f32);
            samples.push(0.35 * envelope * (2.0 * std::f32::consts::PI * hz * t).sin());
        }
    }
    Clip { rate, samples }
}

/// Plays clips on the default output, one at a time per sound.
#[derive(Default)]
pub struct Player {
    busy: [Arc<AtomicBool>; 2],
}

impl Player {
    /// Plays `sound` from `file` (empty: the chime) unless it is still playing; the
    /// file is read on the sound's thread, and errors go to the log.
    pub fn play_file(&self, sound: Sound, file: &str) {
        let file = file.to_string();
        self.start(sound, move || Clip::load(sound, &file));
    }

    /// Starts `clip` unless `sound` is still playing (the Preferences' preview).
    pub fn play(&self, sound: Sound, clip: Clip) {
        self.start(sound, move || Ok(clip));
    }

    fn start(&self, sound: Sound, clip: impl FnOnce() -> Result<Clip, SoundError> + Send + 'static) {
        let busy = self.busy[sound as usize].clone();
        if busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let spawned = std::thread::Builder::new().name("shell-sound".into()).spawn(move || {
            if let Err(e) = clip().and_then(|c| play_blocking(&c)) {
                tracing::info!("notification sound: {e}");
            }
            busy.store(false, Ordering::Release);
        });
        if spawned.is_err() {
            self.busy[sound as usize].store(false, Ordering::Release);
        }
    }
}

/// Plays `clip` to the end on the default output device.
fn play_blocking(clip: &Clip) -> Result<(), SoundError> {
    let card = |e: &dyn std::fmt::Display| SoundError::Card(e.to_string());
    let device = cpal::default_host().default_output_device().ok_or_else(|| card(&"no default output"))?;
    let supported = device.default_output_config().map_err(|e| card(&e))?;
    let config: cpal::StreamConfig = supported.config();
    let (rate, channels) = (config.sample_rate, config.channels.max(1) as usize);
    let frames = resample(&clip.samples, clip.rate, rate);
    let total = frames.len();
    let mut at = 0usize;
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let on_error = |e| tracing::info!("notification sound: {e}");
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => device.build_output_stream(
            config,
            move |out: &mut [f32], _| {
                for frame in out.chunks_mut(channels) {
                    let v = frames.get(at).copied().unwrap_or(0.0);
                    at += 1;
                    frame.fill(v);
                }
                if at >= total {
                    finished.store(true, Ordering::Release);
                }
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_output_stream(
            config,
            move |out: &mut [i16], _| {
                for frame in out.chunks_mut(channels) {
                    let v = frames.get(at).copied().unwrap_or(0.0);
                    at += 1;
                    frame.fill((v.clamp(-1.0, 1.0) * i16::MAX as f32) as i16);
                }
                if at >= total {
                    finished.store(true, Ordering::Release);
                }
            },
            on_error,
            None,
        ),
        other => return Err(card(&format!("sample format {other:?} is not supported"))),
    }
    .map_err(|e| card(&e))?;
    stream.play().map_err(|e| card(&e))?;
    let length = Duration::from_secs_f64(total as f64 / rate as f64);
    let deadline = std::time::Instant::now() + length + Duration::from_secs(2);
    while !done.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the card play out what it holds.
    std::thread::sleep(Duration::from_millis(150));
    Ok(())
}

/// Linear resampling: notification sounds are short and quality needs are modest.
fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let n = (samples.len() as u64 * to as u64 / from as u64) as usize;
    (0..n)
        .map(|i| {
            let pos = i as f64 * from as f64 / to as f64;
            let (j, frac) = (pos as usize, (pos.fract()) as f32);
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_files_read_back_as_mono_and_other_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ding.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..100 {
            w.write_sample(i16::MAX / 2).unwrap();
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let clip = read_wav(&path).unwrap();
        assert_eq!((clip.rate, clip.samples.len()), (8000, 100));
        assert!((clip.samples[0] - 0.25).abs() < 0.01, "{}", clip.samples[0]);
        let mp3 = dir.path().join("ding.mp3");
        std::fs::write(&mp3, b"ID3").unwrap();
        assert!(matches!(read_wav(&mp3), Err(SoundError::NotWav { .. })));
        assert_eq!(resample(&[0.0, 1.0], 1, 2).len(), 4);
        assert!(chime(Sound::Message).samples.len() > 4000);
    }
}
