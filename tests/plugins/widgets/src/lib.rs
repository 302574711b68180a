//! Fixture plugin `widgets`: a module panel with every widget kind of the view
//! protocol, plus one panel for each other place of the main window. It records every
//! UI event it receives (service `widgets.events`) and shows the last one, so a test
//! can click through the shell and see the plugin react. `widgets.table {rows, cols,
//! hz, table_only}` fills the table and republishes it `hz` times a second (the frame
//! benchmark). It stands in for a presence provider and a phone (`phone.dial` is
//! recorded, `widgets.dialed` lists it) so the shell's side of both can be tested.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;
use ucdesk_sdk::prelude::*;
use ucdesk_sdk::view::{ButtonRole, Level, ListRow, Node, TableColumn, TableRow};

#[derive(Default)]
struct State {
    events: Vec<UiEvent>,
    clicks: u32,
    rows: usize,
    cols: usize,
    tick: u64,
    dialog: bool,
    image: String,
    /// Only the table (the frame benchmark).
    table_only: bool,
    /// What the shell reported to `presence.activity`, in order.
    idle_reports: Vec<u64>,
    /// What the shell asked `phone.dial` to call, in order.
    dialed: Vec<String>,
}

pub struct Widgets {
    ctx: Context,
    state: Arc<Mutex<State>>,
    animating: Arc<AtomicBool>,
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A 16x16 PNG in two colours: something real to decode.
fn png() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(16, 16, |x, y| {
        if (x / 4 + y / 4) % 2 == 0 {
            image::Rgba([0x2e, 0x86, 0xde, 255])
        } else {
            image::Rgba([255, 255, 255, 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png encodes");
    out.into_inner()
}

fn gallery(s: &State) -> View {
    let last = s
        .events
        .last()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .unwrap_or_else(|| "none".into());
    let table = Node::Table {
        id: "table".into(),
        columns: (0..s.cols)
            .map(|c| TableColumn { title: format!("Col {c}"), width: None, sortable: true })
            .collect(),
        rows: (0..s.rows)
            .map(|r| TableRow {
                id: format!("r{r}"),
                cells: (0..s.cols)
                    .map(|c| format!("{}", (r as u64 * 31 + c as u64 * 7 + s.tick) % 1000))
                    .collect(),
            })
            .collect(),
        selected: None,
        actions: vec![ui::menu_item("call", "Call"), ui::menu_item("chat", "Chat")],
        height: (!s.table_only).then_some(200.0),
    };
    if s.table_only {
        return ui::view(ui::column([ui::heading("Widget gallery"), table]));
    }
    let mut list = ui::list_rows(
        "people",
        ["ada", "bob", "carol"].iter().map(|n| ListRow {
            id: n.to_string(),
            text: n.to_string(),
            detail: "desk".into(),
            badge: (*n == "bob").then(|| "2".to_string()),
            presence: Some(if *n == "ada" { "available" } else { "away" }.into()),
            contact: Some(ucdesk_sdk::contract::contact::ContactAddress {
                name: n.to_string(),
                number: Some(format!("20{}", n.len())),
                ..Default::default()
            }),
            tooltip: None,
        }),
    );
    if let Node::List { actions, drag, drop, .. } = &mut list {
        *actions = vec![ui::menu_item("call", "Call"), ui::menu_item("remove", "Remove")];
        *drag = true;
        *drop = true;
    }
    let mut children = vec![
        ui::heading("Widget gallery"),
        ui::text(format!("Last event: {last}")),
        ui::text(format!("Clicks: {}", s.clicks)),
        ui::row([
            ui::button("click", "Click me"),
            ui::primary("primary", "Primary"),
            ui::danger("danger", "Danger"),
            Node::Button {
                id: "icon".into(),
                label: "Call".into(),
                icon: Some("call".into()),
                enabled: false,
                role: ButtonRole::Normal,
            },
        ]),
        ui::colored("Coloured", "#e67e22"),
        ui::selectable("Selectable text"),
        ui::badge("7"),
        ui::separator(),
        Node::TextInput {
            id: "name".into(),
            label: "Name".into(),
            value: String::new(),
            hint: "Your name".into(),
            multiline: false,
            password: false,
            max_len: Some(40),
        },
        ui::toggle("flag", "A flag", false),
        ui::radio("size", "Size", [("s", "Small"), ("l", "Large")], "s"),
        ui::combo("colour", "Colour", [("red", "Red"), ("blue", "Blue")], "red"),
        ui::slider("volume", "Volume", 40.0, 0.0, 100.0),
        ui::progress(0.3, Some("Uploading".into())),
        ui::image(s.image.clone(), 32.0, 32.0, "checkers"),
        ui::avatar("Ada Lovelace", None, Some("available".into())),
        list,
        table,
        ui::tabs(
            "tabs",
            [
                ("one".to_string(), "One".to_string(), vec![ui::text("First tab")]),
                ("two".to_string(), "Two".to_string(), vec![ui::text("Second tab")]),
            ],
            "one",
        ),
        ui::collapsing("more", "More", false, [ui::text("Hidden until opened")]),
        ui::plot(
            "plot",
            [
                ui::line("jitter", vec![[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]]),
                ui::bars("loss", vec![[0.0, 0.5], [1.0, 0.2]]),
            ],
        ),
        ui::keypad("keypad"),
        ui::context_menu(
            "menu",
            ui::text("Right-click me"),
            [ui::copy_item("copy", "Copy", "copied by the menu")],
        ),
        ui::copyable("+15555550100"),
        ui::drag_source("drag", ui::text("Drag me")),
        ui::drop_target("drop", ui::text("Drop here")),
        ui::file_picker("pick", "Pick pictures", true, ["png"]),
        ui::folder_picker("pick_folder", "Pick a folder"),
        ui::shortcuts("keys", [("ready", "Ctrl+Shift+R")]),
        ui::surface("video", 64.0, 48.0),
        ui::grid("grid", 2, [ui::text("a"), ui::text("b"), ui::text("c"), ui::text("d")]),
        ui::scroll("scroll", false, [ui::text("scrolled")]),
        ui::toast("hello", "Gallery ready", Level::Success),
        ui::button("open_dialog", "Open dialog"),
        // A kind from a newer plugin-api: the shell must show a placeholder.
        Node::Unknown,
    ];
    if s.dialog {
        children.push(ui::dialog("confirm", "Confirm", [ui::text("Really?"), ui::button("yes", "Yes")]));
    }
    ui::view(ui::scroll("page", false, children)).with_badge(s.clicks)
}

impl Widgets {
    /// One handler for the fixture's services (they share its state).
    fn handle(&mut self, call: Call<'_>) -> Result<Value, Error> {
        match call.service() {
            "widgets.events" => Ok(serde_json::to_value(&lock(&self.state).events).unwrap_or_default()),
            "presence.activity" => {
                let idle: u64 = call.arg("idle_seconds")?;
                lock(&self.state).idle_reports.push(idle);
                Ok(json!({}))
            }
            "widgets.activity" => Ok(json!(lock(&self.state).idle_reports)),
            "phone.dial" => {
                let number: String = call.arg("number")?;
                let mut s = lock(&self.state);
                s.dialed.push(number);
                Ok(json!({"callid": format!("widgets-{}", s.dialed.len())}))
            }
            "widgets.dialed" => Ok(json!(lock(&self.state).dialed)),
            "widgets.devices" => {
                Ok(json!([{"id": "usb-mic", "name": "USB Microphone"}, {"id": "hdmi", "name": "HDMI"}]))
            }
            "widgets.table" => {
                let rows: usize = call.arg("rows")?;
                let cols: usize = call.arg("cols")?;
                let hz: f64 = call.arg::<Option<f64>>("hz")?.unwrap_or(0.0);
                {
                    let mut s = lock(&self.state);
                    s.rows = rows;
                    s.cols = cols;
                    s.table_only = call.arg::<Option<bool>>("table_only")?.unwrap_or(false);
                }
                self.publish();
                if hz > 0.0 && !self.animating.swap(true, Ordering::SeqCst) {
                    let (ctx, state, on) = (self.ctx.clone(), self.state.clone(), self.animating.clone());
                    std::thread::spawn(move || {
                        while on.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_secs_f64(1.0 / hz));
                            let view = {
                                let mut s = lock(&state);
                                s.tick += 1;
                                gallery(&s)
                            };
                            ctx.publish_view("gallery", &view);
                        }
                    });
                }
                Ok(json!({}))
            }
            other => Err(Error::new(format!("no service {other}"))),
        }
    }

    fn publish(&self) {
        let view = gallery(&lock(&self.state));
        self.ctx.publish_view("gallery", &view);
    }
}

impl Plugin for Widgets {
    fn manifest() -> Manifest {
        Manifest::build("widgets", env!("CARGO_PKG_VERSION"))
            .name("Widgets")
            .panel("gallery", "Gallery")
            .icon("gallery", "settings")
            .panel_in("side", "Widget list", PanelSlot::QuickList)
            .panel_in("card", "Widget card", PanelSlot::UserCard)
            .panel_in("status", "Widget status", PanelSlot::Status)
            // What is not a setting, on the plugin's own Preferences page (its name).
            .panel_in("prefs", "Widgets", PanelSlot::Preferences)
            // Stands in for a presence provider: records the shell's idle reports.
            .provides("presence")
            // Stands in for a phone: records what the shell dials (links from other apps).
            .provides("phone")
            .setting("compact", "Compact rows", SettingKind::Bool, Some(json!(false)))
            .setting(
                "rows",
                "Rows",
                SettingKind::Number { min: Some(0.0), max: Some(1000.0), integer: true },
                Some(json!(5)),
            )
            .setting("greeting", "Greeting", SettingKind::Text { max_len: Some(40) }, Some(json!("hi")))
            .setting(
                "theme",
                "Theme",
                SettingKind::Enum { options: vec!["light".into(), "dark".into()] },
                Some(json!("light")),
            )
            .setting("tags", "Tags", SettingKind::List, Some(json!([])))
            .setting("token", "Token", SettingKind::Secret, None)
            .setting(
                "mic",
                "Microphone",
                SettingKind::Device { class: "audio_input".into(), list: Some("widgets.devices".into()) },
                Some(json!("default")),
            )
            // An account, so the login wizard has something to fill.
            .setting("server", "Server", SettingKind::Text { max_len: None }, Some(json!("")))
            .setting("user", "User", SettingKind::Text { max_len: None }, Some(json!("")))
            .setting("address", "Address", SettingKind::Text { max_len: None }, Some(json!("")))
            .setting("password", "Password", SettingKind::Secret, None)
            .login("server", LoginField::Server)
            .login("user", LoginField::User)
            .login("address", LoginField::Address)
            .login("password", LoginField::Password)
            .finish()
    }

    fn services() -> Services<Self> {
        let handle = |p: &mut Self, call: Call<'_>| p.handle(call);
        Services::new()
            .raw("widgets.events", "The UI events received so far", handle)
            .raw("widgets.table", "{rows, cols, hz}: the table's size and refresh rate", handle)
            .raw("widgets.devices", "{class} -> [{id, name}]: two pretend microphones", handle)
            // Stands in for a presence provider: records the shell's idle reports.
            .raw("presence.activity", "{idle_seconds}: recorded", handle)
            .raw("widgets.activity", "The idle reports received so far", handle)
            .raw("phone.dial", "{number}: recorded", handle)
            .raw("widgets.dialed", "The numbers dialled so far", handle)
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let state = State { rows: 20, cols: 4, image: ctx.publish_image(&png()), ..State::default() };
        // A 4x4 "video" frame, so the surface has something to show.
        ctx.publish_frame("video", 4, 4, [200u8, 40, 40, 255].repeat(16));
        Ok(Widgets { ctx, state: Arc::new(Mutex::new(state)), animating: Arc::new(AtomicBool::new(false)) })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.publish();
        self.ctx.publish_view("side", &ui::view(ui::list("side_list", [("x", "Side row", "")])));
        self.ctx.publish_view("card", &ui::view(ui::text("Card: available")));
        self.ctx.publish_view("status", &ui::view(ui::text("Widgets OK")));
        self.ctx.publish_view("prefs", &prefs_view());
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        Ok(match panel {
            "gallery" => gallery(&lock(&self.state)),
            "side" => ui::view(ui::list("side_list", [("x", "Side row", "")])),
            "card" => ui::view(ui::text("Card: available")),
            "prefs" => prefs_view(),
            _ => ui::view(ui::text("Widgets OK")),
        })
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        {
            let mut s = lock(&self.state);
            match (event.widget.as_str(), &event.action) {
                ("click", UiAction::Clicked) => s.clicks += 1,
                ("open_dialog", UiAction::Clicked) => s.dialog = true,
                ("confirm", UiAction::DialogClosed) | ("yes", UiAction::Clicked) => s.dialog = false,
                _ => {}
            }
            s.events.push(event);
        }
        self.publish();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.animating.store(false, Ordering::SeqCst);
        Ok(())
    }
}

/// The part of its Preferences page that is not a setting.
fn prefs_view() -> View {
    ui::view(ui::button("prefs_action", "Reset the gallery"))
}

export_plugin!(Widgets);
