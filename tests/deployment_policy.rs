//! The admin's deployment policy through the real binary: which plugins may load
//! (allow-list, versions, pinned hashes, signatures, deny-list), trusted keys, and
//! preset or locked settings.

use sha2::{Digest, Sha256};
use std::{path::Path, process::Command};
use ucdesk_tests::{Profile, entry, lib_name, sdk_bin};

fn state(list: &[serde_json::Value], id: &str) -> (String, String) {
    let p = entry(list, id);
    (p["state"].as_str().unwrap().to_string(), p["reason"].as_str().unwrap_or("").to_string())
}

fn installed(profile: &Profile, id: &str) -> std::path::PathBuf {
    profile.plugins.join(lib_name(&format!("ucdesk_plugin_{id}")))
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn keygen(dir: &Path) -> (String, String) {
    let out = Command::new(sdk_bin()).args(["keygen", "--out"]).arg(dir).output().unwrap();
    assert!(out.status.success());
    let key = dir.join("ucdesk-signing.key").to_string_lossy().into_owned();
    let public = std::fs::read_to_string(dir.join("ucdesk-signing.pub")).unwrap().trim().to_string();
    (key, public)
}

fn sign(key: &str, file: &Path) {
    let out = Command::new(sdk_bin()).args(["plugin", "sign", "--key", key]).arg(file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_allow_list_filters_by_id_and_version() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer").with_fixture("panicky");
    profile.set_policy("[[allow]]\nid = \"probe\"\n\n[[allow]]\nid = \"peer\"\nversion = \"^2\"\n");
    let list = profile.plugins();
    assert_eq!(state(&list, "probe").0, "installed");
    assert_eq!(
        state(&list, "peer"),
        ("refused".into(), "version 1.0.0 is not allowed by the deployment policy (^2)".into())
    );
    let panicky = entry(&list, "panicky");
    assert_eq!(panicky["state"], "refused");
    assert_eq!(panicky["reason"], "not in the deployment policy's allow-list");
    assert!(panicky["version"].is_null(), "refused before its library was loaded");
}

#[test]
fn denied_plugins_never_load() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer");
    profile.set_policy("deny = [\"peer\"]\n");
    let list = profile.plugins();
    assert_eq!(state(&list, "peer"), ("refused".into(), "denied by the deployment policy".into()));
    assert!(entry(&list, "peer")["version"].is_null());
    assert_eq!(state(&list, "probe").0, "installed");
}

#[test]
fn a_pinned_hash_refuses_a_modified_file() {
    let profile = Profile::new().with_fixture("probe");
    let file = installed(&profile, "probe");
    profile.set_policy(&format!("[[allow]]\nid = \"probe\"\nsha256 = \"{}\"\n", sha256(&file)));
    assert_eq!(state(&profile.plugins(), "probe").0, "installed");
    // What was loaded is a private copy of the checked bytes, which nobody else can
    // swap between the check and the load.
    let verified = profile.home.path().join("run/verified");
    let copy = std::fs::read_dir(&verified)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join(lib_name("ucdesk_plugin_probe"));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&file).unwrap());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&verified).unwrap().permissions().mode() & 0o777, 0o700);
    // One byte changed, near the end, where no loader would notice.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let list = profile.plugins();
    let (s, reason) = state(&list, "probe");
    assert_eq!(s, "refused");
    assert!(reason.starts_with("sha256 mismatch: the policy pins"), "{reason}");
    assert!(entry(&list, "probe")["version"].is_null());
}

#[test]
fn required_signatures_refuse_unsigned_and_foreign_plugins() {
    let profile = Profile::new().with_fixture("probe").with_fixture("peer").with_fixture("panicky");
    let (admin_key, admin_pub) = keygen(&profile.home.path().join("admin"));
    let (stranger_key, _) = keygen(&profile.home.path().join("stranger"));
    sign(&admin_key, &installed(&profile, "probe"));
    sign(&stranger_key, &installed(&profile, "panicky"));
    profile.set_policy(&format!("require_signed_plugins = true\ntrusted_plugin_keys = [\"{admin_pub}\"]\n"));
    let list = profile.plugins();
    assert_eq!(state(&list, "probe").0, "installed");
    let (s, reason) = state(&list, "peer");
    assert_eq!(s, "refused");
    assert!(reason.starts_with("unsigned: the deployment policy requires signed plugins"), "{reason}");
    let (s, reason) = state(&list, "panicky");
    assert_eq!(s, "refused");
    assert!(reason.starts_with("signature refused: signed by an untrusted key"), "{reason}");
    // Signed, then modified: the signature no longer matches.
    let file = installed(&profile, "probe");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 50;
    bytes[at] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let (s, reason) = state(&profile.plugins(), "probe");
    assert_eq!(s, "refused");
    assert!(reason.contains("does not match its signature"), "{reason}");
}

#[test]
fn locked_settings_cannot_be_changed_and_presets_can() {
    let profile = Profile::new().with_fixture("probe");
    profile.set_policy(
        "[settings.locked]\n\"probe.level\" = 5\n\n[settings.preset]\n\"probe.panic_in\" = \"nothing\"\n",
    );
    assert_eq!(profile.run_ok(&["settings", "get", "probe.level"]).trim(), "5");
    let out = profile.run(&["settings", "set", "probe.level", "3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("probe.level is locked by the administrator"));
    // Through a running instance as well.
    let daemon = profile.daemon();
    let out = profile.run(&["settings", "set", "probe.level", "3"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked by the administrator"));
    drop(daemon);
    assert_eq!(profile.run_ok(&["settings", "get", "probe.panic_in"]).trim(), "\"nothing\"");
    profile.run_ok(&["settings", "set", "probe.panic_in", "stop"]);
    assert_eq!(profile.run_ok(&["settings", "get", "probe.panic_in"]).trim(), "\"stop\"");
}

#[test]
fn a_broken_policy_stops_everything_with_its_reason() {
    let profile = Profile::new().with_fixture("probe");
    profile.set_policy("allow_everything = true\n");
    let out = profile.run(&["plugins"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deployment policy"), "{stderr}");
    assert!(stderr.contains("unknown field `allow_everything`"), "{stderr}");
}

#[test]
fn the_policy_can_trust_another_license_key() {
    let profile = Profile::new().with_fixture("sms_probe");
    let (key, public) = keygen(&profile.home.path().join("reseller"));
    let license = profile.home.path().join("reseller-license.json");
    let out = Command::new(sdk_bin())
        .args(["license", "issue", "--key", &key, "--licensee", "Reseller customer", "--edition", "office"])
        .args(["--features", "sms", "--expires", "2099-12-31", "--out"])
        .arg(&license)
        .output()
        .unwrap();
    assert!(out.status.success());
    let refused = profile.run(&["license", "install", license.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown key"));
    profile.set_policy(&format!("trusted_license_keys = [\"{public}\"]\n"));
    let out = profile.run(&["license", "install", license.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(state(&profile.plugins(), "sms_probe").0, "installed");
}

#[test]
fn shared_configuration_is_one_for_all_users_of_the_computer() {
    let machine = tempfile::tempdir().unwrap();
    let policy = format!("[shared_configuration]\nenabled = true\ndir = \"{}\"\n", machine.path().display());
    // Two users: two profiles, one machine policy.
    let alice = Profile::new().with_fixture("probe");
    let bob = Profile::new().with_fixture("probe");
    alice.set_policy(&policy);
    bob.set_policy(&policy);
    alice.run_ok(&["settings", "set", "probe.account", "reception@pbx.example.com"]);
    assert_eq!(bob.run_ok(&["settings", "get", "probe.account"]).trim(), "\"reception@pbx.example.com\"");
    // Settings not declared shared stay per user.
    alice.run_ok(&["settings", "set", "probe.level", "7"]);
    assert_eq!(bob.run_ok(&["settings", "get", "probe.level"]).trim(), "1");
    // A running instance sees another user's change.
    let daemon = bob.daemon();
    alice.run_ok(&["settings", "set", "probe.account", "front-desk@pbx.example.com"]);
    assert_eq!(bob.run_ok(&["settings", "get", "probe.account"]).trim(), "\"front-desk@pbx.example.com\"");
    drop(daemon);
    // Without the policy, nothing is shared.
    let carol = Profile::new().with_fixture("probe");
    assert_eq!(carol.run_ok(&["settings", "get", "probe.account"]).trim(), "null");
}
