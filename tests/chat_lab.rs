//! The chat plugin against a real Prosody on loopback (tests/lab/prosody.sh): two or
//! three ucdesk instances (alice, bob, carol), each its own daemon and home.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{Prosody, chat_profile, next_event, online_chat, set};
use ucdesk_tests::{Lines, wait_for};

const T: Duration = Duration::from_secs(15);

/// The next event on `topic` whose payload satisfies `pred`.
fn event_where(events: &Lines, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + T;
    while std::time::Instant::now() < deadline {
        if let Some(v) = next_event(events, topic, Duration::from_millis(200))
            && pred(&v)
        {
            return v;
        }
    }
    panic!("no {topic} event matched within {T:?}");
}

#[test]
fn messages_receipts_markers_and_typing_between_two_users() {
    let x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);

    // Typing shows on the other side, and stops.
    a.call("chat.typing", json!({"conversation": "bob@localhost", "composing": true})).unwrap();
    let t = event_where(&b_events, "chat.typing", |v| v["who"] == json!(["alice@localhost"]));
    assert_eq!(t["conversation"], "alice@localhost");

    let sent = a.call("chat.send", json!({"to": "bob@localhost", "body": "Hello Bob, ünïcödé ✓"})).unwrap();
    assert_eq!(sent["state"], "pending");
    let id = sent["id"].as_str().unwrap().to_string();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == id.as_str());
    assert_eq!(got["body"], "Hello Bob, ünïcödé ✓");
    assert_eq!(got["from"], "alice@localhost");
    assert_eq!(got["direction"], "inbound");
    // A message ends the sender's typing.
    event_where(&b_events, "chat.typing", |v| v["who"] == json!([]));

    // The server's ack, then bob's client's receipt.
    event_where(&a_events, "chat.receipt", |v| v["id"] == id.as_str() && v["state"] == "delivered");
    let convs = b.call("chat.conversations", json!(null)).unwrap();
    assert_eq!(convs[0]["id"], "alice@localhost");
    assert_eq!(convs[0]["unread"], 1);

    // Bob reads it: alice sees it seen; bob's unread count is gone.
    b.call("chat.mark_read", json!({"conversation": "alice@localhost"})).unwrap();
    event_where(&a_events, "chat.receipt", |v| v["id"] == id.as_str() && v["state"] == "seen");
    assert_eq!(b.call("chat.conversations", json!(null)).unwrap()[0]["unread"], 0);

    // A reply (XEP-0461) keeps its reference.
    let r = b.call("chat.send", json!({"to": "alice@localhost", "body": "Hi!", "reply_to": id})).unwrap();
    let got = event_where(&a_events, "chat.message", |v| v["id"] == r["id"]);
    assert_eq!(got["reply_to"], id.as_str());

    let h = a.call("chat.history", json!({"conversation": "bob@localhost", "limit": 20})).unwrap();
    let bodies: Vec<&str> =
        h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Hello Bob, ünïcödé ✓", "Hi!"]);
}

#[test]
fn too_long_messages_are_refused_and_nothing_is_stored() {
    let x = Prosody::start();
    let alice = chat_profile(&x, "alice");
    let (a, _events) = online_chat(&alice);
    let long = "a".repeat(10_001);
    let err = a.call("chat.send", json!({"to": "bob@localhost", "body": long})).unwrap_err();
    assert!(err.contains("10001") && err.contains("10000"), "{err}");
    // Exactly the limit goes.
    let ok = a.call("chat.send", json!({"to": "bob@localhost", "body": "é".repeat(10_000)})).unwrap();
    assert_eq!(ok["body"].as_str().unwrap().chars().count(), 10_000);
    let h = a.call("chat.history", json!({"conversation": "bob@localhost"})).unwrap();
    assert_eq!(h["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn a_server_restart_loses_nothing_and_duplicates_nothing() {
    let mut x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let first = a.call("chat.send", json!({"to": "bob@localhost", "body": "before"})).unwrap();
    event_where(&b_events, "chat.message", |v| v["id"] == first["id"]);

    // The server goes away: both sides notice, sending goes to the outbox.
    x.stop();
    event_where(&a_events, "chat.connection", |v| v["state"] == "offline");
    let queued: Vec<Value> = (0..3)
        .map(|i| {
            a.call("chat.send", json!({"to": "bob@localhost", "body": format!("while down {i}")})).unwrap()
        })
        .collect();
    assert!(queued.iter().all(|m| m["state"] == "pending"));
    assert_eq!(a.call("chat.outbox", json!(null)).unwrap().as_array().unwrap().len(), 3);
    assert_eq!(a.call("chat.status", json!(null)).unwrap()["outbox"], 3);

    // Back: the outbox flushes by itself and bob gets each message once.
    x.start_again();
    for m in &queued {
        event_where(&b_events, "chat.message", |v| v["id"] == m["id"]);
    }
    wait_for(T, || a.call("chat.outbox", json!(null)).ok().filter(|o| o.as_array().unwrap().is_empty()))
        .expect("the outbox emptied");
    let after = b.call("chat.send", json!({"to": "alice@localhost", "body": "after"})).unwrap();
    event_where(&a_events, "chat.message", |v| v["id"] == after["id"]);
    let h = b.call("chat.history", json!({"conversation": "alice@localhost", "limit": 50})).unwrap();
    let bodies: Vec<&str> =
        h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["before", "while down 0", "while down 1", "while down 2", "after"]);
}

#[test]
fn a_fresh_home_syncs_history_and_search_finds_it() {
    let x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, _a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let lines = [
        "The quarterly Report is ready",
        "report: quarterly numbers attached",
        "lunch at noon?",
        "Ready for the REPORT review",
    ];
    let mut last = Value::Null;
    for l in lines {
        last = a.call("chat.send", json!({"to": "bob@localhost", "body": l})).unwrap();
    }
    event_where(&b_events, "chat.message", |v| v["id"] == last["id"]);
    drop(b);

    // Bob on a new machine: an empty home, the same account.
    let bob2 = chat_profile(&x, "bob");
    let (b2, b2_events) = online_chat(&bob2);
    let done = event_where(&b2_events, "chat.sync", |v| v["done"] == true);
    assert!(done["stored"].as_u64().unwrap() >= 4, "{done}");
    let h = b2.call("chat.history", json!({"conversation": "alice@localhost"})).unwrap();
    let bodies: Vec<&str> =
        h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, lines);
    // History from before this device existed is not "unread".
    assert_eq!(b2.call("chat.conversations", json!(null)).unwrap()[0]["unread"], 0);

    let search = |q: &str| -> Vec<String> {
        let r = b2.call("chat.search", json!({"query": q})).unwrap();
        r["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
    };
    // Several words: all of them, any order, any case; newest first.
    assert_eq!(search("report READY"), [lines[3], lines[0]]);
    // Quoted: the exact phrase in order.
    assert_eq!(search("\"quarterly report\""), [lines[0]]);
    assert_eq!(search("\"ready report\""), Vec::<String>::new());
    // Contacts and chats first.
    let r = b2.call("chat.search", json!({"query": "alice"})).unwrap();
    assert_eq!(r["conversations"][0]["id"], "alice@localhost");

    // Re-sync on demand finds nothing new and duplicates nothing.
    b2.call("chat.resync", json!(null)).unwrap();
    let again = event_where(&b2_events, "chat.sync", |v| v["done"] == true);
    assert_eq!(again["stored"], 0, "{again}");
}

#[test]
fn presence_statuses_messages_expiry_and_on_call() {
    let x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, _a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    a.call("chat.add_contact", json!({"jid": "bob@localhost"})).unwrap();
    // Bob's client approves a colleague on the same server; alice then sees bob.
    let seen = |events: &Lines, who: &str, status: &str| {
        event_where(events, "presence.changed", |v| v["jid"] == who && v["status"] == status)
    };
    seen(&b_events, "alice@localhost", "available");

    a.call("presence.set", json!({"status": "busy", "message": "In a meeting", "expires_in": 2})).unwrap();
    let p = seen(&b_events, "alice@localhost", "busy");
    assert_eq!(p["message"], "In a meeting");
    assert_eq!(p["devices"], json!(["desktop"]));
    // The expiry reverts it to available by itself.
    let p = seen(&b_events, "alice@localhost", "available");
    assert_eq!(p["message"], Value::Null);

    a.call("presence.set", json!({"status": "dnd"})).unwrap();
    seen(&b_events, "alice@localhost", "dnd");
    a.call("presence.set", json!({"on_call": true})).unwrap();
    let p =
        event_where(&b_events, "presence.changed", |v| v["jid"] == "alice@localhost" && v["on_call"] == true);
    assert_eq!(p["status"], "dnd");

    drop(a);
    let p = seen(&b_events, "alice@localhost", "offline");
    assert!(p["last_active"].is_string(), "{p}");
    let list = b.call("presence.list", json!(null)).unwrap();
    assert_eq!(list[0]["me"], true);
}

#[test]
fn a_wrong_password_and_an_untrusted_certificate_are_reported_not_retried_blindly() {
    let x = Prosody::start();
    let alice = chat_profile(&x, "alice");
    ucdesk_tests::lab::set_secret(&alice, "chat.password", "wrong");
    let d = alice.daemon_with_env(&[]);
    let s = wait_for(T, || d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "auth_failed"))
        .expect("auth_failed");
    assert!(s["reason"].as_str().unwrap().contains("refused"), "{s}");
    let err = d.call("chat.send", json!({"to": "bob@localhost", "body": "x"})).unwrap_err();
    assert!(err.contains("refused"), "{err}");
    drop(d);

    // Without the lab CA the certificate is untrusted: the user is asked once, and
    // accepting exactly that certificate connects.
    let bob = chat_profile(&x, "bob");
    set(&bob, "chat.tls_ca_file", "");
    let d = bob.daemon_with_env(&[]);
    let s = wait_for(T, || {
        d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "untrusted_certificate")
    })
    .expect("untrusted_certificate");
    let fp = s["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
    assert!(d.call("chat.trust_certificate", json!({"fingerprint": "00:11"})).is_err());
    d.call("chat.trust_certificate", json!({"fingerprint": fp})).unwrap();
    wait_for(T, || d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online"))
        .expect("online");
}
