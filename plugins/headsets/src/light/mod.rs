//! Status lights (busylights): what colour the user's state is, and the lights' wire
//! formats ([`protocol`]).

pub mod protocol;

use protocol::{Kind, Rgb, Show};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use ucdesk_sdk::contract::presence::Status;

/// The phone's part of the light: it wins over presence while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    #[default]
    Idle,
    Ringing,
    OnCall,
    OnHold,
}

/// The statuses and phone states that have a colour (`headsets.busylight_color_<name>`).
pub const NAMES: [&str; 8] = ["available", "away", "busy", "dnd", "offline", "ringing", "on_call", "on_hold"];

/// The defaults, in [`NAMES`] order: the app's presence colours (the shell's theme), as
/// the manual asks. Offline is dark: the theme's grey would read as "on".
const DEFAULTS: [&str; 8] =
    ["#2ecc71", "#f1c40f", "#e74c3c", "#c0392b", "#000000", "#e67e22", "#e67e22", "#e67e22"];

/// A colour (`#rrggbb`, as the user typed it) per name in [`NAMES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colors([String; 8]);

impl Default for Colors {
    fn default() -> Colors {
        Colors(DEFAULTS.map(String::from))
    }
}

/// Where `name` sits in [`NAMES`]; an unknown name is the last phone state.
fn slot(name: &str) -> usize {
    NAMES.iter().position(|n| *n == name).unwrap_or(NAMES.len() - 1)
}

impl Colors {
    pub fn text(&self, name: &str) -> &str {
        &self.0[slot(name)]
    }

    pub fn set(&mut self, name: &str, text: String) {
        self.0[slot(name)] = text;
    }

    /// The colour for a status or phone state; one that does not parse falls back to
    /// the default (and is listed by [`Colors::invalid`]).
    fn get(&self, name: &str) -> Rgb {
        Rgb::parse(self.text(name)).or_else(|| Rgb::parse(DEFAULTS[slot(name)])).unwrap_or(Rgb::OFF)
    }

    /// The colours that do not parse as `#rrggbb` (the Headsets panel lists them).
    pub fn invalid(&self) -> Vec<&'static str> {
        NAMES.into_iter().filter(|n| Rgb::parse(self.text(n)).is_none()).collect()
    }
}

/// `busylight.pulse`: how fast the phone states blink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pulse {
    Slow,
    #[default]
    Medium,
    Fast,
}

impl Pulse {
    pub fn period(self) -> Duration {
        match self {
            Pulse::Slow => Duration::from_millis(1000),
            Pulse::Medium => Duration::from_millis(500),
            Pulse::Fast => Duration::from_millis(200),
        }
    }

    pub fn parse(text: &str) -> Pulse {
        match text {
            "slow" => Pulse::Slow,
            "fast" => Pulse::Fast,
            _ => Pulse::Medium,
        }
    }
}

/// What the light shows for this state: the phone first (ringing pulses, a call is
/// solid, a held call pulses), then presence.
pub fn show(presence: Status, phone: PhoneState, colors: &Colors, pulse: Pulse) -> Show {
    match phone {
        PhoneState::Ringing => Show::Pulse(colors.get("ringing"), pulse.period()),
        PhoneState::OnCall => Show::Solid(colors.get("on_call")),
        PhoneState::OnHold => Show::Pulse(colors.get("on_hold"), pulse.period() * 2),
        PhoneState::Idle => {
            let c = colors.get(presence.as_str());
            if c == Rgb::OFF { Show::Off } else { Show::Solid(c) }
        }
    }
}

/// The timed writes of one light: keep-alives for lights that go dark without them, and
/// the pulse for lights that cannot pulse by themselves. Pure (the time comes in), so
/// the schedule is tested under a test clock.
#[derive(Debug, Clone)]
pub struct LightTimer {
    kind: Kind,
    last_keepalive: Duration,
    pulse_on: bool,
    last_flip: Duration,
}

impl LightTimer {
    pub fn new(kind: Kind, now: Duration) -> LightTimer {
        LightTimer { kind, last_keepalive: now, pulse_on: true, last_flip: now }
    }

    /// A new picture was written at `now`: the pulse starts from "on".
    pub fn shown(&mut self, now: Duration) {
        self.pulse_on = true;
        self.last_flip = now;
    }

    /// The writes due at `now` for a light showing `show`.
    pub fn due(&mut self, show: Option<Show>, now: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some((frame, every)) = self.kind.keepalive()
            && now.saturating_sub(self.last_keepalive) >= every
        {
            self.last_keepalive = now;
            out.push(frame);
        }
        if let (true, Some(Show::Pulse(colour, period))) = (self.kind.pulses_in_software(), show)
            && now.saturating_sub(self.last_flip) >= period
        {
            self.pulse_on = !self.pulse_on;
            self.last_flip = now;
            out.push(self.kind.frame(if self.pulse_on { Show::Solid(colour) } else { Show::Off }));
        }
        out
    }
}
