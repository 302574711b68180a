//! `ucdesk-sdk new` makes a crate that builds on its own, passes its own TestHost test,
//! and loads into ucdesk as `active`.

use std::process::Command;
use ucdesk_tests::{Profile, entry, lib_name, sdk_bin, target_dir};

#[test]
fn scaffolded_plugin_builds_tests_and_loads() {
    let work = tempfile::tempdir().unwrap();
    let out =
        Command::new(sdk_bin()).args(["new", "scaffolded"]).arg("--dir").arg(work.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let krate = work.path().join("scaffolded");
    // Same dependency versions as the workspace, so the build reuses the cache.
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = target_dir().join("scaffold");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let test = Command::new(&cargo)
        .args(["test", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "cargo test of the scaffold failed:\n{}\n{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    let built = target.join("debug").join("deps").join(lib_name("ucdesk_plugin_scaffolded"));
    let profile = Profile::new().with_library(&built, "scaffolded");
    let daemon = profile.daemon();
    assert_eq!(daemon.state("scaffolded").0, "active");
    assert_eq!(
        daemon.call("scaffolded.ping", serde_json::json!({})).unwrap(),
        serde_json::json!({"pong": 1})
    );
    let list = daemon.plugins();
    assert_eq!(entry(&list, "scaffolded")["version"], "0.1.0");
}

#[test]
fn scaffold_refuses_bad_names_and_existing_directories() {
    let work = tempfile::tempdir().unwrap();
    let bad = Command::new(sdk_bin()).args(["new", "My-Plugin", "--dir"]).arg(work.path()).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid plugin id"));
    std::fs::create_dir(work.path().join("taken")).unwrap();
    let taken = Command::new(sdk_bin()).args(["new", "taken", "--dir"]).arg(work.path()).output().unwrap();
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
}
