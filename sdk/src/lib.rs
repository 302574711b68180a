//! The ucdesk plugin SDK: everything a plugin author needs, and nothing of the kernel.
//!
//! A plugin is a `cdylib` whose library is named `ucdesk_plugin_<id>`. It implements
//! [`Plugin`], says [`export_plugin!`] once, and talks to the rest of ucdesk through
//! the [`Context`] it receives: bus events, service calls, views, settings, logging.
//! Every entry point is wrapped so that a panic in plugin code becomes a reported
//! failure of that plugin, never an unwind across the ABI.
//!
//! ```no_run
//! use ucdesk_sdk::prelude::*;
//!
//! struct Hello { ctx: Context }
//!
//! impl Plugin for Hello {
//!     fn manifest() -> Manifest {
//!         Manifest::build("hello", env!("CARGO_PKG_VERSION")).service("hello.greet", "Greets").finish()
//!     }
//!     fn new(ctx: Context) -> Result<Self, Error> { Ok(Hello { ctx }) }
//!     fn on_call(&mut self, call: Call<'_>) -> Result<Value, Error> {
//!         let name: String = call.arg("name")?;
//!         Ok(json!({ "greeting": format!("Hello, {name}!") }))
//!     }
//! }
//! export_plugin!(Hello);
//! ```
//!
//! Test it headlessly with [`TestHost`].

mod context;
mod error;
mod glue;
mod manifest;
mod test_host;
pub mod ui;

pub use context::{Call, Context, Event};
pub use error::Error;
pub use manifest::{ManifestBuilder, ManifestExt};
pub use test_host::{Published, TestHost, TestHostError, built_library_path};
pub use ucdesk_plugin_api::{
    API_VERSION, CallError, CallErrorKind, LoginField, Manifest, PanelSlot, SettingKind,
    contract::{self, Contract},
    view::{self, Node, UiAction, UiEvent, View},
};

/// The usual imports of a plugin.
pub mod prelude {
    pub use crate::{
        Call, CallError, Context, Contract, Error, Event, LoginField, Manifest, ManifestExt, PanelSlot,
        Plugin, SettingKind, UiAction, UiEvent, View, export_plugin, ui,
    };
    pub use serde_json::{Value, json};
}

pub use serde_json;
use serde_json::Value;

/// A plugin. The kernel calls these methods on the plugin's own thread, one at a
/// time; a method that blocks delays only this plugin. Every method but
/// [`Plugin::manifest`] and [`Plugin::new`] has a default that does nothing.
pub trait Plugin: Send + Sized + 'static {
    /// What the plugin is and contributes. Called before the plugin is instantiated,
    /// possibly many times: keep it cheap and pure.
    fn manifest() -> Manifest;

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

    /// A call to one of the services in the manifest. The answer is sent as JSON.
    fn on_call(&mut self, call: Call<'_>) -> Result<Value, Error> {
        Err(Error::new(format!("service {} is not implemented", call.service())))
    }

    /// The current view of one of the manifest's panels.
    fn view(&mut self, panel: &str) -> Result<View, Error> {
        Err(Error::new(format!("panel {panel} has no view")))
    }

    /// An interaction on one of the plugin's panels.
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
