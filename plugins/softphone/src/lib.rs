//! softphone: SIP accounts, registration, calls and call history.

mod config;
mod dialing;
mod emergency;
mod history;
mod sdp;
mod util;
mod rtp;
