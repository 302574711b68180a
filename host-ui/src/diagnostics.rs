//! Diagnostic logs (the manual's Preferences -> General -> Diagnostic logs). When on,
//! what the kernel, the shell and the plugins log is also written to
//! `<data>/logs/ucdesk.log`: the host at info and up, the plugins at every level they
//! send (their libraries' SIP messages and XMPP stanzas as their 1-10 levels ask, see
//! `ucdesk_sdk::logs`). The file is rotated at 5 MB, four older ones kept. Off, nothing
//! is written and no file is made. The terminal's log (stderr, `UCDESK_LOG`) is not
//! affected. Options -> Diagnostic logs shows the file and exports it.
//!
//! Secrets never reach a log: plugins are given them only to use, and the libraries'
//! credentials and media keys are scrubbed before they leave the plugin. The folder is
//! the user's alone (0700, files 0600): at level 10 it holds chat bodies.

use crate::i18n::Strings;
use eframe::egui;
use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};
use tracing_subscriber::{Layer, filter::dynamic_filter_fn, fmt::MakeWriter};

/// The log file's name in its folder; older ones are `ucdesk.log.1` (newest) to `.4`.
pub const FILE: &str = "ucdesk.log";
const ROTATE_AT: u64 = 5 * 1024 * 1024;
const KEEP: usize = 4;

static ENABLED: AtomicBool = AtomicBool::new(false);
static OPEN: Mutex<Option<Open>> = Mutex::new(None);

struct Open {
    dir: PathBuf,
    file: std::fs::File,
    size: u64,
}

/// The folder of a profile's diagnostic logs.
pub fn dir(home: &ucdesk_kernel::Home) -> PathBuf {
    home.data.join("logs")
}

/// The layer `main` adds beside the terminal's: writes nothing until [`set`] turns it on.
pub fn layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().with_ansi(false).with_writer(Writer).with_filter(dynamic_filter_fn(
        |meta, _| {
            ENABLED.load(Ordering::Relaxed)
                && (meta.target() == "plugin" || *meta.level() <= tracing::Level::INFO)
        },
    ))
}

/// Turns the file on (in `dir`) or off.
pub fn set(dir: &Path, on: bool) {
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if !on {
        ENABLED.store(false, Ordering::Relaxed);
        *open = None;
        return;
    }
    if open.as_ref().is_some_and(|o| o.dir == dir) {
        ENABLED.store(true, Ordering::Relaxed);
        return;
    }
    match open_file(dir) {
        Ok(o) => {
            *open = Some(o);
            ENABLED.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            ENABLED.store(false, Ordering::Relaxed);
            drop(open);
            tracing::warn!("diagnostic logs are off: cannot write {}: {e}", dir.display());
        }
    }
}

fn open_file(dir: &Path) -> std::io::Result<Open> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // The user's alone: the logs hold call and chat traffic (its bodies at level 10).
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join(FILE);
    let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
    let size = file.metadata()?.len();
    Ok(Open { dir: dir.to_path_buf(), file, size })
}

/// Moves `ucdesk.log` to `.1` (and each older one up, the oldest dropped).
fn rotate(o: &mut Open) -> std::io::Result<()> {
    let name = |n: usize| o.dir.join(if n == 0 { FILE.to_string() } else { format!("{FILE}.{n}") });
    for n in (0..KEEP).rev() {
        if name(n).exists() {
            std::fs::rename(name(n), name(n + 1))?;
        }
    }
    *o = open_file(&o.dir)?;
    Ok(())
}

/// What the fmt layer writes an event into: buffered, then appended as one piece.
pub struct Writer;

pub struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        let Some(o) = open.as_mut() else { return };
        if o.size + self.0.len() as u64 > ROTATE_AT && o.size > 0 && rotate(o).is_err() {
            return;
        }
        // A full disk loses this line, never the program.
        if o.file.write_all(&self.0).is_ok() {
            o.size += self.0.len() as u64;
        }
    }
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::with_capacity(256))
    }
}

/// The log files in `dir`, oldest first.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = (1..=KEEP).rev().map(|n| dir.join(format!("{FILE}.{n}"))).collect();
    out.push(dir.join(FILE));
    out.retain(|p| p.is_file());
    out
}

/// The end of a log file: its last 512 KB at most (a window shows 2000 lines).
fn end_of(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    const MAX: u64 = 512 * 1024;
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map_or(0, |m| m.len());
    if len > MAX && f.seek(SeekFrom::Start(len - MAX)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A cut line at the start is dropped.
    if len > MAX { text.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default() } else { text }
}

/// The last `max` lines of the logs (oldest first).
pub fn tail(dir: &Path, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for f in files(dir).iter().rev() {
        let text = end_of(f);
        let mut these: Vec<String> = text.lines().rev().take(max - lines.len()).map(String::from).collect();
        these.reverse();
        these.extend(lines);
        lines = these;
        if lines.len() >= max {
            break;
        }
    }
    lines
}

/// Writes every log file, oldest first, into one file in `folder`; returns its path.
pub fn export(dir: &Path, folder: &Path) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let path = folder.join(format!("ucdesk-diagnostic-logs-{stamp}.txt"));
    let mut out = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?
    };
    for f in files(dir) {
        out.write_all(&std::fs::read(f)?)?;
    }
    out.flush()?;
    Ok(path)
}

/// Options -> Diagnostic logs: the newest lines, a filter, refresh, export.
#[derive(Default)]
pub struct LogWindow {
    pub open: bool,
    lines: Vec<String>,
    filter: String,
    /// What the last export did, once its thread is done.
    note: std::sync::Arc<Mutex<Option<Result<String, String>>>>,
    export_dialog: Option<egui_file::FileDialog>,
}

impl LogWindow {
    /// Lines shown at most (the export has everything).
    const SHOWN: usize = 2000;

    pub fn show(&mut self, dir: &Path) {
        self.open = true;
        self.lines = tail(dir, Self::SHOWN);
    }

    pub fn ui(&mut self, ctx: &egui::Context, dir: &Path, enabled: bool, strings: &Strings) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        egui::Window::new(strings.t("diagnostic-logs"))
            .id(egui::Id::unique("diagnostic-logs"))
            .open(&mut open)
            .default_size([760.0, 460.0])
            .show(ctx, |ui| {
                if !enabled {
                    ui.weak(strings.t("diagnostic-logs-off"));
                }
                ui.horizontal(|ui| {
                    let l = ui.label(strings.t("diagnostic-filter"));
                    ui.text_edit_singleline(&mut self.filter).labelled_by(l.id);
                    if ui.button(strings.t("diagnostic-refresh")).clicked() {
                        self.lines = tail(dir, Self::SHOWN);
                    }
                    if ui.button(strings.t("diagnostic-export")).clicked() {
                        let mut d = egui_file::FileDialog::select_folder()
                            .initial_path(crate::updates::downloads_dir())
                            .title(&strings.t("diagnostic-export"))
                            .id(egui::Id::unique("diagnostic-export"));
                        d.open();
                        self.export_dialog = Some(d);
                    }
                    if ui.button(strings.t("diagnostic-folder")).clicked() {
                        crate::desktop::open_folder(dir.to_path_buf());
                    }
                });
                self.export_ui(ui.ctx(), dir);
                match &*self.note.lock().unwrap_or_else(|p| p.into_inner()) {
                    Some(Ok(path)) => {
                        ui.weak(strings.t_args("diagnostic-exported", &[("path", path)]));
                    }
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    None => {}
                }
                ui.separator();
                let filter = self.filter.to_lowercase();
                let shown: Vec<&String> = self
                    .lines
                    .iter()
                    .filter(|l| filter.is_empty() || l.to_lowercase().contains(&filter))
                    .collect();
                egui::ScrollArea::both().stick_to_bottom(true).auto_shrink([false, false]).show_rows(
                    ui,
                    ui.text_style_height(&egui::TextStyle::Monospace),
                    shown.len(),
                    |ui, rows| {
                        for line in &shown[rows] {
                            ui.add(egui::Label::new(egui::RichText::new(line.as_str()).monospace()).extend());
                        }
                    },
                );
            });
        self.open = open;
    }

    fn export_ui(&mut self, ctx: &egui::Context, dir: &Path) {
        let Some(d) = self.export_dialog.as_mut() else { return };
        d.show(ctx);
        match d.state() {
            egui_file::State::Open => {}
            egui_file::State::Selected => {
                if let Some(folder) = d.path().map(Path::to_path_buf) {
                    // Up to 25 MB to copy: off the UI thread.
                    let (note, dir, ctx) = (self.note.clone(), dir.to_path_buf(), ctx.clone());
                    std::thread::spawn(move || {
                        let done = export(&dir, &folder)
                            .map(|p| p.display().to_string())
                            .map_err(|e| format!("{}: {e}", folder.display()));
                        *note.lock().unwrap_or_else(|p| p.into_inner()) = Some(done);
                        ctx.request_repaint();
                    });
                }
                self.export_dialog = None;
            }
            egui_file::State::Closed | egui_file::State::Cancelled => self.export_dialog = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_and_export_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = open_file(dir.path()).unwrap();
        o.file.write_all(b"first\n").unwrap();
        rotate(&mut o).unwrap();
        o.file.write_all(b"second\n").unwrap();
        assert_eq!(files(dir.path()).len(), 2);
        assert_eq!(tail(dir.path(), 10), ["first", "second"]);
        assert_eq!(tail(dir.path(), 1), ["second"]);
        let out = tempfile::tempdir().unwrap();
        let exported = export(dir.path(), out.path()).unwrap();
        assert_eq!(std::fs::read_to_string(exported).unwrap(), "first\nsecond\n");
        for _ in 0..6 {
            rotate(&mut o).unwrap();
        }
        assert_eq!(files(dir.path()).len(), KEEP + 1, "four older files are kept");
    }
}
