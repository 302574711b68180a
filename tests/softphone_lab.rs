//! The softphone against the real lab: Kamailio (registrar + proxy with digest auth)
//! and baresip bots on loopback, driven through the real `ucdesk` daemon, its
//! `phone.*` services and its bus events. A development license unlocks the module.

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use ucdesk_tests::lab::{Bot, Kamailio};
use ucdesk_tests::{Daemon, Lines, Profile, plugin_lib, sdk_bin, wait_for};

const DEV_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../license/keys/dev-vendor.key");
const WAIT: Duration = Duration::from_secs(15);

/// A profile with the softphone, a business license and alice's account on `k`.
fn phone(k: &Kamailio, transport: &str, password: &str) -> Profile {
    let p = Profile::new().with_library(&plugin_lib("softphone"), "softphone");
    let license = p.home.path().join("license.json");
    let out = Command::new(sdk_bin())
        .args([
            "license",
            "issue",
            "--key",
            DEV_KEY,
            "--licensee",
            "Lab",
            "--edition",
            "business",
            "--expires",
            "2099-12-31",
            "--out",
        ])
        .arg(&license)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    p.run_ok(&["license", "install", license.to_str().unwrap()]);
    let server = match transport {
        "tls" => format!("127.0.0.1:{}", k.tls),
        _ => k.addr(),
    };
    for (key, value) in [
        ("softphone.server", server.as_str()),
        ("softphone.username", "alice"),
        ("softphone.transport", transport),
        ("softphone.tls_ca_file", k.ca_file().to_str().unwrap()),
    ] {
        p.run_ok(&["settings", "set", key, value]);
    }
    let mut child =
        p.command(&["secret", "set", "softphone.password"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    p
}

fn status(d: &Daemon) -> Value {
    d.call("phone.status", json!(null)).unwrap_or(Value::Null)
}

fn wait_registration(d: &Daemon, state: &str) -> Value {
    wait_for(WAIT, || Some(status(d)).filter(|s| s["registration"]["state"] == state))
        .unwrap_or_else(|| panic!("never {state}: {}\n{}", status(d), d.log()))
}

/// Waits for an event on `topic` (from an `events` stream) and returns its payload.
fn next_event(events: &Lines, topic: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if let Some(line) = events.next(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["topic"] == topic {
                return v["payload"].clone();
            }
        }
    }
    panic!("no {topic} event");
}

#[test]
fn registers_over_udp_tcp_and_tls() {
    let k = Kamailio::start();
    for transport in ["udp", "tcp", "tls"] {
        let p = phone(&k, transport, "alicepw");
        let d = p.daemon();
        let s = wait_registration(&d, "registered");
        assert!(s["registration"]["server"].as_str().unwrap().contains(transport), "{s}");
        let (clean, log) = d.stop();
        assert!(clean, "{log}");
    }
}

#[test]
fn a_wrong_password_is_a_clear_state_without_a_retry_storm() {
    let k = Kamailio::start();
    let p = phone(&k, "udp", "wrong");
    let d = p.daemon();
    let s = wait_registration(&d, "auth_failed");
    assert!(s["registration"]["reason"].as_str().unwrap().contains("wrong user or password"), "{s}");
    // No retries: Kamailio sees exactly the first REGISTER and the one answer to its
    // challenge, however long we wait.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(status(&d)["registration"]["state"], "auth_failed");
}

#[test]
fn calls_a_bot_holds_sends_dtmf_and_hangs_up() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let p = phone(&k, "udp", "alicepw");
    let d = p.daemon();
    wait_registration(&d, "registered");
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    let callid = dialed["callid"].as_str().unwrap().to_string();
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["callid"], callid.as_str());
    assert_eq!(answered["direction"], "outbound");
    assert_eq!(answered["number"], "bob");

    d.call("phone.hold", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.held")["state"], "held");
    d.call("phone.resume", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.resumed")["state"], "connected");

    d.call("phone.dtmf", json!({"callid": callid, "digits": "5#"})).unwrap();
    wait_for(WAIT, || bob.log().contains("received event").then_some(()))
        .unwrap_or_else(|| panic!("bob heard no DTMF:\n{}", bob.log()));

    d.call("phone.hangup", json!({"callid": callid})).unwrap();
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["result"], "answered");
    let history = d.call("phone.history", json!({"limit": 5})).unwrap();
    assert_eq!(history["entries"][0]["callid"], callid.as_str());
    assert_eq!(history["entries"][0]["result"], "answered");
}

#[test]
fn incoming_call_is_answered_automatically_after_the_countdown() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    p.run_ok(&["settings", "set", "softphone.auto_answer", "true"]);
    p.run_ok(&["settings", "set", "softphone.auto_answer_seconds", "1"]);
    let d = p.daemon();
    wait_registration(&d, "registered");
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = next_event(&events, "call.incoming");
    assert_eq!(incoming["number"], "carol");
    assert_eq!(incoming["direction"], "inbound");
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["callid"], incoming["callid"]);
}

#[test]
fn call_waiting_off_answers_a_second_caller_busy() {
    let k = Kamailio::start();
    let bob = Bot::start(&k, "bob", "auto");
    let carol = Bot::start(&k, "carol", "manual");
    let p = phone(&k, "udp", "alicepw");
    p.run_ok(&["settings", "set", "softphone.call_waiting", "false"]);
    let d = p.daemon();
    wait_registration(&d, "registered");
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    d.call("phone.dial", json!({"number": "bob"})).unwrap();
    next_event(&events, "call.answered");
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["number"], "carol");
    assert_eq!(ended["result"], "busy");
    wait_for(WAIT, || carol.log().contains("486").then_some(()))
        .unwrap_or_else(|| panic!("carol did not hear busy:\n{}", carol.log()));
    drop(bob);
}
