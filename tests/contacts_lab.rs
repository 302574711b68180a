//! The contacts directory on the real kernel against real phone book servers: OpenLDAP's
//! slapd as the central phone book (paged past its 500-entry limit, read with a
//! read-only account, over ldaps:// verified against the lab CA), Radicale as the
//! shared and the personal CardDAV books, and Prosody for the chat roster. Search,
//! sync, a changed entry updated and a removed one gone, search offline after the
//! servers stop, one entry for a person in three sources, the personal book written to
//! CardDAV (also what was added while it was away), and CSV in and out.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::directory::{LDAP_BASE, LDAP_READER, LDAP_READER_PW, Radicale, Slapd, vcard};
use ucdesk_tests::lab::{self, Prosody, install_license, set, set_secret};
use ucdesk_tests::{Daemon, Profile, plugin_lib, wait_for};

const T: Duration = Duration::from_secs(20);

fn profile() -> Profile {
    let p = Profile::new().with_library(&plugin_lib("contacts"), "contacts");
    install_license(&p, &[]);
    p
}

fn with_ldap(p: &Profile, url: &str) {
    set(p, "contacts.ldap_url", url);
    set(p, "contacts.ldap_base", LDAP_BASE);
    set(p, "contacts.ldap_bind_dn", LDAP_READER);
    set_secret(p, "contacts.ldap_password", LDAP_READER_PW);
}

fn with_dav(p: &Profile, dav: &Radicale, user: &str, shared: bool, personal: bool) {
    if shared {
        set(p, "contacts.carddav_url", &dav.url("/shared/phonebook/"));
    }
    if personal {
        set(p, "contacts.personal_carddav_url", &dav.url(&format!("/{user}/contacts/")));
    }
    set(p, "contacts.carddav_user", user);
    set_secret(p, "contacts.carddav_password", &format!("{user}pw"));
}

/// `contacts.sources` once `pick` holds for it.
fn sources_where(d: &Daemon, pick: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_for(T, || {
        let s = d.call("contacts.sources", json!(null)).ok()?;
        let list = s.as_array()?.clone();
        pick(&list).then_some(list)
    })
    .unwrap_or_else(|| panic!("the sources never got there:\n{}", d.log()))
}

fn source<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter().find(|s| s["source"] == name).unwrap_or_else(|| panic!("no source {name} in {list:?}"))
}

fn synced(list: &[Value], name: &str) -> bool {
    list.iter().any(|s| s["source"] == name && s["synced_ms"].is_i64())
}

fn search(d: &Daemon, args: Value) -> Vec<Value> {
    d.call("contacts.search", args).unwrap().as_array().unwrap().clone()
}

fn names(found: &[Value]) -> Vec<String> {
    found.iter().map(|e| e["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_central_phone_book_syncs_pages_updates_and_answers_offline() {
    let mut ldap = Slapd::start(1200);
    let mut dav = Radicale::start();
    assert_eq!(
        dav.put(
            "admin",
            "/shared/phonebook/reception.vcf",
            &vcard("reception", "Reception Desk", "+1 555 0999 000", "")
        ),
        201
    );
    let p = profile();
    with_ldap(&p, &ldap.url());
    with_dav(&p, &dav, "alice", true, false);
    let d = p.daemon();
    let list = sources_where(&d, |l| synced(l, "ldap") && synced(l, "carddav"));
    assert_eq!(source(&list, "ldap")["contacts"], 1200, "every page, past slapd's 500");
    assert_eq!(source(&list, "carddav")["contacts"], 1);

    let found = search(&d, json!({"query": "Person 00042"}));
    assert_eq!(names(&found), ["Person 00042"]);
    let e = &found[0];
    assert_eq!((e["company"].as_str(), e["department"].as_str()), (Some("Lab Corp"), Some("Finance")));
    assert_eq!(e["numbers"][0]["number"], "+1 555 0100042");
    assert_eq!(e["numbers"][1]["label"], "mobile");
    assert_eq!(e["sources"], json!(["ldap"]));
    assert_eq!(
        names(&search(&d, json!({"query": "555-0200-042"}))),
        ["Person 00042"],
        "by the digits of any number"
    );
    assert_eq!(names(&search(&d, json!({"query": "reception"}))), ["Reception Desk"]);
    let sales = search(&d, json!({"query": "person 0001", "department": "Sales", "limit": 100}));
    assert_eq!(names(&sales), ["Person 00010", "Person 00015"]);
    let who = d.call("contacts.lookup", json!({"number": "+15550100042"})).unwrap();
    assert_eq!(who["name"], "Person 00042");
    assert_eq!(d.call("contacts.departments", json!(null)).unwrap().as_array().unwrap().len(), 5);

    // The directory changes on the server: a new name, a person gone, a newcomer.
    ldap.modify(&format!("dn: uid=p00007,{LDAP_BASE}\nchangetype: modify\nreplace: cn\ncn: Seven Renamed\n"));
    ldap.modify(&format!("dn: uid=p00008,{LDAP_BASE}\nchangetype: delete\n"));
    ldap.add_person("zed", "Zed Newcomer", &[("telephoneNumber", "7001")]);
    d.call("contacts.sync", json!(null)).unwrap();
    assert_eq!(names(&search(&d, json!({"query": "Seven"}))), ["Seven Renamed"]);
    assert!(search(&d, json!({"query": "Person 00008"})).is_empty(), "a removed entry is gone");
    assert!(search(&d, json!({"query": "Person 00007"})).is_empty());
    assert_eq!(names(&search(&d, json!({"query": "7001"}))), ["Zed Newcomer"]);

    // The servers go away: search still answers from the copy, and says why it is old.
    ldap.stop();
    dav.stop();
    let list = d.call("contacts.sync", json!(null)).unwrap();
    let list = list.as_array().unwrap();
    let why = source(list, "ldap")["error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("phone book server"), "{why}");
    assert!(source(list, "carddav")["error"].is_string());
    assert_eq!(names(&search(&d, json!({"query": "Person 00042"}))), ["Person 00042"]);
    let (stopped, log) = d.stop();
    assert!(stopped, "{log}");
    let d = p.daemon();
    assert_eq!(names(&search(&d, json!({"query": "Zed"}))), ["Zed Newcomer"], "after a restart, offline");
    assert_eq!(source(&sources_where(&d, |l| !l.is_empty()), "ldap")["contacts"], 1200);

    // Back online: the next sync catches up.
    ldap.start_again();
    dav.start_again();
    d.call("contacts.sync", json!(null)).unwrap();
    let list = sources_where(&d, |l| source(l, "ldap")["error"].is_null());
    assert_eq!(source(&list, "ldap")["contacts"], 1200);
}

#[test]
fn ldaps_is_verified_and_a_wrong_password_is_said_plainly() {
    let ldap = Slapd::start(3);
    let p = profile();
    with_ldap(&p, &ldap.tls_url());
    let d = p.daemon();
    // The lab CA is not trusted yet: no directory from a server we cannot verify.
    let list = sources_where(&d, |l| l.iter().any(|s| s["source"] == "ldap" && s["error"].is_string()));
    let why = source(&list, "ldap")["error"].as_str().unwrap().to_string();
    assert!(why.to_lowercase().contains("certificate") || why.contains("UnknownIssuer"), "{why}");
    assert!(search(&d, json!({"query": "Person"})).is_empty());

    set(&p, "contacts.ldap_ca_file", &ldap.ca_file().display().to_string());
    let list = sources_where(&d, |l| synced(l, "ldap"));
    assert_eq!(source(&list, "ldap")["contacts"], 3);
    assert_eq!(search(&d, json!({"query": "Person"})).len(), 3);

    set_secret(&p, "contacts.ldap_password", "not-the-password");
    set(&p, "contacts.ldap_filter", "(objectClass=inetOrgPerson)");
    let list = sources_where(&d, |l| source(l, "ldap")["error"].is_string());
    let why = source(&list, "ldap")["error"].as_str().unwrap().to_string();
    assert!(why.contains("wrong name or password"), "{why}");
    assert_eq!(search(&d, json!({"query": "Person"})).len(), 3, "the last copy stays");
}

#[test]
fn one_person_in_ldap_carddav_and_the_roster_is_one_entry() {
    let x = Prosody::start();
    let ldap = Slapd::start(0);
    ldap.add_person(
        "bob",
        "Bob Builder",
        &[("telephoneNumber", "+1 555 0100 200"), ("mail", "bob@localhost"), ("ou", "Support")],
    );
    let dav = Radicale::start();
    assert_eq!(
        dav.put("admin", "/shared/phonebook/bob.vcf", &vcard("bob-card", "Bobby B", "+1 (555) 010-0200", "")),
        201
    );
    let p = lab::chat_profile(&x, "alice").with_library(&plugin_lib("contacts"), "contacts");
    with_ldap(&p, &ldap.url());
    with_dav(&p, &dav, "alice", true, false);
    let (d, _events) = lab::online_chat(&p);
    d.call("chat.add_contact", json!({"jid": "bob@localhost"})).unwrap();
    let found = wait_for(T, || {
        let f = search(&d, json!({"query": "bob"}));
        f.iter().any(|e| e["sources"].as_array().is_some_and(|s| s.len() == 3)).then_some(f)
    })
    .unwrap_or_else(|| {
        let (found, roster) = (search(&d, json!({"query": "bob"})), d.call("chat.contacts", json!(null)));
        let sources = d.call("contacts.sources", json!(null));
        panic!("never merged: {found:?}\nroster: {roster:?}\nsources: {sources:?}\n{}", d.log())
    });
    assert_eq!(found.len(), 1, "{found:?}");
    let bob = &found[0];
    assert_eq!(bob["name"], "Bob Builder", "the central phone book names him");
    assert_eq!(bob["sources"], json!(["ldap", "carddav", "chat"]));
    assert_eq!(bob["jid"], "bob@localhost");
    assert_eq!(bob["numbers"].as_array().unwrap().len(), 1, "one number however written");

    // Marks hold for the person, whichever record they were set on.
    let id = bob["id"].as_str().unwrap();
    d.call("contacts.set_favorite", json!({"id": id, "on": true})).unwrap();
    let favs = d.call("contacts.favorites", json!(null)).unwrap();
    assert_eq!(names(favs.as_array().unwrap()), ["Bob Builder"]);
    d.call("contacts.hide", json!({"id": "chat/bob@localhost", "on": true})).unwrap();
    assert!(search(&d, json!({"query": "bob"})).is_empty(), "hidden from the lists");
    let hidden = d.call("contacts.hidden", json!(null)).unwrap();
    assert_eq!(names(hidden.as_array().unwrap()), ["Bob Builder"]);
    d.call("contacts.hide", json!({"id": id, "on": false})).unwrap();
    assert_eq!(names(&search(&d, json!({"query": "bob"}))), ["Bob Builder"]);
}

#[test]
fn the_personal_phone_book_lives_in_carddav_and_round_trips_csv() {
    let mut dav = Radicale::start();
    let p = profile();
    with_dav(&p, &dav, "alice", false, true);
    let d = p.daemon();
    sources_where(&d, |l| synced(l, "personal"));
    let added = d
        .call(
            "contacts.add",
            json!({"name": "Gran", "numbers": [{"label": "home", "number": "+44 20 7946 0018"}], "emails": ["gran@example.com"]}),
        )
        .unwrap();
    assert_eq!(added["sources"], json!(["personal"]));
    let personal_id = added["personal"].as_str().unwrap().to_string();
    wait_for(T, || dav.cards("alice", "/alice/contacts/").contains("FN:Gran").then_some(()))
        .unwrap_or_else(|| panic!("never written to the personal book:\n{}", d.log()));
    assert!(!dav.cards("bob", "/bob/contacts/").contains("Gran"), "private to alice");

    let changed = d
        .call("contacts.update", json!({"id": personal_id, "name": "Granny", "numbers": [{"label": "home", "number": "+44 20 7946 0018"}]}))
        .unwrap();
    assert_eq!(changed["name"], "Granny");
    wait_for(T, || dav.cards("alice", "/alice/contacts/").contains("FN:Granny").then_some(()))
        .expect("the change written");
    let refused = d.refusal("contacts.add", json!({"name": "  ", "numbers": []}));
    assert_eq!(refused.0.as_deref(), Some("bad_request"), "{refused:?}");

    // Added while the book is away: kept here, written when it is back.
    dav.stop();
    d.call(
        "contacts.add",
        json!({"name": "Offline Olga", "numbers": [{"label": "mobile", "number": "+1 555 0199"}]}),
    )
    .unwrap();
    assert_eq!(names(&search(&d, json!({"query": "olga"}))), ["Offline Olga"]);
    dav.start_again();
    d.call("contacts.sync", json!(null)).unwrap();
    wait_for(T, || dav.cards("alice", "/alice/contacts/").contains("FN:Offline Olga").then_some(()))
        .unwrap_or_else(|| panic!("the offline contact never reached the book:\n{}", d.log()));
    // A card another device wrote shows up at the next sync; edited here, it keeps what
    // ucdesk does not show (its photo, its note).
    let phone = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:from-phone\r\nFN:Phone Contact\r\nN:Contact;Phone;;;\r\n\
TEL;TYPE=CELL:+1 555 0142\r\nNOTE:Met at the fair\r\nPHOTO;VALUE=uri:https://example.com/p.jpg\r\nEND:VCARD\r\n";
    assert_eq!(dav.put("alice", "/alice/contacts/phone.vcf", phone), 201);
    d.call("contacts.sync", json!(null)).unwrap();
    assert_eq!(names(&search(&d, json!({"query": "phone contact"}))), ["Phone Contact"]);
    d.call("contacts.update", json!({"id": "from-phone", "name": "Phone Contact Jr", "numbers": [{"label": "mobile", "number": "+1 555 0142"}]}))
        .unwrap();
    let card = wait_for(T, || {
        let cards = dav.cards("alice", "/alice/contacts/");
        cards.contains("FN:Phone Contact Jr").then_some(cards)
    })
    .expect("the edit written");
    assert!(card.contains("NOTE:Met at the fair") && card.contains("https://example.com/p.jpg"), "{card}");

    // Changed while the book is away: the change is kept over the server's copy at the
    // next sync, and written then.
    dav.stop();
    d.call("contacts.update", json!({"id": personal_id, "name": "Granny Smith", "numbers": [{"label": "home", "number": "+44 20 7946 0018"}]}))
        .unwrap();
    dav.start_again();
    d.call("contacts.sync", json!(null)).unwrap();
    assert_eq!(names(&search(&d, json!({"query": "granny"}))), ["Granny Smith"], "not reverted by the sync");
    wait_for(T, || dav.cards("alice", "/alice/contacts/").contains("FN:Granny Smith").then_some(()))
        .unwrap_or_else(|| panic!("the offline change never reached the book:\n{}", d.log()));

    // CSV: the template, an import with a bad row reported by line, an export that
    // imports back the same.
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.csv");
    d.call("contacts.csv_template", json!({"path": template})).unwrap();
    let header = std::fs::read_to_string(&template).unwrap();
    assert!(header.starts_with("Name,Company,Department,Title,Work phone,Mobile phone"), "{header}");
    let import = dir.path().join("in.csv");
    std::fs::write(&import, format!("{header}Ann Import,Acme,,,+1 555 0150,,,,,ann@acme.test,\n,Nameless,,,,,,,,,\nBen Import,,,,12 34,,,,,,\n")).unwrap();
    let report = d.call("contacts.import_csv", json!({"path": import})).unwrap();
    assert_eq!(report["imported"], 2);
    assert_eq!(report["rejected"], json!([{"line": 3, "reason": "no name"}]));
    let out = dir.path().join("out.csv");
    let exported = d.call("contacts.export_csv", json!({"path": out})).unwrap();
    assert_eq!(exported["contacts"], 5);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Ann Import,Acme,,,+1 555 0150,,,,,ann@acme.test,"), "{text}");

    // Removing a personal contact removes its card; a phone book entry is read-only.
    let olga = search(&d, json!({"query": "olga"})).remove(0);
    d.call("contacts.remove", json!({"id": olga["id"]})).unwrap();
    wait_for(T, || (!dav.cards("alice", "/alice/contacts/").contains("Offline Olga")).then_some(()))
        .expect("the card deleted");
    assert!(search(&d, json!({"query": "olga"})).is_empty());
    let (reason, _) = d.refusal("contacts.remove", json!({"id": "ldap/nobody"}));
    assert_eq!(reason.as_deref(), Some("not_found"));
}
