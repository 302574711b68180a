//! The tables, and how a row becomes a [`Message`]: one place for the column lists
//! and state numbers every query shares, so a schema change is made once.

use super::rfc3339;
use ucdesk_sdk::contract::chat::{Direction, Message, MessageState};

pub(super) const SCHEMA: &str = "
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

pub(super) fn state_of(n: i64) -> MessageState {
    match n {
        0 => MessageState::Pending,
        1 => MessageState::Sent,
        2 => MessageState::Delivered,
        _ => MessageState::Seen,
    }
}

pub(super) fn state_num(s: MessageState) -> i64 {
    match s {
        MessageState::Pending => 0,
        MessageState::Sent => 1,
        MessageState::Delivered => 2,
        MessageState::Seen => 3,
    }
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, conversation, sender, body, ts, direction, state, reply_to, forwarded_from, mentions_me, deleted";

pub(super) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
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
