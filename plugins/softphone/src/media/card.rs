//! Sound cards through cpal. Each open direction runs its cpal stream on a thread of its
//! own (cpal streams are not `Send` on every platform, and the media task must never
//! block on a device): the card's callback and the media task meet in a small ring of
//! mono samples at the card's rate, and the media side resamples to and from the call's
//! codec rate. The rings are bounded, so a stalled side costs at most 200 ms of audio,
//! never unbounded delay.

use super::io::{DeviceError, Sink, Source};
use audio_codec::BoxedResampler;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Ring bound: 200 ms at the card's rate.
const RING_MS: u32 = 200;

type Ring = Arc<Mutex<VecDeque<i16>>>;

/// A running card stream: stops and joins its thread when dropped.
struct Card {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    ring: Ring,
    rate: u32,
    /// The card's callback has run at least once.
    flowing: Arc<AtomicBool>,
}

impl Drop for Card {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The device a setting names: `None` is the default host's default device; an id
/// (`alsa:pulse`, `pulseaudio:vsink`) is looked up on its own host; anything else is a
/// device name on the default host (PulseAudio when a server runs, else ALSA).
fn find(name: Option<&str>, input: bool) -> Result<cpal::Device, String> {
    let host = cpal::default_host();
    let Some(wanted) = name else {
        return if input { host.default_input_device() } else { host.default_output_device() }
            .ok_or_else(|| "there is no default device".to_string());
    };
    if let Ok(id) = wanted.parse::<cpal::DeviceId>()
        && let Ok(its_host) = cpal::host_from_id(id.host())
        && let Some(device) = its_host.device_by_id(&id)
    {
        return Ok(device);
    }
    let devices = if input {
        host.input_devices().map(|d| d.collect::<Vec<_>>())
    } else {
        host.output_devices().map(|d| d.collect::<Vec<_>>())
    }
    .map_err(|e| e.to_string())?;
    devices
        .into_iter()
        .find(|d| d.id().is_ok_and(|id| id.to_string() == wanted) || d.to_string() == wanted)
        .ok_or_else(|| format!("no such {} device", if input { "input" } else { "output" }))
}

/// Opens a card for `input` or output and starts its stream on a thread of its own.
fn open(name: Option<&str>, input: bool) -> Result<Card, DeviceError> {
    let label = name.unwrap_or("default").to_string();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(u32, Ring), String>>();
    let flowing = Arc::new(AtomicBool::new(false));
    let flows = flowing.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let wanted = name.map(str::to_string);
    let thread = std::thread::Builder::new()
        .name(format!("audio-{}", if input { "in" } else { "out" }))
        .spawn(move || {
            let started = (|| -> Result<(cpal::Stream, u32, Ring), String> {
                let device = find(wanted.as_deref(), input)?;
                let supported =
                    if input { device.default_input_config() } else { device.default_output_config() }
                        .map_err(|e| e.to_string())?;
                let mut config = supported.config();
                // 20 ms periods: a default buffer can be seconds long on some backends,
                // which is seconds of delay and a ring that overflows. Only a card that
                // refuses falls back. (A PulseAudio null sink's monitor, the lab's
                // microphone, delivers nothing until its current 2 s block ends unless the
                // sink is loaded with norewinds=1: tests/lab/pulseaudio.sh.)
                let period = config.sample_rate / 50;
                let refuses = matches!(supported.buffer_size(), cpal::SupportedBufferSize::Range { min, max } if !(*min..=*max).contains(&period));
                if !refuses {
                    config.buffer_size = cpal::BufferSize::Fixed(period);
                }
                let (rate, channels) = (config.sample_rate, config.channels.max(1) as usize);
                let ring: Ring =
                    Arc::new(Mutex::new(VecDeque::with_capacity((rate * RING_MS / 1000) as usize)));
                let cap = (rate * RING_MS / 1000) as usize;
                let r = ring.clone();
                let f = flows.clone();
                // Stream hiccups (an underrun, a server restart) are reported by the card and
                // recovered by cpal/ALSA; they are worth a line, not a failed call.
                let on_error = |e: cpal::Error| eprintln!("sound card stream: {e}");
                let stream = match (input, supported.sample_format()) {
                    (true, cpal::SampleFormat::F32) => {
                        device.build_input_stream(config, capture::<f32>(r, f, cap, channels), on_error, None)
                    }
                    (true, cpal::SampleFormat::I16) => {
                        device.build_input_stream(config, capture::<i16>(r, f, cap, channels), on_error, None)
                    }
                    (false, cpal::SampleFormat::F32) => {
                        device.build_output_stream(config, playback::<f32>(r, f, channels), on_error, None)
                    }
                    (false, cpal::SampleFormat::I16) => {
                        device.build_output_stream(config, playback::<i16>(r, f, channels), on_error, None)
                    }
                    (_, other) => return Err(format!("sample format {other:?} is not supported")),
                }
                .map_err(|e| e.to_string())?;
                stream.play().map_err(|e| e.to_string())?;
                Ok((stream, rate, ring))
            })();
            match started {
                Ok((stream, rate, ring)) => {
                    let _ = ready_tx.send(Ok((rate, ring)));
                    while !stopping.load(Ordering::Relaxed) {
                        std::thread::park_timeout(Duration::from_millis(200));
                    }
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .map_err(|e| DeviceError::Card { name: label.clone(), why: e.to_string() })?;
    match ready_rx.recv_timeout(Duration::from_secs(3)) {
        Ok(Ok((rate, ring))) => Ok(Card { stop, thread: Some(thread), ring, rate, flowing }),
        Ok(Err(why)) => {
            let _ = thread.join();
            Err(DeviceError::Card { name: label, why })
        }
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            Err(DeviceError::Card { name: label, why: "did not start within 3 s".into() })
        }
    }
}

/// A capture callback: the card's frames mixed to mono into the ring.
fn capture<T>(
    ring: Ring,
    flowing: Arc<AtomicBool>,
    cap: usize,
    channels: usize,
) -> impl FnMut(&[T], &cpal::InputCallbackInfo) + Send + 'static
where
    T: cpal::SizedSample,
    i16: cpal::FromSample<T>,
{
    move |data, _| {
        let mono = data
            .chunks(channels)
            .map(|c| (c.iter().map(|&s| s.to_sample::<i16>() as i32).sum::<i32>() / c.len() as i32) as i16);
        push_input(&ring, &flowing, cap, mono)
    }
}

/// A playback callback: the ring's mono samples on every channel, silence when empty.
fn playback<T>(
    ring: Ring,
    flowing: Arc<AtomicBool>,
    channels: usize,
) -> impl FnMut(&mut [T], &cpal::OutputCallbackInfo) + Send + 'static
where
    T: cpal::SizedSample + cpal::FromSample<i16>,
{
    move |data, _| {
        flowing.store(true, Ordering::Relaxed);
        let mut ring = ring.lock().unwrap_or_else(|p| p.into_inner());
        for frame in data.chunks_mut(channels) {
            frame.fill(T::from_sample(ring.pop_front().unwrap_or(0)));
        }
    }
}

/// A capture callback's samples: noted as flowing, then into the ring.
fn push_input(ring: &Ring, flowing: &AtomicBool, cap: usize, samples: impl Iterator<Item = i16>) {
    flowing.store(true, Ordering::Relaxed);
    push(ring, cap, samples);
}

/// Appends to a ring, dropping the oldest samples past `cap`.
fn push(ring: &Ring, cap: usize, samples: impl Iterator<Item = i16>) {
    let mut r = ring.lock().unwrap_or_else(|p| p.into_inner());
    r.extend(samples);
    let excess = r.len().saturating_sub(cap);
    r.drain(..excess);
}

/// The microphone: frames at the call's rate from a card at its own.
pub struct CardSource {
    card: Card,
    resampler: Option<BoxedResampler>,
    ready: VecDeque<i16>,
    ratio: f64,
}

impl CardSource {
    pub fn open(name: Option<&str>, rate: u32) -> Result<CardSource, DeviceError> {
        let card = open(name, true)?;
        let resampler = resampler(card.rate, rate, name)?;
        Ok(CardSource { ratio: card.rate as f64 / rate as f64, card, resampler, ready: VecDeque::new() })
    }
}

impl Source for CardSource {
    fn ready(&self) -> bool {
        self.card.flowing.load(Ordering::Relaxed)
    }

    fn read(&mut self, frame: &mut [i16]) {
        // What the card captured for this frame (less if it is behind: silence fills in).
        let want = (frame.len() as f64 * self.ratio).round() as usize;
        let captured: Vec<i16> = {
            let mut ring = self.card.ring.lock().unwrap_or_else(|p| p.into_inner());
            let n = want.min(ring.len());
            ring.drain(..n).collect()
        };
        match &mut self.resampler {
            Some(r) => self.ready.extend(r.resample(&captured)),
            None => self.ready.extend(captured),
        }
        for s in frame.iter_mut() {
            *s = self.ready.pop_front().unwrap_or(0);
        }
        // Never let resampler rounding build up delay.
        let excess = self.ready.len().saturating_sub(frame.len());
        self.ready.drain(..excess);
    }
}

/// The speaker: frames at the call's rate to a card at its own.
pub struct CardSink {
    card: Card,
    resampler: Option<BoxedResampler>,
    cap: usize,
}

impl CardSink {
    pub fn open(name: Option<&str>, rate: u32) -> Result<CardSink, DeviceError> {
        let card = open(name, false)?;
        let resampler = resampler(rate, card.rate, name)?;
        let cap = (card.rate * RING_MS / 1000) as usize;
        Ok(CardSink { card, resampler, cap })
    }
}

impl Sink for CardSink {
    fn ready(&self) -> bool {
        self.card.flowing.load(Ordering::Relaxed)
    }

    fn write(&mut self, frame: &[i16]) {
        match &mut self.resampler {
            Some(r) => {
                let out = r.resample(frame);
                push(&self.card.ring, self.cap, out.into_iter());
            }
            None => push(&self.card.ring, self.cap, frame.iter().copied()),
        }
    }
}

fn resampler(from: u32, to: u32, name: Option<&str>) -> Result<Option<BoxedResampler>, DeviceError> {
    if from == to {
        return Ok(None);
    }
    BoxedResampler::new(from as usize, to as usize).map(Some).map_err(|e| DeviceError::Card {
        name: name.unwrap_or("default").to_string(),
        why: format!("cannot resample {from} Hz to {to} Hz: {e:?}"),
    })
}

/// The sound cards cpal sees on every available host, as (id, name, input?, output?),
/// for the preferences' pickers.
pub fn list() -> Vec<(String, String, bool, bool)> {
    let mut out = Vec::new();
    for host in cpal::available_hosts().into_iter().filter_map(|h| cpal::host_from_id(h).ok()) {
        let Ok(devices) = host.devices() else { continue };
        out.extend(devices.filter_map(|d| {
            let id = d.id().ok()?.to_string();
            Some((id, d.to_string(), d.supports_input(), d.supports_output()))
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_card_is_an_error_not_a_panic() {
        let err = super::CardSource::open(Some("alsa:no-such-card"), 8000).err().unwrap();
        assert!(err.to_string().starts_with("sound card alsa:no-such-card"), "{err}");
        assert!(super::CardSink::open(Some("no such card"), 8000).is_err());
    }
}
