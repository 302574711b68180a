//! The chat engine: one task that owns the XMPP stream, the store and the presence
//! state. Requests from the plugin thread, stream events, connection reports and
//! timer ticks all arrive as [`Msg`]s, so there are no locks on the chat's state; the
//! views read a [`Snapshot`] the task refreshes after each change.
//!
//! Delivery guarantees: a message is stored (state `pending`) and put in the outbox
//! before anything goes on the wire. It leaves the outbox when the server acknowledges
//! it (stream management). When a session is lost without resumption, everything still
//! in the outbox is sent again with the same id; receivers store by (sender, id), so a
//! message that did arrive the first time is not shown twice.
//!
//! The work is split by concept, each file an `impl Core` block: `session`, `outbox`,
//! `inbound`, `actions`, `sync`, `rooms`, `presence`, `files`, with `dispatch` handing
//! requests to them. This file is the plumbing they share: the handle, the messages,
//! the snapshot, and the [`event_loop::Handler`] the loop shared with SMS
//! (`ucdesk_xmpp::event_loop`) drives.

mod actions;
mod bookmarks;
mod dispatch;
mod error;
mod files;
mod gateways;
mod inbound;
mod outbox;
mod presence;
mod rooms;
mod session;
mod sync;

use crate::config::{Config, Prefs};
use crate::store::Store;
use error::ChatError;
use presence::{Contact, Mine, offline};
use rooms::Room;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sync::SyncRun;
use tokio::sync::{Notify, mpsc};
use tokio_xmpp::Stanza;
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::stanzastream::{Event as StreamEvent, StanzaStream};
use ucdesk_sdk::contract::chat::{
    self as contract, Connection, ConnectionState, Conversation, HistoryQuery, Message, SearchQuery,
};
use ucdesk_sdk::contract::presence::{PresenceChanged, Status};
use ucdesk_sdk::engine::{EngineSpec, Mailbox, Reply};
use ucdesk_sdk::prelude::*;
use ucdesk_xmpp::connection::{Account, Status as LinkStatus};
use ucdesk_xmpp::event_loop;

/// The chat's requests may wait on the server (a room's configuration, a history
/// page): more than the sdk's default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How stale the views' snapshot may get while events stream in.
const REFRESH_EVERY: Duration = Duration::from_millis(30);

pub enum Request {
    Send(contract::Send),
    History(HistoryQuery),
    Search(SearchQuery),
    Conversations,
    MarkRead(String),
    MarkUnread(String),
    MarkAllRead,
    Close(String),
    CloseAll,
    Reopen(String),
    Mute(String, bool),
    PinConversation(String, Option<u32>),
    React(contract::React),
    Delete(contract::Delete),
    PinMessage(contract::PinMessage),
    Forward(contract::Forward),
    Typing {
        conversation: String,
        composing: bool,
    },
    AddContact(String),
    SetPresence(ucdesk_sdk::contract::presence::Set),
    Presences,
    Resync,
    Outbox,
    Status,
    Retry(String, String),
    Download(contract::FileRef),
    MessageInfo(String, String),
    /// The shell reports how long the user has been idle (seconds).
    Activity(u64),
    /// Shows a conversation in the panel (around a message, for a search result).
    Open(Option<(String, Option<String>)>),
    CreateGroup(contract::CreateGroup),
    AddParticipants(contract::AddParticipants),
    RemoveParticipant(contract::ParticipantRef),
    MakeAdmin(contract::ParticipantRef),
    Rename(contract::Rename),
    Leave(String),
    AssignMyself(String),
    Participants(String),
    /// The roster as a contact source.
    Contacts,
}

/// The plugin's handle to the engine (the sdk's, with this core's messages).
pub type Engine = ucdesk_sdk::engine::Engine<Msg>;

/// What reaches the core: the plugin's requests and settings, and what its own tasks
/// (the link, uploads, downloads, the ticker) report.
pub enum Msg {
    Request(Request, Reply<Value>),
    Reconfigure(Config),
    Link(u64, LinkStatus),
    Acked(u64, String, String),
    Tick,
    Shutdown(Reply<()>),
    Uploaded {
        conversation: String,
        id: String,
        file: u32,
        result: Result<String, String>,
        thumbnail: Option<String>,
    },
    Downloaded {
        conversation: String,
        id: String,
        file: u32,
        result: Result<String, String>,
    },
}

/// What the views show; refreshed by the engine after every change.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub connection: Connection,
    pub conversations: Vec<Conversation>,
    pub typing: BTreeMap<String, Vec<String>>,
    pub me: PresenceChanged,
    pub contacts: BTreeMap<String, PresenceChanged>,
    /// Contacts' cards (name, phone numbers), by address.
    pub cards: BTreeMap<String, crate::stanzas::Card>,
    /// The conversation open in the conversation panel, and what it shows: the
    /// messages around `focus` (a search result), or the latest (all unread + 20).
    pub open: Option<String>,
    pub open_messages: Vec<Message>,
    pub first_unread: Option<String>,
    /// Statuses the administrator added (`chat.statuses`): label and the status it is.
    pub custom_statuses: Vec<(String, Status)>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            connection: Connection {
                state: ConnectionState::NotConfigured,
                server: None,
                reason: None,
                fingerprint: None,
                outbox: 0,
            },
            conversations: Vec::new(),
            typing: BTreeMap::new(),
            me: offline(""),
            contacts: BTreeMap::new(),
            cards: BTreeMap::new(),
            open: None,
            open_messages: Vec::new(),
            first_unread: None,
            custom_statuses: Vec::new(),
        }
    }
}

/// Starts the engine: the core task on its own one-thread runtime, ticking every
/// second (expiries, typing, upload slots). `show` receives every new snapshot.
pub fn start(
    ctx: &Context,
    store: Option<Store>,
    show: impl Fn(Snapshot) + Send + Sync + 'static,
) -> std::io::Result<Engine> {
    let core_ctx = ctx.clone();
    let spec = EngineSpec::new("chat-xmpp")
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
            connection: Snapshot::default().connection,
            online: false,
            online_since: None,
            pushed: HashSet::new(),
            resend_due: HashMap::new(),
            resent: HashSet::new(),
            iqs: HashMap::new(),
            sync: None,
            sync_queue: std::collections::VecDeque::new(),
            rooms: BTreeMap::new(),
            bookmark_step: bookmarks::Step::default(),
            connecting_since: None,
            session_since: None,
            logins_without_session: 0,
            contacts: BTreeMap::new(),
            mine: Mine { status: Status::Available, message: None, expires_at: None, on_call: false },
            typing: HashMap::new(),
            my_typing: HashMap::new(),
            show: Box::new(show),
            transfers: HashSet::new(),
            open: None,
            idle_away: false,
            caught_up: false,
            sms_gateways: HashSet::new(),
            discovery: None,
            unanswered: gateways::Unanswered::default(),
            directory_changed: false,
        };
        event_loop::run(core, mailbox, REFRESH_EVERY)
    })
}

enum PendingIq {
    Carbons,
    /// The server's components (disco#items), then each one's identity.
    Components,
    Component(String),
    Roster,
    /// A contact's card (XEP-0292).
    Card(BareJid),
    /// A page of the running sync, by its query id: an answer for a sync that was
    /// set aside (see `sync::start_sync`) is not this one's.
    Mam(String),
    Bookmarks,
    /// One step of publishing a room's bookmark (see `bookmarks`).
    Bookmark {
        room: BareJid,
        step: bookmarks::Step,
    },
    PrivateBookmarks,
    Affiliations(BareJid),
    /// A room's configuration form, to fill for a group called `name`; then `invite`
    /// these (a new group invites once its room is configured).
    RoomForm {
        room: BareJid,
        name: String,
        invite: Vec<BareJid>,
    },
    /// A group change that may be refused (not an admin): say so in the log.
    RoomChange(String),
    /// An upload slot for one file of one message, asked for at `since`.
    Slot {
        conversation: String,
        id: String,
        file: u32,
        since: Instant,
    },
}

struct Core {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    store: Option<Store>,
    account: Option<Account>,
    /// The settings besides the account (see [`Prefs`]), as of the last reconfigure.
    prefs: Prefs,
    /// Bumped per connection, so reports from an old one are ignored.
    generation: u64,
    stream: Option<StanzaStream>,
    retry: Arc<Notify>,
    connection: Connection,
    online: bool,
    /// When this session came online: contacts' first presences right after are the
    /// roster's state, not contacts signing in (no alerts for them).
    online_since: Option<Instant>,
    /// Outbox ids put on the current session's stream.
    pushed: HashSet<String>,
    /// Contacts with a device newly online, and when to send them again what none of
    /// their devices confirmed (see `outbox::resend_unconfirmed`).
    resend_due: HashMap<BareJid, Instant>,
    /// Messages already sent again this run (each goes again once).
    resent: HashSet<String>,
    iqs: HashMap<String, PendingIq>,
    sync: Option<SyncRun>,
    /// Rooms whose archive waits for the running sync to finish.
    sync_queue: std::collections::VecDeque<BareJid>,
    rooms: BTreeMap<BareJid, Room>,
    /// The first way of storing a bookmark to try (the last one that worked).
    bookmark_step: bookmarks::Step,
    /// Since when the connection has said `connecting` (see `session::unstick`).
    connecting_since: Option<Instant>,
    /// Since when logins that went through wait for a session, and how many did (see
    /// `session::unstick`).
    session_since: Option<Instant>,
    logins_without_session: u32,
    contacts: BTreeMap<BareJid, Contact>,
    mine: Mine,
    /// Conversation -> who is typing, since when.
    typing: HashMap<String, HashMap<String, Instant>>,
    my_typing: HashMap<String, Instant>,
    /// Where each new snapshot goes (the plugin's panels).
    show: Box<dyn Fn(Snapshot) + Send + Sync>,
    /// The conversation the panel shows, and the message to show it around.
    open: Option<(String, Option<String>)>,
    /// Set away by inactivity (not by the user): activity brings available back.
    idle_away: bool,
    /// The account's archive catch-up is done this session (see `Room::caught_up`).
    caught_up: bool,
    /// (conversation, message id, file) with a slot request or transfer under way.
    transfers: HashSet<(String, String, u32)>,
    /// The domains of the server's SMS gateways (see `gateways`).
    sms_gateways: HashSet<String>,
    discovery: Option<gateways::Discovery>,
    unanswered: gateways::Unanswered,
    /// A contact's card changed since `contacts.updated` last went out.
    directory_changed: bool,
}

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
        self.set_connection(ConnectionState::Offline, Some("the connection closed".into()), None);
    }

    fn refresh(&mut self) {
        Core::refresh(self)
    }
}

impl Core {
    /// Commits the history page's transaction, if one is open (see `store::begin`).
    fn commit_page(&mut self) {
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.commit()
        {
            self.ctx.warn(format!("cannot store a history page: {e}"));
        }
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Request(req, reply) => {
                // "Accepted" means on disk: a history page's open transaction is
                // committed first, so what the request writes (a sent message and its
                // outbox row) commits on its own before the answer; a kill during a sync
                // then loses neither. The rest of the page opens a new transaction.
                self.commit_page();
                let answer = self.on_request(req).await;
                self.commit_page();
                // The answer goes out after the snapshot shows its effect.
                self.refresh();
                reply.send(answer.map_err(Error::from));
            }
            Msg::Reconfigure(config) => self.reconfigure(config).await,
            // The login's own news after the session on it came up: nothing to do.
            Msg::Link(generation, status)
                if generation == self.generation
                    && self.online
                    && status.state == ConnectionState::Connecting => {}
            Msg::Link(generation, status) if generation == self.generation => {
                // An attempt starting (re)arms the watchdog; any outcome it reports disarms it.
                self.connecting_since = (status.state == ConnectionState::Connecting)
                    .then(|| self.connecting_since.unwrap_or_else(Instant::now));
                // Logins that go through without a session coming up (a resumption the
                // server refuses at once, again and again) count until one does.
                if status.logged_in {
                    self.session_since.get_or_insert_with(Instant::now);
                    self.logins_without_session += 1;
                } else if status.state != ConnectionState::Connecting {
                    self.session_since = None;
                    self.logins_without_session = 0;
                }
                if !self.online || status.state != ConnectionState::Connecting {
                    self.online = false;
                    self.set_connection(status.state, status.reason, status.fingerprint);
                }
            }
            Msg::Link(..) => {}
            Msg::Acked(generation, conversation, id) => self.on_acked(generation, conversation, id),
            Msg::Tick => self.tick().await,
            // A stop never gets here: the loop takes it (Handler::stop_reply).
            Msg::Shutdown(_) => {}
            Msg::Uploaded { conversation, id, file, result, thumbnail } => {
                if let (Some(t), Some(store)) = (thumbnail, self.store.as_mut()) {
                    let _ = store.set_thumbnail(&conversation, &id, file, &t);
                }
                self.on_uploaded(conversation, id, file, result).await
            }
            Msg::Downloaded { conversation, id, file, result } => {
                self.on_downloaded(conversation, id, file, result)
            }
        }
    }

    async fn tick(&mut self) {
        self.unstick().await;
        self.resend_unconfirmed().await;
        self.expire_discovery().await;
        self.ask_again().await;
        self.expire_slots().await;
        self.expire_presence().await;
        self.expire_typing();
    }

    fn me(&self) -> Option<BareJid> {
        self.account.as_ref().map(|a| a.jid.clone())
    }

    async fn send(&mut self, stanza: impl Into<Stanza>) -> Option<tokio_xmpp::stanzastream::StanzaToken> {
        let stream = self.stream.as_ref()?;
        Some(stream.send(Box::new(stanza.into())).await)
    }

    fn store(&self) -> Result<&Store, ChatError> {
        self.store
            .as_ref()
            .ok_or_else(|| ChatError::Failed("the chat store could not be opened (see the log)".into()))
    }

    fn store_mut(&mut self) -> Result<&mut Store, ChatError> {
        self.store
            .as_mut()
            .ok_or_else(|| ChatError::Failed("the chat store could not be opened (see the log)".into()))
    }

    fn refresh(&mut self) {
        // A history page's transaction never outlives the sync (lost connection).
        if self.sync.is_none()
            && let Some(store) = self.store.as_mut()
        {
            let _ = store.commit();
        }
        self.announce_directory();
        let outbox = self.outbox_len();
        if outbox != self.connection.outbox {
            self.connection.outbox = outbox;
            self.ctx.publish(contract::TOPIC_CONNECTION, &self.connection);
        }
        let snap = Snapshot {
            connection: self.connection.clone(),
            conversations: self.store.as_ref().and_then(|s| s.conversations().ok()).unwrap_or_default(),
            typing: self
                .typing
                .iter()
                .filter(|(_, w)| !w.is_empty())
                .map(|(c, w)| (c.clone(), w.keys().cloned().collect()))
                .collect(),
            me: self.my_presence(),
            contacts: self.contacts.keys().map(|j| (j.to_string(), self.contact_presence(j))).collect(),
            cards: self.cards(),
            open: self.open.as_ref().map(|o| o.0.clone()),
            open_messages: Vec::new(),
            first_unread: None,
            custom_statuses: self.prefs.custom_statuses.clone(),
        };
        let mut snap = snap;
        if let (Some((conversation, focus)), Some(store)) = (&self.open, self.store.as_ref()) {
            let shown = match focus {
                Some(id) => store.around(conversation, id, 10).map(|m| (m, None)),
                None => store.history(conversation, None, 20),
            };
            if let Ok((messages, first_unread)) = shown {
                snap.open_messages = messages;
                snap.first_unread = first_unread;
            }
        }
        (self.show)(snap);
    }
}

/// A bare address typed by a user or sent by another plugin, or an error naming it.
fn address(s: &str) -> Result<BareJid, ChatError> {
    s.trim().parse().map_err(|e| ChatError::BadArgument(format!("{s:?} is not an address: {e}")))
}
