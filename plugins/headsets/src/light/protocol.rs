//! The status lights' wire formats: which USB ids are which light, and the bytes that
//! show a colour. Written here rather than taken from a crate because the two Rust
//! crates that exist are stale and panic on errors (`busylight` 0.1, legacy Kuando only;
//! `ruxafor`, Luxafor only) and each encoder is a few lines; the bytes are checked
//! against `tests/fixtures/busylight-golden.txt`.
//!
//! Sources: Kuando from JnyJny/busylight `docs/devices/kuando.md` (cross-checked against
//! three implementations); Embrava from `docs/devices/embrava.md`; Luxafor from
//! busylight-core's `luxafor` state.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A colour as the app shows it (0..255 per channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const OFF: Rgb = Rgb(0, 0, 0);

    /// `#rrggbb`.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.trim().strip_prefix('#')?;
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        Some(Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// What a light shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Off,
    Solid(Rgb),
    /// On for `period`, off for `period`, repeating.
    Pulse(Rgb, Duration),
}

/// The lights this plugin drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Kuando Busylight Alpha and Omega (64-byte step programs, needs keep-alives).
    Kuando,
    /// Embrava Blynclight (standard, mini, plus).
    Blynclight,
    /// Luxafor Flag, Orb and Mute.
    Luxafor,
}

/// Which light a USB id is.
pub fn kind(vendor: u16, product: u16) -> Option<Kind> {
    Some(match (vendor, product) {
        (0x04d8, 0xf848) | (0x27bb, 0x3bca..=0x3bcf) => Kind::Kuando,
        (0x2c0d, 0x0001 | 0x000a | 0x000c | 0x0002 | 0x0010) | (0x0e53, 0x2516) => Kind::Blynclight,
        (0x04d8, 0xf372) => Kind::Luxafor,
        _ => return None,
    })
}

impl Kind {
    pub fn vendor(self) -> &'static str {
        match self {
            Kind::Kuando => "Kuando",
            Kind::Blynclight => "Embrava",
            Kind::Luxafor => "Luxafor",
        }
    }

    /// The write (report-id byte first, as hidraw wants) that shows `show`. Lights that
    /// cannot pulse in hardware answer the "on" half; the plugin's timer alternates.
    pub fn frame(self, show: Show) -> Vec<u8> {
        match self {
            Kind::Kuando => with_id(kuando(show)),
            Kind::Blynclight => blynclight(show),
            Kind::Luxafor => luxafor(match show {
                Show::Off => Rgb::OFF,
                Show::Solid(c) | Show::Pulse(c, _) => c,
            }),
        }
    }

    /// Whether the plugin must pulse the light itself (by alternating frames).
    pub fn pulses_in_software(self) -> bool {
        self == Kind::Luxafor
    }

    /// The keep-alive write and how often to send it, for lights that go dark without one.
    pub fn keepalive(self) -> Option<(Vec<u8>, Duration)> {
        match self {
            // Timeout nibble 15 s, sent at well under half of it.
            Kind::Kuando => Some((with_id(kuando_step(0x8f, [0; 7])), KUANDO_KEEPALIVE)),
            _ => None,
        }
    }
}

/// How often a Kuando hears its keep-alive (its program stops after the 15 s timeout).
pub const KUANDO_KEEPALIVE: Duration = Duration::from_secs(5);

/// Kuando's devices take no report id: a hidraw write's first byte is 0.
fn with_id(payload: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(0);
    out.extend(payload);
    out
}

/// The 64-byte Kuando program: one Jump step to itself.
pub fn kuando(show: Show) -> Vec<u8> {
    let (c, on, off) = match show {
        Show::Off => (Rgb::OFF, 0, 0),
        Show::Solid(c) => (c, 0, 0),
        Show::Pulse(c, period) => {
            let tenths = (period.as_millis() / 100).clamp(1, 255) as u8;
            (c, tenths, tenths)
        }
    };
    // Jump (0x1) to step 0; colours are PWM 0..100.
    kuando_step(0x10, [0, pwm(c.0), pwm(c.1), pwm(c.2), on, off, 0])
}

/// A program of one step followed by the footer: bytes 59..61 are FF, 62..63 the
/// big-endian sum of bytes 0..61.
fn kuando_step(opcode: u8, rest: [u8; 7]) -> Vec<u8> {
    let mut frame = vec![0u8; 64];
    frame[0] = opcode;
    frame[1..8].copy_from_slice(&rest);
    frame[59..62].copy_from_slice(&[0xff; 3]);
    let sum: u16 = frame[..62].iter().map(|b| u16::from(*b)).sum();
    frame[62..].copy_from_slice(&sum.to_be_bytes());
    frame
}

fn pwm(channel: u8) -> u8 {
    ((u16::from(channel) * 100 + 127) / 255) as u8
}

/// Blynclight: `00 R B G ctrl music vol FF 22`; ctrl bit 0 off, bit 2 flash, bits 3..5
/// the speed (1 slow, 2 medium, 4 fast).
pub fn blynclight(show: Show) -> Vec<u8> {
    let (c, ctrl) = match show {
        Show::Off => (Rgb::OFF, 0x01 | 1 << 3),
        Show::Solid(c) => (c, 1 << 3),
        Show::Pulse(c, period) => {
            let speed: u8 = match period.as_millis() {
                0..=300 => 4,
                301..=700 => 2,
                _ => 1,
            };
            (c, 0x04 | speed << 3)
        }
    };
    vec![0x00, c.0, c.2, c.1, ctrl, 0x00, 0x00, 0xff, 0x22]
}

/// Luxafor: static colour on all LEDs, padded to 8 bytes. The Flag uses no report id;
/// hidraw's leading 0 is added.
pub fn luxafor(c: Rgb) -> Vec<u8> {
    with_id(vec![0x01, 0xff, c.0, c.1, c.2, 0, 0, 0])
}
