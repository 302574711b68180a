//! The panel view cache: each panel's latest view tree, decoded once per publish (the
//! kernel hands out the same bytes until the plugin publishes again), with the panel's
//! memory between frames, and the drawing of one panel from it. Where a panel goes is
//! the shell's business ([`crate::shell`], [`crate::dock`]).

use crate::{
    i18n::Strings,
    render::{ContactOffer, Cx, PanelState, Pictures, ToastRequest, ViewStrings, node_ui},
    textures::KernelPictures,
};
use eframe::egui;
use std::time::{Duration, Instant};
use std::{collections::HashMap, sync::Arc};
use ucdesk_kernel::Kernel;
use ucdesk_plugin_api::contract::contact::{ACTION_CALL, DOUBLE_CLICK_SETTING};
use ucdesk_plugin_api::view::{CONTACT_ACTION, UiAction, UiEvent, View};

/// How often the contributed contact actions are read again from the active plugins'
/// manifests (plugins start and stop rarely; a frame must not lock the kernel for it).
const OFFERS_EVERY: Duration = Duration::from_secs(1);

/// The latest view of one panel, decoded once per publish.
struct PanelView {
    bytes: Option<Arc<Vec<u8>>>,
    view: Result<View, String>,
    state: PanelState,
}

/// Everything needed to draw panels, apart from where they go.
pub struct Panels {
    kernel: Kernel,
    views: HashMap<(String, String), PanelView>,
    pictures: Box<dyn Pictures>,
    toasts: Vec<(String, ToastRequest)>,
    placeholder: String,
    no_panel: String,
    strings: ViewStrings,
    offers: Vec<ContactOffer>,
    offers_at: Option<Instant>,
    /// What double-clicking a contact does (refreshed with the offers).
    double_click: String,
    /// Panels a picked contact action asked to open.
    opens: Vec<(String, String)>,
}

/// The panel's latest view, decoded again only when the kernel holds a new tree.
fn refresh<'v>(
    views: &'v mut HashMap<(String, String), PanelView>,
    kernel: &Kernel,
    plugin: &str,
    panel: &str,
) -> Option<&'v mut PanelView> {
    let bytes = kernel.view(plugin, panel)?;
    let key = (plugin.to_string(), panel.to_string());
    let entry = views.entry(key).or_insert_with(|| PanelView {
        bytes: None,
        view: Err(String::new()),
        state: PanelState::default(),
    });
    if entry.bytes.as_ref().is_none_or(|b| !Arc::ptr_eq(b, &bytes)) {
        entry.view = View::from_bytes(&bytes).map_err(|e| e.to_string());
        entry.bytes = Some(bytes);
        entry.state.generation += 1;
    }
    Some(entry)
}

impl Panels {
    /// No views yet; pictures come from the kernel, the placeholders from `strings`.
    pub fn new(kernel: Kernel, strings: &Strings) -> Panels {
        Panels {
            pictures: Box::new(KernelPictures::new(kernel.clone())),
            kernel,
            views: HashMap::new(),
            toasts: Vec::new(),
            placeholder: strings.t("unknown-node"),
            no_panel: strings.t("no-panel"),
            strings: view_strings(strings),
            offers: Vec::new(),
            offers_at: None,
            double_click: ACTION_CALL.to_string(),
            opens: Vec::new(),
        }
    }

    /// The panels contact actions asked to open since the last call.
    pub fn take_opens(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.opens)
    }

    fn refresh_offers(&mut self) {
        if self.offers_at.is_some_and(|t| t.elapsed() < OFFERS_EVERY) {
            return;
        }
        self.offers_at = Some(Instant::now());
        self.double_click = match self.kernel.setting(DOUBLE_CLICK_SETTING) {
            Ok(Some(serde_json::Value::String(action))) if !action.is_empty() => action,
            _ => ACTION_CALL.to_string(),
        };
        self.offers = self
            .kernel
            .plugins()
            .into_iter()
            .filter(|p| p.state == ucdesk_kernel::PluginState::Active)
            .filter_map(|p| self.kernel.manifest(&p.id))
            .flat_map(|m| {
                m.contact_actions
                    .iter()
                    .map(|a| ContactOffer { plugin: m.id.clone(), decl: a.clone() })
                    .collect::<Vec<_>>()
            })
            .collect();
    }

    /// Takes the placeholder texts from `strings` (the language changed).
    pub fn set_strings(&mut self, strings: &Strings) {
        self.placeholder = strings.t("unknown-node");
        self.no_panel = strings.t("no-panel");
        self.strings = view_strings(strings);
    }

    /// The toasts views asked for since the last call, with the plugin that asked.
    pub fn take_toasts(&mut self) -> Vec<(String, ToastRequest)> {
        std::mem::take(&mut self.toasts)
    }

    /// The toolbar badge of a panel (unread, missed).
    pub fn badge(&mut self, plugin: &str, panel: &str) -> u32 {
        refresh(&mut self.views, &self.kernel, plugin, panel)
            .and_then(|v| v.view.as_ref().ok().and_then(|v| v.badge))
            .unwrap_or(0)
    }

    /// Draws one panel and posts what the user did to its plugin.
    pub fn draw(&mut self, ui: &mut egui::Ui, plugin: &str, panel: &str) {
        let mut events = Vec::new();
        let mut toasts = Vec::new();
        let mut picked = Vec::new();
        self.refresh_offers();
        let Some(pv) = refresh(&mut self.views, &self.kernel, plugin, panel) else {
            ui.weak(&self.no_panel);
            return;
        };
        match &pv.view {
            Ok(view) => {
                let mut cx = Cx {
                    plugin,
                    state: &mut pv.state,
                    pictures: self.pictures.as_mut(),
                    out: &mut events,
                    toasts: &mut toasts,
                    placeholder: &self.placeholder,
                    strings: &self.strings,
                    offers: &self.offers,
                    double_click: &self.double_click,
                    picked: &mut picked,
                };
                ui.push_id((plugin, panel), |ui| node_ui(ui, &view.root, &mut cx));
                pv.state.end_frame();
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("{plugin}: {e}"));
            }
        }
        for t in toasts {
            self.toasts.push((plugin.to_string(), t));
        }
        for e in events {
            if let Err(err) = self.kernel.ui_event(plugin, panel, &e) {
                tracing::warn!("{plugin}/{panel}: {err}");
            }
        }
        // A contributed action goes to the plugin that offered it, whose panel opens.
        for (i, contact) in picked {
            let Some(o) = self.offers.get(i) else { continue };
            let event = UiEvent {
                widget: CONTACT_ACTION.into(),
                action: UiAction::ContactAction { id: o.decl.id.clone(), contact: Box::new(contact) },
            };
            match self.kernel.ui_event(&o.plugin, &o.decl.panel, &event) {
                Ok(()) => self.opens.push((o.plugin.clone(), o.decl.panel.clone())),
                Err(err) => tracing::warn!("{}/{}: {err}", o.plugin, o.decl.panel),
            }
        }
    }
}

fn view_strings(strings: &Strings) -> ViewStrings {
    ViewStrings { copy_hint: strings.t("click-to-copy"), copied: strings.t("copied") }
}
