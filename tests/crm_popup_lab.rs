//! Call popups with the real softphone on the real kernel, through Kamailio with a
//! baresip caller: every macro of real inbound (DID and queue) and outbound calls reaches
//! a silent request and a program, encoded for each; browser popups go through
//! `xdg-open` to the desktop's default browser (a recorder registered the XDG way), the
//! queue's URL from the deployment policy takes over; with the in-app option the page
//! shows in the screen pop window (WebKitGTK under Xvfb) and, without one, in the
//! browser with the reason; failing servers are retried and never hold up the call.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ucdesk_tests::http::{HttpRecorder, Reply};
use ucdesk_tests::lab::{Bot, Kamailio, next_event, registered_daemon, set, softphone_profile};
use ucdesk_tests::{Profile, Xvfb, opened_urls, plugin_lib, url_recorder, wait_for};

// Generous: the whole suite runs beside these tests (a call rang after 10 s once).
const WAIT: Duration = Duration::from_secs(20);
const MACROS: [&str; 12] = [
    "callerid",
    "callerid_name",
    "ext",
    "ext_name",
    "duration",
    "callid",
    "did",
    "direction",
    "queue_number",
    "queue_name",
    "agent_number",
    "agent_name",
];

/// Kamailio with a DID and a queue that both reach alice, and carol calling as "Carol & Co".
fn lab() -> (Kamailio, Bot) {
    let k = Kamailio::start_with(&[
        ("SIP_DIDS", "5550100=alice".into()),
        ("SIP_QUEUES", "8001 alice Sales & Support".into()),
    ]);
    let carol = Bot::start_with(&k, "carol", "auto", &[("BOT_NAME", "Carol & Co".into())]);
    (k, carol)
}

fn alice(k: &Kamailio) -> Profile {
    let p = softphone_profile(k, "alice", "udp", "alicepw").with_library(&plugin_lib("crm"), "crm");
    set(&p, "softphone.display_name", "Alice Example");
    p
}

/// A program that writes its arguments, NUL-separated, to a new file in `dir`.
fn arg_recorder(dir: &Path) -> PathBuf {
    let script = dir.join("record-args.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nf=$(mktemp {}/run.XXXXXX)\nprintf '%s\\0' \"$0\" \"$@\" >\"$f\"\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

/// The argument lists the recorder got, oldest first.
fn runs(dir: &Path, n: usize) -> Vec<Vec<String>> {
    wait_for(WAIT, || {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("run."))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        let runs: Vec<Vec<String>> = files
            .iter()
            .map(|(_, f)| std::fs::read_to_string(f).unwrap_or_default())
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('\0').split('\0').map(str::to_string).collect())
            .collect();
        (runs.len() >= n).then_some(runs)
    })
    .unwrap_or_else(|| panic!("the popup program did not run {n} times"))
}

/// Carol calls `number` at alice; alice answers, talks a little over a second and hangs
/// up. Returns the call id.
fn inbound_call(
    d: &ucdesk_tests::Daemon,
    events: &ucdesk_tests::Lines,
    carol: &Bot,
    k: &Kamailio,
    number: &str,
) -> String {
    carol.command("dial", &format!("sip:{number}@{}", k.addr()));
    let callid = next_event(events, "call.incoming", WAIT)
        .unwrap_or_else(|| panic!("carol's call never rang:\n{}\n{}", d.log(), carol.log()))["callid"]
        .as_str()
        .unwrap()
        .to_string();
    d.call("phone.answer", json!({ "callid": callid })).unwrap();
    next_event(events, "call.answered", WAIT).expect("call.answered");
    std::thread::sleep(Duration::from_millis(1300));
    d.call("phone.hangup", json!({ "callid": callid })).unwrap();
    next_event(events, "call.ended", WAIT).expect("call.ended");
    callid
}

fn outbound_call(d: &ucdesk_tests::Daemon, events: &ucdesk_tests::Lines) -> String {
    let dialed = d.call("phone.dial", json!({ "number": "carol" })).unwrap();
    let callid = dialed["callid"].as_str().unwrap().to_string();
    next_event(events, "call.answered", WAIT).expect("carol answers");
    std::thread::sleep(Duration::from_millis(1300));
    d.call("phone.hangup", json!({ "callid": callid })).unwrap();
    next_event(events, "call.ended", WAIT).expect("call.ended");
    callid
}

/// What each macro should be for a call, as `name -> value`.
fn expect(
    callid: &str,
    direction: &str,
    did: &str,
    queue: Option<(&str, &str)>,
    name: &str,
) -> Vec<(&'static str, String)> {
    let (qn, qname, agent) = match queue {
        Some((n, q)) => (n, q, "alice"),
        None => ("", "", ""),
    };
    vec![
        ("callerid", "carol".into()),
        ("callerid_name", name.into()),
        ("ext", "alice".into()),
        ("ext_name", "Alice Example".into()),
        ("callid", callid.into()),
        ("did", did.into()),
        ("direction", direction.into()),
        ("queue_number", qn.into()),
        ("queue_name", qname.into()),
        ("agent_number", agent.into()),
        ("agent_name", "".into()),
    ]
}

#[test]
fn every_macro_reaches_a_silent_request_and_a_program_for_real_calls() {
    let (k, carol) = lab();
    let http = HttpRecorder::start();
    let dir = tempfile::tempdir().unwrap();
    let program = arg_recorder(dir.path());
    let p = alice(&k);
    let query: Vec<String> = MACROS.iter().map(|m| format!("{m}=%{m}%")).collect();
    set(&p, "crm.popup_started_url", &http.url(&format!("/started?{}", query.join("&"))));
    set(&p, "crm.popup_started_silent", "true");
    set(&p, "crm.popup_started_outbound", "true");
    let args: Vec<String> = MACROS.iter().map(|m| format!("{m}=%{m}%")).collect();
    set(&p, "crm.popup_finished_url", &format!("{} {}", program.display(), args.join(" ")));
    set(&p, "crm.popup_finished_inbound", "true");
    set(&p, "crm.popup_finished_outbound", "true");
    let (d, events) = registered_daemon(&p, &[]);

    let via_did = inbound_call(&d, &events, &carol, &k, "5550100");
    let via_queue = inbound_call(&d, &events, &carol, &k, "8001");
    let outbound = outbound_call(&d, &events);

    let started = http.wait("/started", 3, WAIT);
    let finished = runs(dir.path(), 3);
    let cases = [
        expect(&via_did, "inbound", "5550100", None, "Carol & Co"),
        expect(&via_queue, "inbound", "8001", Some(("8001", "Sales & Support")), "Carol & Co"),
        expect(&outbound, "outbound", "", None, ""),
    ];
    for (i, want) in cases.iter().enumerate() {
        let (request, run) = (&started[i], &finished[i]);
        assert_eq!(run[0], program.display().to_string());
        for (name, value) in want {
            assert_eq!(request.param(name).as_deref(), Some(value.as_str()), "{name} in {}", request.target);
            let arg = format!("{name}={value}");
            assert!(run.contains(&arg), "program args {run:?} lack {arg}");
        }
        // The request went out when the call started; the program ran when it was over.
        assert!(request.param("duration").is_some());
        let duration: u64 = run.iter().find_map(|a| a.strip_prefix("duration=")).unwrap().parse().unwrap();
        assert!(duration >= 1, "the finished popup's duration is {duration}");
    }
    // Encoded in the URL (space, ampersand), unencoded as program arguments.
    assert!(started[0].query().contains("callerid_name=Carol%20%26%20Co&"), "{}", started[0].target);
    assert!(started[1].query().contains("queue_name=Sales%20%26%20Support&"), "{}", started[1].target);
    assert!(finished[1].contains(&"queue_name=Sales & Support".to_string()));

    let popups = d.call("crm.popups", json!(null)).unwrap();
    let outcomes: Vec<(&str, &str)> = popups
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["event"].as_str().unwrap(), p["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == ("started", "sent")).count(), 3, "{popups:#}");
    assert_eq!(outcomes.iter().filter(|o| **o == ("finished", "ran")).count(), 3, "{popups:#}");
}

/// A desktop whose default browser (for http and https, the XDG way: a desktop entry
/// and mimeapps.list) writes each URL it is asked to open to `opened`.
fn xdg_browser(dir: &Path) -> Vec<(&'static str, String)> {
    let (data, config) = (dir.join("data"), dir.join("config"));
    std::fs::create_dir_all(data.join("applications")).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let browser = url_recorder(dir);
    std::fs::write(
        data.join("applications/lab-browser.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Lab browser\nExec={} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n",
            browser.display()
        ),
    )
    .unwrap();
    std::fs::write(
        config.join("mimeapps.list"),
        "[Default Applications]\nx-scheme-handler/http=lab-browser.desktop\nx-scheme-handler/https=lab-browser.desktop\n",
    )
    .unwrap();
    vec![
        // xdg-open asks the desktop's default only when there is a display; nothing
        // connects to it.
        ("DISPLAY", ":ucdesk-test".into()),
        ("XDG_CURRENT_DESKTOP", String::new()),
        ("BROWSER", String::new()),
        ("XDG_DATA_HOME", data.display().to_string()),
        ("XDG_CONFIG_HOME", config.display().to_string()),
    ]
}

#[test]
fn browser_popups_open_the_default_browser_and_a_queue_url_takes_over() {
    let (k, carol) = lab();
    let http = HttpRecorder::start();
    let desktop = tempfile::tempdir().unwrap();
    let env = xdg_browser(desktop.path());
    let p = alice(&k);
    // The queue's URL comes from the deployment policy, as a PBX admin sets it.
    p.set_policy(
        "[settings.preset]\n\"crm.popup_queue_url\" = true\n\
         \"crm.queue_urls\" = [\"8001=https://crm.example/queue/%queue_number%?caller=%callerid%&name=%callerid_name%\"]\n",
    );
    // No scheme, as in the manual's example: taken as https.
    set(&p, "crm.popup_started_url", "crm.example/contacts?phone=%callerid%&who=%callerid_name%");
    let (d, events) = registered_daemon(&p, &env);

    inbound_call(&d, &events, &carol, &k, "5550100");
    assert_eq!(
        opened_urls(desktop.path(), 1, WAIT),
        ["https://crm.example/contacts?phone=carol&who=Carol%20%26%20Co"]
    );
    inbound_call(&d, &events, &carol, &k, "8001");
    let urls = opened_urls(desktop.path(), 2, WAIT);
    assert_eq!(urls[1], "https://crm.example/queue/8001?caller=carol&name=Carol%20%26%20Co");
    // Outbound calls are off for this popup by default: nothing more opens.
    outbound_call(&d, &events);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(opened_urls(desktop.path(), 2, WAIT).len(), 2);
    assert!(http.requests().is_empty(), "a browser popup sent a request itself");

    let popups = d.call("crm.popups", json!(null)).unwrap();
    let queue = popups.as_array().unwrap().iter().find(|p| p["from_queue"] == true).expect("the queue popup");
    assert_eq!((queue["outcome"].as_str(), queue["silent"].as_bool()), (Some("opened"), Some(false)));
}

#[test]
fn silent_requests_retry_and_a_dead_server_never_holds_up_the_call() {
    let (k, carol) = lab();
    let http = HttpRecorder::start();
    let p = alice(&k);
    set(&p, "crm.popup_started_url", &http.url("/flaky?n=%callerid%"));
    set(&p, "crm.popup_started_silent", "true");
    set(&p, "crm.popup_finished_url", &http.url("/limited?d=%duration%"));
    set(&p, "crm.popup_finished_inbound", "true");
    set(&p, "crm.popup_finished_silent", "true");
    set(&p, "crm.popup_timeout_seconds", "1");
    http.script("/flaky", [Reply::Status(503)]);
    http.script("/limited", [Reply::RetryAfter(1)]);
    let (d, events) = registered_daemon(&p, &[]);

    inbound_call(&d, &events, &carol, &k, "alice");
    let flaky = http.wait("/flaky", 2, WAIT);
    let limited = http.wait("/limited", 2, WAIT);
    assert!(limited[1].at - limited[0].at >= Duration::from_millis(950), "Retry-After: 1 was not honoured");
    assert_eq!(flaky[1].param("n").as_deref(), Some("carol"));
    let popups = wait_for(WAIT, || {
        let v = d.call("crm.popups", json!(null)).ok()?;
        (v.as_array()?.len() == 2).then_some(v)
    })
    .expect("two popups");
    for p in popups.as_array().unwrap() {
        assert_eq!(
            (p["outcome"].as_str(), p["status"].as_u64(), p["attempts"].as_u64()),
            (Some("sent"), Some(200), Some(2)),
            "{p:#}"
        );
    }

    // A server that never answers: every attempt times out, the call goes on regardless.
    set(&p, "crm.popup_started_url", &http.url("/dead"));
    http.script(
        "/dead",
        [
            Reply::Stall(Duration::from_secs(4)),
            Reply::Stall(Duration::from_secs(4)),
            Reply::Stall(Duration::from_secs(4)),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let incoming = Instant::now();
    let callid = next_event(&events, "call.incoming", WAIT).expect("call.incoming")["callid"]
        .as_str()
        .unwrap()
        .to_string();
    d.call("phone.answer", json!({ "callid": callid })).unwrap();
    next_event(&events, "call.answered", WAIT).expect("answered while the popup hangs");
    let status = d.call("crm.status", json!(null)).unwrap();
    assert_eq!(status["pending"], 1, "the popup should still be trying: {status:#}");
    assert!(incoming.elapsed() < Duration::from_secs(3), "the call waited for the popup");
    d.call("phone.hangup", json!({ "callid": callid })).unwrap();
    let failed = wait_for(Duration::from_secs(15), || {
        let v = d.call("crm.popups", json!(null)).ok()?;
        v.as_array()?.iter().find(|p| p["callid"] == callid.as_str() && p["event"] == "started").cloned()
    })
    .expect("the dead server's popup gave up");
    assert_eq!(
        (failed["outcome"].as_str(), failed["attempts"].as_u64()),
        (Some("failed"), Some(3)),
        "{failed:#}"
    );
    assert!(failed["error"].as_str().unwrap().contains("after 3 attempts"), "{failed:#}");
    assert!(d.log().contains("call popup for"), "the failure is logged");
    assert!(!d.log().contains("/dead?"), "the log keeps the query out");
}

#[test]
fn fields_that_cannot_work_are_reported_not_fired() {
    let (k, carol) = lab();
    let p = alice(&k);
    set(&p, "crm.popup_started_url", "ftp://crm.example/%callerid%");
    set(&p, "crm.popup_finished_url", "https://crm.example/done?who=%caller%&n=%callerid%");
    set(&p, "crm.popup_finished_inbound", "true");
    set(&p, "crm.popup_finished_silent", "true");
    set(&p, "crm.tls_ca_file", "/nonexistent/ca.pem");
    let (d, events) = registered_daemon(&p, &[]);
    let status = d.call("crm.status", json!(null)).unwrap();
    let problems: Vec<&str> =
        status["problems"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(problems.iter().any(|p| p.starts_with("Call started") && p.contains("ftp")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("/nonexistent/ca.pem")), "{problems:?}");
    assert_eq!(status["unknown_macros"], json!([{ "field": "Call finished", "macro": "%caller%" }]));

    inbound_call(&d, &events, &carol, &k, "alice");
    let popups = wait_for(WAIT, || {
        let v = d.call("crm.popups", json!(null)).ok()?;
        (v.as_array()?.len() == 2).then_some(v)
    })
    .expect("both popups reported");
    for p in popups.as_array().unwrap() {
        assert_eq!(p["outcome"], "failed", "{p:#}");
    }
    // The module's panel says the same, in words.
    let panel = p.run_ok(&["view", "crm", "popups"]);
    assert!(panel.contains("only http and https addresses"), "{panel}");
    assert!(panel.contains("%caller% is not a macro"), "{panel}");
}

#[test]
fn in_app_popups_show_in_the_apps_window_and_fall_back_to_the_browser_without_one() {
    let (k, carol) = lab();
    let x = Xvfb::start();
    let http = HttpRecorder::start();
    let desktop = tempfile::tempdir().unwrap();
    let mut env = xdg_browser(desktop.path());
    env.retain(|(k, _)| *k != "DISPLAY");
    env.push(("DISPLAY", x.display.clone()));
    env.push(("LIBGL_ALWAYS_SOFTWARE", "1".into()));
    let p = alice(&k);
    set(&p, "crm.popup_started_url", &http.url("/contact?phone=%callerid%"));
    set(&p, "crm.popup_in_app", "true");

    // The window program is found beside the running ucdesk, as installed.
    let (d, events) = registered_daemon(&p, &env);
    inbound_call(&d, &events, &carol, &k, "alice");
    let asked = http.wait("/contact", 1, Duration::from_secs(30));
    let agent = asked[0].headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.clone());
    assert!(agent.unwrap_or_default().contains("AppleWebKit"), "not the web view's request: {:?}", asked[0]);
    assert_eq!(asked[0].param("phone").as_deref(), Some("carol"));
    let popups = d.call("crm.popups", json!(null)).unwrap();
    assert_eq!(popups[0]["outcome"], "shown", "{popups:#}");
    assert!(!desktop.path().join("opened").exists(), "the browser opened too");
    let (clean, log) = d.stop();
    assert!(clean, "the daemon did not stop cleanly with the window up:\n{log}");

    // No window to be had: the browser, and the popup says why.
    env.push(("UCDESK_WEBVIEW", "/nonexistent/ucdesk-webview".into()));
    let (d, events) = registered_daemon(&p, &env);
    inbound_call(&d, &events, &carol, &k, "alice");
    assert_eq!(
        opened_urls(desktop.path(), 1, WAIT),
        ["http://127.0.0.1:".to_string() + &http.port.to_string() + "/contact?phone=carol"]
    );
    let popups = wait_for(WAIT, || {
        let v = d.call("crm.popups", json!(null)).ok()?;
        (v[0]["outcome"] == "opened").then_some(v)
    })
    .expect("the popup fell back to the browser");
    let notice = popups[0]["notice"].as_str().unwrap_or_default();
    assert!(
        notice.contains("in-app view is unavailable") && notice.contains("/nonexistent/ucdesk-webview"),
        "{notice}"
    );
}
