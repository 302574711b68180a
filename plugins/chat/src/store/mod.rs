//! The chat store: every message and conversation in SQLite, an FTS5 index for local
//! search (the server's archive has none), the outbox, and the sync position.
//!
//! A message is identified by (conversation, sender, id) where id is the sender's
//! stable id, so the same message seen live, as a carbon, from the archive or sent
//! twice after a reconnect is stored once.
//!
//! This file owns the connection, its transactions and the key-value `meta` table (sync
//! positions, join times). The queries are split by concern (schema, messages,
//! conversations, files, search, outbox), all methods of the one [`Store`], so callers
//! never see the split.

mod conversations;
mod files;
mod messages;
mod outbox;
mod schema;
mod search;

pub use search::{Term, parse_query};

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use ucdesk_sdk::contract::chat::{Direction, MessageState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the chat store {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("chat store: {0}")]
    Sql(#[from] rusqlite::Error),
}

pub struct Store {
    db: Connection,
}

/// A message on its way in, before it is known whether it is new.
#[derive(Clone, Copy)]
pub struct Incoming<'a> {
    pub conversation: &'a str,
    pub id: &'a str,
    pub from: &'a str,
    pub body: &'a str,
    pub ts_ms: i64,
    pub direction: Direction,
    pub state: MessageState,
    pub archive_id: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub forwarded_from: Option<&'a str>,
    pub mentions_me: bool,
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let db = Connection::open(path)?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(schema::SCHEMA)?;
            Ok(db)
        };
        open()
            .map(|db| Store { db })
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Every meta entry whose key starts with `prefix` (the prefix cut off), by key.
    pub fn meta_prefixed(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut q = self
            .db
            .prepare("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let rows = q.query_map([prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value) = row?;
            out.push((key[prefix.len()..].to_string(), value));
        }
        Ok(out)
    }

    pub fn set_meta(&mut self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, v],
            )?,
            None => self.db.execute("DELETE FROM meta WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// Opens an outer transaction (a sync page is hundreds of inserts; one commit per
    /// page instead of per message). Writes inside use savepoints, which nest.
    pub fn begin(&mut self) -> Result<(), StoreError> {
        if self.db.is_autocommit() {
            self.db.execute_batch("BEGIN")?;
        }
        Ok(())
    }

    pub fn commit(&mut self) -> Result<(), StoreError> {
        if !self.db.is_autocommit() {
            self.db.execute_batch("COMMIT")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Flag {
    Muted,
    Closed,
}

/// What the tests of every table start from: an empty store and a way to fill it.
#[cfg(test)]
mod testing {
    use super::{Incoming, Store};
    use ucdesk_sdk::contract::chat::{Direction, Message, MessageState};

    pub(super) fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("chat.sqlite3")).unwrap();
        (dir, s)
    }

    pub(super) fn add(s: &mut Store, id: &str, body: &str, ts: i64) -> Option<Message> {
        s.insert(&Incoming {
            conversation: "bob@lab",
            id,
            from: "bob@lab",
            body,
            ts_ms: ts,
            direction: Direction::Inbound,
            state: MessageState::Delivered,
            archive_id: None,
            reply_to: None,
            forwarded_from: None,
            mentions_me: false,
        })
        .unwrap()
    }
}
