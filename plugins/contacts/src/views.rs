//! The Contacts panel as a view tree: the list selector (every contact, Favorites, the
//! central and personal phone books, each plugin's source), the departments filter and
//! the search field; the people found, each row carrying its contact so the shell adds
//! every plugin's actions (call, chat, SMS...) to its menu; the directory's own
//! actions (favourite, hide); import, export and the template; the Hidden users dialog;
//! the Favorites quick list; a person's card (Contact information).

use crate::store::{Query, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use ucdesk_sdk::contract::contacts::{Entry, SOURCE_CARDDAV, SOURCE_LDAP, SOURCE_PERSONAL, Source};
use ucdesk_sdk::contract::presence::PresenceChanged;
use ucdesk_sdk::prelude::*;
use ucdesk_sdk::view::{ListRow, Node};

/// What the panel searches: typed text, the list chosen, the department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    /// `all`, `favorites`, or a source (`ldap`, `personal`, `chat`, ...).
    pub list: String,
    pub department: String,
}

impl Search {
    pub fn query(&self, limit: usize) -> Query {
        let source = match self.list.as_str() {
            "" | "all" | "favorites" => None,
            s => Some(s.to_string()),
        };
        Query {
            text: self.text.clone(),
            source,
            department: (!self.department.is_empty()).then(|| self.department.clone()),
            limit: Some(limit),
            hidden: None,
            favorites_only: self.list == "favorites",
        }
    }
}

/// What the engine hands the panel after each change.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub found: Vec<Entry>,
    pub favorites: Vec<Entry>,
    pub hidden: Vec<Entry>,
    pub sources: Vec<Source>,
    pub departments: Vec<String>,
    pub entries: usize,
}

/// The plugin thread's part: the field, the choices, the open dialog, the last notice.
#[derive(Debug, Default)]
pub struct Form {
    pub search: Search,
    pub hidden_open: bool,
    /// The card "Contact information" opened.
    pub info: Option<Entry>,
    /// Everyone's presence as the provider last said it, by lower-case address.
    pub presence: HashMap<String, PresenceChanged>,
    pub notice: Option<String>,
}

/// The panel's widgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// One of our contributed actions picked on another plugin's row.
    ContactAction,
    Search,
    List,
    Department,
    /// The people found: double-click does the default action, the menu the rest.
    Found,
    Favorites,
    InfoDialog,
    Sync,
    Import,
    Export,
    Template,
    OpenHidden,
    HiddenDialog,
    Unhide(String),
}

/// The found list's own menu items (the other plugins' actions come after them).
pub const INFO: &str = "info";
pub const FAVORITE: &str = "favorite";
pub const UNFAVORITE: &str = "unfavorite";
pub const HIDE: &str = "hide";
pub const REMOVE: &str = "remove";

pub fn snapshot(store: &Store, search: &Search, sources: Vec<Source>, rows: usize) -> Snapshot {
    let hidden = Query { hidden: Some(true), limit: Some(rows), ..Default::default() };
    Snapshot {
        found: store.search(&search.query(rows)).unwrap_or_default(),
        favorites: store
            .search(&Query { favorites_only: true, limit: Some(rows), ..Default::default() })
            .unwrap_or_default(),
        hidden: store.search(&hidden).unwrap_or_default(),
        sources,
        departments: store.departments().unwrap_or_default(),
        entries: store.directory_len().unwrap_or(0),
    }
}

/// How a source is named in the selector.
pub fn source_label(source: &str) -> String {
    match source {
        SOURCE_LDAP => "Central Phone Book".into(),
        SOURCE_CARDDAV => "Shared Phone Book".into(),
        SOURCE_PERSONAL => "Personal Phone Book".into(),
        "chat" => "Chat contacts".into(),
        other => match other.split_once(':') {
            Some((plugin, system)) => format!("{} ({system})", plugin.to_uppercase()),
            None => other.to_string(),
        },
    }
}

pub fn panel(s: &Snapshot, f: &Form) -> View {
    let mut lists: Vec<(String, String)> =
        vec![("all".into(), "All contacts".into()), ("favorites".into(), "Favorites".into())];
    lists.extend(s.sources.iter().map(|src| (src.source.clone(), source_label(&src.source))));
    let mut departments: Vec<(String, String)> = vec![(String::new(), "All departments".into())];
    departments.extend(s.departments.iter().map(|d| (d.clone(), d.clone())));
    let selected = if f.search.list.is_empty() { "all".to_string() } else { f.search.list.clone() };
    let mut children = vec![
        ui::row([
            ui::combo(Act::List.id(), "Contacts", lists, selected),
            ui::combo(Act::Department.id(), "Department", departments, f.search.department.clone()),
        ]),
        ui::input(Act::Search.id(), f.search.text.clone(), "Search contact"),
    ];
    for src in s.sources.iter().filter(|src| src.error.is_some()) {
        let why = src.error.clone().unwrap_or_default();
        children.push(ui::colored(
            format!("{}: {why} (showing the last copy)", source_label(&src.source)),
            "#b00020",
        ));
    }
    if let Some(n) = &f.notice {
        children.push(ui::weak(n.clone()));
    }
    if s.found.is_empty() {
        let said = if f.search.text.is_empty() { "No contacts yet" } else { "No contact matches" };
        children.push(ui::weak(said));
    }
    let rows = s.found.iter().map(|e| row(e, &f.presence));
    let mut list = ui::list_rows(Act::Found.id(), rows);
    if let Node::List { actions, drag, .. } = &mut list {
        *drag = true;
        *actions = vec![
            ui::menu_item(INFO, "Contact information"),
            ui::menu_item(FAVORITE, "Add to Favorites"),
            ui::menu_item(UNFAVORITE, "Remove from Favorites"),
            ui::menu_item(HIDE, "Hide"),
            ui::menu_item(REMOVE, "Remove from Personal Phone Book"),
        ];
    }
    children.push(ui::scroll("found", false, [list]));
    children.push(ui::weak(format!("{} contacts", s.entries)));
    children.push(ui::row([
        ui::button(Act::Sync.id(), "Sync now"),
        ui::button(Act::OpenHidden.id(), format!("Hidden users ({})", s.hidden.len())),
    ]));
    children.push(ui::row([
        ui::file_picker(Act::Import.id(), "Import CSV", false, ["csv"]),
        ui::folder_picker(Act::Export.id(), "Export CSV"),
        ui::folder_picker(Act::Template.id(), "Download CSV template"),
    ]));
    if f.hidden_open {
        let mut rows: Vec<Node> = s
            .hidden
            .iter()
            .map(|e| {
                ui::row([ui::text(e.name.clone()), ui::button(Act::Unhide(e.id.clone()).id(), "Unhide")])
            })
            .collect();
        if rows.is_empty() {
            rows.push(ui::weak("No hidden users"));
        }
        children.push(ui::dialog(Act::HiddenDialog.id(), "Hidden users", rows));
    }
    children.extend(f.info.as_ref().map(card));
    ui::view(ui::column(children))
}

/// The Favorites quick list: the user's favourites by name.
pub fn favorites(s: &Snapshot, f: &Form) -> View {
    let mut list = ui::list_rows(Act::Favorites.id(), s.favorites.iter().map(|e| row(e, &f.presence)));
    if let Node::List { actions, drag, .. } = &mut list {
        *drag = true;
        *actions = vec![
            ui::menu_item(INFO, "Contact information"),
            ui::menu_item(UNFAVORITE, "Remove from Favorites"),
        ];
    }
    let mut children = Vec::new();
    if s.favorites.is_empty() {
        children.push(ui::weak("No favorites yet: right-click a contact, Add to Favorites"));
    }
    children.push(ui::scroll("favorites", false, [list]));
    children.extend(f.info.as_ref().map(card));
    ui::view(ui::column(children))
}

/// A person's card: everything the directory knows, numbers and addresses to copy.
fn card(e: &Entry) -> Node {
    let mut rows = vec![ui::heading(e.name.clone())];
    for (label, value) in [("Company", &e.company), ("Department", &e.department), ("Title", &e.title)] {
        if let Some(v) = value {
            rows.push(ui::row([ui::weak(label), ui::text(v.clone())]));
        }
    }
    for n in &e.numbers {
        rows.push(ui::row([ui::weak(n.label.clone()), ui::copyable(n.number.clone())]));
    }
    for m in &e.emails {
        rows.push(ui::row([ui::weak("E-mail"), ui::copyable(m.clone())]));
    }
    if let Some(j) = &e.jid {
        rows.push(ui::row([ui::weak("Chat"), ui::copyable(j.clone())]));
    }
    let sources: Vec<String> = e.sources.iter().map(|s| source_label(s)).collect();
    rows.push(ui::weak(format!("From: {}", sources.join(", "))));
    ui::dialog(Act::InfoDialog.id(), "Contact information", rows)
}

/// A person's row: their presence (from the presence provider, for those with a chat
/// address) as the dot and the tooltip.
fn row(e: &Entry, presence: &HashMap<String, PresenceChanged>) -> ListRow {
    let seen = e.jid.as_deref().and_then(|j| presence.get(&j.to_lowercase()));
    let mut detail: Vec<String> = [&e.company, &e.department].into_iter().flatten().cloned().collect();
    if let Some(n) = e.numbers.first() {
        detail.push(n.number.clone());
    }
    let star = if e.favorite { "\u{2605} " } else { "" };
    ListRow {
        id: e.id.clone(),
        text: format!("{star}{}", e.name),
        detail: detail.join(" \u{b7} "),
        badge: None,
        presence: seen.map(|p| if p.on_call { "on_call".to_string() } else { p.status.as_str().to_string() }),
        contact: Some(e.address()),
        tooltip: seen.map(PresenceChanged::describe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ucdesk_sdk::contract::presence::{Device, Status};

    #[test]
    fn a_row_carries_the_persons_presence_and_the_favourite_state_its_menu_needs() {
        let e = Entry {
            id: "ldap/1".into(),
            name: "Bob".into(),
            jid: Some("Bob@Lab.test".into()),
            favorite: true,
            ..Default::default()
        };
        let mut presence = HashMap::new();
        let p = PresenceChanged {
            jid: "bob@lab.test".into(),
            me: false,
            status: Status::Away,
            message: Some("In a meeting".into()),
            devices: vec![Device::Desktop, Device::Mobile],
            on_call: true,
            last_active: None,
            expires: None,
        };
        presence.insert(p.jid.clone(), p);
        let r = row(&e, &presence);
        assert_eq!(r.presence.as_deref(), Some("on_call"));
        assert_eq!(r.tooltip.as_deref(), Some("Away: In a meeting\nConnected on desktop, mobile\nOn a call"));
        assert_eq!(r.text, "\u{2605} Bob");
        assert_eq!(r.contact.and_then(|c| c.favorite), Some(true));
        assert!(row(&Entry { jid: None, ..e }, &presence).presence.is_none());
    }
}
