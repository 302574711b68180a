//! How long chat is offline when the ejabberd cluster node it is on dies: from the kill
//! (SIGKILL of the node's VM) to the plugin's `chat.connection` online event on the
//! other node, found through the domain's SRV records. Each round is a fresh two-node
//! cluster (tests/lab/ejabberd.sh) on loopback.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench chat_failover`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`). `FAILOVER_ROUNDS=N`
//! for another number of rounds (default 5).
//!
//! No peer runs beside it: the clients in Debian that fail over by SRV (tokio-xmpp's
//! own `Client`, slixmpp) resolve through the system's resolver, which cannot be pointed
//! at the lab's DNS server without touching the machine.

use serde_json::Value;
use std::time::{Duration, Instant};
use ucdesk_tests::Lines;
use ucdesk_tests::lab::{Cluster, online_chat};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("FAILOVER_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut times: Vec<Duration> = (0..rounds).map(|_| round()).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("chat offline after its ejabberd cluster node is killed ({rounds} rounds)");
    println!("  p50: {:>8.0} ms", ms(times[times.len() / 2]));
    println!("  max: {:>8.0} ms", ms(*times.last().unwrap()));
}

fn round() -> Duration {
    let mut cluster = Cluster::start();
    let alice = cluster.srv_profile("alice");
    let (d, _) = online_chat(&alice);
    let events = Lines::spawn(alice.command(&["events", "--topic", "chat.connection"]));
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    cluster.first.kill();
    let deadline = killed + Duration::from_secs(120);
    let mut lost = false;
    while Instant::now() < deadline {
        let Some(line) = events.next(Duration::from_millis(50)) else { continue };
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let state = &v["payload"]["state"];
        lost |= state != "online";
        if lost && state == "online" {
            return killed.elapsed();
        }
    }
    panic!("alice never came back online:\n{}", d.log());
}
