//! The outbox: a message is stored and queued before anything goes on the wire, and
//! leaves the queue only when the server acknowledges it; whatever a lost session
//! swallowed goes again with the same id (receivers store by id, so nothing shows twice).
//!
//! The server's ack is not the end: a server can take a message and still lose it (an
//! ejabberd cluster routing it to the node that just died with the contact's session).
//! So a 1:1 message stays "sent" until a device of the contact's confirms it (XEP-0184),
//! and when one of their devices comes online, what none confirmed goes again.

use super::error::ChatError;
use super::{Core, Msg, address};
use crate::stanzas;
use crate::store::{Incoming, now_ms};
use std::time::{Duration, Instant};
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::stanzastream::{StanzaStage, StanzaState};
use ucdesk_sdk::contract::chat::{
    self as contract, ConnectionState, Direction, Message, MessageState, TransferState,
};

/// How long after a contact's device comes online before what none of their devices
/// confirmed goes again: the server's offline store delivers first, and the receipts
/// for what arrived come back.
pub(super) const RESEND_AFTER: Duration = Duration::from_secs(5);
/// Only what was sent this recently goes again, and at most this many per contact.
const RESEND_WITHIN_MS: i64 = 24 * 3600 * 1000;
const RESEND_MAX: u32 = 50;

impl Core {
    /// Stores and sends a message. `uploaded` are files already on a server (a
    /// forward): they go with the message as they are.
    pub(super) async fn send_message(
        &mut self,
        s: contract::Send,
        forwarded_from: Option<&str>,
        uploaded: Vec<contract::Attachment>,
    ) -> Result<Message, ChatError> {
        let chars = s.body.chars().count();
        if chars > contract::MAX_BODY_CHARS {
            return Err(ChatError::BadArgument(format!(
                "the message is {chars} characters long; the limit is {}",
                contract::MAX_BODY_CHARS
            )));
        }
        if s.body.trim().is_empty() && s.files.is_empty() && uploaded.is_empty() {
            return Err("the message is empty".into());
        }
        if s.files.len() > contract::MAX_FILES_PER_SEND {
            return Err(ChatError::BadArgument(format!(
                "{} files: at most {} can go in one message",
                s.files.len(),
                contract::MAX_FILES_PER_SEND
            )));
        }
        let mut files = uploaded;
        for f in &s.files {
            let meta = std::fs::metadata(f).map_err(|e| format!("cannot attach {f}: {e}"))?;
            if !meta.is_file() {
                return Err(ChatError::BadArgument(format!("cannot attach {f}: not a file")));
            }
            let name = ucdesk_xmpp::transfer::safe_name(f);
            files.push(contract::Attachment {
                mime: ucdesk_xmpp::transfer::mime_of(&name).to_string(),
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
            return Err(ChatError::BadArgument(format!(
                "{to} is not a person's or room's address (user@domain)"
            )));
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
        if self.online && self.can_take(&conversation) {
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

    pub(super) async fn flush_outbox(&mut self) {
        let Some(store) = self.store.as_ref() else { return };
        let waiting = store.outbox().unwrap_or_default();
        for m in waiting {
            if self.pushed.contains(&m.id) || !self.can_take(&m.conversation) {
                continue;
            }
            if m.files.iter().all(|f| f.state == contract::TransferState::Uploaded) {
                self.push(&m).await;
            } else {
                self.start_uploads(&m).await;
            }
        }
    }

    /// Whether a message to `conversation` can go now: a group's only once we are in
    /// the room again (after a new session the server would take it, ack it, and the
    /// room refuse it from a non-occupant); it goes when the join comes back.
    fn can_take(&self, conversation: &str) -> bool {
        conversation.parse::<BareJid>().ok().and_then(|j| self.rooms.get(&j)).is_none_or(|r| r.present)
    }

    /// Puts an outbox message on the stream and waits (in a task) for the server's ack.
    pub(super) async fn push(&mut self, m: &Message) {
        let Ok(to) = m.conversation.parse::<BareJid>() else { return };
        if !self.can_take(&m.conversation) {
            return;
        }
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

    /// The server has the message: it leaves the outbox and becomes sent.
    pub(super) fn on_acked(&mut self, generation: u64, conversation: String, id: String) {
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

    /// Sends again, once per message and run, what the contacts whose devices came
    /// online (`resend_due`) never confirmed. The same id: their devices store by id.
    pub(super) async fn resend_unconfirmed(&mut self) {
        if !self.online || self.resend_due.is_empty() {
            return;
        }
        let now = Instant::now();
        let due: Vec<BareJid> =
            self.resend_due.iter().filter(|(_, at)| **at <= now).map(|(jid, _)| jid.clone()).collect();
        for jid in due {
            self.resend_due.remove(&jid);
            let Some(store) = self.store.as_ref() else { return };
            // What was sent in the last seconds is still on its normal way.
            let until = now_ms() - RESEND_AFTER.as_millis() as i64;
            let mut list = store
                .unconfirmed(jid.as_str(), now_ms() - RESEND_WITHIN_MS, until, RESEND_MAX)
                .unwrap_or_default();
            list.retain(|m| !self.pushed.contains(&m.id) && !self.resent.contains(&m.id));
            self.ctx.debug(format!("{jid} is online: {} unconfirmed message(s) to send again", list.len()));
            if list.is_empty() {
                continue;
            }
            self.ctx.info(format!(
                "sending {} message(s) to {jid} again: none of their devices confirmed them",
                list.len()
            ));
            for m in list {
                self.resent.insert(m.id.clone());
                self.push(&m).await;
            }
        }
    }

    pub(super) fn outbox_len(&self) -> u32 {
        self.store.as_ref().and_then(|s| s.outbox_count().ok()).unwrap_or(0)
    }
}
