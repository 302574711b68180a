//! chat: the `chat` and `presence` contracts over XMPP. One account logs in with
//! STARTTLS (verified; an untrusted certificate is accepted only when the user accepts
//! that certificate), keeps its session with stream management, syncs history from
//! the server's archive (MAM) and other devices (carbons), stores every message in
//! SQLite with a local full-text index, and never loses what the user sends: it waits
//! in the outbox until the server acknowledges it.
//!
//! This file is only the [`Plugin`] glue: requests become [`engine::Request`]s,
//! settings changes reconnect, views are drawn from the engine's snapshot. The engine
//! (one tokio task with tokio-xmpp) lives in `engine.rs`.

mod config;
mod connection;
mod engine;
mod srv;
mod stanzas;
#[doc(hidden)]
pub mod store;
mod tls;
mod transfer;
mod views;

use engine::{Engine, Request};
use std::sync::{Arc, Mutex};
use ucdesk_sdk::contract::chat::{self as contract, ConversationRef, HistoryQuery, SearchQuery};
use ucdesk_sdk::contract::{notify, presence};
use ucdesk_sdk::prelude::*;

struct Chat {
    ctx: Context,
    engine: Engine,
    form: Arc<Mutex<views::Form>>,
}

impl Plugin for Chat {
    fn manifest() -> Manifest {
        let m = Manifest::build("chat", env!("CARGO_PKG_VERSION"))
            .name("Chat")
            .description(
                "Chat and presence over XMPP: conversations, history sync, search, outbox, unified presence.",
            )
            .feature("chat")
            .provides("presence")
            .panel("chats", "Chats")
            .icon("chats", "chat")
            .panel("conversation", "Conversation")
            .icon("conversation", "chat")
            .panel("search", "Search")
            .icon("search", "search")
            .panel_in("contacts", "Contacts", PanelSlot::QuickList)
            .panel_in("presence", "My status", PanelSlot::UserCard)
            .panel_in("status", "Chat", PanelSlot::Status)
            .service(
                "chat.send",
                "{to, body, reply_to?} -> the stored message (pending until the server has it)",
            )
            .service("chat.history", "{conversation, before?, limit} -> {messages, first_unread}")
            .service("chat.search", "{query, limit?} -> {conversations, messages}")
            .service("chat.conversations", "The conversations, pinned first, then by last activity")
            .service("chat.mark_read", "{conversation}")
            .service("chat.mark_unread", "{conversation}")
            .service("chat.mark_all_read", "Every conversation read")
            .service("chat.close", "{conversation}: hide it until new activity")
            .service("chat.close_all", "Close every conversation")
            .service("chat.reopen", "{conversation}")
            .service("chat.mute", "{conversation, muted}")
            .service(
                "chat.pin_conversation",
                "{conversation, position?}: pin at a position (0 first); none unpins",
            )
            .service("chat.pin", "{conversation, id?}: pin one message for everyone; no id unpins")
            .service("chat.react", "{conversation, id, reaction, remove?}: group chats")
            .service("chat.delete", "{conversation, id, for_everyone?}")
            .service("chat.forward", "{conversation, id, to: [up to 10 conversations]}")
            .service("chat.typing", "{conversation, composing}")
            .service("chat.add_contact", "{jid}: add to contacts and ask for their presence")
            .service("chat.resync", "Fetch the entire history again from the server")
            .service("chat.outbox", "Messages waiting for the server")
            .service("chat.status", "The connection state")
            .service("chat.retry", "{conversation, id}: upload a waiting message's failed files again")
            .service("chat.download", "{conversation, id, file}: fetch a received file")
            .service("chat.trust_certificate", "{fingerprint}: accept this server certificate (asked once)")
            .service("chat.create_group", "{name?, participants, full_history?} -> the new conversation")
            .service("chat.add_participants", "{conversation, participants}")
            .service("chat.remove_participant", "{conversation, jid}")
            .service("chat.make_admin", "{conversation, jid}: hand the admin role over")
            .service("chat.rename", "{conversation, name}")
            .service("chat.leave", "{conversation}: the last admin hands the role on first")
            .service("chat.assign_myself", "{conversation}: ask for the admin role of a group that has none")
            .service("chat.participants", "{conversation} -> [{jid, admin, present}]")
            .service("presence.set", "{status?, message?, expires_in?, on_call?}")
            .service("presence.list", "The user's and every contact's presence")
            .service(
                "presence.activity",
                "{idle_seconds}: the shell's report of user inactivity (away when idle)",
            )
            .service("chat.message_info", "{conversation, id} -> {seen_by, not_seen}: group chats");
        config::declare(m).finish()
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let store = match store::Store::open(&ctx.data_dir().join("chat.sqlite3")) {
            Ok(s) => Some(s),
            Err(e) => {
                // Chat still connects and shows presence; nothing can be stored or sent.
                ctx.error(e.to_string());
                None
            }
        };
        let form = Arc::new(Mutex::new(views::Form::default()));
        let slot: Arc<Mutex<Option<Arc<Mutex<engine::Snapshot>>>>> = Arc::new(Mutex::new(None));
        let republish: Arc<dyn Fn() + Send + Sync> = {
            let (ctx, form, slot) = (ctx.clone(), form.clone(), slot.clone());
            Arc::new(move || {
                let Some(snap) = slot.lock().ok().and_then(|s| s.clone()) else { return };
                let s = snap.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let mut form = form.lock().unwrap_or_else(|p| p.into_inner());
                views::publish_previews(&ctx, &s, &mut form);
                ctx.publish_view("chats", &views::chats(&s, &form));
                ctx.publish_view("conversation", &views::conversation(&s, &form));
                ctx.publish_view("contacts", &views::contacts(&s));
                ctx.publish_view("presence", &views::presence(&s, &form));
                ctx.publish_view("status", &views::status(&s, &form));
            })
        };
        let engine = Engine::start(ctx.clone(), store, republish)
            .map_err(|e| Error::new(format!("cannot start the chat engine: {e}")))?;
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine.snapshot.clone());
        Ok(Chat { ctx, engine, form })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.engine.reconfigure(config::account(&self.ctx));
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == ucdesk_sdk::contract::kernel::TOPIC_SETTING_CHANGED {
            self.engine.reconfigure(config::account(&self.ctx));
        }
        Ok(())
    }

    fn on_call(&mut self, call: Call<'_>) -> Result<Value, Error> {
        let conv = |call: &Call<'_>| call.args::<ConversationRef>().map(|c| c.conversation);
        let namespace = call.service().split_once('.').map_or("", |(ns, _)| ns);
        let req = match (namespace, call.verb()) {
            ("presence", "set") => Request::SetPresence(call.args::<presence::Set>()?),
            ("presence", "list") => Request::Presences,
            ("presence", "activity") => Request::Activity(call.arg("idle_seconds")?),
            ("presence", other) => return Err(Error::new(format!("presence has no service {other}"))),
            (_, "send") => Request::Send(call.args::<contract::Send>()?),
            (_, "history") => Request::History(call.args::<HistoryQuery>()?),
            (_, "search") => Request::Search(call.args::<SearchQuery>()?),
            (_, "conversations") => Request::Conversations,
            (_, "mark_read") => Request::MarkRead(conv(&call)?),
            (_, "mark_unread") => Request::MarkUnread(conv(&call)?),
            (_, "mark_all_read") => Request::MarkAllRead,
            (_, "close") => Request::Close(conv(&call)?),
            (_, "close_all") => Request::CloseAll,
            (_, "reopen") => Request::Reopen(conv(&call)?),
            (_, "mute") => Request::Mute(conv(&call)?, call.arg::<bool>("muted")?),
            (_, "pin_conversation") => {
                let position: Option<u32> = call.arg("position").unwrap_or(None);
                Request::PinConversation(conv(&call)?, position)
            }
            (_, "pin") => Request::PinMessage(call.args()?),
            (_, "react") => Request::React(call.args()?),
            (_, "delete") => Request::Delete(call.args()?),
            (_, "forward") => Request::Forward(call.args()?),
            (_, "typing") => {
                Request::Typing { conversation: conv(&call)?, composing: call.arg("composing")? }
            }
            (_, "add_contact") => Request::AddContact(call.arg("jid")?),
            (_, "resync") => Request::Resync,
            (_, "create_group") => Request::CreateGroup(call.args()?),
            (_, "add_participants") => Request::AddParticipants(call.args()?),
            (_, "remove_participant") => Request::RemoveParticipant(call.args()?),
            (_, "make_admin") => Request::MakeAdmin(call.args()?),
            (_, "rename") => Request::Rename(call.args()?),
            (_, "leave") => Request::Leave(conv(&call)?),
            (_, "assign_myself") => Request::AssignMyself(conv(&call)?),
            (_, "participants") => Request::Participants(conv(&call)?),
            (_, "outbox") => Request::Outbox,
            (_, "status") => Request::Status,
            (_, "message_info") => Request::MessageInfo(call.arg("conversation")?, call.arg("id")?),
            (_, "retry") => Request::Retry(call.arg("conversation")?, call.arg("id")?),
            (_, "download") => Request::Download(call.args()?),
            (_, "trust_certificate") => {
                let fingerprint: String = call.arg("fingerprint")?;
                self.trust(&fingerprint)?;
                return Ok(Value::Null);
            }
            (_, other) => return Err(Error::new(format!("chat has no service {other}"))),
        };
        self.engine.request(req).map_err(Error::new)
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        let s = self.snapshot();
        let mut form = self.form();
        match panel {
            "chats" => Ok(views::chats(&s, &form)),
            "conversation" => {
                views::publish_previews(&self.ctx, &s, &mut form);
                Ok(views::conversation(&s, &form))
            }
            "search" => Ok(views::search(&form)),
            "contacts" => Ok(views::contacts(&s)),
            "presence" => Ok(views::presence(&s, &form)),
            "status" => Ok(views::status(&s, &form)),
            other => Err(Error::new(format!("chat has no panel {other}"))),
        }
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let widget = event.widget.as_str();
        let (name, arg) = widget.split_once(':').unwrap_or((widget, ""));
        let open = self.form().open.clone();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let result: Result<Value, String> = match (name, event.action) {
            ("search", UiAction::Changed { value }) => {
                self.form().search = text(&value);
                Ok(Value::Null)
            }
            ("search", UiAction::Submitted { value }) => {
                let q = SearchQuery { query: value.clone(), limit: 100 };
                let found = self.engine.request(Request::Search(q));
                self.form().search = value;
                found.map(|v| {
                    self.form().results = serde_json::from_value(v).ok();
                    Value::Null
                })
            }
            ("new_chat", UiAction::Changed { value }) => {
                self.form().new_chat = text(&value);
                Ok(Value::Null)
            }
            ("start", UiAction::Clicked) | ("new_chat", UiAction::Submitted { .. }) => {
                let jid = std::mem::take(&mut self.form().new_chat).trim().to_string();
                self.engine.request(Request::AddContact(jid.clone())).and_then(|_| self.open(jid, None))
            }
            // A clicked message alert: exactly the conversation that alerted.
            (notify::CLICKED, UiAction::Opened { target }) => self.open(target.id, None),
            ("conversations" | "contacts" | "result_conversations", UiAction::Selected { row }) => {
                self.open(row.trim_start_matches("conv:").to_string(), None)
            }
            ("result_messages", UiAction::Selected { row }) => {
                // msg:<conversation>:<id>: open the conversation around the message.
                let rest = row.trim_start_matches("msg:");
                match rest.split_once(':') {
                    Some((c, id)) => self.open(c.to_string(), Some(id.to_string())),
                    None => Ok(Value::Null),
                }
            }
            ("draft", UiAction::Changed { value }) => {
                let t = text(&value);
                self.form().draft = t.clone();
                match open {
                    Some(c) => {
                        self.engine.request(Request::Typing { conversation: c, composing: !t.is_empty() })
                    }
                    None => Ok(Value::Null),
                }
            }
            ("send", UiAction::Clicked) | ("draft", UiAction::Submitted { .. }) => match open {
                Some(to) => {
                    let body = self.form().draft.clone();
                    let s = contract::Send { to, body, reply_to: None, files: Vec::new() };
                    let r = self.engine.request(Request::Send(s));
                    // The draft survives a refusal (too long, not set up).
                    if r.is_ok() {
                        self.form().draft.clear();
                    }
                    r
                }
                None => Err("no conversation is open".into()),
            },
            ("close", UiAction::Clicked) => {
                self.form().open = None;
                let _ = self.engine.request(Request::Open(None));
                self.engine.request(Request::Close(arg.to_string()))
            }
            ("mute", UiAction::Changed { value }) => {
                self.engine.request(Request::Mute(arg.to_string(), value.as_bool().unwrap_or(false)))
            }
            ("download", UiAction::Clicked) => {
                // download:<conversation>:<id>:<file>
                let mut parts = arg.rsplitn(3, ':');
                let file = parts.next().and_then(|f| f.parse().ok()).unwrap_or(0);
                let (id, conversation) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let f = contract::FileRef { conversation: conversation.into(), id: id.into(), file };
                self.engine.request(Request::Download(f))
            }
            ("retry", UiAction::Clicked) => match arg.rsplit_once(':') {
                Some((c, id)) => self.engine.request(Request::Retry(c.to_string(), id.to_string())),
                None => Ok(Value::Null),
            },
            ("mark_all_read", UiAction::Clicked) => self.engine.request(Request::MarkAllRead),
            ("close_all", UiAction::Clicked) => self.engine.request(Request::CloseAll),
            ("show_closed", UiAction::Changed { value }) => {
                self.form().show_closed = value.as_bool().unwrap_or(false);
                Ok(Value::Null)
            }
            ("status_message", UiAction::Changed { value }) => {
                self.form().status_message = text(&value);
                Ok(Value::Null)
            }
            ("status", UiAction::Clicked) => {
                let status: Option<presence::Status> = serde_json::from_value(json!(arg)).ok();
                let message = Some(self.form().status_message.clone());
                let set = presence::Set { status, message, expires_in: None, on_call: None };
                self.engine.request(Request::SetPresence(set))
            }
            ("custom", UiAction::Clicked) => {
                // custom:<status>:<label>: an administrator's status, its label as message.
                let (status, label) = arg.split_once(':').unwrap_or((arg, ""));
                let status: Option<presence::Status> = serde_json::from_value(json!(status)).ok();
                let set = presence::Set {
                    status,
                    message: Some(label.to_string()),
                    expires_in: None,
                    on_call: None,
                };
                self.engine.request(Request::SetPresence(set))
            }
            ("expire", UiAction::Clicked) => {
                // Re-sets the current status with an expiry.
                let me = self.snapshot().me;
                let message = Some(self.form().status_message.clone());
                let expires_in = arg.parse().ok();
                let set = presence::Set { status: Some(me.status), message, expires_in, on_call: None };
                self.engine.request(Request::SetPresence(set))
            }
            ("trust", UiAction::Clicked) => self.trust(arg).map(|()| Value::Null).map_err(|e| e.to_string()),
            ("trust_cancel", UiAction::Clicked) | ("trust_dialog", UiAction::DialogClosed) => {
                self.form().trust_dismissed = self.snapshot().connection.fingerprint.clone();
                Ok(Value::Null)
            }
            _ => Ok(Value::Null),
        };
        if let Err(e) = result {
            self.ctx.warn(format!("{widget}: {e}"));
        }
        let s = self.snapshot();
        let form = self.form();
        self.ctx.publish_view("chats", &views::chats(&s, &form));
        self.ctx.publish_view("search", &views::search(&form));
        self.ctx.publish_view("presence", &views::presence(&s, &form));
        self.ctx.publish_view("status", &views::status(&s, &form));
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Chat {
    fn snapshot(&self) -> engine::Snapshot {
        self.engine.snapshot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn form(&self) -> std::sync::MutexGuard<'_, views::Form> {
        self.form.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shows a conversation (around a message) and marks it read.
    fn open(&self, conversation: String, around: Option<String>) -> Result<Value, String> {
        self.engine.request(Request::Open(Some((conversation.clone(), around))))?;
        self.form().open = Some(conversation.clone());
        self.engine.request(Request::MarkRead(conversation))
    }

    /// The user accepted the certificate with this fingerprint: pin it (only the one
    /// that was presented), which reconnects.
    fn trust(&self, fingerprint: &str) -> Result<(), Error> {
        let status = self.engine.request(Request::Status).map_err(Error::new)?;
        let presented = status["fingerprint"].as_str().map(str::to_string);
        if presented.as_deref() != Some(fingerprint) {
            return Err(Error::new("that is not the certificate the server presented"));
        }
        self.ctx.set_setting("trusted_certificate", &fingerprint)?;
        self.ctx.set_setting("allow_insecure_tls", &true)?;
        self.engine.reconfigure(config::account(&self.ctx));
        Ok(())
    }
}

/// The topics this plugin publishes, for documentation and tests.
pub const TOPICS: [&str; 7] = [
    contract::TOPIC_TRANSFER,
    contract::TOPIC_MESSAGE,
    contract::TOPIC_TYPING,
    contract::TOPIC_RECEIPT,
    contract::TOPIC_SYNC,
    contract::TOPIC_CONNECTION,
    presence::TOPIC_CHANGED,
];

export_plugin!(Chat);

#[cfg(test)]
mod tests {
    /// The kernel refuses a plugin whose manifest does not validate: catch it here.
    #[test]
    fn the_manifest_validates() {
        use ucdesk_sdk::Plugin as _;
        super::Chat::manifest().validate().unwrap();
    }
}
