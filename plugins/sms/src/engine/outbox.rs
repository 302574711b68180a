//! Sending: the checks before anything is stored (the four-part limit), the number
//! resolved by the gateway, the message stored and queued, pushed while the gateway is
//! up, and its state from the gateway's answer (a receipt, or an error stanza).

use super::error::SmsError;
use super::{Core, PendingIq, now_ms};
use crate::segments;
use crate::stanzas;
use crate::store::Queued;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::stanza_error::{ErrorType, StanzaError};
use ucdesk_sdk::contract::sms::{
    self as contract, Direction, MAX_PARTS, Message, MessageState, State, StateChanged,
};
use ucdesk_sdk::engine::Reply;
use ucdesk_sdk::prelude::*;

impl Core {
    /// `sms.send`: answers once the message is stored (or refused), which may wait on
    /// the gateway turning a typed number into its address.
    pub(super) async fn send_sms(&mut self, s: contract::Send, reply: Reply<Value>) {
        if let Err(e) = self.check(&s) {
            return reply.send(Err(e.into()));
        }
        let typed = s.to.trim().to_string();
        let known = self.store.as_ref().and_then(|st| st.number_for(&typed).ok().flatten());
        if let Some(number) =
            known.or_else(|| (typed.starts_with('+') && stanzas::is_number(&typed)).then(|| typed.clone()))
        {
            let answer = self.send_to(number, s).await;
            return reply.send(answer.map_err(Error::from));
        }
        let Some(gateway) = self.gateway.clone().filter(|_| self.gateway_up) else {
            return reply.send(Err(SmsError::NotReady(
                "the SMS gateway is not answering: type the number in international form (+...)".into(),
            )
            .into()));
        };
        let id = stanzas::new_id();
        self.iqs.insert(id.clone(), PendingIq::Prompt(s, reply));
        self.send(stanzas::iq_set(&id, gateway.parse::<Jid>().ok(), stanzas::prompt(&typed))).await;
    }

    /// Refuses what cannot go, before anything is stored.
    fn check(&self, s: &contract::Send) -> Result<(), SmsError> {
        let status = self.current_status();
        match status.state {
            State::Ready => {}
            State::NoNumber => return Err(SmsError::NotReady("No SMS number assigned".into())),
            // Offline or the gateway down: it waits in the outbox, once we know there
            // is a number to send from.
            _ if self.registration.as_ref().is_some_and(|r| r.number.is_some()) => {}
            _ => {
                return Err(SmsError::NotReady(
                    status.reason.unwrap_or_else(|| "SMS is not ready".into()),
                ));
            }
        }
        if s.to.trim().is_empty() {
            return Err(SmsError::BadArgument("no number to send to".into()));
        }
        if !s.files.is_empty() {
            return Err(SmsError::BadArgument("picture messages (MMS) are not available yet".into()));
        }
        if s.body.trim().is_empty() {
            return Err(SmsError::BadArgument("the message is empty".into()));
        }
        let count = segments::count(&s.body);
        if !count.fits() {
            return Err(SmsError::BadArgument(format!(
                "the message takes {} SMS parts; at most {MAX_PARTS} can be sent at a time",
                count.parts
            )));
        }
        Ok(())
    }

    /// Stores and queues a message to a resolved number.
    pub(super) async fn send_to(&mut self, number: String, s: contract::Send) -> Result<Value, SmsError> {
        let parts = segments::count(&s.body).parts;
        let id = stanzas::new_id();
        let m = Message {
            id: id.clone(),
            number: number.clone(),
            direction: Direction::Out,
            body: s.body.clone(),
            url: None,
            state: MessageState::Sending,
            error: None,
            at_ms: now_ms(),
            by: None,
            read: true,
        };
        let store = self.store()?;
        let typed = s.to.trim();
        if typed != number || store.display_of(&number)?.is_none() {
            store.set_display(&number, typed)?;
        }
        store.insert(&m)?;
        store.queue(&Queued { id: id.clone(), number: number.clone(), body: s.body, url: None })?;
        // A conversation opened on a typed number is this one now.
        if self.open.as_deref().is_some_and(|o| o.trim() == s.to.trim()) {
            self.open = Some(number.clone());
        }
        self.ctx.publish(contract::TOPIC_MESSAGE, &m);
        self.flush_outbox().await;
        Ok(json!(contract::Sent { number, ids: vec![id], parts }))
    }

    /// Puts what waits on the wire, once per gateway session.
    pub(super) async fn flush_outbox(&mut self) {
        if !self.online || !self.gateway_up {
            return;
        }
        let Some(gateway) = self.gateway.clone() else { return };
        let queued = self.store.as_ref().and_then(|s| s.outbox().ok()).unwrap_or_default();
        for q in queued {
            if self.pushed.contains(&q.id) {
                continue;
            }
            let Some(to) = stanzas::address(&q.number, &gateway) else { continue };
            if self.send(stanzas::sms(to, &q.id, &q.body, q.url.as_deref())).await {
                self.pushed.insert(q.id);
            }
        }
    }

    /// The gateway's receipt: the carrier has it.
    pub(super) fn on_receipt(&mut self, number: &str, id: &str) {
        self.settle(number, id, MessageState::Sent, None);
    }

    /// An error stanza for one of our messages. "wait" means the gateway is not there
    /// (the server answered for it): the message waits for it to come back.
    pub(super) fn on_bounce(&mut self, number: &str, id: &str, error: &StanzaError) {
        if error.type_ == ErrorType::Wait {
            self.ctx.info(format!("the SMS gateway is not answering; {id} waits in the outbox"));
            self.lose_gateway();
            return;
        }
        let why = stanzas::error_text(error);
        self.settle(number, id, MessageState::Failed, Some(why));
    }

    fn settle(&mut self, number: &str, id: &str, state: MessageState, error: Option<String>) {
        let Some(store) = self.store.as_ref() else { return };
        let _ = store.unqueue(id);
        self.pushed.remove(id);
        if let Ok(Some(m)) = store.set_state(number, id, state, error.as_deref()) {
            self.ctx.publish(
                contract::TOPIC_STATE,
                &StateChanged { id: m.id, number: m.number, state: m.state, error: m.error },
            );
        }
    }
}
