//! sms: text messages to phone numbers through an SMS gateway on the user's XMPP
//! server (the JMP/Cheogram convention, docs/sms-gateway.md). Its own resource on the
//! same account as chat: the gateway's registration says the user's number and who
//! shares it, sends wait in a persistent outbox until the gateway's receipt, and the
//! account's archive brings the history to every desktop. Licensed by the `sms`
//! add-on: without it the module does not load.
//!
//! This file is the [`Plugin`] glue: the `sms.*` services (each a typed request to the
//! engine), settings changes, panel actions told to the engine without waiting, and the
//! panels drawn from its snapshot.

mod config;
mod engine;
mod export;
pub mod media;
pub mod segments;
mod stanzas;
#[doc(hidden)]
pub mod store;
mod views;

use engine::{Engine, Msg, Request, Snapshot};
use ucdesk_sdk::contract::kernel as contract_kernel;
use ucdesk_sdk::contract::phone;
use ucdesk_sdk::contract::presence;
use ucdesk_sdk::contract::sms::{
    self as contract, Export, HistoryQuery, MarkRead, MessageRef, NumberRef, SearchQuery,
};
use ucdesk_sdk::prelude::*;
use views::{Act, Form};

struct Sms {
    ctx: Context,
    engine: Engine,
    panels: Panels<Snapshot, Form>,
}

impl Plugin for Sms {
    fn manifest() -> Manifest {
        let m = Manifest::build("sms", env!("CARGO_PKG_VERSION"))
            .name("SMS")
            .description(
                "SMS through the XMPP server's SMS gateway: conversations, states, shared numbers, history.",
            )
            .feature("sms")
            .panel("sms", "SMS")
            .icon("sms", "sms")
            .panel_in("status", "SMS", PanelSlot::Status)
            // The manual's Preferences -> Messaging: the settings and the history export.
            .panel_in("prefs", "Messaging", PanelSlot::Preferences)
            // "Send SMS" on every contact with a number, in any plugin's list.
            .contact_action("send_sms", "Send SMS", "sms", true);
        config::declare(m).finish()
    }

    fn services() -> Services<Self> {
        use contract as c;
        Services::new()
            .service(
                c::STATUS,
                "-> {state, number, shared_with, gateway, reason, outbox, unread}",
                |p: &mut Sms, ()| p.ask(Request::Status),
            )
            .service(c::SEND, "{to, body, files?} -> {number, ids, parts}", |p: &mut Sms, r: c::Send| {
                p.ask(Request::Send(r))
            })
            .service(c::CONVERSATIONS, "The conversations by recent activity", |p: &mut Sms, ()| {
                p.ask(Request::Conversations)
            })
            .service(
                c::HISTORY,
                "{number, before?, limit} -> [message], oldest first",
                |p: &mut Sms, r: HistoryQuery| p.ask(Request::History(r)),
            )
            .service(c::SEARCH, "{query} -> {conversations, messages}", |p: &mut Sms, r: SearchQuery| {
                p.ask(Request::Search(r))
            })
            .service(c::DELETE, "{id}: this desktop's copy", |p: &mut Sms, r: MessageRef| {
                p.ask(Request::Delete(r.id))
            })
            .service(c::DELETE_CONVERSATION, "{number}", |p: &mut Sms, r: NumberRef| {
                p.ask(Request::DeleteConversation(r.number))
            })
            .service(c::MARK_READ, "{number?}: one conversation, or all", |p: &mut Sms, r: MarkRead| {
                p.ask(Request::MarkRead(r.number))
            })
            .service(c::DOWNLOAD, "{id}: fetch an MMS part's file", |p: &mut Sms, r: MessageRef| {
                p.ask(Request::Download(r.id))
            })
            .service(
                c::EXPORT,
                "{dir} -> {folder, files}: one file per conversation",
                |p: &mut Sms, r: Export| p.ask(Request::Export(r)),
            )
    }

    fn new(ctx: Context) -> Result<Self, Error> {
        let store = match store::Store::open(&ctx.data_dir().join("sms.sqlite3")) {
            Ok(s) => Some(s),
            Err(e) => {
                ctx.error(e.to_string());
                None
            }
        };
        let panels = Panels::build(&ctx, Snapshot::default(), Form::default())
            .panel("sms", views::sms)
            .panel("status", views::status)
            .panel("prefs", views::prefs)
            .finish();
        let show = panels.clone();
        let engine = engine::start(&ctx, store, move |s| show.set_snapshot(s))
            .map_err(|e| Error::failed(format!("cannot start the SMS engine: {e}")))?;
        Ok(Sms { ctx, engine, panels })
    }

    fn start(&mut self) -> Result<(), Error> {
        // The user's own presence: do not disturb silences SMS alerts, as it does chat's.
        self.ctx.subscribe(presence::TOPIC_CHANGED);
        self.reconfigure()
    }

    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        if event.topic == contract_kernel::TOPIC_SETTING_CHANGED {
            self.reconfigure()?;
        } else if event.topic == presence::TOPIC_CHANGED {
            let changed: presence::PresenceChanged = event.json()?;
            if changed.me {
                self.engine.send(Msg::Presence(changed.status))?;
            }
        }
        Ok(())
    }

    fn view(&mut self, panel: &str) -> Result<View, Error> {
        self.panels.view(panel)
    }

    /// Never waits on the engine (refusals land in the log).
    fn on_ui(&mut self, _panel: &str, event: UiEvent) -> Result<(), Error> {
        let act = Act::parse(&event.widget)?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let tell = |what: &str, req: Request| self.engine.tell(what, |r| Msg::Request(req, r));
        match (act, event.action) {
            (Act::Search, UiAction::Changed { value }) => {
                let query = text(&value);
                self.panels.form(|f| f.search = query.clone());
                let panels = self.panels.clone();
                let asked = query.clone();
                self.engine.tell_then(
                    |r| Msg::Request(Request::Search(SearchQuery { query }), r),
                    move |found| {
                        let results = found.ok().and_then(|v| serde_json::from_value(v).ok());
                        // Answers may come back out of order (the directory is asked
                        // beside the engine): only the one for what the field says shows.
                        panels.form(|f| {
                            if f.search == asked {
                                f.results = results;
                            }
                        });
                    },
                );
            }
            (Act::NewNumber, UiAction::Changed { value }) => {
                self.panels.form(|f| f.new_number = text(&value))
            }
            (Act::Start, UiAction::Clicked) | (Act::NewNumber, UiAction::Submitted { .. }) => {
                let typed = self.panels.form(|f| std::mem::take(&mut f.new_number).trim().to_string());
                // A name typed in the field finds the conversation shown with it.
                let known = self.panels.read(|s, _| {
                    s.conversations
                        .iter()
                        .find(|c| c.display.eq_ignore_ascii_case(&typed))
                        .map(|c| c.number.clone())
                });
                self.open_conversation(known.unwrap_or(typed), None);
            }
            (Act::FoundContacts, UiAction::Selected { row }) => {
                let (i, j) = row.split_once(':').unwrap_or_default();
                let chosen = self.panels.read(|_, f| {
                    let c = f.results.as_ref()?.contacts.get(i.parse::<usize>().ok()?)?;
                    Some((c.numbers.get(j.parse::<usize>().ok()?)?.number.clone(), c.name.clone()))
                });
                if let Some((number, name)) = chosen {
                    self.open_conversation(number, Some(name));
                }
            }
            (Act::Conversations | Act::Results, UiAction::Selected { row }) => {
                self.open_conversation(row.split('\n').next().unwrap_or_default().to_string(), None);
            }
            // A clicked SMS alert: exactly the conversation that alerted.
            (Act::Notification, UiAction::Opened { target }) => self.open_conversation(target.id, None),
            (Act::ContactAction, UiAction::ContactAction { contact, .. }) => {
                let mut numbers: Vec<(String, String)> =
                    contact.numbers.iter().map(|n| (n.label.clone(), n.number.clone())).collect();
                if let Some(n) = contact.number.as_ref().filter(|n| !numbers.iter().any(|(_, m)| m == *n)) {
                    numbers.insert(0, ("number".into(), n.clone()));
                }
                match numbers.len() {
                    0 => self.ctx.warn(format!("send SMS: {} has no number", contact.name)),
                    1 => self.open_conversation(numbers.remove(0).1, Some(contact.name)),
                    // Several: the SMS window asks which one.
                    _ => self.panels.form(|f| f.choose = Some((contact.name, numbers))),
                }
            }
            (Act::Choose(i), UiAction::Clicked) => {
                if let Some((name, numbers)) = self.panels.form(|f| f.choose.take())
                    && let Some((_, number)) = numbers.into_iter().nth(i)
                {
                    self.open_conversation(number, Some(name));
                }
            }
            (Act::ChooseDialog, UiAction::DialogClosed) => self.panels.form(|f| f.choose = None),
            (Act::Draft, UiAction::Changed { value }) => self.panels.form(|f| f.draft = text(&value)),
            (Act::Attach, UiAction::FilesPicked { paths })
            | (Act::DropFiles, UiAction::FilesDropped { paths }) => self.attach(paths),
            (Act::Unattach(i), UiAction::Clicked) => self.panels.form(|f| {
                if i < f.files.len() {
                    f.files.remove(i);
                }
            }),
            (Act::Download(id), UiAction::Clicked) => tell("download", Request::Download(id)),
            (Act::Send, UiAction::Clicked) => {
                let (to, body, files, name) = self.panels.read(|s, f| {
                    (s.open.clone().or(f.open.clone()), f.draft.clone(), f.files.clone(), f.open_name.clone())
                });
                let Some(to) = to else {
                    self.ctx.warn("send: no conversation is open");
                    return Ok(());
                };
                let panels = self.panels.clone();
                let ctx = self.ctx.clone();
                self.engine.tell_then(
                    |r| Msg::Request(Request::Send(contract::Send { to, body, files, name }), r),
                    move |sent| match sent {
                        Ok(_) => panels.form(|f| {
                            f.draft.clear();
                            f.files.clear();
                            f.notice = None;
                        }),
                        // The draft and its files survive a refusal, which is shown.
                        Err(e) => {
                            ctx.warn(format!("send: {e}"));
                            panels.form(|f| f.notice = Some(e.to_string()));
                        }
                    },
                );
            }
            (Act::MarkAllRead, UiAction::Clicked) => tell("mark all read", Request::MarkRead(None)),
            (Act::Export, UiAction::FilesPicked { mut paths }) if !paths.is_empty() => {
                let dir = paths.swap_remove(0);
                let panels = self.panels.clone();
                self.engine.tell_then(
                    |r| Msg::Request(Request::Export(Export { dir }), r),
                    move |done| {
                        let said = match done {
                            Ok(v) => format!("Exported into {}", v["folder"].as_str().unwrap_or_default()),
                            Err(e) => format!("Export failed: {e}"),
                        };
                        panels.form(|f| f.exported = Some(said));
                    },
                );
            }
            (Act::UnreadMenu, UiAction::ContextAction { item, .. }) if item == views::MARK_ALL => {
                tell("mark all read", Request::MarkRead(None))
            }
            (Act::UnreadMenu, UiAction::ContextAction { item, .. }) => self.open_conversation(item, None),
            (Act::Delete(id), UiAction::Clicked) => tell("delete", Request::Delete(id)),
            (Act::Message(id), UiAction::ContextAction { item, .. }) if item == views::DELETE => {
                tell("delete", Request::Delete(id))
            }
            (Act::DeleteConversation(number), UiAction::Clicked) => {
                self.panels.form(|f| f.open = None);
                tell("delete conversation", Request::DeleteConversation(number));
            }
            (Act::Call(number), UiAction::Clicked) => {
                let dial = phone::Dial { number, hide_caller_id: false };
                if let Err(e) = self.ctx.call::<_, Value>(phone::DIAL, &dial) {
                    self.ctx.warn(format!("call: {e}"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), Error> {
        self.engine.shutdown();
        Ok(())
    }
}

impl Sms {
    /// Adds files to the MMS being written; those over the manual's limits (10 files,
    /// the types MMS carries, 500 KB that cannot be recompressed) are discarded with its
    /// message. Pictures count as fitting: they are recompressed on sending.
    fn attach(&self, paths: Vec<String>) {
        self.panels.form(|f| {
            f.notice = None;
            for path in paths.into_iter().filter(|p| !p.is_empty()) {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let picture = matches!(media::mime_of(&path), Some("image/jpeg" | "image/png"));
                let others: u64 = f
                    .files
                    .iter()
                    .filter(|p| !matches!(media::mime_of(p), Some("image/jpeg" | "image/png")))
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum();
                let over = f.files.len() >= ucdesk_sdk::contract::sms::MAX_FILES
                    || (!picture && others + size > ucdesk_sdk::contract::sms::MAX_MEDIA_BYTES);
                if media::mime_of(&path).is_none() {
                    f.notice = Some(format!("{path} is not a file type MMS can carry"));
                } else if over {
                    f.notice = Some(format!("{}.", media::OVER_LIMIT));
                } else {
                    f.files.push(path);
                }
            }
        });
    }

    /// Opens a conversation with a number (as typed, or a contact's), before it has a
    /// message: the first send resolves the number and names the conversation.
    fn open_conversation(&self, number: String, name: Option<String>) {
        self.panels.form(|f| {
            f.open = Some(number.clone());
            f.open_name = name;
        });
        self.engine.tell("open", |r| Msg::Request(Request::Open(Some(number)), r));
    }

    fn ask(&self, req: Request) -> Result<Value, Error> {
        self.engine.ask(|reply| Msg::Request(req, reply))
    }

    fn reconfigure(&self) -> Result<(), Error> {
        // The libraries' own logs (SIP messages, XMPP stanzas) as the level asks.
        ucdesk_sdk::logs::follow_setting(&self.ctx);
        self.engine.send(Msg::Reconfigure(config::Config::read(&self.ctx)))
    }
}

/// The topics this plugin publishes.
pub const TOPICS: [&str; 4] =
    [contract::TOPIC_MESSAGE, contract::TOPIC_STATE, contract::TOPIC_STATUS, contract::TOPIC_SYNC];

export_plugin!(Sms);

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifest_validates() {
        use ucdesk_sdk::Plugin as _;
        super::Sms::manifest().validate().unwrap();
    }
}
