//! The CRM contract (since plugin-api 1.7): call popups as the `crm` plugin fires them.
//! Other plugins (a call-center agent panel, a logger) learn what was opened or sent for
//! a call without reading the popup settings. The CRM integrations' services and the
//! contact match come with the CRM providers.

use super::Contract;
use super::phone::Direction;
use serde::{Deserialize, Serialize};

/// A popup fired for a call ([`Popup`]): once per event, after it was opened, sent, run
/// or gave up.
pub const TOPIC_POPUP: &str = "crm.popup";

/// Service names of the `crm` namespace.
pub const STATUS: &str = "crm.status";
/// The popups fired lately, newest first (`-> [Popup]`).
pub const POPUPS: &str = "crm.popups";

/// When in a call's life a popup fires (the manual's "Call started/answered" and
/// "Call finished").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopupEvent {
    Started,
    Finished,
}

impl PopupEvent {
    /// The word the JSON carries.
    pub fn as_str(self) -> &'static str {
        match self {
            PopupEvent::Started => "started",
            PopupEvent::Finished => "finished",
        }
    }
}

/// How a popup reached its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handed to the desktop's default browser.
    Opened,
    /// Silent mode: the request was sent and the server answered `status`.
    Sent,
    /// The program was started.
    Ran,
    /// Not done: `error` says why (after the retries, for silent requests).
    Failed,
}

/// One fired popup, on [`TOPIC_POPUP`] and in [`POPUPS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Popup {
    pub event: PopupEvent,
    pub callid: String,
    pub direction: Direction,
    /// The URL after the macros were substituted (URL popups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The program and its arguments after substitution (program popups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Vec<String>>,
    pub silent: bool,
    /// The URL is the queue's (the "Queue/ERG URL popup"), not the user's.
    #[serde(default)]
    pub from_queue: bool,
    pub outcome: Outcome,
    /// The HTTP status of a silent request's last answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Requests made (silent mode retries failed ones).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix seconds when it fired.
    pub at: i64,
}
impl Contract for Popup {
    const SCHEMA: &'static str = "crm.popup/v1";
}
