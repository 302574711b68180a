//! A builder for [`Manifest`] so plugins declare themselves in a few readable lines.

use serde_json::Value;
use ucdesk_plugin_api::{
    ContactActionDecl, Dependency, LoginField, Manifest, PanelDecl, PanelSlot, SettingDecl, SettingKind,
    api_version,
};

/// Builds a [`Manifest`]; start with [`ManifestBuilder::new`] (or `Manifest::build`
/// through [`ManifestExt`]). Invalid input (a bad semver requirement) panics, which
/// the glue reports as a failed plugin with the message: manifests are code, not data.
pub struct ManifestBuilder(Manifest);

impl ManifestBuilder {
    /// `version` is usually `env!("CARGO_PKG_VERSION")`.
    pub fn new(id: &str, version: &str) -> Self {
        ManifestBuilder(Manifest {
            id: id.to_string(),
            name: id.to_string(),
            version: version.parse().unwrap_or_else(|e| panic!("plugin version {version:?}: {e}")),
            api_version: api_version(),
            description: String::new(),
            requires: Vec::new(),
            feature: None,
            panels: Vec::new(),
            settings: Vec::new(),
            services: Vec::new(),
            provides: Vec::new(),
            contact_actions: Vec::new(),
        })
    }

    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.to_string();
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        self.0.description = text.to_string();
        self
    }

    /// Requires another plugin, e.g. `.requires("softphone", "^1.2")`.
    pub fn requires(mut self, id: &str, version_req: &str) -> Self {
        let version =
            version_req.parse().unwrap_or_else(|e| panic!("requirement {version_req:?} on {id}: {e}"));
        self.0.requires.push(Dependency { id: id.to_string(), version });
        self
    }

    /// The license feature that unlocks the plugin.
    pub fn feature(mut self, feature: &str) -> Self {
        self.0.feature = Some(feature.to_string());
        self
    }

    /// A module panel (a toolbar button that opens it).
    pub fn panel(self, id: &str, title: &str) -> Self {
        self.panel_in(id, title, PanelSlot::Module)
    }

    /// A panel in another place of the main window (user card, quick list, phone
    /// area, status bar).
    pub fn panel_in(mut self, id: &str, title: &str, slot: PanelSlot) -> Self {
        self.0.panels.push(PanelDecl { id: id.into(), title: title.into(), icon: None, slot });
        self
    }

    /// The icon (from the shell's icon set) of the panel `id` declared before.
    pub fn icon(mut self, id: &str, icon: &str) -> Self {
        match self.0.panels.iter_mut().find(|p| p.id == id) {
            Some(p) => p.icon = Some(icon.to_string()),
            None => panic!("icon({id:?}): declare the panel first"),
        }
        self
    }

    /// Implements the contract namespace `ns` (services `ns.<verb>`), e.g. `phone`.
    pub fn provides(mut self, ns: &str) -> Self {
        self.0.provides.push(ns.to_string());
        self
    }

    /// Offers an action on every contact the shell shows (plugin-api 1.10): it lands at
    /// `panel` as `UiAction::ContactAction` on widget `view::CONTACT_ACTION`.
    pub fn contact_action(self, id: &str, label: &str, panel: &str, needs_number: bool) -> Self {
        let decl = ContactActionDecl { needs_number, ..ContactActionDecl::new(id, label, panel) };
        self.offer(decl)
    }

    /// Offers a contact action described in full (plugin-api 1.13: only for contacts
    /// with an XMPP address, one item per number, by favourite state).
    pub fn offer(mut self, decl: ContactActionDecl) -> Self {
        self.0.contact_actions.push(decl);
        self
    }

    pub fn setting(mut self, name: &str, label: &str, kind: SettingKind, default: Option<Value>) -> Self {
        self.0.settings.push(SettingDecl {
            name: name.into(),
            label: label.into(),
            kind,
            default,
            help: String::new(),
            shared: false,
            login: None,
        });
        self
    }

    /// Marks the setting `name` (declared before) as filled by the login wizard's
    /// `field`.
    pub fn login(mut self, name: &str, field: LoginField) -> Self {
        match self.0.settings.iter_mut().find(|s| s.name == name) {
            Some(s) => s.login = Some(field),
            None => panic!("login({name:?}): declare the setting first"),
        }
        self
    }

    /// Marks the setting `name` (declared before) as one that all users of a computer
    /// share when the admin enables shared configuration (login account, phone mode).
    pub fn shared(mut self, name: &str) -> Self {
        match self.0.settings.iter_mut().find(|s| s.name == name) {
            Some(s) => s.shared = true,
            None => panic!("shared({name:?}): declare the setting first"),
        }
        self
    }

    pub fn finish(self) -> Manifest {
        self.0
    }
}

/// `Manifest::build(id, version)`: the entry to [`ManifestBuilder`].
pub trait ManifestExt {
    fn build(id: &str, version: &str) -> ManifestBuilder;
}

impl ManifestExt for Manifest {
    fn build(id: &str, version: &str) -> ManifestBuilder {
        ManifestBuilder::new(id, version)
    }
}
