//! The kernel's side of [`Host`]: what a plugin's calls into the host do.
//!
//! Each plugin gets its own `PluginHost`, which knows the plugin's id (so events carry
//! their source and settings stay in the plugin's namespace). Once the plugin has left
//! routing (stopping, stopped or failed), the handle goes quiet towards everyone else —
//! publishing, subscribing, calling and views do nothing, even from the plugin's own
//! threads — while the plugin's own settings, secrets and data directory stay readable
//! so that its `stop` can still save what it must.

use crate::{bus::BusEvent, bus::Queue, kernel::Inner};
use abi_stable::std_types::{ROption, RResult, RStr, RString, RVec};
use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use ucdesk_plugin_api::{CallError, CallErrorKind, Host, Manifest, SettingKind, view::View};

#[derive(Clone)]
pub(crate) struct PluginHost {
    inner: Weak<Inner>,
    manifest: Arc<Manifest>,
    queue: Arc<Queue>,
    alive: Arc<AtomicBool>,
}

impl PluginHost {
    pub fn new(
        inner: Weak<Inner>,
        manifest: Arc<Manifest>,
        queue: Arc<Queue>,
        alive: Arc<AtomicBool>,
    ) -> Self {
        PluginHost { inner, manifest, queue, alive }
    }

    fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The kernel, while it exists and the plugin is routed.
    fn kernel(&self) -> Option<Arc<Inner>> {
        if !self.alive.load(Ordering::Acquire) {
            return None;
        }
        self.inner.upgrade()
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.id())
    }
}

impl Host for PluginHost {
    fn publish(&self, topic: RStr<'_>, schema: RStr<'_>, payload: RVec<u8>) {
        let Some(k) = self.kernel() else { return };
        k.bus.publish(BusEvent {
            topic: topic.to_string(),
            source: self.id().to_string(),
            schema: schema.to_string(),
            payload: payload.into_vec(),
        });
    }

    fn subscribe(&self, prefix: RStr<'_>) {
        if let Some(k) = self.kernel() {
            k.bus.subscribe(prefix.as_str(), &self.queue);
            // The kernel may have unrouted the plugin meanwhile (it clears `alive`
            // before removing the queue): do not leave a dead queue subscribed.
            if !self.alive.load(Ordering::Acquire) {
                k.bus.remove(&self.queue);
            }
        }
    }

    fn unsubscribe(&self, prefix: RStr<'_>) {
        if let Some(k) = self.kernel() {
            k.bus.unsubscribe(prefix.as_str(), &self.queue);
        }
    }

    fn call(&self, service: RStr<'_>, request: RVec<u8>, timeout_ms: u64) -> RResult<RVec<u8>, CallError> {
        let Some(k) = self.kernel() else {
            return RResult::RErr(CallError::new(
                CallErrorKind::Unavailable,
                "the calling plugin is no longer active",
            ));
        };
        k.call(Some(self.id()), service.as_str(), request.into_vec(), Duration::from_millis(timeout_ms))
            .map(RVec::from)
            .into()
    }

    fn publish_view(&self, panel: RStr<'_>, view: RVec<u8>) {
        let Some(k) = self.kernel() else { return };
        if !self.manifest.panels.iter().any(|p| p.id == panel.as_str()) {
            tracing::warn!(plugin = self.id(), "published a view for undeclared panel {panel}");
            return;
        }
        if let Err(e) = View::from_bytes(&view) {
            tracing::warn!(plugin = self.id(), "published an invalid view for {panel}: {e}");
            return;
        }
        k.store_view(self.id(), panel.as_str(), view.into_vec());
    }

    fn publish_image(&self, hash: RStr<'_>, bytes: RVec<u8>) {
        let Some(k) = self.kernel() else { return };
        k.store_image(hash.as_str(), bytes.into_vec());
    }

    fn publish_frame(&self, surface: RStr<'_>, width: u32, height: u32, rgba: RVec<u8>) {
        let Some(k) = self.kernel() else { return };
        k.store_frame(self.id(), surface.as_str(), width, height, rgba.into_vec());
    }

    fn log(&self, level: u8, message: RStr<'_>) {
        let (id, message) = (self.id(), message.as_str());
        match level {
            0 | 1 => tracing::error!(target: "plugin", plugin = id, "{message}"),
            2 => tracing::warn!(target: "plugin", plugin = id, "{message}"),
            3 => tracing::info!(target: "plugin", plugin = id, "{message}"),
            4 => tracing::debug!(target: "plugin", plugin = id, "{message}"),
            _ => tracing::trace!(target: "plugin", plugin = id, "{message}"),
        }
    }

    fn setting(&self, name: RStr<'_>) -> ROption<RString> {
        let Some(k) = self.inner.upgrade() else {
            return ROption::RNone;
        };
        if self.manifest.setting(name.as_str()).is_none_or(|d| d.kind == SettingKind::Secret) {
            return ROption::RNone;
        }
        k.settings
            .get(&self.key(name.as_str()), Some(&self.manifest))
            .map(|v| RString::from(v.to_string()))
            .into()
    }

    fn set_setting(&self, name: RStr<'_>, json: RStr<'_>) -> RResult<(), RString> {
        let Some(k) = self.inner.upgrade() else {
            return RResult::RErr("the kernel is gone".into());
        };
        let value: serde_json::Value = match serde_json::from_str(json.as_str()) {
            Ok(v) => v,
            Err(e) => return RResult::RErr(format!("not JSON: {e}").into()),
        };
        match k.settings.set(&self.key(name.as_str()), value.clone(), &self.manifest) {
            Ok(()) => {
                k.setting_changed(self.id(), name.as_str(), value);
                RResult::ROk(())
            }
            Err(e) => RResult::RErr(RString::from(e.to_string())),
        }
    }

    fn secret(&self, name: RStr<'_>) -> RResult<ROption<RString>, RString> {
        let Some(k) = self.inner.upgrade() else {
            return RResult::RErr("the kernel is gone".into());
        };
        if self.manifest.setting(name.as_str()).is_none_or(|d| d.kind != SettingKind::Secret) {
            return RResult::RErr(format!("{} does not declare a secret named {name}", self.id()).into());
        }
        match k.secrets.get(&self.key(name.as_str())) {
            Ok(v) => RResult::ROk(v.map(RString::from).into()),
            Err(e) => RResult::RErr(e.to_string().into()),
        }
    }

    fn data_dir(&self) -> RString {
        let Some(k) = self.inner.upgrade() else {
            return RString::new();
        };
        let dir = k.config.home.plugin_data(self.id());
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(plugin = self.id(), "cannot create {}: {e}", dir.display());
        }
        RString::from(dir.to_string_lossy().as_ref())
    }
}
