//! Contact cards: XEP-0292 (vCard4 over XMPP), asked with the server's
//! `urn:ietf:params:xml:ns:vcard-4.0` iq on the contact's bare address. Only the full
//! name and the phone numbers are read: the contact rows carry them, so another
//! plugin's contact action (the SMS module's "Send SMS") has a number to work with.
//!
//! A card is the contact's own text: everything is bounded and anything odd is
//! skipped, never fatal.

use super::el;
use tokio_xmpp::minidom::Element;
use ucdesk_sdk::contract::contact::PhoneNumber;

pub const VCARD4: &str = "urn:ietf:params:xml:ns:vcard-4.0";

/// At most this many numbers are kept from one card, each at most this long.
const MAX_NUMBERS: usize = 10;
const MAX_NUMBER_LEN: usize = 40;
const MAX_NAME_LEN: usize = 200;

/// What a contact's card says that we use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card {
    pub name: Option<String>,
    pub numbers: Vec<PhoneNumber>,
}

/// The request's payload.
pub fn card_get() -> Element {
    el("vcard", VCARD4, &[])
}

/// Reads a `<vcard/>`; None when the payload is not one.
pub fn read_card(vcard: &Element) -> Option<Card> {
    if !vcard.is("vcard", VCARD4) {
        return None;
    }
    let name = vcard
        .get_child("fn", VCARD4)
        .and_then(|f| f.get_child("text", VCARD4))
        .map(|t| shown(&t.text()))
        .filter(|n| !n.is_empty());
    let numbers =
        vcard.children().filter(|c| c.is("tel", VCARD4)).filter_map(read_tel).take(MAX_NUMBERS).collect();
    Some(Card { name, numbers })
}

/// A name as the rows show it: no control characters, nor the bidirectional overrides
/// that would make a name read as something else; bounded.
fn shown(name: &str) -> String {
    let bidi =
        |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
    name.chars()
        .filter(|c| !c.is_control() && !bidi(*c))
        .take(MAX_NAME_LEN)
        .collect::<String>()
        .trim()
        .to_string()
}

/// One `<tel/>`: its value (a `tel:` URI or text) and its type parameters.
fn read_tel(tel: &Element) -> Option<PhoneNumber> {
    let value = tel.get_child("uri", VCARD4).or_else(|| tel.get_child("text", VCARD4))?.text();
    let value = value.trim();
    // RFC 3966: tel:+1-555-555-0100;ext=12 -> the number part.
    let number = value.strip_prefix("tel:").unwrap_or(value).split(';').next().unwrap_or_default().trim();
    if number.is_empty()
        || number.len() > MAX_NUMBER_LEN
        || !number.chars().all(|c| c.is_ascii_digit() || "+-. ()*#".contains(c))
    {
        return None;
    }
    let types: Vec<String> = tel
        .get_child("parameters", VCARD4)
        .and_then(|p| p.get_child("type", VCARD4))
        .map(|t| {
            t.children().filter(|c| c.is("text", VCARD4)).map(|c| c.text().to_ascii_lowercase()).collect()
        })
        .unwrap_or_default();
    let has = |t: &str| types.iter().any(|x| x == t);
    let label = if has("cell") {
        "mobile"
    } else if has("work") {
        "work"
    } else if has("home") {
        "home"
    } else {
        "other"
    };
    Some(PhoneNumber { label: label.into(), number: number.to_string(), e164: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(xml: &str) -> Option<Card> {
        read_card(&xml.parse::<Element>().unwrap())
    }

    #[test]
    fn names_and_numbers_with_their_labels() {
        let c = card(
            "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>\
               <fn><text> Bob Builder </text></fn>\
               <tel><parameters><type><text>work</text><text>voice</text></type></parameters>\
                 <uri>tel:+1-555-555-0301;ext=7</uri></tel>\
               <tel><parameters><type><text>cell</text></type></parameters><uri>tel:+15555550302</uri></tel>\
               <tel><text>+44 20 7946 0000</text></tel>\
             </vcard>",
        )
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("Bob Builder"));
        let got: Vec<(&str, &str)> =
            c.numbers.iter().map(|n| (n.label.as_str(), n.number.as_str())).collect();
        assert_eq!(
            got,
            [("work", "+1-555-555-0301"), ("mobile", "+15555550302"), ("other", "+44 20 7946 0000")]
        );
    }

    #[test]
    fn odd_cards_are_skipped_not_fatal() {
        assert_eq!(card("<vCard xmlns='vcard-temp'/>"), None);
        let many: String = (0..50).map(|i| format!("<tel><uri>tel:+1555000{i:04}</uri></tel>")).collect();
        let c = card(&format!(
            "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>{many}\
               <tel><uri>javascript:alert(1)</uri></tel><tel><uri>tel:</uri></tel><tel/></vcard>"
        ))
        .unwrap();
        assert_eq!(c.numbers.len(), MAX_NUMBERS);
        assert_eq!(c.name, None);
        let odd = card(
            "<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Eve\u{202e}gpj.exe\t</text></fn></vcard>",
        )
        .unwrap();
        assert_eq!(odd.name.as_deref(), Some("Evegpj.exe"));
    }
}
