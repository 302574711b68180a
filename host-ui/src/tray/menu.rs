//! The tray icon's menu as com.canonical.dbusmenu lays it out: items with an id, a
//! property map (label, type, enabled, toggle-type and -state) and children, sent as
//! `(ia{sv}av)`. The menu is small and rebuilt from the state whenever it is asked for;
//! the revision changes with the state, so hosts know to ask again.

use super::{Command, TrayState};
use dbus::arg::{PropMap, RefArg, Variant};
use ucdesk_plugin_api::contract::presence::Status;

/// A menu item's id, and what clicking it asks the shell to do.
pub const OPEN: i32 = 1;
pub const QUIT: i32 = 2;
const COUNTS: i32 = 3;
/// The statuses, at `PRESENCE + index` of [`STATUSES`].
const PRESENCE: i32 = 10;
const SEPARATORS: i32 = 100;

pub const STATUSES: [(Status, &str); 4] = [
    (Status::Available, "Available"),
    (Status::Away, "Away"),
    (Status::Busy, "Busy"),
    (Status::Dnd, "Do not disturb"),
];

/// One item: its id, its properties, its children.
pub type Layout = (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>);

/// What clicking item `id` means.
pub fn command(id: i32) -> Option<Command> {
    match id {
        OPEN => Some(Command::Open),
        QUIT => Some(Command::Quit),
        id if (PRESENCE..PRESENCE + STATUSES.len() as i32).contains(&id) => {
            Some(Command::SetPresence(STATUSES[(id - PRESENCE) as usize].0))
        }
        _ => None,
    }
}

/// The items, in order.
fn items(state: &TrayState) -> Vec<(i32, PropMap)> {
    let mut items = vec![(OPEN, props(&state.open_label, true))];
    if state.presence.is_some() {
        items.push(separator(SEPARATORS));
        for (i, (status, label)) in STATUSES.iter().enumerate() {
            let mut p = props(label, true);
            p.insert("toggle-type".into(), Variant(Box::new("radio".to_string())));
            let on = state.presence == Some(*status);
            p.insert("toggle-state".into(), Variant(Box::new(i32::from(on))));
            items.push((PRESENCE + i as i32, p));
        }
    }
    items.push(separator(SEPARATORS + 1));
    items.push((COUNTS, props(&state.counts_text(), false)));
    items.push(separator(SEPARATORS + 2));
    items.push((QUIT, props("Quit", true)));
    items
}

/// The whole menu: the root (id 0) holding the items.
pub fn layout(state: &TrayState) -> Layout {
    let children = items(state)
        .into_iter()
        .map(|(id, p)| Variant(Box::new((id, p, Vec::<Variant<Box<dyn RefArg>>>::new())) as Box<dyn RefArg>))
        .collect();
    (0, root(), children)
}

/// Item `id`'s properties (GetGroupProperties, GetProperty).
pub fn find(state: &TrayState, id: i32) -> Option<PropMap> {
    if id == 0 {
        return Some(root());
    }
    items(state).into_iter().find(|(i, _)| *i == id).map(|(_, p)| p)
}

fn root() -> PropMap {
    let mut p = PropMap::new();
    p.insert("children-display".into(), Variant(Box::new("submenu".to_string())));
    p
}

fn props(label: &str, enabled: bool) -> PropMap {
    let mut p = PropMap::new();
    p.insert("label".into(), Variant(Box::new(label.to_string())));
    p.insert("enabled".into(), Variant(Box::new(enabled)));
    p
}

fn separator(id: i32) -> (i32, PropMap) {
    let mut p = PropMap::new();
    p.insert("type".into(), Variant(Box::new("separator".to_string())));
    (id, p)
}
