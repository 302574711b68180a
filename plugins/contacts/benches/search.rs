//! Directory search latency over 100,000 entries: our store's search (the trigram
//! index, favourites and name prefixes first, 50 answers) against a linear scan of the
//! same entries held in memory (lower-cased text, `contains`, then the same order and
//! limit: what a directory without an index does), in the same run.
//!
//! The entries are people with first and last names from small lists (so a common
//! first name matches a few thousand), a company out of 500, a department out of 12, a
//! work and a mobile number, an e-mail: the queries cover a full name, a common name, a
//! surname fragment, a company, a number's digits, a two-letter prefix and a miss.
//!
//! Run: `cargo bench -p ucdesk-plugin-contacts --bench search` (`DIRECTORY_ENTRIES=N`
//! for another size). The store is filled once and kept in the target dir.

use std::time::{Duration, Instant};
use ucdesk_plugin_contacts::merge::sort_key;
use ucdesk_plugin_contacts::store::{Query, Store};
use ucdesk_sdk::contract::contacts::{Contact, Entry, PhoneNumber};

const FIRST: &[&str] = &[
    "Ann", "Ben", "Carla", "David", "Eva", "Frank", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Luis",
    "Maria", "Nils", "Olga", "Peter", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Walt", "Xenia",
    "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Smith",
    "Novak",
    "Garcia",
    "Müller",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Silva",
    "Nakamura",
    "Okafor",
    "Larsen",
    "Petrov",
    "Haddad",
    "Fischer",
    "Moreau",
    "Costa",
    "Ivanova",
    "Nguyen",
    "Walsh",
    "Berg",
    "Horvat",
    "Schmidt",
    "Oliveira",
    "Kaya",
    "Lindqvist",
    "Murphy",
    "Tanaka",
    "Weber",
    "Andersen",
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Support",
    "Finance",
    "Engineering",
    "Operations",
    "Legal",
    "Marketing",
    "HR",
    "IT",
    "Logistics",
    "Procurement",
    "Research",
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("DIRECTORY_ENTRIES").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = std::path::Path::new(&target).join(format!("contacts-search-bench-v2-{n}.sqlite3"));
    let mut store = Store::open(&path).expect("store");
    if store.directory_len().unwrap_or(0) != n {
        let t = Instant::now();
        store.replace_source("ldap", &people(n), 1).expect("fill");
        let filled = t.elapsed();
        let t = Instant::now();
        store.rebuild("US", false).expect("merge");
        println!(
            "filled {n} records in {:.1} s, merged and indexed in {:.1} s",
            filled.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    let all = store.search(&Query { limit: Some(n), ..Default::default() }).expect("list");
    let scan = Scan::new(all);
    let queries =
        ["Olga Petrov", "maria", "kowal", "company 123", "1000142", "Yusuf Tan", "sv", "nothingmatches"];
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>8} {:>6}",
        "query", "ours p50", "ours p95", "scan p50", "scan p95", "ratio", "hits"
    );
    for q in queries {
        let query = Query { text: q.into(), limit: Some(50), ..Default::default() };
        let found = store.search(&query).expect("search");
        let hits = found.len();
        // The same people in the same order for one word of three letters or more (ours
        // takes shorter queries and several words as word prefixes, the scan as
        // substrings).
        if q.chars().count() >= 3 && !q.contains(' ') {
            let theirs: Vec<&str> = scan.search(q, 50).iter().map(|e| e.id.as_str()).collect();
            assert_eq!(found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), theirs, "{q}");
        }
        let ours = measure(50, || {
            store.search(&query).expect("search");
        });
        let theirs = measure(20, || {
            scan.search(q, 50);
        });
        println!(
            "{:<16} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>7.3}x {:>6}",
            q,
            ms(ours.0),
            ms(ours.1),
            ms(theirs.0),
            ms(theirs.1),
            ours.0.as_secs_f64() / theirs.0.as_secs_f64(),
            hits
        );
    }
}

/// The same entries, searched the obvious way.
struct Scan {
    rows: Vec<(String, String, Entry)>,
}

impl Scan {
    fn new(entries: Vec<Entry>) -> Scan {
        let rows = entries
            .into_iter()
            .map(|e| {
                let mut text = vec![e.name.to_lowercase()];
                text.extend([&e.company, &e.department].into_iter().flatten().map(|s| s.to_lowercase()));
                text.extend(e.emails.iter().map(|m| m.to_lowercase()));
                text.extend(
                    e.numbers.iter().map(|n| n.number.chars().filter(char::is_ascii_digit).collect()),
                );
                (sort_key(&e.name), text.join(" "), e)
            })
            .collect();
        Scan { rows }
    }

    fn search(&self, q: &str, limit: usize) -> Vec<&Entry> {
        let numberish = q.chars().any(|c| c.is_ascii_digit())
            && q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let needle: String = if numberish {
            q.chars().filter(char::is_ascii_digit).collect()
        } else {
            q.trim().to_lowercase()
        };
        let mut found: Vec<&(String, String, Entry)> =
            self.rows.iter().filter(|(_, text, _)| text.contains(&needle)).collect();
        found.sort_by(|a, b| {
            (!a.2.favorite, !a.0.starts_with(&needle), &a.0).cmp(&(
                !b.2.favorite,
                !b.0.starts_with(&needle),
                &b.0,
            ))
        });
        found.into_iter().take(limit).map(|(_, _, e)| e).collect()
    }
}

fn people(n: usize) -> Vec<Contact> {
    // A fixed xorshift: the same directory every run.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|i| {
            let first = FIRST[(next() % FIRST.len() as u64) as usize];
            let last = LAST[(next() % LAST.len() as u64) as usize];
            let number = |prefix: u64| format!("+1 555 {prefix:03} {:04}", i % 10_000);
            Contact {
                id: format!("u{i}"),
                source: "ldap".into(),
                name: format!("{first} {last}"),
                company: Some(format!("Company {}", next() % 500)),
                department: Some(DEPARTMENTS[(next() % DEPARTMENTS.len() as u64) as usize].into()),
                numbers: vec![
                    PhoneNumber {
                        label: "work".into(),
                        number: number(100 + (i / 10_000) as u64),
                        e164: None,
                    },
                    PhoneNumber {
                        label: "mobile".into(),
                        number: number(600 + (i / 10_000) as u64),
                        e164: None,
                    },
                ],
                emails: vec![format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase())],
                ..Default::default()
            }
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (p50, p95) of `runs` calls.
fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[(runs * 95 / 100).min(runs - 1)])
}
