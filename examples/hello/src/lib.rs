//! hello: the smallest complete ucdesk plugin, written the way a third party would.
//!
//! It contributes the panel `hello.main`, listens on the topic prefix `hello.` (and
//! counts what it hears), and answers the service `hello.greet`:
//! `{"name": "Ada"}` -> `{"greeting": "Hello, Ada!"}`. Each greeting is announced on
//! the topic `hello.greeted`. Setting `hello.salutation` (default "Hello") changes the
//! word.

use serde::{Deserialize, Serialize};
use ucdesk_sdk::prelude::*;

/// Request of `hello.greet`.
#[derive(Deserialize)]
struct Greet {
    name: String,
}

/// The panel's widgets, as typed ids (`Action::id`, `Action::parse`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Act {
    Name,
    Greet,
}

/// Answer of `hello.greet`, also published on `hello.greeted`.
#[derive(Serialize, Deserialize)]
struct Greeting {
    greeting: String,
}

struct Hello {
    ctx: Context,
    heard: u64,
    last_greeting: Option<String>,
    name_input: String,
}

impl Plugin for Hello {
    fn manifest() -> Manifest {
        Manifest::build("hello", env!("CARGO_PKG_VERSION"))
            .name("Hello")
            .description("Greets people; an example of the ucdesk SDK.")
            .panel("main", "Hello")
            .setting(
                "salutation",
                "Salutation",
                SettingKind::Text { max_len: Some(40) },
                Some(json!("Hello")),
            )
            .finish()
    }

    fn services() -> Services<Self> {
        Services::new()
            .service(
                "hello.greet",
                "{\"name\": S} -> {\"greeting\": \"Hello, S!\"}",
                |p: &mut Self, g: Greet| Ok::<_, Error>(p.greet(&g.name)),
            )
            .service("hello.stats", "How many hello.* events were heard", |p: &mut Self, ()| {
                Ok::<_, Error>(json!({ "heard": p.heard }))
            })
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        Ok(Hello { ctx, heard: 0, last_greeting: None, name_input: String::new() })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.ctx.subscribe("hello.");
        self.ctx.info("hello started");
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic.starts_with("hello.") {
            self.heard += 1;
            self.refresh();
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        match panel {
            "main" => Ok(self.main_view()),
            other => Err(Error::new(format!("hello has no panel {other}"))),
        }
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        match (Act::parse(&event.widget)?, event.action) {
            (Act::Name, UiAction::Changed { value }) => {
                self.name_input = value.as_str().unwrap_or_default().to_string();
            }
            (Act::Name, UiAction::Submitted { value }) => {
                self.name_input = value;
                self.greet(&self.name_input.clone());
            }
            (Act::Greet, UiAction::Clicked) => {
                self.greet(&self.name_input.clone());
            }
            _ => {}
        }
        self.refresh();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.ctx.info("hello stopped");
        Ok(())
    }
}

impl Hello {
    fn greet(&mut self, name: &str) -> Greeting {
        let salutation: String = self.ctx.setting("salutation").unwrap_or_else(|| "Hello".into());
        let greeting = Greeting { greeting: format!("{salutation}, {name}!") };
        self.ctx.publish_json("hello.greeted", &json!(greeting));
        self.last_greeting = Some(greeting.greeting.clone());
        greeting
    }

    fn main_view(&self) -> View {
        ui::view(ui::column([
            ui::heading("Hello"),
            ui::row([
                ui::input(Act::Name.id(), &self.name_input, "Your name"),
                ui::button(Act::Greet.id(), "Greet"),
            ]),
            ui::text(self.last_greeting.clone().unwrap_or_default()),
            ui::separator(),
            ui::weak(format!("hello.* events heard: {}", self.heard)),
        ]))
    }

    fn refresh(&self) {
        self.ctx.publish_view("main", &self.main_view());
    }
}

export_plugin!(Hello);
