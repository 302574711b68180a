//! Notifications: what plugins publish on the `notify` topic and the toasts views ask
//! for become in-app toasts in the lower right corner, and (when the user wants them)
//! desktop notifications over D-Bus. The inbound call alert lasts as long as the
//! Alerts preference says (5-15 s) and can bring the window to front; every other
//! alert lasts 5 s (the manual).
//!
//! A listener thread waits on the bus and wakes the window; nothing polls, so an idle
//! shell stays idle. Expiring toasts schedule one repaint for when the next expires.

use crate::prefs::ShellPrefs;
use crate::render::ToastRequest;
use eframe::egui::{self, Color32, RichText};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ucdesk_kernel::Kernel;
use ucdesk_plugin_api::contract::{
    Contract,
    notify::{self, Notification, NotifyKind},
};
use ucdesk_plugin_api::view::Level;

/// Every alert but the inbound call's.
pub const OTHER_ALERT: Duration = Duration::from_secs(5);

pub struct Toast {
    pub id: String,
    pub title: String,
    pub body: String,
    pub level: Level,
    pub until: Instant,
    /// What to open on click.
    pub open: Option<Open>,
}

/// A clicked notification: the publishing plugin's panel, and the item in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub plugin: String,
    pub panel: String,
    pub target: Option<notify::Target>,
}

type Inbox = Arc<Mutex<Vec<(String, Notification)>>>;

#[derive(Default)]
pub struct Notifier {
    pub toasts: Vec<Toast>,
    inbox: Inbox,
    listening: bool,
    /// Desktop notifications sent so far (for tests and the status line).
    pub desktop_sent: usize,
    sounds: crate::sounds::Player,
}

impl Notifier {
    /// Subscribes to `notify` and wakes `ctx` when one arrives.
    pub fn listen(&mut self, kernel: &Kernel, ctx: &egui::Context) {
        if self.listening {
            return;
        }
        self.listening = true;
        let queue = kernel.subscribe_client("shell", notify::TOPIC);
        let (inbox, ctx) = (self.inbox.clone(), ctx.clone());
        let spawned = std::thread::Builder::new().name("shell-notify".into()).spawn(move || {
            while let Ok(event) = queue.receiver().recv() {
                match Notification::from_bytes(&event.payload) {
                    Ok(n) => {
                        inbox.lock().unwrap_or_else(|p| p.into_inner()).push((event.source.clone(), n));
                        ctx.request_repaint();
                    }
                    Err(e) => tracing::warn!("{} published an unreadable notification: {e}", event.source),
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("notifications are off: {e}");
        }
    }

    /// Turns what arrived into toasts, desktop notifications and sounds, as `prefs`
    /// say; `in_view` tells whether the window shows the panel a notification is from
    /// (a message's sound is then skipped, unless "always play" is on).
    pub fn take_arrivals(
        &mut self,
        ctx: &egui::Context,
        prefs: &ShellPrefs,
        in_view: &dyn Fn(&str, &str) -> bool,
    ) {
        let arrived: Vec<_> = std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|p| p.into_inner()));
        for (plugin, n) in arrived {
            self.toasts.retain(|t| t.id != n.id);
            if n.close {
                continue;
            }
            let seen = ctx.input(|i| i.focused) && n.panel.as_deref().is_some_and(|p| in_view(&plugin, p));
            self.sound(&n, prefs, seen);
            let wanted = match n.kind {
                NotifyKind::IncomingCall => prefs.notify_calls,
                NotifyKind::Message => prefs.notify_messages,
                NotifyKind::SignIn => prefs.notify_sign_in,
                NotifyKind::Other => true,
            };
            if !wanted {
                continue;
            }
            let lasts = if n.kind == NotifyKind::IncomingCall { prefs.call_alert() } else { OTHER_ALERT };
            if n.kind == NotifyKind::IncomingCall && prefs.bring_to_front_on_call {
                ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                ctx.send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                    egui::UserAttentionType::Critical,
                ));
            }
            if prefs.desktop_notifications {
                desktop(&n.title, &n.body, lasts);
                self.desktop_sent += 1;
            }
            self.toasts.push(Toast {
                id: n.id,
                title: n.title,
                body: n.body,
                level: if n.kind == NotifyKind::IncomingCall { Level::Warning } else { Level::Info },
                until: Instant::now() + lasts,
                open: n.panel.map(|panel| Open { plugin, panel, target: n.target }),
            });
        }
    }

    /// The notification's sound, when it has one and the user wants it. (Do not disturb
    /// needs no check here: the presence provider publishes no alerts under it.)
    fn sound(&self, n: &Notification, prefs: &ShellPrefs, seen: bool) {
        use crate::sounds::Sound;
        let (sound, file) = match n.kind {
            NotifyKind::Message if prefs.sound_messages && (prefs.sound_always || !seen) => {
                (Sound::Message, &prefs.sound_message_file)
            }
            NotifyKind::SignIn if prefs.sound_sign_in => (Sound::SignIn, &prefs.sound_sign_in_file),
            _ => return,
        };
        self.sounds.play_file(sound, file);
    }

    /// Plays a sound as the Alerts page previews it.
    pub fn preview(&self, sound: crate::sounds::Sound, clip: crate::sounds::Clip) {
        self.sounds.play(sound, clip);
    }

    /// An alert of the shell's own (an update is available): a toast, and a desktop
    /// notification when the user wants those.
    pub fn shell_alert(&mut self, id: &str, title: &str, body: &str, prefs: &ShellPrefs) {
        self.toasts.retain(|t| t.id != id);
        if prefs.desktop_notifications {
            desktop(title, body, OTHER_ALERT);
            self.desktop_sent += 1;
        }
        self.toasts.push(Toast {
            id: id.to_string(),
            title: title.to_string(),
            body: body.to_string(),
            level: Level::Info,
            until: Instant::now() + OTHER_ALERT,
            open: None,
        });
    }

    /// A toast a view asked for.
    pub fn view_toast(&mut self, plugin: &str, t: ToastRequest) {
        self.toasts.push(Toast {
            id: format!("view:{plugin}:{}", self.toasts.len()),
            title: String::new(),
            body: t.text,
            level: t.level,
            until: Instant::now() + OTHER_ALERT,
            open: None,
        });
    }

    /// Draws the toasts; returns what to open when one was clicked.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Open> {
        let now = Instant::now();
        self.toasts.retain(|t| t.until > now);
        let next = self.toasts.iter().map(|t| t.until - now).min();
        if let Some(after) = next {
            ctx.request_repaint_after(after);
        }
        let mut open = None;
        let mut dismissed = None;
        egui::Area::new(egui::Id::unique("toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
            .order(egui::Order::Foreground)
            .movable(false)
            .show(ctx, |ui| {
                for t in &self.toasts {
                    let stripe = match t.level {
                        Level::Info => ui.visuals().selection.bg_fill,
                        Level::Success => Color32::from_rgb(0x2e, 0xcc, 0x71),
                        Level::Warning => Color32::from_rgb(0xe6, 0x7e, 0x22),
                        Level::Error => ui.visuals().error_fg_color,
                    };
                    egui::Frame::popup(ui.style()).stroke(egui::Stroke::new(2.0, stripe)).show(ui, |ui| {
                        ui.set_width(260.0);
                        ui.horizontal(|ui| {
                            ui.vertical(|ui| {
                                if !t.title.is_empty() {
                                    ui.label(RichText::new(&t.title).strong());
                                }
                                let body = ui.add(egui::Button::new(&t.body).frame(false));
                                if body.clicked() {
                                    open = t.open.clone();
                                    dismissed = Some(t.id.clone());
                                }
                            });
                            if ui.small_button(crate::render::symbol::CLOSE).clicked() {
                                dismissed = Some(t.id.clone());
                            }
                        });
                    });
                }
            });
        if let Some(id) = dismissed {
            self.toasts.retain(|t| t.id != id);
        }
        open
    }
}

/// A desktop notification, sent off the UI thread (D-Bus may take a moment, and a
/// desktop without a notification service just logs it).
fn desktop(title: &str, body: &str, lasts: Duration) {
    let (title, body) = (title.to_string(), body.to_string());
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("ucdesk")
            .summary(&title)
            .body(&body)
            .timeout(notify_rust::Timeout::Milliseconds(lasts.as_millis() as u32))
            .show();
        if let Err(e) = shown {
            tracing::debug!("no desktop notification: {e}");
        }
    });
}
