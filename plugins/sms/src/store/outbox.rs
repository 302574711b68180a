//! The outbox: what the user sent that the gateway has not answered yet. A message
//! stays here through lost connections and a gateway that is down, and goes again with
//! the same id (the gateway hands each (sender, id) to the carrier once).

use super::{Store, StoreError};
use rusqlite::params;

/// One message waiting for the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: String,
    pub number: String,
    pub body: String,
    /// An MMS part: the prepared file and its type, until it is uploaded.
    pub path: Option<String>,
    pub mime: Option<String>,
    pub url: Option<String>,
}

impl Store {
    pub fn queue(&self, q: &Queued) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (id, number, body, path, mime, url, queued_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![q.id, q.number, q.body, q.path, q.mime, q.url, now],
        )?;
        Ok(())
    }

    /// Whether it was waiting.
    pub fn unqueue(&self, number: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM outbox WHERE number = ?1 AND id = ?2", [number, id])? == 1)
    }

    /// Everything waiting, oldest first (the order the user sent it in).
    pub fn outbox(&self) -> Result<Vec<Queued>, StoreError> {
        let mut q = self
            .db
            .prepare("SELECT id, number, body, path, mime, url FROM outbox ORDER BY queued_ms, rowid")?;
        let rows = q.query_map([], |r| {
            Ok(Queued {
                id: r.get(0)?,
                number: r.get(1)?,
                body: r.get(2)?,
                path: r.get(3)?,
                mime: r.get(4)?,
                url: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An MMS part's file has its address: the message goes with it as its body.
    pub fn set_uploaded(&self, id: &str, url: &str) -> Result<(), StoreError> {
        self.db.execute("UPDATE outbox SET url = ?2, body = ?2 WHERE id = ?1", [id, url])?;
        Ok(())
    }
}
