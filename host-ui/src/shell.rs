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
//! Each region is one method in `layout`; the panels' decoded views are kept by
//! [`crate::panels`].
//!
//! The kernel is activated off the UI thread, and the UI thread never waits on a
//! plugin: a plugin that publishes a view (or a notification) wakes the window, which
//! otherwise does not repaint at all.

use crate::{
    desktop::CallWatch,
    dock::{Dock, Pane},
    handoff::Handoffs,
    i18n::Strings,
    notify::Notifier,
    prefs::{DesktopPrefs, General, OnTop, PrefsWindow, ShellPrefs},
    theme,
    updates::{self, UpdateWindow},
    wizard::{self, Logins, Wizard, WizardAction},
};
use eframe::egui;
use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use ucdesk_kernel::{Kernel, PluginInfo, PluginState, control::ControlServer};
use ucdesk_plugin_api::PanelSlot;
use ucdesk_plugin_api::contract::{notify, presence};
use ucdesk_plugin_api::view::{UiAction, UiEvent};

pub use crate::panels::Panels;

mod layout;
mod tray_link;

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
    /// Calls that are up, for "always on top" during calls.
    calls: CallWatch,
    /// Second launches and the URI this window was started with.
    handoffs: Handoffs,
    updates: UpdateWindow,
    logs: crate::diagnostics::LogWindow,
    /// What the General page shows of the desktop, while Preferences is open.
    desktop: Option<DesktopPrefs>,
    /// The check made at login, once it is done.
    login_check: Arc<Mutex<Option<updates::Outcome>>>,
    /// When the user last touched the window (unix seconds), for "away when idle".
    last_input: Arc<AtomicU64>,
    /// Stops the activity reporter with the shell.
    closing: Arc<AtomicBool>,
    /// When the process started, to report the time to the first frame and to the
    /// main window with every plugin running (benchmarks).
    started_at: Option<Instant>,
    first_frame_reported: bool,
    tray: tray_link::TrayLink,
}

impl Shell {
    /// A shell over a kernel that has not been activated yet: it logs in (or asks
    /// for a login) and then activates it in the background.
    pub fn new(kernel: Kernel) -> Shell {
        kernel.scan();
        let config = kernel.home().config.clone();
        let prefs = ShellPrefs::load(&config);
        crate::diagnostics::set(&crate::diagnostics::dir(kernel.home()), prefs.diagnostic_logs);
        let strings = Strings::load(&prefs.language, &config.join("languages"));
        let logins = Logins::load(&config);
        let wizard = Wizard::new(&logins);
        let panels = Panels::new(kernel.clone(), &strings);
        let handoffs = Handoffs::new(kernel.clone(), prefs.confirm_external_calls);
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
            calls: CallWatch::default(),
            handoffs,
            updates: UpdateWindow::default(),
            logs: Default::default(),
            desktop: None,
            login_check: Arc::default(),
            started_at: None,
            first_frame_reported: false,
            tray: Default::default(),
            last_input: Arc::new(AtomicU64::new(unix_now())),
            closing: Arc::default(),
        };
        shell.serve();
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

    /// Started by a `tel:`, `sip:` or `callto:` URI (nothing was running): dial it, or
    /// ask first, once the plugins run.
    pub fn started_with(self, uri: &str) -> Self {
        self.handoffs.started_with(uri);
        self
    }

    /// True while the "call this number?" dialog shows.
    pub fn confirming_call(&self) -> bool {
        self.handoffs.confirming()
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

    /// The control socket, bound before the login (a second launch meanwhile hands its
    /// link over instead of waiting), answering everything once the plugins run.
    fn serve(&mut self) {
        let mut b = self.boot.lock().unwrap_or_else(|p| p.into_inner());
        if b.server.is_some() {
            return;
        }
        match ControlServer::start_with(self.kernel.clone(), Some(self.handoffs.hook())) {
            Ok(s) => b.server = Some(s),
            Err(e) => b.error = Some(format!("control socket: {e}")),
        }
    }

    fn start(&mut self) {
        self.phase = Phase::Starting;
        self.serve();
        let (kernel, boot) = (self.kernel.clone(), self.boot.clone());
        let (last_input, closing) = (self.last_input.clone(), self.closing.clone());
        let ready =
            boot.lock().unwrap_or_else(|p| p.into_inner()).server.as_ref().map(ControlServer::ready_flag);
        let running = self.handoffs.running_flag();
        std::thread::spawn(move || {
            kernel.activate();
            report_activity(kernel.clone(), last_input, closing);
            running.store(true, Ordering::Release);
            if let Some(ready) = ready {
                ready.store(true, Ordering::Release);
            }
            boot.lock().unwrap_or_else(|p| p.into_inner()).done = true;
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
        self.listen(&ctx);
        self.note_input(&ctx);
        self.note_first_frame();
        self.follow_always_on_top(&ctx);
        self.poll_boot(&ctx);
        match self.phase {
            Phase::Login => {
                egui::CentralPanel::default().show(ui, |ui| self.login_ui(ui));
            }
            Phase::Starting => {
                egui::CentralPanel::default().show(ui, |ui| self.starting_ui(ui));
            }
            Phase::Running => self.main_ui(ui),
        }
        self.prefs_dialog(&ctx);
        self.handoffs.ui(&ctx, &self.strings, self.running());
        self.updates_ui(&ctx);
        let logs = crate::diagnostics::dir(self.kernel.home());
        self.logs.ui(&ctx, &logs, self.prefs.diagnostic_logs, &self.strings);
        self.toasts(&ctx);
    }

    /// Once: the fonts, and the wake-ups when a plugin publishes a view or a notification.
    fn listen(&mut self, ctx: &egui::Context) {
        if !self.listening {
            self.listening = true;
            ctx.set_fonts(theme::fonts());
            let repaint = ctx.clone();
            self.kernel.set_view_listener(move |_, _| repaint.request_repaint());
            self.notifier.listen(&self.kernel, ctx);
            let wake = ctx.clone();
            self.calls = CallWatch::start(&self.kernel, move || wake.request_repaint());
        }
    }

    /// Remembers when the user last touched the window, for "away when idle".
    fn note_input(&self, ctx: &egui::Context) {
        if ctx.input(|i| !i.events.is_empty() || i.pointer.is_moving()) {
            self.last_input.store(unix_now(), Ordering::Relaxed);
        }
    }

    /// The time to the first frame, once, when asked for (benchmarks).
    fn note_first_frame(&mut self) {
        if let Some(at) = self.started_at
            && !std::mem::replace(&mut self.first_frame_reported, true)
        {
            eprintln!("first frame after {} ms", at.elapsed().as_millis());
        }
    }

    /// Keeps the window's level in step with the "always on top" preference (while a
    /// call is up, or always).
    fn follow_always_on_top(&mut self, ctx: &egui::Context) {
        let on_top = match self.prefs.always_on_top {
            OnTop::Off => false,
            OnTop::Calls => self.calls.any(),
            OnTop::CallsAndContacts => true,
        };
        if self.on_top != Some(on_top) {
            self.on_top = Some(on_top);
            let level = if on_top { egui::WindowLevel::AlwaysOnTop } else { egui::WindowLevel::Normal };
            ctx.send_viewport_cmd(egui::ViewportCommand::WindowLevel(level));
        }
    }

    /// While starting: switches to the main window once the activation is done.
    fn poll_boot(&mut self, ctx: &egui::Context) {
        if matches!(self.phase, Phase::Starting) {
            let b = self.boot.lock().unwrap_or_else(|p| p.into_inner());
            if b.done {
                drop(b);
                self.phase = Phase::Running;
                self.user = wizard::identity(&self.kernel);
                self.check_updates_at_login(ctx);
                if let Some(at) = self.started_at.take() {
                    eprintln!("main window after {} ms", at.elapsed().as_millis());
                }
            } else {
                drop(b);
                // The activation thread cannot wake us; look again shortly.
                ctx.request_repaint_after(Duration::from_millis(50));
            }
        }
    }

    /// The preferences window; saves what changed and follows a new language.
    fn prefs_dialog(&mut self, ctx: &egui::Context) {
        if !self.prefs_window.open {
            self.desktop = None;
            return;
        }
        // Read once when the window opens (a file's presence, the executable's path),
        // not every frame.
        let before = match &self.desktop {
            Some(d) => d.clone(),
            None => self.desktop.insert(self.desktop_prefs()).clone(),
        };
        let mut desktop = before.clone();
        let changed = self.prefs_window.show(
            ctx,
            self.running().then_some(&self.kernel),
            &mut self.panels,
            General {
                prefs: &mut self.prefs,
                desktop: &mut desktop,
                languages_dir: &self.config.join("languages"),
            },
            &self.strings,
        );
        if let Some((sound, clip)) = self.prefs_window.preview.take() {
            self.notifier.preview(sound, clip);
        }
        if desktop != before {
            self.apply_desktop(&before, &desktop);
            self.desktop = Some(desktop);
        }
        if changed {
            if let Err(e) = self.prefs.save(&self.config) {
                tracing::warn!("cannot save preferences: {e}");
            }
            self.handoffs.set_confirm(self.prefs.confirm_external_calls);
            crate::diagnostics::set(&crate::diagnostics::dir(self.kernel.home()), self.prefs.diagnostic_logs);
            if self.prefs.language != self.strings.lang() {
                self.strings = Strings::load(&self.prefs.language, &self.config.join("languages"));
                self.panels.set_strings(&self.strings);
            }
        }
    }

    /// Options -> Diagnostic logs.
    pub fn show_logs(&mut self) {
        self.logs.show(&crate::diagnostics::dir(self.kernel.home()));
    }

    /// The feed "Check for updates" reads, if any.
    pub fn update_feed(&self) -> Option<String> {
        updates::feed_url(self.kernel.policy(), &self.prefs.update_feed)
    }

    /// Opens "Check for updates" and checks now.
    pub fn check_for_updates(&mut self, ctx: &egui::Context) {
        let trusted = ucdesk_kernel::licensing::trust(self.kernel.policy());
        self.updates.check(ctx, self.update_feed(), trusted);
    }

    /// At every login: a newer release the user has not skipped is announced.
    fn check_updates_at_login(&self, ctx: &egui::Context) {
        let Some(url) = self.update_feed() else { return };
        let trusted = ucdesk_kernel::licensing::trust(self.kernel.policy());
        let (slot, ctx) = (self.login_check.clone(), ctx.clone());
        std::thread::spawn(move || {
            let outcome = updates::check(&url, &trusted, &updates::current());
            if let updates::Outcome::Failed { reason } = &outcome {
                tracing::info!("update check: {reason}");
            }
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            ctx.request_repaint();
        });
    }

    /// The update window, and the login check's announcement.
    fn updates_ui(&mut self, ctx: &egui::Context) {
        let found = self.login_check.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(updates::Outcome::Available { release, .. }) = found
            && self.prefs.skipped_version.as_deref() != Some(release.version.as_str())
        {
            let title = self.strings.t_args("updates-notice", &[("version", &release.version)]);
            let body = self.strings.t("updates-notice-body");
            self.notifier.shell_alert("update", &title, &body, &self.prefs);
        }
        if let Some(updates::Decision::Dismiss(version)) = self.updates.ui(ctx, &self.strings) {
            // Skipped closes the window; a download shows its progress there.
            if !self.updates.downloading() {
                self.updates.open = false;
            }
            self.prefs.skipped_version = Some(version);
            if let Err(e) = self.prefs.save(&self.config) {
                tracing::warn!("cannot save preferences: {e}");
            }
        }
    }

    /// What the General page shows of the desktop and the login.
    fn desktop_prefs(&self) -> DesktopPrefs {
        let home = self.kernel.home();
        let last = self.logins.last.clone().filter(|n| self.logins.get(n).is_some());
        DesktopPrefs {
            autostart: crate::desktop::autostart(),
            auto_login: last.map(|n| self.logins.auto_login.as_deref() == Some(n.as_str())),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ucdesk")),
            // The XDG profile needs no `--home`; any other is the folder above its config.
            profile_dir: (*home != ucdesk_kernel::Home::xdg())
                .then(|| home.config.parent().map(PathBuf::from))
                .flatten(),
        }
    }

    fn apply_desktop(&mut self, before: &DesktopPrefs, now: &DesktopPrefs) {
        if now.autostart != before.autostart
            && let Err(e) = crate::desktop::set_autostart(now.autostart, &now.exe, now.profile_dir.as_deref())
        {
            tracing::warn!("launch at startup: {e}");
        }
        if now.auto_login != before.auto_login {
            self.logins.auto_login = match now.auto_login {
                Some(true) => self.logins.last.clone(),
                _ => None,
            };
            if let Err(e) = self.logins.save(&self.config) {
                tracing::warn!("cannot save login profiles: {e}");
            }
        }
    }

    /// Toasts: notifications that arrived and those views asked for; clicking one opens
    /// the panel it came from at the item it is about.
    fn toasts(&mut self, ctx: &egui::Context) {
        // A contact action picked in one plugin's list opens the offering plugin's panel.
        for (plugin, panel) in self.panels.take_opens() {
            self.open(Pane { plugin, panel });
            ctx.request_repaint();
        }
        let visible = self.dock.visible();
        let in_view =
            |plugin: &str, panel: &str| visible.iter().any(|p| p.plugin == plugin && p.panel == panel);
        self.notifier.take_arrivals(ctx, &self.prefs, &in_view);
        for (plugin, t) in self.panels.take_toasts() {
            self.notifier.view_toast(&plugin, t);
        }
        if let Some(open) = self.notifier.show(ctx) {
            // The panel first, then the item in it: the plugin redraws the panel to show
            // exactly what alerted (that conversation, not the last one open).
            if let Some(target) = open.target {
                let event = UiEvent { widget: notify::CLICKED.into(), action: UiAction::Opened { target } };
                if let Err(e) = self.kernel.ui_event(&open.plugin, &open.panel, &event) {
                    tracing::warn!("{}: the notification's item: {e}", open.plugin);
                }
            }
            self.open(Pane { plugin: open.plugin, panel: open.panel });
            ctx.request_repaint();
        }
    }

    /// While the plugins start: a spinner.
    fn starting_ui(&self, ui: &mut egui::Ui) {
        ui.centered_and_justified(|ui| {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(self.strings.t("starting"));
            });
        });
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
            let request = serde_json::to_vec(&presence::Activity { idle_seconds: idle }).expect("json");
            match kernel.call(presence::ACTIVITY, request, Duration::from_secs(5)) {
                Err(e) if e.kind == ucdesk_plugin_api::CallErrorKind::UnknownService => return,
                Err(e) => tracing::debug!("{}: {e}", presence::ACTIVITY),
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
