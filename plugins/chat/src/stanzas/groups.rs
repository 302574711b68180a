//! Group chat stanzas (XEP-0045 MUC, XEP-0249 invitations), and
//! [`Affiliation`], the one place where affiliation strings become a type.

use super::{child, el};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Lang, Message};
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;

pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
pub const CONFERENCE: &str = "jabber:x:conference";
/// Our group details, carried in invitations and bookmarks: the display name and
/// whether members see the history from before they joined.
pub const UCDESK_GROUP: &str = "urn:ucdesk:group:0";

/// Entering a room as `nick`. Room history comes from MAM, not the join.
pub fn join(room: &BareJid, nick: &str) -> Presence {
    let full = format!("{room}/{nick}").parse::<Jid>().unwrap_or_else(|_| Jid::from(room.clone()));
    let mut p = Presence::available().with_to(full);
    p.payloads.push(child(el("x", ns::MUC, &[]), el("history", ns::MUC, &[("maxstanzas", "0")])));
    p
}

pub fn leave(room: &BareJid, nick: &str) -> Presence {
    let full = format!("{room}/{nick}").parse::<Jid>().unwrap_or_else(|_| Jid::from(room.clone()));
    Presence::unavailable().with_to(full)
}

/// A person's standing in a room (XEP-0045). The engine compares these, never the
/// attribute's text: the strings exist only here, where stanzas are built and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affiliation {
    Owner,
    Admin,
    Member,
    Outcast,
    None,
}

impl Affiliation {
    /// The `affiliation` attribute's value, when it is one XEP-0045 defines.
    pub fn from_attr(s: &str) -> Option<Affiliation> {
        Some(match s {
            "owner" => Affiliation::Owner,
            "admin" => Affiliation::Admin,
            "member" => Affiliation::Member,
            "outcast" => Affiliation::Outcast,
            "none" => Affiliation::None,
            _ => return None,
        })
    }

    pub fn as_attr(self) -> &'static str {
        match self {
            Affiliation::Owner => "owner",
            Affiliation::Admin => "admin",
            Affiliation::Member => "member",
            Affiliation::Outcast => "outcast",
            Affiliation::None => "none",
        }
    }

    /// Owners and admins run the group (our clients make no difference between them).
    pub fn is_admin(self) -> bool {
        matches!(self, Affiliation::Owner | Affiliation::Admin)
    }
}

/// Sets `jid`'s affiliation (owner, admin, member, none).
pub fn affiliation(jid: &str, affiliation: Affiliation) -> Element {
    let item = el("item", MUC_ADMIN, &[("affiliation", affiliation.as_attr()), ("jid", jid)]);
    child(el("query", MUC_ADMIN, &[]), item)
}

/// Asks for the list of one affiliation.
pub fn affiliation_list(affiliation: Affiliation) -> Element {
    child(el("query", MUC_ADMIN, &[]), el("item", MUC_ADMIN, &[("affiliation", affiliation.as_attr())]))
}

/// (address, affiliation) of each item of an affiliation list; items without an
/// address or with an affiliation XEP-0045 does not define are skipped.
pub fn read_affiliations(query: &Element) -> Vec<(String, Affiliation)> {
    query
        .children()
        .filter(|c| c.is("item", MUC_ADMIN))
        .filter_map(|item| {
            let affiliation = Affiliation::from_attr(item.attr("affiliation")?)?;
            Some((item.attr("jid")?.to_string(), affiliation))
        })
        .collect()
}

/// A room subject message: we use the subject as the group's name.
pub fn subject(room: &BareJid, text: &str) -> Message {
    let mut m = Message::groupchat(Some(Jid::from(room.clone())));
    m.subjects.insert(Lang::default(), text.to_string());
    m
}

/// A direct invitation (XEP-0249) with our group details.
pub fn invite(to: &BareJid, room: &BareJid, name: &str, full_history: bool) -> Message {
    let mut m = Message::normal(Some(Jid::from(to.clone())));
    m.payloads.push(el("x", CONFERENCE, &[("jid", room.as_str()), ("reason", name)]));
    m.payloads.push(group_details(name, full_history));
    m
}

pub fn group_details(name: &str, full_history: bool) -> Element {
    el(
        "group",
        UCDESK_GROUP,
        &[("name", name), ("history", if full_history { "full" } else { "since-joined" })],
    )
}

/// Reads our group details (name, full history) from an element that may hold them.
pub fn read_group(parent: &Element) -> Option<(Option<String>, bool)> {
    let g = parent.get_child("group", UCDESK_GROUP)?;
    Some((g.attr("name").map(str::to_string), g.attr("history") == Some("full")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affiliations_are_read_and_written_as_xep_0045_spells_them() {
        for a in [
            Affiliation::Owner,
            Affiliation::Admin,
            Affiliation::Member,
            Affiliation::Outcast,
            Affiliation::None,
        ] {
            assert_eq!(Affiliation::from_attr(a.as_attr()), Some(a));
        }
        assert_eq!(Affiliation::from_attr("moderator"), None);
        let list: Element = "<query xmlns='http://jabber.org/protocol/muc#admin'>\
             <item affiliation='owner' jid='ann@lab'/><item affiliation='member' jid='bob@lab'/>\
             <item affiliation='boss' jid='eve@lab'/><item affiliation='member'/></query>"
            .parse()
            .unwrap();
        let got = read_affiliations(&list);
        assert_eq!(
            got,
            [("ann@lab".to_string(), Affiliation::Owner), ("bob@lab".into(), Affiliation::Member)]
        );
        assert!(got[0].1.is_admin() && !got[1].1.is_admin());
    }
}
