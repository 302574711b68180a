//! Zendesk (Support API v2): an API token (`{email}/token:{token}` in Basic auth, the
//! vendor's way for a desktop tool) or OAuth (the browser sign-in at
//! `/oauth/authorizations/new` with PKCE, rotating refresh tokens at `/oauth/tokens`);
//! `users/search.json?query=phone:*digits` for numbers, a ticket with a private comment
//! on the requester for the log, cursor pagination (`links.next` while `meta.has_more`)
//! for the sync. Shapes: docs/crm-vendors.md §6.

use super::http::{Body, Http, Request, url};
use super::oauth::{self, Authorize, Code};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, text};
use base64::Engine as _;
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::{Contact, PhoneNumber};

/// Reading users, writing tickets.
const SCOPE: &str = "read write";

pub struct Zendesk {
    account: Account,
    base: String,
    auth: Option<String>,
}

impl Zendesk {
    pub fn new(account: Account) -> Zendesk {
        let base = Account::or(&account.base_url, "");
        Zendesk { account, base, auth: None }
    }

    /// A grant at `/oauth/tokens` (JSON); Zendesk deletes the old pair on refresh, so
    /// the new refresh token is the only one.
    fn grant(&mut self, http: &Http, mut grant: Value) -> Result<(), CrmError> {
        grant["client_id"] = json!(self.account.client_id);
        grant["client_secret"] = json!(self.account.client_secret);
        let target = format!("{}/oauth/tokens", self.base);
        let (answer, token) =
            oauth::token_request(http, &Request::post(target, Body::Json(grant), "the sign-in"))?;
        if let Some(r) = text(&answer, "refresh_token") {
            self.account.refresh_token = r;
        }
        self.auth = Some(format!("Bearer {token}"));
        Ok(())
    }

    fn authed(&self, req: Request) -> Request {
        req.header("Authorization", self.auth.clone().unwrap_or_default())
    }

    fn users(&self, http: &Http, target: String, what: &'static str) -> Result<Value, CrmError> {
        http.send(&self.authed(Request::get(target, what)))?.json()
    }
}

fn contact(v: &Value) -> Option<Contact> {
    Some(Contact {
        id: text(v, "id")?,
        name: text(v, "name").unwrap_or_default(),
        numbers: text(v, "phone")
            .map(|number| PhoneNumber { label: "work".into(), number, e164: None })
            .into_iter()
            .collect(),
        emails: text(v, "email").into_iter().collect(),
        ..Default::default()
    })
}

fn found(answer: &Value, what: &str) -> Result<Vec<Contact>, CrmError> {
    Ok(array(answer, "users", what)?.iter().filter_map(contact).collect())
}

impl CrmProvider for Zendesk {
    fn vendor(&self) -> Vendor {
        Vendor::Zendesk
    }

    fn signed_in(&self) -> bool {
        self.auth.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        Account::need(&self.account.base_url, "the Zendesk address (https://yours.zendesk.com)")?;
        let a = &self.account;
        if a.refresh_token.is_empty() {
            let email = Account::need(&a.username, "the agent's e-mail")?;
            let token = Account::need(&a.api_token, "the API token (or sign in, the CRM panel's Sign in)")?;
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{token}"));
            self.auth = Some(format!("Basic {pair}"));
            return Ok(());
        }
        let refresh = a.refresh_token.clone();
        self.grant(http, json!({"grant_type": "refresh_token", "refresh_token": refresh}))
    }

    fn authorize_url(&self, grant: &Authorize) -> Result<String, CrmError> {
        let base = Account::need(&self.account.base_url, "the Zendesk address (https://yours.zendesk.com)")?;
        let client_id = Account::need(&self.account.client_id, "the OAuth client's unique identifier")?;
        Ok(url(
            &format!("{base}/oauth/authorizations/new"),
            &[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", &grant.redirect),
                ("scope", SCOPE),
                ("state", &grant.state),
                ("code_challenge", &grant.challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
    }

    fn redeem(&mut self, http: &Http, code: &Code) -> Result<(), CrmError> {
        let grant = json!({"grant_type": "authorization_code", "code": code.code, "redirect_uri": code.redirect,
                           "code_verifier": code.verifier, "scope": SCOPE});
        self.grant(http, grant)
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.account.refresh_token.clone()).filter(|t| !t.is_empty())
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        // Digits only, with the leading wildcard: any stored formatting matches.
        let query = format!("phone:*{}", number.digits);
        let target = url(&format!("{}/api/v2/users/search.json", self.base), &[("query", &query)]);
        found(&self.users(http, target, "the lookup")?, "the lookup")
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let target = url(&format!("{}/api/v2/users/search.json", self.base), &[("query", query)]);
        found(&self.users(http, target, "the search")?, "the search")
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        let requester = call.contact.as_ref().ok_or_else(|| {
            CrmError::Config("Zendesk logs calls as a ticket of a user: no user matched this call".into())
        })?;
        let requester: Value = requester.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(requester));
        let mut body = call.subject();
        let details = call.description();
        if !details.is_empty() {
            body = format!("{body}\n{details}");
        }
        let ticket = json!({"ticket": {
            "subject": call.subject(),
            "requester_id": requester,
            // Private: a call's notes are for agents, not mailed to the customer.
            "comment": {"body": body, "public": false},
            "tags": ["ucdesk_call", if call.inbound() { "inbound_call" } else { "outbound_call" }],
        }});
        let req = self.authed(Request::post(
            format!("{}/api/v2/tickets.json", self.base),
            Body::Json(ticket),
            "the call log",
        ));
        let answer: Value = http.send(&req)?.json()?;
        answer
            .get("ticket")
            .and_then(|t| text(t, "id"))
            .ok_or_else(|| CrmError::Malformed { what: "the call log".into(), detail: "no ticket id".into() })
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let target = match next {
            Some(link) => link.to_string(),
            None => url(&format!("{}/api/v2/users.json", self.base), &[("page[size]", "100")]),
        };
        let answer = self.users(http, target, "the contact list")?;
        let more = answer.pointer("/meta/has_more").and_then(Value::as_bool).unwrap_or(false);
        Ok(Page {
            contacts: found(&answer, "the contact list")?,
            next: if more {
                answer.pointer("/links/next").and_then(Value::as_str).map(str::to_string)
            } else {
                None
            },
        })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, &self.base);
        (!web.is_empty()).then(|| format!("{web}/agent/users/{id}"))
    }
}
