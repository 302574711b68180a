//! The synced contacts on disk (`crm-contacts.json` in the plugin's data directory), so
//! the contacts list and search work offline and at start before the CRM answers. Written
//! to a temporary file and renamed: a full disk or a crash leaves the last good copy.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ucdesk_sdk::contract::contact::Contact;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Synced {
    /// Which CRM they came from: another CRM's copy is not shown.
    pub vendor: String,
    /// Unix seconds of the sync.
    pub at: i64,
    pub pages: usize,
    pub contacts: Vec<Contact>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join("crm-contacts.json")
}

/// The copy for `vendor`, or none (no file, another CRM's, unreadable: said in `Err`).
pub fn load(file: &Path, vendor: &str) -> Result<Option<Synced>, String> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let synced: Synced = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is damaged ({e}); the next sync rewrites it", file.display()))?;
    Ok((synced.vendor == vendor).then_some(synced))
}

pub fn save(file: &Path, synced: &Synced) -> Result<(), String> {
    let tmp = file.with_extension("json.tmp");
    let bytes = serde_json::to_vec(synced).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, file)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot save the synced contacts in {}: {e}", file.display())
    })
}

/// Contacts whose name, company, e-mail or number holds `query` (offline search).
pub fn search<'a>(contacts: &'a [Contact], query: &str) -> Vec<&'a Contact> {
    let q = query.trim().to_lowercase();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    contacts
        .iter()
        .filter(|c| {
            c.name.to_lowercase().contains(&q)
                || c.company.as_deref().is_some_and(|x| x.to_lowercase().contains(&q))
                || c.emails.iter().any(|e| e.to_lowercase().contains(&q))
                || (digits.len() >= 3
                    && c.numbers.iter().any(|n| {
                        n.number.chars().filter(char::is_ascii_digit).collect::<String>().contains(&digits)
                    }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ucdesk_sdk::contract::contact::PhoneNumber;

    #[test]
    fn a_saved_copy_comes_back_for_its_crm_only_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        assert_eq!(load(&file, "zoho"), Ok(None));
        let jane = Contact {
            id: "1".into(),
            name: "Jane Doe".into(),
            numbers: vec![PhoneNumber { label: "work".into(), number: "(212) 555-0100".into(), e164: None }],
            ..Default::default()
        };
        let synced = Synced { vendor: "zoho".into(), at: 1, pages: 1, contacts: vec![jane] };
        save(&file, &synced).unwrap();
        assert_eq!(load(&file, "zoho"), Ok(Some(synced.clone())));
        assert_eq!(load(&file, "sugar"), Ok(None));
        assert_eq!(search(&synced.contacts, "jane").len(), 1);
        assert_eq!(search(&synced.contacts, "555-0100").len(), 1);
        assert!(search(&synced.contacts, "bob").is_empty());
        std::fs::write(&file, b"{\"vendor\": ").unwrap();
        assert!(load(&file, "zoho").unwrap_err().contains("damaged"));
    }
}
