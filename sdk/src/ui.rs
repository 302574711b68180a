//! Builders for view trees: short functions that read like the panel they describe.
//!
//! ```
//! use ucdesk_sdk::ui;
//! let view = ui::view(ui::column([
//!     ui::heading("Hello"),
//!     ui::row([ui::input("name", "", "Your name"), ui::button("greet", "Greet")]),
//! ]));
//! assert_eq!(view.schema, ucdesk_sdk::view::VIEW_SCHEMA);
//! ```
//!
//! Builders cover the common shape of each node; for the rest, build the
//! [`Node`] variant directly (every field is public) or adjust the result with the
//! `with_*` helpers.

use ucdesk_plugin_api::view::{
    ButtonRole, Choice, Level, ListRow, MenuItem, Node, Series, SeriesKind, Shortcut, Tab, TableColumn,
    TableRow, TextStyle, View,
};

pub fn view(root: Node) -> View {
    View::new(root)
}

pub fn column(children: impl IntoIterator<Item = Node>) -> Node {
    Node::Column { children: children.into_iter().collect() }
}

pub fn row(children: impl IntoIterator<Item = Node>) -> Node {
    Node::Row { children: children.into_iter().collect(), wrap: false }
}

/// `children` laid out `columns` per line.
pub fn grid(id: impl Into<String>, columns: usize, children: impl IntoIterator<Item = Node>) -> Node {
    Node::Grid { id: id.into(), columns, children: children.into_iter().collect(), striped: false }
}

/// A vertical scroll area; `stick_to_bottom` follows new content (a conversation).
pub fn scroll(
    id: impl Into<String>,
    stick_to_bottom: bool,
    children: impl IntoIterator<Item = Node>,
) -> Node {
    Node::Scroll {
        id: id.into(),
        children: children.into_iter().collect(),
        max_height: None,
        stick_to_bottom,
    }
}

pub fn text(text: impl Into<String>) -> Node {
    styled(text, TextStyle::Body)
}

pub fn styled(text: impl Into<String>, style: TextStyle) -> Node {
    Node::Text { text: text.into(), style, color: None, selectable: false, copy_on_click: false }
}

/// Text in a colour (`#rrggbb`).
pub fn colored(text: impl Into<String>, color: impl Into<String>) -> Node {
    Node::Text {
        text: text.into(),
        style: TextStyle::Body,
        color: Some(color.into()),
        selectable: false,
        copy_on_click: false,
    }
}

/// Text the user can select and copy (numbers, addresses, message bodies).
pub fn selectable(text: impl Into<String>) -> Node {
    Node::Text {
        text: text.into(),
        style: TextStyle::Body,
        color: None,
        selectable: true,
        copy_on_click: false,
    }
}

/// Text a click copies to the clipboard (plugin-api 1.10), such as the user's number.
pub fn copyable(text: impl Into<String>) -> Node {
    Node::Text {
        text: text.into(),
        style: TextStyle::Strong,
        color: None,
        selectable: false,
        copy_on_click: true,
    }
}

pub fn heading(text: impl Into<String>) -> Node {
    styled(text, TextStyle::Heading)
}

pub fn weak(text: impl Into<String>) -> Node {
    styled(text, TextStyle::Weak)
}

pub fn separator() -> Node {
    Node::Separator
}

pub fn badge(text: impl Into<String>) -> Node {
    Node::Badge { text: text.into(), color: None }
}

pub fn button(id: impl Into<String>, label: impl Into<String>) -> Node {
    Node::Button { id: id.into(), label: label.into(), icon: None, enabled: true, role: ButtonRole::Normal }
}

/// The panel's main action.
pub fn primary(id: impl Into<String>, label: impl Into<String>) -> Node {
    Node::Button { id: id.into(), label: label.into(), icon: None, enabled: true, role: ButtonRole::Primary }
}

/// A button (or file picker) with an icon from the shell's set before its label
/// (`send`, `call`, `attach`, ...); other nodes are returned as they are.
pub fn with_icon(mut node: Node, name: &str) -> Node {
    if let Node::Button { icon, .. } | Node::FilePicker { icon, .. } = &mut node {
        *icon = Some(name.to_string());
    }
    node
}

/// A destructive action.
pub fn danger(id: impl Into<String>, label: impl Into<String>) -> Node {
    Node::Button { id: id.into(), label: label.into(), icon: None, enabled: true, role: ButtonRole::Danger }
}

/// A single-line text input with a hint shown while empty.
pub fn input(id: impl Into<String>, value: impl Into<String>, hint: impl Into<String>) -> Node {
    Node::TextInput {
        id: id.into(),
        label: String::new(),
        value: value.into(),
        hint: hint.into(),
        multiline: false,
        password: false,
        max_len: None,
    }
}

pub fn toggle(id: impl Into<String>, label: impl Into<String>, value: bool) -> Node {
    Node::Toggle { id: id.into(), label: label.into(), value }
}

fn choices<V: Into<String>, L: Into<String>>(options: impl IntoIterator<Item = (V, L)>) -> Vec<Choice> {
    options.into_iter().map(|(value, label)| Choice { value: value.into(), label: label.into() }).collect()
}

/// Radio buttons; options are `(value, label)`.
pub fn radio<V: Into<String>, L: Into<String>>(
    id: impl Into<String>,
    label: impl Into<String>,
    options: impl IntoIterator<Item = (V, L)>,
    selected: impl Into<String>,
) -> Node {
    Node::Radio { id: id.into(), label: label.into(), options: choices(options), selected: selected.into() }
}

/// A combo box; options are `(value, label)`.
pub fn combo<V: Into<String>, L: Into<String>>(
    id: impl Into<String>,
    label: impl Into<String>,
    options: impl IntoIterator<Item = (V, L)>,
    selected: impl Into<String>,
) -> Node {
    Node::Combo { id: id.into(), label: label.into(), options: choices(options), selected: selected.into() }
}

pub fn slider(id: impl Into<String>, label: impl Into<String>, value: f64, min: f64, max: f64) -> Node {
    Node::Slider { id: id.into(), label: label.into(), value, min, max, step: None }
}

/// `value` from 0 to 1.
pub fn progress(value: f32, text: Option<String>) -> Node {
    Node::Progress { value, text }
}

/// An image published with `Context::publish_image`.
pub fn image(hash: impl Into<String>, width: f32, height: f32, alt: impl Into<String>) -> Node {
    Node::Image { hash: hash.into(), width, height, alt: alt.into() }
}

/// Initials (or `image`) with a presence dot.
pub fn avatar(name: impl Into<String>, image: Option<String>, presence: Option<String>) -> Node {
    Node::Avatar { name: name.into(), image, presence, size: 32.0 }
}

/// A list; rows are `(id, text, detail)`.
pub fn list<I, S1, S2, S3>(id: impl Into<String>, rows: I) -> Node
where
    I: IntoIterator<Item = (S1, S2, S3)>,
    S1: Into<String>,
    S2: Into<String>,
    S3: Into<String>,
{
    list_rows(
        id,
        rows.into_iter().map(|(id, text, detail)| ListRow {
            contact: None,
            tooltip: None,
            id: id.into(),
            text: text.into(),
            detail: detail.into(),
            badge: None,
            presence: None,
        }),
    )
}

/// A list of fully described rows.
pub fn list_rows(id: impl Into<String>, rows: impl IntoIterator<Item = ListRow>) -> Node {
    Node::List {
        id: id.into(),
        rows: rows.into_iter().collect(),
        selected: None,
        actions: Vec::new(),
        drag: false,
        drop: false,
    }
}

/// A context-menu entry `(id, label)`.
pub fn menu_item(id: impl Into<String>, label: impl Into<String>) -> MenuItem {
    MenuItem { id: id.into(), label: label.into(), danger: false, copy: None }
}

/// A menu entry that copies `text` to the clipboard when picked (plugin-api 1.10).
pub fn copy_item(id: impl Into<String>, label: impl Into<String>, text: impl Into<String>) -> MenuItem {
    MenuItem { id: id.into(), label: label.into(), danger: false, copy: Some(text.into()) }
}

/// A virtualised table. Columns are titles (all sortable); rows are `(id, cells)`.
pub fn table<C, R, S>(id: impl Into<String>, columns: C, rows: R) -> Node
where
    C: IntoIterator<Item = S>,
    S: Into<String>,
    R: IntoIterator<Item = (String, Vec<String>)>,
{
    Node::Table {
        id: id.into(),
        columns: columns
            .into_iter()
            .map(|t| TableColumn { title: t.into(), width: None, sortable: true })
            .collect(),
        rows: rows.into_iter().map(|(id, cells)| TableRow { id, cells }).collect(),
        selected: None,
        actions: Vec::new(),
        height: None,
    }
}

/// Tabs `(id, title, children)`, with `selected` open first.
pub fn tabs(
    id: impl Into<String>,
    tabs: impl IntoIterator<Item = (String, String, Vec<Node>)>,
    selected: impl Into<String>,
) -> Node {
    Node::Tabs {
        id: id.into(),
        tabs: tabs.into_iter().map(|(id, title, children)| Tab { id, title, children }).collect(),
        selected: selected.into(),
    }
}

pub fn collapsing(
    id: impl Into<String>,
    title: impl Into<String>,
    open: bool,
    children: impl IntoIterator<Item = Node>,
) -> Node {
    Node::Collapsing { id: id.into(), title: title.into(), open, children: children.into_iter().collect() }
}

/// A line series `(name, points)`.
pub fn line(name: impl Into<String>, points: Vec<[f64; 2]>) -> Series {
    Series { name: name.into(), kind: SeriesKind::Line, points }
}

/// A bar series `(name, points)`.
pub fn bars(name: impl Into<String>, points: Vec<[f64; 2]>) -> Series {
    Series { name: name.into(), kind: SeriesKind::Bar, points }
}

pub fn plot(id: impl Into<String>, series: impl IntoIterator<Item = Series>) -> Node {
    Node::Plot { id: id.into(), series: series.into_iter().collect(), height: 160.0 }
}

pub fn keypad(id: impl Into<String>) -> Node {
    Node::Keypad { id: id.into(), enabled: true }
}

pub fn dialog(
    id: impl Into<String>,
    title: impl Into<String>,
    children: impl IntoIterator<Item = Node>,
) -> Node {
    Node::Dialog { id: id.into(), title: title.into(), children: children.into_iter().collect() }
}

pub fn toast(id: impl Into<String>, text: impl Into<String>, level: Level) -> Node {
    Node::Toast { id: id.into(), text: text.into(), level }
}

pub fn context_menu(id: impl Into<String>, child: Node, items: impl IntoIterator<Item = MenuItem>) -> Node {
    Node::ContextMenu { id: id.into(), child: Box::new(child), items: items.into_iter().collect() }
}

pub fn drag_source(id: impl Into<String>, child: Node) -> Node {
    Node::DragSource { id: id.into(), child: Box::new(child) }
}

pub fn drop_target(id: impl Into<String>, child: Node) -> Node {
    Node::DropTarget { id: id.into(), child: Box::new(child) }
}

/// A button opening the shell's file dialog for files (several when `multiple`),
/// showing only those with one of `extensions` (none: all); the choice comes back as
/// `UiAction::FilesPicked` at `id`.
pub fn file_picker<E: Into<String>>(
    id: impl Into<String>,
    label: impl Into<String>,
    multiple: bool,
    extensions: impl IntoIterator<Item = E>,
) -> Node {
    Node::FilePicker {
        id: id.into(),
        label: label.into(),
        icon: Some("attach".into()),
        multiple,
        folder: false,
        extensions: extensions.into_iter().map(Into::into).collect(),
        enabled: true,
    }
}

/// A button opening the shell's file dialog for one folder (`UiAction::FilesPicked`
/// with its path at `id`).
pub fn folder_picker(id: impl Into<String>, label: impl Into<String>) -> Node {
    Node::FilePicker {
        id: id.into(),
        label: label.into(),
        icon: Some("folder".into()),
        multiple: false,
        folder: true,
        extensions: Vec::new(),
        enabled: true,
    }
}

/// Shortcuts `(id, keys)` such as `("ready", "Ctrl+Shift+R")`.
pub fn shortcuts<I: Into<String>, K: Into<String>>(
    id: impl Into<String>,
    bindings: impl IntoIterator<Item = (I, K)>,
) -> Node {
    Node::Shortcuts {
        id: id.into(),
        bindings: bindings
            .into_iter()
            .map(|(id, keys)| Shortcut { id: id.into(), keys: keys.into() })
            .collect(),
    }
}

/// A video surface updated with `Context::publish_frame`.
pub fn surface(id: impl Into<String>, width: f32, height: f32) -> Node {
    Node::Surface { id: id.into(), width, height }
}
