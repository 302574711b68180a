//! Call setup time through Kamailio to an auto-answering baresip bot: ucdesk's softphone
//! as the caller against baresip as the caller, interleaved in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench call_setup`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`).
//!
//! The clock is neutral: Kamailio (started with SIP_TIMING=1) logs, with microseconds,
//! when each call's first INVITE arrives and when the 200 OK to it passes back. On
//! loopback that is "INVITE sent -> 200 OK received" for the caller, and it includes
//! the digest challenge round (INVITE, 407, ACK, INVITE with credentials) that every
//! call through the lab proxy takes. Both callers dial the same bot, one call at a time,
//! alternating, so drift hits both alike.

use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use ucdesk_tests::lab::{Bot, Kamailio, next_event, registered_daemon, set, softphone_profile};
use ucdesk_tests::wait_for;

const CALLS: usize = 40;
const WAIT: Duration = Duration::from_secs(15);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let k = Kamailio::start_with(&[("SIP_TIMING", "1".into())]);
    let _bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "manual");
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    for key in ["softphone.audio_input", "softphone.audio_output"] {
        set(&p, key, "null");
    }
    let (d, events) = registered_daemon(&p, &[]);
    let next = |topic: &str| next_event(&events, topic, WAIT).unwrap_or_else(|| panic!("no {topic}"));
    let bob = format!("sip:bob@{}", k.addr());
    let count = |what: &str| carol.log().matches(what).count();

    for i in 0..CALLS {
        // ucdesk calls bob.
        let dialed = d.call("phone.dial", json!({"number": "bob"})).expect("dial");
        next("call.answered");
        d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
        next("call.ended");
        // baresip (carol) calls bob.
        carol.command("dial", &bob);
        wait_for(WAIT, || (count("Call established") > i).then_some(()))
            .unwrap_or_else(|| panic!("baresip call not answered:\n{}", carol.log()));
        carol.command("hangup", "");
        wait_for(WAIT, || (count("terminate call") > i).then_some(()))
            .unwrap_or_else(|| panic!("baresip call not ended:\n{}", carol.log()));
        std::thread::sleep(Duration::from_millis(50));
    }

    let (ours, theirs) = setup_times(&k.process.file("kamailio.log"));
    assert!(ours.len() >= CALLS && theirs.len() >= CALLS, "{} / {} timed calls", ours.len(), theirs.len());
    println!("call setup, INVITE -> 200 OK through Kamailio, {CALLS} calls each (ms)");
    println!("{:<10} {:>8} {:>8} {:>8}", "caller", "p50", "p90", "mean");
    let row = |name: &str, v: &[f64]| {
        println!("{name:<10} {:>8.2} {:>8.2} {:>8.2}", pct(v, 0.5), pct(v, 0.9), mean(v));
    };
    row("ucdesk", &ours);
    row("baresip", &theirs);
    println!(
        "ratio ucdesk/baresip: p50 {:.2}x, p90 {:.2}x, mean {:.2}x",
        pct(&ours, 0.5) / pct(&theirs, 0.5),
        pct(&ours, 0.9) / pct(&theirs, 0.9),
        mean(&ours) / mean(&theirs)
    );
}

/// Setup times in ms per caller from Kamailio's timing lines: ucdesk's Call-IDs end in
/// `@ucdesk`, baresip's do not. First INVITE and first 200 OK per Call-ID.
fn setup_times(log: &str) -> (Vec<f64>, Vec<f64>) {
    let mut invite: HashMap<&str, f64> = HashMap::new();
    let mut answer: HashMap<&str, f64> = HashMap::new();
    for line in log.lines() {
        let Some(rest) = line.split("timing ").nth(1) else { continue };
        let mut f = rest.split_whitespace();
        let (Some(kind), Some(callid), Some(t)) = (f.next(), f.next(), f.next()) else { continue };
        let Ok(t) = t.parse::<f64>() else { continue };
        let map = if kind == "invite" { &mut invite } else { &mut answer };
        map.entry(callid).or_insert(t);
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for (callid, start) in &invite {
        if let Some(end) = answer.get(callid) {
            let ms = (end - start) * 1000.0;
            if callid.ends_with("@ucdesk") { ours.push(ms) } else { theirs.push(ms) }
        }
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    (ours, theirs)
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
