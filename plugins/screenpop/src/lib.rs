//! The in-app screen pop plugins share (the CRM plugin now, the call-center agent next):
//! a page shown in ucdesk's own window instead of the default browser.
//!
//! The window is a separate program, `ucdesk-webview` (plugins/webview), started on the
//! first pop and kept for the next ones. Why a process and not a view in the shell:
//! WebKitGTK wants a GTK main loop on its own thread, which the shell's winit loop is
//! not, and a web engine's crash or hang must not take the calls with it. The two speak
//! JSON lines: [`Command`]s on the program's stdin, [`Event`]s on its stdout.
//!
//! Where no web view can be had (the program missing, no display, WebKitGTK failing to
//! start), [`ScreenPop::show`] says why, and the caller opens the default browser and
//! reports that it did.

mod window;

pub use window::{ScreenPop, Unavailable};

use serde::{Deserialize, Serialize};

/// What a plugin asks of the window, one JSON object per line on its stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Command {
    /// Show `url` (the window comes to the front).
    Open {
        url: String,
    },
    /// The toolbar's buttons, for scripts and tests: the same code as a click.
    Stop,
    Reload,
    Copy,
    Browser,
    /// Close the window and end the program.
    Close,
}

/// What the window reports, one JSON object per line on its stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The window is up and takes commands.
    Ready,
    /// GTK or WebKitGTK could not start: the program ends after this.
    Unavailable {
        reason: String,
    },
    Loading {
        url: String,
    },
    /// The estimated part loaded, 0 to 1.
    Progress {
        fraction: f64,
    },
    /// The page loaded; `status` is its HTTP status (0 for pages not from HTTP).
    Loaded {
        url: String,
        status: u32,
    },
    /// The page's title, once the page has given it (the window shows it).
    Title {
        title: String,
    },
    /// The page did not load: the window shows the warning with `reason` on hover.
    Failed {
        url: String,
        reason: String,
    },
    Stopped {
        url: String,
    },
    Copied {
        url: String,
    },
    /// "Open in default browser": `error` when the browser could not be started.
    Browser {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The user closed the window (or [`Command::Close`]).
    Closed,
}

/// The program that opens URLs in the default browser: `xdg-open`, which honours the
/// desktop's choice and `$BROWSER`; `UCDESK_URL_OPENER` names another (tests, unusual
/// desktops). The plugins' browser popups and the window's "Open in default browser"
/// both go through it.
pub fn browser_opener() -> String {
    std::env::var("UCDESK_URL_OPENER").unwrap_or_else(|_| "xdg-open".into())
}

impl Command {
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("commands serialise") + "\n"
    }
}

impl Event {
    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("events serialise") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_events_are_one_tagged_object_per_line() {
        assert_eq!(
            Command::Open { url: "https://x/".into() }.line(),
            "{\"do\":\"open\",\"url\":\"https://x/\"}\n"
        );
        assert_eq!(Command::Reload.line(), "{\"do\":\"reload\"}\n");
        let e: Event = serde_json::from_str(r#"{"event":"failed","url":"u","reason":"r"}"#).unwrap();
        assert_eq!(e, Event::Failed { url: "u".into(), reason: "r".into() });
        assert_eq!(
            Event::Browser { url: "u".into(), error: None }.line(),
            "{\"event\":\"browser\",\"url\":\"u\"}\n"
        );
    }
}
