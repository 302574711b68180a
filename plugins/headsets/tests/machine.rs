//! Test layers 2 and 3: input reports built from each fixture's own layout drive the
//! headset state machine; each rule of the machine is a named test citing where the
//! behaviour was seen.

mod fixtures;

use std::time::Duration;
use ucdesk_plugin_headsets::hid::descriptor::{Button, Layout, Light};
use ucdesk_plugin_headsets::hid::report::input_report;
use ucdesk_plugin_headsets::machine::{Command, ECHO_WINDOW, Machine, Options};
use ucdesk_sdk::contract::phone::{CallEvent, CallState, Direction};

/// A headset as the user holds it: the hook's level rides in every report it sends.
struct Headset {
    id: String,
    layout: Layout,
    hook: bool,
}

impl Headset {
    fn plug(m: &mut Machine, file: &str, now: Duration) -> Headset {
        let layout = Layout::parse(&fixtures::descriptor(file)).unwrap();
        m.add_device(file, layout.clone(), now);
        Headset { id: file.to_string(), layout, hook: false }
    }

    fn send(&self, m: &mut Machine, extra: &[(Button, bool)], now: Duration) -> Vec<Command> {
        let mut levels = vec![(Button::Hook, self.hook)];
        levels.extend_from_slice(extra);
        let report = self.layout.buttons[&Button::Hook].report;
        let mut out = Vec::new();
        // Buttons in other reports (none in the fixtures) would go in their own report.
        for id in std::iter::once(report) {
            out.extend(m.report(&self.id, &input_report(&self.layout, id, &levels), now));
        }
        out
    }

    fn hook(&mut self, m: &mut Machine, off_hook: bool, now: Duration) -> Vec<Command> {
        self.hook = off_hook;
        self.send(m, &[], now)
    }

    /// Press and release: a relative control fires on the press; an absolute one goes
    /// to 1 and back.
    fn tap(&self, m: &mut Machine, button: Button, now: Duration) -> Vec<Command> {
        let mut out = self.send(m, &[(button, true)], now);
        out.extend(self.send(m, &[(button, false)], now + ms(50)));
        out
    }

    fn has(&self, b: Button) -> bool {
        self.layout.buttons.contains_key(&b)
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn call(id: &str, state: CallState) -> CallEvent {
    serde_json::from_value(serde_json::json!({
        "callid": id, "direction": "inbound", "number": "200", "state": state,
    }))
    .unwrap()
}

fn outbound(id: &str, state: CallState) -> CallEvent {
    CallEvent { direction: Direction::Outbound, ..call(id, state) }
}

/// The phone did what the machine asked: the events the softphone publishes.
fn phone_does(m: &mut Machine, commands: &[Command], now: Duration) {
    for c in commands {
        match c {
            Command::Answer(id) => m.call_event(&call(id, CallState::Connected), now),
            Command::Hangup(id) | Command::Reject(id) => m.call_event(&call(id, CallState::Ended), now),
            Command::Hold(id) => m.call_event(&call(id, CallState::Held), now),
            Command::Resume(id) => m.call_event(&call(id, CallState::Connected), now),
            Command::Mute { callid, muted } => m.muted(callid, *muted, now),
            Command::Redial => {}
        }
    }
}

fn answer(id: &str) -> Vec<Command> {
    vec![Command::Answer(id.into())]
}

/// Answer, mute and unmute, hold and resume, hang up: on every fixture.
#[test]
fn every_headset_answers_mutes_holds_and_hangs_up() {
    for file in fixtures::HEADSETS {
        let mut m = Machine::new(Options::default());
        let mut t = ms(0);
        let mut h = Headset::plug(&mut m, file, t);
        m.call_event(&call("c1", CallState::Ringing), t);

        t += ms(1000);
        let c = h.hook(&mut m, true, t);
        assert_eq!(c, answer("c1"), "{file}: off-hook answers");
        phone_does(&mut m, &c, t);

        t += ms(1000);
        let c = h.tap(&mut m, Button::Mute, t);
        assert_eq!(c, vec![Command::Mute { callid: "c1".into(), muted: true }], "{file}: mute");
        phone_does(&mut m, &c, t);
        t += ms(2000);
        let c = h.tap(&mut m, Button::Mute, t);
        assert_eq!(c, vec![Command::Mute { callid: "c1".into(), muted: false }], "{file}: unmute");
        phone_does(&mut m, &c, t);

        t += ms(2000);
        let c = h.tap(&mut m, Button::Flash, t);
        assert_eq!(c, vec![Command::Hold("c1".into())], "{file}: flash holds");
        phone_does(&mut m, &c, t);
        t += ms(1000);
        let c = h.tap(&mut m, Button::Flash, t);
        assert_eq!(c, vec![Command::Resume("c1".into())], "{file}: flash resumes");
        phone_does(&mut m, &c, t);

        t += ms(1000);
        let c = h.hook(&mut m, false, t);
        assert_eq!(c, vec![Command::Hangup("c1".into())], "{file}: on-hook hangs up");
    }
}

/// Each vendor's way to reject: Button 7 (Jabra, Yealink), Drop (EPOS), and two
/// on-hook reports in a row where the headset has neither (Poly).
#[test]
fn every_headset_rejects_while_ringing() {
    for file in fixtures::HEADSETS {
        let mut m = Machine::new(Options::default());
        let h = Headset::plug(&mut m, file, ms(0));
        m.call_event(&call("c1", CallState::Ringing), ms(0));
        let c = if h.has(Button::Reject) {
            h.tap(&mut m, Button::Reject, ms(1000))
        } else if h.has(Button::Drop) {
            h.tap(&mut m, Button::Drop, ms(1000))
        } else {
            let mut c = h.send(&mut m, &[], ms(1000));
            c.extend(h.send(&mut m, &[], ms(1100)));
            c
        };
        assert_eq!(c, vec![Command::Reject("c1".into())], "{file}");
    }
}

/// Rule a (Jitsi `sendReplyReport`; Jabra's request/acknowledge docs): after a hook or
/// mute change the Off-Hook and Mute lights are written back, even when unchanged.
#[test]
fn rule_a_every_hook_and_mute_change_is_echoed_to_the_lights() {
    let mut m = Machine::new(Options::default());
    let mut h = Headset::plug(&mut m, "0b0e-0307", ms(0));
    m.take_writes();
    // Off-hook with no call: we do not confirm it (Off-Hook stays off), but say so.
    assert!(h.hook(&mut m, true, ms(1000)).is_empty());
    let writes = m.take_writes();
    assert_eq!(writes, vec![("0b0e-0307".to_string(), vec![2, 0x00, 0x00])]);
    // A mute tap with no call is also answered with the lights' state.
    h.hook(&mut m, false, ms(2000));
    m.take_writes();
    h.tap(&mut m, Button::Mute, ms(3000));
    assert!(!m.take_writes().is_empty());
}

/// Rule b (GOnnect workaround GOW_001, 500 ms; tSIP's OffHookSetTimer): a Hook Switch
/// report right after we set Off-Hook is the headset's echo, not the user answering.
#[test]
fn rule_b_the_echo_of_a_host_set_off_hook_is_not_an_answer() {
    let mut m = Machine::new(Options::default());
    let mut h = Headset::plug(&mut m, "047f-c053", ms(0));
    // A call answered in the app: the host sets Off-Hook...
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    m.call_event(&call("c1", CallState::Connected), ms(1000));
    assert!(m.take_writes().iter().any(|(_, r)| r == &vec![23, 0x01]), "Off-Hook set by the host");
    // ...the far end hangs up at once and the next call rings...
    m.call_event(&call("c1", CallState::Ended), ms(1100));
    m.call_event(&call("c2", CallState::Ringing), ms(1150));
    // ...when the headset's echo of that off-hook arrives: it must not answer c2.
    assert!(h.hook(&mut m, true, ms(1000) + ECHO_WINDOW / 2).is_empty());
    // A real lift of the hook later does.
    h.hook(&mut m, false, ms(2000));
    assert_eq!(h.hook(&mut m, true, ms(3000)), answer("c2"));
}

/// Rule c (gonicus/gonnect PR #52, commit ca432d4e): on hold Off-Hook stays on and only
/// Hold is set; clearing Off-Hook made Jabras report on-hook and end the held call.
#[test]
fn rule_c_hold_keeps_off_hook_on() {
    let mut m = Machine::new(Options::default());
    let mut h = Headset::plug(&mut m, "0b0e-2456", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    let c = h.hook(&mut m, true, ms(1000));
    phone_does(&mut m, &c, ms(1000));
    m.take_writes();
    let c = h.tap(&mut m, Button::Flash, ms(2000));
    phone_does(&mut m, &c, ms(2000));
    let last = m.take_writes().pop().unwrap().1;
    // Off-Hook (bit 0) and Hold (bit 3) on.
    assert_eq!(last[1] & 0x09, 0x09, "{last:02x?}");
}

/// Rule d (MicroSIP `Hid.cpp`; tSIP for a Gigaset ION): one on-hook report while ringing
/// is not a reject, two in a row are.
#[test]
fn rule_d_two_on_hook_reports_while_ringing_reject() {
    let mut m = Machine::new(Options::default());
    let h = Headset::plug(&mut m, "047f-02e6", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    assert!(h.send(&mut m, &[], ms(500)).is_empty(), "one on-hook report");
    assert_eq!(h.send(&mut m, &[], ms(900)), vec![Command::Reject("c1".into())]);
}

/// Rule e (GOnnect e8da2f82 "fix: mute and flow optimizations"): a headset that re-mutes
/// right after the host unmuted holds a mute-lock; the call follows it.
#[test]
fn rule_e_a_mute_lock_is_followed() {
    let mut m = Machine::new(Options::default());
    let mut h = Headset::plug(&mut m, "1395-009c", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    let c = h.hook(&mut m, true, ms(1000));
    phone_does(&mut m, &c, ms(1000));
    m.muted("c1", true, ms(2000));
    // The user unmutes in the app; the boom arm is up, so the headset mutes again.
    m.muted("c1", false, ms(3000));
    let c = h.tap(&mut m, Button::Mute, ms(3200));
    assert_eq!(c, vec![Command::Mute { callid: "c1".into(), muted: true }]);
    phone_does(&mut m, &c, ms(3200));
    // The lights follow the headset: Mute (bit 3) on.
    let last = m.take_writes().pop().unwrap().1;
    assert_eq!(last[1] & 0x08, 0x08, "{last:02x?}");
}

/// Rule f (GOnnect 0e56b2c1, #643 `preferExternalRinger`): the Ring light always rings;
/// the headset's own ringer only when the option is on.
#[test]
fn rule_f_the_ringer_is_an_option_the_ring_light_is_not() {
    for ringer in [false, true] {
        let mut m = Machine::new(Options { ringer });
        Headset::plug(&mut m, "0b0e-0307", ms(0));
        m.take_writes();
        m.call_event(&call("c1", CallState::Ringing), ms(0));
        let last = m.take_writes().pop().unwrap().1;
        assert_eq!(last[1] & 0x04, 0x04, "Ring light");
        assert_eq!(last[1] & 0x20 != 0, ringer, "ringer option {ringer}");
    }
}

#[test]
fn flash_answers_a_waiting_call_and_then_swaps() {
    let mut m = Machine::new(Options::default());
    let mut h = Headset::plug(&mut m, "6993-b02b", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    let c = h.hook(&mut m, true, ms(1000));
    phone_does(&mut m, &c, ms(1000));
    m.call_event(&call("c2", CallState::Ringing), ms(2000));
    let c = h.tap(&mut m, Button::Flash, ms(3000));
    assert_eq!(c, vec![Command::Hold("c1".into()), Command::Answer("c2".into())]);
    phone_does(&mut m, &c, ms(3000));
    let c = h.tap(&mut m, Button::Flash, ms(4000));
    assert_eq!(c, vec![Command::Hold("c2".into()), Command::Resume("c1".into())]);
}

#[test]
fn redial_when_idle() {
    let mut m = Machine::new(Options::default());
    let h = Headset::plug(&mut m, "0b0e-2453", ms(0));
    assert_eq!(h.tap(&mut m, Button::Redial, ms(1000)), vec![Command::Redial]);
    m.call_event(&outbound("c9", CallState::Calling), ms(2000));
    assert!(h.tap(&mut m, Button::Redial, ms(3000)).is_empty(), "not during a call");
}

/// A report that repeats on-hook during a call (another button of a headset that was
/// never lifted, say) must not hang the call up.
#[test]
fn a_repeated_on_hook_during_a_call_hangs_nothing_up() {
    let mut m = Machine::new(Options::default());
    let h = Headset::plug(&mut m, "047f-c053", ms(0));
    m.call_event(&outbound("c9", CallState::Connected), ms(0));
    assert!(h.send(&mut m, &[], ms(1000)).is_empty());
    assert!(h.send(&mut m, &[], ms(1100)).is_empty());
}

/// Several headsets: the one used last owns the call, and only its on-hook hangs up;
/// a headset unplugged mid-call leaves the call alone.
#[test]
fn the_headset_used_last_owns_the_call() {
    let mut m = Machine::new(Options::default());
    let mut a = Headset::plug(&mut m, "0b0e-0307", ms(0));
    a.hook = false;
    let mut b = Headset::plug(&mut m, "047f-c053", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    let c = b.hook(&mut m, true, ms(1000));
    assert_eq!(c, answer("c1"));
    phone_does(&mut m, &c, ms(1000));
    assert_eq!(m.owner(), Some("047f-c053"));
    // The other headset reports its hook down (it was never lifted): not its call.
    m.take_writes();
    assert!(a.send(&mut m, &[], ms(3000)).is_empty());
    assert!(a.hook(&mut m, false, ms(4000)).is_empty());
    // Unplugging the owner sends nothing to the phone.
    m.remove_device("047f-c053");
    assert_eq!(m.owner(), Some("0b0e-0307"));
    let _ = &mut b;
    assert!(m.devices().all(|d| d == "0b0e-0307"));
}

#[test]
fn lights_show_a_call_answered_in_the_app() {
    let mut m = Machine::new(Options::default());
    let h = Headset::plug(&mut m, "047f-02e6", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    assert!(m.take_writes().iter().any(|(_, r)| r == &vec![33, 0x01]), "Ring on");
    m.call_event(&call("c1", CallState::Connected), ms(1000));
    let writes: Vec<Vec<u8>> = m.take_writes().into_iter().map(|(_, r)| r).collect();
    assert!(writes.contains(&vec![36, 0x01]), "Off-Hook on: {writes:?}");
    assert!(writes.contains(&vec![33, 0x00]), "Ring off: {writes:?}");
    let _ = h;
    assert!(Layout::parse(&fixtures::descriptor("047f-02e6")).unwrap().lights.contains_key(&Light::Ring));
}

#[test]
fn reports_from_unknown_devices_or_of_the_wrong_shape_do_nothing() {
    let mut m = Machine::new(Options::default());
    Headset::plug(&mut m, "0b0e-0307", ms(0));
    m.call_event(&call("c1", CallState::Ringing), ms(0));
    assert!(m.report("nowhere", &[2, 1], ms(10)).is_empty());
    assert!(m.report("0b0e-0307", &[], ms(10)).is_empty());
    assert!(m.report("0b0e-0307", &[9, 0xff, 0xff], ms(10)).is_empty(), "another report id");
}
