//! History catch-up from the server's archives (MAM): the account's, then each room's,
//! one at a time and page by page from where the last sync stopped, so a restart or a
//! long absence fills the gaps without fetching everything again.

use super::error::ChatError;
use super::{Core, PendingIq};
use crate::stanzas;
use tokio_xmpp::jid::{BareJid, Jid};
use ucdesk_sdk::contract::chat::{self as contract, SyncProgress};
use ucdesk_sdk::prelude::*;

/// Archive page size: Prosody's default cap is 50; the lab allows 250.
const MAM_PAGE: u32 = 250;

/// The archive being fetched (one at a time), and how far it got.
pub(super) struct SyncRun {
    /// None: the account's own archive; Some: a room's.
    pub(super) room: Option<BareJid>,
    pub(super) queryid: String,
    pub(super) fetched: u64,
    pub(super) stored: u64,
    /// A first sync into an empty store: what was there before counts as read.
    pub(super) fresh: bool,
    /// A first fetch of an archive: history, not news, so no `chat.message` per message
    /// (the views reload on the progress events).
    pub(super) quiet: bool,
}

impl Core {
    pub(super) async fn start_sync(&mut self, full: bool) {
        // A room's sync can start before the session's own (a bookmark's room is joined
        // while the session still discovers its gateways): the account's archive goes
        // first, and the room starts again after it from where its pages got to.
        if let Some(run) = self.sync.take_if(|r| r.room.is_some()) {
            self.ctx.debug("the account's archive goes before the room's under way");
            if let Some(store) = self.store.as_mut() {
                let _ = store.commit();
            }
            if let Some(room) = run.room
                && !self.sync_queue.contains(&room)
            {
                self.sync_queue.push_front(room);
            }
        }
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
    pub(super) async fn sync_room(&mut self, room: BareJid) {
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
        self.iqs.insert(id.clone(), PendingIq::Mam(run.queryid.clone()));
        self.send(stanzas::iq_set(&id, to, query)).await;
    }

    /// Whether `queryid` is the running sync's.
    pub(super) fn sync_is(&self, queryid: &str) -> bool {
        self.sync.as_ref().is_some_and(|r| r.queryid == queryid)
    }

    pub(super) async fn on_mam_fin(&mut self, fin: Option<(bool, Option<String>)>) {
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

    pub(super) fn finish_sync(&mut self) {
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

    pub(super) async fn next_sync(&mut self) {
        if self.sync.is_none()
            && self.online
            && let Some(room) = self.sync_queue.pop_front()
        {
            self.sync_room(room).await;
        }
    }

    /// The entire history again, the account's and every room's.
    pub(super) async fn resync(&mut self) -> Result<Value, ChatError> {
        if !self.online {
            return Err(ChatError::NotReady(
                "not connected: history syncs when the connection is back".into(),
            ));
        }
        self.start_sync(true).await;
        Ok(Value::Null)
    }
}
