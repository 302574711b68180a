//! The plugin table as others read it: the running kernel's, or a survey of what would
//! start, which runs no plugin (listing must not register a phone or log in to chat).

use super::{Kernel, lock};
use crate::state::{PluginInfo, PluginState};
use std::sync::Arc;
use ucdesk_plugin_api::Manifest;

impl Kernel {
    /// [`Kernel::scan`] and dependency resolution, starting nothing: what `ucdesk
    /// plugins` shows when the app is not running. Plugins that would start are
    /// `Installed`; whether they then run (or fail) only the running app can say.
    pub fn survey(&self) -> Vec<PluginInfo> {
        self.scan();
        let order = self.inner.resolve();
        for s in lock(&self.inner.slots).iter_mut() {
            if s.info.state == PluginState::Starting && order.contains(&s.info.id) {
                s.info.set(PluginState::Installed, None);
            }
        }
        self.plugins()
    }

    /// The plugin table, in discovery order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        lock(&self.inner.slots).iter().map(|s| s.info.clone()).collect()
    }

    /// The manifest of an installed plugin (whatever its state).
    pub fn manifest(&self, id: &str) -> Option<Arc<Manifest>> {
        lock(&self.inner.slots).iter().find(|s| s.info.id == id).and_then(|s| s.manifest.clone())
    }
}
