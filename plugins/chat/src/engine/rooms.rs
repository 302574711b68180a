//! Group chats (MUC): entering the rooms we belong to (bookmarks make every login
//! rejoin them), creating and configuring them, participants and their affiliations,
//! the admin role, leaving. Affiliations are [`Affiliation`]s here; their strings stay
//! in `stanzas`.

use super::error::ChatError;
use super::{Core, PendingIq, address};
use crate::stanzas::{self, Affiliation};
use crate::store::{Flag, now_ms};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use ucdesk_sdk::contract::chat as contract;
use ucdesk_sdk::prelude::*;

/// A group chat we are a member of.
pub(super) struct Room {
    pub(super) name: String,
    pub(super) full_history: bool,
    /// When we joined (ms): an ordinary group shows history from here.
    pub(super) joined_at: i64,
    /// In the room now (our own presence came back).
    pub(super) present: bool,
    /// Occupant nick -> real address (rooms are configured to show it to members).
    pub(super) occupants: HashMap<String, Option<BareJid>>,
    /// Real address -> affiliation (owner, admin, member).
    pub(super) affiliations: BTreeMap<String, Affiliation>,
    /// This session's catch-up from the room's archive is done: from now on live
    /// messages move the archive position (they come in archive order, with no gap).
    pub(super) caught_up: bool,
}

impl Core {
    pub(super) fn nick(&self) -> String {
        self.me().and_then(|m| m.node().map(|n| n.as_str().to_string())).unwrap_or_else(|| "me".into())
    }

    /// Joins a room we belong to; `announce` also bookmarks it (a new membership).
    pub(super) async fn enter_room(
        &mut self,
        room: BareJid,
        name: String,
        full_history: bool,
        announce: bool,
    ) {
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
            self.remember_room(&room, &name, full_history).await;
        }
    }

    pub(super) async fn on_room_presence(&mut self, room: &BareJid, p: &Presence) {
        let Some(nick) = p.from.as_ref().and_then(|f| f.resource().map(|r| r.to_string())) else { return };
        let x = p.payloads.iter().find(|e| e.is("x", ns::MUC_USER));
        let item = x.and_then(|x| x.get_child("item", ns::MUC_USER));
        let real = item.and_then(|i| i.attr("jid")).and_then(|j| j.parse::<Jid>().ok()).map(|j| j.to_bare());
        let affiliation = item.and_then(|i| i.attr("affiliation")).and_then(Affiliation::from_attr);
        let codes: Vec<&str> = x
            .map(|x| {
                x.children().filter(|c| c.is("status", ns::MUC_USER)).filter_map(|c| c.attr("code")).collect()
            })
            .unwrap_or_default();
        let own = codes.contains(&"110") || nick == self.nick();
        let Some(r) = self.rooms.get_mut(room) else { return };
        if let (Some(real), Some(aff)) = (&real, affiliation) {
            if matches!(aff, Affiliation::None | Affiliation::Outcast) {
                r.affiliations.remove(real.as_str());
            } else {
                r.affiliations.insert(real.to_string(), aff);
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
                    self.send(stanzas::iq_get(
                        &id,
                        to.clone(),
                        stanzas::affiliation_list(Affiliation::Member),
                    ))
                    .await;
                    for aff in [Affiliation::Owner, Affiliation::Admin] {
                        let id = stanzas::new_id();
                        self.iqs.insert(id.clone(), PendingIq::Affiliations(room.clone()));
                        self.send(stanzas::iq_get(&id, to.clone(), stanzas::affiliation_list(aff))).await;
                    }
                    self.sync_room(room.clone()).await;
                    // What was written to the group while we were out goes now.
                    self.flush_outbox().await;
                }
            }
        }
    }

    /// A room's answer to our affiliation query (owners, admins or members).
    pub(super) fn on_affiliations(&mut self, room: &BareJid, list: &Element) {
        let Some(r) = self.rooms.get_mut(room) else { return };
        for (jid, affiliation) in stanzas::read_affiliations(list) {
            r.affiliations.insert(jid, affiliation);
        }
    }

    /// We are out of the group: no rejoin, the conversation and its history stay.
    async fn forget_room(&mut self, room: &BareJid) {
        self.rooms.remove(room);
        self.sync_queue.retain(|r| r != room);
        self.forget_bookmark(room).await;
    }

    /// XEP-0045 §10.2: the owner asks for the room's form first (answered in
    /// `on_room_form`), so what is submitted is what this server offers.
    async fn configure_room(&mut self, room: &BareJid, name: &str, invite: Vec<BareJid>) {
        let id = stanzas::new_id();
        let pending = PendingIq::RoomForm { room: room.clone(), name: name.to_string(), invite };
        self.iqs.insert(id.clone(), pending);
        self.send(stanzas::iq_get(&id, Some(Jid::from(room.clone())), stanzas::room_form_get())).await;
    }

    /// Submits the room's form filled for a group, and says what the server lacks.
    pub(super) async fn on_room_form(&mut self, room: &BareJid, name: &str, form: &Element) {
        let (submit, missing) = stanzas::fill_room_form(form, name);
        if !missing.is_empty() {
            let why = format!("the server's room form offers no way to set {}", missing.join(", "));
            self.group_limits(room, missing, why);
        }
        self.room_iq(room, format!("configuring {room}"), submit).await;
    }

    /// Tells the user (log and `chat.group_limits`) what a group's room cannot give.
    pub(super) fn group_limits(&mut self, room: &BareJid, missing: Vec<&str>, reason: String) {
        self.ctx.warn(format!("the group {room} lacks {}: {reason}", missing.join(", ")));
        let limits = contract::GroupLimits {
            conversation: room.to_string(),
            missing: missing.into_iter().map(str::to_string).collect(),
            reason,
        };
        self.ctx.publish(contract::TOPIC_GROUP_LIMITS, &limits);
    }

    async fn room_iq(&mut self, room: &BareJid, what: String, payload: Element) {
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::RoomChange(what));
        self.send(stanzas::iq_set(&id, Some(Jid::from(room.clone())), payload)).await;
    }

    pub(super) fn group(&self, conversation: &str) -> Result<BareJid, ChatError> {
        let room: BareJid = address(conversation)?;
        if !self.rooms.contains_key(&room) {
            return Err(ChatError::NotFound(format!("{conversation} is not one of our groups")));
        }
        if !self.online {
            return Err(ChatError::NotReady("not connected: group changes need the server".into()));
        }
        Ok(room)
    }

    /// Makes each a member of the room and sends them a direct invitation.
    pub(super) async fn invite(&mut self, room: &BareJid, participants: &[BareJid]) {
        let (name, full) = self.rooms.get(room).map(|r| (r.name.clone(), r.full_history)).unwrap_or_default();
        for p in participants {
            self.room_iq(
                room,
                format!("adding {p} to {room}"),
                stanzas::affiliation(p.as_str(), Affiliation::Member),
            )
            .await;
            if let Some(r) = self.rooms.get_mut(room) {
                r.affiliations.entry(p.to_string()).or_insert(Affiliation::Member);
            }
            self.send(stanzas::invite(p, room, &name, full)).await;
        }
    }

    pub(super) async fn create_group(&mut self, g: contract::CreateGroup) -> Result<Value, ChatError> {
        if !self.online {
            return Err(ChatError::NotReady("not connected: creating a group needs the server".into()));
        }
        let me = self.me().ok_or("chat is not set up")?;
        let domain =
            self.prefs.conference_domain.clone().unwrap_or_else(|| format!("conference.{}", me.domain()));
        let participants = parse_jids(&g.participants)?;
        let room: BareJid = format!("{}@{domain}", &stanzas::new_id()[..13])
            .parse()
            .map_err(|e| format!("conference domain {domain:?}: {e}"))?;
        let name = g.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Group".to_string());
        self.enter_room(room.clone(), name.clone(), g.full_history, true).await;
        // The room exists once our join is processed (the server handles our stanzas
        // in order); its form comes back and is filled in `on_room_form`, and the
        // participants are invited after that, into a room that shows their addresses.
        self.configure_room(&room, &name, participants).await;
        if let Some(r) = self.rooms.get_mut(&room) {
            r.affiliations.insert(me.to_string(), Affiliation::Owner);
        }
        self.send(stanzas::subject(&room, &name)).await;
        let conv = self.store()?.conversations().map_err(|e| e.to_string())?;
        Ok(json!(conv.into_iter().find(|c| c.id == room.as_str())))
    }

    pub(super) async fn add_participants(
        &mut self,
        a: contract::AddParticipants,
    ) -> Result<Value, ChatError> {
        let room = self.group(&a.conversation)?;
        let participants = parse_jids(&a.participants)?;
        self.invite(&room, &participants).await;
        Ok(Value::Null)
    }

    pub(super) async fn remove_participant(
        &mut self,
        p: contract::ParticipantRef,
    ) -> Result<Value, ChatError> {
        let room = self.group(&p.conversation)?;
        let jid: BareJid = address(&p.jid)?;
        self.room_iq(
            &room,
            format!("removing {jid} from {room}"),
            stanzas::affiliation(jid.as_str(), Affiliation::None),
        )
        .await;
        if let Some(r) = self.rooms.get_mut(&room) {
            r.affiliations.remove(jid.as_str());
        }
        Ok(Value::Null)
    }

    pub(super) async fn make_admin(&mut self, p: contract::ParticipantRef) -> Result<Value, ChatError> {
        let room = self.group(&p.conversation)?;
        let me = self.me().ok_or("chat is not set up")?;
        let jid: BareJid = address(&p.jid)?;
        self.room_iq(
            &room,
            format!("making {jid} admin of {room}"),
            stanzas::affiliation(jid.as_str(), Affiliation::Owner),
        )
        .await;
        self.room_iq(
            &room,
            format!("handing over {room}"),
            stanzas::affiliation(me.as_str(), Affiliation::Member),
        )
        .await;
        if let Some(r) = self.rooms.get_mut(&room) {
            r.affiliations.insert(jid.to_string(), Affiliation::Owner);
            r.affiliations.insert(me.to_string(), Affiliation::Member);
        }
        Ok(Value::Null)
    }

    pub(super) async fn rename(&mut self, r: contract::Rename) -> Result<Value, ChatError> {
        let room = self.group(&r.conversation)?;
        let name = r.name.trim().to_string();
        if name.is_empty() {
            return Err("a group needs a name".into());
        }
        self.configure_room(&room, &name, Vec::new()).await;
        self.send(stanzas::subject(&room, &name)).await;
        let full = self.rooms.get(&room).is_some_and(|r| r.full_history);
        self.remember_room(&room, &name, full).await;
        if let Some(x) = self.rooms.get_mut(&room) {
            x.name = name.clone();
        }
        self.store_mut()?.rename(room.as_str(), &name).map_err(|e| e.to_string())?;
        Ok(Value::Null)
    }

    pub(super) async fn leave(&mut self, c: String) -> Result<Value, ChatError> {
        let room = self.group(&c)?;
        let me = self.me().ok_or("chat is not set up")?;
        // The last admin leaving hands the role on first (to the first member by
        // address): a group is never left without one by our clients.
        let successor = self.rooms.get(&room).and_then(|r| {
            let admins = r.affiliations.values().filter(|a| a.is_admin()).count();
            let i_am = r.affiliations.get(me.as_str()).is_some_and(|a| a.is_admin());
            (i_am && admins == 1)
                .then(|| r.affiliations.keys().find(|j| **j != me.as_str()).cloned())
                .flatten()
        });
        if let Some(next) = successor {
            self.room_iq(
                &room,
                format!("handing {room} to {next}"),
                stanzas::affiliation(&next, Affiliation::Owner),
            )
            .await;
        }
        // An admin leaving also leaves the member list (the server allows it once
        // another owner exists). A member cannot drop their own membership in
        // XMPP: they leave the room and its bookmark, and stay listed until an
        // admin removes them.
        let i_am_admin = self
            .rooms
            .get(&room)
            .is_some_and(|r| r.affiliations.get(me.as_str()).is_some_and(|a| a.is_admin()));
        if i_am_admin {
            self.room_iq(
                &room,
                format!("leaving the members of {room}"),
                stanzas::affiliation(me.as_str(), Affiliation::None),
            )
            .await;
        }
        let nick = self.nick();
        self.send(stanzas::leave(&room, &nick)).await;
        self.forget_room(&room).await;
        let _ = self.store_mut()?.set_flag(room.as_str(), Flag::Closed, true);
        Ok(Value::Null)
    }

    pub(super) async fn assign_myself(&mut self, c: String) -> Result<Value, ChatError> {
        let room = self.group(&c)?;
        let me = self.me().ok_or("chat is not set up")?;
        let r = self.rooms.get(&room).ok_or("not one of our groups")?;
        if r.affiliations.values().any(|a| a.is_admin()) {
            return Err("the group has an admin; ask them".into());
        }
        // Only the server can grant this in XMPP (its administrators own every
        // room); when it refuses, the log says so.
        self.room_iq(
            &room,
            format!("assigning myself admin of {room}"),
            stanzas::affiliation(me.as_str(), Affiliation::Owner),
        )
        .await;
        Ok(json!({"requested": true}))
    }

    pub(super) fn participants(&self, c: String) -> Result<Value, ChatError> {
        let room: BareJid = address(&c)?;
        let r = self.rooms.get(&room).ok_or_else(|| format!("{c} is not one of our groups"))?;
        let present: HashSet<String> = r.occupants.values().flatten().map(|j| j.to_string()).collect();
        let list: Vec<contract::Participant> = r
            .affiliations
            .iter()
            .map(|(jid, aff)| contract::Participant {
                jid: jid.clone(),
                admin: aff.is_admin(),
                present: present.contains(jid),
            })
            .collect();
        Ok(json!(list))
    }

    /// Who has seen one of our group's messages, and who has not.
    pub(super) fn message_info(&self, conversation: String, id: String) -> Result<Value, ChatError> {
        let room: BareJid = conversation.parse().map_err(|e| format!("{conversation:?}: {e}"))?;
        let r = self.rooms.get(&room).ok_or("message info is for group chats")?;
        let store = self.store()?;
        let m = store.message(&conversation, &id).map_err(|e| e.to_string())?.ok_or("no such message")?;
        let seen = store.seen_list(&conversation, &id).map_err(|e| e.to_string())?;
        let members: Vec<String> = r.affiliations.keys().filter(|j| **j != m.from).cloned().collect();
        let not_seen: Vec<String> = members.iter().filter(|j| !seen.contains(j)).cloned().collect();
        Ok(json!({"id": id, "from": m.from, "seen_by": seen, "not_seen": not_seen}))
    }
}

fn parse_jids(list: &[String]) -> Result<Vec<BareJid>, ChatError> {
    list.iter()
        .map(|j| {
            let jid = address(j)?;
            if jid.node().is_none() {
                return Err(ChatError::BadArgument(format!("{jid} is not a person's address (user@domain)")));
            }
            Ok(jid)
        })
        .collect()
}
