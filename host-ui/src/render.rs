//! Draws a plugin's view tree with egui and collects the interactions to send back.
//!
//! The shell keeps what egui needs between frames (the text being typed) keyed by
//! widget id, and never calls into a plugin: interactions become [`UiEvent`]s the
//! caller posts to the plugin's mailbox.

use eframe::egui::{self, RichText};
use serde_json::Value;
use std::collections::HashMap;
use ucdesk_plugin_api::view::{Node, TextStyle, UiAction, UiEvent};

/// Edit buffers of one panel, by widget id.
#[derive(Default)]
pub struct PanelState {
    text: HashMap<String, String>,
}

/// Renders `node`; interactions are appended to `out`.
pub fn node_ui(ui: &mut egui::Ui, node: &Node, state: &mut PanelState, out: &mut Vec<UiEvent>) {
    match node {
        Node::Column { children } => {
            ui.vertical(|ui| children.iter().for_each(|c| node_ui(ui, c, state, out)));
        }
        Node::Row { children } => {
            ui.horizontal(|ui| children.iter().for_each(|c| node_ui(ui, c, state, out)));
        }
        Node::Text { text, style } => {
            let rich = RichText::new(text);
            let rich = match style {
                TextStyle::Body => rich,
                TextStyle::Heading => rich.heading(),
                TextStyle::Strong => rich.strong(),
                TextStyle::Weak => rich.weak(),
                TextStyle::Monospace => rich.monospace(),
            };
            ui.label(rich);
        }
        Node::Separator => {
            ui.separator();
        }
        Node::Badge { text } => {
            ui.label(RichText::new(text).strong().background_color(ui.visuals().selection.bg_fill));
        }
        Node::Button { id, label, enabled } => {
            if ui.add_enabled(*enabled, egui::Button::new(label.as_str())).clicked() {
                out.push(UiEvent { widget: id.clone(), action: UiAction::Clicked });
            }
        }
        Node::TextInput { id, value, hint, multiline, password, max_len } => {
            let buffer = state.text.entry(id.clone()).or_insert_with(|| value.clone());
            let mut edit = if *multiline {
                egui::TextEdit::multiline(buffer)
            } else {
                egui::TextEdit::singleline(buffer)
            };
            edit = edit.hint_text(hint.as_str()).password(*password);
            if let Some(max) = max_len {
                edit = edit.char_limit(*max);
            }
            let response = ui.add(edit);
            if response.changed() {
                out.push(UiEvent {
                    widget: id.clone(),
                    action: UiAction::Changed { value: Value::String(buffer.clone()) },
                });
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                out.push(UiEvent {
                    widget: id.clone(),
                    action: UiAction::Submitted { value: buffer.clone() },
                });
            }
        }
        Node::Toggle { id, label, value } => {
            let mut v = *value;
            if ui.checkbox(&mut v, label.as_str()).changed() {
                out.push(UiEvent { widget: id.clone(), action: UiAction::Changed { value: Value::Bool(v) } });
            }
        }
        Node::List { id, rows } => {
            for row in rows {
                let text = if row.detail.is_empty() {
                    row.text.clone()
                } else {
                    format!("{}  —  {}", row.text, row.detail)
                };
                if ui.selectable_label(false, text).clicked() {
                    out.push(UiEvent {
                        widget: id.clone(),
                        action: UiAction::Selected { row: row.id.clone() },
                    });
                }
            }
        }
        Node::Unknown => {
            ui.label(
                RichText::new("[this ucdesk cannot show a part of this panel; update ucdesk]")
                    .italics()
                    .weak(),
            );
        }
    }
}
