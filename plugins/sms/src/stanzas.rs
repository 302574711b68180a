//! The SMS convention's stanzas (docs/sms-gateway.md): the gateway's registration
//! (XEP-0077) and number prompt (XEP-0100), an SMS or one MMS file as a chat message
//! (XEP-0066 for the file, XEP-0184 for the gateway's receipt), and our element for a
//! sharer's copy. The generic ones (iq, disco, MAM, errors) come from `ucdesk-xmpp`.

pub use ucdesk_xmpp::stanza::*;

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Id, Lang, Message};
use tokio_xmpp::parsers::ns;
use ucdesk_sdk::contract::sms::Sharer;

pub const REGISTER: &str = "jabber:iq:register";
pub const GATEWAY: &str = "jabber:iq:gateway";
/// Our namespace: who shares a number (in the registration), and who sent a copy.
pub const UCDESK_SMS: &str = "urn:ucdesk:sms:0";

/// What the gateway's registration says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// The account's number; None: registered to no number.
    pub number: Option<String>,
    pub shared_with: Vec<Sharer>,
}

pub fn register_query() -> Element {
    el("query", REGISTER, &[])
}

/// Reads a `jabber:iq:register` answer: `<registered/>` with `<phone>` is a number.
pub fn read_registration(query: &Element) -> Registration {
    if !query.is("query", REGISTER) || query.get_child("registered", REGISTER).is_none() {
        return Registration::default();
    }
    let number =
        query.get_child("phone", REGISTER).map(|p| p.text().trim().to_string()).filter(|n| is_number(n));
    let shared_with = query
        .get_child("shared", UCDESK_SMS)
        .map(|s| {
            s.children()
                .filter(|u| u.is("user", UCDESK_SMS))
                .filter_map(|u| {
                    let jid = u.attr("jid")?.parse::<BareJid>().ok()?.to_string();
                    let name = u.attr("name").filter(|n| !n.trim().is_empty()).unwrap_or(&jid).to_string();
                    Some(Sharer { jid, name })
                })
                .collect()
        })
        .unwrap_or_default();
    Registration { number, shared_with }
}

/// XEP-0100: asks the gateway which address a typed number is.
pub fn prompt(typed: &str) -> Element {
    child(el("query", GATEWAY, &[]), with_text(el("prompt", GATEWAY, &[]), typed))
}

/// The address in a prompt answer (`<jid>` or the older `<prompt>`), when it is one
/// of the gateway's numbers.
pub fn read_prompt(query: &Element, gateway: &str) -> Option<String> {
    let jid = query.get_child("jid", GATEWAY).or_else(|| query.get_child("prompt", GATEWAY))?.text();
    number_of(&jid.trim().parse::<Jid>().ok()?, gateway)
}

/// Whether text is a number a gateway names a phone by: E.164 (`+` and up to 15
/// digits) or a short code (3 to 8 digits).
pub fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    let n = digits.len();
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && if s.starts_with('+') {
            (7..=15).contains(&n) && !digits.starts_with('0')
        } else {
            (3..=8).contains(&n)
        }
}

/// The phone number an address behind the gateway stands for.
pub fn number_of(jid: &Jid, gateway: &str) -> Option<String> {
    if jid.domain().as_str() != gateway {
        return None;
    }
    jid.node().map(|n| n.as_str().to_string()).filter(|n| is_number(n))
}

/// The address of a number behind the gateway.
pub fn address(number: &str, gateway: &str) -> Option<BareJid> {
    format!("{number}@{gateway}").parse().ok()
}

/// An SMS (or one MMS file, with its URL as the body too) to a number: the gateway
/// answers with a receipt once the carrier has it.
pub fn sms(to: BareJid, id: &str, body: &str, url: Option<&str>) -> Message {
    let mut m = Message::chat(Some(Jid::from(to)));
    m.id = Some(Id(id.to_string()));
    m.bodies.insert(Lang::default(), body.to_string());
    m.payloads.push(el("origin-id", ns::SID, &[("id", id)]));
    m.payloads.push(el("request", ns::RECEIPTS, &[]));
    if let Some(url) = url {
        m.payloads.push(child(el("x", OOB, &[]), with_text(el("url", OOB, &[]), url)));
    }
    m
}

/// The id a receipt confirms.
pub fn receipt(m: &Message) -> Option<String> {
    payload(m, "received", ns::RECEIPTS).and_then(|r| r.attr("id")).map(str::to_string)
}

/// A message's body.
pub fn body(m: &Message) -> Option<String> {
    m.bodies.values().next().cloned()
}

/// The file URL of an MMS part.
pub fn oob_url(m: &Message) -> Option<String> {
    payload(m, "x", OOB).and_then(|x| x.get_child("url", OOB)).map(|u| u.text().trim().to_string())
}

/// A sharer's copy: who sent it from the shared number.
pub fn sent_by(m: &Message) -> Option<Sharer> {
    let e = payload(m, "sms", UCDESK_SMS).filter(|e| e.attr("direction") == Some("out"))?;
    // An account's address (user@domain); anything else makes it an ordinary message.
    let jid = e.attr("by")?.parse::<BareJid>().ok().filter(|j| j.node().is_some())?.to_string();
    let name = e.attr("name").filter(|n| !n.trim().is_empty()).unwrap_or(&jid).to_string();
    Some(Sharer { jid, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_with_and_without_a_number() {
        let q: Element = "<query xmlns='jabber:iq:register'><registered/><phone>+15555550100</phone>\
            <shared xmlns='urn:ucdesk:sms:0'><user jid='bob@localhost' name='Bob'/><user jid='not a jid'/></shared></query>"
            .parse()
            .unwrap();
        let r = read_registration(&q);
        assert_eq!(r.number.as_deref(), Some("+15555550100"));
        assert_eq!(r.shared_with, vec![Sharer { jid: "bob@localhost".into(), name: "Bob".into() }]);
        let empty: Element =
            "<query xmlns='jabber:iq:register'><instructions>x</instructions><phone/></query>"
                .parse()
                .unwrap();
        assert_eq!(read_registration(&empty), Registration::default());
        let junk: Element =
            "<query xmlns='jabber:iq:register'><registered/><phone>call me</phone></query>".parse().unwrap();
        assert_eq!(read_registration(&junk).number, None);
    }

    #[test]
    fn numbers_and_addresses() {
        assert!(is_number("+15555550100"));
        assert!(is_number("12345"));
        assert!(!is_number("+0123456"));
        assert!(!is_number("+1 555"));
        assert!(!is_number("alice"));
        let jid: Jid = "+15555550100@sms.localhost".parse().unwrap();
        assert_eq!(number_of(&jid, "sms.localhost").as_deref(), Some("+15555550100"));
        assert_eq!(number_of(&jid, "other.localhost"), None);
        let q: Element =
            "<query xmlns='jabber:iq:gateway'><jid>+15555550200@sms.localhost</jid></query>".parse().unwrap();
        assert_eq!(read_prompt(&q, "sms.localhost").as_deref(), Some("+15555550200"));
    }

    #[test]
    fn a_sharers_copy_names_who_sent_it() {
        let m: Element = "<message xmlns='jabber:client' type='chat' from='+15555550200@sms.localhost' id='x'>\
            <body>hi</body><sms xmlns='urn:ucdesk:sms:0' direction='out' by='bob@localhost' name='Bob'/></message>"
            .parse()
            .unwrap();
        let m = Message::try_from(m).unwrap();
        assert_eq!(sent_by(&m), Some(Sharer { jid: "bob@localhost".into(), name: "Bob".into() }));
        let out = sms("+15555550200@sms.localhost".parse().unwrap(), "id1", "hello", Some("http://x/a.jpg"));
        assert_eq!(oob_url(&out).as_deref(), Some("http://x/a.jpg"));
    }
}
