//! The six CRM clients against the lab's stand-in for their cloud APIs
//! (`tests/lab/crm_standin.py`, each vendor's documented shapes; the vendors' services
//! cannot run here), driven directly through the crm crate's `Client`. For every vendor:
//! signing in again after the token expired (and keeping a rotated refresh token),
//! lookups with one, no and several matches, search, a logged call with the chosen
//! fields, a sync across pages, a 429 waited out for its Retry-After, a 500 and a stall
//! failing within bounds, a malformed body reported; the browser sign-in of the five
//! that have one (a code redeemed once, PKCE checked, a refused consent reported).

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_plugin_crm::crm::{self, Account, CallLog, Client, CrmError, Http, LogFields, Vendor};
use ucdesk_sdk::contract::phone::{CallResult, Direction};
use ucdesk_tests::crm::CrmStandIn;

/// The clients a user would set up for each vendor against the stand-in.
struct Lab(CrmStandIn);

impl std::ops::Deref for Lab {
    type Target = CrmStandIn;
    fn deref(&self) -> &CrmStandIn {
        &self.0
    }
}

impl Lab {
    fn start() -> Lab {
        Lab(CrmStandIn::start())
    }

    fn fault_on(&self, vendor: Vendor, kind: &str, extra: Value) {
        self.0.fault(vendor.as_str(), kind, extra)
    }

    /// The account a user would set up for `vendor` against this stand-in (Zendesk's
    /// with OAuth when `oauth`, else its API token).
    fn account(&self, vendor: Vendor, oauth: bool) -> Account {
        let h = self.vendor(vendor.as_str());
        let mut a = Account {
            client_id: "ucdesk".into(),
            client_secret: "s3cret".into(),
            refresh_token: format!("rt-{}-1", vendor.as_str()),
            ..Default::default()
        };
        match vendor {
            Vendor::Salesforce => a.auth_url = h,
            Vendor::Sugar => {
                a = Account {
                    base_url: h,
                    username: "agent@example.com".into(),
                    password: "pw".into(),
                    ..Default::default()
                }
            }
            Vendor::Zoho => a.auth_url = format!("{h}/accounts"),
            Vendor::Dynamics => {
                a.auth_url = format!("{h}/login/lab-tenant");
                a.base_url = h;
                a.client_secret.clear();
            }
            Vendor::Bullhorn => {
                a.auth_url = format!("{h}/oauth");
                a.base_url = format!("{h}/rest-services");
                a.web_url = format!("{h}/web");
            }
            Vendor::Zendesk if oauth => a.base_url = h,
            Vendor::Zendesk => {
                a = Account {
                    base_url: h,
                    username: "agent@example.com".into(),
                    api_token: "zd-token".into(),
                    ..Default::default()
                }
            }
        }
        a
    }

    fn client(&self, vendor: Vendor, timeout: Duration) -> Client {
        self.client_with(vendor, self.account(vendor, false), timeout)
    }

    fn client_with(&self, vendor: Vendor, account: Account, timeout: Duration) -> Client {
        let agent = ucdesk_https::agent(
            &ucdesk_https::Trust::default(),
            ucdesk_https::Timeouts { connect: timeout, total: Some(timeout) },
        )
        .unwrap();
        Client::new(crm::provider(vendor, account), Http::new(agent), "US")
    }
}

const T: Duration = Duration::from_secs(5);

fn names(found: &[ucdesk_sdk::contract::contact::Contact]) -> Vec<String> {
    let mut n: Vec<String> = found.iter().map(|c| c.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn every_vendor_signs_in_again_when_its_token_expires_and_keeps_a_rotated_refresh_token() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut c = lab.client_with(vendor, lab.account(vendor, true), T);
        assert_eq!(names(&c.lookup("2125550100").unwrap().1), ["Jane Doe"], "{vendor:?}");
        let first = lab.grants(vendor.as_str());
        assert!(first >= 1, "{vendor:?} signed in through its token endpoint");
        let rotated_once = c.rotated();
        lab.control("expire", json!({"vendor": vendor.as_str()}));
        assert_eq!(names(&c.lookup("2125550100").unwrap().1), ["Jane Doe"], "{vendor:?} after expiry");
        assert_eq!(lab.grants(vendor.as_str()), first + 1, "{vendor:?} signed in once more, not per request");
        // Sugar, Dynamics, Bullhorn and Zendesk rotate: the new token must be the kept one.
        let current =
            lab.get("tokens")[vendor.as_str()]["refresh_token"].as_str().unwrap_or_default().to_string();
        let kept = c.rotated().or(rotated_once);
        if matches!(vendor, Vendor::Sugar | Vendor::Dynamics | Vendor::Bullhorn | Vendor::Zendesk) {
            assert_eq!(kept.as_deref(), Some(current.as_str()), "{vendor:?} rotated its refresh token");
        } else {
            assert_eq!(kept, None, "{vendor:?} keeps its refresh token");
        }
    }
}

#[test]
fn a_refused_sign_in_is_an_unauthorized_error_naming_the_cause() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut account = lab.account(vendor, false);
        account.refresh_token = "rt-stolen".into();
        account.password = "wrong".into();
        account.api_token = "wrong".into();
        let err = lab.client_with(vendor, account, T).lookup("2125550100").unwrap_err();
        assert!(matches!(err, CrmError::Unauthorized(_)), "{vendor:?}: {err}");
    }
    let mut none = lab.account(Vendor::Zoho, false);
    none.refresh_token.clear();
    let err = lab.client_with(Vendor::Zoho, none, T).lookup("2125550100").unwrap_err();
    assert!(matches!(&err, CrmError::Config(m) if m.contains("refresh token")), "{err}");
}

#[test]
fn lookups_find_one_contact_none_or_several_by_any_written_form() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut c = lab.client(vendor, T);
        let (q, jane) = c.lookup("+1 (212) 555-0100").unwrap();
        assert_eq!(q.e164.as_deref(), Some("+12125550100"));
        assert_eq!(names(&jane), ["Jane Doe"], "{vendor:?}");
        let jane = &jane[0];
        assert_eq!(jane.source, format!("crm:{}", vendor.as_str()));
        assert!(jane.emails.contains(&"jane.doe@acme.example".to_string()), "{vendor:?}: {jane:?}");
        assert!(
            jane.numbers.iter().any(|n| n.e164.as_deref() == Some("+12125550100")),
            "{vendor:?}: {jane:?}"
        );
        assert!(jane.url.as_deref().is_some_and(|u| u.contains(&jane.id)), "{vendor:?}: {jane:?}");
        // A national number in the account's country, stored as +1... and as +1 212-...
        assert_eq!(names(&c.lookup("2125550111").unwrap().1), ["Joan Roe", "John Roe"], "{vendor:?}");
        assert!(c.lookup("2125550199").unwrap().1.is_empty(), "{vendor:?}");
        assert_eq!(names(&c.lookup("2001").unwrap().1), ["Carl Caller"], "{vendor:?} extension");
        // A caller with no number (a SIP user name) is not looked up at all.
        assert!(c.lookup("sip:carol@pbx").unwrap().1.is_empty());
    }
}

#[test]
fn search_finds_contacts_by_name() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let found = lab.client(vendor, T).search("jane").unwrap();
        assert_eq!(names(&found), ["Jane Doe"], "{vendor:?}");
    }
}

fn call(contact: Option<String>) -> CallLog {
    CallLog {
        callid: "lab-call-1".into(),
        direction: Direction::Inbound,
        number: "+12125550100".into(),
        name: Some("Jane Doe".into()),
        started: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        duration: 312,
        result: Some(CallResult::Answered),
        contact,
        disposition: Some("Quote sent".into()),
        notes: Some("Wants the enterprise plan".into()),
        recording: None,
        fields: LogFields::from_names(
            &["subject", "direction", "duration", "notes", "disposition"].map(String::from),
        ),
    }
}

#[test]
fn a_logged_call_carries_the_chosen_fields_in_each_vendors_record() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut c = lab.client(vendor, T);
        let jane = c.lookup("2125550100").unwrap().1.remove(0);
        let id = c.log(&call(Some(jane.id.clone()))).unwrap();
        assert!(!id.is_empty(), "{vendor:?}");
    }
    let logged = lab.get("logged");
    let body = |vendor: &str| -> Value {
        logged.as_array().unwrap().iter().find(|l| l["vendor"] == vendor).map(|l| l["body"].clone()).unwrap()
    };
    let subject = "Inbound call from Jane Doe (+12125550100)";
    let sf = body("salesforce");
    assert_eq!((sf["Subject"].as_str(), sf["CallType"].as_str()), (Some(subject), Some("Inbound")));
    assert_eq!(
        (sf["CallDurationInSeconds"].as_u64(), sf["CallDisposition"].as_str()),
        (Some(312), Some("Quote sent"))
    );
    assert_eq!(sf["TaskSubtype"], "Call");
    assert!(sf["WhoId"].as_str().is_some_and(|w| !w.is_empty()));
    assert!(sf["Description"].as_str().unwrap().contains("Wants the enterprise plan"));
    let sugar = body("sugar");
    assert_eq!((sugar["name"].as_str(), sugar["direction"].as_str()), (Some(subject), Some("Inbound")));
    assert_eq!((sugar["status"].as_str(), sugar["duration_minutes"].as_u64()), (Some("Held"), Some(6)));
    assert_eq!(sugar["parent_type"], "Contacts");
    assert!(
        logged
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["vendor"] == "sugar" && l["path"].as_str().unwrap().contains("/link/contacts/"))
    );
    let zoho = &body("zoho")["data"][0];
    assert_eq!((zoho["Subject"].as_str(), zoho["Call_Type"].as_str()), (Some(subject), Some("Inbound")));
    assert_eq!(
        (zoho["Call_Duration"].as_str(), zoho["Call_Result"].as_str()),
        (Some("05:12"), Some("Quote sent"))
    );
    assert!(zoho["Who_Id"].as_str().is_some_and(|w| !w.is_empty()));
    let d = body("dynamics");
    assert_eq!((d["subject"].as_str(), d["directioncode"].as_bool()), (Some(subject), Some(false)));
    assert_eq!(d["actualdurationminutes"], 6);
    assert!(d["regardingobjectid_contact_phonecall@odata.bind"].as_str().unwrap().starts_with("/contacts("));
    assert!(d["description"].as_str().unwrap().contains("Disposition: Quote sent"));
    let bh = body("bullhorn");
    assert_eq!((bh["action"].as_str(), bh["minutesSpent"].as_u64()), (Some("Inbound Call"), Some(6)));
    assert!(bh["comments"].as_str().unwrap().starts_with(subject));
    assert!(bh["personReference"]["id"].as_u64().is_some());
    let zd = &body("zendesk")["ticket"];
    assert_eq!((zd["subject"].as_str(), zd["comment"]["public"].as_bool()), (Some(subject), Some(false)));
    assert!(zd["comment"]["body"].as_str().unwrap().contains("Duration: 05:12"));
    assert!(zd["requester_id"].as_u64().is_some());
}

#[test]
fn a_sync_reads_every_page() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let (contacts, pages) = lab.client(vendor, T).sync().unwrap();
        assert_eq!((contacts.len(), pages), (24, 3), "{vendor:?}");
        let mut ids: Vec<&str> = contacts.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 24, "{vendor:?}: no contact twice");
        assert!(contacts.iter().any(|c| c.name == "Sync Contact 20"), "{vendor:?}");
    }
}

#[test]
fn a_429_is_waited_out_for_its_retry_after() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        // A reset forgets rotated refresh tokens too, so the client comes after it.
        lab.control("reset", json!({}));
        let mut c = lab.client(vendor, T);
        c.sign_in().unwrap_or_else(|e| panic!("{vendor:?}: {e}"));
        lab.fault_on(vendor, "429", json!({"retry_after": 1}));
        let started = Instant::now();
        assert_eq!(names(&c.lookup("2125550100").unwrap().1), ["Jane Doe"], "{vendor:?}");
        assert!(started.elapsed() >= Duration::from_secs(1), "{vendor:?} waited {:?}", started.elapsed());
        let asked: Vec<Value> = lab
            .get("requests")
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["vendor"] == vendor.as_str())
            .cloned()
            .collect();
        let statuses: Vec<u64> = asked.iter().filter_map(|r| r["status"].as_u64()).collect();
        assert!(statuses.ends_with(&[429, 200]), "{vendor:?}: {statuses:?}");
    }
}

#[test]
fn a_500_or_a_stalled_server_fails_the_request_within_its_bounds() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut c = lab.client(vendor, Duration::from_secs(1));
        c.sign_in().unwrap_or_else(|e| panic!("{vendor:?}: {e}"));
        lab.fault_on(vendor, "500", json!({"count": 3}));
        let err = c.lookup("2125550100").unwrap_err();
        assert!(matches!(err, CrmError::Server { status: 500, .. }), "{vendor:?}: {err}");
        // A write is not repeated after a 500: the CRM may have made the record.
        let jane = c.lookup("2125550100").unwrap_or_else(|e| panic!("{vendor:?}: {e}")).1.remove(0);
        lab.fault_on(vendor, "500", json!({"count": 1}));
        assert!(matches!(c.log(&call(Some(jane.id))), Err(CrmError::Server { .. })), "{vendor:?}");
        lab.fault_on(vendor, "stall", json!({"seconds": 3, "count": 3}));
        let started = Instant::now();
        let err = c.lookup("2125550100").unwrap_err();
        assert!(matches!(err, CrmError::Unreachable(_)), "{vendor:?}: {err}");
        // Three attempts of one second and the back-off between them.
        assert!(started.elapsed() < Duration::from_secs(8), "{vendor:?}: {:?}", started.elapsed());
    }
}

#[test]
fn a_malformed_answer_is_an_error_that_names_the_request() {
    let lab = Lab::start();
    for vendor in Vendor::ALL {
        let mut c = lab.client(vendor, T);
        c.sign_in().unwrap_or_else(|e| panic!("{vendor:?}: {e}"));
        lab.fault_on(vendor, "malformed", json!({}));
        let err = c.lookup("2125550100").unwrap_err();
        assert!(
            matches!(&err, CrmError::Malformed { what, .. } if what == "the lookup"),
            "{vendor:?}: {err}"
        );
        // And the next answer is read as usual.
        assert_eq!(
            names(&c.lookup("2125550100").unwrap_or_else(|e| panic!("{vendor:?}: {e}")).1),
            ["Jane Doe"],
            "{vendor:?}"
        );
    }
}

/// A user in the browser: opens the sign-in page and follows it back to the app's
/// redirect (the stand-in consents at once); answers the page the app showed.
fn browse(url: &str) -> std::thread::JoinHandle<String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).proxy(None).build().into();
        let mut page = agent.get(&url).call().expect("the browser reaches the pages");
        page.body_mut().read_to_string().unwrap_or_default()
    })
}

/// Signs `client` in through the browser; answers what the browser came back with.
fn browser_sign_in(client: &Client) -> Result<crm::Code, CrmError> {
    let sign_in = client.begin_sign_in(0)?;
    let browser = browse(&sign_in.url);
    let code = sign_in.wait(Instant::now() + Duration::from_secs(10), &|| false);
    browser.join().unwrap();
    code
}

#[test]
fn every_browser_sign_in_redeems_its_code_once_and_keeps_the_new_refresh_token() {
    let lab = Lab::start();
    for vendor in Vendor::ALL.into_iter().filter(|v| v.browser_sign_in()) {
        let mut account = lab.account(vendor, true);
        account.refresh_token.clear();
        let mut client = lab.client_with(vendor, account, T);
        let sign_in = client.begin_sign_in(0).unwrap();
        assert!(sign_in.url.starts_with(&lab.vendor(vendor.as_str())), "{vendor:?}: {}", sign_in.url);
        assert!(sign_in.redirect().starts_with("http://127.0.0.1:"), "{}", sign_in.redirect());
        let page = browse(&sign_in.url);
        let code = sign_in.wait(Instant::now() + Duration::from_secs(10), &|| false).unwrap();
        assert!(page.join().unwrap().contains("Signed in"), "{vendor:?}: the tab says so");
        client.finish_sign_in(&code).unwrap();
        // The refresh token the code bought is the one to keep (the CRM's current one).
        let current = lab.get("tokens")[vendor.as_str()]["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(client.rotated(), Some(current), "{vendor:?}");
        assert_eq!(names(&client.lookup("2125550100").unwrap().1), ["Jane Doe"], "{vendor:?}");
        // After the access token expires, the refresh token signs in again.
        lab.control("expire", json!({"vendor": vendor.as_str()}));
        assert_eq!(names(&client.lookup("2125550100").unwrap().1), ["Jane Doe"], "{vendor:?} refreshed");
        // A code is good once.
        let again = client.finish_sign_in(&code).unwrap_err();
        assert!(matches!(again, CrmError::Unauthorized(_)), "{vendor:?}: {again}");
        assert_eq!(lab.get("tokens")[vendor.as_str()]["codes"], 1);
    }
    // SugarCRM's API takes the user's password: no browser page to open.
    let sugar = lab.client(Vendor::Sugar, T);
    assert!(matches!(sugar.begin_sign_in(0), Err(CrmError::Config(m)) if m.contains("password")));
}

#[test]
fn a_code_without_its_pkce_verifier_or_a_refused_consent_signs_nobody_in() {
    let lab = Lab::start();
    for vendor in [Vendor::Salesforce, Vendor::Zoho, Vendor::Dynamics, Vendor::Zendesk] {
        let mut account = lab.account(vendor, true);
        account.refresh_token.clear();
        let mut client = lab.client_with(vendor, account, T);
        // A code caught on its way back is no use without the verifier only the app has.
        let mut stolen = browser_sign_in(&client).unwrap();
        stolen.verifier = crm::oauth::challenge("a guess");
        let err = client.finish_sign_in(&stolen).unwrap_err();
        assert!(matches!(err, CrmError::Unauthorized(_)), "{vendor:?}: {err}");
        assert_eq!(client.rotated(), None, "{vendor:?}: no refresh token came of it");
    }
    for vendor in Vendor::ALL.into_iter().filter(|v| v.browser_sign_in()) {
        lab.control("consent", json!({"vendor": vendor.as_str(), "allow": false}));
        let client = lab.client_with(vendor, lab.account(vendor, true), T);
        let err = browser_sign_in(&client).unwrap_err();
        assert!(
            matches!(&err, CrmError::Unauthorized(m) if m.starts_with("access_denied")),
            "{vendor:?}: {err}"
        );
    }
}
