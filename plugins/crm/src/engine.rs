//! The engine's core: hears the phone's call events through the plugin, plans each
//! call's popups, fires them on the blocking pool and keeps the last ones for the panel,
//! `crm.popups` and `crm.status`; hands the same events and the CRM services to the
//! [`Integration`]. A slow CRM server delays only its own popup or request.

use crate::config::Config;
use crate::fire;
use crate::integration::{self, CrmMsg, CrmStatus, Integration};
use crate::popup::Planner;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use ucdesk_sdk::contract::crm::{Outcome, Popup, TOPIC_POPUP};
use ucdesk_sdk::contract::phone::CallEvent;
use ucdesk_sdk::engine::{Mailbox, Reply};
use ucdesk_sdk::prelude::*;

/// How many fired popups are kept for the panel and `crm.popups`.
const KEEP: usize = 50;

pub enum Msg {
    Call(String, CallEvent),
    Configure(Config),
    Fired(Popup),
    /// The panel's "Open in default browser" on a past popup.
    Open(String),
    Popups(Reply<Vec<Popup>>),
    Status(Reply<Status>),
    /// The CRM integration's requests and results.
    Crm(CrmMsg),
    /// Every second: wrap-up timers and the daily sync.
    Tick,
    Stop(Reply<()>),
}

/// Answer of `crm.status`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Status {
    /// Popups on their way (silent requests retrying, a browser starting).
    pub pending: usize,
    /// What is wrong with the settings, in words a user can act on.
    pub problems: Vec<String>,
    /// `%word%`s that are not macros, and the field each is in.
    pub unknown_macros: Vec<UnknownMacro>,
    pub fired: usize,
    pub failed: usize,
    /// The CRM integration.
    pub crm: CrmStatus,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnknownMacro {
    pub field: String,
    #[serde(rename = "macro")]
    pub name: String,
}

/// What the panel shows: the popups and the same status `crm.status` answers.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub popups: Vec<Popup>,
    pub status: Status,
    pub crm: integration::View,
}

struct Core {
    ctx: Context,
    panels: Panels<Snapshot, crate::views::Form>,
    config: Config,
    planner: Planner,
    /// Built once per configuration; an unusable CA is its error.
    agent: Arc<Result<ureq::Agent, String>>,
    recent: VecDeque<Popup>,
    pending: usize,
    fired: usize,
    failed: usize,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    crm: Integration,
    /// The screen pop window or the browser, shared with the integration.
    pages: fire::Pages,
}

fn agent(config: &Config, timeout: std::time::Duration) -> Result<ureq::Agent, String> {
    let trust = ucdesk_https::Trust {
        ca_file: (!config.tls_ca_file.is_empty()).then(|| config.tls_ca_file.clone().into()),
        pinned: config.tls_ca_pinned,
    };
    ucdesk_https::agent(&trust, fire::timeouts(timeout)).map_err(|e| e.to_string())
}

pub async fn run(
    mut mailbox: Mailbox<Msg>,
    ctx: Context,
    panels: Panels<Snapshot, crate::views::Form>,
    config: Config,
    licensed: bool,
) {
    let pages = fire::Pages::default();
    pages.set_in_app(config.in_app);
    let mut crm = Integration::new(ctx.clone(), mailbox.sender(), licensed, pages.clone());
    crm.configure(Some(agent(&config, crm.timeout())));
    let mut core = Core {
        pages,
        crm,
        tx: mailbox.sender(),
        agent: Arc::new(agent(&config, config.timeout)),
        ctx,
        panels,
        config,
        planner: Planner::default(),
        recent: VecDeque::new(),
        pending: 0,
        fired: 0,
        failed: 0,
    };
    core.report_problems();
    core.publish();
    while let Some(msg) = mailbox.recv().await {
        match msg {
            Msg::Call(topic, call) => {
                core.call(&topic, &call);
                core.crm.call(&topic, &call);
            }
            Msg::Configure(config) => {
                core.agent = Arc::new(agent(&config, config.timeout));
                core.crm.configure(Some(agent(&config, core.crm.timeout())));
                core.pages.set_in_app(config.in_app);
                core.config = config;
                core.report_problems();
            }
            Msg::Crm(msg) => core.crm.handle(msg),
            Msg::Tick => {
                core.crm.tick();
                core.window_events();
            }
            Msg::Fired(popup) => core.fired(popup),
            Msg::Open(url) => {
                let ctx = core.ctx.clone();
                // "Open in default browser" means the browser, in-app view or not.
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = fire::open(&url) {
                        ctx.warn(format!("cannot open {}: {e}", redact(&url)));
                    }
                });
            }
            Msg::Popups(reply) => reply.ok(core.recent.iter().cloned().collect()),
            Msg::Status(reply) => reply.ok(core.status()),
            Msg::Stop(done) => {
                core.crm.cancel_sign_in();
                return done.ok(());
            }
        }
        core.publish();
    }
}

impl Core {
    fn call(&mut self, topic: &str, call: &CallEvent) {
        let Some(plan) = self.planner.plan(&self.config, topic, call) else { return };
        self.pending += 1;
        let (agent, tx, pages) = (self.agent.clone(), self.tx.clone(), self.pages.clone());
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::Fired(fire::fire(&plan, &agent, &pages)));
        });
    }

    /// The screen pop window's failures, in the log (the window shows them itself).
    fn window_events(&self) {
        for event in self.pages.events() {
            if let ucdesk_screenpop::Event::Failed { url, reason } = event {
                self.ctx.warn(format!("the screen pop of {} did not load: {reason}", redact(&url)));
            }
        }
    }

    fn fired(&mut self, popup: Popup) {
        self.pending = self.pending.saturating_sub(1);
        self.fired += 1;
        let target =
            popup.url.clone().or_else(|| popup.program.as_ref().map(|p| p.join(" "))).unwrap_or_default();
        match (&popup.outcome, &popup.error) {
            (Outcome::Failed, Some(e)) => {
                self.failed += 1;
                // The URL may carry a CRM's token in its query: logs get the host only.
                self.ctx.warn(format!("call popup for {} failed: {e} ({})", popup.callid, redact(&target)));
            }
            (_, _) if popup.notice.is_some() => self.ctx.warn(format!(
                "call popup for {}: {} ({})",
                popup.callid,
                popup.notice.as_deref().unwrap_or_default(),
                redact(&target)
            )),
            _ => self.ctx.debug(format!(
                "call popup for {}: {:?} {}",
                popup.callid,
                popup.outcome,
                redact(&target)
            )),
        }
        self.ctx.publish(TOPIC_POPUP, &popup);
        self.recent.push_front(popup);
        self.recent.truncate(KEEP);
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, popup) in
            [("Call started", &self.config.started), ("Call finished", &self.config.finished)]
        {
            if let Some(Err(e)) = popup.target() {
                out.push(format!("{name}: {e}"));
            }
        }
        if let Err(e) = self.agent.as_ref() {
            out.push(format!("HTTPS popups: {e}"));
        }
        out
    }

    fn unknown(&self) -> Vec<UnknownMacro> {
        self.config.unknown_macros().into_iter().map(|(field, name)| UnknownMacro { field, name }).collect()
    }

    fn report_problems(&self) {
        for p in self.problems() {
            self.ctx.warn(p);
        }
        for u in self.unknown() {
            self.ctx.warn(format!("{}: {} is not a macro; it is sent as typed", u.field, u.name));
        }
    }

    fn status(&self) -> Status {
        Status {
            pending: self.pending,
            problems: self.problems(),
            unknown_macros: self.unknown(),
            fired: self.fired,
            failed: self.failed,
            crm: self.crm.status(),
        }
    }

    fn publish(&self) {
        self.panels.set_snapshot(Snapshot {
            popups: self.recent.iter().cloned().collect(),
            status: self.status(),
            crm: self.crm.view(),
        });
    }
}

/// A URL or command line for the log: scheme, host and path, without the query that may
/// carry a token or the caller's details.
pub fn redact(target: &str) -> String {
    match target.split_once('?') {
        Some((base, _)) => format!("{base}?..."),
        None => target.to_string(),
    }
}
