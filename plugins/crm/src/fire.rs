//! Carrying a popup out: the app's own screen pop window when the user chose it
//! ([`Pages`]), the default browser through `xdg-open` (which honours the desktop's
//! choice and `$BROWSER`), a program started directly with its arguments (no shell),
//! or a silent HTTP GET with timeouts and retries. Each runs on the engine's
//! blocking pool and reports a [`Popup`]; nothing here can hold up a call, which the
//! softphone handles on its own engine.

use crate::popup::{Action, Plan};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ucdesk_screenpop::{Event, ScreenPop};
use ucdesk_sdk::contract::crm::{Outcome, Popup};

/// Silent requests: attempts in all, and the wait before the second and third.
pub const ATTEMPTS: u32 = 3;
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];
/// The longest `Retry-After` honoured; a server asking for more gets its answer failed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The request timeouts of silent popups: `total` is the user's, connecting gets at
/// most five seconds of it.
pub fn timeouts(total: Duration) -> ucdesk_https::Timeouts {
    ucdesk_https::Timeouts { connect: total.min(Duration::from_secs(5)), total: Some(total) }
}
/// How long `xdg-open` may take to say it failed; a browser it starts may keep it
/// running for as long as the browser is open, so still running means opened.
const OPENER_GRACE: Duration = Duration::from_secs(3);

/// Where pages are opened: the screen pop window when `crm.popup_in_app` is on, the
/// default browser otherwise or when no window can be had. One window serves the call
/// popups and the CRM's record pops; clones share it.
#[derive(Clone, Default)]
pub struct Pages {
    in_app: Arc<AtomicBool>,
    window: Arc<Mutex<ScreenPop>>,
}

/// How [`Pages::show`] showed a page.
#[derive(Debug, PartialEq)]
pub enum Shown {
    InApp,
    /// In the browser; `notice` says why not in the app when that was asked.
    Browser {
        notice: Option<String>,
    },
}

impl Pages {
    pub fn set_in_app(&self, on: bool) {
        self.in_app.store(on, Ordering::Relaxed);
    }

    /// Shows `url`. Blocks while the window starts: call it on the blocking pool.
    pub fn show(&self, url: &str) -> Result<Shown, String> {
        if !self.in_app.load(Ordering::Relaxed) {
            return open(url).map(|()| Shown::Browser { notice: None });
        }
        let tried = self.window.lock().unwrap_or_else(|p| p.into_inner()).show(url);
        match tried {
            Ok(()) => Ok(Shown::InApp),
            Err(e) => {
                let notice = format!("the in-app view is unavailable ({e}); opened in the default browser");
                open(url).map(|()| Shown::Browser { notice: Some(notice) })
            }
        }
    }

    /// What the window reported since the last look; nothing while it is starting
    /// (this runs on the engine's loop, which must not wait for it).
    pub fn events(&self) -> Vec<Event> {
        self.window.try_lock().map(|mut w| w.events()).unwrap_or_default()
    }
}

/// Carries `plan` out. `agent` is `Err` when the TLS settings are unusable: silent
/// popups then fail with that reason.
pub fn fire(plan: &Plan, agent: &Result<ureq::Agent, String>, pages: &Pages) -> Popup {
    let mut popup = Popup {
        event: plan.event,
        callid: plan.callid.clone(),
        direction: plan.direction,
        url: None,
        program: None,
        silent: plan.silent,
        from_queue: plan.from_queue,
        outcome: Outcome::Failed,
        status: None,
        attempts: 0,
        error: None,
        notice: None,
        at: chrono::Utc::now().timestamp(),
    };
    let result = match &plan.action {
        Action::Open(url) => {
            popup.url = Some(url.clone());
            pages.show(url).map(|shown| match shown {
                Shown::InApp => Outcome::Shown,
                Shown::Browser { notice } => {
                    popup.notice = notice;
                    Outcome::Opened
                }
            })
        }
        Action::Run(args) => {
            popup.program = Some(args.clone());
            run(args).map(|()| Outcome::Ran)
        }
        Action::Request(url) => {
            popup.url = Some(url.clone());
            match agent {
                Ok(agent) => {
                    let (result, attempts) = request(agent, url);
                    popup.attempts = attempts;
                    result.map(|status| {
                        popup.status = Some(status);
                        Outcome::Sent
                    })
                }
                Err(e) => Err(e.clone()),
            }
        }
        Action::Invalid(why) => Err(why.clone()),
    };
    match result {
        Ok(outcome) => popup.outcome = outcome,
        Err(e) => popup.error = Some(e),
    }
    popup
}

/// Opens `url` in the default browser.
pub fn open(url: &str) -> Result<(), String> {
    let opener = ucdesk_screenpop::browser_opener();
    let mut child = Command::new(&opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {opener} to open the browser: {e}"))?;
    let deadline = std::time::Instant::now() + OPENER_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                // xdg-open's exit codes (xdg-utils): 3 no tool found, 4 the action failed.
                let why = match status.code() {
                    Some(3) => "no browser is set up on this desktop".to_string(),
                    Some(4) => "the browser did not open it".to_string(),
                    _ => format!("{opener} failed ({status})"),
                };
                return Err(why);
            }
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => return Err(format!("{opener}: {e}")),
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (path, rest) = args.split_first().ok_or("no program given")?;
    let mut child = Command::new(path)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {path}: {e}"))?;
    // Reaped in the background: a popup program may run for as long as it likes.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// GETs `url`, retrying what may pass on a second try (no connection, a timeout, 5xx,
/// 429 after its `Retry-After`). Returns the final status or the last reason, and the
/// number of requests made.
fn request(agent: &ureq::Agent, url: &str) -> (Result<u16, String>, u32) {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let wait = match agent
            .get(url)
            .header("User-Agent", concat!("ucdesk/", env!("CARGO_PKG_VERSION")))
            .call()
        {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match status {
                    200..=399 => return (Ok(status), attempt),
                    429 => {
                        last = "the server is limiting requests (429)".into();
                        match retry_after(resp.headers().get("retry-after").and_then(|v| v.to_str().ok())) {
                            Some(d) if d <= MAX_RETRY_AFTER => d,
                            Some(d) => {
                                return (Err(format!("{last}; it asks to wait {} s", d.as_secs())), attempt);
                            }
                            None => backoff(attempt),
                        }
                    }
                    500..=599 => {
                        last = format!("the server answered {status}");
                        backoff(attempt)
                    }
                    _ => return (Err(format!("the server answered {status}")), attempt),
                }
            }
            Err(e) => {
                last = e.to_string();
                // A certificate or an address that cannot be right will not be on retry.
                if matches!(e, ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::BadUri(_)) {
                    return (Err(last), attempt);
                }
                backoff(attempt)
            }
        };
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
        }
    }
    (Err(format!("{last} (after {ATTEMPTS} attempts)")), ATTEMPTS)
}

fn backoff(attempt: u32) -> Duration {
    BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)]
}

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs: treated as absent).
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}
