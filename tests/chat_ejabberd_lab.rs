//! The chat plugin against ejabberd 23.01 from Debian (tests/lab/ejabberd.sh), a second
//! real server beside Prosody so the plugin is not tuned to one: groups configured
//! through the room's own form (real addresses, archive), bookmarks that make a new
//! device and a restart rejoin them, 1:1 with files through ejabberd's upload, and a
//! two-node cluster that loses the node a client is on mid-conversation.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use ucdesk_tests::lab::{self, Cluster, Ejabberd, RawXmpp, chat_profile, chat_state, online_chat, set};
use ucdesk_tests::{Daemon, Lines, wait_for};

const T: Duration = Duration::from_secs(20);

fn event_where(events: &Lines, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    lab::event_where(events, topic, T, pred)
}

fn present(d: &Daemon, room: &str) -> usize {
    d.call("chat.participants", json!({"conversation": room}))
        .ok()
        .and_then(|l| l.as_array().map(|l| l.iter().filter(|p| p["present"] == true).count()))
        .unwrap_or(0)
}

fn bodies(d: &Daemon, conversation: &str) -> Vec<String> {
    let h = d.call("chat.history", json!({"conversation": conversation, "limit": 200})).unwrap();
    h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether `user`'s bookmarks on the server hold `room`, in PEP (XEP-0402) or in the
/// older private storage (XEP-0048: where the plugin falls back to when a loaded server
/// refuses the PEP node), asked through a raw login of their own; waits up to `T`.
fn bookmarked(e: &Ejabberd, user: &str, room: &str) -> bool {
    let mut raw = RawXmpp::login(e, user, &format!("{user}pw"));
    let mut n = 0;
    wait_for(T, || {
        n += 1;
        let (pep, private) = (format!("pep-{n}-"), format!("private-{n}-"));
        raw.send(&format!(
            "<iq type='get' id='{pep}'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <items node='urn:xmpp:bookmarks:1'/></pubsub></iq>\
             <iq type='get' id='{private}'><query xmlns='jabber:iq:private'>\
             <storage xmlns='storage:bookmarks'/></query></iq>"
        ));
        raw.wait_for(&pep, Duration::from_secs(2));
        raw.wait_for(&private, Duration::from_secs(2));
        let heard = raw.heard();
        let answer = heard.split_once(&pep).map(|(_, a)| a.to_string()).unwrap_or_default();
        answer.contains(room).then_some(()).or_else(|| {
            std::thread::sleep(Duration::from_millis(300));
            None
        })
    })
    .is_some()
}

#[test]
fn groups_show_real_addresses_keep_their_archive_and_are_rejoined() {
    let mut e = Ejabberd::start();
    let (alice, bob, carol) = (chat_profile(&e, "alice"), chat_profile(&e, "bob"), chat_profile(&e, "carol"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let (c, _c_events) = online_chat(&carol);
    let group = a
        .call(
            "chat.create_group",
            json!({"name": "Launch", "participants": ["bob@localhost", "carol@localhost"], "full_history": true}),
        )
        .unwrap();
    let room = group["id"].as_str().unwrap().to_string();
    // Presence counts only occupants whose real address the room shows.
    for d in [&a, &b, &c] {
        wait_for(T, || (present(d, &room) == 3).then_some(()))
            .unwrap_or_else(|| panic!("members do not see each other's addresses:\n{}", d.log()));
    }
    let limits = a_events.drain_topic("chat.group_limits");
    assert!(limits.is_empty(), "ejabberd's form gives a group all it needs: {limits:?}");
    let hello = a.call("chat.send", json!({"to": room, "body": "kick-off at 10"})).unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == hello["id"]);
    assert_eq!(got["from"], "alice@localhost", "{got}");

    // Carol on a new machine: the bookmark brings the group, the room's archive its history.
    // (Her first device publishes the bookmark while she joins; it must be on the server
    // before that device goes, or there is nothing for the new one to find.)
    // A second group: ejabberd's bookmark node keeps one item unless configured, so both
    // must be there for the new device.
    let ops = a
        .call("chat.create_group", json!({"name": "Ops", "participants": ["carol@localhost"]}))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(T, || (present(&c, &ops) == 2).then_some(()))
        .unwrap_or_else(|| panic!("carol is not in the second group:\n{}", c.log()));
    for r in [&room, &ops] {
        assert!(bookmarked(&e, "carol", r), "carol's first device stored no bookmark of {r}:\n{}", c.log());
    }
    drop(c);
    let carol2 = chat_profile(&e, "carol");
    let (c2, _) = online_chat(&carol2);
    wait_for(T, || bodies(&c2, &room).contains(&"kick-off at 10".to_string()).then_some(())).unwrap_or_else(
        || {
            let conversations = c2.call("chat.conversations", json!(null));
            panic!("the new device has no group history ({conversations:?}):\n{}", c2.log())
        },
    );
    wait_for(T, || (present(&c2, &ops) == 2).then_some(()))
        .unwrap_or_else(|| panic!("the new device is not in the second group:\n{}", c2.log()));

    // The server restarts: everyone is back in the group by themselves (here the
    // bookmark fetch right after the restart fails: the device's own records rejoin).
    e.stop();
    event_where(&a_events, "chat.connection", |v| v["state"] == "offline");
    // Written while the server is down: it goes once alice is back in the room.
    let during = a.call("chat.send", json!({"to": room, "body": "while you were out"})).unwrap();
    e.start_again();
    for d in [&a, &b, &c2] {
        chat_state(d, "online");
        wait_for(Duration::from_secs(60), || (present(d, &room) == 3).then_some(()))
            .unwrap_or_else(|| panic!("not rejoined after the restart:\n{}", d.log()));
    }
    // And the group talks again: a message after the restart reaches every member once,
    // and so does the one written while the server was down.
    let after = a.call("chat.send", json!({"to": room, "body": "back on"})).unwrap();
    for d in [&b, &c2] {
        let both = |d: &Daemon| {
            let got = bodies(d, &room);
            ["back on", "while you were out"].iter().all(|b| got.iter().filter(|g| g == b).count() == 1)
        };
        wait_for(T, || both(d).then_some(())).unwrap_or_else(|| {
            panic!(
                "the message after the restart did not arrive:\n{}\nalice: {:?} {:?}\n{}",
                d.log(),
                bodies(&a, &room),
                a.call("chat.history", json!({"conversation": room, "limit": 5})),
                a.log()
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(both(d), "a message shows twice: {:?} ({after}, {during})", bodies(d, &room));
    }
}

#[test]
fn one_to_one_history_and_files_through_ejabberds_upload() {
    let e = Ejabberd::start();
    let (alice, bob) = (chat_profile(&e, "alice"), chat_profile(&e, "bob"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"meeting notes\n".repeat(50)).unwrap();
    let sent = a
        .call(
            "chat.send",
            json!({"to": "bob@localhost", "body": "see attached", "files": [notes.display().to_string()]}),
        )
        .unwrap();
    event_where(&b_events, "chat.message", |v| {
        v["id"] == sent["id"] && v["files"][0]["state"] == "downloaded"
    });
    // Delivered, then read: the receipts come back through ejabberd.
    event_where(&a_events, "chat.receipt", |v| v["id"] == sent["id"]);
    drop(b);
    // A new device for bob syncs the 1:1 history from ejabberd's archive.
    let bob2 = chat_profile(&e, "bob");
    let (b2, b2_events) = online_chat(&bob2);
    event_where(&b2_events, "chat.sync", |v| v["done"] == true);
    assert_eq!(bodies(&b2, "alice@localhost"), ["see attached"]);
}

/// Two ejabberd nodes in one cluster behind SRV records; alice is on the first, bob on
/// the second. The first node dies mid-conversation: alice moves to the second (her
/// logins there succeed at once, the stream's resumption of her old session is refused
/// each time, and after three the engine starts a fresh session: about half a second)
/// and nothing either side sent is lost or doubled.
#[test]
fn a_cluster_node_dying_moves_the_client_to_the_other_and_loses_nothing() {
    let mut cluster = Cluster::start();
    let alice = cluster.srv_profile("alice");
    let bob = chat_profile(&cluster.second, "bob");
    set(&bob, "chat.jid", "bob@lab.test");
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    assert_eq!(a.call("chat.status", json!(null)).unwrap()["server"], "lab.test (SRV)");
    // Colleagues: each hears when the other's device comes (back) online, which is when
    // what the other never confirmed goes again.
    a.call("chat.add_contact", json!({"jid": "bob@lab.test"})).unwrap();
    event_where(&a_events, "presence.changed", |v| v["jid"] == "bob@lab.test" && v["status"] == "available");

    let say = |d: &Daemon, to: &str, body: String| -> String {
        d.call("chat.send", json!({"to": to, "body": body})).unwrap()["id"].as_str().unwrap().to_string()
    };
    let mut from_alice = Vec::new();
    let mut from_bob = Vec::new();
    for i in 0..5 {
        from_alice.push(say(&a, "bob@lab.test", format!("a{i}")));
        from_bob.push(say(&b, "alice@lab.test", format!("b{i}")));
    }
    event_where(&b_events, "chat.message", |v| v["id"].as_str() == from_alice.last().map(String::as_str));
    // The node alice is on dies while both keep talking.
    cluster.first.kill();
    for i in 5..10 {
        from_alice.push(say(&a, "bob@lab.test", format!("a{i}")));
        from_bob.push(say(&b, "alice@lab.test", format!("b{i}")));
    }
    event_where(&a_events, "chat.connection", |v| v["state"] != "online");
    wait_for(Duration::from_secs(30), || {
        a.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online")
    })
    .unwrap_or_else(|| {
        panic!("alice never moved to the other node: {:?}\n{}", a.call("chat.status", json!(null)), a.log())
    });

    let once = |d: &Daemon, conversation: &str, ids: &[String]| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let h = d.call("chat.history", json!({"conversation": conversation, "limit": 200})).unwrap();
            let mut count: HashMap<String, usize> = HashMap::new();
            for m in h["messages"].as_array().unwrap() {
                *count.entry(m["id"].as_str().unwrap_or_default().to_string()).or_default() += 1;
            }
            let all = ids.iter().all(|id| count.contains_key(id));
            if all || std::time::Instant::now() > deadline {
                let missing: Vec<&String> = ids.iter().filter(|id| !count.contains_key(*id)).collect();
                let doubled: Vec<&String> = ids.iter().filter(|id| count.get(*id) > Some(&1)).collect();
                assert!(
                    missing.is_empty() && doubled.is_empty(),
                    "lost {missing:?}, doubled {doubled:?}: {h:#}"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    once(&b, "alice@lab.test", &from_alice);
    once(&a, "bob@lab.test", &from_bob);
    let outbox = wait_for(T, || a.call("chat.outbox", json!(null)).ok().filter(|o| o == &json!([])));
    assert!(outbox.is_some(), "alice's outbox never emptied");
}
