//! The SIP engine: one tokio runtime per plugin instance, running rsipstack's endpoint,
//! the registration loop and every call. One task (`Core`) owns all call and account
//! state; everything else (the plugin thread's requests, dialog state changes, incoming
//! INVITEs, finished transactions, timers) reaches it as a [`Msg`], so no lock is held
//! across network I/O. The plugin thread reads a [`Snapshot`] for views.

use crate::config::{Config, Transport};
use crate::history::History;
use crate::rtp::{MediaEvent, RtpCmd, RtpStream};
use crate::sdp::{self, MediaDir};
use crate::srv::{self, Target};
use crate::{emergency, util};
use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::{self as rsip, Header, StatusCode};
use rsipstack::transport::{SipAddr, TransportLayer, udp::UdpConnection};
use rsipstack::{EndpointBuilder, transaction::endpoint::EndpointInnerRef};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ucdesk_sdk::Context;
use ucdesk_sdk::contract::notify::{self, Notification, NotifyKind};
use ucdesk_sdk::contract::phone::{
    self as contract, CallEvent, CallResult, Direction, DtmfEvent, HistoryEntry, Registration as RegEvent,
    RegistrationState,
};

/// How long the plugin thread waits for the engine to accept a request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between registration attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

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

pub type Reply = std::sync::mpsc::SyncSender<Result<serde_json::Value, String>>;

enum Msg {
    Request(Request, Reply),
    Reconfigure(Box<Config>),
    Shutdown(std::sync::mpsc::SyncSender<()>),
    Dialog(DialogState),
    Incoming(InviteDialog),
    Registered { target: Target, generation: u64 },
    RegFailed { state: RegistrationState, reason: String, target: Option<Target>, generation: u64 },
    InviteDone { callid: String, status: Option<u16>, error: Option<String> },
    ReinviteDone { callid: String, hold: bool, ok: bool, body: Option<Vec<u8>> },
    ReferDone { callid: String, accepted: bool, reason: String },
    Digit { callid: String, digit: char },
    Quality(contract::CallQuality),
    MediaNotice { callid: String, message: String },
    Tick,
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

/// The plugin's handle to the engine.
pub struct Engine {
    runtime: Option<tokio::runtime::Runtime>,
    tx: mpsc::UnboundedSender<Msg>,
    pub snapshot: Arc<Mutex<Snapshot>>,
}

impl Engine {
    /// Starts the runtime and the core task. `on_change` runs (on an engine thread)
    /// after every state change, to republish views.
    pub fn start(
        ctx: Context,
        history: Option<History>,
        on_change: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Engine> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("softphone-sip")
            .enable_all()
            .build()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        let core = Core {
            ctx,
            tx: tx.clone(),
            config: None,
            account: None,
            generation: 0,
            device_id: util::uuid_urn(),
            ringer: None,
            ring_failed: false,
            pending: Vec::new(),
            calls: BTreeMap::new(),
            history,
            snapshot: snapshot.clone(),
            on_change,
            registration: RegEvent { state: RegistrationState::Unregistered, server: None, reason: None },
            notice: None,
            on_call: false,
            presence: None,
        };
        runtime.spawn(core.run(rx));
        let ticker = tx.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                if ticker.send(Msg::Tick).is_err() {
                    return;
                }
            }
        });
        Ok(Engine { runtime: Some(runtime), tx, snapshot })
    }

    pub fn reconfigure(&self, config: Config) {
        let _ = self.tx.send(Msg::Reconfigure(Box::new(config)));
    }

    /// Sends a request and waits for the engine's answer.
    pub fn request(&self, req: Request) -> Result<serde_json::Value, String> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.tx.send(Msg::Request(req, reply)).map_err(|_| "the phone engine has stopped".to_string())?;
        answer
            .recv_timeout(REQUEST_TIMEOUT)
            .map_err(|_| "the phone engine did not answer in time".to_string())?
    }

    /// Hangs up every call, unregisters, and stops the runtime (bounded wait).
    pub fn shutdown(&mut self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Msg::Shutdown(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(4));
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A live account: its endpoint and dialog layer, valid until the token is cancelled.
struct Account {
    token: CancellationToken,
    endpoint: EndpointInnerRef,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    local_ip: IpAddr,
    contact: rsip::Uri,
    domain: String,
    credential: Credential,
    /// Where requests go (the target we are registered with).
    target: Option<Target>,
}

/// Which device a test is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Input,
    Output,
    Ring,
}

/// How `dial` places a call beyond the number.
#[derive(Default)]
struct DialOptions {
    /// Hide the caller ID for this call only.
    hide_once: bool,
    /// Extra headers (Referred-By, Replaces when we are the transferee).
    headers: Vec<Header>,
    /// The call whose REFER this call follows.
    referred_from: Option<String>,
}

/// A Refer-To value: the target URI and its embedded Replaces header, if any
/// (`<sip:carol@pbx?Replaces=call%40host%3Bto-tag%3Da%3Bfrom-tag%3Db>`).
#[derive(Debug, PartialEq)]
struct ReferTarget {
    uri: String,
    replaces: Option<String>,
}

impl ReferTarget {
    fn parse(value: &str) -> Option<ReferTarget> {
        let v = value.trim();
        let v = match v.strip_prefix('<') {
            Some(rest) => &rest[..rest.find('>')?],
            None => v.split(';').next()?,
        };
        let (uri, headers) = v.split_once('?').unwrap_or((v, ""));
        let scheme = uri.split(':').next()?.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "sip" | "sips") || uri.len() <= scheme.len() + 1 {
            return None;
        }
        let replaces = headers
            .split('&')
            .filter_map(|h| h.split_once('='))
            .find(|(name, _)| name.eq_ignore_ascii_case("Replaces"))
            .and_then(|(_, value)| percent_decode(value));
        Some(ReferTarget { uri: uri.to_string(), replaces })
    }
}

struct Call {
    id: String,
    dialog: Option<InviteDialog>,
    direction: Direction,
    number: String,
    name: Option<String>,
    ext: Option<String>,
    did: Option<String>,
    state: &'static str,
    start_unix: i64,
    answered: Option<Instant>,
    local_hold: bool,
    remote_hold: bool,
    rtp: RtpStream,
    local: sdp::Local,
    remote: Option<sdp::Remote>,
    auto_answer_at: Option<Instant>,
    auto_answer_pending: bool,
    ringing_published: bool,
    transferred_to: Option<String>,
    /// Attended transfer: the consultation call the far end is to replace.
    consultation: Option<String>,
    /// We are the transferee: the call whose REFER this call follows (its referrer
    /// hears how it goes through NOTIFYs).
    referred_from: Option<String>,
    /// The latest quality report.
    quality: Option<contract::CallQuality>,
    /// Every report of the call, for the quality log.
    qualities: Vec<contract::CallQuality>,
    /// Media is SRTP.
    encrypted: bool,
    /// The other call of the local conference this call is in, and the bridge.
    conference: Option<(String, crate::media::bridge::Bridge)>,
    muted: bool,
    emergency: Option<String>,
    result: Option<CallResult>,
    reason: Option<String>,
}

impl Call {
    fn event(&self) -> CallEvent {
        CallEvent {
            callid: self.id.clone(),
            direction: self.direction,
            number: self.number.clone(),
            name: self.name.clone(),
            ext: self.ext.clone(),
            ext_name: None,
            did: self.did.clone(),
            queue_number: None,
            queue_name: None,
            agent_number: None,
            agent_name: None,
            duration: self.answered.map(|a| a.elapsed().as_secs()).unwrap_or(0),
            state: self.state.to_string(),
            result: self.result,
            transferred_to: self.transferred_to.clone(),
            reason: self.reason.clone(),
        }
    }

    fn connected(&self) -> bool {
        self.answered.is_some() && self.result.is_none()
    }

    /// Takes the far end's session description (answer, or a re-offer): where media
    /// goes, and whether it holds us.
    fn apply_remote(&mut self, remote: &sdp::Remote) -> Result<(), String> {
        self.remote_hold = remote.dir.holds_us();
        self.remote = Some(remote.clone());
        self.state = if self.remote_hold || self.local_hold { "held" } else { "connected" };
        start_media(self, remote)
    }
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
    snapshot: Arc<Mutex<Snapshot>>,
    on_change: Arc<dyn Fn() + Send + Sync>,
    registration: RegEvent,
    notice: Option<String>,
    /// Whether the presence provider was last told we are on a call, and the thread
    /// that tells it (in order, off the engine: it is a blocking service call).
    on_call: bool,
    presence: Option<std::sync::mpsc::Sender<bool>>,
    /// Events of the message being handled, published once the snapshot shows their
    /// effect: whoever reacts to `call.ended` and asks `phone.calls` sees it gone.
    pending: Vec<Box<dyn FnOnce(&Context) + Send>>,
}

/// A bus event to publish after the snapshot is refreshed.
fn later<T: ucdesk_sdk::contract::Contract + serde::Serialize + Clone + Send + 'static>(
    topic: &'static str,
    payload: &T,
) -> Box<dyn FnOnce(&Context) + Send> {
    let payload = payload.clone();
    Box::new(move |ctx: &Context| ctx.publish(topic, &payload))
}

/// The shell's inbound call alert for `event`, or (`close`) its end.
fn call_alert(event: &CallEvent, close: bool) -> Box<dyn FnOnce(&Context) + Send> {
    let who = match &event.name {
        Some(n) if !n.is_empty() => format!("{n} ({})", event.number),
        _ => event.number.clone(),
    };
    let note = Notification {
        id: format!("call:{}", event.callid),
        kind: NotifyKind::IncomingCall,
        title: "Incoming call".into(),
        body: who,
        panel: Some("phone".into()),
        close,
    };
    later(notify::TOPIC, &note)
}

impl Core {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        self.refresh();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Shutdown(done) => {
                    self.stop_account(true).await;
                    self.settle();
                    let _ = done.send(());
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
                            let _ = reply.send(Err(e));
                            continue;
                        }
                        Some(Ok(spec)) => spec,
                        None => configured.unwrap_or_default(),
                    };
                    tokio::spawn(async move {
                        let _ = reply.send(crate::media::test_device(kind, spec, volume).await);
                    });
                    continue;
                }
                Msg::Request(req, reply) => {
                    let answer = self.request(req).await;
                    let _ = reply.send(answer);
                }
                Msg::Reconfigure(cfg) => self.reconfigure(*cfg).await,
                Msg::Dialog(state) => self.dialog_state(state).await,
                Msg::Incoming(dialog) => self.incoming(dialog).await,
                Msg::Registered { target, generation } if generation == self.generation => {
                    if let Some(a) = &mut self.account {
                        a.target = Some(target.clone());
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
                        c.state = "transferring";
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
                    self.ctx.warn(&format!("call {callid}: {message}"));
                    self.notice = Some(message);
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

    /// Rings while an incoming call waits for an answer (one ringtone however many ring).
    fn ring(&mut self) {
        let ringing = self
            .calls
            .values()
            .any(|c| c.direction == Direction::Inbound && c.answered.is_none() && c.result.is_none());
        match (ringing, self.ringer.is_some() || self.ring_failed) {
            (true, false) => {
                let Some(cfg) = &self.config else { return };
                match crate::media::ring::Ringer::start(&cfg.ringtone, &cfg.ring_device, cfg.ring_volume) {
                    Ok(r) => self.ringer = r.map(Some).unwrap_or(None),
                    Err(e) => {
                        self.notice = Some(format!("the ringtone cannot play: {e}"));
                        self.ring_failed = true;
                    }
                }
                // Silent or null: nothing to start, nothing to retry.
                self.ring_failed |= self.ringer.is_none();
            }
            (false, _) => {
                self.ringer = None;
                self.ring_failed = false;
            }
            (true, true) => {}
        }
    }

    /// Copies state into the snapshot and tells the plugin to republish views.
    /// Unified presence shows "on a call" while a call is connected: tell whoever
    /// provides `presence` (the chat plugin), if anyone does.
    fn report_on_call(&mut self) {
        let on_call = self.calls.values().any(|c| c.answered.is_some() && c.result.is_none());
        if on_call == self.on_call {
            return;
        }
        self.on_call = on_call;
        let tx = self.presence.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::channel::<bool>();
            let ctx = self.ctx.clone();
            let _ = std::thread::Builder::new().name("softphone-presence".into()).spawn(move || {
                for on_call in rx {
                    let args = serde_json::json!({ "on_call": on_call });
                    let r: Result<serde_json::Value, _> =
                        ctx.call_timeout("presence.set", &args, Duration::from_secs(5));
                    if let Err(e) = r {
                        ctx.debug(format!("presence.set on_call={on_call}: {e}"));
                    }
                }
            });
            tx
        });
        let _ = tx.send(on_call);
    }

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
            })
            .collect();
        let (missed, recent) = match &self.history {
            Some(h) => (h.missed().unwrap_or(0), h.recent(20).unwrap_or_default()),
            None => (0, Vec::new()),
        };
        {
            let mut s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
            s.registration = self.registration.clone();
            s.calls = calls;
            s.dnd = self.config.as_ref().is_some_and(|c| c.dnd);
            s.call_waiting = self.config.as_ref().is_none_or(|c| c.call_waiting);
            s.missed = missed;
            s.recent = recent;
            s.notice = self.notice.clone();
        }
        (self.on_change)();
    }

    fn set_registration(&mut self, state: RegistrationState, server: Option<String>, reason: Option<String>) {
        let next = RegEvent { state, server, reason };
        if next != self.registration {
            match &next.reason {
                Some(r) => self.ctx.info(&format!("registration {:?}: {r}", next.state)),
                None => self.ctx.info(&format!(
                    "registration {:?} {}",
                    next.state,
                    next.server.as_deref().unwrap_or("")
                )),
            }
            self.registration = next.clone();
            self.pending.push(later(contract::TOPIC_REGISTRATION, &next));
        }
    }

    // ----- account -------------------------------------------------------------

    async fn reconfigure(&mut self, cfg: Config) {
        let same_account = self.config.as_ref().is_some_and(|old| old.account_key() == cfg.account_key());
        self.notice = cfg
            .dial_plan_error
            .clone()
            .or(cfg.emergency_location_error.clone())
            .or(cfg.media_error.clone())
            .or_else(|| {
                (emergency::needs_location("911", &cfg.server_locality) && cfg.emergency_location.is_none())
                    .then(|| "Set your emergency location: calls to 911 need it.".to_string())
            });
        let devices_changed = self.config.as_ref().is_some_and(|old| {
            (&old.audio_input, &old.audio_output, old.echo_cancellation, old.noise_suppression)
                != (&cfg.audio_input, &cfg.audio_output, cfg.echo_cancellation, cfg.noise_suppression)
        });
        self.config = Some(cfg.clone());
        if devices_changed {
            // The manual: devices switch during a live call without dropping it.
            for call in self.calls.values() {
                call.rtp.send(RtpCmd::Devices(cfg.media_setup()));
            }
        }
        if same_account && self.account.is_some() {
            return;
        }
        self.stop_account(false).await;
        if !cfg.has_account() {
            self.set_registration(
                RegistrationState::Unregistered,
                None,
                Some("no account configured".into()),
            );
            return;
        }
        match self.start_account(&cfg).await {
            Ok(()) => {}
            Err(reason) => {
                self.set_registration(RegistrationState::Failed, Some(cfg.server.clone()), Some(reason))
            }
        }
    }

    async fn start_account(&mut self, cfg: &Config) -> Result<(), String> {
        self.generation += 1;
        let generation = self.generation;
        self.set_registration(RegistrationState::Registering, Some(cfg.server.clone()), None);
        let server = if cfg.proxy.is_empty() { &cfg.server } else { &cfg.proxy };
        let targets = srv::targets(server, &cfg.srv_domain, cfg.transport, &cfg.dns_server)
            .await
            .map_err(|e| e.to_string())?;
        let first = targets.first().ok_or("the server resolves to nothing")?.clone();
        // The account's domain names us in From, To and the addresses we hand to others
        // (a transfer target): with an explicit port it keeps the port, or a peer that
        // resolves it on its own (RFC 3263) would knock on 5060.
        let domain = match srv::split_host_port(&cfg.server).map_err(|e| e.to_string())? {
            _ if !cfg.srv_domain.is_empty() => cfg.srv_domain.clone(),
            (host, Some(port)) if host.contains(':') => format!("[{host}]:{port}"),
            (host, Some(port)) => format!("{host}:{port}"),
            (host, None) => host,
        };
        let local_ip = route_to(first.addr).map_err(|e| format!("no route to {}: {e}", first.addr))?;

        let token = CancellationToken::new();
        let transport = TransportLayer::new(token.clone());
        let udp = UdpConnection::create_connection(
            SocketAddr::new(local_ip, cfg.local_port),
            None,
            Some(token.child_token()),
        )
        .await
        .map_err(|e| format!("cannot open SIP port {}:{}: {e}", local_ip, cfg.local_port))?;
        let local_addr = udp.get_addr().clone();
        transport.add_transport(udp.into());
        if targets.iter().any(|t| t.transport == Transport::Tls) {
            transport.set_tls_config(tls_config(cfg, &first)?);
        }
        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("ucdesk/", env!("CARGO_PKG_VERSION")))
            .with_transport_layer(transport)
            .with_cancel_token(token.clone())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| e.to_string())?;
        let inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
        let credential = Credential {
            username: if cfg.auth_username.is_empty() {
                cfg.username.clone()
            } else {
                cfg.auth_username.clone()
            },
            password: cfg.password.clone().unwrap_or_default(),
            realm: None,
            auth_username: None,
        };
        let contact = rsip::Uri {
            scheme: Some(rsip::Scheme::Sip),
            auth: Some(rsip::Auth { user: cfg.username.clone(), password: None }),
            host_with_port: local_addr.addr.clone(),
            params: vec![],
            headers: vec![],
        };

        let serve_token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = serve_token.cancelled() => {}
            }
        });
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(state) = state_rx.recv().await {
                if tx.send(Msg::Dialog(state)).is_err() {
                    return;
                }
            }
        });
        tokio::spawn(serve_incoming(
            incoming,
            dialogs.clone(),
            state_tx.clone(),
            contact.clone(),
            self.tx.clone(),
        ));
        tokio::spawn(register_loop(RegisterJob {
            endpoint: inner.clone(),
            credential: credential.clone(),
            domain: domain.clone(),
            targets: targets.clone(),
            interval: cfg.register_interval,
            keep_alive: cfg.keep_alives.then(|| Duration::from_secs(cfg.keep_alive_interval.into())),
            token: token.clone(),
            tx: self.tx.clone(),
            generation,
        }));
        self.account = Some(Account {
            token,
            endpoint: inner,
            dialogs,
            state_tx,
            local_ip,
            contact,
            domain,
            credential,
            target: None,
        });
        Ok(())
    }

    /// Ends every call and the account. `unregister`: also tell the registrar.
    async fn stop_account(&mut self, unregister: bool) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.hangup(&id).await.ok();
            self.finish(&id, None);
        }
        let Some(account) = self.account.take() else { return };
        self.generation += 1;
        if unregister && self.registration.state == RegistrationState::Registered {
            if let Some(target) = account.target.clone() {
                let mut reg = Registration::new(account.endpoint.clone(), Some(account.credential.clone()));
                reg.outbound_proxy = Some(target.addr);
                let uri = registrar_uri(&account.domain, &target);
                let _ = tokio::time::timeout(Duration::from_secs(2), reg.register(uri, Some(0))).await;
            }
        }
        account.token.cancel();
        self.set_registration(RegistrationState::Unregistered, None, None);
    }

    // ----- requests ------------------------------------------------------------

    async fn request(&mut self, req: Request) -> Result<serde_json::Value, String> {
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
                let entries = h.recent(limit.min(10_000)).map_err(|e| e.to_string())?;
                let missed = h.missed().map_err(|e| e.to_string())?;
                serde_json::to_value(contract::History { entries, missed }).map_err(|e| e.to_string())
            }
            Request::TestDevice { .. } => Err("device tests run beside the engine".into()),
            Request::Conference { callid, with } => {
                self.conference(&callid, &with).map(|()| serde_json::json!({}))
            }
            Request::Mute { callid, muted } => {
                let call = self.calls.get_mut(&callid).ok_or_else(|| no_call(&callid))?;
                call.muted = muted;
                call.rtp.send(RtpCmd::Mute(muted));
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

    fn ready(&self) -> Result<&Account, String> {
        let account = self.account.as_ref().ok_or("the phone has no account configured")?;
        if self.registration.state != RegistrationState::Registered {
            return Err(format!(
                "the phone is not registered ({})",
                self.registration.reason.as_deref().unwrap_or("registering")
            ));
        }
        Ok(account)
    }

    async fn dial(&mut self, input: &str, opts: DialOptions) -> Result<serde_json::Value, String> {
        let DialOptions { hide_once, headers: extra, referred_from } = opts;
        let cfg = self.config.clone().ok_or("the phone is not configured")?;
        // A transfer target is a full SIP URI chosen by the far end: no dialing rules.
        let number = match &referred_from {
            Some(_) => input.to_string(),
            None => cfg.dial_plan.apply(input).map_err(|e| e.to_string())?,
        };
        let account = self.ready()?;
        let target = account.target.clone().ok_or("the phone is not registered")?;
        let callee: rsip::Uri = if crate::dialing::is_sip_address(&number) {
            let text = if number.starts_with("sip") { number.clone() } else { format!("sip:{number}") };
            rsip::Uri::try_from(text.as_str()).map_err(|e| format!("{number:?} is not a SIP address: {e}"))?
        } else {
            rsip::Uri::try_from(format!("sip:{number}@{}", account.domain).as_str())
                .map_err(|e| e.to_string())?
        };
        let hide = hide_once || cfg.hide_caller_id;
        let me = rsip::Uri::try_from(format!("sip:{}@{}", cfg.username, account.domain).as_str())
            .map_err(|e| e.to_string())?;
        let callid = format!("{}@ucdesk", util::random_token(20));
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let rtp = RtpStream::bind(account.local_ip, callid.clone(), cfg.media_setup(), media_tx)
            .await
            .map_err(|e| format!("no RTP port: {e}"))?;
        let local = sdp::Local {
            addr: account.local_ip,
            port: rtp.port,
            session_id: util::random_u32() as u64,
            version: 1,
            codecs: cfg.codecs.clone(),
            keys: crate::media::srtp::Keys::random(),
            require_srtp: cfg.srtp.required(target.transport),
        };
        let offer = sdp::offer(&local, MediaDir::SendRecv);

        let mut headers = extra;
        let (caller, display) = if hide {
            // RFC 3323: anonymous From plus Privacy: id; our real identity goes to the
            // (trusted) proxy in P-Preferred-Identity (RFC 3325) so it can authorize.
            headers.push(Header::Other("Privacy".into(), "id".into()));
            headers.push(Header::Other("P-Preferred-Identity".into(), format!("<{me}>")));
            (
                rsip::Uri::try_from("sip:anonymous@anonymous.invalid").expect("static URI"),
                Some("Anonymous".to_string()),
            )
        } else {
            let display = (!cfg.display_name.is_empty()).then(|| cfg.display_name.clone());
            (me.clone(), display)
        };
        let (content_type, body, emergency_summary) =
            match (&cfg.emergency_location, emergency::needs_location(&number, &cfg.server_locality)) {
                (Some(loc), true) => {
                    // A Content-ID's right side is a dot-atom: the domain without a port.
                    let host = srv::split_host_port(&account.domain).map(|(h, _)| h).unwrap_or_default();
                    let pidf =
                        emergency::pidf_lo(&me.to_string(), &self.device_id, loc, &util::rfc3339_now());
                    let located = emergency::multipart_offer(&offer, &pidf, &host);
                    headers
                        .push(Header::Other("Geolocation".into(), format!("<cid:{}>", located.content_id)));
                    headers.push(Header::Other("Geolocation-Routing".into(), "yes".into()));
                    (located.content_type, located.body, Some(loc.summary()))
                }
                (None, true) => {
                    // The call still goes out: an emergency call is never refused.
                    ("application/sdp".to_string(), offer, Some(String::new()))
                }
                _ => ("application/sdp".to_string(), offer, None),
            };
        let opt = InviteOption {
            caller_display_name: display,
            caller,
            callee,
            destination: Some(sip_addr(&target)),
            content_type: Some(content_type),
            offer: Some(body.into_bytes()),
            contact: account.contact.clone(),
            credential: Some(account.credential.clone()),
            headers: Some(headers),
            call_id: Some(callid.clone()),
            ..Default::default()
        };
        let (dialog, handle) = account
            .dialogs
            .do_invite_async(opt, account.state_tx.clone())
            .map_err(|e| format!("cannot call: {e}"))?;
        let tx = self.tx.clone();
        let id = callid.clone();
        tokio::spawn(async move {
            let msg = match handle.await {
                Ok(Ok((_, resp))) => Msg::InviteDone {
                    callid: id,
                    status: resp.map(|r| u16::from(r.status_code)),
                    error: None,
                },
                Ok(Err(e)) => Msg::InviteDone { callid: id, status: None, error: Some(e.to_string()) },
                Err(e) => Msg::InviteDone { callid: id, status: None, error: Some(e.to_string()) },
            };
            let _ = tx.send(msg);
        });
        forward_media(callid.clone(), media_rx, self.tx.clone());
        let call = Call {
            id: callid.clone(),
            dialog: Some(dialog),
            direction: Direction::Outbound,
            number: number.clone(),
            name: None,
            ext: Some(cfg.username.clone()),
            did: None,
            state: "calling",
            start_unix: util::unix_now(),
            answered: None,
            local_hold: false,
            remote_hold: false,
            rtp,
            local,
            remote: None,
            auto_answer_at: None,
            auto_answer_pending: false,
            ringing_published: false,
            transferred_to: None,
            consultation: None,
            referred_from,
            quality: None,
            qualities: Vec::new(),
            encrypted: false,
            conference: None,
            muted: false,
            emergency: emergency_summary.clone().filter(|s| !s.is_empty()),
            result: None,
            reason: None,
        };
        self.calls.insert(callid.clone(), call);
        if emergency_summary.as_deref() == Some("") {
            self.notice =
                Some("Emergency call placed without a location: set one in the phone panel.".into());
        }
        Ok(serde_json::json!({ "callid": callid, "number": number }))
    }

    async fn answer(&mut self, id: &str) -> Result<(), String> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if call.direction != Direction::Inbound || call.answered.is_some() {
            return Err(format!("call {id} is not ringing"));
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        call.local.version += 1;
        let remote = call.remote.clone();
        let body = match &remote {
            Some(r) => sdp::answer(&call.local, r, r.dir.answer_to(false)).map_err(|e| e.to_string())?,
            // An INVITE without an offer (RFC 3261 §13.2.1, "delayed offer", e.g. from a
            // PBX's click-to-call): we offer in the 200 OK and the answer comes in the
            // ACK, picked up when the dialog is confirmed.
            None => sdp::offer(&call.local, MediaDir::SendRecv),
        };
        dialog
            .accept(Some(vec![Header::ContentType("application/sdp".into())]), Some(body.into_bytes()))
            .map_err(|e| format!("cannot answer: {e}"))?;
        call.answered = Some(Instant::now());
        call.auto_answer_at = None;
        call.auto_answer_pending = false;
        call.state = "connected";
        if let Some(r) = &remote {
            call.apply_remote(r)?;
        }
        let event = call.event();
        self.pending.push(later(contract::TOPIC_ANSWERED, &event));
        self.pending.push(call_alert(&event, true));
        Ok(())
    }

    async fn hangup(&mut self, id: &str) -> Result<(), String> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        let Some(dialog) = call.dialog.clone() else { return Ok(()) };
        match (call.direction, call.answered) {
            (Direction::Inbound, None) => {
                call.result = Some(CallResult::Rejected);
                dialog.reject(Some(StatusCode::Decline), None).map_err(|e| e.to_string())?;
            }
            (Direction::Outbound, None) => {
                call.result = Some(CallResult::Cancelled);
                // A CANCEL before any provisional answer is held by the stack until one
                // arrives (RFC 3261 §9.1); the dialog ends either way.
                let d = dialog.clone();
                tokio::spawn(async move {
                    let _ = d.cancel().await;
                });
            }
            _ => {
                let d = dialog.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), d.bye()).await;
                });
            }
        }
        Ok(())
    }

    fn hold(&mut self, id: &str, hold: bool) -> Result<(), String> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(format!("call {id} is not connected"));
        }
        if call.local_hold == hold {
            return Ok(());
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        call.local.version += 1;
        let dir = match (hold, call.remote_hold) {
            (true, false) => MediaDir::SendOnly,
            (true, true) => MediaDir::Inactive,
            (false, false) => MediaDir::SendRecv,
            (false, true) => MediaDir::RecvOnly,
        };
        let body = sdp::offer(&call.local, dir);
        let tx = self.tx.clone();
        let callid = id.to_string();
        tokio::spawn(async move {
            let r = dialog
                .reinvite(Some(vec![Header::ContentType("application/sdp".into())]), Some(body.into_bytes()))
                .await;
            let (ok, body) = match r {
                Ok(Some(resp)) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    (true, Some(resp.body.clone()))
                }
                _ => (false, None),
            };
            let _ = tx.send(Msg::ReinviteDone { callid, hold, ok, body });
        });
        Ok(())
    }

    fn reinvite_done(&mut self, id: &str, hold: bool, ok: bool, body: Option<Vec<u8>>) {
        let Some(call) = self.calls.get_mut(id) else { return };
        if !ok {
            self.notice = Some(format!("the other side refused to {}", if hold { "hold" } else { "resume" }));
            return;
        }
        call.local_hold = hold;
        if let Some(remote) = body.and_then(|b| sdp::parse(&b).ok()) {
            call.remote = Some(remote.clone());
            let _ = start_media(call, &remote);
        }
        call.rtp.send(RtpCmd::Sending(!hold));
        call.state = if hold || call.remote_hold { "held" } else { "connected" };
        let event = call.event();
        self.pending.push(later(if hold { contract::TOPIC_HELD } else { contract::TOPIC_RESUMED }, &event));
    }

    fn transfer(&mut self, id: &str, target: Option<String>, attended: Option<String>) -> Result<(), String> {
        let account = self.ready()?;
        let domain = account.domain.clone();
        let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(format!("call {id} is not connected"));
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        let refer_to = match (&attended, &target) {
            (Some(other), _) => {
                let consult = self.calls.get(other).ok_or_else(|| no_call(other))?;
                let d = consult.dialog.as_ref().ok_or_else(|| no_call(other))?;
                let snap = d.snapshot();
                let DialogId { call_id, local_tag, remote_tag } = snap.id.clone();
                // RFC 3891: the transfer target replaces its dialog with us; its tags are
                // named from its side (to-tag = its own = our remote tag).
                let replaces = format!("{call_id};to-tag={remote_tag};from-tag={local_tag}");
                let uri = snap.remote_uri.to_string();
                format!("<{uri}?Replaces={}>", percent_encode(&replaces))
            }
            (None, Some(t)) => {
                let plan = self.config.as_ref().map(|c| c.dial_plan.clone()).unwrap_or_default();
                let n = plan.apply(t).map_err(|e| e.to_string())?;
                if crate::dialing::is_sip_address(&n) {
                    format!("<{}>", if n.starts_with("sip") { n } else { format!("sip:{n}") })
                } else {
                    format!("<sip:{n}@{domain}>")
                }
            }
            (None, None) => return Err("transfer needs a target or an attended call".into()),
        };
        let label = attended.clone().or(target).unwrap_or_default();
        if let Some(c) = self.calls.get_mut(id) {
            c.transferred_to = Some(label);
            c.consultation = attended.clone();
        }
        let tx = self.tx.clone();
        let callid = id.to_string();
        tokio::spawn(async move {
            let r = dialog.refer(rsip::headers::ReferTo::new(refer_to), None, None).await;
            let (accepted, reason) = match r {
                Ok(Some(resp)) => {
                    let code = u16::from(resp.status_code.clone());
                    (code / 100 == 2, format!("{code} {}", resp.status_code))
                }
                Ok(None) => (false, "the call is not connected".into()),
                Err(e) => (false, e.to_string()),
            };
            let _ = tx.send(Msg::ReferDone { callid, accepted, reason });
        });
        Ok(())
    }

    /// Merges two connected calls into a local conference; `host` keeps the sound card.
    fn conference(&mut self, host: &str, guest: &str) -> Result<(), String> {
        if host == guest {
            return Err("a conference needs two different calls".into());
        }
        for id in [host, guest] {
            let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
            if !call.connected() {
                return Err(format!("call {id} is not connected"));
            }
            if call.conference.is_some() {
                return Err(format!("call {id} is already in a conference"));
            }
        }
        // Both parties must hear us: take them off our hold first.
        for id in [host, guest] {
            if self.calls.get(id).is_some_and(|c| c.local_hold) {
                self.hold(id, false)?;
            }
        }
        let bridge = crate::media::bridge::Bridge::default();
        for (id, other, is_host) in [(host, guest, true), (guest, host, false)] {
            if let Some(c) = self.calls.get_mut(id) {
                c.conference = Some((other.to_string(), bridge.clone()));
                c.rtp.send(RtpCmd::Conference { bridge: bridge.clone(), host: is_host });
            }
        }
        Ok(())
    }

    fn dtmf(&mut self, id: &str, digits: &str) -> Result<(), String> {
        if let Some(bad) = digits.chars().find(|c| crate::rtp::event_code(*c).is_none()) {
            return Err(format!("{bad:?} is not a DTMF key (0-9 * # A-D)"));
        }
        let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(format!("call {id} is not connected"));
        }
        if call.remote.as_ref().and_then(|r| r.telephone_event).is_some() {
            call.rtp.send(RtpCmd::Dtmf(digits.to_string()));
            return Ok(());
        }
        // No RFC 4733 on the far end: SIP INFO, one request per key, in order.
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        let keys: Vec<char> = digits.chars().collect();
        tokio::spawn(async move {
            for k in keys {
                let body = format!("Signal={k}\r\nDuration=160\r\n");
                let _ = dialog
                    .info(
                        Some(vec![Header::ContentType("application/dtmf-relay".into())]),
                        Some(body.into_bytes()),
                    )
                    .await;
            }
        });
        Ok(())
    }

    // ----- network events --------------------------------------------------------

    async fn incoming(&mut self, dialog: InviteDialog) {
        let cfg = self.config.clone();
        let req = dialog.initial_request();
        let callid = dialog.id().call_id.clone();
        let (number, name) = caller_of(&req);
        let to_user = header_value(&req, "To").and_then(|v| uri_user(&v));
        let me = cfg.as_ref().map(|c| c.username.clone()).unwrap_or_default();
        let busy = self.calls.values().any(|c| c.result.is_none());
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let local_ip = self.account.as_ref().map(|a| a.local_ip).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let setup = cfg.as_ref().map(|c| c.media_setup()).unwrap_or_default();
        let Ok(rtp) = RtpStream::bind(local_ip, callid.clone(), setup, media_tx).await else {
            let _ = dialog.reject(Some(StatusCode::ServiceUnavailable), Some("no RTP port".into()));
            return;
        };
        forward_media(callid.clone(), media_rx, self.tx.clone());
        let remote = sdp::parse(&req.body);
        let mut call = Call {
            id: callid.clone(),
            dialog: Some(dialog.clone()),
            direction: Direction::Inbound,
            number,
            name,
            ext: Some(me.clone()),
            did: to_user.filter(|u| *u != me),
            state: "ringing",
            start_unix: util::unix_now(),
            answered: None,
            local_hold: false,
            remote_hold: false,
            local: sdp::Local {
                addr: local_ip,
                port: rtp.port,
                session_id: util::random_u32() as u64,
                version: 1,
                codecs: cfg.as_ref().map(|c| c.codecs.clone()).unwrap_or_else(|| sdp::Codec::ALL.to_vec()),
                keys: crate::media::srtp::Keys::random(),
                require_srtp: cfg
                    .as_ref()
                    .zip(self.account.as_ref().and_then(|a| a.target.as_ref()))
                    .is_some_and(|(c, t)| c.srtp.required(t.transport)),
            },
            rtp,
            remote: remote.as_ref().ok().cloned(),
            auto_answer_at: None,
            auto_answer_pending: false,
            ringing_published: true,
            transferred_to: None,
            consultation: None,
            referred_from: None,
            quality: None,
            qualities: Vec::new(),
            encrypted: false,
            conference: None,
            muted: false,
            emergency: None,
            result: None,
            reason: None,
        };
        let refuse = match (&cfg, &remote) {
            (_, Err(e)) if !req.body.is_empty() => {
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, e.to_string()))
            }
            (_, Ok(r)) if sdp::secure(&call.local, r).is_err() => {
                let why = sdp::secure(&call.local, r).err().map(|e| e.to_string()).unwrap_or_default();
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, why))
            }
            (_, Ok(r)) if sdp::common(&call.local, r).is_empty() => {
                let offered: Vec<&str> = r.codecs.iter().map(|f| f.codec.id()).collect();
                let why = format!("no codec in common (offered {})", offered.join(" "));
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, why))
            }
            (Some(c), _) if c.dnd => {
                Some((StatusCode::BusyHere, CallResult::Rejected, "do not disturb".into()))
            }
            (Some(c), _) if busy && !c.call_waiting => {
                Some((StatusCode::BusyHere, CallResult::Busy, "call waiting is off".into()))
            }
            _ => None,
        };
        if let Some((code, result, why)) = refuse {
            let _ = dialog.reject(Some(code), Some(why.clone()));
            call.result = Some(result);
            call.reason = Some(why);
            call.state = "ended";
            self.calls.insert(callid.clone(), call);
            self.finish(&callid, Some(result));
            return;
        }
        let _ = dialog.ringing(None, None);
        if let Some(c) = &cfg
            && c.auto_answer
        {
            if self.calls.values().any(|c| c.connected()) {
                call.auto_answer_pending = true;
            } else {
                call.auto_answer_at =
                    Some(Instant::now() + Duration::from_secs(c.auto_answer_seconds as u64));
            }
        }
        let event = call.event();
        self.calls.insert(callid, call);
        self.pending.push(later(contract::TOPIC_INCOMING, &event));
        self.pending.push(later(contract::TOPIC_RINGING, &event));
        self.pending.push(call_alert(&event, false));
    }

    async fn dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => {
                let Some(call) = self.calls.get_mut(&id.call_id) else { return };
                if call.direction == Direction::Outbound && !call.ringing_published {
                    call.ringing_published = true;
                    call.state = "ringing";
                    match sdp::parse(&resp.body) {
                        // Early media: the far end plays its own ringback.
                        Ok(remote) => {
                            call.remote = Some(remote.clone());
                            let _ = start_media(call, &remote);
                        }
                        Err(_) => {
                            let tone = self.config.as_ref().map(|c| c.ringback.clone()).unwrap_or_default();
                            call.rtp.send(RtpCmd::Ringback(Some(tone)));
                        }
                    }
                    let event = call.event();
                    self.pending.push(later(contract::TOPIC_RINGING, &event));
                }
            }
            DialogState::Confirmed(id, resp) => {
                let Some(call) = self.calls.get_mut(&id.call_id) else { return };
                if call.direction == Direction::Inbound && call.answered.is_some() && call.remote.is_none() {
                    // Delayed offer: the answer to our offer is in the ACK.
                    let ack = call.dialog.as_ref().and_then(|d| d.last_remote_ack());
                    match ack.map(|a| sdp::parse(&a.body)) {
                        Some(Ok(remote)) => {
                            if let Err(e) = call.apply_remote(&remote) {
                                call.reason = Some(e);
                                hang_up_now(call);
                            }
                        }
                        Some(Err(e)) => {
                            call.reason = Some(format!("the caller's answer is unusable: {e}"));
                            if let Some(d) = call.dialog.clone() {
                                tokio::spawn(async move {
                                    let _ = tokio::time::timeout(Duration::from_secs(5), d.bye()).await;
                                });
                            }
                        }
                        None => {}
                    }
                    return;
                }
                if call.direction == Direction::Outbound && call.answered.is_none() {
                    call.answered = Some(Instant::now());
                    call.state = "connected";
                    call.rtp.send(RtpCmd::Ringback(None));
                    if let Ok(remote) = sdp::parse(&resp.body)
                        && let Err(e) = call.apply_remote(&remote)
                    {
                        // Connected, but not as required (e.g. no encryption): end it.
                        self.notice = Some(format!("call to {} ended: {e}", call.number));
                        call.reason = Some(e);
                        hang_up_now(call);
                    }
                    let event = call.event();
                    self.pending.push(later(contract::TOPIC_ANSWERED, &event));
                    if let Some(original) = call.referred_from.clone() {
                        self.notify_referrer(&original, 200, "OK", true);
                        if let Some(o) = self.calls.get_mut(&original) {
                            o.state = "transferred";
                            let event = o.event();
                            self.pending.push(later(contract::TOPIC_TRANSFERRED, &event));
                        }
                    }
                }
            }
            DialogState::Updated(id, req, handle) => {
                // A re-INVITE (or UPDATE) from the far end: hold, resume, new address.
                let Some(call) = self.calls.get_mut(&id.call_id) else {
                    let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
                    return;
                };
                match sdp::parse(&req.body) {
                    Ok(remote) => {
                        call.local.version += 1;
                        let Ok(body) =
                            sdp::answer(&call.local, &remote, remote.dir.answer_to(call.local_hold))
                        else {
                            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                            return;
                        };
                        let _ = call.apply_remote(&remote);
                        let _ = handle
                            .respond(
                                StatusCode::OK,
                                Some(vec![Header::ContentType("application/sdp".into())]),
                                Some(body.into_bytes()),
                            )
                            .await;
                    }
                    Err(_) if req.body.is_empty() => {
                        call.local.version += 1;
                        let body = sdp::offer(
                            &call.local,
                            if call.local_hold { MediaDir::SendOnly } else { MediaDir::SendRecv },
                        );
                        let _ = handle
                            .respond(
                                StatusCode::OK,
                                Some(vec![Header::ContentType("application/sdp".into())]),
                                Some(body.into_bytes()),
                            )
                            .await;
                    }
                    Err(_) => {
                        let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                    }
                }
            }
            DialogState::Info(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                let body = String::from_utf8_lossy(&req.body);
                // application/dtmf-relay ("Signal=5") or application/dtmf ("5").
                let key = body
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("Signal=").map(|s| s.trim().to_string()))
                    .or_else(|| Some(body.trim().to_string()).filter(|s| s.chars().count() == 1));
                if let Some(k) = key.and_then(|k| k.chars().next()) {
                    self.pending.push(later(
                        contract::TOPIC_DTMF,
                        &DtmfEvent { callid: id.call_id.clone(), digits: k.to_string() },
                    ));
                }
            }
            DialogState::Notify(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                let Some(ReferProgress { code, reason, terminated }) = refer_progress(&req) else { return };
                let Some(call) = self.calls.get_mut(&id.call_id) else { return };
                if code / 100 == 2 {
                    // The transfer target answered: our part of the call is done.
                    call.state = "transferred";
                    let event = call.event();
                    self.pending.push(later(contract::TOPIC_TRANSFERRED, &event));
                    // The consultation call ends too: a target that honoured Replaces
                    // has hung it up already; one that did not would leave it dangling.
                    let consultation = call.consultation.take();
                    let ours = consultation
                        .iter()
                        .filter_map(|c| self.calls.get(c))
                        .chain(self.calls.get(&id.call_id));
                    for d in ours.filter(|c| c.connected()).filter_map(|c| c.dialog.clone()) {
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(Duration::from_secs(5), d.bye()).await;
                        });
                    }
                } else if code >= 300 && terminated {
                    call.state = "connected";
                    call.consultation = None;
                    call.transferred_to = None;
                    self.notice = Some(format!("transfer failed: {code} {reason}"));
                }
            }
            DialogState::Refer(id, req, handle) => self.referred(&id.call_id, &req, handle).await,
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
            }
            DialogState::Terminated(id, reason) => {
                if let Some(a) = &self.account {
                    a.dialogs.remove_dialog(&id);
                }
                let Some(call) = self.calls.get(&id.call_id) else { return };
                let result =
                    call.result.unwrap_or(match (call.direction, call.answered.is_some(), &reason) {
                        (_, true, _) => CallResult::Answered,
                        (Direction::Inbound, false, TerminatedReason::UacCancel) => CallResult::Missed,
                        (Direction::Inbound, false, TerminatedReason::Timeout) => CallResult::Missed,
                        (Direction::Inbound, false, _) => CallResult::Rejected,
                        (Direction::Outbound, false, TerminatedReason::UasBusy) => CallResult::Busy,
                        (Direction::Outbound, false, TerminatedReason::UasDecline) => CallResult::Rejected,
                        (Direction::Outbound, false, TerminatedReason::UacCancel) => CallResult::Cancelled,
                        (Direction::Outbound, false, _) => CallResult::Failed,
                    });
                if call.reason.is_none()
                    && let Some(c) = self.calls.get_mut(&id.call_id)
                {
                    c.reason = Some(format!("{reason:?}"));
                }
                self.finish(&id.call_id, Some(result));
            }
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(..) => {}
        }
    }

    /// The far end transfers us (RFC 3515): accept, call the Refer-To target (with its
    /// Replaces for an attended transfer) and report progress to the referrer, who
    /// hangs up the original call once the new one is answered.
    async fn referred(
        &mut self,
        callid: &str,
        req: &rsip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        if !self.calls.get(callid).is_some_and(|c| c.connected()) {
            let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            return;
        }
        let Some(target) = header_value(req, "Refer-To").and_then(|v| ReferTarget::parse(&v)) else {
            let _ = handle.reply(StatusCode::BadRequest).await;
            return;
        };
        let _ = handle.reply(StatusCode::Accepted).await;
        self.notify_referrer(callid, 100, "Trying", false);
        let mut headers = Vec::new();
        if let Some(by) = header_value(req, "Referred-By").or_else(|| header_value(req, "From")) {
            let by = by.split(";tag=").next().unwrap_or_default().trim().to_string();
            headers.push(Header::Other("Referred-By".into(), by));
        }
        if let Some(replaces) = &target.replaces {
            headers.push(Header::Other("Replaces".into(), replaces.clone()));
        }
        let opts = DialOptions { headers, referred_from: Some(callid.to_string()), ..Default::default() };
        match self.dial(&target.uri, opts).await {
            Ok(_) => {
                if let Some(c) = self.calls.get_mut(callid) {
                    c.transferred_to = Some(target.uri.clone());
                }
            }
            Err(e) => {
                self.notice = Some(format!("transfer to {} failed: {e}", target.uri));
                self.notify_referrer(callid, 503, "Service Unavailable", true);
            }
        }
    }

    /// Tells a referrer how its transfer goes: a NOTIFY with a message/sipfrag status
    /// line on the original call's dialog (`done`: the subscription ends with it).
    fn notify_referrer(&self, callid: &str, code: u16, reason: &str, done: bool) {
        let Some(dialog) = self.calls.get(callid).and_then(|c| c.dialog.clone()) else { return };
        let state = if done { "terminated;reason=noresource" } else { "active;expires=60" };
        let headers = vec![
            Header::Event("refer".into()),
            Header::SubscriptionState(state.into()),
            Header::ContentType("message/sipfrag;version=2.0".into()),
        ];
        let body = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), dialog.notify(Some(headers), Some(body))).await;
        });
    }

    fn invite_done(&mut self, id: &str, status: Option<u16>, error: Option<String>) {
        let Some(call) = self.calls.get_mut(id) else { return };
        match (status, error) {
            (Some(code), _) if code / 100 == 2 => {}
            (Some(code), _) => {
                call.reason = Some(format!("{code}"));
                let result = match code {
                    486 | 600 => CallResult::Busy,
                    603 => CallResult::Rejected,
                    487 => CallResult::Cancelled,
                    _ => CallResult::Failed,
                };
                if call.result.is_none() {
                    call.result = Some(result);
                }
                self.finish(id, None);
            }
            (None, Some(e)) => {
                call.reason = Some(e);
                if call.result.is_none() {
                    call.result = Some(CallResult::Failed);
                }
                self.finish(id, None);
            }
            (None, None) => {}
        }
    }

    /// Ends a call once: `call.ended`, history, auto answer for a waiting call.
    fn finish(&mut self, id: &str, result: Option<CallResult>) {
        let Some(mut call) = self.calls.remove(id) else { return };
        // Leaving a conference: the other call goes back to a plain call on its own devices.
        if let Some((other, bridge)) = call.conference.take() {
            bridge.leave(id);
            if let Some(o) = self.calls.get_mut(&other) {
                o.conference = None;
                o.rtp.send(RtpCmd::LeaveConference);
            }
        }
        call.result = call.result.or(result).or(Some(CallResult::Failed));
        call.state = "ended";
        if let (Some(original), None) = (&call.referred_from, call.answered) {
            let code = call.reason.as_deref().and_then(|r| r.parse::<u16>().ok()).unwrap_or(500);
            let reason = call.result.map(|r| r.as_str()).unwrap_or("failed");
            self.notify_referrer(original, code, reason, true);
            if let Some(o) = self.calls.get_mut(original) {
                o.transferred_to = None;
            }
        }
        let event = call.event();
        self.pending.push(later(contract::TOPIC_ENDED, &event));
        if event.direction == Direction::Inbound {
            self.pending.push(call_alert(&event, true));
        }
        if let Some(h) = &self.history {
            let entry = HistoryEntry {
                callid: call.id.clone(),
                direction: call.direction,
                number: call.number.clone(),
                name: call.name.clone(),
                start: call.start_unix,
                duration: event.duration,
                result: call.result.unwrap_or(CallResult::Failed),
            };
            if let Err(e) = h.record(&entry) {
                self.ctx.warn(&format!("{e}"));
            }
            let logging = self.config.as_ref().is_some_and(|c| c.quality_log);
            if logging && !call.qualities.is_empty() {
                if let Err(e) = h.log_quality(&call.id, &call.number, call.start_unix, &call.qualities) {
                    self.ctx.warn(&format!("{e}"));
                }
            }
        }
        // Auto answer waited for the active call to end (manual: Auto Answer).
        if !self.calls.values().any(|c| c.connected())
            && let Some(secs) = self.config.as_ref().filter(|c| c.auto_answer).map(|c| c.auto_answer_seconds)
        {
            for c in self.calls.values_mut().filter(|c| c.auto_answer_pending) {
                c.auto_answer_pending = false;
                c.auto_answer_at = Some(Instant::now() + Duration::from_secs(secs as u64));
                break;
            }
        }
    }

    async fn tick(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .calls
            .values()
            .filter(|c| c.auto_answer_at.is_some_and(|at| at <= now))
            .map(|c| c.id.clone())
            .collect();
        for id in due {
            if self.calls.values().any(|c| c.connected()) {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.auto_answer_at = None;
                    c.auto_answer_pending = true;
                }
                continue;
            }
            if let Err(e) = self.answer(&id).await {
                self.ctx.warn(&format!("auto answer of {id}: {e}"));
            }
        }
    }
}

/// Points the call's stream at the far end's media; Err when the far end's session
/// cannot be used as it is (encryption refused or unusable): no media flows then.
fn start_media(call: &mut Call, remote: &sdp::Remote) -> Result<(), String> {
    let secure = sdp::secure(&call.local, remote).map_err(|e| e.to_string())?;
    call.encrypted = secure;
    let format = sdp::common(&call.local, remote).first().copied();
    let (Some(ip), Some(format)) = (remote.addr, format) else { return Ok(()) };
    if remote.port == 0 {
        return Ok(());
    }
    let srtp = match (&remote.crypto, secure) {
        (Some((_, theirs)), true) => Some((call.local.keys.clone(), theirs.clone())),
        _ => None,
    };
    call.rtp.send(RtpCmd::Remote {
        addr: SocketAddr::new(ip, remote.port),
        format,
        event_pt: remote.telephone_event,
        srtp,
    });
    call.rtp.send(RtpCmd::Sending(
        !call.local_hold && !matches!(remote.dir, MediaDir::SendOnly | MediaDir::Inactive),
    ));
    Ok(())
}

/// Sends a BYE for a connected call without waiting for it.
fn hang_up_now(call: &Call) {
    if let Some(d) = call.dialog.clone() {
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), d.bye()).await;
        });
    }
}

fn forward_media(
    callid: String,
    mut rx: mpsc::UnboundedReceiver<MediaEvent>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let msg = match event {
                MediaEvent::Digit(digit) => Msg::Digit { callid: callid.clone(), digit },
                MediaEvent::Quality(q) => Msg::Quality(q),
                MediaEvent::Device(message) => Msg::MediaNotice { callid: callid.clone(), message },
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

fn no_call(id: &str) -> String {
    format!("no call {id}")
}

/// The local address the OS would use to reach `to` (no packet is sent).
fn route_to(to: SocketAddr) -> std::io::Result<IpAddr> {
    let any = if to.is_ipv4() {
        SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let s = std::net::UdpSocket::bind(any)?;
    s.connect(to)?;
    Ok(s.local_addr()?.ip())
}

fn sip_addr(t: &Target) -> SipAddr {
    let transport = match t.transport {
        Transport::Udp => rsip::Transport::Udp,
        Transport::Tcp => rsip::Transport::Tcp,
        Transport::Tls => rsip::Transport::Tls,
    };
    let mut a = SipAddr::from(t.addr);
    a.r#type = Some(transport);
    a
}

fn registrar_uri(domain: &str, t: &Target) -> rsip::Uri {
    let text = match t.transport {
        Transport::Udp => format!("sip:{domain}"),
        other => format!("sip:{domain};transport={}", other.as_str()),
    };
    rsip::Uri::try_from(text.as_str())
        .unwrap_or_else(|_| rsip::Uri::try_from("sip:invalid").expect("static URI"))
}

/// The system's trust anchors plus the account's extra CA: verification is always on.
fn tls_config(cfg: &Config, first: &Target) -> Result<rsipstack::transport::tls::TlsConfig, String> {
    let mut pem = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    if !cfg.tls_ca_file.is_empty() {
        let extra = std::fs::read(&cfg.tls_ca_file)
            .map_err(|e| format!("cannot read the CA file {}: {e}", cfg.tls_ca_file))?;
        pem.push(b'\n');
        pem.extend(extra);
    }
    Ok(rsipstack::transport::tls::TlsConfig {
        ca_certs: Some(pem),
        sni_hostname: first.host.parse::<IpAddr>().is_err().then(|| first.host.clone()),
        ..Default::default()
    })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` escapes back to bytes; None when an escape is broken or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn header_value(req: &rsip::Request, name: &str) -> Option<String> {
    req.headers.iter().find(|h| h.name().eq_ignore_ascii_case(name)).map(|h| h.value().to_string())
}

/// Progress of a transfer, from a NOTIFY of the REFER's implicit subscription (RFC 3515
/// §2.4.4: a message/sipfrag status line). rsipstack's `ReferStatus::parse` only sees
/// untyped headers, but its parser types `Event` and `Subscription-State`, so a NOTIFY
/// off the wire never matched it; this reads the headers by name.
struct ReferProgress {
    code: u16,
    reason: String,
    terminated: bool,
}

fn refer_progress(req: &rsip::Request) -> Option<ReferProgress> {
    let event = header_value(req, "Event")?;
    if !event.trim().to_ascii_lowercase().starts_with("refer") {
        return None;
    }
    let terminated = header_value(req, "Subscription-State")
        .is_some_and(|s| s.trim().to_ascii_lowercase().starts_with("terminated"));
    let body = std::str::from_utf8(&req.body).ok()?;
    let line = body.lines().find(|l| l.starts_with("SIP/2.0 "))?;
    let mut parts = line.splitn(3, ' ').skip(1);
    let code = parts.next()?.parse::<u16>().ok().filter(|c| (100..700).contains(c))?;
    Some(ReferProgress { code, reason: parts.next().unwrap_or_default().trim().to_string(), terminated })
}

/// The user part of the first URI in a header value (`"Bob" <sip:100@host>;tag=x`).
fn uri_user(v: &str) -> Option<String> {
    let start = v.find("sip:").or_else(|| v.find("sips:")).or_else(|| v.find("tel:"))?;
    let rest = &v[start..];
    let rest = rest.split_once(':')?.1;
    let end = rest.find(['@', '>', ';']).unwrap_or(rest.len());
    Some(rest[..end].to_string()).filter(|s| !s.is_empty())
}

/// Caller number and name: P-Asserted-Identity when a trusted proxy set it, else From.
fn caller_of(req: &rsip::Request) -> (String, Option<String>) {
    let from =
        header_value(req, "P-Asserted-Identity").or_else(|| header_value(req, "From")).unwrap_or_default();
    let number = uri_user(&from).unwrap_or_else(|| "anonymous".into());
    let name = from
        .split_once('<')
        .map(|(n, _)| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty());
    (number, name)
}

/// Routes incoming requests: in-dialog ones to their dialog, new INVITEs to the core.
async fn serve_incoming(
    mut incoming: rsipstack::transaction::TransactionReceiver,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    contact: rsip::Uri,
    core: mpsc::UnboundedSender<Msg>,
) {
    use rsipstack::sip::prelude::HeadersExt;
    while let Some(mut tx) = incoming.recv().await {
        let has_tag = tx.original.to_header().ok().and_then(|t| t.tag().ok().flatten()).is_some();
        if has_tag {
            match dialogs.match_dialog(&tx) {
                Some(mut d) => {
                    tokio::spawn(async move {
                        let _ = d.handle(&mut tx).await;
                    });
                }
                None => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
            }
            continue;
        }
        match tx.original.method {
            rsip::Method::Invite => {
                match dialogs.get_or_create_server_invite(&tx, state_tx.clone(), None, Some(contact.clone()))
                {
                    Ok(dialog) => {
                        let mut d = dialog.clone();
                        let _ = core.send(Msg::Incoming(dialog));
                        tokio::spawn(async move {
                            let _ = d.handle(&mut tx).await;
                        });
                    }
                    Err(_) => {
                        let _ = tx.reply(StatusCode::BadRequest).await;
                    }
                }
            }
            rsip::Method::Options => {
                let _ = tx.reply(StatusCode::OK).await;
            }
            rsip::Method::Ack => {}
            _ => {
                let _ = tx.reply(StatusCode::MethodNotAllowed).await;
            }
        }
    }
}

struct RegisterJob {
    endpoint: EndpointInnerRef,
    credential: Credential,
    domain: String,
    targets: Vec<Target>,
    interval: u32,
    /// An OPTIONS to the registrar this often; no answer → re-register or fail over.
    keep_alive: Option<Duration>,
    token: CancellationToken,
    tx: mpsc::UnboundedSender<Msg>,
    generation: u64,
}

/// Registers to the first target that accepts, keeps the registration fresh, and fails
/// over down the list when the current one stops answering. Wrong credentials stop the
/// loop (no retry storm) until the account changes.
async fn register_loop(job: RegisterJob) {
    let mut failures: u32 = 0;
    let mut index = 0usize;
    let send = |m: Msg| {
        let _ = job.tx.send(m);
    };
    'outer: loop {
        let target = job.targets[index % job.targets.len()].clone();
        let mut reg = Registration::new(job.endpoint.clone(), Some(job.credential.clone()));
        reg.outbound_proxy = Some(target.addr);
        let uri = registrar_uri(&job.domain, &target);
        loop {
            let attempt = tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(8), reg.register(uri.clone(), Some(job.interval))) => r,
                _ = job.token.cancelled() => return,
            };
            let outcome = match attempt {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer from {}", target.addr)),
            };
            match outcome {
                Ok(resp) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    failures = 0;
                    send(Msg::Registered { target: target.clone(), generation: job.generation });
                    let refresh = rsipstack::dialog::registration::refresh_interval(reg.expires().max(30));
                    let deadline = tokio::time::Instant::now() + refresh;
                    // Between refreshes, check the registrar is alive so a restart or
                    // an outage is noticed in seconds, not at the next refresh.
                    loop {
                        let wake = match job.keep_alive {
                            Some(every) => (tokio::time::Instant::now() + every).min(deadline),
                            None => deadline,
                        };
                        tokio::select! {
                            _ = tokio::time::sleep_until(wake) => {}
                            _ = job.token.cancelled() => return,
                        }
                        if tokio::time::Instant::now() >= deadline {
                            break;
                        }
                        if !options_ping(&job.endpoint, &uri, &target).await {
                            send(Msg::RegFailed {
                                state: RegistrationState::Registering,
                                reason: format!("{} stopped answering", target.addr),
                                target: Some(target.clone()),
                                generation: job.generation,
                            });
                            // Fail over at once: the next target (the same one when
                            // there is only one, e.g. a restarted registrar).
                            index += 1;
                            continue 'outer;
                        }
                    }
                    continue;
                }
                Ok(resp) => {
                    let code = u16::from(resp.status_code.clone());
                    if matches!(code, 401 | 403 | 407) {
                        send(Msg::RegFailed {
                            state: RegistrationState::AuthFailed,
                            reason: format!("wrong user or password ({code} {})", resp.status_code),
                            target: Some(target.clone()),
                            generation: job.generation,
                        });
                        return;
                    }
                    failures += 1;
                    send(Msg::RegFailed {
                        state: RegistrationState::Failed,
                        reason: format!("{} answered {code} {}", target.addr, resp.status_code),
                        target: Some(target.clone()),
                        generation: job.generation,
                    });
                }
                Err(why) => {
                    failures += 1;
                    send(Msg::RegFailed {
                        state: RegistrationState::Failed,
                        reason: why,
                        target: Some(target.clone()),
                        generation: job.generation,
                    });
                }
            }
            // Fail over to the next target at once; after a full round, back off.
            index += 1;
            if index % job.targets.len() == 0 {
                let backoff = Duration::from_secs(2u64.saturating_pow(failures.min(8))).min(MAX_BACKOFF);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = job.token.cancelled() => return,
                }
            }
            continue 'outer;
        }
    }
}

/// An OPTIONS to the registrar; true when anything answers.
async fn options_ping(endpoint: &EndpointInnerRef, uri: &rsip::Uri, target: &Target) -> bool {
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    use rsipstack::transaction::transaction::Transaction;
    let Ok(via) = endpoint.get_via(None, None) else { return false };
    let from = rsip::typed::From { display_name: None, uri: uri.clone(), params: vec![] }
        .with_tag(util::random_token(10).into());
    let to = rsip::typed::To { display_name: None, uri: uri.clone(), params: vec![] };
    // make_request gives it a Call-ID already: a second one makes the request malformed,
    // and Kamailio drops it unanswered (every ping then looked like an outage).
    let req = endpoint.make_request(rsip::Method::Options, uri.clone(), via, from, to, 1, None);
    let Ok(key) = TransactionKey::from_request(&req, TransactionRole::Client) else { return false };
    let mut tx = Transaction::new_client(key, req, endpoint.clone(), None);
    tx.destination = Some(sip_addr(target));
    if tx.send().await.is_err() {
        return false;
    }
    matches!(
        tokio::time::timeout(Duration::from_secs(4), tx.receive()).await,
        Ok(Some(rsipstack::sip::SipMessage::Response(_)))
    )
}

/// Everything the phone reads from a SIP message off the wire, in the order the stack
/// and the engine read it: parse, the transaction key and dialog headers the transport
/// and dialog layers look at, then the engine's own readers (caller, callee, transfer
/// progress, SDP). It must never panic on any input; the fuzz target
/// (`plugins/softphone/fuzz`) and a seeded mutation test hold it to that. Returns a
/// summary so the work cannot be optimised away.
#[doc(hidden)]
pub fn read_sip_message(data: &[u8]) -> Option<String> {
    use rsipstack::sip::prelude::HeadersExt;
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    let msg = rsip::SipMessage::try_from(data).ok()?;
    match msg {
        rsip::SipMessage::Request(req) => {
            let key = TransactionKey::from_request(&req, TransactionRole::Server).ok();
            let tag = req.to_header().ok().and_then(|t| t.tag().ok().flatten());
            let cseq = req.cseq_header().ok().and_then(|c| c.seq().ok());
            let via = req.via_header().ok().map(|v| v.value().to_string());
            let (number, name) = caller_of(&req);
            let callee = header_value(&req, "To").and_then(|v| uri_user(&v));
            let progress = refer_progress(&req).map(|p| (p.code, p.terminated));
            let refer = header_value(&req, "Refer-To").and_then(|v| ReferTarget::parse(&v));
            let offer = sdp::parse(&req.body).ok().map(|r| r.port);
            Some(format!(
                "{} {key:?} {tag:?} {cseq:?} {via:?} {number} {name:?} {callee:?} {progress:?} {refer:?} {offer:?}",
                req.method
            ))
        }
        rsip::SipMessage::Response(resp) => {
            let answer = sdp::parse(&resp.body).ok().map(|r| r.port);
            Some(format!("{} {answer:?}", resp.status_code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK776asdhds;rport\r\n\
        Max-Forwards: 70\r\n\
        To: \"Alice\" <sip:alice@127.0.0.1>\r\n\
        From: \"Bob B\" <sip:bob@127.0.0.1>;tag=1928301774\r\n\
        P-Asserted-Identity: <sip:+15551234@127.0.0.1>\r\n\
        Call-ID: a84b4c76e66710@pc33\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:bob@127.0.0.1:5080>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 142\r\n\r\n\
        v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

    const NOTIFY: &str = "NOTIFY sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1\r\n\
        To: <sip:alice@127.0.0.1>;tag=abc\r\n\
        From: <sip:bob@127.0.0.1>;tag=def\r\n\
        Call-ID: x@y\r\nCSeq: 2 NOTIFY\r\n\
        Event: refer;id=3\r\n\
        Subscription-State: terminated;reason=noresource\r\n\
        Content-Type: message/sipfrag\r\nContent-Length: 15\r\n\r\n\
        SIP/2.0 200 OK\r\n";

    #[test]
    fn reads_caller_offer_and_transfer_progress() {
        let invite = read_sip_message(INVITE.as_bytes()).unwrap();
        assert!(invite.contains("+15551234"), "P-Asserted-Identity wins over From: {invite}");
        assert!(invite.contains("Some(\"alice\")") && invite.contains("Some(4000)"), "{invite}");
        let notify = read_sip_message(NOTIFY.as_bytes()).unwrap();
        assert!(notify.contains("Some((200, true))"), "{notify}");
        assert_eq!(read_sip_message(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn refer_to_round_trips_replaces() {
        let replaces = "abc@host;to-tag=x y;from-tag=z";
        let ours = format!("<sip:carol@pbx:5070?Replaces={}>", percent_encode(replaces));
        let t = ReferTarget::parse(&ours).unwrap();
        assert_eq!(t, ReferTarget { uri: "sip:carol@pbx:5070".into(), replaces: Some(replaces.into()) });
        assert_eq!(ReferTarget::parse("sip:bob@pbx;method=INVITE").unwrap().uri, "sip:bob@pbx");
        assert_eq!(ReferTarget::parse("<tel:+1555>"), None, "only SIP targets");
        assert_eq!(ReferTarget::parse("<sip:>"), None);
        assert_eq!(ReferTarget::parse("<sip:bob@pbx"), None, "unclosed bracket");
        assert_eq!(ReferTarget::parse("<sip:a@b?Replaces=%zz>").unwrap().replaces, None);
        assert_eq!(percent_decode("%4"), None);
    }

    /// A seeded mutation run over real messages (the fuzz target's corpus seeds):
    /// flipped bytes, truncations, duplicated and spliced spans. Nothing may panic.
    #[test]
    fn mutated_messages_never_panic() {
        let seeds = [INVITE.as_bytes(), NOTIFY.as_bytes()];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let mut m = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % m.len().max(1);
                match next() % 5 {
                    0 => {
                        let i = at.min(m.len() - 1);
                        m[i] = next() as u8;
                    }
                    1 => m.truncate(at),
                    2 => {
                        let end = (at + (next() % 32) as usize).min(m.len());
                        let span = m[at..end].to_vec();
                        m.splice(at..at, span);
                    }
                    3 => m.insert(at, [b':', b';', b'<', b'>', b'\r', b'\n', b' ', 0][next() as usize % 8]),
                    _ => {
                        let other = seeds[next() as usize % seeds.len()];
                        let from = next() as usize % other.len();
                        m.extend_from_slice(&other[from..]);
                    }
                }
                if m.is_empty() {
                    break;
                }
            }
            let _ = read_sip_message(&m);
        }
    }
}
