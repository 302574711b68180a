//! The SIP engine: one tokio runtime per plugin instance, running rsipstack's endpoint,
//! the registration loop and every call. One task (`Core`) owns all call and account
//! state; everything else (the plugin thread's requests, dialog state changes, incoming
//! INVITEs, finished transactions, timers) reaches it as a [`Msg`], so no lock is held
//! across network I/O. The core hands each new [`Snapshot`] to the plugin's view
//! producer, before the events and answers that it explains.
//!
//! This file is what the plugin and the core share: requests, messages, the snapshot,
//! the run loop; the runtime, mailbox and shutdown are the sdk's engine. What the core does lives in one file per concept, from the
//! bottom up: `wire.rs` (parsing what comes off the wire), `publish.rs` (what the core
//! tells the desktop), `call.rs` (a call and what is done to it), `incoming.rs` (calls
//! and requests from the far end), `account.rs` (registration), `dial.rs` (placing a
//! call) and `transfer.rs` (REFER both ways).

mod account;
mod call;
mod dial;
mod error;
mod incoming;
mod publish;
mod transfer;
mod wire;

pub use crate::media::DeviceKind;
#[doc(hidden)]
pub use wire::read_sip_message;

use crate::config::Config;
use crate::history::History;
use crate::media::rtp::{MediaEvent, RtpCmd};
use crate::srv::{Target, Transport};
use crate::util;
use account::Account;
use call::Call;
use dial::DialOptions;
use error::PhoneError;
use publish::{Publish, later};
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invite_dialog::InviteDialog;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use ucdesk_sdk::contract::phone::CallState;
use ucdesk_sdk::contract::phone::{
    self as contract, CallEvent, DtmfEvent, HistoryEntry, Registration as RegEvent, RegistrationState,
};
use ucdesk_sdk::engine::{EngineSpec, Mailbox, Reply};
use ucdesk_sdk::{Context, Error};

/// What the plugin asks of the engine.
#[derive(Debug)]
pub enum Request {
    Dial {
        number: String,
        hide_caller_id: bool,
    },
    QualityLog,
    QualityReport(String),
    Conference {
        callid: String,
        with: String,
    },
    /// Preferences' device test: level of a microphone, or a test sound on a speaker or
    /// ringing device. `device` None: the configured one.
    TestDevice {
        kind: DeviceKind,
        device: Option<String>,
    },
    Mute {
        callid: String,
        muted: bool,
    },
    Answer(String),
    Hangup(String),
    Hold(String),
    Resume(String),
    Transfer {
        callid: String,
        target: Option<String>,
        attended: Option<String>,
    },
    Dtmf {
        callid: String,
        digits: String,
    },
    StopAutoAnswer(String),
    History(u32),
    MarkSeen,
}

/// The plugin's handle to the engine (the sdk's, with this core's messages).
pub type Engine = ucdesk_sdk::engine::Engine<Msg>;

/// What reaches the core: the plugin's requests and settings, and what its own tasks
/// (dialogs, transactions, media, the ticker) report.
pub enum Msg {
    Request(Request, Reply<serde_json::Value>),
    Reconfigure(Box<Config>),
    Shutdown(Reply<()>),
    Dialog(DialogState),
    Incoming(InviteDialog),
    Registered {
        target: Target,
        binding: account::Binding,
        generation: u64,
    },
    RegFailed {
        state: RegistrationState,
        reason: String,
        target: Option<Target>,
        generation: u64,
    },
    InviteDone {
        callid: String,
        status: Option<u16>,
        error: Option<String>,
    },
    ReinviteDone {
        callid: String,
        hold: bool,
        ok: bool,
        body: Option<Vec<u8>>,
    },
    ReferDone {
        callid: String,
        accepted: bool,
        reason: String,
    },
    Digit {
        callid: String,
        digit: char,
    },
    Quality(contract::CallQuality),
    MediaNotice {
        callid: String,
        message: String,
    },
    /// The CRM matched the call's number to this contact (`crm.match`).
    CrmName {
        callid: String,
        name: String,
    },
    Tick,
}

/// How a call's media events reach the core (see [`crate::media::call::forward`]).
fn media_msg(callid: &str, event: MediaEvent) -> Msg {
    match event {
        MediaEvent::Digit(digit) => Msg::Digit { callid: callid.to_string(), digit },
        MediaEvent::Quality(q) => Msg::Quality(q),
        MediaEvent::Device(message) => Msg::MediaNotice { callid: callid.to_string(), message },
    }
}

/// One call as the views and `phone.calls` see it.
#[derive(Clone, Debug)]
pub struct CallSnapshot {
    pub event: CallEvent,
    pub auto_answer_in: Option<u64>,
    pub local_hold: bool,
    pub remote_hold: bool,
    pub emergency_location: Option<String>,
    pub quality: Option<contract::CallQuality>,
    /// SRTP over TLS signalling: the call window's lock.
    pub secure: bool,
    pub muted: bool,
    /// The other call when this one is in a local conference.
    pub conference_with: Option<String>,
    /// The contact the CRM matched.
    pub crm_name: Option<String>,
}

/// What the plugin thread reads for views and status.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub registration: RegEvent,
    pub calls: Vec<CallSnapshot>,
    pub dnd: bool,
    pub call_waiting: bool,
    pub missed: u32,
    pub recent: Vec<HistoryEntry>,
    pub notice: Option<String>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            registration: RegEvent { state: RegistrationState::Unregistered, server: None, reason: None },
            calls: Vec::new(),
            dnd: false,
            call_waiting: true,
            missed: 0,
            recent: Vec::new(),
            notice: None,
        }
    }
}

/// Starts the engine: the core task on its own runtime, ticking every 500 ms (auto
/// answer countdowns). `show` receives every new snapshot (the plugin's panels).
pub fn start(
    ctx: &Context,
    history: Option<History>,
    show: impl Fn(Snapshot) + Send + Sync + 'static,
) -> std::io::Result<Engine> {
    let core_ctx = ctx.clone();
    let spec =
        EngineSpec::new("softphone-sip").tick(Duration::from_millis(500), || Msg::Tick).stop(Msg::Shutdown);
    Engine::start(ctx, spec, move |mailbox: Mailbox<Msg>| {
        let core = Core {
            ctx: core_ctx,
            tx: mailbox.sender(),
            config: None,
            account: None,
            generation: 0,
            device_id: util::uuid_urn(),
            ringer: None,
            ring_failed: false,
            pending: Vec::new(),
            calls: BTreeMap::new(),
            history,
            show: Box::new(show),
            registration: RegEvent { state: RegistrationState::Unregistered, server: None, reason: None },
            notice: None,
            on_call: false,
            presence: None,
        };
        core.run(mailbox)
    })
}

struct Core {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    config: Option<Config>,
    account: Option<Account>,
    /// Bumped per account so late messages from an old one are ignored.
    generation: u64,
    /// This phone's device identity in emergency locations (RFC 4479 deviceID).
    device_id: String,
    /// The ringtone playing for incoming calls, and whether it could not start.
    ringer: Option<crate::media::ring::Ringer>,
    ring_failed: bool,
    calls: BTreeMap<String, Call>,
    history: Option<History>,
    /// Where each new snapshot goes (the plugin's panels).
    show: Box<dyn Fn(Snapshot) + Send + Sync>,
    registration: RegEvent,
    notice: Option<String>,
    /// Whether the presence provider was last told we are on a call, and the thread
    /// that tells it (in order, off the engine: it is a blocking service call).
    on_call: bool,
    presence: Option<std::sync::mpsc::Sender<bool>>,
    /// Events of the message being handled, published once the snapshot shows their
    /// effect: whoever reacts to `call.ended` and asks `phone.calls` sees it gone.
    pending: Vec<Publish>,
}

impl Core {
    async fn run(mut self, mut mailbox: Mailbox<Msg>) {
        self.refresh();
        while let Some(msg) = mailbox.recv().await {
            match msg {
                Msg::Shutdown(done) => {
                    self.stop_account(true).await;
                    self.settle();
                    done.ok(());
                    return;
                }
                Msg::Request(Request::TestDevice { kind, device }, reply) => {
                    // A second of audio: run beside the calls, answer when done.
                    let configured = self.config.as_ref().map(|c| match kind {
                        DeviceKind::Input => c.audio_input.clone(),
                        DeviceKind::Output => c.audio_output.clone(),
                        DeviceKind::Ring => c.ring_device.clone(),
                    });
                    let volume = self.config.as_ref().map_or(80, |c| c.ring_volume);
                    let spec = match device.as_deref().map(crate::media::device::DeviceSpec::parse) {
                        Some(Err(e)) => {
                            reply.send(Err(Error::bad_request(e)));
                            continue;
                        }
                        Some(Ok(spec)) => spec,
                        None => configured.unwrap_or_default(),
                    };
                    tokio::spawn(async move {
                        reply
                            .send(crate::media::test_device(kind, spec, volume).await.map_err(Error::failed));
                    });
                    continue;
                }
                Msg::Request(req, reply) => {
                    // The answer goes out after the snapshot shows its effect.
                    let answer = self.request(req).await;
                    self.settle();
                    reply.send(answer.map_err(Error::from));
                    continue;
                }
                Msg::Reconfigure(cfg) => self.reconfigure(*cfg).await,
                Msg::Dialog(state) => self.dialog_state(state).await,
                Msg::Incoming(dialog) => self.incoming(dialog).await,
                Msg::Registered { target, binding, generation } if generation == self.generation => {
                    if let Some(a) = &mut self.account {
                        a.target = Some(target.clone());
                        a.binding = Some(binding);
                    }
                    self.set_registration(RegistrationState::Registered, Some(target.to_string()), None);
                }
                Msg::RegFailed { state, reason, target, generation } if generation == self.generation => {
                    self.set_registration(state, target.map(|t| t.to_string()), Some(reason));
                }
                Msg::Registered { .. } | Msg::RegFailed { .. } => {}
                Msg::InviteDone { callid, status, error } => self.invite_done(&callid, status, error),
                Msg::ReinviteDone { callid, hold, ok, body } => self.reinvite_done(&callid, hold, ok, body),
                Msg::ReferDone { callid, accepted, reason } => {
                    if !accepted {
                        self.notice = Some(format!("transfer refused: {reason}"));
                    } else if let Some(c) = self.calls.get_mut(&callid) {
                        c.state = CallState::Transferring;
                    }
                }
                Msg::Digit { callid, digit } => {
                    self.pending
                        .push(later(contract::TOPIC_DTMF, &DtmfEvent { callid, digits: digit.to_string() }));
                }
                Msg::Quality(q) => {
                    if let Some(c) = self.calls.get_mut(&q.callid) {
                        c.quality = Some(q.clone());
                        c.qualities.push(q.clone());
                        self.pending.push(later(contract::TOPIC_QUALITY, &q));
                    }
                }
                Msg::MediaNotice { callid, message } => {
                    self.ctx.warn(format!("call {callid}: {message}"));
                    self.notice = Some(message);
                }
                Msg::CrmName { callid, name } => {
                    if let Some(c) = self.calls.get_mut(&callid) {
                        c.crm_name = Some(name);
                    }
                }
                Msg::Tick => self.tick().await,
            }
            self.settle();
        }
    }

    /// After each message: the snapshot first, then the events it explains.
    fn settle(&mut self) {
        self.refresh();
        for publish in std::mem::take(&mut self.pending) {
            publish(&self.ctx);
        }
    }

    /// Builds the snapshot from the state and shows it (the panels republish).
    fn refresh(&mut self) {
        self.ring();
        self.report_on_call();
        let now = Instant::now();
        let tls = self
            .account
            .as_ref()
            .and_then(|a| a.target.as_ref())
            .is_some_and(|t| t.transport == Transport::Tls);
        let calls = self
            .calls
            .values()
            .map(|c| CallSnapshot {
                event: c.event(),
                auto_answer_in: c.auto_answer_at.map(|at| at.saturating_duration_since(now).as_secs() + 1),
                local_hold: c.local_hold,
                remote_hold: c.remote_hold,
                emergency_location: c.emergency.clone(),
                quality: c.quality.clone(),
                secure: c.encrypted && tls,
                muted: c.muted,
                conference_with: c.conference.as_ref().map(|(other, _)| other.clone()),
                crm_name: c.crm_name.clone(),
            })
            .collect();
        let (missed, recent) = match &self.history {
            Some(h) => (h.missed().unwrap_or(0), h.recent(20).unwrap_or_default()),
            None => (0, Vec::new()),
        };
        (self.show)(Snapshot {
            registration: self.registration.clone(),
            calls,
            dnd: self.config.as_ref().is_some_and(|c| c.dnd),
            call_waiting: self.config.as_ref().is_none_or(|c| c.call_waiting),
            missed,
            recent,
            notice: self.notice.clone(),
        });
    }

    async fn request(&mut self, req: Request) -> Result<serde_json::Value, PhoneError> {
        match req {
            Request::Dial { number, hide_caller_id } => {
                self.dial(&number, DialOptions { hide_once: hide_caller_id, ..Default::default() }).await
            }
            Request::Answer(id) => self.answer(&id).await.map(|()| serde_json::json!({})),
            Request::Hangup(id) => self.hangup(&id).await.map(|()| serde_json::json!({})),
            Request::Hold(id) => self.hold(&id, true).map(|()| serde_json::json!({})),
            Request::Resume(id) => self.hold(&id, false).map(|()| serde_json::json!({})),
            Request::Transfer { callid, target, attended } => {
                self.transfer(&callid, target, attended).map(|()| serde_json::json!({}))
            }
            Request::Dtmf { callid, digits } => self.dtmf(&callid, &digits).map(|()| serde_json::json!({})),
            Request::History(limit) => {
                let h = self.history.as_ref().ok_or("call history is unavailable")?;
                let entries = h.recent(limit.min(10_000)).map_err(|e| PhoneError::Failed(e.to_string()))?;
                let missed = h.missed().map_err(|e| PhoneError::Failed(e.to_string()))?;
                serde_json::to_value(contract::History { entries, missed })
                    .map_err(|e| PhoneError::Failed(e.to_string()))
            }
            Request::TestDevice { .. } => Err("device tests run beside the engine".into()),
            Request::Conference { callid, with } => {
                self.conference(&callid, &with).map(|()| serde_json::json!({}))
            }
            Request::Mute { callid, muted } => {
                let call = self.calls.get_mut(&callid).ok_or_else(|| no_call(&callid))?;
                call.muted = muted;
                call.rtp.send(RtpCmd::Mute(muted));
                // Headsets and other panels show the microphone's state too.
                let event = call.event();
                self.pending.push(later(contract::TOPIC_MUTED, &event));
                Ok(serde_json::json!({}))
            }
            Request::QualityLog => {
                let h = self.history.as_ref().ok_or("call history is unavailable")?;
                let log = h.quality_log().map_err(|e| e.to_string())?;
                Ok(serde_json::Value::Array(
                    log.iter()
                        .map(|(callid, number, start, reports)| {
                            serde_json::json!({
                                "callid": callid,
                                "number": number,
                                "start": util::rfc3339(*start),
                                "mos": reports.iter().map(|r| r.mos).sum::<f64>() / reports.len().max(1) as f64,
                                "reports": reports.len(),
                            })
                        })
                        .collect(),
                ))
            }
            Request::QualityReport(callid) => {
                let h = self.history.as_ref().ok_or("call history is unavailable")?;
                let log = h.quality_log().map_err(|e| e.to_string())?;
                let (_, number, start, reports) = log
                    .iter()
                    .find(|(id, ..)| *id == callid)
                    .ok_or_else(|| format!("call {callid} is not in the quality log"))?;
                Ok(serde_json::json!({
                    "callid": callid,
                    "report": crate::media::quality::report_text(&callid, number, &util::rfc3339(*start), reports),
                }))
            }
            Request::MarkSeen => {
                if let Some(h) = &self.history {
                    h.mark_seen().map_err(|e| e.to_string())?;
                }
                Ok(serde_json::json!({}))
            }
            Request::StopAutoAnswer(id) => {
                let call = self.calls.get_mut(&id).ok_or_else(|| no_call(&id))?;
                call.auto_answer_at = None;
                call.auto_answer_pending = false;
                Ok(serde_json::json!({}))
            }
        }
    }
}

fn no_call(id: &str) -> PhoneError {
    PhoneError::NoCall(id.to_string())
}
