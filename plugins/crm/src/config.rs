//! The plugin's settings: declared once here for the manifest, read into [`Config`].
//! The call popup's names follow the manual's preferences (Modules -> Call Popup): one
//! block per event, each with its directions and silent mode.

use crate::macros::{self, Target, TemplateError};
use serde_json::json;
use ucdesk_sdk::contract::crm::PopupEvent;
use ucdesk_sdk::contract::phone::Direction;
use ucdesk_sdk::{Context, ManifestBuilder, SettingKind};

/// When the "Call started/answered" popup fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedWhen {
    /// As soon as the call exists: offered to us, or ringing at the far end.
    Ringing,
    /// When it is answered.
    Answered,
}

/// One event's popup, as the user set it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventPopup {
    /// The field as typed (URL or program with macros), empty when unset.
    pub field: String,
    pub inbound: bool,
    pub outbound: bool,
    /// Send the request without opening a browser (URLs only).
    pub silent: bool,
}

impl EventPopup {
    pub fn covers(&self, direction: Direction) -> bool {
        match direction {
            Direction::Inbound => self.inbound,
            Direction::Outbound => self.outbound,
        }
    }

    /// The field read, or `None` when it is empty.
    pub fn target(&self) -> Option<Result<Target, TemplateError>> {
        (!self.field.trim().is_empty()).then(|| macros::parse(&self.field))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub started: EventPopup,
    pub started_when: StartedWhen,
    pub finished: EventPopup,
    /// "Enable Queue/ERG URL Popup": a queue's URL replaces the user's for its calls.
    pub queue_popup: bool,
    /// Queue number -> URL template, from the deployment policy (`8001=https://...`).
    pub queue_urls: Vec<(String, String)>,
    /// An extra CA for HTTPS popups, and whether it is the only one trusted.
    pub tls_ca_file: String,
    pub tls_ca_pinned: bool,
    /// How long one silent request may take, answer included.
    pub timeout: std::time::Duration,
    /// Pages open in the app's own screen pop window, not the default browser.
    pub in_app: bool,
}

impl Config {
    pub fn event(&self, event: PopupEvent) -> &EventPopup {
        match event {
            PopupEvent::Started => &self.started,
            PopupEvent::Finished => &self.finished,
        }
    }

    /// The queue's URL template for a call from `queue`, when the queue popup is on.
    pub fn queue_url(&self, queue: Option<&str>) -> Option<&str> {
        let queue = queue?;
        self.queue_popup.then_some(())?;
        self.queue_urls.iter().find(|(q, _)| q == queue).map(|(_, url)| url.as_str())
    }

    /// Every `%word%` in the popup fields that is not a macro, with the field it is in.
    pub fn unknown_macros(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("Call started".to_string(), &self.started.field),
            ("Call finished".to_string(), &self.finished.field),
        ];
        fields.extend(self.queue_urls.iter().map(|(q, url)| (format!("Queue {q}"), url)));
        fields
            .into_iter()
            .flat_map(|(name, f)| macros::unknown(f).into_iter().map(move |m| (name.clone(), m)))
            .collect()
    }
}

pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    let flag = |on: bool| Some(json!(on));
    let url = || SettingKind::Text { max_len: Some(2048) };
    let event = |m: ManifestBuilder, key: &str, title: &str, inbound: bool| {
        m.setting(
            &format!("popup_{key}_url"),
            &format!("{title}: URL, or a program's full path, with macros such as %callerid%"),
            url(),
            Some(json!("")),
        )
        .setting(
            &format!("popup_{key}_inbound"),
            &format!("{title}: inbound calls"),
            SettingKind::Bool,
            flag(inbound),
        )
        .setting(
            &format!("popup_{key}_outbound"),
            &format!("{title}: outbound calls"),
            SettingKind::Bool,
            flag(false),
        )
        .setting(
            &format!("popup_{key}_silent"),
            &format!("{title}: silent mode (send the request without opening a browser)"),
            SettingKind::Bool,
            flag(false),
        )
    };
    let m = event(m, "started", "Call started/answered", true);
    let m = event(m, "finished", "Call finished", false);
    m.setting(
        "popup_started_when",
        "Call started/answered popup: when the call rings, or when it is answered",
        SettingKind::Enum { options: vec!["ringing".into(), "answered".into()] },
        Some(json!("ringing")),
    )
    .setting(
        "popup_in_app",
        "Show call popups and CRM records in the app's own window instead of the default browser",
        SettingKind::Bool,
        flag(false),
    )
    .setting(
        "popup_queue_url",
        "Enable Queue/ERG URL Popup. If enabled, application will use URL configured on server.",
        SettingKind::Bool,
        flag(false),
    )
    .setting(
        "queue_urls",
        "Queue/ERG popup URLs (queue=URL), set by the administrator",
        SettingKind::List,
        Some(json!([])),
    )
    .setting(
        "tls_ca_file",
        "Extra CA certificate (PEM) for HTTPS popups",
        SettingKind::Text { max_len: Some(4096) },
        Some(json!("")),
    )
    .setting("tls_ca_pinned", "Trust only that CA for HTTPS popups", SettingKind::Bool, flag(false))
    .setting(
        "popup_timeout_seconds",
        "Silent popups: seconds to wait for the server (each of three attempts)",
        SettingKind::Number { min: Some(1.0), max: Some(60.0), integer: true },
        Some(json!(10)),
    )
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        let flag = |name: &str, default: bool| ctx.setting::<bool>(name).unwrap_or(default);
        let text = |name: &str| ctx.setting::<String>(name).unwrap_or_default();
        let event = |key: &str, inbound: bool| EventPopup {
            field: text(&format!("popup_{key}_url")),
            inbound: flag(&format!("popup_{key}_inbound"), inbound),
            outbound: flag(&format!("popup_{key}_outbound"), false),
            silent: flag(&format!("popup_{key}_silent"), false),
        };
        let queue_urls = ctx
            .setting::<Vec<String>>("queue_urls")
            .unwrap_or_default()
            .iter()
            .filter_map(|line| line.split_once('='))
            .map(|(q, url)| (q.trim().to_string(), url.trim().to_string()))
            .collect();
        Config {
            started: event("started", true),
            started_when: match text("popup_started_when").as_str() {
                "answered" => StartedWhen::Answered,
                _ => StartedWhen::Ringing,
            },
            finished: event("finished", false),
            queue_popup: flag("popup_queue_url", false),
            queue_urls,
            tls_ca_file: text("tls_ca_file"),
            tls_ca_pinned: flag("tls_ca_pinned", false),
            timeout: std::time::Duration::from_secs(
                ctx.setting::<u64>("popup_timeout_seconds").unwrap_or(10).clamp(1, 60),
            ),
            in_app: flag("popup_in_app", false),
        }
    }
}
