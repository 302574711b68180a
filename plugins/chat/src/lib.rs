//! chat: the `chat` and `presence` contracts over XMPP. One account logs in with
//! STARTTLS (verified; an untrusted certificate is accepted only when the user accepts
//! that certificate), keeps its session with stream management, syncs history from
//! the server's archive (MAM) and other devices (carbons), stores every message in
//! SQLite with a local full-text index, and never loses what the user sends: it waits
//! in the outbox until the server acknowledges it.
//!
//! This file is the [`Plugin`] glue: the `chat.*` and `presence.*` services (declared
//! once, each a typed request to the engine), settings changes reconfigure it, panel
//! actions are told to it without waiting, and the panels are drawn from its
//! snapshot. The engine (the sdk's runtime with tokio-xmpp) lives in `engine/`.

mod config;
mod engine;
mod preview;
mod stanzas;
#[doc(hidden)]
pub mod store;
mod views;

use engine::{Engine, Msg, Request, Snapshot};
use serde::Deserialize;
use ucdesk_sdk::contract::chat::{self as contract, ConversationRef, HistoryQuery, SearchQuery};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::presence;
use ucdesk_sdk::prelude::*;
use views::{Act, Form, Row};

struct Chat {
    ctx: Context,
    engine: Engine,
    panels: Panels<Snapshot, Form>,
}

/// Requests that name one message of a conversation.
#[derive(Deserialize)]
struct MessageRef {
    conversation: String,
    id: String,
}

#[derive(Deserialize)]
struct MuteReq {
    conversation: String,
    muted: bool,
}

#[derive(Deserialize)]
struct PinConversation {
    conversation: String,
    #[serde(default)]
    position: Option<u32>,
}

#[derive(Deserialize)]
struct TypingReq {
    conversation: String,
    composing: bool,
}

#[derive(Deserialize)]
struct Jid {
    jid: String,
}

#[derive(Deserialize)]
struct Fingerprint {
    fingerprint: String,
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
            // The internal users (the manual's first quick list); the directory's
            // phone books are the contacts plugin's.
            .panel_in("contacts", "Users", PanelSlot::QuickList)
            .panel_in("presence", "My status", PanelSlot::UserCard)
            .panel_in("status", "Chat", PanelSlot::Status)
            // "Chat" on every contact with an XMPP address, in any plugin's list.
            .offer(ContactActionDecl {
                needs_jid: true,
                ..ContactActionDecl::new(ucdesk_sdk::contract::contact::ACTION_CHAT, "Chat", "conversation")
            });
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        use contract as c;
        let conv =
            |make: fn(String) -> Request| move |p: &mut Chat, r: ConversationRef| p.ask(make(r.conversation));
        let none = |req: fn() -> Request| move |p: &mut Chat, ()| p.ask(req());
        Services::new()
            .service(
                c::SEND,
                "{to, body, reply_to?} -> the stored message (pending until the server has it)",
                |p: &mut Chat, r: c::Send| p.ask(Request::Send(r)),
            )
            .service(
                c::HISTORY,
                "{conversation, before?, limit} -> {messages, first_unread}",
                |p: &mut Chat, r: HistoryQuery| p.ask(Request::History(r)),
            )
            .service(
                c::SEARCH,
                "{query, limit?} -> {conversations, messages}",
                |p: &mut Chat, r: SearchQuery| p.ask(Request::Search(r)),
            )
            .service(
                c::CONVERSATIONS,
                "The conversations, pinned first, then by last activity",
                none(|| Request::Conversations),
            )
            .service(
                c::CONTACTS,
                "The roster as a contact source: [contact] with their cards' names and numbers",
                none(|| Request::Contacts),
            )
            .service(c::MARK_READ, "{conversation}", conv(Request::MarkRead))
            .service(c::MARK_UNREAD, "{conversation}", conv(Request::MarkUnread))
            .service(c::MARK_ALL_READ, "Every conversation read", none(|| Request::MarkAllRead))
            .service(c::CLOSE, "{conversation}: hide it until new activity", conv(Request::Close))
            .service(c::CLOSE_ALL, "Close every conversation", none(|| Request::CloseAll))
            .service(c::REOPEN, "{conversation}", conv(Request::Reopen))
            .service(c::MUTE, "{conversation, muted}", |p: &mut Chat, r: MuteReq| {
                p.ask(Request::Mute(r.conversation, r.muted))
            })
            .service(
                c::PIN_CONVERSATION,
                "{conversation, position?}: pin at a position (0 first); none unpins",
                |p: &mut Chat, r: PinConversation| {
                    p.ask(Request::PinConversation(r.conversation, r.position))
                },
            )
            .service(
                c::PIN,
                "{conversation, id?}: pin one message for everyone; no id unpins",
                |p: &mut Chat, r: c::PinMessage| p.ask(Request::PinMessage(r)),
            )
            .service(
                c::REACT,
                "{conversation, id, reaction, remove?}: group chats",
                |p: &mut Chat, r: c::React| p.ask(Request::React(r)),
            )
            .service(c::DELETE, "{conversation, id, for_everyone?}", |p: &mut Chat, r: c::Delete| {
                p.ask(Request::Delete(r))
            })
            .service(
                c::FORWARD,
                "{conversation, id, to: [up to 10 conversations]}",
                |p: &mut Chat, r: c::Forward| p.ask(Request::Forward(r)),
            )
            .service(c::TYPING, "{conversation, composing}", |p: &mut Chat, r: TypingReq| {
                p.ask(Request::Typing { conversation: r.conversation, composing: r.composing })
            })
            .service(
                c::ADD_CONTACT,
                "{jid}: add to contacts and ask for their presence",
                |p: &mut Chat, r: Jid| p.ask(Request::AddContact(r.jid)),
            )
            .service(c::RESYNC, "Fetch the entire history again from the server", none(|| Request::Resync))
            .service(c::OUTBOX, "Messages waiting for the server", none(|| Request::Outbox))
            .service(c::STATUS, "The connection state", none(|| Request::Status))
            .service(
                c::RETRY,
                "{conversation, id}: upload a waiting message's failed files again",
                |p: &mut Chat, r: MessageRef| p.ask(Request::Retry(r.conversation, r.id)),
            )
            .service(
                c::DOWNLOAD,
                "{conversation, id, file}: fetch a received file",
                |p: &mut Chat, r: c::FileRef| p.ask(Request::Download(r)),
            )
            .service(
                c::TRUST_CERTIFICATE,
                "{fingerprint}: accept this server certificate (asked once)",
                |p: &mut Chat, r: Fingerprint| {
                    let status = p.ask(Request::Status)?;
                    trust(&p.ctx, &status, &r.fingerprint).map(|()| Value::Null)
                },
            )
            .service(
                c::CREATE_GROUP,
                "{name?, participants, full_history?} -> the new conversation",
                |p: &mut Chat, r: c::CreateGroup| p.ask(Request::CreateGroup(r)),
            )
            .service(
                c::ADD_PARTICIPANTS,
                "{conversation, participants}",
                |p: &mut Chat, r: c::AddParticipants| p.ask(Request::AddParticipants(r)),
            )
            .service(c::REMOVE_PARTICIPANT, "{conversation, jid}", |p: &mut Chat, r: c::ParticipantRef| {
                p.ask(Request::RemoveParticipant(r))
            })
            .service(
                c::MAKE_ADMIN,
                "{conversation, jid}: hand the admin role over",
                |p: &mut Chat, r: c::ParticipantRef| p.ask(Request::MakeAdmin(r)),
            )
            .service(c::RENAME, "{conversation, name}", |p: &mut Chat, r: c::Rename| {
                p.ask(Request::Rename(r))
            })
            .service(c::LEAVE, "{conversation}: the last admin hands the role on first", conv(Request::Leave))
            .service(
                c::ASSIGN_MYSELF,
                "{conversation}: ask for the admin role of a group that has none",
                conv(Request::AssignMyself),
            )
            .service(
                c::PARTICIPANTS,
                "{conversation} -> [{jid, admin, present}]",
                conv(Request::Participants),
            )
            .service(
                presence::SET,
                "{status?, message?, expires_in?, on_call?}",
                |p: &mut Chat, r: presence::Set| p.ask(Request::SetPresence(r)),
            )
            .service(presence::LIST, "The user's and every contact's presence", none(|| Request::Presences))
            .service(
                presence::ACTIVITY,
                "{idle_seconds}: the shell's report of user inactivity (away when idle)",
                |p: &mut Chat, r: presence::Activity| p.ask(Request::Activity(r.idle_seconds)),
            )
            .service(
                c::MESSAGE_INFO,
                "{conversation, id} -> {seen_by, not_seen}: group chats",
                |p: &mut Chat, r: MessageRef| p.ask(Request::MessageInfo(r.conversation, r.id)),
            )
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
        let panels = Panels::build(&ctx, Snapshot::default(), Form::default())
            .prepare(views::publish_previews)
            .panel("chats", views::chats)
            .panel("conversation", views::conversation)
            .panel("search", |_, f| views::search(f))
            .panel("contacts", |s, _| views::contacts(s))
            .panel("presence", views::presence)
            .panel("status", views::status)
            .finish();
        let show = panels.clone();
        let engine = engine::start(&ctx, store, move |s| show.set_snapshot(s))
            .map_err(|e| Error::failed(format!("cannot start the chat engine: {e}")))?;
        Ok(Chat { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.reconfigure()
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            self.reconfigure()?;
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        self.panels.view(panel)
    }

    /// Never waits on the engine: requests are told, and what they change shows when
    /// the engine's next snapshot arrives (refusals land in the log).
    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let act = Act::parse(&event.widget)?;
        let open = self.panels.read(|_, f| f.open.clone());
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let tell = |what: &str, req: Request| self.engine.tell(what, |r| Msg::Request(req, r));
        match (act, event.action) {
            (Act::ContactAction, UiAction::ContactAction { contact, .. }) => match contact.jid.clone() {
                Some(jid) => self.start_chat(jid),
                None => self.ctx.warn(format!("chat: {} has no chat address", contact.name)),
            },
            (Act::Search, UiAction::Changed { value }) => self.panels.form(|f| f.search = text(&value)),
            (Act::Search, UiAction::Submitted { value }) => {
                self.panels.form(|f| f.search = value.clone());
                let panels = self.panels.clone();
                let q = SearchQuery { query: value, limit: 100 };
                self.engine.tell_then(
                    |r| Msg::Request(Request::Search(q), r),
                    move |found| {
                        let results = found.ok().and_then(|v| serde_json::from_value(v).ok());
                        panels.form(|f| f.results = results);
                    },
                );
            }
            (Act::NewChat, UiAction::Changed { value }) => self.panels.form(|f| f.new_chat = text(&value)),
            (Act::Start, UiAction::Clicked) | (Act::NewChat, UiAction::Submitted { .. }) => {
                let jid = self.panels.form(|f| std::mem::take(&mut f.new_chat)).trim().to_string();
                self.start_chat(jid);
            }
            (
                Act::Conversations | Act::Contacts | Act::ResultConversations | Act::ResultMessages,
                UiAction::Selected { row },
            ) => match Row::parse(&row)? {
                Row::Conv(conversation) => self.open(conversation, None),
                // A search result: the conversation around the message.
                Row::Msg { conversation, id } => self.open(conversation, Some(id)),
            },
            // A clicked message alert: exactly the conversation that alerted.
            (Act::Notification, UiAction::Opened { target }) => self.open(target.id, None),
            (Act::Draft, UiAction::Changed { value }) => {
                let t = text(&value);
                let composing = !t.is_empty();
                self.panels.form(|f| f.draft = t);
                if let Some(conversation) = open {
                    tell("typing", Request::Typing { conversation, composing });
                }
            }
            (Act::Send, UiAction::Clicked) | (Act::Draft, UiAction::Submitted { .. }) => match open {
                Some(to) => {
                    let body = self.panels.read(|_, f| f.draft.clone());
                    let s = contract::Send { to, body, reply_to: None, files: Vec::new() };
                    // The draft survives a refusal (too long, not set up).
                    let panels = self.panels.clone();
                    let ctx = self.ctx.clone();
                    self.engine.tell_then(
                        |r| Msg::Request(Request::Send(s), r),
                        move |sent| match sent {
                            Ok(_) => panels.form(|f| f.draft.clear()),
                            Err(e) => ctx.warn(format!("send: {e}")),
                        },
                    );
                }
                None => self.ctx.warn("send: no conversation is open"),
            },
            (Act::Close(conversation), UiAction::Clicked) => {
                self.panels.form(|f| f.open = None);
                tell("close", Request::Open(None));
                tell("close", Request::Close(conversation));
            }
            (Act::Mute(conversation), UiAction::Changed { value }) => {
                tell("mute", Request::Mute(conversation, value.as_bool().unwrap_or(false)))
            }
            (Act::Download { conversation, id, file }, UiAction::Clicked) => {
                tell("download", Request::Download(contract::FileRef { conversation, id, file }))
            }
            (Act::Retry { conversation, id }, UiAction::Clicked) => {
                tell("retry", Request::Retry(conversation, id))
            }
            (Act::MarkAllRead, UiAction::Clicked) => tell("mark all read", Request::MarkAllRead),
            (Act::CloseAll, UiAction::Clicked) => tell("close all", Request::CloseAll),
            (Act::ShowClosed, UiAction::Changed { value }) => {
                self.panels.form(|f| f.show_closed = value.as_bool().unwrap_or(false))
            }
            (Act::StatusMessage, UiAction::Changed { value }) => {
                self.panels.form(|f| f.status_message = text(&value))
            }
            (Act::Status(status), UiAction::Clicked) => {
                let message = Some(self.panels.read(|_, f| f.status_message.clone()));
                let set = presence::Set { status: Some(status), message, expires_in: None, on_call: None };
                tell("status", Request::SetPresence(set));
            }
            (Act::Custom { status, label }, UiAction::Clicked) => {
                let set = presence::Set {
                    status: Some(status),
                    message: Some(label),
                    expires_in: None,
                    on_call: None,
                };
                tell("status", Request::SetPresence(set));
            }
            (Act::Expire(seconds), UiAction::Clicked) => {
                // Re-sets the current status with an expiry.
                let (status, message) = self.panels.read(|s, f| (s.me.status, f.status_message.clone()));
                let set = presence::Set {
                    status: Some(status),
                    message: Some(message),
                    expires_in: Some(seconds),
                    on_call: None,
                };
                tell("status", Request::SetPresence(set));
            }
            (Act::Trust(fingerprint), UiAction::Clicked) => {
                let ctx = self.ctx.clone();
                self.engine.tell_then(
                    |r| Msg::Request(Request::Status, r),
                    move |status| {
                        if let Err(e) = status.and_then(|s| trust(&ctx, &s, &fingerprint)) {
                            ctx.warn(format!("trust: {e}"));
                        }
                    },
                );
            }
            (Act::TrustCancel, UiAction::Clicked) | (Act::TrustDialog, UiAction::DialogClosed) => {
                self.panels.form_with(|s, f| f.trust_dismissed = s.connection.fingerprint.clone())
            }
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Chat {
    /// Sends a request and waits for the engine's answer (service calls).
    fn ask(&self, req: Request) -> Result<Value, Error> {
        self.engine.ask(|reply| Msg::Request(req, reply))
    }

    fn reconfigure(&self) -> Result<(), Error> {
        // The libraries' own logs (SIP messages, XMPP stanzas) as the level asks.
        ucdesk_sdk::logs::follow_setting(&self.ctx);
        self.engine.send(Msg::Reconfigure(config::Config::read(&self.ctx)))
    }

    /// Shows a conversation (around a message) and marks it read.
    /// A chat with `jid`: a contact from now on, their conversation open.
    fn start_chat(&self, jid: String) {
        self.engine.tell("add contact", |r| Msg::Request(Request::AddContact(jid.clone()), r));
        self.open(jid, None);
    }

    fn open(&self, conversation: String, around: Option<String>) {
        self.panels.form(|f| f.open = Some(conversation.clone()));
        let show = Request::Open(Some((conversation.clone(), around)));
        self.engine.tell("open", |r| Msg::Request(show, r));
        self.engine.tell("mark read", |r| Msg::Request(Request::MarkRead(conversation), r));
    }
}

/// The user accepted the certificate with this fingerprint: pin it (only the one the
/// server presented, as `status` reports it). The settings change reconnects.
fn trust(ctx: &Context, status: &Value, fingerprint: &str) -> Result<(), Error> {
    if status["fingerprint"].as_str() != Some(fingerprint) {
        return Err(Error::bad_request("that is not the certificate the server presented"));
    }
    ctx.set_setting("trusted_certificate", &fingerprint)?;
    ctx.set_setting("allow_insecure_tls", &true)
}

/// The topics this plugin publishes, for documentation and tests.
pub const TOPICS: [&str; 8] = [
    contract::TOPIC_TRANSFER,
    contract::TOPIC_GROUP_LIMITS,
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
