//! The engine's side of a call's media: pointing the call's RTP stream at the far end
//! once its session description is known, and carrying what the stream reports back to
//! the engine. The SIP side decides when media changes; how it changes is decided here,
//! without the media knowing anything of the engine's calls or messages.

use super::rtp::{MediaEvent, RtpCmd, RtpStream};
use crate::sdp::{self, MediaDir};
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// Points the call's stream at the far end's media and says whether it is encrypted;
/// Err when the far end's session cannot be used as it is (encryption refused or
/// unusable): no media flows then. `local_hold`: we hold the call, so we do not send.
pub fn start(
    rtp: &RtpStream,
    local: &sdp::Local,
    local_hold: bool,
    remote: &sdp::Remote,
) -> Result<bool, String> {
    let secure = sdp::secure(local, remote).map_err(|e| e.to_string())?;
    let format = sdp::common(local, remote).first().copied();
    let (Some(ip), Some(format)) = (remote.addr, format) else { return Ok(secure) };
    if remote.port == 0 {
        return Ok(secure);
    }
    let srtp = match (&remote.crypto, secure) {
        (Some((_, theirs)), true) => Some((local.keys.clone(), theirs.clone())),
        _ => None,
    };
    // Digits may come on any telephone-event type either SDP named (ours when we
    // offered, theirs when a far end sends on its own entry), never on the audio's.
    let mut events_in: Vec<u8> = sdp::offered_events(local)
        .iter()
        .chain(&remote.telephone_events)
        .map(|e| e.pt)
        .filter(|pt| *pt != format.pt)
        .collect();
    events_in.dedup();
    rtp.send(RtpCmd::Remote {
        addr: SocketAddr::new(ip, remote.port),
        format,
        event: sdp::event_for(remote, format.codec),
        events_in,
        srtp,
    });
    rtp.send(RtpCmd::Sending(!local_hold && !matches!(remote.dir, MediaDir::SendOnly | MediaDir::Inactive)));
    Ok(secure)
}

/// Carries a call's stream events to the engine, each made into the engine's own
/// message by `wrap`, until the stream or the engine goes away (one small task per call).
pub fn forward<M: Send + 'static>(
    callid: String,
    mut rx: mpsc::UnboundedReceiver<MediaEvent>,
    tx: mpsc::UnboundedSender<M>,
    wrap: fn(&str, MediaEvent) -> M,
) {
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if tx.send(wrap(&callid, event)).is_err() {
                return;
            }
        }
    });
}
