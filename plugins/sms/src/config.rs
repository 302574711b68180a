//! The SMS module's settings: the account (the same XMPP account as chat, declared
//! under `sms.*` so the login wizard fills both), `sms.enabled`, `sms.gateway` and
//! `sms.notify`, read into one typed [`Config`] on every change.

use serde_json::json;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};
use ucdesk_xmpp::Account;

/// Not `Debug`: the account holds the password.
#[derive(Clone)]
pub struct Config {
    pub account: Result<Account, String>,
    pub prefs: Prefs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prefs {
    /// `sms.enabled`: SMS on this desktop (Preferences -> Messaging).
    pub enabled: bool,
    /// `sms.gateway`, when set; None: discovered on the server.
    pub gateway: Option<String>,
    /// `sms.notify`: alerts for new SMS (off by default, as the manual says).
    pub notify: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs { enabled: true, gateway: None, notify: false }
    }
}

pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    ucdesk_xmpp::account::declare(m, "SMS")
        .setting("enabled", "Enable SMS on this desktop", SettingKind::Bool, Some(json!(true)))
        .setting(
            "gateway",
            "SMS gateway (empty: the server's gateway/sms component)",
            SettingKind::Text { max_len: Some(255) },
            Some(json!("")),
        )
        .setting("notify", "Alert me about new SMS", SettingKind::Bool, Some(json!(false)))
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        let d = Prefs::default();
        Config {
            account: ucdesk_xmpp::account::read(ctx, "sms"),
            prefs: Prefs {
                enabled: ctx.setting("enabled").unwrap_or(d.enabled),
                gateway: ctx
                    .setting::<String>("gateway")
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty()),
                notify: ctx.setting("notify").unwrap_or(d.notify),
            },
        }
    }
}
