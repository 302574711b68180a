//! The SMS contract (since plugin-api 1.10): text and picture messages to phone numbers
//! through an SMS gateway, and the `sms.*` services.
//!
//! A conversation is keyed by the other party's number in E.164 (`+15551234567`), as
//! the gateway names it; `display` keeps the number as the user typed it or a contact
//! holds it. Message ids are the sender's stable id (the same on every device and after
//! a resync), so a consumer can de-duplicate on them. See docs/sms-gateway.md for the
//! wire convention.

use super::Contract;
use serde::{Deserialize, Serialize};

pub const STATUS: &str = "sms.status";
pub const SEND: &str = "sms.send";
pub const CONVERSATIONS: &str = "sms.conversations";
pub const HISTORY: &str = "sms.history";
pub const SEARCH: &str = "sms.search";
pub const DELETE: &str = "sms.delete";
pub const DELETE_CONVERSATION: &str = "sms.delete_conversation";
pub const MARK_READ: &str = "sms.mark_read";
pub const EXPORT: &str = "sms.export";
pub const DOWNLOAD: &str = "sms.download";

/// Topic of [`Message`]: one arrived, was sent (by this user or another sharer), or
/// came in from the archive.
pub const TOPIC_MESSAGE: &str = "sms.message";
/// Topic of [`StateChanged`]: a sent message became sent or failed.
pub const TOPIC_STATE: &str = "sms.state";
/// Topic of [`Status`]: the module's state changed (connection, number, gateway).
pub const TOPIC_STATUS: &str = "sms.status";
/// Topic of [`SyncProgress`]: the archive catch-up of a session is done.
pub const TOPIC_SYNC: &str = "sms.sync";

/// At most this many SMS parts per message (the manual: "not possible to send more
/// than four messages at a time").
pub const MAX_PARTS: u32 = 4;
/// Most files one MMS may carry (the manual's limit).
pub const MAX_FILES: usize = 10;
/// Most media one MMS may carry, in bytes (500 KB).
pub const MAX_MEDIA_BYTES: u64 = 500 * 1024;
/// Most text an MMS may carry, in characters.
pub const MAX_MMS_TEXT: usize = 1000;

/// Where the module stands, as `sms.status` answers and [`TOPIC_STATUS`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// `sms.enabled` is off on this desktop.
    Disabled,
    /// No account (see `reason`).
    NotConfigured,
    Connecting,
    /// Not connected now; it retries by itself.
    Offline,
    /// The server refused the login, or its certificate is not trusted: waits for
    /// the user.
    LoginFailed,
    /// Connected, and the server has no SMS gateway (or the one set does not answer).
    NoGateway,
    /// The gateway knows no number for this account: "No SMS number assigned".
    NoNumber,
    /// Ready to send and receive.
    Ready,
}

/// Someone who shares the user's SMS number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sharer {
    pub jid: String,
    pub name: String,
}

/// The answer of `sms.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    /// The user's SMS number (E.164), from the gateway's registration.
    #[serde(default)]
    pub number: Option<String>,
    /// Who else has this number ("Multiple users share this number").
    #[serde(default)]
    pub shared_with: Vec<Sharer>,
    /// The gateway's address (`sms.example.com`), set or discovered.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Why it is not ready, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Messages waiting to reach the gateway.
    #[serde(default)]
    pub outbox: u32,
    /// Unread received messages, over every conversation.
    #[serde(default)]
    pub unread: u32,
}

impl Contract for Status {
    const SCHEMA: &'static str = "sms.status/v1";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// The manual's three states of a sent message, and `received` for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Stored, on its way to the gateway (or waiting for it to come back).
    Sending,
    /// The gateway took it (its delivery receipt).
    Sent,
    /// The gateway refused it; `error` says why.
    Failed,
    Received,
}

/// One SMS, or one part of an MMS (the text, or one file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    /// The other party (E.164): the conversation.
    pub number: String,
    pub direction: Direction,
    pub body: String,
    /// An MMS file's address (XEP-0066), once it has one (uploaded, or received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The file this MMS part carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<MediaFile>,
    pub state: MessageState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds since the epoch: when it was sent or received.
    pub at_ms: i64,
    /// Sent from this number by another sharer (their name is shown); None for the
    /// user's own and for received messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Sharer>,
    #[serde(default)]
    pub read: bool,
}

impl Contract for Message {
    const SCHEMA: &'static str = "sms.message/v1";
}

/// Where an MMS file is on this desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Ours, on its way to the upload service.
    Uploading,
    /// Here, at `path`.
    Ready,
    /// Not fetched (500 KB or more, or from the archive): `sms.download` fetches it.
    NotDownloaded,
    Downloading,
    /// The transfer failed (`error`); `sms.download` tries again.
    Failed,
}

/// An MMS part's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    pub name: String,
    pub mime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// This desktop's copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub state: MediaState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The archive catch-up ([`TOPIC_SYNC`]): archive messages read, SMS stored new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub fetched: u64,
    pub stored: u64,
    pub done: bool,
}

impl Contract for SyncProgress {
    const SCHEMA: &'static str = "sms.sync/v1";
}

/// A sent message's new state ([`TOPIC_STATE`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChanged {
    pub id: String,
    pub number: String,
    pub state: MessageState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Contract for StateChanged {
    const SCHEMA: &'static str = "sms.state/v1";
}

/// One conversation of the list, by recent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub number: String,
    /// The number as typed or as a contact holds it (E.164 when neither).
    pub display: String,
    pub last_body: String,
    pub last_at_ms: i64,
    pub unread: u32,
}

/// Request of `sms.send`: `to` is a number as typed or E.164; the text goes first,
/// then each file as its own message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub to: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub files: Vec<String>,
    /// How to show the conversation (a contact's name); none: the number as typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Answer of `sms.send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The conversation (E.164) the gateway resolved `to` into.
    pub number: String,
    /// The stored messages' ids, the text's first.
    pub ids: Vec<String>,
    /// How many SMS parts the text takes.
    pub parts: u32,
}

/// Request of `sms.history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub number: String,
    /// A message id: only messages before it.
    #[serde(default)]
    pub before: Option<String>,
    pub limit: u32,
}

/// Request of `sms.search`; the answer is a [`Found`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub query: String,
}

/// What a search found: conversations by number or name, messages by text, and
/// (since plugin-api 1.11) the directory's contacts with a number (every contact
/// source's, by name, company or number).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub conversations: Vec<Conversation>,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub contacts: Vec<super::contact::Contact>,
}

/// Request of `sms.delete` (this desktop's copy; an SMS cannot be called back) and
/// `sms.download` (fetch an MMS part's file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub id: String,
}

/// Request of `sms.delete_conversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRef {
    pub number: String,
}

/// Request of `sms.mark_read`: one conversation, or none for all ("Mark all as read").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    #[serde(default)]
    pub number: Option<String>,
}

/// Request of `sms.export`: a new folder is made inside `dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub dir: String,
}

/// Answer of `sms.export`: the folder made, and one file per conversation in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    pub folder: String,
    pub files: Vec<String>,
}
