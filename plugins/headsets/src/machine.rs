//! The headset state machine: between the headsets' button reports and the phone
//! contract. It owns no device and no clock: reports, call events and the time come in,
//! phone commands and light reports go out, so every rule is a plain test.
//!
//! The rules, each from behaviour seen in shipped clients (sources in
//! `tests/fixtures/README.md` and the plugin README):
//! - (a) after every hook or mute change the Off-Hook and Mute lights are written back,
//!   changed or not: Jabra's request/acknowledge pattern ignores an off-hook the host
//!   does not confirm;
//! - (b) the headset echoes a host-set off-hook as a Hook Switch report; one within
//!   [`ECHO_WINDOW`] of our write is not the user answering;
//! - (c) on hold Off-Hook stays on and only Hold is set (clearing Off-Hook made some
//!   Jabras report on-hook, which ended the held call);
//! - (d) reject while ringing: Button 7, Drop, or two on-hook reports in a row;
//! - (e) a mute-lock (a boom arm that forces mute) is followed, not fought: the
//!   headset's mute reports always set the call's mute, none is taken for an echo;
//! - (f) the Ring light always rings, the headset's own ringer only when the option is on;
//! - several headsets: the one used last owns the call; a device that goes away leaves
//!   the call alone.

use crate::hid::descriptor::{Button, Layout, Light, name_of};
use crate::hid::report::{LightWriter, read_buttons};
use std::collections::BTreeMap;
use std::time::Duration;
use ucdesk_sdk::contract::phone::{CallEvent, CallState, Direction};

/// A host-set off-hook echoed back inside this window is ignored (rule b; GOnnect uses
/// 500 ms for the same workaround).
pub const ECHO_WINDOW: Duration = Duration::from_millis(500);

/// What the machine asks of the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Answer(String),
    Hangup(String),
    /// Hang up a call that rings and was not answered (the softphone's `phone.hangup`
    /// rejects it with 486/603).
    Reject(String),
    Hold(String),
    Resume(String),
    Mute {
        callid: String,
        muted: bool,
    },
    Redial,
}

impl Press {
    /// The name `headset.button` gives it: `hook_off`/`hook_on` for the hook switch,
    /// `<button>` for a press or an absolute button going on, `<button>_released` for
    /// an absolute button going off.
    pub fn name(self) -> String {
        let word = |b: Button| name_of(&b);
        match self {
            Press::Level(Button::Hook, true) => "hook_off".into(),
            Press::Level(Button::Hook, false) | Press::Again(Button::Hook, false) => "hook_on".into(),
            Press::Edge(b) | Press::Level(b, true) | Press::Again(b, true) => word(b),
            Press::Level(b, false) | Press::Again(b, false) => format!("{}_released", word(b)),
        }
    }
}

/// A button happening, after the absolute/relative flag is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// An absolute control changed to this level.
    Level(Button, bool),
    /// A relative control's 0 -> 1 edge (a toggle or one-shot press).
    Edge(Button),
    /// A report that repeats an absolute control's level and carries nothing else (a
    /// repeated on-hook is how some headsets reject, rule d).
    Again(Button, bool),
}

#[derive(Debug, Clone)]
struct Call {
    id: String,
    state: CallState,
    inbound: bool,
    muted: bool,
}

impl Call {
    fn rings_here(&self) -> bool {
        self.inbound && self.state == CallState::Ringing
    }
}

struct Device {
    layout: Layout,
    levels: BTreeMap<Button, bool>,
    lights: LightWriter,
    /// When we last turned Off-Hook on (rule b).
    host_off_hook_at: Option<Duration>,
    /// On-hook reports seen while a call rings (rule d).
    on_hooks_while_ringing: u8,
    /// Ringing for `headsets.test`, with no call.
    test_ring: bool,
}

/// Options from the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Ring in the headset itself (Telephony Ringer), not only its Ring light.
    pub ringer: bool,
}

/// The machine. Device ids are the plugin's (the hidraw path).
#[derive(Default)]
pub struct Machine {
    devices: BTreeMap<String, Device>,
    calls: Vec<Call>,
    owner: Option<String>,
    options: Options,
    /// Light reports waiting to be written, per device.
    writes: Vec<(String, Vec<u8>)>,
    /// Buttons used since the last [`Machine::take_presses`], per device.
    pressed: Vec<(String, Press)>,
}

impl Machine {
    pub fn new(options: Options) -> Machine {
        Machine { options, ..Machine::default() }
    }

    pub fn set_options(&mut self, options: Options, now: Duration) {
        self.options = options;
        self.refresh_lights(now, false);
    }

    /// A headset appeared (or was enabled).
    pub fn add_device(&mut self, id: &str, layout: Layout, now: Duration) {
        let lights = LightWriter::new(&layout);
        let device = Device {
            layout,
            levels: BTreeMap::new(),
            lights,
            host_off_hook_at: None,
            on_hooks_while_ringing: 0,
            test_ring: false,
        };
        self.devices.insert(id.to_string(), device);
        if self.owner.is_none() {
            self.owner = Some(id.to_string());
        }
        // A headset plugged in mid-call shows the call at once.
        self.refresh_lights(now, true);
    }

    /// A headset went away. Its call is left alone: the user may be moving to another
    /// device, or the cable was pulled by accident.
    pub fn remove_device(&mut self, id: &str) {
        self.devices.remove(id);
        if self.owner.as_deref() == Some(id) {
            self.owner = self.devices.keys().next().cloned();
        }
    }

    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.devices.keys().map(String::as_str)
    }

    /// The state of every call the phone has published and not yet ended.
    pub fn call_states(&self) -> impl Iterator<Item = CallState> + '_ {
        self.calls.iter().map(|c| c.state)
    }

    /// The device that owns the call (used last).
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The buttons used since the last call, oldest first (for `headset.button`).
    pub fn take_presses(&mut self) -> Vec<(String, Press)> {
        std::mem::take(&mut self.pressed)
    }

    /// Reports waiting to go to the devices, oldest first.
    pub fn take_writes(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.writes)
    }

    /// Rings one headset (light, and ringer when the option is on) with no call, for
    /// `headsets.test`.
    pub fn test_ring(&mut self, id: &str, on: bool, now: Duration) {
        if let Some(d) = self.devices.get_mut(id) {
            d.test_ring = on;
        }
        self.refresh_lights(now, false);
    }

    /// The phone published a call event.
    pub fn call_event(&mut self, event: &CallEvent, now: Duration) {
        let state = event.state;
        match self.calls.iter_mut().find(|c| c.id == event.callid) {
            _ if state == CallState::Ended || state == CallState::Transferred => {
                self.calls.retain(|c| c.id != event.callid);
            }
            Some(call) => {
                call.state = state;
                call.muted = event.muted;
            }
            None => self.calls.push(Call {
                id: event.callid.clone(),
                state,
                inbound: event.direction == Direction::Inbound,
                muted: event.muted,
            }),
        }
        if !self.calls.iter().any(Call::rings_here) {
            for d in self.devices.values_mut() {
                d.on_hooks_while_ringing = 0;
            }
        }
        self.refresh_lights(now, false);
    }

    /// The phone's microphone for a call changed (from the headset, the app or a script).
    pub fn muted(&mut self, callid: &str, muted: bool, now: Duration) {
        let Some(call) = self.calls.iter_mut().find(|c| c.id == callid) else { return };
        call.muted = muted;
        self.refresh_lights(now, false);
    }

    /// An input report from a device: the presses it carries, turned into commands.
    pub fn report(&mut self, id: &str, bytes: &[u8], now: Duration) -> Vec<Command> {
        let Some(device) = self.devices.get_mut(id) else { return Vec::new() };
        let mut presses = Vec::new();
        let mut hook_repeated_on = false;
        for (button, level) in read_buttons(&device.layout, bytes) {
            let relative = device.layout.buttons[&button].relative;
            let was = device.levels.insert(button, level).unwrap_or(false);
            match (relative, was, level) {
                (true, false, true) => presses.push(Press::Edge(button)),
                (false, _, _) if was != level => presses.push(Press::Level(button, level)),
                (false, false, false) if button == Button::Hook => hook_repeated_on = true,
                _ => {}
            }
        }
        if hook_repeated_on && presses.is_empty() {
            presses.push(Press::Again(Button::Hook, false));
        }
        let mut commands = Vec::new();
        self.pressed
            .extend(presses.iter().filter(|p| !matches!(p, Press::Again(..))).map(|p| (id.to_string(), *p)));
        for press in presses {
            commands.extend(self.press(id, press, now));
        }
        commands
    }

    fn press(&mut self, id: &str, press: Press, now: Duration) -> Vec<Command> {
        let mut out = Vec::new();
        let ringing = self.calls.iter().find(|c| c.rings_here()).map(|c| c.id.clone());
        let active = self.active().map(|c| c.id.clone());
        let Some(device) = self.devices.get_mut(id) else { return out };
        let mut echo = false;
        match press {
            Press::Level(Button::Hook, _) | Press::Edge(Button::Hook) => {
                echo = true;
                // A relative hook is a toggle against the state we last confirmed.
                let off_hook = match press {
                    Press::Level(_, level) => level,
                    _ => !device.lights.is_on(Light::OffHook),
                };
                if off_hook {
                    let echoed = device.host_off_hook_at.is_some_and(|t| now.saturating_sub(t) < ECHO_WINDOW);
                    device.on_hooks_while_ringing = 0;
                    if echoed {
                        // Rule b: our own off-hook coming back, not the user answering.
                    } else if let Some(callid) = ringing.filter(|_| active.is_none()) {
                        self.owner = Some(id.to_string());
                        out.push(Command::Answer(callid));
                    } else if active.is_some() {
                        self.owner = Some(id.to_string());
                    }
                } else {
                    out.extend(self.hook_on(id, active));
                }
            }
            Press::Again(Button::Hook, false) if active.is_none() => {
                // Rule d: only while a call rings and none is in progress; never a hang-up.
                out.extend(self.hook_on(id, None));
            }
            Press::Edge(Button::Mute) | Press::Level(Button::Mute, _) => {
                echo = true;
                if let Some(call) = self.active() {
                    let muted = match press {
                        Press::Level(_, level) => level,
                        _ => !call.muted,
                    };
                    // Rule e: what the headset reports wins, also right after the app
                    // unmuted (a mute-lock re-mutes at once); it is never taken for an
                    // echo of our own write, so app and headset cannot drift apart.
                    let callid = call.id.clone();
                    self.owner = Some(id.to_string());
                    out.push(Command::Mute { callid, muted });
                }
            }
            Press::Edge(Button::Flash) | Press::Level(Button::Flash, true) => {
                self.owner = Some(id.to_string());
                out.extend(self.flash(ringing));
            }
            Press::Edge(Button::Redial) if active.is_none() && ringing.is_none() => {
                self.owner = Some(id.to_string());
                out.push(Command::Redial);
            }
            Press::Level(Button::Reject, true) | Press::Edge(Button::Reject) | Press::Edge(Button::Drop) => {
                if let Some(callid) = ringing {
                    out.push(Command::Reject(callid));
                } else if let (Press::Edge(Button::Drop), Some(callid)) = (press, active) {
                    // Drop during a call: HUT's "drop the call".
                    out.push(Command::Hangup(callid));
                }
            }
            _ => {}
        }
        if echo {
            self.refresh_lights(now, true);
        }
        out
    }

    /// The hook went on-hook: hang up the owner's call, or count towards a reject.
    fn hook_on(&mut self, id: &str, active: Option<String>) -> Vec<Command> {
        let ringing = self.calls.iter().find(|c| c.rings_here()).map(|c| c.id.clone());
        let owner = self.owner.as_deref() == Some(id);
        let Some(device) = self.devices.get_mut(id) else { return Vec::new() };
        device.host_off_hook_at = None;
        match (active, ringing) {
            (Some(callid), _) if owner => vec![Command::Hangup(callid)],
            (None, Some(callid)) => {
                device.on_hooks_while_ringing += 1;
                if device.on_hooks_while_ringing >= 2 {
                    device.on_hooks_while_ringing = 0;
                    vec![Command::Reject(callid)]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    /// Flash: answer a waiting call (holding the current one), swap between two calls,
    /// or hold and resume the one call.
    fn flash(&self, ringing: Option<String>) -> Vec<Command> {
        let connected = self.calls.iter().find(|c| c.state == CallState::Connected).map(|c| c.id.clone());
        let held = self.calls.iter().find(|c| c.state == CallState::Held).map(|c| c.id.clone());
        match (connected, held, ringing) {
            (Some(on), _, Some(waiting)) => vec![Command::Hold(on), Command::Answer(waiting)],
            (Some(on), Some(off), None) => vec![Command::Hold(on), Command::Resume(off)],
            (Some(on), None, None) => vec![Command::Hold(on)],
            (None, Some(off), _) => vec![Command::Resume(off)],
            _ => Vec::new(),
        }
    }

    /// The call the buttons act on: the connected one, else a held one, else one we
    /// are dialing.
    fn active(&self) -> Option<&Call> {
        let by = |s: CallState| self.calls.iter().find(move |c| c.state == s);
        by(CallState::Connected)
            .or_else(|| by(CallState::Held))
            .or_else(|| self.calls.iter().find(|c| !c.inbound && c.state != CallState::Ringing))
            .or_else(|| self.calls.iter().find(|c| !c.inbound))
    }

    /// Brings every device's lights in line with the calls. `force` writes even when
    /// nothing changed (rule a).
    fn refresh_lights(&mut self, now: Duration, force: bool) {
        let active = self.active().cloned();
        let ringing = self.calls.iter().any(Call::rings_here);
        let all_held = active.as_ref().is_some_and(|c| c.state == CallState::Held);
        let rings = ringing && active.is_none();
        for (id, device) in self.devices.iter_mut() {
            let owns = self.owner.as_deref() == Some(id.as_str());
            let off_hook = owns && active.is_some();
            let levels = [
                (Light::OffHook, off_hook),
                // Rule c: Hold on, Off-Hook stays on.
                (Light::Hold, owns && all_held),
                (Light::Mute, owns && active.as_ref().is_some_and(|c| c.muted)),
                (Light::Microphone, owns && active.as_ref().is_some_and(|c| c.muted)),
                (Light::OnLine, off_hook),
                // Rule f: the light rings on every headset, the ringer only if asked.
                (Light::Ring, rings || device.test_ring),
                (Light::Ringer, (rings || device.test_ring) && self.options.ringer),
            ];
            let changed = levels.iter().any(|(light, on)| {
                device.layout.lights.contains_key(light) && device.lights.is_on(*light) != *on
            });
            if !(changed || force) {
                continue;
            }
            if off_hook && !device.lights.is_on(Light::OffHook) {
                device.host_off_hook_at = Some(now);
            }
            for report in device.lights.set(&levels) {
                self.writes.push((id.clone(), report));
            }
        }
    }
}
