//! Salesforce (REST API v60.0): the browser sign-in (authorization code with PKCE at
//! `/services/oauth2/authorize`), then the refresh-token grant (or the password grant,
//! which issues no refresh token) at `/services/oauth2/token`, SOSL `FIND {..} IN PHONE
//! FIELDS` for numbers and `IN NAME FIELDS` for names, a Task with TaskSubtype Call for
//! the log, SOQL with `nextRecordsUrl` for the sync. Shapes: docs/crm-vendors.md §1.

use super::http::{Body, Http, Request, url};
use super::oauth::{self, Authorize, Code};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, numbers, text};
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::Contact;

const API: &str = "/services/data/v60.0";
const FIELDS: &str = "Id,Name,Phone,MobilePhone,HomePhone,OtherPhone,Email,Title";
const PHONES: [(&str, &str); 4] =
    [("work", "Phone"), ("mobile", "MobilePhone"), ("home", "HomePhone"), ("other", "OtherPhone")];

pub struct Salesforce {
    account: Account,
    token: Option<String>,
    /// From the token answer: the org's API host.
    instance: String,
}

impl Salesforce {
    pub fn new(account: Account) -> Salesforce {
        let instance = Account::or(&account.base_url, "");
        Salesforce { account, token: None, instance }
    }

    fn bearer(&self, req: Request) -> Request {
        req.header("Authorization", format!("Bearer {}", self.token.as_deref().unwrap_or_default()))
    }

    /// The sign-in server: My Domain, else the public one.
    fn login(&self) -> String {
        Account::or(&self.account.auth_url, "https://login.salesforce.com")
    }

    fn client_form(&self) -> Result<Vec<(String, String)>, CrmError> {
        let a = &self.account;
        let mut form = vec![("client_id".to_string(), Account::need(&a.client_id, "the consumer key")?)];
        if !a.client_secret.is_empty() {
            form.push(("client_secret".into(), a.client_secret.clone()));
        }
        Ok(form)
    }

    /// A token request of any grant; the answer's instance is the API's host unless
    /// the user set one.
    fn grant(&mut self, http: &Http, form: Vec<(String, String)>) -> Result<(), CrmError> {
        let target = format!("{}/services/oauth2/token", self.login());
        let (answer, token) =
            oauth::token_request(http, &Request::post(target, Body::Form(form), "the sign-in"))?;
        if self.instance.is_empty() || self.account.base_url.is_empty() {
            self.instance =
                text(&answer, "instance_url").unwrap_or_default().trim_end_matches('/').to_string();
        }
        if let Some(refresh) = text(&answer, "refresh_token") {
            self.account.refresh_token = refresh;
        }
        self.token = Some(token);
        Ok(())
    }

    fn records(&self, answer: &Value, key: &str, what: &str) -> Result<Vec<Contact>, CrmError> {
        Ok(array(answer, key, what)?.iter().filter_map(contact).collect())
    }
}

/// SOSL reserves these; a term carrying one is escaped with `\`.
fn sosl_escape(term: &str) -> String {
    let mut out = String::new();
    for c in term.chars() {
        if "&|!(){}[]^\"~*?:\\'+-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn contact(v: &Value) -> Option<Contact> {
    Some(Contact {
        id: text(v, "Id")?,
        name: text(v, "Name").unwrap_or_default(),
        title: text(v, "Title"),
        numbers: numbers(v, &PHONES),
        emails: text(v, "Email").into_iter().collect(),
        ..Default::default()
    })
}

impl CrmProvider for Salesforce {
    fn vendor(&self) -> Vendor {
        Vendor::Salesforce
    }

    fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        let a = &self.account;
        let mut form = self.client_form()?;
        if !a.refresh_token.is_empty() {
            form.push(("grant_type".into(), "refresh_token".into()));
            form.push(("refresh_token".into(), a.refresh_token.clone()));
        } else if !a.password.is_empty() {
            // The password grant: the password with the user's security token appended.
            form.push(("grant_type".into(), "password".into()));
            form.push(("username".into(), Account::need(&a.username, "the user name")?));
            form.push(("password".into(), format!("{}{}", a.password, a.api_token)));
        } else {
            return Err(CrmError::Config(
                "sign in to Salesforce (the CRM panel's Sign in), or set a user name and password".into(),
            ));
        }
        self.grant(http, form)
    }

    fn authorize_url(&self, grant: &Authorize) -> Result<String, CrmError> {
        let client_id = Account::need(&self.account.client_id, "the consumer key")?;
        Ok(url(
            &format!("{}/services/oauth2/authorize", self.login()),
            &[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", &grant.redirect),
                ("state", &grant.state),
                ("code_challenge", &grant.challenge),
                ("code_challenge_method", "S256"),
                // `refresh_token` is what makes the answer carry one.
                ("scope", "api refresh_token"),
            ],
        ))
    }

    fn redeem(&mut self, http: &Http, code: &Code) -> Result<(), CrmError> {
        let mut form = self.client_form()?;
        form.extend(oauth::form(&[
            ("grant_type", "authorization_code"),
            ("code", &code.code),
            ("redirect_uri", &code.redirect),
            ("code_verifier", &code.verifier),
        ]));
        self.grant(http, form)
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.account.refresh_token.clone()).filter(|t| !t.is_empty())
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        let q =
            format!("FIND {{{}}} IN PHONE FIELDS RETURNING Contact({FIELDS})", sosl_escape(&number.digits));
        let req = self.bearer(Request::get(
            url(&format!("{}{API}/search/", self.instance), &[("q", &q)]),
            "the lookup",
        ));
        self.records(&http.send(&req)?.json()?, "searchRecords", "the lookup")
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let q = format!("FIND {{{}*}} IN NAME FIELDS RETURNING Contact({FIELDS})", sosl_escape(query));
        let req = self.bearer(Request::get(
            url(&format!("{}{API}/search/", self.instance), &[("q", &q)]),
            "the search",
        ));
        self.records(&http.send(&req)?.json()?, "searchRecords", "the search")
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        let mut task = json!({
            "Subject": call.subject(),
            "TaskSubtype": "Call",
            "Status": "Completed",
            "ActivityDate": call.started.format("%Y-%m-%d").to_string(),
            "CallObject": call.callid,
            "Description": call.description(),
        });
        if call.fields.direction {
            task["CallType"] = json!(if call.inbound() { "Inbound" } else { "Outbound" });
        }
        if call.fields.duration {
            task["CallDurationInSeconds"] = json!(call.duration);
        }
        let disposition = call.disposition.clone().filter(|_| call.fields.disposition);
        let result = call.result.filter(|_| call.fields.result).map(|r| r.as_str().to_string());
        if let Some(d) = disposition.or(result) {
            task["CallDisposition"] = json!(d);
        }
        if let Some(who) = &call.contact {
            task["WhoId"] = json!(who);
        }
        let req = self.bearer(Request::post(
            format!("{}{API}/sobjects/Task/", self.instance),
            Body::Json(task),
            "the call log",
        ));
        let answer: Value = http.send(&req)?.json()?;
        text(&answer, "id")
            .ok_or_else(|| CrmError::Malformed { what: "the call log".into(), detail: "no id".into() })
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let target = match next {
            Some(path) => format!("{}{path}", self.instance),
            None => url(
                &format!("{}{API}/query/", self.instance),
                &[("q", &format!("SELECT {FIELDS} FROM Contact ORDER BY Id"))],
            ),
        };
        let answer: Value = http.send(&self.bearer(Request::get(target, "the contact list")))?.json()?;
        let done = answer.get("done").and_then(Value::as_bool).unwrap_or(true);
        Ok(Page {
            contacts: self.records(&answer, "records", "the contact list")?,
            next: if done { None } else { text(&answer, "nextRecordsUrl") },
        })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, &self.instance);
        (!web.is_empty()).then(|| format!("{web}/{id}"))
    }
}
