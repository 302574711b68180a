//! The personal phone book: contacts the user keeps, private to them. They live in the
//! store first (so adding works offline and is never lost) and, when the account has a
//! personal CardDAV address book, are written there card by card after each change;
//! a contact changed here is marked owed until the book confirms it, so a sync keeps it
//! over the server's copy and writes it again (over the server's card, keeping what
//! ucdesk does not show); a removal the server has not heard of yet is kept as a
//! tombstone until it has.

use super::{Core, EngineError, Msg, sync::Outcome};
use crate::carddav::Card;
use crate::csv_book::{self, MAX_NAME};
use std::collections::HashSet;
use std::path::Path;
use ucdesk_sdk::contract::contacts::{Contact, Entry, ImportReport, PersonalContact, SOURCE_PERSONAL};

/// Where a card now is (href, ETag), or why it could not be written.
pub(super) type WriteResult = Result<Option<(String, Option<String>)>, String>;

impl Core {
    pub(super) fn add(&mut self, c: PersonalContact) -> Result<Entry, EngineError> {
        let record = record(new_id(), c)?;
        self.keep(&record)?;
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        self.push(&record);
        Ok(self.store.entry(&crate::merge::member(SOURCE_PERSONAL, &record.id))?)
    }

    /// Stores a personal contact changed here, marked as owed to the book.
    fn keep(&mut self, record: &Contact) -> Result<(), EngineError> {
        self.store.put_record(record)?;
        if self.config.personal.is_some() {
            self.store.set_dirty(&record.id, true)?;
        }
        Ok(())
    }

    pub(super) fn update(&mut self, c: PersonalContact) -> Result<Entry, EngineError> {
        let id =
            c.id.clone()
                .ok_or_else(|| EngineError::BadArgument("which contact: the id is missing".into()))?;
        let id = self.personal_id(&id)?;
        let record = record(id, c)?;
        self.keep(&record)?;
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        self.push(&record);
        Ok(self.store.entry(&crate::merge::member(SOURCE_PERSONAL, &record.id))?)
    }

    pub(super) fn remove(&mut self, id: &str) -> Result<(), EngineError> {
        let id = self.personal_id(id)?;
        self.store.remove_record(SOURCE_PERSONAL, &id)?;
        self.store.set_dirty(&id, false)?;
        if self.config.personal.is_some()
            && let Some((href, etag)) = self.store.dav_place(&id)?
        {
            self.store.dav_tombstone(&id)?;
            self.delete_card(id.clone(), href, etag);
        }
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        Ok(())
    }

    /// Asks the book to delete a card (the answer comes back as an outcome).
    fn delete_card(&self, id: String, href: String, etag: Option<String>) {
        let Some(book) = self.config.personal.clone() else { return };
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = book.delete(&href, etag.as_deref()).map(|()| None).map_err(|e| e.to_string());
            let _ = tx.send(Msg::Synced(Outcome::Pushed { id, result }));
        });
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
            if self.config.personal.is_some() {
                self.store.set_dirty(&r.id, true)?;
            }
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
    /// One write per card at a time: a second change while one is on its way waits
    /// for its place and ETag (two writes of one new card would refuse each other).
    fn push(&mut self, record: &Contact) {
        let Some(book) = self.config.personal.clone() else { return };
        if !self.writing.insert(record.id.clone()) {
            self.rewrite.insert(record.id.clone());
            return;
        }
        let place = self.store.dav_place(&record.id).ok().flatten();
        let contact = personal(record.clone());
        // Over the server's own card, so what ucdesk does not show stays.
        let card = match self.store.card(&record.id).ok().flatten() {
            Some(raw) => crate::vcard::update(&raw, &contact, &record.id),
            None => crate::vcard::emit(&contact, &record.id),
        };
        let (id, sent, tx) = (record.id.clone(), Box::new(record.clone()), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let new = place.is_none();
            let href = place.as_ref().map_or_else(|| book.href_for(&id), |(h, _)| h.clone());
            let etag = place.and_then(|(_, e)| e);
            let result = book
                .put(&href, etag.as_deref(), new, card.clone())
                .map(|etag| Some((href, etag)))
                .map_err(|e| e.to_string());
            let _ = tx.send(Msg::Synced(Outcome::Written { id, sent, card, result }));
        });
    }

    /// A card was written: where it is now, and nothing owed unless the contact
    /// changed again meanwhile; or, when the contact was removed here while it was on
    /// its way, the card deleted again. A card that could not be written stays owed.
    pub(super) fn written(&mut self, id: &str, sent: &Contact, card: &str, result: WriteResult) {
        self.writing.remove(id);
        let again = self.rewrite.remove(id);
        let now = self.store.record(SOURCE_PERSONAL, id).ok().flatten();
        let (href, etag) = match result {
            Ok(Some(place)) => place,
            Ok(None) => return,
            Err(e) => {
                self.ctx
                    .warn(format!("contacts: the personal address book: {e} (tried again at the next sync)"));
                if now.is_some() {
                    let _ = self.store.set_dirty(id, true);
                }
                return;
            }
        };
        let stored =
            self.store.set_dav_place(id, &href, etag.as_deref()).and_then(|()| self.store.set_card(id, card));
        if let Err(e) = stored {
            self.ctx.error(format!("contacts: {e}"));
            return;
        }
        match now {
            Some(current) if current == *sent => {
                let _ = self.store.set_dirty(id, false);
            }
            // Changed again while this one was on its way: that change goes now.
            Some(current) => {
                if again {
                    self.push(&current);
                }
            }
            None => {
                let _ = self.store.dav_tombstone(id);
                self.delete_card(id.to_string(), href, etag);
            }
        }
    }

    /// A card deleted (or not) from the personal book.
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

    /// The personal book as the server has it, with what this desktop still owes it:
    /// contacts changed here (kept over the server's copy and written again, the
    /// server's other properties kept), contacts never written, removals not yet done.
    pub(super) fn personal_synced(&mut self, cards: Vec<Card>, now: i64) {
        let tombstones = self.store.dav_tombstones().unwrap_or_default();
        let gone: HashSet<&str> = tombstones.iter().map(|(id, ..)| id.as_str()).collect();
        let dirty = self.store.dirty().unwrap_or_default();
        let on_server: HashSet<String> = cards.iter().map(|c| c.contact.id.clone()).collect();
        let mut owed: Vec<Contact> = self.store.dav_unplaced().unwrap_or_default();
        let mut contacts: Vec<Contact> = Vec::new();
        for card in &cards {
            let id = card.contact.id.as_str();
            if gone.contains(id) {
                continue;
            }
            let _ = self.store.set_dav_place(id, &card.href, card.etag.as_deref());
            let _ = self.store.set_card(id, &card.raw);
            match dirty.contains(id).then(|| self.store.record(SOURCE_PERSONAL, id).ok().flatten()).flatten()
            {
                // Changed here since: ours wins, written over the server's current card.
                Some(local) => {
                    contacts.push(local.clone());
                    owed.push(local);
                }
                None => contacts.push(card.contact.clone()),
            }
        }
        // Changed here but gone from the server (removed elsewhere meanwhile): written
        // again as a new card.
        for id in dirty.iter().filter(|id| !on_server.contains(*id)) {
            if let Ok(Some(local)) = self.store.record(SOURCE_PERSONAL, id) {
                let _ = self.store.dav_forget(id);
                if !owed.iter().any(|c| c.id == local.id) {
                    owed.push(local.clone());
                }
                contacts.push(local);
            }
        }
        contacts.extend(
            owed.iter().filter(|c| !contacts.iter().any(|k| k.id == c.id)).cloned().collect::<Vec<_>>(),
        );
        if let Err(e) = self.store.replace_source(SOURCE_PERSONAL, &contacts, now) {
            self.ctx.error(format!("contacts: keeping the personal book: {e}"));
            return;
        }
        self.changed(vec![SOURCE_PERSONAL.into()], true);
        for c in &owed {
            self.push(c);
        }
        for (id, href, etag) in tombstones {
            match cards.iter().find(|c| c.contact.id == id) {
                // Deleted with the card's current ETag, so a change elsewhere since the
                // removal does not keep it alive forever.
                Some(card) => self.delete_card(id, card.href.clone(), card.etag.clone().or(etag)),
                None => {
                    let _ = self.store.dav_forget(&id);
                    let _ = href;
                }
            }
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
