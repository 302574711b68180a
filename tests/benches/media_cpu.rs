//! CPU per active call, ucdesk's softphone against baresip as the caller, with 1, 10 and
//! 50 concurrent calls, in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench media_cpu`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`). `BENCH_CODEC=g722` or
//! `opus` measures that codec instead of PCMU; `BENCH_CALLS=1,10` picks the call counts
//! (two cores cannot carry 50 Opus calls on both ends at once).
//!
//! Both callers call the same auto-answering baresip bot through the lab Kamailio, play
//! an 8 kHz tone file into every call (ucdesk's `file:` input device, baresip's aufile)
//! and take the far end's audio (ucdesk's `null` output, baresip's paced aubridge
//! player), the chosen codec both ways. With all N calls up, the caller process's CPU time (user +
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
    let codec = std::env::var("BENCH_CODEC").unwrap_or_else(|_| "pcmu".into());
    // (ucdesk's name, baresip's, the tone file's rate)
    let (ours_name, bot_codec, rate) = match codec.as_str() {
        "pcmu" => ("pcmu", "PCMU", 8000),
        "g722" => ("g722", "G722/16000/1", 16000),
        "opus" => ("opus", "opus/48000/2", 48000),
        other => panic!("BENCH_CODEC={other}: pcmu, g722 or opus"),
    };
    let counts: Vec<usize> = std::env::var("BENCH_CALLS")
        .unwrap_or_else(|_| "1,10,50".into())
        .split(',')
        .map(|n| n.trim().parse().expect("BENCH_CALLS: numbers separated by commas"))
        .collect();
    // The bots' tone files are at the codec's own rate, so baresip does not resample.
    let channels = if codec == "opus" { 2 } else { 1 };
    let bot_env = [
        ("BOT_MAX_CALLS", "128".to_string()),
        ("BOT_CODECS", bot_codec.to_string()),
        ("BOT_AUDIO_RATE", rate.to_string()),
        ("BOT_AUDIO_CHANNELS", channels.to_string()),
    ];
    let k = Kamailio::start();
    let callee = Bot::start_with(&k, "bob", "auto", &bot_env);
    let bob = format!("sip:bob@{}", k.addr());
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    let tone = p.home.path().join("tone.wav");
    write_tone(&tone, rate, 1000.0, 600.0);
    for (key, value) in [
        ("softphone.audio_input", format!("file:{}", tone.display())),
        ("softphone.audio_output", "null".to_string()),
        ("softphone.codecs", format!("[\"{ours_name}\"]")),
        ("softphone.call_waiting", "true".to_string()),
    ] {
        set(&p, key, &value);
    }
    let (d, events) = registered_daemon(&p, &[]);
    let ucdesk_pid = d.pid();

    println!("CPU per active {ours_name} call, caller side, {}s sample", SAMPLE.as_secs());
    println!("{:>5} {:>14} {:>14} {:>8}", "calls", "ucdesk %/call", "baresip %/call", "ratio");
    for n in counts {
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
        let caller = Bot::start_with(&k, "carol", "manual", &bot_env);
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
