//! SMS gateways on the account's server, kept out of chat. A phone number behind an
//! SMS gateway is a JID (`+15551234567@sms.example.com`) that chats like any other, and
//! the account's other resources (the SMS plugin's among them) see the same messages;
//! they belong to the SMS module (docs/sms-gateway.md), so chat stores none of them.
//!
//! At each new session the server's components are asked what they are (disco#items,
//! then disco#info of each): a `gateway/sms` identity marks its domain. Presence,
//! carbons and the archive catch-up wait for the answers (at most [`WAIT`]), because
//! the server hands over offline messages as soon as presence goes out.

use super::{Core, PendingIq};
use crate::stanzas;
use std::time::{Duration, Instant};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;

/// How long the session's start waits on the components' answers.
const WAIT: Duration = Duration::from_secs(5);

/// How often a component that could not answer (an external component not connected
/// yet: the server says "wait") is asked again.
const ASK_AGAIN: Duration = Duration::from_secs(30);

/// The discovery under way: the components not yet answered, since when.
pub(super) struct Discovery {
    pending: usize,
    since: Instant,
}

/// Components that could not say what they are, and when they were last asked.
#[derive(Default)]
pub(super) struct Unanswered {
    jids: Vec<String>,
    asked: Option<Instant>,
}

impl Core {
    /// Asks the server for its components; the session starts when all have answered.
    pub(super) async fn discover_gateways(&mut self) {
        let Some(me) = self.me() else { return };
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::Components);
        self.discovery = Some(Discovery { pending: 1, since: Instant::now() });
        self.unanswered = Unanswered::default();
        let domain = Jid::from(me.domain().to_owned());
        self.send(stanzas::iq_get(&id, Some(domain), stanzas::disco_items())).await;
    }

    /// The server's component list (None: it refused to say).
    pub(super) async fn on_components(&mut self, items: Option<Element>) {
        let components = items.as_ref().map(stanzas::read_items).unwrap_or_default();
        for jid in components {
            let id = stanzas::new_id();
            self.iqs.insert(id.clone(), PendingIq::Component(jid.to_bare().to_string()));
            if let Some(d) = self.discovery.as_mut() {
                d.pending += 1;
            }
            self.send(stanzas::iq_get(&id, Some(jid), stanzas::disco_info())).await;
        }
        self.answered().await;
    }

    /// One component's identity (None: it did not answer).
    pub(super) async fn on_component(&mut self, jid: String, info: Option<Element>) {
        match info {
            Some(q) if stanzas::has_identity(&q, "gateway", "sms") => {
                self.ctx
                    .info(format!("{jid} is an SMS gateway: its conversations are left to the SMS module"));
                self.sms_gateways.insert(jid);
            }
            Some(_) => {}
            None => {
                if !self.unanswered.jids.contains(&jid) {
                    self.unanswered.jids.push(jid);
                }
                self.unanswered.asked.get_or_insert_with(Instant::now);
            }
        }
        self.answered().await;
    }

    /// Whether an address is a phone number behind one of the server's SMS gateways.
    pub(super) fn behind_sms_gateway(&self, domain: &str) -> bool {
        self.sms_gateways.contains(domain)
    }

    async fn answered(&mut self) {
        let done = match self.discovery.as_mut() {
            Some(d) => {
                d.pending = d.pending.saturating_sub(1);
                d.pending == 0
            }
            None => false,
        };
        if done {
            self.discovery = None;
            self.session_ready().await;
        }
    }

    /// Asks the components that could not answer again (a gateway that connects to the
    /// server after we logged in).
    pub(super) async fn ask_again(&mut self) {
        let due = self.unanswered.asked.is_some_and(|t| t.elapsed() >= ASK_AGAIN);
        if !due || !self.online || self.discovery.is_some() {
            return;
        }
        self.unanswered.asked = None;
        for jid in std::mem::take(&mut self.unanswered.jids) {
            let Ok(to) = jid.parse::<Jid>() else { continue };
            let id = stanzas::new_id();
            self.iqs.insert(id.clone(), PendingIq::Component(jid));
            self.send(stanzas::iq_get(&id, Some(to), stanzas::disco_info())).await;
        }
    }

    /// A server that leaves a disco request unanswered does not hold the session up.
    pub(super) async fn expire_discovery(&mut self) {
        if self.discovery.as_ref().is_some_and(|d| d.since.elapsed() > WAIT) {
            self.ctx.warn("the server's components did not all answer service discovery; going on");
            self.discovery = None;
            self.iqs.retain(|_, p| !matches!(p, PendingIq::Components | PendingIq::Component(_)));
            self.session_ready().await;
        }
    }
}
