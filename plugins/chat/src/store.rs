//! The chat store: every message and conversation in SQLite, an FTS5 index for local
//! search (the server's archive has none), the outbox, and the sync position.
//!
//! A message is identified by (conversation, sender, id) where id is the sender's
//! stable id, so the same message seen live, as a carbon, from the archive or sent
//! twice after a reconnect is stored once.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use ucdesk_sdk::contract::chat::{Attachment, Conversation, Direction, Message, MessageState, TransferState};

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

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
  rowid INTEGER PRIMARY KEY,
  conversation TEXT NOT NULL,
  id TEXT NOT NULL,
  sender TEXT NOT NULL,
  body TEXT NOT NULL,
  ts INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  state INTEGER NOT NULL,
  archive_id TEXT,
  reply_to TEXT,
  forwarded_from TEXT,
  mentions_me INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  UNIQUE (conversation, sender, id)
);
-- XEP-0444: each sender's current set of reactions to a message replaces the last.
CREATE TABLE IF NOT EXISTS reactions (
  conversation TEXT NOT NULL,
  message TEXT NOT NULL,
  sender TEXT NOT NULL,
  emoji TEXT NOT NULL,
  PRIMARY KEY (conversation, message, sender, emoji)
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages(conversation, ts);
-- Unread counts: inbound rows after the read position, a range on this index (rowid
-- is its last column).
CREATE INDEX IF NOT EXISTS messages_by_direction ON messages(conversation, direction);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
  body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF body ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
  INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TABLE IF NOT EXISTS files (
  conversation TEXT NOT NULL,
  message TEXT NOT NULL,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  mime TEXT NOT NULL,
  url TEXT,
  path TEXT,
  state TEXT NOT NULL,
  thumbnail TEXT,
  PRIMARY KEY (conversation, message, idx)
);
-- Groups: how far each member has read (a displayed marker covers what came before).
CREATE TABLE IF NOT EXISTS group_reads (
  conversation TEXT NOT NULL,
  who TEXT NOT NULL,
  up_to INTEGER NOT NULL,
  PRIMARY KEY (conversation, who)
);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  grp INTEGER NOT NULL DEFAULT 0,
  last_ts INTEGER NOT NULL DEFAULT 0,
  -- Inbound messages stored after this row are unread (arrival order, not time:
  -- times are whole seconds).
  read_row INTEGER NOT NULL DEFAULT 0,
  muted INTEGER NOT NULL DEFAULT 0,
  closed INTEGER NOT NULL DEFAULT 0,
  pinned INTEGER,
  pinned_message TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  conversation TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

fn state_of(n: i64) -> MessageState {
    match n {
        0 => MessageState::Pending,
        1 => MessageState::Sent,
        2 => MessageState::Delivered,
        _ => MessageState::Seen,
    }
}

fn state_num(s: MessageState) -> i64 {
    match s {
        MessageState::Pending => 0,
        MessageState::Sent => 1,
        MessageState::Delivered => 2,
        MessageState::Seen => 3,
    }
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

const MESSAGE_COLUMNS: &str =
    "id, conversation, sender, body, ts, direction, state, reply_to, forwarded_from, mentions_me, deleted";

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        conversation: r.get(1)?,
        from: r.get(2)?,
        body: r.get(3)?,
        timestamp: rfc3339(r.get(4)?),
        direction: if r.get::<_, i64>(5)? == 0 { Direction::Inbound } else { Direction::Outbound },
        state: state_of(r.get(6)?),
        reply_to: r.get(7)?,
        forwarded_from: r.get(8)?,
        mentions_me: r.get::<_, i64>(9)? != 0,
        deleted: r.get::<_, i64>(10)? != 0,
        reactions: Default::default(),
        notify: false,
        files: Vec::new(),
    })
}

fn transfer_state(s: &str) -> TransferState {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(TransferState::Failed)
}

fn transfer_name(s: TransferState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let db = Connection::open(path)?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(SCHEMA)?;
            Ok(db)
        };
        open()
            .map(|db| Store { db })
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })
    }

    /// Stores a message unless it is already there. Returns it when it is new.
    ///
    /// Times are kept to the second: archives stamp whole seconds, and a message seen
    /// live (our clock, milliseconds) must not sort after a later one fetched from the
    /// archive in the same second. Ties keep arrival order (live) or archive order.
    pub fn insert(&mut self, m: &Incoming<'_>) -> Result<Option<Message>, StoreError> {
        let ts_ms = m.ts_ms - m.ts_ms.rem_euclid(1000);
        let m = &Incoming { ts_ms, ..*m };
        let tx = self.db.savepoint()?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO messages
               (conversation, id, sender, body, ts, direction, state, archive_id, reply_to, forwarded_from, mentions_me)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                m.conversation,
                m.id,
                m.from,
                m.body,
                m.ts_ms,
                (m.direction == Direction::Outbound) as i64,
                state_num(m.state),
                m.archive_id,
                m.reply_to,
                m.forwarded_from,
                m.mentions_me as i64
            ],
        )?;
        if added == 0 {
            // Seen before; the archive id may be new (a message we sent, now archived).
            if let Some(aid) = m.archive_id {
                tx.execute(
                    "UPDATE messages SET archive_id = ?4 WHERE conversation = ?1 AND sender = ?2 AND id = ?3 AND archive_id IS NULL",
                    params![m.conversation, m.from, m.id, aid],
                )?;
            }
            tx.commit()?;
            return Ok(None);
        }
        // New activity reopens a closed conversation.
        let name = m.conversation.split('@').next().unwrap_or(m.conversation);
        tx.execute(
            "INSERT INTO conversations (id, name, last_ts) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET last_ts = max(last_ts, ?3), closed = 0",
            params![m.conversation, name, m.ts_ms],
        )?;
        tx.commit()?;
        Ok(Some(Message {
            id: m.id.to_string(),
            conversation: m.conversation.to_string(),
            from: m.from.to_string(),
            body: m.body.to_string(),
            timestamp: rfc3339(m.ts_ms),
            direction: m.direction,
            state: m.state,
            reply_to: m.reply_to.map(str::to_string),
            forwarded_from: m.forwarded_from.map(str::to_string),
            mentions_me: m.mentions_me,
            deleted: false,
            reactions: Default::default(),
            notify: false,
            files: Vec::new(),
        }))
    }

    /// Records a message's files (replacing what was recorded).
    pub fn set_files(
        &mut self,
        conversation: &str,
        message: &str,
        files: &[Attachment],
    ) -> Result<(), StoreError> {
        let tx = self.db.savepoint()?;
        tx.execute(
            "DELETE FROM files WHERE conversation = ?1 AND message = ?2",
            params![conversation, message],
        )?;
        for (i, f) in files.iter().enumerate() {
            tx.execute(
                "INSERT INTO files (conversation, message, idx, name, size, mime, url, path, state, thumbnail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    conversation,
                    message,
                    i as i64,
                    f.name,
                    f.size as i64,
                    f.mime,
                    f.url,
                    f.path,
                    transfer_name(f.state),
                    f.thumbnail
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn set_thumbnail(
        &mut self,
        conversation: &str,
        message: &str,
        idx: u32,
        uri: &str,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE files SET thumbnail = ?4 WHERE conversation = ?1 AND message = ?2 AND idx = ?3",
            params![conversation, message, idx as i64, uri],
        )?;
        Ok(())
    }

    /// Updates one file's state, and its url or local path when given.
    pub fn update_file(
        &mut self,
        conversation: &str,
        message: &str,
        idx: u32,
        state: TransferState,
        url: Option<&str>,
        path: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE files SET state = ?4, url = coalesce(?5, url), path = coalesce(?6, path)
             WHERE conversation = ?1 AND message = ?2 AND idx = ?3",
            params![conversation, message, idx as i64, transfer_name(state), url, path],
        )?;
        Ok(())
    }

    pub fn files_of(&self, conversation: &str, message: &str) -> Result<Vec<Attachment>, StoreError> {
        let mut q = self.db.prepare_cached(
            "SELECT name, size, mime, url, path, state, thumbnail FROM files WHERE conversation = ?1 AND message = ?2 ORDER BY idx",
        )?;
        let rows = q.query_map(params![conversation, message], |r| {
            Ok(Attachment {
                name: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                mime: r.get(2)?,
                url: r.get(3)?,
                path: r.get(4)?,
                state: transfer_state(&r.get::<_, String>(5)?),
                thumbnail: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces `sender`'s reactions to a message; returns the message with all its
    /// reactions, when it is here.
    pub fn react(
        &mut self,
        conversation: &str,
        message: &str,
        sender: &str,
        emojis: &[String],
    ) -> Result<Option<Message>, StoreError> {
        let tx = self.db.savepoint()?;
        tx.execute(
            "DELETE FROM reactions WHERE conversation = ?1 AND message = ?2 AND sender = ?3",
            params![conversation, message, sender],
        )?;
        for e in emojis {
            tx.execute(
                "INSERT OR IGNORE INTO reactions (conversation, message, sender, emoji) VALUES (?1, ?2, ?3, ?4)",
                params![conversation, message, sender, e],
            )?;
        }
        tx.commit()?;
        self.message(conversation, message)
    }

    /// `sender`'s current reactions to a message.
    pub fn reactions_of(
        &self,
        conversation: &str,
        message: &str,
        sender: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT emoji FROM reactions WHERE conversation = ?1 AND message = ?2 AND sender = ?3 ORDER BY emoji",
        )?;
        let rows =
            q.query_map(params![conversation, message, sender], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn fill_reactions(&self, m: &mut Message) -> Result<(), StoreError> {
        m.files = self.files_of(&m.conversation, &m.id)?;
        let mut q = self
            .db
            .prepare_cached("SELECT emoji, sender FROM reactions WHERE conversation = ?1 AND message = ?2 ORDER BY emoji, sender")?;
        let rows = q.query_map(params![m.conversation, m.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        m.reactions.clear();
        for row in rows {
            let (emoji, sender) = row?;
            m.reactions.entry(emoji).or_default().push(sender);
        }
        Ok(())
    }

    fn filled(&self, mut list: Vec<Message>) -> Result<Vec<Message>, StoreError> {
        for m in &mut list {
            self.fill_reactions(m)?;
        }
        Ok(list)
    }

    /// Deletes a message's content for everyone (a retraction): the row stays as a
    /// "deleted" marker, the text leaves the store and the index. Only the sender's own
    /// message is affected. Returns it when it changed.
    pub fn retract(
        &mut self,
        conversation: &str,
        id: &str,
        sender: &str,
    ) -> Result<Option<Message>, StoreError> {
        let n = self.db.execute(
            "UPDATE messages SET body = '', deleted = 1 WHERE conversation = ?1 AND id = ?2 AND sender = ?3 AND deleted = 0",
            params![conversation, id, sender],
        )?;
        self.db.execute(
            "DELETE FROM reactions WHERE conversation = ?1 AND message = ?2",
            params![conversation, id],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.message(conversation, id)
    }

    /// Deletes a message here only.
    pub fn delete_local(&mut self, conversation: &str, id: &str) -> Result<bool, StoreError> {
        let n = self
            .db
            .execute("DELETE FROM messages WHERE conversation = ?1 AND id = ?2", params![conversation, id])?;
        self.db.execute(
            "DELETE FROM reactions WHERE conversation = ?1 AND message = ?2",
            params![conversation, id],
        )?;
        Ok(n > 0)
    }

    /// `who` has seen the group's message `id` and everything before it.
    pub fn seen_by(&mut self, conversation: &str, id: &str, who: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO group_reads (conversation, who, up_to)
             SELECT ?1, ?3, rowid FROM messages WHERE conversation = ?1 AND id = ?2
             ON CONFLICT(conversation, who) DO UPDATE SET up_to = max(up_to, excluded.up_to)",
            params![conversation, id, who],
        )?;
        Ok(())
    }

    /// Who has seen the group's message `id`.
    pub fn seen_list(&self, conversation: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT g.who FROM group_reads g JOIN messages m ON m.conversation = g.conversation AND m.id = ?2
             WHERE g.conversation = ?1 AND g.up_to >= m.rowid ORDER BY g.who",
        )?;
        let rows = q.query_map(params![conversation, id], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn pin_message(&mut self, conversation: &str, id: Option<&str>) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE conversations SET pinned_message = ?2 WHERE id = ?1",
            params![conversation, id],
        )?;
        Ok(())
    }

    pub fn is_muted(&self, conversation: &str) -> Result<bool, StoreError> {
        Ok(self
            .db
            .query_row("SELECT muted FROM conversations WHERE id = ?1", [conversation], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .is_some_and(|m| m != 0))
    }

    pub fn message(&self, conversation: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let m = self
            .db
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation = ?1 AND id = ?2 ORDER BY direction DESC LIMIT 1"),
                params![conversation, id],
                message_row,
            )
            .optional()?;
        match m {
            Some(mut m) => {
                self.fill_reactions(&mut m)?;
                Ok(Some(m))
            }
            None => Ok(None),
        }
    }

    /// Raises an outbound message's state (never lowers it). Returns the message when it
    /// changed.
    pub fn advance(
        &mut self,
        conversation: &str,
        id: &str,
        state: MessageState,
    ) -> Result<Option<Message>, StoreError> {
        let n = self.db.execute(
            "UPDATE messages SET state = ?3 WHERE conversation = ?1 AND id = ?2 AND direction = 1 AND state < ?3",
            params![conversation, id, state_num(state)],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.message(conversation, id)
    }

    /// A displayed marker covers every earlier outbound message too (XEP-0333). Returns
    /// the ids that became seen.
    pub fn seen_up_to(&mut self, conversation: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let Some(ts) = self
            .db
            .query_row(
                "SELECT ts FROM messages WHERE conversation = ?1 AND id = ?2 AND direction = 1",
                params![conversation, id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
        else {
            return Ok(Vec::new());
        };
        let tx = self.db.savepoint()?;
        let ids = {
            let mut q = tx.prepare(
                "SELECT id FROM messages WHERE conversation = ?1 AND direction = 1 AND state < 3 AND ts <= ?2",
            )?;
            q.query_map(params![conversation, ts], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?
        };
        tx.execute(
            "UPDATE messages SET state = 3 WHERE conversation = ?1 AND direction = 1 AND state < 3 AND ts <= ?2",
            params![conversation, ts],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// `limit` messages older than `before` (or the newest), oldest first. Without
    /// `before` and with unread messages: all unread plus `limit` older.
    pub fn history(
        &self,
        conversation: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let upper = match before {
            Some(id) => self.row_of(conversation, id)?.unwrap_or(i64::MAX),
            None => i64::MAX,
        };
        let read_row: i64 = self
            .db
            .query_row("SELECT read_row FROM conversations WHERE id = ?1", [conversation], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let unread_ids: Vec<String> = if before.is_none() {
            let mut q = self.db.prepare(
                "SELECT id FROM messages WHERE conversation = ?1 AND direction = 0 AND rowid > ?2 ORDER BY ts, rowid",
            )?;
            q.query_map(params![conversation, read_row], |r| r.get(0))?.collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let first_unread = unread_ids.first().cloned();
        let mut q = self.db.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation = ?1 AND rowid < ?2
             ORDER BY ts DESC, rowid DESC LIMIT ?3"
        ))?;
        // All unread (they are the newest) plus `limit` older ones.
        let take = limit as i64 + unread_ids.len() as i64;
        let mut rows: Vec<Message> =
            q.query_map(params![conversation, upper, take], message_row)?.collect::<Result<_, _>>()?;
        rows.reverse();
        Ok((self.filled(rows)?, first_unread))
    }

    /// Up to `n` messages on each side of `id`, oldest first: opening a search result.
    pub fn around(&self, conversation: &str, id: &str, n: u32) -> Result<Vec<Message>, StoreError> {
        let Some(row) = self.row_of(conversation, id)? else { return Ok(Vec::new()) };
        let cols = MESSAGE_COLUMNS;
        let mut before = self.db.prepare(&format!(
            "SELECT {cols} FROM messages WHERE conversation = ?1 AND rowid <= ?2 ORDER BY rowid DESC LIMIT ?3"
        ))?;
        let mut list: Vec<Message> =
            before.query_map(params![conversation, row, n + 1], message_row)?.collect::<Result<_, _>>()?;
        list.reverse();
        let mut after = self.db.prepare(&format!(
            "SELECT {cols} FROM messages WHERE conversation = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3"
        ))?;
        let later: Vec<Message> =
            after.query_map(params![conversation, row, n], message_row)?.collect::<Result<_, _>>()?;
        list.extend(later);
        self.filled(list)
    }

    pub fn conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT c.id, c.name, c.grp, c.last_ts, c.muted, c.closed, c.pinned,
                    (SELECT count(*) FROM messages m WHERE m.conversation = c.id AND m.direction = 0 AND m.rowid > c.read_row),
                    (SELECT body FROM messages m WHERE m.conversation = c.id ORDER BY ts DESC, rowid DESC LIMIT 1),
                    c.pinned_message
             FROM conversations c
             ORDER BY c.pinned IS NULL, c.pinned, c.last_ts DESC",
        )?;
        let rows = q.query_map([], |r| {
            let last: i64 = r.get(3)?;
            Ok(Conversation {
                id: r.get(0)?,
                name: r.get(1)?,
                group: r.get::<_, i64>(2)? != 0,
                last_activity: (last > 0).then(|| rfc3339(last)),
                muted: r.get::<_, i64>(4)? != 0,
                closed: r.get::<_, i64>(5)? != 0,
                pinned: r.get::<_, Option<i64>>(6)?.map(|p| p as u32),
                unread: r.get::<_, i64>(7)? as u32,
                last_message: r.get(8)?,
                pinned_message: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks everything in the conversation as read; returns the newest inbound
    /// message's id and sender (for the displayed marker).
    pub fn mark_read(&mut self, conversation: &str) -> Result<Option<(String, String)>, StoreError> {
        let last: Option<(String, String)> = self
            .db
            .query_row(
                "SELECT id, sender FROM messages WHERE conversation = ?1 AND direction = 0 ORDER BY ts DESC, rowid DESC LIMIT 1",
                [conversation],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        self.db.execute(
            "UPDATE conversations SET read_row = max(read_row,
               coalesce((SELECT max(rowid) FROM messages WHERE conversation = ?1), 0)) WHERE id = ?1",
            [conversation],
        )?;
        Ok(last)
    }

    /// Makes the newest inbound message unread again.
    pub fn mark_unread(&mut self, conversation: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE conversations SET read_row = coalesce(
               (SELECT max(rowid) - 1 FROM messages WHERE conversation = ?1 AND direction = 0), 0) WHERE id = ?1",
            [conversation],
        )?;
        Ok(())
    }

    /// Everything stored so far counts as read: a fresh home's first sync does not flood
    /// the user with years of unread history.
    pub fn read_everything(&mut self) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE conversations SET read_row = max(read_row,
               coalesce((SELECT max(rowid) FROM messages m WHERE m.conversation = conversations.id), 0))",
            [],
        )?;
        Ok(())
    }

    pub fn set_flag(&mut self, conversation: &str, flag: Flag, on: bool) -> Result<bool, StoreError> {
        let column = match flag {
            Flag::Muted => "muted",
            Flag::Closed => "closed",
        };
        let n = self.db.execute(
            &format!("UPDATE conversations SET {column} = ?2 WHERE id = ?1"),
            params![conversation, on as i64],
        )?;
        Ok(n > 0)
    }

    pub fn close_all(&mut self) -> Result<(), StoreError> {
        self.db.execute("UPDATE conversations SET closed = 1", [])?;
        Ok(())
    }

    /// Pins a conversation at `position` (0 first), or unpins it (None). Other pinned
    /// conversations keep their relative order.
    pub fn pin(&mut self, conversation: &str, position: Option<u32>) -> Result<(), StoreError> {
        let tx = self.db.savepoint()?;
        let mut order: Vec<String> = {
            let mut q = tx.prepare(
                "SELECT id FROM conversations WHERE pinned IS NOT NULL AND id != ?1 ORDER BY pinned",
            )?;
            q.query_map([conversation], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        tx.execute("UPDATE conversations SET pinned = NULL WHERE id = ?1", [conversation])?;
        if let Some(p) = position {
            order.insert((p as usize).min(order.len()), conversation.to_string());
        }
        for (i, id) in order.iter().enumerate() {
            tx.execute("UPDATE conversations SET pinned = ?2 WHERE id = ?1", params![id, i as i64])?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn ensure_conversation(&mut self, id: &str, name: &str, group: bool) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO conversations (id, name, grp) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET name = ?2, closed = 0",
            params![id, name, group as i64],
        )?;
        Ok(())
    }

    /// A contact's display name (from the roster) for their conversation.
    pub fn rename(&mut self, conversation: &str, name: &str) -> Result<(), StoreError> {
        self.db.execute("UPDATE conversations SET name = ?2 WHERE id = ?1", params![conversation, name])?;
        Ok(())
    }

    /// Local search: conversations whose name or address contains every word, then
    /// messages matching the FTS query, newest first.
    pub fn search(&self, query: &str, limit: u32) -> Result<(Vec<Conversation>, Vec<Message>), StoreError> {
        let terms = parse_query(query);
        let fts = fts_query(&terms);
        if fts.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let words: Vec<String> = terms.iter().map(|t| t.text.trim_end_matches('*').to_lowercase()).collect();
        // Contacts and chats: names are few; the full rows (unread counts) only for hits.
        let hits: Vec<String> = {
            let mut q = self.db.prepare("SELECT id, name FROM conversations")?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut hits = Vec::new();
            for row in rows {
                let (id, name) = row?;
                let hay = format!("{name} {id}").to_lowercase();
                if words.iter().all(|w| hay.contains(w.as_str())) {
                    hits.push(id);
                }
            }
            hits
        };
        let conversations = if hits.is_empty() {
            Vec::new()
        } else {
            self.conversations()?.into_iter().filter(|c| hits.contains(&c.id)).collect()
        };
        // Newest first by arrival (rowid): FTS5 walks its index backwards and stops at
        // the limit, where ordering by time would collect every match first (a common
        // word matches most of a million messages).
        let mut q = self.db.prepare(&format!(
            "SELECT {} FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) f
             JOIN messages m ON m.rowid = f.rowid ORDER BY m.rowid DESC",
            MESSAGE_COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
        ))?;
        let messages = q.query_map(params![fts, limit], message_row)?.collect::<Result<_, _>>()?;
        Ok((conversations, self.filled(messages)?))
    }

    /// The same message search without the index: every word as a case-insensitive
    /// substring, a full scan. Only the search benchmark uses it, as the baseline.
    #[doc(hidden)]
    pub fn search_by_scan(&self, query: &str, limit: u32) -> Result<Vec<Message>, StoreError> {
        let terms = parse_query(query);
        let mut sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE 1");
        let mut args: Vec<String> = Vec::new();
        for t in &terms {
            args.push(format!("%{}%", t.text.replace('%', "").replace('_', "")));
            sql.push_str(&format!(" AND body LIKE ?{}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY rowid DESC LIMIT {limit}"));
        let mut q = self.db.prepare(&sql)?;
        let rows =
            q.query_map(rusqlite::params_from_iter(args.iter()), message_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn outbox_add(&mut self, id: &str, conversation: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (id, conversation, created) VALUES (?1, ?2, ?3)",
            params![id, conversation, now_ms()],
        )?;
        Ok(())
    }

    pub fn outbox_count(&self) -> Result<u32, StoreError> {
        Ok(self.db.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u32)
    }

    /// The row of a message: arrival order, for paging and read positions.
    fn row_of(&self, conversation: &str, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT rowid FROM messages WHERE conversation = ?1 AND id = ?2",
                params![conversation, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn outbox_remove(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM outbox WHERE id = ?1", [id])? > 0)
    }

    /// The outbox, oldest first, with each message's body.
    pub fn outbox(&self) -> Result<Vec<Message>, StoreError> {
        let mut q = self.db.prepare(&format!(
            "SELECT {} FROM outbox o JOIN messages m ON m.conversation = o.conversation AND m.id = o.id AND m.direction = 1
             ORDER BY o.created",
            MESSAGE_COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
        ))?;
        let rows = q.query_map([], message_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
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

/// One search term: a word (prefix match) or a quoted phrase (exact, in order).
#[derive(Debug, PartialEq)]
pub struct Term {
    pub text: String,
    pub phrase: bool,
}

/// Splits what the user typed into words and "quoted phrases".
pub fn parse_query(q: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = q;
    while let Some(start) = rest.find('"') {
        terms.extend(words(&rest[..start]));
        let after = &rest[start + 1..];
        let (phrase, tail) = match after.find('"') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        if !phrase.trim().is_empty() {
            terms.push(Term { text: phrase.trim().to_string(), phrase: true });
        }
        rest = tail;
    }
    terms.extend(words(rest));
    terms
}

fn words(s: &str) -> impl Iterator<Item = Term> + '_ {
    s.split_whitespace().map(|w| Term { text: w.to_string(), phrase: false })
}

/// The FTS5 expression: every term must match (implicit AND). Terms are quoted so no
/// user input is read as FTS syntax. Words match whole words; a trailing `*` asks for a
/// prefix (`rep*`). Whole words are what makes a search of a million messages take
/// a fraction of a millisecond: a prefix of a common word merges huge lists (see the
/// search benchmark).
fn fts_query(terms: &[Term]) -> String {
    terms
        .iter()
        .filter_map(|t| {
            let (text, prefix) = match t.text.strip_suffix('*') {
                Some(stem) if !t.phrase => (stem, true),
                _ => (t.text.as_str(), false),
            };
            let text = text.trim_matches('*');
            if text.is_empty() {
                return None;
            }
            let quoted = format!("\"{}\"", text.replace('"', "\"\""));
            Some(if prefix { format!("{quoted}*") } else { quoted })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("chat.sqlite3")).unwrap();
        (dir, s)
    }

    fn add(s: &mut Store, id: &str, body: &str, ts: i64) -> Option<Message> {
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

    #[test]
    fn the_same_message_is_stored_once() {
        let (_d, mut s) = store();
        assert!(add(&mut s, "m1", "hello", 1).is_some());
        assert!(add(&mut s, "m1", "hello", 1).is_none());
        assert_eq!(s.history("bob@lab", None, 20).unwrap().0.len(), 1);
    }

    #[test]
    fn search_is_and_of_words_phrase_in_order_case_blind() {
        let (_d, mut s) = store();
        add(&mut s, "1", "The quick brown fox", 1);
        add(&mut s, "2", "brown bread, quick lunch", 2);
        add(&mut s, "3", "fox quick", 3);
        let ids = |q: &str| s.search(q, 10).unwrap().1.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids("QUICK fox"), ["3", "1"]);
        assert_eq!(ids("\"quick brown\""), ["1"]);
        assert_eq!(ids("\"brown quick\""), Vec::<String>::new());
        assert_eq!(ids("bro"), Vec::<String>::new());
        assert_eq!(ids("bro*"), ["2", "1"]);
        // FTS syntax in the input is text, not an operator.
        assert_eq!(ids("fox OR bread"), Vec::<String>::new());
        assert_eq!(ids("\"unterminated"), Vec::<String>::new());
    }

    #[test]
    fn history_gives_unread_plus_older_and_where_to_start() {
        let (_d, mut s) = store();
        for i in 0..30 {
            add(&mut s, &format!("m{i}"), "x", i * 1000);
        }
        s.read_everything().unwrap();
        for i in 30..35 {
            add(&mut s, &format!("m{i}"), "x", i * 1000);
        }
        let (msgs, first) = s.history("bob@lab", None, 20).unwrap();
        assert_eq!(first.as_deref(), Some("m30"));
        assert_eq!(msgs.len(), 25);
        assert_eq!(msgs.last().unwrap().id, "m34");
        let (older, _) = s.history("bob@lab", Some("m10"), 5).unwrap();
        assert_eq!(older.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m5", "m6", "m7", "m8", "m9"]);
        assert_eq!(s.conversations().unwrap()[0].unread, 5);
        s.mark_read("bob@lab").unwrap();
        assert_eq!(s.conversations().unwrap()[0].unread, 0);
    }

    #[test]
    fn pinned_conversations_keep_a_user_order() {
        let (_d, mut s) = store();
        for (i, c) in ["a@lab", "b@lab", "c@lab"].iter().enumerate() {
            s.ensure_conversation(c, c, false).unwrap();
            s.db.execute("UPDATE conversations SET last_ts = ?2 WHERE id = ?1", params![c, i as i64])
                .unwrap();
        }
        s.pin("a@lab", Some(0)).unwrap();
        s.pin("b@lab", Some(0)).unwrap();
        let order = |s: &Store| s.conversations().unwrap().into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(order(&s), ["b@lab", "a@lab", "c@lab"]);
        s.pin("b@lab", None).unwrap();
        assert_eq!(order(&s), ["a@lab", "c@lab", "b@lab"]);
    }
}
