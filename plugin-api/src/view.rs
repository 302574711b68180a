//! Views as data: the declarative tree a plugin publishes for each of its panels.
//!
//! egui types are not ABI-stable, so plugins describe their panels as a tree of
//! [`Node`]s with stable widget ids; the shell renders the latest tree every frame and
//! sends [`UiEvent`]s back. Node kinds are added over minor versions; a shell that meets
//! a kind it does not know gets [`Node::Unknown`] and draws a visible placeholder.
//!
//! The tree crosses the ABI as JSON. Postcard is 2-4x cheaper to encode and decode
//! (see `plugin-api/benches/view_codec.rs` and docs/performance.md), but it is not
//! self-describing: a shell could not skip a node kind it does not know, so one new
//! widget from a newer plugin would make the whole panel unreadable. JSON keeps the
//! placeholder promise, and a 5,000-cell table still costs well under a frame.
//!
//! Pixels that change often or are large (images, video) do not travel in the tree:
//! [`Node::Image`] names an image by content hash (sent once with the host's
//! `publish_image`), and [`Node::Surface`] names a texture the plugin updates with
//! `publish_frame`.

use serde::{Deserialize, Serialize};

/// Version of the view schema, carried in every [`View`]. 2: plugin-api 1.4's widget
/// set (grids, tables, plots, dialogs, drag and drop, ...).
pub const VIEW_SCHEMA: u32 = 2;

/// The tree of one panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    #[serde(default = "schema")]
    pub schema: u32,
    pub root: Node,
    /// A count the shell puts on the module's toolbar button and in the window title
    /// (unread messages, missed calls). `None` or 0: no badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<u32>,
}

fn schema() -> u32 {
    VIEW_SCHEMA
}

impl View {
    pub fn new(root: Node) -> Self {
        View { schema: VIEW_SCHEMA, root, badge: None }
    }

    pub fn with_badge(mut self, count: u32) -> Self {
        self.badge = Some(count);
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("views always serialize")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<View, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Text emphasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextStyle {
    #[default]
    Body,
    Heading,
    Strong,
    Weak,
    Monospace,
    Small,
}

/// How a button presents itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonRole {
    #[default]
    Normal,
    /// The panel's main action (Call, Send).
    Primary,
    /// Destructive (Hang up, Delete).
    Danger,
}

/// Severity of a toast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

/// One option of a radio group or combo box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// An entry of a context menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuItem {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub danger: bool,
    /// Picking it copies this text to the clipboard, in the shell (since plugin-api
    /// 1.10: a message's "Copy"); the plugin still hears the pick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// One row of a [`Node::List`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub detail: String,
    /// A counter at the end of the row (unread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
    /// A presence dot before the text (`available`, `away`, `busy`, `dnd`, `on_call`,
    /// `offline`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
    /// Who the row is, for a drag onto another plugin (since plugin-api 1.5): the drop
    /// carries it in [`UiAction::Dropped`], so no plugin parses another's row ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<crate::contract::contact::ContactAddress>,
    /// Shown while the pointer rests on the row (since 1.13: a contact's presence:
    /// devices, status message, last activity, phone state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tooltip: Option<String>,
}

/// A column of a [`Node::Table`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableColumn {
    pub title: String,
    /// Initial width in points (`None`: shared equally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f32>,
    /// The user may sort by this column (the shell sorts; numbers as numbers).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sortable: bool,
}

/// A row of a [`Node::Table`]: one cell per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    pub id: String,
    pub cells: Vec<String>,
}

/// A page of a [`Node::Tabs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tab {
    pub id: String,
    pub title: String,
    pub children: Vec<Node>,
}

/// How a plot draws a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    #[default]
    Line,
    Bar,
}

/// One series of a [`Node::Plot`]: `(x, y)` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    #[serde(default)]
    pub kind: SeriesKind,
    pub points: Vec<[f64; 2]>,
}

/// A keyboard shortcut of a [`Node::Shortcuts`]: `keys` like `Ctrl+Shift+R` or `F5`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortcut {
    pub id: String,
    pub keys: String,
}

/// A node of the tree. Widget `id`s are stable across republishing so the shell keeps
/// focus, scroll position, sorting and open sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    Column {
        children: Vec<Node>,
    },
    Row {
        children: Vec<Node>,
        /// Wrap onto the next line when the panel is narrow.
        #[serde(default, skip_serializing_if = "is_false")]
        wrap: bool,
    },
    /// Children laid out left to right, `columns` per line.
    Grid {
        id: String,
        columns: usize,
        children: Vec<Node>,
        #[serde(default, skip_serializing_if = "is_false")]
        striped: bool,
    },
    Scroll {
        id: String,
        children: Vec<Node>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_height: Option<f32>,
        /// Stay at the bottom as content grows (a conversation).
        #[serde(default, skip_serializing_if = "is_false")]
        stick_to_bottom: bool,
    },
    Text {
        text: String,
        #[serde(default)]
        style: TextStyle,
        /// `#rrggbb`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
        /// The user can select and copy it.
        #[serde(default, skip_serializing_if = "is_false")]
        selectable: bool,
        /// A click copies the whole text to the clipboard (since plugin-api 1.10: the
        /// user's SMS number); older shells show it as plain text.
        #[serde(default, skip_serializing_if = "is_false")]
        copy_on_click: bool,
    },
    Separator,
    /// A small counter such as unread messages.
    Badge {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<String>,
    },
    Button {
        id: String,
        label: String,
        /// Name of an icon from the shell's icon set (`call`, `hangup`, `chat`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
        #[serde(default = "yes")]
        enabled: bool,
        #[serde(default)]
        role: ButtonRole,
    },
    TextInput {
        id: String,
        /// What the field is for; also its accessible name.
        #[serde(default)]
        label: String,
        #[serde(default)]
        value: String,
        #[serde(default)]
        hint: String,
        #[serde(default)]
        multiline: bool,
        #[serde(default)]
        password: bool,
        #[serde(default)]
        max_len: Option<usize>,
    },
    /// A checkbox.
    Toggle {
        id: String,
        label: String,
        value: bool,
    },
    Radio {
        id: String,
        #[serde(default)]
        label: String,
        options: Vec<Choice>,
        selected: String,
    },
    Combo {
        id: String,
        #[serde(default)]
        label: String,
        options: Vec<Choice>,
        selected: String,
    },
    Slider {
        id: String,
        #[serde(default)]
        label: String,
        value: f64,
        min: f64,
        max: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
    },
    /// `value` from 0 to 1.
    Progress {
        value: f32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// An image the plugin sent with `publish_image` (the hash names the bytes).
    Image {
        hash: String,
        width: f32,
        height: f32,
        #[serde(default)]
        alt: String,
    },
    /// A round picture (or initials) with a presence dot.
    Avatar {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        presence: Option<String>,
        #[serde(default = "avatar_size")]
        size: f32,
    },
    /// Selectable rows. Right-click offers `actions` (a [`UiAction::ContextAction`]
    /// with the row); double-click is [`UiAction::RowActivated`]. With `drag` rows can
    /// be dragged onto drop targets; with `drop` rows accept drops.
    List {
        id: String,
        rows: Vec<ListRow>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<MenuItem>,
        #[serde(default, skip_serializing_if = "is_false")]
        drag: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        drop: bool,
    },
    /// A virtualised table: only the visible rows are laid out, so thousands are fine.
    Table {
        id: String,
        columns: Vec<TableColumn>,
        rows: Vec<TableRow>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<MenuItem>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<f32>,
    },
    /// Pages with a tab strip; the shell switches locally and reports
    /// [`UiAction::Selected`] with the tab id.
    Tabs {
        id: String,
        tabs: Vec<Tab>,
        #[serde(default)]
        selected: String,
    },
    Collapsing {
        id: String,
        title: String,
        #[serde(default)]
        open: bool,
        children: Vec<Node>,
    },
    /// Live line or bar series.
    Plot {
        id: String,
        series: Vec<Series>,
        #[serde(default = "plot_height")]
        height: f32,
    },
    /// A phone keypad: each key is a [`UiAction::KeyPressed`] (`0`-`9`, `*`, `#`).
    Keypad {
        id: String,
        #[serde(default = "yes")]
        enabled: bool,
    },
    /// A modal dialog shown while it is in the tree; closing it (its X or Escape) is
    /// [`UiAction::DialogClosed`].
    Dialog {
        id: String,
        title: String,
        children: Vec<Node>,
    },
    /// A notification shown once per id for a few seconds.
    Toast {
        id: String,
        text: String,
        #[serde(default)]
        level: Level,
    },
    /// Right-clicking `child` offers `items` ([`UiAction::ContextAction`]).
    ContextMenu {
        id: String,
        child: Box<Node>,
        items: Vec<MenuItem>,
    },
    /// `child` can be dragged onto a [`Node::DropTarget`] or a list with `drop`.
    DragSource {
        id: String,
        child: Box<Node>,
    },
    /// Something dropped on `child` is [`UiAction::Dropped`] at this widget.
    DropTarget {
        id: String,
        child: Box<Node>,
    },
    /// A button that opens the shell's file dialog (since plugin-api 1.11); what the
    /// user picks is [`UiAction::FilesPicked`] at this `id`.
    FilePicker {
        id: String,
        label: String,
        /// Name of an icon from the shell's icon set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
        /// Several files at once (ignored with `folder`).
        #[serde(default, skip_serializing_if = "is_false")]
        multiple: bool,
        /// A folder instead of files.
        #[serde(default, skip_serializing_if = "is_false")]
        folder: bool,
        /// File name extensions shown (without the dot, any case); empty: every file.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extensions: Vec<String>,
        #[serde(default = "yes")]
        enabled: bool,
    },
    /// Keys that act while the window has focus: each is a [`UiAction::KeyPressed`]
    /// with the binding's id at this node's `id`.
    Shortcuts {
        id: String,
        bindings: Vec<Shortcut>,
    },
    /// A texture the plugin updates with `publish_frame` (video), outside the tree.
    Surface {
        id: String,
        width: f32,
        height: f32,
    },
    /// A kind this shell does not know (from a newer plugin): drawn as a placeholder.
    #[serde(other)]
    Unknown,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn avatar_size() -> f32 {
    32.0
}

fn plot_height() -> f32 {
    160.0
}

/// An interaction with a widget, sent to the panel's plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiEvent {
    /// The widget's id.
    pub widget: String,
    #[serde(flatten)]
    pub action: UiAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UiAction {
    Clicked,
    /// A new value: text, bool, number or the chosen option's value.
    Changed {
        value: serde_json::Value,
    },
    /// Enter in a single-line input.
    Submitted {
        value: String,
    },
    /// A list or table row, or a tab.
    Selected {
        row: String,
    },
    /// Double-click (or Enter) on a row.
    RowActivated {
        row: String,
    },
    /// A context-menu entry (its id), on a row of a list or table (`row`) or on a
    /// [`Node::ContextMenu`].
    ContextAction {
        item: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        row: Option<String>,
    },
    /// Something was dropped here: the source widget (and its row, from a list) of
    /// plugin `from`; `row` is the row dropped on, for lists.
    Dropped {
        from: String,
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_row: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        row: Option<String>,
        /// The dragged row's contact, when its plugin gave one (since plugin-api 1.5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<crate::contract::contact::ContactAddress>,
    },
    /// A keypad key, or the id of a [`Shortcut`].
    KeyPressed {
        key: String,
    },
    DialogClosed,
    /// Files from the desktop (a file manager) dropped on a [`Node::DropTarget`] (since
    /// plugin-api 1.10): their paths.
    FilesDropped {
        paths: Vec<String>,
    },
    /// What the user chose in the file dialog of a [`Node::FilePicker`] (since
    /// plugin-api 1.11): the files, or the one folder.
    FilesPicked {
        paths: Vec<String>,
    },
    /// The user picked one of the plugin's contributed contact actions on a row of any
    /// plugin's panel (since plugin-api 1.10; at widget [`CONTACT_ACTION`]).
    ContactAction {
        /// The contact action's id, as the manifest declares it.
        id: String,
        /// Boxed: the other actions are small, and events are moved around a lot.
        contact: Box<crate::contract::contact::ContactAddress>,
    },
    /// The user clicked one of the plugin's notifications: show this item (since
    /// plugin-api 1.5; at widget [`crate::contract::notify::CLICKED`]).
    Opened {
        target: crate::contract::notify::Target,
    },
}

/// The widget id at which a contributed contact action reaches its plugin.
pub const CONTACT_ACTION: &str = "contact_action";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_become_placeholders() {
        let json = r#"{"schema":1,"root":{"kind":"column","children":[
            {"kind":"text","text":"hi"},
            {"kind":"hologram","beam":3}
        ]}}"#;
        let v = View::from_bytes(json.as_bytes()).unwrap();
        let Node::Column { children } = v.root else { panic!("column expected") };
        assert_eq!(children[1], Node::Unknown);
    }

    #[test]
    fn schema_1_trees_still_read() {
        // What a plugin built against plugin-api 1.3 sends.
        let json = r#"{"schema":1,"root":{"kind":"row","children":[
            {"kind":"button","id":"b","label":"Go","enabled":false},
            {"kind":"text_input","id":"t","value":"x","hint":"h","multiline":false,"password":false,"max_len":null},
            {"kind":"list","id":"l","rows":[{"id":"1","text":"a","detail":""}]}
        ]}}"#;
        let v = View::from_bytes(json.as_bytes()).unwrap();
        let Node::Row { children, wrap: false } = v.root else { panic!("row expected") };
        assert!(matches!(&children[0], Node::Button { enabled: false, role: ButtonRole::Normal, .. }));
        assert!(matches!(&children[2], Node::List { selected: None, drag: false, .. }));
    }

    #[test]
    fn events_round_trip() {
        let e = UiEvent {
            widget: "contacts".into(),
            action: UiAction::Dropped {
                from: "chat".into(),
                source: "contacts".into(),
                source_row: Some("bob".into()),
                row: Some("carol".into()),
                contact: None,
            },
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<UiEvent>(&json).unwrap(), e);
        assert!(json.contains(r#""action":"dropped""#), "{json}");
    }
}
