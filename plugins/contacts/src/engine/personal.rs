//! The personal phone book: contacts the user keeps, private to them. They live in the
//! store first (so adding works offline and is never lost) and, when the account has a
//! personal CardDAV address book, are written there card by card after each change;
//! what could not be written (offline, a conflict) is written at the next sync, and a
//! removal the server has not heard of yet is kept as a tombstone until it has.

use super::{Core, EngineError, Msg, sync::Outcome};
use crate::carddav::Card;
use crate::csv_book;
use std::collections::HashSet;
use std::path::Path;
use ucdesk_sdk::contract::contacts::{Contact, Entry, ImportReport, PersonalContact, SOURCE_PERSONAL};

/// The longest name the personal book takes.
const MAX_NAME: usize = 255;

impl Core {
    pub(super) fn add(&mut self, c: PersonalContact) -> Result<Entry, EngineError> {
        let record = record(new_id(), c)?;
        self.store.put_record(&record)?;
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        self.push(&record);
        Ok(self.store.entry(&crate::merge::member(SOURCE_PERSONAL, &record.id))?)
    }

    pub(super) fn update(&mut self, c: PersonalContact) -> Result<Entry, EngineError> {
        let id =
            c.id.clone()
                .ok_or_else(|| EngineError::BadArgument("which contact: the id is missing".into()))?;
        let id = self.personal_id(&id)?;
        let record = record(id, c)?;
        self.store.put_record(&record)?;
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        self.push(&record);
        Ok(self.store.entry(&crate::merge::member(SOURCE_PERSONAL, &record.id))?)
    }

    pub(super) fn remove(&mut self, id: &str) -> Result<(), EngineError> {
        let id = self.personal_id(id)?;
        self.store.remove_record(SOURCE_PERSONAL, &id)?;
        if let (Some(book), Some((href, etag))) = (self.config.personal.clone(), self.store.dav_place(&id)?) {
            self.store.dav_tombstone(&id)?;
            let tx = self.tx.clone();
            tokio::task::spawn_blocking(move || {
                let result = book.delete(&href, etag.as_deref()).map(|()| None).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Synced(Outcome::Pushed { id, result }));
            });
        }
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        Ok(())
    }

    /// A personal contact's own id from it, or from the directory entry holding it.
    fn personal_id(&self, id: &str) -> Result<String, EngineError> {
        if self.store.record(SOURCE_PERSONAL, id)?.is_some() {
            return Ok(id.to_string());
        }
        let entry =
            self.store.entry(id).map_err(|_| EngineError::NotFound(format!("no personal contact {id}")))?;
        entry.personal.ok_or_else(|| {
            EngineError::Refused(format!(
                "{} is in the {} phone book, which is read-only",
                entry.name,
                entry.sources.join(", ")
            ))
        })
    }

    pub(super) fn import_csv(&mut self, path: &Path) -> Result<ImportReport, EngineError> {
        let (rows, rejected) = csv_book::import(path)?;
        let mut imported = Vec::new();
        for c in rows {
            let r = record(new_id(), c)?;
            self.store.put_record(&r)?;
            imported.push(r);
        }
        if !imported.is_empty() {
            self.changed(vec![SOURCE_PERSONAL.into()], true);
        }
        for r in &imported {
            self.push(r);
        }
        Ok(ImportReport { imported: imported.len(), rejected })
    }

    pub(super) fn export_csv(&mut self, path: &Path) -> Result<usize, EngineError> {
        let contacts: Vec<PersonalContact> =
            self.store.records_of(SOURCE_PERSONAL)?.into_iter().map(personal).collect();
        csv_book::export(path, &contacts)?;
        Ok(contacts.len())
    }

    /// Writes one personal contact to the personal book, off the core.
    fn push(&self, record: &Contact) {
        let Some(book) = self.config.personal.clone() else { return };
        let place = self.store.dav_place(&record.id).ok().flatten();
        let (id, card) = (record.id.clone(), crate::vcard::emit(&personal(record.clone()), &record.id));
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let href = place.as_ref().map_or_else(|| book.href_for(&id), |(h, _)| h.clone());
            let etag = place.and_then(|(_, e)| e);
            let result = book
                .put(&href, etag.as_deref(), card)
                .map(|etag| Some((href, etag)))
                .map_err(|e| e.to_string());
            let _ = tx.send(Msg::Synced(Outcome::Pushed { id, result }));
        });
    }

    pub(super) fn pushed(&mut self, id: &str, result: Result<Option<(String, Option<String>)>, String>) {
        let stored = match result {
            Ok(Some((href, etag))) => self.store.set_dav_place(id, &href, etag.as_deref()),
            Ok(None) => self.store.dav_forget(id),
            Err(e) => {
                self.ctx
                    .warn(format!("contacts: the personal address book: {e} (tried again at the next sync)"));
                return;
            }
        };
        if let Err(e) = stored {
            self.ctx.error(format!("contacts: {e}"));
        }
    }

    /// The personal book as the server has it, with what this desktop still owes it.
    pub(super) fn personal_synced(&mut self, cards: Vec<Card>, now: i64) {
        let tombstones = self.store.dav_tombstones().unwrap_or_default();
        let gone: HashSet<&str> = tombstones.iter().map(|(id, ..)| id.as_str()).collect();
        let on_server: HashSet<String> = cards.iter().map(|c| c.contact.id.clone()).collect();
        let unplaced = self.store.dav_unplaced().unwrap_or_default();
        let mut contacts: Vec<Contact> = Vec::new();
        for card in &cards {
            if gone.contains(card.contact.id.as_str()) {
                continue;
            }
            let _ = self.store.set_dav_place(&card.contact.id, &card.href, card.etag.as_deref());
            contacts.push(card.contact.clone());
        }
        contacts.extend(unplaced.iter().filter(|c| !on_server.contains(&c.id)).cloned());
        if let Err(e) = self.store.replace_source(SOURCE_PERSONAL, &contacts, now) {
            self.ctx.error(format!("contacts: keeping the personal book: {e}"));
            return;
        }
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        for c in unplaced.iter().filter(|c| !on_server.contains(&c.id)) {
            self.push(c);
        }
        let Some(book) = self.config.personal.clone() else { return };
        for (id, href, etag) in tombstones {
            if !on_server.contains(&id) {
                let _ = self.store.dav_forget(&id);
                continue;
            }
            let (book, tx) = (book.clone(), self.tx.clone());
            tokio::task::spawn_blocking(move || {
                let result = book.delete(&href, etag.as_deref()).map(|()| None).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Synced(Outcome::Pushed { id, result }));
            });
        }
    }
}

/// A personal contact checked and made a record.
fn record(id: String, c: PersonalContact) -> Result<Contact, EngineError> {
    let name = c.name.trim().to_string();
    if name.is_empty() {
        return Err(EngineError::BadArgument("a contact needs a name".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(EngineError::BadArgument(format!("a name has at most {MAX_NAME} characters")));
    }
    if let Some(n) = c.numbers.iter().find(|n| !n.number.chars().any(|ch| ch.is_ascii_digit())) {
        return Err(EngineError::BadArgument(format!("\"{}\" is not a phone number", n.number)));
    }
    let trim = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(Contact {
        id,
        source: SOURCE_PERSONAL.into(),
        name,
        company: trim(c.company),
        department: trim(c.department),
        title: trim(c.title),
        numbers: c.numbers,
        emails: c.emails.into_iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect(),
        ..Default::default()
    })
}

fn personal(c: Contact) -> PersonalContact {
    PersonalContact {
        id: Some(c.id),
        name: c.name,
        company: c.company,
        department: c.department,
        title: c.title,
        numbers: c.numbers,
        emails: c.emails,
    }
}

/// A new contact's id, also its vCard UID: unique across desktops and restarts.
fn new_id() -> String {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("ucdesk-{nanos:x}-{:x}-{seq:x}", std::process::id())
}
