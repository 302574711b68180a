//! The license document, its envelope, its canonical bytes and the edition table.

use crate::{Date, LicenseError};
use serde::{Deserialize, Deserializer, Serialize, de};
use serde_json::Value;
use std::{collections::BTreeMap, fmt};

/// Value of [`SignedLicense::format`].
pub const FORMAT: &str = "ucdesk-license/1";
/// Domain separation of license signatures.
const CONTEXT: &[u8] = b"ucdesk license v1\0";

/// A product edition (the manual's Office, Business, Agent and Supervisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    Office,
    Business,
    Agent,
    Supervisor,
}

/// Features each edition includes. Add-ons (`sms`, `meetings`, `omnichannel`, `dialer`)
/// are never implied: a license names them in `features`. Keep in step with
/// docs/admin-guide.md.
const OFFICE: &[&str] = &["softphone", "chat", "presence", "contacts", "headsets", "outlook", "call_popup"];
const BUSINESS: &[&str] = &["skype", "crm", "fax"];
const AGENT: &[&str] = &["contact_center", "agent"];
const SUPERVISOR: &[&str] = &["supervisor"];

impl Edition {
    /// Every feature the edition includes.
    pub fn features(self) -> Vec<&'static str> {
        let tiers: &[&[&str]] = match self {
            Edition::Office => &[OFFICE],
            Edition::Business => &[OFFICE, BUSINESS],
            Edition::Agent => &[OFFICE, BUSINESS, AGENT],
            Edition::Supervisor => &[OFFICE, BUSINESS, AGENT, SUPERVISOR],
        };
        tiers.iter().flat_map(|t| t.iter().copied()).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Office => "office",
            Edition::Business => "business",
            Edition::Agent => "agent",
            Edition::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a license grants. Field order here is the canonical order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseDocument {
    pub license_id: String,
    pub licensee: String,
    pub issued: Date,
    pub expires: Date,
    pub edition: Edition,
    /// Added to the edition's features.
    #[serde(default)]
    pub features: Vec<String>,
    /// E.g. `meeting_package`, `max_meeting_minutes`, `max_participants`, `seats`.
    #[serde(default, deserialize_with = "unique_keys")]
    pub limits: BTreeMap<String, Value>,
    /// When set, the license is only valid with this SIP/XMPP server domain.
    #[serde(default)]
    pub server_domain: Option<String>,
}

/// The file: the document, who signed it, and the signature of its canonical bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedLicense {
    pub format: String,
    pub key_id: String,
    pub signature: String,
    pub license: LicenseDocument,
}

/// The bytes that are signed: a context string and the document as compact JSON in
/// field order (limits sorted by key). Formatting of the file does not matter.
pub fn canonical_bytes(document: &LicenseDocument) -> Vec<u8> {
    let json = serde_json::to_vec(document).expect("a license document always serializes");
    [CONTEXT, &json].concat()
}

/// The edition's features plus the explicit ones, sorted and without repeats.
pub fn features_of(document: &LicenseDocument) -> Vec<String> {
    let mut all: Vec<String> = document.edition.features().into_iter().map(String::from).collect();
    all.extend(document.features.iter().cloned());
    all.sort();
    all.dedup();
    all
}

impl LicenseDocument {
    /// Whether the license grants `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        features_of(self).iter().any(|f| f == feature)
    }

    /// Dates (inclusive of `expires`) and server binding.
    pub fn check_validity(&self, today: Date, server_domain: Option<&str>) -> Result<(), LicenseError> {
        if today < self.issued {
            return Err(LicenseError::NotYetValid(self.issued));
        }
        if today > self.expires {
            return Err(LicenseError::Expired(self.expires));
        }
        if let (Some(expected), Some(actual)) = (&self.server_domain, server_domain)
            && !expected.eq_ignore_ascii_case(actual)
        {
            return Err(LicenseError::WrongBinding {
                expected: expected.clone(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

/// A map that refuses duplicate keys (serde would keep the last one silently).
fn unique_keys<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Value>, D::Error> {
    struct Unique;
    impl<'de> de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of limits")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, Value>()? {
                if out.contains_key(&k) {
                    return Err(de::Error::custom(format_args!("duplicate limit `{k}`")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}
