//! The softphone's panels as view trees: `phone` (registration status, dial pad, one
//! section per call with its controls and auto-answer countdown) and `recent` (call
//! history with the missed-call count). Widget ids are typed [`Act`]s carrying the call
//! id, so the shell keeps them stable while calls come and go and any Call-ID survives.

use crate::engine::{CallSnapshot, Snapshot};
use serde::{Deserialize, Serialize};
use ucdesk_sdk::contract::contact::ContactAddress;
use ucdesk_sdk::contract::phone::{CallResult, CallState, Direction, RegistrationState};
use ucdesk_sdk::view::ListRow;
use ucdesk_sdk::{Action, Node, View, ui};

/// What the phone's widgets do; `on_ui` decodes the widget id back into one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// "Call" picked on a contact in any plugin's list (`view::CONTACT_ACTION`).
    ContactAction,
    Dnd,
    CallWaiting,
    /// The dial field's drop target: a contact dragged from any plugin's list.
    DialDrop,
    /// A live call's drop target: a contact dropped on it is where it is transferred.
    TransferDrop(String),
    Number,
    Dial,
    Keypad,
    Merge {
        callid: String,
        with: String,
    },
    StopAuto(String),
    Answer(String),
    Reject(String),
    Hold(String),
    Resume(String),
    Transfer(String),
    TransferTo(String),
    Mute(String),
    Hangup(String),
    Dtmf {
        callid: String,
        key: char,
    },
    MarkSeen,
    /// The recent calls list; its rows are [`Row`]s.
    History,
    /// A clicked call alert (the phone panel shows every call already).
    Notification,
}

/// A row of the recent calls list: the number to call back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Row {
    Call(String),
}

pub const KEYS: [[char; 3]; 4] = [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9'], ['*', '0', '#']];

/// UI state the plugin keeps between events (what is typed, which call's DTMF pad).
#[derive(Default)]
pub struct Form {
    pub dial_input: String,
    pub transfer_input: String,
}

fn registration(s: &Snapshot) -> String {
    let reg = &s.registration;
    match reg.state {
        RegistrationState::Registered => format!("Registered · {}", reg.server.as_deref().unwrap_or("")),
        RegistrationState::Registering => "Registering…".to_string(),
        RegistrationState::Unregistered => "Not registered".to_string(),
        RegistrationState::AuthFailed => "Wrong user or password".to_string(),
        RegistrationState::Failed => "Server unreachable".to_string(),
    }
}

/// The status-bar item: registration in a few words.
pub fn status(s: &Snapshot) -> View {
    let mut row = vec![ui::text(registration(s))];
    if !s.calls.is_empty() {
        row.push(ui::badge(format!("{} on call", s.calls.len())));
    }
    ui::view(ui::row(row))
}

pub fn phone(s: &Snapshot, form: &Form) -> View {
    let reg = &s.registration;
    let status = registration(s);
    let mut children = vec![ui::row([
        ui::heading("Phone"),
        ui::badge(status),
        if s.missed > 0 { ui::badge(format!("{} missed", s.missed)) } else { ui::weak("") },
    ])];
    if let Some(reason) = &reg.reason {
        children.push(ui::weak(reason.clone()));
    }
    if let Some(n) = &s.notice {
        children.push(ui::styled(n.clone(), ucdesk_sdk::view::TextStyle::Strong));
    }
    children.push(ui::row([
        ui::toggle(Act::Dnd.id(), "Do not disturb", s.dnd),
        ui::toggle(Act::CallWaiting.id(), "Call waiting", s.call_waiting),
    ]));
    // Drop a contact (from any plugin's list) here to call them.
    children.push(ui::drop_target(
        Act::DialDrop.id(),
        ui::row([
            ui::input(Act::Number.id(), &form.dial_input, "Number, #speed dial or SIP address"),
            ui::primary(Act::Dial.id(), "Call"),
        ]),
    ));
    children.push(ui::keypad(Act::Keypad.id()));
    // Two connected calls and no conference yet: offer the 3-way merge.
    let live: Vec<&CallSnapshot> = s.calls.iter().filter(|c| c.event.state.in_progress()).collect();
    if let [a, b] = live.as_slice()
        && a.conference_with.is_none()
        && b.conference_with.is_none()
    {
        let merge = Act::Merge { callid: a.event.callid.clone(), with: b.event.callid.clone() };
        children.push(ui::button(merge.id(), "Merge calls (3-way)"));
    }
    for call in &s.calls {
        children.push(ui::separator());
        let section = call_section(call, form);
        // Drop a contact on a live call to transfer it to them.
        children.push(if call.event.state.in_progress() {
            ui::drop_target(Act::TransferDrop(call.event.callid.clone()).id(), section)
        } else {
            section
        });
    }
    ui::view(ui::column(children))
}

fn call_section(c: &CallSnapshot, form: &Form) -> Node {
    let e = &c.event;
    let id = || e.callid.clone();
    // The CRM's name for the caller wins over the network's display name, which a
    // caller sets themselves.
    let who = match (&c.crm_name, &e.name) {
        (Some(n), _) => format!("{n} ({}) · CRM", e.number),
        (None, Some(n)) => format!("{n} ({})", e.number),
        (None, None) => e.number.clone(),
    };
    let arrow = if e.direction == Direction::Inbound { "←" } else { "→" };
    let mut rows = vec![ui::row([
        ui::styled(format!("{arrow} {who}"), ucdesk_sdk::view::TextStyle::Strong),
        ui::badge(state_word(e.state)),
        ui::weak(format!("{}:{:02}", e.duration / 60, e.duration % 60)),
    ])];
    if c.secure {
        // The manual: shown only when TLS and SRTP are both on.
        rows.push(ui::badge("🔒 Encrypted (TLS + SRTP)"));
    }
    if c.remote_hold {
        rows.push(ui::weak("On hold by the other side"));
    }
    if c.conference_with.is_some() {
        rows.push(ui::badge("In conference"));
    }
    if let Some(q) = &c.quality {
        // The manual's call quality indicator: a rough grade that opens the details.
        let grade = match q.mos {
            m if m >= 4.0 => "good",
            m if m >= 3.6 => "fair",
            m if m >= 3.1 => "poor",
            _ => "bad",
        };
        rows.push(ui::row([
            ui::badge(format!("Quality: {grade} (MOS {:.1})", q.mos)),
            ui::weak(format!(
                "{} · RTT {} · jitter {:.0} ms · loss {:.1}%",
                q.codec,
                q.rtt_ms.map(|r| format!("{r:.0} ms")).unwrap_or_else(|| "–".into()),
                q.jitter_ms,
                q.loss_pct
            )),
        ]));
    }
    if let Some(loc) = &c.emergency_location {
        rows.push(ui::weak(format!("Emergency location: {loc}")));
    }
    if let Some(secs) = c.auto_answer_in {
        rows.push(ui::row([
            ui::text(format!("Answering automatically in {secs} s")),
            ui::button(Act::StopAuto(id()).id(), "Stop"),
        ]));
    }
    let ringing_in = e.direction == Direction::Inbound && e.state == CallState::Ringing;
    let mut buttons = Vec::new();
    if ringing_in {
        buttons.push(ui::button(Act::Answer(id()).id(), "Answer"));
        buttons.push(ui::button(Act::Reject(id()).id(), "Reject"));
    } else {
        if e.state.in_progress() {
            buttons.push(if c.local_hold {
                ui::button(Act::Resume(id()).id(), "Resume")
            } else {
                ui::button(Act::Hold(id()).id(), "Hold")
            });
            buttons.push(ui::button(Act::Transfer(id()).id(), "Transfer"));
            buttons.push(ui::toggle(Act::Mute(id()).id(), "Mute", c.muted));
        }
        buttons.push(ui::button(Act::Hangup(id()).id(), "Hang up"));
    }
    rows.push(ui::row(buttons));
    if e.state.in_progress() {
        rows.push(ui::row([ui::input(Act::TransferTo(id()).id(), &form.transfer_input, "Transfer to…")]));
        for keys in KEYS {
            let key = |&key: &char| ui::button(Act::Dtmf { callid: id(), key }.id(), key.to_string());
            rows.push(ui::row(keys.iter().map(key)));
        }
    }
    ui::column(rows)
}

pub fn recent(s: &Snapshot) -> View {
    let rows = s.recent.iter().map(|h| {
        let arrow = if h.direction == Direction::Inbound { "←" } else { "→" };
        let who = h.name.clone().map(|n| format!("{n} ({})", h.number)).unwrap_or_else(|| h.number.clone());
        let what = match h.result {
            CallResult::Answered => format!("{}:{:02}", h.duration / 60, h.duration % 60),
            other => other.as_str().to_string(),
        };
        // The row is the caller: other plugins' contact actions (Send SMS) apply.
        ListRow {
            id: Row::Call(h.number.clone()).id(),
            text: format!("{arrow} {who}"),
            detail: what,
            badge: None,
            presence: None,
            contact: Some(ContactAddress {
                name: h.name.clone().unwrap_or_else(|| h.number.clone()),
                number: Some(h.number.clone()),
                ..Default::default()
            }),
            tooltip: None,
        }
    });
    ui::view(ui::column([
        ui::row([
            ui::heading("Recent calls"),
            ui::badge(format!("{} missed", s.missed)),
            ui::button(Act::MarkSeen.id(), "Mark seen"),
        ]),
        ui::list_rows(Act::History.id(), rows),
    ]))
    .with_badge(s.missed)
}

/// The call's state as the call section's badge shows it.
fn state_word(state: CallState) -> &'static str {
    match state {
        CallState::Calling => "calling",
        CallState::Ringing => "ringing",
        CallState::Connected => "connected",
        CallState::Held => "held",
        CallState::Transferring => "transferring",
        CallState::Transferred => "transferred",
        CallState::Ended => "ended",
        CallState::Unknown => "",
    }
}

#[cfg(test)]
mod act_tests {
    use super::Act;
    use ucdesk_sdk::Action;

    /// A clicked notification arrives at `notify::CLICKED`: the action must decode it.
    #[test]
    fn the_notification_widget_is_an_action() {
        assert_eq!(Act::Notification.id(), ucdesk_sdk::contract::notify::CLICKED);
        assert_eq!(Act::parse(ucdesk_sdk::contract::notify::CLICKED).unwrap(), Act::Notification);
    }
}
