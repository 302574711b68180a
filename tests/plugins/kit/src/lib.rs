//! The probe: an instrument plugin for ucdesk's cross-crate tests and benchmarks.
//!
//! Each fixture crate under `tests/plugins/` is a few lines that pick an id, a version
//! and dependencies ([`Spec`]) and export `Probe<ThatSpec>`. Fixture libraries are named
//! `ucdesk_fixture_<id>` so that the kernel never discovers them by accident; tests copy
//! them into a plugin directory under the conventional name.
//!
//! Services (all under `<id>.`): `flood {topic, count}` publishes `{seq}` events,
//! `received` lists what arrived, `reset`, `sleep {ms}`, `call {service, args,
//! timeout_ms}` calls another plugin, `panic`, `echo`, `subscribe {prefix}`,
//! `publish {topic, payload}`, `data_dir`, `secret {name}` (says only whether it is
//! set), `expect {topic, count}` (publishes `<id>.got` once that many arrived).
//! `panic_in = drop` makes its destructor panic. Setting `panic_in` (`nothing`, `new`, `start`, `view`, `stop`, `drop`) makes it
//! panic there; an event on `<id>.boom` makes it panic in the event handler.

use std::time::{Duration, Instant};
use ucdesk_sdk::prelude::*;

/// Identity of one fixture.
pub trait Spec: Send + Sized + 'static {
    const ID: &'static str;
    const VERSION: &'static str = "1.0.0";
    const REQUIRES: &'static [(&'static str, &'static str)] = &[];
    /// Whether it contributes the panel `main`.
    const PANEL: bool = true;
    /// The license feature it needs, if any.
    const FEATURE: Option<&'static str> = None;
    /// A contact action it offers on every contact row (id, label), handled at `main`;
    /// a pick is recorded like an event: `(contact_action:<id>, the contact as JSON, 0)`.
    const CONTACT_ACTION: Option<(&'static str, &'static str)> = None;
}

pub struct Probe<S: Spec> {
    ctx: Context,
    /// `(topic, source, seq)` of every event, in arrival order.
    events: Vec<(String, String, i64)>,
    dropped: u64,
    /// `expect`: when this many events on the topic have arrived, publish `<id>.got`.
    expecting: Option<(String, u64, u64)>,
    _spec: std::marker::PhantomData<S>,
}

impl<S: Spec> Probe<S> {
    fn panic_in(&self, place: &str) -> bool {
        self.ctx.setting::<String>("panic_in").as_deref() == Some(place)
    }

    fn service(name: &str) -> String {
        format!("{}.{name}", S::ID)
    }

    /// Every verb's handler: the services differ only in their verb.
    fn handle(&mut self, call: Call<'_>) -> Result<Value, Error> {
        match call.verb() {
            "flood" => {
                let topic: String = call.arg("topic")?;
                let count: u64 = call.arg("count")?;
                let started = Instant::now();
                for seq in 0..count {
                    self.ctx.publish_json(&topic, &json!({ "seq": seq }));
                }
                Ok(json!({ "published": count, "micros": started.elapsed().as_micros() as u64 }))
            }
            "received" => Ok(json!({ "events": self.events, "dropped": self.dropped })),
            "reset" => {
                self.events.clear();
                self.dropped = 0;
                Ok(Value::Null)
            }
            "sleep" => {
                let ms: u64 = call.arg("ms")?;
                std::thread::sleep(Duration::from_millis(ms));
                Ok(json!({ "slept": ms }))
            }
            "call" => {
                let service: String = call.arg("service")?;
                let args: Value = call.arg("args").unwrap_or(Value::Null);
                let timeout: u64 = call.arg("timeout_ms").unwrap_or(5000);
                match self.ctx.call_timeout::<Value, Value>(&service, &args, Duration::from_millis(timeout)) {
                    Ok(v) => Ok(json!({ "ok": v })),
                    Err(e) => Ok(
                        json!({ "error": { "kind": format!("{:?}", e.kind), "message": e.message.as_str() } }),
                    ),
                }
            }
            "expect" => {
                let topic: String = call.arg("topic")?;
                self.ctx.subscribe(&topic);
                self.expecting = Some((topic, call.arg("count")?, 0));
                Ok(Value::Null)
            }
            "panic" => panic!("{} was asked to panic", S::ID),
            "echo" => call.args(),
            "subscribe" => {
                self.ctx.subscribe(&call.arg::<String>("prefix")?);
                Ok(Value::Null)
            }
            "publish" => {
                let topic: String = call.arg("topic")?;
                self.ctx.publish_json(&topic, &call.arg::<Value>("payload")?);
                Ok(Value::Null)
            }
            "data_dir" => Ok(json!(self.ctx.data_dir())),
            "secret" => Ok(json!({ "set": self.ctx.secret(&call.arg::<String>("name")?)?.is_some() })),
            other => Err(Error::new(format!("no verb {other}"))),
        }
    }
}

const VERBS: [&str; 12] = [
    "flood",
    "received",
    "reset",
    "sleep",
    "call",
    "panic",
    "echo",
    "subscribe",
    "publish",
    "data_dir",
    "secret",
    "expect",
];

impl<S: Spec> Plugin for Probe<S> {
    fn manifest() -> Manifest {
        let mut m = Manifest::build(S::ID, S::VERSION).name(S::ID).description("test probe");
        for (id, req) in S::REQUIRES {
            m = m.requires(id, req);
        }
        if S::PANEL {
            m = m.panel("main", S::ID);
        }
        if let Some(feature) = S::FEATURE {
            m = m.feature(feature);
        }
        if let Some((id, label)) = S::CONTACT_ACTION {
            m = m.contact_action(id, label, "main", false);
        }
        m.setting(
            "panic_in",
            "Panic in",
            SettingKind::Enum {
                options: ["nothing", "new", "start", "view", "stop", "drop"].map(String::from).to_vec(),
            },
            Some(json!("nothing")),
        )
        .setting("password", "Password", SettingKind::Secret, None)
        .setting("account", "Login account", SettingKind::Text { max_len: Some(100) }, None)
        .shared("account")
        .setting(
            "level",
            "Level",
            SettingKind::Number { min: Some(0.0), max: Some(10.0), integer: true },
            Some(json!(1)),
        )
        .finish()
    }

    fn services() -> Services<Self> {
        VERBS.iter().fold(Services::new(), |services, verb| {
            services.raw(Self::service(verb), *verb, |p: &mut Self, call| p.handle(call))
        })
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let probe =
            Probe { ctx, events: Vec::new(), dropped: 0, expecting: None, _spec: std::marker::PhantomData };
        if probe.panic_in("new") {
            panic!("{} was configured to panic in new", S::ID);
        }
        Ok(probe)
    }

    fn start(&mut self) -> Result<(), Error> {
        if self.panic_in("start") {
            panic!("{} was configured to panic in start", S::ID);
        }
        self.ctx.subscribe(&format!("{}.", S::ID));
        self.ctx.subscribe("kernel.");
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == format!("{}.boom", S::ID) {
            panic!("{} was told to go boom", S::ID);
        }
        if event.topic == "kernel.dropped" {
            let n: Value = event.json()?;
            self.dropped += n["count"].as_u64().unwrap_or(0);
        }
        let seq = event.json::<Value>().ok().and_then(|v| v["seq"].as_i64()).unwrap_or(-1);
        if let Some((topic, want, got)) = &mut self.expecting
            && topic.as_str() == event.topic
        {
            // Counting only: a benchmark sends far more than it wants stored.
            *got += 1;
            if *got == *want {
                self.ctx.publish_json(&format!("{}.got", S::ID), &json!({ "count": *got }));
                self.expecting = None;
            }
            return Ok(());
        }
        self.events.push((event.topic.to_string(), event.source.to_string(), seq));
        Ok(())
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        if let UiAction::ContactAction { id, contact } = event.action {
            self.events.push((format!("contact_action:{id}"), json!(contact).to_string(), 0));
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        if self.panic_in("view") {
            panic!("{} was configured to panic in view", S::ID);
        }
        Ok(ui::view(ui::column([
            ui::heading(S::ID),
            ui::text(format!("{panel}: {} events", self.events.len())),
        ])))
    }

    fn stop(&mut self) -> Result<(), Error> {
        if self.panic_in("stop") {
            panic!("{} was configured to panic in stop", S::ID);
        }
        self.ctx.info(format!("{} stopped", S::ID));
        Ok(())
    }
}

impl<S: Spec> Drop for Probe<S> {
    fn drop(&mut self) {
        if self.panic_in("drop") {
            panic!("{} was configured to panic in drop", S::ID);
        }
    }
}
