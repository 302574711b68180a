//! The first run (README: `./run.sh`): the demo lab starts, the demo profile logs in,
//! and calling the bot, chatting with it, texting the demo phone and finding people in
//! the phone books work at once, from the daemon and from the
//! window (the shell driven headless). Same scripts as the run command
//! (tests/lab/demo.sh), debug binaries. One test: the lab has fixed ports.

use egui_kittest::{Harness, kittest::Queryable};
use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_shell::Shell;
use ucdesk_tests::lab::DemoLab;
use ucdesk_tests::{Profile, plugin_lib, wait_for};

const T: Duration = Duration::from_secs(20);

#[test]
fn the_demo_lab_answers_calls_and_chats() {
    // The profile's passwords are in its encrypted file (demo.sh), for this process too.
    // SAFETY: set before this test starts any thread.
    unsafe { std::env::set_var("UCDESK_SECRET_STORE", "file") };
    let lab = DemoLab::start();
    let p = Profile::new()
        .with_library(&plugin_lib("softphone"), "softphone")
        .with_library(&plugin_lib("chat"), "chat")
        .with_library(&plugin_lib("sms"), "sms")
        .with_library(&plugin_lib("contacts"), "contacts");
    lab.log_in(&p);
    let d = p.daemon();
    wait_for(T, || {
        d.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .expect("the demo user registers");

    // The bot answers a call (and plays its tone: the softphone_media tests check audio).
    // Polled rather than waited for as an event: a loaded machine may start an event
    // stream later than the bot answers.
    let call = d.call("phone.dial", json!({"number": "bot"})).unwrap();
    ucdesk_tests::lab::wait_connected(&d, T, |c| c["callid"] == call["callid"]);
    d.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();

    // The chat bot answers a message.
    wait_for(T, || {
        let s: Value = d.call("chat.status", json!(null)).ok()?;
        (s["state"] == "online").then_some(())
    })
    .expect("chat comes online");
    d.call("chat.send", json!({"to": "bot@localhost", "body": "ping"})).unwrap();
    wait_for(T, || {
        let h = d.call("chat.history", json!({"conversation": "bot@localhost", "limit": 10})).ok()?;
        h["messages"]
            .as_array()?
            .iter()
            .any(|m| m["from"] == "bot@localhost" && m["body"] == "You said: ping")
            .then_some(())
    })
    .expect("the chat bot answers");

    // The demo number texts, and the demo phone texts back.
    wait_for(T, || d.call("sms.status", json!(null)).ok().filter(|s| s["state"] == "ready"))
        .unwrap_or_else(|| panic!("SMS is not ready: {:?}", d.call("sms.status", json!(null))));
    d.call("sms.send", json!({"to": "+15555550123", "body": "ping"})).unwrap();
    wait_for(T, || {
        let h = d.call("sms.history", json!({"number": "+15555550123", "limit": 10})).ok()?;
        h.as_array()?.iter().any(|m| m["direction"] == "in" && m["body"] == "You texted: ping").then_some(())
    })
    .expect("the demo phone texts back");

    // The phone books: the central one over ldaps, the shared CardDAV one, and the bot
    // once, though both the phone book and the roster know it.
    let bot = wait_for(T, || {
        let found = d.call("contacts.search", json!({"query": "bot"})).ok()?;
        let bot = found.as_array()?.iter().find(|e| e["name"] == "Bot")?.clone();
        (bot["sources"] == json!(["ldap", "chat"])).then_some(bot)
    })
    .unwrap_or_else(|| panic!("the phone book: {:?}", d.call("contacts.sources", json!(null))));
    assert_eq!(bot["department"], "Support");
    let found = d.call("contacts.search", json!({"query": "helpdesk"})).unwrap();
    assert_eq!(found[0]["sources"], json!(["carddav"]), "{found}");
    drop(d);

    // The window on the same profile: the bot is in the contacts quick list; dragging
    // it onto the phone's dial field calls it (two plugins, one gesture).
    let kernel = ucdesk_kernel::Kernel::new(ucdesk_kernel::KernelConfig::new(
        ucdesk_kernel::Home::under(p.home.path()),
        vec![p.plugins.clone()],
    ))
    .unwrap();
    let calls = kernel.subscribe_client("test", "call.");
    let mut h = Harness::builder()
        .with_size([1400.0, 1000.0])
        .build_ui_state(|ui, shell: &mut Shell| shell.ui(ui), Shell::new(kernel.clone()));
    let until = |h: &mut Harness<'_, Shell>, what: &str, done: &dyn Fn(&Harness<'_, Shell>) -> bool| {
        let deadline = std::time::Instant::now() + T;
        while !done(h) {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            h.step();
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    until(&mut h, "the bot in the contacts", &|h| h.query_all_by_label_contains("bot  —").next().is_some());
    until(&mut h, "the phone area", &|h| h.query_by_label("Number, #speed dial or SIP address").is_some());
    let from = h.query_all_by_label_contains("bot  —").next().unwrap().rect().center();
    let to = h.get_by_label("Number, #speed dial or SIP address").rect().center();
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for i in 1..=10 {
        h.hover_at(from + (to - from) * (i as f32 / 10.0));
        h.step();
    }
    h.drop_at(to);
    h.step();
    let deadline = std::time::Instant::now() + T;
    let answered = loop {
        assert!(std::time::Instant::now() < deadline, "dropping the bot on the dial field did not call it");
        h.step();
        if let Ok(e) = calls.receiver().recv_timeout(Duration::from_millis(50))
            && e.topic == "call.answered"
        {
            break serde_json::from_slice::<Value>(&e.payload).unwrap();
        }
    };
    assert_eq!(answered["number"], "bot", "{answered}");
    kernel
        .call("phone.hangup", serde_json::to_vec(&json!({"callid": answered["callid"]})).unwrap(), T)
        .unwrap();
    drop(h);
    kernel.shutdown();
}
