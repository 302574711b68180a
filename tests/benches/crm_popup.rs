//! How soon a call's CRM work happens: from `call.incoming` to the silent popup's
//! request reaching the server, and to the CRM match (`crm.match`, what the panel and
//! the call window show), against a bare HTTP client fetching the same lookup from the
//! same server in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench crm_popup`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`).
//!
//! The CRM is the lab's Salesforce stand-in (`tests/lab/crm_standin.py`); the popup's
//! server is the in-process recorder. One clock, the bench's, started when the caller
//! (baresip) is told to dial: `call.incoming` and `crm.match` are when the bench reads
//! them off the control socket (the same path, so "incoming -> match" is the CRM's own
//! share), the popup when the recorder accepts its request (it may beat the event to the
//! bench). The bare client is ureq with a kept-alive connection and the same access
//! token, timed around the same SOSL request, between calls.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_tests::crm::CrmStandIn;
use ucdesk_tests::http::HttpRecorder;
use ucdesk_tests::lab::{Bot, Kamailio, next_event, registered_daemon, set, set_secret, softphone_profile};
use ucdesk_tests::{Lines, plugin_lib};

const CALLS: usize = 30;
const WAIT: Duration = Duration::from_secs(15);
const JANE: &str = "2125550100";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let k = Kamailio::start_with(&[("SIP_USERS", format!("alice:alicepw {JANE}:{JANE}pw"))]);
    let jane = Bot::start(&k, JANE, "manual");
    let crm = CrmStandIn::start();
    let popup = HttpRecorder::start();
    let p = softphone_profile(&k, "alice", "udp", "alicepw").with_library(&plugin_lib("crm"), "crm");
    for key in ["softphone.audio_input", "softphone.audio_output"] {
        set(&p, key, "null");
    }
    set(&p, "crm.popup_started_url", &popup.url("/started?callerid=%callerid%"));
    set(&p, "crm.popup_started_silent", "true");
    set(&p, "crm.enabled", "true");
    set(&p, "crm.provider", "salesforce");
    set(&p, "crm.country", "US");
    set(&p, "crm.client_id", "ucdesk");
    set(&p, "crm.auth_url", &crm.vendor("salesforce"));
    set(&p, "crm.pop_record", "false");
    set(&p, "crm.log_calls", "false");
    set_secret(&p, "crm.refresh_token", "rt-salesforce-1");
    let (d, events) = registered_daemon(&p, &[]);
    let matches = Lines::spawn(p.command(&["events", "--topic", "crm.match"]));

    let bare = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let (token, lookup) = bare_lookup(&bare, &crm);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut to_incoming, mut to_popup, mut to_match, mut crm_share, mut fetch) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..CALLS {
        let dial = Instant::now();
        jane.command("dial", &format!("sip:alice@{}", k.addr()));
        let incoming = next_event(&events, "call.incoming", WAIT).expect("call.incoming");
        let incoming_at = Instant::now();
        let callid = incoming["callid"].as_str().unwrap().to_string();
        let m = next_event(&matches, "crm.match", WAIT).expect("crm.match");
        let matched_at = Instant::now();
        assert_eq!(m["contacts"][0]["name"], "Jane Doe", "{m:#}");
        let request = popup.wait("/started", i + 1, WAIT).pop().unwrap();
        to_incoming.push(ms(incoming_at - dial));
        to_popup.push(ms(request.at - dial));
        to_match.push(ms(matched_at - dial));
        crm_share.push(ms(matched_at - incoming_at));
        d.call("phone.hangup", json!({ "callid": callid })).unwrap();
        next_event(&events, "call.ended", WAIT).expect("call.ended");
        let t = Instant::now();
        let mut resp = bare.get(&lookup).header("Authorization", format!("Bearer {token}")).call().unwrap();
        let body: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        fetch.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(body["searchRecords"][0]["Name"], "Jane Doe");
        std::thread::sleep(Duration::from_millis(100));
    }

    println!("CRM on an incoming call, {CALLS} calls (ms)");
    println!("{:<34} {:>8} {:>8} {:>8}", "", "p50", "p90", "mean");
    let row = |name: &str, v: &[f64]| {
        println!("{name:<34} {:>8.2} {:>8.2} {:>8.2}", pct(v, 0.5), pct(v, 0.9), mean(v))
    };
    row("dial -> call.incoming", &to_incoming);
    row("dial -> silent popup request", &to_popup);
    row("dial -> crm.match", &to_match);
    row("call.incoming -> crm.match", &crm_share);
    row("bare client: the same lookup", &fetch);
    println!(
        "ratio (incoming -> match) / bare lookup: p50 {:.2}x, p90 {:.2}x, mean {:.2}x",
        pct(&crm_share, 0.5) / pct(&fetch, 0.5),
        pct(&crm_share, 0.9) / pct(&fetch, 0.9),
        mean(&crm_share) / mean(&fetch)
    );
    println!(
        "popup request after call.incoming: p50 {:+.2} ms (negative: before the bench read the event)",
        pct(&to_popup, 0.5) - pct(&to_incoming, 0.5)
    );
}

/// A token of our own and the lookup URL the plugin sends for Jane's number.
fn bare_lookup(agent: &ureq::Agent, crm: &CrmStandIn) -> (String, String) {
    let h = crm.vendor("salesforce");
    let mut resp = agent
        .post(format!("{h}/services/oauth2/token"))
        .content_type("application/x-www-form-urlencoded")
        .send("grant_type=refresh_token&refresh_token=rt-salesforce-1&client_id=ucdesk")
        .unwrap();
    let answer: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
    let token = answer["access_token"].as_str().expect("a token").to_string();
    let q = "FIND+%7B2125550100%7D+IN+PHONE+FIELDS+RETURNING+Contact%28Id%2CName%2CPhone%2CMobilePhone%2CHomePhone%2COtherPhone%2CEmail%2CTitle%29";
    (token, format!("{h}/services/data/v60.0/search/?q={q}"))
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * p).round() as usize]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
