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
        let rows = q.query_map([], message_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
