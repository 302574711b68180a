//! The headset contract (since plugin-api 1.6): USB headsets and status lights as the
//! headsets plugin sees them. Other plugins react to the buttons (a CRM marking a call,
//! a call-center agent pausing) without talking HID.

use super::Contract;
use serde::{Deserialize, Serialize};

/// A headset or light was found and opened ([`Device`]).
pub const TOPIC_CONNECTED: &str = "headset.connected";
/// A headset or light went away or was disabled ([`Device`]).
pub const TOPIC_DISCONNECTED: &str = "headset.disconnected";
/// A headset's call-control button was used ([`ButtonPressed`]).
pub const TOPIC_BUTTON: &str = "headset.button";

/// Service names of the headsets plugin.
pub const DEVICES: &str = "headsets.devices";
pub const TEST: &str = "headsets.test";

/// What kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Headset,
    Light,
}

/// A device, as [`TOPIC_CONNECTED`] and [`TOPIC_DISCONNECTED`] carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Its path (`/dev/hidrawN`): the id `headsets.test` takes.
    pub device: String,
    pub vendor: String,
    pub product: String,
    pub kind: Kind,
}
impl Contract for Device {
    const SCHEMA: &'static str = "headset.device/v1";
}

/// A button press, after the absolute/relative flag is applied: `hook_off` and
/// `hook_on` for the hook switch, otherwise the button's name (`mute`, `flash`,
/// `redial`, `reject`, `drop`, `programmable`, `speed_dial`, `voice_mail`,
/// `line_busy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ButtonPressed {
    pub device: String,
    pub button: String,
}
impl Contract for ButtonPressed {
    const SCHEMA: &'static str = "headset.button/v1";
}
