//! Incoming messages, whatever the path (live, a carbon from another device, the
//! archive, a room): each is stored once and announced, and the receipts, markers and
//! chat states around them update message states and who is typing. Our own markers
//! and chat states, the answers to these, go out from here too.

use super::error::ChatError;
use super::{Core, address};
use crate::stanzas::{self, Marker};
use crate::store::{Incoming, now_ms};
use std::time::{Duration, Instant};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::message::Message as XmppMessage;
use tokio_xmpp::parsers::ns;
use ucdesk_sdk::contract::chat::{self as contract, Direction, Message, MessageState, Receipt, Typing};
use ucdesk_sdk::contract::notify::{self, Notification, NotifyKind};
use ucdesk_sdk::contract::presence::Status;
use ucdesk_sdk::prelude::*;

/// A contact who said "composing" and then nothing for this long stopped typing.
const TYPING_TIMEOUT: Duration = Duration::from_secs(30);
/// We repeat our own "composing" at most this often.
const TYPING_REPEAT: Duration = Duration::from_secs(5);

/// How a message reached us: history from the archive is not news (no alert, no
/// receipt, no typing), and only live ones may move the archive position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Live,
    Carbon,
    Archive,
}

impl Core {
    pub(super) async fn on_message(&mut self, m: XmppMessage) {
        let Some(me) = self.me() else { return };
        let from_me = m.from.as_ref().is_none_or(|f| f.to_bare() == me);
        let from_synced_room = self
            .sync
            .as_ref()
            .and_then(|r| r.room.as_ref())
            .is_some_and(|room| m.from.as_ref().map(|f| f.to_bare()).as_ref() == Some(room));
        // Archive results and carbons are trusted only from our own account (or the
        // room whose archive we asked for).
        if (from_me || from_synced_room)
            && let Some(result) = stanzas::payload(&m, "result", ns::MAM)
        {
            let matches =
                self.sync.as_ref().is_some_and(|r| result.attr("queryid") == Some(r.queryid.as_str()));
            if let (true, Some((stamp, inner))) = (matches, stanzas::forwarded(result)) {
                let archive_id = result.attr("id").map(str::to_string);
                let ts = stamp.as_deref().and_then(stanzas::stamp_ms).unwrap_or_else(now_ms);
                if let Some(run) = self.sync.as_mut() {
                    run.fetched += 1;
                }
                if let Some(store) = self.store.as_mut() {
                    let _ = store.begin();
                }
                let stored = if from_synced_room {
                    self.on_group(inner, Source::Archive, ts, archive_id).await
                } else {
                    self.on_chat(inner, Source::Archive, ts, archive_id).await
                };
                if stored && let Some(run) = self.sync.as_mut() {
                    run.stored += 1;
                }
            }
            return;
        }
        if from_me {
            for kind in ["received", "sent"] {
                if let Some(carbon) = stanzas::payload(&m, kind, ns::CARBONS)
                    && let Some((_, inner)) = stanzas::forwarded(carbon)
                {
                    let archive_id = stanzas::archive_id(&inner, &me);
                    self.on_chat(inner, Source::Carbon, now_ms(), archive_id).await;
                    return;
                }
            }
        }
        let ts = stanzas::payload(&m, "delay", ns::DELAY)
            .and_then(|d| d.attr("stamp"))
            .and_then(stanzas::stamp_ms)
            .unwrap_or_else(now_ms);
        if m.type_ == tokio_xmpp::parsers::message::MessageType::Groupchat {
            let room = m.from.as_ref().map(|f| f.to_bare());
            let archive_id = room.and_then(|r| stanzas::archive_id(&m, &r));
            self.on_group(m, Source::Live, ts, archive_id).await;
            return;
        }
        if let Some(invite) = stanzas::payload(&m, "x", stanzas::CONFERENCE)
            && let Some(room) = invite.attr("jid").and_then(|j| j.parse::<BareJid>().ok())
        {
            let sender = m.from.as_ref().map(|f| f.to_bare());
            // Colleagues on our own server may add us to groups (a company directory).
            if sender.is_some_and(|s| s.domain() == me.domain()) && !self.rooms.contains_key(&room) {
                let details = stanzas::payload(&m, "group", stanzas::UCDESK_GROUP);
                let name = details.and_then(|g| g.attr("name")).or(invite.attr("reason")).map(str::to_string);
                let full = details.is_some_and(|g| g.attr("history") == Some("full"));
                self.enter_room(room, name.unwrap_or_else(|| "Group".into()), full, true).await;
            }
            return;
        }
        let archive_id = stanzas::archive_id(&m, &me);
        self.on_chat(m, Source::Live, ts, archive_id).await;
    }

    /// One chat message from any source. Returns whether a new message was stored.
    async fn on_chat(&mut self, m: XmppMessage, source: Source, ts: i64, archive_id: Option<String>) -> bool {
        let Some(me) = self.me() else { return false };
        if !stanzas::is_chat(&m) {
            return false;
        }
        let from = m.from.as_ref().map(|f| f.to_bare()).unwrap_or_else(|| me.clone());
        let outbound = from == me;
        let peer = if outbound { m.to.as_ref().map(|t| t.to_bare()) } else { Some(from.clone()) };
        let Some(peer) = peer else { return false };
        if peer == me || self.behind_sms_gateway(peer.domain().as_str()) {
            return false;
        }
        let conversation = peer.to_string();
        let mut stored = false;
        if self.apply_meta(&conversation, from.as_str(), &m) {
            return false;
        }

        let files = stanzas::read_files(&m);
        let text = message_text(&m, &files);
        if !text.is_empty() || !files.is_empty() {
            let body = text.as_str();
            let id = stanzas::stable_id(&m).or_else(|| archive_id.clone()).unwrap_or_else(stanzas::new_id);
            let reply_to =
                stanzas::payload(&m, "reply", stanzas::REPLY).and_then(|r| r.attr("id")).map(str::to_string);
            let forwarded_from = stanzas::payload(&m, "forwarded-from", stanzas::UCDESK_FORWARD)
                .and_then(|f| f.attr("jid"))
                .map(str::to_string);
            let state = if outbound { MessageState::Sent } else { MessageState::Delivered };
            let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
            let sender = from.to_string();
            let mentions_me = !outbound && stanzas::mentions_me(&m, body, &me);
            if let Some(store) = self.store.as_mut() {
                match store.insert(&Incoming {
                    conversation: &conversation,
                    id: &id,
                    from: &sender,
                    body,
                    ts_ms: ts,
                    direction,
                    state,
                    archive_id: archive_id.as_deref(),
                    reply_to: reply_to.as_deref(),
                    forwarded_from: forwarded_from.as_deref(),
                    mentions_me,
                }) {
                    Ok(Some(new)) => {
                        stored = true;
                        // Live messages come in archive order: once caught up, each one
                        // moves the position the next catch-up starts from.
                        if source != Source::Archive
                            && self.caught_up
                            && let (Some(aid), Some(store)) = (archive_id.as_deref(), self.store.as_mut())
                        {
                            let _ = store.set_meta("mam_last", Some(aid));
                        }
                        self.announce(new, files.clone(), source, mentions_me);
                    }
                    Ok(None) => {}
                    Err(e) => self.ctx.warn(format!("cannot store a message from {sender}: {e}")),
                }
            }
            if !outbound {
                self.set_typing(&conversation, &sender, false);
            }
            // The sender waits for our receipt; archived messages were receipted (or
            // not) when they arrived.
            if !outbound
                && source != Source::Archive
                && stanzas::payload(&m, "request", ns::RECEIPTS).is_some()
                && let Some(to) = m.from.clone()
            {
                self.send(stanzas::marker(&to, Marker::Received, &id, &stanzas::new_id())).await;
            }
        }

        if let Some(id) = stanzas::payload(&m, "received", ns::RECEIPTS).and_then(|r| r.attr("id"))
            && !outbound
        {
            self.advance(&conversation, id, MessageState::Delivered);
        }
        if let Some(id) = stanzas::payload(&m, "displayed", ns::DISPLAYED_MARKERS).and_then(|r| r.attr("id"))
        {
            if outbound {
                // We read it on another device.
                if let Some(store) = self.store.as_mut() {
                    let _ = store.mark_read(&conversation);
                }
            } else if let Some(store) = self.store.as_mut() {
                let ids = store.seen_up_to(&conversation, id).unwrap_or_default();
                for id in ids {
                    self.ctx.publish(
                        contract::TOPIC_RECEIPT,
                        &Receipt { conversation: conversation.clone(), id, state: MessageState::Seen },
                    );
                }
            }
        }
        if source == Source::Live && !outbound {
            let sender = from.to_string();
            for p in m.payloads.iter().filter(|p| p.ns() == ns::CHATSTATES) {
                self.set_typing(&conversation, &sender, p.name() == "composing");
            }
        }
        stored
    }

    /// A group message (live or from the room's archive). Returns whether it is new.
    async fn on_group(
        &mut self,
        m: XmppMessage,
        source: Source,
        ts: i64,
        archive_id: Option<String>,
    ) -> bool {
        let Some(me) = self.me() else { return false };
        let Some(from) = m.from.clone() else { return false };
        let room = from.to_bare();
        let my_nick = self.nick();
        let Some(r) = self.rooms.get_mut(&room) else { return false };
        let nick = from.resource().map(|n| n.to_string()).unwrap_or_default();
        if let Some((_, subject)) = m.get_best_subject(vec![])
            && m.bodies.is_empty()
        {
            if !subject.trim().is_empty() {
                r.name = subject.clone();
                if let Some(store) = self.store.as_mut() {
                    let _ = store.rename(room.as_str(), subject);
                }
            }
            return false;
        }
        let real = m
            .payloads
            .iter()
            .find(|p| p.is("x", ns::MUC_USER))
            .and_then(|x| x.get_child("item", ns::MUC_USER))
            .and_then(|i| i.attr("jid"))
            .and_then(|j| j.parse::<Jid>().ok())
            .map(|j| j.to_bare())
            .or_else(|| r.occupants.get(&nick).cloned().flatten())
            .or_else(|| (nick == my_nick).then(|| me.clone()));
        let sender = real.as_ref().map(|j| j.to_string()).unwrap_or_else(|| format!("{room}/{nick}"));
        let outbound = real.as_ref() == Some(&me);
        let conversation = room.to_string();
        if self.apply_meta(&conversation, &sender, &m) {
            return false;
        }
        let files = stanzas::read_files(&m);
        let text = message_text(&m, &files);
        let body = text.as_str();
        if body.is_empty() && files.is_empty() {
            if source == Source::Live && !outbound {
                for p in m.payloads.iter().filter(|p| p.ns() == ns::CHATSTATES) {
                    self.set_typing(&conversation, &sender, p.name() == "composing");
                }
            }
            return false;
        }
        let id = stanzas::stable_id(&m).or_else(|| archive_id.clone()).unwrap_or_else(stanzas::new_id);
        let reply_to =
            stanzas::payload(&m, "reply", stanzas::REPLY).and_then(|r| r.attr("id")).map(str::to_string);
        let forwarded_from = stanzas::payload(&m, "forwarded-from", stanzas::UCDESK_FORWARD)
            .and_then(|f| f.attr("jid"))
            .map(str::to_string);
        let mentions_me = !outbound && stanzas::mentions_me(&m, body, &me);
        let mut stored = false;
        if let Some(store) = self.store.as_mut() {
            match store.insert(&Incoming {
                conversation: &conversation,
                id: &id,
                from: &sender,
                body,
                ts_ms: ts,
                direction: if outbound { Direction::Outbound } else { Direction::Inbound },
                state: MessageState::Delivered,
                archive_id: archive_id.as_deref(),
                reply_to: reply_to.as_deref(),
                forwarded_from: forwarded_from.as_deref(),
                mentions_me,
            }) {
                Ok(Some(new)) => {
                    stored = true;
                    self.announce(new, files.clone(), source, mentions_me);
                }
                Ok(None) => {}
                Err(e) => self.ctx.warn(format!("cannot store a group message: {e}")),
            }
        }
        if source == Source::Live
            && self.rooms.get(&room).is_some_and(|r| r.caught_up)
            && let (Some(aid), Some(store)) = (archive_id.as_deref(), self.store.as_mut())
        {
            let _ = store.set_meta(&format!("mam_last:{room}"), Some(aid));
        }
        if outbound {
            // The room's echo of our message: the group has it.
            self.advance(&conversation, &id, MessageState::Delivered);
        } else {
            self.set_typing(&conversation, &sender, false);
        }
        stored
    }

    /// A newly stored message: its files recorded (small ones fetched), whether to
    /// alert, and the event (unless it is history from a first fetch).
    fn announce(
        &mut self,
        mut new: Message,
        files: Vec<stanzas::FileInfo>,
        source: Source,
        mentions_me: bool,
    ) {
        if !files.is_empty() {
            self.receive_files(&mut new, files);
        }
        new.notify = new.direction == Direction::Inbound
            && source != Source::Archive
            && self.should_notify(&new.conversation, mentions_me);
        if !self.quiet(source) {
            self.ctx.publish(contract::TOPIC_MESSAGE, &new);
        }
        if new.notify {
            let from = new.from.split('@').next().unwrap_or(&new.from).to_string();
            let mut body: String = new.body.chars().take(120).collect();
            if body.is_empty() {
                body = "(file)".into();
            }
            let note = Notification {
                id: format!("chat:{}", new.conversation),
                kind: NotifyKind::Message,
                title: format!("Message from {from}"),
                body,
                panel: Some("conversation".into()),
                target: Some(notify::Target {
                    kind: notify::TargetKind::Conversation,
                    id: new.conversation.clone(),
                }),
                close: false,
            };
            self.ctx.publish(notify::TOPIC, &note);
        }
    }

    fn quiet(&self, source: Source) -> bool {
        source == Source::Archive && self.sync.as_ref().is_some_and(|r| r.quiet)
    }

    /// The manual: do not disturb silences chat notifications; a muted conversation
    /// still alerts when the user is mentioned.
    fn should_notify(&self, conversation: &str, mentions_me: bool) -> bool {
        if self.mine.status == Status::Dnd {
            return false;
        }
        let muted = self.store.as_ref().and_then(|s| s.is_muted(conversation).ok()).unwrap_or(false);
        !muted || mentions_me
    }

    fn advance(&mut self, conversation: &str, id: &str, state: MessageState) {
        let Some(store) = self.store.as_mut() else { return };
        if let Ok(Some(m)) = store.advance(conversation, id, state) {
            // A receipt can beat the server's ack: the message left the outbox.
            let _ = store.outbox_remove(id);
            self.ctx.publish(
                contract::TOPIC_RECEIPT,
                &Receipt { conversation: conversation.to_string(), id: id.to_string(), state },
            );
            self.ctx.publish(contract::TOPIC_MESSAGE, &m);
        }
    }

    fn set_typing(&mut self, conversation: &str, who: &str, composing: bool) {
        let entry = self.typing.entry(conversation.to_string()).or_default();
        let changed = if composing {
            entry.insert(who.to_string(), Instant::now()).is_none()
        } else {
            entry.remove(who).is_some()
        };
        if changed {
            let mut who: Vec<String> = entry.keys().cloned().collect();
            who.sort();
            self.ctx.publish(contract::TOPIC_TYPING, &Typing { conversation: conversation.to_string(), who });
        }
    }

    /// Marks a conversation read here and tells the other side (a displayed marker; in a
    /// group, to the room).
    pub(super) async fn mark_read(&mut self, c: String) -> Result<Value, ChatError> {
        let last = self.store_mut()?.mark_read(&c).map_err(|e| e.to_string())?;
        let group = c.parse::<BareJid>().is_ok_and(|r| self.rooms.contains_key(&r));
        if let Some((id, sender)) = last {
            if group {
                // In a group the marker goes to the room: message info shows
                // who has seen what.
                if let Ok(room) = c.parse::<BareJid>() {
                    self.send(stanzas::group_marker(&room, &id)).await;
                }
            } else if let Ok(to) = sender.parse::<BareJid>() {
                self.send(stanzas::marker(&Jid::from(to), Marker::Displayed, &id, &stanzas::new_id())).await;
            }
        }
        Ok(Value::Null)
    }

    pub(super) async fn mark_all_read(&mut self) -> Result<Value, ChatError> {
        let ids: Vec<String> = self
            .store()?
            .conversations()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|c| c.unread > 0)
            .map(|c| c.id)
            .collect();
        for c in ids {
            self.mark_read(c).await?;
        }
        Ok(Value::Null)
    }

    /// Our own chat state (`chat.typing_notifications` off: none is sent).
    pub(super) async fn send_typing(
        &mut self,
        conversation: String,
        composing: bool,
    ) -> Result<Value, ChatError> {
        let enabled = self.prefs.typing_notifications;
        let to = address(&conversation)?;
        if !enabled || !self.online {
            return Ok(Value::Null);
        }
        let due = self.my_typing.get(&conversation).is_none_or(|t| t.elapsed() > TYPING_REPEAT);
        let group = self.rooms.contains_key(&to);
        if composing && due {
            self.my_typing.insert(conversation, Instant::now());
            self.send(stanzas::chat_state(&to, "composing", group)).await;
        } else if !composing && self.my_typing.remove(&conversation).is_some() {
            self.send(stanzas::chat_state(&to, "paused", group)).await;
        }
        Ok(Value::Null)
    }

    /// A contact who went quiet in the middle of typing stopped.
    pub(super) fn expire_typing(&mut self) {
        let stale: Vec<(String, String)> = self
            .typing
            .iter()
            .flat_map(|(c, who)| {
                who.iter()
                    .filter(|(_, since)| since.elapsed() > TYPING_TIMEOUT)
                    .map(move |(w, _)| (c.clone(), w.clone()))
            })
            .collect();
        for (c, w) in stale {
            self.set_typing(&c, &w, false);
        }
    }
}

/// A message's text. When it carries files, links in the body that only repeat the
/// files' addresses (the fallback for clients without file support) are not text.
fn message_text(m: &XmppMessage, files: &[stanzas::FileInfo]) -> String {
    let text = m.get_best_body(vec![]).map(|(_, b)| b.clone()).unwrap_or_default();
    if !files.is_empty() {
        let urls: Vec<&str> = files.iter().map(|f| f.url.as_str()).collect();
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.iter().all(|l| urls.contains(l)) {
            return String::new();
        }
    }
    text
}
