//! Files: HTTP upload (a slot from the upload service, then a PUT) before their message
//! goes, downloads of received ones (small ones by themselves), and retries. Transfers
//! run on the blocking pool and report back as messages to the engine's task.

use super::error::ChatError;
use super::{Core, Msg, PendingIq};
use crate::stanzas;
use std::time::{Duration, Instant};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::stanza_error::StanzaError;
use ucdesk_sdk::contract::chat::{self as contract, Direction, Message, MessageState, TransferState};
use ucdesk_sdk::prelude::*;

/// How long an upload service may take to hand out a slot.
const SLOT_TIMEOUT: Duration = Duration::from_secs(10);

impl Core {
    /// Asks for an upload slot for each file of `m` not yet on the server.
    pub(super) async fn start_uploads(&mut self, m: &Message) {
        let Some(me) = self.me() else { return };
        let service = self.prefs.upload_service.clone().unwrap_or_else(|| format!("upload.{}", me.domain()));
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

    /// The upload service's answer to a slot request: put the file there.
    pub(super) async fn on_slot(
        &mut self,
        conversation: String,
        id: String,
        file: u32,
        slot: Option<stanzas::Slot>,
    ) {
        match slot {
            Some(slot) => self.put_file(conversation, id, file, slot),
            None => {
                let result = Err("the upload service gave no slot".to_string());
                self.on_uploaded(conversation, id, file, result).await;
            }
        }
    }

    /// The upload service said no: the file fails, with its reason, and can be retried.
    pub(super) async fn on_slot_refused(
        &mut self,
        conversation: String,
        id: String,
        file: u32,
        error: &StanzaError,
    ) {
        let text = error.texts.values().next().map(|t| format!(": {t}")).unwrap_or_default();
        let result = Err(format!("the upload service refused ({:?}){text}", error.defined_condition));
        self.on_uploaded(conversation, id, file, result).await;
    }

    /// An upload service that never answers (a wrong address can vanish into
    /// server-to-server routing): the file fails and can be retried.
    pub(super) async fn expire_slots(&mut self) {
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
    }

    /// PUTs one file to its slot on the blocking pool; the result comes back as a Msg.
    fn put_file(&mut self, conversation: String, id: String, file: u32, slot: stanzas::Slot) {
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
            let thumbnail = crate::preview::thumbnail(path, &f.mime);
            let result = ucdesk_xmpp::transfer::upload(path, &put, &headers, &f.mime, &ca, &mut progress)
                .map(|()| get);
            let _ = tx.send(Msg::Uploaded { conversation, id, file, result, thumbnail });
        });
    }

    pub(super) async fn on_uploaded(
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

    /// Uploads a waiting message's failed files again (and sends it once all are up).
    pub(super) async fn retry(&mut self, conversation: String, id: String) -> Result<Value, ChatError> {
        let m =
            self.store()?.message(&conversation, &id).map_err(|e| e.to_string())?.ok_or("no such message")?;
        if m.direction != Direction::Outbound || m.state != MessageState::Pending {
            return Err("only a message of ours still waiting can be retried".into());
        }
        if !self.online {
            return Err(ChatError::NotReady(
                "not connected: it goes by itself when the connection is back".into(),
            ));
        }
        self.start_uploads(&m).await;
        if m.files.iter().all(|f| f.state == TransferState::Uploaded) && !self.pushed.contains(&m.id) {
            self.push(&m).await;
        }
        Ok(Value::Null)
    }

    /// Downloads one received file into the plugin's data dir, on the blocking pool.
    pub(super) fn start_download(
        &mut self,
        conversation: &str,
        id: &str,
        file: u32,
    ) -> Result<(), ChatError> {
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
        let dir = self.ctx.data_dir().join("files").join(ucdesk_xmpp::transfer::safe_name(id));
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
            let result = ucdesk_xmpp::transfer::download(&url, &dir, &f.name, &ca, None, &mut progress)
                .map(|p| p.display().to_string());
            let _ = tx.send(Msg::Downloaded { conversation, id, file, result });
        });
        Ok(())
    }

    /// A download ended (the file is in place, or it failed and can be asked for again).
    pub(super) fn on_downloaded(
        &mut self,
        conversation: String,
        id: String,
        file: u32,
        result: Result<String, String>,
    ) {
        self.transfers.remove(&(conversation.clone(), id.clone(), file));
        let Some(store) = self.store.as_mut() else { return };
        let _ = match &result {
            Ok(path) => {
                store.update_file(&conversation, &id, file, TransferState::Downloaded, None, Some(path))
            }
            Err(e) => {
                self.ctx.warn(format!("downloading a file of {conversation}: {e}"));
                store.update_file(&conversation, &id, file, TransferState::Failed, None, None)
            }
        };
        if let Ok(Some(m)) = store.message(&conversation, &id) {
            self.ctx.publish(contract::TOPIC_MESSAGE, &m);
        }
    }

    /// Records a received message's files and fetches the small ones.
    pub(super) fn receive_files(&mut self, m: &mut Message, files: Vec<stanzas::FileInfo>) {
        let list: Vec<contract::Attachment> = files
            .into_iter()
            .map(|f| contract::Attachment {
                name: ucdesk_xmpp::transfer::safe_name(&f.name),
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
}
