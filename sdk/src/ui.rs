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

use ucdesk_plugin_api::view::{ListRow, Node, TextStyle, View};

pub fn view(root: Node) -> View {
    View::new(root)
}

pub fn column(children: impl IntoIterator<Item = Node>) -> Node {
    Node::Column { children: children.into_iter().collect() }
}

pub fn row(children: impl IntoIterator<Item = Node>) -> Node {
    Node::Row { children: children.into_iter().collect() }
}

pub fn text(text: impl Into<String>) -> Node {
    Node::Text { text: text.into(), style: TextStyle::Body }
}

pub fn styled(text: impl Into<String>, style: TextStyle) -> Node {
    Node::Text { text: text.into(), style }
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
    Node::Badge { text: text.into() }
}

pub fn button(id: impl Into<String>, label: impl Into<String>) -> Node {
    Node::Button { id: id.into(), label: label.into(), enabled: true }
}

/// A single-line text input with a hint shown while empty.
pub fn input(id: impl Into<String>, value: impl Into<String>, hint: impl Into<String>) -> Node {
    Node::TextInput {
        id: id.into(),
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

/// A list; rows are `(id, text, detail)`.
pub fn list<I, S1, S2, S3>(id: impl Into<String>, rows: I) -> Node
where
    I: IntoIterator<Item = (S1, S2, S3)>,
    S1: Into<String>,
    S2: Into<String>,
    S3: Into<String>,
{
    Node::List {
        id: id.into(),
        rows: rows
            .into_iter()
            .map(|(id, text, detail)| ListRow { id: id.into(), text: text.into(), detail: detail.into() })
            .collect(),
    }
}
