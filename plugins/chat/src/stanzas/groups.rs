//! Group chat stanzas (XEP-0045 MUC, XEP-0249 invitations, XEP-0402 bookmarks), and
//! [`Affiliation`], the one place where affiliation strings become a type.

use super::{child, el, field, with_text};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Lang, Message};
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;

pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
pub const CONFERENCE: &str = "jabber:x:conference";
pub const BOOKMARKS2: &str = "urn:xmpp:bookmarks:1";
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

/// Publishes the room in our bookmarks (private PEP node), so every login rejoins it.
pub fn bookmark(room: &BareJid, name: &str, nick: &str, full_history: bool) -> Element {
    let mut conference = el("conference", BOOKMARKS2, &[("name", name), ("autojoin", "true")]);
    conference.append_child(with_text(el("nick", BOOKMARKS2, &[]), nick));
    conference.append_child(child(el("extensions", BOOKMARKS2, &[]), group_details(name, full_history)));
    let item = child(el("item", ns::PUBSUB, &[("id", room.as_str())]), conference);
    let publish = child(el("publish", ns::PUBSUB, &[("node", BOOKMARKS2)]), item);
    let mut options = el("x", ns::DATA_FORMS, &[("type", "submit")]);
    for (var, value) in [
        ("FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options"),
        ("pubsub#persist_items", "true"),
        ("pubsub#max_items", "max"),
        ("pubsub#send_last_published_item", "never"),
        ("pubsub#access_model", "whitelist"),
    ] {
        options.append_child(field(var, value));
    }
    let mut pubsub = child(el("pubsub", ns::PUBSUB, &[]), publish);
    pubsub.append_child(child(el("publish-options", ns::PUBSUB, &[]), options));
    pubsub
}

pub fn bookmark_retract(room: &BareJid) -> Element {
    let retract = child(
        el("retract", ns::PUBSUB, &[("node", BOOKMARKS2), ("notify", "true")]),
        el("item", ns::PUBSUB, &[("id", room.as_str())]),
    );
    child(el("pubsub", ns::PUBSUB, &[]), retract)
}

pub fn bookmarks_get() -> Element {
    child(el("pubsub", ns::PUBSUB, &[]), el("items", ns::PUBSUB, &[("node", BOOKMARKS2)]))
}

/// (room, name, nick, full history) of each bookmark in a pubsub items result.
pub fn read_bookmarks(pubsub: &Element) -> Vec<(BareJid, Option<String>, Option<String>, bool)> {
    let Some(items) = pubsub.get_child("items", ns::PUBSUB) else { return Vec::new() };
    items
        .children()
        .filter(|i| i.is("item", ns::PUBSUB))
        .filter_map(|i| {
            let room = i.attr("id")?.parse::<BareJid>().ok()?;
            let c = i.get_child("conference", BOOKMARKS2)?;
            let nick = c.get_child("nick", BOOKMARKS2).map(|n| n.text());
            let full = c.get_child("extensions", BOOKMARKS2).and_then(read_group).is_some_and(|g| g.1);
            Some((room, c.attr("name").map(str::to_string), nick, full))
        })
        .collect()
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
