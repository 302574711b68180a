//! The desktop around the window (the manual's Preferences -> General): the launch at
//! startup entry (XDG autostart), the default program for `tel:`, `sip:` and `callto:`
//! links (xdg-mime, the freedesktop way every desktop reads), and whether a call is up
//! (for "always on top" while calling).
//!
//! The entries follow the Desktop Entry Specification; a packaged ucdesk brings its own
//! `ucdesk.desktop` (`host-ui/desktop/`), one run from a clone gets a user entry (the
//! same, with this executable's path) written when it first asks to be the default
//! program.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};
use ucdesk_kernel::Kernel;

/// The MIME types of the links ucdesk answers.
pub const SCHEMES: [&str; 3] = ["x-scheme-handler/tel", "x-scheme-handler/sip", "x-scheme-handler/callto"];

/// The desktop entry's file name, under `applications/` and `autostart/`.
pub const ENTRY: &str = "ucdesk.desktop";

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home() -> PathBuf {
    env_dir("HOME").unwrap_or_else(std::env::temp_dir)
}

/// `$XDG_CONFIG_HOME/autostart`.
pub fn autostart_dir() -> PathBuf {
    env_dir("XDG_CONFIG_HOME").unwrap_or_else(|| home().join(".config")).join("autostart")
}

/// `$XDG_DATA_HOME/applications`.
fn user_applications() -> PathBuf {
    env_dir("XDG_DATA_HOME").unwrap_or_else(|| home().join(".local/share")).join("applications")
}

/// Every `applications/` directory the desktop searches, the user's first.
fn application_dirs() -> Vec<PathBuf> {
    let system = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    std::iter::once(user_applications())
        .chain(system.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join("applications")))
        .collect()
}

/// One argument of an `Exec` line (Desktop Entry Specification): quoted when it has to
/// be, with `"`, `` ` ``, `$` and `\` escaped inside the quotes; a literal `%` doubled (a
/// field code otherwise); the backslashes escaped once more for the file's own string
/// escapes. A line break cannot be in an Exec argument: it is refused.
fn exec_arg(arg: &str) -> Result<String, DesktopError> {
    if arg.contains(['\n', '\r']) {
        return Err(DesktopError::Unquotable(arg.to_string()));
    }
    let arg = arg.replace('%', "%%");
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.=:+,@%".contains(c)) {
        return Ok(arg);
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out.replace('\\', "\\\\"))
}

/// How this ucdesk is started again: this executable, with the profile it runs.
pub fn exec_line(exe: &Path, home: Option<&Path>, extra: &str) -> Result<String, DesktopError> {
    let mut line = exec_arg(&exe.to_string_lossy())?;
    if let Some(h) = home {
        line.push_str(" --home ");
        line.push_str(&exec_arg(&h.to_string_lossy())?);
    }
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    Ok(line)
}

/// The package's desktop entry (`host-ui/desktop/ucdesk.desktop`).
pub const PACKAGED_ENTRY: &str = include_str!("../desktop/ucdesk.desktop");

/// The package's entry, started by `exec` instead; `links`: it keeps naming the link
/// types (an autostart entry does not).
pub fn entry_text(exec: &str, links: bool) -> String {
    let mut text = String::new();
    for line in PACKAGED_ENTRY.lines() {
        if line.starts_with("Exec=") {
            text.push_str("Exec=");
            text.push_str(exec);
        } else if line.starts_with("MimeType=") && !links {
            continue;
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    text
}

/// Why a desktop change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot run xdg-mime ({0}); install xdg-utils")]
    NoXdgMime(std::io::Error),
    #[error("xdg-mime refused {mime}: {text}")]
    XdgMime { mime: String, text: String },
    #[error("{0:?} has a line break; a desktop entry cannot start it")]
    Unquotable(String),
}

/// The autostart entry of this ucdesk (started with `home`): written when `on`,
/// removed when off. Returns its path.
pub fn set_autostart(on: bool, exe: &Path, home: Option<&Path>) -> Result<PathBuf, DesktopError> {
    let path = autostart_dir().join(ENTRY);
    let io = |source| DesktopError::Io { path: path.clone(), source };
    if on {
        std::fs::create_dir_all(autostart_dir()).map_err(io)?;
        let mut text = entry_text(&exec_line(exe, home, "")?, false);
        text.push_str("X-GNOME-Autostart-enabled=true\n");
        std::fs::write(&path, text).map_err(io)?;
    } else if path.exists() {
        std::fs::remove_file(&path).map_err(io)?;
    }
    Ok(path)
}

/// Whether the autostart entry is there.
pub fn autostart() -> bool {
    autostart_dir().join(ENTRY).is_file()
}

fn xdg_mime(args: &[&str]) -> Result<String, DesktopError> {
    let out = Command::new("xdg-mime").args(args).output().map_err(DesktopError::NoXdgMime)?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(DesktopError::XdgMime { mime: args.last().copied().unwrap_or_default().into(), text });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// One link type's default program, before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub scheme: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl std::fmt::Display for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |v: &Option<String>| v.clone().unwrap_or_else(|| "nothing".into());
        if self.before == self.after {
            write!(f, "{}: already {}", self.scheme, name(&self.after))
        } else {
            write!(f, "{}: {} -> {}", self.scheme, name(&self.before), name(&self.after))
        }
    }
}

/// Makes ucdesk the default program for `tel:`, `sip:` and `callto:` links, writing a
/// user desktop entry first when no `ucdesk.desktop` is installed. Returns what changed.
pub fn make_default(exe: &Path, home: Option<&Path>) -> Result<Vec<Association>, DesktopError> {
    let query = |mime: &str| xdg_mime(&["query", "default", mime]).map(|s| Some(s).filter(|s| !s.is_empty()));
    // Asked before our entry exists: an entry naming the schemes is a default by itself.
    let before: Vec<Option<String>> = SCHEMES.iter().map(|m| query(m)).collect::<Result<_, _>>()?;
    // The user's entry is (re)written when no package installed one (a clone, which may
    // have moved since), and for a profile of its own (`--home`): the package's entry
    // starts the default profile.
    let user = user_applications().join(ENTRY);
    let packaged = application_dirs().iter().skip(1).any(|d| d.join(ENTRY).is_file());
    if !packaged || home.is_some() {
        let io = |source| DesktopError::Io { path: user.clone(), source };
        std::fs::create_dir_all(user_applications()).map_err(io)?;
        std::fs::write(&user, entry_text(&exec_line(exe, home, "%u")?, true)).map_err(io)?;
    }
    let mut changed = Vec::new();
    for (mime, before) in SCHEMES.into_iter().zip(before) {
        xdg_mime(&["default", ENTRY, mime])?;
        let after = query(mime)?;
        changed.push(Association {
            scheme: mime.trim_start_matches("x-scheme-handler/").into(),
            before,
            after,
        });
    }
    Ok(changed)
}

/// The browser add-on's folder: the package's (`../share/ucdesk/browser-extension` from
/// the executable's folder), else the clone's.
pub fn browser_addon_dir() -> PathBuf {
    let packaged = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("share/ucdesk/browser-extension")));
    packaged
        .filter(|d| d.join("manifest.json").is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../browser-extension"))
}

/// Opens `dir` in the file manager (xdg-open), off the calling thread.
pub fn open_folder(dir: PathBuf) {
    std::thread::spawn(move || match Command::new("xdg-open").arg(&dir).status() {
        Ok(s) if s.success() => {}
        Ok(s) => tracing::warn!("xdg-open {} ended with {s}", dir.display()),
        Err(e) => tracing::warn!("cannot open {}: {e}", dir.display()),
    });
}

/// The calls that are up, from the phone's events (for "always on top" while calling).
#[derive(Clone, Default)]
pub struct CallWatch {
    up: Arc<Mutex<HashSet<String>>>,
}

impl CallWatch {
    /// Follows `call.*` on a thread of its own; `wake` runs when the count changes.
    pub fn start(kernel: &Kernel, wake: impl Fn() + Send + 'static) -> CallWatch {
        let watch = CallWatch::default();
        let queue = kernel.subscribe_client("shell-calls", "call.");
        let up = watch.up.clone();
        let spawned = std::thread::Builder::new().name("shell-calls".into()).spawn(move || {
            use ucdesk_plugin_api::contract::phone::{TOPIC_ENDED, TOPIC_TRANSFERRED};
            while let Ok(event) = queue.receiver().recv() {
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&event.payload) else { continue };
                let Some(id) = v["callid"].as_str() else { continue };
                let mut set = up.lock().unwrap_or_else(|p| p.into_inner());
                let changed = if event.topic == TOPIC_ENDED || event.topic == TOPIC_TRANSFERRED {
                    set.remove(id)
                } else {
                    set.insert(id.to_string())
                };
                drop(set);
                if changed {
                    wake();
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("always on top during calls is off: {e}");
        }
        watch
    }

    pub fn any(&self) -> bool {
        !self.up.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_quote_what_the_spec_reserves() {
        assert_eq!(exec_line(Path::new("/usr/bin/ucdesk"), None, "%u").unwrap(), "/usr/bin/ucdesk %u");
        assert_eq!(
            exec_line(Path::new("/opt/my apps/ucdesk"), Some(Path::new("/home/a/$x")), "").unwrap(),
            r#""/opt/my apps/ucdesk" --home "/home/a/\\$x""#
        );
        assert_eq!(exec_line(Path::new("/t/100%"), None, "").unwrap(), "/t/100%%");
        assert!(exec_line(Path::new("/t/a\nb"), None, "").is_err());
    }

    #[test]
    fn associations_say_what_changed() {
        let a = Association { scheme: "tel".into(), before: None, after: Some(ENTRY.into()) };
        assert_eq!(a.to_string(), "tel: nothing -> ucdesk.desktop");
        let b = Association { before: a.after.clone(), ..a };
        assert_eq!(b.to_string(), "tel: already ucdesk.desktop");
    }
}
