//! The chat contract (since plugin-api 1.3): conversations, messages and their states,
//! and the `chat.*` services.
//!
//! Any plugin that provides the `chat` namespace speaks it (the XMPP chat plugin today).
//! Conversation ids are bare addresses (`bob@example.com` for a 1:1 chat, the room's
//! address for a group); message ids are the sender's stable id, the same on every
//! device and after every resync, so a consumer can de-duplicate on them.

use super::Contract;
use serde::{Deserialize, Serialize};

/// Service names of the `chat` namespace (since plugin-api 1.5).
pub const SEND: &str = "chat.send";
pub const HISTORY: &str = "chat.history";
pub const SEARCH: &str = "chat.search";
pub const CONVERSATIONS: &str = "chat.conversations";
/// The roster as a contact source (`-> [contract::contact::Contact]`, since plugin-api
/// 1.11): each contact with the name and numbers of their card.
pub const CONTACTS: &str = "chat.contacts";
pub const MARK_READ: &str = "chat.mark_read";
pub const MARK_UNREAD: &str = "chat.mark_unread";
pub const MARK_ALL_READ: &str = "chat.mark_all_read";
pub const CLOSE: &str = "chat.close";
pub const CLOSE_ALL: &str = "chat.close_all";
pub const REOPEN: &str = "chat.reopen";
pub const MUTE: &str = "chat.mute";
pub const PIN_CONVERSATION: &str = "chat.pin_conversation";
pub const PIN: &str = "chat.pin";
pub const REACT: &str = "chat.react";
pub const DELETE: &str = "chat.delete";
pub const FORWARD: &str = "chat.forward";
pub const TYPING: &str = "chat.typing";
pub const ADD_CONTACT: &str = "chat.add_contact";
pub const RESYNC: &str = "chat.resync";
pub const OUTBOX: &str = "chat.outbox";
pub const STATUS: &str = "chat.status";
pub const RETRY: &str = "chat.retry";
pub const DOWNLOAD: &str = "chat.download";
pub const TRUST_CERTIFICATE: &str = "chat.trust_certificate";
pub const CREATE_GROUP: &str = "chat.create_group";
pub const ADD_PARTICIPANTS: &str = "chat.add_participants";
pub const REMOVE_PARTICIPANT: &str = "chat.remove_participant";
pub const MAKE_ADMIN: &str = "chat.make_admin";
pub const RENAME: &str = "chat.rename";
pub const LEAVE: &str = "chat.leave";
pub const ASSIGN_MYSELF: &str = "chat.assign_myself";
pub const PARTICIPANTS: &str = "chat.participants";
pub const MESSAGE_INFO: &str = "chat.message_info";

/// Topic of [`Message`]: a message arrived, was sent, or changed state.
pub const TOPIC_MESSAGE: &str = "chat.message";
/// Topic of [`Typing`].
pub const TOPIC_TYPING: &str = "chat.typing";
/// Topic of [`Receipt`].
pub const TOPIC_RECEIPT: &str = "chat.receipt";
/// Topic of [`SyncProgress`].
pub const TOPIC_SYNC: &str = "chat.sync";
/// Topic of [`Connection`].
pub const TOPIC_CONNECTION: &str = "chat.connection";
/// Topic of [`Transfer`]: upload and download progress of attached files.
pub const TOPIC_TRANSFER: &str = "chat.transfer";
/// Topic of [`GroupLimits`] (1.12).
pub const TOPIC_GROUP_LIMITS: &str = "chat.group_limits";

/// Most files one message may carry (the manual's limit).
pub const MAX_FILES_PER_SEND: usize = 5;
/// Received files up to this size download by themselves (the manual's 500 KB).
pub const AUTO_DOWNLOAD_BYTES: u64 = 500 * 1024;

/// Longest message body, in characters (the manual's limit).
pub const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// How far an outbound message got. Inbound messages are `delivered` (or `seen` once
/// read here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Stored locally, waiting for the server (offline, or not yet acknowledged).
    Pending,
    /// The server acknowledged it.
    Sent,
    /// The recipient's client confirmed receipt.
    Delivered,
    /// The recipient displayed it.
    Seen,
}

/// One message, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The sender's stable id (XMPP origin-id / message id).
    pub id: String,
    /// The conversation: the peer's bare address, or the room's.
    pub conversation: String,
    /// Who wrote it (bare address).
    pub from: String,
    pub body: String,
    /// RFC 3339, UTC: when the server archived it (or when it was written, if pending).
    pub timestamp: String,
    pub direction: Direction,
    pub state: MessageState,
    /// The id of the message this one replies to.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Reactions (group chats): emoji -> who reacted with it.
    #[serde(default)]
    pub reactions: std::collections::BTreeMap<String, Vec<String>>,
    /// Deleted for everyone by its sender: the body is gone, the place stays.
    #[serde(default)]
    pub deleted: bool,
    /// Forwarded: who wrote the original.
    #[serde(default)]
    pub forwarded_from: Option<String>,
    /// The message mentions the user (@name).
    #[serde(default)]
    pub mentions_me: bool,
    /// Whether the user should be alerted: a new inbound message, not in a muted
    /// conversation unless it mentions them, and the user is not on do not disturb.
    #[serde(default)]
    pub notify: bool,
    /// Attached files, in order.
    #[serde(default)]
    pub files: Vec<Attachment>,
}

/// Where a file of a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Ours, on its way to the server (the message waits for all its files).
    Uploading,
    /// Ours, on the server; the message can go.
    Uploaded,
    /// The upload or download failed: `chat.retry` / `chat.download` try again.
    Failed,
    /// Someone else's, on the server only (over the auto-download size).
    Remote,
    Downloading,
    /// Here, at `path`.
    Downloaded,
}

/// A file attached to a message (HTTP upload, XEP-0363).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub size: u64,
    pub mime: String,
    /// Where it can be fetched (once uploaded).
    #[serde(default)]
    pub url: Option<String>,
    /// The local copy: the file we sent, or the one we downloaded.
    #[serde(default)]
    pub path: Option<String>,
    pub state: TransferState,
    /// A small preview of an image (a `data:image/jpeg;base64,…` URI, at most 160 px).
    #[serde(default)]
    pub thumbnail: Option<String>,
}

/// Progress of one file's upload or download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub conversation: String,
    pub id: String,
    /// Which of the message's files.
    pub file: u32,
    pub done: u64,
    pub total: u64,
    pub state: TransferState,
}
impl Contract for Transfer {
    const SCHEMA: &'static str = "chat.transfer/v1";
}
impl Contract for Message {
    const SCHEMA: &'static str = "chat.message/v1";
}

/// Who is typing in a conversation right now (an empty list: nobody any more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    pub conversation: String,
    pub who: Vec<String>,
}
impl Contract for Typing {
    const SCHEMA: &'static str = "chat.typing/v1";
}

/// An outbound message reached a new state (delivered, seen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub conversation: String,
    pub id: String,
    pub state: MessageState,
}
impl Contract for Receipt {
    const SCHEMA: &'static str = "chat.receipt/v1";
}

/// A group's room could not be configured as a group needs: the server's form lacks
/// (or refused) some of persistence, members-only, real addresses (members see each
/// other's addresses, not only nicknames) and archiving. Published when a group is
/// created or renamed; the group works, within what the server gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLimits {
    pub conversation: String,
    /// Among "persistence", "members-only", "real addresses", "archiving".
    pub missing: Vec<String>,
    /// What the server said or lacked, for people.
    pub reason: String,
}
impl Contract for GroupLimits {
    const SCHEMA: &'static str = "chat.group_limits/v1";
}

/// History sync progress: published while the archive is fetched, and once with
/// `done: true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Archived messages fetched so far in this sync.
    pub fetched: u64,
    /// New messages stored (the rest were already here).
    pub stored: u64,
    pub done: bool,
}
impl Contract for SyncProgress {
    const SCHEMA: &'static str = "chat.sync/v1";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// No account configured.
    NotConfigured,
    Connecting,
    Online,
    /// The server is unreachable or the connection dropped; retried with backoff.
    /// Messages sent now wait in the outbox.
    Offline,
    /// The server refused the credentials; retried only when they change.
    AuthFailed,
    /// The server's certificate is not trusted. The user may accept this one
    /// certificate (`chat.trust_certificate` with its fingerprint); until then nothing
    /// is sent.
    UntrustedCertificate,
}

/// Published whenever the connection state changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub state: ConnectionState,
    /// host:port in use or last tried.
    #[serde(default)]
    pub server: Option<String>,
    /// Why it is not online, in words a user can act on.
    #[serde(default)]
    pub reason: Option<String>,
    /// SHA-256 of the untrusted certificate (hex, colon-separated).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Messages waiting in the outbox.
    #[serde(default)]
    pub outbox: u32,
}
impl Contract for Connection {
    const SCHEMA: &'static str = "chat.connection/v1";
}

/// `chat.send`: a message to a contact or a room. Answered with the stored [`Message`]
/// (state `pending` until the server acknowledges it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Send {
    pub to: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Local paths of files to attach (at most [`MAX_FILES_PER_SEND`]).
    #[serde(default)]
    pub files: Vec<String>,
}

/// `{conversation, id, file}`: the argument of `chat.download`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub conversation: String,
    pub id: String,
    pub file: u32,
}

/// `chat.history`: up to `limit` messages of a conversation, oldest first, older than
/// the message `before` (or the newest ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub conversation: String,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: u32,
}
fn default_limit() -> u32 {
    20
}

/// `chat.history`'s answer. Without `before`, a conversation with unread messages gives
/// all of them plus up to `limit` older ones, and `first_unread` says where to position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub first_unread: Option<String>,
}

/// `chat.search`: local full-text search. Several words must all occur, in any order;
/// a quoted phrase must occur as written; case does not matter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub query: String,
    #[serde(default = "default_search_limit")]
    pub limit: u32,
}
fn default_search_limit() -> u32 {
    100
}

/// `chat.search`'s answer: matching conversations first, then messages, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub conversations: Vec<Conversation>,
    pub messages: Vec<Message>,
}

/// One entry of `chat.conversations` (sorted by last activity, newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub name: String,
    pub group: bool,
    /// RFC 3339 of the last message.
    #[serde(default)]
    pub last_activity: Option<String>,
    #[serde(default)]
    pub last_message: Option<String>,
    pub unread: u32,
    #[serde(default)]
    pub muted: bool,
    #[serde(default)]
    pub closed: bool,
    /// Position among pinned conversations (None: not pinned).
    #[serde(default)]
    pub pinned: Option<u32>,
    /// The conversation's pinned message (one at most).
    #[serde(default)]
    pub pinned_message: Option<String>,
}

/// `{conversation}`: the argument of `chat.mark_read`, `chat.mark_unread`, `chat.close`,
/// `chat.reopen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRef {
    pub conversation: String,
}

/// `chat.create_group`: a group chat with a name (default "Group"). In an ordinary group
/// members see what was said since they joined; with `full_history` they see it all.
/// Answered with the new [`Conversation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateGroup {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default)]
    pub full_history: bool,
}

/// `chat.add_participants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddParticipants {
    pub conversation: String,
    pub participants: Vec<String>,
}

/// `{conversation, jid}`: the argument of `chat.remove_participant` and
/// `chat.make_admin` (which hands the admin role over: the caller becomes a member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantRef {
    pub conversation: String,
    pub jid: String,
}

/// `chat.rename`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rename {
    pub conversation: String,
    pub name: String,
}

/// One entry of `chat.participants {conversation}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub jid: String,
    pub admin: bool,
    /// In the group right now (online).
    pub present: bool,
}

/// `chat.react {conversation, id, reaction, remove?}` (group chats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct React {
    pub conversation: String,
    pub id: String,
    pub reaction: String,
    #[serde(default)]
    pub remove: bool,
}

/// `chat.delete {conversation, id, for_everyone?}`: for everyone only the sender's own
/// messages (XEP-0424); for me, any message (here only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delete {
    pub conversation: String,
    pub id: String,
    #[serde(default)]
    pub for_everyone: bool,
}

/// `chat.pin {conversation, id?}`: pins one message for everyone in the conversation
/// (replacing the previous one); without `id` it unpins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinMessage {
    pub conversation: String,
    #[serde(default)]
    pub id: Option<String>,
}

/// Most conversations one forward may go to (the manual's limit).
pub const MAX_FORWARD_TARGETS: usize = 10;

/// `chat.forward {conversation, id, to}`: a copy of the message to up to 10
/// conversations, marked as forwarded from its author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    pub conversation: String,
    pub id: String,
    pub to: Vec<String>,
}
