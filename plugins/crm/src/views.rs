//! The CRM module's panel: what the settings get wrong (fields that cannot be used,
//! `%word%`s that are not macros), and the last popups with how each went.

use crate::engine::Snapshot;
use serde::{Deserialize, Serialize};
use ucdesk_sdk::contract::crm::{Outcome, Popup};
use ucdesk_sdk::{Action, View, ui};

const RED: &str = "#c0392b";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Open this popup's URL in the default browser again.
    Open(String),
}

fn result(p: &Popup) -> String {
    match (p.outcome, p.status, &p.error) {
        (Outcome::Opened, ..) => "opened in the browser".into(),
        (Outcome::Ran, ..) => "program started".into(),
        (Outcome::Sent, Some(s), _) if p.attempts > 1 => format!("sent: {s} (after {} attempts)", p.attempts),
        (Outcome::Sent, Some(s), _) => format!("sent: {s}"),
        (Outcome::Sent, None, _) => "sent".into(),
        (Outcome::Failed, _, Some(e)) => format!("failed: {e}"),
        (Outcome::Failed, _, None) => "failed".into(),
    }
}

pub fn popups(s: &Snapshot, _: &()) -> View {
    let mut children = vec![ui::heading("Call Popup")];
    for p in &s.status.problems {
        children.push(ui::colored(p, RED));
    }
    for u in &s.status.unknown_macros {
        children
            .push(ui::colored(format!("{}: {} is not a macro and is sent as typed.", u.field, u.name), RED));
    }
    if s.status.pending > 0 {
        children.push(ui::weak(format!("{} popup(s) on their way.", s.status.pending)));
    }
    if s.popups.is_empty() {
        children.push(ui::weak(
            "No popup yet. Set a URL or program under Preferences -> Modules -> Call Popup; it fires on the next call.",
        ));
    }
    for p in &s.popups {
        let when = chrono::DateTime::from_timestamp(p.at, 0)
            .map(|t| t.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())
            .unwrap_or_default();
        let (event, direction) = (p.event.as_str(), p.direction.as_str());
        let target = p.url.clone().or_else(|| p.program.as_ref().map(|a| a.join(" "))).unwrap_or_default();
        let line =
            format!("{when} · {direction} call {event}{}", if p.from_queue { " · queue URL" } else { "" });
        let mut row = vec![ui::weak(line), ui::selectable(target)];
        let status = result(p);
        row.push(if p.outcome == Outcome::Failed { ui::colored(status, RED) } else { ui::text(status) });
        if let (Some(url), false) = (&p.url, p.silent) {
            row.push(ui::button(Act::Open(url.clone()).id(), "Open in default browser"));
        }
        children.push(ui::row(row));
    }
    ui::view(ui::column(children))
}
