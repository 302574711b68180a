//! Reports on the wire: reading button bits out of an input report, and writing the
//! lights into output reports, both at the positions a [`Layout`] resolved.
//!
//! Output follows the two shapes real devices use: Jabra, Yealink and EPOS pack every LED
//! into one report, Poly gives each LED its own report id. [`LightWriter`] groups the
//! lights by report id and keeps the last value of every bit, so changing one LED never
//! clears another that shares its report.

use super::descriptor::{Button, Layout, Light};
use std::collections::BTreeMap;

/// The level of every button the layout knows that this report carries.
pub fn read_buttons(layout: &Layout, report: &[u8]) -> Vec<(Button, bool)> {
    let (id, payload) = split(layout, report);
    layout
        .buttons
        .iter()
        .filter(|(_, bit)| bit.report == id)
        .filter_map(|(button, bit)| get(payload, bit.bit).map(|level| (*button, level)))
        .collect()
}

fn split<'a>(layout: &Layout, report: &'a [u8]) -> (u8, &'a [u8]) {
    match (layout.report_ids, report.split_first()) {
        (true, Some((id, rest))) => (*id, rest),
        _ => (0, report),
    }
}

fn get(payload: &[u8], bit: usize) -> Option<bool> {
    payload.get(bit / 8).map(|byte| byte & (1 << (bit % 8)) != 0)
}

fn set(payload: &mut [u8], bit: usize, on: bool) {
    if let Some(byte) = payload.get_mut(bit / 8) {
        if on {
            *byte |= 1 << (bit % 8);
        } else {
            *byte &= !(1 << (bit % 8));
        }
    }
}

/// Builds input report `report` with `levels` set and every other bit clear, at the
/// length the descriptor gives it (for tests and the uhid guest: the bytes a device with
/// this layout sends; the kernel drops numbered reports shorter than declared).
pub fn input_report(layout: &Layout, report: u8, levels: &[(Button, bool)]) -> Vec<u8> {
    let with_id = usize::from(layout.report_ids);
    let len = layout.input_len.get(&report).copied().unwrap_or(with_id + 1).max(with_id + 1);
    let mut bytes = vec![0u8; len];
    if layout.report_ids {
        bytes[0] = report;
    }
    for (button, on) in levels {
        if let Some(bit) = layout.buttons.get(button).filter(|b| b.report == report) {
            set(&mut bytes[with_id..], bit.bit, *on);
        }
    }
    bytes
}

/// The lights of one device, as last written.
#[derive(Debug, Clone)]
pub struct LightWriter {
    layout: Layout,
    /// Each output report's bytes as last sent (report-id byte first when ids are used).
    reports: BTreeMap<u8, Vec<u8>>,
}

impl LightWriter {
    pub fn new(layout: &Layout) -> LightWriter {
        let reports = layout
            .output_len
            .iter()
            .map(|(id, len)| {
                let mut bytes = vec![0u8; (*len).max(1)];
                if layout.report_ids {
                    bytes[0] = *id;
                }
                (*id, bytes)
            })
            .collect();
        LightWriter { layout: layout.clone(), reports }
    }

    /// Sets the lights in `levels` (lights the device lacks are skipped) and answers the
    /// reports to write, in report-id order: every report that carries one of them,
    /// whether or not its bytes changed, because rule (a) wants the state echoed after
    /// every change, not only when it differs.
    pub fn set(&mut self, levels: &[(Light, bool)]) -> Vec<Vec<u8>> {
        let mut touched = Vec::new();
        for (light, on) in levels {
            let Some(bit) = self.layout.lights.get(light) else { continue };
            let Some(bytes) = self.reports.get_mut(&bit.report) else { continue };
            let offset = usize::from(self.layout.report_ids);
            set(&mut bytes[offset..], bit.bit, *on);
            if !touched.contains(&bit.report) {
                touched.push(bit.report);
            }
        }
        touched.sort_unstable();
        touched.into_iter().map(|id| self.for_hidraw(id)).collect()
    }

    /// A hidraw write carries the report id first, and 0 for devices that use none (the
    /// kernel strips it again).
    fn for_hidraw(&self, id: u8) -> Vec<u8> {
        let bytes = &self.reports[&id];
        if self.layout.report_ids {
            bytes.clone()
        } else {
            let mut out = Vec::with_capacity(bytes.len() + 1);
            out.push(0);
            out.extend_from_slice(bytes);
            out
        }
    }

    /// Whether the light is on as last written.
    pub fn is_on(&self, light: Light) -> bool {
        let Some(bit) = self.layout.lights.get(&light) else { return false };
        let offset = usize::from(self.layout.report_ids);
        self.reports.get(&bit.report).and_then(|b| get(&b[offset..], bit.bit)).unwrap_or(false)
    }
}
