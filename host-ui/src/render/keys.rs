//! Keyboard shortcuts in views: the plugin's bindings (`Ctrl+Shift+R`) parsed into
//! egui's keys, each a [`UiAction::KeyPressed`] with the binding's id.

use super::Cx;
use eframe::egui;
use ucdesk_plugin_api::view::{Shortcut, UiAction};

/// `Ctrl+Shift+R`, `F5`, `Alt+1` to egui's modifiers and key.
pub fn parse_keys(keys: &str) -> Option<(egui::Modifiers, egui::Key)> {
    let mut mods = egui::Modifiers::NONE;
    let mut key = None;
    for part in keys.split('+').map(str::trim) {
        match part.to_ascii_lowercase().as_str() {
            // egui's logical Ctrl: Ctrl on Linux and Windows, Cmd on macOS.
            "ctrl" | "control" | "cmd" | "command" => mods.command = true,
            "shift" => mods.shift = true,
            "alt" => mods.alt = true,
            _ => {
                key = Some(egui::Key::from_name(part).or_else(|| egui::Key::from_name(&part.to_uppercase()))?)
            }
        }
    }
    key.map(|k| (mods, k))
}

pub(super) fn shortcuts(ui: &mut egui::Ui, cx: &mut Cx<'_>, id: &str, bindings: &[Shortcut]) {
    for b in bindings {
        let Some((mods, key)) = parse_keys(&b.keys) else { continue };
        if ui.input_mut(|i| i.consume_key(mods, key)) {
            cx.emit(id, UiAction::KeyPressed { key: b.id.clone() });
        }
    }
}
