//! The XMPP code that the chat and SMS plugins share (each links its own copy; see
//! plugins/README.md): an account's settings ([`account`]), logging in to the server
//! ([`connection`], with [`tls`] and [`srv`]), the engine core's loop ([`event_loop`])
//! and the stanzas that are not one
//! plugin's business ([`stanza`]: iq, MAM, HTTP upload, ids), and moving files over
//! HTTP upload slots ([`transfer`]).
//!
//! Each plugin opens its own connection (its own resource) on the same account: the
//! login wizard fills both plugins' account settings, and neither waits on the other.

pub mod account;
pub mod connection;
pub mod event_loop;
pub mod srv;
pub mod stanza;
pub mod tls;
pub mod transfer;

pub use connection::{Account, Status};
pub use tls::TlsSettings;
