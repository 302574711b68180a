//! The SMS module against a real Prosody and the lab SMS gateway (the carrier's
//! stand-in, tests/lab/sms_gateway.py): alice and bob share one number, carol has her
//! own, dave has none. Each user is their own daemon and home.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{self, Prosody, install_license};
use ucdesk_tests::sms::{ALICE_NUMBER, CAROL_NUMBER, SmsGateway, camera_photo, sms_in_state, sms_profile};
use ucdesk_tests::{Lines, Profile, plugin_lib, wait_for};

const T: Duration = Duration::from_secs(15);

fn event_where(events: &Lines, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    lab::event_where(events, topic, T, pred)
}

#[test]
fn texts_between_phones_and_a_shared_number_with_who_sent_them() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    // Alice runs chat too: the gateway's numbers stay out of her chats.
    let (alice, bob) = (sms_profile(&x, "alice", true), sms_profile(&x, "bob", false));
    let (a, a_events) = sms_in_state(&alice, "ready");
    let (b, b_events) = sms_in_state(&bob, "ready");
    let status = a.call("sms.status", json!(null)).unwrap();
    assert_eq!(status["number"], ALICE_NUMBER);
    assert_eq!(status["gateway"], "sms.localhost");
    assert_eq!(status["shared_with"], json!([{"jid": "bob@localhost", "name": "Bob"}]));

    // A number as the user types it: the gateway turns it into +E.164.
    let sent = a.call("sms.send", json!({"to": "(555) 555-0200", "body": "Lunch at noon? 🍕"})).unwrap();
    assert_eq!(sent["number"], CAROL_NUMBER);
    assert_eq!(sent["parts"], 1);
    let id = sent["ids"][0].as_str().unwrap().to_string();
    event_where(&a_events, "sms.state", |v| v["id"] == id.as_str() && v["state"] == "sent");
    let out = gw.outbound_where(T, |o| o.iter().any(|r| r["id"] == id.as_str()));
    let rec = out.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!((rec["from"].as_str(), rec["number"].as_str()), (Some("alice@localhost"), Some(ALICE_NUMBER)));
    assert_eq!((rec["to"].as_str(), rec["body"].as_str()), (Some(CAROL_NUMBER), Some("Lunch at noon? 🍕")));

    // Bob shares the number: he sees it, sent by Alice; Alice's own carries no name.
    let copy = event_where(&b_events, "sms.message", |v| v["id"] == id.as_str());
    assert_eq!((copy["direction"].as_str(), copy["number"].as_str()), (Some("out"), Some(CAROL_NUMBER)));
    assert_eq!(copy["by"], json!({"jid": "alice@localhost", "name": "Alice"}));
    let mine = a.call("sms.history", json!({"number": CAROL_NUMBER, "limit": 10})).unwrap();
    assert_eq!(mine[0]["state"], "sent");
    assert!(mine[0].get("by").is_none());

    // A phone texts the shared number: both get it, unread.
    gw.inbound("+15555550300", ALICE_NUMBER, "Your order is ready");
    for events in [&a_events, &b_events] {
        let m = event_where(events, "sms.message", |v| v["body"] == "Your order is ready");
        assert_eq!((m["direction"].as_str(), m["number"].as_str()), (Some("in"), Some("+15555550300")));
        assert_eq!(m["read"], false);
    }
    let convs = a.call("sms.conversations", json!(null)).unwrap();
    let numbers: Vec<&str> =
        convs.as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["+15555550300", CAROL_NUMBER], "by recent activity");
    assert_eq!(convs[1]["display"], "(555) 555-0200", "shown as typed");
    assert_eq!(convs[0]["unread"], 1);
    assert_eq!(a.call("sms.status", json!(null)).unwrap()["unread"], 1);

    // Search by text and by number; mark read; delete a message and a conversation.
    let found = a.call("sms.search", json!({"query": "order"})).unwrap();
    assert_eq!(found["messages"].as_array().unwrap().len(), 1);
    let found = a.call("sms.search", json!({"query": "555-0200"})).unwrap();
    assert_eq!(found["conversations"][0]["number"], CAROL_NUMBER);
    a.call("sms.mark_read", json!({})).unwrap();
    assert_eq!(a.call("sms.status", json!(null)).unwrap()["unread"], 0);
    let export_dir = tempfile::tempdir().unwrap();
    let exported = a.call("sms.export", json!({"dir": export_dir.path()})).unwrap();
    assert_eq!(exported["files"].as_array().unwrap().len(), 2);
    let folder = std::path::Path::new(exported["folder"].as_str().unwrap());
    let text = std::fs::read_to_string(folder.join("(555) 555-0200 (+15555550200).txt")).unwrap();
    assert!(text.contains("Me: Lunch at noon? 🍕"), "{text}");
    a.call("sms.delete", json!({"id": id})).unwrap();
    assert_eq!(a.call("sms.history", json!({"number": CAROL_NUMBER, "limit": 10})).unwrap(), json!([]));
    a.call("sms.delete_conversation", json!({"number": "+15555550300"})).unwrap();
    assert_eq!(a.call("sms.conversations", json!(null)).unwrap(), json!([]));

    // Chat stored none of it.
    let chats = a.call("chat.conversations", json!(null)).unwrap();
    assert!(!chats.to_string().contains("sms.localhost"), "{chats}");
    drop(b);
}

#[test]
fn a_refusal_from_the_carrier_fails_the_message_and_five_parts_are_refused() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", false);
    let (c, c_events) = sms_in_state(&carol, "ready");
    gw.fail("+15555550999", "Destination unreachable");
    let sent = c.call("sms.send", json!({"to": "+15555550999", "body": "hello?"})).unwrap();
    let id = sent["ids"][0].as_str().unwrap().to_string();
    let failed = event_where(&c_events, "sms.state", |v| v["id"] == id.as_str());
    assert_eq!(failed["state"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("Destination unreachable"), "{failed}");
    assert_eq!(c.call("sms.status", json!(null)).unwrap()["outbox"], 0);

    // 612 GSM-7 characters are four parts; 613 would be five: refused, nothing stored.
    let other = "+15555550333";
    let four = c.call("sms.send", json!({"to": other, "body": "a".repeat(612)})).unwrap();
    assert_eq!(four["parts"], 4);
    let five = c.call("sms.send", json!({"to": other, "body": "a".repeat(613)})).unwrap_err();
    assert!(five.contains("5 SMS parts") && five.contains("at most 4"), "{five}");
    let ucs2 = c.call("sms.send", json!({"to": other, "body": "ж".repeat(269)})).unwrap_err();
    assert!(ucs2.contains("5 SMS parts"), "{ucs2}");
    assert_eq!(
        c.call("sms.history", json!({"number": other, "limit": 10})).unwrap().as_array().unwrap().len(),
        1
    );
    let bad = c.call("sms.send", json!({"to": "pizza", "body": "hi"})).unwrap_err();
    assert!(bad.contains("pizza"), "{bad}");

    // Dave has no number: the manual's alert, and nothing can be sent.
    let dave = sms_profile(&x, "dave", false);
    let (d, _) = sms_in_state(&dave, "no_number");
    assert_eq!(d.call("sms.status", json!(null)).unwrap()["reason"], "No SMS number assigned");
    let refused = d.call("sms.send", json!({"to": CAROL_NUMBER, "body": "hi"})).unwrap_err();
    assert!(refused.contains("No SMS number assigned"), "{refused}\n{}", d.log());
}

#[test]
fn without_the_sms_add_on_the_module_does_not_appear() {
    let x = Prosody::start();
    let p = Profile::new();
    install_license(&p, &[]);
    let p = p.with_library(&plugin_lib("sms"), "sms");
    let sms = p.plugins().into_iter().find(|e| e["id"] == "sms").expect("listed");
    assert_eq!(sms["state"], "locked");
    assert_eq!(sms["reason"], "license lacks feature 'sms'");
    let d = p.daemon();
    assert!(d.call("sms.status", json!(null)).is_err());
    drop(x);
}

#[test]
fn the_outbox_waits_for_a_restarted_gateway_and_the_carrier_gets_each_text_once() {
    let x = Prosody::start();
    let mut gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", false);
    let (c, c_events) = sms_in_state(&carol, "ready");
    gw.stop();
    let ids: Vec<String> = ["first", "second"]
        .iter()
        .map(|body| {
            let sent = c.call("sms.send", json!({"to": "+15555550111", "body": body})).unwrap();
            sent["ids"][0].as_str().unwrap().to_string()
        })
        .collect();
    wait_for(T, || c.call("sms.status", json!(null)).ok().filter(|s| s["state"] == "no_gateway"))
        .expect("the bounce says the gateway is gone");
    let status = c.call("sms.status", json!(null)).unwrap();
    assert_eq!(status["outbox"], 2, "{status}");
    let history = c.call("sms.history", json!({"number": "+15555550111", "limit": 10})).unwrap();
    assert!(history.as_array().unwrap().iter().all(|m| m["state"] == "sending"), "{history}");

    gw.start_again();
    for id in &ids {
        event_where(&c_events, "sms.state", |v| v["id"] == id.as_str() && v["state"] == "sent");
    }
    let out = gw.outbound_where(T, |o| o.len() >= 2);
    std::thread::sleep(Duration::from_secs(4));
    let out_later = gw.outbound();
    assert_eq!(out.len(), out_later.len(), "nothing handed over twice: {out_later:?}");
    let bodies: Vec<&str> = out_later.iter().map(|r| r["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["first", "second"], "in the order sent");
    assert_eq!(c.call("sms.status", json!(null)).unwrap()["outbox"], 0);
}

#[test]
fn odd_stanzas_from_the_gateway_change_nothing() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", false);
    let (c, c_events) = sms_in_state(&carol, "ready");
    let to = "carol@localhost";
    for xml in [
        // Not a number, no text, a receipt for nothing, an error without an error.
        format!("<message type='chat' from='pizza@sms.localhost' to='{to}' id='o1'><body>x</body></message>"),
        format!("<message type='chat' from='sms.localhost' to='{to}' id='o2'><body>x</body></message>"),
        format!("<message type='chat' from='+15555550123@sms.localhost' to='{to}' id='o3'/>"),
        format!(
            "<message from='+15555550123@sms.localhost' to='{to}' id='o4'>\
             <received xmlns='urn:xmpp:receipts' id='nothing'/></message>"
        ),
        format!("<message type='error' from='+15555550123@sms.localhost' to='{to}' id='o5'/>"),
        // A copy naming a sharer that is no address; a body far over any limit.
        format!(
            "<message type='chat' from='+15555550123@sms.localhost' to='{to}' id='o6'><body>copy</body>\
             <sms xmlns='urn:ucdesk:sms:0' direction='out' by='not an address'/></message>"
        ),
        format!(
            "<message type='chat' from='+15555550123@sms.localhost' to='{to}' id='o7'><body>{}</body></message>",
            "y".repeat(100_000)
        ),
        format!("<iq type='set' from='sms.localhost' to='{to}/x' id='o8'><query xmlns='urn:nothing'/></iq>"),
    ] {
        gw.raw(&xml);
    }
    gw.inbound("+15555550123", CAROL_NUMBER, "still here");
    event_where(&c_events, "sms.message", |v| v["body"] == "still here");
    let history = c.call("sms.history", json!({"number": "+15555550123", "limit": 10})).unwrap();
    let bodies: Vec<usize> =
        history.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().len()).collect();
    assert_eq!(bodies, [4, 4096, 10], "the copy, the long one cut, then the real one: {history}");
    assert_eq!(c.call("sms.conversations", json!(null)).unwrap().as_array().unwrap().len(), 1);
    assert_eq!(c.call("sms.status", json!(null)).unwrap()["state"], "ready");
}

#[test]
fn a_fresh_home_gets_the_history_from_the_archive() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", false);
    let (c, c_events) = sms_in_state(&carol, "ready");
    let sent = c.call("sms.send", json!({"to": "+15555550444", "body": "one"})).unwrap();
    let id = sent["ids"][0].as_str().unwrap().to_string();
    event_where(&c_events, "sms.state", |v| v["id"] == id.as_str() && v["state"] == "sent");
    gw.inbound("+15555550444", CAROL_NUMBER, "two");
    event_where(&c_events, "sms.message", |v| v["body"] == "two");
    gw.inbound("+15555550555", CAROL_NUMBER, "three");
    event_where(&c_events, "sms.message", |v| v["body"] == "three");
    let before = c.call("sms.conversations", json!(null)).unwrap();

    // Carol on a second desktop: the same conversations, history read, nothing new.
    let fresh = sms_profile(&x, "carol", false);
    let (f, _) = sms_in_state(&fresh, "ready");
    let after = wait_for(T, || {
        f.call("sms.conversations", json!(null)).ok().filter(|c| c.as_array().is_some_and(|a| a.len() == 2))
    })
    .expect("the archive fills the list");
    let strip = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array().unwrap().iter().map(|c| (c["number"].clone(), c["last_body"].clone())).collect()
    };
    assert_eq!(strip(&after), strip(&before));
    assert!(after.as_array().unwrap().iter().all(|c| c["unread"] == 0), "{after}");
    let history = f.call("sms.history", json!({"number": "+15555550444", "limit": 10})).unwrap();
    let seen: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["body"].as_str().unwrap(), m["direction"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("one", "out"), ("two", "in")]);
    assert_eq!(history[0]["id"], id.as_str(), "the same id on every desktop");
}

#[test]
fn picture_messages_both_ways_within_the_manuals_limits() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let (alice, carol) = (sms_profile(&x, "alice", false), sms_profile(&x, "carol", false));
    let (a, a_events) = sms_in_state(&alice, "ready");
    let (c, c_events) = sms_in_state(&carol, "ready");
    let files = tempfile::tempdir().unwrap();
    let photo = files.path().join("holiday.jpeg");
    std::fs::write(&photo, camera_photo()).unwrap();
    let card = files.path().join("me.vcf");
    std::fs::write(&card, "BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nEND:VCARD\n").unwrap();

    // Text first, then the files one by one; the photo recompressed under 500 KB.
    let sent = a
        .call("sms.send", json!({"to": CAROL_NUMBER, "body": "From the beach", "files": [photo, card]}))
        .unwrap();
    let ids: Vec<String> =
        sent["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().into()).collect();
    assert_eq!(ids.len(), 3, "{sent}");
    for id in &ids {
        event_where(&a_events, "sms.state", |v| v["id"] == id.as_str() && v["state"] == "sent");
    }
    let out = gw.outbound_where(T, |o| o.len() >= 3);
    let order: Vec<&str> = out.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "the text, then the files in order"
    );
    assert_eq!(out[0]["body"], "From the beach");
    let media: u64 = out[1..].iter().map(|r| r["size"].as_u64().unwrap()).sum();
    assert!(media <= 500 * 1024, "{media} bytes of media");
    assert_eq!(out[1]["body"], out[1]["url"], "the URL is the body too");
    let carried = image::open(out[1]["media"].as_str().unwrap()).expect("the photo still decodes");
    assert!(carried.width() >= 1000, "scaled no more than needed: {}", carried.width());

    // The receiving side (the carrier delivers to Carol's number): the text, then each
    // file fetched by itself (under 500 KB).
    let text = event_where(&c_events, "sms.message", |v| v["id"] == format!("net-{}", ids[0]).as_str());
    assert_eq!(
        (text["number"].as_str(), text["body"].as_str()),
        (Some(ALICE_NUMBER), Some("From the beach"))
    );
    // (The fetches run at once: their outcome is read from the history, not the order
    // of events.)
    for (i, id) in ids.iter().enumerate().skip(1) {
        let net = format!("net-{id}");
        let got = wait_for(T, || {
            let h = c.call("sms.history", json!({"number": ALICE_NUMBER, "limit": 10})).ok()?;
            h.as_array()?.iter().find(|m| m["id"] == net.as_str() && m["file"]["state"] == "ready").cloned()
        })
        .unwrap_or_else(|| panic!("{net} was not fetched"));
        let path = got["file"]["path"].as_str().unwrap();
        if i == 1 {
            assert_eq!(got["file"]["mime"], "image/jpeg");
            image::open(path).expect("carol's copy decodes");
        } else {
            assert!(std::fs::read_to_string(path).unwrap().contains("FN:Alice"));
        }
    }

    // The manual's limits: an 11th file, 501 KB that cannot be recompressed, 1,001
    // characters; nothing of them is stored or sent.
    let eleven: Vec<_> = (0..11).map(|_| card.clone()).collect();
    let e = a.call("sms.send", json!({"to": CAROL_NUMBER, "body": "", "files": eleven})).unwrap_err();
    assert!(e.contains("Maximum size of attached files for MMS reached"), "{e}");
    let pdf = files.path().join("big.pdf");
    std::fs::write(&pdf, vec![b'%'; 501 * 1024]).unwrap();
    let e = a.call("sms.send", json!({"to": CAROL_NUMBER, "files": [pdf]})).unwrap_err();
    assert!(e.contains("Maximum size of attached files for MMS reached") && e.contains("501 KB"), "{e}");
    let e = a
        .call("sms.send", json!({"to": CAROL_NUMBER, "body": "x".repeat(1001), "files": [card]}))
        .unwrap_err();
    assert!(e.contains("1000 characters"), "{e}");
    let exe = files.path().join("setup.exe");
    std::fs::write(&exe, b"MZ").unwrap();
    assert!(
        a.call("sms.send", json!({"to": CAROL_NUMBER, "files": [exe]}))
            .unwrap_err()
            .contains("not a file type")
    );
    assert_eq!(gw.outbound().len(), 3);
    assert_eq!(
        a.call("sms.history", json!({"number": CAROL_NUMBER, "limit": 50}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A phone's MMS: the small file comes by itself, the large one on request.
    let small = vec![7u8; 10 * 1024];
    let large = vec![9u8; 600 * 1024];
    let ids = gw.inbound_mms(
        "+15555550777",
        CAROL_NUMBER,
        "two clips",
        &[("clip.mp3", "audio/mpeg", &small), ("long.mp4", "video/mp4", &large)],
    );
    assert_eq!(ids.len(), 3);
    // (Both fetches run at once: read their outcome from the history, not the event order.)
    let file_of = |id: &str| {
        let h = c.call("sms.history", json!({"number": "+15555550777", "limit": 10})).unwrap();
        h.as_array().unwrap().iter().find(|m| m["id"] == id).map(|m| m["file"].clone())
    };
    wait_for(T, || file_of(&ids[1]).filter(|f| f["state"] == "ready"))
        .expect("the small file comes by itself");
    let big = wait_for(T, || file_of(&ids[2]).filter(|f| f["state"] == "not_downloaded"))
        .map(|file| json!({ "file": file }))
        .expect("the large file waits for a click");
    assert!(big["file"]["name"].as_str().unwrap().ends_with("long.mp4"), "{big}");
    c.call("sms.download", json!({"id": ids[2]})).unwrap();
    let got = event_where(&c_events, "sms.message", |v| {
        v["id"] == ids[2].as_str() && v["file"]["state"] == "ready"
    });
    assert_eq!(std::fs::metadata(got["file"]["path"].as_str().unwrap()).unwrap().len(), 600 * 1024);

    // Exported with the files beside the conversation.
    let export_dir = tempfile::tempdir().unwrap();
    let exported = c.call("sms.export", json!({"dir": export_dir.path()})).unwrap();
    let names = exported["files"].to_string();
    assert!(names.contains("long.mp4") && names.contains(".jpg"), "{names}");
}

/// No `notify` event about SMS arrives within a while.
fn no_sms_alert(events: &Lines) {
    let until = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < until {
        if let Some(n) = lab::next_event(events, "notify", Duration::from_millis(200)) {
            assert!(!n["id"].as_str().unwrap_or_default().starts_with("sms:"), "unexpected alert {n}");
        }
    }
}

#[test]
fn alerts_are_off_until_turned_on_and_do_not_disturb_silences_them() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", true);
    let (c, events) = sms_in_state(&carol, "ready");
    wait_for(T, || c.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online")).unwrap();
    gw.inbound("+15555550666", CAROL_NUMBER, "quiet one");
    event_where(&events, "sms.message", |v| v["body"] == "quiet one");
    no_sms_alert(&events);

    lab::set(&carol, "sms.notify", "true");
    wait_for(T, || {
        gw.inbound("+15555550666", CAROL_NUMBER, "loud one");
        lab::next_event(&events, "notify", Duration::from_secs(2)).filter(|n| n["id"] == "sms:+15555550666")
    })
    .map(|n| {
        assert_eq!(n["title"], "SMS from +15555550666");
        assert_eq!(n["target"], json!({"kind": "conversation", "id": "+15555550666"}));
    })
    .expect("an alert once sms.notify is on");

    c.call("presence.set", json!({"status": "dnd"})).unwrap();
    event_where(&events, "presence.changed", |v| v["me"] == true && v["status"] == "dnd");
    gw.inbound("+15555550666", CAROL_NUMBER, "while busy");
    event_where(&events, "sms.message", |v| v["body"] == "while busy");
    no_sms_alert(&events);
}

/// The SMS window's view tree as text (every label and value), for assertions.
fn window(d: &ucdesk_tests::Daemon) -> String {
    use ucdesk_kernel::control::Request;
    d.client().request(&Request::View { plugin: "sms".into(), panel: "sms".into() }).unwrap().to_string()
}

fn ui(d: &ucdesk_tests::Daemon, widget: &str, action: Value) {
    ui_at(d, "sms", widget, action)
}

/// An interaction with a widget of one of the plugin's panels.
fn ui_at(d: &ucdesk_tests::Daemon, panel: &str, widget: &str, action: Value) {
    use ucdesk_kernel::control::Request;
    // The action's fields sit beside the widget id (the event is flattened).
    let mut event = action;
    event["widget"] = json!(widget);
    let event: ucdesk_plugin_api::view::UiEvent = serde_json::from_value(event).unwrap();
    d.client()
        .request(&Request::Ui { plugin: "sms".into(), panel: panel.into(), event: Box::new(event) })
        .unwrap();
}

/// A panel's view tree as text.
fn panel(d: &ucdesk_tests::Daemon, panel: &str) -> String {
    use ucdesk_kernel::control::Request;
    d.client().request(&Request::View { plugin: "sms".into(), panel: panel.into() }).unwrap().to_string()
}

#[test]
fn send_sms_on_a_contact_asks_which_number_and_the_window_shows_the_number_to_copy() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    let carol = sms_profile(&x, "carol", false);
    let (c, c_events) = sms_in_state(&carol, "ready");
    // The number, as text a click copies.
    let v = wait_for(T, || Some(window(&c)).filter(|v| v.contains(CAROL_NUMBER))).unwrap();
    assert!(v.contains(r#""copy_on_click":true"#), "{v}");

    // "Send SMS" picked on a contact with two numbers in another plugin's list: the
    // window asks which one; the chosen one opens, named for the contact.
    let contact = json!({"name": "Dana Scully", "number": "+15555550881",
        "numbers": [{"label": "work", "number": "+15555550881"}, {"label": "mobile", "number": "+15555550882"}]});
    ui(&c, "contact_action", json!({"action": "contact_action", "id": "send_sms", "contact": contact}));
    let v = wait_for(T, || Some(window(&c)).filter(|v| v.contains("Send SMS to Dana Scully"))).unwrap();
    assert!(v.contains("work: +15555550881") && v.contains("mobile: +15555550882"), "{v}");
    ui(&c, r#"choose:1"#, json!({"action": "clicked"}));
    wait_for(T, || Some(window(&c)).filter(|v| v.contains("Dana Scully") && !v.contains("Which number?")))
        .expect("the mobile number's conversation opens");
    ui(&c, "draft", json!({"action": "changed", "value": "Are you coming?"}));
    ui(&c, "send", json!({"action": "clicked"}));
    let sent = event_where(&c_events, "sms.message", |v| v["body"] == "Are you coming?");
    assert_eq!(sent["number"], "+15555550882");
    let convs = c.call("sms.conversations", json!(null)).unwrap();
    assert_eq!(convs[0]["display"], "Dana Scully", "{convs}");
    gw.outbound_where(T, |o| o.iter().any(|r| r["to"] == "+15555550882"));

    // Files picked in the attach dialog make it an MMS; a type MMS does not carry is
    // discarded with a message. The dialog lists only what MMS carries.
    let v = window(&c);
    assert!(v.contains(r#""kind":"file_picker""#) && v.contains(r#""vcf""#), "{v}");
    let files = tempfile::tempdir().unwrap();
    let card = files.path().join("card.vcf");
    std::fs::write(&card, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol\r\nEND:VCARD\r\n").unwrap();
    let tool = files.path().join("tool.exe");
    std::fs::write(&tool, b"MZ").unwrap();
    ui(&c, "attach", json!({"action": "files_picked", "paths": [card, tool]}));
    let v = wait_for(T, || Some(window(&c)).filter(|v| v.contains("📎 card.vcf"))).unwrap();
    assert!(v.contains("MMS · 1 file(s)") && v.contains("is not a file type MMS can carry"), "{v}");
    ui(&c, "send", json!({"action": "clicked"}));
    gw.outbound_where(T, |o| {
        o.iter().any(|r| r["to"] == "+15555550882" && r.to_string().contains("card.vcf"))
    });

    // Preferences -> Messaging: "Export old SMS history" into the folder picked.
    let prefs = panel(&c, "prefs");
    assert!(prefs.contains("Export old SMS history") && prefs.contains(r#""folder":true"#), "{prefs}");
    let into = tempfile::tempdir().unwrap();
    ui_at(&c, "prefs", "export", json!({"action": "files_picked", "paths": [into.path()]}));
    let prefs = wait_for(T, || Some(panel(&c, "prefs")).filter(|v| v.contains("Exported into"))).unwrap();
    let folder = std::fs::read_dir(into.path()).unwrap().next().expect("a new folder").unwrap().path();
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.contains("15555550882")), "{names:?} ({prefs})");
}

/// The SMS search finds contacts of the directory too: every contact source's (here
/// chat's roster, whose contacts carry the numbers of their vCard), by name or number;
/// picking one opens the conversation with that number, named for the contact.
#[test]
fn the_search_finds_the_directorys_contacts_by_name_and_number() {
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    {
        let mut raw = ucdesk_tests::lab::RawXmpp::login(&x, "bob", "bobpw");
        raw.send(
            "<iq type='set' id='card1'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>\
             <fn><text>Bob Builder</text></fn>\
             <tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-555-555-0302</uri></tel>\
             </vcard></iq>",
        );
        // The server stored it before the client goes.
        assert!(raw.wait_for("card1", T), "no answer to the card: {}", raw.heard());
        assert!(!raw.heard().contains("type='error'"), "the card was refused: {}", raw.heard());
    }
    let bob = ucdesk_tests::lab::chat_profile(&x, "bob");
    let (b, _b_events) = ucdesk_tests::lab::online_chat(&bob);
    let carol = sms_profile(&x, "carol", true);
    let (c, _c_events) = sms_in_state(&carol, "ready");
    b.call("chat.add_contact", json!({"jid": "carol@localhost"})).unwrap();
    let found = wait_for(T, || {
        let f = c.call("sms.search", json!({"query": "builder"})).unwrap();
        f["contacts"].as_array().is_some_and(|a| !a.is_empty()).then_some(f)
    })
    .expect("bob in the directory");
    assert_eq!(found["contacts"][0]["name"], "Bob Builder", "{found}");
    assert_eq!(found["contacts"][0]["numbers"][0]["number"], "+1-555-555-0302", "{found}");
    let by_number = c.call("sms.search", json!({"query": "555 0302"})).unwrap();
    assert_eq!(by_number["contacts"][0]["name"], "Bob Builder", "{by_number}");
    // Contacts without a number are no use to SMS: dave is in the directory (carol's
    // roster), with no card, and is not listed.
    c.call("chat.add_contact", json!({"jid": "dave@localhost"})).unwrap();
    let roster = c.call("chat.contacts", json!(null)).unwrap();
    assert!(roster.to_string().contains("dave@localhost"), "{roster}");
    let none = c.call("sms.search", json!({"query": "dave"})).unwrap();
    assert_eq!(none["contacts"], json!([]), "{none}");

    // In the window: typed in the search field, the contact's number is a row; picking
    // it opens the conversation named for the contact.
    ui(&c, "search", json!({"action": "changed", "value": "Builder"}));
    let v = wait_for(T, || Some(window(&c)).filter(|v| v.contains("mobile +1-555-555-0302"))).unwrap();
    assert!(v.contains(r#""found_contacts""#), "{v}");
    ui(&c, "found_contacts", json!({"action": "selected", "row": "0:0"}));
    ui(&c, "draft", json!({"action": "changed", "value": "Your order is ready"}));
    wait_for(T, || Some(window(&c)).filter(|v| v.contains(r#""Bob Builder""#)))
        .expect("named for the contact");
    ui(&c, "send", json!({"action": "clicked"}));
    gw.outbound_where(T, |o| {
        o.iter().any(|r| r["body"] == "Your order is ready" && r["to"] == "+15555550302")
    });
}
