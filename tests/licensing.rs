//! The license decides which modules exist: licensed plugins are locked or unlocked
//! through the real loading path, with licenses made by the real `ucdesk-sdk` tool and
//! signed with the repository's development vendor key.

use serde_json::{Value, json};
use std::process::Command;
use ucdesk_license::Date;
use ucdesk_tests::{Profile, entry, sdk_bin};

const DEV_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../license/keys/dev-vendor.key");

fn profile() -> Profile {
    Profile::new().with_fixture("probe").with_fixture("sms_probe").with_fixture("fax_probe")
}

fn day(offset: i64) -> String {
    Date::from_days_since_epoch(Date::today().days_since_epoch() + offset).to_string()
}

/// Issues a license with `ucdesk-sdk license issue` and returns its path.
fn issue(profile: &Profile, key: &str, extra: &[&str]) -> std::path::PathBuf {
    let out =
        profile.home.path().join(format!("license-{}.json", extra.join("_").replace(['/', ' ', ','], "-")));
    let mut cmd = Command::new(sdk_bin());
    cmd.args(["license", "issue", "--key", key, "--licensee", "Example d.o.o."])
        .args(extra)
        .arg("--out")
        .arg(&out);
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    out
}

fn install(profile: &Profile, file: &std::path::Path) -> std::process::Output {
    profile.run(&["license", "install", file.to_str().unwrap()])
}

fn show(profile: &Profile) -> Value {
    serde_json::from_str(&profile.run_ok(&["license", "show", "--json"])).unwrap()
}

fn state<'a>(list: &'a [Value], id: &str) -> (&'a str, &'a str) {
    let p = entry(list, id);
    (p["state"].as_str().unwrap(), p["reason"].as_str().unwrap_or(""))
}

#[test]
fn without_a_license_licensed_modules_are_locked() {
    let profile = profile();
    let list = profile.plugins();
    assert_eq!(state(&list, "sms_probe"), ("locked", "no license installed (feature 'sms' needs one)"));
    assert_eq!(state(&list, "fax_probe").0, "locked");
    assert_eq!(state(&list, "probe").0, "installed", "plugins without a feature need no license");
    assert_eq!(show(&profile)["state"], "missing");
    // The test builds trust the repository's key, and say so.
    assert_eq!(show(&profile)["development_key"], true);
    let text = profile.run_ok(&["license", "show"]);
    assert!(text.contains("key:       development"), "{text}");
}

#[test]
fn a_license_unlocks_its_edition_and_add_ons() {
    let profile = profile();
    let exp = day(365);
    let file = issue(
        &profile,
        DEV_KEY,
        &[
            "--edition",
            "business",
            "--features",
            "sms",
            "--limit",
            "seats=25",
            "--limit",
            "meeting_package=pro",
            "--expires",
            &exp,
        ],
    );
    let out = install(&profile, &file);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = profile.plugins();
    assert_eq!(state(&list, "sms_probe").0, "installed");
    assert_eq!(state(&list, "fax_probe").0, "installed", "business includes fax");
    // Plugins read limits through the kernel's service.
    let daemon = profile.daemon();
    let license = daemon.call("probe.call", json!({"service": "kernel.license"})).unwrap();
    let license = &license["ok"];
    assert_eq!(license["state"], "valid");
    assert_eq!(license["edition"], "business");
    assert_eq!(license["limits"], json!({"meeting_package": "pro", "seats": 25}));
    assert!(license["features"].as_array().unwrap().contains(&json!("sms")));
    assert_eq!(license["expires"], exp);
}

#[test]
fn the_office_edition_lacks_what_it_lacks() {
    let profile = profile();
    let file = issue(&profile, DEV_KEY, &["--edition", "office", "--expires", &day(30)]);
    assert!(install(&profile, &file).status.success());
    let list = profile.plugins();
    assert_eq!(state(&list, "fax_probe"), ("locked", "license lacks feature 'fax'"));
    assert_eq!(state(&list, "sms_probe"), ("locked", "license lacks feature 'sms'"));
}

#[test]
fn an_expired_license_locks_and_says_so() {
    let profile = profile();
    let file = issue(
        &profile,
        DEV_KEY,
        &["--edition", "supervisor", "--features", "sms", "--issued", &day(-400), "--expires", &day(-1)],
    );
    let out = install(&profile, &file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("license expired on {}", day(-1))));
    // One installed earlier that has since expired.
    std::fs::create_dir_all(profile.home.path().join("config")).unwrap();
    std::fs::copy(&file, profile.home.path().join("config/license.json")).unwrap();
    let list = profile.plugins();
    let expected = format!("license expired on {} (feature 'sms' is locked)", day(-1));
    assert_eq!(state(&list, "sms_probe"), ("locked", expected.as_str()));
    let report = show(&profile);
    assert_eq!(report["state"], "expired");
    assert_eq!(report["edition"], "supervisor");
}

#[test]
fn refused_licenses_are_not_installed_and_keep_the_old_one() {
    let profile = profile();
    let good =
        issue(&profile, DEV_KEY, &["--edition", "business", "--features", "sms", "--expires", &day(90)]);
    assert!(install(&profile, &good).status.success());

    // Signed by a key this build does not trust.
    let keys = profile.home.path().join("keys");
    let out = Command::new(sdk_bin()).args(["keygen", "--out"]).arg(&keys).output().unwrap();
    assert!(out.status.success());
    let foreign = issue(
        &profile,
        keys.join("ucdesk-signing.key").to_str().unwrap(),
        &["--edition", "supervisor", "--expires", &day(90)],
    );
    let out = install(&profile, &foreign);
    assert!(String::from_utf8_lossy(&out.stderr).contains("signed by an unknown key"));

    // Edited after signing.
    let text = std::fs::read_to_string(&good).unwrap().replace("\"business\"", "\"supervisor\"");
    let tampered = profile.home.path().join("tampered.json");
    std::fs::write(&tampered, text).unwrap();
    let out = install(&profile, &tampered);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad signature"));

    // Not yet valid.
    let future =
        issue(&profile, DEV_KEY, &["--edition", "office", "--issued", &day(10), "--expires", &day(100)]);
    let out = install(&profile, &future);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("not valid before {}", day(10))));

    // Garbage with a place.
    let junk = profile.home.path().join("junk.json");
    std::fs::write(&junk, "{\n  \"format\": \"ucdesk-license/1\",\n  oops\n}").unwrap();
    let out = install(&profile, &junk);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("malformed license (line 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The good license is still the installed one.
    assert_eq!(show(&profile)["edition"], "business");
}

#[test]
fn expiry_is_announced_ahead() {
    let profile = profile();
    let file =
        issue(&profile, DEV_KEY, &["--edition", "business", "--features", "sms", "--expires", &day(5)]);
    let out = install(&profile, &file);
    assert!(String::from_utf8_lossy(&out.stdout).contains("in 5 days"));
    assert_eq!(show(&profile)["warning"], format!("license expires on {} (in 5 days)", day(5)));
    let daemon = profile.daemon();
    assert_eq!(daemon.state("sms_probe").0, "active");
    assert!(daemon.log().contains("in 5 days"));
}

#[test]
fn a_license_bound_to_a_server_only_works_with_it() {
    let profile = profile();
    let file = issue(
        &profile,
        DEV_KEY,
        &["--edition", "office", "--features", "sms", "--domain", "pbx.example.com", "--expires", &day(60)],
    );
    profile.set_policy("server_domain = \"other.example.com\"\n");
    let out = install(&profile, &file);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "bound to server domain \"pbx.example.com\", but this client uses \"other.example.com\""
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile.set_policy("server_domain = \"PBX.example.com\"\n");
    assert!(install(&profile, &file).status.success());
    assert_eq!(state(&profile.plugins(), "sms_probe").0, "installed");
    // The deployment moves to another server: the license no longer applies.
    profile.set_policy("server_domain = \"other.example.com\"\n");
    let list = profile.plugins();
    let (s, reason) = state(&list, "sms_probe");
    assert_eq!(s, "locked");
    assert!(reason.starts_with("license is bound to server domain"), "{reason}");
    assert_eq!(show(&profile)["state"], "wrong_binding");
}
