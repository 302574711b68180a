//! The General page of Preferences: the shell's own choices (language, always on top,
//! the tray, alerts and their sounds), the desktop's (launch at startup, log in
//! automatically, default program associations) and the diagnostic logs.

use super::*;

/// Diagnostic logs on or off, and the SIP and XMPP levels: the `log_level` settings of
/// the plugins speaking them (changed through the kernel, so the plugins hear it; SMS
/// speaks XMPP too and follows chat's level).
pub(super) fn diagnostics_section(
    ui: &mut egui::Ui,
    kernel: Option<&Kernel>,
    prefs: &mut ShellPrefs,
    strings: &Strings,
) -> bool {
    const LEVELS: [(&str, &[&str]); 2] =
        [("sip-log-level", &["softphone"]), ("xmpp-log-level", &["chat", "sms"])];
    ui.separator();
    let changed = ui.checkbox(&mut prefs.diagnostic_logs, strings.t("diagnostic-logs")).changed();
    let Some(k) = kernel else { return changed };
    for (label, plugins) in LEVELS {
        let keys: Vec<String> = plugins
            .iter()
            .map(|p| format!("{p}.{}", ucdesk_plugin_api::contract::kernel::LOG_LEVEL_SETTING))
            .filter(|key| k.setting(key).ok().flatten().is_some())
            .collect();
        let Some(first) = keys.first() else { continue };
        let mut level = k.setting(first).ok().flatten().and_then(|v| v.as_u64()).unwrap_or(3) as u8;
        ui.horizontal(|ui| {
            let l = ui.label(strings.t(label));
            let slider = ui
                .add_enabled(prefs.diagnostic_logs, egui::Slider::new(&mut level, 1..=10))
                .labelled_by(l.id);
            if slider.changed() {
                for key in &keys {
                    if let Err(e) = k.set_setting(key, serde_json::json!(level)) {
                        tracing::warn!("{key}: {e}");
                    }
                }
            }
        });
    }
    changed
}

impl PrefsWindow {
    pub(super) fn general_page(
        &mut self,
        ui: &mut egui::Ui,
        prefs: &mut ShellPrefs,
        strings: &Strings,
        dir: &Path,
    ) -> bool {
        let before = prefs.clone();
        ui.separator();
        ui.horizontal(|ui| {
            let l = ui.label(strings.t("language"));
            egui::ComboBox::from_id_salt("language")
                .selected_text(prefs.language.as_str())
                .show_ui(ui, |ui| {
                    for lang in Strings::available(dir) {
                        ui.selectable_value(&mut prefs.language, lang.clone(), lang);
                    }
                })
                .response
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label(strings.t("language-file"));
            ui.text_edit_singleline(&mut self.language_file).labelled_by(l.id);
            if ui.button(strings.t("choose-file")).clicked() {
                let title = strings.t("add-language");
                self.language_dialog = Some(crate::render::files::open_file_dialog(&title, &["ftl".into()]));
            }
            let mut picked = false;
            if let Some(d) = self.language_dialog.as_mut() {
                d.show(ui.ctx());
                match d.state() {
                    egui_file::State::Open => {}
                    egui_file::State::Selected => {
                        if let Some(p) = d.path() {
                            self.language_file = p.display().to_string();
                            picked = true;
                        }
                        self.language_dialog = None;
                    }
                    egui_file::State::Closed | egui_file::State::Cancelled => self.language_dialog = None,
                }
            }
            if ui.button(strings.t("add-language")).clicked() || picked {
                match Strings::add_language(Path::new(self.language_file.trim()), dir) {
                    Ok(lang) => {
                        self.notes
                            .insert("language".into(), strings.t_args("language-added", &[("lang", &lang)]));
                        self.errors.remove("language");
                        prefs.language = lang;
                    }
                    Err(e) => {
                        self.errors.insert("language".into(), e.to_string());
                    }
                }
            }
        });
        self.feedback(ui, "language");
        ui.separator();
        ui.strong(strings.t("always-on-top"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut prefs.always_on_top, OnTop::Off, strings.t("always-on-top-off"));
            ui.radio_value(&mut prefs.always_on_top, OnTop::Calls, strings.t("always-on-top-calls"));
            ui.radio_value(
                &mut prefs.always_on_top,
                OnTop::CallsAndContacts,
                strings.t("always-on-top-main"),
            );
        });
        ui.separator();
        ui.checkbox(&mut prefs.confirm_external_calls, strings.t("confirm-external-calls"));
        ui.horizontal(|ui| {
            let l = ui.label(strings.t("tray-blink-seconds"));
            ui.add(egui::Slider::new(&mut prefs.tray_blink_seconds, 0..=300)).labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label(strings.t("update-feed"));
            ui.text_edit_singleline(&mut prefs.update_feed).labelled_by(l.id);
        });
        ui.separator();
        ui.strong(strings.t("alerts"));
        ui.checkbox(&mut prefs.bring_to_front_on_call, strings.t("bring-to-front"));
        ui.checkbox(&mut prefs.notify_calls, strings.t("notify-calls"));
        ui.checkbox(&mut prefs.notify_messages, strings.t("notify-messages"));
        ui.checkbox(&mut prefs.desktop_notifications, strings.t("desktop-notifications"));
        ui.checkbox(&mut prefs.notify_sign_in, strings.t("notify-sign-in"));
        ui.horizontal(|ui| {
            let l = ui.label(strings.t("call-alert-seconds"));
            ui.add(egui::Slider::new(&mut prefs.call_alert_seconds, 5..=15)).labelled_by(l.id);
        });
        ui.separator();
        ui.strong(strings.t("sounds"));
        ui.checkbox(&mut prefs.sound_sign_in, strings.t("sound-sign-in"));
        ui.checkbox(&mut prefs.sound_messages, strings.t("sound-messages"));
        ui.add_enabled(
            prefs.sound_messages,
            egui::Checkbox::new(&mut prefs.sound_always, strings.t("sound-always")),
        );
        for (sound, file, label) in [
            (crate::sounds::Sound::Message, &mut prefs.sound_message_file, "sound-message-file"),
            (crate::sounds::Sound::SignIn, &mut prefs.sound_sign_in_file, "sound-sign-in-file"),
        ] {
            ui.horizontal(|ui| {
                let l = ui.label(strings.t(label));
                ui.add(egui::TextEdit::singleline(file).hint_text(strings.t("sound-builtin")))
                    .labelled_by(l.id);
                if ui.button(strings.t("sound-preview")).clicked() {
                    match crate::sounds::Clip::load(sound, file) {
                        Ok(clip) => self.preview = Some((sound, clip)),
                        Err(e) => {
                            self.errors.insert(label.into(), e.to_string());
                        }
                    }
                }
            });
            self.feedback(ui, label);
        }
        *prefs != before
    }

    /// Launch at startup, log in automatically, default program associations.
    pub(super) fn desktop_section(
        &mut self,
        ui: &mut egui::Ui,
        desktop: &mut DesktopPrefs,
        strings: &Strings,
    ) {
        ui.checkbox(&mut desktop.autostart, strings.t("launch-at-startup"));
        if let Some(auto) = desktop.auto_login.as_mut() {
            ui.checkbox(auto, strings.t("log-in-automatically"));
        }
        // Its thread holds a second reference to the slot until it is done.
        let running = Arc::strong_count(&self.associations) > 1;
        if ui.add_enabled(!running, egui::Button::new(strings.t("set-default-programs"))).clicked() {
            let (slot, ctx) = (self.associations.clone(), ui.ctx().clone());
            let (exe, dir) = (desktop.exe.clone(), desktop.profile_dir.clone());
            std::thread::spawn(move || {
                let result = crate::desktop::make_default(&exe, dir.as_deref())
                    .map(|list| list.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
                    .map_err(|e| e.to_string());
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                ctx.request_repaint();
            });
        }
        match self.associations.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(Ok(changes)) => {
                ui.weak(changes);
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }
}
