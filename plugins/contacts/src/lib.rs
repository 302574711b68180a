//! contacts: the directory every panel searches. It keeps the central phone book (an
//! LDAP directory and/or a shared CardDAV address book, read-only), the user's
//! personal phone book (local, and in their CardDAV address book when they have one)
//! and every plugin's contacts (`<plugin>.contacts`: the chat roster, a CRM) in one
//! store, merged into one list without duplicates, with the user's favourites and
//! hidden users. Synced at login and, with "Sync my contacts daily", every day;
//! searchable offline. Licensed by the `contacts` feature (every edition).
//!
//! Rooms: `merge.rs` decides who is the same person; `store/` keeps records, marks and
//! the searchable directory; `ldap.rs`, `carddav.rs` and `vcard.rs` read the phone
//! books; `csv_book.rs` imports and exports; `engine/` owns the state; `views.rs` the
//! panel; this file is the plugin glue.

pub mod carddav;
mod config;
pub mod csv_book;
mod engine;
pub mod ldap;
pub mod merge;
#[doc(hidden)]
pub mod store;
pub mod vcard;
mod views;

use config::Config;
use engine::{Engine, Msg};
use serde::Deserialize;
use std::path::PathBuf;
use ucdesk_sdk::contract::contacts::{
    self as contract, ContactAddress, ContactsUpdated, Entry, PersonalContact,
};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::presence;
use ucdesk_sdk::engine::EngineSpec;
use ucdesk_sdk::prelude::*;
use views::{Act, Form, Snapshot};

struct Contacts {
    ctx: Context,
    engine: Engine,
    panels: Panels<Snapshot, Form>,
}

#[derive(Deserialize)]
struct SearchReq {
    #[serde(default)]
    query: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Mark {
    id: String,
    on: bool,
}

#[derive(Deserialize)]
struct Number {
    number: String,
}

#[derive(Deserialize)]
struct FilePath {
    path: PathBuf,
}

/// The export's and the template's file names in the folder the user picks.
const EXPORT_FILE: &str = "contacts.csv";
const TEMPLATE_FILE: &str = "contacts-template.csv";

impl Plugin for Contacts {
    fn manifest() -> Manifest {
        let m = Manifest::build("contacts", env!("CARGO_PKG_VERSION"))
            .name("Contacts")
            .description("Central and personal phone books and every plugin's contacts, merged; favourites, hidden users.")
            .feature("contacts")
            // The manual's quick lists: Contacts (with the phone book selector) and
            // Favorites.
            .panel_in("contacts", "Contacts", PanelSlot::QuickList)
            .panel_in("favorites", "Favorites", PanelSlot::QuickList)
            // On every contact in any plugin's list (the directory's own rows have
            // their own menu).
            .offer(ContactActionDecl::new(views::INFO, "Contact information", "contacts"))
            .offer(ContactActionDecl { favorite: Some(false), ..ContactActionDecl::new(views::FAVORITE, "Add to Favorites", "favorites") })
            .offer(ContactActionDecl {
                favorite: Some(true),
                ..ContactActionDecl::new(views::UNFAVORITE, "Remove from Favorites", "favorites")
            })
            .offer(ContactActionDecl::new(views::HIDE, "Hide", "contacts"));
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        use contract as c;
        Services::new()
            .service(
                c::SEARCH,
                "{query, source?, department?, limit?} -> [entry]",
                |p: &mut Self, r: SearchReq| {
                    let q = store::Query {
                        text: r.query,
                        source: r.source,
                        department: r.department,
                        limit: r.limit,
                        ..Default::default()
                    };
                    p.engine.ask(|reply| Msg::Search(q, reply))
                },
            )
            .service(c::GET, "{id} -> entry", |p: &mut Self, r: Id| {
                p.engine.ask(|reply| Msg::Get(r.id, reply))
            })
            .service(c::LOOKUP, "{number} -> entry | null: who has this number", |p: &mut Self, r: Number| {
                p.engine.ask(|reply| Msg::Lookup(r.number, reply))
            })
            .service(c::FAVORITES, "-> [entry]", |p: &mut Self, ()| {
                let q =
                    store::Query { favorites_only: true, limit: Some(usize::MAX >> 1), ..Default::default() };
                p.engine.ask(|reply| Msg::Search(q, reply))
            })
            .service(c::SET_FAVORITE, "{id, on} -> entry", |p: &mut Self, r: Mark| {
                p.engine.ask(|reply| Msg::Mark { id: r.id, favorite: Some(r.on), hidden: None, reply })
            })
            .service(c::HIDE, "{id, on} -> entry", |p: &mut Self, r: Mark| {
                p.engine.ask(|reply| Msg::Mark { id: r.id, favorite: None, hidden: Some(r.on), reply })
            })
            .service(c::HIDDEN, "-> [entry]: the hidden users", |p: &mut Self, ()| {
                let q =
                    store::Query { hidden: Some(true), limit: Some(usize::MAX >> 1), ..Default::default() };
                p.engine.ask(|reply| Msg::Search(q, reply))
            })
            .service(c::SOURCES, "-> [{source, contacts, synced_ms?, error?}]", |p: &mut Self, ()| {
                p.engine.ask(Msg::Sources)
            })
            .service(c::DEPARTMENTS, "-> [department]", |p: &mut Self, ()| p.engine.ask(Msg::Departments))
            .service(
                c::IMPORT_CSV,
                "{path} -> {imported, rejected: [{line, reason}]}",
                |p: &mut Self, r: FilePath| p.engine.ask(|reply| Msg::ImportCsv(r.path, reply)),
            )
            .service(c::EXPORT_CSV, "{path} -> {path, contacts}", |p: &mut Self, r: FilePath| {
                let path = r.path.clone();
                let n = p.engine.ask(|reply| Msg::ExportCsv(r.path, reply))?;
                Ok::<_, Error>(serde_json::json!({ "path": path, "contacts": n }))
            })
            .service(
                c::CSV_TEMPLATE,
                "{path} -> {path}: the columns an import reads",
                |p: &mut Self, r: FilePath| {
                    let path = r.path.clone();
                    p.engine.ask(|reply| Msg::Template(r.path, reply))?;
                    Ok::<_, Error>(serde_json::json!({ "path": path }))
                },
            )
            .service(
                c::ADD,
                "{name, company?, department?, title?, numbers, emails} -> entry",
                |p: &mut Self, r: PersonalContact| p.engine.ask(|reply| Msg::Add(r, reply)),
            )
            .service(c::UPDATE, "{id, name, ...} -> entry", |p: &mut Self, r: PersonalContact| {
                p.engine.ask(|reply| Msg::Update(r, reply))
            })
            .service(c::REMOVE, "{id}: a personal contact", |p: &mut Self, r: Id| {
                p.engine.ask(|reply| Msg::Remove(r.id, reply))
            })
            .service(c::SYNC, "-> [source]: every phone book fetched again", |p: &mut Self, ()| {
                p.engine.ask(|reply| Msg::Sync(Some(reply)))
            })
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let panels = Panels::build(&ctx, Snapshot::default(), Form::default())
            .panel("contacts", views::panel)
            .panel("favorites", views::favorites)
            .finish();
        let config = Config::read(&ctx);
        // A first sync of a large phone book takes a while: services that wait for one
        // get longer than the default ten seconds.
        let spec = EngineSpec::new("contacts")
            .workers(1)
            .tick(std::time::Duration::from_secs(60), || Msg::Tick)
            .ask_timeout(std::time::Duration::from_secs(120))
            .stop(Msg::Stop);
        let (for_core, core_ctx) = (panels.clone(), ctx.clone());
        let engine =
            Engine::start(&ctx, spec, move |mailbox| engine::run(mailbox, core_ctx, for_core, config))?;
        Ok(Contacts { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        self.ctx.subscribe(contract::TOPIC_UPDATED);
        self.ctx.subscribe(presence::TOPIC_CHANGED);
        // Presence published before we subscribed: ask the provider once.
        if let Ok(all) = self.ctx.call::<_, Vec<presence::PresenceChanged>>(presence::LIST, &()) {
            self.panels.form(|f| f.presence.extend(all.into_iter().map(|p| (p.jid.to_lowercase(), p))));
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            return self.engine.send(Msg::Configure(Box::new(Config::read(&self.ctx))));
        }
        if event.topic == presence::TOPIC_CHANGED {
            let p: presence::PresenceChanged = event.json()?;
            self.panels.form(|f| f.presence.insert(p.jid.to_lowercase(), p));
            return Ok(());
        }
        if event.topic == contract::TOPIC_UPDATED {
            let updated: ContactsUpdated = event.json()?;
            return self.engine.send(Msg::SourceUpdated(updated.source));
        }
        Ok(())
    }

    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let act = match Act::parse(&event.widget) {
            Ok(a) => a,
            Err(e) => {
                self.ctx.debug(format!("contacts: {e}"));
                return Ok(());
            }
        };
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let search = |p: &mut Self, change: &dyn Fn(&mut views::Search)| {
            let s = p.panels.form(|f| {
                change(&mut f.search);
                f.search.clone()
            });
            p.engine.send(Msg::View(s))
        };
        match (act, event.action) {
            (Act::Search, UiAction::Changed { value }) => search(self, &|s| s.text = text(&value))?,
            (Act::List, UiAction::Changed { value }) => search(self, &|s| s.list = text(&value))?,
            (Act::Department, UiAction::Changed { value }) => search(self, &|s| s.department = text(&value))?,
            (Act::Found | Act::Favorites, UiAction::RowActivated { row }) => self.activate(&row),
            (Act::Found | Act::Favorites, UiAction::ContextAction { item, row: Some(row) }) => {
                self.row_action(&item, row)
            }
            (Act::ContactAction, UiAction::ContactAction { id, contact }) => {
                self.contact_action(&id, *contact)
            }
            (Act::InfoDialog, UiAction::DialogClosed) => self.panels.form(|f| f.info = None),
            (Act::Sync, UiAction::Clicked) => self.engine.send(Msg::Sync(None))?,
            (Act::Import, UiAction::FilesPicked { mut paths }) if !paths.is_empty() => {
                let path = PathBuf::from(paths.swap_remove(0));
                let panels = self.panels.clone();
                self.engine.tell_then(
                    |r| Msg::ImportCsv(path, r),
                    move |done| {
                        let said = match done {
                            Ok(r) if r.rejected.is_empty() => format!("Imported {} contacts", r.imported),
                            Ok(r) => {
                                let lines: Vec<String> = r
                                    .rejected
                                    .iter()
                                    .map(|b| format!("line {}: {}", b.line, b.reason))
                                    .collect();
                                format!(
                                    "Imported {} contacts; not imported: {}",
                                    r.imported,
                                    lines.join("; ")
                                )
                            }
                            Err(e) => format!("Import failed: {e}"),
                        };
                        panels.form(|f| f.notice = Some(said));
                    },
                );
            }
            (Act::Export | Act::Template, UiAction::FilesPicked { mut paths }) if !paths.is_empty() => {
                let dir = PathBuf::from(paths.swap_remove(0));
                let panels = self.panels.clone();
                let (path, template) = match event.widget.as_str() {
                    w if w == Act::Template.id() => (dir.join(TEMPLATE_FILE), true),
                    _ => (dir.join(EXPORT_FILE), false),
                };
                let shown = path.display().to_string();
                let report = move |done: Result<String, Error>| {
                    let said = done.unwrap_or_else(|e| format!("Export failed: {e}"));
                    panels.form(|f| f.notice = Some(said));
                };
                if template {
                    self.engine.tell_then(
                        |r| Msg::Template(path, r),
                        move |d| report(d.map(|()| format!("Saved {shown}"))),
                    );
                } else {
                    self.engine.tell_then(
                        |r| Msg::ExportCsv(path, r),
                        move |d| report(d.map(|n| format!("Exported {n} contacts to {shown}"))),
                    );
                }
            }
            (Act::OpenHidden, UiAction::Clicked) => self.panels.form(|f| f.hidden_open = true),
            (Act::HiddenDialog, UiAction::DialogClosed) => self.panels.form(|f| f.hidden_open = false),
            (Act::Unhide(id), UiAction::Clicked) => self.engine.tell("unhide", |reply| Msg::Mark {
                id,
                favorite: None,
                hidden: Some(false),
                reply,
            }),
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Contacts {
    /// Double-click: the preference's default, a call (or, with `chat`, the
    /// conversation once chat offers one).
    fn activate(&mut self, row: &str) {
        let entry =
            self.panels.read(|s, _| s.found.iter().chain(&s.favorites).find(|e| e.id == row).cloned());
        let Some(entry) = entry else { return };
        let Some(target) = entry.address().dial_target() else {
            self.ctx.warn(format!("contacts: {} has no number to call", entry.name));
            return;
        };
        let _ = self.engine.send(Msg::Dial(target));
    }

    /// One of our contributed actions on another plugin's row: the engine finds the
    /// person by the addresses the row carries and marks them; "Contact information"
    /// opens their card here.
    fn contact_action(&mut self, action: &str, contact: ContactAddress) {
        let (favorite, hidden) = match action {
            views::FAVORITE => (Some(true), None),
            views::UNFAVORITE => (Some(false), None),
            views::HIDE => (None, Some(true)),
            views::INFO => (None, None),
            _ => return,
        };
        let panels = self.panels.clone();
        let (info, name) = (action == views::INFO, contact.name.clone());
        self.engine.tell_then(
            |reply| Msg::MarkContact { contact, favorite, hidden, reply },
            move |found: Result<Entry, Error>| match found {
                Ok(entry) if info => panels.form(|f| f.info = Some(entry)),
                Ok(_) => {}
                Err(e) => panels.form(|f| f.notice = Some(format!("{name}: {e}"))),
            },
        );
    }

    fn row_action(&mut self, item: &str, row: String) {
        let (favorite, hidden) = match item {
            views::INFO => {
                let entry = self
                    .panels
                    .read(|s, _| s.found.iter().chain(&s.favorites).find(|e| e.id == row).cloned());
                self.panels.form(|f| f.info = entry);
                return;
            }
            views::FAVORITE => (Some(true), None),
            views::UNFAVORITE => (Some(false), None),
            views::HIDE => (None, Some(true)),
            views::REMOVE => {
                let panels = self.panels.clone();
                self.engine.tell_then(
                    |reply| Msg::Remove(row, reply),
                    move |done| {
                        if let Err(e) = done {
                            panels.form(|f| f.notice = Some(e.to_string()));
                        }
                    },
                );
                return;
            }
            _ => return,
        };
        self.engine.tell("mark", |reply| Msg::Mark { id: row, favorite, hidden, reply });
    }
}

export_plugin!(Contacts);
