//! The session: logging in (a new connection per account change), the connection's
//! lifecycle as the views see it, and what each new stream needs: presence, carbons,
//! the roster, bookmarks, the archive catch-up and the outbox. Stream management
//! (acks, resumption, reconnecting) is tokio-xmpp's; this reacts to what it reports.

use super::{Core, Msg, PendingIq};
use crate::config::Config;
use crate::stanzas;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_xmpp::Stanza;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::parsers::stanza_error::DefinedCondition;
use tokio_xmpp::stanzastream::{Event as StreamEvent, StreamEvent as Link};
use ucdesk_sdk::contract::chat::{self as contract, Connection, ConnectionState};
use ucdesk_sdk::prelude::*;
use ucdesk_xmpp::connection;

/// How long a session may stay `connecting` after its login before it is started anew.
const STUCK: Duration = Duration::from_secs(45);
/// How long a login that went through may wait for its session (resumed or bound).
const SESSION_SETUP: Duration = Duration::from_secs(15);
/// Logins in a row that went through with no session coming up on any.
const LOGINS_WITHOUT_SESSION: u32 = 3;

impl Core {
    /// A new configuration: the preferences apply at once; the connection starts over
    /// only when the account (or how to reach it) changed.
    pub(super) async fn reconfigure(&mut self, config: Config) {
        let Config { account, prefs } = config;
        self.prefs = prefs;
        let same = match (&account, &self.account) {
            (Ok(a), Some(b)) => ucdesk_xmpp::account::same(a, b),
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
            Ok(account) => self.start_stream(account),
        }
    }

    fn start_stream(&mut self, account: connection::Account) {
        self.generation += 1;
        let (generation, tx) = (self.generation, self.tx.clone());
        // A closed mailbox means the engine is gone: nothing to tell.
        let report = move |s| {
            let _ = tx.send(Msg::Link(generation, s));
        };
        self.connection.server = Some(account.server());
        self.retry = Arc::new(Notify::new());
        self.stream = Some(connection::start(account.clone(), report, self.retry.clone()));
        self.account = Some(account);
    }

    /// A login that succeeded but whose session never came up (seen with an ejabberd
    /// cluster: a resumption asked of the node that took over from a dead one goes
    /// unanswered) would leave us offline for good. Each login attempt reports, and gives
    /// up after 30 s; with no report for [`STUCK`] since the stream was lost or an attempt
    /// began, it is the session: start over with a fresh stream (no resumption; the
    /// outbox sends again what the server never acknowledged, and receivers drop what
    /// they already have by its id).
    pub(super) async fn unstick(&mut self) {
        // Once a login went through, the session is one round trip away: waiting
        // [`SESSION_SETUP`] for it is plenty. The stream retrying its resumption on
        // every new login (ejabberd refuses at once to resume a session of a dead
        // node's, and the retries go round twenty times a second) is given up after
        // [`LOGINS_WITHOUT_SESSION`] logins: a cluster failover then takes a second or
        // two instead of 50.
        let session_lost = self.session_since.is_some_and(|t| t.elapsed() > SESSION_SETUP)
            || self.logins_without_session >= LOGINS_WITHOUT_SESSION;
        if self.online || (!session_lost && self.connecting_since.is_none_or(|t| t.elapsed() <= STUCK)) {
            return;
        }
        self.session_since = None;
        self.logins_without_session = 0;
        let Some(account) = self.account.clone() else { return };
        self.ctx.warn(format!("the session with {} never came up; connecting anew", account.server()));
        self.connecting_since = None;
        self.disconnect().await;
        self.start_stream(account);
    }

    pub(super) async fn disconnect(&mut self) {
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
        self.discovery = None;
        self.unanswered = Default::default();
        self.sync = None;
        self.sync_queue.clear();
        for r in self.rooms.values_mut() {
            r.present = false;
            r.caught_up = false;
            r.occupants.clear();
        }
    }

    pub(super) fn set_connection(
        &mut self,
        state: ConnectionState,
        reason: Option<String>,
        fingerprint: Option<String>,
    ) {
        if state == ConnectionState::Online {
            self.online_since.get_or_insert_with(std::time::Instant::now);
        } else {
            self.online_since = None;
        }
        if state == ConnectionState::Online {
            self.connecting_since = None;
            self.session_since = None;
            self.logins_without_session = 0;
        }
        let outbox = self.outbox_len();
        let next = Connection { state, server: self.connection.server.clone(), reason, fingerprint, outbox };
        if next != self.connection {
            self.connection = next;
            self.ctx.publish(contract::TOPIC_CONNECTION, &self.connection);
        }
    }

    /// The connection state, with the outbox counted now.
    pub(super) fn status(&self) -> Value {
        let mut c = self.connection.clone();
        c.outbox = self.outbox_len();
        json!(c)
    }

    pub(super) async fn on_stream(&mut self, event: StreamEvent) {
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
                // Presence, carbons and the archive wait for the SMS gateways to be
                // known (see `gateways`).
                self.discover_gateways().await;
                let roster = stanzas::new_id();
                self.iqs.insert(roster.clone(), PendingIq::Roster);
                self.send(stanzas::iq_get(&roster, None, stanzas::el("query", ns::ROSTER, &[]))).await;
                // Cards are asked again once per session (they may have changed).
                for c in self.contacts.values_mut() {
                    c.card_asked = false;
                }
                for r in self.rooms.values_mut() {
                    r.present = false;
                    r.caught_up = false;
                    r.occupants.clear();
                }
                let bookmarks = stanzas::new_id();
                self.iqs.insert(bookmarks.clone(), PendingIq::Bookmarks);
                self.send(stanzas::iq_get(&bookmarks, None, stanzas::bookmarks_get())).await;
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
                // A new login starts now; the session on it must come up (see `unstick`).
                self.connecting_since.get_or_insert_with(std::time::Instant::now);
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

    /// What a new session does once the SMS gateways are known: presence (the server
    /// then hands over offline messages), carbons and the archive catch-up.
    pub(super) async fn session_ready(&mut self) {
        self.send_presence().await;
        let carbons = stanzas::new_id();
        self.iqs.insert(carbons.clone(), PendingIq::Carbons);
        self.send(stanzas::iq_set(&carbons, None, stanzas::el("enable", ns::CARBONS, &[]))).await;
        self.start_sync(false).await;
    }

    /// Answers to our requests go to the part that asked; the server's own questions
    /// (ping, disco, roster pushes) are answered here.
    async fn on_iq(&mut self, iq: Iq) {
        match iq {
            Iq::Result { id, payload, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Mam(query)) if self.sync_is(&query) => {
                    let fin = payload.as_ref().and_then(stanzas::mam_fin);
                    self.on_mam_fin(fin).await;
                }
                Some(PendingIq::Roster) => {
                    if let Some(q) = payload {
                        let cards = self.on_roster(&q);
                        self.ask_cards(cards).await;
                    }
                }
                Some(PendingIq::Card(jid)) => self.on_card(&jid, payload.as_ref()),
                Some(PendingIq::Bookmarks) => {
                    let list = payload.as_ref().map(stanzas::read_bookmarks).unwrap_or_default();
                    self.on_bookmarks(Some(list)).await;
                }
                Some(PendingIq::PrivateBookmarks) => {
                    let empty = stanzas::private_bookmarks_get();
                    self.on_private_bookmarks(Some(payload.as_ref().unwrap_or(&empty))).await;
                }
                Some(PendingIq::Bookmark { room, step }) => self.on_bookmark_stored(&room, step).await,
                Some(PendingIq::Affiliations(room)) => {
                    if let Some(q) = payload {
                        self.on_affiliations(&room, &q);
                    }
                }
                Some(PendingIq::RoomForm { room, name, invite }) => {
                    let empty = stanzas::room_form_get();
                    self.on_room_form(&room, &name, payload.as_ref().unwrap_or(&empty)).await;
                    self.invite(&room, &invite).await;
                }
                Some(PendingIq::Slot { conversation, id, file, .. }) => {
                    let slot = payload.as_ref().and_then(stanzas::read_slot);
                    self.on_slot(conversation, id, file, slot).await;
                }
                Some(PendingIq::Components) => self.on_components(payload).await,
                Some(PendingIq::Component(jid)) => self.on_component(jid, payload).await,
                Some(PendingIq::Carbons | PendingIq::RoomChange(_) | PendingIq::Mam(_)) | None => {}
            },
            Iq::Error { id, error, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Mam(query)) if self.sync_is(&query) => {
                    self.ctx.warn(format!("history sync failed: {:?}", error.defined_condition));
                    self.finish_sync();
                    self.next_sync().await;
                }
                Some(PendingIq::RoomChange(what)) => {
                    self.ctx.warn(format!("{what} was refused: {:?}", error.defined_condition));
                }
                // No node is no bookmark (XEP-0060 §6.5.9.11); anything else says nothing.
                Some(PendingIq::Bookmarks) => {
                    let none = error.defined_condition == DefinedCondition::ItemNotFound;
                    self.on_bookmarks(none.then(Vec::new)).await;
                }
                Some(PendingIq::PrivateBookmarks) => self.on_private_bookmarks(None).await,
                Some(PendingIq::Bookmark { room, step }) => {
                    self.on_bookmark_refused(&room, step, &error).await
                }
                Some(PendingIq::RoomForm { room, invite, .. }) => {
                    let why = format!("the server refused its configuration: {:?}", error.defined_condition);
                    self.group_limits(&room, crate::stanzas::ROOM_NEEDS.to_vec(), why);
                    self.invite(&room, &invite).await;
                }
                Some(PendingIq::Slot { conversation, id, file, .. }) => {
                    self.on_slot_refused(conversation, id, file, &error).await;
                }
                Some(PendingIq::Components) => self.on_components(None).await,
                Some(PendingIq::Component(jid)) => self.on_component(jid, None).await,
                Some(PendingIq::Card(jid)) => self.on_card(&jid, None),
                _ => {}
            },
            Iq::Get { from, id, payload, .. } | Iq::Set { from, id, payload, .. } => {
                // Only our own server (no from, or our bare address) may push rosters.
                let from_server = from.as_ref().is_none_or(|f| Some(f.to_bare()) == self.me());
                let answer = if payload.is("ping", ns::PING)
                    || (from_server && payload.is("query", ns::ROSTER))
                {
                    if payload.is("query", ns::ROSTER) {
                        let cards = self.on_roster(&payload);
                        self.ask_cards(cards).await;
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
                    match stanzas::unavailable(from, id) {
                        Some(error) => error,
                        None => return,
                    }
                };
                self.send(answer).await;
            }
        }
    }
}
