//! The tray icon on a private session bus (dbus-daemon, started here), with this test
//! as the StatusNotifierWatcher a desktop's panel would run: the icon registers, its
//! tooltip and status follow the unread and missed counts, its menu lists the statuses
//! with the current one checked, and clicks in the menu come back to the shell.

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::Connection;
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::channel::MatchingReceiver;
use dbus::message::MatchRule;
use dbus_crossroads::{Context, Crossroads};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ucdesk_plugin_api::contract::presence::Status;
use ucdesk_shell::tray::{Command as TrayCommand, Tray, TrayState};

const T: Duration = Duration::from_secs(10);

struct Bus(Child);

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A session bus of our own; its address is this process's session bus from now on.
fn private_bus() -> Bus {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon runs (tests/lab/debian-packages.sh test)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // SAFETY: set before this test starts any thread.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", line.trim()) };
    Bus(child)
}

/// The watcher a panel runs: it records who registers.
fn watcher() -> (Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let registered = Arc::new(Mutex::new(Vec::new()));
    let seen = registered.clone();
    let conn = Connection::new_session().unwrap();
    conn.request_name("org.kde.StatusNotifierWatcher", false, true, false).unwrap();
    let handle = std::thread::spawn(move || {
        let mut cr = Crossroads::new();
        let iface = cr.register("org.kde.StatusNotifierWatcher", |b| {
            b.method(
                "RegisterStatusNotifierItem",
                ("service",),
                (),
                |ctx: &mut Context, seen: &mut Arc<Mutex<Vec<String>>>, (service,): (String,)| {
                    let sender = ctx.message().sender().map(|s| s.to_string()).unwrap_or_default();
                    seen.lock().unwrap().push(format!("{service} {sender}"));
                    Ok(())
                },
            );
            b.property("IsStatusNotifierHostRegistered").get(|_, _| Ok(true));
        });
        cr.insert("/StatusNotifierWatcher", &[iface], seen);
        conn.start_receive(
            MatchRule::new_method_call(),
            Box::new(move |msg, conn| {
                let _ = cr.handle_message(msg, conn);
                true
            }),
        );
        loop {
            if conn.process(Duration::from_millis(100)).is_err() {
                return;
            }
        }
    });
    (registered, handle)
}

fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + T;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(unread: u32, missed: u32, presence: Option<Status>, attention: bool) -> TrayState {
    TrayState {
        title: "ucdesk".into(),
        unread,
        missed,
        presence,
        attention,
        open_label: "Open ucdesk".into(),
    }
}

type Layout = (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>);
/// StatusNotifierItem's ToolTip: icon name, pixmaps, title, text.
type ToolTip = (String, Vec<(i32, i32, Vec<u8>)>, String, String);

/// The menu's items as (id, label, toggle-state), read the way a panel reads them.
fn menu(conn: &Connection, service: &str) -> Vec<(i32, String, Option<i64>)> {
    let proxy = conn.with_proxy(service, "/MenuBar", T);
    let (_rev, (_root, _props, children)): (u32, Layout) = proxy
        .method_call("com.canonical.dbusmenu", "GetLayout", (0i32, -1i32, Vec::<String>::new()))
        .unwrap();
    children
        .iter()
        .filter_map(|v| {
            let mut it = v.0.as_iter()?;
            let id = it.next()?.as_i64()? as i32;
            let map = it.next()?;
            let mut kv = map.as_iter()?;
            let (mut label, mut toggle) = (String::new(), None);
            while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                match k.as_str()? {
                    "label" => label = v.as_str().unwrap_or_default().to_string(),
                    "toggle-state" => toggle = v.as_i64(),
                    _ => {}
                }
            }
            Some((id, label, toggle))
        })
        .collect()
}

/// One test in this file: the session bus is this process's environment.
#[test]
fn a_watcher_on_the_session_bus_sees_the_icon_its_counts_and_its_menu() {
    let _bus = private_bus();
    // A desktop without a tray: no icon, and nothing fails.
    assert!(Tray::start(state(0, 0, None, false)).is_none());
    let (registered, _watcher) = watcher();
    let mut tray = Tray::start(state(0, 0, Some(Status::Available), false)).expect("the tray registers");
    let service = until("the registration", || registered.lock().unwrap().first().cloned());
    let service = service.split(' ').next().unwrap().to_string();
    assert!(service.starts_with("org.kde.StatusNotifierItem-"), "{service}");

    let conn = Connection::new_session().unwrap();
    let item = conn.with_proxy(service.as_str(), "/StatusNotifierItem", T);
    let sni = "org.kde.StatusNotifierItem";
    assert_eq!(item.get::<String>(sni, "IconName").unwrap(), "ucdesk");
    assert_eq!(item.get::<String>(sni, "Status").unwrap(), "Active");
    assert_eq!(item.get::<String>(sni, "Category").unwrap(), "Communications");
    let menu_path: dbus::Path = item.get(sni, "Menu").unwrap();
    assert_eq!(&*menu_path, "/MenuBar");

    let items = menu(&conn, &service);
    let labels: Vec<&str> = items.iter().map(|(_, l, _)| l.as_str()).filter(|l| !l.is_empty()).collect();
    assert_eq!(
        labels,
        [
            "Open ucdesk",
            "Available",
            "Away",
            "Busy",
            "Do not disturb",
            "No unread messages or missed calls",
            "Quit"
        ]
    );
    let checked: Vec<&str> =
        items.iter().filter(|(_, _, t)| *t == Some(1)).map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(checked, ["Available"]);

    // Two messages and a missed call arrive: the tooltip counts them, the icon asks for
    // attention, the menu says it and the status follows a change.
    tray.update(state(2, 1, Some(Status::Dnd), true));
    until("the new status", || (item.get::<String>(sni, "Status").ok()? == "NeedsAttention").then_some(()));
    let (_icon, _pixmaps, title, text): ToolTip = item.get(sni, "ToolTip").unwrap();
    assert_eq!((title.as_str(), text.as_str()), ("ucdesk", "2 unread messages, 1 missed call"));
    let items = menu(&conn, &service);
    assert!(items.iter().any(|(_, l, _)| l == "2 unread messages, 1 missed call"));
    let checked: Vec<&str> =
        items.iter().filter(|(_, _, t)| *t == Some(1)).map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(checked, ["Do not disturb"]);

    // Clicks in the menu and on the icon come back to the shell.
    let id = |label: &str| items.iter().find(|(_, l, _)| l == label).unwrap().0;
    let menu_proxy = conn.with_proxy(service.as_str(), "/MenuBar", T);
    let click = |id: i32| {
        let data = Variant(Box::new(0i32) as Box<dyn RefArg>);
        let _: () =
            menu_proxy.method_call("com.canonical.dbusmenu", "Event", (id, "clicked", data, 0u32)).unwrap();
    };
    click(id("Away"));
    click(id("Quit"));
    let _: () = item.method_call(sni, "Activate", (0i32, 0i32)).unwrap();
    let mut got = Vec::new();
    until("the clicks", || {
        got.extend(tray.commands());
        (got.len() >= 3).then_some(())
    });
    assert_eq!(got, [TrayCommand::SetPresence(Status::Away), TrayCommand::Quit, TrayCommand::Open]);
}
