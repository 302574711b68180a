//! Which popup a call event fires, decided without side effects: the event (started or
//! finished) from the call's topic and what already fired for it, the target from the
//! user's field or the queue's URL, and the call's values put in. [`fire`](crate::fire)
//! carries the plan out.

use crate::config::{Config, StartedWhen};
use crate::macros::{self, Target};
use std::collections::HashSet;
use ucdesk_sdk::contract::crm::PopupEvent;
use ucdesk_sdk::contract::phone::{self, CallEvent, Direction};

/// What to do for one popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open in the default browser.
    Open(String),
    /// Silent mode: request the URL, open nothing.
    Request(String),
    /// Start the program with these arguments (the first is its path).
    Run(Vec<String>),
    /// The field cannot be used: why.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub event: PopupEvent,
    pub callid: String,
    pub direction: Direction,
    pub action: Action,
    pub silent: bool,
    pub from_queue: bool,
}

/// Remembers which calls already had their started popup, so the many `call.*` events
/// of one call fire it once.
#[derive(Default)]
pub struct Planner {
    started: HashSet<String>,
}

impl Planner {
    /// The popup `topic` fires for `call`, if any.
    pub fn plan(&mut self, config: &Config, topic: &str, call: &CallEvent) -> Option<Plan> {
        let event = match topic {
            phone::TOPIC_ENDED => {
                self.started.remove(&call.callid);
                PopupEvent::Finished
            }
            phone::TOPIC_ANSWERED => PopupEvent::Started,
            phone::TOPIC_INCOMING | phone::TOPIC_RINGING if config.started_when == StartedWhen::Ringing => {
                PopupEvent::Started
            }
            _ => return None,
        };
        if event == PopupEvent::Started && !self.started.insert(call.callid.clone()) {
            return None;
        }
        let settings = config.event(event);
        let queue_url =
            (event == PopupEvent::Started).then(|| config.queue_url(call.queue_number.as_deref())).flatten();
        let (field, from_queue) = match queue_url {
            Some(url) => (url.to_string(), true),
            None if settings.covers(call.direction) => (settings.field.clone(), false),
            None => return None,
        };
        if field.trim().is_empty() {
            return None;
        }
        let values = macros::values(call);
        let action = match macros::parse(&field) {
            Ok(Target::Url(url)) if settings.silent => Action::Request(macros::url(&url, &values)),
            Ok(Target::Url(url)) => Action::Open(macros::url(&url, &values)),
            Ok(Target::Program(words)) => Action::Run(macros::program(&words, &values)),
            Err(e) => Action::Invalid(e.to_string()),
        };
        let silent = matches!(action, Action::Request(_));
        Some(Plan {
            event,
            callid: call.callid.clone(),
            direction: call.direction,
            action,
            silent,
            from_queue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EventPopup;

    fn config() -> Config {
        Config {
            started: EventPopup {
                field: "crm/in?n=%callerid%".into(),
                inbound: true,
                outbound: false,
                silent: false,
            },
            started_when: StartedWhen::Ringing,
            finished: EventPopup {
                field: "https://crm/done?d=%duration%".into(),
                inbound: true,
                outbound: true,
                silent: true,
            },
            queue_popup: true,
            queue_urls: vec![("8001".into(), "https://crm/queue/%queue_number%?n=%callerid%".into())],
            tls_ca_file: String::new(),
            tls_ca_pinned: false,
            timeout: std::time::Duration::from_secs(10),
            in_app: false,
        }
    }

    fn call(direction: &str, queue: Option<&str>) -> CallEvent {
        serde_json::from_value(serde_json::json!({
            "callid": "c1", "direction": direction, "number": "555 0100", "queue_number": queue, "duration": 7
        }))
        .unwrap()
    }

    #[test]
    fn started_fires_once_per_call_and_finished_at_the_end() {
        let (c, mut p) = (config(), Planner::default());
        let inbound = call("inbound", None);
        let first = p.plan(&c, phone::TOPIC_INCOMING, &inbound).unwrap();
        assert_eq!(first.action, Action::Open("https://crm/in?n=555%200100".into()));
        assert!(p.plan(&c, phone::TOPIC_RINGING, &inbound).is_none());
        assert!(p.plan(&c, phone::TOPIC_ANSWERED, &inbound).is_none());
        let done = p.plan(&c, phone::TOPIC_ENDED, &inbound).unwrap();
        assert_eq!((done.action, done.silent), (Action::Request("https://crm/done?d=7".into()), true));
    }

    #[test]
    fn directions_and_the_answered_option_are_honoured() {
        let mut c = config();
        let mut p = Planner::default();
        let outbound = call("outbound", None);
        assert!(p.plan(&c, phone::TOPIC_RINGING, &outbound).is_none(), "started is inbound only");
        assert!(p.plan(&c, phone::TOPIC_ENDED, &outbound).is_some(), "finished covers outbound");
        c.started_when = StartedWhen::Answered;
        let inbound = call("inbound", None);
        assert!(p.plan(&c, phone::TOPIC_INCOMING, &inbound).is_none());
        assert!(p.plan(&c, phone::TOPIC_ANSWERED, &inbound).is_some());
    }

    #[test]
    fn a_queue_url_takes_over_the_started_popup_only_when_enabled() {
        let mut c = config();
        let mut p = Planner::default();
        let plan = p.plan(&c, phone::TOPIC_INCOMING, &call("inbound", Some("8001"))).unwrap();
        assert_eq!(plan.action, Action::Open("https://crm/queue/8001?n=555%200100".into()));
        assert!(plan.from_queue);
        c.queue_popup = false;
        let mut p = Planner::default();
        let plan = p.plan(&c, phone::TOPIC_INCOMING, &call("inbound", Some("8001"))).unwrap();
        assert_eq!(
            (plan.from_queue, plan.action),
            (false, Action::Open("https://crm/in?n=555%200100".into()))
        );
    }

    #[test]
    fn a_bad_field_is_a_plan_that_says_why() {
        let mut c = config();
        c.started.field = "ftp://crm/%callerid%".into();
        let plan = Planner::default().plan(&c, phone::TOPIC_INCOMING, &call("inbound", None)).unwrap();
        assert!(matches!(plan.action, Action::Invalid(why) if why.contains("ftp")));
    }
}
