//! The browser add-on (browser-extension/) in Debian's Chromium, headless, driven by
//! tests/browser/extension.mjs (playwright-core over the system's browser): numbers on
//! a local page become tel: links (those in links, form fields and code stay as they
//! are, dates and short numbers are not numbers), numbers a page adds later too; a
//! click opens the tel: URL, which the browser hands to the desktop's handler (here a
//! stub xdg-open that writes down what it was given); "Call ..." is in the context menu.

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use ucdesk_tests::http::HttpRecorder;

#[test]
fn numbers_on_a_page_become_tel_links_that_reach_the_desktops_handler() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = HttpRecorder::start();
    server.file("/numbers.html", std::fs::read(root.join("browser/numbers.html")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    // The desktop's handler: a stub xdg-open first on the PATH.
    let stubs = dir.path().join("bin");
    let launched = dir.path().join("launched.txt");
    std::fs::create_dir_all(&stubs).unwrap();
    let stub = stubs.join("xdg-open");
    std::fs::write(&stub, format!("#!/bin/sh\necho \"$@\" >> {}\n", launched.display())).unwrap();
    std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // The user's earlier "always allow" for tel: links from this origin (Chromium asks
    // otherwise, and a headless browser has no one to ask).
    let profile = dir.path().join("chromium");
    std::fs::create_dir_all(profile.join("Default")).unwrap();
    let origin = format!("http://127.0.0.1:{}", server.port);
    let prefs =
        serde_json::json!({"protocol_handler": {"allowed_origin_protocol_pairs": {origin: {"tel": true}}}});
    std::fs::write(profile.join("Default/Preferences"), prefs.to_string()).unwrap();

    let path = format!("{}:{}", stubs.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("node")
        .arg(root.join("browser/extension.mjs"))
        .arg("--extension")
        .arg(root.join("../browser-extension"))
        .args(["--page", &server.url("/numbers.html"), "--profile"])
        .arg(&profile)
        .arg("--handler-log")
        .arg(&launched)
        .env("PATH", path)
        .current_dir(root.join("browser"))
        .output()
        .expect("node runs (tests/run.sh installs tests/browser's packages)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    let hrefs: Vec<&str> =
        result["links"].as_array().unwrap().iter().filter_map(|l| l["href"].as_str()).collect();
    assert_eq!(
        hrefs,
        ["tel:+12125550100", "tel:02079460958", "tel:+493012345678", "tel:+442079460958", "tel:+14155550134"],
        "{result}"
    );
    assert_eq!(result["untouched"], 0, "links, form fields and code are left alone: {result}");
    assert_eq!(result["clicked"], "tel:+12125550100", "{result}");
    assert!(result["menu"].as_str().unwrap().contains("duplicate id"), "the menu item exists: {result}");
    assert_eq!(result["selections"], serde_json::json!(["tel:+12125550100", null, null]));
    // The browser handed the click to the desktop's handler.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = std::fs::read_to_string(&launched).unwrap_or_default();
        if got.contains("tel:+12125550100") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "xdg-open was not run: {got:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
