//! The plugin manifest: what a plugin is, needs and contributes, read before it starts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A plugin's self-description. It crosses the ABI as JSON, so fields are added with
/// `#[serde(default)]` and old kernels ignore what they do not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Lowercase `[a-z][a-z0-9_]*`; must equal the id in the library's file name
    /// (`libucdesk_plugin_<id>.so`), so that policy can judge a file before loading it.
    pub id: String,
    /// Human name for menus and the plugin list.
    #[serde(default)]
    pub name: String,
    /// The plugin's own version.
    pub version: semver::Version,
    /// The plugin-api version the plugin was built with (filled in by the sdk).
    pub api_version: semver::Version,
    #[serde(default)]
    pub description: String,
    /// Other plugins that must be active before this one starts.
    #[serde(default)]
    pub requires: Vec<Dependency>,
    /// The license feature that unlocks the plugin (`None`: always available).
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub panels: Vec<PanelDecl>,
    #[serde(default)]
    pub settings: Vec<SettingDecl>,
    #[serde(default)]
    pub services: Vec<ServiceDecl>,
    /// Contract namespaces the plugin implements besides its own id (API 1.1). A
    /// namespace names a family of services any plugin may provide: `phone` is served
    /// by the softphone today and could be by a desk-phone driver tomorrow. Services are
    /// named `<id or provided namespace>.<verb>`; only one active plugin may provide a
    /// namespace.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Actions on contacts the plugin offers wherever the shell shows a contact (since
    /// API 1.10): the shell adds them to the context menu of every row that carries a
    /// contact, in any plugin's panel, so "Send SMS" reaches the phone's and chat's
    /// lists without either knowing the SMS module.
    #[serde(default)]
    pub contact_actions: Vec<ContactActionDecl>,
}

/// One contributed contact action. When the user picks it, the shell opens `panel` and
/// sends the plugin [`UiAction::ContactAction`](crate::view::UiAction) at widget
/// [`CONTACT_ACTION`](crate::view::CONTACT_ACTION) with the row's contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactActionDecl {
    /// Unique within the plugin.
    pub id: String,
    pub label: String,
    /// The plugin's panel that handles it (opened first).
    pub panel: String,
    /// Offered only for contacts with a phone number (SMS needs one).
    #[serde(default)]
    pub needs_number: bool,
    /// Offered only for contacts with an XMPP address (chat needs one; since 1.13).
    #[serde(default)]
    pub needs_jid: bool,
    /// One item per number, labelled with it, when the contact has several ("Call" →
    /// work, mobile); the picked number arrives as the contact's `number` (1.13).
    #[serde(default)]
    pub per_number: bool,
    /// Offered only when the row says the contact is (`Some(true)`) or is not
    /// (`Some(false)`) a favourite; a row that does not say counts as not (1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favorite: Option<bool>,
}

impl ContactActionDecl {
    /// An action on contacts, offered for every contact.
    pub fn new(id: &str, label: &str, panel: &str) -> Self {
        ContactActionDecl {
            id: id.into(),
            label: label.into(),
            panel: panel.into(),
            needs_number: false,
            needs_jid: false,
            per_number: false,
            favorite: None,
        }
    }
}

/// A dependency on another plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub id: String,
    /// A semver requirement such as `^1.2`.
    pub version: semver::VersionReq,
}

/// A panel the plugin contributes to the shell (a module tab, a quick list, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelDecl {
    /// Unique within the plugin.
    pub id: String,
    pub title: String,
    /// Name of an icon from the shell's icon set.
    #[serde(default)]
    pub icon: Option<String>,
    /// Where the shell puts the panel (API 1.4; older plugins' panels are modules).
    #[serde(default)]
    pub slot: PanelSlot,
}

/// The places of the main window a panel can fill (the manual's main window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelSlot {
    /// A module: a button on the module toolbar (the first six; the rest under the
    /// three dots) that opens the panel as a tab or in its own window.
    #[default]
    Module,
    /// The user card beside the avatar: the presence provider's status selector.
    UserCard,
    /// A quick list under the toolbar (contacts, favorites, recent).
    QuickList,
    /// The phone area at the bottom of the main window (dial pad, calls).
    Phone,
    /// A small item in the status bar (registration, chat connection).
    Status,
    /// A section of the Preferences window (since plugin-api 1.11): the panel's title
    /// names the page (plugins giving the same title share it, each section under the
    /// plugin's name: SMS's is "Messaging"); the plugin's settings are drawn there,
    /// followed by this view, for what is not a setting (an export button, a test
    /// sound).
    Preferences,
}

/// A service the plugin answers, named `<plugin id>.<verb>` or `<provided namespace>.<verb>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDecl {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// One setting on the plugin's preferences page; the key is `<plugin id>.<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingDecl {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(flatten)]
    pub kind: SettingKind,
    /// The value before anyone sets it (must fit `kind`; secrets have none).
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub help: String,
    /// Kept machine-wide when the admin enables shared configuration (all users of the
    /// computer share the login account, phone mode and edition).
    #[serde(default)]
    pub shared: bool,
    /// Which field of the shell's login wizard fills this setting (API 1.4), so one
    /// login (server, user, password) configures every plugin that needs an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginField>,
}

/// A field of the login wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginField {
    /// The server's address (`pbx.example.com`).
    Server,
    /// The user: an extension or the part of the e-mail before `@`.
    User,
    /// `user@server` (an XMPP address).
    Address,
    /// The password (a secret setting).
    Password,
    /// Advanced: the SIP proxy.
    Proxy,
    /// Advanced: the domain to look up SRV records in.
    SrvDomain,
}

/// The value shape of a setting, which is also how the shell draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettingKind {
    Bool,
    Number {
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        /// Whole numbers only.
        #[serde(default)]
        integer: bool,
    },
    Enum {
        options: Vec<String>,
    },
    Text {
        #[serde(default)]
        max_len: Option<usize>,
    },
    /// Stored in the OS keyring or the encrypted secret store, never in settings files.
    Secret,
    /// A list of strings.
    List,
    /// An audio or HID device id; `class` is e.g. `audio_input`.
    Device {
        class: String,
        /// A service answering `{"class": class}` with `[{"id", "name"}]`: the devices
        /// the preferences page offers (API 1.4). Without one the user types an id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        list: Option<String>,
    },
}

impl SettingDecl {
    /// Checks that `value` fits this setting, with a message a user can act on.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let wrong = |what: &str| Err(format!("expects {what}, got {value}"));
        match &self.kind {
            SettingKind::Bool => match value {
                Value::Bool(_) => Ok(()),
                _ => wrong("true or false"),
            },
            SettingKind::Number { min, max, integer } => {
                let Some(n) = value.as_f64() else {
                    return wrong("a number");
                };
                if *integer && n.fract() != 0.0 {
                    return wrong("a whole number");
                }
                if let Some(min) = min
                    && n < *min
                {
                    return Err(format!("must be at least {min}, got {n}"));
                }
                if let Some(max) = max
                    && n > *max
                {
                    return Err(format!("must be at most {max}, got {n}"));
                }
                Ok(())
            }
            SettingKind::Enum { options } => match value.as_str() {
                Some(s) if options.iter().any(|o| o == s) => Ok(()),
                _ => Err(format!("expects one of {}, got {value}", options.join(", "))),
            },
            SettingKind::Text { max_len } => match value.as_str() {
                Some(s) if max_len.is_some_and(|m| s.chars().count() > m) => {
                    Err(format!("is longer than {} characters", max_len.unwrap_or(0)))
                }
                Some(_) => Ok(()),
                None => wrong("text"),
            },
            SettingKind::Secret => Err("is a secret: use `ucdesk secret set`".into()),
            SettingKind::List => match value {
                Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
                _ => wrong("a list of strings"),
            },
            SettingKind::Device { .. } => match value.as_str() {
                Some(_) => Ok(()),
                None => wrong("a device id"),
            },
        }
    }
}

/// Whether `id` is a valid plugin id (also used for panel and setting names).
pub fn valid_plugin_id(id: &str) -> bool {
    let mut chars = id.chars();
    // `kernel` and `shell` name the host's own events, settings and secrets.
    !RESERVED_IDS.contains(&id)
        && matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && id.len() <= 64
}

/// Ids no plugin may take (API 1.4 added `shell`).
pub const RESERVED_IDS: [&str; 2] = ["kernel", "shell"];

/// A manifest that contradicts itself.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ManifestError {
    #[error("invalid manifest JSON: {0}")]
    Json(String),
    #[error(
        "invalid plugin id {0:?} (lowercase letters, digits and '_', starting with a letter; not kernel or shell)"
    )]
    BadId(String),
    #[error("service {service:?} must be named '{id}.<verb>' or '<provided namespace>.<verb>'")]
    BadService { id: String, service: String },
    #[error("invalid namespace {0:?} in provides (a valid id, not 'kernel', not the plugin's own id)")]
    BadNamespace(String),
    #[error("{what} {name:?} is declared twice")]
    Duplicate { what: &'static str, name: String },
    #[error("setting {name:?}: default {reason}")]
    BadDefault { name: String, reason: String },
    #[error("plugin {0:?} cannot depend on itself")]
    SelfDependency(String),
    #[error("contact action {action:?} names panel {panel:?}, which the plugin does not declare")]
    UnknownPanel { action: String, panel: String },
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn from_json(json: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_str(json).map_err(|e| ManifestError::Json(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks the rules a manifest must follow beyond its JSON shape.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !valid_plugin_id(&self.id) || self.id == "kernel" {
            // `kernel.*` topics and services belong to the kernel itself.
            return Err(ManifestError::BadId(self.id.clone()));
        }
        let mut seen = std::collections::HashSet::new();
        for ns in &self.provides {
            if !valid_plugin_id(ns) || ns == "kernel" || *ns == self.id {
                return Err(ManifestError::BadNamespace(ns.clone()));
            }
            if !seen.insert(("namespace", ns.as_str())) {
                return Err(ManifestError::Duplicate { what: "namespace", name: ns.clone() });
            }
        }
        for s in &self.services {
            let ok = s.name.split_once('.').is_some_and(|(ns, verb)| {
                !verb.is_empty() && (ns == self.id || self.provides.iter().any(|p| p == ns))
            });
            if !ok {
                return Err(ManifestError::BadService { id: self.id.clone(), service: s.name.clone() });
            }
            if !seen.insert(("service", s.name.as_str())) {
                return Err(ManifestError::Duplicate { what: "service", name: s.name.clone() });
            }
        }
        for p in &self.panels {
            if !valid_plugin_id(&p.id) {
                return Err(ManifestError::BadId(p.id.clone()));
            }
            if !seen.insert(("panel", p.id.as_str())) {
                return Err(ManifestError::Duplicate { what: "panel", name: p.id.clone() });
            }
        }
        for s in &self.settings {
            if !valid_plugin_id(&s.name) {
                return Err(ManifestError::BadId(s.name.clone()));
            }
            if !seen.insert(("setting", s.name.as_str())) {
                return Err(ManifestError::Duplicate { what: "setting", name: s.name.clone() });
            }
            if let Some(d) = &s.default {
                s.check(d).map_err(|reason| ManifestError::BadDefault { name: s.name.clone(), reason })?;
            }
        }
        for a in &self.contact_actions {
            if !valid_plugin_id(&a.id) {
                return Err(ManifestError::BadId(a.id.clone()));
            }
            if !seen.insert(("contact action", a.id.as_str())) {
                return Err(ManifestError::Duplicate { what: "contact action", name: a.id.clone() });
            }
            if !self.panels.iter().any(|p| p.id == a.panel) {
                return Err(ManifestError::UnknownPanel { action: a.id.clone(), panel: a.panel.clone() });
            }
        }
        if self.requires.iter().any(|d| d.id == self.id) {
            return Err(ManifestError::SelfDependency(self.id.clone()));
        }
        Ok(())
    }

    /// The declared setting called `name`.
    pub fn setting(&self, name: &str) -> Option<&SettingDecl> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            id: "hello".into(),
            name: "Hello".into(),
            version: "1.0.0".parse().unwrap(),
            api_version: "1.0.0".parse().unwrap(),
            description: String::new(),
            requires: vec![],
            feature: None,
            panels: vec![],
            settings: vec![],
            services: vec![ServiceDecl { name: "hello.greet".into(), description: String::new() }],
            provides: vec![],
            contact_actions: Vec::new(),
        }
    }

    #[test]
    fn provided_namespaces_name_services() {
        let mut m = manifest();
        m.services.push(ServiceDecl { name: "phone.dial".into(), description: String::new() });
        assert!(matches!(m.validate(), Err(ManifestError::BadService { .. })));
        m.provides.push("phone".into());
        assert_eq!(m.validate(), Ok(()));
        for bad in ["kernel", "hello", "Phone"] {
            let mut m = manifest();
            m.provides.push(bad.into());
            assert!(matches!(m.validate(), Err(ManifestError::BadNamespace(_))), "{bad}");
        }
        m.provides.push("phone".into());
        assert!(matches!(m.validate(), Err(ManifestError::Duplicate { what: "namespace", .. })));
    }

    #[test]
    fn services_must_be_namespaced() {
        let mut m = manifest();
        m.services.push(ServiceDecl { name: "other.greet".into(), description: String::new() });
        assert!(matches!(m.validate(), Err(ManifestError::BadService { .. })));
        let mut m = manifest();
        m.services[0].name = "hello.".into();
        assert!(m.validate().is_err());
    }

    #[test]
    fn ids_are_checked() {
        for bad in ["", "Hello", "1x", "a-b", "a b"] {
            assert!(!valid_plugin_id(bad), "{bad}");
        }
        for good in ["a", "hello", "call_center2"] {
            assert!(valid_plugin_id(good), "{good}");
        }
    }

    #[test]
    fn setting_values_are_checked() {
        let s = SettingDecl {
            name: "auto_answer_delay".into(),
            label: String::new(),
            kind: SettingKind::Number { min: Some(1.0), max: Some(100.0), integer: true },
            default: Some(15.into()),
            help: String::new(),
            shared: false,
            login: None,
        };
        assert!(s.check(&15.into()).is_ok());
        assert!(s.check(&0.into()).unwrap_err().contains("at least 1"));
        assert!(s.check(&101.into()).unwrap_err().contains("at most 100"));
        assert!(s.check(&serde_json::json!(1.5)).unwrap_err().contains("whole"));
        assert!(s.check(&"x".into()).is_err());
        let mut m = manifest();
        m.settings.push(SettingDecl { default: Some(500.into()), ..s });
        assert!(matches!(m.validate(), Err(ManifestError::BadDefault { .. })));
    }

    #[test]
    fn setting_kind_round_trips_as_flat_json() {
        let json = r#"{"name":"mode","type":"enum","options":["a","b"],"default":"a"}"#;
        let s: SettingDecl = serde_json::from_str(json).unwrap();
        assert_eq!(s.kind, SettingKind::Enum { options: vec!["a".into(), "b".into()] });
        assert!(s.check(&"c".into()).is_err());
    }
}
