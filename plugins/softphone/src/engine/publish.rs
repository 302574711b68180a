//! What the core tells the rest of the desktop besides the snapshot: bus events, held
//! back until the snapshot shows their effect; the shell's incoming-call alert; and
//! "on a call" for whoever provides presence. Every concept publishes through these,
//! so the order (snapshot first, then the events it explains) holds everywhere.

use super::Core;
use std::time::Duration;
use ucdesk_sdk::Context;
use ucdesk_sdk::contract::notify::{self, Notification, NotifyKind};
use ucdesk_sdk::contract::phone::CallEvent;

/// A bus event held back until the snapshot shows its effect (see `Core::pending`).
pub(super) type Publish = Box<dyn FnOnce(&Context) + Send>;

/// A bus event to publish after the snapshot is refreshed.
pub(super) fn later<T: ucdesk_sdk::contract::Contract + serde::Serialize + Clone + Send + 'static>(
    topic: &'static str,
    payload: &T,
) -> Publish {
    let payload = payload.clone();
    Box::new(move |ctx: &Context| ctx.publish(topic, &payload))
}

/// The shell's inbound call alert for `event`, or (`close`) its end.
pub(super) fn call_alert(event: &CallEvent, close: bool) -> Publish {
    let who = match &event.name {
        Some(n) if !n.is_empty() => format!("{n} ({})", event.number),
        _ => event.number.clone(),
    };
    let note = Notification {
        id: format!("call:{}", event.callid),
        kind: NotifyKind::IncomingCall,
        title: "Incoming call".into(),
        body: who,
        panel: Some("phone".into()),
        target: Some(notify::Target { kind: notify::TargetKind::Call, id: event.callid.clone() }),
        close,
    };
    later(notify::TOPIC, &note)
}

impl Core {
    /// Unified presence shows "on a call" while a call is connected: tell whoever
    /// provides `presence` (the chat plugin), if anyone does.
    pub(super) fn report_on_call(&mut self) {
        let on_call = self.calls.values().any(|c| c.answered.is_some() && c.result.is_none());
        if on_call == self.on_call {
            return;
        }
        self.on_call = on_call;
        let tx = self.presence.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::channel::<bool>();
            let ctx = self.ctx.clone();
            let _ = std::thread::Builder::new().name("softphone-presence".into()).spawn(move || {
                for on_call in rx {
                    let args = serde_json::json!({ "on_call": on_call });
                    let r: Result<serde_json::Value, _> =
                        ctx.call_timeout("presence.set", &args, Duration::from_secs(5));
                    if let Err(e) = r {
                        ctx.debug(format!("presence.set on_call={on_call}: {e}"));
                    }
                }
            });
            tx
        });
        let _ = tx.send(on_call);
    }
}
