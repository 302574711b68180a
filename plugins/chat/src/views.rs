//! The chat's panels as view trees: the conversation list (with the connection state
//! and the user's presence), and the open conversation.

use crate::engine::Snapshot;
use ucdesk_sdk::contract::chat::{ConnectionState, Direction, MAX_BODY_CHARS, Message, MessageState};
use ucdesk_sdk::contract::presence::Status;
use ucdesk_sdk::prelude::*;
use ucdesk_sdk::view::{Node, TextStyle};

/// What the user is doing in the panels (not chat state).
#[derive(Debug, Default)]
pub struct Form {
    pub open: Option<String>,
    pub draft: String,
    pub search: String,
    pub new_chat: String,
}

fn connection_line(s: &Snapshot) -> Node {
    let c = &s.connection;
    let what = match c.state {
        ConnectionState::NotConfigured => "Chat is not set up".to_string(),
        ConnectionState::Connecting => "Connecting…".to_string(),
        ConnectionState::Online => "Online".to_string(),
        ConnectionState::Offline => "Offline: messages wait in the outbox".to_string(),
        ConnectionState::AuthFailed => "Login refused".to_string(),
        ConnectionState::UntrustedCertificate => "Untrusted server certificate".to_string(),
    };
    let mut row = vec![ui::styled(what, TextStyle::Strong)];
    if let Some(r) = &c.reason {
        row.push(ui::weak(r.clone()));
    }
    if c.outbox > 0 {
        row.push(ui::badge(format!("{} waiting", c.outbox)));
    }
    if c.state == ConnectionState::UntrustedCertificate
        && let Some(fp) = &c.fingerprint
    {
        row.push(ui::button(format!("trust:{fp}"), "Allow this certificate"));
    }
    ui::row(row)
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Available => "Available",
        Status::Away => "Away",
        Status::Busy => "Busy",
        Status::Dnd => "Do not disturb",
        Status::Offline => "Offline",
    }
}

/// The conversation list: connection, my status, search, conversations by activity.
pub fn chats(s: &Snapshot, form: &Form) -> View {
    let mut children = vec![connection_line(s)];
    let mut presence = vec![ui::text(format!("Me: {}", status_label(s.me.status)))];
    for st in [Status::Available, Status::Away, Status::Busy, Status::Dnd, Status::Offline] {
        presence.push(ui::button(format!("status:{}", st.as_str()), status_label(st)));
    }
    children.push(ui::row(presence));
    children.push(ui::input("search", form.search.clone(), "Search messages and contacts"));
    children.push(ui::row([
        ui::input("new_chat", form.new_chat.clone(), "Start a chat with user@domain"),
        ui::button("start", "Chat"),
    ]));
    let unread: u32 = s.conversations.iter().filter(|c| !c.muted).map(|c| c.unread).sum();
    if unread > 0 {
        children
            .push(ui::row([ui::badge(unread.to_string()), ui::button("mark_all_read", "Mark all as read")]));
    }
    let rows = s.conversations.iter().filter(|c| !c.closed).map(|c| {
        let presence = s.contacts.get(&c.id).map(|p| status_label(p.status)).unwrap_or("");
        let mut text = c.name.clone();
        if c.pinned.is_some() {
            text = format!("📌 {text}");
        }
        if c.unread > 0 {
            text = format!("{text} ({})", c.unread);
        }
        let typing = s.typing.get(&c.id).is_some_and(|w| !w.is_empty());
        let detail = if typing {
            "typing…".to_string()
        } else {
            let last = c.last_message.clone().unwrap_or_default();
            let last: String = last.chars().take(60).collect();
            format!("{presence} · {last}")
        };
        (format!("conv:{}", c.id), text, detail)
    });
    children.push(ui::list("conversations", rows));
    if s.conversations.iter().any(|c| c.closed) {
        children.push(ui::weak("Closed conversations reopen on new activity."));
    }
    ui::view(ui::column(children))
}

/// The open conversation: its messages (state marks on ours), who is typing, the input.
pub fn conversation(s: &Snapshot, form: &Form, messages: &[Message]) -> View {
    let Some(open) = &form.open else {
        return ui::view(ui::column([ui::weak("Choose a conversation.")]));
    };
    let name = s.conversations.iter().find(|c| &c.id == open).map(|c| c.name.clone()).unwrap_or(open.clone());
    let mut head = vec![ui::heading(name)];
    if let Some(p) = s.contacts.get(open) {
        head.push(ui::weak(status_label(p.status)));
        if p.on_call {
            head.push(ui::badge("on a call"));
        }
        if let Some(m) = &p.message {
            head.push(ui::weak(m.clone()));
        }
    }
    head.push(ui::button(format!("close:{open}"), "Close"));
    let mut children = vec![ui::row(head), ui::separator()];
    let rows = messages.iter().map(|m| {
        let mark = match (m.direction, m.state) {
            (Direction::Inbound, _) => "",
            (_, MessageState::Pending) => " ⏳",
            (_, MessageState::Sent) => " ✓",
            (_, MessageState::Delivered) => " ✓✓",
            (_, MessageState::Seen) => " 👁",
        };
        let who = m.from.split('@').next().unwrap_or(&m.from).to_string();
        (format!("msg:{}", m.id), format!("{who}: {}{mark}", m.body), m.timestamp.clone())
    });
    children.push(ui::list("messages", rows));
    if let Some(who) = s.typing.get(open).filter(|w| !w.is_empty()) {
        let text = if who.len() == 1 {
            format!("{} is typing…", who[0].split('@').next().unwrap_or(&who[0]))
        } else {
            format!("{} participants are typing…", who.len())
        };
        children.push(ui::weak(text));
    }
    children.push(ui::row([
        Node::TextInput {
            id: "draft".into(),
            value: form.draft.clone(),
            hint: "Write a message".into(),
            multiline: true,
            password: false,
            max_len: Some(MAX_BODY_CHARS),
        },
        ui::button("send", "Send"),
    ]));
    ui::view(ui::column(children))
}
