//! Contacts as one plugin hands them to another.
//!
//! - [`ContactAddress`] (since plugin-api 1.5): what a dragged contact row carries, so the
//!   plugin it is dropped on never parses the source plugin's row ids; it also reaches
//!   a plugin's contributed contact action (1.10).
//! - [`Contact`] (since 1.8): a directory entry as a contact source holds it (a CRM's
//!   synced contacts today; phone books, Outlook and the roster as they arrive). A source
//!   serves its list as `<plugin>.contacts` (`-> [Contact]`, from its local copy, so it
//!   answers offline) and publishes [`TOPIC_UPDATED`] after each sync; the contacts
//!   directory merges the sources it hears.

use serde::{Deserialize, Serialize};

/// Who a dragged row (or a clicked "call" on a contact) is, by every address the source
/// knows. At least one of `number`, `sip`, `jid` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAddress {
    /// The display name, for the call window and history.
    #[serde(default)]
    pub name: String,
    /// A phone number or extension, as the source holds it (dialing rules apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A SIP URI (`sip:bob@example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<String>,
    /// An XMPP address (`bob@example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// Every number the source knows, labelled (since plugin-api 1.10), for actions
    /// that ask which one ("Send SMS" to a contact with a work and a mobile number);
    /// `number` stays the one a call dials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<PhoneNumber>,
}

impl ContactAddress {
    /// What a phone dials for this contact: the number, else the SIP URI, else the
    /// JID's user part (chat and phone accounts share user names on one PBX).
    pub fn dial_target(&self) -> Option<String> {
        let user = || self.jid.as_deref().and_then(|j| j.split('@').next()).filter(|u| !u.is_empty());
        self.number.clone().or_else(|| self.sip.clone()).or_else(|| user().map(str::to_string))
    }
}

/// A source synced its contacts ([`ContactsUpdated`]).
pub const TOPIC_UPDATED: &str = "contacts.updated";

/// One contact of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The source's own id (a CRM record id), unique within `source`.
    pub id: String,
    /// Which source holds it: the plugin id, and the system behind it after a colon
    /// (`crm:salesforce`).
    pub source: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub numbers: Vec<PhoneNumber>,
    #[serde(default)]
    pub emails: Vec<String>,
    /// Where the record opens in a browser, when the source has a web page for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A contact's number, as the source holds it, with its E.164 form when it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// `work`, `mobile`, `home`, `other`.
    pub label: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,
}

impl Contact {
    /// The address a call or a dragged row carries for this contact: its first number.
    pub fn address(&self) -> ContactAddress {
        ContactAddress {
            name: self.name.clone(),
            number: self.numbers.first().map(|n| n.number.clone()),
            numbers: self.numbers.clone(),
            ..Default::default()
        }
    }
}

impl super::Contract for Contact {
    const SCHEMA: &'static str = "contacts.contact/v1";
}

/// [`TOPIC_UPDATED`]: `source` now holds `count` contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsUpdated {
    pub source: String,
    pub count: usize,
}

impl super::Contract for ContactsUpdated {
    const SCHEMA: &'static str = "contacts.updated/v1";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dials_number_then_uri_then_jid_user() {
        let mut c =
            ContactAddress { name: "Bob".into(), jid: Some("bob@example.com".into()), ..Default::default() };
        assert_eq!(c.dial_target().as_deref(), Some("bob"));
        c.sip = Some("sip:bob@pbx".into());
        assert_eq!(c.dial_target().as_deref(), Some("sip:bob@pbx"));
        c.number = Some("201".into());
        assert_eq!(c.dial_target().as_deref(), Some("201"));
    }
}
