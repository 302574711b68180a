//! The glue between a safe [`Plugin`] and the ABI: the root module, and a wrapper that
//! turns every panic into a [`Fault`] so that no unwind ever crosses the boundary.

use crate::{Call, Context, Error, Event, Plugin};
use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSlice, RStr, RString, RVec},
};
use std::{
    any::Any,
    cell::RefCell,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Once,
};
use ucdesk_plugin_api::{
    Fault, HostHandle, PluginBox, PluginInstance, PluginInstance_TO, PluginMod, PluginModRef, view::UiEvent,
};

/// The root module for plugin type `P`; called by `export_plugin!`.
pub fn root_module<P: Plugin>() -> PluginModRef {
    PluginMod { manifest: manifest::<P>, instantiate: instantiate::<P> }.leak_into_prefix()
}

extern "C" fn manifest<P: Plugin>() -> RResult<RString, Fault> {
    guard("manifest", || Ok(P::manifest().to_json())).map(RString::from)
}

extern "C" fn instantiate<P: Plugin>(host: HostHandle) -> RResult<PluginBox, Fault> {
    guard("new", || P::new(Context::new(host)))
        .map(|plugin| PluginInstance_TO::from_value(Glue { plugin, poisoned: None }, TD_Opaque))
}

/// A plugin plus what the glue remembers about it.
struct Glue<P> {
    plugin: P,
    /// Set after a panic: the plugin's state may be broken, so nothing else runs.
    poisoned: Option<String>,
}

impl<P: Plugin> Glue<P> {
    fn run<T>(&mut self, entry: &str, f: impl FnOnce(&mut P) -> Result<T, Error>) -> RResult<T, Fault> {
        if let Some(first) = &self.poisoned {
            return RResult::RErr(Fault::panic(format!("plugin already failed: {first}")));
        }
        let plugin = &mut self.plugin;
        let result = guard(entry, || f(plugin));
        if let RResult::RErr(fault) = &result
            && fault.is_panic()
        {
            self.poisoned = Some(fault.message.to_string());
        }
        result
    }
}

impl<P: Plugin> PluginInstance for Glue<P> {
    fn start(&mut self) -> RResult<(), Fault> {
        self.run("start", |p| p.start())
    }

    fn on_event(
        &mut self,
        topic: RStr<'_>,
        source: RStr<'_>,
        schema: RStr<'_>,
        payload: RSlice<'_, u8>,
    ) -> RResult<(), Fault> {
        let event = Event {
            topic: topic.as_str(),
            source: source.as_str(),
            schema: schema.as_str(),
            payload: payload.as_slice(),
        };
        self.run("on_event", |p| p.on_event(event))
    }

    fn on_call(&mut self, service: RStr<'_>, request: RSlice<'_, u8>) -> RResult<RVec<u8>, Fault> {
        let call = Call::new(service.as_str(), request.as_slice());
        self.run("on_call", |p| {
            let answer = p.on_call(call)?;
            Ok(RVec::from(serde_json::to_vec(&answer)?))
        })
    }

    fn view(&mut self, panel: RStr<'_>) -> RResult<RVec<u8>, Fault> {
        self.run("view", |p| Ok(RVec::from(p.view(panel.as_str())?.to_bytes())))
    }

    fn on_ui(&mut self, panel: RStr<'_>, event: RSlice<'_, u8>) -> RResult<(), Fault> {
        self.run("on_ui", |p| {
            let event: UiEvent = serde_json::from_slice(event.as_slice())?;
            p.on_ui(panel.as_str(), event)
        })
    }

    fn stop(&mut self) -> RResult<(), Fault> {
        self.run("stop", |p| p.stop())
    }
}

thread_local! {
    /// Where the last panic on this thread happened, recorded by our hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`, turning an `Err` into a [`FaultKind::Error`] fault and a panic into a
/// [`FaultKind::Panic`] fault whose message names the entry point and the location.
///
/// [`FaultKind::Error`]: ucdesk_plugin_api::FaultKind::Error
/// [`FaultKind::Panic`]: ucdesk_plugin_api::FaultKind::Panic
fn guard<T>(entry: &str, f: impl FnOnce() -> Result<T, Error>) -> RResult<T, Fault> {
    install_panic_hook();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(Fault::error(e.to_string())),
        Err(payload) => {
            let location = LAST_PANIC.with(|l| l.borrow_mut().take());
            let message = panic_message(&*payload);
            let message = match location {
                Some(at) => format!("in {entry} at {at}: {message}"),
                None => format!("in {entry}: {message}"),
            };
            // The payload's destructor is plugin code too; a panicking Drop must not
            // escape either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            RResult::RErr(Fault::panic(message))
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// This library's own copy of std has its own panic hook (each cdylib links std
/// statically), so setting it here never touches the host's. Instead of printing to
/// stderr it records the location; the message reaches the host log via the fault.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            LAST_PANIC.with(|l| *l.borrow_mut() = at);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_faults_with_location() {
        let r: RResult<(), Fault> = guard("start", || panic!("boom {}", 7));
        let fault = r.unwrap_err();
        assert!(fault.is_panic());
        assert!(fault.message.contains("in start at"), "{}", fault.message);
        assert!(fault.message.ends_with("boom 7"), "{}", fault.message);
        let r: RResult<(), Fault> = guard("start", || Err(Error::new("nope")));
        assert_eq!(r.unwrap_err(), Fault::error("nope"));
    }
}
