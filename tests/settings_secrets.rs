//! Settings and secrets from the command line: checked against the plugin's schema,
//! delivered to the running plugin, and secrets never shown anywhere.

use serde_json::json;
use std::{io::Write, process::Stdio, time::Duration};
use ucdesk_tests::{Profile, wait_for};

#[test]
fn settings_are_checked_against_the_schema() {
    let profile = Profile::new().with_fixture("probe");
    assert_eq!(profile.run_ok(&["settings", "get", "probe.level"]).trim(), "1");
    profile.run_ok(&["settings", "set", "probe.level", "7"]);
    assert_eq!(profile.run_ok(&["settings", "get", "probe.level"]).trim(), "7");
    for (args, expected) in [
        (["settings", "set", "probe.level", "11"], "must be at most 10"),
        (["settings", "set", "probe.level", "seven"], "expects JSON"),
        (["settings", "set", "probe.panic_in", "lunch"], "expects one of nothing, new, start, view, stop"),
        (["settings", "set", "probe.nothing", "1"], "no plugin declares setting probe.nothing"),
        (["settings", "set", "ghost.level", "1"], "no plugin 'ghost' is installed"),
        (["settings", "set", "nodot", "1"], "plugin_id.name"),
        (["settings", "set", "probe.password", "x"], "is a secret"),
    ] {
        let out = profile.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert_eq!(profile.run_ok(&["settings", "get", "probe.level"]).trim(), "7");
}

#[test]
fn a_running_plugin_hears_about_its_setting_changes() {
    let profile = Profile::new().with_fixture("probe");
    let daemon = profile.daemon();
    profile.run_ok(&["settings", "set", "probe.level", "3"]);
    let seen = wait_for(Duration::from_secs(5), || {
        let r = daemon.call("probe.received", json!({})).unwrap();
        r["events"].as_array().unwrap().iter().any(|e| e[0] == "kernel.setting_changed").then_some(())
    });
    assert!(seen.is_some());
    assert_eq!(profile.run_ok(&["settings", "get", "probe.level"]).trim(), "3");
}

fn set_secret(profile: &Profile, key: &str, value: &str) -> std::process::Output {
    let mut child = profile
        .command(&["secret", "set", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{value}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn secrets_are_stored_encrypted_and_never_printed() {
    const SECRET: &str = "s3cr3t-Correct-Horse";
    let profile = Profile::new().with_fixture("probe");
    let out = set_secret(&profile, "probe.password", SECRET);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let daemon = profile.daemon();
    assert_eq!(daemon.call("probe.secret", json!({"name": "password"})).unwrap(), json!({"set": true}));
    // Online too, through the running instance.
    let out = set_secret(&profile, "probe.password", &format!("{SECRET}-2"));
    assert!(out.status.success());
    let refused = set_secret(&profile, "probe.level", SECRET);
    assert!(!refused.status.success());
    // Nothing anywhere in the profile or the output holds it in clear text.
    let (_, log) = daemon.stop();
    let mut haystack = log;
    for o in [&out, &refused] {
        haystack.push_str(&String::from_utf8_lossy(&o.stdout));
        haystack.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    for entry in walk(profile.home.path()) {
        if entry.is_file() && !entry.to_string_lossy().contains("plugin-dir") {
            haystack.push_str(&String::from_utf8_lossy(&std::fs::read(&entry).unwrap()));
        }
    }
    assert!(!haystack.contains(SECRET), "the secret leaked");
    // `settings get` refuses to show a secret.
    let out = profile.run(&["settings", "get", "probe.password"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn each_plugin_gets_its_own_data_directory() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer");
    let daemon = profile.daemon();
    let a = daemon.call("probe.data_dir", json!({})).unwrap();
    let b = daemon.call("peer.data_dir", json!({})).unwrap();
    assert_ne!(a, b);
    let a = std::path::PathBuf::from(a.as_str().unwrap());
    assert!(a.is_dir());
    assert!(a.starts_with(profile.home.path()));
}
