//! The ucdesk shell: the egui window that composes plugin views. The `ucdesk` binary
//! (`main.rs`) wraps it in eframe; tests drive it headless with egui_kittest.
//!
//! Rooms: [`shell`] lays out the main window, [`panels`] keeps each panel's decoded
//! view, [`render`] draws view trees, [`theme`] holds colours, symbols, icons and
//! fonts, [`dock`] keeps module panels as tabs or windows, [`prefs`] and [`wizard`] are the
//! preferences and login windows, [`notify`] the toasts and desktop notifications,
//! [`i18n`] the shell's strings, [`textures`] the pictures plugins publish, [`handoff`]
//! second launches and `tel:` links, [`desktop`] autostart and default programs,
//! [`updates`] "Check for updates", [`diagnostics`] the diagnostic log file.

pub mod desktop;
pub mod diagnostics;
pub mod dock;
pub mod handoff;
pub mod i18n;
pub mod notify;
pub mod panels;
pub mod prefs;
pub mod render;
pub mod shell;
pub mod sounds;
pub mod textures;
pub mod theme;
pub mod tray;
pub mod updates;
pub mod wizard;

pub use shell::Shell;
