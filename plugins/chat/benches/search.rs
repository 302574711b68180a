//! Local search latency over 1,000,000 stored messages: our FTS5 query against a plain
//! `LIKE` scan of the same table (what a store without a full-text index does), in the
//! same run. Both return the 100 newest matches.
//!
//! The messages are 4-15 words from a small vocabulary with a skewed frequency (so a
//! common word matches most messages), and a third of them carry a ticket number out of
//! 20,000 (so a ticket matches about 15): the two ends of what people search for.
//!
//! Run: `cargo bench -p ucdesk-plugin-chat --bench search` (`SEARCH_MESSAGES=N` for
//! another size). Filling the store takes about a minute; it is kept in the target
//! dir between runs.

use std::time::{Duration, Instant};
use ucdesk_plugin_chat::store::{Incoming, Store};
use ucdesk_sdk::contract::chat::{Direction, MessageState};

/// Words with a skewed frequency: real chat reuses a few words a lot.
const VOCABULARY: &[&str] = &[
    "the",
    "meeting",
    "report",
    "call",
    "customer",
    "lunch",
    "today",
    "tomorrow",
    "invoice",
    "please",
    "thanks",
    "project",
    "deadline",
    "review",
    "quarterly",
    "numbers",
    "budget",
    "team",
    "office",
    "holiday",
    "server",
    "ticket",
    "release",
    "update",
    "client",
    "contract",
    "schedule",
    "agenda",
    "notes",
    "draft",
    "approve",
    "shipping",
    "warehouse",
    "order",
    "delivery",
    "payment",
    "refund",
    "support",
    "escalate",
    "priority",
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("SEARCH_MESSAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = std::path::Path::new(&target).join(format!("chat-search-bench-v2-{n}.sqlite3"));
    let mut store = Store::open(&path).expect("store");
    let have = store.search("the", 1).map(|r| !r.1.is_empty()).unwrap_or(false);
    if !have {
        let t = Instant::now();
        fill(&mut store, n);
        println!("filled {n} messages in {:.1} s", t.elapsed().as_secs_f64());
    }
    let queries = [
        "invoice",
        "quarterly report",
        "\"budget review\"",
        "escalate priority ticket",
        "t4711",
        "t4711 invoice",
        "nothingmatches",
    ];
    println!(
        "{:<28} {:>10} {:>10} {:>12} {:>12} {:>8}",
        "query", "fts p50", "fts p95", "like p50", "like p95", "ratio"
    );
    for q in queries {
        let hits = store.search(q, 100).expect("search").1.len();
        let fts = measure(20, || {
            store.search(q, 100).expect("search");
        });
        let like = measure(5, || {
            store.search_by_scan(q, 100).expect("scan");
        });
        println!(
            "{:<28} {:>8.2}ms {:>8.2}ms {:>10.1}ms {:>10.1}ms {:>7.3}x {:>6}",
            q,
            ms(fts.0),
            ms(fts.1),
            ms(like.0),
            ms(like.1),
            fts.0.as_secs_f64() / like.0.as_secs_f64(),
            hits
        );
    }
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

fn fill(store: &mut Store, n: usize) {
    // A fixed xorshift: the same store every run.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = 1_600_000_000_000i64;
    store.begin().unwrap();
    for i in 0..n {
        let words = 4 + (next() % 12) as usize;
        let mut body: Vec<String> = (0..words)
            .map(|_| {
                // Squaring skews toward the front of the vocabulary.
                let r = (next() % 1000) as f64 / 1000.0;
                VOCABULARY[((r * r) * VOCABULARY.len() as f64) as usize].to_string()
            })
            .collect();
        if next() % 3 == 0 {
            body.push(format!("t{}", next() % 20_000));
        }
        let conversation = format!("user{}@lab", next() % 200);
        let id = format!("m{i}");
        store
            .insert(&Incoming {
                conversation: &conversation,
                id: &id,
                from: &conversation,
                body: &body.join(" "),
                ts_ms: start + i as i64 * 1000,
                direction: Direction::Inbound,
                state: MessageState::Delivered,
                archive_id: None,
                reply_to: None,
                forwarded_from: None,
                mentions_me: false,
            })
            .unwrap();
        if i % 50_000 == 49_999 {
            store.commit().unwrap();
            store.begin().unwrap();
        }
    }
    store.commit().unwrap();
}
