//! MMS files on the wire: each prepared file of ours gets an upload slot (XEP-0363)
//! from the server's upload service and is PUT there; its message then goes with the
//! slot's address. A received file under 500 KB is fetched at once (the manual), a
//! larger one or one from the archive when the user asks (`sms.download`).
//! Transfers run on the blocking pool and report back as messages to the core.

use super::error::SmsError;
use super::{Core, Msg, PendingIq};
use crate::stanzas;
use crate::store::Queued;
use std::path::PathBuf;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::stanza_error::StanzaError;
use ucdesk_sdk::contract::sms::{
    self as contract, MAX_MEDIA_BYTES, MediaFile, MediaState, Message, MessageState,
};
use ucdesk_sdk::prelude::*;

impl Core {
    /// Asks for an upload slot for a queued file (once while one is under way).
    pub(super) async fn upload(&mut self, q: &Queued) {
        if self.transfers.contains(&q.id) {
            return;
        }
        let Some(service) = self.upload_service.clone() else {
            if self.discovering.is_some() {
                return; // the server's components are still answering
            }
            let why =
                "the server offers no file upload service (XEP-0363), so MMS cannot be sent".to_string();
            self.settle(&q.number, &q.id, MessageState::Failed, Some(why));
            return;
        };
        let (Some(path), Some(mime)) = (q.path.as_deref(), q.mime.as_deref()) else { return };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let name = ucdesk_xmpp::transfer::safe_name(&q.body);
        let id = stanzas::new_id();
        self.transfers.insert(q.id.clone());
        let slot =
            PendingIq::Slot { number: q.number.clone(), id: q.id.clone(), since: std::time::Instant::now() };
        self.iqs.insert(id.clone(), slot);
        let request = stanzas::slot_request(&name, size, mime);
        self.send(stanzas::iq_get(&id, service.parse::<Jid>().ok(), request)).await;
    }

    /// The slot: PUT the file there, off the core.
    pub(super) async fn on_slot(&mut self, number: String, id: String, slot: Option<stanzas::Slot>) {
        let Some((put, headers, get)) = slot else {
            self.transfers.remove(&id);
            self.settle(&number, &id, MessageState::Failed, Some("the upload service gave no slot".into()));
            // What waited behind it goes now.
            self.flush_outbox().await;
            return;
        };
        let Some(q) = self
            .store
            .as_ref()
            .and_then(|s| s.outbox().ok())
            .and_then(|o| o.into_iter().find(|q| q.id == id))
        else {
            self.transfers.remove(&id);
            return;
        };
        let (Some(path), Some(mime)) = (q.path, q.mime) else { return };
        let ca = self.account.as_ref().map(|a| a.tls.ca_file.clone()).unwrap_or_default();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = ucdesk_xmpp::transfer::upload(
                std::path::Path::new(&path),
                &put,
                &headers,
                &mime,
                &ca,
                &mut |_, _| {},
            )
            .map(|()| get);
            let _ = tx.send(Msg::Uploaded { number, id, result });
        });
    }

    pub(super) async fn on_slot_refused(&mut self, number: String, id: String, error: &StanzaError) {
        self.transfers.remove(&id);
        let why = format!("the upload service refused the file: {}", stanzas::error_text(error));
        self.settle(&number, &id, MessageState::Failed, Some(why));
        self.flush_outbox().await;
    }

    pub(super) async fn on_uploaded(&mut self, number: String, id: String, result: Result<String, String>) {
        self.transfers.remove(&id);
        let url = match result {
            Ok(url) => url,
            Err(e) => {
                self.settle(&number, &id, MessageState::Failed, Some(e));
                return self.flush_outbox().await;
            }
        };
        let Some(store) = self.store.as_ref() else { return };
        let _ = store.set_uploaded(&id, &url);
        if let Ok(Some(m)) = store.get(&number, &id)
            && let Some(mut file) = m.file
        {
            file.state = MediaState::Ready;
            if let Ok(Some(m)) = store.set_file(&number, &id, &file, Some(&url)) {
                self.ctx.publish(contract::TOPIC_MESSAGE, &m);
            }
        }
        self.flush_outbox().await;
    }

    /// A received file: fetched now when it is small (`limit`), else left for a click.
    pub(super) fn fetch(&mut self, m: &Message, limit: Option<u64>) {
        let (Some(url), Some(file)) = (m.url.clone(), m.file.clone()) else { return };
        if self.transfers.contains(&m.id) {
            return;
        }
        self.transfers.insert(m.id.clone());
        self.set_media(
            &m.number,
            &m.id,
            MediaFile { state: MediaState::Downloading, error: None, ..file.clone() },
        );
        let dir = self.ctx.data_dir().join("media").join(ucdesk_xmpp::transfer::safe_name(&m.number));
        let name = format!("{}-{}", ucdesk_xmpp::transfer::safe_name(&m.id), file.name);
        let ca = self.account.as_ref().map(|a| a.tls.ca_file.clone()).unwrap_or_default();
        let tx = self.tx.clone();
        let (number, id) = (m.number.clone(), m.id.clone());
        tokio::task::spawn_blocking(move || {
            let result = ucdesk_xmpp::transfer::download(&url, &dir, &name, &ca, limit, &mut |_, _| {});
            let _ = tx.send(Msg::Downloaded { number, id, result, limited: limit.is_some() });
        });
    }

    pub(super) fn on_downloaded(
        &mut self,
        number: String,
        id: String,
        result: Result<PathBuf, String>,
        limited: bool,
    ) {
        self.transfers.remove(&id);
        let Some(file) =
            self.store.as_ref().and_then(|s| s.get(&number, &id).ok().flatten()).and_then(|m| m.file)
        else {
            return;
        };
        let next = match result {
            Ok(path) => MediaFile {
                size: std::fs::metadata(&path).map(|m| m.len()).ok(),
                path: Some(path.display().to_string()),
                state: MediaState::Ready,
                error: None,
                ..file
            },
            // Over the automatic limit: the user fetches it with a click.
            Err(e) if limited && e.contains("larger than") => {
                MediaFile { state: MediaState::NotDownloaded, error: None, ..file }
            }
            Err(e) => MediaFile { state: MediaState::Failed, error: Some(e), ..file },
        };
        self.set_media(&number, &id, next);
    }

    fn set_media(&mut self, number: &str, id: &str, file: MediaFile) {
        let Some(store) = self.store.as_ref() else { return };
        if let Ok(Some(m)) = store.set_file(number, id, &file, None) {
            self.ctx.publish(contract::TOPIC_MESSAGE, &m);
        }
    }

    /// `sms.download`: fetches a received file whatever its size.
    pub(super) fn download(&mut self, id: &str) -> Result<Value, SmsError> {
        let m = self.store()?.find(id)?.ok_or_else(|| SmsError::NotFound(format!("no message {id}")))?;
        match m.file.as_ref().map(|f| f.state) {
            None => Err(SmsError::BadArgument(format!("message {id} carries no file"))),
            Some(MediaState::Ready) => Ok(json!(m)),
            Some(MediaState::Uploading) => {
                Err(SmsError::BadArgument(format!("message {id} is still uploading")))
            }
            Some(_) => {
                self.fetch(&m, None);
                Ok(json!(m))
            }
        }
    }
}

/// What the automatic download fetches at most (the manual: files under 500 KB).
pub(super) const AUTO_DOWNLOAD: u64 = MAX_MEDIA_BYTES;
