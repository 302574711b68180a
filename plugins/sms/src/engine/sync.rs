//! History from the account's archive (MAM), page by page from where the last sync
//! stopped. The archive holds chat too and cannot be asked for "one domain's
//! addresses" (XEP-0313's `with` matches one address), so every page is read and only
//! the gateway's numbers are kept. A first sync into an empty store is history, not
//! news: it arrives read and publishes no `sms.message` per message.

use super::Core;
use crate::stanzas;
use ucdesk_sdk::contract::sms::{SyncProgress, TOPIC_SYNC};

/// Archive page size: Prosody's default cap is 50; the lab allows 250.
const MAM_PAGE: u32 = 250;

pub(super) struct SyncRun {
    pub(super) queryid: String,
    pub(super) fetched: u64,
    pub(super) stored: u64,
    /// The store was empty when it started.
    pub(super) fresh: bool,
}

impl Core {
    pub(super) async fn start_sync(&mut self) {
        let Some(store) = self.store.as_ref() else { return };
        let after = store.meta("mam_last").ok().flatten();
        let fresh = store.is_empty().unwrap_or(false);
        self.sync = Some(SyncRun { queryid: stanzas::new_id(), fetched: 0, stored: 0, fresh });
        self.query_page(after.as_deref()).await;
    }

    async fn query_page(&mut self, after: Option<&str>) {
        let Some(run) = self.sync.as_ref() else { return };
        let query = stanzas::mam_query(&run.queryid, after, MAM_PAGE);
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), super::PendingIq::Mam);
        self.send(stanzas::iq_set(&id, None, query)).await;
    }

    pub(super) async fn on_mam_fin(&mut self, fin: Option<(bool, Option<String>)>) {
        let Some((complete, last)) = fin else {
            self.sync = None;
            return;
        };
        if let (Some(l), Some(store)) = (last.as_deref(), self.store.as_ref()) {
            let _ = store.set_meta("mam_last", l);
        }
        if complete || last.is_none() {
            if let Some(run) = self.sync.take() {
                self.ctx.debug(format!("SMS archive sync done: {} read, {} new", run.fetched, run.stored));
                let done = SyncProgress { fetched: run.fetched, stored: run.stored, done: true };
                self.ctx.publish(TOPIC_SYNC, &done);
            }
        } else {
            self.query_page(last.as_deref()).await;
        }
    }
}
