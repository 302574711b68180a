//! Headsets and Busylight: call control from USB headsets' buttons (answer, hang up,
//! mute, hold and swap, redial, reject) with their lights kept in step, and the user's
//! presence and phone state on a status light.
//!
//! Rooms: `hid/` reads descriptors and reports and talks to hidraw; `machine.rs` is the
//! headset state machine (every rule a test); `light/` holds the busylights' colours and
//! wire formats; `engine.rs` owns the devices; this file is the plugin glue and panel.

pub mod config;
pub mod engine;
pub mod hid;
pub mod light;
pub mod machine;
mod views;

use config::Config;
use engine::{DeviceRow, Msg, Snapshot, TICK};
use serde::Deserialize;
use ucdesk_sdk::contract::headset::{DEVICES, TEST};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::{phone, presence};
use ucdesk_sdk::engine::{Engine, EngineSpec};
use ucdesk_sdk::prelude::*;

/// Request of `headsets.test`.
#[derive(Deserialize)]
struct TestReq {
    /// The device's path, as `headsets.devices` lists it.
    device: String,
}

struct Headsets {
    ctx: Context,
    engine: Engine<Msg>,
    panels: Panels<Snapshot, ()>,
}

impl Plugin for Headsets {
    fn manifest() -> Manifest {
        let m = Manifest::build("headsets", env!("CARGO_PKG_VERSION"))
            .name("Headsets")
            .description("USB headset call control (Poly, Jabra, EPOS, Yealink) and Busylight status lights.")
            .feature("headsets")
            .panel("devices", "Headsets");
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        Services::new()
            .service(
                DEVICES,
                "-> [{vendor, product, path, kind, enabled, accessible, capabilities}]",
                |p: &mut Self, ()| p.engine.ask(Msg::Devices),
            )
            .service(TEST, "{device}: blink the light or ring the headset", |p: &mut Self, t: TestReq| {
                p.engine.ask(|r| Msg::Test(t.device, r))
            })
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let panels = Panels::build(&ctx, Snapshot::default(), ()).panel("devices", views::devices).finish();
        let config = Config::read(&ctx);
        let spec = EngineSpec::new("headsets").workers(1).tick(TICK, || Msg::Tick).stop(Msg::Stop);
        let (for_core, core_ctx) = (panels.clone(), ctx.clone());
        let engine =
            Engine::start(&ctx, spec, move |mailbox| engine::run(mailbox, core_ctx, for_core, config))?;
        Ok(Headsets { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.ctx.subscribe("call.");
        self.ctx.subscribe(presence::TOPIC_CHANGED);
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            return self.engine.send(Msg::Configure(Config::read(&self.ctx)));
        }
        if event.topic == presence::TOPIC_CHANGED {
            let changed: presence::PresenceChanged = event.json()?;
            if changed.me {
                self.engine.send(Msg::Presence(changed.status))?;
            }
            return Ok(());
        }
        if event.topic.starts_with("call.")
            && event.topic != phone::TOPIC_DTMF
            && event.topic != phone::TOPIC_QUALITY
        {
            let call: phone::CallEvent = event.json()?;
            self.engine.send(Msg::Call(call))?;
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        self.panels.view(panel)
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        match (views::Act::parse(&event.widget), event.action) {
            (Ok(views::Act::Test(device)), UiAction::Clicked) => {
                self.engine.tell("test", |r| Msg::Test(device, r))
            }
            (Err(e), _) => self.ctx.warn(e.to_string()),
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

/// For tests that read the devices answer.
pub type Devices = Vec<DeviceRow>;

export_plugin!(Headsets);
