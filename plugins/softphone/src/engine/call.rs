//! One call and what the user does with it: answer, hang up, hold, merge into a local
//! conference, send DTMF, and the one place a call ends ([`Core::finish`]). A call is
//! made by [`Call::outbound`] or [`Call::inbound`], so every field starts the same way
//! whichever path creates it; only what differs is spelled out at the call site.

use super::error::PhoneError;
use super::publish::{call_alert, later};
use super::wire::{caller_of, header_value, uri_user};
use super::{Core, Msg, no_call};
use crate::media::bridge::Bridge;
use crate::media::rtp::{RtpCmd, RtpStream};
use crate::sdp::{self, MediaDir};
use crate::util;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, StatusCode};
use std::time::{Duration, Instant};
use ucdesk_sdk::contract::phone::CallState;
use ucdesk_sdk::contract::phone::{self as contract, CallEvent, CallResult, Direction, HistoryEntry};

/// How long a BYE may take before we stop waiting for the far end.
const BYE_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue an inbound call came from, as the PBX names it in the INVITE. There is no
/// standard header for this: Asterisk dialplans add it with `PJSIP_HEADER(add,...)` or
/// `SIPADDHEADER`, and `X-Queue-Number` / `X-Queue-Name` (with `X-Agent-Number` /
/// `X-Agent-Name` when the PBX names the agent) are the names most PBXs and CRM
/// connectors use; docs/plugin-guide.md lists them beside the phone contract.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Queue {
    pub(super) number: Option<String>,
    pub(super) name: Option<String>,
    pub(super) agent_number: Option<String>,
    pub(super) agent_name: Option<String>,
}

impl Queue {
    /// Reads the queue headers of `req`; on a queue call without agent headers the agent
    /// is the user `me` the PBX offered it to.
    pub(super) fn of(req: &rsipstack::sip::Request, me: &str) -> Queue {
        let get =
            |name: &str| header_value(req, name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let number = get("X-Queue-Number");
        let name = get("X-Queue-Name");
        let from_queue = number.is_some() || name.is_some();
        Queue {
            agent_number: get("X-Agent-Number").or_else(|| from_queue.then(|| me.to_string())),
            agent_name: get("X-Agent-Name"),
            number,
            name,
        }
    }
}

/// One call, from its INVITE until [`Core::finish`] takes it out of the core.
pub(super) struct Call {
    pub(super) id: String,
    pub(super) dialog: Option<InviteDialog>,
    pub(super) direction: Direction,
    pub(super) number: String,
    pub(super) name: Option<String>,
    pub(super) ext: Option<String>,
    /// Our own display name (the account's `display_name`), for CRM popups' `ext_name`.
    pub(super) ext_name: Option<String>,
    pub(super) did: Option<String>,
    /// The queue the PBX offered this call from, and the agent it was offered to.
    pub(super) queue: Queue,
    pub(super) state: CallState,
    pub(super) start_unix: i64,
    pub(super) answered: Option<Instant>,
    pub(super) local_hold: bool,
    pub(super) remote_hold: bool,
    pub(super) rtp: RtpStream,
    pub(super) local: sdp::Local,
    pub(super) remote: Option<sdp::Remote>,
    pub(super) auto_answer_at: Option<Instant>,
    pub(super) auto_answer_pending: bool,
    pub(super) ringing_published: bool,
    pub(super) transferred_to: Option<String>,
    /// Attended transfer: the consultation call the far end is to replace.
    pub(super) consultation: Option<String>,
    /// We are the transferee: the call whose REFER this call follows (its referrer
    /// hears how it goes through NOTIFYs).
    pub(super) referred_from: Option<String>,
    /// The latest quality report.
    pub(super) quality: Option<contract::CallQuality>,
    /// Every report of the call, for the quality log.
    pub(super) qualities: Vec<contract::CallQuality>,
    /// Media is SRTP.
    pub(super) encrypted: bool,
    /// The other call of the local conference this call is in, and the bridge.
    pub(super) conference: Option<(String, Bridge)>,
    pub(super) muted: bool,
    /// Who the CRM says the far end is (`crm.match`), for the call window.
    pub(super) crm_name: Option<String>,
    pub(super) emergency: Option<String>,
    pub(super) result: Option<CallResult>,
    pub(super) reason: Option<String>,
}

impl Call {
    /// A call we place: `calling` until the far end rings. `ext`: our own user.
    pub(super) fn outbound(
        id: String,
        dialog: InviteDialog,
        number: String,
        ext: String,
        rtp: RtpStream,
        local: sdp::Local,
    ) -> Call {
        Call {
            number,
            ext: Some(ext),
            ..Call::new(id, dialog, Direction::Outbound, CallState::Calling, rtp, local)
        }
    }

    /// A call from the far end, ringing from the start: the caller as the INVITE names
    /// it (P-Asserted-Identity, else From), and the number it dialed (To) when that is
    /// not our own user `me` (a DID). `remote`: its offer, when it sent one that parses.
    pub(super) fn inbound(
        dialog: InviteDialog,
        me: String,
        rtp: RtpStream,
        local: sdp::Local,
        remote: Option<sdp::Remote>,
    ) -> Call {
        let req = dialog.initial_request();
        let (number, name) = caller_of(&req);
        let to_user = header_value(&req, "To").and_then(|v| uri_user(&v));
        let id = dialog.id().call_id.clone();
        let queue = Queue::of(&req, &me);
        Call {
            number,
            name,
            did: to_user.filter(|u| *u != me),
            queue,
            ext: Some(me),
            remote,
            ringing_published: true,
            ..Call::new(id, dialog, Direction::Inbound, CallState::Ringing, rtp, local)
        }
    }

    /// Every field as a new call has it, whichever way it goes.
    fn new(
        id: String,
        dialog: InviteDialog,
        direction: Direction,
        state: CallState,
        rtp: RtpStream,
        local: sdp::Local,
    ) -> Call {
        Call {
            id,
            dialog: Some(dialog),
            direction,
            number: String::new(),
            name: None,
            ext: None,
            ext_name: None,
            did: None,
            queue: Queue::default(),
            state,
            start_unix: util::unix_now(),
            answered: None,
            local_hold: false,
            remote_hold: false,
            rtp,
            local,
            remote: None,
            auto_answer_at: None,
            auto_answer_pending: false,
            ringing_published: false,
            transferred_to: None,
            consultation: None,
            referred_from: None,
            quality: None,
            qualities: Vec::new(),
            encrypted: false,
            conference: None,
            muted: false,
            crm_name: None,
            emergency: None,
            result: None,
            reason: None,
        }
    }

    pub(super) fn event(&self) -> CallEvent {
        CallEvent {
            callid: self.id.clone(),
            direction: self.direction,
            number: self.number.clone(),
            name: self.name.clone(),
            ext: self.ext.clone(),
            ext_name: self.ext_name.clone(),
            did: self.did.clone(),
            queue_number: self.queue.number.clone(),
            queue_name: self.queue.name.clone(),
            agent_number: self.queue.agent_number.clone(),
            agent_name: self.queue.agent_name.clone(),
            duration: self.answered.map(|a| a.elapsed().as_secs()).unwrap_or(0),
            state: self.state,
            result: self.result,
            transferred_to: self.transferred_to.clone(),
            reason: self.reason.clone(),
            muted: self.muted,
        }
    }

    pub(super) fn connected(&self) -> bool {
        self.answered.is_some() && self.result.is_none()
    }

    /// Takes the far end's session description (answer, or a re-offer): where media
    /// goes, and whether it holds us.
    pub(super) fn apply_remote(&mut self, remote: &sdp::Remote) -> Result<(), String> {
        self.remote_hold = remote.dir.holds_us();
        self.remote = Some(remote.clone());
        self.state = if self.remote_hold || self.local_hold { CallState::Held } else { CallState::Connected };
        self.start_media(remote)
    }

    /// Points the call's media at the far end (see [`crate::media::call::start`]) and
    /// notes whether it is encrypted.
    pub(super) fn start_media(&mut self, remote: &sdp::Remote) -> Result<(), String> {
        self.encrypted = crate::media::call::start(&self.rtp, &self.local, self.local_hold, remote)?;
        Ok(())
    }
}

impl Core {
    pub(super) async fn answer(&mut self, id: &str) -> Result<(), PhoneError> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if call.direction != Direction::Inbound || call.answered.is_some() {
            return Err(PhoneError::Refused(format!("call {id} is not ringing")));
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        call.local.version += 1;
        let remote = call.remote.clone();
        let body = match &remote {
            Some(r) => sdp::answer(&call.local, r, r.dir.answer_to(false)).map_err(|e| e.to_string())?,
            // An INVITE without an offer (RFC 3261 §13.2.1, "delayed offer", e.g. from a
            // PBX's click-to-call): we offer in the 200 OK and the answer comes in the
            // ACK, picked up when the dialog is confirmed.
            None => sdp::offer(&call.local, MediaDir::SendRecv),
        };
        dialog
            .accept(Some(vec![Header::ContentType("application/sdp".into())]), Some(body.into_bytes()))
            .map_err(|e| format!("cannot answer: {e}"))?;
        call.answered = Some(Instant::now());
        call.auto_answer_at = None;
        call.auto_answer_pending = false;
        call.state = CallState::Connected;
        if let Some(r) = &remote {
            call.apply_remote(r)?;
        }
        let event = call.event();
        self.pending.push(later(contract::TOPIC_ANSWERED, &event));
        self.pending.push(call_alert(&event, true));
        Ok(())
    }

    pub(super) async fn hangup(&mut self, id: &str) -> Result<(), PhoneError> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        let Some(dialog) = call.dialog.clone() else { return Ok(()) };
        match (call.direction, call.answered) {
            (Direction::Inbound, None) => {
                call.result = Some(CallResult::Rejected);
                dialog.reject(Some(StatusCode::Decline), None).map_err(|e| e.to_string())?;
            }
            (Direction::Outbound, None) => {
                call.result = Some(CallResult::Cancelled);
                // A CANCEL before any provisional answer is held by the stack until one
                // arrives (RFC 3261 §9.1); the dialog ends either way.
                let d = dialog.clone();
                tokio::spawn(async move {
                    let _ = d.cancel().await;
                });
            }
            _ => bye_with_timeout(dialog),
        }
        Ok(())
    }

    pub(super) fn hold(&mut self, id: &str, hold: bool) -> Result<(), PhoneError> {
        let call = self.calls.get_mut(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(PhoneError::Refused(format!("call {id} is not connected")));
        }
        if call.local_hold == hold {
            return Ok(());
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        call.local.version += 1;
        let dir = match (hold, call.remote_hold) {
            (true, false) => MediaDir::SendOnly,
            (true, true) => MediaDir::Inactive,
            (false, false) => MediaDir::SendRecv,
            (false, true) => MediaDir::RecvOnly,
        };
        let body = sdp::offer(&call.local, dir);
        let tx = self.tx.clone();
        let callid = id.to_string();
        tokio::spawn(async move {
            let r = dialog
                .reinvite(Some(vec![Header::ContentType("application/sdp".into())]), Some(body.into_bytes()))
                .await;
            let (ok, body) = match r {
                Ok(Some(resp)) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    (true, Some(resp.body.clone()))
                }
                _ => (false, None),
            };
            let _ = tx.send(Msg::ReinviteDone { callid, hold, ok, body });
        });
        Ok(())
    }

    pub(super) fn reinvite_done(&mut self, id: &str, hold: bool, ok: bool, body: Option<Vec<u8>>) {
        let Some(call) = self.calls.get_mut(id) else { return };
        if !ok {
            self.notice = Some(format!("the other side refused to {}", if hold { "hold" } else { "resume" }));
            return;
        }
        call.local_hold = hold;
        if let Some(remote) = body.and_then(|b| sdp::parse(&b).ok()) {
            call.remote = Some(remote.clone());
            let _ = call.start_media(&remote);
        }
        call.rtp.send(RtpCmd::Sending(!hold));
        call.state = if hold || call.remote_hold { CallState::Held } else { CallState::Connected };
        let event = call.event();
        self.pending.push(later(if hold { contract::TOPIC_HELD } else { contract::TOPIC_RESUMED }, &event));
    }

    /// Merges two connected calls into a local conference; `host` keeps the sound card.
    pub(super) fn conference(&mut self, host: &str, guest: &str) -> Result<(), PhoneError> {
        if host == guest {
            return Err("a conference needs two different calls".into());
        }
        for id in [host, guest] {
            let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
            if !call.connected() {
                return Err(PhoneError::Refused(format!("call {id} is not connected")));
            }
            if call.conference.is_some() {
                return Err(PhoneError::Refused(format!("call {id} is already in a conference")));
            }
        }
        // Both parties must hear us: take them off our hold first.
        for id in [host, guest] {
            if self.calls.get(id).is_some_and(|c| c.local_hold) {
                self.hold(id, false)?;
            }
        }
        let bridge = Bridge::default();
        for (id, other, is_host) in [(host, guest, true), (guest, host, false)] {
            if let Some(c) = self.calls.get_mut(id) {
                c.conference = Some((other.to_string(), bridge.clone()));
                c.rtp.send(RtpCmd::Conference { bridge: bridge.clone(), host: is_host });
            }
        }
        Ok(())
    }

    pub(super) fn dtmf(&mut self, id: &str, digits: &str) -> Result<(), PhoneError> {
        if let Some(bad) = digits.chars().find(|c| crate::media::rtp::event_code(*c).is_none()) {
            return Err(PhoneError::BadArgument(format!("{bad:?} is not a DTMF key (0-9 * # A-D)")));
        }
        let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(PhoneError::Refused(format!("call {id} is not connected")));
        }
        if call.remote.as_ref().is_some_and(|r| !r.telephone_events.is_empty()) {
            call.rtp.send(RtpCmd::Dtmf(digits.to_string()));
            return Ok(());
        }
        // No RFC 4733 on the far end: SIP INFO, one request per key, in order.
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        let keys: Vec<char> = digits.chars().collect();
        tokio::spawn(async move {
            for k in keys {
                let body = format!("Signal={k}\r\nDuration=160\r\n");
                let _ = dialog
                    .info(
                        Some(vec![Header::ContentType("application/dtmf-relay".into())]),
                        Some(body.into_bytes()),
                    )
                    .await;
            }
        });
        Ok(())
    }

    /// Ends a call once: `call.ended`, history, auto answer for a waiting call.
    pub(super) fn finish(&mut self, id: &str, result: Option<CallResult>) {
        let Some(mut call) = self.calls.remove(id) else { return };
        // Leaving a conference: the other call goes back to a plain call on its own devices.
        if let Some((other, bridge)) = call.conference.take() {
            bridge.leave(id);
            if let Some(o) = self.calls.get_mut(&other) {
                o.conference = None;
                o.rtp.send(RtpCmd::LeaveConference);
            }
        }
        call.result = call.result.or(result).or(Some(CallResult::Failed));
        call.state = CallState::Ended;
        if let (Some(original), None) = (&call.referred_from, call.answered) {
            let code = call.reason.as_deref().and_then(|r| r.parse::<u16>().ok()).unwrap_or(500);
            let reason = call.result.map(|r| r.as_str()).unwrap_or("failed");
            self.notify_referrer(original, code, reason, true);
            if let Some(o) = self.calls.get_mut(original) {
                o.transferred_to = None;
            }
        }
        let event = call.event();
        self.pending.push(later(contract::TOPIC_ENDED, &event));
        if event.direction == Direction::Inbound {
            self.pending.push(call_alert(&event, true));
        }
        if let Some(h) = &self.history {
            let entry = HistoryEntry {
                callid: call.id.clone(),
                direction: call.direction,
                number: call.number.clone(),
                name: call.name.clone(),
                start: call.start_unix,
                duration: event.duration,
                result: call.result.unwrap_or(CallResult::Failed),
            };
            if let Err(e) = h.record(&entry) {
                self.ctx.warn(format!("{e}"));
            }
            let logging = self.config.as_ref().is_some_and(|c| c.quality_log);
            if logging
                && !call.qualities.is_empty()
                && let Err(e) = h.log_quality(&call.id, &call.number, call.start_unix, &call.qualities)
            {
                self.ctx.warn(format!("{e}"));
            }
        }
        // Auto answer waited for the active call to end (manual: Auto Answer).
        if !self.calls.values().any(|c| c.connected())
            && let Some(secs) = self.config.as_ref().filter(|c| c.auto_answer).map(|c| c.auto_answer_seconds)
            && let Some(c) = self.calls.values_mut().find(|c| c.auto_answer_pending)
        {
            c.auto_answer_pending = false;
            c.auto_answer_at = Some(Instant::now() + Duration::from_secs(secs as u64));
        }
    }
}

/// Hangs up a connected dialog without waiting for the far end (the core never blocks
/// on the network), giving up after [`BYE_TIMEOUT`].
pub(super) fn bye_with_timeout(dialog: InviteDialog) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(BYE_TIMEOUT, dialog.bye()).await;
    });
}

/// Sends a BYE for a connected call without waiting for it.
pub(super) fn hang_up_now(call: &Call) {
    if let Some(d) = call.dialog.clone() {
        bye_with_timeout(d);
    }
}
