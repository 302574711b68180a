//! vCards (3.0 and 4.0) as contacts and back. The `ical` crate splits cards into
//! properties and folds lines; it leaves values as written, so the text escapes of
//! RFC 6350 §3.4 (`\,` `\;` `\n` `\\`) are undone and applied here.

use ical::generator::Emitter;
use ical::parser::vcard::component::VcardContact;
use ical::property::Property;
use std::io::BufReader;
use ucdesk_sdk::contract::contacts::{Contact, PersonalContact, PhoneNumber};

/// The cards in `text`; a card that does not parse is skipped and counted.
pub fn parse(text: &str, source: &str) -> (Vec<Contact>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for card in ical::VcardParser::new(BufReader::new(text.as_bytes())) {
        match card.ok().and_then(|c| contact(&c, source)) {
            Some(c) => out.push(c),
            None => bad += 1,
        }
    }
    (out, bad)
}

fn contact(card: &VcardContact, source: &str) -> Option<Contact> {
    let value = |p: &Property| p.value.as_deref().map(unescape).unwrap_or_default();
    let first = |name: &str| {
        card.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(value)
            .filter(|v| !v.trim().is_empty())
    };
    let uid = first("UID")?;
    let name = first("FN").or_else(|| {
        let n = card.properties.iter().find(|p| p.name.eq_ignore_ascii_case("N"))?;
        let parts = components(n.value.as_deref().unwrap_or(""));
        let full = [parts.get(1), parts.get(2), parts.first()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        (!full.is_empty()).then_some(full)
    })?;
    let org = card
        .properties
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("ORG"))
        .map(|p| components(p.value.as_deref().unwrap_or("")));
    let mut c = Contact {
        id: uid,
        source: source.into(),
        name: name.trim().to_string(),
        company: org.as_ref().and_then(|o| o.first().cloned()).filter(|s| !s.is_empty()),
        department: org.as_ref().and_then(|o| o.get(1).cloned()).filter(|s| !s.is_empty()),
        title: first("TITLE"),
        ..Default::default()
    };
    for p in &card.properties {
        let v = value(p);
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match p.name.to_ascii_uppercase().as_str() {
            "TEL" => {
                let number = v.strip_prefix("tel:").unwrap_or(v).to_string();
                c.numbers.push(PhoneNumber { label: tel_label(p), number, e164: None });
            }
            "EMAIL" => c.emails.push(v.to_string()),
            "IMPP" | "X-JABBER" if c.jid.is_none() => {
                c.jid = Some(v.strip_prefix("xmpp:").unwrap_or(v).to_string())
            }
            _ => {}
        }
    }
    Some(c)
}

/// `TYPE=CELL` (or `TYPE=cell,voice`, or v3's bare `CELL`) as the contract's labels.
fn tel_label(p: &Property) -> String {
    let types: Vec<String> = p
        .params
        .iter()
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case("TYPE"))
        .flat_map(|(_, vs)| {
            vs.iter().flat_map(|v| v.split(',')).map(|v| v.trim_matches('"').to_ascii_lowercase())
        })
        .collect();
    let has = |t: &str| types.iter().any(|x| x == t);
    if has("cell") {
        "mobile".into()
    } else if has("fax") {
        "fax".into()
    } else if has("home") {
        "home".into()
    } else if has("work") || types.is_empty() {
        "work".into()
    } else {
        "other".into()
    }
}

/// The properties ucdesk writes; an edit replaces these and keeps every other one.
const OURS: [&str; 8] = ["VERSION", "UID", "FN", "N", "ORG", "TITLE", "TEL", "EMAIL"];

/// `c` written over the server's card `raw`: what ucdesk shows replaced, the rest
/// (photo, addresses, notes, birthdays, chat addresses) kept as it was.
pub fn update(raw: &str, c: &PersonalContact, uid: &str) -> String {
    let kept: Vec<Property> = ical::VcardParser::new(BufReader::new(raw.as_bytes()))
        .next()
        .and_then(Result::ok)
        .map(|card| {
            card.properties
                .into_iter()
                .filter(|p| !OURS.iter().any(|o| p.name.eq_ignore_ascii_case(o)))
                .collect()
        })
        .unwrap_or_default();
    let mut card = card(c, uid);
    card.properties.extend(kept);
    card.generate()
}

/// A personal contact as a vCard 3.0 (what every CardDAV server and phone reads).
pub fn emit(c: &PersonalContact, uid: &str) -> String {
    card(c, uid).generate()
}

fn card(c: &PersonalContact, uid: &str) -> VcardContact {
    let prop = |name: &str, params: Option<Vec<(String, Vec<String>)>>, value: String| Property {
        name: name.into(),
        params,
        value: Some(value),
    };
    let mut card = VcardContact::new();
    card.properties.push(prop("VERSION", None, "3.0".into()));
    card.properties.push(prop("UID", None, escape(uid)));
    card.properties.push(prop("FN", None, escape(&c.name)));
    // N is required in 3.0; the whole name as the family name keeps it lossless.
    card.properties.push(prop("N", None, format!("{};;;;", escape(&c.name))));
    if c.company.is_some() || c.department.is_some() {
        let org =
            [c.company.as_deref().unwrap_or(""), c.department.as_deref().unwrap_or("")].map(escape).join(";");
        card.properties.push(prop("ORG", None, org));
    }
    if let Some(t) = &c.title {
        card.properties.push(prop("TITLE", None, escape(t)));
    }
    for n in &c.numbers {
        let kind = match n.label.as_str() {
            "mobile" => "CELL",
            "home" => "HOME",
            "fax" => "FAX",
            "work" => "WORK",
            _ => "VOICE",
        };
        card.properties.push(prop("TEL", Some(vec![("TYPE".into(), vec![kind.into()])]), escape(&n.number)));
    }
    for e in &c.emails {
        card.properties.push(prop("EMAIL", None, escape(e)));
    }
    card
}

/// A structured value's components (`Family;Given;...`), unescaped.
fn components(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = v.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.last_mut().expect("one").push_str(&unescape(&format!("\\{next}")));
                }
            }
            ';' => out.push(String::new()),
            _ => out.last_mut().expect("one").push(ch),
        }
    }
    out
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace(',', "\\,").replace(';', "\\;").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_version_3_and_4_cards_with_escapes_and_types() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Carol\\, the Central\r\nORG:Lab Corp;Support\r\n\
TEL;TYPE=WORK,VOICE:+1 555 0300\r\nTEL;TYPE=CELL:+1 555 0301\r\nEMAIL;TYPE=INTERNET:carol@lab.test\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:42\r\nN:Doe;Jane;;;\r\nTEL;VALUE=uri;TYPE=\"cell,voice\":tel:+44-20-7946-0018\r\n\
IMPP:xmpp:jane@lab.test\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:No uid\r\nEND:VCARD\r\n";
        let (cards, bad) = parse(text, "carddav");
        assert_eq!(bad, 1, "a card without UID cannot be kept in step");
        assert_eq!(cards[0].name, "Carol, the Central");
        assert_eq!(
            (cards[0].company.as_deref(), cards[0].department.as_deref()),
            (Some("Lab Corp"), Some("Support"))
        );
        let labels: Vec<_> = cards[0].numbers.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["work", "mobile"]);
        assert_eq!(cards[1].name, "Jane Doe");
        assert_eq!(cards[1].numbers[0].number, "+44-20-7946-0018");
        assert_eq!(cards[1].numbers[0].label, "mobile");
        assert_eq!(cards[1].jid.as_deref(), Some("jane@lab.test"));
    }

    #[test]
    fn a_written_card_reads_back_the_same() {
        let c = PersonalContact {
            name: "O'Brien; Pat, Jr.".into(),
            company: Some("A\\B".into()),
            department: Some("Ops".into()),
            numbers: vec![PhoneNumber {
                label: "mobile".into(),
                number: "+353 1 555 0100".into(),
                e164: None,
            }],
            emails: vec!["pat@example.com".into()],
            ..Default::default()
        };
        let (back, bad) = parse(&emit(&c, "p-1"), "personal");
        assert_eq!(bad, 0);
        let b = &back[0];
        assert_eq!((b.id.as_str(), b.name.as_str()), ("p-1", "O'Brien; Pat, Jr."));
        assert_eq!((b.company.as_deref(), b.department.as_deref()), (Some("A\\B"), Some("Ops")));
        assert_eq!(b.numbers, c.numbers);
        assert_eq!(b.emails, c.emails);
        // Written over a card from a phone: its photo and note stay, its old name goes.
        let phone = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p-1\r\nFN:Old\r\nTEL:1\r\nPHOTO;VALUE=uri:https://x/p.jpg\r\nNOTE:Call after 5\r\nEND:VCARD\r\n";
        let merged = update(phone, &c, "p-1");
        assert!(
            merged.contains("PHOTO;VALUE=uri:https://x/p.jpg") && merged.contains("NOTE:Call after 5"),
            "{merged}"
        );
        assert!(!merged.contains("FN:Old") && !merged.contains("TEL:1\r\n"), "{merged}");
    }
}
