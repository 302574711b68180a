//! The chat's panels as view trees: the conversation list, the open conversation (with
//! image previews), search results, contacts' presence, the user card's presence
//! selector and the status item.

use crate::engine::Snapshot;
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use ucdesk_sdk::contract::chat::{
    ConnectionState, Direction, MAX_BODY_CHARS, Message, MessageState, SearchResults, TransferState,
};
use ucdesk_sdk::contract::contact::ContactAddress;
use ucdesk_sdk::contract::presence::{PresenceChanged, Status};
use ucdesk_sdk::prelude::*;
use ucdesk_sdk::view::{ListRow, Node, TextStyle};

/// What the user is typing in the panels (not chat state).
#[derive(Debug, Default)]
pub struct Form {
    /// The open conversation as the user last chose it (the engine's snapshot follows
    /// within a refresh; clicks must not wait for it).
    pub open: Option<String>,
    pub draft: String,
    pub search: String,
    pub results: Option<SearchResults>,
    pub new_chat: String,
    pub status_message: String,
    /// The list shows closed conversations too.
    pub show_closed: bool,
    /// The untrusted certificate the user said "not now" to: not asked again.
    pub trust_dismissed: Option<String>,
    /// Image previews handed to the shell: the thumbnail's data URI -> (image hash,
    /// width, height). See [`publish_previews`].
    pub previews: HashMap<String, (String, f32, f32)>,
}

/// How many previews the form remembers before starting over (the shell keeps the
/// images; forgetting only means publishing one again).
const PREVIEWS_KEPT: usize = 256;

/// What the chat's widgets do; `on_ui` decodes the widget id back into one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// "Chat" picked on a contact in any plugin's list (`view::CONTACT_ACTION`).
    ContactAction,
    Search,
    NewChat,
    Start,
    MarkAllRead,
    /// The conversation list; its rows are [`Row`]s.
    Conversations,
    ShowClosed,
    CloseAll,
    Draft,
    Send,
    Mute(String),
    Close(String),
    Download {
        conversation: String,
        id: String,
        file: u32,
    },
    Retry {
        conversation: String,
        id: String,
    },
    StatusMessage,
    Status(Status),
    /// An administrator's status: its label is the message.
    Custom {
        status: Status,
        label: String,
    },
    /// Re-set the current status with an expiry (seconds; 0: none).
    Expire(u64),
    Trust(String),
    TrustCancel,
    TrustDialog,
    /// The contacts quick list and the search results; their rows are [`Row`]s.
    Contacts,
    ResultConversations,
    ResultMessages,
    /// A clicked message alert (`contract::notify::CLICKED`).
    Notification,
}

/// A row of the chat's lists: a conversation, or one message of one (search results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Row {
    Conv(String),
    Msg { conversation: String, id: String },
}

/// Hands the shell the previews of the open conversation's images that it does not
/// have yet (`Context::publish_image`), so the conversation can show them by hash.
pub fn publish_previews(ctx: &Context, s: &Snapshot, form: &mut Form) {
    for f in s.open_messages.iter().flat_map(|m| &m.files) {
        let Some(uri) = &f.thumbnail else { continue };
        if form.previews.contains_key(uri) {
            continue;
        }
        let Some(bytes) = uri.split_once(";base64,").and_then(|(_, b64)| BASE64.decode(b64).ok()) else {
            continue;
        };
        let Ok(img) = image::load_from_memory(&bytes) else { continue };
        if form.previews.len() >= PREVIEWS_KEPT {
            form.previews.clear();
        }
        let hash = ctx.publish_image(&bytes);
        form.previews.insert(uri.clone(), (hash, img.width() as f32, img.height() as f32));
    }
}

fn connection_line(s: &Snapshot) -> Node {
    let c = &s.connection;
    let what = match c.state {
        ConnectionState::NotConfigured => "Chat is not set up",
        ConnectionState::Connecting => "Connecting…",
        ConnectionState::Online => "Online",
        ConnectionState::Offline => "Offline: messages wait in the outbox",
        ConnectionState::AuthFailed => "Login refused",
        ConnectionState::UntrustedCertificate => "Untrusted server certificate",
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
        row.push(ui::weak(format!("SHA-256 {fp}")));
        row.push(ui::button(Act::Trust(fp.clone()).id(), "Allow this certificate"));
    }
    ui::row(row)
}

pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Available => "Available",
        Status::Away => "Away",
        Status::Busy => "Busy",
        Status::Dnd => "Do not disturb",
        Status::Offline => "Offline",
    }
}

fn local(jid: &str) -> &str {
    jid.split('@').next().unwrap_or(jid)
}

/// The user card's presence selector: status, a custom message, and an expiry.
fn presence_selector(me: &PresenceChanged, custom: &[(String, Status)], form: &Form) -> Node {
    let mut head = vec![ui::text(format!("Me: {}", status_label(me.status)))];
    if let Some(m) = &me.message {
        head.push(ui::weak(m.clone()));
    }
    if let Some(e) = &me.expires {
        head.push(ui::weak(format!("until {e}")));
    }
    if me.on_call {
        head.push(ui::badge("on a call"));
    }
    let statuses = [Status::Available, Status::Away, Status::Busy, Status::Dnd, Status::Offline]
        .into_iter()
        .map(|st| ui::button(Act::Status(st).id(), status_label(st)));
    let custom = custom
        .iter()
        .map(|(label, st)| ui::button(Act::Custom { status: *st, label: label.clone() }.id(), label.clone()));
    ui::column([
        ui::row(head),
        ui::row(statuses),
        ui::row(custom),
        ui::row([
            ui::input(
                Act::StatusMessage.id(),
                form.status_message.clone(),
                "Custom status message (e.g. In a meeting)",
            ),
            // Expiry: back to Available after this long (0: no expiry).
            ui::button(Act::Expire(0).id(), "No expiry"),
            ui::button(Act::Expire(1800).id(), "30 min"),
            ui::button(Act::Expire(3600).id(), "1 hour"),
            ui::button(Act::Expire(14400).id(), "4 hours"),
        ]),
    ])
}

/// The conversation list: connection, my presence, search, conversations by activity.
pub fn chats(s: &Snapshot, form: &Form) -> View {
    let mut children = vec![connection_line(s), ui::separator()];
    children.push(ui::input(Act::Search.id(), form.search.clone(), "Search messages and contacts"));
    children.push(ui::row([
        ui::input(Act::NewChat.id(), form.new_chat.clone(), "Start a chat with user@domain"),
        ui::button(Act::Start.id(), "Chat"),
    ]));
    let unread: u32 = s.conversations.iter().filter(|c| !c.muted).map(|c| c.unread).sum();
    if unread > 0 {
        children.push(ui::row([
            ui::badge(unread.to_string()),
            ui::button(Act::MarkAllRead.id(), "Mark all as read"),
        ]));
    }
    let rows = s.conversations.iter().filter(|c| form.show_closed || !c.closed).map(|c| {
        let mut text = c.name.clone();
        if c.closed {
            text = format!("{text} (closed)");
        }
        if c.pinned.is_some() {
            text = format!("📌 {text}");
        }
        if c.muted {
            text = format!("{text} 🔕");
        }
        if c.unread > 0 {
            text = format!("{text} ({})", c.unread);
        }
        let detail = if s.typing.get(&c.id).is_some_and(|w| !w.is_empty()) {
            "typing…".to_string()
        } else {
            let presence = s.contacts.get(&c.id).map(|p| status_label(p.status)).unwrap_or(if c.group {
                "group"
            } else {
                ""
            });
            let last: String = c.last_message.clone().unwrap_or_default().chars().take(60).collect();
            format!("{presence} · {last}")
        };
        (Row::Conv(c.id.clone()).id(), text, detail)
    });
    children.push(ui::list(Act::Conversations.id(), rows));
    let closed = s.conversations.iter().filter(|c| c.closed).count();
    if closed > 0 {
        children.push(ui::row([
            ui::toggle(Act::ShowClosed.id(), format!("Show {closed} closed"), form.show_closed),
            ui::button(Act::CloseAll.id(), "Close all"),
        ]));
    } else if !s.conversations.is_empty() {
        children.push(ui::button(Act::CloseAll.id(), "Close all"));
    }
    // The toolbar's badge: unread messages outside muted conversations.
    ui::view(ui::column(children)).with_badge(unread)
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn message_row(m: &Message, me: &str, previews: &HashMap<String, (String, f32, f32)>) -> Vec<Node> {
    let who = if m.from == me { "Me".to_string() } else { local(&m.from).to_string() };
    let mark = match (m.direction, m.state) {
        (Direction::Inbound, _) => "",
        (_, MessageState::Pending) => " ⏳",
        (_, MessageState::Sent) => " ✔",
        (_, MessageState::Delivered) => " ✔✔",
        (_, MessageState::Seen) => " 👁",
    };
    let mut rows = Vec::new();
    let mut head = vec![ui::styled(who, TextStyle::Strong), ui::weak(m.timestamp.clone())];
    if let Some(f) = &m.forwarded_from {
        head.push(ui::weak(format!("forwarded from {}", local(f))));
    }
    if m.mentions_me {
        head.push(ui::badge("@"));
    }
    rows.push(ui::row(head));
    if m.deleted {
        rows.push(ui::weak("Message deleted"));
    } else if !m.body.is_empty() {
        rows.push(ui::text(format!("{}{mark}", m.body)));
    }
    for (i, f) in m.files.iter().enumerate() {
        let state = match f.state {
            TransferState::Uploading => "uploading…",
            TransferState::Uploaded | TransferState::Downloaded => "",
            TransferState::Failed => "failed",
            TransferState::Remote => "",
            TransferState::Downloading => "downloading…",
        };
        let mut line = vec![ui::text(format!("📎 {} ({})", f.name, size(f.size))), ui::weak(state)];
        match f.state {
            TransferState::Remote => line.push(ui::button(download(m, i).id(), "Download")),
            TransferState::Failed if m.direction == Direction::Outbound => line.push(ui::button(
                Act::Retry { conversation: m.conversation.clone(), id: m.id.clone() }.id(),
                "Retry",
            )),
            TransferState::Failed => line.push(ui::button(download(m, i).id(), "Retry")),
            _ => {}
        }
        rows.push(ui::row(line));
        if let Some((hash, w, h)) = f.thumbnail.as_ref().and_then(|t| previews.get(t)) {
            rows.push(ui::image(hash.clone(), *w, *h, f.name.clone()));
        }
    }
    if !m.reactions.is_empty() {
        let r: Vec<String> = m.reactions.iter().map(|(e, who)| format!("{e} {}", who.len())).collect();
        rows.push(ui::weak(r.join("  ")));
    }
    rows
}

/// The open conversation: pinned message, messages, who is typing, the input.
pub fn conversation(s: &Snapshot, form: &Form) -> View {
    let Some(open) = &s.open else {
        return ui::view(ui::column([ui::weak("Choose a conversation.")]));
    };
    let conv = s.conversations.iter().find(|c| &c.id == open);
    let name = conv.map(|c| c.name.clone()).unwrap_or(open.clone());
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
    let muted = conv.is_some_and(|c| c.muted);
    head.push(ui::toggle(Act::Mute(open.clone()).id(), "Mute", muted));
    head.push(ui::button(Act::Close(open.clone()).id(), "Close"));
    let mut children = vec![ui::row(head)];
    if let Some(pinned) = conv.and_then(|c| c.pinned_message.as_ref())
        && let Some(m) = s.open_messages.iter().find(|m| &m.id == pinned)
    {
        children.push(ui::row([ui::badge("Pinned"), ui::text(m.body.chars().take(80).collect::<String>())]));
    }
    children.push(ui::separator());
    let me = s.me.jid.clone();
    for m in &s.open_messages {
        if s.first_unread.as_ref() == Some(&m.id) {
            children.push(ui::styled("New messages", TextStyle::Strong));
        }
        children.extend(message_row(m, &me, &form.previews));
    }
    if let Some(who) = s.typing.get(open).filter(|w| !w.is_empty()) {
        let text = if who.len() == 1 {
            format!("{} is typing…", local(&who[0]))
        } else {
            format!("{} participants are typing…", who.len())
        };
        children.push(ui::weak(text));
    }
    children.push(ui::row([
        Node::TextInput {
            id: Act::Draft.id(),
            label: "Message".into(),
            value: form.draft.clone(),
            hint: "Write a message".into(),
            multiline: true,
            password: false,
            max_len: Some(MAX_BODY_CHARS),
        },
        ui::with_icon(ui::button(Act::Send.id(), "Send"), "send"),
    ]));
    ui::view(ui::column(children))
}

/// Search results: contacts and chats first, then messages, newest first.
pub fn search(form: &Form) -> View {
    let Some(r) = &form.results else {
        return ui::view(ui::column([ui::weak(
            "Type in the search field: several words find messages with all of them; \"quoted words\" find the phrase; word* finds the start of a word.",
        )]));
    };
    let mut children = vec![ui::heading(format!("Results for {}", form.search))];
    if !r.conversations.is_empty() {
        children.push(ui::styled("Contacts and chats", TextStyle::Strong));
        children.push(ui::list(
            Act::ResultConversations.id(),
            r.conversations.iter().map(|c| (Row::Conv(c.id.clone()).id(), c.name.clone(), c.id.clone())),
        ));
    }
    children.push(ui::styled("Messages", TextStyle::Strong));
    if r.messages.is_empty() {
        children.push(ui::weak("No messages found."));
    }
    children.push(ui::list(
        Act::ResultMessages.id(),
        r.messages.iter().map(|m| {
            (
                Row::Msg { conversation: m.conversation.clone(), id: m.id.clone() }.id(),
                m.body.chars().take(100).collect::<String>(),
                format!("{} · {} · {}", local(&m.conversation), local(&m.from), m.timestamp),
            )
        }),
    ));
    ui::view(ui::column(children))
}

/// The user card: my presence selector (the shell puts it beside the avatar).
pub fn presence(s: &Snapshot, form: &Form) -> View {
    ui::view(presence_selector(&s.me, &s.custom_statuses, form))
}

/// The status-bar item: the chat connection in a word, with the outbox when it waits.
///
/// An untrusted server certificate is asked about once, in a dialog (the manual: "allow
/// connecting with insecure certificate" asks once per server); "Not now" keeps the
/// button in the status line for later.
pub fn status(s: &Snapshot, form: &Form) -> View {
    let c = &s.connection;
    let mut children = vec![connection_line(s)];
    if c.state == ConnectionState::UntrustedCertificate
        && let Some(fp) = &c.fingerprint
        && form.trust_dismissed.as_ref() != Some(fp)
    {
        children.push(ui::dialog(
            Act::TrustDialog.id(),
            "Untrusted server certificate",
            [
                ui::text("The chat server's certificate is not signed by an authority this computer trusts."),
                ui::text("Allow connecting only if your administrator confirms this fingerprint:"),
                ui::selectable(format!("SHA-256 {fp}")),
                ui::row([
                    ui::danger(Act::Trust(fp.clone()).id(), "Allow connecting"),
                    ui::button(Act::TrustCancel.id(), "Not now"),
                ]),
            ],
        ));
    }
    ui::view(ui::column(children))
}

/// Contacts' presence: status, message, devices, phone, last seen; each row carries
/// the contact with its card's numbers.
pub fn contacts(s: &Snapshot) -> View {
    let rows = s.contacts.values().map(|p| {
        let card = s.cards.get(&p.jid);
        let devices: Vec<&str> = p.devices.iter().map(|d| d.as_str()).collect();
        let mut detail = vec![status_label(p.status).to_string()];
        if let Some(m) = &p.message {
            detail.push(m.clone());
        }
        if !devices.is_empty() {
            detail.push(format!("on {}", devices.join(", ")));
        }
        if p.on_call {
            detail.push("on a call".into());
        }
        if let Some(l) = &p.last_active {
            detail.push(format!("last seen {l}"));
        }
        ListRow {
            id: Row::Conv(p.jid.clone()).id(),
            text: local(&p.jid).to_string(),
            detail: detail.join(" · "),
            badge: None,
            presence: Some(if p.on_call { "on_call" } else { p.status.as_str() }.to_string()),
            // The card's numbers, so contact actions that need one (Send SMS) apply.
            contact: Some(ContactAddress {
                name: card.and_then(|c| c.name.clone()).unwrap_or_else(|| local(&p.jid).to_string()),
                jid: Some(p.jid.clone()),
                numbers: card.map(|c| c.numbers.clone()).unwrap_or_default(),
                ..Default::default()
            }),
            tooltip: Some(p.describe()),
        }
    });
    // Contacts can be dragged (onto the phone's dial field to call them).
    let mut list = ui::list_rows(Act::Contacts.id(), rows);
    if let Node::List { drag, .. } = &mut list {
        *drag = true;
    }
    ui::view(ui::column([ui::heading("Users"), list]))
}

/// The button that downloads file `i` of message `m`.
fn download(m: &Message, i: usize) -> Act {
    Act::Download { conversation: m.conversation.clone(), id: m.id.clone(), file: i as u32 }
}

#[cfg(test)]
mod act_tests {
    use super::Act;
    use ucdesk_sdk::Action;

    /// A clicked notification arrives at `notify::CLICKED`: the action must decode it.
    #[test]
    fn the_notification_widget_is_an_action() {
        assert_eq!(Act::Notification.id(), ucdesk_sdk::contract::notify::CLICKED);
        assert_eq!(Act::parse(ucdesk_sdk::contract::notify::CLICKED).unwrap(), Act::Notification);
    }
}
