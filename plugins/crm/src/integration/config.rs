//! The CRM integration's settings (the manual's CRM preferences: Enable CRM integration,
//! Popup Options, Authentication, Logging options with "Use the settings from the
//! server"), declared once for the manifest and read into [`CrmConfig`]. Credentials are
//! secrets: in the keyring (or the sealed file), never in settings or logs.

use crate::crm::{Account, LogFields, Vendor};
use serde_json::json;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};

/// Secrets the Authentication options hold, by setting name.
pub const SECRETS: [&str; 4] = ["client_secret", "password", "api_token", "refresh_token"];
const DEFAULT_LOG: [&str; 5] = ["subject", "direction", "duration", "result", "notes"];

/// When a call is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogWhen {
    /// As soon as it ends.
    Ended,
    /// After the agent's notes or disposition arrive (`crm.log`), or the wrap-up time.
    WrapUp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmConfig {
    pub enabled: bool,
    pub vendor: Option<Vendor>,
    /// The word typed, for "not a CRM we know" in the panel.
    pub vendor_word: String,
    pub account: Account,
    /// ISO 3166 country that national numbers are read in.
    pub country: String,
    pub lookup_inbound: bool,
    pub lookup_outbound: bool,
    /// Open the record when a call matches one contact.
    pub pop_record: bool,
    pub log_calls: bool,
    pub log_unanswered: bool,
    pub log_when: LogWhen,
    pub wrapup: std::time::Duration,
    pub fields: LogFields,
    /// The Logging options came from the deployment policy.
    pub fields_from_server: bool,
    pub sync: bool,
    pub timeout: std::time::Duration,
    /// The browser sign-in's redirect port on 127.0.0.1 (0: any free one).
    pub redirect_port: u16,
}

pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    let text = |max| SettingKind::Text { max_len: Some(max) };
    let flag = |on: bool| Some(json!(on));
    let log = json!(DEFAULT_LOG);
    let mut m = m
        .setting("enabled", "Enable CRM integration", SettingKind::Bool, flag(false))
        .setting(
            "provider",
            "CRM",
            SettingKind::Enum { options: Vendor::ALL.iter().map(|v| v.as_str().to_string()).collect() },
            Some(json!("salesforce")),
        )
        .setting("base_url", "CRM address (instance, site or organization URL)", text(512), Some(json!("")))
        .setting("auth_url", "Sign-in server, when not the CRM's public one", text(512), Some(json!("")))
        .setting("web_url", "Where records open, when not the CRM address", text(512), Some(json!("")))
        .setting("client_id", "Client id (consumer key, application id)", text(256), Some(json!("")))
        .setting("username", "User name or e-mail", text(256), Some(json!("")))
        .setting(
            "redirect_port",
            "Sign-in redirect port on 127.0.0.1 (0: any; else the port the CRM's app allows)",
            SettingKind::Number { min: Some(0.0), max: Some(65535.0), integer: true },
            Some(json!(0)),
        )
        .setting("country", "Country of national numbers (ISO code such as US, GB)", text(2), Some(json!("")))
        .setting("lookup_inbound", "Look up inbound calls", SettingKind::Bool, flag(true))
        .setting("lookup_outbound", "Look up outbound calls", SettingKind::Bool, flag(true))
        .setting("pop_record", "Open the contact's record when a call matches", SettingKind::Bool, flag(true))
        .setting("log_calls", "Log calls in the CRM", SettingKind::Bool, flag(true))
        .setting("log_unanswered", "Log missed and unanswered calls too", SettingKind::Bool, flag(true))
        .setting(
            "log_when",
            "Log a call when it ends, or after the wrap-up (notes and disposition)",
            SettingKind::Enum { options: vec!["ended".into(), "wrapup".into()] },
            Some(json!("ended")),
        )
        .setting(
            "log_wrapup_seconds",
            "Wrap-up: seconds to wait for notes before logging without them",
            SettingKind::Number { min: Some(5.0), max: Some(3600.0), integer: true },
            Some(json!(120)),
        )
        .setting(
            "log_fields",
            "Log these details (subject, direction, duration, result, disposition, notes, recording)",
            SettingKind::List,
            Some(log.clone()),
        )
        .setting("log_use_server", "Use the settings from the server", SettingKind::Bool, flag(false))
        .setting(
            "server_log_fields",
            "The details the administrator logs (set by the policy)",
            SettingKind::List,
            Some(log),
        )
        .setting("sync_contacts", "Sync CRM contacts at start and daily", SettingKind::Bool, flag(true))
        .setting(
            "timeout_seconds",
            "Seconds to wait for the CRM (each of three attempts)",
            SettingKind::Number { min: Some(1.0), max: Some(60.0), integer: true },
            Some(json!(10)),
        );
    for name in SECRETS {
        let title = match name {
            "client_secret" => "Client secret",
            "password" => "Password",
            "api_token" => "API or security token",
            _ => "Refresh token",
        };
        m = m.setting(name, title, SettingKind::Secret, None);
    }
    m
}

impl CrmConfig {
    pub fn read(ctx: &Context) -> CrmConfig {
        let flag = |name: &str, default: bool| ctx.setting::<bool>(name).unwrap_or(default);
        let text = |name: &str| ctx.setting::<String>(name).unwrap_or_default();
        let secret = |name: &str| ctx.secret(name).ok().flatten().unwrap_or_default();
        let list = |name: &str| {
            ctx.setting::<Vec<String>>(name).unwrap_or_else(|| DEFAULT_LOG.map(String::from).to_vec())
        };
        let vendor_word = text("provider");
        let fields_from_server = flag("log_use_server", false);
        let fields =
            LogFields::from_names(&list(if fields_from_server { "server_log_fields" } else { "log_fields" }));
        let seconds = |name: &str, default: u64, max: u64| {
            std::time::Duration::from_secs(ctx.setting::<u64>(name).unwrap_or(default).clamp(1, max))
        };
        CrmConfig {
            enabled: flag("enabled", false),
            vendor: Vendor::parse(&vendor_word),
            vendor_word,
            account: Account {
                base_url: text("base_url"),
                auth_url: text("auth_url"),
                web_url: text("web_url"),
                client_id: text("client_id"),
                username: text("username"),
                client_secret: secret("client_secret"),
                password: secret("password"),
                api_token: secret("api_token"),
                refresh_token: secret("refresh_token"),
            },
            country: text("country"),
            lookup_inbound: flag("lookup_inbound", true),
            lookup_outbound: flag("lookup_outbound", true),
            pop_record: flag("pop_record", true),
            log_calls: flag("log_calls", true),
            log_unanswered: flag("log_unanswered", true),
            log_when: if text("log_when") == "wrapup" { LogWhen::WrapUp } else { LogWhen::Ended },
            wrapup: seconds("log_wrapup_seconds", 120, 3600),
            fields,
            fields_from_server,
            sync: flag("sync_contacts", true),
            timeout: seconds("timeout_seconds", 10, 60),
            redirect_port: ctx.setting::<u16>("redirect_port").unwrap_or(0),
        }
    }
}
