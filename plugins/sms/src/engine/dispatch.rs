//! The plugin thread's requests, each answered here or handed to the part that owns
//! it (`sms.send` may answer later, once the gateway resolved the number).

use super::error::SmsError;
use super::{Core, Request};
use crate::export;
use ucdesk_sdk::engine::Reply;
use ucdesk_sdk::prelude::*;

/// At most this many of the directory's contacts in one search's answer.
const CONTACTS_FOUND: usize = 20;

impl Core {
    pub(super) async fn on_request(&mut self, req: Request, reply: Reply<Value>) {
        if let Request::Send(s) = req {
            return self.send_sms(s, reply).await;
        }
        if let Request::Search(q) = req {
            return self.search(q.query, reply);
        }
        let answer = self.answer(req).await;
        reply.send(answer.map_err(Error::from));
    }

    /// The store's conversations and messages, then the directory's contacts with a
    /// number: asking the contact sources blocks, so it runs beside the event loop and
    /// answers from there.
    fn search(&mut self, query: String, reply: Reply<Value>) {
        let mut found = match self.store().and_then(|s| Ok(s.search(&query)?)) {
            Ok(found) => found,
            Err(e) => return reply.send(Err(e.into())),
        };
        let ctx = self.ctx.clone();
        tokio::task::spawn_blocking(move || {
            found.contacts =
                ucdesk_sdk::directory::search(&ctx, &query, CONTACTS_FOUND, |c| !c.numbers.is_empty());
            reply.send(Ok(json!(found)));
        });
    }

    async fn answer(&mut self, req: Request) -> Result<Value, SmsError> {
        match req {
            Request::Send(_) | Request::Search(_) => unreachable!("handled by on_request"),
            Request::Status => Ok(json!(self.current_status())),
            Request::Conversations => Ok(json!(self.store()?.conversations()?)),
            Request::History(q) => Ok(json!(self.store()?.history(
                q.number.trim(),
                q.before.as_deref(),
                q.limit.clamp(1, 1000)
            )?)),
            Request::Delete(id) => match self.store()?.delete(&id)? {
                Some(_) => Ok(Value::Null),
                None => Err(SmsError::NotFound(format!("no message {id}"))),
            },
            Request::DeleteConversation(number) => match self.store()?.delete_conversation(number.trim())? {
                true => {
                    if self.open.as_deref() == Some(number.trim()) {
                        self.open = None;
                    }
                    Ok(Value::Null)
                }
                false => Err(SmsError::NotFound(format!("no conversation with {number}"))),
            },
            Request::MarkRead(number) => {
                let n = self.store()?.mark_read(number.as_deref().map(str::trim))?;
                Ok(json!({ "marked": n }))
            }
            Request::Export(e) => {
                let store = self.store()?;
                export::write(store, std::path::Path::new(&e.dir)).map(|x| json!(x))
            }
            Request::Download(id) => self.download(&id),
            Request::Open(number) => {
                if let Some(n) = &number {
                    self.store()?.mark_read(Some(n))?;
                }
                self.open = number;
                Ok(Value::Null)
            }
        }
    }
}
