//! CPU per active G.711 call, ucdesk's softphone against baresip as the caller, with 1,
//! 10 and 50 concurrent calls, in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench media_cpu`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`).
//!
//! Both callers call the same auto-answering baresip bot through the lab Kamailio, play
//! an 8 kHz tone file into every call (ucdesk's `file:` input device, baresip's aufile)
//! and take the far end's audio (ucdesk's `null` output, baresip's paced aubridge
//! player), PCMU both ways. With all N calls up, the caller process's CPU time (user +
//! system, /proc) is sampled over 10 s. The callee is not measured.

use serde_json::json;
use std::time::{Duration, Instant};
use ucdesk_tests::lab::audio::write_tone;
use ucdesk_tests::lab::{Bot, Kamailio, cpu_time, registered_daemon, set, softphone_profile};
use ucdesk_tests::wait_for;

const SAMPLE: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(30);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let k = Kamailio::start();
    let callee = Bot::start_with(&k, "bob", "auto", &[("BOT_MAX_CALLS", "128".into())]);
    let bob = format!("sip:bob@{}", k.addr());
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    let tone = p.home.path().join("tone.wav");
    write_tone(&tone, 8000, 1000.0, 600.0);
    for (key, value) in [
        ("softphone.audio_input", format!("file:{}", tone.display())),
        ("softphone.audio_output", "null".to_string()),
        ("softphone.codecs", "[\"pcmu\"]".to_string()),
        ("softphone.call_waiting", "true".to_string()),
    ] {
        set(&p, key, &value);
    }
    let (d, events) = registered_daemon(&p, &[]);
    let ucdesk_pid = d.pid();

    println!("CPU per active PCMU call, caller side, {}s sample", SAMPLE.as_secs());
    println!("{:>5} {:>14} {:>14} {:>8}", "calls", "ucdesk %/call", "baresip %/call", "ratio");
    for n in [1usize, 10, 50] {
        // ucdesk: N calls up.
        let mut ids = Vec::new();
        // Calls are placed 100 ms apart (both callers alike): a burst of INVITEs is a
        // different benchmark.
        for _ in 0..n {
            ids.push(d.call("phone.dial", json!({"number": "bob"})).expect("dial")["callid"].clone());
            std::thread::sleep(Duration::from_millis(100));
        }
        let (mut answered, mut failed) = (0, 0);
        let deadline = Instant::now() + WAIT;
        while answered + failed < n && Instant::now() < deadline {
            let Some(line) = events.next(Duration::from_millis(100)) else { continue };
            if line.contains("\"topic\":\"call.answered\"") {
                answered += 1;
            } else if line.contains("\"topic\":\"call.ended\"") {
                eprintln!("ucdesk: a call failed: {line}");
                failed += 1;
            }
        }
        // Per active call: a call the callee dropped does not count.
        assert!(answered >= n * 9 / 10, "ucdesk: only {answered} of {n} calls answered");
        let ours = per_call(ucdesk_pid, answered);
        for id in &ids {
            let _ = d.call("phone.hangup", json!({ "callid": id }));
        }
        // Drain this round's call.ended events so the next round counts only its own.
        let mut ended = failed;
        let deadline = Instant::now() + WAIT;
        while ended < n && Instant::now() < deadline {
            if events.next(Duration::from_millis(100)).is_some_and(|l| l.contains("\"topic\":\"call.ended\""))
            {
                ended += 1;
            }
        }

        // baresip: a fresh caller bot with N calls up.
        let caller = Bot::start_with(&k, "carol", "manual", &[("BOT_MAX_CALLS", "128".into())]);
        for _ in 0..n {
            caller.command("dial", &bob);
            std::thread::sleep(Duration::from_millis(100));
        }
        let up = || caller.log().matches("Call established").count();
        let _ = wait_for(WAIT, || (up() >= n).then_some(()));
        let established = up();
        assert!(established >= n * 9 / 10, "baresip: only {established} of {n} calls established");
        let theirs = per_call(caller.pid().expect("baresip pid"), established);
        drop(caller);
        println!(
            "{n:>5} {:>13.2}% {:>13.2}% {:>7.2}x   (up: {answered} / {established})",
            ours,
            theirs,
            ours / theirs
        );
        // Let the callee settle before the next round.
        std::thread::sleep(Duration::from_secs(2));
    }
    drop(callee);
}

/// CPU % of one core per call for `pid` over the sample window (after 2 s to settle).
fn per_call(pid: u32, calls: usize) -> f64 {
    std::thread::sleep(Duration::from_secs(2));
    let (t0, c0) = (Instant::now(), cpu_time(pid));
    std::thread::sleep(SAMPLE);
    let (t1, c1) = (Instant::now(), cpu_time(pid));
    (c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64() * 100.0 / calls as f64
}
