//! Draws a plugin's view tree with egui and collects the interactions to send back.
//!
//! The renderer never calls into a plugin: interactions become [`UiEvent`]s the caller
//! posts to the plugin's mailbox. What egui needs between frames and the plugin does
//! not care about (the text being typed, a table's sort order, the open tab, toasts
//! already shown) lives in [`PanelState`], keyed by widget id.

use eframe::egui::{self, Color32, RichText, Sense};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use ucdesk_plugin_api::contract::contact::ContactAddress;
use ucdesk_plugin_api::view::{
    ButtonRole, Level, MenuItem, Node, Series, SeriesKind, TextStyle, UiAction, UiEvent,
};

// The theme moved to `crate::theme`; its old paths under `render` still serve dock, prefs,
// notify and the UI tests.
pub use crate::theme::{ICONS, color, fonts, icon, presence_color, symbol};

pub mod files;
mod keys;
mod list;
mod table;

pub use keys::parse_keys;
use keys::shortcuts;
pub use list::ContactOffer;
use list::list;
// The unit tests below reach the table's sort order as they did before it moved.
#[cfg(test)]
use {table::order, ucdesk_plugin_api::view::TableRow};

/// What is being dragged between widgets (possibly of different plugins).
#[derive(Debug, Clone)]
pub struct DragPayload {
    pub plugin: String,
    pub widget: String,
    pub row: Option<String>,
    /// Who the dragged row is, as its plugin said.
    pub contact: Option<ucdesk_plugin_api::contract::contact::ContactAddress>,
}

/// Pictures the tree names but does not carry: images by hash, video surfaces.
pub trait Pictures {
    fn image(&mut self, ctx: &egui::Context, hash: &str) -> Option<egui::TextureHandle>;
    fn frame(&mut self, ctx: &egui::Context, plugin: &str, surface: &str) -> Option<egui::TextureHandle>;
}

/// A toast a view asked for, for the shell's notification area.
#[derive(Debug, Clone, PartialEq)]
pub struct ToastRequest {
    pub text: String,
    pub level: Level,
}

/// One panel's memory between frames.
#[derive(Default)]
pub struct PanelState {
    /// Per text input: the value the plugin last sent, and what the user is typing.
    /// When the plugin sends a new value (it cleared the draft after sending), it wins.
    text: HashMap<String, (String, String)>,
    sort: HashMap<String, (usize, bool)>,
    /// Sorted row order per table, for the current view generation and sort.
    order: HashMap<String, (u64, usize, bool, Vec<usize>)>,
    tabs: HashMap<String, String>,
    toasts_seen: HashSet<String>,
    closed_dialogs: HashSet<String>,
    dialogs_now: HashSet<String>,
    /// The open file dialogs, by picker id, and the pickers drawn this frame.
    files: HashMap<String, egui_file::FileDialog>,
    files_now: HashSet<String>,
    /// Bumped by the shell whenever the panel's view changes.
    pub generation: u64,
}

impl PanelState {
    /// Call after drawing a tree: forgets closed dialogs the plugin has removed, so a
    /// later dialog with the same id shows again.
    pub fn end_frame(&mut self) {
        let now = std::mem::take(&mut self.dialogs_now);
        self.closed_dialogs.retain(|d| now.contains(d));
        // A file dialog whose picker is gone (the view moved on) closes with it.
        let now = std::mem::take(&mut self.files_now);
        self.files.retain(|id, _| now.contains(id));
    }
}

/// Everything one panel's drawing needs.
pub struct Cx<'a> {
    pub plugin: &'a str,
    pub state: &'a mut PanelState,
    pub pictures: &'a mut dyn Pictures,
    pub out: &'a mut Vec<UiEvent>,
    pub toasts: &'a mut Vec<ToastRequest>,
    /// The placeholder text for unknown nodes (translated).
    pub placeholder: &'a str,
    /// The shell's own words in views (translated).
    pub strings: &'a ViewStrings,
    /// Every active plugin's contributed contact actions (see [`ContactOffer`]).
    pub offers: &'a [ContactOffer],
    /// Offers the user picked this frame: (index into `offers`, the row's contact).
    pub picked: &'a mut Vec<(usize, ContactAddress)>,
    /// The contributed action a double-click on a contact runs (`call` or `chat`, the
    /// `contacts.double_click` setting); the row's own plugin keeps its double-click
    /// when it offers that action itself.
    pub double_click: &'a str,
}

/// The shell's words inside plugin views.
#[derive(Debug, Clone, Default)]
pub struct ViewStrings {
    pub copy_hint: String,
    pub copied: String,
}

impl Cx<'_> {
    fn emit(&mut self, widget: &str, action: UiAction) {
        self.out.push(UiEvent { widget: widget.to_string(), action });
    }
}

/// Renders `node`; interactions are appended to `cx.out`.
pub fn node_ui(ui: &mut egui::Ui, node: &Node, cx: &mut Cx<'_>) {
    match node {
        Node::Column { children } => {
            ui.vertical(|ui| children.iter().for_each(|c| node_ui(ui, c, cx)));
        }
        Node::Row { children, wrap } => {
            if *wrap {
                ui.horizontal_wrapped(|ui| children.iter().for_each(|c| node_ui(ui, c, cx)));
            } else {
                ui.horizontal(|ui| children.iter().for_each(|c| node_ui(ui, c, cx)));
            }
        }
        Node::Grid { id, columns, children, striped } => {
            egui::Grid::new(("grid", id)).striped(*striped).show(ui, |ui| {
                for (i, c) in children.iter().enumerate() {
                    node_ui(ui, c, cx);
                    if (i + 1) % (*columns).max(1) == 0 {
                        ui.end_row();
                    }
                }
            });
        }
        Node::Scroll { id, children, max_height, stick_to_bottom } => {
            let mut area =
                egui::ScrollArea::vertical().id_salt(("scroll", id)).stick_to_bottom(*stick_to_bottom);
            if let Some(h) = max_height {
                area = area.max_height(*h);
            }
            area.show(ui, |ui| children.iter().for_each(|c| node_ui(ui, c, cx)));
        }
        Node::Text { text, style, color: c, selectable, copy_on_click } => {
            let mut rich = RichText::new(text);
            rich = match style {
                TextStyle::Body => rich,
                TextStyle::Heading => rich.heading(),
                TextStyle::Strong => rich.strong(),
                TextStyle::Weak => rich.weak(),
                TextStyle::Monospace => rich.monospace(),
                TextStyle::Small => rich.small(),
            };
            if let Some(c) = c.as_deref().and_then(color) {
                rich = rich.color(c);
            }
            if *copy_on_click {
                let r =
                    ui.add(egui::Label::new(rich).sense(Sense::click())).on_hover_text(&cx.strings.copy_hint);
                if r.clicked() {
                    ui.ctx().copy_text(text.clone());
                    cx.toasts.push(ToastRequest { text: cx.strings.copied.to_string(), level: Level::Info });
                }
            } else {
                ui.add(egui::Label::new(rich).selectable(*selectable));
            }
        }
        Node::Separator => {
            ui.separator();
        }
        Node::Badge { text, color: c } => {
            let bg = c.as_deref().and_then(color).unwrap_or(ui.visuals().selection.bg_fill);
            ui.label(RichText::new(text).strong().color(Color32::WHITE).background_color(bg));
        }
        Node::Button { id, label, icon: ic, enabled, role } => {
            let text = match ic {
                Some(i) => format!("{} {label}", icon(i)),
                None => label.clone(),
            };
            let mut b = egui::Button::new(text);
            b = match role {
                ButtonRole::Normal => b,
                ButtonRole::Primary => b.fill(ui.visuals().selection.bg_fill),
                ButtonRole::Danger => b.fill(crate::theme::DANGER),
            };
            if ui.add_enabled(*enabled, b).clicked() {
                cx.emit(id, UiAction::Clicked);
            }
        }
        Node::TextInput { id, label, value, hint, multiline, password, max_len } => {
            text_input(ui, cx, id, label, value, hint, *multiline, *password, *max_len);
        }
        Node::Toggle { id, label, value } => {
            let mut v = *value;
            if ui.checkbox(&mut v, label.as_str()).changed() {
                cx.emit(id, UiAction::Changed { value: Value::Bool(v) });
            }
        }
        Node::Radio { id, label, options, selected } => {
            ui.horizontal_wrapped(|ui| {
                if !label.is_empty() {
                    ui.label(label);
                }
                for o in options {
                    if ui.radio(*selected == o.value, o.label.as_str()).clicked() && *selected != o.value {
                        cx.emit(id, UiAction::Changed { value: Value::String(o.value.clone()) });
                    }
                }
            });
        }
        Node::Combo { id, label, options, selected } => {
            let current =
                options.iter().find(|o| o.value == *selected).map_or(selected.as_str(), |o| &o.label);
            let mut chosen = None;
            ui.horizontal(|ui| {
                let l = (!label.is_empty()).then(|| ui.label(label));
                let combo =
                    egui::ComboBox::from_id_salt(("combo", id)).selected_text(current).show_ui(ui, |ui| {
                        for o in options {
                            if ui.selectable_label(o.value == *selected, o.label.as_str()).clicked() {
                                chosen = Some(o.value.clone());
                            }
                        }
                    });
                if let Some(l) = l {
                    combo.response.labelled_by(l.id);
                }
            });
            if let Some(v) = chosen.filter(|v| v != selected) {
                cx.emit(id, UiAction::Changed { value: Value::String(v) });
            }
        }
        Node::Slider { id, label, value, min, max, step } => {
            let mut v = *value;
            let mut s = egui::Slider::new(&mut v, *min..=*max).text(label.as_str());
            if let Some(st) = step {
                s = s.step_by(*st);
            }
            let r = ui.add(s);
            // Report when the user lets go, not on every pixel of a drag.
            if r.drag_stopped() || (r.changed() && !r.dragged()) {
                cx.emit(id, UiAction::Changed { value: serde_json::json!(v) });
            }
        }
        Node::Progress { value, text } => {
            let mut bar = egui::ProgressBar::new(value.clamp(0.0, 1.0));
            bar = match text {
                Some(t) => bar.text(t.as_str()),
                None => bar.show_percentage(),
            };
            ui.add(bar);
        }
        Node::Image { hash, width, height, alt } => {
            let size = egui::vec2(*width, *height);
            match cx.pictures.image(ui.ctx(), hash) {
                Some(tex) => {
                    ui.add(egui::Image::new((tex.id(), size))).on_hover_text(alt);
                }
                None => picture_placeholder(ui, size, alt),
            }
        }
        Node::Avatar { name, image, presence, size } => {
            avatar(ui, cx, name, image.as_deref(), presence.as_deref(), *size)
        }
        Node::List { id, rows, selected, actions, drag, drop } => {
            list(ui, cx, id, rows, selected.as_deref(), actions, *drag, *drop);
        }
        Node::Table { id, columns, rows, selected, actions, height } => {
            table::table(ui, cx, id, columns, rows, selected.as_deref(), actions, *height);
        }
        Node::Tabs { id, tabs, selected } => {
            let open = cx.state.tabs.get(id).cloned().unwrap_or_else(|| selected.clone());
            let open = if tabs.iter().any(|t| t.id == open) {
                open
            } else {
                tabs.first().map(|t| t.id.clone()).unwrap_or_default()
            };
            ui.horizontal(|ui| {
                for t in tabs {
                    if ui.selectable_label(t.id == open, t.title.as_str()).clicked() && t.id != open {
                        cx.state.tabs.insert(id.clone(), t.id.clone());
                        cx.emit(id, UiAction::Selected { row: t.id.clone() });
                    }
                }
            });
            ui.separator();
            if let Some(t) = tabs.iter().find(|t| t.id == open) {
                t.children.iter().for_each(|c| node_ui(ui, c, cx));
            }
        }
        Node::Collapsing { id, title, open, children } => {
            egui::CollapsingHeader::new(title.as_str())
                .id_salt(("collapsing", id))
                .default_open(*open)
                .show(ui, |ui| children.iter().for_each(|c| node_ui(ui, c, cx)));
        }
        Node::Plot { id, series, height } => plot(ui, id, series, *height),
        Node::Keypad { id, enabled } => {
            egui::Grid::new(("keypad", id)).show(ui, |ui| {
                for row in [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["*", "0", "#"]] {
                    for k in row {
                        let b = egui::Button::new(RichText::new(k).monospace().size(18.0))
                            .min_size(egui::vec2(40.0, 32.0));
                        if ui.add_enabled(*enabled, b).clicked() {
                            cx.emit(id, UiAction::KeyPressed { key: k.to_string() });
                        }
                    }
                    ui.end_row();
                }
            });
        }
        Node::Dialog { id, title, children } => {
            cx.state.dialogs_now.insert(id.clone());
            if cx.state.closed_dialogs.contains(id) {
                return;
            }
            let modal = egui::Modal::new(egui::Id::unique(("dialog", cx.plugin, id))).show(ui.ctx(), |ui| {
                ui.set_min_width(280.0);
                ui.heading(title);
                ui.separator();
                children.iter().for_each(|c| node_ui(ui, c, cx));
            });
            if modal.should_close() {
                cx.state.closed_dialogs.insert(id.clone());
                cx.emit(id, UiAction::DialogClosed);
            }
        }
        Node::Toast { id, text, level } => {
            if cx.state.toasts_seen.insert(id.clone()) {
                cx.toasts.push(ToastRequest { text: text.clone(), level: *level });
            }
        }
        Node::ContextMenu { id, child, items } => {
            let inner =
                ui.scope_builder(egui::UiBuilder::new().sense(Sense::click()), |ui| node_ui(ui, child, cx));
            let mut chosen = None;
            inner.response.context_menu(|ui| chosen = menu(ui, items));
            if let Some(item) = chosen {
                cx.emit(id, UiAction::ContextAction { item, row: None });
            }
        }
        Node::DragSource { id, child } => {
            let payload =
                DragPayload { plugin: cx.plugin.to_string(), widget: id.clone(), row: None, contact: None };
            ui.dnd_drag_source(egui::Id::unique(("drag", cx.plugin, id)), payload, |ui| {
                node_ui(ui, child, cx)
            });
        }
        Node::DropTarget { id, child } => {
            let frame = egui::Frame::default().inner_margin(4.0);
            let (zone, dropped) = ui.dnd_drop_zone::<DragPayload, _>(frame, |ui| node_ui(ui, child, cx));
            if let Some(p) = dropped {
                cx.emit(id, dropped_action(&p, None));
            }
            // Files from the desktop land where the pointer is.
            let files: Vec<String> = ui.input(|i| {
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().display().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            });
            if !files.is_empty() && ui.rect_contains_pointer(zone.response.rect) {
                cx.emit(id, UiAction::FilesDropped { paths: files });
            }
        }
        Node::FilePicker { id, label, icon, multiple, folder, extensions, enabled } => {
            let ask = files::Ask {
                label,
                icon: icon.as_deref(),
                multiple: *multiple,
                folder: *folder,
                extensions,
                enabled: *enabled,
            };
            files::picker(ui, cx, id, ask);
        }
        Node::Shortcuts { id, bindings } => shortcuts(ui, cx, id, bindings),
        Node::Surface { id, width, height } => {
            let size = egui::vec2(*width, *height);
            match cx.pictures.frame(ui.ctx(), cx.plugin, id) {
                Some(tex) => {
                    ui.add(egui::Image::new((tex.id(), size)).fit_to_exact_size(size));
                }
                None => picture_placeholder(ui, size, ""),
            }
        }
        Node::Unknown => {
            ui.label(RichText::new(cx.placeholder).italics().weak());
        }
    }
}

fn dropped_action(p: &DragPayload, row: Option<String>) -> UiAction {
    UiAction::Dropped {
        from: p.plugin.clone(),
        source: p.widget.clone(),
        source_row: p.row.clone(),
        row,
        contact: p.contact.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn text_input(
    ui: &mut egui::Ui,
    cx: &mut Cx<'_>,
    id: &str,
    label: &str,
    value: &str,
    hint: &str,
    multiline: bool,
    password: bool,
    max_len: Option<usize>,
) {
    let entry = cx.state.text.entry(id.to_string()).or_insert_with(|| (value.to_string(), value.to_string()));
    if entry.0 != value {
        *entry = (value.to_string(), value.to_string());
    }
    let buffer = &mut entry.1;
    let (response, text) = ui
        .horizontal(|ui| {
            let l = (!label.is_empty()).then(|| ui.label(label));
            let mut edit = if multiline {
                egui::TextEdit::multiline(buffer)
            } else {
                egui::TextEdit::singleline(buffer)
            };
            edit = edit.hint_text(hint).password(password).id_salt(("input", id));
            if let Some(max) = max_len {
                edit = edit.char_limit(max);
            }
            let r = ui.add(edit);
            // Screen readers (and UI tests) find the field by its label, else its hint.
            let r = match l {
                Some(l) => r.labelled_by(l.id),
                None => {
                    let name = if hint.is_empty() { id } else { hint };
                    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, name));
                    r
                }
            };
            (r, buffer.clone())
        })
        .inner;
    if response.changed() {
        cx.emit(id, UiAction::Changed { value: Value::String(text.clone()) });
    }
    if !multiline && response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        cx.emit(id, UiAction::Submitted { value: text });
    }
}

fn picture_placeholder(ui: &mut egui::Ui, size: egui::Vec2, alt: &str) {
    let (rect, r) = ui.allocate_exact_size(size, Sense::hover());
    ui.painter().rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
    if !alt.is_empty() {
        ui.painter().text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            alt,
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
        r.on_hover_text(alt);
    }
}

fn initials(name: &str) -> String {
    let name = name.split('@').next().unwrap_or(name);
    let mut out: String = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == '_')
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    if out.is_empty() {
        out.push('?');
    }
    out.to_uppercase()
}

fn avatar(
    ui: &mut egui::Ui,
    cx: &mut Cx<'_>,
    name: &str,
    image: Option<&str>,
    presence: Option<&str>,
    size: f32,
) {
    let (rect, r) = ui.allocate_exact_size(egui::vec2(size, size), Sense::hover());
    let p = ui.painter();
    let texture = image.and_then(|h| cx.pictures.image(ui.ctx(), h));
    match texture {
        Some(tex) => {
            egui::Image::new((tex.id(), rect.size())).corner_radius(size / 2.0).paint_at(ui, rect);
        }
        None => {
            p.circle_filled(rect.center(), size / 2.0, ui.visuals().selection.bg_fill);
            p.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initials(name),
                egui::FontId::proportional(size * 0.4),
                Color32::WHITE,
            );
        }
    }
    if let Some(s) = presence {
        let dot = rect.right_bottom() - egui::vec2(size * 0.15, size * 0.15);
        p.circle_filled(dot, size * 0.16, ui.visuals().panel_fill);
        p.circle_filled(dot, size * 0.12, presence_color(s));
    }
    r.on_hover_text(match presence {
        Some(s) => format!("{name} · {s}"),
        None => name.to_string(),
    });
}

fn menu(ui: &mut egui::Ui, items: &[MenuItem]) -> Option<String> {
    let mut chosen = None;
    for item in items {
        let text = if item.danger {
            RichText::new(&item.label).color(ui.visuals().error_fg_color)
        } else {
            RichText::new(&item.label)
        };
        if ui.button(text).clicked() {
            if let Some(copy) = &item.copy {
                ui.ctx().copy_text(copy.clone());
            }
            chosen = Some(item.id.clone());
            ui.close();
        }
    }
    chosen
}

fn plot(ui: &mut egui::Ui, id: &str, series: &[Series], height: f32) {
    use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};
    Plot::new(("plot", id)).height(height).legend(Legend::default()).allow_scroll(false).show(ui, |p| {
        for s in series {
            match s.kind {
                SeriesKind::Line => {
                    p.line(Line::new(s.name.clone(), PlotPoints::from(s.points.clone())));
                }
                SeriesKind::Bar => {
                    let bars = s.points.iter().map(|[x, y]| Bar::new(*x, *y)).collect();
                    p.bar_chart(BarChart::new(s.name.clone(), bars));
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_colours_parse() {
        let (m, k) = parse_keys("Ctrl+Shift+R").unwrap();
        assert!(m.command && m.shift && k == egui::Key::R);
        assert_eq!(parse_keys("F5").unwrap().1, egui::Key::F5);
        assert!(parse_keys("Ctrl+Nope").is_none());
        assert_eq!(color("#ff8000"), Some(Color32::from_rgb(255, 128, 0)));
        assert_eq!(color("red"), None);
        assert_eq!(initials("ada.lovelace@example.com"), "AL");
    }

    #[test]
    fn tables_sort_numbers_as_numbers() {
        let rows: Vec<TableRow> = ["10", "9", "100"]
            .iter()
            .enumerate()
            .map(|(i, c)| TableRow { id: i.to_string(), cells: vec![c.to_string()] })
            .collect();
        let mut s = PanelState::default();
        assert_eq!(order(&mut s, "t", &rows, Some((0, true))), [1, 0, 2]);
        assert_eq!(order(&mut s, "t", &rows, Some((0, false))), [2, 0, 1]);
        assert_eq!(order(&mut s, "t", &rows, None), [0, 1, 2]);
    }
}
