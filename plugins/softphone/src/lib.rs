//! softphone: the `phone` contract over SIP. Accounts register (UDP, TCP or TLS; SRV
//! with failover; digest auth), calls go out and come in (hold, transfer, DTMF, hidden
//! caller id, auto answer, call waiting, DND, emergency location), and every call lands
//! in the SQLite call history.
//!
//! This file is only the [`Plugin`] glue: requests become [`engine::Request`]s, settings
//! changes reconfigure the engine, views are drawn from the engine's snapshot. The
//! engine (one tokio runtime with rsipstack) lives in `engine.rs`.

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

use engine::{Engine, Request};
use std::sync::{Arc, Mutex};
use ucdesk_sdk::contract::phone::{self as contract, CallRef, Dial, Dtmf, HistoryQuery, Status, Transfer};
use ucdesk_sdk::prelude::*;

pub use dialing::{DialError, DialPlan, strip_dial_scheme};
pub use emergency::{Location, pidf_lo};
#[doc(hidden)]
pub use engine::read_sip_message;

struct Softphone {
    ctx: Context,
    engine: Engine,
    form: Arc<Mutex<views::Form>>,
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
            .service("phone.dial", "{number, hide_caller_id?} -> {callid, number}")
            .service("phone.answer", "{callid}")
            .service("phone.hangup", "{callid}: hang up, cancel or reject")
            .service("phone.hold", "{callid}")
            .service("phone.resume", "{callid}")
            .service("phone.transfer", "{callid, target?, attended_callid?}")
            .service("phone.dtmf", "{callid, digits}")
            .service("phone.stop_auto_answer", "{callid}")
            .service("phone.calls", "The calls in progress")
            .service("phone.history", "{limit} -> {entries, missed}")
            .service("phone.status", "Registration, calls, DND, missed calls")
            .service("phone.conference", "{callid, with_callid}: merge two calls (3-way)")
            .service("phone.mute", "{callid, muted}")
            .service("phone.test_device", "{kind: input|output|ring, device?} -> {level} or {played_ms}")
            .service("phone.audio_devices", "{class?} -> the sound cards: [{id, name, input, output}]")
            .service("phone.quality_log", "The logged calls' quality (last 50; needs quality_log on)")
            .service("phone.quality_report", "{callid} -> {callid, report}: the exportable text");
        config::declare(m).finish()
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
        let form = Arc::new(Mutex::new(views::Form::default()));
        let republish = {
            let ctx = ctx.clone();
            let form = form.clone();
            let snapshot: Arc<Mutex<Option<Arc<Mutex<engine::Snapshot>>>>> = Arc::new(Mutex::new(None));
            let slot = snapshot.clone();
            let f: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                let Some(snap) = slot.lock().ok().and_then(|s| s.clone()) else { return };
                let s = snap.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let form = form.lock().unwrap_or_else(|p| p.into_inner());
                ctx.publish_view("phone", &views::phone(&s, &form));
                ctx.publish_view("recent", &views::recent(&s));
                ctx.publish_view("status", &views::status(&s));
            });
            (f, snapshot)
        };
        let engine = Engine::start(ctx.clone(), history, republish.0)
            .map_err(|e| Error::new(format!("cannot start the SIP engine: {e}")))?;
        *republish.1.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine.snapshot.clone());
        Ok(Softphone { ctx, engine, form })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.engine.reconfigure(config::Config::read(&self.ctx));
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == ucdesk_sdk::contract::kernel::TOPIC_SETTING_CHANGED {
            self.engine.reconfigure(config::Config::read(&self.ctx));
        }
        Ok(())
    }

    fn on_call(&mut self, call: Call<'_>) -> Result<Value, Error> {
        let req = match call.verb() {
            "dial" => {
                let Dial { number, hide_caller_id } = call.args()?;
                Request::Dial { number, hide_caller_id }
            }
            "answer" => Request::Answer(call.args::<CallRef>()?.callid),
            "hangup" => Request::Hangup(call.args::<CallRef>()?.callid),
            "hold" => Request::Hold(call.args::<CallRef>()?.callid),
            "resume" => Request::Resume(call.args::<CallRef>()?.callid),
            "stop_auto_answer" => Request::StopAutoAnswer(call.args::<CallRef>()?.callid),
            "transfer" => {
                let Transfer { callid, target, attended_callid } = call.args()?;
                Request::Transfer { callid, target, attended: attended_callid }
            }
            "dtmf" => {
                let Dtmf { callid, digits } = call.args()?;
                Request::Dtmf { callid, digits }
            }
            "history" => {
                let q: HistoryQuery = if call.raw().is_empty() || call.raw() == b"null" {
                    HistoryQuery { limit: 50 }
                } else {
                    call.args()?
                };
                Request::History(q.limit)
            }
            "conference" => {
                let contract::Conference { callid, with_callid } = call.args()?;
                Request::Conference { callid, with: with_callid }
            }
            "mute" => {
                let contract::Mute { callid, muted } = call.args()?;
                Request::Mute { callid, muted }
            }
            "test_device" => {
                #[derive(serde::Deserialize)]
                struct Test {
                    kind: String,
                    #[serde(default)]
                    device: Option<String>,
                }
                let t: Test = call.args()?;
                let kind = match t.kind.as_str() {
                    "input" => engine::DeviceKind::Input,
                    "output" => engine::DeviceKind::Output,
                    "ring" => engine::DeviceKind::Ring,
                    other => return Err(Error::new(format!("kind {other:?} is not input, output or ring"))),
                };
                Request::TestDevice { kind, device: t.device }
            }
            "audio_devices" => {
                // cpal enumerates on this thread: ALSA's probe takes tens of ms, fine for
                // a preferences page, wrong for the media path. `{class}` (the device
                // picker of a `device` setting) keeps the inputs or the outputs.
                let class: Option<String> = call.arg("class").ok().flatten();
                let list: Vec<Value> = media::card::list()
                    .into_iter()
                    .filter(|(_, _, input, output)| match class.as_deref() {
                        Some("audio_input") => *input,
                        Some("audio_output") => *output,
                        _ => true,
                    })
                    .map(|(id, name, input, output)| json!({"id": id, "name": name, "input": input, "output": output}))
                    .collect();
                return Ok(Value::Array(list));
            }
            "quality_log" => Request::QualityLog,
            "quality_report" => Request::QualityReport(call.args::<CallRef>()?.callid),
            "calls" => {
                let s = self.snapshot();
                return Ok(json!(s.calls.iter().map(|c| c.event.clone()).collect::<Vec<_>>()));
            }
            "status" => {
                let s = self.snapshot();
                return Ok(json!(Status {
                    registration: s.registration.clone(),
                    calls: s.calls.len() as u32,
                    dnd: s.dnd,
                    call_waiting: s.call_waiting,
                    auto_answer_in: s.calls.iter().find_map(|c| c.auto_answer_in),
                    missed: s.missed,
                }));
            }
            other => return Err(Error::new(format!("phone has no service {other}"))),
        };
        self.engine.request(req).map_err(Error::new)
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        let s = self.snapshot();
        let form = self.form.lock().unwrap_or_else(|p| p.into_inner());
        match panel {
            "phone" => Ok(views::phone(&s, &form)),
            "recent" => Ok(views::recent(&s)),
            "status" => Ok(views::status(&s)),
            other => Err(Error::new(format!("softphone has no panel {other}"))),
        }
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let widget = event.widget.as_str();
        let (name, arg) = widget.split_once(':').unwrap_or((widget, ""));
        let result = match (name, event.action) {
            ("number", UiAction::Changed { value }) => {
                self.form().dial_input = value.as_str().unwrap_or_default().to_string();
                Ok(Value::Null)
            }
            ("number", UiAction::Submitted { .. }) | ("dial", UiAction::Clicked) => {
                let number = std::mem::take(&mut self.form().dial_input);
                self.engine.request(Request::Dial { number, hide_caller_id: false })
            }
            ("keypad", UiAction::KeyPressed { key }) => {
                self.form().dial_input.push_str(&key);
                Ok(Value::Null)
            }
            // A contact dropped on the dial field: a chat contact (`conv:bob@example.com`)
            // or a recent call (`call:201`) is called by its user part.
            ("dial_drop", UiAction::Dropped { source_row: Some(row), .. }) => {
                let who = row.split_once(':').map_or(row.as_str(), |(_, rest)| rest);
                let number = who.split('@').next().unwrap_or(who).to_string();
                self.engine.request(Request::Dial { number, hide_caller_id: false })
            }
            ("transfer_to", UiAction::Changed { value }) => {
                self.form().transfer_input = value.as_str().unwrap_or_default().to_string();
                Ok(Value::Null)
            }
            ("transfer", UiAction::Clicked) | ("transfer_to", UiAction::Submitted { .. }) => {
                let target = std::mem::take(&mut self.form().transfer_input);
                self.engine.request(Request::Transfer {
                    callid: arg.to_string(),
                    target: Some(target),
                    attended: None,
                })
            }
            ("answer", UiAction::Clicked) => self.engine.request(Request::Answer(arg.into())),
            ("reject" | "hangup", UiAction::Clicked) => self.engine.request(Request::Hangup(arg.into())),
            ("hold", UiAction::Clicked) => self.engine.request(Request::Hold(arg.into())),
            ("resume", UiAction::Clicked) => self.engine.request(Request::Resume(arg.into())),
            ("stop_auto", UiAction::Clicked) => self.engine.request(Request::StopAutoAnswer(arg.into())),
            ("mute", UiAction::Changed { value }) => self
                .engine
                .request(Request::Mute { callid: arg.into(), muted: value.as_bool().unwrap_or(false) }),
            ("merge", UiAction::Clicked) => {
                let (callid, with) = arg.split_once(':').unwrap_or((arg, ""));
                self.engine.request(Request::Conference { callid: callid.into(), with: with.into() })
            }
            ("dtmf", UiAction::Clicked) => {
                let (callid, key) = arg.rsplit_once(':').unwrap_or((arg, ""));
                self.engine.request(Request::Dtmf { callid: callid.into(), digits: key.into() })
            }
            ("dnd" | "call_waiting", UiAction::Changed { value }) => self
                .ctx
                .set_setting(name, &value.as_bool().unwrap_or(false))
                .map(|()| Value::Null)
                .map_err(|e| e.to_string()),
            ("mark_seen", UiAction::Clicked) => self.engine.request(Request::MarkSeen),
            ("history", UiAction::Selected { row }) => {
                let number = row.trim_start_matches("call:").to_string();
                self.engine.request(Request::Dial { number, hide_caller_id: false })
            }
            _ => Ok(Value::Null),
        };
        if let Err(e) = result {
            self.ctx.warn(format!("{widget}: {e}"));
        }
        let s = self.snapshot();
        self.ctx.publish_view("phone", &views::phone(&s, &self.form()));
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Softphone {
    fn snapshot(&self) -> engine::Snapshot {
        self.engine.snapshot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn form(&self) -> std::sync::MutexGuard<'_, views::Form> {
        self.form.lock().unwrap_or_else(|p| p.into_inner())
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
