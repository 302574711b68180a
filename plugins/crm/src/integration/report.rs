//! What the integration tells: its part of `crm.status` (state, counts, the sign-in)
//! and what the panel shows of it.

use super::Integration;
use crate::crm::Vendor;
use serde::Serialize;
use ucdesk_sdk::contract::contact::Contact;
use ucdesk_sdk::contract::crm::{Logged, Match};

/// The integration's part of `crm.status`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CrmStatus {
    pub enabled: bool,
    pub licensed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// A request has gone through since the settings last changed.
    pub connected: bool,
    /// Why the integration is off or failing, in words a user can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub contacts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<i64>,
    pub syncing: bool,
    pub lookups: usize,
    pub logged: usize,
    /// The CRM signs in through the browser (`crm.sign_in`).
    pub browser_sign_in: bool,
    /// A browser sign-in is waiting for the user.
    pub signing_in: bool,
    /// Why the last browser sign-in did not end well (the connection is as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_failed: Option<String>,
}

/// What the panel shows of the integration.
#[derive(Debug, Clone)]
pub struct View {
    pub status: CrmStatus,
    /// The calls in progress and their matches, newest first.
    pub matches: Vec<Match>,
    pub logged: Vec<Logged>,
    pub search: String,
    pub results: Result<Vec<Contact>, String>,
    /// The page the waiting browser sign-in opened, to open again.
    pub sign_in_page: Option<String>,
}

impl Default for View {
    fn default() -> View {
        View {
            status: CrmStatus::default(),
            matches: Vec::new(),
            logged: Vec::new(),
            search: String::new(),
            results: Ok(Vec::new()),
            sign_in_page: None,
        }
    }
}

impl Integration {
    pub fn status(&self) -> CrmStatus {
        CrmStatus {
            enabled: self.config.enabled,
            licensed: self.licensed,
            vendor: self.vendor().map(|v| v.as_str().to_string()),
            connected: self.connected,
            problem: self.problem.clone(),
            contacts: self.synced.contacts.len(),
            synced_at: (self.synced.at > 0).then_some(self.synced.at),
            syncing: self.syncing,
            lookups: self.lookups,
            logged: self.logs,
            browser_sign_in: self.vendor().is_some_and(Vendor::browser_sign_in),
            signing_in: self.signing_in.is_some(),
            sign_in_failed: self.sign_in_failed.clone(),
        }
    }

    pub fn view(&self) -> View {
        View {
            status: self.status(),
            matches: self.matches.iter().cloned().collect(),
            logged: self.logged.iter().cloned().collect(),
            search: self.search.0.clone(),
            results: self.search.1.clone(),
            sign_in_page: self.signing_in.clone(),
        }
    }
}
