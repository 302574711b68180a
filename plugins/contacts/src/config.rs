//! The directory's settings (`contacts.*`): where the central phone book lives (LDAP
//! and/or a shared CardDAV address book), the personal CardDAV address book, and the
//! manual's Preferences -> Contacts -> General (double-click action, daily sync, E.164),
//! read into one typed [`Config`] on every change. Passwords are secrets (the keyring).

use crate::carddav::Book;
use crate::ldap::LdapConfig;
use serde_json::json;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};

/// Not `Debug`: the sources hold passwords.
#[derive(Clone, PartialEq)]
pub struct Config {
    pub ldap: Option<LdapConfig>,
    /// The shared (read-only) phone book.
    pub carddav: Option<Book>,
    /// The user's own address book, where personal contacts are also written.
    pub personal: Option<Book>,
    pub prefs: Prefs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    /// `contacts.double_click`: `call` or `chat`.
    pub double_click: String,
    /// `contacts.daily_sync`: fetch the phone books again every day, not only at login.
    pub daily_sync: bool,
    /// `contacts.e164`: show numbers in E.164 where they parse.
    pub e164: bool,
    /// `contacts.country`: the country national numbers are read in (ISO code).
    pub country: String,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs { double_click: "call".into(), daily_sync: false, e164: false, country: String::new() }
    }
}

fn text(max: usize) -> SettingKind {
    SettingKind::Text { max_len: Some(max) }
}

pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    m.setting("ldap_url", "Central phone book: LDAP server (ldap:// or ldaps://)", text(255), Some(json!("")))
        .setting("ldap_base", "Central phone book: base DN of the people", text(255), Some(json!("")))
        .setting(
            "ldap_bind_dn",
            "Central phone book: account DN (empty: anonymous)",
            text(255),
            Some(json!("")),
        )
        .setting("ldap_password", "Central phone book: account password", SettingKind::Secret, None)
        .setting(
            "ldap_filter",
            "Central phone book: search filter (empty: every person)",
            text(1024),
            Some(json!("")),
        )
        .setting(
            "ldap_starttls",
            "Central phone book: upgrade ldap:// with StartTLS",
            SettingKind::Bool,
            Some(json!(false)),
        )
        .setting(
            "ldap_ca_file",
            "Central phone book: extra CA certificate (PEM file)",
            text(1024),
            Some(json!("")),
        )
        .setting("carddav_url", "Shared phone book: CardDAV address book URL", text(1024), Some(json!("")))
        .setting("carddav_user", "CardDAV user name", text(255), Some(json!("")))
        .setting("carddav_password", "CardDAV password", SettingKind::Secret, None)
        .setting("carddav_ca_file", "CardDAV: extra CA certificate (PEM file)", text(1024), Some(json!("")))
        .setting(
            "personal_carddav_url",
            "Personal phone book: your CardDAV address book URL (empty: this computer only)",
            text(1024),
            Some(json!("")),
        )
        .setting(
            "double_click",
            "Default contact double-click action",
            SettingKind::Enum { options: vec!["call".into(), "chat".into()] },
            Some(json!("call")),
        )
        .setting("daily_sync", "Sync my contacts daily", SettingKind::Bool, Some(json!(false)))
        .setting("e164", "Convert contact numbers to E164 format", SettingKind::Bool, Some(json!(false)))
        .setting("country", "Country of national numbers (ISO code such as US, GB)", text(2), Some(json!("")))
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        let s = |name: &str| ctx.setting::<String>(name).map(|v| v.trim().to_string()).unwrap_or_default();
        let secret = |name: &str| ctx.secret(name).ok().flatten();
        let ldap = (!s("ldap_url").is_empty()).then(|| LdapConfig {
            url: s("ldap_url"),
            base: s("ldap_base"),
            bind_dn: s("ldap_bind_dn"),
            password: secret("ldap_password"),
            filter: s("ldap_filter"),
            starttls: ctx.setting("ldap_starttls").unwrap_or(false),
            ca_file: s("ldap_ca_file"),
        });
        let book = |url: String| {
            (!url.is_empty()).then(|| Book {
                url,
                user: s("carddav_user"),
                password: secret("carddav_password"),
                ca_file: s("carddav_ca_file"),
            })
        };
        let d = Prefs::default();
        Config {
            ldap,
            carddav: book(s("carddav_url")),
            personal: book(s("personal_carddav_url")),
            prefs: Prefs {
                double_click: ctx.setting("double_click").unwrap_or(d.double_click),
                daily_sync: ctx.setting("daily_sync").unwrap_or(d.daily_sync),
                e164: ctx.setting("e164").unwrap_or(d.e164),
                country: s("country").to_ascii_uppercase(),
            },
        }
    }
}
