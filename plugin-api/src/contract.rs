//! Contracts: typed payloads that cross the boundary as JSON bytes with a schema name.
//!
//! A contract is an ordinary serde type with a stable [`Contract::SCHEMA`] name. Both
//! sides serialize and deserialize it themselves, so no Rust object ever crosses the
//! ABI. Contracts evolve additively: new fields get `#[serde(default)]`; a breaking
//! change takes a new schema name (`…/v2`).
//!
//! The contracts of the kernel itself live here; plugin families add theirs as modules
//! of this one (the softphone's call events, chat messages, presence, ...).

use serde::{Serialize, de::DeserializeOwned};

/// A payload type with a stable schema name.
pub trait Contract: Serialize + DeserializeOwned {
    /// Stable name such as `kernel.plugin_state/v1`.
    const SCHEMA: &'static str;

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("contracts always serialize")
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Schema name of payloads that are free-form JSON.
pub const JSON_SCHEMA: &str = "json";

pub mod chat;
pub mod contact;
/// The contacts directory's name for [`contact`] (since 1.13: the `contacts.*` services).
pub use contact as contacts;
pub mod crm;
pub mod headset;
pub mod notify;
pub mod phone;
pub mod presence;
pub mod sms;

pub mod kernel {
    //! Notices the kernel itself publishes or sends.
    use super::Contract;
    use serde::{Deserialize, Serialize};

    /// Topic of [`PluginState`] events, published by source `kernel`.
    pub const TOPIC_PLUGIN_STATE: &str = "kernel.plugin_state";
    /// Topic of the [`Dropped`] notice, sent only to the subscriber that lost events.
    pub const TOPIC_DROPPED: &str = "kernel.dropped";
    /// Topic of [`SettingChanged`], sent only to the plugin that owns the setting.
    pub const TOPIC_SETTING_CHANGED: &str = "kernel.setting_changed";

    /// The setting a plugin keeps its diagnostic level in (1-10; the manual's SIP and
    /// XMPP logging levels): the sdk's `logs` forwards by it, the shell's Preferences
    /// show it.
    pub const LOG_LEVEL_SETTING: &str = "log_level";

    /// The kernel's service answering the license's state, edition, features and limits.
    pub const LICENSE: &str = "kernel.license";
    /// The kernel's service keeping a new value of one of the caller's own secrets
    /// ([`StoreSecret`], since plugin-api 1.8): a refresh token a server rotated, so the
    /// next start signs in with the one that still works.
    pub const STORE_SECRET: &str = "kernel.store_secret";

    /// The kernel's service listing the services the other active plugins answer
    /// ([`ServiceQuery`] -> `[name]`, sorted; since plugin-api 1.11): how a plugin
    /// finds every provider of a convention (the contact sources' `<plugin>.contacts`)
    /// whatever order the plugins started in.
    pub const SERVICES: &str = "kernel.services";

    /// Request of [`SERVICES`]: only names ending with `suffix` (`.contacts`), when set.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ServiceQuery {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub suffix: Option<String>,
    }
    impl Contract for ServiceQuery {
        const SCHEMA: &'static str = "kernel.services/v1";
    }

    /// Request of [`STORE_SECRET`]: `name` is a setting the caller declares as a secret.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct StoreSecret {
        pub name: String,
        pub value: String,
    }
    impl Contract for StoreSecret {
        const SCHEMA: &'static str = "kernel.store_secret/v1";
    }

    /// A plugin changed state (activated, failed, disabled, stopped).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PluginState {
        pub id: String,
        pub state: String,
        #[serde(default)]
        pub reason: Option<String>,
    }
    impl Contract for PluginState {
        const SCHEMA: &'static str = "kernel.plugin_state/v1";
    }

    /// The subscriber's queue was full: this many older events were discarded since the
    /// last notice (see the kernel's overflow policy).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Dropped {
        pub count: u64,
    }
    impl Contract for Dropped {
        const SCHEMA: &'static str = "kernel.dropped/v1";
    }

    /// One of the plugin's settings was changed from outside (CLI, preferences, the
    /// login dialog), secrets included.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SettingChanged {
        pub name: String,
        /// The new value; always null for a secret (read it with the context's `secret`).
        pub value: serde_json::Value,
    }
    impl Contract for SettingChanged {
        const SCHEMA: &'static str = "kernel.setting_changed/v1";
    }
}
