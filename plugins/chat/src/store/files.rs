//! A message's files: name, size, type, where they are (server address, local path)
//! and how far their transfer got, so an interrupted upload or download can resume.

use super::{Store, StoreError};
use rusqlite::params;
use ucdesk_sdk::contract::chat::{Attachment, TransferState};

fn transfer_state(s: &str) -> TransferState {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(TransferState::Failed)
}

fn transfer_name(s: TransferState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Store {
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
}
