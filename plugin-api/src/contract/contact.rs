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
//! - The directory (since 1.13): the `contacts` plugin merges every source with its own
//!   phone books (an LDAP central phone book, CardDAV address books, the personal phone
//!   book) into one de-duplicated list of [`Entry`]s that every panel searches, with the
//!   user's favourites and hidden users; its services are the `contacts.*` names below,
//!   its event [`TOPIC_CHANGED`]. `contract::contacts` is this module.

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
    /// Whether the user marked this contact a favourite, when the row's plugin knows
    /// (the directory's rows do; since 1.13): the shell offers "Add to" or "Remove from
    /// Favorites" by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub favorite: Option<bool>,
}

/// Contributed contact actions the shell knows by id: double-clicking a contact runs
/// the one `contacts.double_click` names (since 1.13), from whichever plugin offers it.
pub const ACTION_CALL: &str = "call";
pub const ACTION_CHAT: &str = "chat";
/// The setting (`call` or `chat`) that picks the double-click action.
pub const DOUBLE_CLICK_SETTING: &str = "contacts.double_click";

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
    /// The department (LDAP `ou`, vCard `ORG`'s unit), for the directory's filter (1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The contact's XMPP address, when the source knows it (1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// The contact's picture as a published image hash (`Context::publish_image`) (1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
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

/// Service names of the contacts directory (the `contacts` plugin, since plugin-api 1.13).
/// `{query, source?, department?, limit?} -> [Entry]`: by name, company, department,
/// number or e-mail; an empty query lists (favourites first, then by name); hidden
/// entries are left out.
pub const SEARCH: &str = "contacts.search";
/// `{id} -> Entry`.
pub const GET: &str = "contacts.get";
/// `{number} -> Entry | null`: who has this number (caller names, popups).
pub const LOOKUP: &str = "contacts.lookup";
/// `-> [Entry]`: the favourites, by name.
pub const FAVORITES: &str = "contacts.favorites";
/// `{id, on} -> Entry`.
pub const SET_FAVORITE: &str = "contacts.set_favorite";
/// `{id, on} -> Entry`: hide from the lists, or show again.
pub const HIDE: &str = "contacts.hide";
/// `-> [Entry]`: the hidden ones (the Hidden users dialog).
pub const HIDDEN: &str = "contacts.hidden";
/// `-> [Source]`: each phone book and contact source, with its count and last sync.
pub const SOURCES: &str = "contacts.sources";
/// `-> [string]`: the departments, for the filter.
pub const DEPARTMENTS: &str = "contacts.departments";
/// `{path} -> ImportReport`: a CSV file into the personal phone book.
pub const IMPORT_CSV: &str = "contacts.import_csv";
/// `{path} -> {path, contacts}`: the personal phone book as CSV.
pub const EXPORT_CSV: &str = "contacts.export_csv";
/// `{path} -> {path}`: an empty CSV with the columns an import reads.
pub const CSV_TEMPLATE: &str = "contacts.csv_template";
/// `PersonalContact -> Entry`: a new personal contact.
pub const ADD: &str = "contacts.add";
/// `PersonalContact (with id) -> Entry`.
pub const UPDATE: &str = "contacts.update";
/// `{id}`: a personal contact removed.
pub const REMOVE: &str = "contacts.remove";
/// `-> [Source]`: every phone book fetched again now.
pub const SYNC: &str = "contacts.sync";
/// The directory changed (a sync, an edit, a favourite): [`DirectoryChanged`].
pub const TOPIC_CHANGED: &str = "contacts.changed";

/// The directory's sources of its own (besides the plugins' `<plugin>.contacts`).
pub const SOURCE_LDAP: &str = "ldap";
pub const SOURCE_CARDDAV: &str = "carddav";
pub const SOURCE_PERSONAL: &str = "personal";

/// One person in the directory: every source's record of them merged (the same number,
/// e-mail or XMPP address is the same person).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The directory's id: stable while the person stays in any source.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Every source's numbers, without repeats (`e164` set when the number parses).
    #[serde(default)]
    pub numbers: Vec<PhoneNumber>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The records merged here, as `source/id` (`ldap/8f0c…`, `chat/bob@lab.test`).
    pub members: Vec<String>,
    /// The sources of those records, without repeats (`ldap`, `chat`, `crm:zoho`).
    pub sources: Vec<String>,
    #[serde(default)]
    pub favorite: bool,
    #[serde(default)]
    pub hidden: bool,
    /// The personal phone book's id when one of the records is personal (editable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<String>,
}

impl Entry {
    /// What a call, a drag or a contributed action carries for this person.
    pub fn address(&self) -> ContactAddress {
        ContactAddress {
            name: self.name.clone(),
            number: self.numbers.first().map(|n| n.number.clone()),
            jid: self.jid.clone(),
            numbers: self.numbers.clone(),
            favorite: Some(self.favorite),
            ..Default::default()
        }
    }
}

impl Entry {
    /// The entry as one contact (its directory id, its sources joined by `+`), for
    /// code written against [`Contact`].
    pub fn to_contact(&self) -> Contact {
        Contact {
            id: self.id.clone(),
            source: self.sources.join("+"),
            name: self.name.clone(),
            company: self.company.clone(),
            title: self.title.clone(),
            numbers: self.numbers.clone(),
            emails: self.emails.clone(),
            url: self.url.clone(),
            department: self.department.clone(),
            jid: self.jid.clone(),
            avatar: self.avatar.clone(),
        }
    }
}

impl super::Contract for Entry {
    const SCHEMA: &'static str = "contacts.entry/v1";
}

/// A phone book or contact source as the directory holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `ldap`, `carddav`, `personal`, or a plugin's source (`chat`, `crm:zoho`).
    pub source: String,
    pub contacts: usize,
    /// When it last synced (ms since the epoch); None: not yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_ms: Option<i64>,
    /// Why the last sync failed; the previous copy is kept and still searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// [`TOPIC_CHANGED`]: how many people the directory holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryChanged {
    pub entries: usize,
    /// The sources whose records changed.
    pub sources: Vec<String>,
}

impl super::Contract for DirectoryChanged {
    const SCHEMA: &'static str = "contacts.changed/v1";
}

/// A personal phone book contact as the user enters it (`contacts.add` without `id`,
/// `contacts.update` with it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub numbers: Vec<PhoneNumber>,
    #[serde(default)]
    pub emails: Vec<String>,
}

/// What `contacts.import_csv` did: rows imported, and each refused row with its line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported: usize,
    #[serde(default)]
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// The file's line number (1 is the header).
    pub line: u64,
    pub reason: String,
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
