//! The shell driven like a user would, headless (egui_kittest), over real plugin
//! cdylibs: the `widgets` fixture (every widget kind of the view protocol, an account
//! for the login wizard) and the hello example. Run `cargo build --workspace` first so
//! the libraries exist (the README's test command does).

use egui_kittest::{
    Harness,
    kittest::{NodeT, Queryable},
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ucdesk_kernel::{Kernel, KernelConfig, policy::Policy};
use ucdesk_shell::Shell;

const WAIT: Duration = Duration::from_secs(15);

/// `target/debug`, where the workspace's cdylibs are.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn install(plugins: &Path, built: &str, id: &str) {
    let from = target_dir().join(format!("lib{built}.so"));
    assert!(from.exists(), "{} is missing: run `cargo build --workspace` first", from.display());
    std::fs::copy(&from, plugins.join(format!("libucdesk_plugin_{id}.so"))).unwrap();
}

/// A profile with the widgets fixture and hello, and a kernel over it (not activated).
struct Setup {
    home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        // Secrets go to the profile's sealed file, never to the tester's keyring.
        // SAFETY: set before any thread of this test reads the environment.
        unsafe { std::env::set_var("UCDESK_SECRET_STORE", "file") };
        let home = tempfile::tempdir().unwrap();
        let plugins = home.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        install(&plugins, "ucdesk_fixture_widgets", "widgets");
        install(&plugins, "ucdesk_plugin_hello", "hello");
        install(&plugins, "ucdesk_fixture_peer", "peer");
        Setup { home }
    }

    fn kernel(&self, policy: Option<&str>) -> Kernel {
        let home = ucdesk_kernel::Home::under(self.home.path());
        let policy = policy.map(|p| Policy::parse(p).unwrap());
        let config = KernelConfig::with_policy(home, vec![self.home.path().join("plugins")], policy);
        Kernel::new(config).unwrap()
    }

    /// A kernel whose account is already set up (as `ucdesk settings set` would), so
    /// the shell goes straight to the main window.
    fn logged_in(&self, policy: Option<&str>) -> Kernel {
        let k = self.kernel(policy);
        k.scan();
        k.set_setting("widgets.user", json!("ada")).unwrap();
        k
    }

    fn config(&self) -> PathBuf {
        self.home.path().join("config")
    }
}

fn harness(kernel: Kernel) -> Harness<'static, Shell> {
    Harness::builder()
        .with_size([1400.0, 2600.0])
        .build_ui_state(|ui, shell: &mut Shell| shell.ui(ui), Shell::new(kernel))
}

/// Steps the UI until `done` (plugins run on their own threads; the UI only sees
/// their views a frame later).
fn until(h: &mut Harness<'_, Shell>, what: &str, mut done: impl FnMut(&Harness<'_, Shell>) -> bool) {
    let start = Instant::now();
    loop {
        h.step();
        if done(h) {
            return;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shows(h: &Harness<'_, Shell>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn wait_for(h: &mut Harness<'_, Shell>, text: &str) {
    until(h, text, |h| shows(h, text));
}

/// Clicks the widget labelled `label` once it shows.
fn click(h: &mut Harness<'_, Shell>, label: &str) {
    until(h, label, |h| h.query_all_by_label(label).next().is_some());
    h.get_by_label(label).click();
    h.step();
}

/// Drags the widget labelled `from` onto the one labelled `to`, pointer step by step.
fn drag(h: &mut Harness<'_, Shell>, from: &str, to: &str) {
    let from = h.get_by_label(from).rect().center();
    let to = h.get_by_label(to).rect().center();
    h.hover_at(from);
    h.step();
    h.drag_at(from);
    h.step();
    for i in 1..=10 {
        h.hover_at(from + (to - from) * (i as f32 / 10.0));
        h.step();
    }
    h.drop_at(to);
}

fn events(h: &Harness<'_, Shell>) -> Vec<Value> {
    let answer = h.state().kernel().call("widgets.events", b"null".to_vec(), Duration::from_secs(5)).unwrap();
    serde_json::from_slice(&answer).unwrap()
}

fn running(kernel: Kernel) -> Harness<'static, Shell> {
    let mut h = harness(kernel);
    until(&mut h, "the plugins to start", |h| h.state().running());
    wait_for(&mut h, "Widgets OK");
    h
}

fn open_gallery(h: &mut Harness<'_, Shell>) {
    // The toolbar button (or, when the first module opened by itself, its tab).
    h.query_all_by_label_contains("Gallery").next().expect("a Gallery button").click();
    wait_for(h, "Widget gallery");
}

/// The harness fails on a glyph no bundled font has: every symbol and icon the shell
/// draws must render.
#[test]
fn every_shell_symbol_and_icon_has_a_glyph() {
    use ucdesk_shell::render::{ICONS, fonts, icon, symbol};
    let mut h = Harness::builder().build_ui(|ui| {
        ui.ctx().set_fonts(fonts());
        for s in symbol::ALL {
            ui.label(s);
        }
        for (_, symbol) in ICONS {
            ui.label(symbol);
        }
        ui.label(icon("a name the set does not have"));
        // What the bundled plugins draw: arrows, ticks, pins.
        ui.label("← → · – … ⏳ ✔ 👁 📌 📎 🔒 🔕");
    });
    h.run();
}

#[test]
fn toolbar_panel_button_event_and_a_new_view() {
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    // Every place of the main window got its plugin's panel.
    assert!(shows(&h, "Side row"), "quick list");
    assert!(shows(&h, "Card: available"), "user card");
    // Toolbar -> panel -> button -> the plugin hears it -> its new view is drawn.
    open_gallery(&mut h);
    assert!(shows(&h, "Clicks: 0"));
    h.get_by_label("Click me").click();
    wait_for(&mut h, "Clicks: 1");
    assert_eq!(events(&h)[0], json!({"widget": "click", "action": "clicked"}));
    // Typing reaches the plugin as changes; the layout was saved for next time.
    h.get_by_label("Name").focus();
    h.step();
    h.get_by_label("Name").type_text("Ada");
    until(&mut h, "the typed name", |h| {
        events(h).iter().any(|e| e["widget"] == "name" && e["value"] == "Ada")
    });
    assert!(Path::new(&s.config().join("layout.json")).exists());
}

#[test]
fn the_shell_reports_idle_time_to_the_presence_provider() {
    let s = Setup::new();
    let h = running(s.logged_in(None));
    let deadline = Instant::now() + WAIT;
    let reports = loop {
        let answer =
            h.state().kernel().call("widgets.activity", b"null".to_vec(), Duration::from_secs(5)).unwrap();
        let reports: Vec<u64> = serde_json::from_slice(&answer).unwrap();
        if !reports.is_empty() {
            break reports;
        }
        assert!(Instant::now() < deadline, "no presence.activity report");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(reports[0] < 60, "just started, so barely idle: {reports:?}");
}

#[test]
fn unknown_nodes_render_a_placeholder_and_every_kind_draws() {
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    open_gallery(&mut h);
    assert!(shows(&h, "cannot show a part of this panel"));
    for text in ["Right-click me", "Drag me", "Drop here", "First tab", "Uploading", "Col 0", "ada"] {
        assert!(shows(&h, text), "{text} is drawn");
    }
    // The keypad and the tabs talk back.
    h.get_by_label("5").click();
    h.get_by_label("Two").click();
    until(&mut h, "keypad and tab events", |h| {
        let e = events(h);
        e.iter().any(|e| e["action"] == "key_pressed" && e["key"] == "5")
            && e.iter().any(|e| e["widget"] == "tabs" && e["row"] == "two")
    });
    wait_for(&mut h, "Second tab");
}

#[test]
fn dialogs_open_and_closing_them_tells_the_plugin() {
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    open_gallery(&mut h);
    h.get_by_label("Open dialog").click();
    wait_for(&mut h, "Really?");
    h.key_press(eframe::egui::Key::Escape);
    until(&mut h, "the dialog to close", |h| !shows(h, "Really?"));
    assert!(events(&h).iter().any(|e| e["widget"] == "confirm" && e["action"] == "dialog_closed"));
}

#[test]
fn a_preferences_edit_is_persisted_and_locked_settings_are_not_editable() {
    let s = Setup::new();
    let policy = "[settings.locked]\n\"widgets.theme\" = \"dark\"\n";
    let mut h = running(s.logged_in(Some(policy)));
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    click(&mut h, "Preferences");
    wait_for(&mut h, "General");
    click(&mut h, "Widgets");
    wait_for(&mut h, "Greeting");
    let field = h.get_by_label("Greeting");
    field.focus();
    h.step();
    h.get_by_label("Greeting").type_text(" there");
    h.step();
    h.key_press(eframe::egui::Key::Tab);
    until(&mut h, "the setting to be stored", |h| {
        h.state().kernel().setting("widgets.greeting").unwrap() == Some(json!("hi there"))
    });
    let stored = std::fs::read_to_string(s.config().join("settings.json")).unwrap();
    assert!(stored.contains("hi there"), "{stored}");
    // The admin's lock: shown, not editable.
    let theme = h.get_by_label("Theme");
    let _ = theme;
    let combos: Vec<_> = h.get_all_by_value("dark").collect();
    assert!(!combos.is_empty(), "the locked value is shown");
    assert!(combos.iter().all(|c| c.accesskit_node().is_disabled()), "and cannot be changed");
    assert!(h.query_by_label("🔒").is_some());
    // A device setting offers what its plugin lists (asked off the UI thread).
    h.get_by_role_and_label(eframe::egui::accesskit::Role::ComboBox, "Microphone").click();
    h.step();
    click(&mut h, "USB Microphone");
    until(&mut h, "the device to be stored", |h| {
        h.state().kernel().setting("widgets.mic").unwrap() == Some(json!("usb-mic"))
    });
}

#[test]
fn the_wizard_creates_a_profile_that_logs_in_next_time() {
    let s = Setup::new();
    let mut h = harness(s.kernel(None));
    h.step();
    assert!(h.state().logging_in(), "no account yet: the login wizard shows");
    for (label, value) in [
        ("Server address", "pbx.example.com"),
        ("E-mail or extension", "ada@example.com"),
        ("Password or secret", "s3cret"),
    ] {
        h.get_by_label(label).focus();
        h.step();
        h.get_by_label(label).type_text(value);
        h.step();
    }
    h.get_by_label("Log in automatically next time").click();
    h.step();
    h.get_by_label("Log in").click();
    until(&mut h, "the plugins to start", |h| h.state().running());
    let k = h.state().kernel().clone();
    assert_eq!(k.setting("widgets.server").unwrap(), Some(json!("pbx.example.com")));
    assert_eq!(k.setting("widgets.user").unwrap(), Some(json!("ada")));
    assert_eq!(k.setting("widgets.address").unwrap(), Some(json!("ada@example.com")));
    let logins: Value =
        serde_json::from_slice(&std::fs::read(s.config().join("logins.json")).unwrap()).unwrap();
    assert_eq!(logins["profiles"][0]["name"], "Default");
    assert_eq!(logins["auto_login"], "Default");
    drop(h);
    k.shutdown();
    // Next start: logged in without asking, password from the secret store.
    let mut again = harness(s.kernel(None));
    again.step();
    assert!(!again.state().logging_in());
    until(&mut again, "the plugins to start", |h| h.state().running());
}

#[test]
fn notifications_become_toasts_that_open_their_panel_at_their_item() {
    use ucdesk_kernel::bus::BusEvent;
    use ucdesk_plugin_api::contract::Contract;
    use ucdesk_plugin_api::contract::notify::{Notification, Target, TargetKind};
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    let note = Notification {
        id: "call:1".into(),
        kind: ucdesk_plugin_api::contract::notify::NotifyKind::IncomingCall,
        title: "Incoming call".into(),
        body: "Bob (201)".into(),
        panel: Some("gallery".into()),
        target: Some(Target { kind: TargetKind::Call, id: "a:1@host".into() }),
        close: false,
    };
    h.state().kernel().bus().publish(BusEvent {
        topic: "notify".into(),
        source: "widgets".into(),
        schema: Notification::SCHEMA.into(),
        payload: note.to_bytes(),
    });
    wait_for(&mut h, "Bob (201)");
    // An area's first frame only measures it (placed off screen): click once it settled.
    h.step();
    h.step();
    h.get_by_label("Bob (201)").click();
    wait_for(&mut h, "Widget gallery");
    // The plugin is told which item alerted, to show exactly that one.
    let opened = serde_json::json!({"widget": "notification", "action": "opened",
        "target": {"kind": "call", "id": "a:1@host"}});
    assert!(events(&h).contains(&opened), "{:?}", events(&h));
    // A close for the same id takes an alert down.
    let mut again = note.clone();
    again.id = "call:2".into();
    again.body = "Carol (202)".into();
    for n in [again.clone(), Notification { close: true, ..again }] {
        h.state().kernel().bus().publish(BusEvent {
            topic: "notify".into(),
            source: "widgets".into(),
            schema: Notification::SCHEMA.into(),
            payload: n.to_bytes(),
        });
    }
    until(&mut h, "the closed alert to go", |h| !shows(h, "Carol (202)"));
}

#[test]
fn context_menus_drag_and_drop_and_shortcuts_reach_the_plugin() {
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    open_gallery(&mut h);
    // Right-click -> the plugin's menu -> its entry.
    h.get_by_label("Right-click me").click_secondary();
    click(&mut h, "Copy");
    // The entry's text goes to the clipboard (the shell copies; egui hands it to the
    // desktop through arboard).
    let copied = |h: &Harness<'_, Shell>, text: &str| {
        h.output()
            .platform_output
            .commands
            .iter()
            .any(|c| matches!(c, eframe::egui::OutputCommand::CopyText(t) if t == text))
    };
    assert!(copied(&h, "copied by the menu"), "{:?}", h.output().platform_output.commands);
    until(&mut h, "the context action", |h| {
        events(h)
            .iter()
            .any(|e| e["widget"] == "menu" && e["action"] == "context_action" && e["item"] == "copy")
    });
    // Text a click copies: the number goes to the clipboard, with a toast saying so.
    h.get_by_label("+15555550100").click();
    h.step();
    assert!(copied(&h, "+15555550100"), "{:?}", h.output().platform_output.commands);
    wait_for(&mut h, "Copied to the clipboard");
    // A row's own menu names the row.
    h.get_by_label("bob  —  desk").click_secondary();
    click(&mut h, "Remove");
    until(&mut h, "the row's context action", |h| {
        events(h).iter().any(|e| e["widget"] == "people" && e["item"] == "remove" && e["row"] == "bob")
    });
    drag(&mut h, "Drag me", "Drop here");
    until(&mut h, "the drop", |h| {
        events(h).iter().any(|e| e["widget"] == "drop" && e["action"] == "dropped" && e["source"] == "drag")
    });
    // A dragged row carries the contact its plugin gave it, typed: the target never
    // parses the row's id.
    drag(&mut h, "ada  —  desk", "Drop here");
    until(&mut h, "the row's drop with its contact", |h| {
        events(h).iter().any(|e| {
            e["widget"] == "drop"
                && e["source"] == "people"
                && e["contact"] == json!({"name": "ada", "number": "203"})
        })
    });
    // Ctrl+Shift+R is the plugin's `ready` shortcut.
    h.key_press_modifiers(
        eframe::egui::Modifiers::COMMAND | eframe::egui::Modifiers::SHIFT,
        eframe::egui::Key::R,
    );
    until(&mut h, "the shortcut", |h| {
        events(h).iter().any(|e| e["widget"] == "keys" && e["action"] == "key_pressed" && e["key"] == "ready")
    });
    // Another plugin's contributed contact action sits in the row's menu; picking it
    // reaches that plugin with the row's contact and opens its panel.
    h.get_by_label("ada  —  desk").click_secondary();
    click(&mut h, "Greet contact");
    until(&mut h, "the contributed action at its plugin", |h| {
        let got = h.state().kernel().call("peer.received", b"null".to_vec(), Duration::from_secs(5)).unwrap();
        let got: Value = serde_json::from_slice(&got).unwrap();
        got["events"].as_array().unwrap().iter().any(|e| {
            e[0] == "contact_action:greet"
                && serde_json::from_str::<Value>(e[1].as_str().unwrap()).unwrap()
                    == json!({"name": "ada", "number": "203"})
        })
    });
    wait_for(&mut h, "main: ");
}

#[test]
fn a_file_picker_hands_back_what_the_user_chose_and_preferences_draw_the_plugins_view() {
    // The dialog starts in a folder of the test's.
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("a.png"), b"not really a picture").unwrap();
    std::fs::write(files.path().join("notes.txt"), b"x").unwrap();
    ucdesk_shell::render::files::set_start_folder(files.path().to_path_buf());
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    open_gallery(&mut h);
    click(&mut h, "📎 Pick pictures");
    wait_for(&mut h, "🗋 a.png");
    assert!(!shows(&h, "notes.txt"), "only the extensions the plugin asked for are listed");
    click(&mut h, "🗋 a.png");
    click(&mut h, "Open");
    let picked = files.path().join("a.png").display().to_string();
    until(&mut h, "the picked file at the plugin", |h| {
        events(h)
            .iter()
            .any(|e| e["widget"] == "pick" && e["action"] == "files_picked" && e["paths"] == json!([picked]))
    });
    assert!(!shows(&h, "🗋 a.png"), "the dialog closed");
    // A folder picker starts where the last pick was and hands back the folder.
    click(&mut h, "🗀 Pick a folder");
    click(&mut h, "Open");
    let folder = files.path().display().to_string();
    until(&mut h, "the picked folder at the plugin", |h| {
        events(h).iter().any(|e| e["widget"] == "pick_folder" && e["paths"] == json!([folder]))
    });
    // The plugin's Preferences panel is drawn on its page, under its settings.
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    click(&mut h, "Preferences");
    click(&mut h, "Widgets");
    wait_for(&mut h, "Greeting");
    click(&mut h, "Reset the gallery");
    until(&mut h, "the preferences view's click at the plugin", |h| {
        events(h).iter().any(|e| e["widget"] == "prefs_action" && e["action"] == "clicked")
    });
}

#[test]
fn a_failed_plugin_shows_why_where_its_module_would_be_and_locked_ones_do_not_exist() {
    let s = Setup::new();
    let plugins = s.home.path().join("plugins");
    install(&plugins, "ucdesk_fixture_panicky", "panicky");
    // Needs the `sms` license feature; this profile has no license.
    install(&plugins, "ucdesk_fixture_sms_probe", "sms_probe");
    let k = s.logged_in(None);
    k.set_setting("panicky.panic_in", json!("start")).unwrap();
    let mut h = running(k);
    let failed: Vec<_> = h.query_all_by_label_contains("panicky").collect();
    assert!(!failed.is_empty(), "the failed module keeps its place");
    assert!(failed.iter().all(|n| n.accesskit_node().is_disabled()), "and cannot be opened");
    assert!(h.query_all_by_label_contains("sms_probe").next().is_none(), "a locked module is not shown");
    // The reason is on the button's hover.
    h.query_all_by_label_contains("panicky").next().unwrap().hover();
    wait_for(&mut h, "configured to panic in start");
}

/// The number the widgets fixture was asked to dial, in order.
fn dialed(h: &Harness<'_, Shell>) -> Vec<String> {
    let answer = h.state().kernel().call("widgets.dialed", b"null".to_vec(), Duration::from_secs(5)).unwrap();
    serde_json::from_slice(&answer).unwrap()
}

/// A second `ucdesk tel:...` as the CLI sends it: the handoff request on the socket.
fn hand_off(h: &Harness<'_, Shell>, uri: &str) -> Value {
    let socket = h.state().kernel().home().socket();
    let mut c = ucdesk_kernel::control::Client::connect(&socket).unwrap();
    c.request(&ucdesk_kernel::control::Request::Handoff { uri: Some(uri.into()) }).unwrap()
}

#[test]
fn a_link_from_another_app_shows_its_number_to_confirm_or_correct_unless_turned_off() {
    let s = Setup::new();
    let mut h = running(s.logged_in(None));
    until(&mut h, "the control socket", |h| h.state().kernel().home().socket().exists());
    let answer = hand_off(&h, "tel:+1-212-555-0100;ext=2");
    assert_eq!(answer, json!({"confirming": "+1-212-555-0100"}));
    wait_for(&mut h, "Call this number?");
    let field = h.get_by_label("Call this number?");
    assert_eq!(field.accesskit_node().value().as_deref(), Some("+1-212-555-0100"));
    // Corrected before calling: the last digits typed again.
    field.focus();
    h.step();
    for _ in 0..4 {
        h.key_press(eframe::egui::Key::Backspace);
    }
    h.get_by_label("Call this number?").type_text("0199");
    h.step();
    click(&mut h, "Call");
    until(&mut h, "the corrected number dialled", |h| dialed(h) == ["+1-212-555-0199"]);
    assert!(!h.state().confirming_call());
    // Esc cancels: nothing is dialled.
    hand_off(&h, "callto://+12125550111");
    until(&mut h, "the dialog", |h| h.state().confirming_call());
    h.key_press(eframe::egui::Key::Escape);
    until(&mut h, "the dialog to close", |h| !h.state().confirming_call());
    assert_eq!(dialed(&h).len(), 1);
    // Turned off in Preferences -> General: the link is dialled at once, and the second
    // launch hears the call's id.
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    click(&mut h, "Preferences");
    click(&mut h, "Confirm the number when calling from a web browser and other apps");
    let prefs: Value =
        serde_json::from_slice(&std::fs::read(s.config().join("shell.json")).unwrap()).unwrap();
    assert_eq!(prefs["confirm_external_calls"], false);
    assert_eq!(hand_off(&h, "sip:bob@example.com"), json!({"callid": "widgets-2"}));
    assert_eq!(dialed(&h)[1], "sip:bob@example.com");
    h.step();
    assert!(!h.state().confirming_call());
}

#[test]
fn the_general_page_sets_launch_at_startup_log_in_automatically_and_the_default_program() {
    let s = Setup::new();
    let xdg = tempfile::tempdir().unwrap();
    // SAFETY: set before the shell (or any thread of this test) reads the environment.
    unsafe {
        std::env::set_var("XDG_CONFIG_HOME", xdg.path().join("config"));
        std::env::set_var("XDG_DATA_HOME", xdg.path().join("data"));
        std::env::set_var("XDG_DATA_DIRS", xdg.path().join("system"));
    }
    let logins = json!({"profiles": [{"name": "Default", "server": "pbx.example.com", "user": "ada"}],
                        "last": "Default"});
    std::fs::create_dir_all(s.config()).unwrap();
    std::fs::write(s.config().join("logins.json"), logins.to_string()).unwrap();
    let mut h = running(s.logged_in(None));
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    click(&mut h, "Preferences");
    click(&mut h, "Log in automatically on startup");
    let logins: Value =
        serde_json::from_slice(&std::fs::read(s.config().join("logins.json")).unwrap()).unwrap();
    assert_eq!(logins["auto_login"], "Default");
    // Launch at startup: an XDG autostart entry that starts this profile, then none.
    let entry = xdg.path().join("config/autostart/ucdesk.desktop");
    click(&mut h, "Launch application at startup");
    let text = std::fs::read_to_string(&entry).expect("the autostart entry");
    let home = s.home.path().display().to_string();
    assert!(text.contains("Exec=") && text.contains(&format!("--home {home}")), "{text}");
    validate(&entry);
    click(&mut h, "Launch application at startup");
    assert!(!entry.exists(), "unchecked: the entry is removed");
    // Default programs: a user entry for the links (none is installed), made the
    // default for each scheme, and what changed is shown.
    click(&mut h, "Set default program associations");
    wait_for(&mut h, "tel: nothing -> ucdesk.desktop");
    assert!(shows(&h, "callto: nothing -> ucdesk.desktop"));
    let app = xdg.path().join("data/applications/ucdesk.desktop");
    assert!(std::fs::read_to_string(&app).unwrap().contains("x-scheme-handler/tel;"));
    validate(&app);
    let query =
        std::process::Command::new("xdg-mime").args(["query", "default", "x-scheme-handler/sip"]).output();
    assert_eq!(String::from_utf8_lossy(&query.unwrap().stdout).trim(), "ucdesk.desktop");
    click(&mut h, "Set default program associations");
    wait_for(&mut h, "tel: already ucdesk.desktop");
    // Diagnostic logs: the switch is kept; the viewer opens from the options menu.
    // (The page is taller than the window: scrolled to first.)
    h.get_by_label("Diagnostic logs").scroll_to_me();
    h.run();
    h.get_by_label("Diagnostic logs").click();
    h.run();
    let prefs: Value =
        serde_json::from_slice(&std::fs::read(s.config().join("shell.json")).unwrap()).unwrap();
    assert_eq!(prefs["diagnostic_logs"], true);
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    // The menu's entry (the checkbox of the same name is still on the page).
    until(&mut h, "the options menu", |h| h.query_all_by_label("Diagnostic logs").count() > 1);
    let entry = h
        .query_all_by_label("Diagnostic logs")
        .find(|n| n.accesskit_node().role() != eframe::egui::accesskit::Role::CheckBox);
    entry.expect("the menu entry").click();
    h.step();
    wait_for(&mut h, "Export…");
}

/// desktop-file-validate (desktop-file-utils) finds nothing wrong with `entry`.
fn validate(entry: &Path) {
    let out = std::process::Command::new("desktop-file-validate")
        .arg(entry)
        .output()
        .expect("desktop-file-validate");
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{}: {said}", entry.display());
}

#[test]
fn a_language_file_is_checked_added_and_used_after_a_restart() {
    let s = Setup::new();
    let files = tempfile::tempdir().unwrap();
    let broken = files.path().join("fr.ftl");
    std::fs::write(&broken, "preferences = Préférences\nquit = { oops\n").unwrap();
    let k = s.logged_in(None);
    let mut h = running(k.clone());
    click(&mut h, ucdesk_shell::render::symbol::MORE);
    click(&mut h, "Preferences");
    let add = |h: &mut Harness<'_, Shell>, path: &Path| {
        until(h, "the language field", |h| h.query_by_label("Path of a .ftl file").is_some());
        let field = h.get_by_label("Path of a .ftl file");
        field.focus();
        h.step();
        h.key_press_modifiers(eframe::egui::Modifiers::COMMAND, eframe::egui::Key::A);
        h.get_by_label("Path of a .ftl file").type_text(&path.display().to_string());
        h.step();
        click(h, "Add language file");
    };
    // A broken file is refused with its line, and nothing is added.
    add(&mut h, &broken);
    // The refusal is a label's text (its accessible value), naming the line.
    let names_the_line =
        |n: &egui_kittest::kittest::AccessKitNode<'_>| n.value().is_some_and(|v| v.contains("line 2:"));
    until(&mut h, "the refusal", |h| {
        h.query_all(egui_kittest::kittest::By::new().predicate(names_the_line)).next().is_some()
    });
    assert!(!s.config().join("languages/fr.ftl").exists());
    // A good one is kept and chosen.
    std::fs::write(&broken, "preferences = Préférences\nquit = Quitter\n").unwrap();
    add(&mut h, &broken);
    wait_for(&mut h, "Language fr added.");
    drop(h);
    k.shutdown();
    // After a restart the window speaks it (and English where the file says nothing).
    let mut again = running(s.logged_in(None));
    click(&mut again, ucdesk_shell::render::symbol::MORE);
    wait_for(&mut again, "Quitter");
    assert!(shows(&again, "Préférences"));
    assert!(shows(&again, "Plugins"), "keys the file lacks stay English");
}
