//! Test layer 1: each real descriptor in `tests/fixtures` maps to the buttons and lights
//! two independent decoders (hid-tools 0.12 and hidreport 0.6) agree on, bit for bit.
//! Notation as in the fixtures' notes: `name@report.bit`, A absolute, R relative.

mod fixtures;

use ucdesk_plugin_headsets::hid::descriptor::{Button, Layout, Light};

fn inputs(layout: &Layout) -> Vec<String> {
    layout
        .buttons
        .iter()
        .map(|(b, bit)| format!("{b:?}@{}.{}{}", bit.report, bit.bit, if bit.relative { "R" } else { "A" }))
        .collect()
}

fn outputs(layout: &Layout) -> Vec<String> {
    layout.lights.iter().map(|(l, bit)| format!("{l:?}@{}.{}", bit.report, bit.bit)).collect()
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn check(file: &str, want_in: &[&str], want_out: &[&str]) {
    let layout = Layout::parse(&fixtures::descriptor(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut got_in = inputs(&layout);
    got_in.sort();
    let mut got_out = outputs(&layout);
    got_out.sort();
    assert_eq!(got_in, sorted(want_in), "{file} inputs");
    assert_eq!(got_out, sorted(want_out), "{file} outputs");
    assert!(layout.is_headset(), "{file} is a headset");
}

/// Poly declares `Usage(0x07)`, then `Usage Page(Button)`, `Usage(1)` for this bit: read
/// as the kernel reads it since 2019 (the page applies at the main item, first usage
/// first), that is Button 7, the reject button of Jabra and Yealink, not the telephony
/// page's Programmable Button the fixtures' notes list.
#[test]
fn poly_bt700_puts_each_light_in_its_own_report() {
    check(
        "047f-02e6",
        &["Hook@32.0A", "Mute@32.1R", "Flash@32.2A", "Redial@32.3R", "Reject@32.4R"],
        &["Ring@33.0", "Speaker@34.0", "Mute@35.0", "OffHook@36.0", "Hold@37.0"],
    );
}

#[test]
fn poly_voyager_base_cd() {
    check(
        "047f-02ec",
        &["Hook@1.0A", "Mute@1.1R", "Flash@1.2A", "Redial@1.3R", "Reject@1.4R"],
        &["Ring@1.0", "Speaker@2.0", "Mute@3.0", "OffHook@4.0", "Hold@5.0"],
    );
}

#[test]
fn poly_blackwire_c5220_has_its_telephony_collection_third() {
    check(
        "047f-c053",
        &["Mute@8.0R", "Hook@8.1A", "Flash@8.2A", "Redial@8.3R", "Reject@8.4A"],
        &["Mute@9.0", "OffHook@23.0", "Ring@24.0", "Speaker@26.0", "Hold@32.0", "OnLine@42.0"],
    );
}

const JABRA_OUT: &[&str] =
    &["OffHook@2.0", "Mute@2.1", "Ring@2.2", "Hold@2.3", "Microphone@2.4", "Ringer@2.5"];

#[test]
fn jabra_evolve_link_reads_the_usage_before_its_page_as_button_7() {
    check(
        "0b0e-0307",
        &[
            "Hook@2.0A",
            "LineBusy@2.1A",
            "Mute@2.2R",
            "Flash@2.3R",
            "Redial@2.4R",
            "SpeedDial@2.5R",
            "Reject@2.6A",
        ],
        JABRA_OUT,
    );
}

#[test]
fn jabra_biz_2400_skips_its_key_pad_array() {
    check(
        "0b0e-2453",
        &[
            "Hook@2.0A",
            "LineBusy@2.1A",
            "Mute@2.2R",
            "Flash@2.3R",
            "Redial@2.4R",
            "VoiceMail@2.5R",
            "SpeedDial@2.6R",
            "Reject@2.11A",
        ],
        JABRA_OUT,
    );
}

#[test]
fn jabra_speak_810() {
    check("0b0e-2456", &["Hook@2.0A", "LineBusy@2.1A", "Mute@2.2R", "Flash@2.3R", "Reject@2.4A"], JABRA_OUT);
}

#[test]
fn sennheiser_sc660() {
    check(
        "1395-0082",
        &["Mute@8.0R", "Hook@8.1A", "Redial@8.2R", "Flash@8.3R", "Drop@8.4R", "Reject@8.5A"],
        &["Mute@9.0", "OffHook@9.1", "Ring@9.2", "Microphone@9.3", "OnLine@9.4", "Hold@9.5"],
    );
}

#[test]
fn epos_impact_d1_nests_an_application_collection() {
    check(
        "1395-009c",
        &["Hook@2.0A", "Flash@2.1R", "Redial@2.2R", "Mute@2.3R", "Drop@2.4R"],
        &["OffHook@3.0", "Microphone@3.1", "Ring@3.2", "Mute@3.3", "OnLine@3.4", "Hold@3.5"],
    );
}

const EPOS_DW_IN: &[&str] = &["Hook@2.2A", "Flash@2.3R", "Redial@2.4R", "Mute@2.5R", "Drop@2.6R"];
const EPOS_DW_OUT: &[&str] =
    &["Ringer@3.0", "OffHook@3.1", "Microphone@3.2", "Ring@3.3", "Mute@3.4", "OnLine@3.5", "Hold@3.6"];

#[test]
fn epos_impact_dw_and_d_share_one_descriptor() {
    check("1395-00a2", EPOS_DW_IN, EPOS_DW_OUT);
    check("1395-00a9", EPOS_DW_IN, EPOS_DW_OUT);
}

#[test]
fn yealink_wh66_copies_jabras_layout() {
    check(
        "6993-b02b",
        &[
            "Hook@2.0A",
            "LineBusy@2.1A",
            "Mute@2.2R",
            "Flash@2.3R",
            "Redial@2.4R",
            "SpeedDial@2.5R",
            "Reject@2.6A",
        ],
        JABRA_OUT,
    );
}

#[test]
fn a_gaming_headset_without_a_telephony_collection_is_no_headset() {
    let layout = Layout::parse(&fixtures::descriptor("046d-0ac4")).unwrap();
    assert!(!layout.is_headset());
    assert!(layout.buttons.is_empty() && layout.lights.is_empty(), "{layout:?}");
}

#[test]
fn hook_is_absolute_and_mute_relative_on_every_headset() {
    for file in fixtures::HEADSETS {
        let layout = Layout::parse(&fixtures::descriptor(file)).unwrap();
        assert!(!layout.buttons[&Button::Hook].relative, "{file}: hook");
        assert!(layout.buttons[&Button::Mute].relative, "{file}: mute");
        assert!(layout.lights.contains_key(&Light::OffHook), "{file}: off-hook light");
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bytes in [&[][..], &[0xff, 0xff, 0xff], &[0x05, 0x0b, 0x09, 0x05, 0xa1]] {
        let _ = Layout::parse(bytes);
    }
    assert!(Layout::parse(&[]).is_err());
}
