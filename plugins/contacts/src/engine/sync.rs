//! Syncing the sources: the phone books the directory reads itself (LDAP, the shared
//! CardDAV book, the personal CardDAV book) and the plugins' `<plugin>.contacts`, each
//! fetched by a task whose [`Outcome`] comes back to the core. A source that fails
//! keeps its last copy and shows why; the directory is merged again once per outcome.

use super::{Core, Msg};
use crate::carddav::Card;
use crate::ldap;
use std::time::Duration;
use ucdesk_sdk::contract::contacts::{Contact, SOURCE_CARDDAV, SOURCE_LDAP, SOURCE_PERSONAL};
use ucdesk_sdk::contract::kernel::{SERVICES, ServiceQuery};

/// Every day, with "Sync my contacts daily".
const DAILY: Duration = Duration::from_secs(24 * 3600);
/// How long a plugin may take to hand over its contacts.
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(30);
const LAST_SYNC: &str = "last_sync_ms";

/// What a sync task brings back.
pub enum Outcome {
    /// One of the directory's own phone books, fetched with the settings of
    /// `generation` (an outcome of settings since replaced is dropped).
    Book { source: &'static str, generation: u64, result: Result<Vec<Card>, String> },
    /// A plugin's contacts, by the sources they name (`crm:zoho`).
    Plugin { plugin: String, result: Result<Vec<Contact>, String> },
    /// A personal contact's card deleted from the personal book (`Ok(None)`).
    Pushed { id: String, result: Result<Option<(String, Option<String>)>, String> },
    /// A personal contact (`sent`) written as `card` to the personal book: where it is.
    Written { id: String, sent: Box<Contact>, card: String, result: super::personal::WriteResult },
}

impl Core {
    /// The directory's own sources that are set up.
    pub(super) fn configured(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.config.ldap.is_some() {
            out.push(SOURCE_LDAP);
        }
        if self.config.carddav.is_some() {
            out.push(SOURCE_CARDDAV);
        }
        out
    }

    /// Drops the copies of phone books no longer set up (a personal book's contacts
    /// stay: they are the user's).
    pub(super) fn forget_unconfigured(&mut self) {
        let mut dropped = Vec::new();
        for source in [SOURCE_LDAP, SOURCE_CARDDAV] {
            if !self.configured().contains(&source) && self.store.drop_source(source).unwrap_or(false) {
                dropped.push(source.to_string());
            }
        }
        if !dropped.is_empty() {
            self.changed(dropped, true);
        }
    }

    pub(super) fn start_sync(&mut self) {
        self.again = false;
        let now = chrono::Utc::now().timestamp_millis();
        let _ = self.store.set_meta(LAST_SYNC, &now.to_string());
        let generation = self.generation;
        if let Some(cfg) = self.config.ldap.clone() {
            self.syncing.insert(SOURCE_LDAP.into());
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let result = ldap::fetch(&cfg).await.map_err(|e| e.to_string());
                let cards = result.map(|cs| {
                    cs.into_iter()
                        .map(|contact| Card { href: String::new(), etag: None, contact, raw: String::new() })
                        .collect()
                });
                let _ =
                    tx.send(Msg::Synced(Outcome::Book { source: SOURCE_LDAP, generation, result: cards }));
            });
        }
        let books =
            [(SOURCE_CARDDAV, self.config.carddav.clone()), (SOURCE_PERSONAL, self.config.personal.clone())];
        for (source, book) in books {
            let Some(book) = book else { continue };
            self.syncing.insert(source.into());
            let tx = self.tx.clone();
            tokio::task::spawn_blocking(move || {
                let result = book.fetch(source).map(|(cards, _unreadable)| cards).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Synced(Outcome::Book { source, generation, result }));
            });
        }
        self.answer_waiting();
    }

    /// Asks the kernel which plugins serve contacts and fetches each.
    pub(super) fn start_plugin_sources(&mut self) {
        let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let query = ServiceQuery { suffix: Some(".contacts".into()) };
            let names: Vec<String> = ctx.call(SERVICES, &query).unwrap_or_default();
            for name in names {
                let Some(plugin) = name.strip_suffix(".contacts") else { continue };
                if plugin == "contacts" {
                    continue;
                }
                let result = ctx.call_timeout(&name, &(), PLUGIN_TIMEOUT).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Synced(Outcome::Plugin { plugin: plugin.to_string(), result }));
            }
        });
    }

    /// A plugin said its contacts changed (`contacts.updated` names its source).
    pub(super) fn start_plugin_source(&mut self, source: &str) {
        let plugin = source.split(':').next().unwrap_or(source).to_string();
        if plugin == "contacts" || plugin.is_empty() {
            return;
        }
        let (ctx, tx) = (self.ctx.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let result = ctx
                .call_timeout(&format!("{plugin}.contacts"), &(), PLUGIN_TIMEOUT)
                .map_err(|e| e.to_string());
            let _ = tx.send(Msg::Synced(Outcome::Plugin { plugin, result }));
        });
    }

    pub(super) fn synced(&mut self, outcome: Outcome) {
        let now = chrono::Utc::now().timestamp_millis();
        match outcome {
            Outcome::Book { source, generation, result } => {
                self.syncing.remove(source);
                // Fetched with settings since replaced (the server changed, the source
                // went): the sync of the new settings follows.
                match result {
                    _ if generation != self.generation => {}
                    Ok(cards) if source == SOURCE_PERSONAL => self.personal_synced(cards, now),
                    Ok(cards) => {
                        let contacts: Vec<Contact> = cards.into_iter().map(|c| c.contact).collect();
                        match self.store.replace_source(source, &contacts, now) {
                            Ok(()) => self.changed(vec![source.to_string()], true),
                            Err(e) => self.ctx.error(format!("contacts: keeping {source}: {e}")),
                        }
                    }
                    Err(e) => {
                        self.ctx.warn(format!("contacts: syncing {source}: {e}"));
                        let _ = self.store.sync_failed(source, &e);
                        self.publish_snapshot();
                    }
                }
                if self.syncing.is_empty() && self.again {
                    self.start_sync();
                }
                self.answer_waiting();
            }
            Outcome::Plugin { plugin, result } => match result {
                Ok(contacts) => self.plugin_synced(&plugin, contacts, now),
                Err(e) => self.ctx.debug(format!("contacts: {plugin}.contacts: {e}")),
            },
            Outcome::Pushed { id, result } => self.pushed(&id, result),
            Outcome::Written { id, sent, card, result } => self.written(&id, &sent, &card, result),
        }
    }

    /// Replaces each source the plugin names; a source it no longer names goes.
    fn plugin_synced(&mut self, plugin: &str, contacts: Vec<Contact>, now: i64) {
        let mut by_source: std::collections::BTreeMap<String, Vec<Contact>> = Default::default();
        for c in contacts {
            let source = if c.source.is_empty() { plugin.to_string() } else { c.source.clone() };
            // A plugin speaks for its own sources only (`crm`, `crm:zoho`).
            if source != plugin && !source.starts_with(&format!("{plugin}:")) {
                continue;
            }
            by_source.entry(source).or_default().push(c);
        }
        let mut touched: Vec<String> = Vec::new();
        for s in self.store.sources().unwrap_or_default() {
            let mine = s.source == plugin || s.source.starts_with(&format!("{plugin}:"));
            if mine
                && !by_source.contains_key(&s.source)
                && self.store.drop_source(&s.source).unwrap_or(false)
            {
                touched.push(s.source);
            }
        }
        for (source, list) in &by_source {
            match self.store.replace_source(source, list, now) {
                Ok(()) => touched.push(source.clone()),
                Err(e) => self.ctx.error(format!("contacts: keeping {source}: {e}")),
            }
        }
        if by_source.is_empty() && touched.is_empty() {
            // Nothing yet (a roster before login): remember the source exists.
            let _ = self.store.replace_source(plugin, &[], now);
        }
        self.changed(touched, true);
    }

    /// Answers `contacts.sync` callers once nothing is syncing.
    pub(super) fn answer_waiting(&mut self) {
        if !self.syncing.is_empty() || self.again {
            return;
        }
        for reply in std::mem::take(&mut self.waiting) {
            reply.send(self.sources().map_err(Into::into));
        }
    }

    pub(super) fn tick(&mut self) {
        if !self.config.prefs.daily_sync || !self.syncing.is_empty() {
            return;
        }
        let last: i64 = self.store.meta(LAST_SYNC).ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
        if chrono::Utc::now().timestamp_millis() - last >= DAILY.as_millis() as i64 {
            self.start_sync();
        }
    }
}
