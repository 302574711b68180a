//! The chat plugin's settings: what the manifest declares, and the typed [`Config`]
//! the engine runs with. Every setting is read here, again on each change (lib.rs
//! reconfigures the engine then), so the engine never looks a setting up itself.

use serde_json::json;
use ucdesk_sdk::contract::presence::Status;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};
use ucdesk_xmpp::Account;

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
    ucdesk_xmpp::account::declare(m, "Chat")
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
            account: ucdesk_xmpp::account::read(ctx, "chat"),
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
}
