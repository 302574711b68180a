//! Panic containment: a plugin that panics anywhere is marked failed with its message,
//! its dependents are disabled, and everything else keeps working.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::{Profile, entry, wait_for};

fn profile() -> Profile {
    Profile::new().with_fixture("panicky").with_fixture("dependent").with_fixture("probe")
}

fn panic_in(place: &str) -> Vec<Value> {
    let profile = profile();
    profile.run_ok(&["settings", "set", "panicky.panic_in", place]);
    profile.started_plugins()
}

fn assert_failed(list: &[Value], needle: &str) {
    let p = entry(list, "panicky");
    assert_eq!(p["state"], "failed", "{p}");
    let reason = p["reason"].as_str().unwrap();
    assert!(reason.starts_with("panicked: "), "{reason}");
    assert!(reason.contains(needle), "{reason}");
    let dependent = entry(list, "dependent");
    assert_eq!(dependent["state"], "disabled");
    assert_eq!(dependent["reason"], "requires 'panicky', which is failed");
    assert_eq!(entry(list, "probe")["state"], "active");
}

#[test]
fn panic_in_new() {
    assert_failed(&panic_in("new"), "in new at ");
}

#[test]
fn panic_in_start() {
    let list = panic_in("start");
    assert_failed(&list, "configured to panic in start");
    // The location of the panic is part of the message.
    assert!(entry(&list, "panicky")["reason"].as_str().unwrap().contains("kit/src/lib.rs:"));
}

#[test]
fn panic_while_rendering_a_view() {
    assert_failed(&panic_in("view"), "configured to panic in view");
}

#[test]
fn panic_in_a_service_call() {
    let profile = profile();
    let daemon = profile.daemon();
    let out = profile.run(&["ctl", "panicky.panic"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plugin 'panicky' failed while handling panicky.panic"), "{stderr}");
    assert!(stderr.contains("was asked to panic"), "{stderr}");

    let (state, reason) = daemon.state("panicky");
    assert_eq!(state, "failed");
    assert!(reason.unwrap().contains("(handling service panicky.panic)"));
    let (state, reason) = daemon.state("dependent");
    assert_eq!(state, "disabled");
    assert_eq!(reason.unwrap(), "requires 'panicky', which failed");
    // No more routing to it, and a clear answer why.
    let err = daemon.call("panicky.echo", json!({})).unwrap_err();
    assert!(err.contains("plugin 'panicky' is failed"), "{err}");
    // Everyone else is fine.
    assert_eq!(daemon.call("probe.echo", json!({"x": 1})).unwrap(), json!({"x": 1}));
    let (clean, _) = daemon.stop();
    assert!(clean);
}

#[test]
fn panic_in_an_event_handler() {
    let profile = profile();
    let daemon = profile.daemon();
    daemon.call("probe.publish", json!({"topic": "panicky.boom", "payload": {}})).unwrap();
    let reason = wait_for(Duration::from_secs(10), || match daemon.state("panicky") {
        (state, reason) if state == "failed" => reason,
        _ => None,
    })
    .expect("panicky fails");
    assert!(reason.contains("was told to go boom"), "{reason}");
    assert!(reason.contains("(handling event panicky.boom)"), "{reason}");
    assert_eq!(daemon.state("dependent").0, "disabled");
    // The bus still works for the others.
    daemon.call("probe.reset", json!({})).unwrap();
    daemon.call("probe.publish", json!({"topic": "probe.after", "payload": {"seq": 7}})).unwrap();
    let got = wait_for(Duration::from_secs(5), || {
        let r = daemon.call("probe.received", json!({})).unwrap();
        r["events"].as_array().unwrap().iter().any(|e| e[0] == "probe.after").then_some(())
    });
    assert!(got.is_some());
}

#[test]
fn panic_in_stop_does_not_spoil_shutdown() {
    let profile = profile();
    profile.run_ok(&["settings", "set", "panicky.panic_in", "stop"]);
    let daemon = profile.daemon();
    let (clean, log) = daemon.stop();
    assert!(clean, "{log}");
    assert!(log.contains("configured to panic in stop"), "{log}");
    assert!(log.contains("probe stopped"), "{log}");
}

#[test]
fn callers_waiting_on_a_plugin_that_panics_are_answered_at_once() {
    let profile = profile();
    let daemon = profile.daemon();
    // probe waits on panicky, which sleeps, then panics on the next call in its queue.
    let sock = profile.socket();
    let sleeper = std::thread::spawn(move || {
        let mut c = ucdesk_kernel::control::Client::connect(&sock).unwrap();
        c.request(&ucdesk_kernel::control::Request::Call {
            service: "panicky.sleep".into(),
            args: json!({"ms": 500}),
            timeout_ms: Some(10_000),
        })
    });
    std::thread::sleep(Duration::from_millis(100));
    let sock = profile.socket();
    let panicker = std::thread::spawn(move || {
        let mut c = ucdesk_kernel::control::Client::connect(&sock).unwrap();
        c.request(&ucdesk_kernel::control::Request::Call {
            service: "panicky.panic".into(),
            args: json!({}),
            timeout_ms: Some(10_000),
        })
    });
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let queued = daemon.call("panicky.echo", json!({}));
    assert!(sleeper.join().unwrap().is_ok());
    assert!(panicker.join().unwrap().is_err());
    let err = queued.unwrap_err();
    assert!(err.contains("panicky"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "a queued caller waited for its timeout");
}

#[test]
fn a_dependent_waiting_on_the_plugin_that_panics_gets_its_answer_first() {
    let profile = profile();
    let daemon = profile.daemon();
    let started = std::time::Instant::now();
    // dependent calls panicky, which panics while dependent waits for it.
    let answer =
        daemon.call("dependent.call", json!({"service": "panicky.panic", "timeout_ms": 20_000})).unwrap();
    assert_eq!(answer["error"]["kind"], "Panicked", "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    let disabled =
        wait_for(Duration::from_secs(5), || (daemon.state("dependent").0 == "disabled").then_some(()));
    assert!(disabled.is_some());
    assert_eq!(daemon.state("panicky").0, "failed");
}

#[test]
fn a_panicking_destructor_is_contained() {
    let profile = profile();
    profile.run_ok(&["settings", "set", "panicky.panic_in", "drop"]);
    let daemon = profile.daemon();
    assert_eq!(daemon.call("panicky.echo", json!({"still": "fine"})).unwrap(), json!({"still": "fine"}));
    let (clean, log) = daemon.stop();
    assert!(clean, "{log}");
    assert!(log.contains("panicked in its destructor"), "{log}");
    assert!(log.contains("probe stopped"), "{log}");
}
