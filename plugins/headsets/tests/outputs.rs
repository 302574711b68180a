//! Test layer 4: what goes to the devices. Headset light reports per fixture, exactly
//! (one report per LED where the device has one id per LED, one packed report where it
//! packs); busylight frames equal to the golden file byte for byte.

mod fixtures;

use std::time::Duration;
use ucdesk_plugin_headsets::hid::descriptor::{Layout, Light};
use ucdesk_plugin_headsets::hid::report::LightWriter;
use ucdesk_plugin_headsets::light::protocol::{Kind, Rgb, Show, blynclight, kuando, luxafor};

fn writer(file: &str) -> LightWriter {
    LightWriter::new(&Layout::parse(&fixtures::descriptor(file)).unwrap())
}

#[test]
fn poly_writes_one_report_per_light() {
    // BT700: Ring 33, Mute 35, Off-Hook 36, Hold 37, each one byte after its id.
    let mut w = writer("047f-02e6");
    assert_eq!(w.set(&[(Light::OffHook, true)]), vec![vec![36, 0x01]]);
    assert_eq!(w.set(&[(Light::Mute, true), (Light::Hold, true)]), vec![vec![35, 0x01], vec![37, 0x01]]);
    // Off-Hook is untouched by the mute write: its report was not resent or cleared.
    assert!(w.is_on(Light::OffHook));
    assert_eq!(w.set(&[(Light::Ring, false)]), vec![vec![33, 0x00]]);
}

#[test]
fn blackwire_ids_are_read_from_the_descriptor_not_assumed() {
    let mut w = writer("047f-c053");
    assert_eq!(w.set(&[(Light::Mute, true)]), vec![vec![9, 0x01]]);
    assert_eq!(w.set(&[(Light::OffHook, true)]), vec![vec![23, 0x01]]);
    assert_eq!(w.set(&[(Light::Ring, true)]), vec![vec![24, 0x01]]);
    assert_eq!(w.set(&[(Light::Hold, true)]), vec![vec![32, 0x01]]);
}

#[test]
fn jabra_packs_every_light_in_report_2_and_keeps_the_others() {
    let mut w = writer("0b0e-0307");
    // OffHook bit 0, Mute bit 1, Ring bit 2, Hold bit 3, Mic bit 4, Ringer bit 5; the
    // report is 2 bytes of payload (6 lights + 10 bits of padding).
    assert_eq!(w.set(&[(Light::OffHook, true)]), vec![vec![2, 0x01, 0x00]]);
    assert_eq!(w.set(&[(Light::Mute, true)]), vec![vec![2, 0x03, 0x00]]);
    assert_eq!(w.set(&[(Light::Hold, true), (Light::Ringer, true)]), vec![vec![2, 0x2b, 0x00]]);
    assert_eq!(w.set(&[(Light::OffHook, false)]), vec![vec![2, 0x2a, 0x00]]);
    // Lights this headset lacks are skipped, not an error.
    assert_eq!(w.set(&[(Light::Speaker, true)]), Vec::<Vec<u8>>::new());
}

#[test]
fn epos_impact_dw_puts_the_ringer_first() {
    let mut w = writer("1395-00a2");
    let out = w.set(&[(Light::Ringer, true), (Light::OffHook, true)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][0], 3);
    assert_eq!(out[0][1], 0x03);
}

#[test]
fn every_fixture_gets_off_hook_and_mute_in_the_report_its_descriptor_names() {
    for file in fixtures::HEADSETS {
        let layout = Layout::parse(&fixtures::descriptor(file)).unwrap();
        let mut w = LightWriter::new(&layout);
        let out = w.set(&[(Light::OffHook, true), (Light::Mute, true)]);
        let ids: Vec<u8> = out.iter().map(|r| r[0]).collect();
        let mut want = vec![layout.lights[&Light::OffHook].report, layout.lights[&Light::Mute].report];
        want.sort();
        want.dedup();
        assert_eq!(ids, want, "{file}");
    }
}

/// The golden file holds payloads; hidapi writes carry a leading 0 for devices without
/// report ids (Kuando, Luxafor), and the Embrava frame includes its 0 already.
fn payload(mut write: Vec<u8>) -> Vec<u8> {
    write.remove(0);
    write
}

const RED: Rgb = Rgb(255, 0, 0);

#[test]
fn kuando_frames_equal_the_golden_bytes() {
    assert_eq!(kuando(Show::Solid(RED)), fixtures::golden("kuando_red_100pct_solid"));
    assert_eq!(kuando(Show::Solid(Rgb(0, 255, 0))), fixtures::golden("kuando_green_100pct_solid"));
    assert_eq!(kuando(Show::Off), fixtures::golden("kuando_off"));
    assert_eq!(
        kuando(Show::Pulse(RED, Duration::from_millis(500))),
        fixtures::golden("kuando_red_pulse_0.5s_on_0.5s_off")
    );
    let (keepalive, every) = Kind::Kuando.keepalive().unwrap();
    assert_eq!(payload(keepalive), fixtures::golden("kuando_keepalive_15s"));
    assert!(every <= Duration::from_millis(7500), "well inside the 15 s timeout");
    assert_eq!(payload(Kind::Kuando.frame(Show::Solid(RED))), fixtures::golden("kuando_red_100pct_solid"));
}

#[test]
fn embrava_and_luxafor_frames_equal_the_golden_bytes() {
    assert_eq!(blynclight(Show::Solid(RED)), fixtures::golden("embrava_red_solid"));
    assert_eq!(blynclight(Show::Solid(Rgb(0, 255, 0))), fixtures::golden("embrava_green_solid"));
    assert_eq!(
        blynclight(Show::Pulse(RED, Duration::from_millis(200))),
        fixtures::golden("embrava_red_flash_fast")
    );
    assert_eq!(blynclight(Show::Off), fixtures::golden("embrava_off"));
    assert_eq!(payload(luxafor(RED)), fixtures::golden("luxafor_red_all_leds"));
}

/// The Kuando quiesces when its 15 s timeout passes without a keep-alive: under a test
/// clock ticking as the engine does (100 ms), one goes out at least every 7.5 s, and
/// lights that need none get none.
#[test]
fn the_kuando_keepalive_is_sent_on_time_under_a_test_clock() {
    use ucdesk_plugin_headsets::light::LightTimer;
    let keepalive = Kind::Kuando.keepalive().unwrap().0;
    let mut timer = LightTimer::new(Kind::Kuando, Duration::ZERO);
    let mut sent = vec![Duration::ZERO];
    for tick in 1..=600u64 {
        let now = Duration::from_millis(tick * 100);
        for frame in timer.due(Some(Show::Solid(RED)), now) {
            assert_eq!(frame, keepalive);
            sent.push(now);
        }
    }
    let gaps: Vec<Duration> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 8, "{sent:?}");
    assert!(gaps.iter().all(|g| *g <= Duration::from_millis(7500)), "{gaps:?}");
    let mut quiet = LightTimer::new(Kind::Blynclight, Duration::ZERO);
    assert!(
        (1..=600u64).all(|t| quiet.due(Some(Show::Solid(RED)), Duration::from_millis(t * 100)).is_empty())
    );
}

/// Luxafor cannot pulse by itself: the timer alternates colour and off at the period.
#[test]
fn a_luxafor_pulse_is_driven_by_the_timer() {
    use ucdesk_plugin_headsets::light::LightTimer;
    let mut timer = LightTimer::new(Kind::Luxafor, Duration::ZERO);
    let pulse = Some(Show::Pulse(RED, Duration::from_millis(500)));
    let mut frames = Vec::new();
    for tick in 1..=20u64 {
        frames.extend(timer.due(pulse, Duration::from_millis(tick * 100)));
    }
    assert_eq!(frames.len(), 4, "a flip every 500 ms over 2 s");
    assert_eq!(frames[0], luxafor(Rgb::OFF));
    assert_eq!(frames[1], luxafor(RED));
}

#[test]
fn a_colour_that_is_not_rrggbb_falls_back_to_its_default_and_is_named() {
    use ucdesk_plugin_headsets::light::{Colors, PhoneState, Pulse, show};
    use ucdesk_sdk::contract::presence::Status;
    let mut colors = Colors::default();
    colors.set("busy", "red".into());
    assert_eq!(colors.invalid(), vec!["busy"]);
    assert_eq!(
        show(Status::Busy, PhoneState::Idle, &colors, Pulse::Medium),
        Show::Solid(Rgb(0xe7, 0x4c, 0x3c))
    );
    colors.set("busy", "#0000ff".into());
    assert_eq!(show(Status::Busy, PhoneState::Idle, &colors, Pulse::Medium), Show::Solid(Rgb(0, 0, 255)));
    assert_eq!(show(Status::Offline, PhoneState::Idle, &colors, Pulse::Medium), Show::Off);
}
