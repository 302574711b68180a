//! The desktop around the window, through the real binary under Xvfb: one instance per
//! profile. A second `ucdesk` brings the running window forward and exits; a second
//! `ucdesk callto:...` (what the desktop runs for a link) hands the link over and the
//! running window places the call, here to a baresip bot through Kamailio; a link that
//! starts the window is called once the phone has registered.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{Bot, Kamailio, softphone_profile};
use ucdesk_tests::{Daemon, Profile, Xvfb, wait_for};

const WAIT: Duration = Duration::from_secs(20);

/// Confirmation off: links are dialled at once (the shell's preferences file).
fn without_confirmation(p: &Profile) {
    let config = p.home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("shell.json"), r#"{"confirm_external_calls": false}"#).unwrap();
}

/// The call `callid` once the far end answered; the test fails without it.
fn connected(d: &Daemon, callid: &Value) -> Value {
    wait_for(WAIT, || {
        let calls = d.call("phone.calls", json!(null)).ok()?;
        calls.as_array()?.iter().find(|c| &c["callid"] == callid && c["state"] == "connected").cloned()
    })
    .unwrap_or_else(|| panic!("call {callid} was not answered:\n{}", d.log()))
}

#[test]
fn a_second_launch_hands_its_link_to_the_running_window_which_places_the_call() {
    let k = Kamailio::start();
    let _bob = Bot::start(&k, "bob", "auto");
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    without_confirmation(&p);
    let x = Xvfb::start();
    let gui = p.gui(&x.display);
    wait_for(WAIT, || {
        gui.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("alice never registered:\n{}", gui.log()));

    // `ucdesk` again: no second window; the first comes to the front.
    let again = p.window_command(&x.display, &[]).output().unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && said.contains("already running"), "{said}");

    // A link: handed over, called by the window, the call's id printed.
    let out = p.window_command(&x.display, &["callto://bob"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the call's id");
    let call = connected(&gui, &answer["callid"]);
    assert_eq!(call["number"], "bob", "{call}");
    gui.call("phone.hangup", json!({"callid": answer["callid"]})).unwrap();
    let (clean, log) = gui.stop();
    assert!(clean, "{log}");

    // Nothing running: the link starts the window, which calls once registered.
    let gui = p.gui_with(&x.display, &["tel:bob"]);
    let call = wait_for(WAIT, || {
        let calls = gui.call("phone.calls", json!(null)).ok()?;
        calls.as_array()?.iter().find(|c| c["number"] == "bob" && c["state"] == "connected").cloned()
    })
    .unwrap_or_else(|| panic!("the link the window started with was not called:\n{}", gui.log()));
    gui.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();
}
