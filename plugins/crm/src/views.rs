//! The CRM module's panel: the CRM integration (its state, who each call is with a pick
//! when several contacts match, search with one-click dialing, calls logged), then the
//! call popups (what the settings get wrong, the last popups and how each went).

use crate::engine::Snapshot;
use crate::integration::View as CrmView;
use serde::{Deserialize, Serialize};
use ucdesk_sdk::contract::contact::Contact;
use ucdesk_sdk::contract::crm::{Outcome, Popup};
use ucdesk_sdk::{Action, Node, View, ui};

const RED: &str = "#c0392b";
const GREEN: &str = "#27ae60";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Open this popup's URL in the default browser again.
    Open(String),
    /// Open a CRM record.
    Record(String),
    /// This contact is the one the call is with.
    Pick {
        callid: String,
        id: String,
    },
    /// Call this number.
    Dial(String),
    Search,
    Sync,
    /// Sign in to the CRM in the browser.
    SignIn,
}

/// What the user is typing.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub search: String,
}

fn local(at: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_default()
}

fn result(p: &Popup) -> String {
    match (p.outcome, p.status, &p.error) {
        (Outcome::Opened, ..) if p.notice.is_some() => {
            format!("opened in the browser: {}", p.notice.as_deref().unwrap_or_default())
        }
        (Outcome::Opened, ..) => "opened in the browser".into(),
        (Outcome::Shown, ..) => "shown in the app".into(),
        (Outcome::Ran, ..) => "program started".into(),
        (Outcome::Sent, Some(s), _) if p.attempts > 1 => format!("sent: {s} (after {} attempts)", p.attempts),
        (Outcome::Sent, Some(s), _) => format!("sent: {s}"),
        (Outcome::Sent, None, _) => "sent".into(),
        (Outcome::Failed, _, Some(e)) => format!("failed: {e}"),
        (Outcome::Failed, _, None) => "failed".into(),
    }
}

/// A contact as one row: name, company, its numbers as dial buttons, open.
fn contact_row(c: &Contact, extra: Option<Node>) -> Node {
    let mut label = c.name.clone();
    if let Some(company) = c.company.as_deref().or(c.title.as_deref()) {
        label = format!("{label} · {company}");
    }
    let mut row = vec![ui::text(label)];
    for n in &c.numbers {
        row.push(ui::button(Act::Dial(n.number.clone()).id(), format!("Call {} {}", n.label, n.number)));
    }
    if c.url.is_some() {
        row.push(ui::button(Act::Record(c.id.clone()).id(), "Open"));
    }
    row.extend(extra);
    ui::row(row)
}

fn integration(v: &CrmView, form: &crate::views::Form, children: &mut Vec<Node>) {
    let s = &v.status;
    if !s.enabled {
        return;
    }
    children.push(ui::heading("CRM"));
    // Offered whenever the CRM has one, and not twice at once.
    let sign_in = s.browser_sign_in && !s.signing_in;
    let label = if s.connected { "Sign in again" } else { "Sign in" };
    match (&s.vendor, &s.problem) {
        (_, Some(p)) => {
            let mut row = vec![ui::colored(p, RED)];
            row.extend(sign_in.then(|| ui::button(Act::SignIn.id(), label)));
            children.push(ui::row(row));
        }
        (Some(vendor), None) => {
            let state = if s.connected { "connected" } else { "not connected yet" };
            let synced =
                s.synced_at.map(|t| format!(", synced {}", local(t, "%d %b %H:%M"))).unwrap_or_default();
            let mut row = vec![
                ui::colored(format!("{vendor}: {state}"), if s.connected { GREEN } else { RED }),
                ui::weak(format!(
                    "{} contacts{synced}{}",
                    s.contacts,
                    if s.syncing { " (syncing...)" } else { "" }
                )),
                ui::button(Act::Sync.id(), "Sync now"),
            ];
            row.extend(sign_in.then(|| ui::button(Act::SignIn.id(), label)));
            children.push(ui::row(row));
        }
        (None, None) => {}
    }
    if let Some(why) = &s.sign_in_failed {
        children.push(ui::colored(format!("Sign-in: {why}"), RED));
    }
    if let Some(url) = &v.sign_in_page {
        children.push(ui::row([
            ui::weak("Waiting for you to sign in in the browser..."),
            ui::button(Act::Open(url.clone()).id(), "Open the sign-in page again"),
        ]));
    }
    for m in &v.matches {
        let callid = m.callid.clone().unwrap_or_default();
        let head = match (&m.error, m.contacts.len()) {
            (Some(e), _) => ui::colored(format!("{}: lookup failed: {e}", m.number), RED),
            (None, 0) => ui::weak(format!("{}: no contact in the CRM", m.number)),
            (None, 1) => ui::text(format!("{}: {}", m.number, m.contacts[0].name)),
            (None, n) => ui::text(format!("{}: {n} contacts match, pick the caller", m.number)),
        };
        children.push(head);
        if m.contacts.len() > 1 {
            for c in &m.contacts {
                let pick = if m.chosen.as_ref() == Some(&c.id) {
                    ui::badge("this call")
                } else {
                    ui::button(
                        Act::Pick { callid: callid.clone(), id: c.id.clone() }.id(),
                        "This is the caller",
                    )
                };
                children.push(contact_row(c, Some(pick)));
            }
        }
    }
    children.push(ui::input(Act::Search.id(), form.search.clone(), "Search the CRM: name, e-mail or number"));
    match &v.results {
        Err(e) => children.push(ui::colored(e, RED)),
        Ok(found) if found.is_empty() && !v.search.is_empty() => {
            children.push(ui::weak(format!("No contact matches {:?}.", v.search)))
        }
        Ok(found) => children.extend(found.iter().map(|c| contact_row(c, None))),
    }
    for l in v.logged.iter().take(5) {
        children.push(match (&l.error, &l.record) {
            (Some(e), _) => ui::colored(format!("call {} not logged: {e}", l.callid), RED),
            (None, Some(r)) => ui::weak(format!("call {} logged as {r} ({})", l.callid, l.fields.join(", "))),
            (None, None) => ui::weak(format!("call {} logged", l.callid)),
        });
    }
    children.push(ui::separator());
}

pub fn panel(s: &Snapshot, form: &Form) -> View {
    let mut children = Vec::new();
    integration(&s.crm, form, &mut children);
    children.push(ui::heading("Call Popup"));
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
        let when = local(p.at, "%H:%M:%S");
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
