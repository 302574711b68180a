//! Conversations: the list the user sees (sorted, pinned, closed, muted), read
//! positions and unread counts, and the pinned message.

use super::{Flag, Store, StoreError, rfc3339};
use rusqlite::{OptionalExtension, params};
use ucdesk_sdk::contract::chat::Conversation;

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::testing::store;
    use rusqlite::params;

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
