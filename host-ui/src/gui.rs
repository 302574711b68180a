//! The native window: eframe around [`ucdesk_shell::Shell`]. Closing the window (or
//! SIGINT/SIGTERM) stops the plugins cleanly.

use crate::commands::Profile;
use eframe::egui;
use std::{error::Error, process::ExitCode, time::Instant};
use ucdesk_shell::Shell;

/// Opens the window; `_lock` is the profile's instance lock, held until it closes.
pub fn run(profile: &Profile, _lock: std::fs::File, uri: Option<&str>) -> Result<ExitCode, Box<dyn Error>> {
    let started = Instant::now();
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set); use `ucdesk daemon` to run headless"
                .into(),
        );
    }
    let kernel = profile.kernel()?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ucdesk")
            .with_app_id("ucdesk")
            .with_inner_size([1100.0, 700.0])
            .with_min_inner_size([480.0, 360.0]),
        ..Default::default()
    };
    let first_frame = std::env::var_os("UCDESK_REPORT_FIRST_FRAME").is_some();
    let k = kernel.clone();
    let uri = uri.map(String::from);
    eframe::run_native(
        "ucdesk",
        options,
        Box::new(move |cc| {
            watch_signals(&cc.egui_ctx);
            let mut shell = Shell::new(k);
            if let Some(uri) = &uri {
                shell = shell.started_with(uri);
            }
            Ok(Box::new(if first_frame { shell.report_first_frame(started) } else { shell }))
        }),
    )?;
    kernel.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// Closes the window (so that plugins stop cleanly) on SIGINT or SIGTERM.
fn watch_signals(ctx: &egui::Context) {
    let closer = ctx.clone();
    match signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    closer.send_viewport_cmd(egui::ViewportCommand::Close);
                    closer.request_repaint();
                }
            });
        }
        Err(e) => tracing::warn!("cannot watch for SIGTERM: {e}"),
    }
}
