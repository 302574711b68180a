//! The desktop around the window, through the real binary under Xvfb: one instance per
//! profile. A second `ucdesk` brings the running window forward and exits; a second
//! `ucdesk callto:...` (what the desktop runs for a link) hands the link over and the
//! running window places the call, here to a baresip bot through Kamailio; a link that
//! starts the window is called once the phone has registered.

use serde_json::{Value, json};
use std::time::Duration;
use ucdesk_tests::lab::{Bot, Kamailio, softphone_profile, wait_connected};
use ucdesk_tests::{Profile, Xvfb, wait_for};

const WAIT: Duration = Duration::from_secs(20);

/// Confirmation off: links are dialled at once (the shell's preferences file).
fn without_confirmation(p: &Profile) {
    let config = p.home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("shell.json"), r#"{"confirm_external_calls": false}"#).unwrap();
}

#[test]
fn a_second_launch_hands_its_link_to_the_running_window_which_places_the_call() {
    let k = Kamailio::start();
    let _bob = Bot::start(&k, "bob", "auto");
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    without_confirmation(&p);
    let x = Xvfb::start();
    let gui = p.gui(&x.display);
    wait_for(WAIT, || {
        gui.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("alice never registered:\n{}", gui.log()));

    // `ucdesk` again: no second window; the first comes to the front.
    let again = p.window_command(&x.display, &[]).output().unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && said.contains("already running"), "{said}");

    // A link: handed over, called by the window, the call's id printed.
    let out = p.window_command(&x.display, &["callto://bob"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the call's id");
    let call = wait_connected(&gui, WAIT, |c| c["callid"] == answer["callid"]);
    assert_eq!(call["number"], "bob", "{call}");
    gui.call("phone.hangup", json!({"callid": answer["callid"]})).unwrap();
    let (clean, log) = gui.stop();
    assert!(clean, "{log}");

    // Nothing running: the link starts the window, which calls once registered.
    let gui = p.gui_with(&x.display, &["tel:bob"]);
    let call = wait_connected(&gui, WAIT, |c| c["number"] == "bob");
    gui.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();
}

/// Signs a feed announcing `version` of `package` with `key` (the real `ucdesk-sdk`).
fn feed(p: &Profile, key: &str, version: &str, package: &std::path::Path, url: &str) -> Vec<u8> {
    let out = p.home.path().join(format!("feed-{version}.json"));
    let signed = std::process::Command::new(ucdesk_tests::sdk_bin())
        .args(["release", "sign", "--key", key, "--version", version, "--notes", "Faster start"])
        .args(["--date", "2026-12-01", "--url", url, "--package"])
        .arg(package)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    std::fs::read(out).unwrap()
}

#[test]
fn the_update_check_believes_only_a_signed_feed_and_offers_only_a_newer_version() {
    let dev_key = concat!(env!("CARGO_MANIFEST_DIR"), "/../license/keys/dev-vendor.key");
    let p = Profile::new();
    let server = ucdesk_tests::http::HttpRecorder::start();
    let package = p.home.path().join("ucdesk_9.0.0_amd64.deb");
    std::fs::write(&package, b"a package").unwrap();
    let url = server.url("/ucdesk_9.0.0_amd64.deb");
    let check = |feed_path: &str| -> (bool, Value, String) {
        let config = p.home.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("shell.json"), json!({"update_feed": server.url(feed_path)}).to_string())
            .unwrap();
        let out = p.run(&["update", "check", "--json"]);
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), v, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let current = env!("CARGO_PKG_VERSION");
    for (version, state) in [("9.0.0", "available"), (current, "up_to_date"), ("0.0.1", "up_to_date")] {
        server.file(&format!("/{version}.json"), feed(&p, dev_key, version, &package, &url));
        let (ok, v, err) = check(&format!("/{version}.json"));
        assert!(ok, "{version}: {err}");
        assert_eq!(v["state"], state, "{version}: {v}");
    }
    let (_, v, _) = check("/9.0.0.json");
    assert_eq!(v["release"]["package_url"], url.as_str());
    assert_eq!(v["release"]["notes"], "Faster start");
    // "Download": kept only when it is the package the feed signed.
    let release: ucdesk_license::Release = serde_json::from_value(v["release"].clone()).unwrap();
    let downloads = p.home.path().join("Downloads");
    server.file("/ucdesk_9.0.0_amd64.deb", "a package");
    let saved = ucdesk_shell::updates::download(&release, &downloads).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), b"a package");
    std::fs::remove_file(&saved).unwrap();
    server.file("/ucdesk_9.0.0_amd64.deb", "another package");
    let err = ucdesk_shell::updates::download(&release, &downloads).unwrap_err();
    assert!(err.contains("not the one the feed signed"), "{err}");
    assert_eq!(std::fs::read_dir(&downloads).unwrap().count(), 0, "nothing is kept");
    // The text the window shows when there is nothing newer.
    let out = p.run(&["update", "check"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}: {:#?}", String::from_utf8_lossy(&out.stderr), server.requests());
    assert!(text.contains("9.0.0"), "{text}");

    // Changed after signing: refused, and said why.
    let mut forged: Value = serde_json::from_slice(&feed(&p, dev_key, "0.0.2", &package, &url)).unwrap();
    forged["release"]["version"] = json!("99.0.0");
    server.file("/forged.json", forged.to_string());
    let (ok, _, err) = check("/forged.json");
    assert!(!ok && err.contains("signature does not verify"), "{err}");
    // Signed by a key this build does not trust.
    let keys = p.home.path().join("keys");
    let made = std::process::Command::new(ucdesk_tests::sdk_bin())
        .args(["keygen", "--out"])
        .arg(&keys)
        .args(["--name", "stranger"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let stranger = keys.join("stranger.key");
    server.file("/stranger.json", feed(&p, stranger.to_str().unwrap(), "9.0.0", &package, &url));
    let (ok, _, err) = check("/stranger.json");
    assert!(!ok && err.contains("does not trust"), "{err}");
    // Not a feed, and a server error.
    server.file("/junk.json", "<html>");
    let (ok, _, err) = check("/junk.json");
    assert!(!ok && err.contains("not a release feed"), "{err}");
    server.script("/missing.json", [ucdesk_tests::http::Reply::Status(404)]);
    let (ok, _, err) = check("/missing.json");
    assert!(!ok && err.contains("cannot read the update feed"), "{err}");
    // The admin's policy wins: an empty update_feed turns the check off.
    p.set_policy("update_feed = \"\"\n");
    let out = p
        .command(&["--policy", p.policy_file().to_str().unwrap(), "update", "check", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "no_feed", "{v}");
}

#[test]
fn a_link_given_while_the_window_waits_at_its_login_is_kept_for_after_it() {
    // A licensed softphone with no account yet: the window opens at its login.
    let p = Profile::new().with_library(&ucdesk_tests::plugin_lib("softphone"), "softphone");
    ucdesk_tests::lab::install_license(&p, &[]);
    without_confirmation(&p);
    let x = Xvfb::start();
    let mut window = p
        .window_command(&x.display, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(WAIT, || p.socket().exists().then_some(())).expect("the window binds its socket at its login");
    // The link is taken at once, to be dialled after the login.
    let out = p.window_command(&x.display, &["callto://bob"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, json!({"queued": "bob"}));
    // Everything else waits for the plugins: ping says the instance is starting.
    let mut c = ucdesk_kernel::control::Client::connect(&p.socket()).unwrap();
    match c.request(&ucdesk_kernel::control::Request::Ping) {
        Err(ucdesk_kernel::control::ControlError::Remote { kind, .. }) => assert_eq!(kind, "not_ready"),
        other => panic!("ping at the login window answered {other:?}"),
    }
    let _ = window.kill();
    let _ = window.wait();
}
