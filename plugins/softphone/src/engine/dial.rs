//! Placing a call: the dialing rules, caller ID (shown or hidden, RFC 3323/3325), an
//! emergency call's location (RFC 6442), the INVITE itself and how its transaction
//! ends. A call we are transferred to is placed here too, with the referrer's headers
//! and without dialing rules.

use super::account::sip_addr;
use super::call::Call;
use super::error::PhoneError;
use super::{Core, Msg, media_msg};
use crate::dialing;
use crate::emergency;
use crate::media::rtp::RtpStream;
use crate::sdes::Keys;
use crate::sdp::{self, MediaDir};
use crate::srv;
use crate::util;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{self as rsip, Header};
use tokio::sync::mpsc;
use ucdesk_sdk::contract::phone::CallResult;

/// How `dial` places a call beyond the number.
#[derive(Default)]
pub(super) struct DialOptions {
    /// Hide the caller ID for this call only.
    pub(super) hide_once: bool,
    /// Extra headers (Referred-By, Replaces when we are the transferee).
    pub(super) headers: Vec<Header>,
    /// The call whose REFER this call follows.
    pub(super) referred_from: Option<String>,
}

impl Core {
    /// Places a call to `input` (a number through the dialing rules, or a SIP address)
    /// and answers `{callid, number}` at once; how it goes arrives as dialog states.
    pub(super) async fn dial(
        &mut self,
        input: &str,
        opts: DialOptions,
    ) -> Result<serde_json::Value, PhoneError> {
        let DialOptions { hide_once, headers: extra, referred_from } = opts;
        let cfg = self.config.clone().ok_or("the phone is not configured")?;
        // A transfer target is a full SIP URI chosen by the far end: no dialing rules.
        let number = match &referred_from {
            Some(_) => input.to_string(),
            None => cfg.dial_plan.apply(input).map_err(|e| PhoneError::BadArgument(e.to_string()))?,
        };
        let account = self.ready()?;
        let target = account
            .target
            .clone()
            .ok_or_else(|| PhoneError::NotReady("the phone is not registered".into()))?;
        let callee =
            rsip::Uri::try_from(dialing::sip_uri(&number, &account.domain).as_str()).map_err(|e| {
                PhoneError::BadArgument(if dialing::is_sip_address(&number) {
                    format!("{number:?} is not a SIP address: {e}")
                } else {
                    e.to_string()
                })
            })?;
        let hide = hide_once || cfg.hide_caller_id;
        let me = rsip::Uri::try_from(format!("sip:{}@{}", cfg.username, account.domain).as_str())
            .map_err(|e| e.to_string())?;
        let callid = format!("{}@ucdesk", util::random_token(20));
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let rtp = RtpStream::bind(account.local_ip, callid.clone(), cfg.media_setup(), media_tx)
            .await
            .map_err(|e| PhoneError::Failed(format!("no RTP port: {e}")))?;
        let local = sdp::Local {
            addr: account.local_ip,
            port: rtp.port,
            session_id: util::random_u32() as u64,
            version: 1,
            codecs: cfg.codecs.clone(),
            keys: Keys::random(),
            require_srtp: cfg.srtp.required(target.transport),
        };
        let offer = sdp::offer(&local, MediaDir::SendRecv);

        let mut headers = extra;
        let (caller, display) = if hide {
            // RFC 3323: anonymous From plus Privacy: id; our real identity goes to the
            // (trusted) proxy in P-Preferred-Identity (RFC 3325) so it can authorize.
            headers.push(Header::Other("Privacy".into(), "id".into()));
            headers.push(Header::Other("P-Preferred-Identity".into(), format!("<{me}>")));
            (
                rsip::Uri::try_from("sip:anonymous@anonymous.invalid").expect("static URI"),
                Some("Anonymous".to_string()),
            )
        } else {
            let display = (!cfg.display_name.is_empty()).then(|| cfg.display_name.clone());
            (me.clone(), display)
        };
        let (content_type, body, emergency_summary) =
            match (&cfg.emergency_location, emergency::needs_location(&number, &cfg.server_locality)) {
                (Some(loc), true) => {
                    // A Content-ID's right side is a dot-atom: the domain without a port.
                    let host = srv::split_host_port(&account.domain).map(|(h, _)| h).unwrap_or_default();
                    let pidf =
                        emergency::pidf_lo(&me.to_string(), &self.device_id, loc, &util::rfc3339_now());
                    let located = emergency::multipart_offer(&offer, &pidf, &host);
                    headers
                        .push(Header::Other("Geolocation".into(), format!("<cid:{}>", located.content_id)));
                    headers.push(Header::Other("Geolocation-Routing".into(), "yes".into()));
                    (located.content_type, located.body, Some(loc.summary()))
                }
                (None, true) => {
                    // The call still goes out: an emergency call is never refused.
                    ("application/sdp".to_string(), offer, Some(String::new()))
                }
                _ => ("application/sdp".to_string(), offer, None),
            };
        let opt = InviteOption {
            caller_display_name: display,
            caller,
            callee,
            destination: Some(sip_addr(&target)),
            content_type: Some(content_type),
            offer: Some(body.into_bytes()),
            contact: account.contact.clone(),
            credential: Some(account.credential.clone()),
            headers: Some(headers),
            call_id: Some(callid.clone()),
            ..Default::default()
        };
        let (dialog, handle) = account
            .dialogs
            .do_invite_async(opt, account.state_tx.clone())
            .map_err(|e| PhoneError::Failed(format!("cannot call: {e}")))?;
        let tx = self.tx.clone();
        let id = callid.clone();
        tokio::spawn(async move {
            let msg = match handle.await {
                Ok(Ok((_, resp))) => Msg::InviteDone {
                    callid: id,
                    status: resp.map(|r| u16::from(r.status_code)),
                    error: None,
                },
                Ok(Err(e)) => Msg::InviteDone { callid: id, status: None, error: Some(e.to_string()) },
                Err(e) => Msg::InviteDone { callid: id, status: None, error: Some(e.to_string()) },
            };
            let _ = tx.send(msg);
        });
        crate::media::call::forward(callid.clone(), media_rx, self.tx.clone(), media_msg);
        let call = Call {
            referred_from,
            emergency: emergency_summary.clone().filter(|s| !s.is_empty()),
            ext_name: (!cfg.display_name.is_empty()).then(|| cfg.display_name.clone()),
            ..Call::outbound(callid.clone(), dialog, number.clone(), cfg.username.clone(), rtp, local)
        };
        self.calls.insert(callid.clone(), call);
        if emergency_summary.as_deref() == Some("") {
            self.notice =
                Some("Emergency call placed without a location: set one in the phone panel.".into());
        }
        Ok(serde_json::json!({ "callid": callid, "number": number }))
    }

    /// The INVITE transaction is over: a failure ends the call (an answer goes on as a
    /// confirmed dialog).
    pub(super) fn invite_done(&mut self, id: &str, status: Option<u16>, error: Option<String>) {
        let Some(call) = self.calls.get_mut(id) else { return };
        match (status, error) {
            (Some(code), _) if code / 100 == 2 => {}
            (Some(code), _) => {
                call.reason = Some(format!("{code}"));
                let result = match code {
                    486 | 600 => CallResult::Busy,
                    603 => CallResult::Rejected,
                    487 => CallResult::Cancelled,
                    _ => CallResult::Failed,
                };
                if call.result.is_none() {
                    call.result = Some(result);
                }
                self.finish(id, None);
            }
            (None, Some(e)) => {
                call.reason = Some(e);
                if call.result.is_none() {
                    call.result = Some(CallResult::Failed);
                }
                self.finish(id, None);
            }
            (None, None) => {}
        }
    }
}
