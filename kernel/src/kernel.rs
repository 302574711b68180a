//! The kernel proper: the activation pipeline, the plugin table, service routing,
//! views and shutdown; settings and secrets in `kernel/settings_api.rs`.
//!
//! Activation runs, per discovered library: policy gate (before loading) -> open
//! (abi_stable layout + our version rule) -> manifest -> license/policy gate (after
//! the manifest) -> dependency resolution -> instantiate + start on the plugin's own
//! thread, dependencies first. Every refusal leaves the plugin in a state with a
//! human reason; the others run.

use crate::{
    actor::{self, ActorHandle, Msg},
    bus::{Bus, BusEvent, DEFAULT_QUEUE, Queue},
    discovery::{self, Candidate},
    error::KernelError,
    gate::{Gate, Verdict},
    home::Home,
    licensing::{self, LicenseGate, LicenseStatus},
    pixels::{Frame, Pixels},
    policy::{Policy, PolicyGate},
    resolve::{self, Node},
    secrets::{self, SecretStore},
    settings::SettingsStore,
    state::{PluginInfo, PluginState},
};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        Arc, Mutex, MutexGuard, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use ucdesk_plugin_api::{
    CallError, CallErrorKind, Manifest, PluginModRef,
    contract::{Contract, kernel as notices},
    open_plugin_library,
    view::UiEvent,
};

mod own_services;
mod settings_api;
mod table;

/// The kernel's own service: the license's state, edition, features and limits, for
/// plugins that enforce limits (meeting minutes, participants, seats).
pub const KERNEL_LICENSE_SERVICE: &str = notices::LICENSE;

/// How the kernel is set up.
pub struct KernelConfig {
    pub home: Home,
    /// Plugin directories, highest precedence first (see [`discovery::search_path`]).
    pub plugin_dirs: Vec<PathBuf>,
    /// Length of each subscriber's bus queue.
    pub bus_capacity: usize,
    /// How long `new` + `start` (+ first views) may take before the plugin is failed.
    pub start_timeout: Duration,
    /// How long `stop` may take at shutdown before the kernel moves on.
    pub stop_timeout: Duration,
    /// Policy and licensing decisions.
    pub gate: Arc<dyn Gate>,
    /// The installed license (answers the `kernel.license` service).
    pub license: Arc<LicenseStatus>,
    /// The admin's deployment policy, if any (its settings are applied at start).
    pub policy: Option<Policy>,
}

impl KernelConfig {
    /// A kernel for `home` that trusts this build's vendor key and reads the license
    /// installed in the profile; no deployment policy.
    pub fn new(home: Home, plugin_dirs: Vec<PathBuf>) -> Self {
        KernelConfig::with_policy(home, plugin_dirs, None)
    }

    /// As [`KernelConfig::new`], under an admin's deployment policy: it filters plugins
    /// before the license does, adds trusted keys, and presets or locks settings.
    pub fn with_policy(home: Home, plugin_dirs: Vec<PathBuf>, policy: Option<Policy>) -> Self {
        let license = Arc::new(LicenseStatus::load(
            &home.license_file(),
            &licensing::trust(policy.as_ref()),
            ucdesk_license::Date::today(),
            policy.as_ref().and_then(|p| p.server_domain.as_deref()),
            policy.as_ref().and_then(|p| p.license_warn_days).unwrap_or(licensing::DEFAULT_WARN_DAYS),
        ));
        let license_gate = LicenseGate(license.clone());
        let gate: Arc<dyn Gate> = match &policy {
            Some(p) => Arc::new(PolicyGate::new(p.clone(), license_gate, home.runtime.join("verified"))),
            None => Arc::new(license_gate),
        };
        KernelConfig {
            home,
            plugin_dirs,
            bus_capacity: DEFAULT_QUEUE,
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(5),
            gate,
            license,
            policy,
        }
    }
}

/// One row of the plugin table.
struct Slot {
    info: PluginInfo,
    manifest: Option<Arc<Manifest>>,
    module: Option<PluginModRef>,
    actor: Option<ActorHandle>,
}

type ViewListener = Arc<dyn Fn(&str, &str) + Send + Sync>;
/// Latest view JSON by `(plugin id, panel id)`.
type ViewCache = HashMap<(String, String), Arc<Vec<u8>>>;

pub(crate) struct Inner {
    pub(crate) config: KernelConfig,
    pub(crate) bus: Bus,
    pub(crate) settings: SettingsStore,
    pub(crate) secrets: SecretStore,
    slots: Mutex<Vec<Slot>>,
    /// service name -> provider id, for active plugins only.
    services: RwLock<HashMap<String, String>>,
    views: Mutex<ViewCache>,
    pixels: Mutex<Pixels>,
    view_listener: RwLock<Option<ViewListener>>,
    /// Ids in the order they started; stopped in reverse.
    started: Mutex<Vec<String>>,
    /// Set by shutdown: an activation still running on another thread starts no more.
    closing: AtomicBool,
}

/// A running kernel. Cheap to clone; all methods are safe to call from any thread and
/// never wait on a plugin longer than the timeout they are given.
#[derive(Clone)]
pub struct Kernel {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a kernel lock would be our bug, not a plugin's (plugin code
    // never runs under these locks); the data is still consistent enough to go on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Kernel {
    pub fn new(config: KernelConfig) -> Result<Kernel, KernelError> {
        let mut settings = SettingsStore::open(&config.home.settings_file())?;
        if let Some(policy) = &config.policy {
            policy.apply_settings(&mut settings)?;
        }
        let secrets = secrets::profile_store(&config.home)?;
        let bus = Bus::new(config.bus_capacity);
        Ok(Kernel {
            inner: Arc::new(Inner {
                config,
                bus,
                settings,
                secrets,
                slots: Mutex::new(Vec::new()),
                services: RwLock::default(),
                views: Mutex::default(),
                pixels: Mutex::default(),
                view_listener: RwLock::default(),
                started: Mutex::default(),
                closing: AtomicBool::new(false),
            }),
        })
    }

    pub fn home(&self) -> &Home {
        &self.inner.config.home
    }

    /// The admin's deployment policy this kernel runs under, if any.
    pub fn policy(&self) -> Option<&Policy> {
        self.inner.config.policy.as_ref()
    }

    /// The installed license as this kernel judged it at start.
    pub fn license(&self) -> &LicenseStatus {
        &self.inner.config.license
    }

    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// Discovers and checks every plugin without starting any: fills the plugin table
    /// with manifests and with the states of those that cannot run.
    pub fn scan(&self) {
        let found = discovery::discover(&self.inner.config.plugin_dirs);
        let mut slots = Vec::new();
        for c in found.candidates {
            slots.push(self.inner.check(&c));
        }
        for (c, winner) in found.shadowed {
            let mut info = PluginInfo::new(&c.id, c.path);
            info.set(PluginState::Disabled, Some(format!("shadowed by {}", winner.display())));
            slots.push(Slot { info, manifest: None, module: None, actor: None });
        }
        *lock(&self.inner.slots) = slots;
    }

    /// [`Kernel::scan`], then resolves dependencies and starts every plugin that can
    /// run, dependencies first. Returns the plugin table.
    pub fn activate(&self) -> Vec<PluginInfo> {
        match self.inner.config.license.as_ref() {
            LicenseStatus::Valid { warning: Some(w), .. } => tracing::warn!("{w}"),
            LicenseStatus::Refused(r) => tracing::warn!("license refused: {r}"),
            LicenseStatus::Invalid { reason, .. } => tracing::warn!("{reason}"),
            _ => {}
        }
        self.scan();
        let order = self.inner.resolve();
        for id in order {
            self.inner.start_one(&id);
        }
        self.plugins()
    }

    /// Calls a service from outside any plugin (control socket, shell).
    pub fn call(&self, service: &str, request: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, CallError> {
        self.inner.call(None, service, request, timeout)
    }

    /// A queue receiving every event whose topic starts with `prefix`; drop it with
    /// [`Kernel::unsubscribe_all`]. Same overflow policy as plugins.
    pub fn subscribe_client(&self, owner: &str, prefix: &str) -> Arc<Queue> {
        let q = self.inner.bus.queue(owner);
        self.inner.bus.subscribe(prefix, &q);
        q
    }

    pub fn unsubscribe_all(&self, queue: &Arc<Queue>) {
        self.inner.bus.remove(queue);
    }

    /// The latest view (JSON) of a plugin's panel.
    pub fn view(&self, plugin: &str, panel: &str) -> Option<Arc<Vec<u8>>> {
        lock(&self.inner.views).get(&(plugin.to_string(), panel.to_string())).cloned()
    }

    /// An image a plugin published (encoded bytes), by the hash its views name it by.
    pub fn image(&self, hash: &str) -> Option<Arc<Vec<u8>>> {
        lock(&self.inner.pixels).image(hash)
    }

    /// The latest frame of a plugin's video surface.
    pub fn frame(&self, plugin: &str, surface: &str) -> Option<Arc<Frame>> {
        lock(&self.inner.pixels).frame(plugin, surface)
    }

    /// Called (on a plugin's thread) whenever a view or a surface changes (with the
    /// panel or surface id); the shell requests a repaint from it.
    pub fn set_view_listener(&self, f: impl Fn(&str, &str) + Send + Sync + 'static) {
        *self.inner.view_listener.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(f));
    }

    /// Asks a plugin to render a panel again; the new view arrives through the view
    /// listener. Never waits.
    pub fn refresh_view(&self, plugin: &str, panel: &str) -> Result<(), CallError> {
        self.inner.send(plugin, Msg::View { panel: panel.to_string() })
    }

    /// Sends a UI interaction to the panel's plugin. Never waits.
    pub fn ui_event(&self, plugin: &str, panel: &str, event: &UiEvent) -> Result<(), CallError> {
        let bytes = serde_json::to_vec(event).expect("UiEvent serializes");
        self.inner.send(plugin, Msg::Ui { panel: panel.to_string(), event: bytes })
    }

    /// Stops every running plugin, dependents first, and waits for each up to the stop
    /// timeout.
    pub fn shutdown(&self) {
        let order: Vec<String> = {
            // Under the slots lock: a plugin finishing its start sees `closing` or is
            // already in `started`.
            let _slots = lock(&self.inner.slots);
            self.inner.closing.store(true, Ordering::Release);
            lock(&self.inner.started).iter().rev().cloned().collect()
        };
        for id in order {
            self.inner.stop_one(&id, PluginState::Stopped, None);
        }
    }
}

impl Inner {
    /// Gate, open, read and check one candidate.
    fn check(&self, c: &Candidate) -> Slot {
        let mut slot =
            Slot { info: PluginInfo::new(&c.id, c.path.clone()), manifest: None, module: None, actor: None };
        let info = &mut slot.info;
        // The gate may hand back a private copy of the bytes it verified, so that the
        // file cannot be swapped between the check and the load.
        let load_path = match self.config.gate.before_load(c) {
            Verdict::Allow => c.path.clone(),
            Verdict::LoadFrom(verified) => verified,
            Verdict::Refuse(r) => {
                info.set(PluginState::Refused, Some(r));
                return slot;
            }
            Verdict::Lock(r) => {
                info.set(PluginState::Locked, Some(r));
                return slot;
            }
        };
        let module = match open_plugin_library(&load_path) {
            Ok(m) => m,
            Err(e) => {
                info.set(PluginState::Incompatible, Some(e.to_string()));
                return slot;
            }
        };
        let manifest = match (module.manifest())().into_result() {
            Ok(json) => match Manifest::from_json(&json) {
                Ok(m) => m,
                Err(e) => {
                    info.set(PluginState::Incompatible, Some(e.to_string()));
                    return slot;
                }
            },
            Err(fault) => {
                info.set(PluginState::Failed, Some(format!("manifest: {fault}")));
                return slot;
            }
        };
        info.fill_from(&manifest);
        if manifest.id != c.id {
            info.set(
                PluginState::Incompatible,
                Some(format!(
                    "manifest says id '{}' but the file is named for '{}'; rename it to {}",
                    manifest.id,
                    c.id,
                    discovery::library_file_name(&manifest.id)
                )),
            );
            return slot;
        }
        match self.config.gate.after_manifest(&manifest, c) {
            Verdict::Allow | Verdict::LoadFrom(_) => {}
            Verdict::Refuse(r) => info.set(PluginState::Refused, Some(r)),
            Verdict::Lock(r) => info.set(PluginState::Locked, Some(r)),
        }
        slot.manifest = Some(Arc::new(manifest));
        slot.module = Some(module);
        slot
    }

    /// Resolves dependencies among the plugins still `Starting`; disables the others
    /// with their reason and returns the start order.
    fn resolve(&self) -> Vec<String> {
        let mut slots = lock(&self.slots);
        let mut nodes = Vec::new();
        let mut unavailable = BTreeMap::new();
        for s in slots.iter() {
            match (&s.info.state, &s.manifest) {
                (PluginState::Starting, Some(m)) => nodes.push(Node {
                    id: m.id.clone(),
                    version: m.version.clone(),
                    requires: m.requires.clone(),
                    provides: m.provides.clone(),
                }),
                // Shadowed copies come after their winner, which names the id first.
                (state, _) => {
                    unavailable.entry(s.info.id.clone()).or_insert_with(|| state.to_string());
                }
            }
        }
        let resolution = resolve::resolve(&nodes, &unavailable);
        for s in slots.iter_mut() {
            if let Some(reason) = resolution.disabled.get(&s.info.id) {
                s.info.set(PluginState::Disabled, Some(reason.clone()));
            }
        }
        resolution.order
    }

    /// Starts one plugin whose dependencies are all active; otherwise disables it.
    fn start_one(self: &Arc<Self>, id: &str) {
        let (module, manifest) = {
            let mut slots = lock(&self.slots);
            if self.closing.load(Ordering::Acquire) {
                return;
            }
            let Some(slot) = slots.iter().find(|s| s.info.id == id) else { return };
            let (Some(module), Some(manifest)) = (slot.module, slot.manifest.clone()) else { return };
            // A dependency may have failed while starting.
            if let Some(reason) = unmet_dependency(&slots, &manifest) {
                set_state(&mut slots, id, PluginState::Disabled, Some(reason));
                return;
            }
            (module, manifest)
        };
        let queue = self.bus.queue(format!("plugin:{id}"));
        let outcome = actor::spawn(
            Arc::downgrade(self),
            module,
            manifest.clone(),
            queue.clone(),
            self.config.start_timeout,
        );
        let handle = match outcome {
            Ok(handle) => handle,
            Err(reason) => {
                self.bus.remove(&queue);
                set_state(&mut lock(&self.slots), id, PluginState::Failed, Some(reason.clone()));
                tracing::error!(plugin = id, "failed to start: {reason}");
                self.announce(id, PluginState::Failed, Some(reason));
                return;
            }
        };
        // Starting took time: shutdown may have begun, or a dependency may have failed
        // (its cascade could not see this plugin, which was not active yet).
        let mut slots = lock(&self.slots);
        let veto = if self.closing.load(Ordering::Acquire) {
            Some((PluginState::Stopped, None))
        } else {
            unmet_dependency(&slots, &manifest).map(|reason| (PluginState::Disabled, Some(reason)))
        };
        if let Some((state, reason)) = veto {
            set_state(&mut slots, id, state, reason);
            drop(slots);
            self.bus.remove(&queue);
            if let Err(why) = handle.stop(self.config.stop_timeout) {
                tracing::warn!(plugin = id, "{why}");
            }
            return;
        }
        let Some(slot) = slots.iter_mut().find(|s| s.info.id == id) else { return };
        slot.actor = Some(handle);
        slot.info.set(PluginState::Active, None);
        let mut services = self.services.write().unwrap_or_else(|p| p.into_inner());
        for s in &manifest.services {
            services.insert(s.name.clone(), id.to_string());
        }
        // Under the slots lock, so shutdown (which takes it to read this list) sees it.
        lock(&self.started).push(id.to_string());
        drop(services);
        drop(slots);
        tracing::info!(plugin = id, "started");
        self.announce(id, PluginState::Active, None);
    }

    /// Publishes a `kernel.plugin_state` event.
    fn announce(&self, id: &str, state: PluginState, reason: Option<String>) {
        let notice = notices::PluginState { id: id.to_string(), state: state.to_string(), reason };
        self.bus.publish(BusEvent {
            topic: notices::TOPIC_PLUGIN_STATE.into(),
            source: "kernel".into(),
            schema: notices::PluginState::SCHEMA.into(),
            payload: notice.to_bytes(),
        });
    }

    /// Sends a message to a running plugin's mailbox without waiting.
    /// Tells plugin `id` that its setting `name` changed, whoever changed it (the
    /// CLI, the preferences page, or the plugin itself from a panel toggle): its
    /// settings handler is the one place that applies settings.
    pub(crate) fn setting_changed(&self, id: &str, name: &str, value: Value) {
        let notice = notices::SettingChanged { name: name.to_string(), value };
        let event = BusEvent {
            topic: notices::TOPIC_SETTING_CHANGED.into(),
            source: "kernel".into(),
            schema: notices::SettingChanged::SCHEMA.into(),
            payload: notice.to_bytes(),
        };
        // Not running is fine: the plugin reads the new value when it starts.
        let _ = self.send(id, Msg::Notice(Arc::new(event)));
    }

    pub(crate) fn send(&self, id: &str, msg: Msg) -> Result<(), CallError> {
        let tx = {
            let slots = lock(&self.slots);
            let slot = slots.iter().find(|s| s.info.id == id).ok_or_else(|| {
                CallError::new(CallErrorKind::Unavailable, format!("no plugin '{id}' is installed"))
            })?;
            match (&slot.actor, slot.info.state) {
                (Some(a), PluginState::Active) => a.control.clone(),
                (_, state) => {
                    return Err(CallError::new(
                        CallErrorKind::Unavailable,
                        format!("plugin '{id}' is {state}{}", reason_suffix(&slot.info.reason)),
                    ));
                }
            }
        };
        tx.try_send(msg).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => {
                CallError::new(CallErrorKind::Busy, format!("plugin '{id}' is busy (mailbox full)"))
            }
            crossbeam_channel::TrySendError::Disconnected(_) => {
                CallError::new(CallErrorKind::Unavailable, format!("plugin '{id}' is not running"))
            }
        })
    }

    /// Routes a service call to its provider and waits up to `timeout`.
    pub(crate) fn call(
        &self,
        caller: Option<&str>,
        service: &str,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        if let Some(answer) = self.own_service(caller, service, &request) {
            return answer;
        }
        let provider = self.services.read().unwrap_or_else(|p| p.into_inner()).get(service).cloned();
        let Some(provider) = provider else {
            let owner = service.split('.').next().unwrap_or_default();
            let why = match lock(&self.slots).iter().find(|s| s.info.id == owner) {
                Some(s) if s.info.state != PluginState::Active => {
                    let reason = reason_suffix(&s.info.reason);
                    return Err(CallError::new(
                        CallErrorKind::Unavailable,
                        format!(
                            "service {service} is unavailable: plugin '{owner}' is {}{reason}",
                            s.info.state
                        ),
                    ));
                }
                Some(_) => format!("plugin '{owner}' provides no service {service}"),
                None => format!("no plugin provides {service}"),
            };
            return Err(CallError::new(
                CallErrorKind::UnknownService,
                format!("unknown service {service}: {why}"),
            ));
        };
        if caller == Some(provider.as_str()) {
            // The caller's own thread would have to answer: it would wait for itself.
            return Err(CallError::new(
                CallErrorKind::Refused,
                format!("plugin '{provider}' called its own service {service}; call the code directly"),
            ));
        }
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.send(&provider, Msg::Call { service: service.to_string(), request, reply: reply_tx })?;
        match reply_rx.recv_timeout(timeout) {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(fault)) if fault.is_panic() => Err(CallError::new(
                CallErrorKind::Panicked,
                format!("plugin '{provider}' failed while handling {service}: {fault}"),
            )),
            Ok(Err(fault)) => Err(CallError::new(CallErrorKind::Refused, fault.message.to_string())),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(CallError::new(
                CallErrorKind::Timeout,
                format!("{service} timed out after {} ms", timeout.as_millis()),
            )),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(CallError::new(
                CallErrorKind::Unavailable,
                format!("plugin '{provider}' stopped before answering {service}"),
            )),
        }
    }

    /// Keeps a panel's new view and wakes the shell, unless it is the same tree again:
    /// plugins republish on timers, and an unchanged tree must not cost a frame.
    pub(crate) fn store_view(&self, id: &str, panel: &str, view: Vec<u8>) {
        {
            let mut views = lock(&self.views);
            let key = (id.to_string(), panel.to_string());
            if views.get(&key).is_some_and(|old| **old == view) {
                return;
            }
            views.insert(key, Arc::new(view));
        }
        self.changed(id, panel);
    }

    pub(crate) fn store_image(&self, hash: &str, bytes: Vec<u8>) {
        lock(&self.pixels).add_image(hash, bytes);
    }

    pub(crate) fn store_frame(&self, id: &str, surface: &str, width: u32, height: u32, rgba: Vec<u8>) {
        if lock(&self.pixels).set_frame(id, surface, width, height, rgba) {
            self.changed(id, surface);
        } else {
            tracing::warn!(plugin = id, "published a frame for {surface} whose size is not width*height*4");
        }
    }

    fn changed(&self, id: &str, what: &str) {
        let listener = self.view_listener.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(f) = listener {
            f(id, what);
        }
    }

    /// A plugin panicked (its actor has already left its loop and dropped its
    /// mailbox): marks it failed and stops routing to it. Fast; the caller then answers
    /// whoever was waiting and calls [`Inner::disable_dependents`].
    pub(crate) fn mark_failed(&self, id: &str, reason: String) {
        tracing::error!(plugin = id, "plugin failed: {reason}");
        if self.unroute(id, PluginState::Failed, Some(reason.clone())).is_some() {
            self.announce(id, PluginState::Failed, Some(reason));
        }
    }

    /// Stops the active plugins that require `id` (which failed), dependents of
    /// dependents first.
    pub(crate) fn disable_dependents(&self, id: &str) {
        for dependent in self.dependents_of(id) {
            self.stop_one(&dependent, PluginState::Disabled, Some(format!("requires '{id}', which failed")));
        }
    }

    /// Removes a plugin from routing and sets its final state; returns its actor, or
    /// None when another path (shutdown, a cascade) already took it.
    fn unroute(&self, id: &str, state: PluginState, reason: Option<String>) -> Option<ActorHandle> {
        let actor = {
            let mut slots = lock(&self.slots);
            let slot = slots.iter_mut().find(|s| s.info.id == id)?;
            let actor = slot.actor.take()?;
            slot.info.set(state, reason);
            actor
        };
        actor.alive.store(false, Ordering::Release);
        self.bus.remove(&actor.queue);
        self.services.write().unwrap_or_else(|p| p.into_inner()).retain(|_, p| p != id);
        lock(&self.started).retain(|s| s != id);
        lock(&self.views).retain(|(plugin, _), _| plugin != id);
        lock(&self.pixels).forget_plugin(id);
        Some(actor)
    }

    /// Active plugins that (transitively) require `id`, in reverse start order (so
    /// that each stops before what it requires).
    fn dependents_of(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        {
            let slots = lock(&self.slots);
            let mut frontier = vec![id.to_string()];
            while let Some(current) = frontier.pop() {
                for s in slots.iter() {
                    let requires_current =
                        s.manifest.as_ref().is_some_and(|m| m.requires.iter().any(|d| d.id == current));
                    if requires_current && s.info.state == PluginState::Active && !out.contains(&s.info.id) {
                        out.push(s.info.id.clone());
                        frontier.push(s.info.id.clone());
                    }
                }
            }
        }
        let started = lock(&self.started);
        let position = |id: &String| started.iter().position(|s| s == id).unwrap_or(usize::MAX);
        out.sort_by_key(|id| std::cmp::Reverse(position(id)));
        out
    }

    /// Stops one plugin: unroutes it, asks it to stop, waits up to the stop timeout.
    fn stop_one(&self, id: &str, state: PluginState, reason: Option<String>) {
        let Some(actor) = self.unroute(id, state, reason.clone()) else {
            return;
        };
        if let Err(why) = actor.stop(self.config.stop_timeout) {
            tracing::warn!(plugin = id, "{why}");
        }
        if state != PluginState::Stopped {
            self.announce(id, state, reason);
        }
    }
}

/// Why `manifest` cannot start now: a dependency that is not active.
fn unmet_dependency(slots: &[Slot], manifest: &Manifest) -> Option<String> {
    manifest.requires.iter().find_map(|dep| {
        let state = slots.iter().find(|s| s.info.id == dep.id).map(|s| s.info.state);
        (state != Some(PluginState::Active)).then(|| {
            let state = state.map_or("missing".to_string(), |s| s.to_string());
            format!("requires '{}', which is {state}", dep.id)
        })
    })
}

fn set_state(slots: &mut [Slot], id: &str, state: PluginState, reason: Option<String>) {
    if let Some(slot) = slots.iter_mut().find(|s| s.info.id == id) {
        slot.info.set(state, reason);
    }
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
}
