//! The main window's regions, one method each: [`Shell::main_ui`] lays them out in the
//! order egui needs (toolbar, status bar and side before the centre), so it reads as the
//! window's table of contents. What goes where is described in [`crate::shell`].

use super::{Contribution, Shell, TOOLBAR_MODULES};
use crate::{
    dock::{Behavior, Pane},
    theme::{icon, symbol},
};
use eframe::egui;
use std::collections::HashMap;
use ucdesk_kernel::{PluginInfo, PluginState};
use ucdesk_plugin_api::PanelSlot;

impl Shell {
    /// The main window, region by region (egui wants the side panels before the centre).
    pub(super) fn main_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // One look at the plugin table and the open panes per frame.
        let plugins = self.kernel.plugins();
        let all = self.contributions(&plugins);
        let modules: Vec<&Contribution> = all.iter().filter(|c| c.slot == PanelSlot::Module).collect();
        self.tidy_dock(&all, &modules);
        self.window_title(&ctx, &all);
        self.follow_tray(&ctx, &all);
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui, &modules));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui, &all, &plugins));
        egui::Panel::left("side").resizable(true).default_size(300.0).show(ui, |ui| {
            self.side_ui(ui, &all);
        });
        egui::CentralPanel::default().show(ui, |ui| self.centre(ui, &all, &modules));
        self.popped_out(&ctx, &all);
        self.plugins_dialog(&ctx, &plugins);
    }

    /// Closes the panes of plugins that no longer run; on a fresh layout, opens the
    /// first module.
    fn tidy_dock(&mut self, all: &[Contribution], modules: &[&Contribution]) {
        self.dock.retain(|p| all.iter().any(|c| c.pane == *p && c.state == PluginState::Active));
        if std::mem::take(&mut self.fresh_layout)
            && let Some(first) = modules.iter().find(|c| c.state == PluginState::Active)
        {
            self.open(first.pane.clone());
        }
    }

    /// The window title carries the unread/missed total: the taskbar's badge.
    fn window_title(&mut self, ctx: &egui::Context, all: &[Contribution]) {
        let total: u32 = all
            .iter()
            .filter(|c| c.state == PluginState::Active)
            .map(|c| self.panels.badge(&c.pane.plugin, &c.pane.panel))
            .sum();
        let title = if total > 0 { format!("ucdesk ({total})") } else { "ucdesk".to_string() };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The module toolbar: the first [`TOOLBAR_MODULES`] modules as buttons, the rest
    /// under the three dots.
    fn toolbar(&mut self, ui: &mut egui::Ui, modules: &[&Contribution]) {
        ui.horizontal(|ui| {
            ui.strong(self.strings.t("app-title"));
            ui.separator();
            let (shown, rest) = modules.split_at(modules.len().min(TOOLBAR_MODULES));
            let visible = self.dock.visible();
            for c in shown {
                self.module_button(ui, c, &visible);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                self.more_menu(ui, rest, &visible);
            });
        });
    }

    /// The three dots: the modules the toolbar has no room for, preferences, plugins,
    /// log out and quit.
    fn more_menu(&mut self, ui: &mut egui::Ui, rest: &[&Contribution], visible: &[Pane]) {
        ui.menu_button(symbol::MORE, |ui| {
            for c in rest {
                self.module_button(ui, c, visible);
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
            if ui.button(self.strings.t("diagnostic-logs")).clicked() {
                self.show_logs();
                ui.close();
            }
            if ui.button(self.strings.t("browser-addons")).clicked() {
                crate::desktop::open_folder(crate::desktop::browser_addon_dir());
                ui.close();
            }
            if ui.button(self.strings.t("updates-title")).clicked() {
                self.check_for_updates(ui.ctx());
                ui.close();
            }
            if ui.button(self.strings.t("log-out")).clicked() {
                self.logins.auto_login = None;
                let _ = self.logins.save(&self.config);
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
            if ui.button(self.strings.t("quit")).clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        })
        .response
        .on_hover_text(self.strings.t("more"));
    }

    /// The status bar: status items, a control socket that did not start, and plugins
    /// that failed with no module button to say so.
    fn status_bar(&mut self, ui: &mut egui::Ui, all: &[Contribution], plugins: &[PluginInfo]) {
        ui.horizontal(|ui| {
            for c in all.iter().filter(|c| c.slot == PanelSlot::Status && c.state == PluginState::Active) {
                self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
                ui.separator();
            }
            if let Some(e) = &self.boot.lock().unwrap_or_else(|p| p.into_inner()).error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            for p in plugins.iter().filter(|p| failed_out_of_sight(p, all)) {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("{} {}", symbol::WARNING, p.name.as_deref().unwrap_or(&p.id)),
                )
                .on_hover_text(p.reason.as_deref().unwrap_or(""));
            }
        });
    }

    /// The centre: the docked module panels, or a hint while none is open.
    fn centre(&mut self, ui: &mut egui::Ui, all: &[Contribution], modules: &[&Contribution]) {
        if self.dock.tree.is_empty() {
            if modules.iter().any(|c| c.state == PluginState::Active) {
                ui.weak(self.strings.t("open-a-module"));
            } else {
                ui.weak(self.strings.t("no-modules"));
            }
            return;
        }
        let titles = titles(all);
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
    }

    /// Popped-out panels, each in its own window.
    fn popped_out(&mut self, ctx: &egui::Context, all: &[Contribution]) {
        let titles = titles(all);
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
    }

    /// The plugins window (from the three dots): every plugin's version and state.
    fn plugins_dialog(&mut self, ctx: &egui::Context, plugins: &[PluginInfo]) {
        if self.plugins_window {
            let mut open = true;
            egui::Window::new(self.strings.t("plugins")).open(&mut open).show(ctx, |ui| {
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

    /// One module's toolbar button with its badge; greyed out, with the reason, when
    /// the module's plugin does not run.
    fn module_button(&mut self, ui: &mut egui::Ui, c: &Contribution, visible: &[Pane]) {
        let label = match &c.icon {
            Some(i) => format!("{} {}", icon(i), c.title),
            None => c.title.clone(),
        };
        if c.state != PluginState::Active {
            // Where the module would be: its name, a warning, and why.
            let reason = c.reason.clone().unwrap_or_else(|| c.state.to_string());
            let text = self.strings.t_args("not-available", &[("plugin", &c.title), ("reason", &reason)]);
            ui.add_enabled(false, egui::Button::new(format!("{} {}", symbol::WARNING, c.title)))
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

    /// The left side: the user card, the quick lists, the phone area.
    fn side_ui(&mut self, ui: &mut egui::Ui, all: &[Contribution]) {
        let live = |slot: PanelSlot| -> Vec<&Contribution> {
            all.iter().filter(|c| c.slot == slot && c.state == PluginState::Active).collect()
        };
        self.user_card(ui, &live(PanelSlot::UserCard));
        ui.separator();
        let phone = live(PanelSlot::Phone);
        self.quick_lists(ui, &live(PanelSlot::QuickList), !phone.is_empty());
        self.phone_area(ui, &phone);
    }

    /// The user card: avatar, who, and what the presence provider puts there (its selector).
    fn user_card(&mut self, ui: &mut egui::Ui, items: &[&Contribution]) {
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
        for c in items {
            self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
        }
    }

    /// The quick lists (contacts, favorites, recent): one shows at a time, chosen by its
    /// title; with a phone area below, they leave it most of the height.
    fn quick_lists(&mut self, ui: &mut egui::Ui, quick: &[&Contribution], phone_below: bool) {
        if self.quick.as_ref().is_none_or(|q| !quick.iter().any(|c| c.pane == *q)) {
            self.quick = quick.first().map(|c| c.pane.clone());
        }
        ui.horizontal(|ui| {
            for c in quick {
                let badge = self.panels.badge(&c.pane.plugin, &c.pane.panel);
                let title = if badge > 0 { format!("{} ({badge})", c.title) } else { c.title.clone() };
                if ui.selectable_label(self.quick.as_ref() == Some(&c.pane), title).clicked() {
                    self.quick = Some(c.pane.clone());
                }
            }
        });
        let avail = ui.available_height();
        egui::ScrollArea::vertical()
            .id_salt("quick")
            .max_height(if phone_below { avail * 0.4 } else { avail })
            .show(ui, |ui| {
                if let Some(q) = self.quick.clone() {
                    self.panels.draw(ui, &q.plugin, &q.panel);
                }
            });
    }

    /// The phone area under the quick lists, when a plugin puts something there.
    fn phone_area(&mut self, ui: &mut egui::Ui, phone: &[&Contribution]) {
        if !phone.is_empty() {
            ui.separator();
            egui::ScrollArea::vertical().id_salt("phone-area").show(ui, |ui| {
                for c in phone {
                    self.panels.draw(ui, &c.pane.plugin, &c.pane.panel);
                }
            });
        }
    }
}

/// The titles of the panes, for tabs and windows.
fn titles(all: &[Contribution]) -> HashMap<Pane, String> {
    all.iter().map(|c| (c.pane.clone(), c.title.clone())).collect()
}

/// A plugin that failed (or was turned away) and has no module button to say so.
fn failed_out_of_sight(p: &PluginInfo, all: &[Contribution]) -> bool {
    matches!(
        p.state,
        PluginState::Failed | PluginState::Incompatible | PluginState::Disabled | PluginState::Refused
    ) && !all.iter().any(|c| c.pane.plugin == p.id && c.slot == PanelSlot::Module)
}
