//! Bullhorn (REST API): the browser sign-in (`/oauth/authorize`, a code redeemed at
//! `/oauth/token`), then the single-use refresh token at the OAuth server buys a 10-minute
//! access token, which `/rest-services/login` turns into a session (`BhRestToken` and the
//! cluster's `restUrl`); a 401 from the API means both hops again. Lucene
//! `search/ClientContact` for numbers and names, a Note on the person for the log,
//! `start`/`count`/`total` for the sync. Shapes: docs/crm-vendors.md §5.

use super::http::{Body, Http, Request, url};
use super::oauth::{self, Authorize, Code};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, numbers, text};
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::Contact;

const FIELDS: &str =
    "id,firstName,lastName,name,phone,phone2,phone3,mobile,email,occupation,clientCorporation";
const PHONES: [(&str, &str); 4] =
    [("work", "phone"), ("mobile", "mobile"), ("other", "phone2"), ("other", "phone3")];
const PAGE: u64 = 200;

pub struct Bullhorn {
    account: Account,
    session: Option<Session>,
}

struct Session {
    rest_token: String,
    rest_url: String,
}

impl Bullhorn {
    pub fn new(account: Account) -> Bullhorn {
        Bullhorn { account, session: None }
    }

    /// The cluster's OAuth server.
    fn oauth(&self) -> String {
        Account::or(&self.account.auth_url, "https://auth.bullhornstaffing.com/oauth")
    }

    /// A grant at the OAuth server (parameters in the query, as Bullhorn documents
    /// them), then its access token turned into a REST session.
    fn grant(&mut self, http: &Http, grant: &[(&str, &str)]) -> Result<(), CrmError> {
        let client_id = Account::need(&self.account.client_id, "the client id")?;
        let mut query =
            vec![("client_id", client_id.as_str()), ("client_secret", &self.account.client_secret)];
        query.extend_from_slice(grant);
        let target = url(&format!("{}/token", self.oauth()), &query);
        let (answer, access) = oauth::token_request(http, &Request::post(target, Body::None, "the sign-in"))?;
        // Single use: the old refresh token is dead from here on, keep the new one.
        if let Some(r) = text(&answer, "refresh_token") {
            self.account.refresh_token = r;
        }
        let rest = Account::or(&self.account.base_url, "https://rest.bullhornstaffing.com/rest-services");
        let login = url(&format!("{rest}/login"), &[("version", "*"), ("access_token", &access)]);
        let session: Value = http
            .send(&Request::post(login, Body::None, "the session login"))
            .map_err(|e| match e {
                CrmError::Refused { message, .. } => CrmError::Unauthorized(message),
                e => e,
            })?
            .json()?;
        let (Some(rest_token), Some(rest_url)) = (text(&session, "BhRestToken"), text(&session, "restUrl"))
        else {
            return Err(CrmError::Malformed {
                what: "the session login".into(),
                detail: "no BhRestToken or restUrl".into(),
            });
        };
        let rest_url = if rest_url.ends_with('/') { rest_url } else { format!("{rest_url}/") };
        self.session = Some(Session { rest_token, rest_url });
        Ok(())
    }

    fn session(&self) -> (&str, &str) {
        self.session.as_ref().map(|s| (s.rest_url.as_str(), s.rest_token.as_str())).unwrap_or_default()
    }

    fn search_query(
        &self,
        http: &Http,
        query: &str,
        start: u64,
        what: &'static str,
    ) -> Result<Value, CrmError> {
        let (rest, token) = self.session();
        let (count, start) = (PAGE.to_string(), start.to_string());
        let target = url(
            &format!("{rest}search/ClientContact"),
            &[("query", query), ("fields", FIELDS), ("count", &count), ("start", &start), ("sort", "id")],
        );
        http.send(&Request::get(target, what).header("BhRestToken", token))?.json()
    }
}

/// A Lucene term's value: quoted, with `"` and `\` escaped.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn contact(v: &Value) -> Option<Contact> {
    let name = text(v, "name").or_else(|| {
        let parts: Vec<String> = ["firstName", "lastName"].iter().filter_map(|k| text(v, k)).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    Some(Contact {
        id: text(v, "id")?,
        name: name.unwrap_or_default(),
        company: v.get("clientCorporation").and_then(|c| text(c, "name")),
        title: text(v, "occupation"),
        numbers: numbers(v, &PHONES),
        emails: text(v, "email").into_iter().collect(),
        ..Default::default()
    })
}

fn found(answer: &Value, what: &str) -> Result<Vec<Contact>, CrmError> {
    Ok(array(answer, "data", what)?.iter().filter_map(contact).collect())
}

impl CrmProvider for Bullhorn {
    fn vendor(&self) -> Vendor {
        Vendor::Bullhorn
    }

    fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        let refresh = self.account.refresh()?;
        self.grant(http, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
    }

    fn authorize_url(&self, grant: &Authorize) -> Result<String, CrmError> {
        let client_id = Account::need(&self.account.client_id, "the client id")?;
        Ok(url(
            &format!("{}/authorize", self.oauth()),
            &[
                ("client_id", &client_id),
                ("response_type", "code"),
                ("redirect_uri", &grant.redirect),
                ("state", &grant.state),
            ],
        ))
    }

    fn redeem(&mut self, http: &Http, code: &Code) -> Result<(), CrmError> {
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("redirect_uri", code.redirect.as_str()),
        ];
        self.grant(http, &grant)
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.account.refresh_token.clone()).filter(|t| !t.is_empty())
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        let fields = ["phone", "phone2", "phone3", "mobile"];
        let terms: Vec<String> = fields.iter().map(|f| format!("{f}:{}", quoted(&number.digits))).collect();
        let query = format!("({}) AND isDeleted:false", terms.join(" OR "));
        found(&self.search_query(http, &query, 0, "the lookup")?, "the lookup")
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let words: String =
            query.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '@' || *c == '.').collect();
        let terms: Vec<String> = words.split_whitespace().map(|w| format!("name:{w}*")).collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("{} AND isDeleted:false", terms.join(" AND "));
        found(&self.search_query(http, &query, 0, "the search")?, "the search")
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        let person = call.contact.as_ref().ok_or_else(|| {
            CrmError::Config("Bullhorn logs calls on a person: no contact matched this call".into())
        })?;
        let person: Value = person.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(person));
        let mut comments = call.subject();
        let details = call.description();
        if !details.is_empty() {
            comments = format!("{comments}\n{details}");
        }
        let mut note = json!({
            "personReference": {"id": person},
            // The corporation's comment actions are configurable; these two are the defaults.
            "action": if call.inbound() { "Inbound Call" } else { "Outbound Call" },
            "comments": comments,
        });
        if call.fields.duration {
            note["minutesSpent"] = json!(call.minutes());
        }
        let (rest, token) = self.session();
        let req = Request::put(format!("{rest}entity/Note"), Body::Json(note), "the call log")
            .header("BhRestToken", token);
        let answer: Value = http.send(&req)?.json()?;
        text(&answer, "changedEntityId").ok_or_else(|| CrmError::Malformed {
            what: "the call log".into(),
            detail: "no changedEntityId".into(),
        })
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let start: u64 = next.and_then(|n| n.parse().ok()).unwrap_or(0);
        let answer = self.search_query(http, "isDeleted:false", start, "the contact list")?;
        let contacts = found(&answer, "the contact list")?;
        let total = answer.get("total").and_then(Value::as_u64).unwrap_or(0);
        let count = answer.get("count").and_then(Value::as_u64).unwrap_or(contacts.len() as u64);
        let after = start + count;
        Ok(Page { contacts, next: (count > 0 && after < total).then(|| after.to_string()) })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, "");
        (!web.is_empty())
            .then(|| format!("{web}/BullhornSTAFFING/OpenWindow.cfm?Entity=ClientContact&id={id}"))
    }
}
