//! Messages from the gateway's numbers, whatever the path: live (to the bare address,
//! so every sharer gets it), a carbon of what another of the user's resources got or
//! sent, or a page of the archive. Receipts and error stanzas settle our own messages.
//! Anything else from the gateway (no number, no text, a receipt for nothing) is
//! dropped: a misbehaving gateway cannot break the store or the views.

use super::{Core, now_ms};
use crate::stanzas;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::message::{Message as XmppMessage, MessageType};
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::stanza_error::StanzaError;
use ucdesk_sdk::contract::notify::{self, Notification, NotifyKind};
use ucdesk_sdk::contract::sms::{self as contract, Direction, MediaFile, MediaState, Message, MessageState};

/// The longest text stored from the gateway (4 UCS-2 parts are 268 characters; an MMS
/// text 1,000): more is cut, so a hostile gateway cannot fill the disk one stanza at a
/// time.
const MAX_BODY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Live,
    Carbon,
    Archive,
}

impl Core {
    pub(super) async fn on_message(&mut self, m: XmppMessage) {
        let Some(me) = self.account.as_ref().map(|a| a.jid.clone()) else { return };
        let from_me = m.from.as_ref().is_none_or(|f| f.to_bare() == me);
        if from_me {
            if let Some(result) = stanzas::payload(&m, "result", ns::MAM) {
                let ours =
                    self.sync.as_ref().is_some_and(|r| result.attr("queryid") == Some(r.queryid.as_str()));
                if let (true, Some((stamp, inner))) = (ours, stanzas::forwarded(result)) {
                    let at = stamp.as_deref().and_then(stanzas::stamp_ms).unwrap_or_else(now_ms);
                    if let Some(run) = self.sync.as_mut() {
                        run.fetched += 1;
                    }
                    if self.on_sms(inner, Source::Archive, at, &me)
                        && let Some(run) = self.sync.as_mut()
                    {
                        run.stored += 1;
                    }
                }
                return;
            }
            for kind in ["received", "sent"] {
                if let Some(carbon) = stanzas::payload(&m, kind, ns::CARBONS)
                    && let Some((_, inner)) = stanzas::forwarded(carbon)
                {
                    self.on_sms(inner, Source::Carbon, now_ms(), &me);
                    return;
                }
            }
        }
        // A stamp from the future (a gateway's clock, or on purpose) would sort the
        // message above everything and outlive a deleted conversation: capped at now.
        let at = stanzas::payload(&m, "delay", ns::DELAY)
            .and_then(|d| d.attr("stamp"))
            .and_then(stanzas::stamp_ms)
            .map_or_else(now_ms, |t| t.min(now_ms()));
        if m.type_ == MessageType::Error {
            let (Some(gateway), Some(from), Some(id)) =
                (self.gateway.clone(), m.from.as_ref(), m.id.as_ref())
            else {
                return;
            };
            // From the number, or from the gateway itself (it refused before looking at
            // the number): then the outbox says which conversation it was.
            let number = stanzas::number_of(from, &gateway).or_else(|| {
                (from.to_bare().as_str() == gateway)
                    .then(|| self.store.as_ref()?.outbox().ok()?.into_iter().find(|q| q.id == id.0))
                    .flatten()
                    .map(|q| q.number)
            });
            let Some(number) = number else { return };
            let error = m
                .payloads
                .iter()
                .find(|p| p.name() == "error")
                .and_then(|e| StanzaError::try_from(e.clone()).ok());
            match error {
                Some(e) => self.on_bounce(&number, &id.0, &e),
                None => self.ctx.debug(format!("an error stanza from {from} without an error")),
            }
            return;
        }
        self.on_sms(m, Source::Live, at, &me);
    }

    /// One message to or from a number behind the gateway; whether it was new.
    fn on_sms(&mut self, m: XmppMessage, source: Source, at: i64, me: &BareJid) -> bool {
        let Some(gateway) = self.gateway.clone() else { return false };
        // A bounce (carbon-copied, or from the archive) is not a text.
        if m.type_ == MessageType::Error {
            return false;
        }
        let from = m.from.clone();
        let to = m.to.clone();
        let sent_by_me = from.as_ref().is_none_or(|f| f.to_bare() == *me);
        let peer: Option<&Jid> = if sent_by_me { to.as_ref() } else { from.as_ref() };
        let Some(number) = peer.and_then(|p| stanzas::number_of(p, &gateway)) else { return false };
        if !sent_by_me && let Some(id) = stanzas::receipt(&m) {
            if source != Source::Archive {
                self.on_receipt(&number, &id);
            }
            return false;
        }
        let url = stanzas::oob_url(&m);
        let Some(mut body) = stanzas::body(&m).or_else(|| url.clone()) else { return false };
        let Some(id) = stanzas::stable_id(&m) else { return false };
        if body.len() > MAX_BODY {
            let mut cut = MAX_BODY;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        // A copy naming the user themself is the user's own message.
        let by = if sent_by_me { None } else { stanzas::sent_by(&m).filter(|s| s.jid != me.as_str()) };
        let direction = if sent_by_me || by.is_some() { Direction::Out } else { Direction::In };
        let fresh = source == Source::Archive && self.sync.as_ref().is_some_and(|r| r.fresh);
        let file = url.as_ref().map(|u| media_file(u));
        let message = Message {
            id,
            number: number.clone(),
            direction,
            body,
            url,
            file,
            // Our own from another device or the archive: the gateway took it then.
            state: if direction == Direction::In { MessageState::Received } else { MessageState::Sent },
            error: None,
            at_ms: at,
            by,
            read: direction == Direction::Out || fresh || self.open.as_deref() == Some(number.as_str()),
        };
        let Some(store) = self.store.as_ref() else { return false };
        match store.insert(&message) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                self.ctx.warn(format!("cannot store an SMS: {e}"));
                return false;
            }
        }
        if source != Source::Archive || !fresh {
            self.ctx.publish(contract::TOPIC_MESSAGE, &message);
        }
        if source == Source::Live && message.direction == Direction::In {
            self.alert(&message);
        }
        // A live file under the limit comes at once; the archive's wait for a click.
        if source != Source::Archive && message.file.is_some() {
            self.fetch(&message, Some(super::files::AUTO_DOWNLOAD));
        }
        true
    }
}

impl Core {
    /// The manual: SMS alerts behave like chat's (do not disturb silences them), and
    /// are off until the user turns them on (`sms.notify`, Preferences -> Alerts).
    fn alert(&self, m: &Message) {
        if !self.prefs.notify || self.dnd || self.open.as_deref() == Some(m.number.as_str()) {
            return;
        }
        let from = self
            .store
            .as_ref()
            .and_then(|s| s.display_of(&m.number).ok().flatten())
            .unwrap_or(m.number.clone());
        let body = match &m.file {
            Some(f) => format!("📎 {}", f.name),
            None => m.body.chars().take(120).collect(),
        };
        let note = Notification {
            id: format!("sms:{}", m.number),
            kind: NotifyKind::Message,
            title: format!("SMS from {from}"),
            body,
            panel: Some("sms".into()),
            target: Some(notify::Target { kind: notify::TargetKind::Conversation, id: m.number.clone() }),
            close: false,
        };
        self.ctx.publish(notify::TOPIC, &note);
    }
}

/// What a received file's address says about it (the name is its last path segment).
fn media_file(url: &str) -> MediaFile {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let raw = path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("file");
    let name =
        ucdesk_xmpp::transfer::safe_name(&percent_encoding::percent_decode_str(raw).decode_utf8_lossy());
    let mime = crate::media::mime_of(&name).unwrap_or("application/octet-stream").to_string();
    MediaFile { name, mime, size: None, path: None, state: MediaState::NotDownloaded, error: None }
}
