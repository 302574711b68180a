//! The Debian package, made by cargo-deb from this build (the test builds' profile: the
//! layout and the computed dependencies are the release's) and unpacked into a
//! throwaway root with dpkg-deb: the control file's Depends come from dpkg-shlibdeps
//! (the libraries the ELF files link) plus what the window opens with dlopen; every
//! file is where the desktop looks for it; the desktop entry validates; the installed
//! binary finds its bundled plugins in /usr/lib/ucdesk/plugins and says its key is a
//! development key.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use ucdesk_tests::{entry, target_dir};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_package_installs_into_a_root_and_its_binary_runs_with_its_plugins() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deb");
    // The test builds are the dev profile; cargo-deb packages them as they are (tests/run.sh
    // built them), fast compression.
    let target = target_dir().parent().unwrap().to_path_buf();
    run(Command::new("cargo")
        .args(["deb", "-p", "ucdesk", "--no-build", "--profile", "dev", "--fast", "-o"])
        .arg(format!("{}/", out.display()))
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root));
    let deb = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");

    let control = run(Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg("Depends"));
    for computed in ["libc6", "libgtk-4-1", "libwebkitgtk-6.0-4", "libasound2", "libdbus-1-3", "libsqlite3-0"]
    {
        assert!(control.contains(computed), "{computed} is not among the Depends: {control}");
    }
    for dlopened in ["libgl1", "libegl1", "libxkbcommon-x11-0", "xdg-utils"] {
        assert!(control.contains(dlopened), "{dlopened}: {control}");
    }

    let installed = dir.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&installed));
    for file in [
        "usr/bin/ucdesk",
        "usr/lib/ucdesk/ucdesk-webview",
        "usr/share/applications/ucdesk.desktop",
        "usr/share/icons/hicolor/scalable/apps/ucdesk.svg",
        "usr/share/icons/hicolor/48x48/apps/ucdesk.png",
        "usr/share/icons/hicolor/256x256/apps/ucdesk.png",
        "lib/udev/rules.d/70-ucdesk-headsets.rules",
        "usr/share/doc/ucdesk/examples/policy.toml",
        "usr/share/ucdesk/browser-extension/manifest.json",
    ] {
        assert!(installed.join(file).is_file(), "{file} is not in the package");
    }
    for id in ["softphone", "chat", "sms", "crm", "headsets", "contacts"] {
        let lib = installed.join(format!("usr/lib/ucdesk/plugins/libucdesk_plugin_{id}.so"));
        assert!(lib.is_file(), "{} is not in the package", lib.display());
    }
    assert!(
        !installed.join("usr/lib/ucdesk/plugins/libucdesk_plugin_hello.so").exists(),
        "the example is not bundled"
    );
    let desktop = installed.join("usr/share/applications/ucdesk.desktop");
    let said = run(Command::new("desktop-file-validate").arg(&desktop));
    assert!(said.trim().is_empty(), "{said}");
    let text = std::fs::read_to_string(&desktop).unwrap();
    assert!(
        text.contains("MimeType=x-scheme-handler/tel;x-scheme-handler/sip;x-scheme-handler/callto;"),
        "{text}"
    );
    let policy =
        std::fs::read_to_string(installed.join("usr/share/doc/ucdesk/examples/policy.toml")).unwrap();
    ucdesk_kernel::policy::Policy::parse(&policy).expect("the example policy parses");

    // The installed binary, with a profile of its own: it finds the plugins the package
    // put beside it (and no others), and says which key it trusts.
    let home = dir.path().join("home");
    let ucdesk = installed.join("usr/bin/ucdesk");
    let listed = run(Command::new(&ucdesk)
        .arg("--home")
        .arg(&home)
        .args(["plugins", "--json"])
        .env_remove("UCDESK_PLUGIN_PATH")
        .env_remove("UCDESK_BUNDLED_PLUGINS")
        .env("UCDESK_POLICY", dir.path().join("no-policy.toml")));
    let list: Vec<Value> = serde_json::from_str(&listed).unwrap();
    for id in ["softphone", "chat", "sms", "crm", "headsets", "contacts"] {
        let p = entry(&list, id);
        assert!(p["path"].as_str().unwrap_or_default().contains("/usr/lib/ucdesk/plugins/"), "{p}");
    }
    assert_eq!(list.len(), 6, "only the bundled plugins: {list:#?}");
    let license = run(Command::new(&ucdesk).arg("--home").arg(&home).args(["license", "show"]));
    assert!(license.contains("key:       development"), "{license}");
}
