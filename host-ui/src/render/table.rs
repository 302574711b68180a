//! Tables: columns the user can sort and resize, rows laid out only while in view, and
//! the sorted row order kept per view generation so a frame does not sort again.

use super::{Cx, PanelState, menu};
use crate::theme::symbol;
use eframe::egui::{self, RichText, Sense};
use ucdesk_plugin_api::view::{MenuItem, TableColumn, TableRow, UiAction};

/// Orders numbers as numbers and everything else as case-insensitive text.
fn compare_cells(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// The display order of `rows` under `sort`, cached per view generation.
pub(super) fn order<'s>(
    state: &'s mut PanelState,
    id: &str,
    rows: &[TableRow],
    sort: Option<(usize, bool)>,
) -> &'s [usize] {
    let (col, asc) = sort.unwrap_or((usize::MAX, true));
    let generation = state.generation;
    let fresh = state
        .order
        .get(id)
        .is_some_and(|(g, c, a, o)| *g == generation && *c == col && *a == asc && o.len() == rows.len());
    if !fresh {
        let mut o: Vec<usize> = (0..rows.len()).collect();
        if col != usize::MAX {
            let cell = |i: usize| rows[i].cells.get(col).map(String::as_str).unwrap_or("");
            o.sort_by(|&x, &y| {
                let ord = compare_cells(cell(x), cell(y));
                if asc { ord } else { ord.reverse() }
            });
        }
        state.order.insert(id.to_string(), (generation, col, asc, o));
    }
    &state.order[id].3
}

#[allow(clippy::too_many_arguments)]
pub(super) fn table(
    ui: &mut egui::Ui,
    cx: &mut Cx<'_>,
    id: &str,
    columns: &[TableColumn],
    rows: &[TableRow],
    selected: Option<&str>,
    actions: &[MenuItem],
    height: Option<f32>,
) {
    use egui_extras::{Column, TableBuilder};
    let sort = cx.state.sort.get(id).copied();
    let mut new_sort = None;
    let mut clicked: Option<(String, bool, Option<String>)> = None;
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    ui.push_id(("table", id), |ui| {
        let mut builder = TableBuilder::new(ui).striped(true).resizable(true).sense(Sense::click());
        if let Some(h) = height {
            builder = builder.max_scroll_height(h);
        }
        for c in columns {
            builder = builder.column(match c.width {
                Some(w) => Column::initial(w).at_least(30.0).clip(true),
                None => Column::remainder().at_least(30.0).clip(true),
            });
        }
        let order = order(cx.state, id, rows, sort).to_vec();
        builder
            .header(row_height, |mut header| {
                for (i, c) in columns.iter().enumerate() {
                    header.col(|ui| {
                        let arrow = match sort {
                            Some((col, true)) if col == i => symbol::SORT_UP,
                            Some((col, false)) if col == i => symbol::SORT_DOWN,
                            _ => "",
                        };
                        let title = RichText::new(format!("{}{arrow}", c.title)).strong();
                        if c.sortable {
                            if ui.add(egui::Button::new(title).frame(false)).clicked() {
                                new_sort = Some(match sort {
                                    Some((col, asc)) if col == i => (i, !asc),
                                    _ => (i, true),
                                });
                            }
                        } else {
                            ui.label(title);
                        }
                    });
                }
            })
            .body(|body| {
                // Only the rows in view are laid out (thousands cost what a screenful does).
                body.rows(row_height, order.len(), |mut row| {
                    let r = &rows[order[row.index()]];
                    row.set_selected(selected == Some(r.id.as_str()));
                    for i in 0..columns.len() {
                        row.col(|ui| {
                            ui.add(
                                egui::Label::new(r.cells.get(i).map(String::as_str).unwrap_or(""))
                                    .selectable(false),
                            );
                        });
                    }
                    let response = row.response();
                    if response.double_clicked() {
                        clicked = Some((r.id.clone(), true, None));
                    } else if response.clicked() {
                        clicked = Some((r.id.clone(), false, None));
                    }
                    if !actions.is_empty() {
                        let mut chosen = None;
                        response.context_menu(|ui| chosen = menu(ui, actions));
                        if let Some(item) = chosen {
                            clicked = Some((r.id.clone(), false, Some(item)));
                        }
                    }
                });
            });
    });
    if let Some(s) = new_sort {
        cx.state.sort.insert(id.to_string(), s);
    }
    match clicked {
        Some((row, _, Some(item))) => cx.emit(id, UiAction::ContextAction { item, row: Some(row) }),
        Some((row, true, None)) => cx.emit(id, UiAction::RowActivated { row }),
        Some((row, false, None)) => cx.emit(id, UiAction::Selected { row }),
        None => {}
    }
}
