//! A contact's addresses as one plugin hands them to another (since plugin-api 1.5):
//! what a dragged contact row carries, so the plugin it is dropped on never parses the
//! source plugin's row ids. The full directory contract comes with the contacts module.

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
}

impl ContactAddress {
    /// What a phone dials for this contact: the number, else the SIP URI, else the
    /// JID's user part (chat and phone accounts share user names on one PBX).
    pub fn dial_target(&self) -> Option<String> {
        let user = || self.jid.as_deref().and_then(|j| j.split('@').next()).filter(|u| !u.is_empty());
        self.number.clone().or_else(|| self.sip.clone()).or_else(|| user().map(str::to_string))
    }
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
