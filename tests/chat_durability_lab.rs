//! What chat has accepted survives the process being killed: `chat.send` answering is a
//! promise that the message is on disk (with its outbox entry), whatever else the engine
//! is doing, an archive sync holding a page's transaction above all. Real Prosody on
//! loopback, real SIGKILL.

use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use ucdesk_tests::lab::{Prosody, RawXmpp, chat_profile, online_chat};
use ucdesk_tests::wait_for;

const T: Duration = Duration::from_secs(30);

#[test]
fn sends_accepted_during_an_archive_sync_survive_a_kill() {
    let x = Prosody::start();
    // Bob's archive: enough pages (250 each) that the sync runs well past the sends.
    let archived = 6000;
    let bob_elsewhere = RawXmpp::login(&x, "bob", "bobpw");
    let mut dave = RawXmpp::login(&x, "dave", "davepw");
    for i in 0..archived {
        dave.send(&format!(
            "<message to='bob@localhost' type='chat' id='fill{i}'><body>archived {i}</body></message>"
        ));
    }
    assert!(
        bob_elsewhere.wait_for(&format!("id='fill{}'", archived - 1), Duration::from_secs(120)),
        "the archive never filled"
    );
    drop((dave, bob_elsewhere));

    let carol = chat_profile(&x, "carol");
    let (c, _c_events) = online_chat(&carol);
    // Bob on a new machine: the whole archive to sync. Sends start once it is under way.
    let bob = chat_profile(&x, "bob");
    let (b, b_events) = online_chat(&bob);
    wait_for(T, || {
        b_events
            .drain_topic("chat.sync")
            .into_iter()
            .find(|s| s["done"] == false && s["fetched"].as_u64() > Some(0))
    })
    .expect("the sync started");
    let mut accepted = Vec::new();
    for i in 0..40 {
        let m =
            b.call("chat.send", json!({"to": "carol@localhost", "body": format!("accepted {i}")})).unwrap();
        accepted.push(m["id"].as_str().unwrap().to_string());
    }
    // Killed right after the last answer, before anything else can happen.
    let log = b.kill();
    let synced = b_events.drain_topic("chat.sync");
    assert!(
        synced.iter().all(|s| s["done"] == false),
        "the sync ended before the sends, so this proves nothing: {synced:?}\n{log}"
    );

    // Back up: every accepted message is in the history, and reaches carol once.
    let (b, _) = online_chat(&bob);
    let history = b.call("chat.history", json!({"conversation": "carol@localhost", "limit": 100})).unwrap();
    let kept: Vec<&str> =
        history["messages"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    let lost: Vec<usize> = (0..accepted.len()).filter(|i| !kept.contains(&accepted[*i].as_str())).collect();
    assert!(lost.is_empty(), "accepted messages {lost:?} of {} were lost; kept {kept:?}", accepted.len());
    let deadline = Instant::now() + T;
    let counts = loop {
        let h = c.call("chat.history", json!({"conversation": "bob@localhost", "limit": 100})).unwrap();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for m in h["messages"].as_array().unwrap() {
            *counts.entry(m["id"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        }
        if accepted.iter().all(|id| counts.contains_key(id)) || Instant::now() > deadline {
            break counts;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for id in &accepted {
        assert_eq!(counts.get(id), Some(&1), "carol has message {id} {:?} times", counts.get(id));
    }
    let outbox = wait_for(T, || b.call("chat.outbox", json!(null)).ok().filter(|o| o == &json!([])));
    assert!(outbox.is_some(), "the outbox never emptied");
}

/// The server took a message and the contact's only device online then went without
/// confirming it (here a raw client of alice's that never sends receipts: as a cluster
/// node dying with her session would). When alice's ucdesk comes back it has the message
/// from her archive, bob's ucdesk sends it again (same id) because no device of hers
/// confirmed it, and her receipt for that copy makes it delivered; she has it once.
#[test]
fn a_message_no_device_confirmed_goes_again_when_the_contact_comes_back() {
    let x = Prosody::start();
    let (alice, bob) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"));
    let (a, _) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let say = |body: &str| -> String {
        b.call("chat.send", json!({"to": "alice@localhost", "body": body})).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let receipt = |id: &str| {
        let id = id.to_string();
        ucdesk_tests::lab::event_where(&b_events, "chat.receipt", T, move |v| v["id"] == id.as_str())
    };
    // Contacts (bob hears when a device of alice's comes online), and alice's devices
    // send receipts: bob has seen one.
    b.call("chat.add_contact", json!({"jid": "alice@localhost"})).unwrap();
    ucdesk_tests::lab::event_where(&b_events, "presence.changed", T, |v| {
        v["jid"] == "alice@localhost" && v["status"] == "available"
    });
    let first = say("hello");
    receipt(&first);
    drop(a);

    let raw = RawXmpp::login(&x, "alice", "alicepw");
    // Past bob's own wait after her raw device's presence.
    std::thread::sleep(Duration::from_secs(6));
    let lost = say("did you get this?");
    assert!(raw.wait_for("did you get this?", T), "the raw device never got it");
    drop(raw);
    std::thread::sleep(Duration::from_secs(1));
    let state = |d: &ucdesk_tests::Daemon, conversation: &str| -> Vec<(String, String)> {
        let h = d.call("chat.history", json!({"conversation": conversation, "limit": 50})).unwrap();
        h["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["id"].as_str().unwrap().to_string(), m["state"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    assert!(
        state(&b, "alice@localhost").contains(&(lost.clone(), "sent".into())),
        "bob's copy should still wait for a receipt: {:?}",
        state(&b, "alice@localhost")
    );

    let (a, _) = online_chat(&alice);
    let confirmed =
        wait_for(T, || b_events.drain_topic("chat.receipt").into_iter().find(|r| r["id"] == lost.as_str()));
    assert!(confirmed.is_some(), "no receipt for the message:\nbob: {}\nalice: {}", b.log(), a.log());
    assert!(b.log().contains("again"), "bob never sent it again:\n{}", b.log());
    let copies = wait_for(T, || {
        let n = state(&a, "bob@localhost").iter().filter(|(id, _)| *id == lost).count();
        (n > 0).then_some(n)
    });
    assert_eq!(copies, Some(1), "alice's copies of the message: {:?}", state(&a, "bob@localhost"));
}
