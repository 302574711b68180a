//! The tray icon: a StatusNotifierItem (the freedesktop protocol KDE, XFCE, LXQt and
//! GNOME's AppIndicator extension host) with its menu over com.canonical.dbusmenu, on
//! the session bus through libdbus (the stack notifications and the keyring already
//! use), served by dbus-crossroads on a thread of its own so no frame waits on D-Bus.
//!
//! The shell hands it a [`TrayState`] each frame (sent on only when it changed): the
//! unread and missed counts for the tooltip and menu, the user's status for the menu's
//! radio items, and whether notifications are pending, which shows as the
//! `NeedsAttention` status (hosts blink or highlight it) for the time Preferences ->
//! General sets. Clicks come back as [`Command`]s the shell carries out. Without a
//! StatusNotifierWatcher on the bus (a desktop without a tray) there is no icon; the
//! window stays the way to reach ucdesk, and the log says so.

mod menu;

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::Connection;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::MatchRule;
use dbus_crossroads::{Context, Crossroads};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ucdesk_plugin_api::contract::presence::Status;

const ITEM_PATH: &str = "/StatusNotifierItem";
const MENU_PATH: &str = "/MenuBar";
const ITEM: &str = "org.kde.StatusNotifierItem";
const MENU: &str = "com.canonical.dbusmenu";
const WATCHER: &str = "org.kde.StatusNotifierWatcher";
/// The icon's name in the icon theme (host-ui/desktop/ installs it with the package).
const ICON: &str = "ucdesk";

/// What the icon shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayState {
    pub title: String,
    pub unread: u32,
    pub missed: u32,
    /// The user's status; None: no presence provider (no status items).
    pub presence: Option<Status>,
    /// Notifications are pending and the blink time has not run out.
    pub attention: bool,
    /// "Open ucdesk", in the user's language.
    pub open_label: String,
}

impl TrayState {
    /// "2 unread messages, 1 missed call".
    pub fn counts_text(&self) -> String {
        let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match (self.unread, self.missed) {
            (0, 0) => "No unread messages or missed calls".into(),
            (u, 0) => plural(u, "unread message", "unread messages"),
            (0, m) => plural(m, "missed call", "missed calls"),
            (u, m) => format!(
                "{}, {}",
                plural(u, "unread message", "unread messages"),
                plural(m, "missed call", "missed calls")
            ),
        }
    }
}

/// What a click in the tray asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Open,
    Quit,
    SetPresence(Status),
}

/// The running tray icon (its thread ends when this is dropped).
pub struct Tray {
    updates: mpsc::Sender<TrayState>,
    commands: mpsc::Receiver<Command>,
    last: Option<TrayState>,
}

/// What the D-Bus objects read; the thread writes it when the shell sends a change.
struct Shared {
    state: TrayState,
    revision: u32,
    commands: mpsc::Sender<Command>,
}

type Data = Arc<Mutex<Shared>>;
/// One dbusmenu event: item id, event ("clicked"), data, timestamp.
type MenuEvent = (i32, String, Variant<Box<dyn RefArg>>, u32);

impl Tray {
    /// Registers the icon on the session bus; None when there is no session bus or no
    /// tray on it (logged, and the window carries on without one).
    pub fn start(initial: TrayState) -> Option<Tray> {
        let (updates, from_shell) = mpsc::channel();
        let (to_shell, commands) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("shell-tray".into()).spawn(move || {
            let shared = Arc::new(Mutex::new(Shared { state: initial, revision: 1, commands: to_shell }));
            match serve(shared, from_shell, &ready_tx) {
                Ok(()) => {}
                Err(e) => {
                    tracing::info!("no tray icon: {e}");
                    let _ = ready_tx.send(false);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("no tray icon: {e}");
            return None;
        }
        match ready.recv_timeout(Duration::from_secs(5)) {
            Ok(true) => Some(Tray { updates, commands, last: None }),
            _ => None,
        }
    }

    /// Shows `state` (sent on only when it changed).
    pub fn update(&mut self, state: TrayState) {
        if self.last.as_ref() != Some(&state) {
            self.last = Some(state.clone());
            let _ = self.updates.send(state);
        }
    }

    /// What the user clicked since the last call.
    pub fn commands(&self) -> Vec<Command> {
        self.commands.try_iter().collect()
    }
}

/// The thread: name, objects, registration with the watcher, then serving until the
/// shell drops its [`Tray`].
fn serve(
    shared: Data,
    from_shell: mpsc::Receiver<TrayState>,
    ready: &mpsc::Sender<bool>,
) -> Result<(), dbus::Error> {
    let conn = Connection::new_session()?;
    let name = format!("org.kde.StatusNotifierItem-{}-{}", std::process::id(), next_instance());
    conn.request_name(name.as_str(), false, true, false)?;
    let mut cr = Crossroads::new();
    let item = register_item(&mut cr);
    let menu = register_menu(&mut cr);
    cr.insert(ITEM_PATH, &[item], shared.clone());
    cr.insert(MENU_PATH, &[menu], shared.clone());
    let watcher = conn.with_proxy(WATCHER, "/StatusNotifierWatcher", Duration::from_secs(3));
    watcher.method_call::<(), _, _, _>(WATCHER, "RegisterStatusNotifierItem", (name.as_str(),))?;
    let _ = ready.send(true);
    tracing::info!("tray icon registered as {name}");
    let mut cr = cr;
    conn.start_receive(
        MatchRule::new_method_call(),
        Box::new(move |msg, conn| {
            let _ = cr.handle_message(msg, conn);
            true
        }),
    );
    loop {
        conn.process(Duration::from_millis(200))?;
        let mut changed = None;
        loop {
            match from_shell.try_recv() {
                Ok(state) => changed = Some(state),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
            }
        }
        if let Some(state) = changed {
            let revision = {
                let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
                s.state = state.clone();
                s.revision += 1;
                s.revision
            };
            announce(&conn, &state, revision);
        }
    }
}

/// Tells hosts what changed: the item's signals, and the menu's new revision.
fn announce(conn: &Connection, state: &TrayState, revision: u32) {
    let signal = |iface: &str, path: &str, member: &str| {
        dbus::Message::new_signal(path, iface, member).expect("valid signal names")
    };
    let _ = conn.send(signal(ITEM, ITEM_PATH, "NewToolTip"));
    let _ = conn.send(signal(ITEM, ITEM_PATH, "NewTitle"));
    let _ = conn.send(signal(ITEM, ITEM_PATH, "NewStatus").append1(status(state)));
    let _ = conn.send(signal(MENU, MENU_PATH, "LayoutUpdated").append2(revision, 0i32));
}

fn status(state: &TrayState) -> &'static str {
    if state.attention { "NeedsAttention" } else { "Active" }
}

fn next_instance() -> u32 {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn read<T>(data: &Data, f: impl FnOnce(&Shared) -> T) -> T {
    f(&data.lock().unwrap_or_else(|p| p.into_inner()))
}

fn register_item(cr: &mut Crossroads) -> dbus_crossroads::IfaceToken<Data> {
    cr.register(ITEM, |b| {
        b.property("Category").get(|_, _: &mut Data| Ok("Communications".to_string()));
        b.property("Id").get(|_, _: &mut Data| Ok("ucdesk".to_string()));
        b.property("Title").get(|_, d: &mut Data| Ok(read(d, |s| s.state.title.clone())));
        b.property("Status").get(|_, d: &mut Data| Ok(read(d, |s| status(&s.state).to_string())));
        b.property("WindowId").get(|_, _: &mut Data| Ok(0i32));
        b.property("IconName").get(|_, _: &mut Data| Ok(ICON.to_string()));
        b.property("AttentionIconName").get(|_, _: &mut Data| Ok(ICON.to_string()));
        b.property("OverlayIconName").get(|_, _: &mut Data| Ok(String::new()));
        b.property("IconThemePath").get(|_, _: &mut Data| Ok(String::new()));
        b.property("ItemIsMenu").get(|_, _: &mut Data| Ok(false));
        b.property("Menu").get(|_, _: &mut Data| Ok(dbus::Path::from(MENU_PATH)));
        // (icon name, icon pixmaps, title, description)
        b.property("ToolTip").get(|_, d: &mut Data| {
            Ok(read(d, |s| {
                (
                    String::new(),
                    Vec::<(i32, i32, Vec<u8>)>::new(),
                    s.state.title.clone(),
                    s.state.counts_text(),
                )
            }))
        });
        b.signal::<(), _>("NewTitle", ());
        b.signal::<(), _>("NewIcon", ());
        b.signal::<(), _>("NewToolTip", ());
        b.signal::<(String,), _>("NewStatus", ("status",));
        let send = |d: &mut Data, c: Command| {
            let _ = read(d, |s| s.commands.send(c));
        };
        b.method("Activate", ("x", "y"), (), move |_: &mut Context, d: &mut Data, (_x, _y): (i32, i32)| {
            send(d, Command::Open);
            Ok(())
        });
        b.method(
            "SecondaryActivate",
            ("x", "y"),
            (),
            move |_: &mut Context, d: &mut Data, (_x, _y): (i32, i32)| {
                send(d, Command::Open);
                Ok(())
            },
        );
        b.method("ContextMenu", ("x", "y"), (), |_: &mut Context, _: &mut Data, (_x, _y): (i32, i32)| Ok(()));
        b.method(
            "Scroll",
            ("delta", "orientation"),
            (),
            |_: &mut Context, _: &mut Data, (_d, _o): (i32, String)| Ok(()),
        );
    })
}

fn register_menu(cr: &mut Crossroads) -> dbus_crossroads::IfaceToken<Data> {
    cr.register(MENU, |b| {
        b.property("Version").get(|_, _: &mut Data| Ok(3u32));
        b.property("TextDirection").get(|_, _: &mut Data| Ok("ltr".to_string()));
        b.property("Status").get(|_, _: &mut Data| Ok("normal".to_string()));
        b.property("IconThemePath").get(|_, _: &mut Data| Ok(Vec::<String>::new()));
        b.signal::<(u32, i32), _>("LayoutUpdated", ("revision", "parent"));
        b.method(
            "GetLayout",
            ("parentId", "recursionDepth", "propertyNames"),
            ("revision", "layout"),
            |_: &mut Context, d: &mut Data, (_parent, _depth, _names): (i32, i32, Vec<String>)| {
                Ok(read(d, |s| (s.revision, menu::layout(&s.state))))
            },
        );
        b.method(
            "GetGroupProperties",
            ("ids", "propertyNames"),
            ("properties",),
            |_: &mut Context, d: &mut Data, (ids, _names): (Vec<i32>, Vec<String>)| {
                let found: Vec<(i32, PropMap)> = read(d, |s| {
                    ids.iter().filter_map(|&id| menu::find(&s.state, id).map(|p| (id, p))).collect()
                });
                Ok((found,))
            },
        );
        b.method(
            "GetProperty",
            ("id", "name"),
            ("value",),
            |_: &mut Context, d: &mut Data, (id, name): (i32, String)| {
                let value = read(d, |s| menu::find(&s.state, id).and_then(|mut p| p.remove(&name)));
                value.map(|v| (v,)).ok_or_else(|| dbus::MethodErr::invalid_arg(&name))
            },
        );
        b.method(
            "Event",
            ("id", "eventId", "data", "timestamp"),
            (),
            |_: &mut Context, d: &mut Data, (id, event, _data, _ts): MenuEvent| {
                if event == "clicked"
                    && let Some(c) = menu::command(id)
                {
                    let _ = read(d, |s| s.commands.send(c));
                }
                Ok(())
            },
        );
        b.method(
            "EventGroup",
            ("events",),
            ("idErrors",),
            |_: &mut Context, d: &mut Data, (events,): (Vec<MenuEvent>,)| {
                for (id, event, ..) in events {
                    if event == "clicked"
                        && let Some(c) = menu::command(id)
                    {
                        let _ = read(d, |s| s.commands.send(c));
                    }
                }
                Ok((Vec::<i32>::new(),))
            },
        );
        b.method("AboutToShow", ("id",), ("needUpdate",), |_: &mut Context, _: &mut Data, (_id,): (i32,)| {
            Ok((false,))
        });
        b.method(
            "AboutToShowGroup",
            ("ids",),
            ("updatesNeeded", "idErrors"),
            |_: &mut Context, _: &mut Data, (_ids,): (Vec<i32>,)| Ok((Vec::<i32>::new(), Vec::<i32>::new())),
        );
    })
}
