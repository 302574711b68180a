//! The SMS engine: one task that owns the module's XMPP stream (its own resource on
//! the user's account), the gateway's state and the store. Requests, stream events,
//! connection reports and the tick arrive as [`Msg`]s; the views read a [`Snapshot`]
//! refreshed after each change.
//!
//! Delivery: a message is stored (`sending`) and put in the outbox before anything goes
//! on the wire. It leaves the outbox on the gateway's receipt (`sent`) or a refusal
//! (`failed`, with the gateway's words). A bounce that says "wait" (the gateway is not
//! connected to the server) keeps it there; it goes again, with the same id, once the
//! gateway answers, and the gateway hands each (sender, id) to the carrier once.
//!
//! Split by concept, each file an `impl Core` block: `session` (login, the gateway,
//! the registration), `outbox` (sending, states), `inbound` (live, carbons, archive),
//! `sync` (the archive catch-up), `dispatch` (requests).

mod dispatch;
pub(crate) mod error;
mod files;
mod inbound;
mod outbox;
mod session;
mod sync;

use crate::config::{Config, Prefs};
use crate::stanzas::Registration;
use crate::store::Store;
use error::SmsError;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio_xmpp::Stanza;
use tokio_xmpp::stanzastream::{Event as StreamEvent, StanzaStream};
use ucdesk_sdk::contract::sms::{self as contract, Conversation, Message, State, Status};
use ucdesk_sdk::engine::{EngineSpec, Mailbox, Reply};
use ucdesk_sdk::prelude::*;
use ucdesk_xmpp::connection::{Account, Status as LinkStatus};
use ucdesk_xmpp::event_loop;

/// Requests may wait on the gateway (a number to resolve).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How stale the views' snapshot may get while events stream in (a sync page).
const REFRESH_EVERY: Duration = Duration::from_millis(30);
/// How often a gateway that is not answering is asked again.
const GATEWAY_RETRY: Duration = Duration::from_secs(3);
/// A message the gateway neither confirmed nor refused in this long goes again (same
/// id: the gateway hands it to the carrier once). A gateway that crashed after taking
/// it, or a receipt lost on the way, would otherwise leave it `sending` for good.
const RESEND_AFTER: Duration = Duration::from_secs(30);

pub enum Request {
    Status,
    Send(contract::Send),
    Conversations,
    History(contract::HistoryQuery),
    Search(contract::SearchQuery),
    Delete(String),
    DeleteConversation(String),
    MarkRead(Option<String>),
    Export(contract::Export),
    Download(String),
    /// Shows a conversation in the SMS window.
    Open(Option<String>),
}

pub type Engine = ucdesk_sdk::engine::Engine<Msg>;

pub enum Msg {
    Request(Request, Reply<Value>),
    Reconfigure(Config),
    Link(u64, LinkStatus),
    Tick,
    Shutdown(Reply<()>),
    /// The user's own presence changed (chat publishes it): do not disturb silences alerts.
    Presence(ucdesk_sdk::contract::presence::Status),
    /// An MMS's files prepared (or refused) on the blocking pool.
    Prepared {
        number: String,
        send: contract::Send,
        result: Result<Vec<crate::media::Prepared>, crate::media::MediaError>,
        reply: Reply<Value>,
    },
    Uploaded {
        number: String,
        id: String,
        result: Result<String, String>,
    },
    Downloaded {
        number: String,
        id: String,
        result: Result<std::path::PathBuf, String>,
        /// The automatic fetch (with the 500 KB limit), not a click.
        limited: bool,
    },
}

/// What the views show.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: Status,
    pub conversations: Vec<Conversation>,
    pub open: Option<String>,
    pub open_messages: Vec<Message>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            status: initial_status(),
            conversations: Vec::new(),
            open: None,
            open_messages: Vec::new(),
        }
    }
}

fn initial_status() -> Status {
    Status {
        state: State::NotConfigured,
        number: None,
        shared_with: Vec::new(),
        gateway: None,
        reason: None,
        outbox: 0,
        unread: 0,
    }
}

pub fn start(
    ctx: &Context,
    store: Option<Store>,
    show: impl Fn(Snapshot) + Send + Sync + 'static,
) -> std::io::Result<Engine> {
    let core_ctx = ctx.clone();
    let spec = EngineSpec::new("sms-xmpp")
        .workers(1)
        .tick(Duration::from_secs(1), || Msg::Tick)
        .stop(Msg::Shutdown)
        .ask_timeout(REQUEST_TIMEOUT);
    Engine::start(ctx, spec, move |mailbox: Mailbox<Msg>| {
        let core = Core {
            ctx: core_ctx,
            tx: mailbox.sender(),
            store,
            account: None,
            prefs: Prefs::default(),
            generation: 0,
            stream: None,
            retry: Arc::new(Notify::new()),
            link: (State::NotConfigured, None),
            online: false,
            gateway: None,
            gateway_up: false,
            registration: None,
            asked_gateway: None,
            iqs: HashMap::new(),
            upload_service: None,
            discovering: None,
            transfers: std::collections::HashSet::new(),
            pushed: HashMap::new(),
            sync: None,
            open: None,
            status: initial_status(),
            show: Box::new(show),
            dnd: false,
        };
        event_loop::run(core, mailbox, REFRESH_EVERY)
    })
}

/// What an answered iq was for.
enum PendingIq {
    Carbons,
    /// The server's components, then each one's identity (looking for the gateway).
    Components,
    Component(String),
    Registration,
    /// A typed number, to be resolved by the gateway, for a send waiting on it.
    Prompt(contract::Send, Reply<Value>),
    Mam,
    /// An upload slot for an MMS part of ours, asked for at `since`.
    Slot {
        number: String,
        id: String,
        since: Instant,
    },
}

struct Core {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    store: Option<Store>,
    account: Option<Account>,
    prefs: Prefs,
    generation: u64,
    stream: Option<StanzaStream>,
    retry: Arc<Notify>,
    /// The connection's own state and reason, before the gateway is considered.
    link: (State, Option<String>),
    online: bool,
    /// The gateway's domain, set or discovered this session.
    gateway: Option<String>,
    /// The gateway answered its registration this session (and bounced nothing since).
    gateway_up: bool,
    registration: Option<Registration>,
    /// When the gateway was last asked for the registration while it was not answering.
    asked_gateway: Option<Instant>,
    iqs: HashMap<String, PendingIq>,
    /// The server's upload service (XEP-0363), found with the gateway.
    upload_service: Option<String>,
    /// The components' discovery under way: answers still due, since when. Uploads
    /// wait for it rather than fail for want of an upload service.
    discovering: Option<(usize, Instant)>,
    /// Message ids with an upload or download under way.
    transfers: std::collections::HashSet<String>,
    /// Outbox ids on the wire this gateway session, and when they went: sent once, and
    /// again only when the gateway went away or did not answer within [`RESEND_AFTER`].
    pushed: HashMap<String, Instant>,
    sync: Option<sync::SyncRun>,
    open: Option<String>,
    /// The last status published.
    status: Status,
    show: Box<dyn Fn(Snapshot) + Send + Sync>,
    /// The user is in do not disturb.
    dnd: bool,
}

// The loop itself is shared with chat (ucdesk_xmpp::event_loop).
impl event_loop::Handler for Core {
    type Msg = Msg;

    fn stream(&mut self) -> Option<&mut StanzaStream> {
        self.stream.as_mut()
    }

    fn stop_reply(msg: Msg) -> Result<Reply<()>, Msg> {
        match msg {
            Msg::Shutdown(done) => Ok(done),
            other => Err(other),
        }
    }

    async fn disconnect(&mut self) {
        Core::disconnect(self).await
    }

    async fn on_msg(&mut self, msg: Msg) {
        self.handle(msg).await
    }

    async fn on_stream(&mut self, event: StreamEvent) {
        // The session's own handling (session.rs).
        Core::on_stream(self, event).await
    }

    fn on_stream_end(&mut self) {
        self.stream = None;
        self.online = false;
        self.link = (State::Offline, Some("the connection closed".into()));
    }

    fn refresh(&mut self) {
        Core::refresh(self)
    }
}

impl Core {
    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Request(req, reply) => {
                self.on_request(req, reply).await;
                self.refresh();
            }
            Msg::Reconfigure(config) => self.reconfigure(config).await,
            Msg::Link(generation, status) if generation == self.generation => self.on_link(status),
            // A stop never gets here: the loop takes it (Handler::stop_reply).
            Msg::Link(..) | Msg::Shutdown(_) => {}
            Msg::Tick => self.tick().await,
            Msg::Presence(status) => self.dnd = status == ucdesk_sdk::contract::presence::Status::Dnd,
            Msg::Prepared { number, send, result, reply } => {
                self.on_prepared(number, send, result, reply).await;
                self.refresh();
            }
            Msg::Uploaded { number, id, result } => self.on_uploaded(number, id, result).await,
            Msg::Downloaded { number, id, result, limited } => {
                self.on_downloaded(number, id, result, limited)
            }
        }
    }

    async fn tick(&mut self) {
        // A gateway that is down (or bounced a message) is asked again until it answers.
        let due = self.asked_gateway.is_none_or(|t| t.elapsed() >= GATEWAY_RETRY);
        if self.online && self.gateway.is_some() && !self.gateway_up && due {
            self.ask_registration().await;
        }
        let before = self.pushed.len();
        self.pushed.retain(|_, at| at.elapsed() < RESEND_AFTER);
        // A slot request the server never answered is asked again; a discovery that
        // stalls does not hold uploads up for good.
        let stale: Vec<String> = self
            .iqs
            .iter()
            .filter(|(_, p)| matches!(p, PendingIq::Slot { since, .. } if since.elapsed() >= RESEND_AFTER))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &stale {
            if let Some(PendingIq::Slot { id, .. }) = self.iqs.remove(k) {
                self.transfers.remove(&id);
            }
        }
        if self.discovering.is_some_and(|(_, since)| since.elapsed() >= GATEWAY_RETRY * 2) {
            self.discovering = None;
        }
        if self.pushed.len() < before || !stale.is_empty() {
            self.flush_outbox().await;
        }
    }

    async fn send(&mut self, stanza: impl Into<Stanza>) -> bool {
        match self.stream.as_ref() {
            Some(stream) => {
                stream.send(Box::new(stanza.into())).await;
                true
            }
            None => false,
        }
    }

    fn store(&self) -> Result<&Store, SmsError> {
        self.store
            .as_ref()
            .ok_or_else(|| SmsError::Failed("the SMS store could not be opened (see the log)".into()))
    }

    /// The module's state as the user sees it: the connection first, then the gateway.
    fn current_status(&self) -> Status {
        let (state, reason) = if !self.prefs.enabled {
            (State::Disabled, Some("SMS is turned off on this desktop (sms.enabled)".to_string()))
        } else if !self.online {
            self.link.clone()
        } else {
            match (&self.gateway, self.gateway_up, &self.registration) {
                (None, _, _) => {
                    (State::NoGateway, Some("the server has no SMS gateway (set sms.gateway)".into()))
                }
                (Some(g), false, _) => {
                    (State::NoGateway, Some(format!("the SMS gateway {g} is not answering")))
                }
                (Some(_), true, Some(r)) if r.number.is_some() => (State::Ready, None),
                (Some(_), true, _) => (State::NoNumber, Some("No SMS number assigned".into())),
            }
        };
        let registration = self.registration.clone().unwrap_or_default();
        let store = self.store.as_ref();
        Status {
            state,
            number: registration.number,
            shared_with: registration.shared_with,
            gateway: self.gateway.clone(),
            reason,
            outbox: store.and_then(|s| s.outbox().ok()).map(|o| o.len() as u32).unwrap_or(0),
            unread: store.and_then(|s| s.unread().ok()).unwrap_or(0),
        }
    }

    fn refresh(&mut self) {
        let status = self.current_status();
        if status != self.status {
            self.status = status.clone();
            self.ctx.publish(contract::TOPIC_STATUS, &status);
        }
        let store = self.store.as_ref();
        let snap = Snapshot {
            status,
            conversations: store.and_then(|s| s.conversations().ok()).unwrap_or_default(),
            open: self.open.clone(),
            open_messages: match (&self.open, store) {
                (Some(n), Some(s)) => s.history(n, None, 50).unwrap_or_default(),
                _ => Vec::new(),
            },
        };
        (self.show)(snap);
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
