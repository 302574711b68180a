//! SugarCRM (REST v11): the password grant at `/rest/v11/oauth2/token` with a platform
//! of our own (Sugar signs a `base` login out of the user's browser), renewed with the
//! rotating refresh token; `OAuth-Token` on requests; `Contacts/filter` with `$contains`
//! for numbers (Sugar compares the stored text, so every written form is asked for);
//! a Call related to the contact for the log; `offset`/`next_offset` for the sync.
//! Shapes: docs/crm-vendors.md §2.

use super::http::{Body, Http, Request, url};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, numbers, text};
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::Contact;

const FIELDS: &str =
    "id,name,first_name,last_name,phone_work,phone_mobile,phone_home,phone_other,email1,title,account_name";
const PHONES: [(&str, &str); 4] =
    [("work", "phone_work"), ("mobile", "phone_mobile"), ("home", "phone_home"), ("other", "phone_other")];
/// Our platform name: a custom one, as Sugar's docs advise for integrations.
const PLATFORM: &str = "ucdesk";
const PAGE: &str = "100";

pub struct Sugar {
    account: Account,
    api: String,
    token: Option<String>,
    /// The refresh token of the last grant (Sugar rotates it).
    refresh: String,
}

impl Sugar {
    pub fn new(account: Account) -> Sugar {
        let api = format!("{}/rest/v11", Account::or(&account.base_url, ""));
        let refresh = account.refresh_token.clone();
        Sugar { account, api, token: None, refresh }
    }

    fn authed(&self, req: Request) -> Request {
        req.header("OAuth-Token", self.token.clone().unwrap_or_default())
    }

    fn grant(&self, http: &Http, body: Value) -> Result<Value, CrmError> {
        let req = Request::post(format!("{}/oauth2/token", self.api), Body::Json(body), "the sign-in");
        http.send(&req)
            .map_err(|e| match e {
                CrmError::Refused { message, .. } => CrmError::Unauthorized(message),
                e => e,
            })?
            .json()
    }
}

fn contact(v: &Value) -> Option<Contact> {
    let name = text(v, "name").or_else(|| {
        let parts: Vec<String> = ["first_name", "last_name"].iter().filter_map(|k| text(v, k)).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    Some(Contact {
        id: text(v, "id")?,
        name: name.unwrap_or_default(),
        company: text(v, "account_name"),
        title: text(v, "title"),
        numbers: numbers(v, &PHONES),
        emails: text(v, "email1").into_iter().collect(),
        ..Default::default()
    })
}

fn records(answer: &Value, what: &str) -> Result<Vec<Contact>, CrmError> {
    Ok(array(answer, "records", what)?.iter().filter_map(contact).collect())
}

impl CrmProvider for Sugar {
    fn vendor(&self) -> Vendor {
        Vendor::Sugar
    }

    fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        Account::need(&self.account.base_url, "the Sugar site's address")?;
        let client_id = Account::or(&self.account.client_id, "sugar");
        let refresh = self.refresh.clone();
        let by_refresh = (!refresh.is_empty()).then(|| {
            self.grant(
                http,
                json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id,
                       "client_secret": self.account.client_secret, "platform": PLATFORM}),
            )
        });
        let answer = match by_refresh {
            Some(Ok(answer)) => answer,
            // An expired or already rotated refresh token: the password still works.
            _ => self.grant(
                http,
                json!({"grant_type": "password", "client_id": client_id, "client_secret": self.account.client_secret,
                       "username": Account::need(&self.account.username, "the user name")?,
                       "password": self.account.password, "platform": PLATFORM}),
            )?,
        };
        let token = text(&answer, "access_token").ok_or_else(|| CrmError::Malformed {
            what: "the sign-in".into(),
            detail: "no access_token".into(),
        })?;
        if let Some(r) = text(&answer, "refresh_token") {
            self.refresh = r;
        }
        self.token = Some(token);
        Ok(())
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.refresh.clone()).filter(|t| !t.is_empty())
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        let any: Vec<Value> = PHONES
            .iter()
            .flat_map(|(_, field)| number.variants.iter().map(move |v| json!({ *field: {"$contains": v} })))
            .collect();
        let body = json!({"filter": [{"$or": any}], "fields": FIELDS, "max_num": 20, "offset": 0});
        let req = self.authed(
            Request::post(format!("{}/Contacts/filter", self.api), Body::Json(body), "the lookup").reads(),
        );
        records(&http.send(&req)?.json()?, "the lookup")
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let target =
            url(&format!("{}/Contacts", self.api), &[("q", query), ("fields", FIELDS), ("max_num", "20")]);
        records(&http.send(&self.authed(Request::get(target, "the search")))?.json()?, "the search")
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        let mut record = json!({
            "name": call.subject(),
            "direction": if call.inbound() { "Inbound" } else { "Outbound" },
            "status": if call.answered() { "Held" } else { "Not Held" },
            "date_start": call.started.to_rfc3339(),
            "description": call.description(),
        });
        if call.fields.duration {
            record["duration_hours"] = json!(call.duration / 3600);
            record["duration_minutes"] = json!((call.duration % 3600).div_ceil(60));
        }
        if let Some(id) = &call.contact {
            record["parent_type"] = json!("Contacts");
            record["parent_id"] = json!(id);
        }
        let req =
            self.authed(Request::post(format!("{}/Calls", self.api), Body::Json(record), "the call log"));
        let answer: Value = http.send(&req)?.json()?;
        let id = text(&answer, "id")
            .ok_or_else(|| CrmError::Malformed { what: "the call log".into(), detail: "no id".into() })?;
        if let Some(contact) = &call.contact {
            // The many-to-many link is what lists the call on the contact's page.
            let link = format!("{}/Calls/{id}/link/contacts/{contact}", self.api);
            http.send(&self.authed(Request::post(link, Body::Json(json!({})), "the call's contact link")))?;
        }
        Ok(id)
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let offset = next.unwrap_or("0");
        let target = url(
            &format!("{}/Contacts", self.api),
            &[("fields", FIELDS), ("max_num", PAGE), ("offset", offset), ("order_by", "id:ASC")],
        );
        let answer: Value = http.send(&self.authed(Request::get(target, "the contact list")))?.json()?;
        let next =
            answer.get("next_offset").and_then(Value::as_i64).filter(|n| *n >= 0).map(|n| n.to_string());
        Ok(Page { contacts: records(&answer, "the contact list")?, next })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, &self.account.base_url);
        (!web.is_empty()).then(|| format!("{web}/#Contacts/{id}"))
    }
}
