//! The ucdesk microkernel: discovers, checks and runs plugins, and carries their bus,
//! services and settings.
//!
//! The kernel knows nothing of telephony or chat. It finds plugin libraries
//! ([`discovery`]), refuses the ones it must ([`gate`], the plugin-api version rule),
//! orders the rest by their dependencies ([`resolve`]), runs each on its own thread
//! ([`actor`]) and connects them through the [`bus`] and service calls. It owns the
//! profile's [`settings`] and [`secrets`], and serves the control socket ([`control`])
//! that the CLI, URI handlers and tests use to drive a running instance. The installed
//! license ([`licensing`]) decides which licensed plugins may run, after the admin's
//! deployment [`policy`].

mod actor;
pub mod bus;
pub mod control;
pub mod discovery;
mod error;
pub mod gate;
mod home;
mod host;
mod kernel;
pub mod licensing;
pub mod pixels;
pub mod policy;
pub mod resolve;
pub mod secrets;
pub mod settings;
mod state;

pub use actor::MAILBOX;
pub use error::{KernelError, SecretError, SettingsError};
pub use home::Home;
pub use kernel::{KERNEL_LICENSE_SERVICE, Kernel, KernelConfig};
pub use pixels::Frame;
pub use state::{PluginInfo, PluginState, SettingRow};
