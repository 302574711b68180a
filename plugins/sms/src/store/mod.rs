//! The SMS store: one SQLite file (WAL) with the messages, the conversations (how each
//! number is shown, read position), the outbox and the archive sync position. Messages
//! are keyed by (number, id): the sender's id is the same on every device, in the
//! archive and in a sharer's copy, so a message seen twice is stored once.
//!
//! Search is a LIKE scan over this desktop's SMS, which stays small next to chat (a
//! phone number's texts); chat's FTS5 index would be machinery without a payoff here.

mod messages;
mod outbox;

pub use outbox::Queued;

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use ucdesk_sdk::contract::sms::{
    Conversation, Direction, MediaFile, MediaState, Message, MessageState, Sharer,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the SMS store {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the SMS store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no message {0} in that conversation")]
    NoMessage(String),
}

pub struct Store {
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
  number TEXT NOT NULL,
  id TEXT NOT NULL,
  direction TEXT NOT NULL,
  body TEXT NOT NULL,
  url TEXT,
  state TEXT NOT NULL,
  error TEXT,
  at_ms INTEGER NOT NULL,
  -- An MMS part's file: name, type, size, this desktop's copy, where it is.
  file_name TEXT,
  file_mime TEXT,
  file_size INTEGER,
  file_path TEXT,
  file_state TEXT,
  file_error TEXT,
  by_jid TEXT,
  by_name TEXT,
  read INTEGER NOT NULL DEFAULT 0,
  -- Deleted here: kept as a tombstone so the archive does not bring it back.
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (number, id)
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (number, at_ms);
CREATE TABLE IF NOT EXISTS conversations (
  number TEXT PRIMARY KEY,
  display TEXT NOT NULL,
  -- Deleted here: its messages before this stay hidden (the archive keeps them).
  cleared_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL,
  body TEXT NOT NULL,
  -- An MMS part: the prepared file to upload, then the address it got.
  path TEXT,
  mime TEXT,
  url TEXT,
  queued_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open = |path: &Path| -> rusqlite::Result<Connection> {
            let db = Connection::open(path)?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(SCHEMA)?;
            Ok(db)
        };
        let db =
            open(path).map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        // A fetch that was under way when the app stopped did not finish: offer it again.
        db.execute("UPDATE messages SET file_state = 'not_downloaded' WHERE file_state = 'downloading'", [])?;
        Ok(Store { db })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn clear_meta(&self, key: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [key, value])?;
        Ok(())
    }

    /// Keeps how the user typed a number (or how a contact holds it) for the list.
    pub fn set_display(&self, number: &str, display: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO conversations (number, display) VALUES (?1, ?2)
             ON CONFLICT (number) DO UPDATE SET display = excluded.display",
            [number, display],
        )?;
        Ok(())
    }

    /// The number a typed text was resolved to before (the user typed it the same way).
    pub fn number_for(&self, typed: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row("SELECT number FROM conversations WHERE display = ?1", [typed], |r| r.get(0))
            .optional()?)
    }

    pub fn display_of(&self, number: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row("SELECT display FROM conversations WHERE number = ?1", [number], |r| r.get(0))
            .optional()?)
    }

    /// Whether nothing was ever stored (a fresh home: its history is not news).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.db.query_row("SELECT NOT EXISTS (SELECT 1 FROM messages)", [], |r| r.get(0))?)
    }

    /// The conversations with a message still shown, by recent activity.
    pub fn conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT m.number, COALESCE(c.display, m.number), m.body, m.at_ms,
                    (SELECT COUNT(*) FROM messages u WHERE u.number = m.number AND u.read = 0
                       AND u.deleted = 0 AND u.direction = 'in' AND u.at_ms > COALESCE(c.cleared_ms, 0))
             FROM messages m LEFT JOIN conversations c ON c.number = m.number
             WHERE m.deleted = 0 AND m.at_ms > COALESCE(c.cleared_ms, 0)
               AND m.rowid = (SELECT l.rowid FROM messages l LEFT JOIN conversations lc ON lc.number = l.number
                              WHERE l.number = m.number AND l.deleted = 0
                                AND l.at_ms > COALESCE(lc.cleared_ms, 0)
                              ORDER BY l.at_ms DESC, l.rowid DESC LIMIT 1)
             ORDER BY m.at_ms DESC, m.rowid DESC",
        )?;
        let rows = q.query_map([], |r| {
            Ok(Conversation {
                number: r.get(0)?,
                display: r.get(1)?,
                last_body: r.get(2)?,
                last_at_ms: r.get(3)?,
                unread: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Unread received messages over every conversation.
    pub fn unread(&self) -> Result<u32, StoreError> {
        Ok(self.db.query_row(
            "SELECT COUNT(*) FROM messages m LEFT JOIN conversations c ON c.number = m.number
             WHERE m.read = 0 AND m.deleted = 0 AND m.direction = 'in'
               AND m.at_ms > COALESCE(c.cleared_ms, 0)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks one conversation read, or all of them; how many messages changed.
    pub fn mark_read(&self, number: Option<&str>) -> Result<usize, StoreError> {
        Ok(match number {
            Some(n) => self.db.execute("UPDATE messages SET read = 1 WHERE read = 0 AND number = ?1", [n])?,
            None => self.db.execute("UPDATE messages SET read = 1 WHERE read = 0", [])?,
        })
    }

    /// Hides a conversation and everything in it up to now.
    pub fn delete_conversation(&self, number: &str) -> Result<bool, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        let last: Option<i64> =
            self.db.query_row("SELECT MAX(at_ms) FROM messages WHERE number = ?1", [number], |r| r.get(0))?;
        let Some(last) = last else { return Ok(false) };
        self.db.execute(
            "INSERT INTO conversations (number, display, cleared_ms) VALUES (?1, ?1, ?2)
             ON CONFLICT (number) DO UPDATE SET cleared_ms = excluded.cleared_ms",
            params![number, now.max(last)],
        )?;
        self.db.execute("DELETE FROM outbox WHERE number = ?1", [number])?;
        Ok(true)
    }
}

pub(crate) fn message(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let direction: String = r.get("direction")?;
    let state: String = r.get("state")?;
    let by_jid: Option<String> = r.get("by_jid")?;
    let by_name: Option<String> = r.get("by_name")?;
    let file_name: Option<String> = r.get("file_name")?;
    let file = match file_name {
        Some(name) => Some(MediaFile {
            name,
            mime: r.get::<_, Option<String>>("file_mime")?.unwrap_or_default(),
            size: r.get::<_, Option<i64>>("file_size")?.map(|s| s as u64),
            path: r.get("file_path")?,
            state: media_state_from(&r.get::<_, Option<String>>("file_state")?.unwrap_or_default()),
            error: r.get("file_error")?,
        }),
        None => None,
    };
    Ok(Message {
        id: r.get("id")?,
        number: r.get("number")?,
        direction: if direction == "in" { Direction::In } else { Direction::Out },
        body: r.get("body")?,
        url: r.get("url")?,
        file,
        state: state_from(&state),
        error: r.get("error")?,
        at_ms: r.get("at_ms")?,
        by: by_jid.map(|jid| Sharer { name: by_name.unwrap_or_else(|| jid.clone()), jid }),
        read: r.get::<_, i64>("read")? != 0,
    })
}

pub(crate) fn state_str(s: MessageState) -> &'static str {
    match s {
        MessageState::Sending => "sending",
        MessageState::Sent => "sent",
        MessageState::Failed => "failed",
        MessageState::Received => "received",
    }
}

pub(crate) fn media_state_str(s: MediaState) -> &'static str {
    match s {
        MediaState::Uploading => "uploading",
        MediaState::Ready => "ready",
        MediaState::NotDownloaded => "not_downloaded",
        MediaState::Downloading => "downloading",
        MediaState::Failed => "failed",
    }
}

fn media_state_from(s: &str) -> MediaState {
    match s {
        "uploading" => MediaState::Uploading,
        "ready" => MediaState::Ready,
        "downloading" => MediaState::Downloading,
        "failed" => MediaState::Failed,
        _ => MediaState::NotDownloaded,
    }
}

fn state_from(s: &str) -> MessageState {
    match s {
        "sending" => MessageState::Sending,
        "sent" => MessageState::Sent,
        "failed" => MessageState::Failed,
        _ => MessageState::Received,
    }
}
