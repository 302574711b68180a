//! The phone contract: registration and call events, and the `phone.*` services.
//!
//! Any plugin that provides the `phone` namespace speaks it (the softphone today, a
//! desk-phone driver later). CRM popups, call-center panels and presence read these
//! events without knowing who publishes them. Call payloads carry the fields a CRM
//! popup needs; what the network did not say is `null`.

use super::Contract;
use serde::{Deserialize, Serialize};

/// Topic of [`Registration`].
pub const TOPIC_REGISTRATION: &str = "phone.registration";
/// Topics of [`CallEvent`], one per step of a call's life.
pub const TOPIC_INCOMING: &str = "call.incoming";
pub const TOPIC_RINGING: &str = "call.ringing";
pub const TOPIC_ANSWERED: &str = "call.answered";
pub const TOPIC_HELD: &str = "call.held";
pub const TOPIC_RESUMED: &str = "call.resumed";
pub const TOPIC_TRANSFERRED: &str = "call.transferred";
pub const TOPIC_ENDED: &str = "call.ended";
/// The call's microphone was muted or unmuted (`CallEvent::muted`; since plugin-api 1.6).
pub const TOPIC_MUTED: &str = "call.muted";
/// Topic of [`DtmfEvent`]: digits received from the far end during a call.
pub const TOPIC_DTMF: &str = "call.dtmf";
/// Every few seconds during a call: how it sounds (since plugin-api 1.2).
pub const TOPIC_QUALITY: &str = "call.quality";

/// The number (or address) a `tel:`, `callto:` or `sip:` link names, as `phone.dial`
/// takes it and a person reads it: `tel:+1-212-555-0100;ext=2` gives `+1-212-555-0100`,
/// `callto://+12125550100` gives `+12125550100`, percent escapes decoded (browsers send
/// `tel:%2B1%20212...`); a `sip:` address stays whole. The phone's dialing rules do the
/// rest. (Percent-decoding by hand: eight lines, not a dependency of the ABI crate.)
pub fn link_number(uri: &str) -> String {
    let bytes = uri.trim().as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => (decoded.push((h * 16 + l) as u8), i += 3),
            (b, _, _) => (decoded.push(b), i += 1),
        };
    }
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    let lower = decoded.to_ascii_lowercase();
    let rest = if lower.starts_with("tel:") {
        &decoded[4..]
    } else if lower.starts_with("callto:") {
        decoded[7..].trim_start_matches('/')
    } else {
        return decoded;
    };
    rest.split([';', '?']).next().unwrap_or_default().trim().to_string()
}

/// Service names of the `phone` namespace (since plugin-api 1.5): callers name them
/// by these constants, never by string literals.
pub const DIAL: &str = "phone.dial";
pub const ANSWER: &str = "phone.answer";
pub const HANGUP: &str = "phone.hangup";
pub const HOLD: &str = "phone.hold";
pub const RESUME: &str = "phone.resume";
pub const TRANSFER: &str = "phone.transfer";
pub const DTMF: &str = "phone.dtmf";
pub const STOP_AUTO_ANSWER: &str = "phone.stop_auto_answer";
pub const CALLS: &str = "phone.calls";
pub const HISTORY: &str = "phone.history";
pub const STATUS: &str = "phone.status";
pub const CONFERENCE: &str = "phone.conference";
pub const MUTE: &str = "phone.mute";
pub const TEST_DEVICE: &str = "phone.test_device";
pub const AUDIO_DEVICES: &str = "phone.audio_devices";
pub const QUALITY_LOG: &str = "phone.quality_log";
pub const QUALITY_REPORT: &str = "phone.quality_report";

/// Where a call stands, as [`CallEvent::state`] carries it (since plugin-api 1.5; the
/// JSON is the same snake_case words the field always carried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Outbound: the INVITE is out, no answer yet.
    Calling,
    /// Inbound: offered to us; outbound: the far end rings (180/183).
    Ringing,
    /// Answered, media flowing both ways.
    Connected,
    /// Held by us or by the far end.
    Held,
    /// A transfer (REFER) was accepted and is under way.
    Transferring,
    /// Handed on to another party (our leg is about to end).
    Transferred,
    /// Over; `result` says how.
    Ended,
    /// A state a newer publisher has and this build does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

impl CallState {
    /// Connected or held: a call in progress that has been answered.
    pub fn in_progress(self) -> bool {
        matches!(self, CallState::Connected | CallState::Held)
    }
}

/// Where the account's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// No account configured, or logged out.
    Unregistered,
    Registering,
    Registered,
    /// The server refused the credentials; nothing is retried until they change.
    AuthFailed,
    /// The server could not be reached or answered with an error; retried with backoff.
    Failed,
}

/// Published on [`TOPIC_REGISTRATION`] whenever the state or the server changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub state: RegistrationState,
    /// The server (host:port and transport) in use or last tried.
    #[serde(default)]
    pub server: Option<String>,
    /// Why it is not registered, in words a user can act on.
    #[serde(default)]
    pub reason: Option<String>,
}
impl Contract for Registration {
    const SCHEMA: &'static str = "phone.registration/v1";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// The word the JSON carries (`inbound`, `outbound`; since plugin-api 1.7).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// How a call ended, as call history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    Answered,
    Missed,
    Rejected,
    Busy,
    Failed,
    /// The caller gave up before an answer (outbound, cancelled).
    Cancelled,
}

impl CallResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Answered => "answered",
            CallResult::Missed => "missed",
            CallResult::Rejected => "rejected",
            CallResult::Busy => "busy",
            CallResult::Failed => "failed",
            CallResult::Cancelled => "cancelled",
        }
    }
}

/// A call, as published on every `call.*` topic and listed by `phone.calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Stable for the call's life (the SIP Call-ID).
    pub callid: String,
    pub direction: Direction,
    /// The far end's number (caller id for inbound calls, the dialed number outbound).
    pub number: String,
    /// The far end's display name, when the network gave one.
    #[serde(default)]
    pub name: Option<String>,
    /// Our own extension and name on this call.
    #[serde(default)]
    pub ext: Option<String>,
    #[serde(default)]
    pub ext_name: Option<String>,
    /// The number the caller dialed to reach us (inbound through a DID).
    #[serde(default)]
    pub did: Option<String>,
    #[serde(default)]
    pub queue_number: Option<String>,
    #[serde(default)]
    pub queue_name: Option<String>,
    #[serde(default)]
    pub agent_number: Option<String>,
    #[serde(default)]
    pub agent_name: Option<String>,
    /// Seconds since answer (0 before it).
    #[serde(default)]
    pub duration: u64,
    #[serde(default)]
    pub state: CallState,
    /// Set on `call.ended`.
    #[serde(default)]
    pub result: Option<CallResult>,
    /// Set on `call.transferred`: where the call went.
    #[serde(default)]
    pub transferred_to: Option<String>,
    /// SIP status or reason text when the call failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Our microphone is muted on this call (since plugin-api 1.6; older publishers
    /// leave it out, which reads as false).
    #[serde(default)]
    pub muted: bool,
}
impl Contract for CallEvent {
    const SCHEMA: &'static str = "phone.call/v1";
}

/// DTMF digits the far end sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtmfEvent {
    pub callid: String,
    pub digits: String,
}
impl Contract for DtmfEvent {
    const SCHEMA: &'static str = "phone.dtmf/v1";
}

/// A call's quality now: what the call window's indicator and the quality log show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallQuality {
    pub callid: String,
    /// The audio codec in use (`opus`, `g722`, `pcmu`, `pcma`).
    pub codec: String,
    /// Mean opinion score, 1 (bad) to 4.5 (excellent), from the E-model.
    pub mos: f64,
    /// Round-trip time from RTCP, when the far end reports on our stream.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter of what we receive.
    pub jitter_ms: f64,
    /// Share of the far end's packets we never got, 0-100.
    pub loss_pct: f64,
    /// Share of our packets the far end says it lost, 0-100, when it reports.
    pub remote_loss_pct: Option<f64>,
    pub packets_received: u64,
    pub packets_lost: u64,
    /// Frames played from concealment (lost or too late).
    pub concealed: u64,
    /// What the jitter buffer holds back now.
    pub jitter_buffer_ms: u32,
}
impl Contract for CallQuality {
    const SCHEMA: &'static str = "phone.quality/v1";
}

/// Request of `phone.conference`: merge two connected calls into a local 3-way
/// conference (since plugin-api 1.2). `callid` keeps the sound card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conference {
    pub callid: String,
    pub with_callid: String,
}

/// Request of `phone.mute`: the microphone of a call (since plugin-api 1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mute {
    pub callid: String,
    pub muted: bool,
}

/// Request of `phone.dial`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dial {
    /// A number, `#N` speed dial, or a SIP URI; dialing rules apply to numbers.
    pub number: String,
    /// Hide caller id for this call only.
    #[serde(default)]
    pub hide_caller_id: bool,
}

/// Answer of `phone.dial`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dialed {
    pub callid: String,
    /// The number after dialing rules.
    pub number: String,
}

/// Request of `phone.answer`, `phone.hangup`, `phone.hold`, `phone.resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRef {
    pub callid: String,
}

/// Request of `phone.transfer`: blind when `attended_callid` is absent, otherwise the
/// call is joined with that consultation call (REFER with Replaces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub callid: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub attended_callid: Option<String>,
}

/// Request of `phone.dtmf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dtmf {
    pub callid: String,
    /// `0-9`, `*`, `#`, `A-D`.
    pub digits: String,
}

/// Request of `phone.history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    50
}

/// One row of call history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub callid: String,
    pub direction: Direction,
    pub number: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Unix seconds when the call began (offered or dialed).
    pub start: i64,
    /// Seconds talked (0 when never answered).
    pub duration: u64,
    pub result: CallResult,
}

/// Answer of `phone.history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub entries: Vec<HistoryEntry>,
    /// Missed calls not yet seen.
    pub missed: u32,
}

/// Answer of `phone.status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub registration: Registration,
    pub calls: u32,
    pub dnd: bool,
    pub call_waiting: bool,
    /// Seconds left before an incoming call is answered automatically.
    #[serde(default)]
    pub auto_answer_in: Option<u64>,
    pub missed: u32,
}

#[cfg(test)]
mod link_tests {
    use super::link_number;

    #[test]
    fn links_give_the_number_a_person_reads() {
        assert_eq!(link_number("tel:+1-212-555-0100;ext=2"), "+1-212-555-0100");
        assert_eq!(link_number("TEL:%2B1%20212%20555%200100"), "+1 212 555 0100");
        assert_eq!(link_number("callto://+12125550100"), "+12125550100");
        assert_eq!(link_number("callto:bob"), "bob");
        assert_eq!(link_number("sip:bob@example.com;transport=tcp"), "sip:bob@example.com;transport=tcp");
        assert_eq!(link_number("tel:100%"), "100%", "a lone % stays");
    }
}
