//! The window: for now a plain shell that lists plugins and shows their panels as
//! tabs. The kernel is activated off the UI thread and the UI thread never waits on a
//! plugin; a plugin that publishes a view wakes the window with `request_repaint`.

use crate::{
    commands::Profile,
    render::{PanelState, node_ui},
};
use eframe::egui;
use std::{
    collections::HashMap,
    error::Error,
    process::ExitCode,
    sync::{Arc, Mutex},
};
use ucdesk_kernel::{
    Kernel, PluginInfo, PluginState,
    control::{Client, ControlServer},
};
use ucdesk_plugin_api::view::View;

pub fn run(profile: Profile) -> Result<ExitCode, Box<dyn Error>> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set); use `ucdesk daemon` to run headless"
                .into(),
        );
    }
    if Client::connect(&profile.home.socket()).is_ok() {
        return Err("ucdesk is already running for this profile (use `ucdesk ctl` to talk to it)".into());
    }
    let kernel = profile.kernel()?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("ucdesk").with_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    let shell = Shell::new(kernel.clone());
    eframe::run_native("ucdesk", options, Box::new(move |cc| Ok(Box::new(shell.started(&cc.egui_ctx)))))?;
    kernel.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// What the background activation hands to the UI.
#[derive(Default)]
struct Boot {
    plugins: Option<Vec<PluginInfo>>,
    server: Option<ControlServer>,
    error: Option<String>,
}

struct Shell {
    kernel: Kernel,
    boot: Arc<Mutex<Boot>>,
    selected: Option<(String, String)>,
    panels: HashMap<(String, String), PanelState>,
}

impl Shell {
    fn new(kernel: Kernel) -> Shell {
        Shell { kernel, boot: Arc::default(), selected: None, panels: HashMap::new() }
    }

    /// Activates the kernel on a background thread once the window exists, and closes
    /// the window (so that plugins stop cleanly) on SIGINT or SIGTERM.
    fn started(self, ctx: &egui::Context) -> Shell {
        let closer = ctx.clone();
        match signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
        {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    if signals.forever().next().is_some() {
                        closer.send_viewport_cmd(egui::ViewportCommand::Close);
                        closer.request_repaint();
                    }
                });
            }
            Err(e) => tracing::warn!("cannot watch for SIGTERM: {e}"),
        }
        let repaint = ctx.clone();
        self.kernel.set_view_listener(move |_, _| repaint.request_repaint());
        let (kernel, boot, ctx) = (self.kernel.clone(), self.boot.clone(), ctx.clone());
        std::thread::spawn(move || {
            let plugins = kernel.activate();
            let mut b = boot.lock().unwrap_or_else(|p| p.into_inner());
            match ControlServer::start(kernel) {
                Ok(s) => b.server = Some(s),
                Err(e) => b.error = Some(format!("control socket: {e}")),
            }
            b.plugins = Some(plugins);
            ctx.request_repaint();
        });
        self
    }

    fn plugins(&self) -> Option<Vec<PluginInfo>> {
        let boot = self.boot.lock().unwrap_or_else(|p| p.into_inner());
        boot.plugins.as_ref().map(|_| self.kernel.plugins())
    }
}

impl eframe::App for Shell {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let plugins = self.plugins();
        let error = self.boot.lock().unwrap_or_else(|p| p.into_inner()).error.clone();
        egui::Panel::top("title").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("ucdesk");
                if let Some(e) = &error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
            });
        });
        let Some(plugins) = plugins else {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.spinner();
                ui.label("Starting plugins…");
            });
            return;
        };
        egui::Panel::left("plugins").resizable(true).default_size(240.0).show(ui, |ui| {
            ui.strong("Plugins");
            // Unlicensed modules do not exist for the user (the manual: "you will not
            // see the SMS module").
            for p in plugins.iter().filter(|p| p.state != PluginState::Locked) {
                let line = format!("{}  {}", p.name.as_deref().unwrap_or(&p.id), p.state);
                let label = ui.label(line);
                if let Some(r) = &p.reason {
                    label.on_hover_text(r);
                }
            }
        });
        let tabs: Vec<(String, String)> = plugins
            .iter()
            .filter(|p| p.state == PluginState::Active)
            .flat_map(|p| p.panels.iter().map(move |panel| (p.id.clone(), panel.clone())))
            .collect();
        if self.selected.as_ref().is_none_or(|s| !tabs.contains(s)) {
            self.selected = tabs.first().cloned();
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                for tab in &tabs {
                    let title = self
                        .kernel
                        .manifest(&tab.0)
                        .and_then(|m| m.panels.iter().find(|p| p.id == tab.1).map(|p| p.title.clone()))
                        .unwrap_or_else(|| tab.1.clone());
                    if ui.selectable_label(self.selected.as_ref() == Some(tab), title).clicked() {
                        self.selected = Some(tab.clone());
                    }
                }
            });
            ui.separator();
            let Some((plugin, panel)) = self.selected.clone() else {
                ui.label("No active plugin contributes a panel.");
                return;
            };
            let Some(bytes) = self.kernel.view(&plugin, &panel) else {
                ui.label("This panel has not drawn itself yet.");
                return;
            };
            match View::from_bytes(&bytes) {
                Ok(view) => {
                    let state = self.panels.entry((plugin.clone(), panel.clone())).or_default();
                    let mut events = Vec::new();
                    egui::ScrollArea::vertical().show(ui, |ui| node_ui(ui, &view.root, state, &mut events));
                    for e in events {
                        if let Err(err) = self.kernel.ui_event(&plugin, &panel, &e) {
                            tracing::warn!("{plugin}/{panel}: {err}");
                        }
                    }
                }
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("{plugin} sent an unreadable view: {e}"),
                    );
                }
            }
        });
    }
}
