//! The directory's store: one SQLite file (WAL) with every source's records as last
//! synced (so search answers offline and after a restart), the user's marks
//! (favourite, hidden) by record, each source's sync state, and the merged directory
//! with its search index (`directory.rs`). A sync replaces one source's records in one
//! transaction, so a failed sync leaves the previous copy whole.

mod directory;

pub use directory::Query;

use crate::merge::{self, Record};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use ucdesk_sdk::contract::contacts::{Contact, Source};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the contacts store {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the contacts store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the contacts store holds a damaged record: {0}")]
    Damaged(#[from] serde_json::Error),
    #[error("no contact {0}")]
    NoEntry(String),
}

pub struct Store {
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (source, id)
);
-- The user's marks, by record (`source/id`): they outlive re-merging.
CREATE TABLE IF NOT EXISTS marks (
  member TEXT PRIMARY KEY,
  favorite INTEGER NOT NULL DEFAULT 0,
  hidden INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sources (
  source TEXT PRIMARY KEY,
  synced_ms INTEGER,
  error TEXT
);
-- The merged directory, rebuilt from records and marks when they change.
CREATE TABLE IF NOT EXISTS directory (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  sort TEXT NOT NULL,
  department TEXT,
  -- `|ldap|chat|`: the entry's sources, for the source filter.
  sources TEXT NOT NULL,
  favorite INTEGER NOT NULL,
  hidden INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS directory_by_name ON directory (sort);
CREATE TABLE IF NOT EXISTS directory_members (member TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS directory_numbers (key TEXT NOT NULL, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS directory_numbers_by_key ON directory_numbers (key);
-- Substring search (names, companies, departments, e-mails, number digits) through
-- trigrams: any three characters of a field find it, without a scan.
CREATE VIRTUAL TABLE IF NOT EXISTS directory_fts USING fts5(text, content='', tokenize='trigram');
-- Word prefixes ('sv' finds Sven, 'olga pet' finds Olga Petrov): the words of the same
-- text, case and accents folded, with prefix indexes for one and two letters.
CREATE VIRTUAL TABLE IF NOT EXISTS directory_words USING fts5(text, content='', prefix='1 2');
-- Where each personal contact lives in the personal CardDAV book; `deleted`: removed
-- here, not yet on the server (the DELETE is retried at the next sync).
CREATE TABLE IF NOT EXISTS personal_dav (
  id TEXT PRIMARY KEY,
  href TEXT NOT NULL,
  etag TEXT,
  deleted INTEGER NOT NULL DEFAULT 0
);
-- Personal contacts changed here and not yet written to the book: a sync keeps these
-- over the server's copy and writes them again.
CREATE TABLE IF NOT EXISTS personal_dirty (id TEXT PRIMARY KEY);
-- The card as the server last gave it, so an edit here keeps what ucdesk does not
-- show (photo, address, notes).
CREATE TABLE IF NOT EXISTS personal_cards (id TEXT PRIMARY KEY, card TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let db = Connection::open(path)?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(SCHEMA)?;
            Ok(db)
        };
        let db = open().map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        Ok(Store { db })
    }

    /// Replaces `source`'s records with `contacts` and records the sync.
    pub fn replace_source(
        &mut self,
        source: &str,
        contacts: &[Contact],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM records WHERE source = ?1", [source])?;
        {
            let mut insert =
                tx.prepare("INSERT OR REPLACE INTO records (source, id, body) VALUES (?1, ?2, ?3)")?;
            for c in contacts {
                let c = Contact { source: source.to_string(), ..c.clone() };
                insert.execute(params![source, c.id, serde_json::to_string(&c)?])?;
            }
        }
        tx.execute(
            "INSERT INTO sources (source, synced_ms, error) VALUES (?1, ?2, NULL)
             ON CONFLICT (source) DO UPDATE SET synced_ms = ?2, error = NULL",
            params![source, at_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Adds or changes one record (a personal contact).
    pub fn put_record(&mut self, c: &Contact) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR REPLACE INTO records (source, id, body) VALUES (?1, ?2, ?3)",
            params![c.source, c.id, serde_json::to_string(c)?],
        )?;
        Ok(())
    }

    pub fn record(&self, source: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        let body: Option<String> = self
            .db
            .query_row("SELECT body FROM records WHERE source = ?1 AND id = ?2", [source, id], |r| r.get(0))
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    pub fn remove_record(&mut self, source: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.db.execute("DELETE FROM records WHERE source = ?1 AND id = ?2", [source, id])? > 0)
    }

    /// Every record of `source`, by name.
    pub fn records_of(&self, source: &str) -> Result<Vec<Contact>, StoreError> {
        let mut q = self.db.prepare("SELECT body FROM records WHERE source = ?1")?;
        let rows = q.query_map([source], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str::<Contact>(&body?)?);
        }
        out.sort_by_key(|c| merge::sort_key(&c.name));
        Ok(out)
    }

    /// A sync of `source` failed: its copy stays, the reason is kept for the UI.
    pub fn sync_failed(&mut self, source: &str, error: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO sources (source, error) VALUES (?1, ?2) ON CONFLICT (source) DO UPDATE SET error = ?2",
            [source, error],
        )?;
        Ok(())
    }

    /// Forgets a source that is no longer configured (its records and state).
    pub fn drop_source(&mut self, source: &str) -> Result<bool, StoreError> {
        let tx = self.db.transaction()?;
        let n = tx.execute("DELETE FROM records WHERE source = ?1", [source])?;
        let m = tx.execute("DELETE FROM sources WHERE source = ?1", [source])?;
        tx.commit()?;
        Ok(n + m > 0)
    }

    pub fn sources(&self) -> Result<Vec<Source>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT s.source, s.synced_ms, s.error, (SELECT COUNT(*) FROM records r WHERE r.source = s.source)
             FROM sources s ORDER BY s.source",
        )?;
        let rows = q.query_map([], |r| {
            Ok(Source {
                source: r.get(0)?,
                synced_ms: r.get(1)?,
                error: r.get(2)?,
                contacts: r.get::<_, i64>(3)? as usize,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets a mark on records (`favorite` or `hidden`).
    pub fn mark(
        &mut self,
        members: &[String],
        favorite: Option<bool>,
        hidden: Option<bool>,
    ) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        for m in members {
            tx.execute("INSERT OR IGNORE INTO marks (member) VALUES (?1)", [m])?;
            if let Some(f) = favorite {
                tx.execute("UPDATE marks SET favorite = ?2 WHERE member = ?1", params![m, f])?;
            }
            if let Some(h) = hidden {
                tx.execute("UPDATE marks SET hidden = ?2 WHERE member = ?1", params![m, h])?;
            }
        }
        tx.execute("DELETE FROM marks WHERE favorite = 0 AND hidden = 0", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Every record with its marks, for merging.
    fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT r.body, COALESCE(m.favorite, 0), COALESCE(m.hidden, 0)
             FROM records r LEFT JOIN marks m ON m.member = r.source || '/' || r.id",
        )?;
        let rows =
            q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, favorite, hidden) = row?;
            out.push(Record { contact: serde_json::from_str(&body)?, favorite, hidden });
        }
        Ok(out)
    }

    /// A personal contact's place in the personal CardDAV address book: href, ETag.
    pub fn dav_place(&self, id: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self
            .db
            .query_row("SELECT href, etag FROM personal_dav WHERE id = ?1 AND deleted = 0", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    pub fn set_dav_place(&mut self, id: &str, href: &str, etag: Option<&str>) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR REPLACE INTO personal_dav (id, href, etag, deleted) VALUES (?1, ?2, ?3, 0)",
            params![id, href, etag],
        )?;
        Ok(())
    }

    /// The contact was removed here: its card is to be deleted on the server.
    pub fn dav_tombstone(&mut self, id: &str) -> Result<(), StoreError> {
        self.db.execute("UPDATE personal_dav SET deleted = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The card is gone from the server too.
    pub fn dav_forget(&mut self, id: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM personal_dav WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Cards removed here and still on the server: (id, href, etag).
    pub fn dav_tombstones(&self) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let mut q = self.db.prepare("SELECT id, href, etag FROM personal_dav WHERE deleted = 1")?;
        let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Personal contacts never written to the personal book (made offline, or before
    /// it was set up).
    pub fn dav_unplaced(&self) -> Result<Vec<Contact>, StoreError> {
        let mut q = self.db.prepare(
            "SELECT body FROM records r WHERE r.source = 'personal'
             AND NOT EXISTS (SELECT 1 FROM personal_dav d WHERE d.id = r.id)",
        )?;
        let rows = q.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// A personal contact changed here (Some) or was written to the book (None).
    pub fn set_dirty(&mut self, id: &str, dirty: bool) -> Result<(), StoreError> {
        if dirty {
            self.db.execute("INSERT OR IGNORE INTO personal_dirty (id) VALUES (?1)", [id])?;
        } else {
            self.db.execute("DELETE FROM personal_dirty WHERE id = ?1", [id])?;
        }
        Ok(())
    }

    pub fn dirty(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut q = self.db.prepare("SELECT id FROM personal_dirty")?;
        let rows = q.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The server's card for a personal contact, as last read.
    pub fn card(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row("SELECT card FROM personal_cards WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }

    pub fn set_card(&mut self, id: &str, card: &str) -> Result<(), StoreError> {
        self.db.execute("INSERT OR REPLACE INTO personal_cards (id, card) VALUES (?1, ?2)", [id, card])?;
        Ok(())
    }

    /// Forgets where personal contacts live in a book (the book changed): each is
    /// written to the new one.
    pub fn forget_dav_places(&mut self) -> Result<(), StoreError> {
        self.db.execute_batch("DELETE FROM personal_dav; DELETE FROM personal_cards;")?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [key, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
