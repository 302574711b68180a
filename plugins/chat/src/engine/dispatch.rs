//! The requests from the plugin thread, each handed to the part of the engine that owns
//! it. Only the store reads and flags that need nothing else are answered here.

use super::error::ChatError;
use super::{Core, Request};
use crate::store::Flag;
use ucdesk_sdk::contract::chat::{History, SearchResults};
use ucdesk_sdk::prelude::*;

impl Core {
    pub(super) async fn on_request(&mut self, req: Request) -> Result<Value, ChatError> {
        match req {
            Request::Send(s) => self.send_message(s, None, Vec::new()).await.map(|m| json!(m)),
            Request::History(q) => {
                let store = self.store()?;
                let (messages, first_unread) = store
                    .history(&q.conversation, q.before.as_deref(), q.limit.min(1000))
                    .map_err(store_failed)?;
                Ok(json!(History { messages, first_unread }))
            }
            Request::Search(q) => {
                let (conversations, messages) =
                    self.store()?.search(&q.query, q.limit.min(1000)).map_err(store_failed)?;
                Ok(json!(SearchResults { conversations, messages }))
            }
            Request::Conversations => Ok(json!(self.store()?.conversations().map_err(store_failed)?)),
            Request::MarkRead(c) => self.mark_read(c).await,
            Request::MarkUnread(c) => {
                self.store_mut()?.mark_unread(&c).map(|_| Value::Null).map_err(store_failed)
            }
            Request::MarkAllRead => self.mark_all_read().await,
            Request::Close(c) => self.flag(&c, Flag::Closed, true),
            Request::Reopen(c) => self.flag(&c, Flag::Closed, false),
            Request::CloseAll => self.store_mut()?.close_all().map(|_| Value::Null).map_err(store_failed),
            Request::Mute(c, on) => self.flag(&c, Flag::Muted, on),
            Request::PinConversation(c, at) => {
                self.store_mut()?.pin(&c, at).map(|_| Value::Null).map_err(store_failed)
            }
            Request::Typing { conversation, composing } => self.send_typing(conversation, composing).await,
            Request::AddContact(jid) => self.add_contact(jid).await,
            Request::SetPresence(set) => self.set_presence(set).await,
            Request::Presences => Ok(self.presences()),
            Request::Contacts => Ok(json!(self.directory())),
            Request::Resync => self.resync().await,
            Request::Outbox => Ok(json!(self.store()?.outbox().map_err(store_failed)?)),
            Request::Retry(conversation, id) => self.retry(conversation, id).await,
            Request::MessageInfo(conversation, id) => self.message_info(conversation, id),
            Request::Activity(idle) => {
                self.on_activity(idle).await;
                Ok(json!(self.my_presence()))
            }
            Request::Open(open) => {
                self.open = open;
                Ok(Value::Null)
            }
            Request::Download(f) => {
                self.start_download(&f.conversation, &f.id, f.file)?;
                Ok(Value::Null)
            }
            Request::Status => Ok(self.status()),
            Request::React(r) => self.react(r).await,
            Request::Delete(d) => self.delete(d).await,
            Request::PinMessage(p) => self.pin_message(p).await,
            Request::Forward(f) => self.forward(f).await,
            Request::CreateGroup(g) => self.create_group(g).await,
            Request::AddParticipants(a) => self.add_participants(a).await,
            Request::RemoveParticipant(p) => self.remove_participant(p).await,
            Request::MakeAdmin(p) => self.make_admin(p).await,
            Request::Rename(r) => self.rename(r).await,
            Request::Leave(c) => self.leave(c).await,
            Request::AssignMyself(c) => self.assign_myself(c).await,
            Request::Participants(c) => self.participants(c),
        }
    }

    fn flag(&mut self, c: &str, flag: Flag, on: bool) -> Result<Value, ChatError> {
        match self.store_mut()?.set_flag(c, flag, on) {
            Ok(true) => Ok(Value::Null),
            Ok(false) => Err(ChatError::NotFound(format!("no conversation {c}"))),
            Err(e) => Err(store_failed(e)),
        }
    }
}

/// The store could not do it (a full or read-only disk, a broken file).
fn store_failed(e: impl std::fmt::Display) -> ChatError {
    ChatError::Failed(e.to_string())
}
