//! The softphone's media against real peers: ucdesk calls a baresip bot through the lab
//! Kamailio with the `file` devices (play a tone into the call, record what comes
//! back), the bot plays its own tone and records what it hears; each side's recording
//! must carry the other's tone. Real packets, real codecs on both ends.

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use ucdesk_tests::lab::audio::{read_wav, tone_share, write_tone};
use ucdesk_tests::lab::{Bot, Kamailio, softphone_profile};
use ucdesk_tests::{Daemon, Lines, Profile, wait_for};

const WAIT: Duration = Duration::from_secs(15);
/// The bot's tone (tests/lab/baresip.sh) and ours.
const BOT_HZ: f64 = 440.0;
const OUR_HZ: f64 = 1000.0;

fn set(p: &Profile, key: &str, value: &str) {
    p.run_ok(&["settings", "set", key, value]);
}

fn next_event(events: &Lines, topic: &str) -> Option<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if let Some(line) = events.next(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["topic"] == topic {
                return Some(v["payload"].clone());
            }
        }
    }
    None
}

fn registered(p: &Profile) -> (Daemon, Lines) {
    let d = p.daemon();
    wait_for(WAIT, || {
        d.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("not registered:\n{}", d.log()));
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    std::thread::sleep(Duration::from_millis(300));
    (d, events)
}

/// Asserts `path` carries a tone at `hz` (after the first half second of set-up).
fn assert_tone(path: &Path, hz: f64, what: &str) {
    let (samples, rate) = read_wav(path);
    let skip = (rate / 2) as usize;
    assert!(samples.len() > skip + rate as usize, "{what}: only {} samples at {rate} Hz", samples.len());
    let (share, rms) = tone_share(&samples[skip..], rate, hz);
    assert!(rms > 500.0, "{what}: nearly silent (rms {rms:.0})");
    assert!(share > 0.6, "{what}: {hz} Hz is only {:.0}% of the power (rms {rms:.0})", share * 100.0);
}

/// One bot per codec: baresip 1.0 plays its tone file only at the codec's own rate.
const CODECS: [(&str, &str, &str, u32, u16); 4] = [
    ("pcmu", "bob", "PCMU", 8000, 1),
    ("pcma", "carol", "PCMA", 8000, 1),
    ("g722", "dave", "G722/16000/1", 16000, 1),
    ("opus", "erin", "opus/48000/2", 48000, 2),
];

#[test]
fn audio_flows_both_ways_with_every_codec() {
    let users = "alice:alicepw bob:bobpw carol:carolpw dave:davepw erin:erinpw";
    let k = Kamailio::start_with(&[("SIP_USERS", users.into())]);
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    let ours = p.home.path().join("ours.wav");
    write_tone(&ours, 8000, OUR_HZ, 10.0);
    set(&p, "softphone.audio_input", &format!("file:{}", ours.display()));
    let (d, events) = registered(&p);
    for (codec, user, bot_codec, rate, channels) in CODECS {
        let bot = Bot::start_with(
            &k,
            user,
            "auto",
            &[
                ("BOT_RECORD", "1".into()),
                ("BOT_CODECS", bot_codec.into()),
                ("BOT_AUDIO_RATE", rate.to_string()),
                ("BOT_AUDIO_CHANNELS", channels.to_string()),
            ],
        );
        set(&p, "softphone.codecs", &format!("[\"{codec}\"]"));
        let heard = p.home.path().join(format!("heard-{codec}.wav"));
        set(&p, "softphone.audio_output", &format!("file:{}", heard.display()));
        let dialed = d.call("phone.dial", json!({"number": user})).unwrap();
        let answered = next_event(&events, "call.answered")
            .unwrap_or_else(|| panic!("{codec}: {user} did not answer:\n{}\n{}", bot.log(), d.log()));
        assert_eq!(answered["callid"], dialed["callid"], "{codec}");
        std::thread::sleep(Duration::from_secs(3));
        d.call("phone.hangup", json!({"callid": dialed["callid"]})).unwrap();
        next_event(&events, "call.ended").unwrap_or_else(|| panic!("{codec}: the call did not end"));
        // The recording is complete once the call's media task has closed it.
        wait_for(WAIT, || (read_wav(&heard).0.len() > 8000).then_some(()));
        assert_tone(&heard, BOT_HZ, &format!("{codec}: what ucdesk heard"));
        let bot_heard = wait_for(WAIT, || bot.recordings("-dec.wav").into_iter().next())
            .unwrap_or_else(|| panic!("{codec}: {user} recorded nothing:\n{}", bot.log()));
        std::thread::sleep(Duration::from_millis(300));
        assert_tone(&bot_heard, OUR_HZ, &format!("{codec}: what {user} heard"));
    }
}
