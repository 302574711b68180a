//! The softphone against linphonec 5.1 (tests/lab/linphone.sh), Belledonne's SIP and
//! media stack, through the lab Kamailio: a second independent peer beside baresip so
//! the softphone is not tuned to one. Calls both ways with each side's tone checked in
//! the other's recording, hold and resume from either end, and DTMF both ways with an
//! Opus offer (telephone-event at 48000, 16000 and 8000 Hz) and with G.711.

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use ucdesk_tests::lab::audio::{assert_tone, read_wav, tone_share, write_tone};
use ucdesk_tests::lab::{self, Kamailio, set, softphone_profile};
use ucdesk_tests::linphone::Linphone;
use ucdesk_tests::{Daemon, Lines, Profile, wait_for};

const WAIT: Duration = Duration::from_secs(15);
/// linphone's tone (LP_TONE_HZ) and ours.
const PEER_HZ: u32 = 440;
const OUR_HZ: f64 = 1000.0;

fn next_event(events: &Lines, topic: &str) -> Value {
    lab::next_event(events, topic, WAIT).unwrap_or_else(|| panic!("no {topic} event"))
}

/// Alice's softphone with `codec` only, playing our tone and recording into `heard`.
fn alice(k: &Kamailio, codec: &str) -> (Profile, Daemon, Lines) {
    let p = softphone_profile(k, "alice", "udp", "alicepw");
    let ours = p.home.path().join("ours.wav");
    write_tone(&ours, 8000, OUR_HZ, 60.0);
    set(&p, "softphone.audio_input", &format!("file:{}", ours.display()));
    set(&p, "softphone.codecs", &format!("[\"{codec}\"]"));
    // UCDESK_LOG=debug in the test's environment shows the SIP exchanges in the logs.
    let log = std::env::var("UCDESK_LOG").map(|v| vec![("UCDESK_LOG", v)]).unwrap_or_default();
    let (d, events) = lab::registered_daemon(&p, &log);
    (p, d, events)
}

fn record_to(p: &Profile, name: &str) -> std::path::PathBuf {
    let heard = p.home.path().join(name);
    set(p, "softphone.audio_output", &format!("file:{}", heard.display()));
    heard
}

/// The recording once its writer has closed it (linphone closes at hang-up).
fn finished_wav(path: &Path) {
    wait_for(WAIT, || (read_wav(path).0.len() > 8000).then_some(()))
        .unwrap_or_else(|| panic!("{} holds no audio", path.display()));
    std::thread::sleep(Duration::from_millis(300));
}

/// Both directions for one codec: ucdesk calls linphone, then linphone calls ucdesk;
/// each recording carries the other side's tone.
fn calls_both_ways(codec: &str, linphone_codec: &str) {
    let k = Kamailio::start();
    let bob = Linphone::start(&k, "bob", linphone_codec, PEER_HZ);
    let (p, d, events) = alice(&k, codec);

    let heard = record_to(&p, "out.wav");
    bob.command(&format!("record {}", bob.recording("out-bob.wav").display()));
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    let answered = next_event(&events, "call.answered");
    assert_eq!(answered["callid"], dialed["callid"], "{}", bob.log());
    std::thread::sleep(Duration::from_secs(3));
    d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
    lab::next_event(&events, "call.ended", WAIT).unwrap_or_else(|| {
        panic!("{codec}: the call did not end:\n{}\n{}", d.log(), k.process.file("kamailio.log"))
    });
    finished_wav(&heard);
    assert_tone(&heard, PEER_HZ as f64, &format!("{codec} out: what ucdesk heard"));
    finished_wav(&bob.recording("out-bob.wav"));
    assert_tone(&bob.recording("out-bob.wav"), OUR_HZ, &format!("{codec} out: what linphone heard"));

    let heard = record_to(&p, "in.wav");
    bob.command(&format!("record {}", bob.recording("in-bob.wav").display()));
    bob.command(&format!("call sip:alice@{}", k.addr()));
    let incoming = next_event(&events, "call.incoming");
    assert_eq!(incoming["number"], "bob");
    let dtmf = Lines::spawn(p.command(&["events", "--topic", "call.dtmf"]));
    d.call("phone.answer", json!({"callid": incoming["callid"]})).unwrap();
    next_event(&events, "call.answered");
    std::thread::sleep(Duration::from_secs(1));
    // linphone's own offer (with Opus: telephone-event at 48000, 16000 and 8000 Hz)
    // carries digits both ways too.
    d.call("phone.dtmf", json!({"callid": incoming["callid"], "digits": "2"})).unwrap();
    wait_for(WAIT, || (bob.tones_received() == "2").then_some(())).unwrap_or_else(|| {
        panic!("{codec} in: linphone heard {:?} of 2:\n{}", bob.tones_received(), bob.output())
    });
    bob.command("8");
    let digit = lab::next_event(&dtmf, "call.dtmf", WAIT)
        .unwrap_or_else(|| panic!("{codec} in: no digit from linphone"));
    assert_eq!(digit["digits"], "8", "{codec} in");
    std::thread::sleep(Duration::from_secs(2));
    // linphone hangs up this time: its BYE comes to ucdesk through the proxy.
    bob.command("terminate");
    let ended = next_event(&events, "call.ended");
    assert_eq!(ended["callid"], incoming["callid"]);
    finished_wav(&heard);
    assert_tone(&heard, PEER_HZ as f64, &format!("{codec} in: what ucdesk heard"));
    finished_wav(&bob.recording("in-bob.wav"));
    assert_tone(&bob.recording("in-bob.wav"), OUR_HZ, &format!("{codec} in: what linphone heard"));
}

#[test]
fn opus_calls_both_ways_carry_each_sides_tone() {
    calls_both_ways("opus", "opus");
}

#[test]
fn g711_calls_both_ways_carry_each_sides_tone() {
    calls_both_ways("pcmu", "PCMU");
}

/// DTMF both ways and hold from either end, in a call ucdesk places.
fn dtmf_and_hold(codec: &str, linphone_codec: &str) {
    let k = Kamailio::start();
    let bob = Linphone::start(&k, "bob", linphone_codec, PEER_HZ);
    let (p, d, events) = alice(&k, codec);
    let heard = record_to(&p, "call.wav");
    let dialed = d.call("phone.dial", json!({"number": "bob"})).unwrap();
    let callid = dialed["callid"].as_str().unwrap().to_string();
    next_event(&events, "call.answered");
    // Let the media settle (linphone's first seconds are its own set-up).
    std::thread::sleep(Duration::from_secs(1));

    d.call("phone.dtmf", json!({"callid": callid, "digits": "159#"})).unwrap();
    wait_for(WAIT, || (bob.tones_received() == "159#").then_some(())).unwrap_or_else(|| {
        panic!("{codec}: linphone heard {:?} of 159#:\n{}", bob.tones_received(), bob.output())
    });

    let dtmf = Lines::spawn(p.command(&["events", "--topic", "call.dtmf"]));
    std::thread::sleep(Duration::from_millis(300));
    for digit in ["7", "3", "*"] {
        bob.command(digit);
        std::thread::sleep(Duration::from_millis(400));
    }
    let mut got = String::new();
    while got.len() < 3 {
        let Some(e) = lab::next_event(&dtmf, "call.dtmf", WAIT) else { break };
        got.push_str(e["digits"].as_str().unwrap_or_default());
    }
    assert_eq!(got, "73*", "{codec}: what ucdesk heard of linphone's digits:\n{}", d.log());

    d.call("phone.hold", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.held")["state"], "held");
    assert!(bob.wait_output("paused", WAIT), "{codec}: linphone did not see the hold:\n{}", bob.output());
    d.call("phone.resume", json!({"callid": callid})).unwrap();
    assert_eq!(next_event(&events, "call.resumed")["state"], "connected");

    // linphone holds and resumes: ucdesk follows both re-INVITEs.
    bob.command("pause");
    assert_eq!(next_event(&events, "call.held")["state"], "held", "{}", bob.output());
    // linphonec refuses a resume while its pause is still under way.
    assert!(
        bob.wait_output("is now paused", WAIT),
        "{codec}: linphone's pause did not finish:\n{}",
        bob.output()
    );
    bob.command("resume");
    let resumed = lab::next_event(&events, "call.resumed", WAIT)
        .unwrap_or_else(|| panic!("{codec}: linphone's resume never arrived:\n{}", bob.output()));
    assert_eq!(resumed["state"], "connected");
    // After all that the audio still flows: the last seconds carry linphone's tone.
    std::thread::sleep(Duration::from_secs(2));
    d.call("phone.hangup", json!({"callid": callid})).unwrap();
    next_event(&events, "call.ended");
    finished_wav(&heard);
    let (samples, rate) = read_wav(&heard);
    let tail = &samples[samples.len().saturating_sub(rate as usize)..];
    let (share, rms) = tone_share(tail, rate, PEER_HZ as f64);
    assert!(
        rms > 300.0 && share > 0.6,
        "{codec}: after the holds ucdesk hears {share:.2} tone at rms {rms:.0}"
    );
}

#[test]
fn opus_dtmf_both_ways_and_hold_from_either_end() {
    dtmf_and_hold("opus", "opus");
}

#[test]
fn g711_dtmf_both_ways_and_hold_from_either_end() {
    dtmf_and_hold("pcmu", "PCMU");
}
