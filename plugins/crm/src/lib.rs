//! CRM: call popups (a URL opened or silently requested, or a program run, with the
//! call's details as macros, when a call starts or finishes) and, with the `crm`
//! feature, CRM integrations.
//!
//! Rooms: `macros.rs` reads popup fields and puts a call's values in; `popup.rs` decides
//! which popup an event fires; `fire.rs` carries it out (browser, program, HTTP);
//! `engine.rs` owns the state; this file is the plugin glue and panel.

pub mod config;
pub mod crm;
pub mod engine;
pub mod fire;
pub mod macros;
pub mod popup;
mod views;

use config::Config;
use engine::Msg;
use ucdesk_sdk::contract::crm::{POPUPS, STATUS};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::phone;
use ucdesk_sdk::engine::{Engine, EngineSpec};
use ucdesk_sdk::prelude::*;

struct Crm {
    ctx: Context,
    engine: Engine<Msg>,
    panels: Panels<engine::Snapshot, ()>,
}

impl Plugin for Crm {
    fn manifest() -> Manifest {
        let m = Manifest::build("crm", env!("CARGO_PKG_VERSION"))
            .name("CRM")
            .description("Call popups: a URL or program with the call's details when a call starts or ends.")
            .feature("call_popup")
            .panel("popups", "CRM");
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        Services::new()
            .service(STATUS, "-> {pending, problems, unknown_macros, fired, failed}", |p: &mut Self, ()| {
                p.engine.ask(Msg::Status)
            })
            .service(POPUPS, "-> [popup]: the last 50, newest first", |p: &mut Self, ()| {
                p.engine.ask(Msg::Popups)
            })
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let panels =
            Panels::build(&ctx, engine::Snapshot::default(), ()).panel("popups", views::popups).finish();
        let config = Config::read(&ctx);
        let spec = EngineSpec::new("crm").workers(1).stop(Msg::Stop);
        let (for_core, core_ctx) = (panels.clone(), ctx.clone());
        let engine =
            Engine::start(&ctx, spec, move |mailbox| engine::run(mailbox, core_ctx, for_core, config))?;
        Ok(Crm { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.ctx.subscribe("call.");
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            return self.engine.send(Msg::Configure(Config::read(&self.ctx)));
        }
        if [phone::TOPIC_INCOMING, phone::TOPIC_RINGING, phone::TOPIC_ANSWERED, phone::TOPIC_ENDED]
            .contains(&event.topic)
        {
            let call: phone::CallEvent = event.json()?;
            self.engine.send(Msg::Call(event.topic.to_string(), call))?;
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        self.panels.view(panel)
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        match (views::Act::parse(&event.widget), event.action) {
            (Ok(views::Act::Open(url)), UiAction::Clicked) => self.engine.send(Msg::Open(url))?,
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

export_plugin!(Crm);
