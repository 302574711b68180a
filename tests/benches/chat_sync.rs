//! History sync of a 10,000-message archive into a fresh home: ucdesk's chat plugin
//! (fetch, parse, store with the search index) against a bare tokio-xmpp client that
//! only fetches the same archive, same server, same page size, in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench chat_sync`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`). `SYNC_MESSAGES=N`
//! for another archive size.
//!
//! The archive is filled by a raw client (carol) while bob is online elsewhere, so the
//! messages are archived and delivered, not left in offline storage. ucdesk's time runs
//! from its `chat.connection` online event to its `chat.sync` done event; the bare
//! client's from its first query to the last page. Each is the median of 3 runs.

#[path = "bare_mam.rs"]
mod bare_mam;

use serde_json::Value;
use std::time::{Duration, Instant};
use ucdesk_tests::lab::{Prosody, RawXmpp, chat_profile};

async fn bare_fetch(x: &Prosody) -> (Duration, usize) {
    bare_mam::fetch(x, "bob", "bobpw").await
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("SYNC_MESSAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let x = Prosody::start();
    // Both stay connected until the archive holds everything: openssl forwards what
    // it was given only while it runs.
    let bob_elsewhere = RawXmpp::login(&x, "bob", "bobpw");
    let mut carol = RawXmpp::login(&x, "carol", "carolpw");
    for i in 0..n {
        carol.send(&format!(
            "<message to='bob@localhost' type='chat' id='fill{i}'><body>message {i}: the quarterly report numbers</body></message>"
        ));
    }
    // The CA for the bare client (rustls-native-certs reads SSL_CERT_FILE).
    unsafe { std::env::set_var("SSL_CERT_FILE", x.ca_file()) };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    // Prosody archives the burst at its own pace: wait until all of it is there.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, count) = rt.block_on(bare_fetch(&x));
        if count == n {
            break;
        }
        assert!(Instant::now() < deadline, "only {count} of {n} messages reached the archive");
        std::thread::sleep(Duration::from_secs(2));
    }
    drop((carol, bob_elsewhere));
    let mut bare = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..3 {
        let (t, count) = rt.block_on(bare_fetch(&x));
        assert_eq!(count, n, "the bare client fetched {count} of {n}");
        bare.push(t);
        ours.push(ucdesk_sync(&x, n));
    }
    bare.sort();
    ours.sort();
    let (b, o) = (bare[1], ours[1]);
    println!("MAM sync of {n} messages into a fresh home (median of 3)");
    println!("  bare tokio-xmpp fetch: {:>8.0} ms", b.as_secs_f64() * 1000.0);
    println!("  ucdesk (fetch + store + index): {:>8.0} ms", o.as_secs_f64() * 1000.0);
    println!("  ratio: {:.2}x", o.as_secs_f64() / b.as_secs_f64());
}

fn ucdesk_sync(x: &Prosody, n: usize) -> Duration {
    let bob = chat_profile(x, "bob");
    let d = bob.daemon_with_env(&[]);
    let events = ucdesk_tests::Lines::spawn(bob.command(&["events", "--topic", "chat."]));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut online = None;
    while Instant::now() < deadline {
        let Some(line) = events.next(Duration::from_millis(100)) else { continue };
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["topic"] == "chat.connection" && v["payload"]["state"] == "online" && online.is_none() {
            online = Some(Instant::now());
        }
        if v["topic"] == "chat.sync" && v["payload"]["done"] == true {
            let t = online.expect("online before the sync").elapsed();
            assert_eq!(v["payload"]["stored"].as_u64(), Some(n as u64), "{}", v["payload"]);
            drop(d);
            return t;
        }
    }
    panic!("ucdesk never finished the sync:\n{}", d.log());
}
