//! The directory in the window (the shell driven headless) with the real softphone on
//! Kamailio and a baresip bot, and the phone book on slapd: a contact's menu is
//! composed from the plugins that are loaded (Call once per number from the softphone,
//! no "Send SMS" without the SMS module), double-clicking a contact calls it, dragging
//! another contact onto the call transfers it to them, and the directory's own actions
//! reach a row of another plugin (the softphone's Recent list).

use egui_kittest::{Harness, kittest::Queryable};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_shell::Shell;
use ucdesk_tests::directory::{LDAP_BASE, LDAP_READER, LDAP_READER_PW, Slapd};
use ucdesk_tests::lab::{Bot, Kamailio, set, set_secret, softphone_profile};
use ucdesk_tests::{Profile, plugin_lib};

const T: Duration = Duration::from_secs(20);
const DORA: &str = "2001";
const EVE: &str = "2003";

fn step_until(h: &mut Harness<'_, Shell>, what: &str, done: impl Fn(&Harness<'_, Shell>) -> bool) {
    let deadline = Instant::now() + T;
    while !done(h) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shows(h: &Harness<'_, Shell>, label: &str) -> bool {
    h.query_all_by_label_contains(label).next().is_some()
}

#[test]
fn a_contacts_menu_comes_from_the_loaded_plugins_and_double_click_calls() {
    let k = Kamailio::start_with(&[("SIP_USERS", format!("alice:alicepw {DORA}:{DORA}pw {EVE}:{EVE}pw"))]);
    let dora = Bot::start(&k, DORA, "auto");
    let eve = Bot::start(&k, EVE, "auto");
    let ldap = Slapd::start(0);
    ldap.add_person(
        "dora",
        "Dora Dial",
        &[("telephoneNumber", DORA), ("mobile", "+1 555 0100 777"), ("o", "Lab")],
    );
    ldap.add_person("eve", "Eve Exchange", &[("telephoneNumber", EVE)]);
    let p: Profile =
        softphone_profile(&k, "alice", "udp", "alicepw").with_library(&plugin_lib("contacts"), "contacts");
    for key in ["softphone.audio_input", "softphone.audio_output"] {
        set(&p, key, "null");
    }
    set(&p, "contacts.ldap_url", &ldap.url());
    set(&p, "contacts.ldap_base", LDAP_BASE);
    set(&p, "contacts.ldap_bind_dn", LDAP_READER);
    set_secret(&p, "contacts.ldap_password", LDAP_READER_PW);

    // The window on the profile, its kernel in this process.
    let kernel = ucdesk_kernel::Kernel::new(ucdesk_kernel::KernelConfig::new(
        ucdesk_kernel::Home::under(p.home.path()),
        vec![p.plugins.clone()],
    ))
    .unwrap();
    let calls = kernel.subscribe_client("test", "call.");
    // The shell starts the plugins; the phone registers and the phone book syncs.
    // Frames 1/60 s apart (the harness's default is 1/4 s: two clicks would be too far
    // apart for a double-click).
    let mut h = Harness::builder()
        .with_size([1400.0, 1000.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, shell: &mut Shell| shell.ui(ui), Shell::new(kernel.clone()));
    let ready = |service: &str, args: Value, ok: &dyn Fn(&Value) -> bool| {
        kernel.call(service, serde_json::to_vec(&args).unwrap(), T).ok().and_then(|out| {
            let v: Value = serde_json::from_slice(&out).ok()?;
            ok(&v).then_some(())
        })
    };
    step_until(&mut h, "alice registered", |_| {
        ready("phone.status", json!(null), &|v| v["registration"]["state"] == "registered").is_some()
    });
    step_until(&mut h, "the phone book synced", |_| {
        ready("contacts.search", json!({"query": "dora"}), &|v| v.as_array().is_some_and(|a| !a.is_empty()))
            .is_some()
    });
    step_until(&mut h, "the Contacts quick list", |h| shows(h, "Contacts"));
    h.query_all_by_label("Contacts").next().unwrap().click();
    step_until(&mut h, "Dora in the list", |h| shows(h, "Dora Dial  —"));

    // Double-click: the default action (call), from the plugin that offers it.
    let row = h.query_all_by_label_contains("Dora Dial  —").next().unwrap().rect().center();
    h.event(eframe::egui::Event::PointerMoved(row));
    // Half a second after the last click (the quick list's tab): two clicks right
    // after it would count as a triple click.
    for _ in 0..30 {
        h.step();
    }
    for _ in 0..2 {
        for pressed in [true, false] {
            h.event(eframe::egui::Event::PointerButton {
                pos: row,
                button: eframe::egui::PointerButton::Primary,
                pressed,
                modifiers: Default::default(),
            });
            h.step();
        }
    }
    let deadline = Instant::now() + T;
    let answered = loop {
        if Instant::now() >= deadline {
            let calls = kernel
                .call("phone.history", b"{}".to_vec(), T)
                .map(|b| String::from_utf8_lossy(&b).to_string());
            panic!("double-clicking Dora did not call her: {calls:?}");
        }
        h.step();
        if let Ok(e) = calls.receiver().recv_timeout(Duration::from_millis(50))
            && e.topic == "call.answered"
        {
            break serde_json::from_slice::<Value>(&e.payload).unwrap();
        }
    };
    assert_eq!(answered["number"], DORA, "{answered}");

    // Eve dragged onto the live call: the call is transferred to her.
    step_until(&mut h, "the live call", |h| shows(h, "Hang up"));
    let from = h.query_all_by_label_contains("Eve Exchange  —").next().unwrap().rect().center();
    let to = h.query_all_by_label("Hang up").next().unwrap().rect().center();
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
    let deadline = Instant::now() + T;
    let transferred = loop {
        assert!(Instant::now() < deadline, "dropping Eve on the call did not transfer it");
        h.step();
        if let Ok(e) = calls.receiver().recv_timeout(Duration::from_millis(50))
            && e.topic == "call.transferred"
        {
            break serde_json::from_slice::<Value>(&e.payload).unwrap();
        }
    };
    assert_eq!(transferred["transferred_to"], EVE, "{transferred}");
    let deadline = Instant::now() + T;
    while !eve.log().contains(&format!("sip:{DORA}@")) {
        assert!(Instant::now() < deadline, "Eve got no call from Dora:\n{}\n{}", eve.log(), dora.log());
        std::thread::sleep(Duration::from_millis(50));
    }

    // Her menu: the directory's own items, then the softphone's Call once per number.
    h.query_all_by_label_contains("Dora Dial  —").next().unwrap().click_secondary();
    step_until(&mut h, "the menu", |h| shows(h, "Call 2001 (work)"));
    assert!(shows(&h, "Call +1 555 0100 777 (mobile)"));
    assert!(shows(&h, "Add to Favorites"), "the directory's own item");
    assert!(!shows(&h, "Send SMS"), "no SMS module, no SMS item");
    h.key_press(eframe::egui::Key::Escape);
    h.step();

    // The directory's items on another plugin's row: the call in Recent is Dora.
    h.get_by_label("Recent").click();
    step_until(&mut h, "the call in Recent", |h| shows(h, "→ 2001"));
    h.query_all_by_label_contains("→ 2001").next().unwrap().click_secondary();
    step_until(&mut h, "the directory's items on Recent", |h| shows(h, "Add to Favorites"));
    h.get_by_label("Add to Favorites").click();
    step_until(&mut h, "Dora a favourite, from the Recent list", |_| {
        ready("contacts.favorites", json!(null), &|v| v[0]["name"] == "Dora Dial").is_some()
    });
    // The Favorites quick list shows her, and her menu now offers the removal.
    h.get_by_label("Favorites").click();
    step_until(&mut h, "Dora in Favorites", |h| shows(h, "★ Dora Dial"));
    drop(h);
    kernel.shutdown();
}
