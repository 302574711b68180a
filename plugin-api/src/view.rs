//! Views as data: the declarative tree a plugin publishes for each of its panels.
//!
//! egui types are not ABI-stable, so plugins describe their panels as a tree of
//! [`Node`]s with stable widget ids; the shell renders the latest tree every frame and
//! sends [`UiEvent`]s back. Node kinds are added over minor versions; a shell that meets
//! a kind it does not know gets [`Node::Unknown`] and draws a visible placeholder.

use serde::{Deserialize, Serialize};

/// Version of the view schema, carried in every [`View`].
pub const VIEW_SCHEMA: u32 = 1;

/// The tree of one panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    #[serde(default = "schema")]
    pub schema: u32,
    pub root: Node,
}

fn schema() -> u32 {
    VIEW_SCHEMA
}

impl View {
    pub fn new(root: Node) -> Self {
        View { schema: VIEW_SCHEMA, root }
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
}

/// One row of a [`Node::List`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub detail: String,
}

/// A node of the tree. Widget `id`s are stable across republishing so the shell keeps
/// focus and scroll position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    Column {
        children: Vec<Node>,
    },
    Row {
        children: Vec<Node>,
    },
    Text {
        text: String,
        #[serde(default)]
        style: TextStyle,
    },
    Separator,
    /// A small counter such as unread messages.
    Badge {
        text: String,
    },
    Button {
        id: String,
        label: String,
        #[serde(default = "yes")]
        enabled: bool,
    },
    TextInput {
        id: String,
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
    Toggle {
        id: String,
        label: String,
        value: bool,
    },
    List {
        id: String,
        rows: Vec<ListRow>,
    },
    /// A kind this shell does not know (from a newer plugin): drawn as a placeholder.
    #[serde(other)]
    Unknown,
}

fn yes() -> bool {
    true
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
    Changed { value: serde_json::Value },
    Submitted { value: String },
    Selected { row: String },
}

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
}
