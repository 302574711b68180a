//! Messages about messages: reactions, deletion for everyone, the pinned message and
//! forwards, both what others tell us and what the user does. They change a stored
//! message in place instead of adding one.

use super::Core;
use super::error::ChatError;
use crate::stanzas;
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::message::Message as XmppMessage;
use tokio_xmpp::parsers::ns;
use ucdesk_sdk::contract::chat::{self as contract, TransferState};
use ucdesk_sdk::prelude::*;

impl Core {
    /// Reactions, retractions and pins: messages about messages. Returns true when `m`
    /// is one (its fallback body, if any, is not a message).
    pub(super) fn apply_meta(&mut self, conversation: &str, sender: &str, m: &XmppMessage) -> bool {
        let Some(store) = self.store.as_mut() else { return false };
        let changed = if let Some(r) = stanzas::payload(m, "reactions", stanzas::REACTIONS) {
            let Some(id) = r.attr("id") else { return true };
            // Short strings only: a reaction is an emoji, not a message.
            let emojis: Vec<String> = r
                .children()
                .filter(|c| c.is("reaction", stanzas::REACTIONS))
                .map(|c| c.text())
                .filter(|t| !t.is_empty() && t.chars().count() <= 8)
                .collect();
            store.react(conversation, id, sender, &emojis)
        } else if let Some(r) = stanzas::payload(m, "retract", stanzas::RETRACT) {
            let Some(id) = r.attr("id") else { return true };
            // Only the author's own message: `retract` checks the sender.
            store.retract(conversation, id, sender)
        } else if m.type_ == tokio_xmpp::parsers::message::MessageType::Groupchat
            && let Some(d) = stanzas::payload(m, "displayed", ns::DISPLAYED_MARKERS)
        {
            if let Some(id) = d.attr("id") {
                let _ = store.seen_by(conversation, id, sender);
            }
            return true;
        } else if let Some(p) = stanzas::payload(m, "pin", stanzas::UCDESK_PIN) {
            let _ = store.pin_message(conversation, p.attr("id"));
            return true;
        } else if stanzas::payload(m, "unpin", stanzas::UCDESK_PIN).is_some() {
            let _ = store.pin_message(conversation, None);
            return true;
        } else {
            return false;
        };
        if let Ok(Some(msg)) = changed {
            self.ctx.publish(contract::TOPIC_MESSAGE, &msg);
        }
        true
    }

    pub(super) async fn react(&mut self, r: contract::React) -> Result<Value, ChatError> {
        let to = self.group(&r.conversation).map_err(|_| "reactions are for group chats".to_string())?;
        let me = self.me().ok_or("chat is not set up")?;
        let store = self.store_mut()?;
        store.message(&r.conversation, &r.id).map_err(|e| e.to_string())?.ok_or("no such message")?;
        let mut set = store.reactions_of(&r.conversation, &r.id, me.as_str()).map_err(|e| e.to_string())?;
        set.retain(|e| e != &r.reaction);
        if !r.remove {
            if r.reaction.is_empty() || r.reaction.chars().count() > 8 {
                return Err("a reaction is one emoji".into());
            }
            set.push(r.reaction.clone());
        }
        let updated = store.react(&r.conversation, &r.id, me.as_str(), &set).map_err(|e| e.to_string())?;
        self.send(stanzas::reactions(&to, true, &r.id, &set)).await;
        if let Some(m) = &updated {
            self.ctx.publish(contract::TOPIC_MESSAGE, m);
        }
        Ok(json!(updated))
    }

    pub(super) async fn delete(&mut self, d: contract::Delete) -> Result<Value, ChatError> {
        let me = self.me().ok_or("chat is not set up")?;
        let msg = self
            .store()?
            .message(&d.conversation, &d.id)
            .map_err(|e| e.to_string())?
            .ok_or("no such message")?;
        if !d.for_everyone {
            self.store_mut()?.delete_local(&d.conversation, &d.id).map_err(|e| e.to_string())?;
            return Ok(Value::Null);
        }
        if msg.from != me.as_str() {
            return Err("only your own messages can be deleted for everyone".into());
        }
        if !self.online {
            return Err(ChatError::NotReady("not connected: deleting for everyone needs the server".into()));
        }
        let to: BareJid = d.conversation.parse().map_err(|e| format!("{e}"))?;
        let group = self.rooms.contains_key(&to);
        self.send(stanzas::retract(&to, group, &d.id)).await;
        let _ = self.store_mut()?.outbox_remove(&d.id);
        let updated =
            self.store_mut()?.retract(&d.conversation, &d.id, me.as_str()).map_err(|e| e.to_string())?;
        if let Some(m) = &updated {
            self.ctx.publish(contract::TOPIC_MESSAGE, m);
        }
        Ok(json!(updated))
    }

    pub(super) async fn pin_message(&mut self, p: contract::PinMessage) -> Result<Value, ChatError> {
        if !self.online {
            return Err(ChatError::NotReady("not connected: pinning needs the server".into()));
        }
        let to: BareJid = p.conversation.parse().map_err(|e| format!("{e}"))?;
        if let Some(id) = &p.id {
            self.store()?
                .message(&p.conversation, id)
                .map_err(|e| e.to_string())?
                .ok_or("no such message")?;
        }
        let group = self.rooms.contains_key(&to);
        self.send(stanzas::pin(&to, group, p.id.as_deref())).await;
        self.store_mut()?.pin_message(&p.conversation, p.id.as_deref()).map_err(|e| e.to_string())?;
        Ok(Value::Null)
    }

    /// Sends a copy naming the original author; its files go along by address.
    pub(super) async fn forward(&mut self, f: contract::Forward) -> Result<Value, ChatError> {
        if f.to.is_empty() || f.to.len() > contract::MAX_FORWARD_TARGETS {
            return Err(ChatError::BadArgument(format!(
                "a message can be forwarded to 1 to {} conversations",
                contract::MAX_FORWARD_TARGETS
            )));
        }
        let msg = self
            .store()?
            .message(&f.conversation, &f.id)
            .map_err(|e| e.to_string())?
            .ok_or("no such message")?;
        if msg.deleted {
            return Err("the message was deleted".into());
        }
        let author = msg.forwarded_from.clone().unwrap_or(msg.from.clone());
        // The files go along by address: they are on the server already.
        let files: Vec<contract::Attachment> = msg
            .files
            .iter()
            .filter(|f| f.url.is_some())
            .map(|f| contract::Attachment { state: TransferState::Uploaded, path: None, ..f.clone() })
            .collect();
        let mut sent = Vec::new();
        for to in f.to {
            let s = contract::Send { to, body: msg.body.clone(), reply_to: None, files: Vec::new() };
            sent.push(self.send_message(s, Some(&author), files.clone()).await?);
        }
        Ok(json!(sent))
    }
}
