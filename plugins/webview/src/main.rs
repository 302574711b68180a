//! `ucdesk-webview`: the screen pop window. A WebKitGTK 6.0 view under a toolbar (Stop
//! or Reload, the warning of a failed load with its reason on hover, the address, Open
//! in default browser, Copy URL) and a progress bar while a page loads.
//!
//! Started by `ucdesk-screenpop` (plugins/screenpop), which owns the protocol: commands
//! as JSON lines on stdin, events as JSON lines on stdout. It ends when its window is
//! closed, on `close`, or when stdin ends (the plugin that started it is gone).
//!
//! TLS is WebKit's: certificates are verified against the system's roots and a page
//! whose certificate does not verify does not load (the failure says why).

mod window;

use std::io::{BufRead, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;
use ucdesk_screenpop::{Command, Event};
use webkit6::{glib, gtk};
use window::Window;

/// How often the main loop looks at the commands the stdin thread has read.
const POLL: Duration = Duration::from_millis(30);

/// Writes one event; a parent that stopped reading means nobody wants the window.
pub fn emit(event: &Event) {
    let mut out = std::io::stdout().lock();
    if out.write_all(event.line().as_bytes()).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

fn main() {
    if let Err(e) = gtk::init() {
        emit(&Event::Unavailable { reason: format!("GTK could not start: {e}") });
        std::process::exit(3);
    }
    let main_loop = glib::MainLoop::new(None, false);
    let window = Rc::new(Window::new(main_loop.clone()));

    let (tx, rx) = mpsc::channel::<Option<Command>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Command>(&line) {
                Ok(c) => {
                    if tx.send(Some(c)).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("ucdesk-webview: not a command ({e})"),
            }
        }
        // End of input: the plugin is gone, and the window goes with it.
        let _ = tx.send(None);
    });
    let w = window.clone();
    glib::timeout_add_local(POLL, move || {
        for command in rx.try_iter() {
            match command {
                Some(Command::Open { url }) => w.open(&url),
                Some(Command::Stop) => w.stop_or_reload(true),
                Some(Command::Reload) => w.stop_or_reload(false),
                Some(Command::Copy) => w.copy(),
                Some(Command::Browser) => w.browser(),
                Some(Command::Close) | None => {
                    w.close();
                    return glib::ControlFlow::Break;
                }
            }
        }
        glib::ControlFlow::Continue
    });
    emit(&Event::Ready);
    main_loop.run();
    emit(&Event::Closed);
}
