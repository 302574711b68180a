//! What the kernel refuses to load, and that refusing never takes the host down.

use serde_json::json;
use ucdesk_tests::{Profile, entry, fixture_lib, foreign_fixture, lib_name, plugin_lib};

#[test]
fn a_plugin_built_against_another_major_api_is_incompatible() {
    let profile = Profile::new().with_library(&foreign_fixture("api-major"), "future").with_hello();
    let list = profile.plugins();
    let future = entry(&list, "future");
    assert_eq!(future["state"], "incompatible");
    let reason = future["reason"].as_str().unwrap();
    assert!(reason.contains("plugin-api 2.0.0"), "{reason}");
    assert!(reason.contains(&format!("plugin-api {}", ucdesk_plugin_api::API_VERSION)), "{reason}");
    assert_eq!(entry(&list, "hello")["state"], "installed");
}

#[test]
fn a_plugin_with_a_changed_layout_is_refused_with_abi_stables_reason() {
    let profile = Profile::new().with_library(&foreign_fixture("api-skewed"), "skewed").with_hello();
    let daemon = profile.daemon();
    let (state, reason) = daemon.state("skewed");
    assert_eq!(state, "incompatible");
    let reason = reason.unwrap();
    assert!(reason.starts_with("incompatible ABI layout"), "{reason}");
    // abi_stable names the type whose layout differs.
    assert!(reason.contains("PluginMod"), "{reason}");
    // The host is still up and serving.
    assert_eq!(daemon.call("hello.greet", json!({"name": "X"})).unwrap()["greeting"], "Hello, X!");
}

#[test]
fn files_that_are_not_plugins_are_refused_or_ignored() {
    let profile = Profile::new().with_hello();
    std::fs::write(profile.plugins.join(lib_name("ucdesk_plugin_garbage")), b"\x7fELF but not really")
        .unwrap();
    std::fs::write(profile.plugins.join(lib_name("unrelated")), b"whatever").unwrap();
    std::fs::write(profile.plugins.join("README.txt"), b"not a library").unwrap();
    let list = profile.plugins();
    let garbage = entry(&list, "garbage");
    assert_eq!(garbage["state"], "incompatible");
    assert!(garbage["reason"].as_str().unwrap().starts_with("not a loadable ucdesk plugin"));
    assert_eq!(list.len(), 2, "stray files must be ignored: {list:#?}");
}

#[test]
fn a_library_named_for_another_id_is_refused_with_a_fix() {
    let profile = Profile::new().with_library(&fixture_lib("probe"), "misnamed");
    let list = profile.plugins();
    let p = entry(&list, "misnamed");
    assert_eq!(p["state"], "incompatible");
    let reason = p["reason"].as_str().unwrap();
    assert!(reason.contains("manifest says id 'probe'"), "{reason}");
    assert!(reason.contains(&lib_name("ucdesk_plugin_probe")), "{reason}");
}

#[test]
fn an_earlier_directory_shadows_a_later_one() {
    let profile = Profile::new().with_hello();
    let second = profile.home.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(plugin_lib("hello"), second.join(lib_name("ucdesk_plugin_hello"))).unwrap();
    let out =
        profile.command(&["--plugins", second.to_str().unwrap(), "plugins", "--json"]).output().unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let hellos: Vec<_> = list.iter().filter(|p| p["id"] == "hello").collect();
    assert_eq!(hellos.len(), 2);
    assert_eq!(hellos[0]["state"], "installed");
    assert!(hellos[0]["path"].as_str().unwrap().starts_with(profile.plugins.to_str().unwrap()));
    assert_eq!(hellos[1]["state"], "disabled");
    assert!(hellos[1]["reason"].as_str().unwrap().starts_with("shadowed by"));
}

#[test]
fn plugin_path_environment_and_user_directory_are_searched() {
    let profile = Profile::new();
    let env_dir = profile.home.path().join("env-plugins");
    std::fs::create_dir_all(&env_dir).unwrap();
    std::fs::copy(plugin_lib("hello"), env_dir.join(lib_name("ucdesk_plugin_hello"))).unwrap();
    let user_dir = profile.home.path().join("data").join("plugins");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::copy(fixture_lib("probe"), user_dir.join(lib_name("ucdesk_plugin_probe"))).unwrap();
    let out = profile.command(&["plugins", "--json"]).env("UCDESK_PLUGIN_PATH", &env_dir).output().unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry(&list, "hello")["state"], "installed");
    assert_eq!(entry(&list, "probe")["state"], "installed");
}
