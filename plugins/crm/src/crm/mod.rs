//! CRM integrations: one [`CrmProvider`] per vendor (Salesforce, SugarCRM, Zoho CRM,
//! Dynamics 365, Bullhorn, Zendesk), each speaking its vendor's documented REST shapes
//! (docs/crm-vendors.md), and the [`Client`] that signs in, signs in again after a
//! 401, keeps rotated refresh tokens and turns the vendors' answers into the contacts
//! contract. Vendors differ in requests only; retries, errors and numbers are shared
//! (`http.rs`, `phone.rs`).

pub mod bullhorn;
pub mod dynamics;
pub mod http;
pub mod oauth;
/// Phone numbers read the way lookups need them (the shared `ucdesk-numbers`).
pub use ucdesk_numbers as phone;
pub mod salesforce;
pub mod sugar;
pub mod zendesk;
pub mod zoho;

use chrono::{DateTime, Utc};
pub use http::{CrmError, Http};
pub use oauth::{Authorize, Code, SignIn};
use phone::PhoneQuery;
use serde_json::Value;
use ucdesk_sdk::contract::contact::{Contact, PhoneNumber};
use ucdesk_sdk::contract::phone::{CallResult, Direction};

/// Pages a sync reads at most (a runaway cursor must end).
pub const MAX_PAGES: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Salesforce,
    Sugar,
    Zoho,
    Dynamics,
    Bullhorn,
    Zendesk,
}

impl Vendor {
    pub const ALL: [Vendor; 6] = [
        Vendor::Salesforce,
        Vendor::Sugar,
        Vendor::Zoho,
        Vendor::Dynamics,
        Vendor::Bullhorn,
        Vendor::Zendesk,
    ];

    /// The setting's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Salesforce => "salesforce",
            Vendor::Sugar => "sugar",
            Vendor::Zoho => "zoho",
            Vendor::Dynamics => "dynamics",
            Vendor::Bullhorn => "bullhorn",
            Vendor::Zendesk => "zendesk",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Vendor::Salesforce => "Salesforce",
            Vendor::Sugar => "SugarCRM",
            Vendor::Zoho => "Zoho CRM",
            Vendor::Dynamics => "Microsoft Dynamics 365",
            Vendor::Bullhorn => "Bullhorn",
            Vendor::Zendesk => "Zendesk",
        }
    }

    /// Whether its users sign in through the browser (OAuth's authorization code):
    /// every one but SugarCRM, whose API takes the user's password.
    pub fn browser_sign_in(self) -> bool {
        self != Vendor::Sugar
    }

    pub fn parse(word: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.as_str() == word)
    }
}

/// The account the user (or the policy) set up: the Authentication options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// The CRM's API address: Salesforce's instance (else the token's), Sugar's site,
    /// Zoho's API domain (else the token's), the Dataverse org, Bullhorn's
    /// rest-services (else the public one), the Zendesk subdomain.
    pub base_url: String,
    /// Where tokens come from when it is not the vendor's public sign-in server
    /// (Salesforce My Domain, Zoho's data centre, the Entra tenant, Bullhorn's cluster).
    pub auth_url: String,
    /// Where records open in a browser when it is not derived from the API address.
    pub web_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    pub api_token: String,
    pub refresh_token: String,
}

impl Account {
    /// `value`, or `default` when the user left it empty; without a trailing `/`.
    pub fn or(value: &str, default: &str) -> String {
        let v = if value.trim().is_empty() { default } else { value.trim() };
        v.trim_end_matches('/').to_string()
    }

    /// The refresh token, or what to do to have one.
    pub fn refresh(&self) -> Result<String, CrmError> {
        match self.refresh_token.trim() {
            "" => Err(CrmError::Config(
                "sign in (the CRM panel's Sign in), or set the refresh token in the CRM's Authentication options"
                    .into(),
            )),
            token => Ok(token.to_string()),
        }
    }

    pub fn need(value: &str, what: &str) -> Result<String, CrmError> {
        if value.trim().is_empty() {
            return Err(CrmError::Config(format!("set {what} in the CRM's Authentication options")));
        }
        Ok(value.trim().trim_end_matches('/').to_string())
    }
}

/// Which details a call's log carries (the Logging options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFields {
    pub subject: bool,
    pub direction: bool,
    pub duration: bool,
    pub result: bool,
    pub disposition: bool,
    pub notes: bool,
    pub recording: bool,
}

impl LogFields {
    pub const NAMES: [&'static str; 7] =
        ["subject", "direction", "duration", "result", "disposition", "notes", "recording"];

    pub fn from_names(names: &[String]) -> LogFields {
        let has = |n: &str| names.iter().any(|x| x.trim() == n);
        LogFields {
            subject: has("subject"),
            direction: has("direction"),
            duration: has("duration"),
            result: has("result"),
            disposition: has("disposition"),
            notes: has("notes"),
            recording: has("recording"),
        }
    }

    pub fn names(&self) -> Vec<String> {
        let on = [
            self.subject,
            self.direction,
            self.duration,
            self.result,
            self.disposition,
            self.notes,
            self.recording,
        ];
        LogFields::NAMES.iter().zip(on).filter(|(_, on)| *on).map(|(n, _)| n.to_string()).collect()
    }
}

/// A call to log, with what is known when it is logged.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLog {
    pub callid: String,
    pub direction: Direction,
    pub number: String,
    pub name: Option<String>,
    pub started: DateTime<Utc>,
    pub duration: u64,
    pub result: Option<CallResult>,
    /// The CRM record it is logged against (the match, or the user's pick).
    pub contact: Option<String>,
    pub disposition: Option<String>,
    pub notes: Option<String>,
    pub recording: Option<String>,
    pub fields: LogFields,
}

impl CallLog {
    pub fn inbound(&self) -> bool {
        self.direction == Direction::Inbound
    }

    pub fn answered(&self) -> bool {
        matches!(self.result, Some(CallResult::Answered) | None) && self.duration > 0
    }

    /// "Inbound call from Jane Doe (+12125550100)"; without the direction when it is
    /// not to be logged.
    pub fn subject(&self) -> String {
        let who = match &self.name {
            Some(name) if !name.is_empty() && *name != self.number => format!("{name} ({})", self.number),
            _ => self.number.clone(),
        };
        match (self.fields.direction, self.direction) {
            (true, Direction::Inbound) => format!("Inbound call from {who}"),
            (true, Direction::Outbound) => format!("Outbound call to {who}"),
            (false, _) => format!("Call with {who}"),
        }
    }

    pub fn ended(&self) -> DateTime<Utc> {
        self.started + chrono::Duration::seconds(self.duration as i64)
    }

    /// "mm:ss", as Zoho's Call_Duration takes it.
    pub fn mm_ss(&self) -> String {
        format!("{:02}:{:02}", self.duration / 60, self.duration % 60)
    }

    /// Whole minutes, rounded up so a 20 s call is not a 0-minute one.
    pub fn minutes(&self) -> u64 {
        self.duration.div_ceil(60)
    }

    /// The notes, result, disposition and recording as text, for CRMs without a column
    /// of their own for each: only the fields the user chose.
    pub fn description(&self) -> String {
        let mut lines = Vec::new();
        if let Some(n) = self.notes.as_deref().filter(|n| self.fields.notes && !n.is_empty()) {
            lines.push(n.to_string());
        }
        if self.fields.duration {
            lines.push(format!("Duration: {}", self.mm_ss()));
        }
        if let Some(r) = self.result.filter(|_| self.fields.result) {
            lines.push(format!("Result: {}", r.as_str()));
        }
        if let Some(d) = self.disposition.as_deref().filter(|d| self.fields.disposition && !d.is_empty()) {
            lines.push(format!("Disposition: {d}"));
        }
        if let Some(r) = self.recording.as_deref().filter(|r| self.fields.recording && !r.is_empty()) {
            lines.push(format!("Recording: {r}"));
        }
        lines.join("\n")
    }
}

/// One page of a contact listing and where the next one is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub contacts: Vec<Contact>,
    pub next: Option<String>,
}

/// One vendor. Reads take `&self`; only signing in changes the provider.
pub trait CrmProvider: Send {
    fn vendor(&self) -> Vendor;
    /// Whether a token is held (the first request signs in first).
    fn signed_in(&self) -> bool;
    /// Signs in (again): a refresh-token grant, a password grant, a session hop.
    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError>;
    /// The refresh token now valid, for vendors that rotate them on every refresh.
    fn refresh_token(&self) -> Option<String> {
        None
    }
    /// The CRM's sign-in page for the browser (the authorization code grant), for
    /// vendors that have one.
    fn authorize_url(&self, _grant: &Authorize) -> Result<String, CrmError> {
        Err(no_browser_sign_in(self.vendor()))
    }
    /// Redeems the code the browser came back with: signed in after, with a refresh
    /// token that [`CrmProvider::refresh_token`] answers.
    fn redeem(&mut self, _http: &Http, _code: &Code) -> Result<(), CrmError> {
        Err(no_browser_sign_in(self.vendor()))
    }
    /// Settings the sign-in learned that later sign-ins need (Zoho's data centre).
    fn learned(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Contacts with `number` (the vendor's own matching).
    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError>;
    /// Contacts by name or e-mail.
    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError>;
    /// Writes the call; answers the new record's id.
    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError>;
    /// One page of all contacts: the first with `None`, then the `next` it gave.
    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError>;
    /// Where record `id` opens in a browser.
    fn record_url(&self, id: &str) -> Option<String>;
}

fn no_browser_sign_in(vendor: Vendor) -> CrmError {
    CrmError::Config(format!(
        "{} signs in with the user name and password (or an API token), not in the browser",
        vendor.title()
    ))
}

/// Builds the provider for `vendor`.
pub fn provider(vendor: Vendor, account: Account) -> Box<dyn CrmProvider> {
    match vendor {
        Vendor::Salesforce => Box::new(salesforce::Salesforce::new(account)),
        Vendor::Sugar => Box::new(sugar::Sugar::new(account)),
        Vendor::Zoho => Box::new(zoho::Zoho::new(account)),
        Vendor::Dynamics => Box::new(dynamics::Dynamics::new(account)),
        Vendor::Bullhorn => Box::new(bullhorn::Bullhorn::new(account)),
        Vendor::Zendesk => Box::new(zendesk::Zendesk::new(account)),
    }
}

/// How a browser sign-in ended well.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    /// Settings later sign-ins need (setting name, value).
    pub learned: Vec<(&'static str, String)>,
    /// Whether the CRM gave a refresh token; without one (its app does not allow
    /// offline access) the next start has to sign in again.
    pub refresh_token: bool,
}

/// A provider with its HTTP agent: what the engine calls.
pub struct Client {
    provider: Box<dyn CrmProvider>,
    http: Http,
    country: String,
    refresh_token: Option<String>,
}

impl Client {
    pub fn new(provider: Box<dyn CrmProvider>, http: Http, country: &str) -> Client {
        Client { refresh_token: provider.refresh_token(), provider, http, country: country.to_string() }
    }

    pub fn vendor(&self) -> Vendor {
        self.provider.vendor()
    }

    /// A refresh token the vendor rotated since the last call, to keep in the keyring.
    pub fn rotated(&mut self) -> Option<String> {
        let now = self.provider.refresh_token();
        if now.is_some() && now != self.refresh_token {
            self.refresh_token = now.clone();
            return now;
        }
        None
    }

    /// Runs `f` signed in, signing in again once when the token was refused.
    fn authed<T>(
        &mut self,
        f: impl Fn(&dyn CrmProvider, &Http) -> Result<T, CrmError>,
    ) -> Result<T, CrmError> {
        if !self.provider.signed_in() {
            self.provider.authenticate(&self.http)?;
        }
        match f(self.provider.as_ref(), &self.http) {
            Err(CrmError::Unauthorized(_)) => {
                self.provider.authenticate(&self.http)?;
                f(self.provider.as_ref(), &self.http)
            }
            other => other,
        }
    }

    /// Signs in now (the panel's "Test connection").
    pub fn sign_in(&mut self) -> Result<(), CrmError> {
        self.provider.authenticate(&self.http)
    }

    /// Starts a browser sign-in: a listener on 127.0.0.1:`port` (0: any) for the
    /// redirect, and the CRM's page to open.
    pub fn begin_sign_in(&self, port: u16) -> Result<SignIn, CrmError> {
        SignIn::start(port, |grant| self.provider.authorize_url(grant))
    }

    /// Redeems what the browser came back with (from [`SignIn::wait`]). The new
    /// refresh token comes out of [`Client::rotated`].
    pub fn finish_sign_in(&mut self, code: &Code) -> Result<SignedIn, CrmError> {
        self.provider.redeem(&self.http, code)?;
        Ok(SignedIn {
            learned: self.provider.learned(),
            refresh_token: self.provider.refresh_token().is_some(),
        })
    }

    pub fn query(&self, number: &str) -> PhoneQuery {
        phone::query(number, &self.country)
    }

    /// The contacts with `number`, double-checked by digits: CRMs that compare text
    /// may return a longer number that contains ours.
    pub fn lookup(&mut self, number: &str) -> Result<(PhoneQuery, Vec<Contact>), CrmError> {
        let q = self.query(number);
        if q.digits.is_empty() && q.e164.is_none() {
            return Ok((q, Vec::new()));
        }
        let found = self.authed(|p, http| p.lookup(http, &q))?;
        let found: Vec<Contact> = found
            .into_iter()
            .map(|c| self.finish(c))
            .filter(|c| c.numbers.iter().any(|n| same_number(&n.number, &q.digits)))
            .collect();
        Ok((q, found))
    }

    pub fn search(&mut self, query: &str) -> Result<Vec<Contact>, CrmError> {
        let query = query.trim().to_string();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.authed(|p, http| p.search(http, &query))?;
        Ok(found.into_iter().map(|c| self.finish(c)).collect())
    }

    pub fn log(&mut self, call: &CallLog) -> Result<String, CrmError> {
        self.authed(|p, http| p.log_call(http, call))
    }

    /// One page of every contact: the first with `None`, then the `next` it gave.
    pub fn page(&mut self, next: Option<&str>) -> Result<Page, CrmError> {
        let page = self.authed(|p, http| p.contacts(http, next))?;
        Ok(Page { contacts: page.contacts.into_iter().map(|c| self.finish(c)).collect(), next: page.next })
    }

    /// Every contact, page by page; answers them and the number of pages read.
    pub fn sync(&mut self) -> Result<(Vec<Contact>, usize), CrmError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        for pages in 1..=MAX_PAGES {
            let page = self.page(next.as_deref())?;
            all.extend(page.contacts);
            match page.next {
                Some(n) if Some(&n) != next.as_ref() => next = Some(n),
                _ => return Ok((all, pages)),
            }
        }
        Err(CrmError::Malformed {
            what: "the contact list".into(),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    pub fn record_url(&self, id: &str) -> Option<String> {
        self.provider.record_url(id)
    }

    /// The contract's fields the vendors leave to us: source, E.164 forms, record URL.
    fn finish(&self, mut c: Contact) -> Contact {
        c.source = format!("crm:{}", self.vendor().as_str());
        c.numbers.retain(|n| !n.number.trim().is_empty());
        for n in &mut c.numbers {
            n.e164 = phone::e164(&n.number, &self.country);
        }
        c.emails.retain(|e| !e.trim().is_empty());
        if c.url.is_none() {
            c.url = self.record_url(&c.id);
        }
        c
    }
}

/// The digits rule: equal, or one ends with the other and the shorter has 7 digits or
/// more (a stored number with or without its country code).
pub fn same_number(stored: &str, digits: &str) -> bool {
    let stored: String = stored.chars().filter(char::is_ascii_digit).collect();
    if stored.is_empty() || digits.is_empty() {
        return false;
    }
    if stored == digits {
        return true;
    }
    let (short, long) =
        if stored.len() < digits.len() { (&stored, digits) } else { (&digits.to_string(), &*stored) };
    short.len() >= 7 && long.ends_with(short.as_str())
}

/// A JSON field as text: strings as they are, numbers written out, null and "" as None.
pub fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A contact's numbers from `(label, field)` pairs of a vendor's record.
pub fn numbers(v: &Value, fields: &[(&str, &str)]) -> Vec<PhoneNumber> {
    fields
        .iter()
        .filter_map(|(label, key)| {
            Some(PhoneNumber { label: label.to_string(), number: text(v, key)?, e164: None })
        })
        .collect()
}

/// The array at `key` of a listing, or a Malformed error naming `what`.
pub fn array<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a Vec<Value>, CrmError> {
    v.get(key).and_then(Value::as_array).ok_or_else(|| CrmError::Malformed {
        what: what.to_string(),
        detail: format!("no `{key}` list in the answer"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_with_or_without_country_code_but_not_by_a_few_digits() {
        assert!(same_number("(212) 555-0100", "2125550100"));
        assert!(same_number("+1 212-555-0100", "2125550100"));
        assert!(same_number("2001", "2001"));
        assert!(!same_number("+12125550101", "2125550100"));
        assert!(!same_number("100", "2125550100"));
        assert!(!same_number("", "2125550100"));
    }

    #[test]
    fn the_description_carries_only_the_chosen_fields() {
        let mut call = CallLog {
            callid: "c1".into(),
            direction: Direction::Inbound,
            number: "+12125550100".into(),
            name: Some("Jane Doe".into()),
            started: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            duration: 312,
            result: Some(CallResult::Answered),
            contact: None,
            disposition: Some("Sale".into()),
            notes: Some("wants a quote".into()),
            recording: None,
            fields: LogFields::from_names(&["subject".into(), "direction".into(), "notes".into()]),
        };
        assert_eq!(call.subject(), "Inbound call from Jane Doe (+12125550100)");
        assert_eq!(call.description(), "wants a quote");
        call.fields = LogFields::from_names(&LogFields::NAMES.map(String::from));
        assert_eq!(call.description(), "wants a quote\nDuration: 05:12\nResult: answered\nDisposition: Sale");
        assert_eq!((call.mm_ss().as_str(), call.minutes()), ("05:12", 6));
        call.fields.direction = false;
        assert_eq!(call.subject(), "Call with Jane Doe (+12125550100)");
    }
}
