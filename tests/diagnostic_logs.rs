//! Diagnostic logs through the real daemon (Preferences -> General -> Diagnostic logs):
//! off, no file is made; on with the SIP and XMPP levels at 10, a call to a baresip
//! bot through Kamailio and a chat message through Prosody put the SIP messages and the
//! XMPP stanzas in `<data>/logs/ucdesk.log`; at the default level 3 neither is there.
//! No secret the test set appears in any log (the file or the terminal's), in plain or
//! in SASL PLAIN's base64.

use base64::Engine;
use serde_json::json;
use std::time::Duration;
use ucdesk_tests::lab::{Bot, Kamailio, Prosody, set, softphone_profile, wait_connected, with_chat};
use ucdesk_tests::{Daemon, Profile, wait_for};

const WAIT: Duration = Duration::from_secs(20);

fn diagnostic_logs(p: &Profile, on: bool) {
    let config = p.home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("shell.json"), json!({"diagnostic_logs": on}).to_string()).unwrap();
}

fn log_file(p: &Profile) -> std::path::PathBuf {
    p.home.path().join("data/logs/ucdesk.log")
}

/// A call answered by the bot and a chat message sent; then the daemon stops.
fn call_and_chat(p: &Profile) -> String {
    let d: Daemon = p.daemon();
    wait_for(WAIT, || {
        d.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("alice never registered:\n{}", d.log()));
    wait_for(WAIT, || d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online"))
        .unwrap_or_else(|| panic!("chat never came online:\n{}", d.log()));
    let call = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    wait_connected(&d, WAIT, |c| c["callid"] == call["callid"]);
    d.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();
    d.call("chat.send", json!({"to": "bob@localhost", "body": "diagnostics ping"})).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (clean, log) = d.stop();
    assert!(clean, "{log}");
    log
}

#[test]
fn diagnostic_logs_keep_sip_and_xmpp_traffic_at_their_levels_and_never_a_secret() {
    let k = Kamailio::start();
    let x = Prosody::start();
    let _bob = Bot::start(&k, "bob", "auto");
    let p = with_chat(softphone_profile(&k, "alice", "udp", "alicepw"), &x, "alice");
    let secrets =
        ["alicepw".to_string(), base64::engine::general_purpose::STANDARD.encode("\0alice\0alicepw")];

    // Off: nothing is written.
    diagnostic_logs(&p, false);
    let terminal = call_and_chat(&p);
    assert!(!log_file(&p).exists(), "diagnostic logs are off");

    // On, level 10 for both: every SIP message and every stanza.
    diagnostic_logs(&p, true);
    set(&p, "softphone.log_level", "10");
    set(&p, "chat.log_level", "10");
    let terminal_10 = call_and_chat(&p);
    let text = std::fs::read_to_string(log_file(&p)).expect("the diagnostic log");
    assert!(text.contains("INVITE sip:bob@"), "the SIP INVITE is in the log");
    assert!(text.contains("SIP/2.0 200 OK"), "and its answer");
    assert!(text.contains("diagnostics ping") && text.contains("<message"), "the chat stanza is in the log");
    assert!(text.contains("[redacted]"), "the SASL exchange is there, its payload scrubbed");
    for log in [&terminal, &terminal_10, &text] {
        for s in &secrets {
            assert!(!log.contains(s.as_str()), "a secret ({s}) is in a log");
        }
    }
    assert!(!terminal_10.contains("INVITE sip:bob@"), "the terminal's log keeps to info");

    // The default level 3: state changes, no traffic.
    std::fs::remove_file(log_file(&p)).unwrap();
    set(&p, "softphone.log_level", "3");
    set(&p, "chat.log_level", "3");
    call_and_chat(&p);
    let text = std::fs::read_to_string(log_file(&p)).expect("the diagnostic log");
    assert!(
        !text.contains("INVITE sip:bob@") && !text.contains("<message"),
        "no traffic at level 3:\n{text}"
    );
    assert!(text.contains("softphone"), "the plugins' own lines are kept:\n{text}");
}
