//! The rooms we belong to, remembered twice: on the server (bookmarks, which every
//! device reads at login) and here (one membership record per room in the store). The
//! server copy tells this device about groups joined elsewhere and groups left
//! elsewhere; the local one rejoins our groups when the server keeps no bookmark at all,
//! and publishes again a bookmark that did not take.
//!
//! Publishing follows XEP-0060's ways out: with publish-options first; if the server
//! refuses them (a precondition it does not support), configure the node (create it
//! configured when there is none) and publish plainly; if that fails too, XEP-0048
//! bookmarks in private storage. The first way that works is used for the session.

use super::{Core, PendingIq};
use crate::stanzas::{self, Bookmark};
use serde::{Deserialize, Serialize};
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, StanzaError};

const MEMBER: &str = "member:";

/// Where a room's bookmark is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Stored {
    /// Not (yet) on the server: publish it again at the next login.
    #[default]
    Nowhere,
    Pep,
    Private,
}

/// This device's record of a group we belong to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Membership {
    pub(super) name: String,
    pub(super) full_history: bool,
    #[serde(default)]
    pub(super) stored: Stored,
}

/// The step of the publish chain a bookmark request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Step {
    #[default]
    WithOptions,
    Configure,
    Create,
    Plain,
    Private,
}

impl Core {
    pub(super) fn memberships(&self) -> Vec<(BareJid, Membership)> {
        let Some(store) = self.store.as_ref() else { return Vec::new() };
        store
            .meta_prefixed(MEMBER)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(room, v)| Some((room.parse().ok()?, serde_json::from_str(&v).ok()?)))
            .collect()
    }

    fn membership(&self, room: &BareJid) -> Option<Membership> {
        let v = self.store.as_ref()?.meta(&format!("{MEMBER}{room}")).ok().flatten()?;
        serde_json::from_str(&v).ok()
    }

    pub(super) fn set_membership(&mut self, room: &BareJid, m: Option<&Membership>) {
        let value = m.and_then(|m| serde_json::to_string(m).ok());
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.set_meta(&format!("{MEMBER}{room}"), value.as_deref())
        {
            self.ctx.warn(format!("cannot record the group {room}: {e}"));
        }
    }

    fn bookmark_of(&self, room: &BareJid, m: &Membership) -> Bookmark {
        Bookmark {
            room: room.clone(),
            name: Some(m.name.clone()),
            nick: Some(self.nick()),
            full_history: m.full_history,
        }
    }

    /// A new membership (created, invited, renamed): recorded here, then published.
    pub(super) async fn remember_room(&mut self, room: &BareJid, name: &str, full_history: bool) {
        let stored = self.membership(room).map(|m| m.stored).unwrap_or_default();
        let m = Membership { name: name.to_string(), full_history, stored };
        self.set_membership(room, Some(&m));
        self.publish_bookmark(room, self.bookmark_step).await;
    }

    async fn publish_bookmark(&mut self, room: &BareJid, step: Step) {
        let Some(m) = self.membership(room) else { return };
        let payload = match step {
            Step::WithOptions => stanzas::bookmark(&self.bookmark_of(room, &m), true),
            Step::Plain => stanzas::bookmark(&self.bookmark_of(room, &m), false),
            Step::Configure => stanzas::bookmarks_configure(),
            Step::Create => stanzas::bookmarks_create(),
            Step::Private => {
                let all: Vec<Bookmark> =
                    self.memberships().iter().map(|(r, m)| self.bookmark_of(r, m)).collect();
                stanzas::private_bookmarks_set(&all)
            }
        };
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::Bookmark { room: room.clone(), step });
        self.send(stanzas::iq_set(&id, None, payload)).await;
    }

    pub(super) async fn on_bookmark_stored(&mut self, room: &BareJid, step: Step) {
        self.ctx.debug(format!("bookmark step {step:?} for {room} done"));
        match step {
            // The node is as it should be now: publish into it.
            Step::Configure | Step::Create => self.publish_bookmark(room, Step::Plain).await,
            Step::WithOptions | Step::Plain => {
                self.bookmark_step = step;
                self.mark_stored(room, Stored::Pep);
            }
            Step::Private => {
                self.bookmark_step = step;
                // The list went whole: every room we know is in it.
                for (r, _) in self.memberships() {
                    self.mark_stored(&r, Stored::Private);
                }
            }
        }
    }

    fn mark_stored(&mut self, room: &BareJid, stored: Stored) {
        if let Some(mut m) = self.membership(room) {
            m.stored = stored;
            self.set_membership(room, Some(&m));
        }
    }

    pub(super) async fn on_bookmark_refused(&mut self, room: &BareJid, step: Step, error: &StanzaError) {
        self.ctx.debug(format!("bookmark step {step:?} for {room} refused: {:?}", error.defined_condition));
        let next = match step {
            Step::WithOptions => Some(Step::Configure),
            Step::Configure if error.defined_condition == DefinedCondition::ItemNotFound => {
                Some(Step::Create)
            }
            Step::Configure | Step::Create | Step::Plain => Some(Step::Private),
            Step::Private => None,
        };
        match next {
            Some(next) => self.publish_bookmark(room, next).await,
            None => self.ctx.warn(format!(
                "the server keeps no bookmark of {room} ({:?}): this device rejoins it from its own records",
                error.defined_condition
            )),
        }
    }

    /// The login's bookmarks: `Some` with the PEP node's items (an empty list when the
    /// node does not exist), `None` when the server could not say.
    pub(super) async fn on_bookmarks(&mut self, list: Option<Vec<Bookmark>>) {
        let known = self.memberships();
        self.ctx.debug(format!(
            "bookmarks: {} on the server, {} known here",
            list.as_ref().map_or("none".to_string(), |l| l.len().to_string()),
            known.len()
        ));
        match list {
            // Nothing to compare with: rejoin everything we know of.
            None => {
                for (room, m) in known.iter().filter(|(_, m)| m.stored != Stored::Private) {
                    self.rejoin(room, m).await;
                }
            }
            Some(list) => {
                self.enter_bookmarked(&list, Stored::Pep).await;
                for (room, m) in known {
                    if list.iter().any(|b| b.room == room) {
                        continue;
                    }
                    match m.stored {
                        // Its bookmark went away: we left it on another device.
                        Stored::Pep => self.left_elsewhere(&room),
                        Stored::Nowhere => self.rejoin(&room, &m).await,
                        Stored::Private => {}
                    }
                }
            }
        }
        // The older storage too, always: a device that kept its groups there (its PEP
        // publish was refused) or a new device that knows nothing yet finds them there.
        {
            let id = stanzas::new_id();
            self.iqs.insert(id.clone(), PendingIq::PrivateBookmarks);
            self.send(stanzas::iq_get(&id, None, stanzas::private_bookmarks_get())).await;
        }
    }

    /// The private storage's bookmarks (`None`: not answered).
    pub(super) async fn on_private_bookmarks(&mut self, query: Option<&Element>) {
        let known: Vec<(BareJid, Membership)> =
            self.memberships().into_iter().filter(|(_, m)| m.stored == Stored::Private).collect();
        let Some(query) = query else {
            for (room, m) in known {
                self.rejoin(&room, &m).await;
            }
            return;
        };
        let list = stanzas::read_private_bookmarks(query);
        // A group whose bookmark PEP keeps is PEP's to say about.
        let here: Vec<Bookmark> = list
            .iter()
            .filter(|b| self.membership(&b.room).is_none_or(|m| m.stored != Stored::Pep))
            .cloned()
            .collect();
        self.enter_bookmarked(&here, Stored::Private).await;
        for (room, _) in known {
            if !list.iter().any(|b| b.room == room) {
                self.left_elsewhere(&room);
            }
        }
    }

    async fn enter_bookmarked(&mut self, list: &[Bookmark], stored: Stored) {
        for b in list {
            let name = b
                .name
                .clone()
                .or_else(|| self.rooms.get(&b.room).map(|r| r.name.clone()))
                .unwrap_or_else(|| "Group".into());
            let m = Membership { name: name.clone(), full_history: b.full_history, stored };
            self.set_membership(&b.room, Some(&m));
            if !self.rooms.get(&b.room).is_some_and(|r| r.present) {
                self.enter_room(b.room.clone(), name, b.full_history, false).await;
            }
        }
    }

    /// A group we know of whose bookmark is missing: back in, and published again when
    /// it never reached the server.
    async fn rejoin(&mut self, room: &BareJid, m: &Membership) {
        if !self.rooms.get(room).is_some_and(|r| r.present) {
            self.enter_room(room.clone(), m.name.clone(), m.full_history, false).await;
        }
        if m.stored == Stored::Nowhere {
            self.publish_bookmark(room, self.bookmark_step).await;
        }
    }

    fn left_elsewhere(&mut self, room: &BareJid) {
        self.ctx.info(format!("the group {room} was left on another device"));
        self.set_membership(room, None);
        self.rooms.remove(room);
    }

    /// We are out of the group: its bookmark goes wherever it was kept.
    pub(super) async fn forget_bookmark(&mut self, room: &BareJid) {
        let stored = self.membership(room).map(|m| m.stored);
        self.set_membership(room, None);
        let payload = match stored {
            Some(Stored::Private) => {
                let all: Vec<Bookmark> =
                    self.memberships().iter().map(|(r, m)| self.bookmark_of(r, m)).collect();
                stanzas::private_bookmarks_set(&all)
            }
            _ => stanzas::bookmark_retract(room),
        };
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::RoomChange(format!("removing the bookmark of {room}")));
        self.send(stanzas::iq_set(&id, None, payload)).await;
    }
}
