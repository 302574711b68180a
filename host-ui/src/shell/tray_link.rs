//! The shell's side of the tray icon ([`crate::tray`]): started with the main window,
//! told each frame what it shows (the unread and missed counts from the panels'
//! badges, the user's status from `presence.changed`, attention while something new is
//! pending, for Preferences -> General's time), and what the user clicked in it done
//! here: open the window, set the status, quit.

use super::{Contribution, Shell};
use crate::tray::{Command, Tray, TrayState};
use eframe::egui;
use std::time::{Duration, Instant};
use ucdesk_kernel::PluginState;
use ucdesk_plugin_api::contract::presence::{self, PresenceChanged, Set};

/// The tray's part of the shell's state.
#[derive(Default)]
pub(super) struct TrayLink {
    tray: Option<Tray>,
    tried: bool,
    presence: Option<std::sync::Arc<ucdesk_kernel::bus::Queue>>,
    status: Option<presence::Status>,
    /// Unread plus missed at the last frame, to notice new ones.
    pending: u32,
    attention_until: Option<Instant>,
}

impl Shell {
    pub(super) fn follow_tray(&mut self, ctx: &egui::Context, all: &[Contribution]) {
        let link = &mut self.tray;
        if !link.tried {
            link.tried = true;
            link.presence = Some(self.kernel.subscribe_client("shell-tray", presence::TOPIC_CHANGED));
            link.tray = Tray::start(TrayState {
                title: "ucdesk".into(),
                unread: 0,
                missed: 0,
                presence: None,
                attention: false,
                open_label: self.strings.t("tray-open"),
            });
        }
        if let Some(q) = &link.presence {
            while let Ok(e) = q.receiver().try_recv() {
                if let Ok(p) = serde_json::from_slice::<PresenceChanged>(&e.payload)
                    && p.me
                {
                    link.status = Some(p.status);
                }
            }
        }
        let (mut unread, mut missed) = (0u32, 0u32);
        for c in all.iter().filter(|c| c.state == PluginState::Active) {
            let badge = self.panels.badge(&c.pane.plugin, &c.pane.panel);
            let phone =
                self.kernel.manifest(&c.pane.plugin).is_some_and(|m| m.provides.iter().any(|p| p == "phone"));
            if phone { missed += badge } else { unread += badge }
        }
        let link = &mut self.tray;
        let pending = unread + missed;
        if pending > link.pending && self.prefs.tray_blink_seconds > 0 {
            link.attention_until =
                Some(Instant::now() + Duration::from_secs(self.prefs.tray_blink_seconds.into()));
        }
        if pending == 0 {
            link.attention_until = None;
        }
        link.pending = pending;
        let attention = link.attention_until.is_some_and(|t| Instant::now() < t);
        if attention {
            // Wake once more when the attention time runs out.
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        let state = TrayState {
            title: self.title.clone(),
            unread,
            missed,
            presence: link.status,
            attention,
            open_label: self.strings.t("tray-open"),
        };
        let Some(tray) = link.tray.as_mut() else { return };
        tray.update(state);
        for command in tray.commands() {
            match command {
                Command::Open => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
                    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                }
                Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
                Command::SetPresence(status) => {
                    let set = Set { status: Some(status), message: None, expires_in: None, on_call: None };
                    let kernel = self.kernel.clone();
                    // Off the frame: the provider answers over the bus.
                    std::thread::spawn(move || {
                        let body = serde_json::to_vec(&set).expect("json");
                        if let Err(e) = kernel.call(presence::SET, body, Duration::from_secs(5)) {
                            tracing::warn!("tray: {}: {e}", presence::SET);
                        }
                    });
                }
            }
        }
    }
}
