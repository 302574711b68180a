//! Transfer both ways (RFC 3515). Out: a REFER to the far end, blind to a number or
//! attended with the consultation call's Replaces (RFC 3891), and the NOTIFYs that
//! tell us how it goes. In: the far end's REFER, followed by calling its target and
//! reporting progress back with NOTIFYs of our own.

use super::call::bye_with_timeout;
use super::dial::DialOptions;
use super::error::PhoneError;
use super::publish::later;
use super::wire::{ReferProgress, ReferTarget, header_value, percent_encode, refer_progress};
use super::{Core, Msg, no_call};
use crate::dialing;
use rsipstack::dialog::DialogId;
use rsipstack::sip::{self as rsip, Header, StatusCode};
use std::time::Duration;
use ucdesk_sdk::contract::phone as contract;
use ucdesk_sdk::contract::phone::CallState;

impl Core {
    /// Transfers a connected call: blind to `target` (through the dialing rules) or
    /// attended to the far end of the `attended` call, whose dialog it replaces.
    pub(super) fn transfer(
        &mut self,
        id: &str,
        target: Option<String>,
        attended: Option<String>,
    ) -> Result<(), PhoneError> {
        let account = self.ready()?;
        let domain = account.domain.clone();
        let call = self.calls.get(id).ok_or_else(|| no_call(id))?;
        if !call.connected() {
            return Err(PhoneError::Refused(format!("call {id} is not connected")));
        }
        let dialog = call.dialog.clone().ok_or_else(|| no_call(id))?;
        let refer_to = match (&attended, &target) {
            (Some(other), _) => {
                let consult = self.calls.get(other).ok_or_else(|| no_call(other))?;
                let d = consult.dialog.as_ref().ok_or_else(|| no_call(other))?;
                let snap = d.snapshot();
                let DialogId { call_id, local_tag, remote_tag } = snap.id.clone();
                // RFC 3891: the transfer target replaces its dialog with us; its tags are
                // named from its side (to-tag = its own = our remote tag).
                let replaces = format!("{call_id};to-tag={remote_tag};from-tag={local_tag}");
                let uri = snap.remote_uri.to_string();
                format!("<{uri}?Replaces={}>", percent_encode(&replaces))
            }
            (None, Some(t)) => {
                let plan = self.config.as_ref().map(|c| c.dial_plan.clone()).unwrap_or_default();
                let n = plan.apply(t).map_err(|e| e.to_string())?;
                format!("<{}>", dialing::sip_uri(&n, &domain))
            }
            (None, None) => return Err("transfer needs a target or an attended call".into()),
        };
        let label = attended.clone().or(target).unwrap_or_default();
        if let Some(c) = self.calls.get_mut(id) {
            c.transferred_to = Some(label);
            c.consultation = attended.clone();
        }
        let tx = self.tx.clone();
        let callid = id.to_string();
        tokio::spawn(async move {
            let r = dialog.refer(rsip::headers::ReferTo::new(refer_to), None, None).await;
            let (accepted, reason) = match r {
                Ok(Some(resp)) => {
                    let code = u16::from(resp.status_code.clone());
                    (code / 100 == 2, format!("{code} {}", resp.status_code))
                }
                Ok(None) => (false, "the call is not connected".into()),
                Err(e) => (false, e.to_string()),
            };
            let _ = tx.send(Msg::ReferDone { callid, accepted, reason });
        });
        Ok(())
    }

    /// A NOTIFY on a call we transferred: the target answered (our part of the call is
    /// over), or the transfer failed and the call is ours again.
    pub(super) fn refer_notified(&mut self, callid: &str, req: &rsip::Request) {
        let Some(ReferProgress { code, reason, terminated }) = refer_progress(req) else { return };
        let Some(call) = self.calls.get_mut(callid) else { return };
        if code / 100 == 2 {
            // The transfer target answered: our part of the call is done.
            call.state = CallState::Transferred;
            let event = call.event();
            self.pending.push(later(contract::TOPIC_TRANSFERRED, &event));
            // The consultation call ends too: a target that honoured Replaces
            // has hung it up already; one that did not would leave it dangling.
            let consultation = call.consultation.take();
            let ours = consultation.iter().filter_map(|c| self.calls.get(c)).chain(self.calls.get(callid));
            for d in ours.filter(|c| c.connected()).filter_map(|c| c.dialog.clone()) {
                bye_with_timeout(d);
            }
        } else if code >= 300 && terminated {
            call.state = CallState::Connected;
            call.consultation = None;
            call.transferred_to = None;
            self.notice = Some(format!("transfer failed: {code} {reason}"));
        }
    }

    /// The far end transfers us (RFC 3515): accept, call the Refer-To target (with its
    /// Replaces for an attended transfer) and report progress to the referrer, who
    /// hangs up the original call once the new one is answered.
    pub(super) async fn referred(
        &mut self,
        callid: &str,
        req: &rsip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        if !self.calls.get(callid).is_some_and(|c| c.connected()) {
            let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            return;
        }
        let Some(target) = header_value(req, "Refer-To").and_then(|v| ReferTarget::parse(&v)) else {
            let _ = handle.reply(StatusCode::BadRequest).await;
            return;
        };
        let _ = handle.reply(StatusCode::Accepted).await;
        self.notify_referrer(callid, 100, "Trying", false);
        let mut headers = Vec::new();
        if let Some(by) = header_value(req, "Referred-By").or_else(|| header_value(req, "From")) {
            let by = by.split(";tag=").next().unwrap_or_default().trim().to_string();
            headers.push(Header::Other("Referred-By".into(), by));
        }
        if let Some(replaces) = &target.replaces {
            headers.push(Header::Other("Replaces".into(), replaces.clone()));
        }
        let opts = DialOptions { headers, referred_from: Some(callid.to_string()), ..Default::default() };
        match self.dial(&target.uri, opts).await {
            Ok(_) => {
                if let Some(c) = self.calls.get_mut(callid) {
                    c.transferred_to = Some(target.uri.clone());
                }
            }
            Err(e) => {
                self.notice = Some(format!("transfer to {} failed: {e}", target.uri));
                self.notify_referrer(callid, 503, "Service Unavailable", true);
            }
        }
    }

    /// Tells a referrer how its transfer goes: a NOTIFY with a message/sipfrag status
    /// line on the original call's dialog (`done`: the subscription ends with it).
    pub(super) fn notify_referrer(&self, callid: &str, code: u16, reason: &str, done: bool) {
        let Some(dialog) = self.calls.get(callid).and_then(|c| c.dialog.clone()) else { return };
        let state = if done { "terminated;reason=noresource" } else { "active;expires=60" };
        let headers = vec![
            Header::Event("refer".into()),
            Header::SubscriptionState(state.into()),
            Header::ContentType("message/sipfrag;version=2.0".into()),
        ];
        let body = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), dialog.notify(Some(headers), Some(body))).await;
        });
    }
}
