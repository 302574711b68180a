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

use crate::connection::{self, Account, Status as LinkStatus};
use crate::stanzas::{self, Marker};
use crate::store::{Flag, Incoming, Store, now_ms};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio_xmpp::Stanza;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message as XmppMessage;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Show, Type as PresenceType};
use tokio_xmpp::stanzastream::{
    Event as StreamEvent, StanzaStage, StanzaState, StanzaStream, StreamEvent as Link,
};
use ucdesk_sdk::contract::chat::{
    self as contract, Connection, ConnectionState, Conversation, Direction, History, HistoryQuery, Message,
    MessageState, Receipt, SearchQuery, SearchResults, SyncProgress, TransferState, Typing,
};
use ucdesk_sdk::contract::notify::{self, Notification, NotifyKind};
use ucdesk_sdk::contract::presence::{self, Device, PresenceChanged, Status};
use ucdesk_sdk::prelude::*;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Archive page size: Prosody's default cap is 50; the lab allows 250.
const MAM_PAGE: u32 = 250;
/// A contact who said "composing" and then nothing for this long stopped typing.
const TYPING_TIMEOUT: Duration = Duration::from_secs(30);
/// We repeat our own "composing" at most this often.
const TYPING_REPEAT: Duration = Duration::from_secs(5);
/// How long an upload service may take to hand out a slot.
const SLOT_TIMEOUT: Duration = Duration::from_secs(10);
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
    SetPresence(presence::Set),
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
}

enum Msg {
    Request(Request, SyncSender<Result<Value, String>>),
    Reconfigure(Result<Account, String>),
    Link(u64, LinkStatus),
    Acked(u64, String, String),
    Tick,
    Shutdown(SyncSender<()>),
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
            open: None,
            open_messages: Vec::new(),
            first_unread: None,
            custom_statuses: Vec::new(),
        }
    }
}

fn offline(jid: &str) -> PresenceChanged {
    PresenceChanged {
        jid: jid.to_string(),
        me: false,
        status: Status::Offline,
        message: None,
        devices: Vec::new(),
        on_call: false,
        last_active: None,
        expires: None,
    }
}

/// The plugin's handle to the engine.
pub struct Engine {
    runtime: Option<tokio::runtime::Runtime>,
    tx: mpsc::UnboundedSender<Msg>,
    pub snapshot: Arc<Mutex<Snapshot>>,
}

impl Engine {
    pub fn start(
        ctx: Context,
        store: Option<Store>,
        on_change: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Engine> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("chat-xmpp")
            .enable_all()
            .build()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        let core = Core {
            ctx,
            tx: tx.clone(),
            store,
            account: None,
            generation: 0,
            stream: None,
            retry: Arc::new(Notify::new()),
            connection: Snapshot::default().connection,
            online: false,
            pushed: HashSet::new(),
            iqs: HashMap::new(),
            sync: None,
            sync_queue: std::collections::VecDeque::new(),
            rooms: BTreeMap::new(),
            contacts: BTreeMap::new(),
            mine: Mine { status: Status::Available, message: None, expires_at: None, on_call: false },
            typing: HashMap::new(),
            my_typing: HashMap::new(),
            snapshot: snapshot.clone(),
            on_change,
            dirty: false,
            refresh_at: tokio::time::Instant::now(),
            transfers: HashSet::new(),
            open: None,
            idle_away: false,
            caught_up: false,
        };
        runtime.spawn(core.run(rx));
        let ticker = tx.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                if ticker.send(Msg::Tick).is_err() {
                    return;
                }
            }
        });
        Ok(Engine { runtime: Some(runtime), tx, snapshot })
    }

    pub fn reconfigure(&self, account: Result<Account, String>) {
        let _ = self.tx.send(Msg::Reconfigure(account));
    }

    pub fn request(&self, req: Request) -> Result<Value, String> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.tx.send(Msg::Request(req, reply)).map_err(|_| "the chat engine has stopped".to_string())?;
        answer
            .recv_timeout(REQUEST_TIMEOUT)
            .map_err(|_| "the chat engine did not answer in time".to_string())?
    }

    /// Says goodbye to the server (unavailable presence, stream close) within a bound.
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

/// The user's own presence choices.
struct Mine {
    status: Status,
    message: Option<String>,
    expires_at: Option<i64>,
    on_call: bool,
}

#[derive(Default)]
struct Contact {
    /// Resource -> (status, message, device, on call).
    resources: BTreeMap<String, (Status, Option<String>, Option<Device>, bool)>,
    last_active: Option<i64>,
}

enum PendingIq {
    Carbons,
    Roster,
    Mam,
    Bookmarks,
    Affiliations(BareJid),
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

/// A group chat we are a member of.
struct Room {
    name: String,
    full_history: bool,
    /// When we joined (ms): an ordinary group shows history from here.
    joined_at: i64,
    /// In the room now (our own presence came back).
    present: bool,
    /// Occupant nick -> real address (rooms are configured to show it to members).
    occupants: HashMap<String, Option<BareJid>>,
    /// Real address -> affiliation (owner, admin, member).
    affiliations: BTreeMap<String, String>,
    /// This session's catch-up from the room's archive is done: from now on live
    /// messages move the archive position (they come in archive order, with no gap).
    caught_up: bool,
}

struct SyncRun {
    /// None: the account's own archive; Some: a room's.
    room: Option<BareJid>,
    queryid: String,
    fetched: u64,
    stored: u64,
    /// A first sync into an empty store: what was there before counts as read.
    fresh: bool,
    /// A first fetch of an archive: history, not news, so no `chat.message` per message
    /// (the views reload on the progress events).
    quiet: bool,
}

struct Core {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    store: Option<Store>,
    account: Option<Account>,
    /// Bumped per connection, so reports from an old one are ignored.
    generation: u64,
    stream: Option<StanzaStream>,
    retry: Arc<Notify>,
    connection: Connection,
    online: bool,
    /// Outbox ids put on the current session's stream.
    pushed: HashSet<String>,
    iqs: HashMap<String, PendingIq>,
    sync: Option<SyncRun>,
    /// Rooms whose archive waits for the running sync to finish.
    sync_queue: std::collections::VecDeque<BareJid>,
    rooms: BTreeMap<BareJid, Room>,
    contacts: BTreeMap<BareJid, Contact>,
    mine: Mine,
    /// Conversation -> who is typing, since when.
    typing: HashMap<String, HashMap<String, Instant>>,
    my_typing: HashMap<String, Instant>,
    snapshot: Arc<Mutex<Snapshot>>,
    on_change: Arc<dyn Fn() + Send + Sync>,
    dirty: bool,
    refresh_at: tokio::time::Instant,
    /// The conversation the panel shows, and the message to show it around.
    open: Option<(String, Option<String>)>,
    /// Set away by inactivity (not by the user): activity brings available back.
    idle_away: bool,
    /// The account's archive catch-up is done this session (see `Room::caught_up`).
    caught_up: bool,
    /// (conversation, message id, file) with a slot request or transfer under way.
    transfers: HashSet<(String, String, u32)>,
}

enum Next {
    Msg(Option<Msg>),
    Stream(Option<StreamEvent>),
    Refresh,
}

impl Core {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        self.refresh();
        loop {
            // The snapshot (and the views drawn from it) is refreshed at most every
            // REFRESH_EVERY while events keep coming: a history page is hundreds of
            // stanzas, and redrawing the conversation list for each one was most of a
            // sync's cost.
            let due = self.refresh_at;
            let dirty = self.dirty;
            let next = match self.stream.as_mut() {
                Some(stream) => tokio::select! {
                    m = rx.recv() => Next::Msg(m),
                    e = stream.next() => Next::Stream(e),
                    _ = tokio::time::sleep_until(due), if dirty => Next::Refresh,
                },
                None => tokio::select! {
                    m = rx.recv() => Next::Msg(m),
                    _ = tokio::time::sleep_until(due), if dirty => Next::Refresh,
                },
            };
            match next {
                Next::Refresh => {
                    self.dirty = false;
                    self.refresh();
                    continue;
                }
                Next::Msg(None) => return,
                Next::Msg(Some(Msg::Shutdown(done))) => {
                    self.disconnect().await;
                    let _ = done.send(());
                    return;
                }
                Next::Msg(Some(msg)) => self.on_msg(msg).await,
                Next::Stream(Some(e)) => self.on_stream(e).await,
                Next::Stream(None) => {
                    // The stream gave up for good (it never does for network trouble).
                    self.stream = None;
                    self.online = false;
                    self.set_connection(ConnectionState::Offline, Some("the connection closed".into()), None);
                }
            }
            if !self.dirty {
                self.dirty = true;
                self.refresh_at = tokio::time::Instant::now() + REFRESH_EVERY;
            }
        }
    }

    async fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Request(req, reply) => {
                let answer = self.on_request(req).await;
                let _ = reply.send(answer);
            }
            Msg::Reconfigure(account) => self.reconfigure(account).await,
            Msg::Link(generation, status) if generation == self.generation => {
                if !self.online || status.state != ConnectionState::Connecting {
                    self.online = false;
                    self.set_connection(status.state, status.reason, status.fingerprint);
                }
            }
            Msg::Link(..) => {}
            Msg::Acked(generation, conversation, id) => {
                if generation != self.generation {
                    return;
                }
                let Some(store) = self.store.as_mut() else { return };
                let _ = store.outbox_remove(&id);
                self.pushed.remove(&id);
                if let Ok(Some(m)) = store.advance(&conversation, &id, MessageState::Sent) {
                    self.ctx.publish(contract::TOPIC_MESSAGE, &m);
                }
            }
            Msg::Tick => self.tick().await,
            Msg::Shutdown(_) => {}
            Msg::Uploaded { conversation, id, file, result, thumbnail } => {
                if let (Some(t), Some(store)) = (thumbnail, self.store.as_mut()) {
                    let _ = store.set_thumbnail(&conversation, &id, file, &t);
                }
                self.on_uploaded(conversation, id, file, result).await
            }
            Msg::Downloaded { conversation, id, file, result } => {
                self.transfers.remove(&(conversation.clone(), id.clone(), file));
                let Some(store) = self.store.as_mut() else { return };
                let _ = match &result {
                    Ok(path) => store.update_file(
                        &conversation,
                        &id,
                        file,
                        TransferState::Downloaded,
                        None,
                        Some(path),
                    ),
                    Err(e) => {
                        self.ctx.warn(format!("downloading a file of {conversation}: {e}"));
                        store.update_file(&conversation, &id, file, TransferState::Failed, None, None)
                    }
                };
                if let Ok(Some(m)) = store.message(&conversation, &id) {
                    self.ctx.publish(contract::TOPIC_MESSAGE, &m);
                }
            }
        }
    }

    async fn reconfigure(&mut self, account: Result<Account, String>) {
        let same = match (&account, &self.account) {
            (Ok(a), Some(b)) => {
                a.jid == b.jid
                    && a.password == b.password
                    && a.server == b.server
                    && a.dns_server == b.dns_server
                    && a.tls.ca_file == b.tls.ca_file
                    && a.tls.pinned == b.tls.pinned
            }
            _ => false,
        };
        if same {
            return;
        }
        self.disconnect().await;
        match account {
            Err(reason) => {
                self.account = None;
                self.set_connection(ConnectionState::NotConfigured, Some(reason), None);
            }
            Ok(account) => {
                self.generation += 1;
                let generation = self.generation;
                let (status_tx, mut status_rx) = mpsc::unbounded_channel();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    while let Some(s) = status_rx.recv().await {
                        if tx.send(Msg::Link(generation, s)).is_err() {
                            return;
                        }
                    }
                });
                self.connection.server = Some(account.server());
                self.retry = Arc::new(Notify::new());
                self.stream = Some(connection::start(account.clone(), status_tx, self.retry.clone()));
                self.account = Some(account);
            }
        }
    }

    async fn disconnect(&mut self) {
        if let Some(stream) = self.stream.take() {
            if self.online {
                let _ = stream.send(Box::new(Presence::unavailable().into())).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(3), stream.close()).await;
        }
        self.online = false;
        self.caught_up = false;
        self.pushed.clear();
        self.iqs.clear();
        self.sync = None;
        self.sync_queue.clear();
        for r in self.rooms.values_mut() {
            r.present = false;
            r.caught_up = false;
            r.occupants.clear();
        }
    }

    fn me(&self) -> Option<BareJid> {
        self.account.as_ref().map(|a| a.jid.clone())
    }

    fn set_connection(
        &mut self,
        state: ConnectionState,
        reason: Option<String>,
        fingerprint: Option<String>,
    ) {
        let outbox = self.outbox_len();
        let next = Connection { state, server: self.connection.server.clone(), reason, fingerprint, outbox };
        if next != self.connection {
            self.connection = next;
            self.ctx.publish(contract::TOPIC_CONNECTION, &self.connection);
        }
    }

    async fn send(&mut self, stanza: impl Into<Stanza>) -> Option<tokio_xmpp::stanzastream::StanzaToken> {
        let stream = self.stream.as_ref()?;
        Some(stream.send(Box::new(stanza.into())).await)
    }

    async fn on_stream(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Stream(Link::Reset { .. }) => {
                // A new session: nothing of the old one survived on the server.
                self.online = true;
                self.caught_up = false;
                self.pushed.clear();
                // Slot requests died with the old session; transfers under way go on.
                let waiting: Vec<(String, String, u32)> = self
                    .iqs
                    .values()
                    .filter_map(|p| match p {
                        PendingIq::Slot { conversation, id, file, .. } => {
                            Some((conversation.clone(), id.clone(), *file))
                        }
                        _ => None,
                    })
                    .collect();
                for t in waiting {
                    self.transfers.remove(&t);
                }
                self.iqs.clear();
                self.set_connection(ConnectionState::Online, None, None);
                self.send_presence().await;
                let carbons = stanzas::new_id();
                self.iqs.insert(carbons.clone(), PendingIq::Carbons);
                self.send(stanzas::iq_set(&carbons, None, stanzas::el("enable", ns::CARBONS, &[]))).await;
                let roster = stanzas::new_id();
                self.iqs.insert(roster.clone(), PendingIq::Roster);
                self.send(stanzas::iq_get(&roster, None, stanzas::el("query", ns::ROSTER, &[]))).await;
                for r in self.rooms.values_mut() {
                    r.present = false;
                    r.caught_up = false;
                    r.occupants.clear();
                }
                let bookmarks = stanzas::new_id();
                self.iqs.insert(bookmarks.clone(), PendingIq::Bookmarks);
                self.send(stanzas::iq_get(&bookmarks, None, stanzas::bookmarks_get())).await;
                self.start_sync(false).await;
                self.flush_outbox().await;
            }
            StreamEvent::Stream(Link::Resumed) => {
                // The stream retransmits what it had; only what was never handed to it
                // (sent while offline) goes now.
                self.online = true;
                self.set_connection(ConnectionState::Online, None, None);
                self.flush_outbox().await;
            }
            StreamEvent::Stream(Link::Suspended) => {
                self.online = false;
                self.set_connection(
                    ConnectionState::Offline,
                    Some("the connection to the server dropped".into()),
                    None,
                );
            }
            StreamEvent::Stanza(Stanza::Message(m)) => self.on_message(m).await,
            StreamEvent::Stanza(Stanza::Presence(p)) => self.on_presence(p).await,
            StreamEvent::Stanza(Stanza::Iq(iq)) => self.on_iq(iq).await,
        }
    }

    async fn flush_outbox(&mut self) {
        let Some(store) = self.store.as_ref() else { return };
        let waiting = store.outbox().unwrap_or_default();
        for m in waiting {
            if self.pushed.contains(&m.id) {
                continue;
            }
            if m.files.iter().all(|f| f.state == contract::TransferState::Uploaded) {
                self.push(&m).await;
            } else {
                self.start_uploads(&m).await;
            }
        }
    }

    /// Puts an outbox message on the stream and waits (in a task) for the server's ack.
    async fn push(&mut self, m: &Message) {
        let Ok(to) = m.conversation.parse::<BareJid>() else { return };
        let reply = m.reply_to.as_deref().map(|id| (m.conversation.as_str(), id));
        // Other clients see the links in the body (XEP-0363 practice).
        let urls: Vec<&str> = m.files.iter().filter_map(|f| f.url.as_deref()).collect();
        let body = match (m.body.is_empty(), urls.is_empty()) {
            (true, false) => urls.join("\n"),
            _ => m.body.clone(),
        };
        let mut stanza = stanzas::chat(&to, &m.id, &body, reply);
        for f in &m.files {
            if let Some(url) = &f.url {
                stanza.payloads.extend(stanzas::file_elements(
                    &f.name,
                    f.size,
                    &f.mime,
                    url,
                    f.thumbnail.as_deref(),
                ));
            }
        }
        let people: Vec<BareJid> = match self.rooms.get(&to) {
            Some(r) => r.affiliations.keys().filter_map(|j| j.parse().ok()).collect(),
            None => vec![to.clone()],
        };
        stanza.payloads.extend(stanzas::mentions(&m.body, &people));
        if let Some(f) = &m.forwarded_from {
            stanza.payloads.push(stanzas::forwarded_from(f));
        }
        if self.rooms.contains_key(&to) {
            // Receipts are not used in groups (XEP-0184 says so); the room's echo is ours.
            stanza.type_ = tokio_xmpp::parsers::message::MessageType::Groupchat;
            stanza.payloads.retain(|p| !p.is("request", ns::RECEIPTS));
        }
        let Some(mut token) = self.send(stanza).await else { return };
        self.pushed.insert(m.id.clone());
        let (tx, generation, conversation, id) =
            (self.tx.clone(), self.generation, m.conversation.clone(), m.id.clone());
        tokio::spawn(async move {
            if let Some(StanzaState::Acked { .. }) = token.wait_for(StanzaStage::Acked).await {
                let _ = tx.send(Msg::Acked(generation, conversation, id));
            }
        });
    }

    async fn start_sync(&mut self, full: bool) {
        let Some(store) = self.store.as_mut() else { return };
        if full {
            let _ = store.set_meta("mam_last", None);
            let rooms: Vec<BareJid> = self.rooms.keys().cloned().collect();
            for room in rooms {
                let _ = store.set_meta(&format!("mam_last:{room}"), None);
                if !self.sync_queue.contains(&room) {
                    self.sync_queue.push_back(room);
                }
            }
        }
        let after = store.meta("mam_last").ok().flatten();
        let fresh = after.is_none() && !full && store.conversations().map(|c| c.is_empty()).unwrap_or(true);
        let queryid = stanzas::new_id();
        let quiet = store.meta("synced").ok().flatten().is_none();
        self.sync = Some(SyncRun { room: None, queryid, fetched: 0, stored: 0, fresh, quiet });
        self.query_page(after.as_deref()).await;
    }

    /// A room's archive, after the running sync (one at a time keeps the order of
    /// progress events simple and the server's load flat).
    async fn sync_room(&mut self, room: BareJid) {
        if self.sync.is_some() {
            if !self.sync_queue.contains(&room) {
                self.sync_queue.push_back(room);
            }
            return;
        }
        let Some(store) = self.store.as_ref() else { return };
        let after = store.meta(&format!("mam_last:{room}")).ok().flatten();
        self.ctx.debug(format!("syncing the archive of {room} after {after:?}"));
        let queryid = stanzas::new_id();
        let quiet = store.meta(&format!("synced:{room}")).ok().flatten().is_none();
        self.sync = Some(SyncRun { room: Some(room), queryid, fetched: 0, stored: 0, fresh: false, quiet });
        self.query_page(after.as_deref()).await;
    }

    async fn query_page(&mut self, after: Option<&str>) {
        let Some(run) = self.sync.as_ref() else { return };
        let id = stanzas::new_id();
        let (to, query) = match &run.room {
            None => (None, stanzas::mam_query(&run.queryid, after, MAM_PAGE)),
            Some(room) => {
                // An ordinary group: only what was said since we joined.
                // Archive stamps are whole seconds. The first fetch after joining starts
                // at the next whole second (what was said since came live, as we were
                // in); a later one without a position starts at the join's second, so
                // nothing said while we were away is skipped.
                let first = self
                    .store
                    .as_ref()
                    .is_some_and(|s| s.meta(&format!("synced:{room}")).ok().flatten().is_none());
                let start = self.rooms.get(room).filter(|r| !r.full_history && after.is_none()).map(|r| {
                    let second = r.joined_at / 1000 + i64::from(first);
                    crate::store::rfc3339(second * 1000)
                });
                self.ctx.debug(format!("room archive query of {room}: after {after:?}, start {start:?}"));
                (
                    Some(Jid::from(room.clone())),
                    stanzas::mam_query_since(&run.queryid, after, start.as_deref(), MAM_PAGE),
                )
            }
        };
        self.iqs.insert(id.clone(), PendingIq::Mam);
        self.send(stanzas::iq_set(&id, to, query)).await;
    }

    async fn on_iq(&mut self, iq: Iq) {
        match iq {
            Iq::Result { id, payload, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Mam) => {
                    let fin = payload.as_ref().and_then(stanzas::mam_fin);
                    self.on_mam_fin(fin).await;
                }
                Some(PendingIq::Roster) => {
                    if let Some(q) = payload {
                        self.on_roster(&q);
                    }
                }
                Some(PendingIq::Bookmarks) => {
                    if let Some(p) = payload {
                        self.on_bookmarks(&p).await;
                    }
                }
                Some(PendingIq::Affiliations(room)) => {
                    if let (Some(q), Some(r)) = (payload, self.rooms.get_mut(&room)) {
                        for item in q.children().filter(|c| c.is("item", stanzas::MUC_ADMIN)) {
                            if let (Some(jid), Some(aff)) = (item.attr("jid"), item.attr("affiliation")) {
                                r.affiliations.insert(jid.to_string(), aff.to_string());
                            }
                        }
                    }
                }
                Some(PendingIq::Slot { conversation, id, file, .. }) => {
                    match payload.as_ref().and_then(stanzas::read_slot) {
                        Some(slot) => self.put_file(conversation, id, file, slot),
                        None => {
                            let result = Err("the upload service gave no slot".to_string());
                            self.on_uploaded(conversation, id, file, result).await;
                        }
                    }
                }
                Some(PendingIq::Carbons | PendingIq::RoomChange(_)) | None => {}
            },
            Iq::Error { id, error, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Mam) => {
                    self.ctx.warn(format!("history sync failed: {:?}", error.defined_condition));
                    self.finish_sync();
                    self.next_sync().await;
                }
                Some(PendingIq::RoomChange(what)) => {
                    self.ctx.warn(format!("{what} was refused: {:?}", error.defined_condition));
                }
                Some(PendingIq::Slot { conversation, id, file, .. }) => {
                    let text = error.texts.values().next().map(|t| format!(": {t}")).unwrap_or_default();
                    let result =
                        Err(format!("the upload service refused ({:?}){text}", error.defined_condition));
                    self.on_uploaded(conversation, id, file, result).await;
                }
                _ => {}
            },
            Iq::Get { from, id, payload, .. } | Iq::Set { from, id, payload, .. } => {
                // Only our own server (no from, or our bare address) may push rosters.
                let from_server = from.as_ref().is_none_or(|f| Some(f.to_bare()) == self.me());
                let answer = if payload.is("ping", ns::PING)
                    || (from_server && payload.is("query", ns::ROSTER))
                {
                    if payload.is("query", ns::ROSTER) {
                        self.on_roster(&payload);
                    }
                    Iq::Result { from: None, to: from, id, payload: None }
                } else if payload.is("query", ns::DISCO_INFO) {
                    let mut q = stanzas::el("query", ns::DISCO_INFO, &[]);
                    q.append_child(stanzas::el(
                        "identity",
                        ns::DISCO_INFO,
                        &[("category", "client"), ("type", "pc"), ("name", "ucdesk")],
                    ));
                    for f in
                        [ns::DISCO_INFO, ns::RECEIPTS, ns::DISPLAYED_MARKERS, ns::CHATSTATES, stanzas::REPLY]
                    {
                        q.append_child(stanzas::el("feature", ns::DISCO_INFO, &[("var", f)]));
                    }
                    Iq::Result { from: None, to: from, id, payload: Some(q) }
                } else {
                    let mut e = stanzas::el("error", "jabber:client", &[("type", "cancel")]);
                    e.append_child(stanzas::el(
                        "service-unavailable",
                        "urn:ietf:params:xml:ns:xmpp-stanzas",
                        &[],
                    ));
                    match tokio_xmpp::parsers::stanza_error::StanzaError::try_from(e) {
                        Ok(error) => Iq::Error { from: None, to: from, id, error, payload: None },
                        Err(_) => return,
                    }
                };
                self.send(answer).await;
            }
        }
    }

    fn on_roster(&mut self, query: &Element) {
        let Some(store) = self.store.as_mut() else { return };
        for item in query.children().filter(|c| c.is("item", ns::ROSTER)) {
            let Some(jid) = item.attr("jid").and_then(|j| j.parse::<BareJid>().ok()) else { continue };
            if item.attr("subscription") == Some("remove") {
                continue;
            }
            self.contacts.entry(jid.clone()).or_default();
            if let Some(name) = item.attr("name") {
                let _ = store.rename(jid.as_str(), name);
            }
        }
    }

    async fn on_mam_fin(&mut self, fin: Option<(bool, Option<String>)>) {
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.commit()
        {
            self.ctx.warn(format!("cannot store a history page: {e}"));
        }
        let Some((complete, last)) = fin else {
            self.finish_sync();
            return;
        };
        let key = match self.sync.as_ref().and_then(|r| r.room.as_ref()) {
            Some(room) => format!("mam_last:{room}"),
            None => "mam_last".to_string(),
        };
        if let (Some(l), Some(store)) = (last.as_deref(), self.store.as_mut()) {
            let _ = store.set_meta(&key, Some(l));
        }
        if let Some(run) = self.sync.as_ref() {
            self.ctx.publish(
                contract::TOPIC_SYNC,
                &SyncProgress { fetched: run.fetched, stored: run.stored, done: false },
            );
        }
        if complete || last.is_none() {
            self.finish_sync();
            self.next_sync().await;
        } else {
            self.query_page(last.as_deref()).await;
        }
    }

    fn finish_sync(&mut self) {
        let Some(run) = self.sync.take() else { return };
        self.ctx.debug(format!(
            "archive sync of {} done: {} fetched, {} new",
            run.room.as_ref().map(|r| r.as_str()).unwrap_or("the account"),
            run.fetched,
            run.stored
        ));
        if let Some(store) = self.store.as_mut() {
            let _ = store.commit();
            let key = match &run.room {
                Some(room) => format!("synced:{room}"),
                None => "synced".to_string(),
            };
            let _ = store.set_meta(&key, Some("1"));
        }
        match run.room.as_ref() {
            Some(room) => {
                if let Some(r) = self.rooms.get_mut(room) {
                    r.caught_up = true;
                }
            }
            None => self.caught_up = true,
        }
        if run.fresh
            && let Some(store) = self.store.as_mut()
        {
            let _ = store.read_everything();
        }
        self.ctx.publish(
            contract::TOPIC_SYNC,
            &SyncProgress { fetched: run.fetched, stored: run.stored, done: true },
        );
    }

    async fn next_sync(&mut self) {
        if self.sync.is_none()
            && self.online
            && let Some(room) = self.sync_queue.pop_front()
        {
            self.sync_room(room).await;
        }
    }

    async fn on_message(&mut self, m: XmppMessage) {
        let Some(me) = self.me() else { return };
        let from_me = m.from.as_ref().is_none_or(|f| f.to_bare() == me);
        let from_synced_room = self
            .sync
            .as_ref()
            .and_then(|r| r.room.as_ref())
            .is_some_and(|room| m.from.as_ref().map(|f| f.to_bare()).as_ref() == Some(room));
        // Archive results and carbons are trusted only from our own account (or the
        // room whose archive we asked for).
        if (from_me || from_synced_room)
            && let Some(result) = stanzas::payload(&m, "result", ns::MAM)
        {
            let matches =
                self.sync.as_ref().is_some_and(|r| result.attr("queryid") == Some(r.queryid.as_str()));
            if let (true, Some((stamp, inner))) = (matches, stanzas::forwarded(result)) {
                let archive_id = result.attr("id").map(str::to_string);
                let ts = stamp.as_deref().and_then(stanzas::stamp_ms).unwrap_or_else(now_ms);
                if let Some(run) = self.sync.as_mut() {
                    run.fetched += 1;
                }
                if let Some(store) = self.store.as_mut() {
                    let _ = store.begin();
                }
                let stored = if from_synced_room {
                    self.on_group(inner, Source::Archive, ts, archive_id).await
                } else {
                    self.on_chat(inner, Source::Archive, ts, archive_id).await
                };
                if stored && let Some(run) = self.sync.as_mut() {
                    run.stored += 1;
                }
            }
            return;
        }
        if from_me {
            for kind in ["received", "sent"] {
                if let Some(carbon) = stanzas::payload(&m, kind, ns::CARBONS)
                    && let Some((_, inner)) = stanzas::forwarded(carbon)
                {
                    let archive_id = stanzas::archive_id(&inner, &me);
                    self.on_chat(inner, Source::Carbon, now_ms(), archive_id).await;
                    return;
                }
            }
        }
        let ts = stanzas::payload(&m, "delay", ns::DELAY)
            .and_then(|d| d.attr("stamp"))
            .and_then(stanzas::stamp_ms)
            .unwrap_or_else(now_ms);
        if m.type_ == tokio_xmpp::parsers::message::MessageType::Groupchat {
            let room = m.from.as_ref().map(|f| f.to_bare());
            let archive_id = room.and_then(|r| stanzas::archive_id(&m, &r));
            self.on_group(m, Source::Live, ts, archive_id).await;
            return;
        }
        if let Some(invite) = stanzas::payload(&m, "x", stanzas::CONFERENCE)
            && let Some(room) = invite.attr("jid").and_then(|j| j.parse::<BareJid>().ok())
        {
            let sender = m.from.as_ref().map(|f| f.to_bare());
            // Colleagues on our own server may add us to groups (a company directory).
            if sender.is_some_and(|s| s.domain() == me.domain()) && !self.rooms.contains_key(&room) {
                let details = stanzas::payload(&m, "group", stanzas::UCDESK_GROUP);
                let name = details.and_then(|g| g.attr("name")).or(invite.attr("reason")).map(str::to_string);
                let full = details.is_some_and(|g| g.attr("history") == Some("full"));
                self.enter_room(room, name.unwrap_or_else(|| "Group".into()), full, true).await;
            }
            return;
        }
        let archive_id = stanzas::archive_id(&m, &me);
        self.on_chat(m, Source::Live, ts, archive_id).await;
    }

    /// One chat message from any source. Returns whether a new message was stored.
    async fn on_chat(&mut self, m: XmppMessage, source: Source, ts: i64, archive_id: Option<String>) -> bool {
        let Some(me) = self.me() else { return false };
        if !stanzas::is_chat(&m) {
            return false;
        }
        let from = m.from.as_ref().map(|f| f.to_bare()).unwrap_or_else(|| me.clone());
        let outbound = from == me;
        let peer = if outbound { m.to.as_ref().map(|t| t.to_bare()) } else { Some(from.clone()) };
        let Some(peer) = peer else { return false };
        if peer == me {
            return false;
        }
        let conversation = peer.to_string();
        let mut stored = false;
        if self.apply_meta(&conversation, from.as_str(), &m) {
            return false;
        }

        let files = stanzas::read_files(&m);
        let text = message_text(&m, &files);
        if !text.is_empty() || !files.is_empty() {
            let body = text.as_str();
            let id = stanzas::stable_id(&m).or_else(|| archive_id.clone()).unwrap_or_else(stanzas::new_id);
            let reply_to =
                stanzas::payload(&m, "reply", stanzas::REPLY).and_then(|r| r.attr("id")).map(str::to_string);
            let forwarded_from = stanzas::payload(&m, "forwarded-from", stanzas::UCDESK_FORWARD)
                .and_then(|f| f.attr("jid"))
                .map(str::to_string);
            let state = if outbound { MessageState::Sent } else { MessageState::Delivered };
            let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
            let sender = from.to_string();
            let mentions_me = !outbound && stanzas::mentions_me(&m, body, &me);
            if let Some(store) = self.store.as_mut() {
                match store.insert(&Incoming {
                    conversation: &conversation,
                    id: &id,
                    from: &sender,
                    body,
                    ts_ms: ts,
                    direction,
                    state,
                    archive_id: archive_id.as_deref(),
                    reply_to: reply_to.as_deref(),
                    forwarded_from: forwarded_from.as_deref(),
                    mentions_me,
                }) {
                    Ok(Some(new)) => {
                        stored = true;
                        // Live messages come in archive order: once caught up, each one
                        // moves the position the next catch-up starts from.
                        if source != Source::Archive
                            && self.caught_up
                            && let (Some(aid), Some(store)) = (archive_id.as_deref(), self.store.as_mut())
                        {
                            let _ = store.set_meta("mam_last", Some(aid));
                        }
                        self.announce(new, files.clone(), source, mentions_me);
                    }
                    Ok(None) => {}
                    Err(e) => self.ctx.warn(format!("cannot store a message from {sender}: {e}")),
                }
            }
            if !outbound {
                self.set_typing(&conversation, &sender, false);
            }
            // The sender waits for our receipt; archived messages were receipted (or
            // not) when they arrived.
            if !outbound
                && source != Source::Archive
                && stanzas::payload(&m, "request", ns::RECEIPTS).is_some()
                && let Some(to) = m.from.clone()
            {
                self.send(stanzas::marker(&to, Marker::Received, &id, &stanzas::new_id())).await;
            }
        }

        if let Some(id) = stanzas::payload(&m, "received", ns::RECEIPTS).and_then(|r| r.attr("id")) {
            if !outbound {
                self.advance(&conversation, id, MessageState::Delivered);
            }
        }
        if let Some(id) = stanzas::payload(&m, "displayed", ns::DISPLAYED_MARKERS).and_then(|r| r.attr("id"))
        {
            if outbound {
                // We read it on another device.
                if let Some(store) = self.store.as_mut() {
                    let _ = store.mark_read(&conversation);
                }
            } else if let Some(store) = self.store.as_mut() {
                let ids = store.seen_up_to(&conversation, id).unwrap_or_default();
                for id in ids {
                    self.ctx.publish(
                        contract::TOPIC_RECEIPT,
                        &Receipt { conversation: conversation.clone(), id, state: MessageState::Seen },
                    );
                }
            }
        }
        if source == Source::Live && !outbound {
            let sender = from.to_string();
            for p in m.payloads.iter().filter(|p| p.ns() == ns::CHATSTATES) {
                self.set_typing(&conversation, &sender, p.name() == "composing");
            }
        }
        stored
    }

    /// Reactions, retractions and pins: messages about messages. Returns true when `m`
    /// is one (its fallback body, if any, is not a message).
    fn apply_meta(&mut self, conversation: &str, sender: &str, m: &XmppMessage) -> bool {
        let Some(store) = self.store.as_mut() else { return false };
        let changed = if let Some(r) = stanzas::payload(m, "reactions", stanzas::REACTIONS) {
            let Some(id) = r.attr("id") else { return true };
            // Short strings only: a reaction is an emoji, not a message.
            let emojis: Vec<String> = r
                .children()
                .filter(|c| c.is("reaction", stanzas::REACTIONS))
                .map(|c| c.text())
                .filter(|t| !t.is_empty() && t.chars().count() <= 8)
                .collect();
            store.react(conversation, id, sender, &emojis)
        } else if let Some(r) = stanzas::payload(m, "retract", stanzas::RETRACT) {
            let Some(id) = r.attr("id") else { return true };
            // Only the author's own message: `retract` checks the sender.
            store.retract(conversation, id, sender)
        } else if m.type_ == tokio_xmpp::parsers::message::MessageType::Groupchat
            && let Some(d) = stanzas::payload(m, "displayed", ns::DISPLAYED_MARKERS)
        {
            if let Some(id) = d.attr("id") {
                let _ = store.seen_by(conversation, id, sender);
            }
            return true;
        } else if let Some(p) = stanzas::payload(m, "pin", stanzas::UCDESK_PIN) {
            let _ = store.pin_message(conversation, p.attr("id"));
            return true;
        } else if stanzas::payload(m, "unpin", stanzas::UCDESK_PIN).is_some() {
            let _ = store.pin_message(conversation, None);
            return true;
        } else {
            return false;
        };
        if let Ok(Some(msg)) = changed {
            self.ctx.publish(contract::TOPIC_MESSAGE, &msg);
        }
        true
    }

    /// A newly stored message: its files recorded (small ones fetched), whether to
    /// alert, and the event (unless it is history from a first fetch).
    fn announce(
        &mut self,
        mut new: Message,
        files: Vec<stanzas::FileInfo>,
        source: Source,
        mentions_me: bool,
    ) {
        if !files.is_empty() {
            self.receive_files(&mut new, files);
        }
        new.notify = new.direction == Direction::Inbound
            && source != Source::Archive
            && self.should_notify(&new.conversation, mentions_me);
        if !self.quiet(source) {
            self.ctx.publish(contract::TOPIC_MESSAGE, &new);
        }
        if new.notify {
            let from = new.from.split('@').next().unwrap_or(&new.from).to_string();
            let mut body: String = new.body.chars().take(120).collect();
            if body.is_empty() {
                body = "(file)".into();
            }
            let note = Notification {
                id: format!("chat:{}", new.conversation),
                kind: NotifyKind::Message,
                title: format!("Message from {from}"),
                body,
                panel: Some("conversation".into()),
                close: false,
            };
            self.ctx.publish(notify::TOPIC, &note);
        }
    }

    fn quiet(&self, source: Source) -> bool {
        source == Source::Archive && self.sync.as_ref().is_some_and(|r| r.quiet)
    }

    /// The manual: do not disturb silences chat notifications; a muted conversation
    /// still alerts when the user is mentioned.
    fn should_notify(&self, conversation: &str, mentions_me: bool) -> bool {
        if self.mine.status == Status::Dnd {
            return false;
        }
        let muted = self.store.as_ref().and_then(|s| s.is_muted(conversation).ok()).unwrap_or(false);
        !muted || mentions_me
    }

    fn advance(&mut self, conversation: &str, id: &str, state: MessageState) {
        let Some(store) = self.store.as_mut() else { return };
        if let Ok(Some(m)) = store.advance(conversation, id, state) {
            // A receipt can beat the server's ack: the message left the outbox.
            let _ = store.outbox_remove(id);
            self.ctx.publish(
                contract::TOPIC_RECEIPT,
                &Receipt { conversation: conversation.to_string(), id: id.to_string(), state },
            );
            self.ctx.publish(contract::TOPIC_MESSAGE, &m);
        }
    }

    fn set_typing(&mut self, conversation: &str, who: &str, composing: bool) {
        let entry = self.typing.entry(conversation.to_string()).or_default();
        let changed = if composing {
            entry.insert(who.to_string(), Instant::now()).is_none()
        } else {
            entry.remove(who).is_some()
        };
        if changed {
            let mut who: Vec<String> = entry.keys().cloned().collect();
            who.sort();
            self.ctx.publish(contract::TOPIC_TYPING, &Typing { conversation: conversation.to_string(), who });
        }
    }

    async fn on_presence(&mut self, p: Presence) {
        let Some(me) = self.me() else { return };
        let Some(from) = p.from.clone() else { return };
        let bare = from.to_bare();
        if self.rooms.contains_key(&bare) {
            self.on_room_presence(&bare, &p).await;
            return;
        }
        match p.type_ {
            PresenceType::Subscribe => {
                // A colleague on our own server: the company directory is shared.
                if bare.domain() == me.domain() {
                    self.send(Presence::subscribed().with_to(Jid::from(bare.clone()))).await;
                    if !self.contacts.contains_key(&bare) {
                        self.send(Presence::subscribe().with_to(Jid::from(bare.clone()))).await;
                    }
                    self.contacts.entry(bare).or_default();
                }
            }
            PresenceType::None | PresenceType::Unavailable if bare != me => {
                let resource = from.resource().map(|r| r.to_string()).unwrap_or_default();
                let contact = self.contacts.entry(bare.clone()).or_default();
                if p.type_ == PresenceType::Unavailable {
                    contact.resources.remove(&resource);
                    if contact.resources.is_empty() {
                        contact.last_active = Some(now_ms());
                    }
                } else {
                    let show = p.show.as_ref().map(|s| match s {
                        Show::Away => "away",
                        Show::Chat => "chat",
                        Show::Dnd => "dnd",
                        Show::Xa => "xa",
                    });
                    let ext = p.payloads.iter().find(|e| e.is("presence", stanzas::UCDESK_PRESENCE));
                    let (status, device, on_call) = stanzas::read_status(show, ext);
                    let message = p.statuses.values().next().cloned().filter(|s| !s.is_empty());
                    contact.resources.insert(resource, (status, message, device, on_call));
                }
                let changed = self.contact_presence(&bare);
                self.ctx.publish(presence::TOPIC_CHANGED, &changed);
            }
            _ => {}
        }
    }

    fn nick(&self) -> String {
        self.me().and_then(|m| m.node().map(|n| n.as_str().to_string())).unwrap_or_else(|| "me".into())
    }

    /// Joins a room we belong to; `announce` also bookmarks it (a new membership).
    async fn enter_room(&mut self, room: BareJid, name: String, full_history: bool, announce: bool) {
        let nick = self.nick();
        let joined_at = self.rooms.get(&room).map(|r| r.joined_at).unwrap_or_else(now_ms);
        if let Some(store) = self.store.as_mut() {
            let _ = store.ensure_conversation(room.as_str(), &name, true);
            // The join time survives restarts: an ordinary group's history starts there.
            let key = format!("joined:{room}");
            match store.meta(&key).ok().flatten().and_then(|v| v.parse::<i64>().ok()) {
                Some(_) => {}
                None => {
                    let _ = store.set_meta(&key, Some(&joined_at.to_string()));
                }
            }
        }
        let joined_at = self
            .store
            .as_ref()
            .and_then(|s| s.meta(&format!("joined:{room}")).ok().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(joined_at);
        self.rooms.insert(
            room.clone(),
            Room {
                name: name.clone(),
                full_history,
                joined_at,
                present: false,
                occupants: HashMap::new(),
                affiliations: BTreeMap::new(),
                caught_up: false,
            },
        );
        self.send(stanzas::join(&room, &nick)).await;
        if announce {
            let id = stanzas::new_id();
            self.iqs.insert(id.clone(), PendingIq::RoomChange(format!("bookmarking {room}")));
            self.send(stanzas::iq_set(&id, None, stanzas::bookmark(&room, &name, &nick, full_history))).await;
        }
    }

    async fn on_bookmarks(&mut self, pubsub: &Element) {
        for (room, name, _nick, full) in stanzas::read_bookmarks(pubsub) {
            let name = name
                .or_else(|| self.rooms.get(&room).map(|r| r.name.clone()))
                .unwrap_or_else(|| "Group".into());
            self.enter_room(room, name, full, false).await;
        }
    }

    async fn on_room_presence(&mut self, room: &BareJid, p: &Presence) {
        let Some(nick) = p.from.as_ref().and_then(|f| f.resource().map(|r| r.to_string())) else { return };
        let x = p.payloads.iter().find(|e| e.is("x", ns::MUC_USER));
        let item = x.and_then(|x| x.get_child("item", ns::MUC_USER));
        let real = item.and_then(|i| i.attr("jid")).and_then(|j| j.parse::<Jid>().ok()).map(|j| j.to_bare());
        let affiliation = item.and_then(|i| i.attr("affiliation")).map(str::to_string);
        let codes: Vec<&str> = x
            .map(|x| {
                x.children().filter(|c| c.is("status", ns::MUC_USER)).filter_map(|c| c.attr("code")).collect()
            })
            .unwrap_or_default();
        let own = codes.contains(&"110") || nick == self.nick();
        let Some(r) = self.rooms.get_mut(room) else { return };
        if let (Some(real), Some(aff)) = (&real, &affiliation) {
            if aff == "none" || aff == "outcast" {
                r.affiliations.remove(real.as_str());
            } else {
                r.affiliations.insert(real.to_string(), aff.clone());
            }
        }
        match p.type_ {
            PresenceType::Unavailable => {
                r.occupants.remove(&nick);
                if own {
                    r.present = false;
                    // 321: removed from a members-only room; 301: banned.
                    if codes.contains(&"321") || codes.contains(&"301") {
                        self.ctx.info(format!("removed from the group {room}"));
                        self.forget_room(room).await;
                    }
                }
            }
            PresenceType::Error => {
                if own {
                    self.ctx.warn(format!("cannot enter the group {room}"));
                    r.present = false;
                }
            }
            _ => {
                r.occupants.insert(nick, real);
                if own && !r.present {
                    r.present = true;
                    let id = stanzas::new_id();
                    self.iqs.insert(id.clone(), PendingIq::Affiliations(room.clone()));
                    let to = Some(Jid::from(room.clone()));
                    self.send(stanzas::iq_get(&id, to.clone(), stanzas::affiliation_list("member"))).await;
                    for aff in ["owner", "admin"] {
                        let id = stanzas::new_id();
                        self.iqs.insert(id.clone(), PendingIq::Affiliations(room.clone()));
                        self.send(stanzas::iq_get(&id, to.clone(), stanzas::affiliation_list(aff))).await;
                    }
                    self.sync_room(room.clone()).await;
                }
            }
        }
    }

    /// We are out of the group: no rejoin, the conversation and its history stay.
    async fn forget_room(&mut self, room: &BareJid) {
        self.rooms.remove(room);
        self.sync_queue.retain(|r| r != room);
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::RoomChange(format!("removing the bookmark of {room}")));
        self.send(stanzas::iq_set(&id, None, stanzas::bookmark_retract(room))).await;
    }

    /// A group message (live or from the room's archive). Returns whether it is new.
    async fn on_group(
        &mut self,
        m: XmppMessage,
        source: Source,
        ts: i64,
        archive_id: Option<String>,
    ) -> bool {
        let Some(me) = self.me() else { return false };
        let Some(from) = m.from.clone() else { return false };
        let room = from.to_bare();
        let my_nick = self.nick();
        let Some(r) = self.rooms.get_mut(&room) else { return false };
        let nick = from.resource().map(|n| n.to_string()).unwrap_or_default();
        if let Some((_, subject)) = m.get_best_subject(vec![])
            && m.bodies.is_empty()
        {
            if !subject.trim().is_empty() {
                r.name = subject.clone();
                if let Some(store) = self.store.as_mut() {
                    let _ = store.rename(room.as_str(), subject);
                }
            }
            return false;
        }
        let real = m
            .payloads
            .iter()
            .find(|p| p.is("x", ns::MUC_USER))
            .and_then(|x| x.get_child("item", ns::MUC_USER))
            .and_then(|i| i.attr("jid"))
            .and_then(|j| j.parse::<Jid>().ok())
            .map(|j| j.to_bare())
            .or_else(|| r.occupants.get(&nick).cloned().flatten())
            .or_else(|| (nick == my_nick).then(|| me.clone()));
        let sender = real.as_ref().map(|j| j.to_string()).unwrap_or_else(|| format!("{room}/{nick}"));
        let outbound = real.as_ref() == Some(&me);
        let conversation = room.to_string();
        if self.apply_meta(&conversation, &sender, &m) {
            return false;
        }
        let files = stanzas::read_files(&m);
        let text = message_text(&m, &files);
        let body = text.as_str();
        if body.is_empty() && files.is_empty() {
            if source == Source::Live && !outbound {
                for p in m.payloads.iter().filter(|p| p.ns() == ns::CHATSTATES) {
                    self.set_typing(&conversation, &sender, p.name() == "composing");
                }
            }
            return false;
        }
        let id = stanzas::stable_id(&m).or_else(|| archive_id.clone()).unwrap_or_else(stanzas::new_id);
        let reply_to =
            stanzas::payload(&m, "reply", stanzas::REPLY).and_then(|r| r.attr("id")).map(str::to_string);
        let forwarded_from = stanzas::payload(&m, "forwarded-from", stanzas::UCDESK_FORWARD)
            .and_then(|f| f.attr("jid"))
            .map(str::to_string);
        let mentions_me = !outbound && stanzas::mentions_me(&m, body, &me);
        let mut stored = false;
        if let Some(store) = self.store.as_mut() {
            match store.insert(&Incoming {
                conversation: &conversation,
                id: &id,
                from: &sender,
                body,
                ts_ms: ts,
                direction: if outbound { Direction::Outbound } else { Direction::Inbound },
                state: MessageState::Delivered,
                archive_id: archive_id.as_deref(),
                reply_to: reply_to.as_deref(),
                forwarded_from: forwarded_from.as_deref(),
                mentions_me,
            }) {
                Ok(Some(new)) => {
                    stored = true;
                    self.announce(new, files.clone(), source, mentions_me);
                }
                Ok(None) => {}
                Err(e) => self.ctx.warn(format!("cannot store a group message: {e}")),
            }
        }
        if source == Source::Live
            && self.rooms.get(&room).is_some_and(|r| r.caught_up)
            && let (Some(aid), Some(store)) = (archive_id.as_deref(), self.store.as_mut())
        {
            let _ = store.set_meta(&format!("mam_last:{room}"), Some(aid));
        }
        if outbound {
            // The room's echo of our message: the group has it.
            self.advance(&conversation, &id, MessageState::Delivered);
        } else {
            self.set_typing(&conversation, &sender, false);
        }
        stored
    }

    async fn room_iq(&mut self, room: &BareJid, what: String, payload: Element) {
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::RoomChange(what));
        self.send(stanzas::iq_set(&id, Some(Jid::from(room.clone())), payload)).await;
    }

    fn group(&self, conversation: &str) -> Result<BareJid, String> {
        let room: BareJid = address(&conversation)?;
        if !self.rooms.contains_key(&room) {
            return Err(format!("{conversation} is not one of our groups"));
        }
        if !self.online {
            return Err("not connected: group changes need the server".into());
        }
        Ok(room)
    }

    fn contact_presence(&self, jid: &BareJid) -> PresenceChanged {
        let Some(c) = self.contacts.get(jid) else { return offline(jid.as_str()) };
        // The most available resource speaks for the person.
        let rank = |s: Status| match s {
            Status::Available => 0,
            Status::Busy => 1,
            Status::Dnd => 2,
            Status::Away => 3,
            Status::Offline => 4,
        };
        let best = c.resources.values().min_by_key(|r| rank(r.0));
        let mut devices: Vec<Device> = c.resources.values().filter_map(|r| r.2).collect();
        devices.sort();
        devices.dedup();
        PresenceChanged {
            jid: jid.to_string(),
            me: false,
            status: best.map(|b| b.0).unwrap_or(Status::Offline),
            message: best.and_then(|b| b.1.clone()),
            devices,
            on_call: c.resources.values().any(|r| r.3),
            last_active: if best.is_none() { c.last_active.map(crate::store::rfc3339) } else { None },
            expires: None,
        }
    }

    fn my_presence(&self) -> PresenceChanged {
        PresenceChanged {
            jid: self.me().map(|j| j.to_string()).unwrap_or_default(),
            me: true,
            status: if self.online { self.mine.status } else { Status::Offline },
            message: self.mine.message.clone(),
            devices: if self.online { vec![Device::Desktop] } else { Vec::new() },
            on_call: self.mine.on_call,
            last_active: None,
            expires: self.mine.expires_at.map(crate::store::rfc3339),
        }
    }

    async fn send_presence(&mut self) {
        let p = if self.mine.status == Status::Offline {
            // "Appear offline": unavailable, but the session stays to receive messages.
            Presence::unavailable()
        } else {
            let (show, ext) = stanzas::presence_payload(self.mine.status, self.mine.on_call);
            let mut p = Presence::available();
            p.show = match show {
                Some("away") => Some(Show::Away),
                Some("dnd") => Some(Show::Dnd),
                _ => None,
            };
            if let Some(msg) = &self.mine.message {
                p.set_status("", msg.as_str());
            }
            p.payloads.push(ext);
            p
        };
        self.send(p).await;
        let mine = self.my_presence();
        self.ctx.publish(presence::TOPIC_CHANGED, &mine);
    }

    /// "Away from desktop when inactive for N minutes" (`chat.away_when_idle`, minutes,
    /// 0 off). Only an Available user goes away, and only that away comes back by
    /// itself: a status the user chose stays.
    async fn on_activity(&mut self, idle_secs: u64) {
        let minutes: u64 = self.ctx.setting("away_when_idle").unwrap_or(0);
        if minutes == 0 {
            return;
        }
        if !self.idle_away && self.mine.status == Status::Available && idle_secs >= minutes * 60 {
            self.idle_away = true;
            self.mine.status = Status::Away;
            self.send_presence().await;
        } else if self.idle_away && idle_secs < minutes * 60 {
            self.idle_away = false;
            if self.mine.status == Status::Away {
                self.mine.status = Status::Available;
                self.send_presence().await;
            }
        }
    }

    async fn tick(&mut self) {
        // An upload service that never answers (a wrong address can vanish into
        // server-to-server routing): the file fails and can be retried.
        let stale: Vec<String> = self
            .iqs
            .iter()
            .filter(|(_, p)| matches!(p, PendingIq::Slot { since, .. } if since.elapsed() > SLOT_TIMEOUT))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(PendingIq::Slot { conversation, id, file, .. }) = self.iqs.remove(&key) {
                let result =
                    Err(format!("the upload service did not answer within {} s", SLOT_TIMEOUT.as_secs()));
                self.on_uploaded(conversation, id, file, result).await;
            }
        }
        if let Some(at) = self.mine.expires_at
            && now_ms() >= at
        {
            self.mine = Mine {
                status: Status::Available,
                message: None,
                expires_at: None,
                on_call: self.mine.on_call,
            };
            self.send_presence().await;
        }
        let stale: Vec<(String, String)> = self
            .typing
            .iter()
            .flat_map(|(c, who)| {
                who.iter()
                    .filter(|(_, since)| since.elapsed() > TYPING_TIMEOUT)
                    .map(move |(w, _)| (c.clone(), w.clone()))
            })
            .collect();
        for (c, w) in stale {
            self.set_typing(&c, &w, false);
        }
    }

    async fn on_request(&mut self, req: Request) -> Result<Value, String> {
        match req {
            Request::Send(s) => self.send_message(s, None, Vec::new()).await.map(|m| json!(m)),
            Request::History(q) => {
                let store = self.store()?;
                let (messages, first_unread) = store
                    .history(&q.conversation, q.before.as_deref(), q.limit.min(1000))
                    .map_err(|e| e.to_string())?;
                Ok(json!(History { messages, first_unread }))
            }
            Request::Search(q) => {
                let (conversations, messages) =
                    self.store()?.search(&q.query, q.limit.min(1000)).map_err(|e| e.to_string())?;
                Ok(json!(SearchResults { conversations, messages }))
            }
            Request::Conversations => Ok(json!(self.store()?.conversations().map_err(|e| e.to_string())?)),
            Request::MarkRead(c) => {
                let last = self.store_mut()?.mark_read(&c).map_err(|e| e.to_string())?;
                let group = c.parse::<BareJid>().is_ok_and(|r| self.rooms.contains_key(&r));
                if let Some((id, sender)) = last {
                    if group {
                        // In a group the marker goes to the room: message info shows
                        // who has seen what.
                        if let Ok(room) = c.parse::<BareJid>() {
                            self.send(stanzas::group_marker(&room, &id)).await;
                        }
                    } else if let Ok(to) = sender.parse::<BareJid>() {
                        self.send(stanzas::marker(
                            &Jid::from(to),
                            Marker::Displayed,
                            &id,
                            &stanzas::new_id(),
                        ))
                        .await;
                    }
                }
                Ok(Value::Null)
            }
            Request::MarkUnread(c) => {
                self.store_mut()?.mark_unread(&c).map(|_| Value::Null).map_err(|e| e.to_string())
            }
            Request::MarkAllRead => {
                let ids: Vec<String> = self
                    .store()?
                    .conversations()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|c| c.unread > 0)
                    .map(|c| c.id)
                    .collect();
                for c in ids {
                    Box::pin(self.on_request(Request::MarkRead(c))).await?;
                }
                Ok(Value::Null)
            }
            Request::Close(c) => self.flag(&c, Flag::Closed, true),
            Request::Reopen(c) => self.flag(&c, Flag::Closed, false),
            Request::CloseAll => {
                self.store_mut()?.close_all().map(|_| Value::Null).map_err(|e| e.to_string())
            }
            Request::Mute(c, on) => self.flag(&c, Flag::Muted, on),
            Request::PinConversation(c, at) => {
                self.store_mut()?.pin(&c, at).map(|_| Value::Null).map_err(|e| e.to_string())
            }
            Request::Typing { conversation, composing } => {
                let enabled: bool = self.ctx.setting("typing_notifications").unwrap_or(true);
                let to = address(&conversation)?;
                if !enabled || !self.online {
                    return Ok(Value::Null);
                }
                let due = self.my_typing.get(&conversation).is_none_or(|t| t.elapsed() > TYPING_REPEAT);
                let group = self.rooms.contains_key(&to);
                if composing && due {
                    self.my_typing.insert(conversation, Instant::now());
                    self.send(stanzas::chat_state(&to, "composing", group)).await;
                } else if !composing && self.my_typing.remove(&conversation).is_some() {
                    self.send(stanzas::chat_state(&to, "paused", group)).await;
                }
                Ok(Value::Null)
            }
            Request::AddContact(jid) => {
                let bare: BareJid = address(&jid)?;
                self.contacts.entry(bare.clone()).or_default();
                self.store_mut()?
                    .ensure_conversation(
                        bare.as_str(),
                        bare.node().map(|n| n.as_str()).unwrap_or(bare.as_str()),
                        false,
                    )
                    .map_err(|e| e.to_string())?;
                self.send(Presence::subscribe().with_to(Jid::from(bare))).await;
                Ok(Value::Null)
            }
            Request::SetPresence(set) => {
                if set.status.is_some() {
                    self.idle_away = false;
                }
                if let Some(status) = set.status {
                    self.mine.status = status;
                    self.mine.message = set.message.filter(|m| !m.trim().is_empty());
                    self.mine.expires_at =
                        set.expires_in.filter(|s| *s > 0).map(|s| now_ms() + s as i64 * 1000);
                }
                if let Some(on_call) = set.on_call {
                    self.mine.on_call = on_call;
                }
                if self.online {
                    self.send_presence().await;
                } else {
                    let mine = self.my_presence();
                    self.ctx.publish(presence::TOPIC_CHANGED, &mine);
                }
                Ok(json!(self.my_presence()))
            }
            Request::Presences => {
                let mut all: Vec<PresenceChanged> =
                    self.contacts.keys().map(|j| self.contact_presence(j)).collect();
                all.insert(0, self.my_presence());
                Ok(json!(all))
            }
            Request::Resync => {
                if !self.online {
                    return Err("not connected: history syncs when the connection is back".into());
                }
                self.start_sync(true).await;
                Ok(Value::Null)
            }
            Request::Outbox => Ok(json!(self.store()?.outbox().map_err(|e| e.to_string())?)),
            Request::Retry(conversation, id) => {
                let m = self
                    .store()?
                    .message(&conversation, &id)
                    .map_err(|e| e.to_string())?
                    .ok_or("no such message")?;
                if m.direction != Direction::Outbound || m.state != MessageState::Pending {
                    return Err("only a message of ours still waiting can be retried".into());
                }
                if !self.online {
                    return Err("not connected: it goes by itself when the connection is back".into());
                }
                self.start_uploads(&m).await;
                if m.files.iter().all(|f| f.state == TransferState::Uploaded) && !self.pushed.contains(&m.id)
                {
                    self.push(&m).await;
                }
                Ok(Value::Null)
            }
            Request::MessageInfo(conversation, id) => {
                let room: BareJid = conversation.parse().map_err(|e| format!("{conversation:?}: {e}"))?;
                let r = self.rooms.get(&room).ok_or("message info is for group chats")?;
                let store = self.store()?;
                let m =
                    store.message(&conversation, &id).map_err(|e| e.to_string())?.ok_or("no such message")?;
                let seen = store.seen_list(&conversation, &id).map_err(|e| e.to_string())?;
                let members: Vec<String> = r.affiliations.keys().filter(|j| **j != m.from).cloned().collect();
                let not_seen: Vec<String> = members.iter().filter(|j| !seen.contains(j)).cloned().collect();
                Ok(json!({"id": id, "from": m.from, "seen_by": seen, "not_seen": not_seen}))
            }
            Request::Activity(idle) => {
                self.on_activity(idle).await;
                Ok(json!(self.my_presence()))
            }
            Request::Open(open) => {
                self.open = open;
                Ok(Value::Null)
            }
            Request::Download(f) => {
                self.start_download(&f.conversation, &f.id, f.file)?;
                Ok(Value::Null)
            }
            Request::Status => {
                let mut c = self.connection.clone();
                c.outbox = self.outbox_len();
                Ok(json!(c))
            }
            Request::React(r) => {
                let to =
                    self.group(&r.conversation).map_err(|_| "reactions are for group chats".to_string())?;
                let me = self.me().ok_or("chat is not set up")?;
                let store = self.store_mut()?;
                store.message(&r.conversation, &r.id).map_err(|e| e.to_string())?.ok_or("no such message")?;
                let mut set =
                    store.reactions_of(&r.conversation, &r.id, me.as_str()).map_err(|e| e.to_string())?;
                set.retain(|e| e != &r.reaction);
                if !r.remove {
                    if r.reaction.is_empty() || r.reaction.chars().count() > 8 {
                        return Err("a reaction is one emoji".into());
                    }
                    set.push(r.reaction.clone());
                }
                let updated =
                    store.react(&r.conversation, &r.id, me.as_str(), &set).map_err(|e| e.to_string())?;
                self.send(stanzas::reactions(&to, true, &r.id, &set)).await;
                if let Some(m) = &updated {
                    self.ctx.publish(contract::TOPIC_MESSAGE, m);
                }
                Ok(json!(updated))
            }
            Request::Delete(d) => {
                let me = self.me().ok_or("chat is not set up")?;
                let msg = self
                    .store()?
                    .message(&d.conversation, &d.id)
                    .map_err(|e| e.to_string())?
                    .ok_or("no such message")?;
                if !d.for_everyone {
                    self.store_mut()?.delete_local(&d.conversation, &d.id).map_err(|e| e.to_string())?;
                    return Ok(Value::Null);
                }
                if msg.from != me.as_str() {
                    return Err("only your own messages can be deleted for everyone".into());
                }
                if !self.online {
                    return Err("not connected: deleting for everyone needs the server".into());
                }
                let to: BareJid = d.conversation.parse().map_err(|e| format!("{e}"))?;
                let group = self.rooms.contains_key(&to);
                self.send(stanzas::retract(&to, group, &d.id)).await;
                let _ = self.store_mut()?.outbox_remove(&d.id);
                let updated = self
                    .store_mut()?
                    .retract(&d.conversation, &d.id, me.as_str())
                    .map_err(|e| e.to_string())?;
                if let Some(m) = &updated {
                    self.ctx.publish(contract::TOPIC_MESSAGE, m);
                }
                Ok(json!(updated))
            }
            Request::PinMessage(p) => {
                if !self.online {
                    return Err("not connected: pinning needs the server".into());
                }
                let to: BareJid = p.conversation.parse().map_err(|e| format!("{e}"))?;
                if let Some(id) = &p.id {
                    self.store()?
                        .message(&p.conversation, id)
                        .map_err(|e| e.to_string())?
                        .ok_or("no such message")?;
                }
                let group = self.rooms.contains_key(&to);
                self.send(stanzas::pin(&to, group, p.id.as_deref())).await;
                self.store_mut()?.pin_message(&p.conversation, p.id.as_deref()).map_err(|e| e.to_string())?;
                Ok(Value::Null)
            }
            Request::Forward(f) => {
                if f.to.is_empty() || f.to.len() > contract::MAX_FORWARD_TARGETS {
                    return Err(format!(
                        "a message can be forwarded to 1 to {} conversations",
                        contract::MAX_FORWARD_TARGETS
                    ));
                }
                let msg = self
                    .store()?
                    .message(&f.conversation, &f.id)
                    .map_err(|e| e.to_string())?
                    .ok_or("no such message")?;
                if msg.deleted {
                    return Err("the message was deleted".into());
                }
                let author = msg.forwarded_from.clone().unwrap_or(msg.from.clone());
                // The files go along by address: they are on the server already.
                let files: Vec<contract::Attachment> = msg
                    .files
                    .iter()
                    .filter(|f| f.url.is_some())
                    .map(|f| contract::Attachment { state: TransferState::Uploaded, path: None, ..f.clone() })
                    .collect();
                let mut sent = Vec::new();
                for to in f.to {
                    let s = contract::Send { to, body: msg.body.clone(), reply_to: None, files: Vec::new() };
                    sent.push(self.send_message(s, Some(&author), files.clone()).await?);
                }
                Ok(json!(sent))
            }
            Request::CreateGroup(g) => {
                if !self.online {
                    return Err("not connected: creating a group needs the server".into());
                }
                let me = self.me().ok_or("chat is not set up")?;
                let domain = self
                    .ctx
                    .setting::<String>("conference_domain")
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| format!("conference.{}", me.domain()));
                let participants = parse_jids(&g.participants)?;
                let room: BareJid = format!("{}@{domain}", &stanzas::new_id()[..13])
                    .parse()
                    .map_err(|e| format!("conference domain {domain:?}: {e}"))?;
                let name = g.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Group".to_string());
                self.enter_room(room.clone(), name.clone(), g.full_history, true).await;
                // The room exists (unlocked) once our join is processed; the server
                // handles our stanzas in order.
                self.room_iq(&room, format!("configuring {room}"), stanzas::room_config(&name)).await;
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.affiliations.insert(me.to_string(), "owner".into());
                }
                self.send(stanzas::subject(&room, &name)).await;
                self.invite(&room, &participants).await;
                let conv = self.store()?.conversations().map_err(|e| e.to_string())?;
                Ok(json!(conv.into_iter().find(|c| c.id == room.as_str())))
            }
            Request::AddParticipants(a) => {
                let room = self.group(&a.conversation)?;
                let participants = parse_jids(&a.participants)?;
                self.invite(&room, &participants).await;
                Ok(Value::Null)
            }
            Request::RemoveParticipant(p) => {
                let room = self.group(&p.conversation)?;
                let jid: BareJid = address(&p.jid)?;
                self.room_iq(
                    &room,
                    format!("removing {jid} from {room}"),
                    stanzas::affiliation(jid.as_str(), "none"),
                )
                .await;
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.affiliations.remove(jid.as_str());
                }
                Ok(Value::Null)
            }
            Request::MakeAdmin(p) => {
                let room = self.group(&p.conversation)?;
                let me = self.me().ok_or("chat is not set up")?;
                let jid: BareJid = address(&p.jid)?;
                self.room_iq(
                    &room,
                    format!("making {jid} admin of {room}"),
                    stanzas::affiliation(jid.as_str(), "owner"),
                )
                .await;
                self.room_iq(
                    &room,
                    format!("handing over {room}"),
                    stanzas::affiliation(me.as_str(), "member"),
                )
                .await;
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.affiliations.insert(jid.to_string(), "owner".into());
                    r.affiliations.insert(me.to_string(), "member".into());
                }
                Ok(Value::Null)
            }
            Request::Rename(r) => {
                let room = self.group(&r.conversation)?;
                let name = r.name.trim().to_string();
                if name.is_empty() {
                    return Err("a group needs a name".into());
                }
                self.room_iq(&room, format!("renaming {room}"), stanzas::room_config(&name)).await;
                self.send(stanzas::subject(&room, &name)).await;
                let (full, nick) = (self.rooms.get(&room).is_some_and(|r| r.full_history), self.nick());
                let id = stanzas::new_id();
                self.iqs.insert(id.clone(), PendingIq::RoomChange(format!("bookmarking {room}")));
                self.send(stanzas::iq_set(&id, None, stanzas::bookmark(&room, &name, &nick, full))).await;
                if let Some(x) = self.rooms.get_mut(&room) {
                    x.name = name.clone();
                }
                self.store_mut()?.rename(room.as_str(), &name).map_err(|e| e.to_string())?;
                Ok(Value::Null)
            }
            Request::Leave(c) => {
                let room = self.group(&c)?;
                let me = self.me().ok_or("chat is not set up")?;
                // The last admin leaving hands the role on first (to the first member by
                // address): a group is never left without one by our clients.
                let successor = self.rooms.get(&room).and_then(|r| {
                    let admins =
                        r.affiliations.iter().filter(|(_, a)| *a == "owner" || *a == "admin").count();
                    let i_am = matches!(
                        r.affiliations.get(me.as_str()).map(String::as_str),
                        Some("owner" | "admin")
                    );
                    (i_am && admins == 1)
                        .then(|| r.affiliations.keys().find(|j| **j != me.as_str()).cloned())
                        .flatten()
                });
                if let Some(next) = successor {
                    self.room_iq(
                        &room,
                        format!("handing {room} to {next}"),
                        stanzas::affiliation(&next, "owner"),
                    )
                    .await;
                }
                // An admin leaving also leaves the member list (the server allows it once
                // another owner exists). A member cannot drop their own membership in
                // XMPP: they leave the room and its bookmark, and stay listed until an
                // admin removes them.
                let i_am_admin = self.rooms.get(&room).is_some_and(|r| {
                    matches!(r.affiliations.get(me.as_str()).map(String::as_str), Some("owner" | "admin"))
                });
                if i_am_admin {
                    self.room_iq(
                        &room,
                        format!("leaving the members of {room}"),
                        stanzas::affiliation(me.as_str(), "none"),
                    )
                    .await;
                }
                let nick = self.nick();
                self.send(stanzas::leave(&room, &nick)).await;
                self.forget_room(&room).await;
                let _ = self.store_mut()?.set_flag(room.as_str(), Flag::Closed, true);
                Ok(Value::Null)
            }
            Request::AssignMyself(c) => {
                let room = self.group(&c)?;
                let me = self.me().ok_or("chat is not set up")?;
                let r = self.rooms.get(&room).ok_or("not one of our groups")?;
                if r.affiliations.values().any(|a| a == "owner" || a == "admin") {
                    return Err("the group has an admin; ask them".into());
                }
                // Only the server can grant this in XMPP (its administrators own every
                // room); when it refuses, the log says so.
                self.room_iq(
                    &room,
                    format!("assigning myself admin of {room}"),
                    stanzas::affiliation(me.as_str(), "owner"),
                )
                .await;
                Ok(json!({"requested": true}))
            }
            Request::Participants(c) => {
                let room: BareJid = address(&c)?;
                let r = self.rooms.get(&room).ok_or_else(|| format!("{c} is not one of our groups"))?;
                let present: HashSet<String> =
                    r.occupants.values().flatten().map(|j| j.to_string()).collect();
                let list: Vec<contract::Participant> = r
                    .affiliations
                    .iter()
                    .map(|(jid, aff)| contract::Participant {
                        jid: jid.clone(),
                        admin: aff == "owner" || aff == "admin",
                        present: present.contains(jid),
                    })
                    .collect();
                Ok(json!(list))
            }
        }
    }

    /// Asks for an upload slot for each file of `m` not yet on the server.
    async fn start_uploads(&mut self, m: &Message) {
        let Some(me) = self.me() else { return };
        let service = self
            .ctx
            .setting::<String>("upload_service")
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| format!("upload.{}", me.domain()));
        let Ok(service) = service.parse::<Jid>() else {
            self.ctx.warn(format!("chat.upload_service {service:?} is not an address"));
            return;
        };
        for (i, f) in m.files.iter().enumerate() {
            let key = (m.conversation.clone(), m.id.clone(), i as u32);
            if f.state == TransferState::Uploaded || self.transfers.contains(&key) {
                continue;
            }
            if f.state == TransferState::Failed
                && let Some(store) = self.store.as_mut()
            {
                let _ =
                    store.update_file(&m.conversation, &m.id, i as u32, TransferState::Uploading, None, None);
            }
            self.transfers.insert(key);
            let id = stanzas::new_id();
            self.iqs.insert(
                id.clone(),
                PendingIq::Slot {
                    conversation: m.conversation.clone(),
                    id: m.id.clone(),
                    file: i as u32,
                    since: Instant::now(),
                },
            );
            self.send(stanzas::iq_get(
                &id,
                Some(service.clone()),
                stanzas::slot_request(&f.name, f.size, &f.mime),
            ))
            .await;
        }
    }

    /// PUTs one file to its slot on the blocking pool; the result comes back as a Msg.
    fn put_file(
        &mut self,
        conversation: String,
        id: String,
        file: u32,
        slot: (String, Vec<(String, String)>, String),
    ) {
        let Some(store) = self.store.as_ref() else { return };
        let Some(f) =
            store.files_of(&conversation, &id).ok().and_then(|fs| fs.into_iter().nth(file as usize))
        else {
            return;
        };
        let Some(path) = f.path.clone() else { return };
        let (tx, ctx) = (self.tx.clone(), self.ctx.clone());
        let ca = self.account.as_ref().map(|a| a.tls.ca_file.clone()).unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let (put, headers, get) = slot;
            let mut progress = |done: u64, total: u64| {
                let t = contract::Transfer {
                    conversation: conversation.clone(),
                    id: id.clone(),
                    file,
                    done,
                    total,
                    state: TransferState::Uploading,
                };
                ctx.publish(contract::TOPIC_TRANSFER, &t);
            };
            let path = std::path::Path::new(&path);
            let thumbnail = crate::transfer::thumbnail(path, &f.mime);
            let result =
                crate::transfer::upload(path, &put, &headers, &f.mime, &ca, &mut progress).map(|()| get);
            let _ = tx.send(Msg::Uploaded { conversation, id, file, result, thumbnail });
        });
    }

    async fn on_uploaded(
        &mut self,
        conversation: String,
        id: String,
        file: u32,
        result: Result<String, String>,
    ) {
        self.transfers.remove(&(conversation.clone(), id.clone(), file));
        let Some(store) = self.store.as_mut() else { return };
        let state = match &result {
            Ok(url) => {
                let _ = store.update_file(&conversation, &id, file, TransferState::Uploaded, Some(url), None);
                TransferState::Uploaded
            }
            Err(e) => {
                self.ctx.warn(format!("uploading a file to {conversation}: {e}"));
                let _ = store.update_file(&conversation, &id, file, TransferState::Failed, None, None);
                TransferState::Failed
            }
        };
        let Ok(Some(m)) = store.message(&conversation, &id) else { return };
        let size = m.files.get(file as usize).map(|f| f.size).unwrap_or(0);
        let done = if state == TransferState::Uploaded { size } else { 0 };
        self.ctx.publish(
            contract::TOPIC_TRANSFER,
            &contract::Transfer {
                conversation: conversation.clone(),
                id: id.clone(),
                file,
                done,
                total: size,
                state,
            },
        );
        if m.files.iter().all(|f| f.state == TransferState::Uploaded)
            && self.online
            && !self.pushed.contains(&m.id)
        {
            self.push(&m).await;
        }
        self.ctx.publish(contract::TOPIC_MESSAGE, &m);
    }

    /// Downloads one received file into the plugin's data dir, on the blocking pool.
    fn start_download(&mut self, conversation: &str, id: &str, file: u32) -> Result<(), String> {
        let key = (conversation.to_string(), id.to_string(), file);
        if self.transfers.contains(&key) {
            return Ok(());
        }
        let store = self.store.as_mut().ok_or("the chat store could not be opened")?;
        let f = store
            .files_of(conversation, id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .nth(file as usize)
            .ok_or("no such file")?;
        let url = f.url.clone().ok_or("the file has no address")?;
        let _ = store.update_file(conversation, id, file, TransferState::Downloading, None, None);
        self.transfers.insert(key);
        let dir = self.ctx.data_dir().join("files").join(crate::transfer::safe_name(id));
        let (tx, ctx) = (self.tx.clone(), self.ctx.clone());
        let ca = self.account.as_ref().map(|a| a.tls.ca_file.clone()).unwrap_or_default();
        let (conversation, id) = (conversation.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || {
            let mut progress = |done: u64, total: u64| {
                let t = contract::Transfer {
                    conversation: conversation.clone(),
                    id: id.clone(),
                    file,
                    done,
                    total,
                    state: TransferState::Downloading,
                };
                ctx.publish(contract::TOPIC_TRANSFER, &t);
            };
            let result = crate::transfer::download(&url, &dir, &f.name, &ca, &mut progress)
                .map(|p| p.display().to_string());
            let _ = tx.send(Msg::Downloaded { conversation, id, file, result });
        });
        Ok(())
    }

    /// Records a received message's files and fetches the small ones.
    fn receive_files(&mut self, m: &mut Message, files: Vec<stanzas::FileInfo>) {
        let list: Vec<contract::Attachment> = files
            .into_iter()
            .map(|f| contract::Attachment {
                name: crate::transfer::safe_name(&f.name),
                size: f.size,
                mime: f.mime,
                url: Some(f.url),
                path: None,
                state: TransferState::Remote,
                thumbnail: f.thumbnail,
            })
            .collect();
        let Some(store) = self.store.as_mut() else { return };
        if store.set_files(&m.conversation, &m.id, &list).is_err() {
            return;
        }
        for (i, f) in list.iter().enumerate() {
            if f.size > 0 && f.size <= contract::AUTO_DOWNLOAD_BYTES {
                let _ = self.start_download(&m.conversation, &m.id, i as u32);
            }
        }
        m.files = self.store.as_ref().and_then(|s| s.files_of(&m.conversation, &m.id).ok()).unwrap_or(list);
    }

    /// Makes each a member of the room and sends them a direct invitation.
    async fn invite(&mut self, room: &BareJid, participants: &[BareJid]) {
        let (name, full) = self.rooms.get(room).map(|r| (r.name.clone(), r.full_history)).unwrap_or_default();
        for p in participants {
            self.room_iq(room, format!("adding {p} to {room}"), stanzas::affiliation(p.as_str(), "member"))
                .await;
            if let Some(r) = self.rooms.get_mut(room) {
                r.affiliations.entry(p.to_string()).or_insert_with(|| "member".into());
            }
            self.send(stanzas::invite(p, room, &name, full)).await;
        }
    }

    fn flag(&mut self, c: &str, flag: Flag, on: bool) -> Result<Value, String> {
        match self.store_mut()?.set_flag(c, flag, on) {
            Ok(true) => Ok(Value::Null),
            Ok(false) => Err(format!("no conversation {c}")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn outbox_len(&self) -> u32 {
        self.store.as_ref().and_then(|s| s.outbox_count().ok()).unwrap_or(0)
    }

    fn store(&self) -> Result<&Store, String> {
        self.store.as_ref().ok_or_else(|| "the chat store could not be opened (see the log)".to_string())
    }

    fn store_mut(&mut self) -> Result<&mut Store, String> {
        self.store.as_mut().ok_or_else(|| "the chat store could not be opened (see the log)".to_string())
    }

    /// Stores and sends a message. `uploaded` are files already on a server (a
    /// forward): they go with the message as they are.
    async fn send_message(
        &mut self,
        s: contract::Send,
        forwarded_from: Option<&str>,
        uploaded: Vec<contract::Attachment>,
    ) -> Result<Message, String> {
        let chars = s.body.chars().count();
        if chars > contract::MAX_BODY_CHARS {
            return Err(format!(
                "the message is {chars} characters long; the limit is {}",
                contract::MAX_BODY_CHARS
            ));
        }
        if s.body.trim().is_empty() && s.files.is_empty() && uploaded.is_empty() {
            return Err("the message is empty".into());
        }
        if s.files.len() > contract::MAX_FILES_PER_SEND {
            return Err(format!(
                "{} files: at most {} can go in one message",
                s.files.len(),
                contract::MAX_FILES_PER_SEND
            ));
        }
        let mut files = uploaded;
        for f in &s.files {
            let meta = std::fs::metadata(f).map_err(|e| format!("cannot attach {f}: {e}"))?;
            if !meta.is_file() {
                return Err(format!("cannot attach {f}: not a file"));
            }
            let name = crate::transfer::safe_name(f);
            files.push(contract::Attachment {
                mime: crate::transfer::mime_of(&name).to_string(),
                name,
                size: meta.len(),
                url: None,
                path: Some(f.clone()),
                state: contract::TransferState::Uploading,
                thumbnail: None,
            });
        }
        let to = address(&s.to)?;
        if to.node().is_none() {
            return Err(format!("{to} is not a person's or room's address (user@domain)"));
        }
        let me = match (&self.account, self.connection.state) {
            (None, _) => return Err("chat is not set up: set chat.jid and chat.password".into()),
            (Some(_), ConnectionState::AuthFailed) => {
                return Err("the chat server refused the login; fix the password to send".into());
            }
            (Some(_), ConnectionState::UntrustedCertificate) => {
                return Err(
                    "the chat server's certificate is not trusted; accept it or fix the server to send"
                        .into(),
                );
            }
            (Some(a), _) => a.jid.clone(),
        };
        let id = stanzas::new_id();
        let conversation = to.to_string();
        let sender = me.to_string();
        let store = self.store_mut()?;
        let message = store
            .insert(&Incoming {
                conversation: &conversation,
                id: &id,
                from: &sender,
                body: &s.body,
                ts_ms: now_ms(),
                direction: Direction::Outbound,
                state: MessageState::Pending,
                archive_id: None,
                reply_to: s.reply_to.as_deref(),
                forwarded_from,
                mentions_me: false,
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "a message with this id exists".to_string())?;
        let mut message = message;
        if !files.is_empty() {
            store.set_files(&conversation, &id, &files).map_err(|e| e.to_string())?;
            message.files = files;
        }
        store.outbox_add(&id, &conversation).map_err(|e| e.to_string())?;
        self.my_typing.remove(&conversation);
        if self.online {
            // Files go first; the message follows when the last one is on the server.
            if message.files.iter().all(|f| f.state == TransferState::Uploaded) {
                self.push(&message).await;
            } else {
                self.start_uploads(&message).await;
            }
        }
        self.ctx.publish(contract::TOPIC_MESSAGE, &message);
        Ok(message)
    }

    fn refresh(&mut self) {
        // A history page's transaction never outlives the sync (lost connection).
        if self.sync.is_none()
            && let Some(store) = self.store.as_mut()
        {
            let _ = store.commit();
        }
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
            open: self.open.as_ref().map(|o| o.0.clone()),
            open_messages: Vec::new(),
            first_unread: None,
            custom_statuses: custom_statuses(&self.ctx),
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
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = snap;
        (self.on_change)();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Live,
    Carbon,
    Archive,
}

fn parse_jids(list: &[String]) -> Result<Vec<BareJid>, String> {
    list.iter()
        .map(|j| {
            let jid = address(j)?;
            if jid.node().is_none() {
                return Err(format!("{jid} is not a person's address (user@domain)"));
            }
            Ok(jid)
        })
        .collect()
}

/// A message's text. When it carries files, links in the body that only repeat the
/// files' addresses (the fallback for clients without file support) are not text.
fn message_text(m: &XmppMessage, files: &[stanzas::FileInfo]) -> String {
    let text = m.get_best_body(vec![]).map(|(_, b)| b.clone()).unwrap_or_default();
    if !files.is_empty() {
        let urls: Vec<&str> = files.iter().map(|f| f.url.as_str()).collect();
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.iter().all(|l| urls.contains(l)) {
            return String::new();
        }
    }
    text
}

/// `chat.statuses` entries are `Label|status` (status one of available, away, busy,
/// dnd; a bare label means busy). Malformed entries are skipped.
fn custom_statuses(ctx: &Context) -> Vec<(String, Status)> {
    let list: Vec<String> = ctx.setting("statuses").unwrap_or_default();
    list.iter()
        .filter_map(|e| {
            let (label, status) = e.split_once('|').unwrap_or((e.as_str(), "busy"));
            let status = match status.trim() {
                "available" => Status::Available,
                "away" => Status::Away,
                "busy" => Status::Busy,
                "dnd" => Status::Dnd,
                _ => return None,
            };
            let label = label.trim();
            (!label.is_empty()).then(|| (label.to_string(), status))
        })
        .collect()
}

/// A bare address typed by a user or sent by another plugin, or an error naming it.
fn address(s: &str) -> Result<BareJid, String> {
    s.trim().parse().map_err(|e| format!("{s:?} is not an address: {e}"))
}
