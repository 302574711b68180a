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
        (
            ["settings", "set", "probe.panic_in", "lunch"],
            "expects one of nothing, new, start, view, stop, drop",
        ),
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
    ucdesk_tests::remember_secret(value);
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

/// A private session bus with an unlocked GNOME Keyring, torn down on drop.
struct SessionKeyring {
    children: Vec<std::process::Child>,
    address: String,
    home: tempfile::TempDir,
}

/// A session bus without service activation: nothing but our keyring may own the
/// Secret Service name (activation would start a second, locked keyring).
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl SessionKeyring {
    fn start() -> SessionKeyring {
        use std::io::{BufRead, BufReader};
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let config = home.path().join("bus.conf");
        std::fs::write(&config, BUS_CONFIG.replace("DIR", runtime.to_str().unwrap())).unwrap();
        let mut bus = std::process::Command::new("dbus-daemon")
            .arg("--config-file")
            .arg(&config)
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is installed (tests/lab/debian-packages.sh test)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        // From here on, Drop cleans up whatever was started, even if start-up fails.
        let mut lab = SessionKeyring { children: vec![bus], address: address.trim().to_string(), home };
        let mut keyring = std::process::Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &lab.address)
            .env("HOME", lab.home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", lab.home.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon is installed");
        // The unlock password of the fresh login keyring, then EOF.
        keyring.stdin.take().unwrap().write_all(b"lab-keyring-password").unwrap();
        lab.children.push(keyring);
        // Ready once an item can be stored in the default collection.
        let ready = wait_for(Duration::from_secs(15), || {
            let mut probe = std::process::Command::new("secret-tool")
                .args(["store", "--label=readiness", "application", "ucdesk-lab"])
                .env("DBUS_SESSION_BUS_ADDRESS", &lab.address)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            probe.stdin.take()?.write_all(b"ready").ok()?;
            probe.wait().ok()?.success().then_some(())
        });
        assert!(ready.is_some(), "the keyring did not come up");
        lab
    }

    fn lookup(&self, profile: &std::path::Path, key: &str) -> Option<String> {
        let out = std::process::Command::new("secret-tool")
            .args(["lookup", "application", "ucdesk", "key", key, "profile"])
            .arg(profile)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for SessionKeyring {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn secrets_go_to_the_keyring_when_one_runs() {
    const SECRET: &str = "keyring-Correct-Horse";
    let keyring = SessionKeyring::start();
    let profile = Profile::new().with_fixture("probe");
    let with_keyring = |args: &[&str]| {
        let mut cmd = profile.command(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address).env("UCDESK_SECRET_STORE", "auto");
        cmd
    };
    // An older secret in the file is still found, and moves to the keyring when set.
    let out = set_secret(&profile, "probe.password", "old-file-secret");
    assert!(out.status.success());
    let mut child = with_keyring(&["secret", "set", "probe.password"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(SECRET.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("stored in the Secret Service keyring"), "{said}");
    // Another program reads it from the real keyring, under this profile's attributes.
    let config = profile.home.path().join("config");
    assert_eq!(keyring.lookup(&config, "probe.password").as_deref(), Some(SECRET));
    // ... and the plugin sees it through the kernel.
    let mut daemon = with_keyring(&["daemon"]);
    daemon.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = daemon.spawn().unwrap();
    let answer = wait_for(Duration::from_secs(30), || {
        let mut c = ucdesk_kernel::control::Client::connect(&profile.socket()).ok()?;
        c.request(&ucdesk_kernel::control::Request::Call {
            service: "probe.secret".into(),
            args: json!({"name": "password"}),
            timeout_ms: Some(10_000),
        })
        .ok()
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(answer, Some(json!({"set": true})));
    // The file no longer holds the old copy.
    let file = ucdesk_kernel::secrets::SecretStore::sealed_file(
        profile.home.path().join("data/secrets.sealed"),
        profile.home.path().join("config/secrets.key"),
    );
    assert_eq!(file.get("probe.password").unwrap(), None);
}

/// Admins and scripts discover settings: every key with its kind, default, effective
/// value and lock, offline and from the running instance; secrets by name only.
#[test]
fn settings_are_listed_with_kind_default_value_and_lock() {
    let profile = Profile::new().with_fixture("probe");
    profile.set_policy("[settings.locked]\n\"probe.level\" = 5\n");
    let keys = ucdesk_tests::entry(&profile.plugins(), "probe")["settings"].clone();
    assert_eq!(keys, json!(["probe.panic_in", "probe.password", "probe.account", "probe.level"]));
    let offline: serde_json::Value =
        serde_json::from_str(&profile.run_ok(&["settings", "list", "probe", "--json"])).unwrap();
    let daemon = profile.daemon();
    let online: serde_json::Value =
        serde_json::from_str(&profile.run_ok(&["settings", "list", "probe", "--json"])).unwrap();
    for list in [&offline, &online] {
        let row = |key: &str| list.as_array().unwrap().iter().find(|r| r["key"] == key).unwrap().clone();
        let level = row("probe.level");
        assert_eq!((level["kind"]["type"].as_str(), level["default"].as_i64()), (Some("number"), Some(1)));
        assert_eq!((level["value"].as_i64(), level["locked"].as_bool()), (Some(5), Some(true)));
        let password = row("probe.password");
        assert_eq!((password["value"].is_null(), password["locked"].as_bool()), (true, Some(false)));
    }
    let text = profile.run_ok(&["settings", "list"]);
    assert!(
        text.lines().any(|l| l.starts_with("probe.level  number  5  default 1  locked by policy")),
        "{text}"
    );
    assert!(text.contains("probe.password  secret  (secret)"), "{text}");
    drop(daemon);
}
