//! Messages and what others did with them (reactions, group read positions): storing
//! each once whatever path it came by, raising states, and paging history.

use super::schema::{MESSAGE_COLUMNS, message_row, state_num};
use super::{Incoming, Store, StoreError, rfc3339};
use rusqlite::{OptionalExtension, params};
use ucdesk_sdk::contract::chat::{Direction, Message, MessageState};

impl Store {
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

    /// The row of a message: arrival order, for paging and read positions.
    pub(super) fn row_of(&self, conversation: &str, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT rowid FROM messages WHERE conversation = ?1 AND id = ?2",
                params![conversation, id],
                |r| r.get(0),
            )
            .optional()?)
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

    pub(super) fn filled(&self, mut list: Vec<Message>) -> Result<Vec<Message>, StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::{add, store};

    #[test]
    fn the_same_message_is_stored_once() {
        let (_d, mut s) = store();
        assert!(add(&mut s, "m1", "hello", 1).is_some());
        assert!(add(&mut s, "m1", "hello", 1).is_none());
        assert_eq!(s.history("bob@lab", None, 20).unwrap().0.len(), 1);
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
}
