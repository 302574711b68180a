//! Presence: the user's own (status, message, expiry, away when idle, on a call) and
//! every contact's, summed over their devices. The roster and subscriptions are here
//! too: they decide whose presence we see.

use super::error::ChatError;
use super::outbox::RESEND_AFTER;
use super::{Core, address};
use crate::stanzas;
use crate::store::now_ms;
use std::collections::BTreeMap;
use std::time::Instant;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Show, Type as PresenceType};
use ucdesk_sdk::contract::presence::{self, Device, PresenceChanged, Status};
use ucdesk_sdk::contract::{contact, notify};
use ucdesk_sdk::prelude::*;

/// How long after coming online contacts' presences are the roster's state (no "is
/// online" alerts).
const SIGN_IN_QUIET: std::time::Duration = std::time::Duration::from_secs(5);

/// The user's own presence choices.
pub(super) struct Mine {
    pub(super) status: Status,
    pub(super) message: Option<String>,
    pub(super) expires_at: Option<i64>,
    pub(super) on_call: bool,
}

/// What a contact's devices (resources) last said, summed up when asked.
#[derive(Default)]
pub(super) struct Contact {
    /// Resource -> (status, message, device, on call).
    resources: BTreeMap<String, (Status, Option<String>, Option<Device>, bool)>,
    last_active: Option<i64>,
    /// Their card (name, numbers), once they let us read it.
    pub(super) card: Option<stanzas::Card>,
    /// Asked for this session (the card is asked once per session we may read it in).
    pub(super) card_asked: bool,
}

/// Someone we have no presence from (yet).
pub(super) fn offline(jid: &str) -> PresenceChanged {
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

/// The element an SMS module's resource carries in its presence.
const SMS_RESOURCE: &str = "urn:ucdesk:sms:0";

impl Core {
    pub(super) async fn on_presence(&mut self, p: Presence) {
        let Some(me) = self.me() else { return };
        let Some(from) = p.from.clone() else { return };
        let bare = from.to_bare();
        if self.rooms.contains_key(&bare) {
            self.on_room_presence(&bare, &p).await;
            return;
        }
        // A contact's SMS module is online on its own resource; it says nothing about
        // the person (docs/sms-gateway.md), so it is not one of their devices.
        if p.type_ == PresenceType::None && p.payloads.iter().any(|e| e.is("sms", SMS_RESOURCE)) {
            return;
        }
        match p.type_ {
            // A colleague on our own server: the company directory is shared.
            PresenceType::Subscribe if bare.domain() == me.domain() => {
                self.send(Presence::subscribed().with_to(Jid::from(bare.clone()))).await;
                if !self.contacts.contains_key(&bare) {
                    self.send(Presence::subscribe().with_to(Jid::from(bare.clone()))).await;
                }
                self.directory_changed |= !self.contacts.contains_key(&bare);
                self.contacts.entry(bare).or_default();
            }
            PresenceType::None | PresenceType::Unavailable if bare != me => {
                let resource = from.resource().map(|r| r.to_string()).unwrap_or_default();
                let mut signed_in = false;
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
                    signed_in = contact.resources.is_empty();
                    contact.resources.insert(resource, (status, message, device, on_call));
                    // A device of theirs is (back) online, perhaps on a new session
                    // under the same resource: what none of theirs confirmed may go again.
                    self.resend_due.entry(bare.clone()).or_insert_with(|| Instant::now() + RESEND_AFTER);
                }
                // Their presence reaches us, so their card is ours to read: asked once
                // per session (here if the roster did not ask already).
                let ask_card =
                    p.type_ == PresenceType::None && !std::mem::replace(&mut contact.card_asked, true);
                if signed_in {
                    self.signed_in(&bare);
                }
                let changed = self.contact_presence(&bare);
                self.ctx.publish(presence::TOPIC_CHANGED, &changed);
                if ask_card {
                    self.ask_cards(vec![bare]).await;
                }
            }
            _ => {}
        }
    }

    /// A contact's first device came online: the "contact online" alert (with its
    /// sound), unless the session just started (the roster's presences arriving), the
    /// user is in do not disturb, or it is the user's own other device.
    fn signed_in(&mut self, jid: &BareJid) {
        let settled = self.online_since.is_some_and(|t| t.elapsed() > SIGN_IN_QUIET);
        if !settled || self.mine.status == Status::Dnd || self.me().as_ref() == Some(jid) {
            return;
        }
        let name = self
            .contacts
            .get(jid)
            .and_then(|c| c.card.as_ref())
            .and_then(|k| k.name.clone())
            .unwrap_or_else(|| jid.node().map_or(jid.to_string(), |n| n.to_string()));
        let note = notify::Notification {
            id: format!("chat:online:{jid}"),
            kind: notify::NotifyKind::SignIn,
            title: format!("{name} is online"),
            body: jid.to_string(),
            panel: Some("conversation".into()),
            target: Some(notify::Target { kind: notify::TargetKind::Conversation, id: jid.to_string() }),
            close: false,
        };
        self.ctx.publish(notify::TOPIC, &note);
    }

    /// Roster items (the whole roster, or a push). Returns the contacts whose card we
    /// may now read (we see their presence) and have not asked for this session.
    pub(super) fn on_roster(&mut self, query: &Element) -> Vec<BareJid> {
        let mut cards = Vec::new();
        let Some(store) = self.store.as_mut() else { return cards };
        for item in query.children().filter(|c| c.is("item", ns::ROSTER)) {
            let Some(jid) = item.attr("jid").and_then(|j| j.parse::<BareJid>().ok()) else { continue };
            let subscription = item.attr("subscription");
            if subscription == Some("remove") {
                // No longer a contact: the directory hears it (at the next refresh).
                self.directory_changed |= self.contacts.remove(&jid).is_some();
                continue;
            }
            self.directory_changed |= !self.contacts.contains_key(&jid);
            let contact = self.contacts.entry(jid.clone()).or_default();
            // Cards are readable by those who see the contact's presence (PEP's default).
            if matches!(subscription, Some("to" | "both")) && !contact.card_asked {
                contact.card_asked = true;
                cards.push(jid.clone());
            }
            if let Some(name) = item.attr("name") {
                let _ = store.rename(jid.as_str(), name);
            }
        }
        cards
    }

    /// Asks for the cards of `jids` (answers in [`Core::on_card`]).
    pub(super) async fn ask_cards(&mut self, jids: Vec<BareJid>) {
        for jid in jids {
            let id = stanzas::new_id();
            self.iqs.insert(id.clone(), super::PendingIq::Card(jid.clone()));
            self.send(stanzas::iq_get(&id, Some(Jid::from(jid)), stanzas::card_get())).await;
        }
    }

    /// A contact's card arrived (None: they have none, or do not let us read it). The
    /// directory hears that this source changed (at the next refresh).
    pub(super) fn on_card(&mut self, jid: &BareJid, payload: Option<&Element>) {
        let Some(contact) = self.contacts.get_mut(jid) else { return };
        let card = payload.and_then(stanzas::read_card);
        if contact.card != card {
            contact.card = card;
            // Said once per refresh, not once per card of a login's roster.
            self.directory_changed = true;
        }
    }

    /// The roster as a contact source (`chat.contacts`): each contact by address, named
    /// by their card (else their user name), with the card's numbers. From memory: the
    /// cards of this session (none before the first connection).
    pub(super) fn directory(&self) -> Vec<contact::Contact> {
        self.contacts
            .iter()
            .map(|(jid, c)| contact::Contact {
                id: jid.to_string(),
                source: "chat".into(),
                name: c
                    .card
                    .as_ref()
                    .and_then(|k| k.name.clone())
                    .unwrap_or_else(|| jid.node().map_or(jid.to_string(), |n| n.to_string())),
                numbers: c.card.as_ref().map(|k| k.numbers.clone()).unwrap_or_default(),
                emails: vec![jid.to_string()],
                jid: Some(jid.to_string()),
                ..Default::default()
            })
            .collect()
    }

    /// Tells the directory this source changed, when a card did since the last time.
    pub(super) fn announce_directory(&mut self) {
        if std::mem::take(&mut self.directory_changed) {
            let count = self.contacts.len();
            self.ctx
                .publish(contact::TOPIC_UPDATED, &contact::ContactsUpdated { source: "chat".into(), count });
        }
    }

    /// Each contact's card, for the contact rows.
    pub(super) fn cards(&self) -> BTreeMap<String, stanzas::Card> {
        self.contacts.iter().filter_map(|(j, c)| Some((j.to_string(), c.card.clone()?))).collect()
    }

    pub(super) fn contact_presence(&self, jid: &BareJid) -> PresenceChanged {
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

    pub(super) fn my_presence(&self) -> PresenceChanged {
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

    pub(super) async fn send_presence(&mut self) {
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
    pub(super) async fn on_activity(&mut self, idle_secs: u64) {
        let minutes = self.prefs.away_when_idle;
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

    /// A status set to expire goes back to available.
    pub(super) async fn expire_presence(&mut self) {
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
    }

    pub(super) async fn set_presence(&mut self, set: presence::Set) -> Result<Value, ChatError> {
        if set.status.is_some() {
            self.idle_away = false;
        }
        if let Some(status) = set.status {
            self.mine.status = status;
            self.mine.message = set.message.filter(|m| !m.trim().is_empty());
            self.mine.expires_at = set.expires_in.filter(|s| *s > 0).map(|s| now_ms() + s as i64 * 1000);
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

    /// The user's presence first, then every contact's.
    pub(super) fn presences(&self) -> Value {
        let mut all: Vec<PresenceChanged> = self.contacts.keys().map(|j| self.contact_presence(j)).collect();
        all.insert(0, self.my_presence());
        json!(all)
    }

    /// Adds a contact and asks for their presence.
    pub(super) async fn add_contact(&mut self, jid: String) -> Result<Value, ChatError> {
        let bare: BareJid = address(&jid)?;
        // The directory hears of a new contact (at the next refresh).
        self.directory_changed |= !self.contacts.contains_key(&bare);
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
}
