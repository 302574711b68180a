//! Microsoft Dynamics 365 (the Dataverse Web API v9.2, OData v4): Microsoft Entra ID's
//! browser sign-in (authorization code with PKCE) and refresh-token grant for a public
//! client (no secret; rotating refresh tokens), a `$filter` of `contains()` over the
//! phone columns (Dataverse compares the stored text), a phonecall activity regarding the
//! contact for the log (204 and the new record in `OData-EntityId`), `Prefer:
//! odata.maxpagesize` and `@odata.nextLink` for the sync. Shapes: docs/crm-vendors.md §4.

use super::http::{Body, Http, Request, url};
use super::oauth::{self, Authorize, Code};
use super::phone::PhoneQuery;
use super::{Account, CallLog, CrmError, CrmProvider, Page, Vendor, array, numbers, text};
use serde_json::{Value, json};
use ucdesk_sdk::contract::contact::Contact;

const SELECT: &str =
    "contactid,fullname,firstname,lastname,telephone1,telephone2,mobilephone,emailaddress1,jobtitle";
const PHONES: [(&str, &str); 3] = [("work", "telephone1"), ("mobile", "mobilephone"), ("home", "telephone2")];
const PAGE_SIZE: &str = "odata.maxpagesize=200";

pub struct Dynamics {
    account: Account,
    org: String,
    token: Option<String>,
}

impl Dynamics {
    pub fn new(account: Account) -> Dynamics {
        let org = Account::or(&account.base_url, "");
        Dynamics { account, org, token: None }
    }

    /// The Entra tenant's endpoints.
    fn authority(&self) -> String {
        Account::or(&self.account.auth_url, "https://login.microsoftonline.com/organizations")
    }

    /// The organization's delegated access (`user_impersonation`, what Dataverse
    /// documents for a public client); offline_access keeps a refresh token coming with
    /// each answer.
    fn scope(&self) -> Result<String, CrmError> {
        let org = Account::need(&self.account.base_url, "the Dynamics organization's address")?;
        Ok(format!("{org}/user_impersonation offline_access"))
    }

    /// A grant at the tenant's token endpoint, for a public client (no secret).
    fn grant(&mut self, http: &Http, grant: &[(&str, &str)]) -> Result<(), CrmError> {
        let client_id = Account::need(&self.account.client_id, "the application (client) id")?;
        let mut form = oauth::form(grant);
        form.push(("client_id".into(), client_id));
        form.push(("scope".into(), self.scope()?));
        let target = format!("{}/oauth2/v2.0/token", self.authority());
        let (answer, token) =
            oauth::token_request(http, &Request::post(target, Body::Form(form), "the sign-in"))?;
        if let Some(r) = text(&answer, "refresh_token") {
            self.account.refresh_token = r;
        }
        self.token = Some(token);
        Ok(())
    }

    fn api(&self) -> String {
        format!("{}/api/data/v9.2", self.org)
    }

    fn authed(&self, req: Request) -> Request {
        req.header("Authorization", format!("Bearer {}", self.token.as_deref().unwrap_or_default()))
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0")
    }

    fn records(
        &self,
        http: &Http,
        target: String,
        what: &'static str,
    ) -> Result<(Vec<Contact>, Value), CrmError> {
        let answer: Value =
            http.send(&self.authed(Request::get(target, what)).header("Prefer", PAGE_SIZE))?.json()?;
        let found = array(&answer, "value", what)?.iter().filter_map(contact).collect();
        Ok((found, answer))
    }
}

/// An OData string literal: a quote is written twice.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn contact(v: &Value) -> Option<Contact> {
    Some(Contact {
        id: text(v, "contactid")?,
        name: text(v, "fullname").unwrap_or_default(),
        title: text(v, "jobtitle"),
        numbers: numbers(v, &PHONES),
        emails: text(v, "emailaddress1").into_iter().collect(),
        ..Default::default()
    })
}

impl CrmProvider for Dynamics {
    fn vendor(&self) -> Vendor {
        Vendor::Dynamics
    }

    fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    fn authenticate(&mut self, http: &Http) -> Result<(), CrmError> {
        let refresh = self.account.refresh()?;
        self.grant(http, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
    }

    fn authorize_url(&self, grant: &Authorize) -> Result<String, CrmError> {
        let client_id = Account::need(&self.account.client_id, "the application (client) id")?;
        Ok(url(
            &format!("{}/oauth2/v2.0/authorize", self.authority()),
            &[
                ("client_id", &client_id),
                ("response_type", "code"),
                ("redirect_uri", &grant.redirect),
                ("response_mode", "query"),
                ("scope", &self.scope()?),
                ("state", &grant.state),
                ("code_challenge", &grant.challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
    }

    fn redeem(&mut self, http: &Http, code: &Code) -> Result<(), CrmError> {
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("redirect_uri", code.redirect.as_str()),
            ("code_verifier", code.verifier.as_str()),
        ];
        self.grant(http, &grant)
    }

    fn refresh_token(&self) -> Option<String> {
        Some(self.account.refresh_token.clone()).filter(|t| !t.is_empty())
    }

    fn lookup(&self, http: &Http, number: &PhoneQuery) -> Result<Vec<Contact>, CrmError> {
        let terms: Vec<String> = PHONES
            .iter()
            .flat_map(|(_, col)| {
                number.variants.iter().map(move |v| format!("contains({col},{})", literal(v)))
            })
            .collect();
        let target = url(
            &format!("{}/contacts", self.api()),
            &[("$select", SELECT), ("$filter", &terms.join(" or "))],
        );
        Ok(self.records(http, target, "the lookup")?.0)
    }

    fn search(&self, http: &Http, query: &str) -> Result<Vec<Contact>, CrmError> {
        let filter =
            format!("contains(fullname,{}) or contains(emailaddress1,{})", literal(query), literal(query));
        let target = url(&format!("{}/contacts", self.api()), &[("$select", SELECT), ("$filter", &filter)]);
        Ok(self.records(http, target, "the search")?.0)
    }

    fn log_call(&self, http: &Http, call: &CallLog) -> Result<String, CrmError> {
        let mut record = json!({
            "subject": call.subject(),
            "phonenumber": call.number,
            // Dataverse's directioncode: true is outgoing.
            "directioncode": !call.inbound(),
            "actualstart": call.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "actualend": call.ended().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "description": call.description(),
        });
        if call.fields.duration {
            record["actualdurationminutes"] = json!(call.minutes());
        }
        if let Some(id) = &call.contact {
            record["regardingobjectid_contact_phonecall@odata.bind"] = json!(format!("/contacts({id})"));
        }
        let req = self.authed(Request::post(
            format!("{}/phonecalls", self.api()),
            Body::Json(record),
            "the call log",
        ));
        let resp = http.send(&req)?;
        // `.../phonecalls(7eb682f1-...)`: the id is in the header, the body is empty.
        resp.header("odata-entityid")
            .and_then(|h| h.rsplit_once('(').map(|(_, id)| id.trim_end_matches(')').to_string()))
            .or_else(|| resp.json::<Value>().ok().and_then(|v| text(&v, "activityid")))
            .ok_or_else(|| CrmError::Malformed {
                what: "the call log".into(),
                detail: "no OData-EntityId".into(),
            })
    }

    fn contacts(&self, http: &Http, next: Option<&str>) -> Result<Page, CrmError> {
        let target = match next {
            Some(link) => link.to_string(),
            None => {
                url(&format!("{}/contacts", self.api()), &[("$select", SELECT), ("$orderby", "fullname")])
            }
        };
        let (contacts, answer) = self.records(http, target, "the contact list")?;
        Ok(Page { contacts, next: text(&answer, "@odata.nextLink") })
    }

    fn record_url(&self, id: &str) -> Option<String> {
        let web = Account::or(&self.account.web_url, &self.org);
        (!web.is_empty()).then(|| format!("{web}/main.aspx?pagetype=entityrecord&etn=contact&id={id}"))
    }
}
