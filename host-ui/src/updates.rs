//! "Check for updates" (the manual's options menu): the signed release feed
//! ([`ucdesk_license::verify_release`]) at the URL the policy's `update_feed` or the
//! user's preference gives, checked at login and on demand. Up to date: "There are no
//! updates available". Newer: an offer to download the package (checked against the
//! signed SHA-256) or to skip this version; until the user does one of them (either
//! dismisses that version), every login shows a notification. A feed signed by a key this build does not trust, or changed after
//! signing, is an error that says so, never an offer.

use crate::i18n::Strings;
use eframe::egui;
use serde::Serialize;
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};
use ucdesk_license::{Release, TrustedKeys};

/// How long fetching the feed (or the package) may take.
const FEED_TIMEOUT: Duration = Duration::from_secs(15);
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(300);

/// Largest package downloaded (the .deb is a few tens of MB).
const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;

/// This build's version, what the feed is compared with.
pub fn current() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the package version is semver")
}

/// The feed to read: the policy's (an empty one turns the check off), else the user's.
pub fn feed_url(policy: Option<&ucdesk_kernel::policy::Policy>, preference: &str) -> Option<String> {
    let url = match policy.and_then(|p| p.update_feed.as_deref()) {
        Some(admin) => admin,
        None => preference,
    };
    Some(url.trim().to_string()).filter(|u| !u.is_empty())
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    /// No feed is set up.
    NoFeed,
    /// The feed's release is this one or older.
    UpToDate {
        current: String,
        feed: String,
    },
    Available {
        current: String,
        release: Release,
    },
    Failed {
        reason: String,
    },
}

fn agent(timeout: Duration) -> Result<ureq::Agent, String> {
    let timeouts = ucdesk_https::Timeouts { connect: Duration::from_secs(10), total: Some(timeout) };
    ucdesk_https::agent(&ucdesk_https::Trust::default(), timeouts).map_err(|e| e.to_string())
}

/// Reads and checks the feed at `url` (blocking).
pub fn check(url: &str, trusted: &TrustedKeys, current: &semver::Version) -> Outcome {
    let failed = |reason: String| Outcome::Failed { reason };
    let body = match agent(FEED_TIMEOUT).and_then(|a| fetch(&a, url, ucdesk_license::MAX_FEED_BYTES as u64)) {
        Ok(b) => b,
        Err(e) => return failed(format!("cannot read the update feed {}: {e}", shown_url(url))),
    };
    let release = match ucdesk_license::verify_release(&body, trusted) {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let offered = match semver::Version::parse(&release.version) {
        Ok(v) => v,
        Err(e) => {
            return failed(format!("the update feed's version {:?} is not a version: {e}", release.version));
        }
    };
    // Precedence, not Ord: build metadata (`+git1`) does not make a version newer.
    if offered.cmp_precedence(current) == std::cmp::Ordering::Greater {
        Outcome::Available { current: current.to_string(), release }
    } else {
        Outcome::UpToDate { current: current.to_string(), feed: release.version }
    }
}

/// A URL as it may be shown or logged: without user info or query (either may carry a
/// token).
fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => {
                format!("{scheme}://{}/{path}", authority.rsplit('@').next().unwrap_or_default())
            }
            None => format!("{scheme}://{}", rest.rsplit('@').next().unwrap_or_default()),
        },
        None => url.to_string(),
    }
}

fn fetch(agent: &ureq::Agent, url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    response.into_body().with_config().limit(limit).read_to_vec().map_err(|e| e.to_string())
}

/// Downloads the release's package into `dir`, checks it against the signed SHA-256
/// and returns where it is; a package that does not match is deleted.
pub fn download(release: &Release, dir: &Path) -> Result<PathBuf, String> {
    use sha2::Digest;
    let name = release
        .package_url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !n.starts_with('.') && !n.contains(['\\', '?', '#']))
        .ok_or_else(|| format!("the package URL {} names no file", release.package_url))?;
    let bytes = agent(PACKAGE_TIMEOUT)
        .and_then(|a| fetch(&a, &release.package_url, MAX_PACKAGE_BYTES))
        .map_err(|e| format!("cannot download {}: {e}", shown_url(&release.package_url)))?;
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    if !digest.eq_ignore_ascii_case(&release.sha256) {
        return Err(format!(
            "the downloaded package is not the one the feed signed (SHA-256 {digest}, signed {}); \
             it was not kept",
            release.sha256
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })?;
    Ok(path)
}

/// Where downloads go: the user's download folder as `~/.config/user-dirs.dirs` names it
/// (xdg-user-dirs), else ~/Downloads.
pub fn downloads_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    let named = std::fs::read_to_string(config.join("user-dirs.dirs")).ok().and_then(|text| {
        let line = text.lines().find_map(|l| l.trim().strip_prefix("XDG_DOWNLOAD_DIR="))?;
        let value = line.trim().trim_matches('"');
        let path = match value.strip_prefix("$HOME") {
            Some(rest) => home.join(rest.trim_start_matches('/')),
            None => PathBuf::from(value),
        };
        // `$HOME/` alone means "no such folder" to xdg-user-dirs.
        (path.is_absolute() && path != home).then_some(path)
    });
    named.unwrap_or_else(|| home.join("Downloads"))
}

/// The window's state, shared with the threads that check and download.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Checking,
    Done(Outcome),
    Downloading(Release),
    Downloaded(PathBuf),
    DownloadFailed(Release, String),
}

/// What the user decided in the window, for the shell to keep: the version is
/// dismissed (skipped, or downloaded) and no longer announced at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Dismiss(String),
}

/// The "Check for updates" window.
#[derive(Default)]
pub struct UpdateWindow {
    pub open: bool,
    stage: Arc<Mutex<Option<Stage>>>,
}

impl UpdateWindow {
    /// Opens the window and checks `url` (None: no feed) off the UI thread.
    pub fn check(&mut self, ctx: &egui::Context, url: Option<String>, trusted: TrustedKeys) {
        self.open = true;
        let Some(url) = url else {
            *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = Some(Stage::Done(Outcome::NoFeed));
            return;
        };
        *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = Some(Stage::Checking);
        let (stage, ctx) = (self.stage.clone(), ctx.clone());
        std::thread::spawn(move || {
            let outcome = check(&url, &trusted, &current());
            let mut stage = stage.lock().unwrap_or_else(|p| p.into_inner());
            // A check asked twice answers once: a later stage (a download) stays.
            if *stage == Some(Stage::Checking) {
                *stage = Some(Stage::Done(outcome));
            }
            drop(stage);
            ctx.request_repaint();
        });
    }

    /// True while a package is being downloaded.
    pub fn downloading(&self) -> bool {
        matches!(*self.stage.lock().unwrap_or_else(|p| p.into_inner()), Some(Stage::Downloading(_)))
    }

    /// Draws the window; returns what the user decided.
    pub fn ui(&mut self, ctx: &egui::Context, strings: &Strings) -> Option<Decision> {
        if !self.open {
            return None;
        }
        let stage = self.stage.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut open = self.open;
        let mut decision = None;
        egui::Window::new(strings.t("updates-title"))
            .id(egui::Id::unique("updates"))
            .open(&mut open)
            .collapsible(false)
            .default_width(420.0)
            .show(ctx, |ui| match stage {
                None | Some(Stage::Checking) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(strings.t("updates-checking"));
                    });
                }
                Some(Stage::Done(Outcome::NoFeed)) => {
                    ui.label(strings.t("updates-no-feed"));
                }
                Some(Stage::Done(Outcome::UpToDate { .. })) => {
                    ui.label(strings.t("updates-none"));
                }
                Some(Stage::Done(Outcome::Failed { reason })) => {
                    ui.colored_label(ui.visuals().error_fg_color, reason);
                }
                Some(Stage::Done(Outcome::Available { current, release })) => {
                    decision = self.offer(ui, strings, &release, &current, None);
                }
                Some(Stage::DownloadFailed(release, error)) => {
                    decision = self.offer(ui, strings, &release, &current().to_string(), Some(&error));
                }
                Some(Stage::Downloading(_)) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(strings.t("updates-downloading"));
                    });
                }
                Some(Stage::Downloaded(path)) => {
                    ui.label(strings.t_args("updates-downloaded", &[("path", &path.display().to_string())]));
                }
            });
        self.open = open;
        decision
    }

    /// The offer: what is new, Download and Skip this version.
    fn offer(
        &self,
        ui: &mut egui::Ui,
        strings: &Strings,
        release: &Release,
        current: &str,
        error: Option<&str>,
    ) -> Option<Decision> {
        let date = release.date.to_string();
        ui.label(strings.t_args(
            "updates-available",
            &[("version", &release.version), ("date", &date), ("current", current)],
        ));
        if !release.notes.is_empty() {
            ui.weak(&release.notes);
        }
        if let Some(e) = error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let mut decision = None;
        ui.horizontal(|ui| {
            if ui.button(strings.t("updates-download")).clicked() {
                decision = Some(Decision::Dismiss(release.version.clone()));
                let (stage, ctx, release) = (self.stage.clone(), ui.ctx().clone(), release.clone());
                *stage.lock().unwrap_or_else(|p| p.into_inner()) = Some(Stage::Downloading(release.clone()));
                std::thread::spawn(move || {
                    let done = match download(&release, &downloads_dir()) {
                        Ok(path) => Stage::Downloaded(path),
                        Err(e) => Stage::DownloadFailed(release, e),
                    };
                    *stage.lock().unwrap_or_else(|p| p.into_inner()) = Some(done);
                    ctx.request_repaint();
                });
            }
            if ui.button(strings.t("updates-skip")).clicked() {
                decision = Some(Decision::Dismiss(release.version.clone()));
            }
        });
        decision
    }
}
