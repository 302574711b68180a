//! The session: logging in as the account's SMS resource, finding the gateway (the
//! `sms.gateway` setting, else the server's component with identity `gateway/sms`),
//! asking it for the account's number (XEP-0077), and the iq answers.
//!
//! This resource sends presence (so the server hands it messages to the bare address)
//! marked with our SMS element, which ucdesk's chat leaves out of the user's own
//! presence, and enables carbons so messages another resource gets reach it too.

use super::{Core, Msg, PendingIq};
use crate::config::Config;
use crate::stanzas;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_xmpp::Stanza;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType};
use tokio_xmpp::stanzastream::{Event as StreamEvent, StreamEvent as Link};
use ucdesk_sdk::contract::chat::ConnectionState;
use ucdesk_sdk::contract::sms::State;
use ucdesk_xmpp::connection::{self, Status as LinkStatus};

impl Core {
    pub(super) async fn reconfigure(&mut self, config: Config) {
        let Config { account, prefs } = config;
        let gateway_changed = prefs.gateway != self.prefs.gateway;
        let was_enabled = self.prefs.enabled;
        self.prefs = prefs;
        let account = if self.prefs.enabled { account } else { Err("SMS is turned off".into()) };
        let same = match (&account, &self.account) {
            (Ok(a), Some(b)) => ucdesk_xmpp::account::same(a, b),
            _ => false,
        };
        if same && was_enabled == self.prefs.enabled {
            if gateway_changed && self.online {
                self.find_gateway().await;
            }
            return;
        }
        self.disconnect().await;
        match account {
            Err(reason) => {
                self.account = None;
                self.link = (State::NotConfigured, Some(reason));
            }
            Ok(account) => {
                self.generation += 1;
                let (generation, tx) = (self.generation, self.tx.clone());
                // A closed mailbox means the engine is gone: nothing to tell.
                let report = move |s| {
                    let _ = tx.send(Msg::Link(generation, s));
                };
                self.retry = Arc::new(Notify::new());
                self.stream = Some(connection::start(account.clone(), report, self.retry.clone()));
                self.account = Some(account);
                self.link = (State::Connecting, None);
            }
        }
    }

    pub(super) async fn disconnect(&mut self) {
        if let Some(stream) = self.stream.take() {
            if self.online {
                let _ = stream.send(Box::new(Presence::unavailable().into())).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(3), stream.close()).await;
        }
        self.online = false;
        self.lose_gateway();
        self.gateway = None;
        self.registration = None;
        self.iqs.clear();
        self.sync = None;
        self.upload_service = None;
        self.discovering = None;
        self.transfers.clear();
    }

    /// The gateway is gone (or this session is): what was pushed goes again later.
    pub(super) fn lose_gateway(&mut self) {
        self.gateway_up = false;
        self.asked_gateway = Some(Instant::now());
        self.pushed.clear();
    }

    pub(super) fn on_link(&mut self, status: LinkStatus) {
        if self.online && status.state == ConnectionState::Connecting {
            return;
        }
        self.online = false;
        let state = match status.state {
            ConnectionState::Connecting => State::Connecting,
            ConnectionState::AuthFailed | ConnectionState::UntrustedCertificate => State::LoginFailed,
            ConnectionState::NotConfigured => State::NotConfigured,
            _ => State::Offline,
        };
        self.link = (state, status.reason);
    }

    pub(super) async fn on_stream(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Stream(Link::Reset { .. }) => {
                self.online = true;
                // Slot requests died with the old session (PUTs under way go on).
                for p in self.iqs.values() {
                    if let PendingIq::Slot { id, .. } = p {
                        self.transfers.remove(id);
                    }
                }
                self.iqs.clear();
                self.sync = None;
                self.lose_gateway();
                let mut presence = Presence::new(PresenceType::None);
                presence.payloads.push(stanzas::el("sms", stanzas::UCDESK_SMS, &[]));
                self.send(presence).await;
                let carbons = stanzas::new_id();
                self.iqs.insert(carbons.clone(), PendingIq::Carbons);
                self.send(stanzas::iq_set(&carbons, None, stanzas::el("enable", ns::CARBONS, &[]))).await;
                self.find_gateway().await;
            }
            StreamEvent::Stream(Link::Resumed) => {
                self.online = true;
                self.flush_outbox().await;
            }
            StreamEvent::Stream(Link::Suspended) => {
                self.online = false;
                self.link = (State::Offline, Some("the connection to the server dropped".into()));
            }
            StreamEvent::Stanza(Stanza::Message(m)) => self.on_message(m).await,
            StreamEvent::Stanza(Stanza::Presence(_)) => {}
            StreamEvent::Stanza(Stanza::Iq(iq)) => self.on_iq(iq).await,
        }
    }

    /// The set gateway, or the server's components asked what they are.
    /// The set gateway, or the server's components asked what they are; the upload
    /// service (for MMS) is found the same way either way.
    pub(super) async fn find_gateway(&mut self) {
        self.lose_gateway();
        self.registration = None;
        self.gateway = self.prefs.gateway.clone();
        if self.gateway.is_some() {
            self.ask_registration().await;
        }
        let Some(me) = self.account.as_ref().map(|a| a.jid.clone()) else { return };
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::Components);
        self.discovering = Some((1, Instant::now()));
        self.send(stanzas::iq_get(&id, Some(Jid::from(me.domain().to_owned())), stanzas::disco_items()))
            .await;
    }

    /// One answer (or error) of the components' discovery: uploads held for it go on
    /// once every component has answered.
    async fn discovered(&mut self, more: usize) {
        if let Some((pending, since)) = self.discovering {
            let left = (pending + more).saturating_sub(1);
            self.discovering = (left > 0).then_some((left, since));
            if left == 0 {
                self.flush_outbox().await;
            }
        }
    }

    /// Asks the gateway for the account's number; its answer also says it is up.
    pub(super) async fn ask_registration(&mut self) {
        let Some(g) = self.gateway.clone() else { return };
        let Ok(to) = g.parse::<Jid>() else { return };
        self.asked_gateway = Some(Instant::now());
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::Registration);
        self.send(stanzas::iq_get(&id, Some(to), stanzas::register_query())).await;
    }

    async fn on_registration(&mut self, query: Option<Element>) {
        let registration = query.as_ref().map(stanzas::read_registration).unwrap_or_default();
        let first = !self.gateway_up && self.registration.is_none();
        if registration.number.is_none() {
            self.ctx.info(format!("the SMS gateway {:?} has no number for this account", self.gateway));
        }
        // Kept, so a text can wait in the outbox while the gateway is down next time.
        if let (Some(n), Some(store)) = (registration.number.as_deref(), self.store.as_ref()) {
            let _ = store.set_meta("number", n);
        }
        self.registration = Some(registration);
        self.gateway_up = true;
        self.asked_gateway = None;
        if first {
            self.start_sync().await;
        }
        self.flush_outbox().await;
    }

    async fn on_iq(&mut self, iq: Iq) {
        match iq {
            Iq::Result { id, payload, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Components) => {
                    let items = payload.as_ref().map(stanzas::read_items).unwrap_or_default();
                    let n = items.len();
                    for jid in items {
                        let id = stanzas::new_id();
                        self.iqs.insert(id.clone(), PendingIq::Component(jid.to_bare().to_string()));
                        self.send(stanzas::iq_get(&id, Some(jid), stanzas::disco_info())).await;
                    }
                    self.discovered(n).await;
                }
                Some(PendingIq::Component(jid)) => {
                    if payload.as_ref().is_some_and(|q| stanzas::has_feature(q, stanzas::HTTP_UPLOAD)) {
                        self.upload_service.get_or_insert_with(|| jid.clone());
                    }
                    let is_gateway = payload.is_some_and(|q| stanzas::has_identity(&q, "gateway", "sms"));
                    if is_gateway && self.gateway.is_none() {
                        self.ctx.info(format!("SMS gateway: {jid}"));
                        self.gateway = Some(jid);
                        self.ask_registration().await;
                    }
                    self.discovered(0).await;
                }
                Some(PendingIq::Registration) => self.on_registration(payload).await,
                Some(PendingIq::Prompt(send, reply)) => {
                    let number = match (payload, self.gateway.as_deref()) {
                        (Some(q), Some(g)) => stanzas::read_prompt(&q, g),
                        _ => None,
                    };
                    match number {
                        Some(n) => self.send_to(n, send, reply).await,
                        None => reply.send(Err(super::SmsError::BadArgument(format!(
                            "the gateway did not turn {:?} into a number",
                            send.to
                        ))
                        .into())),
                    }
                }
                Some(PendingIq::Mam) => {
                    let fin = payload.as_ref().and_then(stanzas::mam_fin);
                    self.on_mam_fin(fin).await;
                }
                Some(PendingIq::Slot { number, id, .. }) => {
                    let slot = payload.as_ref().and_then(stanzas::read_slot);
                    self.on_slot(number, id, slot).await;
                }
                Some(PendingIq::Carbons) | None => {}
            },
            Iq::Error { id, error, .. } => match self.iqs.remove(&id) {
                Some(PendingIq::Registration) => {
                    // "wait": the server has the component but it is not connected.
                    if error.type_ != ErrorType::Wait {
                        self.ctx.warn(format!(
                            "the SMS gateway refused the registration query: {}",
                            stanzas::error_text(&error)
                        ));
                    }
                    self.lose_gateway();
                }
                Some(PendingIq::Prompt(send, reply)) => {
                    let why = stanzas::error_text(&error);
                    let e = if error.type_ == ErrorType::Wait {
                        super::SmsError::NotReady(format!("the SMS gateway is not answering ({why})"))
                    } else {
                        super::SmsError::BadArgument(format!(
                            "{:?} is not a number the gateway takes: {why}",
                            send.to
                        ))
                    };
                    reply.send(Err(e.into()));
                }
                Some(PendingIq::Mam) => {
                    self.ctx.warn(format!("SMS history sync failed: {}", stanzas::error_text(&error)));
                    self.sync = None;
                    // The position expired from the archive (item-not-found): start
                    // over from what the archive still has, once.
                    if error.defined_condition == DefinedCondition::ItemNotFound
                        && let Some(store) = self.store.as_ref()
                        && store.meta("mam_last").ok().flatten().is_some()
                    {
                        let _ = store.clear_meta("mam_last");
                        self.start_sync().await;
                    }
                }
                Some(PendingIq::Slot { number, id, .. }) => self.on_slot_refused(number, id, &error).await,
                Some(PendingIq::Components | PendingIq::Component(_)) => self.discovered(0).await,
                _ => {}
            },
            Iq::Get { from, id, payload, .. } | Iq::Set { from, id, payload, .. } => {
                let answer = if payload.is("ping", ns::PING) {
                    Iq::Result { from: None, to: from, id, payload: None }
                } else {
                    match stanzas::unavailable(from, id) {
                        Some(e) => e,
                        None => return,
                    }
                };
                self.send(answer).await;
            }
        }
    }
}
