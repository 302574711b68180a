//! What the user typed → what goes on the wire: speed dial, dialing rules, US/UK
//! detection and E.164 formatting, in that order (the manual's Phone → Dialing rules,
//! Speed Dial and "Detect and format USA and UK phone numbers").
//!
//! Rules are settings (lists of strings) so an admin can preset or lock them:
//! - `softphone.dialing_rules`: `"061 -> 0038761"` replaces text anywhere;
//!   `"re:^061(\d{6})$ -> 0038761$1"` is a regular expression (`\1` works like `$1`).
//! - `softphone.speed_dial`: `"7 = 061-123-456"`, slots 1 to 99, dialed as `#7`.

use regex::Regex;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DialError {
    #[error("nothing to dial")]
    Empty,
    #[error("speed dial #{0} is not set")]
    SpeedDialUnset(u8),
    #[error("speed dial slots are 1 to 99, got {0:?}")]
    SpeedDialSlot(String),
    #[error("dialing rule {rule:?}: {why}")]
    BadRule { rule: String, why: String },
    #[error("{0:?} is not a number or SIP address")]
    NotDialable(String),
}

/// One dialing rule.
#[derive(Debug, Clone)]
enum Rule {
    Text { find: String, replace: String },
    Regex { re: Regex, replace: String },
}

/// The user's dialing preferences, parsed once per settings change.
#[derive(Debug, Clone, Default)]
pub struct DialPlan {
    rules: Vec<Rule>,
    speed: BTreeMap<u8, String>,
    /// "Detect and format USA and UK phone numbers for outbound calls".
    pub detect_us_uk: bool,
    /// Format national numbers as E.164 (`+<country><number>`).
    pub e164: bool,
    /// Country calling code used for national numbers, e.g. `1`, `44`, `387`.
    pub country_code: String,
}

impl DialPlan {
    /// Parses the settings; a bad rule is an error naming it, never silently skipped.
    pub fn new(rules: &[String], speed_dial: &[String]) -> Result<DialPlan, DialError> {
        let mut plan = DialPlan::default();
        let back_reference = Regex::new(r"\\(\d+)").expect("static pattern");
        for line in rules.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
            let bad = |why: &str| DialError::BadRule { rule: line.to_string(), why: why.to_string() };
            let (find, replace) = line.split_once("->").ok_or_else(|| bad("expected 'find -> replace'"))?;
            let (find, replace) = (find.trim(), replace.trim().to_string());
            let rule = match find.strip_prefix("re:") {
                Some(pattern) => {
                    let re = Regex::new(pattern.trim()).map_err(|e| bad(&e.to_string()))?;
                    // The manual writes back-references as \1; regex wants ${1}.
                    let replace = back_reference.replace_all(&replace, "$${$1}").into_owned();
                    Rule::Regex { re, replace }
                }
                None if find.is_empty() => return Err(bad("nothing to find")),
                None => Rule::Text { find: find.to_string(), replace },
            };
            plan.rules.push(rule);
        }
        for entry in speed_dial.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let (slot, number) =
                entry.split_once('=').ok_or_else(|| DialError::SpeedDialSlot(entry.to_string()))?;
            let slot: u8 = slot
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=99).contains(n))
                .ok_or_else(|| DialError::SpeedDialSlot(slot.trim().to_string()))?;
            plan.speed.insert(slot, number.trim().to_string());
        }
        Ok(plan)
    }

    /// The speed-dial table, for the preferences view.
    pub fn speed_dial(&self) -> &BTreeMap<u8, String> {
        &self.speed
    }

    /// Turns what the user typed into what is dialed. SIP addresses pass unchanged.
    pub fn apply(&self, input: &str) -> Result<String, DialError> {
        // `tel:`/`callto:` links name a number; the contract's reading of them is the one
        // the window and the daemon give a handed-over link.
        let mut number = ucdesk_sdk::contract::phone::link_number(input);
        if number.is_empty() {
            return Err(DialError::Empty);
        }
        if is_sip_address(&number) || is_user_name(&number) {
            return Ok(number);
        }
        if let Some(slot) = number.strip_prefix('#').filter(|s| s.chars().all(|c| c.is_ascii_digit())) {
            let n: u8 = slot
                .parse()
                .ok()
                .filter(|n| (1..=99).contains(n))
                .ok_or_else(|| DialError::SpeedDialSlot(slot.to_string()))?;
            number = self.speed.get(&n).cloned().ok_or(DialError::SpeedDialUnset(n))?;
        }
        for rule in &self.rules {
            number = match rule {
                Rule::Text { find, replace } => number.replace(find.as_str(), replace),
                Rule::Regex { re, replace } => re.replace_all(&number, replace.as_str()).into_owned(),
            };
        }
        let mut number = strip_separators(&number);
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || "+*#".contains(c)) {
            return Err(DialError::NotDialable(input.to_string()));
        }
        if self.detect_us_uk {
            number = detect_us_uk(&number);
        }
        if self.e164 {
            number = to_e164(&number, &self.country_code);
        }
        Ok(number)
    }
}

/// `sip:`/`sips:` URIs and `user@host` are addresses, not numbers.
pub fn is_sip_address(s: &str) -> bool {
    s.starts_with("sip:") || s.starts_with("sips:") || s.contains('@')
}

/// The SIP URI a dialed number (after the dialing rules) names: a SIP address as it
/// is (`sip:` added when it has no scheme), anything else a user at `domain`. A call, a
/// blind transfer's Refer-To and anything else we send a number to go through here.
pub fn sip_uri(number: &str, domain: &str) -> String {
    if is_sip_address(number) {
        if number.starts_with("sip") { number.to_string() } else { format!("sip:{number}") }
    } else {
        format!("sip:{number}@{domain}")
    }
}

/// A SIP user name such as `bob` or `sales.desk`: letters make it a name, not a number.
pub fn is_user_name(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphabetic())
        && !s.starts_with(['+', '#'])
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Drops the visual separators people type and paste: spaces, dashes, dots, brackets.
pub fn strip_separators(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}')).collect()
}

/// Local US numbers (10 digits with a NANP area code 2-9, or 1 + those) and UK national
/// numbers (0 + 10 digits) become international; the two shapes never overlap.
fn detect_us_uk(n: &str) -> String {
    if !n.chars().all(|c| c.is_ascii_digit()) {
        return n.to_string();
    }
    let b = n.as_bytes();
    match n.len() {
        10 if matches!(b[0], b'2'..=b'9') => format!("+1{n}"),
        11 if b[0] == b'1' && matches!(b[1], b'2'..=b'9') => format!("+{n}"),
        11 if b[0] == b'0' && b[1] != b'0' => format!("+44{}", &n[1..]),
        _ => n.to_string(),
    }
}

/// `00…` → `+…`; a national `0…` → `+<cc>…` when the country code is known.
fn to_e164(n: &str, country_code: &str) -> String {
    if n.starts_with('+') || n.contains(['*', '#']) {
        return n.to_string();
    }
    if let Some(rest) = n.strip_prefix("00") {
        return format!("+{rest}");
    }
    match n.strip_prefix('0') {
        Some(rest) if !country_code.is_empty() => format!("+{country_code}{rest}"),
        _ => n.to_string(),
    }
}

/// The keypad's long press: `0` becomes `+`, every other key itself (manual: "press and
/// hold the 0 key ... will display the + sign"). Wired to the keypad once the view
/// protocol reports long presses.
#[allow(dead_code)]
pub fn long_press(key: char) -> char {
    if key == '0' { '+' } else { key }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rules: &[&str], speed: &[&str]) -> DialPlan {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        DialPlan::new(&s(rules), &s(speed)).unwrap()
    }

    #[test]
    fn text_rule_replaces_anywhere_as_the_manual_says() {
        let p = plan(&["061 -> 0038761"], &[]);
        assert_eq!(p.apply("061-123-456").unwrap(), "0038761123456");
        assert_eq!(p.apply("123 061").unwrap(), "1230038761");
    }

    #[test]
    fn regex_rule_replaces_only_what_matches() {
        let p = plan(&[r"re:^061-?(\d{3})-?(\d{3})$ -> 0038761\1\2"], &[]);
        assert_eq!(p.apply("061-123-456").unwrap(), "0038761123456");
        assert_eq!(p.apply("555061").unwrap(), "555061");
    }

    #[test]
    fn speed_dial_then_rules() {
        let p = plan(&["061 -> 0038761"], &["7 = 061-123-456", "99=100"]);
        assert_eq!(p.apply("#7").unwrap(), "0038761123456");
        assert_eq!(p.apply("#99").unwrap(), "100");
        assert_eq!(p.apply("#8"), Err(DialError::SpeedDialUnset(8)));
        assert!(matches!(p.apply("#100"), Err(DialError::SpeedDialSlot(_))));
        assert!(DialPlan::new(&[], &["0=1".into()]).is_err());
    }

    #[test]
    fn bad_rules_are_reported() {
        assert!(matches!(DialPlan::new(&["061 0038761".into()], &[]), Err(DialError::BadRule { .. })));
        assert!(matches!(DialPlan::new(&["re:( -> x".into()], &[]), Err(DialError::BadRule { .. })));
    }

    #[test]
    fn us_uk_detection_and_e164() {
        let mut p = plan(&[], &[]);
        p.detect_us_uk = true;
        assert_eq!(p.apply("(212) 555-0100").unwrap(), "+12125550100");
        assert_eq!(p.apply("1 212 555 0100").unwrap(), "+12125550100");
        assert_eq!(p.apply("020 7946 0018").unwrap(), "+442079460018");
        assert_eq!(p.apply("100").unwrap(), "100");
        p.detect_us_uk = false;
        p.e164 = true;
        p.country_code = "387".into();
        assert_eq!(p.apply("061 123 456").unwrap(), "+38761123456");
        assert_eq!(p.apply("0044 20 7946 0018").unwrap(), "+442079460018");
        assert_eq!(p.apply("*72").unwrap(), "*72");
    }

    #[test]
    fn addresses_pass_and_junk_is_refused() {
        let p = plan(&["1 -> 2"], &[]);
        assert_eq!(p.apply("sip:bob@example.com").unwrap(), "sip:bob@example.com");
        assert_eq!(p.apply("bob@example.com").unwrap(), "bob@example.com");
        assert_eq!(p.apply("bob").unwrap(), "bob", "user names pass, rules are for numbers");
        assert!(matches!(p.apply("call me"), Err(DialError::NotDialable(_))));
        assert_eq!(p.apply("  "), Err(DialError::Empty));
        assert_eq!(long_press('0'), '+');
        assert_eq!(p.apply("tel:+1-212-555-0100;phone-context=x").unwrap(), "+22225550200");
        assert_eq!(plan(&[], &[]).apply("callto://+12125550100").unwrap(), "+12125550100");
        assert_eq!(plan(&[], &[]).apply("TEL:100").unwrap(), "100");
        assert_eq!(long_press('5'), '5');
    }

    #[test]
    fn numbers_and_addresses_become_sip_uris() {
        assert_eq!(sip_uri("100", "pbx.example.com:5070"), "sip:100@pbx.example.com:5070");
        assert_eq!(sip_uri("+12125550100", "pbx"), "sip:+12125550100@pbx");
        assert_eq!(sip_uri("bob@example.com", "pbx"), "sip:bob@example.com");
        assert_eq!(sip_uri("sip:bob@example.com", "pbx"), "sip:bob@example.com");
        assert_eq!(sip_uri("sips:bob@example.com", "pbx"), "sips:bob@example.com");
    }
}
