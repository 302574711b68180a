//! Dependency resolution as a user sees it: each problem has its own reason, and
//! everything unaffected runs.

use ucdesk_tests::{Profile, entry};

#[test]
fn missing_conflicting_and_cyclic_dependencies_each_have_a_reason() {
    let profile = Profile::new()
        .with_fixture("probe")
        .with_fixture("needs_ghost")
        .with_fixture("greedy")
        .with_fixture("cycle_a")
        .with_fixture("cycle_b");
    let list = profile.plugins();
    let reason = |id: &str| {
        let p = entry(&list, id);
        assert_eq!(p["state"], "disabled", "{id}: {p}");
        p["reason"].as_str().unwrap().to_string()
    };
    assert_eq!(reason("needs_ghost"), "requires 'ghost' (^1), which is not installed");
    assert_eq!(reason("greedy"), "version conflict: requires 'probe' ^2, but 1.0.0 is installed");
    assert_eq!(reason("cycle_a"), "dependency cycle: cycle_a -> cycle_b -> cycle_a");
    assert_eq!(reason("cycle_b"), "dependency cycle: cycle_a -> cycle_b -> cycle_a");
    assert_eq!(entry(&list, "probe")["state"], "installed");
    assert_eq!(entry(&list, "greedy")["requires"][0]["id"], "probe");
}

#[test]
fn a_dependency_that_cannot_load_disables_its_dependents() {
    let profile = Profile::new().with_fixture("dependent");
    std::fs::write(profile.plugins.join(ucdesk_tests::lib_name("ucdesk_plugin_panicky")), b"junk").unwrap();
    let list = profile.plugins();
    assert_eq!(entry(&list, "panicky")["state"], "incompatible");
    let dep = entry(&list, "dependent");
    assert_eq!(dep["state"], "disabled");
    assert_eq!(dep["reason"], "requires 'panicky' (^1), which is incompatible");
}

#[test]
fn dependencies_start_first_and_stop_last() {
    let profile = Profile::new().with_fixture("panicky").with_fixture("dependent");
    let daemon = profile.daemon();
    let log = daemon.log();
    let started = |id: &str| log.find(&format!("started plugin=\"{id}\"")).unwrap_or_else(|| panic!("{log}"));
    assert!(started("panicky") < started("dependent"), "{log}");
    let (clean, log) = daemon.stop();
    assert!(clean);
    let stopped = |id: &str| log.find(&format!("{id} stopped")).unwrap_or_else(|| panic!("{log}"));
    assert!(stopped("dependent") < stopped("panicky"), "{log}");
}
