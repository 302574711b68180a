//! The CRM integration inside the engine: which CRM client the settings and the license
//! allow, the calls it follows (looked up when they start, logged when they end or after
//! the wrap-up), the synced contacts, and the services. Network work runs on the
//! blocking pool with the client behind a lock and comes back as [`Done`]; the core
//! answers a service only after its state has taken the result in. Beside it:
//! `config.rs` its settings, `store.rs` the synced contacts on disk, `sign_in.rs` the
//! browser sign-in, `report.rs` what `crm.status` and the panel show.

pub mod config;
mod report;
pub mod sign_in;
pub mod store;

use crate::crm::{self, CallLog, Client, CrmError, Http, Vendor};
use crate::engine::Msg;
use config::{CrmConfig, LogWhen};
pub use report::{CrmStatus, View};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use ucdesk_sdk::contract::contact::{Contact, ContactsUpdated, TOPIC_UPDATED};
use ucdesk_sdk::contract::crm::{Logged, Match, TOPIC_LOGGED, TOPIC_MATCH};
use ucdesk_sdk::contract::phone::{self, CallEvent, CallResult, Direction};
use ucdesk_sdk::engine::Reply;
use ucdesk_sdk::prelude::*;

/// How many matches and logged calls the panel keeps.
const KEEP: usize = 20;
/// Contacts are fetched again this long after the last sync.
const SYNC_EVERY: i64 = 24 * 3600;

/// `crm.log`'s request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogRequest {
    pub callid: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub disposition: Option<String>,
    #[serde(default)]
    pub recording: Option<String>,
}

/// `crm.sync`'s answer.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SyncReport {
    pub contacts: usize,
    pub pages: usize,
}

/// Requests from the plugin thread.
pub enum CrmMsg {
    Lookup(String, Reply<Match>),
    Search(String, Reply<Vec<Contact>>),
    Open(String, Reply<String>),
    Log(LogRequest, Reply<Logged>),
    Sync(Reply<SyncReport>),
    Contacts(Reply<Vec<Contact>>),
    /// The user picked `id` among a call's matches.
    Pick {
        callid: String,
        id: String,
    },
    /// The panel's search box.
    SearchBox(String),
    /// The panel's one-click dialing: the phone dials it.
    Dial(String),
    /// Sign in through the browser (the service's reply, or the panel's button).
    SignIn(Option<Reply<sign_in::Started>>),
    Done(Done),
}

/// Results from the blocking pool.
pub enum Done {
    Matched(Match, Option<CrmError>, Option<Reply<Match>>),
    Logged(Logged, Option<Reply<Logged>>),
    Synced(Result<store::Synced, String>, Option<Reply<SyncReport>>),
    Searched(String, Result<Vec<Contact>, String>, Option<Reply<Vec<Contact>>>),
    /// Sign-in number N opened this page and waits for the browser.
    SigningIn(u64, String),
    /// Sign-in number N ended: signed in, or why not.
    SignedIn(u64, Result<crm::SignedIn, CrmError>),
    Failed(String),
}

/// A call the integration follows.
struct Tracked {
    call: CallEvent,
    started: chrono::DateTime<chrono::Utc>,
    matched: Option<Match>,
    looking: bool,
    ended: Option<Instant>,
    logged: bool,
    /// Log as soon as the lookup answers (the call ended first).
    log_after_lookup: bool,
    request: LogRequest,
}

pub struct Integration {
    ctx: Context,
    /// Where records open: the screen pop window or the browser.
    pages: crate::fire::Pages,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    config: CrmConfig,
    licensed: bool,
    client: Option<Arc<Mutex<Client>>>,
    problem: Option<String>,
    connected: bool,
    calls: HashMap<String, Tracked>,
    matches: VecDeque<Match>,
    logged: VecDeque<Logged>,
    synced: store::Synced,
    syncing: bool,
    file: PathBuf,
    search: (String, Result<Vec<Contact>, String>),
    lookups: usize,
    logs: usize,
    /// The number of the latest browser sign-in; a waiting one whose number is not it
    /// stops.
    sign_ins: Arc<AtomicU64>,
    /// The page the waiting sign-in opened (its `state` stays here, out of the status
    /// other plugins read).
    signing_in: Option<String>,
    sign_in_failed: Option<String>,
}

/// Whether the license has the `crm` feature (the kernel's `kernel.license`).
pub fn licensed(ctx: &Context) -> bool {
    #[derive(Deserialize)]
    struct Report {
        #[serde(default)]
        features: Vec<String>,
    }
    let report: Result<Report, _> = ctx.call(ucdesk_sdk::contract::kernel::LICENSE, &());
    report.is_ok_and(|r| r.features.iter().any(|f| f == "crm"))
}

impl Integration {
    pub fn new(
        ctx: Context,
        tx: tokio::sync::mpsc::UnboundedSender<Msg>,
        licensed: bool,
        pages: crate::fire::Pages,
    ) -> Integration {
        let file = store::path(&ctx.data_dir());
        Integration {
            pages,
            config: CrmConfig::read(&ctx),
            ctx,
            tx,
            licensed,
            client: None,
            problem: None,
            connected: false,
            calls: HashMap::new(),
            matches: VecDeque::new(),
            logged: VecDeque::new(),
            synced: store::Synced::default(),
            syncing: false,
            file,
            search: (String::new(), Ok(Vec::new())),
            lookups: 0,
            logs: 0,
            sign_ins: Arc::new(AtomicU64::new(0)),
            signing_in: None,
            sign_in_failed: None,
        }
    }

    /// Builds the client the settings describe; `agent` carries the HTTPS trust the
    /// admin set for popups, which the CRM shares.
    pub fn configure(&mut self, agent: Option<Result<ureq::Agent, String>>) {
        self.config = CrmConfig::read(&self.ctx);
        self.cancel_sign_in();
        self.client = None;
        self.connected = false;
        self.problem = None;
        if !self.config.enabled {
            return;
        }
        if !self.licensed {
            self.problem =
                Some("The license does not include CRM integration (Business edition and up).".into());
            return;
        }
        let Some(vendor) = self.config.vendor else {
            self.problem = Some(format!("{:?} is not a CRM ucdesk knows.", self.config.vendor_word));
            return;
        };
        let agent = agent.unwrap_or_else(|| {
            ucdesk_https::agent(&ucdesk_https::Trust::default(), crate::fire::timeouts(self.config.timeout))
                .map_err(|e| e.to_string())
        });
        let agent = match agent {
            Ok(a) => a,
            Err(e) => {
                self.problem = Some(format!("HTTPS: {e}"));
                return;
            }
        };
        let provider = crm::provider(vendor, self.config.account.clone());
        self.client =
            Some(Arc::new(Mutex::new(Client::new(provider, Http::new(agent), &self.config.country))));
        match store::load(&self.file, vendor.as_str()) {
            Ok(Some(s)) => self.synced = s,
            Ok(None) => self.synced = store::Synced { vendor: vendor.as_str().into(), ..Default::default() },
            Err(e) => self.ctx.warn(e),
        }
        if self.config.sync && chrono::Utc::now().timestamp() - self.synced.at > SYNC_EVERY {
            self.sync(None);
        }
    }

    /// The CRM's request timeout (its agent is built with it).
    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    fn vendor(&self) -> Option<Vendor> {
        self.config.vendor.filter(|_| self.client.is_some())
    }

    fn off(&self) -> String {
        self.problem.clone().unwrap_or_else(|| "CRM integration is off (Preferences -> CRM).".into())
    }

    /// Runs `job` with the client on the blocking pool; keeps a refresh token the CRM
    /// rotated; sends what `done` makes of the result back to the core.
    fn work<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Mutex<Client>) -> T + Send + 'static,
        done: impl FnOnce(T) -> Done + Send + 'static,
    ) -> bool {
        let Some(client) = self.client.clone() else { return false };
        let (tx, ctx) = (self.tx.clone(), self.ctx.clone());
        tokio::task::spawn_blocking(move || {
            let out = job(&client);
            // Stored under the lock: two jobs storing single-use tokens out of order
            // would leave the dead one. Not when the user has moved to another CRM since
            // (a settings change of the same CRM keeps the token: it is the live one).
            let mut c = client.lock().unwrap_or_else(|p| p.into_inner());
            let same_crm = ctx.setting::<String>("provider").as_deref() == Some(c.vendor().as_str());
            if let Some(token) = c.rotated().filter(|_| same_crm)
                && let Err(e) = ctx.store_secret("refresh_token", &token)
            {
                ctx.warn(format!("cannot keep the CRM's new refresh token: {e}"));
            }
            drop(c);
            let _ = tx.send(Msg::Crm(CrmMsg::Done(done(out))));
        });
        true
    }

    pub fn handle(&mut self, msg: CrmMsg) {
        match msg {
            CrmMsg::Lookup(number, reply) => {
                if self.client.is_none() {
                    return reply.send(Err(Error::new(self.off())));
                }
                self.lookup(None, number, Some(reply));
            }
            CrmMsg::Search(query, reply) => self.search(query, Some(reply)),
            CrmMsg::SearchBox(query) => self.search(query, None),
            CrmMsg::Open(id, reply) => self.open(id, Some(reply)),
            CrmMsg::Log(request, reply) => self.log_request(request, reply),
            CrmMsg::Sync(reply) => self.sync(Some(reply)),
            CrmMsg::Contacts(reply) => reply.ok(self.synced.contacts.clone()),
            CrmMsg::Pick { callid, id } => self.pick(&callid, &id),
            CrmMsg::Dial(number) => {
                let ctx = self.ctx.clone();
                tokio::task::spawn_blocking(move || {
                    let ask = phone::Dial { number, hide_caller_id: false };
                    if let Err(e) = ctx.call::<_, serde_json::Value>(phone::DIAL, &ask) {
                        ctx.warn(format!("cannot dial from the CRM panel: {e}"));
                    }
                });
            }
            CrmMsg::SignIn(reply) => self.sign_in(reply),
            CrmMsg::Done(done) => self.done(done),
        }
    }

    /// A request's error tells whether the sign-in works: the panel says so until the
    /// next request goes through.
    fn note(&mut self, error: Option<&CrmError>) {
        match error {
            None => {
                self.connected = true;
                self.problem = None;
            }
            Some(e @ (CrmError::Unauthorized(_) | CrmError::Config(_))) => {
                self.connected = false;
                self.problem = Some(e.to_string());
            }
            Some(_) => {}
        }
    }

    fn done(&mut self, done: Done) {
        match done {
            Done::Matched(m, error, reply) => {
                self.note(error.as_ref());
                self.matched(m, reply);
            }
            Done::Logged(l, reply) => {
                self.logs += 1;
                if let Some(e) = &l.error {
                    self.ctx.warn(format!("logging call {} in the CRM failed: {e}", l.callid));
                } else {
                    self.connected = true;
                }
                self.ctx.publish(TOPIC_LOGGED, &l);
                self.logged.push_front(l.clone());
                self.logged.truncate(KEEP);
                if let Some(reply) = reply {
                    match &l.error {
                        Some(e) => reply.send(Err(Error::new(e.clone()))),
                        None => reply.ok(l),
                    }
                }
            }
            Done::Synced(result, reply) => {
                self.syncing = false;
                match result {
                    Ok(synced) => {
                        self.connected = true;
                        if let Err(e) = store::save(&self.file, &synced) {
                            self.ctx.warn(e);
                        }
                        let report = SyncReport { contacts: synced.contacts.len(), pages: synced.pages };
                        self.synced = synced;
                        let source = format!("crm:{}", self.synced.vendor);
                        self.ctx.publish(TOPIC_UPDATED, &ContactsUpdated { source, count: report.contacts });
                        if let Some(r) = reply {
                            r.ok(report);
                        }
                    }
                    Err(e) => {
                        self.ctx.warn(format!("syncing CRM contacts failed: {e}"));
                        if let Some(r) = reply {
                            r.send(Err(Error::new(e)));
                        }
                    }
                }
            }
            Done::Searched(query, result, reply) => {
                let result = match result {
                    Err(e) if !self.synced.contacts.is_empty() => {
                        // The CRM did not answer: the last sync's copy still knows most people.
                        self.ctx.warn(format!("CRM search failed ({e}); answering from the synced contacts"));
                        Ok(store::search(&self.synced.contacts, &query).into_iter().cloned().collect())
                    }
                    other => other,
                };
                if reply.is_none() {
                    self.search = (query, result.clone());
                }
                if let Some(r) = reply {
                    r.send(result.map_err(Error::new));
                }
            }
            Done::SigningIn(generation, url) => {
                if generation == self.sign_ins.load(std::sync::atomic::Ordering::SeqCst) {
                    self.signing_in = Some(url);
                }
            }
            Done::SignedIn(generation, result) => self.signed_in(generation, result),
            Done::Failed(e) => self.ctx.warn(e),
        }
    }

    fn search(&mut self, query: String, reply: Option<Reply<Vec<Contact>>>) {
        let q = query.clone();
        let started = self.work(
            move |c| c.lock().unwrap_or_else(|p| p.into_inner()).search(&q).map_err(|e| e.to_string()),
            move |r| Done::Searched(query, r, reply),
        );
        if !started {
            // The closure (and the reply in it) is gone: only the panel's box lands here
            // without a client, services check first.
            self.search.1 = Err(self.off());
        }
    }

    fn open(&mut self, id: String, reply: Option<Reply<String>>) {
        let Some(client) = self.client.clone() else {
            if let Some(r) = reply {
                r.send(Err(Error::new(self.off())));
            }
            return;
        };
        let (ctx, pages) = (self.ctx.clone(), self.pages.clone());
        tokio::task::spawn_blocking(move || {
            let url = client.lock().unwrap_or_else(|p| p.into_inner()).record_url(&id);
            let answer = match url {
                Some(url) => pages.show(&url).map(|shown| {
                    if let crate::fire::Shown::Browser { notice: Some(n) } = shown {
                        ctx.warn(format!("CRM record {id}: {n}"));
                    }
                    url
                }),
                None => Err(format!(
                    "this CRM has no web address for records: set its web address (crm.web_url) to open {id}"
                )),
            };
            match (answer, reply) {
                (Ok(url), Some(r)) => r.ok(url),
                (Err(e), Some(r)) => r.send(Err(Error::new(e))),
                (Err(e), None) => ctx.warn(format!("cannot open the CRM record: {e}")),
                (Ok(_), None) => {}
            }
        });
    }

    fn sync(&mut self, reply: Option<Reply<SyncReport>>) {
        if self.client.is_none() {
            if let Some(r) = reply {
                r.send(Err(Error::new(self.off())));
            }
            return;
        }
        self.syncing = true;
        let vendor = self.config.vendor.map(|v| v.as_str().to_string()).unwrap_or_default();
        self.work(
            move |c| {
                // A lock per page: a call's lookup waits for one page, not the whole list.
                let mut contacts = Vec::new();
                let mut next: Option<String> = None;
                let mut pages = 0;
                loop {
                    let page = c.lock().unwrap_or_else(|p| p.into_inner()).page(next.as_deref());
                    let page = page.map_err(|e| e.to_string())?;
                    pages += 1;
                    contacts.extend(page.contacts);
                    match page.next {
                        Some(n) if Some(&n) != next.as_ref() && pages < crm::MAX_PAGES => next = Some(n),
                        _ => break,
                    }
                }
                Ok(store::Synced { vendor, at: chrono::Utc::now().timestamp(), pages, contacts })
            },
            move |r| Done::Synced(r, reply),
        );
    }

    /// A call event: look the number up when the call appears, log it when it ends.
    pub fn call(&mut self, topic: &str, call: &CallEvent) {
        if self.client.is_none() || topic == phone::TOPIC_QUALITY {
            return;
        }
        let new = !self.calls.contains_key(&call.callid);
        let tracked = self.calls.entry(call.callid.clone()).or_insert_with(|| Tracked {
            call: call.clone(),
            started: chrono::Utc::now(),
            matched: None,
            looking: false,
            ended: None,
            logged: false,
            log_after_lookup: false,
            request: LogRequest { callid: call.callid.clone(), ..Default::default() },
        });
        tracked.call = call.clone();
        let wanted = match call.direction {
            Direction::Inbound => self.config.lookup_inbound,
            Direction::Outbound => self.config.lookup_outbound,
        };
        if new && wanted && topic != phone::TOPIC_ENDED {
            tracked.looking = true;
            self.lookup(Some(call.callid.clone()), call.number.clone(), None);
        }
        if topic == phone::TOPIC_ENDED {
            self.ended(&call.callid);
        }
    }

    fn lookup(&mut self, callid: Option<String>, number: String, reply: Option<Reply<Match>>) {
        self.lookups += 1;
        let vendor = self.config.vendor.map(|v| v.as_str().to_string()).unwrap_or_default();
        self.work(
            move |c| {
                let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
                let result = c.lookup(&number);
                let (e164, contacts, error) = match result {
                    Ok((q, found)) => (q.e164, found, None),
                    Err(e) => (c.query(&number).e164, Vec::new(), Some(e)),
                };
                let chosen = (contacts.len() == 1).then(|| contacts[0].id.clone());
                let text = error.as_ref().map(|e| e.to_string());
                (Match { callid, number, e164, vendor, contacts, chosen, error: text }, error)
            },
            move |(m, error)| Done::Matched(m, error, reply),
        );
    }

    fn matched(&mut self, m: Match, reply: Option<Reply<Match>>) {
        if let Some(e) = &m.error {
            self.ctx.warn(format!("CRM lookup of a call's number failed: {e}"));
        }
        self.ctx.publish(TOPIC_MATCH, &m);
        if let Some(r) = reply {
            r.ok(m.clone());
        }
        let Some(callid) = m.callid.clone() else { return };
        let Some(t) = self.calls.get_mut(&callid) else { return };
        t.looking = false;
        t.matched = Some(m.clone());
        let log_now = t.log_after_lookup;
        if let (true, Some(id)) = (self.config.pop_record, &m.chosen) {
            self.open(id.clone(), None);
        }
        self.matches.retain(|x| x.callid != m.callid);
        self.matches.push_front(m);
        self.matches.truncate(KEEP);
        if log_now {
            self.log(&callid, None);
        }
    }

    fn pick(&mut self, callid: &str, id: &str) {
        let Some(t) = self.calls.get_mut(callid) else { return };
        let Some(m) = t.matched.as_mut().filter(|m| m.contacts.iter().any(|c| c.id == id)) else { return };
        m.chosen = Some(id.to_string());
        let m = m.clone();
        self.ctx.publish(TOPIC_MATCH, &m);
        for x in self.matches.iter_mut().filter(|x| x.callid.as_deref() == Some(callid)) {
            *x = m.clone();
        }
        if self.config.pop_record {
            self.open(id.to_string(), None);
        }
    }

    fn ended(&mut self, callid: &str) {
        let Some(t) = self.calls.get_mut(callid) else { return };
        t.ended = Some(Instant::now());
        let answered = t.call.result == Some(CallResult::Answered) || t.call.duration > 0;
        if !self.config.log_calls || (!answered && !self.config.log_unanswered) {
            t.logged = true;
            return;
        }
        if self.config.log_when == LogWhen::Ended {
            if t.looking {
                t.log_after_lookup = true;
            } else {
                self.log(callid, None);
            }
        }
    }

    /// `crm.log`: the agent's notes and disposition for a call that ended.
    fn log_request(&mut self, request: LogRequest, reply: Reply<Logged>) {
        if self.client.is_none() {
            return reply.send(Err(Error::new(self.off())));
        }
        let Some(t) = self.calls.get_mut(&request.callid) else {
            return reply.send(Err(Error::new(format!("no call {} to log", request.callid))));
        };
        if t.ended.is_none() {
            return reply.send(Err(Error::new(format!("call {} has not ended yet", request.callid))));
        }
        if t.logged {
            return reply.send(Err(Error::new(format!("call {} is logged already", request.callid))));
        }
        t.request = request.clone();
        self.log(&request.callid, Some(reply));
    }

    fn log(&mut self, callid: &str, reply: Option<Reply<Logged>>) {
        let Some(t) = self.calls.get_mut(callid) else { return };
        t.logged = true;
        let m = t.matched.as_ref();
        let contact = m.and_then(|m| m.chosen.clone());
        let name = m
            .and_then(|m| m.contacts.iter().find(|c| Some(&c.id) == contact.as_ref()))
            .map(|c| c.name.clone())
            .or_else(|| t.call.name.clone());
        let log = CallLog {
            callid: callid.to_string(),
            direction: t.call.direction,
            number: m.and_then(|m| m.e164.clone()).unwrap_or_else(|| t.call.number.clone()),
            name,
            started: t.started,
            duration: t.call.duration,
            result: t.call.result,
            contact: contact.clone(),
            disposition: t.request.disposition.clone(),
            notes: t.request.notes.clone(),
            recording: t.request.recording.clone(),
            fields: self.config.fields,
        };
        let vendor = self.config.vendor.map(|v| v.as_str().to_string()).unwrap_or_default();
        let fields = self.config.fields.names();
        let callid = callid.to_string();
        self.work(
            move |c| c.lock().unwrap_or_else(|p| p.into_inner()).log(&log),
            move |r| {
                let (record, error) = match r {
                    Ok(id) => (Some(id), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                Done::Logged(Logged { callid, vendor, record, contact, fields, error }, reply)
            },
        );
    }

    /// Every second: wrap-ups that ran out are logged without notes, calls done with are
    /// forgotten, and contacts are synced again once a day.
    pub fn tick(&mut self) {
        let wrapup = self.config.wrapup;
        let due: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, t)| !t.logged && !t.looking && t.ended.is_some_and(|e| e.elapsed() >= wrapup))
            .map(|(id, _)| id.clone())
            .collect();
        for callid in due {
            self.log(&callid, None);
        }
        // An hour after it ended a call can no longer be logged through crm.log.
        self.calls.retain(|_, t| t.ended.is_none_or(|e| e.elapsed().as_secs() < 3600) || !t.logged);
        let stale = chrono::Utc::now().timestamp() - self.synced.at > SYNC_EVERY;
        if self.config.sync && stale && !self.syncing && self.client.is_some() {
            self.sync(None);
        }
    }
}
