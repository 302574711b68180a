//! Sending: the checks before anything is stored (the four-part limit), the number
//! resolved by the gateway, the message stored and queued, pushed while the gateway is
//! up, and its state from the gateway's answer (a receipt, or an error stanza).

use super::error::SmsError;
use super::{Core, Msg, PendingIq, now_ms};
use crate::stanzas;
use crate::store::Queued;
use crate::{media, segments};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::stanza_error::{ErrorType, StanzaError};
use ucdesk_sdk::contract::sms::{
    self as contract, Direction, MAX_FILES, MAX_MMS_TEXT, MAX_PARTS, MediaFile, MediaState, Message,
    MessageState, State, StateChanged,
};
use ucdesk_sdk::engine::Reply;
use ucdesk_sdk::prelude::*;

impl Core {
    /// `sms.send`: answers once the message is stored (or refused), which may wait on
    /// the gateway turning a typed number into its address, and on an MMS's files being
    /// prepared.
    pub(super) async fn send_sms(&mut self, s: contract::Send, reply: Reply<Value>) {
        if let Err(e) = self.check(&s) {
            return reply.send(Err(e.into()));
        }
        let typed = s.to.trim().to_string();
        let known = self.store.as_ref().and_then(|st| st.number_for(&typed).ok().flatten());
        let e164 = (typed.starts_with('+') && stanzas::is_number(&typed)).then(|| typed.clone());
        if let Some(number) = known.or(e164) {
            return self.send_to(number, s, reply).await;
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
            // is a number to send from (this session, or the last one).
            _ if self.registration.as_ref().is_some_and(|r| r.number.is_some()) => {}
            _ if self.store.as_ref().and_then(|s| s.meta("number").ok().flatten()).is_some()
                && self.account.is_some() => {}
            _ => {
                return Err(SmsError::NotReady(status.reason.unwrap_or_else(|| "SMS is not ready".into())));
            }
        }
        if s.to.trim().is_empty() {
            return Err(SmsError::BadArgument("no number to send to".into()));
        }
        if s.files.is_empty() && s.body.trim().is_empty() {
            return Err(SmsError::BadArgument("the message is empty".into()));
        }
        if s.files.len() > MAX_FILES {
            return Err(SmsError::BadArgument(media::MediaError::TooManyFiles(s.files.len()).to_string()));
        }
        if !s.files.is_empty() {
            let chars = s.body.chars().count();
            if chars > MAX_MMS_TEXT {
                return Err(SmsError::BadArgument(format!(
                    "an MMS carries at most {MAX_MMS_TEXT} characters of text ({chars} written)"
                )));
            }
            return Ok(());
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

    /// A send to a resolved number: an SMS is stored and queued now; an MMS's files
    /// are prepared on the blocking pool first (recompressing takes a while).
    pub(super) async fn send_to(&mut self, number: String, s: contract::Send, reply: Reply<Value>) {
        if s.files.is_empty() {
            let answer = self.store_send(number, s, Vec::new()).await;
            return reply.send(answer.map_err(Error::from));
        }
        let batch = stanzas::new_id();
        let out = self.ctx.data_dir().join("outgoing").join(&batch);
        let files: Vec<std::path::PathBuf> = s.files.iter().map(std::path::PathBuf::from).collect();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = media::prepare(&files, &out);
            let _ = tx.send(Msg::Prepared { number, send: s, result, reply });
        });
    }

    /// The prepared files of an MMS (or why they cannot go).
    pub(super) async fn on_prepared(
        &mut self,
        number: String,
        s: contract::Send,
        result: Result<Vec<media::Prepared>, media::MediaError>,
        reply: Reply<Value>,
    ) {
        let answer = match result {
            Ok(files) => self.store_send(number, s, files).await,
            Err(e) => Err(SmsError::BadArgument(e.to_string())),
        };
        reply.send(answer.map_err(Error::from));
    }

    /// Stores the text and each file as its own message, in that order, and queues
    /// them.
    async fn store_send(
        &mut self,
        number: String,
        s: contract::Send,
        files: Vec<media::Prepared>,
    ) -> Result<Value, SmsError> {
        let parts = if files.is_empty() { segments::count(&s.body).parts } else { 0 };
        let now = now_ms();
        let mut out: Vec<(Message, Queued)> = Vec::new();
        if !s.body.trim().is_empty() {
            let id = stanzas::new_id();
            let q = Queued {
                id: id.clone(),
                number: number.clone(),
                body: s.body.clone(),
                path: None,
                mime: None,
                url: None,
            };
            out.push((outgoing(&id, &number, &s.body, now, None), q));
        }
        for (i, f) in files.into_iter().enumerate() {
            let id = stanzas::new_id();
            let file = MediaFile {
                name: f.name.clone(),
                mime: f.mime.clone(),
                size: Some(f.size),
                path: Some(f.path.display().to_string()),
                state: MediaState::Uploading,
                error: None,
            };
            let path = Some(f.path.display().to_string());
            let q = Queued {
                id: id.clone(),
                number: number.clone(),
                body: f.name,
                path,
                mime: Some(f.mime),
                url: None,
            };
            // A millisecond apart: the conversation shows them in the order sent.
            out.push((outgoing(&id, &number, &q.body, now + 1 + i as i64, Some(file)), q));
        }
        let store = self.store()?;
        // Shown as the contact's name, else as typed (the E.164 when it was typed so).
        let typed = s.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(s.to.trim());
        if typed != number || store.display_of(&number)?.is_none() {
            store.set_display(&number, typed)?;
        }
        for (m, q) in &out {
            store.insert(m)?;
            store.queue(q)?;
        }
        // A conversation opened on a typed number is this one now.
        if self.open.as_deref().is_some_and(|o| o.trim() == s.to.trim()) {
            self.open = Some(number.clone());
        }
        for (m, _) in &out {
            self.ctx.publish(contract::TOPIC_MESSAGE, m);
        }
        self.flush_outbox().await;
        let ids: Vec<String> = out.iter().map(|(m, _)| m.id.clone()).collect();
        let parts = if parts == 0 { ids.len() as u32 } else { parts };
        Ok(json!(contract::Sent { number, ids, parts }))
    }

    /// Puts what waits on the wire, once per gateway session.
    pub(super) async fn flush_outbox(&mut self) {
        if !self.online || !self.gateway_up {
            return;
        }
        let Some(gateway) = self.gateway.clone() else { return };
        let queued = self.store.as_ref().and_then(|s| s.outbox().ok()).unwrap_or_default();
        // The text goes first, then the files one by one: a part still uploading holds
        // the ones after it to the same number.
        let mut held: std::collections::HashSet<String> = std::collections::HashSet::new();
        for q in queued {
            if held.contains(&q.number) {
                continue;
            }
            if q.path.is_some() && q.url.is_none() {
                self.upload(&q).await;
                // Held while its upload is under way (or waits for the upload service);
                // one that failed at once no longer holds the rest.
                if self.transfers.contains(&q.id) || self.discovering.is_some() {
                    held.insert(q.number.clone());
                }
                continue;
            }
            if self.pushed.contains_key(&q.id) {
                continue;
            }
            let Some(to) = stanzas::address(&q.number, &gateway) else { continue };
            if self.send(stanzas::sms(to, &q.id, &q.body, q.url.as_deref())).await {
                self.pushed.insert(q.id, std::time::Instant::now());
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

    pub(super) fn settle(&mut self, number: &str, id: &str, state: MessageState, error: Option<String>) {
        let Some(store) = self.store.as_ref() else { return };
        // By (number, id): a receipt from another number does not settle our message.
        let _ = store.unqueue(number, id);
        self.pushed.remove(id);
        if let Ok(Some(m)) = store.set_state(number, id, state, error.as_deref()) {
            self.ctx.publish(
                contract::TOPIC_STATE,
                &StateChanged { id: m.id, number: m.number, state: m.state, error: m.error },
            );
        }
    }
}

/// A message of ours as stored before it goes.
fn outgoing(id: &str, number: &str, body: &str, at_ms: i64, file: Option<MediaFile>) -> Message {
    Message {
        id: id.to_string(),
        number: number.to_string(),
        direction: Direction::Out,
        body: body.to_string(),
        url: None,
        file,
        state: MessageState::Sending,
        error: None,
        at_ms,
        by: None,
        read: true,
    }
}
