//! The bus (ordering, overflow policy) and service calls (routing, timeouts) across
//! real plugin libraries.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_kernel::bus::DEFAULT_QUEUE;
use ucdesk_tests::{Profile, wait_for};

/// `(topic, source, seq)` rows of probe's `received` answer.
fn received(v: &Value) -> Vec<(String, String, i64)> {
    serde_json::from_value(v["events"].clone()).unwrap()
}

#[test]
fn a_full_queue_drops_the_oldest_and_says_how_many() {
    let profile = Profile::new().with_fixture("probe");
    let daemon = profile.daemon();
    daemon.call("probe.reset", json!({})).unwrap();
    // probe floods its own topic while it is busy in the call, so its queue cannot drain
    // until the call returns: the overflow is deterministic.
    let total = 5 * DEFAULT_QUEUE as i64;
    let answer = daemon.call("probe.flood", json!({"topic": "probe.flood", "count": total})).unwrap();
    assert_eq!(answer["published"], total);
    let r = wait_for(Duration::from_secs(10), || {
        let r = daemon.call("probe.received", json!({})).unwrap();
        let got = received(&r).iter().filter(|e| e.0 == "probe.flood").count();
        (got == DEFAULT_QUEUE).then_some(r)
    })
    .expect("the queue drains");
    let events = received(&r);
    let seqs: Vec<i64> = events.iter().filter(|e| e.0 == "probe.flood").map(|e| e.2).collect();
    // Newest win: exactly the last DEFAULT_QUEUE events, in order.
    let expected: Vec<i64> = (total - DEFAULT_QUEUE as i64..total).collect();
    assert_eq!(seqs, expected);
    assert_eq!(r["dropped"], total - DEFAULT_QUEUE as i64);
    // The notice comes before the first event after the gap.
    let notice = events.iter().position(|e| e.0 == "kernel.dropped").expect("a dropped notice");
    let first = events.iter().position(|e| e.0 == "probe.flood").unwrap();
    assert!(notice < first);
}

#[test]
fn each_publishers_events_arrive_in_order() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer");
    let daemon = profile.daemon();
    daemon.call("probe.reset", json!({})).unwrap();
    let n = 400;
    let sock = profile.socket();
    let peer = std::thread::spawn(move || {
        let mut c = ucdesk_kernel::control::Client::connect(&sock).unwrap();
        c.request(&ucdesk_kernel::control::Request::Call {
            service: "peer.flood".into(),
            args: json!({"topic": "probe.mixed", "count": n}),
            timeout_ms: Some(10_000),
        })
        .unwrap()
    });
    daemon.call("probe.flood", json!({"topic": "probe.mixed", "count": n})).unwrap();
    peer.join().unwrap();
    let events = wait_for(Duration::from_secs(10), || {
        let e = received(&daemon.call("probe.received", json!({})).unwrap());
        (e.iter().filter(|e| e.0 == "probe.mixed").count() == 2 * n as usize).then_some(e)
    })
    .expect("all events arrive (2 x 400 fits the queue)");
    for source in ["probe", "peer"] {
        let seqs: Vec<i64> =
            events.iter().filter(|e| e.0 == "probe.mixed" && e.1 == source).map(|e| e.2).collect();
        assert_eq!(seqs, (0..n).collect::<Vec<_>>(), "order from {source}");
    }
}

#[test]
fn ctl_gives_up_after_its_timeout() {
    let profile = Profile::new().with_fixture("probe");
    let _daemon = profile.daemon();
    let started = Instant::now();
    let out = profile.run(&["ctl", "probe.sleep", r#"{"ms": 3000}"#, "--timeout", "300"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("probe.sleep timed out after 300 ms"), "{stderr}");
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn plugins_call_each_other_with_timeouts() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer");
    let daemon = profile.daemon();
    let ok = daemon.call("probe.call", json!({"service": "peer.echo", "args": {"hi": 1}})).unwrap();
    assert_eq!(ok, json!({"ok": {"hi": 1}}));

    let slow = daemon
        .call("probe.call", json!({"service": "peer.sleep", "args": {"ms": 1500}, "timeout_ms": 200}))
        .unwrap();
    assert_eq!(slow["error"]["kind"], "Timeout", "{slow}");
    assert_eq!(slow["error"]["message"], "peer.sleep timed out after 200 ms");

    let missing = daemon.call("probe.call", json!({"service": "ghost.boo"})).unwrap();
    assert_eq!(missing["error"]["kind"], "UnknownService");

    let own = daemon.call("probe.call", json!({"service": "probe.echo"})).unwrap();
    assert_eq!(own["error"]["kind"], "Refused");
    assert!(own["error"]["message"].as_str().unwrap().contains("called its own service"));

    // The kernel lists the other plugins' services (a convention's providers are
    // found by suffix), never the caller's own.
    let listed = daemon
        .call("probe.call", json!({"service": "kernel.services", "args": {"suffix": ".echo"}}))
        .unwrap();
    assert_eq!(listed, json!({"ok": ["peer.echo"]}), "{listed}");
    let all = daemon.call("probe.call", json!({"service": "kernel.services"})).unwrap();
    let all: Vec<String> = serde_json::from_value(all["ok"].clone()).unwrap();
    assert!(
        all.contains(&"peer.sleep".to_string()) && !all.iter().any(|s| s.starts_with("probe.")),
        "{all:?}"
    );
    let odd =
        daemon.call("probe.call", json!({"service": "kernel.services", "args": {"suffix": 3}})).unwrap();
    assert_eq!(odd["error"]["kind"], "Refused", "{odd}");

    // A refused request is an answer, not a failure: the provider stays active.
    let bad = daemon.call("probe.call", json!({"service": "peer.sleep", "args": {"nope": 1}})).unwrap();
    assert_eq!(bad["error"]["kind"], "Refused");
    assert_eq!(daemon.state("peer").0, "active");
}

#[test]
fn kernel_announces_plugin_state_changes() {
    let profile = Profile::new().with_fixture("probe").with_fixture("panicky");
    let daemon = profile.daemon();
    let events = ucdesk_tests::Lines::spawn(profile.command(&["events", "--topic", "kernel.plugin_state"]));
    std::thread::sleep(Duration::from_millis(300));
    let _ = daemon.call("panicky.panic", json!({}));
    let line = events.next(Duration::from_secs(10)).expect("a state event");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["source"], "kernel");
    assert_eq!(v["payload"]["id"], "panicky");
    assert_eq!(v["payload"]["state"], "failed");
}
