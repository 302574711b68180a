//! The glue between a safe [`Plugin`] and the ABI: the root module, and a wrapper that
//! turns every panic into a [`Fault`] so that no unwind ever crosses the boundary.

use crate::{Call, Context, Error, Event, Plugin, Services};
use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSlice, RStr, RString, RVec},
};
use std::{
    any::Any,
    cell::{Cell, RefCell},
    mem::ManuallyDrop,
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
    guard("manifest", || {
        let mut manifest = P::manifest();
        manifest.services.extend(P::services().declarations());
        Ok(manifest.to_json())
    })
    .map(RString::from)
}

extern "C" fn instantiate<P: Plugin>(host: HostHandle) -> RResult<PluginBox, Fault> {
    guard("new", || Ok((P::services(), P::new(Context::new(host))?))).map(|(services, plugin)| {
        let glue = Glue { plugin: ManuallyDrop::new(plugin), services, poisoned: None };
        PluginInstance_TO::from_value(glue, TD_Opaque)
    })
}

/// A plugin plus what the glue remembers about it.
struct Glue<P: 'static> {
    /// Dropped by hand in `Drop`, where a panicking destructor is caught too: the
    /// vtable's drop is an `extern "C"` call, and an unwind there would abort the host.
    plugin: ManuallyDrop<P>,
    /// The dispatch table of the services the manifest declares.
    services: Services<P>,
    /// Set after a panic: the plugin's state may be broken, so nothing else runs.
    poisoned: Option<String>,
}

impl<P: Plugin> Glue<P> {
    fn run<T>(&mut self, entry: &str, f: impl FnOnce(&mut P) -> Result<T, Error>) -> RResult<T, Fault> {
        self.run_with_services(entry, |p, _| f(p))
    }

    fn run_with_services<T>(
        &mut self,
        entry: &str,
        f: impl FnOnce(&mut P, &Services<P>) -> Result<T, Error>,
    ) -> RResult<T, Fault> {
        if let Some(first) = &self.poisoned {
            return RResult::RErr(Fault::panic(format!("plugin already failed: {first}")));
        }
        let plugin = &mut *self.plugin;
        let services = &self.services;
        let result = guard(entry, || f(plugin, services));
        if let RResult::RErr(fault) = &result
            && fault.is_panic()
        {
            self.poisoned = Some(fault.message.to_string());
        }
        result
    }
}

impl<P: 'static> Drop for Glue<P> {
    fn drop(&mut self) {
        if self.poisoned.is_some() {
            // After a panic its invariants may be broken: leak rather than run it.
            return;
        }
        let plugin = &mut self.plugin;
        // SAFETY: dropped exactly once, here; `plugin` is not used afterwards.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(plugin) }));
        if dropped.is_err() {
            eprintln!("a plugin panicked in its destructor; the panic was contained");
        }
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
        self.run_with_services("on_call", |p, services| {
            // The refusal's reason travels as a tag at the head of the message (see
            // `Reason`); the guard turns the error's text into the fault's.
            let answer = services.dispatch(p, call).map_err(|e| Error::with(e.reason(), e.tagged()))?;
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
    /// Whether this thread is inside an entry point (where `guard` reports panics).
    static IN_ENTRY: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning an `Err` into a [`FaultKind::Error`] fault and a panic into a
/// [`FaultKind::Panic`] fault whose message names the entry point and the location.
///
/// [`FaultKind::Error`]: ucdesk_plugin_api::FaultKind::Error
/// [`FaultKind::Panic`]: ucdesk_plugin_api::FaultKind::Panic
fn guard<T>(entry: &str, f: impl FnOnce() -> Result<T, Error>) -> RResult<T, Fault> {
    install_panic_hook();
    let outer = IN_ENTRY.with(|e| e.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    IN_ENTRY.with(|e| e.set(outer));
    match outcome {
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
/// statically), so setting it here never touches the host's. Inside an entry point it
/// records the location, and the message reaches the host log via the fault. A panic
/// on a thread the plugin started itself has no fault to travel in: it is printed to
/// standard error (the host's log stream) so that it leaves a trace.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            if IN_ENTRY.with(Cell::get) {
                LAST_PANIC.with(|l| *l.borrow_mut() = at);
            } else {
                let thread = std::thread::current();
                let message = panic_message(info.payload());
                eprintln!(
                    "plugin thread '{}' panicked at {}: {message}",
                    thread.name().unwrap_or("<unnamed>"),
                    at.as_deref().unwrap_or("<unknown>")
                );
            }
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
