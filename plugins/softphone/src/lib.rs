//! softphone: the `phone` contract over SIP. Accounts register (UDP, TCP or TLS; SRV
//! with failover; digest auth), calls go out and come in (hold, transfer, DTMF, hidden
//! caller id, auto answer, call waiting, DND, emergency location), and every call lands
//! in the SQLite call history.
//!
//! This file is the [`Plugin`] glue: the `phone.*` services (declared once, each a
//! typed request to the engine), settings changes reconfigure the engine, panel
//! actions are told to it without waiting, and the panels are drawn from its snapshot.
//! The engine (the sdk's runtime with rsipstack and one core task) lives in `engine/`.

mod config;
mod dialing;
mod emergency;
mod engine;
mod history;
mod media;
mod sdes;
mod sdp;
mod srv;
mod util;
mod views;

use engine::{Engine, Msg, Request, Snapshot};
use serde::Deserialize;
use ucdesk_sdk::contract::contact::{self, ContactAddress};
use ucdesk_sdk::contract::crm;
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::phone::{self as contract, CallRef, Dial, Dtmf, HistoryQuery, Status, Transfer};
use ucdesk_sdk::prelude::*;
use views::{Act, Form, Row};

pub use dialing::{DialError, DialPlan};
pub use emergency::{Location, pidf_lo};
#[doc(hidden)]
pub use engine::read_sip_message;

struct Softphone {
    ctx: Context,
    engine: Engine,
    panels: Panels<Snapshot, Form>,
}

/// Request of `phone.test_device`.
#[derive(Deserialize)]
struct TestDevice {
    kind: engine::DeviceKind,
    #[serde(default)]
    device: Option<String>,
}

/// Request of `phone.audio_devices`: `{class}` (a `device` setting's picker) keeps the
/// inputs or the outputs.
#[derive(Deserialize, Default)]
struct AudioQuery {
    #[serde(default)]
    class: Option<String>,
}

impl Plugin for Softphone {
    fn manifest() -> Manifest {
        let m = Manifest::build("softphone", env!("CARGO_PKG_VERSION"))
            .name("Softphone")
            .description("SIP calls: accounts, registration, calls, transfer, DTMF, call history.")
            .feature("softphone")
            .provides("phone")
            .panel_in("phone", "Phone", PanelSlot::Phone)
            .panel_in("recent", "Recent", PanelSlot::QuickList)
            .panel_in("status", "Phone", PanelSlot::Status)
            // "Call" on every contact with a number, in any plugin's list; one item per
            // number when there are several. Double-click runs it too (the default).
            .offer(ContactActionDecl {
                needs_number: true,
                per_number: true,
                ..ContactActionDecl::new(contact::ACTION_CALL, "Call", "phone")
            });
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        let done = |p: &mut Self, req| p.ask(req);
        Services::new()
            .service(contract::DIAL, "{number, hide_caller_id?} -> {callid, number}", |p: &mut Self, d: Dial| {
                p.ask(Request::Dial { number: d.number, hide_caller_id: d.hide_caller_id })
            })
            .service(contract::ANSWER, "{callid}", move |p: &mut Self, c: CallRef| done(p, Request::Answer(c.callid)))
            .service(contract::HANGUP, "{callid}: hang up, cancel or reject", move |p: &mut Self, c: CallRef| {
                done(p, Request::Hangup(c.callid))
            })
            .service(contract::HOLD, "{callid}", move |p: &mut Self, c: CallRef| done(p, Request::Hold(c.callid)))
            .service(contract::RESUME, "{callid}", move |p: &mut Self, c: CallRef| done(p, Request::Resume(c.callid)))
            .service(contract::TRANSFER, "{callid, target?, attended_callid?}", move |p: &mut Self, t: Transfer| {
                done(p, Request::Transfer { callid: t.callid, target: t.target, attended: t.attended_callid })
            })
            .service(contract::DTMF, "{callid, digits}", move |p: &mut Self, d: Dtmf| {
                done(p, Request::Dtmf { callid: d.callid, digits: d.digits })
            })
            .service(contract::STOP_AUTO_ANSWER, "{callid}", move |p: &mut Self, c: CallRef| {
                done(p, Request::StopAutoAnswer(c.callid))
            })
            .service(contract::CALLS, "The calls in progress", |p: &mut Self, ()| {
                Ok::<_, Error>(p.panels.read(|s, _| s.calls.iter().map(|c| c.event.clone()).collect::<Vec<_>>()))
            })
            .service(contract::HISTORY, "{limit} -> {entries, missed}", move |p: &mut Self, q: Option<HistoryQuery>| {
                done(p, Request::History(q.map_or(50, |q| q.limit)))
            })
            .service(contract::STATUS, "Registration, calls, DND, missed calls", |p: &mut Self, ()| {
                Ok::<_, Error>(p.panels.read(|s, _| Status {
                    registration: s.registration.clone(),
                    calls: s.calls.len() as u32,
                    dnd: s.dnd,
                    call_waiting: s.call_waiting,
                    auto_answer_in: s.calls.iter().find_map(|c| c.auto_answer_in),
                    missed: s.missed,
                }))
            })
            .service(
                contract::CONFERENCE,
                "{callid, with_callid}: merge two calls (3-way)",
                move |p: &mut Self, c: contract::Conference| {
                    done(p, Request::Conference { callid: c.callid, with: c.with_callid })
                },
            )
            .service(contract::MUTE, "{callid, muted}", move |p: &mut Self, m: contract::Mute| {
                done(p, Request::Mute { callid: m.callid, muted: m.muted })
            })
            .service(
                contract::TEST_DEVICE,
                "{kind: input|output|ring, device?} -> {level} or {played_ms}",
                move |p: &mut Self, t: TestDevice| done(p, Request::TestDevice { kind: t.kind, device: t.device }),
            )
            .service(
                contract::AUDIO_DEVICES,
                "{class?} -> the sound cards: [{id, name, input, output}]",
                |_: &mut Self, q: Option<AudioQuery>| {
                    // cpal enumerates on this thread: ALSA's probe takes tens of ms, fine
                    // for a preferences page, wrong for the media path.
                    let class = q.unwrap_or_default().class;
                    let list: Vec<Value> = media::card::list()
                        .into_iter()
                        .filter(|(_, _, input, output)| match class.as_deref() {
                            Some("audio_input") => *input,
                            Some("audio_output") => *output,
                            _ => true,
                        })
                        .map(|(id, name, input, output)| json!({"id": id, "name": name, "input": input, "output": output}))
                        .collect();
                    Ok::<_, Error>(list)
                },
            )
            .service(
                contract::QUALITY_LOG,
                "The logged calls' quality (last 50; needs quality_log on)",
                move |p: &mut Self, ()| done(p, Request::QualityLog),
            )
            .service(
                contract::QUALITY_REPORT,
                "{callid} -> {callid, report}: the exportable text",
                move |p: &mut Self, c: CallRef| done(p, Request::QualityReport(c.callid)),
            )
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let history = match history::History::open(&ctx.data_dir().join("history.sqlite3")) {
            Ok(h) => Some(h),
            Err(e) => {
                // The phone still works without history (a full or read-only disk).
                ctx.warn(e.to_string());
                None
            }
        };
        let panels = Panels::build(&ctx, Snapshot::default(), Form::default())
            .panel("phone", views::phone)
            .panel("recent", |s, _| views::recent(s))
            .panel("status", |s, _| views::status(s))
            .finish();
        let show = panels.clone();
        let engine = engine::start(&ctx, history, move |s| show.set_snapshot(s))
            .map_err(|e| Error::failed(format!("cannot start the SIP engine: {e}")))?;
        Ok(Softphone { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        // Who a CRM says a caller is (any plugin speaking the crm contract).
        self.ctx.subscribe(crm::TOPIC_MATCH);
        self.reconfigure()
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            self.reconfigure()?;
        }
        if event.topic == crm::TOPIC_MATCH {
            let m: crm::Match = event.json()?;
            let chosen = m.contacts.iter().find(|c| Some(&c.id) == m.chosen.as_ref());
            if let (Some(callid), Some(contact)) = (m.callid, chosen) {
                self.engine.send(Msg::CrmName { callid, name: contact.name.clone() })?;
            }
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        self.panels.view(panel)
    }

    /// Never waits on the engine: requests are told, and the panels redraw when the
    /// engine's snapshot changes (a refusal lands in the log and the phone's notice).
    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let act = Act::parse(&event.widget)?;
        let tell = |what: &str, req: Request| self.engine.tell(what, |r| Msg::Request(req, r));
        let dial = |number: String| Request::Dial { number, hide_caller_id: false };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        match (act, event.action) {
            (Act::Number, UiAction::Changed { value }) => self.panels.form(|f| f.dial_input = text(&value)),
            (Act::Number, UiAction::Submitted { .. }) | (Act::Dial, UiAction::Clicked) => {
                let number = self.panels.form(|f| std::mem::take(&mut f.dial_input));
                tell("dial", dial(number));
            }
            (Act::Keypad, UiAction::KeyPressed { key }) => self.panels.form(|f| f.dial_input.push_str(&key)),
            // A row dropped on the dial field: a contact of any plugin by the address
            // its row carries, or one of our own recent calls.
            (Act::ContactAction, UiAction::ContactAction { contact, .. }) => match contact.dial_target() {
                Some(number) => tell("dial", dial(number)),
                None => self.ctx.warn(format!("call: {} has no number", contact.name)),
            },
            (Act::TransferDrop(callid), UiAction::Dropped { from, source_row, contact, .. }) => {
                match dropped_number(&from, source_row.as_deref(), contact.as_ref()) {
                    Some(target) => {
                        tell("transfer", Request::Transfer { callid, target: Some(target), attended: None })
                    }
                    None => self.ctx.warn(format!("{from} dropped a row with no address to transfer to")),
                }
            }
            (Act::DialDrop, UiAction::Dropped { from, source_row, contact, .. }) => {
                match dropped_number(&from, source_row.as_deref(), contact.as_ref()) {
                    Some(number) => tell("dial", dial(number)),
                    None => self.ctx.warn(format!("{from} dropped a row with no address to dial")),
                }
            }
            (Act::TransferTo(_), UiAction::Changed { value }) => {
                self.panels.form(|f| f.transfer_input = text(&value))
            }
            (
                Act::Transfer(callid) | Act::TransferTo(callid),
                UiAction::Clicked | UiAction::Submitted { .. },
            ) => {
                let target = self.panels.form(|f| std::mem::take(&mut f.transfer_input));
                tell("transfer", Request::Transfer { callid, target: Some(target), attended: None });
            }
            (Act::Answer(callid), UiAction::Clicked) => tell("answer", Request::Answer(callid)),
            (Act::Reject(callid) | Act::Hangup(callid), UiAction::Clicked) => {
                tell("hang up", Request::Hangup(callid))
            }
            (Act::Hold(callid), UiAction::Clicked) => tell("hold", Request::Hold(callid)),
            (Act::Resume(callid), UiAction::Clicked) => tell("resume", Request::Resume(callid)),
            (Act::StopAuto(callid), UiAction::Clicked) => {
                tell("stop auto answer", Request::StopAutoAnswer(callid))
            }
            (Act::Mute(callid), UiAction::Changed { value }) => {
                tell("mute", Request::Mute { callid, muted: value.as_bool().unwrap_or(false) })
            }
            (Act::Merge { callid, with }, UiAction::Clicked) => {
                tell("merge", Request::Conference { callid, with })
            }
            (Act::Dtmf { callid, key }, UiAction::Clicked) => {
                tell("dtmf", Request::Dtmf { callid, digits: key.to_string() })
            }
            // Settings: stored here, applied by the settings handler like any change.
            (Act::Dnd, UiAction::Changed { value }) => {
                self.ctx.set_setting("dnd", &value.as_bool().unwrap_or(false))?
            }
            (Act::CallWaiting, UiAction::Changed { value }) => {
                self.ctx.set_setting("call_waiting", &value.as_bool().unwrap_or(false))?
            }
            (Act::MarkSeen, UiAction::Clicked) => tell("mark seen", Request::MarkSeen),
            (Act::History, UiAction::Selected { row }) => {
                let Row::Call(number) = Row::parse(&row)?;
                tell("call back", dial(number));
            }
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Softphone {
    /// Sends a request and waits for the engine's answer (service calls).
    fn ask(&self, req: Request) -> Result<Value, Error> {
        self.engine.ask(|reply| Msg::Request(req, reply))
    }

    fn reconfigure(&self) -> Result<(), Error> {
        // The libraries' own logs (SIP messages, XMPP stanzas) as the level asks.
        ucdesk_sdk::logs::follow_setting(&self.ctx);
        self.engine.send(Msg::Reconfigure(Box::new(config::Config::read(&self.ctx))))
    }
}

/// What to dial for a row dropped from plugin `from`: the contact address the row
/// carries (any plugin's), else our own recent call by its typed row. Another plugin's
/// row id is never parsed.
fn dropped_number(from: &str, row: Option<&str>, contact: Option<&ContactAddress>) -> Option<String> {
    if let Some(target) = contact.and_then(ContactAddress::dial_target) {
        return Some(target);
    }
    match (from, row) {
        ("softphone", Some(row)) => Row::parse(row).ok().map(|Row::Call(number)| number),
        _ => None,
    }
}

/// The topics this plugin publishes, for documentation and tests.
pub const TOPICS: [&str; 10] = [
    contract::TOPIC_REGISTRATION,
    contract::TOPIC_INCOMING,
    contract::TOPIC_RINGING,
    contract::TOPIC_ANSWERED,
    contract::TOPIC_HELD,
    contract::TOPIC_RESUMED,
    contract::TOPIC_TRANSFERRED,
    contract::TOPIC_ENDED,
    contract::TOPIC_DTMF,
    contract::TOPIC_QUALITY,
];

export_plugin!(Softphone);

#[cfg(test)]
mod tests {
    /// The kernel refuses a plugin whose manifest does not validate: catch it here.
    #[test]
    fn the_manifest_validates() {
        use ucdesk_sdk::Plugin as _;
        super::Softphone::manifest().validate().unwrap();
    }
}
