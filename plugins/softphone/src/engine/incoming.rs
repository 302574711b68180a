//! What the far end starts: a new INVITE (refused, or ringing with our ringtone and
//! perhaps auto answer), and every change on a dialog it drives (early media, answer,
//! re-INVITE, INFO, NOTIFY, REFER, the end). [`serve_incoming`] routes the requests off
//! the endpoint; the core handles them here.

use super::call::{Call, hang_up_now};
use super::publish::{call_alert, later};
use super::{Core, Msg, media_msg};
use crate::media::rtp::{RtpCmd, RtpStream};
use crate::sdes::Keys;
use crate::sdp::{self, MediaDir};
use crate::util;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{self as rsip, Header, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use ucdesk_sdk::contract::phone::CallState;
use ucdesk_sdk::contract::phone::{self as contract, CallResult, Direction, DtmfEvent};

impl Core {
    /// Rings while an incoming call waits for an answer (one ringtone however many ring).
    pub(super) fn ring(&mut self) {
        let ringing = self
            .calls
            .values()
            .any(|c| c.direction == Direction::Inbound && c.answered.is_none() && c.result.is_none());
        match (ringing, self.ringer.is_some() || self.ring_failed) {
            (true, false) => {
                let Some(cfg) = &self.config else { return };
                match crate::media::ring::Ringer::start(&cfg.ringtone, &cfg.ring_device, cfg.ring_volume) {
                    Ok(r) => self.ringer = r.map(Some).unwrap_or(None),
                    Err(e) => {
                        self.notice = Some(format!("the ringtone cannot play: {e}"));
                        self.ring_failed = true;
                    }
                }
                // Silent or null: nothing to start, nothing to retry.
                self.ring_failed |= self.ringer.is_none();
            }
            (false, _) => {
                self.ringer = None;
                self.ring_failed = false;
            }
            (true, true) => {}
        }
    }

    /// A new INVITE: refused (an offer we cannot use, DND, call waiting off) or ringing,
    /// with the auto answer countdown started (or waiting for the connected call).
    pub(super) async fn incoming(&mut self, dialog: InviteDialog) {
        let cfg = self.config.clone();
        let req = dialog.initial_request();
        let callid = dialog.id().call_id.clone();
        let me = cfg.as_ref().map(|c| c.username.clone()).unwrap_or_default();
        let busy = self.calls.values().any(|c| c.result.is_none());
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let local_ip = self.account.as_ref().map(|a| a.local_ip).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let setup = cfg.as_ref().map(|c| c.media_setup()).unwrap_or_default();
        let Ok(rtp) = RtpStream::bind(local_ip, callid.clone(), setup, media_tx).await else {
            let _ = dialog.reject(Some(StatusCode::ServiceUnavailable), Some("no RTP port".into()));
            return;
        };
        crate::media::call::forward(callid.clone(), media_rx, self.tx.clone(), media_msg);
        let remote = sdp::parse(&req.body);
        let local = sdp::Local {
            addr: local_ip,
            port: rtp.port,
            session_id: util::random_u32() as u64,
            version: 1,
            codecs: cfg.as_ref().map(|c| c.codecs.clone()).unwrap_or_else(|| sdp::Codec::ALL.to_vec()),
            keys: Keys::random(),
            require_srtp: cfg
                .as_ref()
                .zip(self.account.as_ref().and_then(|a| a.target.as_ref()))
                .is_some_and(|(c, t)| c.srtp.required(t.transport)),
        };
        let mut call = Call::inbound(dialog.clone(), me, rtp, local, remote.as_ref().ok().cloned());
        call.ext_name = cfg.as_ref().map(|c| c.display_name.clone()).filter(|n| !n.is_empty());
        let refuse = match (&cfg, &remote) {
            (_, Err(e)) if !req.body.is_empty() => {
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, e.to_string()))
            }
            (_, Ok(r)) if sdp::secure(&call.local, r).is_err() => {
                let why = sdp::secure(&call.local, r).err().map(|e| e.to_string()).unwrap_or_default();
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, why))
            }
            (_, Ok(r)) if sdp::common(&call.local, r).is_empty() => {
                let offered: Vec<&str> = r.codecs.iter().map(|f| f.codec.id()).collect();
                let why = format!("no codec in common (offered {})", offered.join(" "));
                Some((StatusCode::NotAcceptableHere, CallResult::Failed, why))
            }
            (Some(c), _) if c.dnd => {
                Some((StatusCode::BusyHere, CallResult::Rejected, "do not disturb".into()))
            }
            (Some(c), _) if busy && !c.call_waiting => {
                Some((StatusCode::BusyHere, CallResult::Busy, "call waiting is off".into()))
            }
            _ => None,
        };
        if let Some((code, result, why)) = refuse {
            let _ = dialog.reject(Some(code), Some(why.clone()));
            call.result = Some(result);
            call.reason = Some(why);
            call.state = CallState::Ended;
            self.calls.insert(callid.clone(), call);
            self.finish(&callid, Some(result));
            return;
        }
        let _ = dialog.ringing(None, None);
        if let Some(c) = &cfg
            && c.auto_answer
        {
            if self.calls.values().any(|c| c.connected()) {
                call.auto_answer_pending = true;
            } else {
                call.auto_answer_at =
                    Some(Instant::now() + Duration::from_secs(c.auto_answer_seconds as u64));
            }
        }
        let event = call.event();
        self.calls.insert(callid, call);
        self.pending.push(later(contract::TOPIC_INCOMING, &event));
        self.pending.push(later(contract::TOPIC_RINGING, &event));
        self.pending.push(call_alert(&event, false));
    }

    /// A change on one of our dialogs, as rsipstack's dialog layer reports it.
    pub(super) async fn dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Early(id, resp) => {
                let Some(call) = self.calls.get_mut(&id.call_id) else { return };
                if call.direction == Direction::Outbound && !call.ringing_published {
                    call.ringing_published = true;
                    call.state = CallState::Ringing;
                    match sdp::parse(&resp.body) {
                        // Early media: the far end plays its own ringback.
                        Ok(remote) => {
                            call.remote = Some(remote.clone());
                            let _ = call.start_media(&remote);
                        }
                        Err(_) => {
                            let tone = self.config.as_ref().map(|c| c.ringback.clone()).unwrap_or_default();
                            call.rtp.send(RtpCmd::Ringback(Some(tone)));
                        }
                    }
                    let event = call.event();
                    self.pending.push(later(contract::TOPIC_RINGING, &event));
                }
            }
            DialogState::Confirmed(id, resp) => {
                let Some(call) = self.calls.get_mut(&id.call_id) else { return };
                if call.direction == Direction::Inbound && call.answered.is_some() && call.remote.is_none() {
                    // Delayed offer: the answer to our offer is in the ACK.
                    let ack = call.dialog.as_ref().and_then(|d| d.last_remote_ack());
                    match ack.map(|a| sdp::parse(&a.body)) {
                        Some(Ok(remote)) => {
                            if let Err(e) = call.apply_remote(&remote) {
                                call.reason = Some(e);
                                hang_up_now(call);
                            }
                        }
                        Some(Err(e)) => {
                            call.reason = Some(format!("the caller's answer is unusable: {e}"));
                            hang_up_now(call);
                        }
                        None => {}
                    }
                    return;
                }
                if call.direction == Direction::Outbound && call.answered.is_none() {
                    call.answered = Some(Instant::now());
                    call.state = CallState::Connected;
                    call.rtp.send(RtpCmd::Ringback(None));
                    if let Ok(remote) = sdp::parse(&resp.body)
                        && let Err(e) = call.apply_remote(&remote)
                    {
                        // Connected, but not as required (e.g. no encryption): end it.
                        self.notice = Some(format!("call to {} ended: {e}", call.number));
                        call.reason = Some(e);
                        hang_up_now(call);
                    }
                    let event = call.event();
                    self.pending.push(later(contract::TOPIC_ANSWERED, &event));
                    if let Some(original) = call.referred_from.clone() {
                        self.notify_referrer(&original, 200, "OK", true);
                        if let Some(o) = self.calls.get_mut(&original) {
                            o.state = CallState::Transferred;
                            let event = o.event();
                            self.pending.push(later(contract::TOPIC_TRANSFERRED, &event));
                        }
                    }
                }
            }
            DialogState::Updated(id, req, handle) => {
                // A re-INVITE (or UPDATE) from the far end: hold, resume, new address.
                let Some(call) = self.calls.get_mut(&id.call_id) else {
                    let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
                    return;
                };
                match sdp::parse(&req.body) {
                    Ok(remote) => {
                        call.local.version += 1;
                        let Ok(body) =
                            sdp::answer(&call.local, &remote, remote.dir.answer_to(call.local_hold))
                        else {
                            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                            return;
                        };
                        let held_before = call.remote_hold;
                        let _ = call.apply_remote(&remote);
                        // The far end holding or resuming is news, as our own hold is.
                        let news = (call.remote_hold != held_before).then(|| {
                            let topic =
                                if call.remote_hold { contract::TOPIC_HELD } else { contract::TOPIC_RESUMED };
                            later(topic, &call.event())
                        });
                        let _ = handle
                            .respond(
                                StatusCode::OK,
                                Some(vec![Header::ContentType("application/sdp".into())]),
                                Some(body.into_bytes()),
                            )
                            .await;
                        self.pending.extend(news);
                    }
                    Err(_) if req.body.is_empty() => {
                        call.local.version += 1;
                        let body = sdp::offer(
                            &call.local,
                            if call.local_hold { MediaDir::SendOnly } else { MediaDir::SendRecv },
                        );
                        let _ = handle
                            .respond(
                                StatusCode::OK,
                                Some(vec![Header::ContentType("application/sdp".into())]),
                                Some(body.into_bytes()),
                            )
                            .await;
                    }
                    Err(_) => {
                        let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                    }
                }
            }
            DialogState::Info(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                let body = String::from_utf8_lossy(&req.body);
                // application/dtmf-relay ("Signal=5") or application/dtmf ("5").
                let key = body
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("Signal=").map(|s| s.trim().to_string()))
                    .or_else(|| Some(body.trim().to_string()).filter(|s| s.chars().count() == 1));
                if let Some(k) = key.and_then(|k| k.chars().next()) {
                    self.pending.push(later(
                        contract::TOPIC_DTMF,
                        &DtmfEvent { callid: id.call_id.clone(), digits: k.to_string() },
                    ));
                }
            }
            DialogState::Notify(id, req, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                self.refer_notified(&id.call_id, &req);
            }
            DialogState::Refer(id, req, handle) => self.referred(&id.call_id, &req, handle).await,
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
            }
            DialogState::Terminated(id, reason) => {
                if let Some(a) = &self.account {
                    a.dialogs.remove_dialog(&id);
                }
                let Some(call) = self.calls.get(&id.call_id) else { return };
                let result =
                    call.result.unwrap_or(match (call.direction, call.answered.is_some(), &reason) {
                        (_, true, _) => CallResult::Answered,
                        (Direction::Inbound, false, TerminatedReason::UacCancel) => CallResult::Missed,
                        (Direction::Inbound, false, TerminatedReason::Timeout) => CallResult::Missed,
                        (Direction::Inbound, false, _) => CallResult::Rejected,
                        (Direction::Outbound, false, TerminatedReason::UasBusy) => CallResult::Busy,
                        (Direction::Outbound, false, TerminatedReason::UasDecline) => CallResult::Rejected,
                        (Direction::Outbound, false, TerminatedReason::UacCancel) => CallResult::Cancelled,
                        (Direction::Outbound, false, _) => CallResult::Failed,
                    });
                if call.reason.is_none()
                    && let Some(c) = self.calls.get_mut(&id.call_id)
                {
                    c.reason = Some(format!("{reason:?}"));
                }
                self.finish(&id.call_id, Some(result));
            }
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(..) => {}
        }
    }

    /// Every 500 ms: answers the calls whose auto answer countdown has run out.
    pub(super) async fn tick(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .calls
            .values()
            .filter(|c| c.auto_answer_at.is_some_and(|at| at <= now))
            .map(|c| c.id.clone())
            .collect();
        for id in due {
            if self.calls.values().any(|c| c.connected()) {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.auto_answer_at = None;
                    c.auto_answer_pending = true;
                }
                continue;
            }
            if let Err(e) = self.answer(&id).await {
                self.ctx.warn(format!("auto answer of {id}: {e}"));
            }
        }
    }
}

/// Routes incoming requests: in-dialog ones to their dialog, new INVITEs to the core.
pub(super) async fn serve_incoming(
    mut incoming: rsipstack::transaction::TransactionReceiver,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    contact: rsip::Uri,
    core: mpsc::UnboundedSender<Msg>,
) {
    use rsipstack::sip::prelude::HeadersExt;
    while let Some(mut tx) = incoming.recv().await {
        let has_tag = tx.original.to_header().ok().and_then(|t| t.tag().ok().flatten()).is_some();
        if has_tag {
            match dialogs.match_dialog(&tx) {
                Some(mut d) => {
                    tokio::spawn(async move {
                        let _ = d.handle(&mut tx).await;
                    });
                }
                None => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
            }
            continue;
        }
        match tx.original.method {
            rsip::Method::Invite => {
                match dialogs.get_or_create_server_invite(&tx, state_tx.clone(), None, Some(contact.clone()))
                {
                    Ok(dialog) => {
                        let mut d = dialog.clone();
                        let _ = core.send(Msg::Incoming(dialog));
                        tokio::spawn(async move {
                            let _ = d.handle(&mut tx).await;
                        });
                    }
                    Err(_) => {
                        let _ = tx.reply(StatusCode::BadRequest).await;
                    }
                }
            }
            rsip::Method::Options => {
                let _ = tx.reply(StatusCode::OK).await;
            }
            rsip::Method::Ack => {}
            _ => {
                let _ = tx.reply(StatusCode::MethodNotAllowed).await;
            }
        }
    }
}
