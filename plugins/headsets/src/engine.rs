//! The engine's core: owns the open devices, the headset state machine and the lights'
//! state; hears the phone and presence through the plugin, and sends the machine's
//! commands to the phone contract. Everything the panel shows is published from here,
//! after the state it reflects changed.

use crate::config::{Config, Vendor};
use crate::hid::descriptor::{Layout, name_of};
use crate::hid::device::{DeviceError, Found, Io, Port, Scanner, spawn};
use crate::light::protocol::{Kind, Show, kind as light_kind};
use crate::light::{LightTimer, PhoneState, show};
use crate::machine::{Command, Machine, Options};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use ucdesk_sdk::contract::headset::{self, ButtonPressed, Device};
use ucdesk_sdk::contract::phone::{self, CallEvent, CallState};
use ucdesk_sdk::contract::presence::Status;
use ucdesk_sdk::engine::{Mailbox, Reply};
use ucdesk_sdk::prelude::*;

/// How often the device list is re-read for hot-plugged devices (polling sysfs: no udev
/// monitor, which would need libudev).
const SCAN_EVERY: Duration = Duration::from_secs(2);
/// The engine's clock tick: software pulses and keep-alives are scheduled on it.
pub const TICK: Duration = Duration::from_millis(100);
/// How long `headsets.test` rings a headset, and blinks a light white.
const TEST_RING: Duration = Duration::from_secs(2);
const TEST_BLINK: Duration = Duration::from_secs(1);

pub enum Msg {
    Io(Io),
    Call(CallEvent),
    Presence(Status),
    Muted {
        callid: String,
        muted: bool,
    },
    Configure(Config),
    Devices(Reply<Vec<DeviceRow>>),
    Test(String, Reply<()>),
    /// The test ring of this headset is over.
    TestDone(String),
    Tick,
    Stop(Reply<()>),
}

/// One device, as `headsets.devices` answers and the panel lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceRow {
    pub vendor: String,
    pub product: String,
    pub path: String,
    pub kind: headset::Kind,
    pub enabled: bool,
    /// Opened: false when hidraw's permissions keep this user out.
    pub accessible: bool,
    /// What it can do: the headset's buttons and lights, or the light's protocol.
    pub capabilities: Vec<String>,
    /// The last write reached the device (a light's "connected").
    pub connected: bool,
    /// Why it is not in use, when it is not.
    pub problem: Option<String>,
    /// USB vendor and product id.
    #[serde(skip)]
    pub ids: (u16, u16),
}

/// What the panel shows.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub devices: Vec<DeviceRow>,
    pub busylight: bool,
    /// Busylight colours that are not `#rrggbb` (their defaults are used).
    pub bad_colors: Vec<&'static str>,
    pub owner: Option<String>,
}

enum Role {
    Headset,
    /// `blink_until`: a `headsets.test` blink shows until then.
    Light {
        kind: Kind,
        shown: Option<Show>,
        timer: LightTimer,
        blink_until: Duration,
    },
}

struct Open {
    port: Port,
    role: Role,
}

pub struct Core {
    ctx: Context,
    panels: Panels<Snapshot, ()>,
    scanner: Scanner,
    machine: Machine,
    config: Config,
    rows: BTreeMap<String, DeviceRow>,
    open: BTreeMap<String, Open>,
    presence: Status,
    started: Instant,
    last_scan: Option<Instant>,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    /// Bus events held back until the snapshot shows their effect.
    events: Vec<Notice>,
}

enum Notice {
    Connected(Device),
    Disconnected(Device),
    Button(ButtonPressed),
}

pub async fn run(mut mailbox: Mailbox<Msg>, ctx: Context, panels: Panels<Snapshot, ()>, config: Config) {
    let machine = Machine::new(Options { ringer: config.ringer });
    let mut core = Core {
        tx: mailbox.sender(),
        ctx,
        panels,
        scanner: Scanner::new(),
        machine,
        config,
        rows: BTreeMap::new(),
        open: BTreeMap::new(),
        // Until the presence provider says otherwise (or when there is none), the user is
        // logged in and reachable.
        presence: Status::Available,
        started: Instant::now(),
        last_scan: None,
        events: Vec::new(),
    };
    core.scan();
    core.publish();
    while let Some(msg) = mailbox.recv().await {
        if let Msg::Stop(done) = msg {
            core.lights_off();
            return done.ok(());
        }
        core.handle(msg);
        core.flush();
        core.publish();
        for event in std::mem::take(&mut core.events) {
            match event {
                Notice::Connected(d) => core.ctx.publish(headset::TOPIC_CONNECTED, &d),
                Notice::Disconnected(d) => core.ctx.publish(headset::TOPIC_DISCONNECTED, &d),
                Notice::Button(b) => core.ctx.publish(headset::TOPIC_BUTTON, &b),
            }
        }
    }
}

impl Core {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn handle(&mut self, msg: Msg) {
        let now = self.now();
        match msg {
            Msg::Io(Io::Report { path, bytes }) => {
                let commands = self.machine.report(&path, &bytes, now);
                self.ctx.debug(format!("{path}: input {bytes:02x?} -> {commands:?}"));
                for (device, press) in self.machine.take_presses() {
                    self.events.push(Notice::Button(ButtonPressed { device, button: press.name() }));
                }
                for command in commands {
                    self.command(command);
                }
            }
            Msg::Io(Io::Wrote { path, ok }) => {
                if let Some(row) = self.rows.get_mut(&path) {
                    row.connected = ok;
                }
            }
            Msg::Io(Io::Gone { path, reason }) => {
                self.ctx.info(format!("{path} went away: {reason}"));
                self.close(&path);
                self.rows.remove(&path);
            }
            Msg::Call(event) => {
                self.machine.call_event(&event, now);
                self.refresh_lights();
            }
            Msg::Muted { callid, muted } => self.machine.muted(&callid, muted, now),
            Msg::Presence(status) => {
                self.presence = status;
                self.refresh_lights();
            }
            Msg::Configure(config) => {
                self.machine.set_options(Options { ringer: config.ringer }, now);
                self.config = config;
                // A device whose switch changed is closed and forgotten; the scan below
                // opens it again if it is now enabled.
                let stale: Vec<String> = self
                    .rows
                    .values()
                    .filter(|r| self.enabled(r.ids) != r.enabled)
                    .map(|r| r.path.clone())
                    .collect();
                for path in stale {
                    self.close(&path);
                    self.rows.remove(&path);
                }
                self.scan();
                for open in self.open.values_mut() {
                    if let Role::Light { shown, .. } = &mut open.role {
                        *shown = None;
                    }
                }
                self.refresh_lights();
            }
            Msg::TestDone(path) => self.machine.test_ring(&path, false, now),
            Msg::Tick => {
                if self.last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY) {
                    self.scan();
                }
                self.tick_lights();
            }
            Msg::Devices(reply) => reply.ok(self.rows.values().cloned().collect()),
            Msg::Test(path, reply) => {
                let done = self.test(&path);
                self.flush();
                reply.send(done);
            }
            // Handled by the loop in `run`, before this.
            Msg::Stop(done) => done.ok(()),
        }
    }

    /// Sends the machine's light reports to the devices.
    fn flush(&mut self) {
        for (path, bytes) in self.machine.take_writes() {
            if let Some(open) = self.open.get(&path) {
                open.port.write(bytes);
            }
        }
    }

    fn publish(&self) {
        let snapshot = Snapshot {
            devices: self.rows.values().cloned().collect(),
            busylight: self.config.busylight,
            bad_colors: self.config.colors.invalid(),
            owner: self.machine.owner().map(str::to_string),
        };
        self.panels.set_snapshot(snapshot);
    }

    /// Re-reads the device list: opens new headsets and lights, forgets what went away.
    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        let found = self.scanner.scan();
        let gone: Vec<String> =
            self.rows.keys().filter(|p| !found.iter().any(|f| &f.path == *p)).cloned().collect();
        for path in gone {
            self.close(&path);
            self.rows.remove(&path);
        }
        for device in found {
            if !self.rows.contains_key(&device.path) {
                self.consider(device);
            }
        }
    }

    /// A newly seen device: a light by its USB id, a headset by a telephony collection
    /// with a hook switch in its descriptor, or neither (not listed).
    fn consider(&mut self, device: Found) {
        let light = light_kind(device.vendor_id, device.product_id);
        let layout = match (light, Layout::parse(&device.descriptor)) {
            (Some(_), _) => None,
            (None, Ok(layout)) if layout.is_headset() => Some(layout),
            // Keyboards, mice, gaming headsets: not ours.
            (None, _) => return,
        };
        let vendor = Vendor::of(device.vendor_id);
        let ids = (device.vendor_id, device.product_id);
        let enabled = self.enabled(ids);
        let mut row = DeviceRow {
            vendor: light.map(|k| k.vendor().to_string()).unwrap_or_else(|| vendor.label().to_string()),
            product: device.product.clone(),
            path: device.path.clone(),
            kind: if light.is_some() { headset::Kind::Light } else { headset::Kind::Headset },
            enabled,
            accessible: true,
            capabilities: match (&layout, light) {
                (Some(layout), _) => capabilities(layout),
                (None, Some(kind)) => vec![format!("{kind:?}").to_lowercase()],
                (None, None) => Vec::new(),
            },
            connected: false,
            problem: None,
            ids,
        };
        if !enabled {
            row.problem = Some("disabled in preferences".into());
            self.rows.insert(device.path, row);
            return;
        }
        let file = match self.scanner.open(&device.path) {
            Ok(file) => file,
            Err(e) => {
                row.accessible = !matches!(e, DeviceError::Denied { .. });
                row.problem = Some(e.to_string());
                self.rows.insert(device.path, row);
                return;
            }
        };
        let tx = self.tx.clone();
        let port = match spawn(device.path.clone(), file, move |io| drop(tx.send(Msg::Io(io)))) {
            Ok(port) => port,
            Err(e) => {
                row.problem = Some(format!("no thread for the device: {e}"));
                self.rows.insert(device.path, row);
                return;
            }
        };
        let role = match (light, layout) {
            (Some(kind), _) => Role::Light {
                kind,
                shown: None,
                timer: LightTimer::new(kind, self.now()),
                blink_until: Duration::ZERO,
            },
            (None, Some(layout)) => {
                row.connected = true;
                self.machine.add_device(&device.path, layout, self.now());
                Role::Headset
            }
            (None, None) => return,
        };
        self.ctx.info(format!("using {} {} at {}", row.vendor, row.product, row.path));
        self.events.push(Notice::Connected(device_of(&row)));
        self.open.insert(device.path.clone(), Open { port, role });
        self.rows.insert(device.path, row);
        self.refresh_lights();
    }

    /// Whether the preferences enable a device with these USB ids.
    fn enabled(&self, (vendor, product): (u16, u16)) -> bool {
        match light_kind(vendor, product) {
            Some(_) => self.config.busylight,
            None => self.config.vendors.enabled(Vendor::of(vendor)),
        }
    }

    fn close(&mut self, path: &str) {
        if self.open.remove(path).is_some() {
            self.machine.remove_device(path);
            if let Some(row) = self.rows.get(path) {
                self.events.push(Notice::Disconnected(device_of(row)));
            }
        }
    }

    /// Runs one machine command against the phone, off the engine's loop (the call
    /// goes through the kernel to the phone plugin's thread).
    fn command(&self, command: Command) {
        let ctx = self.ctx.clone();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let call = |service: &str, callid: &str| {
                ctx.call::<_, Value>(service, &phone::CallRef { callid: callid.to_string() })
                    .map_err(Error::from)
            };
            let result = match &command {
                Command::Answer(id) => call(phone::ANSWER, id),
                Command::Hangup(id) | Command::Reject(id) => call(phone::HANGUP, id),
                Command::Hold(id) => call(phone::HOLD, id),
                Command::Resume(id) => call(phone::RESUME, id),
                Command::Mute { callid, muted } => {
                    let r = ctx
                        .call::<_, Value>(phone::MUTE, &phone::Mute { callid: callid.clone(), muted: *muted })
                        .map_err(Error::from);
                    // A phone built before plugin-api 1.6 publishes no `call.muted`: take
                    // its answer as the new state (a newer one's event says the same).
                    if r.is_ok() {
                        let _ = tx.send(Msg::Muted { callid: callid.clone(), muted: *muted });
                    }
                    r
                }
                Command::Redial => redial(&ctx),
            };
            if let Err(e) = result {
                ctx.warn(format!("headset {command:?}: {e}"));
            }
        });
    }

    /// `headsets.test`: blink a light, or ring a headset for a moment.
    fn test(&mut self, path: &str) -> Result<(), Error> {
        let now = self.now();
        let open =
            self.open.get_mut(path).ok_or_else(|| Error::not_found(format!("no open device {path}")))?;
        match &mut open.role {
            Role::Light { kind, shown, blink_until, .. } => {
                open.port.write(kind.frame(Show::Solid(crate::light::protocol::Rgb(255, 255, 255))));
                // The status colour comes back when the blink is over.
                *shown = None;
                *blink_until = now + TEST_BLINK;
            }
            Role::Headset => {
                self.machine.test_ring(path, true, now);
                let tx = self.tx.clone();
                let path = path.to_string();
                tokio::spawn(async move {
                    tokio::time::sleep(TEST_RING).await;
                    let _ = tx.send(Msg::TestDone(path));
                });
            }
        }
        Ok(())
    }

    fn phone_state(&self) -> PhoneState {
        let any = |s: CallState| self.machine.call_states().any(|c| c == s);
        if any(CallState::Connected) || any(CallState::Calling) {
            PhoneState::OnCall
        } else if any(CallState::Ringing) {
            PhoneState::Ringing
        } else if any(CallState::Held) {
            PhoneState::OnHold
        } else {
            PhoneState::Idle
        }
    }

    /// Shows the current state on every light whose picture changed.
    fn refresh_lights(&mut self) {
        let want = show(self.presence, self.phone_state(), &self.config.colors, self.config.pulse);
        let now = self.now();
        for open in self.open.values_mut() {
            if let Role::Light { kind, shown, timer, blink_until } = &mut open.role
                && *shown != Some(want)
                && now >= *blink_until
            {
                *shown = Some(want);
                timer.shown(now);
                open.port.write(kind.frame(want));
            }
        }
    }

    /// Keep-alives for lights that need them, and pulses for lights that cannot
    /// pulse by themselves.
    fn tick_lights(&mut self) {
        self.refresh_lights();
        let now = self.now();
        for open in self.open.values_mut() {
            if let Role::Light { shown, timer, .. } = &mut open.role {
                for frame in timer.due(*shown, now) {
                    open.port.write(frame);
                }
            }
        }
    }

    fn lights_off(&mut self) {
        for open in self.open.values() {
            if let Role::Light { kind, .. } = &open.role {
                open.port.write(kind.frame(Show::Off));
            }
        }
        // Give the device threads a moment to write before the ports drop.
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn device_of(row: &DeviceRow) -> Device {
    Device {
        device: row.path.clone(),
        vendor: row.vendor.clone(),
        product: row.product.clone(),
        kind: row.kind,
    }
}

/// The headset's redial button: dial the last outbound number of the call history.
fn redial(ctx: &Context) -> Result<Value, Error> {
    let history: phone::History = ctx.call(phone::HISTORY, &phone::HistoryQuery { limit: 50 })?;
    let last = history
        .entries
        .iter()
        .find(|e| e.direction == phone::Direction::Outbound)
        .ok_or_else(|| Error::not_found("no outbound call to redial"))?;
    Ok(ctx.call(phone::DIAL, &phone::Dial { number: last.number.clone(), hide_caller_id: false })?)
}

/// The headset's buttons and lights, by their contract names (`hook`, `mute_light`, ...).
fn capabilities(layout: &Layout) -> Vec<String> {
    let buttons = layout.buttons.keys().map(name_of);
    let lights = layout.lights.keys().map(|l| format!("{}_light", name_of(l)));
    buttons.chain(lights).collect()
}
