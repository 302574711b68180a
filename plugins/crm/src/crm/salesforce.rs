//! Salesforce (REST API v60.0): OAuth 2.0 refresh-token grant (or the password grant,
//! which issues no refresh token) at `/services/oauth2/token`, SOSL `FIND {..} IN PHONE
//! FIELDS` for numbers and `IN NAME FIELDS` for names, a Task with TaskSubtype Call for
//! the log, SOQL with `nextRecordsUrl` for the sync. Shapes: docs/crm-vendors.md §1.

use super::http::{Body, Http, Request, url};
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
        let mut form = vec![("client_id".to_string(), Account::need(&a.client_id, "the consumer key")?)];
        if !a.client_secret.is_empty() {
            form.push(("client_secret".into(), a.client_secret.clone()));
        }
        if !a.refresh_token.is_empty() {
            form.push(("grant_type".into(), "refresh_token".into()));
            form.push(("refresh_token".into(), a.refresh_token.clone()));
        } else {
            // The password grant: the password with the user's security token appended.
            form.push(("grant_type".into(), "password".into()));
            form.push(("username".into(), Account::need(&a.username, "the user name")?));
            form.push(("password".into(), format!("{}{}", a.password, a.api_token)));
        }
        let token_url =
            format!("{}/services/oauth2/token", Account::or(&a.auth_url, "https://login.salesforce.com"));
        let answer: Value = http
            .send(&Request::post(token_url, Body::Form(form), "the sign-in"))
            .map_err(|e| match e {
                CrmError::Refused { message, .. } => CrmError::Unauthorized(message),
                e => e,
            })?
            .json()?;
        let token = text(&answer, "access_token").ok_or_else(|| CrmError::Malformed {
            what: "the sign-in".into(),
            detail: "no access_token".into(),
        })?;
        if self.instance.is_empty() || self.account.base_url.is_empty() {
            self.instance =
                text(&answer, "instance_url").unwrap_or_default().trim_end_matches('/').to_string();
        }
        if let Some(rotated) = text(&answer, "refresh_token") {
            self.account.refresh_token = rotated;
        }
        self.token = Some(token);
        Ok(())
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
