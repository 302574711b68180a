//! A phone number as lookups and phone books need it (a library the CRM's lookups and
//! the contacts directory share, not a plugin): E.164 when it is a full number (national
//! numbers read in the account's country), the national digits the vendors that match
//! digits want, and the written forms that CRMs comparing text (Sugar's `$contains`,
//! Dataverse's `contains()`) may hold. Parsing is libphonenumber's, through the
//! `phonenumber` crate; an extension or a short code stays as typed.

use phonenumber::{Mode, country};

/// The shortest national number read as a phone number; shorter is an extension.
const MIN_NATIONAL_DIGITS: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneQuery {
    /// As the call or the user gave it.
    pub typed: String,
    /// `+12125550100`, when the number parses.
    pub e164: Option<String>,
    /// The digits a CRM's phone search compares (`2125550100`; an extension's own).
    pub digits: String,
    /// Every written form to look for where the CRM compares text, most likely first.
    pub variants: Vec<String>,
}

/// Reads `typed` (a number, or a `sip:`/`tel:` URI) in `country` (ISO 3166 alpha-2,
/// empty when unknown: then only numbers with a `+` parse).
pub fn query(typed: &str, country: &str) -> PhoneQuery {
    let bare = bare_number(typed);
    let digits_only: String = bare.chars().filter(char::is_ascii_digit).collect();
    let region = country.trim().to_ascii_uppercase().parse::<country::Id>().ok();
    let parsed = phonenumber::parse(region, &bare)
        .ok()
        .filter(|n| n.national().to_string().len() >= MIN_NATIONAL_DIGITS);
    let Some(n) = parsed else {
        let mut variants = vec![bare.clone()];
        if digits_only != bare && !digits_only.is_empty() {
            variants.push(digits_only.clone());
        }
        return PhoneQuery { typed: typed.to_string(), e164: None, digits: digits_only, variants };
    };
    let e164 = n.format().mode(Mode::E164).to_string();
    let national = n.national().to_string();
    let mut variants = vec![
        e164.clone(),
        n.format().mode(Mode::International).to_string(),
        n.format().mode(Mode::National).to_string(),
        national.clone(),
    ];
    variants.dedup();
    PhoneQuery { typed: typed.to_string(), e164: Some(e164), digits: national, variants }
}

/// The E.164 form of a contact's number, when it has one.
pub fn e164(number: &str, country: &str) -> Option<String> {
    query(number, country).e164
}

/// The number inside `sip:2125550100@pbx;user=phone` or `tel:+1-212-555-0100`.
fn bare_number(typed: &str) -> String {
    let t = typed.trim();
    let t = t.strip_prefix("sip:").or_else(|| t.strip_prefix("sips:")).unwrap_or(t);
    let t = t.strip_prefix("tel:").unwrap_or(t);
    let t = t.split(['@', ';']).next().unwrap_or(t);
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_read_in_the_accounts_country() {
        let q = query("2125550100", "us");
        assert_eq!(q.e164.as_deref(), Some("+12125550100"));
        assert_eq!(q.digits, "2125550100");
        assert!(q.variants.contains(&"(212) 555-0100".to_string()), "{:?}", q.variants);
        assert!(q.variants.contains(&"+1 212-555-0100".to_string()), "{:?}", q.variants);
        let gb = query("020 7946 0018", "GB");
        assert_eq!(gb.e164.as_deref(), Some("+442079460018"));
        assert_eq!(gb.digits, "2079460018");
    }

    #[test]
    fn full_numbers_and_uris_parse_without_a_country() {
        assert_eq!(query("+1 (212) 555-0100", "").e164.as_deref(), Some("+12125550100"));
        assert_eq!(query("sip:+12125550100@pbx;user=phone", "").e164.as_deref(), Some("+12125550100"));
        assert_eq!(query("tel:+44-20-7946-0018", "").e164.as_deref(), Some("+442079460018"));
        assert_eq!(query("00442079460018", "DE").e164.as_deref(), Some("+442079460018"));
    }

    #[test]
    fn extensions_and_names_stay_as_typed() {
        let ext = query("2001", "US");
        assert_eq!((ext.e164, ext.digits.as_str()), (None, "2001"));
        assert_eq!(ext.variants, vec!["2001".to_string()]);
        let user = query("sip:carol@pbx", "US");
        assert_eq!(user.e164, None);
        assert_eq!(user.variants, vec!["carol".to_string()]);
        assert!(user.digits.is_empty());
        // A national number with no country to read it in is not guessed at.
        assert_eq!(query("2125550100", "").e164, None);
    }
}
