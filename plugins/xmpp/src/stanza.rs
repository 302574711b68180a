//! The stanzas that are no one plugin's business: building elements, iq requests,
//! stanza errors, MAM (XEP-0313) pages, forwarded messages, stable and archive ids
//! (XEP-0359), HTTP upload slots (XEP-0363), service discovery (XEP-0030) and ids.
//!
//! Payloads are read as plain elements by name and namespace: an unknown or malformed
//! child is ignored, never fatal.

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::minidom::rxml::NcName;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::stanza_error::StanzaError;

pub const OOB: &str = "jabber:x:oob";

pub const HTTP_UPLOAD: &str = "urn:xmpp:http:upload:0";

pub const HINTS: &str = "urn:xmpp:hints";

/// An element with attributes; names are static, so a bad one is a programming error.
pub fn el(name: &str, namespace: &str, attrs: &[(&str, &str)]) -> Element {
    let mut b = Element::builder(name, namespace);
    for (k, v) in attrs {
        b = b.attr(NcName::try_from(*k).expect("static attribute name"), *v);
    }
    b.build()
}

pub fn with_text(mut e: Element, text: &str) -> Element {
    e.append_text_node(text);
    e
}

pub fn child(parent: Element, c: Element) -> Element {
    let mut p = parent;
    p.append_child(c);
    p
}

pub fn iq_set(id: &str, to: Option<Jid>, payload: Element) -> Iq {
    Iq::Set { from: None, to, id: id.to_string(), payload }
}

pub fn iq_get(id: &str, to: Option<Jid>, payload: Element) -> Iq {
    Iq::Get { from: None, to, id: id.to_string(), payload }
}

/// A MAM page of up to `max` messages after archive id `after` (from the start when
/// None), oldest first.
pub fn mam_query(queryid: &str, after: Option<&str>, max: u32) -> Element {
    let mut set = el("set", ns::RSM, &[]);
    set.append_child(with_text(el("max", ns::RSM, &[]), &max.to_string()));
    if let Some(a) = after {
        set.append_child(with_text(el("after", ns::RSM, &[]), a));
    }
    child(el("query", ns::MAM, &[("queryid", queryid)]), set)
}

/// What a MAM `fin` says: whether the archive is exhausted, and the last id.
pub fn mam_fin(payload: &Element) -> Option<(bool, Option<String>)> {
    if !payload.is("fin", ns::MAM) {
        return None;
    }
    let complete = matches!(payload.attr("complete"), Some("true" | "1"));
    let last = payload.get_child("set", ns::RSM).and_then(|s| s.get_child("last", ns::RSM)).map(|l| l.text());
    Some((complete, last))
}

/// `<forwarded>`'s message and its delay stamp (RFC 3339 / XEP-0082).
pub fn forwarded(parent: &Element) -> Option<(Option<String>, Message)> {
    let fwd = parent.get_child("forwarded", ns::FORWARD)?;
    let stamp = fwd.get_child("delay", ns::DELAY).and_then(|d| d.attr("stamp")).map(str::to_string);
    let inner = fwd.children().find(|c| c.name() == "message")?.clone();
    let message = Message::try_from(inner).ok()?;
    Some((stamp, message))
}

/// The payload child `name` in `namespace`.
pub fn payload<'a>(m: &'a Message, name: &str, namespace: &str) -> Option<&'a Element> {
    m.payloads.iter().find(|p| p.is(name, namespace))
}

/// The message's stable id: origin-id, else the id attribute.
pub fn stable_id(m: &Message) -> Option<String> {
    payload(m, "origin-id", ns::SID)
        .and_then(|o| o.attr("id"))
        .map(str::to_string)
        .or_else(|| m.id.as_ref().map(|i| i.0.clone()))
        .filter(|s| !s.is_empty())
}

/// The archive id our own server stamped on a message.
pub fn archive_id(m: &Message, me: &BareJid) -> Option<String> {
    m.payloads
        .iter()
        .filter(|p| p.is("stanza-id", ns::SID))
        .find(|p| p.attr("by").and_then(|b| b.parse::<BareJid>().ok()).as_ref() == Some(me))
        .and_then(|p| p.attr("id"))
        .map(str::to_string)
}

/// Parses an RFC 3339 stamp to Unix milliseconds.
pub fn stamp_ms(stamp: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(stamp).ok().map(|t| t.timestamp_millis())
}

pub fn slot_request(name: &str, size: u64, mime: &str) -> Element {
    el("request", HTTP_UPLOAD, &[("filename", name), ("size", &size.to_string()), ("content-type", mime)])
}

/// An upload slot: (put url, headers to send with the PUT, get url).
pub type Slot = (String, Vec<(String, String)>, String);

/// The slot in a slot answer.
pub fn read_slot(slot: &Element) -> Option<Slot> {
    if !slot.is("slot", HTTP_UPLOAD) {
        return None;
    }
    let put = slot.get_child("put", HTTP_UPLOAD)?;
    let get = slot.get_child("get", HTTP_UPLOAD)?;
    let headers = put
        .children()
        .filter(|h| h.is("header", HTTP_UPLOAD))
        .filter_map(|h| Some((h.attr("name")?.to_string(), h.text())))
        .collect();
    Some((put.attr("url")?.to_string(), headers, get.attr("url")?.to_string()))
}

/// A random id (122 bits, UUID v4 text form).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random generator works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A disco#info query (to ask what an entity is and does).
pub fn disco_info() -> Element {
    el("query", ns::DISCO_INFO, &[])
}

/// A disco#items query (to list a server's components).
pub fn disco_items() -> Element {
    el("query", ns::DISCO_ITEMS, &[])
}

/// The JIDs a disco#items answer lists.
pub fn read_items(query: &Element) -> Vec<Jid> {
    query
        .children()
        .filter(|i| i.is("item", ns::DISCO_ITEMS))
        .filter_map(|i| i.attr("jid")?.parse().ok())
        .collect()
}

/// Whether a disco#info answer has the identity `category/kind`.
pub fn has_identity(query: &Element, category: &str, kind: &str) -> bool {
    query
        .children()
        .filter(|i| i.is("identity", ns::DISCO_INFO))
        .any(|i| i.attr("category") == Some(category) && i.attr("type") == Some(kind))
}

/// Whether a disco#info answer has the feature `var`.
pub fn has_feature(query: &Element, var: &str) -> bool {
    query.children().filter(|f| f.is("feature", ns::DISCO_INFO)).any(|f| f.attr("var") == Some(var))
}

/// A stanza error as a person reads it: its text when the sender gave one, else the
/// condition's name ("item-not-found").
pub fn error_text(e: &StanzaError) -> String {
    if let Some((_, text)) = e.texts.iter().next()
        && !text.trim().is_empty()
    {
        return text.trim().to_string();
    }
    let condition = Element::from(e.clone())
        .children()
        .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text")
        .map(|c| c.name().to_string());
    condition.unwrap_or_else(|| format!("{:?}", e.type_))
}

/// The `service-unavailable` error for a request we do not answer (RFC 6120 §8.4).
pub fn unavailable(to: Option<Jid>, id: String) -> Option<Iq> {
    let mut e = el("error", "jabber:client", &[("type", "cancel")]);
    e.append_child(el("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas", &[]));
    let error = StanzaError::try_from(e).ok()?;
    Some(Iq::Error { from: None, to, id, error, payload: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mam_fin_reads_completion_and_last_id() {
        let fin: Element =
            "<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'><last>L9</last></set></fin>"
                .parse()
                .unwrap();
        assert_eq!(mam_fin(&fin), Some((true, Some("L9".into()))));
    }

    #[test]
    fn errors_read_as_their_text_else_their_condition() {
        let with_text: Element = "<error xmlns='jabber:client' type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Number out of service</text></error>".parse().unwrap();
        assert_eq!(error_text(&StanzaError::try_from(with_text).unwrap()), "Number out of service");
        let bare: Element = "<error xmlns='jabber:client' type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>".parse().unwrap();
        assert_eq!(error_text(&StanzaError::try_from(bare).unwrap()), "item-not-found");
    }

    #[test]
    fn disco_answers_are_read_by_identity_and_feature() {
        let info: Element = "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='gateway' type='sms' name='SMS'/><feature var='jabber:iq:register'/></query>".parse().unwrap();
        assert!(has_identity(&info, "gateway", "sms"));
        assert!(!has_identity(&info, "conference", "text"));
        assert!(has_feature(&info, "jabber:iq:register"));
    }
}
