//! What a headset can do, read from its HID report descriptor: which input bits are
//! its buttons (with their report id, bit offset and absolute/relative flag) and which
//! output bits are its lights and ringer. Nothing here knows a vendor: every id, offset
//! and flag comes from the descriptor, because vendors move them between models (a
//! hard-coded report 4 broke the Yealink UH38, and Poly puts every LED in its own report).
//!
//! The parsing itself is `hidreport`'s (it parses all twelve real descriptors in
//! `tests/fixtures`, including EPOS's nested application collections); this module only
//! picks out the telephony collection's fields.

use hidreport::{Field, FieldAttributes, Report, ReportDescriptor};
use serde::Serialize;
use std::collections::BTreeMap;

/// HID usage pages this module reads (HID Usage Tables).
const PAGE_LED: u16 = 0x08;
const PAGE_BUTTON: u16 = 0x09;
const PAGE_TELEPHONY: u16 = 0x0B;
/// Telephony collections a headset's call control lives in: Phone (0x01) or Headset (0x05).
const TELEPHONY_COLLECTIONS: [u16; 2] = [0x01, 0x05];

/// A call-control input of the telephony collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Button {
    /// Hook Switch (0x0B:0x20): off-hook = answer, on-hook = hang up.
    Hook,
    /// Phone Mute (0x0B:0x2F).
    Mute,
    /// Flash (0x0B:0x21): hold/resume or swap between two calls.
    Flash,
    /// Redial (0x0B:0x24).
    Redial,
    /// Drop (0x0B:0x26): EPOS descriptors carry it; treated as reject while ringing.
    Drop,
    /// Button 7 inside the telephony collection: reject on Jabra, Yealink and Gigaset.
    Reject,
    /// Line Busy Tone (0x0B:0x97): reported, not acted on.
    LineBusy,
    /// Programmable Button (0x0B:0x07), Speed Dial (0x50), Voice Mail (0x70): reported only.
    Programmable,
    SpeedDial,
    VoiceMail,
}

impl Button {
    fn from_usage(page: u16, id: u16) -> Option<Button> {
        Some(match (page, id) {
            (PAGE_TELEPHONY, 0x20) => Button::Hook,
            (PAGE_TELEPHONY, 0x2F) => Button::Mute,
            (PAGE_TELEPHONY, 0x21) => Button::Flash,
            (PAGE_TELEPHONY, 0x24) => Button::Redial,
            (PAGE_TELEPHONY, 0x26) => Button::Drop,
            (PAGE_TELEPHONY, 0x97) => Button::LineBusy,
            (PAGE_TELEPHONY, 0x07) => Button::Programmable,
            (PAGE_TELEPHONY, 0x50) => Button::SpeedDial,
            (PAGE_TELEPHONY, 0x70) => Button::VoiceMail,
            (PAGE_BUTTON, 7) => Button::Reject,
            _ => return None,
        })
    }
}

/// An output of the telephony collection: an LED (page 0x08) or the headset's ringer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    OffHook,
    Mute,
    Ring,
    Hold,
    Microphone,
    OnLine,
    Speaker,
    /// Telephony Ringer (0x0B:0x9E): an audible ring in the headset, not a light.
    Ringer,
}

impl Light {
    fn from_usage(page: u16, id: u16) -> Option<Light> {
        Some(match (page, id) {
            (PAGE_LED, 0x17) => Light::OffHook,
            (PAGE_LED, 0x09) => Light::Mute,
            (PAGE_LED, 0x18) => Light::Ring,
            (PAGE_LED, 0x20) => Light::Hold,
            (PAGE_LED, 0x21) => Light::Microphone,
            (PAGE_LED, 0x2A) => Light::OnLine,
            (PAGE_LED, 0x1E) => Light::Speaker,
            (PAGE_TELEPHONY, 0x9E) => Light::Ringer,
            _ => return None,
        })
    }
}

/// The contract's name of a button or light: its serde name (`hook`, `speed_dial`,
/// `off_hook`, ...).
pub fn name_of(control: &impl Serialize) -> String {
    serde_json::to_value(control).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Where one 1-bit control sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bit {
    /// The report id (0 when the device uses none).
    pub report: u8,
    /// Bit offset counted from the first bit after the report-id byte.
    pub bit: usize,
    /// Relative (a toggle or one-shot: each 0 -> 1 edge counts) or absolute (a level).
    pub relative: bool,
    /// HID's "Preferred State" flag (a spring-back button rather than a switch).
    pub preferred: bool,
}

/// Everything the plugin needs to drive one headset.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Layout {
    /// Whether reports start with a report-id byte.
    pub report_ids: bool,
    pub buttons: BTreeMap<Button, Bit>,
    pub lights: BTreeMap<Light, Bit>,
    /// Length in bytes of each output report that carries a light, report-id byte included
    /// when the device uses ids.
    pub output_len: BTreeMap<u8, usize>,
    /// The same for each input report that carries a button.
    pub input_len: BTreeMap<u8, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    #[error("the report descriptor does not parse: {0}")]
    Parse(String),
}

impl Layout {
    /// Reads the telephony collection out of a report descriptor. A device without one (a
    /// gaming headset, a mouse) gives an empty layout: [`Layout::is_headset`] is false.
    pub fn parse(descriptor: &[u8]) -> Result<Layout, DescriptorError> {
        let rdesc =
            ReportDescriptor::try_from(descriptor).map_err(|e| DescriptorError::Parse(e.to_string()))?;
        let mut layout = Layout::default();
        for report in rdesc.input_reports() {
            let (id, base) = report_base(report);
            layout.report_ids |= report.report_id().is_some();
            for field in telephony_fields(report) {
                if let Some((page, usage, bit)) = one_bit(field, id, base)
                    && let Some(button) = Button::from_usage(page, usage)
                {
                    layout.buttons.entry(button).or_insert(bit);
                    layout.input_len.insert(id, report.size_in_bytes());
                }
            }
        }
        for report in rdesc.output_reports() {
            let (id, base) = report_base(report);
            layout.report_ids |= report.report_id().is_some();
            for field in telephony_fields(report) {
                if let Some((page, usage, bit)) = one_bit(field, id, base)
                    && let Some(light) = Light::from_usage(page, usage)
                    && !layout.lights.contains_key(&light)
                {
                    layout.lights.insert(light, bit);
                    layout.output_len.insert(id, report.size_in_bytes());
                }
            }
        }
        Ok(layout)
    }

    /// True when the descriptor has a telephony collection with a hook switch: the device
    /// can answer and hang up.
    pub fn is_headset(&self) -> bool {
        self.buttons.contains_key(&Button::Hook)
    }
}

/// A report's id and the bit where its payload starts (8 when an id byte leads).
fn report_base(report: &impl Report) -> (u8, usize) {
    match report.report_id() {
        Some(id) => (u8::from(*id), 8),
        None => (0, 0),
    }
}

/// The report's fields that sit inside a telephony application collection. The vendor
/// mirrors of the same buttons (Jabra's 0xFF30 page, Poly's 0xFFA0) are left out: the
/// standard page suffices for call control on all four vendors.
fn telephony_fields(report: &impl Report) -> impl Iterator<Item = &Field> {
    report.fields().iter().filter(|f| {
        f.collections().iter().any(|c| {
            c.usages().iter().any(|u| {
                u16::from(u.usage_page) == PAGE_TELEPHONY
                    && TELEPHONY_COLLECTIONS.contains(&u16::from(u.usage_id))
            })
        })
    })
}

/// A 1-bit variable field's usage and position; arrays (key pads) and wider fields are
/// not call-control buttons.
fn one_bit(field: &Field, report: u8, base: usize) -> Option<(u16, u16, Bit)> {
    let Field::Variable(var) = field else { return None };
    if var.bits.len() != 1 {
        return None;
    }
    let bit = Bit {
        report,
        bit: var.bits.start - base,
        relative: var.is_relative(),
        preferred: var.has_preferred_state(),
    };
    Some((u16::from(var.usage.usage_page), u16::from(var.usage.usage_id), bit))
}
