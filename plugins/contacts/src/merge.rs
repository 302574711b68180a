//! One person from many records: the directory's de-duplication. Two records from
//! *different* sources are the same person when they share a number (compared in
//! E.164, else by digits), an e-mail address or an XMPP address. Within one source each
//! person is held once, so a key that two records of the same source share (a company's
//! switchboard number on every CRM contact, a team mailbox) says nothing about who is
//! who and is not used for merging at all.
//!
//! The merged entry takes each field from the most trusted source that has it
//! (personal, then the central phone book over LDAP, then CardDAV, then the roster and
//! the other plugins), and every number and e-mail of every record, without repeats.

use std::collections::HashMap;
use ucdesk_sdk::contract::contacts::{
    Contact, Entry, PhoneNumber, SOURCE_CARDDAV, SOURCE_LDAP, SOURCE_PERSONAL,
};

/// A record as the store holds it: the source's contact and the user's marks on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub contact: Contact,
    pub favorite: bool,
    pub hidden: bool,
}

impl Record {
    /// `source/id`: how marks and entries name a record.
    pub fn member(&self) -> String {
        member(&self.contact.source, &self.contact.id)
    }
}

pub fn member(source: &str, id: &str) -> String {
    format!("{source}/{id}")
}

/// Lower ranks win a field.
fn rank(source: &str) -> u8 {
    match source {
        SOURCE_PERSONAL => 0,
        SOURCE_LDAP => 1,
        SOURCE_CARDDAV => 2,
        "chat" => 3,
        _ => 4,
    }
}

/// The keys a record is matched on: `n:` numbers, `e:` e-mails, `j:` XMPP addresses.
fn keys(c: &Contact, country: &str) -> Vec<String> {
    let mut keys: Vec<String> =
        c.numbers.iter().filter_map(|n| number_key(n, country)).map(|k| format!("n:{k}")).collect();
    keys.extend(c.emails.iter().map(|e| format!("e:{}", e.trim().to_lowercase())).filter(|k| k.len() > 2));
    keys.extend(c.jid.iter().map(|j| format!("e:{}", j.trim().to_lowercase())));
    keys.sort();
    keys.dedup();
    keys
}

/// A number's identity: E.164 when it parses, else its digits (an extension), none for
/// fewer than two digits.
pub fn number_key(n: &PhoneNumber, country: &str) -> Option<String> {
    if let Some(e) = n.e164.clone().or_else(|| ucdesk_numbers::e164(&n.number, country)) {
        return Some(e);
    }
    let digits: String = n.number.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 2).then_some(digits)
}

/// Merges `records` into entries, in the order of their best member's name.
pub fn merge(mut records: Vec<Record>, country: &str) -> Vec<Entry> {
    // Each number read once (libphonenumber's parse is the costly part of merging):
    // keys, entries and the number index use the E.164 form kept here.
    for num in records.iter_mut().flat_map(|r| r.contact.numbers.iter_mut()) {
        if num.e164.is_none() {
            num.e164 = ucdesk_numbers::e164(&num.number, country);
        }
    }
    let n = records.len();
    let keyed: Vec<Vec<String>> = records.iter().map(|r| keys(&r.contact, country)).collect();
    // Which records hold each key; keys two records of one source share are dropped.
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, ks) in keyed.iter().enumerate() {
        for k in ks {
            holders.entry(k.as_str()).or_default().push(i);
        }
    }
    let mut parent: Vec<usize> = (0..n).collect();
    // Each group's sources: two groups holding a record of the same source are two
    // people (the same source holds each person once), however they are linked.
    let mut groups_sources: Vec<Vec<&str>> =
        records.iter().map(|r| vec![r.contact.source.as_str()]).collect();
    // Keys in a fixed order, so the same records always merge the same way.
    let mut holders: Vec<(&str, Vec<usize>)> = holders.into_iter().collect();
    holders.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (_, rows) in &holders {
        if rows.len() < 2 {
            continue;
        }
        let mut sources: Vec<&str> = rows.iter().map(|&i| records[i].contact.source.as_str()).collect();
        sources.sort_unstable();
        if sources.windows(2).any(|w| w[0] == w[1]) {
            continue;
        }
        for w in rows.windows(2) {
            union(&mut parent, &mut groups_sources, w[0], w[1]);
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut entries: Vec<Entry> = groups
        .into_values()
        .map(|mut rows| {
            rows.sort_by_key(|&i| (rank(&records[i].contact.source), records[i].member()));
            entry(&rows.iter().map(|&i| &records[i]).collect::<Vec<_>>(), country)
        })
        .collect();
    entries.sort_by(|a, b| sort_key(&a.name).cmp(&sort_key(&b.name)).then_with(|| a.id.cmp(&b.id)));
    entries
}

/// How names sort and compare in searches: lower case.
pub fn sort_key(name: &str) -> String {
    name.to_lowercase()
}

/// One entry from its records, best first.
fn entry(rows: &[&Record], country: &str) -> Entry {
    let first = |f: &dyn Fn(&Contact) -> Option<String>| {
        rows.iter().find_map(|r| f(&r.contact).filter(|v| !v.is_empty()))
    };
    let mut numbers: Vec<PhoneNumber> = Vec::new();
    let mut seen_numbers = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    for r in rows {
        for num in &r.contact.numbers {
            let key = number_key(num, country).unwrap_or_else(|| num.number.clone());
            if !seen_numbers.contains(&key) {
                seen_numbers.push(key);
                numbers.push(num.clone());
            }
        }
        for e in &r.contact.emails {
            if !emails.iter().any(|x| x.eq_ignore_ascii_case(e)) {
                emails.push(e.clone());
            }
        }
        if !sources.contains(&r.contact.source) {
            sources.push(r.contact.source.clone());
        }
    }
    Entry {
        id: rows[0].member(),
        name: first(&|c| Some(c.name.clone()))
            .unwrap_or_else(|| numbers.first().map(|n| n.number.clone()).unwrap_or_default()),
        company: first(&|c| c.company.clone()),
        department: first(&|c| c.department.clone()),
        title: first(&|c| c.title.clone()),
        numbers,
        emails,
        jid: first(&|c| c.jid.clone()),
        avatar: first(&|c| c.avatar.clone()),
        url: first(&|c| c.url.clone()),
        members: rows.iter().map(|r| r.member()).collect(),
        sources,
        favorite: rows.iter().any(|r| r.favorite),
        hidden: rows.iter().any(|r| r.hidden),
        personal: rows.iter().find(|r| r.contact.source == SOURCE_PERSONAL).map(|r| r.contact.id.clone()),
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], sources: &mut [Vec<&str>], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra == rb || sources[ra].iter().any(|s| sources[rb].contains(s)) {
        return;
    }
    let (root, child) = (ra.min(rb), ra.max(rb));
    parent[child] = root;
    let moved = std::mem::take(&mut sources[child]);
    sources[root].extend(moved);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(source: &str, id: &str, name: &str, numbers: &[&str], emails: &[&str]) -> Record {
        Record {
            contact: Contact {
                id: id.into(),
                source: source.into(),
                name: name.into(),
                numbers: numbers
                    .iter()
                    .map(|n| PhoneNumber { label: "work".into(), number: n.to_string(), e164: None })
                    .collect(),
                emails: emails.iter().map(|e| e.to_string()).collect(),
                ..Default::default()
            },
            favorite: false,
            hidden: false,
        }
    }

    #[test]
    fn the_same_person_in_three_sources_is_one_entry_named_by_the_best_source() {
        let mut chat = rec("chat", "bob@lab.test", "bob", &[], &["bob@lab.test"]);
        chat.contact.jid = Some("bob@lab.test".into());
        chat.favorite = true;
        let records = vec![
            chat,
            rec("carddav", "c7", "Bobby", &["+1 (555) 010-0200"], &["Bob@Lab.test"]),
            rec("ldap", "u1", "Bob Builder", &["+15550100200", "201"], &[]),
        ];
        let entries = merge(records, "");
        assert_eq!(entries.len(), 1, "{entries:#?}");
        let e = &entries[0];
        assert_eq!(e.name, "Bob Builder");
        assert_eq!(e.id, "ldap/u1");
        assert_eq!(e.sources, ["ldap", "carddav", "chat"]);
        assert_eq!(e.numbers.len(), 2, "one +15550100200 however written, and 201");
        assert_eq!(e.numbers[0].e164.as_deref(), Some("+15550100200"));
        assert_eq!(e.emails, ["Bob@Lab.test"], "e-mails compare without case");
        assert!(e.favorite, "a mark on any record marks the person");
    }

    #[test]
    fn a_switchboard_number_many_records_of_one_source_share_merges_nobody() {
        let records = vec![
            rec("crm:zoho", "1", "Ann", &["+1 555 0100 000"], &[]),
            rec("crm:zoho", "2", "Ben", &["+1 555 0100 000"], &[]),
            rec("ldap", "x", "Reception", &["+1 555 0100 000"], &[]),
        ];
        assert_eq!(merge(records, "").len(), 3);
    }

    #[test]
    fn a_card_linking_two_phone_book_people_merges_it_with_one_of_them_only() {
        // The card has Ann's number and Ben's e-mail: Ann and Ben stay two people.
        let records = vec![
            rec("ldap", "a", "Ann", &["201"], &[]),
            rec("ldap", "b", "Ben", &[], &["ben@lab.test"]),
            rec("carddav", "c", "A. or B.", &["201"], &["ben@lab.test"]),
        ];
        let entries = merge(records, "");
        assert_eq!(entries.len(), 2, "{entries:#?}");
        assert!(entries.iter().all(|e| e.members.iter().filter(|m| m.starts_with("ldap/")).count() == 1));
    }

    #[test]
    fn national_numbers_meet_full_ones_in_the_accounts_country() {
        let records = vec![
            rec("personal", "p1", "Gran", &["020 7946 0018"], &[]),
            rec("ldap", "u9", "G", &["+44 20 7946 0018"], &[]),
        ];
        assert_eq!(merge(records.clone(), "GB").len(), 1);
        assert_eq!(merge(records, "").len(), 2, "without a country a national number is only digits");
    }
}
