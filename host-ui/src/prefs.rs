//! Preferences: the shell's own (language, always on top, alerts) kept in
//! `<config>/shell.json`, and the window that draws one page per plugin from the
//! settings schema in its manifest (plugins whose `Preferences` panels share a title
//! share a page, where those panels are drawn under their settings). Locked settings (the admin's policy) are shown but
//! cannot be changed; every change goes through the kernel, which checks it.

mod general;

use crate::i18n::Strings;
use crate::panels::Panels;
use eframe::egui;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};
use ucdesk_kernel::{Kernel, PluginState};
use ucdesk_plugin_api::{PanelSlot, SettingDecl, SettingKind};

/// The manual's "Always on Top": off, while a call is up, or always (calls and
/// contacts: the one window shows both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTop {
    #[default]
    Off,
    Calls,
    CallsAndContacts,
}

impl<'de> Deserialize<'de> for OnTop {
    /// Also reads the `true`/`false` earlier versions stored.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(true) => Ok(OnTop::CallsAndContacts),
            Value::Bool(false) => Ok(OnTop::Off),
            Value::String(s) => match s.as_str() {
                "off" => Ok(OnTop::Off),
                "calls" => Ok(OnTop::Calls),
                "calls_and_contacts" => Ok(OnTop::CallsAndContacts),
                other => Err(serde::de::Error::custom(format!("always_on_top: unknown choice {other:?}"))),
            },
            other => Err(serde::de::Error::custom(format!("always_on_top: {other} is not a choice"))),
        }
    }
}

/// The shell's own preferences (the manual's General and Alerts pages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShellPrefs {
    pub language: String,
    pub always_on_top: OnTop,
    /// Calls handed over by web browsers and other apps (`tel:` links) show their number
    /// to confirm or correct before dialling (the manual's Phone preferences).
    pub confirm_external_calls: bool,
    pub bring_to_front_on_call: bool,
    pub notify_calls: bool,
    pub notify_messages: bool,
    pub desktop_notifications: bool,
    /// The inbound call alert lasts 5-15 s; every other alert 5 s (the manual).
    pub call_alert_seconds: u8,
    /// The release feed "Check for updates" reads when the policy names none.
    pub update_feed: String,
    /// The version the user dismissed (skipped or downloaded): no notification for it at
    /// login.
    pub skipped_version: Option<String>,
    /// Write the diagnostic log file (the SIP and XMPP levels are the plugins').
    pub diagnostic_logs: bool,
    /// How long the tray icon asks for attention while notifications are pending
    /// (unread messages, missed calls); 0: not at all.
    pub tray_blink_seconds: u16,
    /// Alerts -> "Notify me when a contact comes online".
    pub notify_sign_in: bool,
    /// Alerts -> Sounds: a sound for new messages, for contacts signing in, and the
    /// message sound even while the conversation is in view.
    pub sound_messages: bool,
    pub sound_sign_in: bool,
    pub sound_always: bool,
    /// The .wav files (empty: the built-in chime).
    pub sound_message_file: String,
    pub sound_sign_in_file: String,
}

impl Default for ShellPrefs {
    fn default() -> Self {
        ShellPrefs {
            language: "en".into(),
            always_on_top: OnTop::Off,
            confirm_external_calls: true,
            bring_to_front_on_call: true,
            notify_calls: true,
            notify_messages: true,
            desktop_notifications: true,
            call_alert_seconds: 10,
            update_feed: String::new(),
            skipped_version: None,
            diagnostic_logs: false,
            tray_blink_seconds: 30,
            notify_sign_in: false,
            sound_messages: true,
            // Off until asked for: in a large company colleagues sign in all day.
            sound_sign_in: false,
            sound_always: false,
            sound_message_file: String::new(),
            sound_sign_in_file: String::new(),
        }
    }
}

impl ShellPrefs {
    pub fn file(config: &Path) -> PathBuf {
        config.join("shell.json")
    }

    /// The stored preferences; defaults when there are none, and (logged) when the
    /// file is unreadable, which then is kept aside rather than overwritten.
    pub fn load(config: &Path) -> ShellPrefs {
        let path = Self::file(config);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("{} is unreadable ({e}); using defaults", path.display());
                let _ = std::fs::rename(&path, path.with_extension("json.broken"));
                ShellPrefs::default()
            }),
            Err(_) => ShellPrefs::default(),
        }
    }

    pub fn save(&self, config: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(config)?;
        let tmp = Self::file(config).with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).expect("prefs serialize"))?;
        std::fs::rename(tmp, Self::file(config))
    }

    pub fn call_alert(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.call_alert_seconds.clamp(5, 15) as u64)
    }
}

/// What the General page shows about the desktop and the login, which the shell
/// applies (autostart entry, login profiles) when the page changes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesktopPrefs {
    pub autostart: bool,
    /// None when no login profile is in use (nothing to log in to).
    pub auto_login: Option<bool>,
    /// How this ucdesk is started again: the executable and `--home`, if any.
    pub exe: PathBuf,
    pub profile_dir: Option<PathBuf>,
}

/// What the General page edits: the shell's preferences, the desktop's, and where
/// added languages go.
pub struct General<'a> {
    pub prefs: &'a mut ShellPrefs,
    pub desktop: &'a mut DesktopPrefs,
    pub languages_dir: &'a Path,
}

/// The devices a plugin listed for a `device` setting: (id, name) pairs, or why not.
type DeviceList = Result<Vec<(String, String)>, String>;

/// The preferences window's memory: the page, edit buffers, last errors.
#[derive(Default)]
pub struct PrefsWindow {
    pub open: bool,
    pub page: String,
    text: HashMap<String, String>,
    errors: HashMap<String, String>,
    notes: HashMap<String, String>,
    language_file: String,
    language_dialog: Option<egui_file::FileDialog>,
    /// What "Set default program associations" did, once its thread is done.
    associations: Arc<Mutex<Option<Result<String, String>>>>,
    /// Devices a `device` setting's plugin listed, by setting key; asked once per
    /// window, off the UI thread.
    devices: Arc<Mutex<HashMap<String, DeviceList>>>,
    asked: HashSet<String>,
    /// A sound the Alerts page asked to preview (the shell plays it).
    pub preview: Option<(crate::sounds::Sound, crate::sounds::Clip)>,
}

impl PrefsWindow {
    /// Draws the window. Returns true when the shell's own preferences changed.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        kernel: Option<&Kernel>,
        panels: &mut Panels,
        general: General<'_>,
        strings: &Strings,
    ) -> bool {
        let General { prefs, desktop, languages_dir } = general;
        if !self.open {
            return false;
        }
        let mut open = self.open;
        let mut changed = false;
        egui::Window::new(strings.t("preferences"))
            .id(egui::Id::unique("preferences"))
            .open(&mut open)
            .default_size([620.0, 440.0])
            .show(ctx, |ui| {
                let pages = plugin_pages(kernel);
                egui::Panel::left("prefs-pages").resizable(false).default_size(140.0).show(ui, |ui| {
                    if ui.selectable_label(self.page.is_empty(), strings.t("general")).clicked() {
                        self.page.clear();
                    }
                    for page in &pages {
                        if ui.selectable_label(self.page == page.key, page.title.as_str()).clicked() {
                            self.page = page.key.clone();
                        }
                    }
                });
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        match (kernel, pages.iter().find(|p| p.key == self.page)) {
                            (Some(k), Some(page)) => self.plugin_page(ui, k, panels, page, strings),
                            // The manual's order: start-up and links first, then language,
                            // always on top and the rest.
                            _ => {
                                ui.heading(strings.t("general"));
                                self.desktop_section(ui, desktop, strings);
                                changed = self.general_page(ui, prefs, strings, languages_dir);
                                changed |= general::diagnostics_section(ui, kernel, prefs, strings);
                            }
                        }
                    });
                });
            });
        self.open = open;
        changed
    }

    fn feedback(&self, ui: &mut egui::Ui, key: &str) {
        if let Some(e) = self.errors.get(key) {
            ui.colored_label(ui.visuals().error_fg_color, e);
        } else if let Some(n) = self.notes.get(key) {
            ui.weak(n);
        }
    }

    /// A page: each plugin's section, its settings and then its preferences view.
    fn plugin_page(
        &mut self,
        ui: &mut egui::Ui,
        kernel: &Kernel,
        panels: &mut Panels,
        page: &Page,
        strings: &Strings,
    ) {
        ui.heading(&page.title);
        for section in &page.sections {
            // A shared page names whose settings follow.
            if page.sections.len() > 1 || section.name != page.title {
                ui.add_space(6.0);
                ui.strong(&section.name);
            }
            self.settings_grid(ui, kernel, &section.plugin, &section.settings, strings);
            if let Some(panel) = &section.panel {
                ui.add_space(6.0);
                panels.draw(ui, &section.plugin, panel);
            }
            ui.separator();
        }
    }

    fn settings_grid(
        &mut self,
        ui: &mut egui::Ui,
        kernel: &Kernel,
        plugin: &str,
        settings: &[SettingDecl],
        strings: &Strings,
    ) {
        egui::Grid::new(("prefs", plugin)).num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
            for decl in settings {
                let key = format!("{plugin}.{}", decl.name);
                let label = if decl.label.is_empty() { decl.name.clone() } else { decl.label.clone() };
                let locked = kernel.setting_locked(&key);
                let l = ui.label(label);
                if !decl.help.is_empty() {
                    l.clone().on_hover_text(&decl.help);
                }
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.add_enabled_ui(!locked, |ui| {
                            self.setting_widget(ui, kernel, &key, decl, l.id, strings)
                        });
                        if locked {
                            ui.label(crate::render::symbol::LOCK).on_hover_text(strings.t("locked-by-admin"));
                        }
                    });
                    self.feedback(ui, &key);
                });
                ui.end_row();
            }
        });
    }

    fn apply(&mut self, kernel: &Kernel, key: &str, value: Value) {
        match kernel.set_setting(key, value) {
            Ok(()) => {
                self.errors.remove(key);
            }
            Err(e) => {
                self.errors.insert(key.to_string(), e.to_string());
            }
        }
    }

    fn setting_widget(
        &mut self,
        ui: &mut egui::Ui,
        kernel: &Kernel,
        key: &str,
        decl: &SettingDecl,
        label: egui::Id,
        strings: &Strings,
    ) {
        let current = kernel.setting(key).ok().flatten().unwrap_or(Value::Null);
        match &decl.kind {
            SettingKind::Bool => {
                let mut v = current.as_bool().unwrap_or(false);
                if ui.checkbox(&mut v, "").labelled_by(label).changed() {
                    self.apply(kernel, key, Value::Bool(v));
                }
            }
            SettingKind::Number { min, max, integer } => {
                let mut v = current.as_f64().unwrap_or(0.0);
                let mut d =
                    egui::DragValue::new(&mut v).range(min.unwrap_or(f64::MIN)..=max.unwrap_or(f64::MAX));
                if *integer {
                    d = d.fixed_decimals(0).speed(1.0);
                }
                let r = ui.add(d).labelled_by(label);
                if r.drag_stopped() || (r.changed() && !r.dragged()) {
                    let value =
                        if *integer { serde_json::json!(v.round() as i64) } else { serde_json::json!(v) };
                    self.apply(kernel, key, value);
                }
            }
            SettingKind::Enum { options } => {
                let selected = current.as_str().unwrap_or_default().to_string();
                let mut chosen = None;
                egui::ComboBox::from_id_salt(("enum", key))
                    .selected_text(selected.as_str())
                    .show_ui(ui, |ui| {
                        for o in options {
                            if ui.selectable_label(*o == selected, o.as_str()).clicked() {
                                chosen = Some(o.clone());
                            }
                        }
                    })
                    .response
                    .labelled_by(label);
                if let Some(o) = chosen {
                    self.apply(kernel, key, Value::String(o));
                }
            }
            SettingKind::Text { .. } | SettingKind::Device { .. } => {
                let shown = current.as_str().unwrap_or_default().to_string();
                if let SettingKind::Device { class, list } = &decl.kind
                    && let Some(chosen) =
                        self.device_picker(ui, kernel, key, (class, list.as_deref()), label, &shown)
                {
                    self.text.insert(key.to_string(), chosen.clone());
                    self.apply(kernel, key, Value::String(chosen));
                    return;
                }
                let buffer = self.text.entry(key.to_string()).or_insert(shown.clone());
                let mut edit = egui::TextEdit::singleline(buffer).desired_width(260.0);
                if let SettingKind::Device { class, .. } = &decl.kind {
                    edit = edit.hint_text(format!("default, null, file:PATH or a {class} device id"));
                }
                let r = ui.add(edit).labelled_by(label);
                let value = buffer.clone();
                if r.lost_focus() && value != shown {
                    self.apply(kernel, key, Value::String(value));
                }
            }
            SettingKind::List => {
                let shown: Vec<String> = current
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                let buffer = self.text.entry(key.to_string()).or_insert(shown.join("\n"));
                let r = ui
                    .add(egui::TextEdit::multiline(buffer).desired_rows(3).desired_width(260.0))
                    .labelled_by(label);
                let items: Vec<String> =
                    buffer.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
                if r.lost_focus() && items != shown {
                    self.apply(kernel, key, serde_json::json!(items));
                }
            }
            SettingKind::Secret => {
                let buffer = self.text.entry(key.to_string()).or_default();
                ui.add(egui::TextEdit::singleline(buffer).password(true).desired_width(200.0))
                    .labelled_by(label);
                if ui.button(strings.t("save")).clicked() {
                    let value = std::mem::take(buffer);
                    match kernel.set_secret(key, &value) {
                        Ok(()) => {
                            self.errors.remove(key);
                            self.notes.insert(key.to_string(), strings.t("saved"));
                        }
                        Err(e) => {
                            self.errors.insert(key.to_string(), e.to_string());
                        }
                    }
                }
            }
        }
    }
}

impl PrefsWindow {
    /// A combo of the devices the plugin lists (plus the system default and none);
    /// returns the one the user picked. The text field beside it takes anything else
    /// (`file:PATH`).
    fn device_picker(
        &mut self,
        ui: &mut egui::Ui,
        kernel: &Kernel,
        key: &str,
        (class, list): (&str, Option<&str>),
        label: egui::Id,
        current: &str,
    ) -> Option<String> {
        if let Some(service) = list
            && self.asked.insert(key.to_string())
        {
            let (kernel, service, class, key) =
                (kernel.clone(), service.to_string(), class.to_string(), key.to_string());
            let (devices, ctx) = (self.devices.clone(), ui.ctx().clone());
            std::thread::spawn(move || {
                let request = serde_json::to_vec(&serde_json::json!({ "class": class })).expect("json");
                let answer = kernel
                    .call(&service, request, Duration::from_secs(5))
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).map_err(|e| e.to_string()))
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|d| {
                                let id = d["id"].as_str()?.to_string();
                                Some((id.clone(), d["name"].as_str().unwrap_or(&id).to_string()))
                            })
                            .collect()
                    });
                devices.lock().unwrap_or_else(|p| p.into_inner()).insert(key, answer);
                ctx.request_repaint();
            });
        }
        let listed = self.devices.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned();
        let mut options = vec![
            ("default".to_string(), "System default".to_string()),
            ("null".to_string(), "None".to_string()),
        ];
        if let Some(Ok(found)) = &listed {
            options.extend(found.iter().cloned());
        }
        let shown = options.iter().find(|(id, _)| id == current).map_or(current, |(_, name)| name.as_str());
        let mut chosen = None;
        egui::ComboBox::from_id_salt(("device", key))
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for (id, name) in &options {
                    if ui.selectable_label(id == current, name.as_str()).clicked() && id != current {
                        chosen = Some(id.clone());
                    }
                }
            })
            .response
            .labelled_by(label);
        if let Some(Err(e)) = listed {
            ui.weak("⚠").on_hover_text(format!("cannot list devices: {e}"));
        }
        chosen
    }
}

/// A page of plugin preferences: a plugin's own (titled with its name) or one that
/// several share because their `Preferences` panels give the same title.
struct Page {
    /// `panel:<title>` for a page `Preferences` panels name (shared by title),
    /// `plugin:<id>` for a plugin's own: two plugins of one name never share by chance.
    key: String,
    title: String,
    sections: Vec<Section>,
}

/// One plugin's part of a page.
struct Section {
    plugin: String,
    name: String,
    settings: Vec<SettingDecl>,
    /// Its `Preferences` panel, drawn after the settings.
    panel: Option<String>,
}

/// The pages of the plugins the user has (locked ones do not exist for the user), in
/// plugin order.
fn plugin_pages(kernel: Option<&Kernel>) -> Vec<Page> {
    let Some(k) = kernel else { return Vec::new() };
    let mut pages: Vec<Page> = Vec::new();
    for p in k.plugins().into_iter().filter(|p| p.state != PluginState::Locked) {
        let Some(m) = k.manifest(&p.id) else { continue };
        let panel = m.panels.iter().find(|d| d.slot == PanelSlot::Preferences);
        if m.settings.is_empty() && panel.is_none() {
            continue;
        }
        let name = if m.name.is_empty() { p.id.clone() } else { m.name.clone() };
        let (key, title) = match panel {
            Some(d) => (format!("panel:{}", d.title), d.title.clone()),
            None => (format!("plugin:{}", p.id), name.clone()),
        };
        let section = Section {
            plugin: p.id.clone(),
            name,
            settings: m.settings.clone(),
            panel: panel.map(|d| d.id.clone()),
        };
        match pages.iter_mut().find(|pg| pg.key == key) {
            Some(page) => page.sections.push(section),
            None => pages.push(Page { key, title, sections: vec![section] }),
        }
    }
    pages
}
