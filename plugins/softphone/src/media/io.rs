//! The two ends every audio device implements: a [`Source`] gives 20 ms frames, a
//! [`Sink`] takes them, and [`Silence`] is both. They sit below the devices themselves
//! (files and `null` in `device.rs`, sound cards in `card.rs`) so that a card can be a
//! device without the card code and the device code importing each other.

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("cannot open {path}: {why}")]
    Open { path: String, why: String },
    #[error("{path} is not usable audio: {why}")]
    Format { path: String, why: String },
    #[error("sound card {name}: {why}")]
    Card { name: String, why: String },
}

/// Gives 20 ms of audio at a time.
pub trait Source: Send {
    /// Fills `frame` (mono, the codec's rate).
    fn read(&mut self, frame: &mut [i16]);

    /// Whether real audio has started to come (a sound card may take a moment).
    fn ready(&self) -> bool {
        true
    }
}

/// Takes 20 ms of audio at a time.
pub trait Sink: Send {
    fn write(&mut self, frame: &[i16]);

    /// Whether the device has started to play (a sound card may take a moment).
    fn ready(&self) -> bool {
        true
    }
}

/// No audio: zeros in, nothing out (`null`, and any device that cannot be opened).
pub struct Silence;

impl Source for Silence {
    fn read(&mut self, frame: &mut [i16]) {
        frame.fill(0);
    }
}

impl Sink for Silence {
    fn write(&mut self, _frame: &[i16]) {}
}
