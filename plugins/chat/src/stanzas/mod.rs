//! Building and reading the stanzas the chat speaks: chat messages with origin-id,
//! receipts (XEP-0184), chat markers (XEP-0333), chat states (XEP-0085), replies
//! (XEP-0461, which xmpp-parsers lacks), carbons (XEP-0280), MAM (XEP-0313) queries and
//! results, and our presence extension; group chats' stanzas are in `groups`.
//!
//! Payloads are read as plain elements by name and namespace: an unknown or malformed
//! child is ignored, never fatal.

mod bookmarks;
mod cards;
mod groups;
mod room_form;

pub use bookmarks::*;
pub use cards::*;
pub use groups::*;
pub use room_form::*;
pub use ucdesk_xmpp::stanza::*;

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Id, Lang, Message, MessageType};
use tokio_xmpp::parsers::ns;
use ucdesk_sdk::contract::presence::{Device, Status};

pub const REPLY: &str = "urn:xmpp:reply:0";
/// Our presence extension: the exact status (XMPP's `show` cannot tell busy from do
/// not disturb), the device kind, and the phone's on-call state.
pub const UCDESK_PRESENCE: &str = "urn:ucdesk:presence:0";

/// A chat message we send: body, origin-id, receipt request, markable, active state.
pub fn chat(to: &BareJid, id: &str, body: &str, reply_to: Option<(&str, &str)>) -> Message {
    let mut m = Message::chat(Some(Jid::from(to.clone())));
    m.id = Some(Id(id.to_string()));
    m.bodies.insert(Lang::default(), body.to_string());
    m.payloads.push(el("origin-id", ns::SID, &[("id", id)]));
    m.payloads.push(el("request", ns::RECEIPTS, &[]));
    m.payloads.push(el("markable", ns::DISPLAYED_MARKERS, &[]));
    m.payloads.push(el("active", ns::CHATSTATES, &[]));
    if let Some((to, id)) = reply_to {
        m.payloads.push(el("reply", REPLY, &[("to", to), ("id", id)]));
    }
    m
}

/// A receipt or displayed marker for message `id`, archived so other devices see it.
pub fn marker(to: &Jid, kind: Marker, id: &str, own_id: &str) -> Message {
    let mut m = Message::chat(Some(to.clone()));
    m.id = Some(Id(own_id.to_string()));
    let payload = match kind {
        Marker::Received => el("received", ns::RECEIPTS, &[("id", id)]),
        Marker::Displayed => el("displayed", ns::DISPLAYED_MARKERS, &[("id", id)]),
    };
    m.payloads.push(payload);
    m.payloads.push(el("store", HINTS, &[]));
    m
}

/// A displayed marker in a group, so message info can say who has seen what.
pub fn group_marker(room: &BareJid, id: &str) -> Message {
    let mut m = Message::groupchat(Some(Jid::from(room.clone())));
    m.id = Some(Id(new_id()));
    m.payloads.push(el("displayed", ns::DISPLAYED_MARKERS, &[("id", id)]));
    m
}

#[derive(Debug, Clone, Copy)]
pub enum Marker {
    Received,
    Displayed,
}

pub fn chat_state(to: &BareJid, state: &str, group: bool) -> Message {
    let mut m = if group {
        Message::groupchat(Some(Jid::from(to.clone())))
    } else {
        Message::chat(Some(Jid::from(to.clone())))
    };
    m.payloads.push(el(state, ns::CHATSTATES, &[]));
    m.payloads.push(el("no-store", HINTS, &[]));
    m
}

pub fn is_chat(m: &Message) -> bool {
    matches!(m.type_, MessageType::Chat | MessageType::Normal)
}

/// Our presence, as XMPP `show`/`status` plus the extension element.
pub fn presence_payload(status: Status, on_call: bool) -> (Option<&'static str>, Element) {
    let show = match status {
        Status::Available | Status::Offline => None,
        Status::Away => Some("away"),
        Status::Busy | Status::Dnd => Some("dnd"),
    };
    let ext = el(
        "presence",
        UCDESK_PRESENCE,
        &[
            ("status", status.as_str()),
            ("device", "desktop"),
            ("on-call", if on_call { "true" } else { "false" }),
        ],
    );
    (show, ext)
}

/// A contact's status from `show` and our extension (when their client sends it).
pub fn read_status(show: Option<&str>, ext: Option<&Element>) -> (Status, Option<Device>, bool) {
    let from_show = match show {
        Some("away") | Some("xa") => Status::Away,
        Some("dnd") => Status::Dnd,
        _ => Status::Available,
    };
    let Some(ext) = ext else { return (from_show, None, false) };
    let status = match ext.attr("status") {
        Some("available") => Status::Available,
        Some("away") => Status::Away,
        Some("busy") => Status::Busy,
        Some("dnd") => Status::Dnd,
        _ => from_show,
    };
    let device = match ext.attr("device") {
        Some("desktop") => Some(Device::Desktop),
        Some("mobile") => Some(Device::Mobile),
        Some("web") => Some(Device::Web),
        _ => None,
    };
    (status, device, ext.attr("on-call") == Some("true"))
}

/// A data form field: room configuration, publish options and archive filters.
fn field(var: &str, value: &str) -> Element {
    child(el("field", ns::DATA_FORMS, &[("var", var)]), with_text(el("value", ns::DATA_FORMS, &[]), value))
}

/// A MAM page with a start time (RFC 3339): a member who joined an ordinary group
/// sees what was said since.
pub fn mam_query_since(queryid: &str, after: Option<&str>, start: Option<&str>, max: u32) -> Element {
    let mut q = mam_query(queryid, after, max);
    if let Some(start) = start {
        let mut form = el("x", ns::DATA_FORMS, &[("type", "submit")]);
        form.append_child(child(
            el("field", ns::DATA_FORMS, &[("var", "FORM_TYPE"), ("type", "hidden")]),
            with_text(el("value", ns::DATA_FORMS, &[]), ns::MAM),
        ));
        form.append_child(field("start", start));
        q.append_child(form);
    }
    q
}

// ---- Messages about messages: reactions (XEP-0444), retraction (XEP-0424), pins,
// forwards and mentions (XEP-0372 references) ----

pub const REACTIONS: &str = "urn:xmpp:reactions:0";
pub const RETRACT: &str = "urn:xmpp:message-retract:1";
pub const FALLBACK: &str = "urn:xmpp:fallback:0";
pub const REFERENCE: &str = "urn:xmpp:reference:0";
/// No XEP pins a message for everyone in a conversation: `<pin id='…'/>` pins (the
/// latest pin wins, one per conversation), `<unpin/>` clears. Archived like a message.
pub const UCDESK_PIN: &str = "urn:ucdesk:pin:0";
/// A forwarded copy names the original author: `<forwarded-from jid='…'/>`.
pub const UCDESK_FORWARD: &str = "urn:ucdesk:forward:0";

fn to_conversation(to: &BareJid, group: bool) -> Message {
    if group {
        Message::groupchat(Some(Jid::from(to.clone())))
    } else {
        Message::chat(Some(Jid::from(to.clone())))
    }
}

/// The sender's full current set of reactions to message `id`.
pub fn reactions(to: &BareJid, group: bool, id: &str, emojis: &[String]) -> Message {
    let mut m = to_conversation(to, group);
    m.id = Some(Id(new_id()));
    let mut r = el("reactions", REACTIONS, &[("id", id)]);
    for e in emojis {
        r.append_child(with_text(el("reaction", REACTIONS, &[]), e));
    }
    m.payloads.push(r);
    m.payloads.push(el("store", HINTS, &[]));
    m
}

/// Deletes message `id` for everyone; older clients see the fallback text.
pub fn retract(to: &BareJid, group: bool, id: &str) -> Message {
    let mut m = to_conversation(to, group);
    m.id = Some(Id(new_id()));
    m.bodies
        .insert(Lang::default(), "This person deleted a message, which your client does not support.".into());
    m.payloads.push(el("retract", RETRACT, &[("id", id)]));
    m.payloads.push(el("fallback", FALLBACK, &[("for", RETRACT)]));
    m.payloads.push(el("store", HINTS, &[]));
    m
}

pub fn pin(to: &BareJid, group: bool, id: Option<&str>) -> Message {
    let mut m = to_conversation(to, group);
    m.id = Some(Id(new_id()));
    m.payloads.push(match id {
        Some(id) => el("pin", UCDESK_PIN, &[("id", id)]),
        None => el("unpin", UCDESK_PIN, &[]),
    });
    m.payloads.push(el("store", HINTS, &[]));
    m
}

pub fn forwarded_from(jid: &str) -> Element {
    el("forwarded-from", UCDESK_FORWARD, &[("jid", jid)])
}

/// References for each `@name` in `body` that names one of `people` (by the local part
/// of their address, case-insensitive). Offsets are in characters (XEP-0372).
pub fn mentions(body: &str, people: &[BareJid]) -> Vec<Element> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' || (i > 0 && chars[i - 1].is_alphanumeric()) {
            continue;
        }
        let word: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '.' || **c == '_' || **c == '-')
            .collect();
        let word = word.trim_end_matches('.');
        if word.is_empty() {
            continue;
        }
        if let Some(p) =
            people.iter().find(|p| p.node().is_some_and(|n| n.as_str().eq_ignore_ascii_case(word)))
        {
            let (begin, end) = (i.to_string(), (i + 1 + word.chars().count()).to_string());
            let uri = format!("xmpp:{p}");
            out.push(el(
                "reference",
                REFERENCE,
                &[("type", "mention"), ("uri", &uri), ("begin", &begin), ("end", &end)],
            ));
        }
    }
    out
}

/// Whether the message mentions `me`: a mention reference, or `@me` in the text from a
/// client that sends no references.
pub fn mentions_me(m: &Message, body: &str, me: &BareJid) -> bool {
    let uri = format!("xmpp:{me}");
    if m.payloads.iter().any(|p| {
        p.is("reference", REFERENCE)
            && p.attr("type") == Some("mention")
            && p.attr("uri") == Some(uri.as_str())
    }) {
        return true;
    }
    !mentions(body, std::slice::from_ref(me)).is_empty()
}

// ---- Files: HTTP upload slots (XEP-0363), out-of-band URLs (XEP-0066) ----

/// Our description of an attached file, so receivers know name, size and type before
/// fetching: `<file name='…' size='…' mime='…' url='…'/>`. Other clients get the URL in
/// the body and an XEP-0066 element.
pub const UCDESK_FILE: &str = "urn:ucdesk:file:0";

pub const THUMBS: &str = "urn:xmpp:thumbs:1";

/// A file a message carries, as read off the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    pub mime: String,
    pub url: String,
    /// An image preview (XEP-0264 `<thumbnail uri='data:…'/>`).
    pub thumbnail: Option<String>,
}

pub fn file_elements(name: &str, size: u64, mime: &str, url: &str, thumbnail: Option<&str>) -> [Element; 2] {
    let mut file =
        el("file", UCDESK_FILE, &[("name", name), ("size", &size.to_string()), ("mime", mime), ("url", url)]);
    if let Some(uri) = thumbnail {
        file.append_child(el("thumbnail", THUMBS, &[("uri", uri), ("media-type", "image/jpeg")]));
    }
    [file, child(el("x", OOB, &[]), with_text(el("url", OOB, &[]), url))]
}

/// Each file a message carries: ours, or bare OOB URLs.
pub fn read_files(m: &Message) -> Vec<FileInfo> {
    let ours: Vec<FileInfo> = m
        .payloads
        .iter()
        .filter(|p| p.is("file", UCDESK_FILE))
        .filter_map(|f| {
            let url = f.attr("url")?.to_string();
            let name = f
                .attr("name")
                .map(str::to_string)
                .unwrap_or_else(|| url.rsplit('/').next().unwrap_or("file").to_string());
            let size = f.attr("size").and_then(|s| s.parse().ok()).unwrap_or(0);
            // Only small inline JPEG previews are kept: nothing is fetched to show one.
            let thumbnail = f
                .get_child("thumbnail", THUMBS)
                .and_then(|t| t.attr("uri"))
                .filter(|u| u.starts_with("data:image/jpeg;base64,") && u.len() <= 64 * 1024)
                .map(str::to_string);
            let mime = f.attr("mime").unwrap_or("application/octet-stream").to_string();
            Some(FileInfo { name, size, mime, url, thumbnail })
        })
        .collect();
    if !ours.is_empty() {
        return ours;
    }
    m.payloads
        .iter()
        .filter(|p| p.is("x", OOB))
        .filter_map(|x| x.get_child("url", OOB).map(|u| u.text()))
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|url| FileInfo {
            name: url.rsplit('/').next().unwrap_or("file").to_string(),
            size: 0,
            mime: "application/octet-stream".to_string(),
            url,
            thumbnail: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_message_carries_what_receivers_need() {
        let m = chat(&"bob@lab".parse().unwrap(), "abc", "hi", Some(("bob@lab", "x1")));
        assert_eq!(stable_id(&m).as_deref(), Some("abc"));
        assert!(payload(&m, "request", ns::RECEIPTS).is_some());
        assert!(payload(&m, "markable", ns::DISPLAYED_MARKERS).is_some());
        assert_eq!(payload(&m, "reply", REPLY).and_then(|r| r.attr("id")), Some("x1"));
    }

    #[test]
    fn mentions_name_people_by_local_part() {
        let people: Vec<BareJid> = vec!["bob@lab".parse().unwrap(), "carol@lab".parse().unwrap()];
        let refs = mentions("Hi @Bob, and @carol. not mail@bob nor @dave", &people);
        let got: Vec<(&str, &str, &str)> = refs
            .iter()
            .map(|r| (r.attr("uri").unwrap(), r.attr("begin").unwrap(), r.attr("end").unwrap()))
            .collect();
        assert_eq!(got, [("xmpp:bob@lab", "3", "7"), ("xmpp:carol@lab", "13", "19")]);
    }

    #[test]
    fn our_extension_tells_busy_from_dnd() {
        let (show, ext) = presence_payload(Status::Busy, true);
        assert_eq!(show, Some("dnd"));
        assert_eq!(read_status(show, Some(&ext)), (Status::Busy, Some(Device::Desktop), true));
        assert_eq!(read_status(Some("xa"), None), (Status::Away, None, false));
    }
}
