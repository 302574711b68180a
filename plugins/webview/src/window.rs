//! The window: its widgets, what the web view's load signals do to them, and the
//! toolbar's actions (each also reachable as a command, through the same method).

use crate::emit;
use std::cell::RefCell;
use std::rc::Rc;
use ucdesk_screenpop::Event;
use webkit6::prelude::*;
use webkit6::{LoadEvent, NetworkError, WebView, glib, gtk};

const TITLE: &str = "Screen pop";
const STOP_ICON: &str = "process-stop-symbolic";
const RELOAD_ICON: &str = "view-refresh-symbolic";

struct Widgets {
    window: gtk::Window,
    view: WebView,
    stop_reload: gtk::Button,
    warning: gtk::Image,
    address: gtk::Label,
    progress: gtk::ProgressBar,
    /// The failure's reason in words, under the toolbar (the warning's tooltip too).
    reason: gtk::Label,
}

#[derive(Default)]
struct State {
    /// The page asked for last (the view's own URI is empty until it commits).
    url: String,
    /// Set by `load-failed`, which WebKit emits before the load's `Finished`.
    failed: bool,
    /// The page `open` asked for, until its load starts: at `Started` the view may
    /// still give the previous page's URI.
    asked: Option<String>,
}

pub struct Window {
    w: Rc<Widgets>,
    state: Rc<RefCell<State>>,
}

impl Window {
    pub fn new(main_loop: glib::MainLoop) -> Window {
        let view = WebView::new();
        view.set_vexpand(true);
        view.set_hexpand(true);
        let stop_reload = gtk::Button::from_icon_name(RELOAD_ICON);
        stop_reload.set_tooltip_text(Some("Reload"));
        let warning = gtk::Image::from_icon_name("dialog-warning-symbolic");
        warning.set_visible(false);
        let address = gtk::Label::new(None);
        address.set_hexpand(true);
        address.set_xalign(0.0);
        address.set_selectable(true);
        address.set_ellipsize(gtk::pango::EllipsizeMode::Middle);
        let browser = gtk::Button::with_label("Open in default browser");
        let copy = gtk::Button::with_label("Copy URL");
        let bar = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        bar.set_margin_start(6);
        bar.set_margin_end(6);
        bar.set_margin_top(4);
        bar.set_margin_bottom(4);
        bar.append(&stop_reload);
        bar.append(&warning);
        bar.append(&address);
        bar.append(&browser);
        bar.append(&copy);
        let progress = gtk::ProgressBar::new();
        progress.set_visible(false);
        let reason = gtk::Label::new(None);
        reason.set_xalign(0.0);
        reason.set_wrap(true);
        reason.set_selectable(true);
        reason.set_margin_start(8);
        reason.set_margin_bottom(4);
        reason.set_visible(false);
        let column = gtk::Box::new(gtk::Orientation::Vertical, 0);
        column.append(&bar);
        column.append(&progress);
        column.append(&reason);
        column.append(&view);
        let window = gtk::Window::new();
        window.set_title(Some(TITLE));
        window.set_default_size(1024, 768);
        window.set_child(Some(&column));
        window.connect_close_request(move |_| {
            main_loop.quit();
            glib::Propagation::Proceed
        });

        let w = Rc::new(Widgets { window, view, stop_reload, warning, address, progress, reason });
        let state = Rc::new(RefCell::new(State::default()));
        let this = Window { w, state };
        this.wire(&browser, &copy);
        this
    }

    fn wire(&self, browser: &gtk::Button, copy: &gtk::Button) {
        let (w, state) = (self.w.clone(), self.state.clone());
        self.w.view.connect_load_changed(move |view, event| match event {
            LoadEvent::Started => {
                let asked = {
                    let mut s = state.borrow_mut();
                    s.failed = false;
                    s.asked.take()
                };
                w.warning.set_visible(false);
                w.reason.set_visible(false);
                w.stop_reload.set_icon_name(STOP_ICON);
                w.stop_reload.set_tooltip_text(Some("Stop"));
                w.progress.set_fraction(0.0);
                w.progress.set_visible(true);
                let url = asked.or_else(|| view.uri().map(|u| u.to_string())).unwrap_or_default();
                emit(&Event::Loading { url });
            }
            LoadEvent::Finished => {
                w.stop_reload.set_icon_name(RELOAD_ICON);
                w.stop_reload.set_tooltip_text(Some("Reload"));
                w.progress.set_visible(false);
                if state.borrow().failed {
                    return;
                }
                let url = view.uri().map(|u| u.to_string()).unwrap_or_default();
                // WebKit loads an error page without complaint: a CRM's 404 or 500 is a
                // failure to the user all the same.
                let status =
                    view.main_resource().and_then(|r| r.response()).map(|r| r.status_code()).unwrap_or(0);
                if status >= 400 {
                    fail(&w, &state, url, format!("the server answered {status}"));
                } else {
                    emit(&Event::Loaded { url, status });
                }
            }
            _ => {}
        });
        let (w, state) = (self.w.clone(), self.state.clone());
        self.w.view.connect_load_failed(move |_, _, uri, error| {
            if error.matches(NetworkError::Cancelled) {
                state.borrow_mut().failed = true;
                emit(&Event::Stopped { url: uri.to_string() });
            } else {
                fail(&w, &state, uri.to_string(), error.message().to_string());
            }
            // Handled: no WebKit error page. Its load would race the next page asked
            // for and could cancel it; the reason is on the bar under the toolbar.
            true
        });
        let w = self.w.clone();
        self.w.view.connect_estimated_load_progress_notify(move |view| {
            let fraction = view.estimated_load_progress();
            w.progress.set_fraction(fraction);
            emit(&Event::Progress { fraction });
        });
        // The title comes from the web process after the load has finished.
        let (w, state) = (self.w.clone(), self.state.clone());
        self.w.view.connect_title_notify(move |view| {
            let title = view.title().map(|t| t.to_string()).unwrap_or_default();
            if title.is_empty() || state.borrow().failed {
                return;
            }
            w.window.set_title(Some(&title));
            emit(&Event::Title { title });
        });
        let w = self.w.clone();
        self.w.view.connect_uri_notify(move |view| {
            w.address.set_text(view.uri().as_deref().unwrap_or(""));
        });

        let (w, state) = (self.w.clone(), self.state.clone());
        self.w.stop_reload.connect_clicked(move |_| stop_or_reload(&w, &state, w.view.is_loading()));
        let (w, state) = (self.w.clone(), self.state.clone());
        browser.connect_clicked(move |_| open_in_browser(&current(&w, &state)));
        let (w, state) = (self.w.clone(), self.state.clone());
        copy.connect_clicked(move |_| copy_url(&w, &current(&w, &state)));
    }

    /// Shows `url` and brings the window to the front.
    pub fn open(&self, url: &str) {
        {
            let mut state = self.state.borrow_mut();
            state.url = url.to_string();
            state.asked = Some(url.to_string());
        }
        self.w.address.set_text(url);
        self.w.view.load_uri(url);
        self.w.window.present();
    }

    /// The Stop/Reload button: `stop` when a page is loading.
    pub fn stop_or_reload(&self, stop: bool) {
        stop_or_reload(&self.w, &self.state, stop);
    }

    pub fn copy(&self) {
        copy_url(&self.w, &current(&self.w, &self.state));
    }

    pub fn browser(&self) {
        open_in_browser(&current(&self.w, &self.state));
    }

    pub fn close(&self) {
        self.w.window.close();
    }
}

fn fail(w: &Widgets, state: &RefCell<State>, url: String, reason: String) {
    {
        let mut s = state.borrow_mut();
        s.failed = true;
        // The failed page is what Reload, Copy URL and the browser act on, though the
        // view still shows the one before.
        s.url = url.clone();
    }
    w.reason.set_text(&format!("This page did not load: {reason}"));
    w.reason.set_visible(true);
    w.warning.set_tooltip_text(Some(&reason));
    w.warning.set_visible(true);
    w.stop_reload.set_icon_name(RELOAD_ICON);
    w.stop_reload.set_tooltip_text(Some("Reload"));
    w.progress.set_visible(false);
    emit(&Event::Failed { url, reason });
}

/// The page shown, or the one that failed.
fn current(w: &Widgets, state: &RefCell<State>) -> String {
    if state.borrow().failed {
        return state.borrow().url.clone();
    }
    w.view
        .uri()
        .map(|u| u.to_string())
        .filter(|u| !u.is_empty() && !u.starts_with("about:"))
        .unwrap_or_else(|| state.borrow().url.clone())
}

fn stop_or_reload(w: &Widgets, state: &RefCell<State>, stop: bool) {
    if stop {
        w.view.stop_loading();
        return;
    }
    // After a failure the view still holds the page before, whose reload is not what
    // the user asks for: load the one that failed.
    let url = current(w, state);
    if state.borrow().failed && !url.is_empty() {
        state.borrow_mut().asked = Some(url.clone());
        w.view.load_uri(&url);
    } else {
        w.view.reload();
    }
}

fn copy_url(w: &Widgets, url: &str) {
    w.window.clipboard().set_text(url);
    emit(&Event::Copied { url: url.to_string() });
}

fn open_in_browser(url: &str) {
    let opener = ucdesk_screenpop::browser_opener();
    let error = match std::process::Command::new(&opener).arg(url).spawn() {
        Ok(mut child) => {
            // Reaped in the background: xdg-open may stay for as long as the browser.
            std::thread::spawn(move || child.wait());
            None
        }
        Err(e) => Some(format!("cannot start {opener}: {e}")),
    };
    emit(&Event::Browser { url: url.to_string(), error });
}
