//! The chat plugin's settings: what the manifest declares, and the typed [`Config`]
//! the engine runs with. Every setting is read here, again on each change (lib.rs
//! reconfigures the engine then), so the engine never looks a setting up itself.

use crate::connection::Account;
use crate::tls::TlsSettings;
use serde_json::json;
use tokio_xmpp::jid::BareJid;
use ucdesk_sdk::contract::presence::Status;
use ucdesk_sdk::{Context, LoginField, ManifestBuilder, SettingKind};

/// Everything the engine needs. Not `Debug`: the account holds the password, which
/// must never reach a log.
#[derive(Clone)]
pub struct Config {
    /// The account, or why there is none (shown as the connection's reason).
    pub account: Result<Account, String>,
    pub prefs: Prefs,
}

/// The settings that change what the engine does, not where it connects: a change
/// applies at once, without reconnecting.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefs {
    /// `chat.conference_domain`, when set (as typed); None: `conference.<domain>`.
    pub conference_domain: Option<String>,
    /// `chat.upload_service`, when set (as typed); None: `upload.<domain>`.
    pub upload_service: Option<String>,
    /// `chat.away_when_idle`: minutes of inactivity before away; 0 never.
    pub away_when_idle: u64,
    /// `chat.typing_notifications`: tell others when the user is typing.
    pub typing_notifications: bool,
    /// `chat.statuses`: the statuses the administrator added, label and status.
    pub custom_statuses: Vec<(String, Status)>,
}

/// What an unset setting means (also what the engine runs with before it is first
/// configured).
impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            conference_domain: None,
            upload_service: None,
            away_when_idle: 0,
            typing_notifications: true,
            custom_statuses: Vec::new(),
        }
    }
}

/// Declares the settings on the manifest under construction.
pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    let text = |max| SettingKind::Text { max_len: Some(max) };
    m.setting("jid", "Chat address (user@domain)", text(320), Some(json!("")))
        .setting("password", "Chat password", SettingKind::Secret, None)
        .login("jid", LoginField::Address)
        .login("password", LoginField::Password)
        .setting(
            "server",
            "Server (host[:port]; empty: the domain's SRV records)",
            text(255),
            Some(json!("")),
        )
        .setting("dns_server", "DNS server for SRV (ip[:port], empty: system)", text(64), Some(json!("")))
        .setting("tls_ca_file", "Extra CA certificate to trust (PEM file)", text(1024), Some(json!("")))
        .setting(
            "allow_insecure_tls",
            "Allow connecting with an insecure certificate",
            SettingKind::Bool,
            Some(json!(false)),
        )
        .setting("trusted_certificate", "Accepted certificate (SHA-256)", text(128), Some(json!("")))
        .setting(
            "conference_domain",
            "Group chat service (empty: conference.<domain>)",
            text(255),
            Some(json!("")),
        )
        .setting("upload_service", "File upload service (empty: upload.<domain>)", text(255), Some(json!("")))
        .setting(
            "away_when_idle",
            "Away from desktop when inactive for (minutes, 0: never)",
            SettingKind::Number { min: Some(0.0), max: Some(240.0), integer: true },
            Some(json!(0)),
        )
        .setting(
            "statuses",
            "Statuses the administrator adds (\"Label|away\", ...)",
            SettingKind::List,
            Some(json!([])),
        )
        .setting("typing_notifications", "Tell others when I am typing", SettingKind::Bool, Some(json!(true)))
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        // Blank means unset; a set value is used as typed (not trimmed).
        let service = |k: &str| ctx.setting::<String>(k).filter(|d| !d.trim().is_empty());
        Config {
            account: read_account(ctx),
            prefs: Prefs {
                conference_domain: service("conference_domain"),
                upload_service: service("upload_service"),
                away_when_idle: ctx.setting("away_when_idle").unwrap_or(0),
                typing_notifications: ctx.setting("typing_notifications").unwrap_or(true),
                custom_statuses: custom_statuses(&ctx.setting::<Vec<String>>("statuses").unwrap_or_default()),
            },
        }
    }
}

/// The account, or why there is none.
fn read_account(ctx: &Context) -> Result<Account, String> {
    let jid: String = ctx.setting("jid").unwrap_or_default();
    if jid.trim().is_empty() {
        return Err("no chat account: set chat.jid and chat.password".into());
    }
    let jid: BareJid = jid.trim().parse().map_err(|e| format!("chat.jid {jid:?} is not an address: {e}"))?;
    if jid.node().is_none() {
        return Err(format!("chat.jid {jid} has no user part (user@domain)"));
    }
    let password = ctx
        .secret("password")
        .map_err(|e| format!("cannot read the chat password: {e}"))?
        .ok_or_else(|| "no chat password: set the secret chat.password".to_string())?;
    let server: String = ctx.setting("server").unwrap_or_default();
    let server = if server.trim().is_empty() {
        None
    } else {
        Some(parse_server(server.trim(), jid.domain().as_str())?)
    };
    let allow_insecure: bool = ctx.setting("allow_insecure_tls").unwrap_or(false);
    let pinned: String = ctx.setting("trusted_certificate").unwrap_or_default();
    Ok(Account {
        jid,
        password,
        server,
        dns_server: ctx.setting::<String>("dns_server").unwrap_or_default().trim().to_string(),
        tls: TlsSettings {
            ca_file: ctx.setting("tls_ca_file").unwrap_or_default(),
            pinned: (allow_insecure && !pinned.is_empty()).then_some(pinned),
        },
    })
}

/// `chat.statuses` entries are `Label|status` (status one of available, away, busy,
/// dnd; a bare label means busy). Malformed entries are skipped.
fn custom_statuses(list: &[String]) -> Vec<(String, Status)> {
    list.iter()
        .filter_map(|e| {
            let (label, status) = e.split_once('|').unwrap_or((e.as_str(), "busy"));
            let status = match status.trim() {
                "available" => Status::Available,
                "away" => Status::Away,
                "busy" => Status::Busy,
                "dnd" => Status::Dnd,
                _ => return None,
            };
            let label = label.trim();
            (!label.is_empty()).then(|| (label.to_string(), status))
        })
        .collect()
}

/// `host`, `host:port` or `[v6]:port` (port 5222 when none is given).
fn parse_server(s: &str, domain: &str) -> Result<(String, u16), String> {
    if s.is_empty() {
        return Ok((domain.to_string(), 5222));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (
            h.trim_matches(['[', ']']),
            p.parse::<u16>().map_err(|_| format!("chat.server {s:?}: bad port"))?,
        ),
        _ => (s.trim_matches(['[', ']']), 5222),
    };
    if host.is_empty() {
        return Err(format!("chat.server {s:?} has no host"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    #[test]
    fn custom_statuses_are_label_and_status() {
        use super::custom_statuses as c;
        use ucdesk_sdk::contract::presence::Status;
        let list = ["In a meeting|busy", " Lunch | away ", "Focus", "|dnd", "Odd|sleeping"].map(String::from);
        assert_eq!(
            c(&list),
            [
                ("In a meeting".into(), Status::Busy),
                ("Lunch".into(), Status::Away),
                ("Focus".into(), Status::Busy)
            ]
        );
    }

    #[test]
    fn server_override_forms() {
        use super::parse_server as p;
        assert_eq!(p("", "lab").unwrap(), ("lab".into(), 5222));
        assert_eq!(p("127.0.0.1:5322", "lab").unwrap(), ("127.0.0.1".into(), 5322));
        assert_eq!(p("xmpp.lab", "lab").unwrap(), ("xmpp.lab".into(), 5222));
        assert_eq!(p("[::1]:5223", "lab").unwrap(), ("::1".into(), 5223));
        assert!(p("host:port", "lab").is_err());
    }
}
