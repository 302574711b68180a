//! The CRM contract: call popups as the `crm` plugin fires them (since plugin-api 1.7),
//! and its CRM integration (since 1.8; the browser sign-in 1.9): the contacts a call's
//! number matched, calls logged, lookups, searches and syncs. Other plugins (a call-center agent panel, the
//! call window) learn who is calling and what was logged without a CRM client of their
//! own; the agent plugin hands its disposition and notes over with [`LOG`].

use super::Contract;
use super::contact::Contact;
use super::phone::Direction;
use serde::{Deserialize, Serialize};

/// A popup fired for a call ([`Popup`]): once per event, after it was opened, sent, run
/// or gave up.
pub const TOPIC_POPUP: &str = "crm.popup";

/// Service names of the `crm` namespace.
pub const STATUS: &str = "crm.status";
/// The popups fired lately, newest first (`-> [Popup]`).
pub const POPUPS: &str = "crm.popups";
/// `{number} -> Match`: the CRM's contacts with that number.
pub const LOOKUP: &str = "crm.lookup";
/// `{query} -> [Contact]`: the CRM's contacts by name, e-mail or number.
pub const SEARCH: &str = "crm.search";
/// `{id} -> {url}`: opens the record (browser or the in-app view) and says where.
pub const OPEN: &str = "crm.open";
/// `{callid, notes?, disposition?} -> Logged`: logs a call that ended, now, with the
/// agent's notes and disposition (when calls wait for them: `crm.log_when`).
pub const LOG: &str = "crm.log";
/// `-> {contacts, pages}`: fetches every contact again (also daily and at start).
pub const SYNC: &str = "crm.sync";
/// `-> [Contact]`: the synced contacts (the contacts-source convention).
pub const CONTACTS: &str = "crm.contacts";
/// `-> {vendor, url, redirect, wait_seconds, notice?}` (since 1.9): opens the CRM's
/// sign-in page in the system browser and answers at once; the sign-in ends when the
/// browser comes back (`STATUS`: `crm.signing_in` until then, `crm.connected` after,
/// or `crm.sign_in_failed` with the reason).
pub const SIGN_IN: &str = "crm.sign_in";

/// A call's number was looked up ([`Match`]).
pub const TOPIC_MATCH: &str = "crm.match";
/// A call was logged in the CRM, or logging it failed ([`Logged`]).
pub const TOPIC_LOGGED: &str = "crm.logged";

/// Who a number is in the CRM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The call it was looked up for (none for `crm.lookup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callid: Option<String>,
    /// The number as the call or the caller gave it.
    pub number: String,
    /// Its E.164 form, when it is a full number (`crm.country` for national ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,
    /// Which CRM (`salesforce`, `sugar`, `zoho`, `dynamics`, `bullhorn`, `zendesk`).
    pub vendor: String,
    /// Every contact with the number; none is a "no match".
    pub contacts: Vec<Contact>,
    /// The one the call is about: the only match, or the one the user picked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
    /// Why the lookup failed (the CRM did not answer, the answer was unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
impl Contract for Match {
    const SCHEMA: &'static str = "crm.match/v1";
}

/// A call's log in the CRM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    pub callid: String,
    pub vendor: String,
    /// The record the CRM made (a Task, a Call, a Note, a ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The contact it is logged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The fields that were written (`subject`, `direction`, `duration`, ...).
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
impl Contract for Logged {
    const SCHEMA: &'static str = "crm.logged/v1";
}

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
    /// Shown in the app's own screen pop window (`crm.popup_in_app`).
    Shown,
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
    /// Done, but not as asked: why the in-app window gave way to the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Unix seconds when it fired.
    pub at: i64,
}
impl Contract for Popup {
    const SCHEMA: &'static str = "crm.popup/v1";
}
