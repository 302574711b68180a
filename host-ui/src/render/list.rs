//! A list of rows ([`Node::List`]): selection, double-click (a contact's default
//! action), drag and drop, the row's own menu followed by every other plugin's
//! contributed contact actions ([`ContactOffer`]), and the row's tooltip.

use super::{Cx, DragPayload, dropped_action, menu, presence_color};
use eframe::egui::{self, Color32, RichText, Sense};
use ucdesk_plugin_api::ContactActionDecl;
use ucdesk_plugin_api::contract::contact::ContactAddress;
use ucdesk_plugin_api::view::{ListRow, MenuItem, UiAction};

/// A contact action one plugin contributes to every contact row (plugin-api 1.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactOffer {
    pub plugin: String,
    pub decl: ContactActionDecl,
}

impl ContactOffer {
    /// Whether it applies to this row's contact, in this plugin's panel (a plugin's
    /// own rows get its own menu, not its offers).
    fn fits(&self, plugin: &str, contact: &ContactAddress) -> bool {
        let d = &self.decl;
        self.plugin != plugin
            && (!d.needs_number || contact.number.is_some() || !contact.numbers.is_empty())
            && (!d.needs_jid || contact.jid.is_some())
            && d.favorite.is_none_or(|f| f == contact.favorite.unwrap_or(false))
    }

    /// The menu's items for this contact: one, or one per number (label, contact as
    /// sent: its `number` the chosen one).
    fn items(&self, contact: &ContactAddress) -> Vec<(String, ContactAddress)> {
        if !self.decl.per_number || contact.numbers.len() < 2 {
            return vec![(self.decl.label.clone(), contact.clone())];
        }
        contact
            .numbers
            .iter()
            .map(|n| {
                let label = format!("{} {} ({})", self.decl.label, n.number, n.label);
                (label, ContactAddress { number: Some(n.number.clone()), ..contact.clone() })
            })
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn list(
    ui: &mut egui::Ui,
    cx: &mut Cx<'_>,
    id: &str,
    rows: &[ListRow],
    selected: Option<&str>,
    actions: &[MenuItem],
    drag: bool,
    drop: bool,
) {
    for row in rows {
        let response = ui
            .horizontal(|ui| {
                if let Some(p) = &row.presence {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), Sense::hover());
                    ui.painter().circle_filled(rect.center(), 4.5, presence_color(p));
                }
                let text = if row.detail.is_empty() {
                    row.text.clone()
                } else {
                    format!("{}  —  {}", row.text, row.detail)
                };
                let sense = if drag { Sense::click_and_drag() } else { Sense::click() };
                let r =
                    ui.add(egui::Button::selectable(selected == Some(row.id.as_str()), text).sense(sense));
                if let Some(b) = &row.badge {
                    ui.label(
                        RichText::new(b)
                            .strong()
                            .color(Color32::WHITE)
                            .background_color(ui.visuals().selection.bg_fill),
                    );
                }
                r
            })
            .inner;
        let response = match &row.tooltip {
            Some(t) => response.on_hover_text(t),
            None => response,
        };
        if drag {
            response.dnd_set_drag_payload(DragPayload {
                plugin: cx.plugin.to_string(),
                widget: id.to_string(),
                row: Some(row.id.clone()),
                contact: row.contact.clone(),
            });
        }
        if drop && let Some(p) = response.dnd_release_payload::<DragPayload>() {
            // Dropping a row on itself is no gesture.
            if !(p.plugin == cx.plugin && p.widget == id && p.row.as_deref() == Some(row.id.as_str())) {
                cx.emit(id, dropped_action(&p, Some(row.id.clone())));
            }
        }
        // A contact's double-click is the user's default action (call or chat), unless
        // this row's plugin is the one that offers it (its own rows, its own way).
        let default = row.contact.as_ref().and_then(|c| {
            cx.offers
                .iter()
                .position(|o| o.decl.id == cx.double_click && o.fits(cx.plugin, c))
                .map(|i| (i, c))
        });
        if response.double_clicked() {
            match default {
                Some((i, contact)) => cx.picked.push((i, contact.clone())),
                None => cx.emit(id, UiAction::RowActivated { row: row.id.clone() }),
            }
        } else if response.clicked() {
            cx.emit(id, UiAction::Selected { row: row.id.clone() });
        }
        let offers: Vec<usize> = match &row.contact {
            Some(c) => (0..cx.offers.len()).filter(|&i| cx.offers[i].fits(cx.plugin, c)).collect(),
            None => Vec::new(),
        };
        if !actions.is_empty() || !offers.is_empty() {
            let (mut chosen, mut offer) = (None, None);
            response.context_menu(|ui| {
                chosen = menu(ui, actions);
                if !actions.is_empty() && !offers.is_empty() {
                    ui.separator();
                }
                if let Some(contact) = row.contact.as_ref() {
                    for &i in &offers {
                        for (label, sent) in cx.offers[i].items(contact) {
                            if ui.button(label).clicked() {
                                offer = Some((i, sent));
                                ui.close();
                            }
                        }
                    }
                }
            });
            if let Some(item) = chosen {
                cx.emit(id, UiAction::ContextAction { item, row: Some(row.id.clone()) });
            }
            if let Some(picked) = offer {
                cx.picked.push(picked);
            }
        }
    }
}
