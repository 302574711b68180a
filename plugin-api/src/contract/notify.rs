//! Notifications for the user: plugins say what happened, the shell decides how to show
//! it (an in-app toast, a desktop notification, bringing the window to front), following
//! the user's Alerts preferences. Plugins publish [`Notification`] on [`TOPIC`].

use super::Contract;
use serde::{Deserialize, Serialize};

/// Topic of [`Notification`] events.
pub const TOPIC: &str = "notify";

/// What kind of alert: the manual lets the inbound call alert last 5-15 s and gives
/// every other notification a fixed 5 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// An inbound call is ringing.
    IncomingCall,
    /// A new chat or SMS message.
    Message,
    /// A contact came online (since 1.13: its own kind, for its sound and option).
    SignIn,
    /// A contact came online, a call ended, someone joined a conference, ...
    #[default]
    Other,
}

/// One notification. A later one with the same `id` and `close: true` takes it down
/// (the call was answered elsewhere).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable per thing notified about (a call id, a conversation).
    pub id: String,
    #[serde(default)]
    pub kind: NotifyKind,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// The panel of the publishing plugin to open when the user clicks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<String>,
    /// The item to show in that panel (since plugin-api 1.5): on a click the shell opens
    /// the panel and sends the plugin [`UiAction::Opened`](crate::view::UiAction) with
    /// it at widget [`CLICKED`], so the plugin shows exactly that conversation or call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

/// The widget id at which a clicked notification's [`Target`] reaches its plugin.
pub const CLICKED: &str = "notification";

/// What a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    /// The plugin's own id of it (a conversation's address, a SIP Call-ID, ...).
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Conversation,
    Call,
    Voicemail,
    Fax,
    /// Anything else; the plugin knows what its id means.
    #[serde(other)]
    Other,
}

impl Contract for Notification {
    const SCHEMA: &'static str = "notify.notification/v1";
}
