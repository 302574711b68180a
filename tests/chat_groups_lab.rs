//! Group chats against the real lab (Prosody with MUC, MAM and bookmarks), driven
//! through real `ucdesk` daemons: creating and configuring groups, members and admins,
//! reactions, deletes, pins, forwards and who gets alerted, full-history groups, and
//! the last admin leaving. One-to-one chat, presence and panels are in `chat_lab.rs`.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{self, Prosody, chat_profile, online_chat};
use ucdesk_tests::{Lines, wait_for};

const T: Duration = Duration::from_secs(15);

/// The next event on `topic` whose payload satisfies `pred`, within [`T`].
fn event_where(events: &Lines, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    lab::event_where(events, topic, T, pred)
}

#[test]
fn group_chat_with_three_people() {
    let x = Prosody::start();
    let (alice, bob, carol) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let (c, c_events) = online_chat(&carol);

    let group = a
        .call(
            "chat.create_group",
            json!({"name": "Launch", "participants": ["bob@localhost", "carol@localhost"]}),
        )
        .unwrap();
    let room = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["name"], "Launch");
    assert_eq!(group["group"], true);
    // The invitees join by themselves.
    for d in [&b, &c] {
        wait_for(T, || {
            let list = d.call("chat.participants", json!({"conversation": room})).ok()?;
            (list.as_array()?.iter().filter(|p| p["present"] == true).count() == 3).then_some(())
        })
        .expect("everyone is in the group");
    }
    let convs = b.call("chat.conversations", json!(null)).unwrap();
    assert_eq!(convs[0]["id"], room.as_str());
    assert_eq!(convs[0]["name"], "Launch");
    let admins: Vec<Value> = a
        .call("chat.participants", json!({"conversation": room}))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["admin"] == true)
        .cloned()
        .collect();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0]["jid"], "alice@localhost");

    // Everyone hears everyone, attributed to the real address.
    let m = a.call("chat.send", json!({"to": room, "body": "hello group"})).unwrap();
    for events in [&b_events, &c_events] {
        let got = event_where(events, "chat.message", |v| v["id"] == m["id"]);
        assert_eq!(got["from"], "alice@localhost");
        assert_eq!(got["conversation"], room.as_str());
    }
    // The room's echo confirms ours.
    event_where(&a_events, "chat.message", |v| v["id"] == m["id"] && v["state"] == "delivered");
    let r = c.call("chat.send", json!({"to": room, "body": "hi from carol"})).unwrap();
    for events in [&a_events, &b_events] {
        let got = event_where(events, "chat.message", |v| v["id"] == r["id"]);
        assert_eq!(got["from"], "carol@localhost");
    }
    // Typing in a group names who types.
    b.call("chat.typing", json!({"conversation": room, "composing": true})).unwrap();
    event_where(&a_events, "chat.typing", |v| {
        v["conversation"] == room.as_str() && v["who"] == json!(["bob@localhost"])
    });

    // Rename shows everywhere.
    a.call("chat.rename", json!({"conversation": room, "name": "Launch v2"})).unwrap();
    wait_for(T, || {
        let convs = b.call("chat.conversations", json!(null)).ok()?;
        convs.as_array()?.iter().any(|c| c["id"] == room.as_str() && c["name"] == "Launch v2").then_some(())
    })
    .expect("bob sees the new name");

    // Carol is removed: she is out, the others see two participants.
    a.call("chat.remove_participant", json!({"conversation": room, "jid": "carol@localhost"})).unwrap();
    wait_for(T, || {
        let list = b.call("chat.participants", json!({"conversation": room})).ok()?;
        (!list.as_array()?.iter().any(|p| p["jid"] == "carol@localhost")).then_some(())
    })
    .expect("carol is gone for bob");
    wait_for(T, || c.call("chat.participants", json!({"conversation": room})).err()).expect("carol is out");

    // Bob goes offline; what is said meanwhile reaches him from the room's archive.
    drop(b);
    let missed = a.call("chat.send", json!({"to": room, "body": "while bob was away"})).unwrap();
    event_where(&a_events, "chat.message", |v| v["id"] == missed["id"] && v["state"] == "delivered");
    let (b, _b_events) = online_chat(&bob);
    wait_for(T, || {
        let h = b.call("chat.history", json!({"conversation": room, "limit": 50})).ok()?;
        h["messages"].as_array()?.iter().any(|m| m["id"] == missed["id"]).then_some(())
    })
    .unwrap_or_else(|| {
        let h = b.call("chat.history", json!({"conversation": room, "limit": 50}));
        panic!("bob did not get the message from the room archive: {h:?}\n{}", b.log())
    });
    let h = b.call("chat.history", json!({"conversation": room, "limit": 50})).unwrap();
    let bodies: Vec<&str> =
        h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["hello group", "hi from carol", "while bob was away"]);

    // Admin handed over, then alice leaves.
    a.call("chat.make_admin", json!({"conversation": room, "jid": "bob@localhost"})).unwrap();
    wait_for(T, || {
        let list = b.call("chat.participants", json!({"conversation": room})).ok()?;
        list.as_array()?.iter().any(|p| p["jid"] == "bob@localhost" && p["admin"] == true).then_some(())
    })
    .expect("bob is admin");
    a.call("chat.leave", json!({"conversation": room})).unwrap();
    assert!(a.call("chat.participants", json!({"conversation": room})).is_err());
}

#[test]
fn reactions_deletes_pins_forwards_mentions_and_who_gets_alerted() {
    let x = Prosody::start();
    let (alice, bob, carol) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (a, a_events) = online_chat(&alice);
    let (b, b_events) = online_chat(&bob);
    let (c, c_events) = online_chat(&carol);
    let group =
        a.call("chat.create_group", json!({"participants": ["bob@localhost", "carol@localhost"]})).unwrap();
    assert_eq!(group["name"], "Group", "the default name");
    let room = group["id"].as_str().unwrap().to_string();
    for d in [&b, &c] {
        wait_for(T, || {
            let list = d.call("chat.participants", json!({"conversation": room})).ok()?;
            (list.as_array()?.iter().filter(|p| p["present"] == true).count() == 3).then_some(())
        })
        .expect("everyone is in the group");
    }

    // Muted: no alert, except when mentioned.
    b.call("chat.mute", json!({"conversation": room, "muted": true})).unwrap();
    let lunch = a.call("chat.send", json!({"to": room, "body": "lunch?"})).unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == lunch["id"]);
    assert_eq!(got["notify"], false);
    let ask = a.call("chat.send", json!({"to": room, "body": "@Bob can you come?"})).unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == ask["id"]);
    assert_eq!((got["mentions_me"].clone(), got["notify"].clone()), (json!(true), json!(true)));
    let got = event_where(&c_events, "chat.message", |v| v["id"] == ask["id"]);
    assert_eq!((got["mentions_me"].clone(), got["notify"].clone()), (json!(false), json!(true)));

    // Reactions: group chats only.
    c.call("chat.react", json!({"conversation": room, "id": lunch["id"], "reaction": "👍"})).unwrap();
    event_where(&a_events, "chat.message", |v| {
        v["id"] == lunch["id"] && v["reactions"] == json!({"👍": ["carol@localhost"]})
    });
    c.call("chat.react", json!({"conversation": room, "id": lunch["id"], "reaction": "👍", "remove": true}))
        .unwrap();
    event_where(&a_events, "chat.message", |v| v["id"] == lunch["id"] && v["reactions"] == json!({}));
    let one = a.call("chat.send", json!({"to": "bob@localhost", "body": "1:1"})).unwrap();
    assert!(
        a.call("chat.react", json!({"conversation": "bob@localhost", "id": one["id"], "reaction": "👍"}))
            .is_err()
    );

    // Delete for everyone: own messages only; for me: anything, here only.
    assert!(
        b.call("chat.delete", json!({"conversation": room, "id": lunch["id"], "for_everyone": true}))
            .is_err()
    );
    a.call("chat.delete", json!({"conversation": room, "id": lunch["id"], "for_everyone": true})).unwrap();
    for events in [&b_events, &c_events] {
        let got = event_where(events, "chat.message", |v| v["id"] == lunch["id"] && v["deleted"] == true);
        assert_eq!(got["body"], "");
    }
    b.call("chat.delete", json!({"conversation": room, "id": ask["id"]})).unwrap();
    let h = b.call("chat.history", json!({"conversation": room})).unwrap();
    assert!(!h["messages"].as_array().unwrap().iter().any(|m| m["id"] == ask["id"]));
    let h = c.call("chat.history", json!({"conversation": room})).unwrap();
    assert!(h["messages"].as_array().unwrap().iter().any(|m| m["id"] == ask["id"]));

    // One pinned message per conversation, for everyone.
    a.call("chat.pin", json!({"conversation": room, "id": ask["id"]})).unwrap();
    wait_for(T, || {
        let convs = c.call("chat.conversations", json!(null)).ok()?;
        convs
            .as_array()?
            .iter()
            .any(|cv| cv["id"] == room.as_str() && cv["pinned_message"] == ask["id"])
            .then_some(())
    })
    .expect("carol sees the pin");
    a.call("chat.pin", json!({"conversation": room})).unwrap();
    wait_for(T, || {
        let convs = c.call("chat.conversations", json!(null)).ok()?;
        convs
            .as_array()?
            .iter()
            .any(|cv| cv["id"] == room.as_str() && cv["pinned_message"].is_null())
            .then_some(())
    })
    .expect("carol sees the unpin");

    // Forward: to up to 10 conversations, naming the author.
    let fwd = c
        .call("chat.forward", json!({"conversation": room, "id": ask["id"], "to": ["bob@localhost"]}))
        .unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == fwd[0]["id"]);
    assert_eq!(got["forwarded_from"], "alice@localhost");
    assert_eq!(got["body"], "@Bob can you come?");
    let eleven: Vec<String> = (0..11).map(|i| format!("user{i}@localhost")).collect();
    let err =
        c.call("chat.forward", json!({"conversation": room, "id": ask["id"], "to": eleven})).unwrap_err();
    assert!(err.contains("10"), "{err}");

    // Do not disturb silences even mentions.
    b.call("presence.set", json!({"status": "dnd"})).unwrap();
    let again = a.call("chat.send", json!({"to": room, "body": "@bob still there?"})).unwrap();
    let got = event_where(&b_events, "chat.message", |v| v["id"] == again["id"]);
    assert_eq!((got["mentions_me"].clone(), got["notify"].clone()), (json!(true), json!(false)));
}

#[test]
fn a_member_added_later_sees_history_only_in_a_full_history_group() {
    let x = Prosody::start();
    let (alice, dave) = (chat_profile(&x, "alice"), chat_profile(&x, "dave"));
    let (a, a_events) = online_chat(&alice);
    let (d, _d_events) = online_chat(&dave);
    let mut rooms = Vec::new();
    for full in [false, true] {
        let g = a
            .call("chat.create_group", json!({"name": format!("full={full}"), "full_history": full}))
            .unwrap();
        let room = g["id"].as_str().unwrap().to_string();
        let m = a.call("chat.send", json!({"to": room, "body": "before dave"})).unwrap();
        event_where(&a_events, "chat.message", |v| v["id"] == m["id"] && v["state"] == "delivered");
        a.call("chat.add_participants", json!({"conversation": room, "participants": ["dave@localhost"]}))
            .unwrap();
        rooms.push((room, full));
    }
    for (room, full) in &rooms {
        wait_for(T, || {
            let list = d.call("chat.participants", json!({"conversation": room})).ok()?;
            list.as_array()?
                .iter()
                .any(|p| p["jid"] == "dave@localhost" && p["present"] == true)
                .then_some(())
        })
        .expect("dave joined");
        let after = a.call("chat.send", json!({"to": room, "body": "after dave"})).unwrap();
        let bodies = || -> Vec<String> {
            let h = d.call("chat.history", json!({"conversation": room})).unwrap();
            h["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["body"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let expected: &[&str] = if *full { &["before dave", "after dave"] } else { &["after dave"] };
        wait_for(T, || (bodies() == expected).then_some(()))
            .unwrap_or_else(|| panic!("dave has {:?}, not {expected:?} ({after})", bodies()));
        // The room's archive has been read by now; nothing older shows up later.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(bodies(), expected);
    }
}

#[test]
fn the_last_admin_leaving_hands_the_group_on() {
    let x = Prosody::start();
    let (alice, bob, carol) = (chat_profile(&x, "alice"), chat_profile(&x, "bob"), chat_profile(&x, "carol"));
    let (a, _a_events) = online_chat(&alice);
    let (b, _b_events) = online_chat(&bob);
    let (c, _c_events) = online_chat(&carol);
    let group = a
        .call(
            "chat.create_group",
            json!({"name": "Handover", "participants": ["bob@localhost", "carol@localhost"]}),
        )
        .unwrap();
    let room = group["id"].as_str().unwrap().to_string();
    let admins = |d: &ucdesk_tests::Daemon| -> Option<Vec<String>> {
        let list = d.call("chat.participants", json!({"conversation": room})).ok()?;
        Some(
            list.as_array()?
                .iter()
                .filter(|p| p["admin"] == true)
                .map(|p| p["jid"].as_str().unwrap_or("").to_string())
                .collect(),
        )
    };
    wait_for(T, || (admins(&c)? == ["alice@localhost"]).then_some(())).expect("carol sees alice as admin");
    // There is an admin: nobody may claim the group.
    wait_for(T, || admins(&b).filter(|a| !a.is_empty())).expect("bob knows the admin");
    assert!(b.call("chat.assign_myself", json!({"conversation": room})).is_err());

    a.call("chat.leave", json!({"conversation": room})).unwrap();
    wait_for(T, || (admins(&c)? == ["bob@localhost"]).then_some(()))
        .unwrap_or_else(|| panic!("carol sees admins {:?}", admins(&c)));
}
