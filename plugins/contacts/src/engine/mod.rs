//! The directory's engine: the core owns the store and answers searches from it (so
//! every answer works offline); syncs run as tasks beside it (LDAP on tokio, CardDAV
//! and the other plugins' `<plugin>.contacts` on blocking threads) and hand their
//! results back as messages, so a slow phone book never holds up a search. After each
//! change the directory is merged again, the panels get a new snapshot and
//! `contacts.changed` is published.

mod error;
mod personal;
mod sync;

pub use error::EngineError;

use crate::config::Config;
use crate::store::{Query, Store};
use crate::views::{self, Snapshot};
use std::collections::BTreeSet;
use std::path::PathBuf;
use ucdesk_sdk::Context;
use ucdesk_sdk::Panels;
use ucdesk_sdk::contract::contacts::{
    ContactAddress, DirectoryChanged, Entry, ImportReport, PersonalContact, Source, TOPIC_CHANGED,
};
use ucdesk_sdk::contract::phone;
use ucdesk_sdk::engine::{Mailbox, Reply};

pub type Engine = ucdesk_sdk::engine::Engine<Msg>;

/// How the directory is indexed (2: trigrams and word prefixes); a store indexed
/// otherwise is indexed again at start.
const INDEX_KEY: &str = "index_version";
const INDEX_VERSION: &str = "2";

/// Rows the panel shows for a search.
const PANEL_ROWS: usize = 200;

pub enum Msg {
    Search(Query, Reply<Vec<Entry>>),
    Get(String, Reply<Entry>),
    Lookup(String, Reply<Option<Entry>>),
    Mark {
        id: String,
        favorite: Option<bool>,
        hidden: Option<bool>,
        reply: Reply<Entry>,
    },
    /// The same for a contact another plugin's row carries, found by its addresses.
    MarkContact {
        contact: ContactAddress,
        favorite: Option<bool>,
        hidden: Option<bool>,
        reply: Reply<Entry>,
    },
    Sources(Reply<Vec<Source>>),
    Departments(Reply<Vec<String>>),
    Add(PersonalContact, Reply<Entry>),
    Update(PersonalContact, Reply<Entry>),
    Remove(String, Reply<()>),
    ImportCsv(PathBuf, Reply<ImportReport>),
    ExportCsv(PathBuf, Reply<usize>),
    Template(PathBuf, Reply<()>),
    /// Fetch every phone book again; the reply (when asked) comes once all are done.
    Sync(Option<Reply<Vec<Source>>>),
    /// A plugin's source changed (`contacts.updated`): fetch `<plugin>.contacts`.
    SourceUpdated(String),
    /// A sync task finished.
    Synced(sync::Outcome),
    /// Call this number through the phone (a double-clicked contact).
    Dial(String),
    /// The panel's search changed (what is typed, the list and filters chosen).
    View(views::Search),
    Configure(Box<Config>),
    Tick,
    Stop(Reply<()>),
}

pub struct Core {
    ctx: Context,
    store: Store,
    config: Config,
    panels: Panels<Snapshot, views::Form>,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    /// Sources whose sync is under way, and who waits for them all.
    syncing: BTreeSet<String>,
    waiting: Vec<Reply<Vec<Source>>>,
    /// A sync asked for while one runs: started again when it ends.
    again: bool,
    /// Bumped when the sources' settings change (see `sync::Outcome::Book`).
    generation: u64,
    /// Personal contacts whose card is being written, and those changed again
    /// meanwhile (written once the first write is done, with the place it gives).
    writing: std::collections::HashSet<String>,
    rewrite: std::collections::HashSet<String>,
    search: views::Search,
}

pub async fn run(
    mut mailbox: Mailbox<Msg>,
    ctx: Context,
    panels: Panels<Snapshot, views::Form>,
    config: Config,
) {
    let path = ctx.data_dir().join("contacts.db");
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            ctx.error(format!("contacts: {e}"));
            // Without a store nothing can be answered; every request hears why.
            while let Some(msg) = mailbox.recv().await {
                refuse(msg, &e.to_string());
            }
            return;
        }
    };
    let mut core = Core {
        tx: mailbox.sender(),
        ctx,
        store,
        config,
        panels,
        syncing: BTreeSet::new(),
        waiting: Vec::new(),
        again: false,
        generation: 0,
        writing: Default::default(),
        rewrite: Default::default(),
        search: views::Search::default(),
    };
    // The copy from the last run answers at once (indexed again first when this version
    // indexes differently); then the login sync.
    let reindex = core.store.meta(INDEX_KEY).ok().flatten().as_deref() != Some(INDEX_VERSION);
    core.changed(Vec::new(), reindex);
    if reindex {
        let _ = core.store.set_meta(INDEX_KEY, INDEX_VERSION);
    }
    core.start_sync();
    core.start_plugin_sources();
    while let Some(msg) = mailbox.recv().await {
        if let Msg::Stop(done) = msg {
            done.ok(());
            return;
        }
        core.handle(msg);
    }
}

impl Core {
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Search(q, reply) => {
                reply.send(self.store.search(&q).map_err(EngineError::from).map_err(Into::into))
            }
            Msg::Get(id, reply) => {
                reply.send(self.store.entry(&id).map_err(EngineError::from).map_err(Into::into))
            }
            Msg::Lookup(n, reply) => reply.send(
                self.store
                    .lookup(&n, &self.config.prefs.country)
                    .map_err(EngineError::from)
                    .map_err(Into::into),
            ),
            Msg::Mark { id, favorite, hidden, reply } => {
                let done = self.store.mark_entry(&id, favorite, hidden).map_err(EngineError::from);
                if done.is_ok() {
                    self.changed(Vec::new(), false);
                }
                reply.send(done.map_err(Into::into));
            }
            Msg::MarkContact { contact, favorite, hidden, reply } => {
                let found = self.store.find(&contact, &self.config.prefs.country).map_err(EngineError::from);
                let done = found.and_then(|e| {
                    if favorite.is_none() && hidden.is_none() {
                        return Ok(e);
                    }
                    let marked = self.store.mark_entry(&e.id, favorite, hidden)?;
                    self.changed(Vec::new(), false);
                    Ok(marked)
                });
                reply.send(done.map_err(Into::into));
            }
            Msg::Sources(reply) => reply.send(self.sources().map_err(Into::into)),
            Msg::Departments(reply) => {
                reply.send(self.store.departments().map_err(EngineError::from).map_err(Into::into))
            }
            Msg::Add(c, reply) => reply.send(self.add(c).map_err(Into::into)),
            Msg::Update(c, reply) => reply.send(self.update(c).map_err(Into::into)),
            Msg::Remove(id, reply) => reply.send(self.remove(&id).map_err(Into::into)),
            Msg::ImportCsv(path, reply) => reply.send(self.import_csv(&path).map_err(Into::into)),
            Msg::ExportCsv(path, reply) => reply.send(self.export_csv(&path).map_err(Into::into)),
            Msg::Template(path, reply) => {
                reply.send(crate::csv_book::export(&path, &[]).map_err(EngineError::from).map_err(Into::into))
            }
            Msg::Sync(reply) => {
                self.waiting.extend(reply);
                if self.syncing.is_empty() {
                    self.start_sync();
                } else {
                    self.again = true;
                }
                self.answer_waiting();
            }
            Msg::SourceUpdated(plugin) => self.start_plugin_source(&plugin),
            Msg::Synced(outcome) => self.synced(outcome),
            Msg::Dial(number) => {
                let ctx = self.ctx.clone();
                tokio::task::spawn_blocking(move || {
                    let ask = phone::Dial { number, hide_caller_id: false };
                    if let Err(e) = ctx.call::<_, serde_json::Value>(phone::DIAL, &ask) {
                        ctx.warn(format!("contacts: cannot call: {e}"));
                    }
                });
            }
            Msg::View(search) => {
                self.search = search;
                self.publish_snapshot();
            }
            Msg::Configure(config) => self.configure(*config),
            Msg::Tick => self.tick(),
            Msg::Stop(done) => done.ok(()),
        }
    }

    fn configure(&mut self, config: Config) {
        let old = std::mem::replace(&mut self.config, config);
        let sources_changed = old.ldap != self.config.ldap
            || old.carddav != self.config.carddav
            || old.personal != self.config.personal;
        let reading_changed =
            old.prefs.country != self.config.prefs.country || old.prefs.e164 != self.config.prefs.e164;
        if sources_changed {
            // Outcomes of the old settings are dropped when they come.
            self.generation += 1;
            if old.personal.as_ref().map(|b| &b.url) != self.config.personal.as_ref().map(|b| &b.url) {
                // Another book (or none): every personal contact is written to the new one.
                let _ = self.store.forget_dav_places();
            }
            self.forget_unconfigured();
            if self.syncing.is_empty() {
                self.start_sync();
            } else {
                self.again = true;
            }
        } else if reading_changed {
            self.changed(Vec::new(), true);
        } else {
            self.publish_snapshot();
        }
    }

    /// Every source with its state, the configured ones even before their first sync.
    fn sources(&self) -> Result<Vec<Source>, EngineError> {
        let mut out = self.store.sources()?;
        for s in self.configured() {
            if !out.iter().any(|o| o.source == s) {
                out.push(Source { source: s.to_string(), ..Default::default() });
            }
        }
        if !out.iter().any(|o| o.source == ucdesk_sdk::contract::contacts::SOURCE_PERSONAL) {
            let personal = self.store.records_of(ucdesk_sdk::contract::contacts::SOURCE_PERSONAL)?.len();
            out.push(Source { source: "personal".into(), contacts: personal, ..Default::default() });
        }
        out.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(out)
    }

    /// The directory changed: merge again when `sources` changed records (or `remerge`),
    /// then tell the panels and the bus.
    fn changed(&mut self, sources: Vec<String>, remerge: bool) {
        if remerge || !sources.is_empty() {
            let prefs = &self.config.prefs;
            if let Err(e) = self.store.rebuild(&prefs.country, prefs.e164) {
                self.ctx.error(format!("contacts: merging the directory: {e}"));
            }
        }
        self.publish_snapshot();
        let entries = self.store.directory_len().unwrap_or(0);
        self.ctx.publish(TOPIC_CHANGED, &DirectoryChanged { entries, sources });
    }

    fn publish_snapshot(&mut self) {
        let snapshot =
            views::snapshot(&self.store, &self.search, self.sources().unwrap_or_default(), PANEL_ROWS);
        self.panels.set_snapshot(snapshot);
    }
}

/// Answers a request when the store could not open.
fn refuse(msg: Msg, why: &str) {
    let e = || ucdesk_sdk::Error::failed(why);
    match msg {
        Msg::Search(_, r) => r.send(Err(e())),
        Msg::Get(_, r) => r.send(Err(e())),
        Msg::Lookup(_, r) => r.send(Err(e())),
        Msg::Mark { reply, .. } | Msg::MarkContact { reply, .. } => reply.send(Err(e())),
        Msg::Sources(r) => r.send(Err(e())),
        Msg::Departments(r) => r.send(Err(e())),
        Msg::Add(_, r) | Msg::Update(_, r) => r.send(Err(e())),
        Msg::Remove(_, r) | Msg::Template(_, r) | Msg::Stop(r) => r.send(Err(e())),
        Msg::ImportCsv(_, r) => r.send(Err(e())),
        Msg::ExportCsv(_, r) => r.send(Err(e())),
        Msg::Sync(Some(r)) => r.send(Err(e())),
        _ => {}
    }
}
