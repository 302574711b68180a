//! The file dialog behind [`Node::FilePicker`](ucdesk_plugin_api::view::Node): the
//! button, the dialog it opens (egui_file's, drawn inside our window, so it works the
//! same on every desktop and under Xvfb in the tests) and the choice it hands back as
//! [`UiAction::FilesPicked`]. Plugins never see the file system through the shell;
//! they get the paths the user chose.

use super::{Cx, icon};
use eframe::egui;
use egui_file::{DialogType, FileDialog, State};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use ucdesk_plugin_api::view::UiAction;

/// The folder of the last pick, where the next dialog starts (as desktop dialogs do);
/// the home folder before that.
static LAST_FOLDER: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Where the next file dialog starts (until the user picks somewhere else): for a
/// deployment's default folder, and for tests.
pub fn set_start_folder(dir: PathBuf) {
    *LAST_FOLDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
}

fn start_folder() -> PathBuf {
    let last = LAST_FOLDER.lock().unwrap_or_else(|p| p.into_inner()).clone();
    last.filter(|d| d.is_dir())
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// What a picker was asked for.
pub struct Ask<'a> {
    pub label: &'a str,
    pub icon: Option<&'a str>,
    pub multiple: bool,
    pub folder: bool,
    pub extensions: &'a [String],
    pub enabled: bool,
}

/// Draws the button and, while it is open, its dialog; emits the choice.
pub fn picker(ui: &mut egui::Ui, cx: &mut Cx<'_>, id: &str, ask: Ask<'_>) {
    let text = match ask.icon {
        Some(i) => format!("{} {}", icon(i), ask.label),
        None => ask.label.to_string(),
    };
    if ui.add_enabled(ask.enabled, egui::Button::new(text)).clicked() {
        let mut dialog = dialog(&ask).id(egui::Id::unique(("file-dialog", cx.plugin, id)));
        dialog.open();
        cx.state.files.insert(id.to_string(), dialog);
    }
    cx.state.files_now.insert(id.to_string());
    let Some(dialog) = cx.state.files.get_mut(id) else { return };
    dialog.show(ui.ctx());
    match dialog.state() {
        State::Open => {}
        State::Selected => {
            let paths = chosen(dialog);
            if let Some(folder) =
                paths.first().and_then(|p| if ask.folder { Some(p.as_path()) } else { p.parent() })
            {
                *LAST_FOLDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(folder.to_path_buf());
            }
            cx.state.files.remove(id);
            // Paths go to the plugin as text: one that is not UTF-8 would reach it
            // changed (and name nothing), so it is left out and said.
            let (paths, odd): (Vec<_>, Vec<_>) = paths.iter().partition(|p| p.to_str().is_some());
            for p in odd {
                tracing::warn!("{}: a file name that is not UTF-8 is not handed to plugins", p.display());
            }
            let paths: Vec<String> = paths.iter().filter_map(|p| p.to_str()).map(str::to_string).collect();
            if !paths.is_empty() {
                cx.emit(id, UiAction::FilesPicked { paths });
            }
        }
        State::Closed | State::Cancelled => {
            cx.state.files.remove(id);
        }
    }
}

/// An open-file dialog of the shell's own (its preferences), showing `extensions`.
pub fn open_file_dialog(title: &str, extensions: &[String]) -> FileDialog {
    let ask = Ask { label: title, icon: None, multiple: false, folder: false, extensions, enabled: true };
    let mut d = dialog(&ask).id(egui::Id::unique(("shell-file-dialog", title)));
    d.open();
    d
}

fn dialog(ask: &Ask<'_>) -> FileDialog {
    let dialog = if ask.folder { FileDialog::select_folder() } else { FileDialog::open_file() };
    let extensions: Vec<String> = ask.extensions.iter().map(|e| e.to_ascii_lowercase()).collect();
    dialog
        .initial_path(start_folder())
        .title(ask.label)
        .multi_select(ask.multiple && !ask.folder)
        // Picking is not managing: no renaming or new folders from inside a module.
        .show_rename(false)
        .show_new_folder(ask.folder)
        .show_files_filter(Box::new(move |p: &Path| shown(p, &extensions)))
        .default_size([560.0, 420.0])
}

/// Whether a file is listed: every file when no extensions were given.
fn shown(path: &Path, extensions: &[String]) -> bool {
    extensions.is_empty()
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The files (or the folder) the user confirmed.
fn chosen(dialog: &FileDialog) -> Vec<PathBuf> {
    if dialog.dialog_type() == DialogType::OpenFile && dialog.has_multi_select() {
        let many: Vec<PathBuf> = dialog.selection().into_iter().map(Path::to_path_buf).collect();
        if !many.is_empty() {
            return many;
        }
    }
    dialog.path().map(Path::to_path_buf).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_filter_files_in_any_case() {
        let jpeg = ["jpg".to_string(), "png".to_string()];
        assert!(shown(Path::new("/t/Photo.JPG"), &jpeg));
        assert!(!shown(Path::new("/t/notes.txt"), &jpeg));
        assert!(!shown(Path::new("/t/README"), &jpeg));
        assert!(shown(Path::new("/t/README"), &[]));
    }
}
