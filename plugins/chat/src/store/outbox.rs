//! The outbox: what the user sent that the server has not acknowledged yet. It
//! outlives restarts, so nothing typed is lost to a crash or a dropped link.

use super::schema::{MESSAGE_COLUMNS, message_row};
use super::{Store, StoreError, now_ms};
use rusqlite::params;
use ucdesk_sdk::contract::chat::Message;

impl Store {
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
        let rows: Vec<Message> = q.query_map([], message_row)?.collect::<Result<_, _>>()?;
        self.with_files(rows)
    }

    /// 1:1 messages to `conversation` the server took but none of the contact's devices
    /// confirmed (no XEP-0184 receipt), sent between `since_ms` and `until_ms`: the last
    /// `limit` of them, oldest first. Empty when the contact never sent us a receipt at
    /// all: their client may not send them, and sending again would show them twice.
    pub fn unconfirmed(
        &self,
        conversation: &str,
        since_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let mut q = self.db.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m
             WHERE conversation = ?1 AND direction = 1 AND state = 1 AND deleted = 0
               AND ts >= ?2 AND ts <= ?4
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = m.id)
               AND EXISTS (SELECT 1 FROM messages d WHERE d.conversation = ?1 AND d.direction = 1 AND d.state >= 2)
             ORDER BY rowid DESC LIMIT ?3"
        ))?;
        let mut rows: Vec<Message> = q
            .query_map(params![conversation, since_ms, limit, until_ms], message_row)?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        self.with_files(rows)
    }

    /// A message goes out again with its files (their URLs are in the store).
    fn with_files(&self, mut rows: Vec<Message>) -> Result<Vec<Message>, StoreError> {
        for m in &mut rows {
            m.files = self.files_of(&m.conversation, &m.id)?;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::store;
    use super::super::{Incoming, Store};
    use ucdesk_sdk::contract::chat::{Direction, MessageState};

    fn sent(s: &mut Store, id: &str, ts: i64, state: MessageState) {
        s.insert(&Incoming {
            conversation: "bob@lab",
            id,
            from: "me@lab",
            body: "hi",
            ts_ms: ts,
            direction: Direction::Outbound,
            state,
            archive_id: None,
            reply_to: None,
            forwarded_from: None,
            mentions_me: false,
        })
        .unwrap();
    }

    fn ids(s: &Store, since: i64, until: i64) -> Vec<String> {
        s.unconfirmed("bob@lab", since, until, 10).unwrap().into_iter().map(|m| m.id).collect()
    }

    #[test]
    fn unconfirmed_messages_are_the_acked_ones_to_a_contact_that_sends_receipts() {
        let (_d, mut s) = store();
        sent(&mut s, "a", 1_000, MessageState::Sent);
        // Bob's devices never sent a receipt: nothing goes again (it would show twice).
        assert!(ids(&s, 0, 100_000).is_empty());
        sent(&mut s, "b", 2_000, MessageState::Delivered);
        sent(&mut s, "c", 3_000, MessageState::Sent);
        sent(&mut s, "d", 4_000, MessageState::Pending);
        s.outbox_add("d", "bob@lab").unwrap();
        sent(&mut s, "e", 9_000, MessageState::Sent);
        // Acked and unconfirmed, oldest first; not the delivered one, not what the
        // outbox still holds, not what is outside the window.
        assert_eq!(ids(&s, 0, 5_000), ["a", "c"]);
        assert_eq!(ids(&s, 2_000, 10_000), ["c", "e"]);
    }
}
