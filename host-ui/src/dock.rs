//! Where module panels live: docked as tabs and splits (egui_tiles: the user drags tabs
//! into splits) or popped out into their own windows. The layout is saved per profile in
//! `<config>/layout.json`, so the window opens the way the user left it.

use eframe::egui;
use egui_tiles::{Container, SimplificationOptions, Tile, TileId, Tiles, Tree, UiResponse};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A plugin's panel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pane {
    pub plugin: String,
    pub panel: String,
}

#[derive(Serialize, Deserialize)]
pub struct Dock {
    pub tree: Tree<Pane>,
    /// Panels in their own windows.
    #[serde(default)]
    pub popped: Vec<Pane>,
}

impl Default for Dock {
    fn default() -> Self {
        Dock { tree: Tree::empty(egui::Id::unique("dock")), popped: Vec::new() }
    }
}

impl Dock {
    pub fn file(config: &Path) -> PathBuf {
        config.join("layout.json")
    }

    pub fn load(config: &Path) -> Dock {
        std::fs::read(Self::file(config))
            .ok()
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| tracing::warn!("layout.json ignored: {e}")).ok()
            })
            .unwrap_or_default()
    }

    pub fn save(&self, config: &Path) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(config)?;
            let tmp = Self::file(config).with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
            std::fs::rename(tmp, Self::file(config))
        };
        if let Err(e) = write() {
            tracing::warn!("cannot save the window layout: {e}");
        }
    }

    /// Shows `pane`: brings its tab forward, or adds it as a new tab.
    pub fn open(&mut self, pane: Pane) {
        if self.popped.contains(&pane) {
            return;
        }
        if let Some(id) = self.tree.tiles.find_pane(&pane) {
            self.tree.make_active(|tid, _| tid == id);
            return;
        }
        let id = self.tree.tiles.insert_pane(pane);
        match self.tree.root {
            None => self.tree.root = Some(self.tree.tiles.insert_tab_tile(vec![id])),
            Some(root) => match self.tree.tiles.get_mut(root) {
                Some(Tile::Container(Container::Tabs(tabs))) => {
                    tabs.add_child(id);
                    tabs.set_active(id);
                }
                Some(Tile::Container(c)) => c.add_child(id),
                _ => {
                    let tabs = self.tree.tiles.insert_tab_tile(vec![root, id]);
                    self.tree.root = Some(tabs);
                    if let Some(Tile::Container(Container::Tabs(t))) = self.tree.tiles.get_mut(tabs) {
                        t.set_active(id);
                    }
                }
            },
        }
        self.tree.make_active(|tid, _| tid == id);
    }

    /// Moves a docked pane into its own window.
    pub fn pop_out(&mut self, pane: &Pane) {
        if let Some(id) = self.tree.tiles.find_pane(pane) {
            self.tree.remove_recursively(id);
            self.popped.push(pane.clone());
        }
    }

    /// Back from its window into the dock.
    pub fn dock(&mut self, pane: &Pane) {
        self.popped.retain(|p| p != pane);
        self.open(pane.clone());
    }

    /// The panes shown right now (active tabs and popped-out windows), which the
    /// shell keeps fresh.
    pub fn visible(&self) -> Vec<Pane> {
        let mut out: Vec<Pane> = self
            .tree
            .active_tiles()
            .into_iter()
            .filter_map(|id| match self.tree.tiles.get(id) {
                Some(Tile::Pane(p)) => Some(p.clone()),
                _ => None,
            })
            .collect();
        out.extend(self.popped.iter().cloned());
        out
    }

    /// Forgets panes whose plugin is gone or no longer offers the panel.
    pub fn retain(&mut self, keep: impl Fn(&Pane) -> bool) {
        let gone: Vec<TileId> = self
            .tree
            .tiles
            .iter()
            .filter_map(|(id, t)| match t {
                Tile::Pane(p) if !keep(p) => Some(*id),
                _ => None,
            })
            .collect();
        for id in gone {
            self.tree.remove_recursively(id);
        }
        self.popped.retain(|p| keep(p));
    }
}

/// Draws the dock; `draw` renders one pane's content.
pub struct Behavior<'a> {
    pub titles: &'a HashMap<Pane, String>,
    pub draw: &'a mut dyn FnMut(&mut egui::Ui, &Pane),
    pub pop_out_label: String,
    pub popped: Option<Pane>,
    pub edited: bool,
}

impl egui_tiles::Behavior<Pane> for Behavior<'_> {
    fn pane_ui(&mut self, ui: &mut egui::Ui, _tile_id: TileId, pane: &mut Pane) -> UiResponse {
        egui::ScrollArea::vertical()
            .id_salt(("pane", &pane.plugin, &pane.panel))
            .auto_shrink([false, false])
            .show(ui, |ui| (self.draw)(ui, pane));
        UiResponse::None
    }

    fn tab_title_for_pane(&mut self, pane: &Pane) -> egui::WidgetText {
        self.titles.get(pane).cloned().unwrap_or_else(|| pane.panel.clone()).into()
    }

    fn is_tab_closable(&self, _tiles: &Tiles<Pane>, _tile_id: TileId) -> bool {
        true
    }

    fn top_bar_right_ui(
        &mut self,
        tiles: &Tiles<Pane>,
        ui: &mut egui::Ui,
        _tile_id: TileId,
        tabs: &egui_tiles::Tabs,
        _scroll_offset: &mut f32,
    ) {
        if let Some(Tile::Pane(p)) = tabs.active.and_then(|a| tiles.get(a))
            && ui.small_button(crate::render::symbol::POP_OUT).on_hover_text(&self.pop_out_label).clicked()
        {
            self.popped = Some(p.clone());
        }
    }

    fn simplification_options(&self) -> SimplificationOptions {
        SimplificationOptions { all_panes_must_have_tabs: true, ..SimplificationOptions::default() }
    }

    fn on_edit(&mut self, _edit_action: egui_tiles::EditAction) {
        self.edited = true;
    }
}
