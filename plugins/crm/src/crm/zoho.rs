//! Zoho CRM (API v2): the browser sign-in (`/oauth/v2/auth` with PKCE, offline access,
//! the user's data centre from the redirect's `accounts-server`), then the refresh-token
//! grant at that accounts server (parameters in the query string; errors come back as
//! 200 with an `error` field), the API at the token's `api_domain` with
//! `Zoho-oauthtoken`; `Contacts/search?phone=` (204 when nothing matches), a Calls record
//! for the log, `page`/`more_records` for the sync. Shapes: docs/crm-vendors.md §3.

use super::http::{Body, Http, Request, url};
use super::oauth::{self, Authorize, Code};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, numbers, text};
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::Contact;

const FIELDS: &str =
    "Full_Name,First_Name,Last_Name,Phone,Mobile,Home_Phone,Other_Phone,Email,Title,Account_Name";
/// What the integration does: read contacts, write calls (Zoho's scope names).
const SCOPES: &str = "ZohoCRM.modules.contacts.READ,ZohoCRM.modules.calls.CREATE";
const PHONES: [(&str, &str); 4] =
    [("work", "Phone"), ("mobile", "Mobile"), ("home", "Home_Phone"), ("other", "Other_Phone")];

pub struct Zoho {
    account: Account,
    token: Option<String>,
    api: String,
    /// The accounts server the browser sign-in came back from, when not the one set.
    learned_accounts: Option<String>,
}

impl Zoho {
    pub fn new(account: Account) -> Zoho {
        let api = Account::or(&account.base_url, "");
        Zoho { account, token: None, api, learned_accounts: None }
    }

    /// The data centre's accounts server: the one the sign-in came back from, else the
    /// one set up.
    fn accounts(&self) -> String {
        match &self.learned_accounts {
            Some(learned) => learned.clone(),
            None => Account::or(&self.account.auth_url, "https://accounts.zoho.com"),
        }
    }

    /// A grant at the accounts server, parameters in the query as Zoho documents them.
    fn grant(&mut self, accounts: &str, grant: &[(&str, &str)], http: &Http) -> Result<(), CrmError> {
        let client_id = Account::need(&self.account.client_id, "the client id")?;
        let mut query =
            vec![("client_id", client_id.as_str()), ("client_secret", &self.account.client_secret)];
        query.extend_from_slice(grant);
        let target = url(&format!("{accounts}/oauth/v2/token"), &query);
        let (answer, token) = oauth::token_request(http, &Request::post(target, Body::None, "the sign-in"))?;
        if self.account.base_url.trim().is_empty() {
            self.api = text(&answer, "api_domain").unwrap_or_else(|| "https://www.zohoapis.com".into());
        }
        if let Some(refresh) = text(&answer, "refresh_token") {
            self.account.refresh_token = refresh;
        }
        self.token = Some(token);
        Ok(())
    }

    fn authed(&self, req: Request) -> Request {
        req.header("Authorization", format!("Zoho-oauthtoken {}", self.token.as_deref().unwrap_or_default()))
    }

    /// A search answer: 204 and no body is Zoho's "no records".
    fn found(&self, http: &Http, target: String, what: &'static str) -> Result<Vec<Contact>, CrmError> {
        let resp = http.send(&self.authed(Request::get(target, what)))?;
        if resp.status == 204 || (resp.body.is_empty() && resp.status < 300) {
            return Ok(Vec::new());
        }
        let answer: Value = resp.json()?;
        Ok(array(&answer, "data", what)?.iter().filter_map(contact).collect())
    }
}

/// Zoho's accounts servers, one per data centre (US, EU, IN, AU, CN, JP, SA, UK, CA).
const DATA_CENTRES: [&str; 10] = [
    "https://accounts.zoho.com",
    "https://accounts.zoho.eu",
    "https://accounts.zoho.in",
    "https://accounts.zoho.com.au",
    "https://accounts.zoho.com.cn",
    "https://accounts.zoho.jp",
    "https://accounts.zoho.sa",
    "https://accounts.zoho.uk",
    "https://accounts.zohocloud.ca",
    "https://accounts.zoho.ca",
];

/// Where a code is redeemed: a user of another data centre comes back with its accounts
/// server, and its codes and refresh tokens are good there only. Taken when it is one
/// of Zoho's or the one set up; anything else is ignored.
fn data_centre(redirected: Option<&str>, configured: &str) -> String {
    match redirected.map(|s| s.trim_end_matches('/')) {
        Some(s) if DATA_CENTRES.contains(&s) || s == configured => s.to_string(),
        _ => configured.to_string(),
    }
}

fn contact(v: &Value) -> Option<Contact> {
    Some(Contact {
        id: text(v, "id")?,
        name: text(v, "Full_Name").unwrap_or_default(),
        company: v.get("Account_Name").and_then(|a| text(a, "name")),
        title: text(v, "Title"),
        numbers: numbers(v, &PHONES),
        emails: text(v, "Email").into_iter().collect(),
        ..Default::default()
    })
}

impl CrmProvider for Zoho {
    fn vendor(&self) -> Vendor {
        Vendor::Zoho
    }

    fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        let refresh = self.account.refresh()?;
        self.grant(&self.accounts(), &[("refresh_token", &refresh), ("grant_type", "refresh_token")], http)
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.account.refresh_token.clone()).filter(|t| !t.is_empty())
    }

    fn authorize_url(&self, grant: &Authorize) -> Result<String, CrmError> {
        let client_id = Account::need(&self.account.client_id, "the client id")?;
        Ok(url(
            &format!("{}/oauth/v2/auth", self.accounts()),
            &[
                ("scope", SCOPES),
                ("client_id", &client_id),
                ("response_type", "code"),
                // offline: a refresh token; consent: a new one even for a user who
                // consented before (Zoho sends it only on consent).
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("redirect_uri", &grant.redirect),
                ("state", &grant.state),
                // A desktop app is a public client to Zoho: PKCE is required.
                ("code_challenge", &grant.challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
    }

    fn redeem(&mut self, http: &Http, code: &Code) -> Result<(), CrmError> {
        let configured = Account::or(&self.account.auth_url, "https://accounts.zoho.com");
        let accounts = data_centre(code.param("accounts-server"), &configured);
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("redirect_uri", code.redirect.as_str()),
            ("code_verifier", code.verifier.as_str()),
        ];
        self.grant(&accounts, &grant, http)?;
        self.learned_accounts = (accounts != configured).then_some(accounts);
        Ok(())
    }

    fn learned(&self) -> Vec<(&'static str, String)> {
        self.learned_accounts.iter().map(|a| ("auth_url", a.clone())).collect()
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        let target = url(
            &format!("{}/crm/v2/Contacts/search", self.api),
            &[("phone", &number.digits), ("page", "1"), ("per_page", "200")],
        );
        self.found(http, target, "the lookup")
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let target = url(&format!("{}/crm/v2/Contacts/search", self.api), &[("word", query)]);
        self.found(http, target, "the search")
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        // Call_Type, Call_Start_Time and (for a held call) Call_Duration are mandatory.
        let kind = match (call.inbound(), call.answered()) {
            (true, false) => "Missed",
            (true, true) => "Inbound",
            (false, _) => "Outbound",
        };
        let mut record = json!({
            "Subject": call.subject(),
            "Call_Type": kind,
            "Call_Start_Time": call.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "Call_Duration": call.mm_ss(),
            "Description": call.description(),
        });
        if call.fields.result || call.fields.disposition {
            let result = call.disposition.clone().filter(|_| call.fields.disposition);
            if let Some(r) = result.or_else(|| call.result.map(|r| r.as_str().to_string())) {
                record["Call_Result"] = json!(r);
            }
        }
        if let Some(id) = &call.contact {
            record["Who_Id"] = json!(id);
        }
        let req = self.authed(Request::post(
            format!("{}/crm/v2/Calls", self.api),
            Body::Json(json!({"data": [record]})),
            "the call log",
        ));
        let answer: Value = http.send(&req)?.json()?;
        let first = answer.get("data").and_then(|d| d.get(0)).cloned().unwrap_or(Value::Null);
        if text(&first, "status").as_deref() == Some("error") {
            let message = text(&first, "message").unwrap_or_default();
            return Err(CrmError::Refused { status: 400, message });
        }
        first
            .get("details")
            .and_then(|d| text(d, "id"))
            .ok_or_else(|| CrmError::Malformed { what: "the call log".into(), detail: "no record id".into() })
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let page = next.unwrap_or("1");
        let target = url(
            &format!("{}/crm/v2/Contacts", self.api),
            &[("fields", FIELDS), ("page", page), ("per_page", "200")],
        );
        let resp = http.send(&self.authed(Request::get(target, "the contact list")))?;
        if resp.status == 204 {
            return Ok(Page::default());
        }
        let answer: Value = resp.json()?;
        let more = answer.pointer("/info/more_records").and_then(Value::as_bool).unwrap_or(false);
        let n: u64 = page.parse().unwrap_or(1);
        Ok(Page {
            contacts: array(&answer, "data", "the contact list")?.iter().filter_map(contact).collect(),
            next: more.then(|| (n + 1).to_string()),
        })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, "https://crm.zoho.com/crm");
        Some(format!("{web}/tab/Contacts/{id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::data_centre;

    #[test]
    fn the_redirects_data_centre_is_taken_only_when_it_is_zohos() {
        let us = "https://accounts.zoho.com";
        assert_eq!(data_centre(Some("https://accounts.zoho.eu/"), us), "https://accounts.zoho.eu");
        assert_eq!(data_centre(Some("https://accounts.zoho.evil.example"), us), us);
        assert_eq!(data_centre(Some("http://accounts.zoho.eu"), us), us);
        assert_eq!(
            data_centre(Some("http://127.0.0.1:9/zoho/accounts"), "http://127.0.0.1:9/zoho/accounts"),
            "http://127.0.0.1:9/zoho/accounts"
        );
        assert_eq!(data_centre(None, us), us);
    }
}
