//! The CRM integration with the real softphone on the real kernel, through Kamailio with
//! baresip callers whose numbers are CRM contacts, against the lab's stand-in for the
//! vendors' APIs (`tests/lab/crm_standin.py`): a real call is looked up, its record
//! pops, its name shows on the call, it is logged when it ends; several matches wait
//! for the user's pick; a stalled or failing CRM never holds up the call; rotated
//! refresh tokens survive a restart; contacts sync and search; a user signs in through
//! the browser and stays signed in.

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use ucdesk_kernel::control::Request;
use ucdesk_plugin_api::view::{UiAction, UiEvent};
use ucdesk_tests::crm::CrmStandIn;
use ucdesk_tests::lab::{Bot, Kamailio, next_event, registered_daemon, set, set_secret, softphone_profile};
use ucdesk_tests::{Lines, Profile, opened_urls, plugin_lib, signing_browser, url_recorder, wait_for};

const WAIT: Duration = Duration::from_secs(10);
const JANE: &str = "2125550100";
const ROES: &str = "2125550111";

/// Kamailio with alice and two callers whose numbers are in the CRM.
fn lab() -> Kamailio {
    let users = format!("alice:alicepw {JANE}:{JANE}pw {ROES}:{ROES}pw");
    Kamailio::start_with(&[("SIP_USERS", users)])
}

/// Alice with the CRM integration set up for `vendor` on the stand-in (the URLs and
/// secrets a user types in the CRM preferences), and a URL opener that records.
fn alice(
    k: &Kamailio,
    crm: &CrmStandIn,
    vendor: &str,
    opened: &Path,
) -> (Profile, Vec<(&'static str, String)>) {
    let (p, env) = alice_signed_out(k, crm, vendor, &url_recorder(opened));
    set_secret(&p, "crm.refresh_token", &format!("rt-{vendor}-1"));
    (p, env)
}

/// The same without a refresh token: nobody signed in yet; `browser` opens URLs.
fn alice_signed_out(
    k: &Kamailio,
    crm: &CrmStandIn,
    vendor: &str,
    browser: &Path,
) -> (Profile, Vec<(&'static str, String)>) {
    let p = softphone_profile(k, "alice", "udp", "alicepw").with_library(&plugin_lib("crm"), "crm");
    let h = crm.vendor(vendor);
    set(&p, "crm.enabled", "true");
    set(&p, "crm.provider", vendor);
    set(&p, "crm.country", "US");
    set(&p, "crm.client_id", "ucdesk");
    match vendor {
        "salesforce" => set(&p, "crm.auth_url", &h),
        "zoho" => set(&p, "crm.auth_url", &format!("{h}/accounts")),
        "dynamics" => {
            set(&p, "crm.auth_url", &format!("{h}/login/lab-tenant"));
            set(&p, "crm.base_url", &h);
        }
        other => panic!("no lab account for {other}"),
    }
    set_secret(&p, "crm.client_secret", "s3cret");
    (p, vec![("UCDESK_URL_OPENER", browser.display().to_string())])
}

fn crm_events(p: &Profile) -> Lines {
    Lines::spawn(p.command(&["events", "--topic", "crm."]))
}

/// `number` calls alice; alice answers at once (whatever the CRM is doing), talks a
/// little over a second and hangs up. Returns the call id and how long answering took.
fn call_from(d: &ucdesk_tests::Daemon, events: &Lines, bot: &Bot, k: &Kamailio) -> (String, Duration) {
    bot.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = next_event(events, "call.incoming", WAIT).expect("call.incoming");
    let callid = incoming["callid"].as_str().unwrap().to_string();
    let asked = Instant::now();
    d.call("phone.answer", json!({ "callid": callid })).unwrap();
    next_event(events, "call.answered", WAIT).expect("call.answered");
    let answering = asked.elapsed();
    std::thread::sleep(Duration::from_millis(1300));
    d.call("phone.hangup", json!({ "callid": callid })).unwrap();
    next_event(events, "call.ended", WAIT).expect("call.ended");
    (callid, answering)
}

fn text_of(node: &Value, out: &mut String) {
    if let Some(t) = node.get("text").and_then(Value::as_str) {
        out.push_str(t);
        out.push('\n');
    }
    for v in node.as_object().into_iter().flat_map(|o| o.values()) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| text_of(i, out)),
            Value::Object(_) => text_of(v, out),
            _ => {}
        }
    }
}

fn view_text(d: &ucdesk_tests::Daemon, plugin: &str, panel: &str) -> String {
    let v = d.client().request(&Request::View { plugin: plugin.into(), panel: panel.into() }).unwrap();
    let mut out = String::new();
    text_of(&v, &mut out);
    out
}

/// Whether the CRM panel shows its Sign in button.
fn sign_in_button(d: &ucdesk_tests::Daemon) -> bool {
    let v = d.client().request(&Request::View { plugin: "crm".into(), panel: "popups".into() }).unwrap();
    v.to_string().contains(r#""sign_in""#)
}

#[test]
fn a_real_call_is_looked_up_popped_named_and_logged_when_it_ends() {
    let k = lab();
    let crm = CrmStandIn::start();
    let jane = Bot::start_with(&k, JANE, "auto", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (p, env) = alice(&k, &crm, "salesforce", dir.path());
    let (d, events) = registered_daemon(&p, &env);
    let matches = crm_events(&p);

    jane.command("dial", &format!("sip:alice@{}", k.addr()));
    let callid = next_event(&events, "call.incoming", WAIT).expect("call.incoming")["callid"]
        .as_str()
        .unwrap()
        .to_string();
    let m = next_event(&matches, "crm.match", WAIT).expect("crm.match while it rings");
    assert_eq!(m["callid"], callid.as_str());
    assert_eq!(m["e164"], "+12125550100");
    assert_eq!(m["contacts"][0]["name"], "Jane Doe", "{m:#}");
    let id = m["chosen"].as_str().expect("one match is chosen").to_string();
    // The record pops, in the browser (the in-app view is not there to take it).
    let record = crm.vendor("salesforce") + "/" + &id;
    assert_eq!(opened_urls(dir.path(), 1, WAIT), [record]);
    // The call window says who it is, from the CRM.
    let shown =
        wait_for(WAIT, || Some(view_text(&d, "softphone", "phone")).filter(|t| t.contains("Jane Doe")));
    assert!(shown.is_some_and(|t| t.contains("CRM")), "{}", view_text(&d, "softphone", "phone"));

    d.call("phone.answer", json!({ "callid": callid })).unwrap();
    next_event(&events, "call.answered", WAIT).expect("call.answered");
    std::thread::sleep(Duration::from_millis(1300));
    d.call("phone.hangup", json!({ "callid": callid })).unwrap();
    next_event(&events, "call.ended", WAIT).expect("call.ended");

    let logged = next_event(&matches, "crm.logged", WAIT).expect("crm.logged");
    assert_eq!(
        (logged["callid"].as_str(), logged["error"].as_str()),
        (Some(callid.as_str()), None),
        "{logged:#}"
    );
    assert_eq!(logged["contact"], id.as_str());
    let task = &crm.logged("salesforce")[0]["body"];
    assert_eq!(task["Subject"], "Inbound call from Jane Doe (+12125550100)");
    assert_eq!((task["CallType"].as_str(), task["WhoId"].as_str()), (Some("Inbound"), Some(id.as_str())));
    assert!(task["CallDurationInSeconds"].as_u64().is_some_and(|s| s >= 1), "{task:#}");
    assert_eq!(task["CallObject"], callid.as_str());
    let status = d.call("crm.status", json!(null)).unwrap();
    assert_eq!(
        (status["crm"]["connected"].as_bool(), status["crm"]["logged"].as_u64()),
        (Some(true), Some(1))
    );
}

#[test]
fn several_matches_wait_for_the_users_pick_and_the_log_follows_it() {
    let k = lab();
    let crm = CrmStandIn::start();
    let roe = Bot::start_with(&k, ROES, "auto", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (p, env) = alice(&k, &crm, "zoho", dir.path());
    // The agent plugin's way: the log waits for the notes (here: the test's crm.log).
    set(&p, "crm.log_when", "wrapup");
    set(&p, "crm.log_fields", r#"["subject","direction","duration","notes","disposition"]"#);
    let (d, events) = registered_daemon(&p, &env);
    let matches = crm_events(&p);

    let (callid, _) = call_from(&d, &events, &roe, &k);
    let m = next_event(&matches, "crm.match", WAIT).expect("crm.match");
    let mut names: Vec<&str> =
        m["contacts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Joan Roe", "John Roe"]);
    assert!(m["chosen"].is_null(), "nobody is chosen for the user: {m:#}");
    assert!(!dir.path().join("opened").exists(), "nothing pops before the pick");
    // The panel offers each; the user picks Joan.
    let joan = m["contacts"].as_array().unwrap().iter().find(|c| c["name"] == "Joan Roe").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(view_text(&d, "crm", "popups").contains("2 contacts match"));
    let pick = UiEvent {
        widget: format!("pick:{}", json!({"callid": callid, "id": joan})),
        action: UiAction::Clicked,
    };
    d.client()
        .request(&Request::Ui { plugin: "crm".into(), panel: "popups".into(), event: Box::new(pick) })
        .unwrap();
    let picked = next_event(&matches, "crm.match", WAIT).expect("the pick is published");
    assert_eq!(picked["chosen"], joan.as_str());
    assert_eq!(opened_urls(dir.path(), 1, WAIT).len(), 1);

    let logged = d
        .call("crm.log", json!({"callid": callid, "notes": "Call back Monday", "disposition": "Callback"}))
        .unwrap();
    assert_eq!(logged["contact"], joan.as_str(), "{logged:#}");
    let record = &crm.logged("zoho")[0]["body"]["data"][0];
    assert_eq!(
        (record["Who_Id"].as_str(), record["Call_Result"].as_str()),
        (Some(joan.as_str()), Some("Callback"))
    );
    assert!(record["Description"].as_str().unwrap().contains("Call back Monday"), "{record:#}");
    // Once is enough.
    assert!(d.call("crm.log", json!({"callid": callid})).unwrap_err().contains("logged already"));
}

#[test]
fn a_stalled_or_failing_crm_never_holds_up_a_call() {
    let k = lab();
    let crm = CrmStandIn::start();
    let jane = Bot::start_with(&k, JANE, "auto", &[]);
    let dir = tempfile::tempdir().unwrap();
    let (p, env) = alice(&k, &crm, "dynamics", dir.path());
    set(&p, "crm.timeout_seconds", "2");
    let (d, events) = registered_daemon(&p, &env);
    let matches = crm_events(&p);
    // Sign in and sync first, so the faults hit the call's lookup.
    wait_for(WAIT, || d.call("crm.status", json!(null)).ok().filter(|s| s["crm"]["contacts"] == 24))
        .expect("the start's sync");

    crm.fault("dynamics", "stall", json!({"seconds": 5, "count": 3}));
    let (stalled, answering) = call_from(&d, &events, &jane, &k);
    assert!(answering < Duration::from_secs(2), "answering took {answering:?} while the CRM stalled");
    let m = next_event(&matches, "crm.match", Duration::from_secs(20)).expect("the lookup gives up");
    assert_eq!(m["callid"], stalled.as_str());
    assert!(m["error"].as_str().is_some_and(|e| e.contains("cannot reach")), "{m:#}");
    // Not matched, still logged (against no contact), once the CRM answers again.
    let logged = next_event(&matches, "crm.logged", WAIT).expect("crm.logged");
    assert!(logged["error"].is_null(), "{logged:#}");

    crm.fault("dynamics", "500", json!({"count": 3}));
    let (failed, answering) = call_from(&d, &events, &jane, &k);
    assert!(answering < Duration::from_secs(2), "answering took {answering:?} while the CRM failed");
    let m = next_event(&matches, "crm.match", WAIT).expect("crm.match");
    assert_eq!(m["callid"], failed.as_str());
    assert!(m["error"].as_str().is_some_and(|e| e.contains("500")), "{m:#}");
    assert!(view_text(&d, "crm", "popups").contains("lookup failed"));
}

#[test]
fn a_rotated_refresh_token_is_kept_for_the_next_start_and_contacts_sync() {
    let k = lab();
    let crm = CrmStandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let (p, env) = alice(&k, &crm, "dynamics", dir.path());
    {
        let (d, _events) = registered_daemon(&p, &env);
        let synced =
            wait_for(WAIT, || d.call("crm.status", json!(null)).ok().filter(|s| s["crm"]["contacts"] == 24));
        assert!(synced.is_some(), "the start's sync: {:#}", d.call("crm.status", json!(null)).unwrap());
        let report = d.call("crm.sync", json!(null)).unwrap();
        assert_eq!((report["contacts"].as_u64(), report["pages"].as_u64()), (Some(24), Some(3)));
        let found = d.call("crm.search", json!({"query": "jane"})).unwrap();
        assert_eq!(found[0]["name"], "Jane Doe");
        let contacts = d.call("crm.contacts", json!(null)).unwrap();
        assert_eq!(contacts.as_array().map(Vec::len), Some(24));
    }
    // Dataverse rotated the refresh token at each sign-in; the first one is dead now.
    let current = crm.get("tokens")["dynamics"]["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(current, "rt-dynamics-1");
    crm.control("expire", json!({"vendor": "dynamics"}));
    let (d, _events) = registered_daemon(&p, &env);
    let found = d.call("crm.lookup", json!({"number": "+1 212 555 0100"})).unwrap();
    assert_eq!(found["contacts"][0]["name"], "Jane Doe", "signed in with the kept token: {found:#}");
    // The synced copy answers at once, before any sync of this run.
    assert_eq!(d.call("crm.contacts", json!(null)).unwrap().as_array().map(Vec::len), Some(24));
}

#[test]
fn a_user_signs_in_through_the_browser_once_and_stays_signed_in() {
    let k = lab();
    let crm = CrmStandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let (p, env) = alice_signed_out(&k, &crm, "salesforce", &signing_browser(dir.path()));
    {
        let (d, _events) = registered_daemon(&p, &env);
        // Nobody signed in: the lookup says how, and the panel offers it.
        let m = d.call("crm.lookup", json!({"number": JANE})).unwrap();
        assert!(m["error"].as_str().is_some_and(|e| e.contains("Sign in")), "{m:#}");
        assert!(sign_in_button(&d), "the panel offers the sign-in");

        let started = d.call("crm.sign_in", json!(null)).unwrap();
        let url = started["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/services/oauth2/authorize?", crm.vendor("salesforce"))),
            "{url}"
        );
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        assert!(started["redirect"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{started:#}");
        // The system browser was asked, and came back signed in.
        assert_eq!(opened_urls(dir.path(), 1, WAIT), [url]);
        let status = wait_for(WAIT, || {
            d.call("crm.status", json!(null)).ok().filter(|s| s["crm"]["connected"] == true)
        });
        let status = status.unwrap_or_else(|| panic!("{:#}", d.call("crm.status", json!(null)).unwrap()));
        assert!(status["crm"]["problem"].is_null() && status["crm"]["signing_in"] == false, "{status:#}");
        let m = d.call("crm.lookup", json!({"number": JANE})).unwrap();
        assert_eq!(m["contacts"][0]["name"], "Jane Doe", "{m:#}");

        // The CRM's admin revokes the app's tokens: the panel says so and offers the
        // sign-in again; its button signs the user back in.
        crm.control("reset", json!({}));
        let m = d.call("crm.lookup", json!({"number": JANE})).unwrap();
        assert!(m["error"].as_str().is_some_and(|e| e.contains("refused")), "{m:#}");
        assert!(sign_in_button(&d));
        let click = UiEvent { widget: "sign_in".into(), action: UiAction::Clicked };
        d.client()
            .request(&Request::Ui { plugin: "crm".into(), panel: "popups".into(), event: Box::new(click) })
            .unwrap();
        assert_eq!(opened_urls(dir.path(), 2, WAIT).len(), 2);
        let back = wait_for(WAIT, || {
            d.call("crm.status", json!(null)).ok().filter(|s| s["crm"]["connected"] == true)
        });
        assert!(back.is_some(), "{:#}", d.call("crm.status", json!(null)).unwrap());
    }
    // The next start signs in with the refresh token the sign-in left in the keyring.
    crm.control("expire", json!({"vendor": "salesforce"}));
    let (d, _events) = registered_daemon(&p, &env);
    let m = d.call("crm.lookup", json!({"number": JANE})).unwrap();
    assert_eq!(m["contacts"][0]["name"], "Jane Doe", "{m:#}");
    assert_eq!(crm.get("tokens")["salesforce"]["codes"], 1, "one sign-in since the reset");
    assert_eq!(opened_urls(dir.path(), 2, WAIT).len(), 2, "no browser at this start");
}
