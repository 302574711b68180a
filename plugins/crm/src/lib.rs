//! CRM: call popups (a URL opened or silently requested, or a program run, with the
//! call's details as macros, when a call starts or finishes) and, with the `crm`
//! feature, CRM integrations (Salesforce, SugarCRM, Zoho CRM, Dynamics 365, Bullhorn,
//! Zendesk: who is calling, calls logged, contacts synced, search and dialing).
//!
//! Rooms: `macros.rs` reads popup fields and puts a call's values in; `popup.rs` decides
//! which popup an event fires; `fire.rs` carries it out (browser, program, HTTP);
//! `crm/` is the vendors' clients; `integration/` follows calls for them; `engine.rs`
//! owns the state; `views.rs` the panel; this file is the plugin glue.

pub mod config;
pub mod crm;
pub mod engine;
pub mod fire;
pub mod integration;
pub mod macros;
pub mod popup;
mod views;

use config::Config;
use engine::Msg;
use integration::{CrmMsg, LogRequest};
use serde::Deserialize;
use ucdesk_sdk::contract::crm::{CONTACTS, LOG, LOOKUP, OPEN, POPUPS, SEARCH, SIGN_IN, STATUS, SYNC};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::phone;
use ucdesk_sdk::engine::{Engine, EngineSpec};
use ucdesk_sdk::prelude::*;

struct Crm {
    ctx: Context,
    engine: Engine<Msg>,
    panels: Panels<engine::Snapshot, views::Form>,
}

impl Plugin for Crm {
    fn manifest() -> Manifest {
        let m = Manifest::build("crm", env!("CARGO_PKG_VERSION"))
            .name("CRM")
            .description("Call popups with the call's details; CRM integrations: who is calling, calls logged, contacts synced.")
            .feature("call_popup")
            .panel("popups", "CRM");
        integration::config::declare(config::declare(m)).finish()
    }

    fn services() -> Services<Self> {
        Services::new()
            .service(STATUS, "-> {pending, problems, unknown_macros, fired, failed}", |p: &mut Self, ()| {
                p.engine.ask(Msg::Status)
            })
            .service(POPUPS, "-> [popup]: the last 50, newest first", |p: &mut Self, ()| {
                p.engine.ask(Msg::Popups)
            })
            .service(
                LOOKUP,
                "{number} -> match: the CRM's contacts with that number",
                |p: &mut Self, a: Number| p.engine.ask(|r| Msg::Crm(CrmMsg::Lookup(a.number, r))),
            )
            .service(SEARCH, "{query} -> [contact]: by name, e-mail or number", |p: &mut Self, a: Query| {
                p.engine.ask(|r| Msg::Crm(CrmMsg::Search(a.query, r)))
            })
            .service(OPEN, "{id} -> url: opens the record", |p: &mut Self, a: Id| {
                p.engine.ask(|r| Msg::Crm(CrmMsg::Open(a.id, r)))
            })
            .service(
                LOG,
                "{callid, notes?, disposition?, recording?} -> logged",
                |p: &mut Self, a: LogRequest| p.engine.ask(|r| Msg::Crm(CrmMsg::Log(a, r))),
            )
            .service(SYNC, "-> {contacts, pages}: fetches every contact again", |p: &mut Self, ()| {
                p.engine.ask(|r| Msg::Crm(CrmMsg::Sync(r)))
            })
            .service(CONTACTS, "-> [contact]: the synced contacts", |p: &mut Self, ()| {
                p.engine.ask(|r| Msg::Crm(CrmMsg::Contacts(r)))
            })
            .service(
                SIGN_IN,
                "-> {vendor, url, redirect, wait_seconds}: opens the CRM's sign-in page in the browser",
                |p: &mut Self, ()| p.engine.ask(|r| Msg::Crm(CrmMsg::SignIn(Some(r)))),
            )
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let panels = Panels::build(&ctx, engine::Snapshot::default(), views::Form::default())
            .panel("popups", views::panel)
            .finish();
        let config = Config::read(&ctx);
        let licensed = integration::licensed(&ctx);
        // A lookup may wait out a Retry-After and three attempts: services get longer
        // than the default ten seconds.
        let spec = EngineSpec::new("crm")
            .workers(1)
            .tick(std::time::Duration::from_secs(1), || Msg::Tick)
            .ask_timeout(std::time::Duration::from_secs(120))
            .stop(Msg::Stop);
        let (for_core, core_ctx) = (panels.clone(), ctx.clone());
        let engine = Engine::start(&ctx, spec, move |mailbox| {
            engine::run(mailbox, core_ctx, for_core, config, licensed)
        })?;
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
            (Ok(views::Act::Record(id)), UiAction::Clicked) => {
                self.engine.tell("opening the CRM record", |r| Msg::Crm(CrmMsg::Open(id, r)))
            }
            (Ok(views::Act::Pick { callid, id }), UiAction::Clicked) => {
                self.engine.send(Msg::Crm(CrmMsg::Pick { callid, id }))?
            }
            (Ok(views::Act::Dial(number)), UiAction::Clicked) => {
                self.engine.send(Msg::Crm(CrmMsg::Dial(number)))?
            }
            (Ok(views::Act::Search), UiAction::Changed { value }) => {
                self.panels.form(|f| f.search = value.as_str().unwrap_or_default().to_string())
            }
            (Ok(views::Act::Search), UiAction::Submitted { value }) => {
                self.engine.send(Msg::Crm(CrmMsg::SearchBox(value)))?
            }
            (Ok(views::Act::SignIn), UiAction::Clicked) => {
                self.engine.send(Msg::Crm(CrmMsg::SignIn(None)))?
            }
            (Ok(views::Act::Sync), UiAction::Clicked) => {
                self.engine.tell("syncing CRM contacts", |r| Msg::Crm(CrmMsg::Sync(r)))
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

#[derive(Deserialize)]
struct Number {
    number: String,
}

#[derive(Deserialize)]
struct Query {
    query: String,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

export_plugin!(Crm);
