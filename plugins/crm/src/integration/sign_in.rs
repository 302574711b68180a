//! The browser sign-in inside the integration (`crm.sign_in`, the panel's Sign in): the
//! CRM's page opens in the system browser, the wait for its redirect runs on the blocking
//! pool without holding the client (calls keep being looked up meanwhile), and the
//! refresh token it ends with goes to the keyring like a rotated one. A newer sign-in or
//! new settings end the one waiting.

use super::{CrmMsg, Done, Integration};
use crate::crm::{CrmError, SignedIn};
use crate::engine::Msg;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use ucdesk_sdk::engine::Reply;
use ucdesk_sdk::prelude::*;

/// How long the user has to sign in in the browser (a password, a second factor, the
/// consent page).
pub const WAIT: Duration = Duration::from_secs(300);

/// `crm.sign_in`'s answer, as soon as the page is open: the sign-in itself ends later
/// (`crm.status`: `connected`, or `problem` with the reason).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Started {
    pub vendor: String,
    /// The CRM's sign-in page, for a user whose browser did not open.
    pub url: String,
    /// Where the CRM sends the browser back (what the CRM's app must allow).
    pub redirect: String,
    pub wait_seconds: u64,
    /// Why the browser did not open, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

impl Integration {
    /// Ends the sign-in waiting, if any (new settings, a newer sign-in, the plugin
    /// stopping: the wait runs on its own thread, which would hold the port on).
    pub fn cancel_sign_in(&mut self) -> u64 {
        self.signing_in = None;
        self.sign_ins.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(super) fn sign_in(&mut self, reply: Option<Reply<Started>>) {
        let vendor = match self.vendor() {
            Some(v) if v.browser_sign_in() => v,
            Some(v) => {
                let why =
                    format!("{} signs in with the user name and password, not in the browser", v.title());
                return reply.into_iter().for_each(|r| r.send(Err(Error::new(why.clone()))));
            }
            None => return reply.into_iter().for_each(|r| r.send(Err(Error::new(self.off())))),
        };
        let generation = self.cancel_sign_in();
        let (port, sign_ins, tx) = (self.config.redirect_port, self.sign_ins.clone(), self.tx.clone());
        let cancelled = move || sign_ins.load(Ordering::SeqCst) != generation;
        self.work(
            move |client| {
                let started = client.lock().unwrap_or_else(|p| p.into_inner()).begin_sign_in(port);
                let sign_in = match started {
                    Ok(s) => s,
                    Err(e) => {
                        if let Some(r) = reply {
                            r.send(Err(Error::new(e.to_string())));
                        }
                        return Err(e);
                    }
                };
                // The system browser, never the screen pop window: the password is
                // typed where the app cannot read it (RFC 8252).
                let notice = crate::fire::open(&sign_in.url).err();
                let _ = tx.send(Msg::Crm(CrmMsg::Done(Done::SigningIn(generation, sign_in.url.clone()))));
                if let Some(r) = reply {
                    r.ok(Started {
                        vendor: vendor.as_str().to_string(),
                        url: sign_in.url.clone(),
                        redirect: sign_in.redirect().to_string(),
                        wait_seconds: WAIT.as_secs(),
                        notice,
                    });
                }
                let code = sign_in.wait(Instant::now() + WAIT, &cancelled)?;
                client.lock().unwrap_or_else(|p| p.into_inner()).finish_sign_in(&code)
            },
            move |result| Done::SignedIn(generation, result),
        );
    }

    /// The sign-in ended: signed in (and what it learned goes into the settings), or why
    /// not. A failed one leaves the connection as it was (a refresh token held before
    /// still works); one that a newer sign-in replaced says nothing.
    pub(super) fn signed_in(&mut self, generation: u64, result: Result<SignedIn, CrmError>) {
        if generation != self.sign_ins.load(Ordering::SeqCst) {
            return;
        }
        self.signing_in = None;
        self.sign_in_failed = None;
        match result {
            Ok(signed_in) => {
                self.note(None);
                self.ctx.info(format!("signed in to {}", self.config.vendor_word));
                if !signed_in.refresh_token {
                    let why = "signed in for this session only: the CRM gave no refresh token (its app \
                               must allow offline access, the refresh_token scope)";
                    self.ctx.warn(why);
                    self.sign_in_failed = Some(why.into());
                }
                for (name, value) in signed_in.learned {
                    if let Err(e) = self.ctx.set_setting(name, &value) {
                        self.ctx.warn(format!("cannot keep the CRM's {name} the sign-in found: {e}"));
                    }
                }
            }
            Err(e) => {
                self.ctx.warn(format!("the CRM sign-in failed: {e}"));
                self.sign_in_failed = Some(e.to_string());
            }
        }
    }
}
