//! Where the rooms we belong to are remembered on the server, so every login (on any
//! device) rejoins them: XEP-0402 bookmarks in a private PEP node, published with
//! publish-options; and the ways XEP-0060 leaves when a server does not take those
//! options (configure the node, then publish plainly), down to XEP-0048 bookmarks in
//! private XML storage (XEP-0049) for servers with no usable PEP node at all.

use super::groups::group_details;
use super::{child, el, field, read_group, with_text};
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::ns;

pub const BOOKMARKS2: &str = "urn:xmpp:bookmarks:1";
const PUBSUB_OWNER: &str = "http://jabber.org/protocol/pubsub#owner";
const PRIVATE: &str = "jabber:iq:private";
const LEGACY: &str = "storage:bookmarks";

/// A room as a bookmark names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bookmark {
    pub room: BareJid,
    pub name: Option<String>,
    pub nick: Option<String>,
    pub full_history: bool,
}

/// The node's options XEP-0402 §5 asks for: kept, all items, private.
const NODE_OPTIONS: [(&str, &str); 4] = [
    ("pubsub#persist_items", "true"),
    ("pubsub#max_items", "max"),
    ("pubsub#send_last_published_item", "never"),
    ("pubsub#access_model", "whitelist"),
];

fn options_form(form_type: &str) -> Element {
    let mut x = el("x", ns::DATA_FORMS, &[("type", "submit")]);
    x.append_child(field("FORM_TYPE", form_type));
    for (var, value) in NODE_OPTIONS {
        x.append_child(field(var, value));
    }
    x
}

fn publish_item(b: &Bookmark) -> Element {
    let name = b.name.as_deref().unwrap_or("Group");
    let mut conference = el("conference", BOOKMARKS2, &[("name", name), ("autojoin", "true")]);
    if let Some(nick) = &b.nick {
        conference.append_child(with_text(el("nick", BOOKMARKS2, &[]), nick));
    }
    conference.append_child(child(el("extensions", BOOKMARKS2, &[]), group_details(name, b.full_history)));
    let item = child(el("item", ns::PUBSUB, &[("id", b.room.as_str())]), conference);
    child(el("publish", ns::PUBSUB, &[("node", BOOKMARKS2)]), item)
}

/// Publishes the bookmark; `with_options` asks the server to make the node private and
/// persistent as it does (XEP-0060 §7.1.5), else the node is assumed configured.
pub fn bookmark(b: &Bookmark, with_options: bool) -> Element {
    let mut pubsub = child(el("pubsub", ns::PUBSUB, &[]), publish_item(b));
    if with_options {
        let form = options_form("http://jabber.org/protocol/pubsub#publish-options");
        pubsub.append_child(child(el("publish-options", ns::PUBSUB, &[]), form));
    }
    pubsub
}

/// Configures our bookmarks node (XEP-0060 §8.2) with the options publish-options could
/// not carry.
pub fn bookmarks_configure() -> Element {
    let configure = child(
        el("configure", PUBSUB_OWNER, &[("node", BOOKMARKS2)]),
        options_form("http://jabber.org/protocol/pubsub#node_config"),
    );
    child(el("pubsub", PUBSUB_OWNER, &[]), configure)
}

/// Creates the node with its configuration (when configuring found no node).
pub fn bookmarks_create() -> Element {
    let mut pubsub = el("pubsub", ns::PUBSUB, &[]);
    pubsub.append_child(el("create", ns::PUBSUB, &[("node", BOOKMARKS2)]));
    let form = options_form("http://jabber.org/protocol/pubsub#node_config");
    pubsub.append_child(child(el("configure", ns::PUBSUB, &[]), form));
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

/// The bookmarks in a pubsub items result.
pub fn read_bookmarks(pubsub: &Element) -> Vec<Bookmark> {
    let Some(items) = pubsub.get_child("items", ns::PUBSUB) else { return Vec::new() };
    items
        .children()
        .filter(|i| i.is("item", ns::PUBSUB))
        .filter_map(|i| {
            let room = i.attr("id")?.parse::<BareJid>().ok()?;
            let c = i.get_child("conference", BOOKMARKS2)?;
            let nick = c.get_child("nick", BOOKMARKS2).map(|n| n.text());
            let full_history =
                c.get_child("extensions", BOOKMARKS2).and_then(read_group).is_some_and(|g| g.1);
            Some(Bookmark { room, name: c.attr("name").map(str::to_string), nick, full_history })
        })
        .collect()
}

/// XEP-0048 in private storage: the whole list at once (it has no items of its own).
/// Our group details ride in each conference, where other clients ignore them.
pub fn private_bookmarks_set(all: &[Bookmark]) -> Element {
    let mut storage = el("storage", LEGACY, &[]);
    for b in all {
        let name = b.name.as_deref().unwrap_or("Group");
        let mut c =
            el("conference", LEGACY, &[("jid", b.room.as_str()), ("name", name), ("autojoin", "true")]);
        if let Some(nick) = &b.nick {
            c.append_child(with_text(el("nick", LEGACY, &[]), nick));
        }
        c.append_child(group_details(name, b.full_history));
        storage.append_child(c);
    }
    child(el("query", PRIVATE, &[]), storage)
}

pub fn private_bookmarks_get() -> Element {
    child(el("query", PRIVATE, &[]), el("storage", LEGACY, &[]))
}

/// The bookmarks in a private storage result.
pub fn read_private_bookmarks(query: &Element) -> Vec<Bookmark> {
    let Some(storage) = query.get_child("storage", LEGACY) else { return Vec::new() };
    storage
        .children()
        .filter(|c| c.is("conference", LEGACY))
        .filter_map(|c| {
            let room = c.attr("jid")?.parse::<BareJid>().ok()?;
            Some(Bookmark {
                room,
                name: c.attr("name").map(str::to_string),
                nick: c.get_child("nick", LEGACY).map(|n| n.text()),
                full_history: read_group(c).is_some_and(|g| g.1),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bookmark {
        Bookmark {
            room: "launch@conference.localhost".parse().unwrap(),
            name: Some("Launch".into()),
            nick: Some("alice".into()),
            full_history: true,
        }
    }

    #[test]
    fn a_published_bookmark_reads_back_with_or_without_options() {
        for with_options in [true, false] {
            let pubsub = bookmark(&sample(), with_options);
            assert_eq!(pubsub.get_child("publish-options", ns::PUBSUB).is_some(), with_options);
            // The server's items answer carries the same item.
            let publish = pubsub.get_child("publish", ns::PUBSUB).unwrap().clone();
            let item = publish.get_child("item", ns::PUBSUB).unwrap().clone();
            let items = child(el("items", ns::PUBSUB, &[("node", BOOKMARKS2)]), item);
            let answer = child(el("pubsub", ns::PUBSUB, &[]), items);
            assert_eq!(read_bookmarks(&answer), [sample()]);
        }
    }

    #[test]
    fn private_storage_keeps_the_whole_list_and_our_details() {
        let mut other = sample();
        other.room = "ops@conference.localhost".parse().unwrap();
        other.full_history = false;
        other.nick = None;
        let q = private_bookmarks_set(&[sample(), other.clone()]);
        assert_eq!(read_private_bookmarks(&q), [sample(), other]);
        assert!(read_private_bookmarks(&private_bookmarks_get()).is_empty());
    }
}
