//! Login profiles and the login wizard (the manual's first window): server address,
//! e-mail or extension, password, and under Advanced the SIP proxy and SRV domain.
//!
//! The shell knows no protocol. A login fills every plugin setting whose manifest marks
//! it with a [`LoginField`] (the softphone's server and user, the chat's address, both
//! passwords), so one login configures every plugin that needs an account. Profiles
//! live in `<config>/logins.json`; their passwords in the profile's secret store.

use crate::i18n::Strings;
use eframe::egui;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use ucdesk_kernel::{Kernel, PluginState};
use ucdesk_plugin_api::{LoginField, SettingDecl, SettingKind};

/// One login profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub name: String,
    pub server: String,
    /// An extension, a user name, or an e-mail address.
    pub user: String,
    #[serde(default)]
    pub proxy: String,
    #[serde(default)]
    pub srv_domain: String,
}

impl Login {
    /// The value of one wizard field for this login.
    pub fn field(&self, field: LoginField) -> String {
        let (local, domain) = match self.user.split_once('@') {
            Some((l, d)) => (l.to_string(), d.to_string()),
            None => (self.user.clone(), self.server.clone()),
        };
        match field {
            LoginField::Server => self.server.clone(),
            LoginField::User => local,
            LoginField::Address => format!("{local}@{domain}"),
            LoginField::Proxy => self.proxy.clone(),
            LoginField::SrvDomain => self.srv_domain.clone(),
            LoginField::Password => String::new(),
        }
    }
}

/// The stored profiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Logins {
    pub profiles: Vec<Login>,
    /// "Log in automatically next time": the profile to use without asking.
    #[serde(default)]
    pub auto_login: Option<String>,
    #[serde(default)]
    pub last: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{0}")]
    Missing(String),
    #[error("cannot store the login profiles in {path}: {source}")]
    Store { path: PathBuf, source: std::io::Error },
    #[error("{setting}: {reason}")]
    Setting { setting: String, reason: String },
    #[error("cannot keep the password: {0}")]
    Secret(String),
}

impl Logins {
    pub fn file(config: &Path) -> PathBuf {
        config.join("logins.json")
    }

    pub fn load(config: &Path) -> Logins {
        let path = Self::file(config);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!("{} is unreadable ({e}); kept aside as .broken", path.display());
                let _ = std::fs::rename(&path, path.with_extension("json.broken"));
                Logins::default()
            }),
            Err(_) => Logins::default(),
        }
    }

    pub fn save(&self, config: &Path) -> Result<(), LoginError> {
        let path = Self::file(config);
        let store = |source| LoginError::Store { path: path.clone(), source };
        std::fs::create_dir_all(config).map_err(store)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).expect("logins serialize")).map_err(store)?;
        std::fs::rename(&tmp, &path).map_err(store)
    }

    pub fn get(&self, name: &str) -> Option<&Login> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Adds or replaces (by name).
    pub fn put(&mut self, login: Login) {
        match self.profiles.iter_mut().find(|p| p.name == login.name) {
            Some(p) => *p = login,
            None => self.profiles.push(login),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.profiles.retain(|p| p.name != name);
        if self.auto_login.as_deref() == Some(name) {
            self.auto_login = None;
        }
        if self.last.as_deref() == Some(name) {
            self.last = None;
        }
    }
}

fn secret_name(profile: &str) -> String {
    format!("login.{profile}")
}

/// Remembers a profile's password.
pub fn keep_password(kernel: &Kernel, profile: &str, password: &str) -> Result<(), LoginError> {
    kernel.set_shell_secret(&secret_name(profile), password).map_err(|e| LoginError::Secret(e.to_string()))
}

pub fn forget_password(kernel: &Kernel, profile: &str) {
    let _ = kernel.delete_shell_secret(&secret_name(profile));
}

pub fn password(kernel: &Kernel, profile: &str) -> Option<String> {
    kernel.shell_secret(&secret_name(profile)).ok().flatten()
}

/// Every setting a discovered plugin marks with a login field, as `(the plugin's state,
/// key, declaration)`: what the functions below look at.
fn login_settings(kernel: &Kernel) -> Vec<(PluginState, String, SettingDecl)> {
    let mut out = Vec::new();
    for p in kernel.plugins() {
        let Some(m) = kernel.manifest(&p.id) else { continue };
        for s in m.settings.iter().filter(|s| s.login.is_some()) {
            out.push((p.state, format!("{}.{}", m.id, s.name), s.clone()));
        }
    }
    out
}

/// A setting that names the account (the user or the address).
fn is_account(s: &SettingDecl) -> bool {
    matches!(s.login, Some(LoginField::User | LoginField::Address))
}

/// A text setting's value, when it is set to something.
fn text_value(kernel: &Kernel, key: &str) -> Option<String> {
    kernel
        .setting(key)
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|v| !v.trim().is_empty())
}

/// Writes `login` into every setting a discovered plugin marks with a login field
/// (the kernel must have scanned). Returns how many settings it filled.
pub fn apply(kernel: &Kernel, login: &Login, password: Option<&str>) -> Result<usize, LoginError> {
    if login.server.trim().is_empty() || login.user.trim().is_empty() {
        return Err(LoginError::Missing("the server address and the user are needed".into()));
    }
    let mut filled = 0;
    for (_, key, s) in
        login_settings(kernel).into_iter().filter(|(state, _, _)| *state != PluginState::Locked)
    {
        if kernel.setting_locked(&key) {
            continue;
        }
        let setting = |reason: String| LoginError::Setting { setting: key.clone(), reason };
        match (&s.kind, s.login) {
            (SettingKind::Secret, _) => {
                if let Some(pw) = password {
                    kernel.set_secret(&key, pw).map_err(|e| setting(e.to_string()))?;
                    filled += 1;
                }
            }
            (_, Some(field)) => {
                kernel
                    .set_setting(&key, Value::String(login.field(field)))
                    .map_err(|e| setting(e.to_string()))?;
                filled += 1;
            }
            (_, None) => {}
        }
    }
    Ok(filled)
}

/// Whether any plugin the user has (not locked) takes an account from the login; with
/// none (only plugins without accounts) there is nothing to log in to.
pub fn needs_login(kernel: &Kernel) -> bool {
    login_settings(kernel).iter().any(|(state, _, s)| *state != PluginState::Locked && is_account(s))
}

/// Who is logged in, as the plugins' accounts say: `(user, address)` from the first
/// user and address settings that are set (e.g. `demo`, `demo@localhost`).
pub fn identity(kernel: &Kernel) -> Option<(String, String)> {
    let mut user = None;
    let mut address = None;
    for (_, key, s) in
        login_settings(kernel).into_iter().filter(|(state, _, _)| *state != PluginState::Locked)
    {
        match s.login {
            Some(LoginField::User) if user.is_none() => user = text_value(kernel, &key),
            Some(LoginField::Address) if address.is_none() => address = text_value(kernel, &key),
            _ => {}
        }
    }
    let address = address.or_else(|| user.clone())?;
    let user = user.unwrap_or_else(|| address.split('@').next().unwrap_or(&address).to_string());
    Some((user, address))
}

/// Whether some plugin already has an account (set up from the command line or by an
/// earlier login): then the shell starts without asking.
pub fn configured(kernel: &Kernel) -> bool {
    login_settings(kernel).iter().any(|(_, key, s)| is_account(s) && text_value(kernel, key).is_some())
}

/// What the user asked the login window for.
pub enum WizardAction {
    LogIn { login: Login, password: String, remember: bool },
}

/// The login window's memory.
#[derive(Default)]
pub struct Wizard {
    pub form: Login,
    pub password: String,
    pub remember: bool,
    /// Editing the form (a new or changed profile) rather than choosing one.
    pub editing: bool,
    pub chosen: Option<String>,
    pub error: Option<String>,
}

impl Wizard {
    pub fn new(logins: &Logins) -> Wizard {
        Wizard {
            editing: logins.profiles.is_empty(),
            chosen: logins.last.clone().or_else(|| logins.profiles.first().map(|p| p.name.clone())),
            form: Login { name: "Default".into(), ..Login::default() },
            ..Wizard::default()
        }
    }

    /// Draws the login window in `ui`; profile edits are saved as they happen.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        logins: &mut Logins,
        kernel: &Kernel,
        config: &Path,
        strings: &Strings,
    ) -> Option<WizardAction> {
        let mut action = None;
        ui.vertical_centered(|ui| {
            ui.add_space(24.0);
            ui.heading(strings.t("wizard-title"));
            ui.add_space(12.0);
        });
        if !self.editing && !logins.profiles.is_empty() {
            ui.label(strings.t("profile-choose"));
            let mut remove = None;
            for p in &logins.profiles {
                ui.horizontal(|ui| {
                    ui.radio_value(
                        &mut self.chosen,
                        Some(p.name.clone()),
                        format!("{} — {}@{}", p.name, p.user, p.server),
                    );
                    if ui.small_button(strings.t("profile-edit")).clicked() {
                        self.form = p.clone();
                        self.password.clear();
                        self.editing = true;
                    }
                    if ui.small_button(strings.t("profile-remove")).clicked() {
                        remove = Some(p.name.clone());
                    }
                });
            }
            if let Some(name) = remove {
                logins.remove(&name);
                forget_password(kernel, &name);
                self.report(logins.save(config));
            }
            ui.horizontal(|ui| {
                if ui.button(strings.t("profile-add")).clicked() {
                    self.form =
                        Login { name: format!("Profile {}", logins.profiles.len() + 1), ..Login::default() };
                    self.password.clear();
                    self.editing = true;
                }
                let chosen = self.chosen.as_deref().and_then(|c| logins.get(c)).cloned();
                if ui.add_enabled(chosen.is_some(), egui::Button::new(strings.t("wizard-login"))).clicked()
                    && let Some(login) = chosen
                {
                    let password = password(kernel, &login.name).unwrap_or_default();
                    action = Some(WizardAction::LogIn { login, password, remember: false });
                }
            });
        } else {
            egui::Grid::new("wizard").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
                field(ui, &strings.t("wizard-profile"), &mut self.form.name, false);
                field(ui, &strings.t("wizard-server"), &mut self.form.server, false);
                field(ui, &strings.t("wizard-user"), &mut self.form.user, false);
                field(ui, &strings.t("wizard-password"), &mut self.password, true);
            });
            egui::CollapsingHeader::new(strings.t("wizard-advanced")).id_salt("wizard-advanced").show(
                ui,
                |ui| {
                    egui::Grid::new("wizard-adv").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
                        field(ui, &strings.t("wizard-proxy"), &mut self.form.proxy, false);
                        field(ui, &strings.t("wizard-srv"), &mut self.form.srv_domain, false);
                    });
                },
            );
            ui.checkbox(&mut self.remember, strings.t("wizard-remember"));
            ui.horizontal(|ui| {
                if ui.button(strings.t("wizard-login")).clicked() {
                    let mut login = self.form.clone();
                    login.name = login.name.trim().to_string();
                    login.server = login.server.trim().to_string();
                    login.user = login.user.trim().to_string();
                    if login.server.is_empty() || login.user.is_empty() || login.name.is_empty() {
                        self.error = Some(strings.t("wizard-missing"));
                    } else {
                        action = Some(WizardAction::LogIn {
                            login,
                            password: self.password.clone(),
                            remember: self.remember,
                        });
                    }
                }
                if !logins.profiles.is_empty() && ui.button(strings.t("wizard-cancel")).clicked() {
                    self.editing = false;
                    self.error = None;
                }
            });
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        action
    }

    pub fn report<T, E: std::fmt::Display>(&mut self, r: Result<T, E>) {
        if let Err(e) = r {
            self.error = Some(e.to_string());
        }
    }
}

fn field(ui: &mut egui::Ui, label: &str, value: &mut String, password: bool) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).password(password).desired_width(260.0)).labelled_by(l.id);
    ui.end_row();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_login_fills_user_and_address() {
        let l = Login {
            name: "w".into(),
            server: "pbx.example.com".into(),
            user: "ada@example.com".into(),
            ..Login::default()
        };
        assert_eq!(l.field(LoginField::User), "ada");
        assert_eq!(l.field(LoginField::Address), "ada@example.com");
        let l = Login { user: "201".into(), ..l };
        assert_eq!(l.field(LoginField::Address), "201@pbx.example.com");
        assert_eq!(l.field(LoginField::Server), "pbx.example.com");
    }

    #[test]
    fn profiles_are_added_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut ls = Logins::default();
        ls.put(Login { name: "a".into(), ..Login::default() });
        ls.put(Login { name: "a".into(), server: "s".into(), ..Login::default() });
        ls.auto_login = Some("a".into());
        ls.save(dir.path()).unwrap();
        let mut back = Logins::load(dir.path());
        assert_eq!(back.profiles.len(), 1);
        assert_eq!(back.profiles[0].server, "s");
        back.remove("a");
        assert!(back.profiles.is_empty() && back.auto_login.is_none());
    }
}
