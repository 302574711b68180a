//! The main window: composes what plugins contribute into the manual's layout, and
//! owns none of the features.
//!
//! - left: the user card (avatar, name, the presence provider's selector), the quick
//!   lists (contacts, favorites, recent) and the phone area;
//! - top: the module toolbar, the first six modules as buttons with their badges, the
//!   rest and the options under the three dots;
//! - centre: module panels docked as tabs ([`crate::dock`]), or in their own windows;
//! - bottom: status items (registration, chat connection) and plugins that failed.
//!
//! The kernel is activated off the UI thread, and the UI thread never waits on a
//! plugin: a plugin that publishes a view (or a notification) wakes the window, which
//! otherwise does not repaint at all.

use crate::{
    dock::{Behavior, Dock, Pane},
    i18n::Strings,
    notify::Notifier,
    prefs::{PrefsWindow, ShellPrefs},
    render::{Cx, PanelState, Pictures, ToastRequest, icon, node_ui},
    textures::KernelPictures,
    wizard::{self, Logins, Wizard, WizardAction},
};
use eframe::egui;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use ucdesk_kernel::{Kernel, PluginInfo, PluginState, control::ControlServer};
use ucdesk_plugin_api::{PanelSlot, view::View};

/// How many modules the toolbar shows before the three dots (the manual).
pub const TOOLBAR_MODULES: usize = 6;

/// How often the shell tells the presence provider how long the user has been idle.
pub const ACTIVITY_REPORT: Duration = Duration::from_secs(30);

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the background activation hands to the UI.
#[derive(Default)]
struct Boot {
    done: bool,
    server: Option<ControlServer>,
    error: Option<String>,
}

enum Phase {
    Login,
    Starting,
    Running,
}

/// The latest view of one panel, decoded once per publish.
struct PanelView {
    bytes: Option<Arc<Vec<u8>>>,
    view: Result<View, String>,
    state: PanelState,
}

/// Everything needed to draw panels, apart from where they go.
pub struct Panels {
    kernel: Kernel,
    views: HashMap<(String, String), PanelView>,
    pictures: Box<dyn Pictures>,
    toasts: Vec<(String, ToastRequest)>,
    placeholder: String,
    no_panel: String,
}

/// The panel's latest view, decoded again only when the kernel holds a new tree.
fn refresh<'v>(
    views: &'v mut HashMap<(String, String), PanelView>,
    kernel: &Kernel,
    plugin: &str,
    panel: &str,
) -> Option<&'v mut PanelView> {
    let bytes = kernel.view(plugin, panel)?;
    let key = (plugin.to_string(), panel.to_string());
    let entry = views.entry(key).or_insert_with(|| PanelView {
        bytes: None,
        view: Err(String::new()),
        state: PanelState::default(),
    });
    if entry.bytes.as_ref().is_none_or(|b| !Arc::ptr_eq(b, &bytes)) {
        entry.view = View::from_bytes(&bytes).map_err(|e| e.to_string());
        entry.bytes = Some(bytes);
        entry.state.generation += 1;
    }
    Some(entry)
}

impl Panels {
    /// The toolbar badge of a panel (unread, missed).
    pub fn badge(&mut self, plugin: &str, panel: &str) -> u32 {
        refresh(&mut self.views, &self.kernel, plugin, panel)
            .and_then(|v| v.view.as_ref().ok().and_then(|v| v.badge))
            .unwrap_or(0)
    }

    /// Draws one panel and posts what the user did to its plugin.
    pub fn draw(&mut self, ui: &mut egui::Ui, plugin: &str, panel: &str) {
        let mut events = Vec::new();
        let mut toasts = Vec::new();
        let Some(pv) = refresh(&mut self.views, &self.kernel, plugin, panel) else {
            ui.weak(&self.no_panel);
            return;
        };
        match &pv.view {
            Ok(view) => {
                let mut cx = Cx {
                    plugin,
                    state: &mut pv.state,
                    pictures: self.pictures.as_mut(),
                    out: &mut events,
                    toasts: &mut toasts,
                    placeholder: &self.placeholder,
                };
                ui.push_id((plugin, panel), |ui| node_ui(ui, &view.root, &mut cx));
                pv.state.end_frame();
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("{plugin}: {e}"));
            }
        }
        for t in toasts {
            self.toasts.push((plugin.to_string(), t));
        }
        for e in events {
            if let Err(err) = self.kernel.ui_event(plugin, panel, &e) {
                tracing::warn!("{plugin}/{panel}: {err}");
            }
        }
    }
}

/// A panel a plugin contributes, with what the shell needs to place it.
#[derive(Debug, Clone)]
pub struct Contribution {
    pub pane: Pane,
    pub title: String,
    pub icon: Option<String>,
    pub slot: PanelSlot,
    pub state: PluginState,
    pub reason: Option<String>,
}

pub struct Shell {
    kernel: Kernel,
    config: PathBuf,
    phase: Phase,
    boot: Arc<Mutex<Boot>>,
    logins: Logins,
    wizard: Wizard,
    /// `(user, address)` for the user card.
    user: Option<(String, String)>,
    /// No layout was saved yet: open the first module once the plugins run.
    fresh_layout: bool,
    prefs: ShellPrefs,
    prefs_window: PrefsWindow,
    plugins_window: bool,
    strings: Strings,
    dock: Dock,
    pub panels: Panels,
    notifier: Notifier,
    quick: Option<Pane>,
    listening: bool,
    title: String,
    on_top: Option<bool>,
    /// When the user last touched the window (unix seconds), for "away when idle".
    last_input: Arc<AtomicU64>,
    /// Stops the activity reporter with the shell.
    closing: Arc<AtomicBool>,
    /// When the process started, to report the time to the first frame and to the
    /// main window with every plugin running (benchmarks).
    started_at: Option<Instant>,
    first_frame_reported: bool,
}

impl Shell {
    /// A shell over a kernel that has not been activated yet: it logs in (or asks
    /// for a login) and then activates it in the background.
    pub fn new(kernel: Kernel) -> Shell {
        kernel.scan();
        let config = kernel.home().config.clone();
        let prefs = ShellPrefs::load(&config);
        let strings = Strings::load(&prefs.language, &config.join("languages"));
        let logins = Logins::load(&config);
        let wizard = Wizard::new(&logins);
        let panels = Panels {
            kernel: kernel.clone(),
            views: HashMap::new(),
            pictures: Box::new(KernelPictures::new(kernel.clone())),
            toasts: Vec::new(),
            placeholder: strings.t("unknown-node"),
            no_panel: strings.t("no-panel"),
        };
        let mut shell = Shell {
            fresh_layout: !Dock::file(&config).exists(),
            dock: Dock::load(&config),
            kernel,
            config,
            phase: Phase::Login,
            boot: Arc::default(),
            logins,
            wizard,
            user: None,
            prefs,
            prefs_window: PrefsWindow::default(),
            plugins_window: false,
            strings,
            panels,
            notifier: Notifier::default(),
            quick: None,
            listening: false,
            title: String::new(),
            on_top: None,
            started_at: None,
            first_frame_reported: false,
            last_input: Arc::new(AtomicU64::new(unix_now())),
            closing: Arc::default(),
        };
        let auto = shell.logins.auto_login.clone().and_then(|n| shell.logins.get(&n).cloned());
        if let Some(login) = auto {
            let password = wizard::password(&shell.kernel, &login.name);
            match wizard::apply(&shell.kernel, &login, password.as_deref()) {
                Ok(_) => {
                    shell.start();
                }
                Err(e) => shell.wizard.error = Some(e.to_string()),
            }
        } else if wizard::configured(&shell.kernel) || !wizard::needs_login(&shell.kernel) {
            shell.start();
        }
        shell
    }

    /// Report the time from `at` to the first drawn frame on stderr (benchmarks).
    pub fn report_first_frame(mut self, at: Instant) -> Self {
        self.started_at = Some(at);
        self
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// True once the plugins are running and the main window shows.
    pub fn running(&self) -> bool {
        matches!(self.phase, Phase::Running)
    }

    /// True while the login window shows.
    pub fn logging_in(&self) -> bool {
        matches!(self.phase, Phase::Login)
    }

    fn start(&mut self) {
        self.phase = Phase::Starting;
        let (kernel, boot) = (self.kernel.clone(), self.boot.clone());
        let (last_input, closing) = (self.last_input.clone(), self.closing.clone());
        std::thread::spawn(move || {
            kernel.activate();
            report_activity(kernel.clone(), last_input, closing);
            let server = ControlServer::start(kernel);
            let mut b = boot.lock().unwrap_or_else(|p| p.into_inner());
            match server {
                Ok(s) => b.server = Some(s),
                Err(e) => b.error = Some(format!("control socket: {e}")),
            }
            b.done = true;
        });
    }

    /// The panels `plugins` contribute, in plugin order; locked plugins contribute
    /// nothing (the manual: an unlicensed module is not shown at all).
    fn contributions(&self, plugins: &[PluginInfo]) -> Vec<Contribution> {
        let mut out = Vec::new();
        for p in plugins.iter().filter(|p| p.state != PluginState::Locked) {
            let Some(m) = self.kernel.manifest(&p.id) else { continue };
            for d in &m.panels {
                out.push(Contribution {
                    pane: Pane { plugin: p.id.clone(), panel: d.id.clone() },
                    title: d.title.clone(),
                    icon: d.icon.clone(),
                    slot: d.slot,
                    state: p.state,
                    reason: p.reason.clone(),
                });
            }
        }
        out
    }

    /// Opens a module panel as a tab.
    pub fn open(&mut self, pane: Pane) {
        self.dock.open(pane);
        self.dock.save(&self.config);
    }

    /// The whole window, every frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.listening {
            self.listening = true;
            ctx.set_fonts(crate::render::fonts());
            let repaint = ctx.clone();
            self.kernel.set_view_listener(move |_, _| repaint.request_repaint());
            self.notifier.listen(&self.kernel, &ctx);
        }
        if ctx.input(|i| !i.events.is_empty() || i.pointer.is_moving()) {
            self.last_input.store(unix_now(), Ordering::Relaxed);
        }
        if let Some(at) = self.started_at
            && !std::mem::replace(&mut self.first_frame_reported, true)
        {
            eprintln!("first frame after {} ms", at.elapsed().as_millis());
        }
        if self.on_top != Some(self.prefs.always_on_top) {
            self.on_top = Some(self.prefs.always_on_top);
            let level = if self.prefs.always_on_top {
                egui::WindowLevel::AlwaysOnTop
            } else {
                egui::WindowLevel::Normal
            };
            ctx.send_viewport_cmd(egui::ViewportCommand::WindowLevel(level));
        }
        if matches!(self.phase, Phase::Starting) {
            let b = self.boot.lock().unwrap_or_else(|p| p.into_inner());
            if b.done {
                drop(b);
                self.phase = Phase::Running;
                self.user = wizard::identity(&self.kernel);
                if let Some(at) = self.started_at.take() {
                    eprintln!("main window after {} ms", at.elapsed().as_millis());
                }
            } else {
                drop(b);
                // The activation thread cannot wake us; look again shortly.
                ctx.request_repaint_after(std::time::Duration::from_millis(50));
            }
        }
        match self.phase {
            Phase::Login => {
                egui::CentralPanel::default().show(ui, |ui| self.login_ui(ui));
            }
            Phase::Starting => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.centered_and_justified(|ui| {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label(self.strings.t("starting"));
                        });
                    });
                });
            }
            Phase::Running => self.main_ui(ui),
        }
        if self.prefs_window.show(
            &ctx,
            self.running().then_some(&self.kernel),
            &mut self.prefs,
            &self.strings,
            &self.config.join("languages"),
        ) {
            if let Err(e) = self.prefs.save(&self.config) {
                tracing::warn!("cannot save preferences: {e}");
            }
            if self.prefs.language != self.strings.lang() {
                self.strings = Strings::load(&self.prefs.language, &self.config.join("languages"));
                self.panels.placeholder = self.strings.t("unknown-node");
                self.panels.no_panel = self.strings.t("no-panel");
            }
        }
        self.notifier.take_arrivals(&ctx, &self.prefs);
        for (plugin, t) in std::mem::take(&mut self.panels.toasts) {
            self.notifier.view_toast(&plugin, t);
        }
        if let Some((plugin, panel)) = self.notifier.show(&ctx) {
            self.open(Pane { plugin, panel });
            ctx.request_repaint();
        }
    }

    fn login_ui(&mut self, ui: &mut egui::Ui) {
        let action = self.wizard.ui(ui, &mut self.logins, &self.kernel, &self.config, &self.strings);
        let Some(WizardAction::LogIn { login, password, remember }) = action else { return };
        let saved: Result<(), String> = (|| {
            if self.wizard.editing && !password.is_empty() {
                wizard::keep_password(&self.kernel, &login.name, &password).map_err(|e| e.to_string())?;
            }
            wizard::apply(&self.kernel, &login, (!password.is_empty()).then_some(password.as_str()))
                .map_err(|e| e.to_string())?;
            self.logins.put(login.clone());
            self.logins.last = Some(login.name.clone());
            if remember {
                self.logins.auto_login = Some(login.name.clone());
            }
            self.logins.save(&self.config).map_err(|e| e.to_string())
        })();
        match saved {
            Ok(()) => {
                self.wizard.error = None;
                self.start();
            }
            Err(e) => self.wizard.error = Some(e),
        }
    }

    fn main_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // One look at the plugin table and the open panes per frame.
        let plugins = self.kernel.plugins();
        let all = self.contributions(&plugins);
        let modules: Vec<&Contribution> = all.iter().filter(|c| c.slot == PanelSlot::Module).collect();
        let active = |c: &&Contribution| c.state == PluginState::Active;
        self.dock.retain(|p| all.iter().any(|c| c.pane == *p && c.state == PluginState::Active));
        if std::mem::take(&mut self.fresh_layout)
            && let Some(first) = modules.iter().find(|c| c.state == PluginState::Active)
        {
            self.open(first.pane.clone());
        }

        // The window title carries the unread/missed total: the taskbar's badge.
        let total: u32 =
            all.iter().filter(active).map(|c| self.panels.badge(&c.pane.plugin, &c.pane.panel)).sum();
        let title = if total > 0 { format!("ucdesk ({total})") } else { "ucdesk".to_string() };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }

        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(self.strings.t("app-title"));
                ui.separator();
                let (shown, rest) = modules.split_at(modules.len().min(TOOLBAR_MODULES));
                let visible = self.dock.visible();
                for c in shown {
                    self.module_button(ui, c, &visible);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.menu_button(crate::render::symbol::MORE, |ui| {
                        for c in rest {
                            self.module_button(ui, c, &visible);
                        }
                        if !rest.is_empty() {
                            ui.separator();
                        }
                        if ui.button(self.strings.t("preferences")).clicked() {
                            self.prefs_window.open = true;
                            ui.close();
                        }
                        if ui.button(self.strings.t("plugins")).clicked() {
                            self.plugins_window = true;
                            ui.close();
                        }
                        if ui.button(self.strings.t("log-out")).clicked() {
                            self.logins.auto_login = None;
                            let _ = self.logins.save(&self.config);
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                        if ui.button(self.strings.t("quit")).clicked() {
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                    })
                    .response
                    .on_hover_text(self.strings.t("more"));
                });
            });
        });

        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                for c in all.iter().filter(|c| c.slot == PanelSlot::Status && c.state == PluginState::Active)
                {
                    self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
                    ui.separator();
                }
                if let Some(e) = &self.boot.lock().unwrap_or_else(|p| p.into_inner()).error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                for p in plugins.iter().filter(|p| {
                    matches!(
                        p.state,
                        PluginState::Failed
                            | PluginState::Incompatible
                            | PluginState::Disabled
                            | PluginState::Refused
                    ) && !all.iter().any(|c| c.pane.plugin == p.id && c.slot == PanelSlot::Module)
                }) {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("{} {}", crate::render::symbol::WARNING, p.name.as_deref().unwrap_or(&p.id)),
                    )
                    .on_hover_text(p.reason.as_deref().unwrap_or(""));
                }
            });
        });

        egui::Panel::left("side").resizable(true).default_size(300.0).show(ui, |ui| {
            self.side_ui(ui, &all);
        });

        egui::CentralPanel::default().show(ui, |ui| {
            if self.dock.tree.is_empty() {
                if modules.iter().any(active) {
                    ui.weak(self.strings.t("open-a-module"));
                } else {
                    ui.weak(self.strings.t("no-modules"));
                }
                return;
            }
            let titles: HashMap<Pane, String> =
                all.iter().map(|c| (c.pane.clone(), c.title.clone())).collect();
            let panels = &mut self.panels;
            let mut draw = |ui: &mut egui::Ui, pane: &Pane| panels.draw(ui, &pane.plugin, &pane.panel);
            let mut behavior = Behavior {
                titles: &titles,
                draw: &mut draw,
                pop_out_label: self.strings.t("pop-out"),
                popped: None,
                edited: false,
            };
            self.dock.tree.ui(&mut behavior, ui);
            let (popped, edited) = (behavior.popped.take(), behavior.edited);
            let popped_any = popped.is_some();
            if let Some(p) = popped {
                self.dock.pop_out(&p);
            }
            if edited || popped_any {
                self.dock.save(&self.config);
            }
        });

        // Popped-out panels, each in its own window.
        let titles: HashMap<Pane, String> = all.iter().map(|c| (c.pane.clone(), c.title.clone())).collect();
        let mut dock_back = None;
        for pane in self.dock.popped.clone() {
            let title = titles.get(&pane).cloned().unwrap_or_else(|| pane.panel.clone());
            let id = egui::ViewportId::from_hash_of(("pane", &pane.plugin, &pane.panel));
            let panels = &mut self.panels;
            let dock_label = self.strings.t("dock-back");
            ctx.show_viewport_immediate(
                id,
                egui::ViewportBuilder::default().with_title(&title).with_inner_size([420.0, 520.0]),
                |ui, _class| {
                    egui::CentralPanel::default().show(ui, |ui| {
                        if ui.small_button(&dock_label).clicked()
                            || ui.ctx().input(|i| i.viewport().close_requested())
                        {
                            dock_back = Some(pane.clone());
                        }
                        egui::ScrollArea::vertical()
                            .show(ui, |ui| panels.draw(ui, &pane.plugin, &pane.panel));
                    });
                },
            );
        }
        if let Some(p) = dock_back {
            self.dock.dock(&p);
            self.dock.save(&self.config);
        }

        if self.plugins_window {
            let mut open = true;
            egui::Window::new(self.strings.t("plugins")).open(&mut open).show(&ctx, |ui| {
                egui::Grid::new("plugin-states").striped(true).show(ui, |ui| {
                    for p in plugins.iter().filter(|p| p.state != PluginState::Locked) {
                        ui.label(p.name.as_deref().unwrap_or(&p.id));
                        ui.label(p.version.as_deref().unwrap_or("?"));
                        ui.label(p.state.to_string());
                        ui.weak(p.reason.as_deref().unwrap_or(""));
                        ui.end_row();
                    }
                });
            });
            self.plugins_window = open;
        }
    }

    fn module_button(&mut self, ui: &mut egui::Ui, c: &Contribution, visible: &[Pane]) {
        let label = match &c.icon {
            Some(i) => format!("{} {}", icon(i), c.title),
            None => c.title.clone(),
        };
        if c.state != PluginState::Active {
            // Where the module would be: its name, a warning, and why.
            let reason = c.reason.clone().unwrap_or_else(|| c.state.to_string());
            let text = self.strings.t_args("not-available", &[("plugin", &c.title), ("reason", &reason)]);
            ui.add_enabled(
                false,
                egui::Button::new(format!("{} {}", crate::render::symbol::WARNING, c.title)),
            )
            .on_disabled_hover_text(text);
            return;
        }
        let badge = self.panels.badge(&c.pane.plugin, &c.pane.panel);
        let r = ui.add(egui::Button::selectable(visible.contains(&c.pane), label));
        if badge > 0 {
            let text = if badge > 99 { "99+".to_string() } else { badge.to_string() };
            let fill = ui.visuals().error_fg_color;
            ui.label(
                egui::RichText::new(text).small().strong().background_color(fill).color(egui::Color32::WHITE),
            );
        }
        if r.clicked() {
            self.open(c.pane.clone());
            ui.close();
        }
    }

    fn side_ui(&mut self, ui: &mut egui::Ui, all: &[Contribution]) {
        let live = |slot: PanelSlot| -> Vec<&Contribution> {
            all.iter().filter(|c| c.slot == slot && c.state == PluginState::Active).collect()
        };
        // The user card: avatar, who, and the presence provider's selector.
        ui.horizontal(|ui| {
            let (user, address) = self.user.clone().unwrap_or_else(|| ("ucdesk".into(), String::new()));
            let (rect, _) = ui.allocate_exact_size(egui::vec2(40.0, 40.0), egui::Sense::hover());
            ui.painter().circle_filled(rect.center(), 20.0, ui.visuals().selection.bg_fill);
            let initial = user.chars().next().unwrap_or('?').to_uppercase().to_string();
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                initial,
                egui::FontId::proportional(18.0),
                egui::Color32::WHITE,
            );
            ui.vertical(|ui| {
                ui.strong(user);
                ui.weak(address);
            });
        });
        for c in live(PanelSlot::UserCard) {
            self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
        }
        ui.separator();
        let quick = live(PanelSlot::QuickList);
        if self.quick.as_ref().is_none_or(|q| !quick.iter().any(|c| c.pane == *q)) {
            self.quick = quick.first().map(|c| c.pane.clone());
        }
        ui.horizontal(|ui| {
            for c in &quick {
                let badge = self.panels.badge(&c.pane.plugin, &c.pane.panel);
                let title = if badge > 0 { format!("{} ({badge})", c.title) } else { c.title.clone() };
                if ui.selectable_label(self.quick.as_ref() == Some(&c.pane), title).clicked() {
                    self.quick = Some(c.pane.clone());
                }
            }
        });
        let phone = live(PanelSlot::Phone);
        let avail = ui.available_height();
        egui::ScrollArea::vertical()
            .id_salt("quick")
            .max_height(if phone.is_empty() { avail } else { avail * 0.4 })
            .show(ui, |ui| {
                if let Some(q) = self.quick.clone() {
                    self.panels.draw(ui, &q.plugin, &q.panel);
                }
            });
        if !phone.is_empty() {
            ui.separator();
            egui::ScrollArea::vertical().id_salt("phone-area").show(ui, |ui| {
                for c in phone {
                    self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
                }
            });
        }
    }

    /// Saves what must survive a restart (the layout).
    pub fn save_layout(&self) {
        self.dock.save(&self.config);
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
    }
}

/// Tells the presence provider (`presence.activity`) every [`ACTIVITY_REPORT`] how long
/// the user has not touched the window, so "away from desktop when inactive" works (the
/// provider decides what idle time means away). Its own thread: a report never costs a
/// frame. Stops with the shell, or when no plugin provides presence.
fn report_activity(kernel: Kernel, last_input: Arc<AtomicU64>, closing: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new().name("shell-activity".into()).spawn(move || {
        while !closing.load(Ordering::Relaxed) {
            let idle = unix_now().saturating_sub(last_input.load(Ordering::Relaxed));
            let request = serde_json::to_vec(&serde_json::json!({ "idle_seconds": idle })).expect("json");
            match kernel.call("presence.activity", request, Duration::from_secs(5)) {
                Err(e) if e.kind == ucdesk_plugin_api::CallErrorKind::UnknownService => return,
                Err(e) => tracing::debug!("presence.activity: {e}"),
                Ok(_) => {}
            }
            let until = Instant::now() + ACTIVITY_REPORT;
            while Instant::now() < until && !closing.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("away-when-idle is off: {e}");
    }
}

impl eframe::App for Shell {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        Shell::ui(self, ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.save_layout();
    }
}
