//! The ucdesk plugin SDK: everything a plugin author needs, and nothing of the kernel.
//!
//! A plugin is a `cdylib` whose library is named `ucdesk_plugin_<id>`. It implements
//! [`Plugin`], says [`export_plugin!`] once, and talks to the rest of ucdesk through
//! the [`Context`] it receives: bus events, service calls, views, settings, logging.
//! Every entry point is wrapped so that a panic in plugin code becomes a reported
//! failure of that plugin, never an unwind across the ABI.
//!
//! ```no_run
//! use serde::Deserialize;
//! use ucdesk_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct Greet { name: String }
//!
//! struct Hello { ctx: Context }
//!
//! impl Plugin for Hello {
//!     fn manifest() -> Manifest {
//!         Manifest::build("hello", env!("CARGO_PKG_VERSION")).finish()
//!     }
//!     // Each service once: name, help, typed request, handler (the manifest lists them).
//!     fn services() -> Services<Self> {
//!         Services::new().service("hello.greet", "{name} -> {greeting}", |_, Greet { name }| {
//!             Ok::<_, Error>(json!({ "greeting": format!("Hello, {name}!") }))
//!         })
//!     }
//!     fn new(ctx: Context) -> Result<Self, Error> { Ok(Hello { ctx }) }
//! }
//! export_plugin!(Hello);
//! ```
//!
//! A plugin with network work runs it on an [`engine::Engine`] and draws its panels
//! through [`Panels`]; widget ids are typed [`Action`]s. The plugin guide
//! (`docs/plugin-guide.md`) walks through one.
//!
//! Test it headlessly with [`TestHost`].

mod action;
mod context;
pub mod directory;
pub mod engine;
mod error;
mod glue;
pub mod logs;
mod manifest;
mod panels;
mod service;
mod test_host;
pub mod ui;

pub use action::Action;
pub use context::{Call, Context, Event};
pub use error::Error;
pub use manifest::{ManifestBuilder, ManifestExt};
pub use panels::{Panels, PanelsBuilder};
pub use service::Services;
pub use test_host::{Published, TestHost, TestHostError, built_library_path};
pub use ucdesk_plugin_api::{
    API_VERSION, CallError, CallErrorKind, ContactActionDecl, LoginField, Manifest, PanelSlot, Reason,
    SettingKind,
    contract::{self, Contract},
    view::{self, Node, UiAction, UiEvent, View},
};

/// The usual imports of a plugin.
pub mod prelude {
    pub use crate::{
        Action, Call, CallError, ContactActionDecl, Context, Contract, Error, Event, LoginField, Manifest,
        ManifestExt, PanelSlot, Panels, Plugin, Reason, Services, SettingKind, UiAction, UiEvent, View,
        export_plugin, ui,
    };
    pub use serde_json::{Value, json};
}

pub use serde_json;

/// A plugin. The kernel calls these methods on the plugin's own thread, one at a
/// time; a method that blocks delays only this plugin. Every method but
/// [`Plugin::manifest`] and [`Plugin::new`] has a default that does nothing.
pub trait Plugin: Send + Sized + 'static {
    /// What the plugin is and contributes (its services come from
    /// [`Plugin::services`]). Called before the plugin is instantiated, possibly many
    /// times: keep it cheap and pure.
    fn manifest() -> Manifest;

    /// The plugin's services, each declared once with its handler: the manifest
    /// lists them and calls are dispatched through them. Called for the manifest and
    /// once per instance.
    fn services() -> Services<Self> {
        Services::new()
    }

    /// Creates the plugin. Keep the [`Context`] to talk to the host later.
    fn new(ctx: Context) -> Result<Self, Error>;

    /// Called once, after every dependency has started. Subscribe to topics here.
    fn start(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// A bus event on a subscribed topic, or a `kernel.*` notice for this plugin.
    fn on_event(&mut self, event: Event<'_>) -> Result<(), Error> {
        let _ = event;
        Ok(())
    }

    /// The current view of one of the manifest's panels.
    fn view(&mut self, panel: &str) -> Result<View, Error> {
        Err(Error::new(format!("panel {panel} has no view")))
    }

    /// An interaction on one of the plugin's panels. Never wait on an engine here
    /// ([`engine::Engine::tell`]): the plugin thread serves views and calls too.
    fn on_ui(&mut self, panel: &str, event: UiEvent) -> Result<(), Error> {
        let _ = (panel, event);
        Ok(())
    }

    /// Called once before the plugin is dropped.
    fn stop(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Exports a [`Plugin`] type as the library's root module. Use it once per cdylib.
///
/// Expands to the same header `abi_stable`'s `#[export_root_module]` would write, but
/// with paths through this crate, so a plugin depends on `ucdesk-sdk` alone.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        // The literal must equal abi_stable's ROOT_MODULE_LOADER_NAME (tested in the sdk).
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __UCDESK_PLUGIN_HEADER: $crate::__private::LibHeader = {
            extern "C" fn erased() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader($crate::__private::root_module::<$plugin>)
            }
            // SAFETY: `erased` returns the PluginModRef built by `root_module`, which is
            // the module type passed here.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::__private::PluginModRef>(
                    erased,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::glue::root_module;
    pub use abi_stable::library::{__call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult};
    pub use ucdesk_plugin_api::PluginModRef;
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_symbol_matches_abi_stable() {
        let source = include_str!("lib.rs");
        let literal = format!("export_name = \"{}\"", ucdesk_plugin_api::ROOT_MODULE_SYMBOL);
        assert!(source.contains(&literal), "export_plugin! must use {literal}");
    }
}
