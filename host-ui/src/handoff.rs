//! Second launches. `ucdesk` or `ucdesk tel:+1...` started while this window runs hands
//! over through the control socket ([`Request::Handoff`](ucdesk_kernel::control::Request))
//! and exits; a window started by a URI (nothing was running) hands it to itself. The
//! window comes to the front; a URI is dialled at once, or first shown with its number
//! editable when the user asked to confirm calls from web browsers and other apps (the
//! manual's Phone preferences). The dialling itself runs off the UI thread.

use crate::i18n::Strings;
use eframe::egui;
use serde_json::{Value, json};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use ucdesk_kernel::{Kernel, control::HandoffHook};
use ucdesk_plugin_api::{Reason, contract::phone};

/// How long a dial from another app may take to be accepted by the phone.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a link the window was started with waits for the phone to be ready (to
/// register) before it is given up with the phone's reason.
const READY_WAIT: Duration = Duration::from_secs(30);

enum Pending {
    /// Come to the front.
    Raise,
    /// Dial once the plugins run (a URI the window was started with).
    Dial(String),
    /// Ask first: the number, and why the last try failed.
    Confirm { number: String, error: Option<String> },
}

struct Inner {
    kernel: Kernel,
    /// The plugins run (the window is past its login): a link can be dialled now. Set
    /// by the thread that activates them, not by a frame (an idle window draws none).
    running: Arc<AtomicBool>,
    queue: Mutex<Vec<Pending>>,
    ctx: Mutex<Option<egui::Context>>,
    confirm: AtomicBool,
}

impl Inner {
    fn push(&self, p: Pending) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(p);
        if let Some(ctx) = self.ctx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            ctx.request_repaint();
        }
    }

    /// Dials `number` on the calling thread; the phone's answer (the call id). With
    /// `patient`, a phone that is not ready yet (registering, just after start) is
    /// asked again until [`READY_WAIT`].
    fn dial(&self, number: &str, patient: bool) -> Result<Value, String> {
        let request = serde_json::to_vec(&json!({ "number": number })).expect("json");
        let deadline = std::time::Instant::now() + READY_WAIT;
        loop {
            match self.kernel.call(phone::DIAL, request.clone(), DIAL_TIMEOUT) {
                Ok(answer) => {
                    return serde_json::from_slice(&answer).map_err(|e| format!("{}: {e}", phone::DIAL));
                }
                Err(e)
                    if patient
                        && e.reason() == Some(Reason::NotReady)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e.text().to_string()),
            }
        }
    }
}

/// The window's side of handoffs: the control socket's hook, and the dialog.
pub struct Handoffs {
    inner: Arc<Inner>,
    /// The confirmation dialog while it shows (a newer link replaces it: the last click
    /// wins).
    dialog: Option<(String, Option<String>)>,
    /// The dialog's number field takes the keyboard once, when it opens.
    focus_pending: bool,
}

impl Handoffs {
    pub fn new(kernel: Kernel, confirm: bool) -> Handoffs {
        let inner = Inner {
            kernel,
            running: Arc::default(),
            queue: Mutex::default(),
            ctx: Mutex::default(),
            confirm: AtomicBool::new(confirm),
        };
        Handoffs { inner: Arc::new(inner), dialog: None, focus_pending: false }
    }

    /// The flag the activating thread sets once the plugins run.
    pub fn running_flag(&self) -> Arc<AtomicBool> {
        self.inner.running.clone()
    }

    /// Follows the "confirm the number" preference.
    pub fn set_confirm(&self, on: bool) {
        self.inner.confirm.store(on, Ordering::Relaxed);
    }

    /// The URI this window was started with: dialled (or asked about) once it runs.
    pub fn started_with(&self, uri: &str) {
        let number = phone::link_number(uri);
        if self.inner.confirm.load(Ordering::Relaxed) {
            self.inner.push(Pending::Confirm { number, error: None });
        } else {
            self.inner.push(Pending::Dial(number));
        }
    }

    /// What the control server calls for a second launch. Without confirmation the URI
    /// is dialled here (the control thread), so the second `ucdesk` prints the call's
    /// id or the reason it failed.
    pub fn hook(&self) -> HandoffHook {
        let inner = self.inner.clone();
        Arc::new(move |uri: Option<String>| {
            inner.push(Pending::Raise);
            let Some(uri) = uri else { return Ok(json!({ "shown": true })) };
            let number = phone::link_number(&uri);
            if inner.confirm.load(Ordering::Relaxed) {
                inner.push(Pending::Confirm { number: number.clone(), error: None });
                return Ok(json!({ "confirming": number }));
            }
            // At the login window: dialled once the plugins run.
            if !inner.running.load(Ordering::Relaxed) {
                inner.push(Pending::Dial(number.clone()));
                return Ok(json!({ "queued": number }));
            }
            // A failure is shown in the window too, with the number to try again: the
            // second launch's output is seldom read (a browser started it).
            inner.dial(&number, false).inspect_err(|error| {
                inner.push(Pending::Confirm { number: number.clone(), error: Some(error.clone()) });
            })
        })
    }

    /// Each frame: takes what arrived and draws the dialog. `running`: the plugins run
    /// (a dial waits for them).
    pub fn ui(&mut self, ctx: &egui::Context, strings: &Strings, running: bool) {
        self.inner.ctx.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| ctx.clone());
        let arrived: Vec<Pending> = {
            let mut q = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
            if running {
                std::mem::take(&mut *q)
            } else {
                q.extract_if(.., |p| !matches!(p, Pending::Dial(_))).collect()
            }
        };
        for p in arrived {
            match p {
                Pending::Raise => raise(ctx),
                Pending::Dial(number) => self.dial_in_background(number, true),
                Pending::Confirm { number, error } => {
                    raise(ctx);
                    self.dialog = Some((number, error));
                    self.focus_pending = true;
                }
            }
        }
        self.dialog_ui(ctx, strings, running);
    }

    fn dial_in_background(&self, number: String, patient: bool) {
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new().name("shell-dial".into()).spawn(move || {
            if let Err(error) = inner.dial(&number, patient) {
                tracing::warn!("a call from another app failed: {error}");
                inner.push(Pending::Confirm { number, error: Some(error) });
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot dial: {e}");
        }
    }

    fn dialog_ui(&mut self, ctx: &egui::Context, strings: &Strings, running: bool) {
        let Some((number, error)) = self.dialog.as_mut() else { return };
        let (mut call, mut cancel) = (false, false);
        egui::Window::new(strings.t("handoff-title"))
            .id(egui::Id::unique("handoff"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                let l = ui.label(strings.t("handoff-question"));
                let field = ui.add(egui::TextEdit::singleline(number).desired_width(240.0)).labelled_by(l.id);
                if std::mem::take(&mut self.focus_pending) {
                    field.request_focus();
                }
                if let Some(e) = error.as_deref() {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                ui.horizontal(|ui| {
                    let ready = running && !number.trim().is_empty();
                    call = ui.add_enabled(ready, egui::Button::new(strings.t("handoff-call"))).clicked()
                        || (ready && field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)));
                    cancel = ui.button(strings.t("cancel")).clicked();
                });
                cancel |= ui.input(|i| i.key_pressed(egui::Key::Escape));
            });
        if call {
            let number = number.trim().to_string();
            self.dialog = None;
            // Confirmed right after start, the phone may still be registering.
            self.dial_in_background(number, true);
        } else if cancel {
            self.dialog = None;
        }
    }

    /// True while the "call this number?" dialog shows.
    pub fn confirming(&self) -> bool {
        self.dialog.is_some()
    }
}

/// Shows the window and brings it to the front.
fn raise(ctx: &egui::Context) {
    ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
    ctx.request_repaint();
}
