//! Messages: storing each once, their states, paging a conversation, search, deleting.

use super::{Store, StoreError, media_state_str, message, state_str};
use rusqlite::{OptionalExtension, params};
use ucdesk_sdk::contract::sms::{Direction, Found, MediaFile, Message, MessageState};

const COLUMNS: &str = "number, id, direction, body, url, state, error, at_ms, by_jid, by_name, read, \
                       file_name, file_mime, file_size, file_path, file_state, file_error";

impl Store {
    /// Stores a message unless (number, id) is there already; whether it is new.
    pub fn insert(&self, m: &Message) -> Result<bool, StoreError> {
        let (by_jid, by_name) = match &m.by {
            Some(s) => (Some(s.jid.as_str()), Some(s.name.as_str())),
            None => (None, None),
        };
        let f = m.file.as_ref();
        let n = self.db.execute(
            &format!(
                "INSERT OR IGNORE INTO messages ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
            ),
            params![
                m.number,
                m.id,
                if m.direction == Direction::In { "in" } else { "out" },
                m.body,
                m.url,
                state_str(m.state),
                m.error,
                m.at_ms,
                by_jid,
                by_name,
                m.read as i64,
                f.map(|f| f.name.as_str()),
                f.map(|f| f.mime.as_str()),
                f.and_then(|f| f.size).map(|s| s as i64),
                f.and_then(|f| f.path.as_deref()),
                f.map(|f| media_state_str(f.state)),
                f.and_then(|f| f.error.as_deref()),
            ],
        )?;
        Ok(n == 1)
    }

    pub fn get(&self, number: &str, id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self
            .db
            .query_row(
                &format!("SELECT {COLUMNS} FROM messages WHERE number = ?1 AND id = ?2"),
                [number, id],
                message,
            )
            .optional()?)
    }

    /// A sent message's new state; the message when it changed. A failure never
    /// overrides a receipt, and a late receipt does not hide a failure's reason.
    pub fn set_state(
        &self,
        number: &str,
        id: &str,
        state: MessageState,
        error: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        let n = self.db.execute(
            "UPDATE messages SET state = ?3, error = ?4
             WHERE number = ?1 AND id = ?2 AND direction = 'out' AND state = 'sending'",
            params![number, id, state_str(state), error],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.get(number, id)
    }

    /// An MMS part's file changed (uploaded, fetched, failed); the message after.
    pub fn set_file(
        &self,
        number: &str,
        id: &str,
        file: &MediaFile,
        url: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        self.db.execute(
            "UPDATE messages SET file_size = ?3, file_path = ?4, file_state = ?5, file_error = ?6,
                    url = COALESCE(?7, url), body = COALESCE(?7, body)
             WHERE number = ?1 AND id = ?2 AND file_name IS NOT NULL AND deleted = 0",
            params![
                number,
                id,
                file.size.map(|s| s as i64),
                file.path,
                media_state_str(file.state),
                file.error,
                url
            ],
        )?;
        self.get(number, id)
    }

    /// A message by id alone (ids are unique enough across conversations).
    pub fn find(&self, id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self
            .db
            .query_row(
                &format!("SELECT {COLUMNS} FROM messages WHERE id = ?1 AND deleted = 0"),
                [id],
                message,
            )
            .optional()?)
    }

    /// Up to `limit` messages of a conversation before `before` (a message id), oldest
    /// first.
    pub fn history(
        &self,
        number: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        // The cursor is (time, row): archive stamps are whole seconds, so a burst
        // shares one time and paging by time alone would skip part of it.
        let (before_ms, before_row) = match before {
            Some(id) => self
                .db
                .query_row(
                    "SELECT at_ms, rowid FROM messages WHERE number = ?1 AND id = ?2",
                    [number, id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::NoMessage(id.to_string()))?,
            None => (i64::MAX, i64::MAX),
        };
        let mut q = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM messages m
             WHERE number = ?1 AND deleted = 0 AND (at_ms < ?2 OR (at_ms = ?2 AND rowid < ?3))
               AND at_ms > COALESCE((SELECT cleared_ms FROM conversations c WHERE c.number = m.number), 0)
             ORDER BY at_ms DESC, rowid DESC LIMIT ?4"
        ))?;
        let mut rows: Vec<Message> =
            q.query_map(params![number, before_ms, before_row, limit], message)?.collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Conversations whose number or name holds the text, and messages whose text does
    /// (newest first, at most 200).
    pub fn search(&self, query: &str) -> Result<Found, StoreError> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Found::default());
        }
        // LIKE with our own escape character, so % and _ in the query are literal.
        let escaped = q.replace('!', "!!").replace('%', "!%").replace('_', "!_");
        let pattern = format!("%{escaped}%");
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let conversations = self
            .conversations()?
            .into_iter()
            .filter(|c| {
                c.display.to_lowercase().contains(&q.to_lowercase())
                    || (!digits.is_empty() && c.number.contains(&digits))
            })
            .collect();
        let mut stmt = self.db.prepare(&format!(
            "SELECT {COLUMNS} FROM messages m
             WHERE deleted = 0 AND body LIKE ?1 ESCAPE '!' AND url IS NULL
               AND at_ms > COALESCE((SELECT cleared_ms FROM conversations c WHERE c.number = m.number), 0)
             ORDER BY at_ms DESC LIMIT 200"
        ))?;
        let messages = stmt.query_map([pattern], message)?.collect::<Result<_, _>>()?;
        Ok(Found { conversations, messages, contacts: Vec::new() })
    }

    /// Deletes this desktop's copy of a message; its conversation, when it was there.
    pub fn delete(&self, id: &str) -> Result<Option<String>, StoreError> {
        let number: Option<String> = self
            .db
            .query_row("SELECT number FROM messages WHERE id = ?1 AND deleted = 0", [id], |r| r.get(0))
            .optional()?;
        if let Some(n) = &number {
            self.db.execute(
                "UPDATE messages SET deleted = 1, body = '', url = NULL WHERE number = ?1 AND id = ?2",
                [n, id],
            )?;
            self.db.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        }
        Ok(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ucdesk_sdk::contract::sms::Sharer;

    fn msg(number: &str, id: &str, direction: Direction, body: &str, at_ms: i64) -> Message {
        Message {
            id: id.into(),
            number: number.into(),
            direction,
            body: body.into(),
            url: None,
            file: None,
            state: if direction == Direction::In { MessageState::Received } else { MessageState::Sending },
            error: None,
            at_ms,
            by: None,
            read: direction == Direction::Out,
        }
    }

    #[test]
    fn a_message_is_stored_once_and_its_state_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("sms.sqlite3")).unwrap();
        let out = msg("+15550200", "a", Direction::Out, "hello", 10);
        assert!(s.insert(&out).unwrap());
        assert!(!s.insert(&out).unwrap());
        assert!(s.set_state("+15550200", "a", MessageState::Sent, None).unwrap().is_some());
        assert!(s.set_state("+15550200", "a", MessageState::Failed, Some("late")).unwrap().is_none());
        assert_eq!(s.get("+15550200", "a").unwrap().unwrap().state, MessageState::Sent);
    }

    #[test]
    fn conversations_unread_search_and_deleting() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("sms.sqlite3")).unwrap();
        s.set_display("+15550200", "(555) 010-0200").unwrap();
        s.insert(&msg("+15550200", "1", Direction::In, "100% sure_thing", 10)).unwrap();
        s.insert(&msg("+15550300", "2", Direction::In, "later", 20)).unwrap();
        let mut by_sharer = msg("+15550200", "3", Direction::Out, "from Bob", 30);
        by_sharer.by = Some(Sharer { jid: "bob@localhost".into(), name: "Bob".into() });
        s.insert(&by_sharer).unwrap();
        let list = s.conversations().unwrap();
        assert_eq!(list.iter().map(|c| c.number.as_str()).collect::<Vec<_>>(), ["+15550200", "+15550300"]);
        assert_eq!(
            (list[0].display.as_str(), list[0].unread, list[0].last_body.as_str()),
            ("(555) 010-0200", 1, "from Bob")
        );
        assert_eq!(s.unread().unwrap(), 2);
        assert_eq!(s.history("+15550200", None, 10).unwrap()[1].by.as_ref().unwrap().name, "Bob");
        // % and _ are literal.
        assert_eq!(s.search("0% s").unwrap().messages.len(), 1);
        assert_eq!(s.search("1_0").unwrap().messages.len(), 0);
        assert_eq!(s.search("010-0200").unwrap().conversations.len(), 1);
        assert_eq!(s.mark_read(Some("+15550300")).unwrap(), 1);
        assert_eq!(s.unread().unwrap(), 1);
        assert_eq!(s.delete("1").unwrap().as_deref(), Some("+15550200"));
        assert!(!s.insert(&msg("+15550200", "1", Direction::In, "back from the archive", 10)).unwrap());
        assert!(s.delete_conversation("+15550200").unwrap());
        assert_eq!(s.conversations().unwrap().len(), 1);
        assert!(s.history("+15550200", None, 10).unwrap().is_empty());
    }
}
