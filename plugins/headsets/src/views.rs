//! The Headsets panel: every headset and light found, whether it is in use, and why
//! not when it is not (disabled, or hidraw's permissions).

use crate::engine::Snapshot;
use serde::{Deserialize, Serialize};
use ucdesk_sdk::contract::headset::Kind;
use ucdesk_sdk::{Action, View, ui};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Blink the light or ring the headset at this path.
    Test(String),
}

/// What to tell a desktop user whose device hidraw will not open for them.
pub const UDEV_HINT: &str = "Install the udev rule (70-ucdesk-headsets.rules, shipped with ucdesk) so your \
     desktop session may open the device, then unplug and replug it.";

pub fn devices(s: &Snapshot, _: &()) -> View {
    let mut children = vec![ui::heading("Headsets and lights")];
    if s.devices.is_empty() {
        children.push(ui::weak(
            "No headset or status light found. Plug one in; it shows here within two seconds.",
        ));
    }
    let denied = s.devices.iter().any(|d| !d.accessible);
    for d in &s.devices {
        let state = match (&d.problem, d.kind) {
            (Some(p), _) => p.clone(),
            (None, Kind::Light) if d.connected => "connected".to_string(),
            (None, Kind::Light) => "not connected".to_string(),
            (None, _) if s.owner.as_deref() == Some(d.path.as_str()) => "in use (owns the call)".to_string(),
            (None, _) => "ready".to_string(),
        };
        children.push(ui::row([
            ui::text(format!("{} {}", d.vendor, d.product)),
            ui::weak(format!("{} · {state}", if d.kind == Kind::Light { "light" } else { "headset" })),
            ui::button(Act::Test(d.path.clone()).id(), if d.kind == Kind::Light { "Blink" } else { "Ring" }),
        ]));
    }
    if denied {
        children.push(ui::colored(UDEV_HINT, "#c0392b"));
    }
    children.push(ui::separator());
    children.push(ui::weak(format!("Busylight integration is {}.", if s.busylight { "on" } else { "off" })));
    if !s.bad_colors.is_empty() {
        children.push(ui::colored(
            format!("Not #rrggbb, so the default colour is used for: {}.", s.bad_colors.join(", ")),
            "#c0392b",
        ));
    }
    // The manual's Windows installer step has no Linux counterpart.
    children.push(ui::weak(
        "Poly (Plantronics) headsets work directly over USB HID: Plantronics Runtime does not exist on Linux and is not needed.",
    ));
    ui::view(ui::column(children))
}
