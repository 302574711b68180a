//! The SMS window as a view tree: the user's number (selectable, to copy), who shares
//! it, the search field, a new conversation, the conversation list by recent activity,
//! and the open conversation with its messages, states and the composer's
//! segment-aware counter. Plus the status item and SMS's part of Preferences ->
//! Messaging.

use crate::engine::Snapshot;
use crate::segments;
use serde::{Deserialize, Serialize};
use ucdesk_sdk::contract::sms::{
    Direction, Found, MAX_MEDIA_BYTES, MediaState, Message, MessageState, State,
};
use ucdesk_sdk::prelude::*;
use ucdesk_sdk::view::{Node, TextStyle};

/// What the user is typing (not SMS state).
#[derive(Debug, Default)]
pub struct Form {
    pub open: Option<String>,
    pub draft: String,
    pub search: String,
    pub results: Option<Found>,
    pub new_number: String,
    /// The MMS being written: the files chosen (paths).
    pub files: Vec<String>,
    /// How the open conversation is shown before it has a message (a contact's name).
    pub open_name: Option<String>,
    /// "Send SMS" on a contact with several numbers: which one (name, [(label, number)]).
    pub choose: Option<(String, Vec<(String, String)>)>,
    /// What the last "Export old SMS history" said.
    pub exported: Option<String>,
    /// The last refusal of the composer ("Maximum size of attached files for MMS reached").
    pub notice: Option<String>,
}

/// The unread menu's "Mark all as read" item.
pub const MARK_ALL: &str = "mark_all";
/// A message's menu items.
pub const DELETE: &str = "delete";
pub const COPY: &str = "copy";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    Search,
    NewNumber,
    Start,
    MarkAllRead,
    /// The conversation list and the search results: rows are numbers, or
    /// `number\nid` for a found message.
    Conversations,
    Results,
    /// The directory's contacts a search found: rows `contact:number` (indexes).
    FoundContacts,
    Draft,
    Send,
    Call(String),
    DeleteConversation(String),
    Delete(String),
    /// A message (its id): the context menu's [`DELETE`] and [`COPY`].
    Message(String),
    Download(String),
    /// The attach dialog (files picked) and files dropped from the desktop.
    Attach,
    DropFiles,
    Unattach(usize),
    /// A clicked SMS alert (`contract::notify::CLICKED`).
    Notification,
    /// "Send SMS" picked on a contact in any plugin's list (`view::CONTACT_ACTION`).
    ContactAction,
    /// "Export old SMS history": the folder picked (Preferences -> Messaging).
    Export,
    /// The unread indicator's menu: a conversation's number, or [`MARK_ALL`].
    UnreadMenu,
    /// One of the contact's numbers chosen; the dialog closed.
    Choose(usize),
    ChooseDialog,
}

fn state_line(s: &Snapshot) -> Node {
    let st = &s.status;
    let text = match st.state {
        State::Ready => "Ready".into(),
        State::NoNumber => "No SMS number assigned".into(),
        State::Disabled => "SMS is turned off on this desktop".into(),
        State::Connecting => "Connecting…".into(),
        _ => st.reason.clone().unwrap_or_else(|| format!("{:?}", st.state)),
    };
    // The manual: click the number to copy it.
    match (&st.number, st.state) {
        (Some(n), State::Ready) => ui::row([ui::text("My SMS number:"), ui::copyable(n.clone())]),
        _ => ui::weak(text),
    }
}

/// The SMS window (the module panel).
pub fn sms(s: &Snapshot, form: &Form) -> View {
    let mut children = vec![ui::heading("SMS"), state_line(s)];
    if !s.status.shared_with.is_empty() {
        let names: Vec<&str> = s.status.shared_with.iter().map(|p| p.name.as_str()).collect();
        children.push(ui::weak(format!("Multiple users share this number: {}", names.join(", "))));
    }
    if s.status.outbox > 0 {
        children.push(ui::weak(format!("{} waiting to be sent", s.status.outbox)));
    }
    children.push(ui::separator());
    children.push(ui::input(
        Act::Search.id(),
        form.search.clone(),
        "Search contacts, conversations and messages",
    ));
    if let Some(found) = form.results.as_ref().filter(|_| !form.search.trim().is_empty()) {
        // Contacts first (one row per number: `contact:number`), then conversations
        // and messages.
        let contacts: Vec<(String, String, String)> = found
            .contacts
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.numbers.iter().enumerate().map(move |(j, n)| {
                    let company = c.company.as_deref().map(|co| format!(" · {co}")).unwrap_or_default();
                    (format!("{i}:{j}"), c.name.clone(), format!("{} {}{company}", n.label, n.number))
                })
            })
            .collect();
        if !contacts.is_empty() {
            children.push(ui::list(Act::FoundContacts.id(), contacts));
        }
        let rows = found
            .conversations
            .iter()
            .map(|c| (c.number.clone(), c.display.clone(), c.last_body.chars().take(60).collect::<String>()))
            .chain(found.messages.iter().map(|m| {
                (
                    format!("{}\n{}", m.number, m.id),
                    m.number.clone(),
                    m.body.chars().take(60).collect::<String>(),
                )
            }));
        children.push(ui::list(Act::Results.id(), rows));
        children.push(ui::separator());
    }
    children.push(ui::row([
        ui::input(Act::NewNumber.id(), form.new_number.clone(), "Name or number"),
        ui::button(Act::Start.id(), "New SMS"),
    ]));
    let unread = s.status.unread;
    if unread > 0 {
        children.push(ui::row([
            ui::badge(unread.to_string()),
            ui::button(Act::MarkAllRead.id(), "Mark all as read"),
        ]));
    }
    let rows = s.conversations.iter().map(|c| {
        let name = if c.unread > 0 { format!("{} ({})", c.display, c.unread) } else { c.display.clone() };
        (c.number.clone(), name, c.last_body.chars().take(60).collect::<String>())
    });
    children.push(ui::list(Act::Conversations.id(), rows));
    if let Some(open) = &s.open {
        children.push(ui::separator());
        // Files dropped from the desktop onto the conversation make it an MMS.
        children.push(ui::drop_target(Act::DropFiles.id(), ui::column(conversation(s, form, open))));
    }
    if let Some((name, numbers)) = &form.choose {
        let buttons = numbers
            .iter()
            .enumerate()
            .map(|(i, (label, number))| ui::button(Act::Choose(i).id(), format!("{label}: {number}")));
        children.push(ui::dialog(
            Act::ChooseDialog.id(),
            format!("Send SMS to {name}"),
            std::iter::once(ui::text("Which number?")).chain(buttons),
        ));
    }
    ui::view(ui::column(children)).with_badge(unread)
}

fn conversation(s: &Snapshot, form: &Form, open: &str) -> Vec<Node> {
    let display = s
        .conversations
        .iter()
        .find(|c| c.number == open)
        .map(|c| c.display.clone())
        .or(form.open_name.clone());
    let mut out = vec![ui::row([
        ui::heading(display.unwrap_or_else(|| open.to_string())),
        ui::button(Act::Call(open.to_string()).id(), "Call"),
        ui::danger(Act::DeleteConversation(open.to_string()).id(), "Delete conversation"),
    ])];
    for m in &s.open_messages {
        out.push(message_row(m));
    }
    // With files it is an MMS: the counter shows the kilobytes left instead.
    let counter = if form.files.is_empty() {
        let count = segments::count(&form.draft);
        if count.fits() {
            ui::weak(count.label())
        } else {
            ui::colored(format!("{}: too long, at most four parts", count.label()), "#c0392b")
        }
    } else {
        let used: u64 = form.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let left = MAX_MEDIA_BYTES.saturating_sub(used) / 1024;
        // Pictures are recompressed to fit: a large one still goes.
        ui::weak(format!("MMS · {} file(s) · {left} KB left", form.files.len()))
    };
    for (i, f) in form.files.iter().enumerate() {
        let name =
            std::path::Path::new(f).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(ui::row([ui::text(format!("📎 {name}")), ui::button(Act::Unattach(i).id(), "−")]));
    }
    if let Some(n) = &form.notice {
        out.push(ui::colored(n.clone(), "#c0392b"));
    }
    out.push(ui::row([
        Node::TextInput {
            id: Act::Draft.id(),
            label: "Message".into(),
            value: form.draft.clone(),
            hint: "Write an SMS".into(),
            // Enter is a new line; the send button sends (the manual).
            multiline: true,
            password: false,
            max_len: None,
        },
        ui::with_icon(ui::primary(Act::Send.id(), "Send"), "send"),
    ]));
    // Picking files (or dropping them) makes it an MMS; the dialog lists what MMS carries.
    out.push(ui::file_picker(Act::Attach.id(), "Attach files", true, crate::media::extensions()));
    out.push(counter);
    out
}

fn message_row(m: &Message) -> Node {
    let time = chrono::DateTime::from_timestamp_millis(m.at_ms)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_default();
    let who = match (&m.direction, &m.by) {
        (Direction::In, _) => None,
        (Direction::Out, Some(by)) => Some(by.name.clone()),
        (Direction::Out, None) => Some("Me".to_string()),
    };
    let state = match m.state {
        MessageState::Sending => " · sending",
        MessageState::Sent => " · sent",
        MessageState::Failed => " · failed",
        MessageState::Received => "",
    };
    let mut line = vec![ui::weak(format!("{time}{state}"))];
    if let Some(w) = who {
        line.push(ui::styled(w, TextStyle::Strong));
    }
    match &m.file {
        Some(f) => {
            let size = f.size.map(|s| format!(" ({} KB)", s.div_ceil(1024))).unwrap_or_default();
            line.push(ui::text(format!("📎 {}{size}", f.name)));
            match f.state {
                MediaState::NotDownloaded | MediaState::Failed => {
                    line.push(ui::button(Act::Download(m.id.clone()).id(), "Download"))
                }
                MediaState::Downloading => line.push(ui::weak("downloading…")),
                MediaState::Uploading => line.push(ui::weak("uploading…")),
                MediaState::Ready => {
                    if let Some(p) = &f.path {
                        line.push(ui::selectable(p.clone()));
                    }
                }
            }
            if let Some(e) = &f.error {
                line.push(ui::colored(e.clone(), "#c0392b"));
            }
        }
        None => line.push(ui::selectable(m.body.clone())),
    }
    if let Some(e) = &m.error {
        line.push(ui::colored(e.clone(), "#c0392b"));
    }
    // Right-click: Delete and Copy (the manual); a sharer's message shows who, with
    // their avatar.
    let items = [ui::menu_item(DELETE, "Delete"), ui::copy_item(COPY, "Copy", m.body.clone())];
    let row = ui::row(line);
    let row = match &m.by {
        Some(by) => ui::row([ui::avatar(by.name.clone(), None, None), row]),
        None => row,
    };
    ui::context_menu(Act::Message(m.id.clone()).id(), row, items)
}

/// SMS's part of Preferences -> Messaging (its settings are drawn above it): the
/// manual's "Export old SMS history", one file per conversation into a new folder
/// inside the one picked.
pub fn prefs(s: &Snapshot, form: &Form) -> View {
    let mut children = Vec::new();
    if s.conversations.is_empty() {
        children.push(ui::weak("No SMS history to export yet"));
    } else {
        children.push(ui::folder_picker(Act::Export.id(), "Export old SMS history"));
    }
    if let Some(e) = &form.exported {
        children.push(ui::weak(e.clone()));
    }
    ui::view(ui::column(children))
}

/// The status bar item.
pub fn status(s: &Snapshot, _form: &Form) -> View {
    let text = match s.status.state {
        State::Ready => "SMS".to_string(),
        State::NoNumber => "SMS: no number".to_string(),
        other => format!("SMS: {}", format!("{other:?}").to_lowercase()),
    };
    ui::view(ui::row([ui::weak(text)])).with_badge(s.status.unread)
}
