//! Where a call's audio comes from and goes to. A device setting is `default`, `null`,
//! `file:PATH`, or a sound card's id (`alsa:pulse`, `alsa:hw:0,0`) or name
//! (softphone.audio_input / audio_output):
//! - `null` takes silence and discards what it is given (like pjsua's --null-audio):
//!   calls connect, audio goes nowhere;
//! - `file:PATH` as input plays a WAV file into the call (then silence), as output
//!   records what the far end says to a WAV file (IVR testing, automation, our tests);
//! - `default` and ids/names are sound cards through cpal. A card that cannot be
//!   opened (none here, unplugged) is reported and replaced by `null`: the call goes on.
//!
//! Sources and sinks (`io.rs`) work in 20 ms frames at the rate of the call's codec; a
//! file or a card at another rate is resampled (audio-codec's polyphase resampler).

use super::card::{CardSink, CardSource};
use super::io::{DeviceError, Silence, Sink, Source};
use audio_codec::BoxedResampler;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Default,
    Null,
    File(PathBuf),
    /// A sound card by cpal id (`alsa:pulse`) or name.
    Card(String),
}

impl DeviceSpec {
    /// The device for one call: `{callid}` in a file path becomes the call's id, so
    /// simultaneous calls record to files of their own (`file:/rec/{callid}.wav`).
    pub fn for_call(&self, callid: &str) -> DeviceSpec {
        match self {
            DeviceSpec::File(path) => {
                let safe: String = callid
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || "@.-_".contains(c) { c } else { '_' })
                    .collect();
                DeviceSpec::File(PathBuf::from(path.to_string_lossy().replace("{callid}", &safe)))
            }
            other => other.clone(),
        }
    }

    pub fn parse(text: &str) -> Result<DeviceSpec, String> {
        match text.trim() {
            "" | "default" => Ok(DeviceSpec::Default),
            "null" => Ok(DeviceSpec::Null),
            t => match t.strip_prefix("file:") {
                Some(path) if !path.trim().is_empty() => Ok(DeviceSpec::File(PathBuf::from(path.trim()))),
                Some(_) => Err(format!("audio device {t:?} names no file")),
                None => Ok(DeviceSpec::Card(t.to_string())),
            },
        }
    }
}

/// Opens the source a setting names, for a call at `rate` Hz.
pub fn open_source(spec: &DeviceSpec, rate: u32) -> Result<Box<dyn Source>, DeviceError> {
    match spec {
        DeviceSpec::Null => Ok(Box::new(Silence)),
        DeviceSpec::File(path) => Ok(Box::new(WavSource::open(path, rate)?)),
        DeviceSpec::Default => Ok(Box::new(CardSource::open(None, rate)?)),
        DeviceSpec::Card(name) => Ok(Box::new(CardSource::open(Some(name), rate)?)),
    }
}

/// Opens the sink a setting names, for a call at `rate` Hz.
pub fn open_sink(spec: &DeviceSpec, rate: u32) -> Result<Box<dyn Sink>, DeviceError> {
    match spec {
        DeviceSpec::Null => Ok(Box::new(Silence)),
        DeviceSpec::File(path) => Ok(Box::new(WavSink::create(path, rate)?)),
        DeviceSpec::Default => Ok(Box::new(CardSink::open(None, rate)?)),
        DeviceSpec::Card(name) => Ok(Box::new(CardSink::open(Some(name), rate)?)),
    }
}

/// A WAV file played once, mixed down to mono and resampled to the call's rate as it
/// plays; then silence. The samples are read at open (prompts and test tones are
/// small, and the media clock must never wait on a disk); resampling goes frame by
/// frame so opening costs nothing on the media task.
pub struct WavSource {
    samples: Vec<i16>,
    at: usize,
    resampler: Option<BoxedResampler>,
    /// Input samples per output frame sample (file rate / call rate).
    ratio: f64,
    ready: std::collections::VecDeque<i16>,
}

impl WavSource {
    /// Opens a WAV (16-bit PCM) or MP3 file for a call at `rate` Hz.
    pub fn open(path: &std::path::Path, rate: u32) -> Result<WavSource, DeviceError> {
        let name = path.display().to_string();
        let bad = |why: String| DeviceError::Format { path: name.clone(), why };
        let is_mp3 = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("mp3"));
        let (samples, file_rate) = if is_mp3 { read_mp3(path)? } else { read_wav(path)? };
        let resampler = if file_rate == rate {
            None
        } else {
            Some(
                BoxedResampler::new(file_rate as usize, rate as usize)
                    .map_err(|e| bad(format!("cannot resample {file_rate} Hz to {rate} Hz: {e:?}")))?,
            )
        };
        let ratio = file_rate as f64 / rate as f64;
        Ok(WavSource { samples, at: 0, resampler, ratio, ready: Default::default() })
    }

    /// The next `n` input samples (fewer at the end of the file).
    fn take(&mut self, n: usize) -> &[i16] {
        let n = n.min(self.samples.len() - self.at);
        self.at += n;
        &self.samples[self.at - n..self.at]
    }
}

impl Source for WavSource {
    fn read(&mut self, frame: &mut [i16]) {
        if self.resampler.is_none() {
            let n = frame.len();
            let chunk = self.take(n).to_vec();
            frame[..chunk.len()].copy_from_slice(&chunk);
            frame[chunk.len()..].fill(0);
            return;
        }
        // Feed the resampler a frame's worth of input (plus one) until a frame is ready.
        let want = (frame.len() as f64 * self.ratio).ceil() as usize + 1;
        while self.ready.len() < frame.len() && self.at < self.samples.len() {
            let chunk = self.take(want).to_vec();
            if let Some(r) = &mut self.resampler {
                self.ready.extend(r.resample(&chunk));
            }
        }
        for s in frame.iter_mut() {
            *s = self.ready.pop_front().unwrap_or(0);
        }
    }
}

fn mono(interleaved: &[i16], channels: usize) -> Vec<i16> {
    interleaved
        .chunks(channels.max(1))
        .map(|c| (c.iter().map(|&s| s as i32).sum::<i32>() / c.len() as i32) as i16)
        .collect()
}

/// A 16-bit PCM WAV file: mono samples and rate.
fn read_wav(path: &std::path::Path) -> Result<(Vec<i16>, u32), DeviceError> {
    let name = path.display().to_string();
    let reader = hound::WavReader::open(path)
        .map_err(|e| DeviceError::Open { path: name.clone(), why: e.to_string() })?;
    let spec = reader.spec();
    let bad = |why: String| DeviceError::Format { path: name.clone(), why };
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(bad(format!(
            "{}-bit {:?}; 16-bit PCM is needed",
            spec.bits_per_sample, spec.sample_format
        )));
    }
    let interleaved: Vec<i16> =
        reader.into_samples::<i16>().collect::<Result<_, _>>().map_err(|e| bad(e.to_string()))?;
    Ok((mono(&interleaved, spec.channels as usize), spec.sample_rate))
}

/// An MP3 file (symphonia): mono samples and rate.
fn read_mp3(path: &std::path::Path) -> Result<(Vec<i16>, u32), DeviceError> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let name = path.display().to_string();
    let bad = |why: String| DeviceError::Format { path: name.clone(), why };
    let file = std::fs::File::open(path)
        .map_err(|e| DeviceError::Open { path: name.clone(), why: e.to_string() })?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| bad(e.to_string()))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or_else(|| bad("no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| bad(e.to_string()))?;
    let (mut samples, mut rate) = (Vec::new(), 0u32);
    // Ten minutes is more than any ringtone: stop there rather than fill memory.
    while samples.len() < 48_000 * 600 {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(_) => break, // end of stream (or a truncated file: keep what decoded)
        };
        if packet.track_id() != track_id {
            continue;
        }
        let Ok(decoded) = decoder.decode(&packet) else { continue };
        let spec = *decoded.spec();
        rate = spec.rate;
        let mut buf = SampleBuffer::<i16>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        samples.extend(mono(buf.samples(), spec.channels.count()));
    }
    if samples.is_empty() || rate == 0 {
        return Err(bad("no audio decoded".into()));
    }
    Ok((samples, rate))
}

/// Records to a 16-bit mono WAV file at the call's rate. The header is finalised when
/// the call ends (drop); a crash leaves a file with a stale length that most tools
/// still read.
pub struct WavSink {
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
}

impl WavSink {
    pub fn create(path: &std::path::Path, rate: u32) -> Result<WavSink, DeviceError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .map_err(|e| DeviceError::Open { path: path.display().to_string(), why: e.to_string() })?;
        Ok(WavSink { writer: Some(writer) })
    }
}

impl Sink for WavSink {
    fn write(&mut self, frame: &[i16]) {
        let Some(w) = &mut self.writer else { return };
        // A full disk stops the recording, not the call.
        if frame.iter().try_for_each(|&s| w.write_sample(s)).is_err() {
            self.writer = None;
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.finalize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert_eq!(DeviceSpec::parse("").unwrap(), DeviceSpec::Default);
        assert_eq!(DeviceSpec::parse("null").unwrap(), DeviceSpec::Null);
        assert_eq!(DeviceSpec::parse("file:/tmp/a.wav").unwrap(), DeviceSpec::File("/tmp/a.wav".into()));
        assert!(DeviceSpec::parse("file:").is_err());
        assert_eq!(DeviceSpec::parse("alsa:pulse").unwrap(), DeviceSpec::Card("alsa:pulse".into()));
        let per_call = DeviceSpec::parse("file:/rec/{callid}.wav").unwrap().for_call("ab/c@host");
        assert_eq!(per_call, DeviceSpec::File("/rec/ab_c@host.wav".into()));
    }

    #[test]
    fn a_file_round_trips_and_is_resampled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        {
            let mut sink = WavSink::create(&path, 8000).unwrap();
            let ramp: Vec<i16> = (0..160).map(|i| i * 10).collect();
            for _ in 0..50 {
                sink.write(&ramp);
            }
        }
        let mut same = WavSource::open(&path, 8000).unwrap();
        let mut frame = vec![0i16; 160];
        same.read(&mut frame);
        assert_eq!(frame[159], 1590);
        let mut up = WavSource::open(&path, 16000).unwrap();
        let mut wide = vec![0i16; 320];
        let mut total = 0;
        for _ in 0..60 {
            up.read(&mut wide);
            total += wide.iter().filter(|&&s| s != 0).count();
        }
        assert!(
            (15_000..=16_000).contains(&total),
            "1 s at 8 kHz is about 16,000 samples at 16 kHz: {total}"
        );
        let mut end = WavSource::open(&path, 8000).unwrap();
        for _ in 0..51 {
            end.read(&mut frame);
        }
        assert!(frame.iter().all(|&s| s == 0), "silence after the end");
        assert!(WavSource::open(&dir.path().join("missing.wav"), 8000).is_err());
    }
}
