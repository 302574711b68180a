//! The chat plugin against a real Prosody on loopback (tests/lab/prosody.sh): two or
//! three ucdesk instances (alice, bob, carol), each its own daemon and home.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{self, Prosody, chat_profile, online_chat, set};
use ucdesk_tests::{Lines, wait_for};

const T: Duration = Duration::from_secs(15);

/// The next event on `topic` whose payload satisfies `pred`, within [`T`].
fn event_where(events: &Lines, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    lab::event_where(events, topic, T, pred)
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
    // Refusals say why: a bad request (naming the field), an unknown conversation.
    let long_again = json!({"to": "bob@localhost", "body": "a".repeat(10_001)});
    assert_eq!(a.refusal("chat.send", long_again).0.as_deref(), Some("bad_request"));
    let (reason, message) = a.refusal("chat.mute", json!({"conversation": "bob@localhost"}));
    assert_eq!(reason.as_deref(), Some("bad_request"), "{message}");
    assert!(message.contains("missing field `muted`"), "{message}");
    let (reason, message) = a.refusal("chat.close", json!({"conversation": "nobody@localhost"}));
    assert_eq!(reason.as_deref(), Some("not_found"), "{message}");
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
    let s = lab::chat_state(&d, "auth_failed");
    assert!(s["reason"].as_str().unwrap().contains("refused"), "{s}");
    let err = d.call("chat.send", json!({"to": "bob@localhost", "body": "x"})).unwrap_err();
    assert!(err.contains("refused"), "{err}");
    // The right password while it runs: chat hears of it and logs in.
    lab::set_secret(&alice, "chat.password", "alicepw");
    lab::chat_state(&d, "online");
    drop(d);

    // Without the lab CA the certificate is untrusted: the user is asked once, and
    // accepting exactly that certificate connects.
    let bob = chat_profile(&x, "bob");
    set(&bob, "chat.tls_ca_file", "");
    let d = bob.daemon_with_env(&[]);
    let s = lab::chat_state(&d, "untrusted_certificate");
    let fp = s["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
    // The window asks in a dialog that offers exactly this certificate.
    let status = wait_for(T, || {
        let v = bob.run_ok(&["view", "chat", "status"]);
        v.contains(r#""kind":"dialog""#).then_some(v)
    })
    .expect("a trust dialog in the status item");
    // The widget id is the typed action `trust` with this fingerprint (JSON-escaped here).
    assert!(status.contains(&format!(r#"trust:\"{fp}\""#)), "{status}");
    assert!(d.call("chat.trust_certificate", json!({"fingerprint": "00:11"})).is_err());
    d.call("chat.trust_certificate", json!({"fingerprint": fp})).unwrap();
    lab::chat_state(&d, "online");
}

#[test]
fn odd_and_hostile_stanzas_from_a_raw_client_change_nothing() {
    let x = Prosody::start();
    let alice = chat_profile(&x, "alice");
    let (a, a_events) = online_chat(&alice);
    let mut carol = ucdesk_tests::lab::RawXmpp::login(&x, "carol", "carolpw");
    let to = "to='alice@localhost'";
    for stanza in [
        // A "carbon" and an "archive result" from someone else: forgeries.
        format!(
            "<message {to} type='chat' id='s1'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='mallory@localhost' to='alice@localhost' type='chat' id='spoof1'>\
             <body>spoofed carbon</body></message></forwarded></received></message>"
        ),
        format!(
            "<message {to} id='s2'><result xmlns='urn:xmpp:mam:2' queryid='q' id='a1'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='mallory@localhost' type='chat' id='spoof2'><body>spoofed archive</body>\
             </message></forwarded></result></message>"
        ),
        // Empty and half-formed payloads.
        format!("<message {to} type='chat'><received xmlns='urn:xmpp:carbons:2'/></message>"),
        format!("<message {to} type='chat'><received xmlns='urn:xmpp:receipts'/></message>"),
        format!("<message {to} type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id=''/></message>"),
        format!("<message {to} type='chat' id=''><body></body></message>"),
        format!(
            "<message {to} type='chat' id='r1'><body>reply to nothing</body><reply xmlns='urn:xmpp:reply:0'/></message>"
        ),
        format!(
            "<message {to} type='chat' id='d1'><body>bad stamp</body><delay xmlns='urn:xmpp:delay' stamp='yesterday'/></message>"
        ),
        format!("<message {to} type='chat'><bogus xmlns='http://jabber.org/protocol/chatstates'/></message>"),
        format!("<message {to} type='groupchat' id='g1'><body>not a room</body></message>"),
        format!("<message {to} type='headline'><body>headline</body></message>"),
        format!("<message {to} type='error' id='e1'><body>error</body></message>"),
        // Directed presence with values nobody defined.
        format!(
            "<presence {to}><show>bogus</show><priority>300</priority>\
             <presence xmlns='urn:ucdesk:presence:0' status='💥' device='toaster' on-call='maybe'/></presence>"
        ),
        format!("<presence {to} type='subscribe'/>"),
        // A body far over our sending limit is still received (others' clients decide theirs).
        format!("<message {to} type='chat' id='big'><body>{}</body></message>", "x".repeat(100_000)),
        format!("<message {to} type='chat' id='ok1'><body>still alive</body></message>"),
    ] {
        carol.send(&stanza);
    }
    let last = event_where(&a_events, "chat.message", |v| v["id"] == "ok1");
    assert_eq!(last["from"], "carol@localhost");
    let convs = a.call("chat.conversations", json!(null)).unwrap();
    let ids: Vec<&str> = convs.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["carol@localhost"], "forged messages created conversations");
    let h = a.call("chat.history", json!({"conversation": "carol@localhost", "limit": 50})).unwrap();
    let ids: Vec<&str> =
        h["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r1", "d1", "big", "ok1"]);
    // Still connected and working both ways.
    assert_eq!(a.call("chat.status", json!(null)).unwrap()["state"], "online");
    a.call("chat.send", json!({"to": "carol@localhost", "body": "ok"})).unwrap();
    event_where(&a_events, "chat.message", |v| v["body"] == "ok" && v["state"] == "sent");
}

#[test]
fn the_phone_shows_on_a_call_in_presence() {
    use ucdesk_tests::lab::{Bot, Kamailio, softphone_profile, with_chat};
    let x = Prosody::start();
    let k = Kamailio::start();
    let _bot = Bot::start(&k, "bob", "auto");
    // Alice has both the phone and chat; carol watches her presence.
    let alice = with_chat(softphone_profile(&k, "alice", "udp", "alicepw"), &x, "alice");
    set(&alice, "softphone.audio_input", "null");
    set(&alice, "softphone.audio_output", "null");
    let carol = chat_profile(&x, "carol");
    let (a, _a_events) = online_chat(&alice);
    let (_c, c_events) = online_chat(&carol);
    a.call("chat.add_contact", json!({"jid": "carol@localhost"})).unwrap();
    event_where(&c_events, "presence.changed", |v| {
        v["jid"] == "alice@localhost" && v["status"] == "available"
    });
    wait_for(T, || {
        a.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .expect("the phone registers");

    let call = a.call("phone.dial", json!({"number": "bob"})).unwrap();
    event_where(&c_events, "presence.changed", |v| v["jid"] == "alice@localhost" && v["on_call"] == true);
    a.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();
    let p = event_where(&c_events, "presence.changed", |v| {
        v["jid"] == "alice@localhost" && v["on_call"] == false
    });
    assert_eq!(p["status"], "available");
}

#[test]
fn files_upload_with_the_message_small_ones_download_by_themselves() {
    let x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("notes.txt");
    let big = dir.path().join("report.pdf");
    std::fs::write(&small, b"meeting notes\n".repeat(50)).unwrap();
    let big_bytes: Vec<u8> = (0..700 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&big, &big_bytes).unwrap();

    // At most 5 files; missing files are refused before anything is stored.
    let six: Vec<String> = (0..6).map(|_| small.display().to_string()).collect();
    let err = a.call("chat.send", json!({"to": "bob@localhost", "body": "x", "files": six})).unwrap_err();
    assert!(err.contains("at most 5"), "{err}");
    let err = a.call("chat.send", json!({"to": "bob@localhost", "files": ["/no/such/file"]})).unwrap_err();
    assert!(err.contains("/no/such/file"), "{err}");

    let files = [small.display().to_string(), big.display().to_string()];
    let sent =
        a.call("chat.send", json!({"to": "bob@localhost", "body": "see attached", "files": files})).unwrap();
    assert_eq!(sent["files"][0]["state"], "uploading");
    event_where(&a_events, "chat.transfer", |v| {
        v["id"] == sent["id"] && v["file"] == 1 && v["state"] == "uploaded"
    });

    let got = event_where(&b_events, "chat.message", |v| v["id"] == sent["id"]);
    assert_eq!(got["body"], "see attached");
    assert_eq!(got["files"][0]["name"], "notes.txt");
    assert_eq!(got["files"][0]["mime"], "text/plain");
    assert_eq!(got["files"][1]["size"], 700 * 1024);
    // Under 500 KB it comes by itself; the PDF waits to be asked for.
    let done = event_where(&b_events, "chat.message", |v| {
        v["id"] == sent["id"] && v["files"][0]["state"] == "downloaded"
    });
    assert_eq!(done["files"][1]["state"], "remote");
    let path = done["files"][0]["path"].as_str().unwrap().to_string();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&small).unwrap());

    b.call("chat.download", json!({"conversation": "alice@localhost", "id": sent["id"], "file": 1})).unwrap();
    event_where(&b_events, "chat.transfer", |v| {
        v["id"] == sent["id"] && v["file"] == 1 && v["state"] == "downloading"
    });
    let done = event_where(&b_events, "chat.message", |v| {
        v["id"] == sent["id"] && v["files"][1]["state"] == "downloaded"
    });
    assert_eq!(std::fs::read(done["files"][1]["path"].as_str().unwrap()).unwrap(), big_bytes);

    // A broken upload service: the message waits with its file failed; retry once fixed.
    // (The server's own address offers no uploads: it refuses at once.)
    set(&alice, "chat.upload_service", "localhost");
    let waiting =
        a.call("chat.send", json!({"to": "bob@localhost", "files": [small.display().to_string()]})).unwrap();
    event_where(&a_events, "chat.message", |v| {
        v["id"] == waiting["id"] && v["files"][0]["state"] == "failed"
    });
    assert_eq!(a.call("chat.outbox", json!(null)).unwrap().as_array().unwrap().len(), 1);
    set(&alice, "chat.upload_service", "");
    a.call("chat.retry", json!({"conversation": "bob@localhost", "id": waiting["id"]})).unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == waiting["id"]);
    assert_eq!(got["body"], "", "the link fallback is not text");
    assert_eq!(got["files"][0]["name"], "notes.txt");
}

/// The panels, driven like the shell drives them: the real cdylib in the sdk's test
/// host, clicks and typing as UI events, the published view trees read back.
#[test]
fn the_panels_follow_the_chat_and_answer_clicks() {
    use ucdesk_sdk::view::{UiAction, UiEvent};
    let x = Prosody::start();
    let bob = chat_profile(&x, "bob");
    let (b, b_events) = online_chat(&bob);
    let mut host = alice_in_a_test_host(&x);
    wait_for(T, || text_of(&host, "chats").contains("\"Online\"").then_some(()))
        .expect("the list shows Online");

    let ev = |widget: &str, action: UiAction| UiEvent { widget: widget.into(), action };
    host.ui("chats", &ev("new_chat", UiAction::Changed { value: json!("bob@localhost") })).unwrap();
    host.ui("chats", &ev("start", UiAction::Clicked)).unwrap();
    host.ui("conversation", &ev("draft", UiAction::Changed { value: json!("hello from the panel") }))
        .unwrap();
    host.ui("conversation", &ev("send", UiAction::Clicked)).unwrap();
    event_where(&b_events, "chat.message", |v| v["body"] == "hello from the panel");

    // Bob answers: alice's open conversation shows it without anyone asking.
    b.call("chat.send", json!({"to": "alice@localhost", "body": "seen it, thanks"})).unwrap();
    wait_for(T, || text_of(&host, "conversation").contains("seen it, thanks").then_some(()))
        .expect("the conversation panel shows the reply");
    assert!(text_of(&host, "conversation").contains("hello from the panel"));

    // Search, then open the result.
    host.ui("chats", &ev("search", UiAction::Submitted { value: "THANKS".into() })).unwrap();
    // on_ui does not wait for the engine: the results show when it answers.
    wait_for(T, || text_of(&host, "search").contains("seen it, thanks").then_some(()))
        .unwrap_or_else(|| panic!("no result: {}", text_of(&host, "search")));
    let view = host.published_view("search").unwrap();
    let row = find_row(&serde_json::to_value(&view.root).unwrap(), "result_messages").expect("a result row");
    host.ui("search", &ev("result_messages", UiAction::Selected { row })).unwrap();
    wait_for(T, || text_of(&host, "conversation").contains("seen it, thanks").then_some(())).expect("opened");

    // Close all; "show closed" lists them again; new activity reopens.
    host.ui("chats", &ev("close_all", UiAction::Clicked)).unwrap();
    wait_for(T, || text_of(&host, "chats").contains("Show 1 closed").then_some(())).expect("closed");
    host.ui("chats", &ev("show_closed", UiAction::Changed { value: json!(true) })).unwrap();
    assert!(text_of(&host, "chats").contains("bob (closed)"));
    b.call("chat.send", json!({"to": "alice@localhost", "body": "ping"})).unwrap();
    wait_for(T, || (!text_of(&host, "chats").contains("(closed)")).then_some(()))
        .expect("reopened by new activity");

    // The presence selector reaches bob.
    host.ui("presence", &ev("status_message", UiAction::Changed { value: json!("Lunch break") })).unwrap();
    host.ui("presence", &ev(r#"status:"away""#, UiAction::Clicked)).unwrap();
    b.call("chat.add_contact", json!({"jid": "alice@localhost"})).unwrap();
    event_where(&b_events, "presence.changed", |v| {
        v["jid"] == "alice@localhost" && v["status"] == "away" && v["message"] == "Lunch break"
    });
    host.stop().unwrap();
}

/// A message alert names its conversation: clicking it (the shell hands the plugin
/// the alert's target) opens that conversation, not the one that was open.
#[test]
fn a_clicked_alert_opens_the_conversation_that_alerted() {
    use ucdesk_sdk::contract::notify::{CLICKED, Target};
    use ucdesk_sdk::view::{UiAction, UiEvent};
    let x = Prosody::start();
    let (bob, carol) = (chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (b, _b_events) = online_chat(&bob);
    let (c, _c_events) = online_chat(&carol);
    let mut host = alice_in_a_test_host(&x);
    wait_for(T, || text_of(&host, "chats").contains("\"Online\"").then_some(())).expect("online");
    b.call("chat.send", json!({"to": "alice@localhost", "body": "from bob"})).unwrap();
    wait_for(T, || text_of(&host, "chats").contains("bob").then_some(())).expect("bob's conversation");
    let open = UiEvent {
        widget: "conversations".into(),
        action: UiAction::Selected { row: r#"conv:"bob@localhost""#.into() },
    };
    host.ui("chats", &open).unwrap();
    wait_for(T, || text_of(&host, "conversation").contains("from bob").then_some(())).expect("bob's open");

    c.call("chat.send", json!({"to": "alice@localhost", "body": "from carol"})).unwrap();
    let alert = wait_for(T, || {
        host.published().into_iter().rev().find(|p| p.topic == "notify" && p.payload["body"] == "from carol")
    })
    .expect("carol's message alerts");
    assert!(!text_of(&host, "conversation").contains("from carol"), "bob's conversation is still open");
    let target: Target = serde_json::from_value(alert.payload["target"].clone()).expect("the alert's target");
    assert_eq!(target.id, "carol@localhost");
    host.ui("conversation", &UiEvent { widget: CLICKED.into(), action: UiAction::Opened { target } })
        .unwrap();
    wait_for(T, || text_of(&host, "conversation").contains("from carol").then_some(()))
        .expect("the click opened carol's conversation");
    assert!(!text_of(&host, "conversation").contains("from bob"));
    host.stop().unwrap();
}

/// The chat plugin as alice, in the sdk's headless host (so a test drives its panels).
fn alice_in_a_test_host(x: &Prosody) -> ucdesk_sdk::TestHost {
    let mut host = ucdesk_sdk::TestHost::load(ucdesk_tests::plugin_lib("chat")).unwrap();
    host.set_setting("jid", json!("alice@localhost")).unwrap();
    host.set_setting("server", json!(x.server())).unwrap();
    host.set_setting("tls_ca_file", json!(x.ca_file().display().to_string())).unwrap();
    host.set_secret("password", "alicepw");
    host.start().unwrap();
    host
}

/// What a panel last published, as JSON text.
fn text_of(host: &ucdesk_sdk::TestHost, panel: &str) -> String {
    host.published_view(panel).map(|v| serde_json::to_string(&v).unwrap()).unwrap_or_default()
}

/// The first node of `kind` in a view tree.
fn find_kind(node: &Value, kind: &str) -> Option<Value> {
    if node["kind"] == kind {
        return Some(node.clone());
    }
    node["children"].as_array()?.iter().find_map(|c| find_kind(c, kind))
}

/// The first row id of the list `list` in a view tree.
fn find_row(node: &Value, list: &str) -> Option<String> {
    if node["kind"] == "list" && node["id"] == list {
        return node["rows"][0]["id"].as_str().map(str::to_string);
    }
    node["children"].as_array()?.iter().find_map(|c| find_row(c, list))
}

#[test]
fn message_info_away_when_idle_and_administrator_statuses() {
    let x = Prosody::start();
    let (alice, bob, carol) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (a, _a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let (_c, c_events) = online_chat(&carol);
    let group = a
        .call(
            "chat.create_group",
            json!({"name": "Ops", "participants": ["bob@localhost", "carol@localhost"]}),
        )
        .unwrap();
    let room = group["id"].as_str().unwrap().to_string();
    wait_for(T, || {
        let list = a.call("chat.participants", json!({"conversation": room})).ok()?;
        (list.as_array()?.iter().filter(|p| p["present"] == true).count() == 3).then_some(())
    })
    .expect("everyone is in the group");
    let m = a.call("chat.send", json!({"to": room, "body": "deploy at 5"})).unwrap();
    event_where(&b_events, "chat.message", |v| v["id"] == m["id"]);
    event_where(&c_events, "chat.message", |v| v["id"] == m["id"]);
    b.call("chat.mark_read", json!({"conversation": room})).unwrap();
    let info = wait_for(T, || {
        let info = a.call("chat.message_info", json!({"conversation": room, "id": m["id"]})).ok()?;
        (info["seen_by"] == json!(["bob@localhost"])).then_some(info)
    })
    .expect("bob has seen it");
    assert_eq!(info["not_seen"], json!(["carol@localhost"]));
    assert!(a.call("chat.message_info", json!({"conversation": "bob@localhost", "id": m["id"]})).is_err());

    // Away when idle: only from Available, and back on activity.
    a.call("chat.add_contact", json!({"jid": "bob@localhost"})).unwrap();
    event_where(&b_events, "presence.changed", |v| {
        v["jid"] == "alice@localhost" && v["status"] == "available"
    });
    set(&alice, "chat.away_when_idle", "1");
    a.call("presence.activity", json!({"idle_seconds": 30})).unwrap();
    let p = a.call("presence.activity", json!({"idle_seconds": 61})).unwrap();
    assert_eq!(p["status"], "away");
    event_where(&b_events, "presence.changed", |v| v["jid"] == "alice@localhost" && v["status"] == "away");
    let p = a.call("presence.activity", json!({"idle_seconds": 0})).unwrap();
    assert_eq!(p["status"], "available");
    a.call("presence.set", json!({"status": "busy"})).unwrap();
    let p = a.call("presence.activity", json!({"idle_seconds": 600})).unwrap();
    assert_eq!(p["status"], "busy", "a status the user chose stays");

    // Statuses the administrator adds show in the presence selector.
    set(&alice, "chat.statuses", r#"["Lunch Break|away", "broken|nonsense"]"#);
    let view = wait_for(T, || {
        let v = alice.run_ok(&["view", "chat", "presence"]);
        v.contains("Lunch Break").then_some(v)
    })
    .expect("the selector offers Lunch Break");
    // The typed action `custom` with the status and its label (JSON-escaped here).
    assert!(view.contains(r#"custom:{\"label\":\"Lunch Break\",\"status\":\"away\"}"#), "{view}");
    assert!(!view.contains("broken"), "{view}");
}

#[test]
fn without_a_server_setting_the_domain_srv_records_lead_to_the_server() {
    use ucdesk_tests::lab::{Dns, free_port};
    let x = Prosody::start();
    // The first record (priority 5) points at a port nobody listens on: failover.
    let dead = free_port();
    let dns = Dns::start(
        &[
            ("_xmpp-client._tcp.lab.test", "xmpp0.lab.test", dead, 5, 10),
            ("_xmpp-client._tcp.lab.test", "xmpp1.lab.test", x.c2s, 10, 10),
        ],
        &[("xmpp0.lab.test", "127.0.0.1"), ("xmpp1.lab.test", "127.0.0.1")],
    );
    // The lab serves a second domain, lab.test: "localhost" never reaches a DNS server.
    let alice = chat_profile(&x, "alice");
    set(&alice, "chat.jid", "alice@lab.test");
    set(&alice, "chat.server", "");
    set(&alice, "chat.dns_server", &dns.addr());
    let (a, _events) = online_chat(&alice);
    assert_eq!(a.call("chat.status", json!(null)).unwrap()["server"], "lab.test (SRV)");
}

#[test]
fn images_carry_a_preview_and_forwards_carry_the_files() {
    let x = Prosody::start();
    let (alice, bob, carol) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let (_c, c_events) = online_chat(&carol);
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    image::RgbImage::from_fn(800, 600, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]))
        .save(&photo)
        .unwrap();
    let sent =
        a.call("chat.send", json!({"to": "bob@localhost", "files": [photo.display().to_string()]})).unwrap();
    event_where(&a_events, "chat.message", |v| v["id"] == sent["id"] && v["files"][0]["state"] == "uploaded");
    let got = event_where(&b_events, "chat.message", |v| v["id"] == sent["id"]);
    let thumb = got["files"][0]["thumbnail"].as_str().expect("a preview").to_string();
    assert!(thumb.starts_with("data:image/jpeg;base64,"), "{thumb}");
    use base64::Engine as _;
    let jpeg =
        base64::engine::general_purpose::STANDARD.decode(&thumb["data:image/jpeg;base64,".len()..]).unwrap();
    let preview = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((preview.width(), preview.height()), (160, 120), "fits 160x160, aspect kept");
    // Opened in bob's window, the conversation shows the preview as an image the chat
    // handed to the shell (by hash, not inside the tree).
    use ucdesk_kernel::control::Request;
    use ucdesk_plugin_api::view::{UiAction, UiEvent};
    let open = UiEvent {
        widget: "conversations".into(),
        action: UiAction::Selected { row: r#"conv:"alice@localhost""#.into() },
    };
    b.client()
        .request(&Request::Ui { plugin: "chat".into(), panel: "chats".into(), event: Box::new(open) })
        .unwrap();
    let image = wait_for(T, || {
        let v = b
            .client()
            .request(&Request::View { plugin: "chat".into(), panel: "conversation".into() })
            .ok()?;
        find_kind(&v["root"], "image")
    })
    .expect("an image node in the conversation");
    assert_eq!((image["width"].as_f64(), image["height"].as_f64()), (Some(160.0), Some(120.0)), "{image}");
    assert_eq!(image["alt"], "photo.png");

    // Bob forwards it to carol: the file goes along, attributed to alice.
    let fwd = b
        .call(
            "chat.forward",
            json!({"conversation": "alice@localhost", "id": sent["id"], "to": ["carol@localhost"]}),
        )
        .unwrap();
    let got = event_where(&c_events, "chat.message", |v| v["id"] == fwd[0]["id"]);
    assert_eq!(got["forwarded_from"], "alice@localhost");
    assert_eq!(got["files"][0]["name"], "photo.png");
    assert!(got["files"][0]["thumbnail"].is_string());
}

/// A contact's card (XEP-0292, published by their own client) gives the contact row
/// its name and phone numbers, so contact actions that need a number (the SMS
/// module's "Send SMS") apply to chat's contacts as well.
#[test]
fn contact_rows_carry_the_name_and_numbers_of_the_contacts_card() {
    let x = Prosody::start();
    {
        let mut raw = ucdesk_tests::lab::RawXmpp::login(&x, "bob", "bobpw");
        raw.send(
            "<iq type='set' id='card1'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>\
             <fn><text>Bob Builder</text></fn>\
             <tel><parameters><type><text>work</text></type></parameters><uri>tel:+15555550301</uri></tel>\
             <tel><parameters><type><text>cell</text></type></parameters><uri>tel:+15555550302</uri></tel>\
             </vcard></iq>",
        );
        // The server stored it before the client goes.
        assert!(raw.wait_for("card1", T), "no answer to the card: {}", raw.heard());
        assert!(!raw.heard().contains("type='error'"), "the card was refused: {}", raw.heard());
    }
    let (bob, alice) = (chat_profile(&x, "bob"), chat_profile(&x, "alice"));
    let (b, _b_events) = online_chat(&bob);
    let (a, _a_events) = online_chat(&alice);
    // Colleagues on one server: bob asks, alice's client accepts and asks back.
    b.call("chat.add_contact", json!({"jid": "alice@localhost"})).unwrap();
    let contacts = || {
        use ucdesk_kernel::control::Request;
        a.client()
            .request(&Request::View { plugin: "chat".into(), panel: "contacts".into() })
            .unwrap()
            .to_string()
    };
    let v = wait_for(T, || Some(contacts()).filter(|v| v.contains("+15555550302")))
        .unwrap_or_else(|| panic!("bob's numbers in alice's contact row: {}", contacts()));
    assert!(v.contains(r#""name":"Bob Builder""#), "{v}");
    assert!(v.contains(r#""label":"work","number":"+15555550301""#), "{v}");
    assert!(v.contains(r#""label":"mobile","number":"+15555550302""#), "{v}");
}
