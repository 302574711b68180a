//! The command-line contract: `plugins`, `daemon`, `ctl`, `events`, driven as a user or
//! a script would, against the real binary and the hello example plugin.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::{Lines, Profile, entry};

#[test]
fn hello_answers_greet_through_daemon_and_ctl() {
    let profile = Profile::new().with_hello();
    let daemon = profile.daemon();
    let out = profile.run_ok(&["ctl", "hello.greet", r#"{"name": "Ada"}"#]);
    let answer: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer, json!({"greeting": "Hello, Ada!"}));
    let (clean, log) = daemon.stop();
    assert!(clean, "daemon did not exit cleanly:\n{log}");
    // The plugin's own log lines reach the host's log, and stop ran on SIGTERM.
    assert!(log.contains("hello started"), "{log}");
    assert!(log.contains("hello stopped"), "{log}");
}

#[test]
fn events_streams_the_topics_hello_publishes() {
    let profile = Profile::new().with_hello();
    let _daemon = profile.daemon();
    let events = Lines::spawn(profile.command(&["events", "--topic", "hello."]));
    // The subscription is live once a first event shows up; keep greeting until then.
    let mut seen = None;
    for attempt in 0..50 {
        profile.run_ok(&["ctl", "hello.greet", &json!({"name": format!("n{attempt}")}).to_string()]);
        if let Some(line) = events.next(Duration::from_millis(200)) {
            seen = Some(line);
            break;
        }
    }
    let line: Value = serde_json::from_str(&seen.expect("an event line")).unwrap();
    assert_eq!(line["topic"], "hello.greeted");
    assert_eq!(line["source"], "hello");
    assert!(line["payload"]["greeting"].as_str().unwrap().starts_with("Hello, n"));
}

#[test]
fn events_filters_by_topic_prefix() {
    let profile = Profile::new().with_hello().with_fixture("probe");
    let daemon = profile.daemon();
    let events = Lines::spawn(profile.command(&["events", "--topic", "probe.wanted"]));
    let mut first = None;
    for _ in 0..50 {
        daemon.call("probe.publish", json!({"topic": "probe.unwanted", "payload": {"n": 1}})).unwrap();
        daemon.call("probe.publish", json!({"topic": "probe.wanted", "payload": {"n": 2}})).unwrap();
        if let Some(line) = events.next(Duration::from_millis(200)) {
            first = Some(line);
            break;
        }
    }
    let line: Value = serde_json::from_str(&first.expect("an event")).unwrap();
    assert_eq!(line["topic"], "probe.wanted");
    while let Some(line) = events.next(Duration::from_millis(300)) {
        assert!(line.contains("probe.wanted"), "{line}");
    }
}

#[test]
fn plugins_json_has_the_documented_fields() {
    let profile = Profile::new().with_hello();
    // Not running: listed as what would start, and nothing started to list it.
    let list = profile.plugins();
    let hello = entry(&list, "hello");
    assert_eq!(hello["state"], "installed");
    assert_eq!(hello["version"], "1.0.0");
    assert_eq!(hello["api_version"], ucdesk_plugin_api::API_VERSION);
    assert!(hello["path"].as_str().unwrap().ends_with(&ucdesk_tests::lib_name("ucdesk_plugin_hello")));
    assert!(hello["reason"].is_null());
    assert_eq!(hello["requires"], json!([]));
    assert!(hello["feature"].is_null());
    // The same answer from a running instance.
    let daemon = profile.daemon();
    let live: Vec<Value> = serde_json::from_str(&profile.run_ok(&["plugins", "--json"])).unwrap();
    assert_eq!(entry(&live, "hello")["state"], "active");
    drop(daemon);
    // And a table for people (the daemon gone: what would start).
    let table = profile.run_ok(&["plugins"]);
    assert!(table.lines().any(|l| l.starts_with("hello") && l.contains("installed")), "{table}");
}

#[test]
fn ctl_errors_are_clear_and_exit_non_zero() {
    let profile = Profile::new().with_hello();
    let out = profile.run(&["ctl", "hello.greet", "{}"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ucdesk instance is running"));

    let _daemon = profile.daemon();
    let cases: [(&[&str], &str); 4] = [
        (&["ctl", "nobody.home"], "unknown service nobody.home"),
        (&["ctl", "hello.nope"], "provides no service hello.nope"),
        (&["ctl", "hello.greet", "{not json"], "not valid JSON"),
        (&["ctl", "hello.greet", r#"{"nom": 1}"#], "missing field"),
    ];
    for (args, expected) in cases {
        let out = profile.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_second_daemon_on_the_same_profile_is_refused() {
    let profile = Profile::new().with_hello();
    let _daemon = profile.daemon();
    let out = profile.run(&["daemon"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
}

#[test]
fn a_stale_socket_from_a_crash_is_replaced() {
    let profile = Profile::new().with_hello();
    let daemon = profile.daemon();
    // SIGKILL leaves the socket file behind, as a crash would.
    unsafe { libc::kill(daemon.pid() as i32, libc::SIGKILL) };
    drop(daemon);
    assert!(profile.socket().exists());
    let _again = profile.daemon();
    assert_eq!(
        profile.run_ok(&["ctl", "hello.greet", r#"{"name":"B"}"#]).trim(),
        r#"{"greeting":"Hello, B!"}"#
    );
}

#[test]
fn views_are_published_and_follow_interactions() {
    let profile = Profile::new().with_hello();
    let daemon = profile.daemon();
    let view: Value = serde_json::from_str(&profile.run_ok(&["view", "hello", "main"])).unwrap();
    assert_eq!(view["root"]["kind"], "column");
    daemon.call("hello.greet", json!({"name": "Vi"})).unwrap();
    let updated = ucdesk_tests::wait_for(Duration::from_secs(5), || {
        let v = profile.run_ok(&["view", "hello", "main"]);
        v.contains("Hello, Vi!").then_some(v)
    });
    assert!(updated.is_some(), "the panel never showed the greeting");
}

#[test]
fn malformed_control_requests_get_an_error_and_the_connection_lives_on() {
    use std::io::{BufRead, BufReader, Write};
    let profile = Profile::new().with_hello();
    let _daemon = profile.daemon();
    let stream = std::os::unix::net::UnixStream::connect(profile.socket()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut answer = |line: &str| {
        writeln!(writer, "{line}").unwrap();
        let mut out = String::new();
        reader.read_line(&mut out).unwrap();
        serde_json::from_str::<Value>(&out).unwrap()
    };
    for junk in ["{not json", r#"{"op":"launch_rockets"}"#, r#"{"op":"call"}"#, "[1,2,3]", "\u{0}\u{1}"] {
        let a = answer(junk);
        assert_eq!(a["error"]["kind"], "bad_request", "{junk}: {a}");
    }
    let ok = answer(r#"{"op":"call","service":"hello.greet","args":{"name":"Still"}}"#);
    assert_eq!(ok["ok"]["greeting"], "Hello, Still!");
}
