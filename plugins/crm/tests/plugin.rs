//! The built plugin in a TestHost: call events in, popups out (a program run with the
//! call's values, the `crm.popup` event, `crm.popups`), and bad input refused with a
//! reason while the plugin keeps working.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_sdk::TestHost;

fn wait<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn call(topic_state: &str) -> Value {
    json!({"callid": "c-1", "direction": "inbound", "number": "+44 20 7946 0000", "name": "O'Brien; Ltd",
           "ext": "201", "state": topic_state, "duration": 3})
}

#[test]
fn a_program_popup_gets_the_call_and_a_bad_event_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut host = TestHost::load_built("crm").unwrap();
    host.start().unwrap();
    // A shell is a program like any other here: the values reach it as arguments ($1,
    // $2), never spliced into its script.
    let field = format!(
        r#"/bin/sh -c 'printf "%s|%s\n" "$1" "$2" >>{}' sh %callerid_name% %duration%"#,
        out.display()
    );
    host.set_setting("popup_started_url", json!(field)).unwrap();
    host.set_setting("popup_finished_url", json!(field)).unwrap();
    host.set_setting("popup_finished_inbound", json!(true)).unwrap();

    host.emit("call.incoming", &call("ringing")).unwrap();
    host.emit("call.answered", &call("connected")).unwrap();
    host.emit("call.ended", &call("ended")).unwrap();
    let lines = wait(|| {
        let text = std::fs::read_to_string(&out).ok()?;
        (text.lines().count() >= 2).then_some(text)
    });
    // Started once (not again on answer), finished once; `;` and `'` arrive as typed.
    assert_eq!(lines, "O'Brien; Ltd|3\nO'Brien; Ltd|3\n");

    let popups = wait(|| {
        let v = host.call("crm.popups", &json!(null)).ok()?;
        (v.as_array()?.len() == 2).then_some(v)
    });
    assert!(popups.as_array().unwrap().iter().all(|p| p["outcome"] == "ran"), "{popups:#}");
    let fired = host.published().iter().filter(|p| p.topic == "crm.popup").count();
    assert_eq!(fired, 2);

    // A call event that does not decode is an error for the sender, not a crash.
    assert!(host.emit("call.incoming", &json!({"callid": 7})).is_err());
    let status = host.call("crm.status", &json!(null)).unwrap();
    assert_eq!((status["fired"].as_u64(), status["failed"].as_u64()), (Some(2), Some(0)));
    host.stop().unwrap();
}
