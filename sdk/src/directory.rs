//! The contacts directory as a plugin sees it: the `contacts` plugin's merged, indexed
//! directory (`contacts.search`, with the phone books) when it runs, else every
//! contact source's `<plugin>.contacts` (`contract::contact`), found through the
//! kernel's `kernel.services` so the order plugins started in does not matter, searched
//! by name, company or number. Blocking: run it off an engine's event loop.

use crate::Context;
use std::time::Duration;
use ucdesk_plugin_api::contract::contact::{Contact, Entry, SEARCH as DIRECTORY_SEARCH};
use ucdesk_plugin_api::contract::kernel::{SERVICES, ServiceQuery};

/// How long one source may take to hand over its contacts (they answer from a local
/// copy, so this is generous).
const SOURCE_TIMEOUT: Duration = Duration::from_secs(3);

/// The contact sources the other active plugins run (their `.contacts` services).
pub fn sources(ctx: &Context) -> Vec<String> {
    let query = ServiceQuery { suffix: Some(".contacts".into()) };
    ctx.call::<_, Vec<String>>(SERVICES, &query).unwrap_or_else(|e| {
        ctx.debug(format!("cannot list the contact sources: {e}"));
        Vec::new()
    })
}

/// Every source's contacts that match `query` (see [`matches`]) and that `keep` wants
/// (SMS: those with a number), at most `limit`, in source order. A source that fails
/// is skipped (and logged).
pub fn search(ctx: &Context, query: &str, limit: usize, keep: impl Fn(&Contact) -> bool) -> Vec<Contact> {
    let mut found = Vec::new();
    if query.trim().is_empty() {
        return found;
    }
    let ask = serde_json::json!({ "query": query, "limit": limit.saturating_mul(4).max(50) });
    match ctx.call_timeout::<_, Vec<Entry>>(DIRECTORY_SEARCH, &ask, SOURCE_TIMEOUT) {
        Ok(entries) => {
            return entries.iter().map(Entry::to_contact).filter(|c| keep(c)).take(limit).collect();
        }
        Err(e) => ctx.debug(format!("no contacts directory ({e}): asking each source")),
    }
    for service in sources(ctx) {
        match ctx.call_timeout::<_, Vec<Contact>>(&service, &serde_json::Value::Null, SOURCE_TIMEOUT) {
            Ok(contacts) => found.extend(contacts.into_iter().filter(|c| matches(c, query) && keep(c))),
            Err(e) => ctx.debug(format!("contacts of {service}: {e}")),
        }
        if found.len() >= limit {
            break;
        }
    }
    found.truncate(limit);
    found
}

/// Whether a contact matches what the user typed: every word in the name or company
/// (any case), or, for a query of three digits or more, those digits in a number
/// (`555 0301` finds `+1-555-555-0301`).
pub fn matches(c: &Contact, query: &str) -> bool {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let text = format!("{} {}", c.name, c.company.as_deref().unwrap_or_default()).to_lowercase();
    if !words.is_empty() && words.iter().all(|w| text.contains(w.as_str())) {
        return true;
    }
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let wanted = digits(query);
    wanted.len() >= 3
        && query.chars().all(|ch| ch.is_ascii_digit() || " +-.()".contains(ch))
        && c.numbers.iter().any(|n| digits(&n.number).contains(&wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ucdesk_plugin_api::contract::contact::PhoneNumber;

    #[test]
    fn names_companies_and_numbers_match() {
        let c = Contact {
            name: "Bob Builder".into(),
            company: Some("Acme".into()),
            numbers: vec![PhoneNumber { label: "work".into(), number: "+1-555-555-0301".into(), e164: None }],
            ..Default::default()
        };
        assert!(matches(&c, "builder"));
        assert!(matches(&c, "bob acme"));
        assert!(matches(&c, "555 0301"));
        assert!(!matches(&c, "alice"));
        assert!(!matches(&c, "55"), "two digits are too few");
        assert!(!matches(&c, "bob 0301"), "a name and a number are not mixed");
    }
}
