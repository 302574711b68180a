//! Mouth-to-ear delay of a call on loopback, and what the jitter buffer adds at 0 and
//! 30 ms of network jitter.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench media_latency`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`).
//!
//! ucdesk calls SIPp through the lab Kamailio; the media goes to an echo in this process
//! that sends every RTP packet straight back, optionally after a seeded random delay of
//! 0-90 ms (an RFC 3550 jitter of about 30 ms). The input device plays a 20 ms 1 kHz
//! click every second; the output device records what comes back. Both files start on
//! the same media clock tick, so the click's offset between them is the full round
//! trip: packetisation, our send path, the network (and its delay), the jitter buffer,
//! decoding. The fixed network delay here is ~0, so the round trip is our own work plus
//! the jitter buffer, once out and once back in one buffer (the echo has none).

use serde_json::json;
use std::time::Duration;
use ucdesk_tests::lab::audio::read_wav;
use ucdesk_tests::lab::{
    ImpairedEcho, Kamailio, Sipp, next_event, registered_daemon, set, sipp_scenario, softphone_profile,
};
use ucdesk_tests::wait_for;

const WAIT: Duration = Duration::from_secs(20);
const CLICKS: usize = 8;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cases = [("0 ms", Duration::ZERO), ("30 ms", Duration::from_millis(90))];
    let echoes: Vec<ImpairedEcho> =
        cases.iter().enumerate().map(|(i, (_, d))| ImpairedEcho::start(0.0, *d, 11 + i as u64)).collect();
    let scenario = sipp_scenario("uas_echo.xml");
    let peers: Vec<Sipp> = echoes
        .iter()
        .map(|e| Sipp::uas_with(scenario.to_str().unwrap(), &format!("-key echo_port {}", e.port)))
        .collect();
    let routes: Vec<String> =
        peers.iter().enumerate().map(|(i, s)| format!("echo{i}=127.0.0.1:{}", s.port)).collect();
    let k = Kamailio::start_with(&[("SIP_ROUTES", routes.join(" "))]);
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    let home = p.home.path().to_path_buf();
    let clicks = home.join("clicks.wav");
    write_clicks(&clicks);
    for (key, value) in [
        ("softphone.audio_input", format!("file:{}", clicks.display())),
        ("softphone.audio_output", format!("file:{}/back-{{callid}}.wav", home.display())),
        ("softphone.codecs", "[\"pcmu\"]".to_string()),
    ] {
        set(&p, key, &value);
    }
    let (d, events) = registered_daemon(&p, &[]);
    let wait_topic = |topic: &str| next_event(&events, topic, WAIT).unwrap_or_else(|| panic!("no {topic}"));

    println!("round trip through the echo, PCMU, {CLICKS} clicks per case (ms)");
    println!("{:>8} {:>8} {:>8} {:>8}", "jitter", "median", "min", "max");
    let mut medians = Vec::new();
    for (i, (label, _)) in cases.iter().enumerate() {
        let callid = d.call("phone.dial", json!({"number": format!("echo{i}")})).expect("dial")["callid"]
            .as_str()
            .unwrap()
            .to_string();
        wait_topic("call.answered");
        std::thread::sleep(Duration::from_secs(CLICKS as u64 + 1));
        d.call("phone.hangup", json!({ "callid": callid })).unwrap();
        wait_topic("call.ended");
        let back = home.join(format!("back-{callid}.wav"));
        let (samples, rate) =
            wait_for(WAIT, || Some(read_wav(&back)).filter(|(s, _)| s.len() > 8000)).expect("recording");
        let mut delays: Vec<f64> = onsets(&samples)
            .into_iter()
            .filter_map(|at| {
                // Each click left at a whole second; the echo is the nearest one before.
                let sent = (at / rate as usize) * rate as usize;
                let ms = (at - sent) as f64 * 1000.0 / rate as f64;
                (ms < 900.0).then_some(ms)
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        assert!(delays.len() >= CLICKS / 2, "{label}: only {} clicks came back", delays.len());
        let median = delays[delays.len() / 2];
        medians.push(median);
        println!("{label:>8} {median:>8.1} {:>8.1} {:>8.1}", delays[0], delays[delays.len() - 1]);
    }
    println!(
        "added by the jitter buffer at 30 ms jitter (median over median at 0): {:.1} ms",
        medians[1] - medians[0]
    );
}

/// One 20 ms 1 kHz click at the start of every second, 8 kHz mono.
fn write_clicks(path: &std::path::Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..8000 * (CLICKS + 2) {
        let in_click = i % 8000 < 160;
        let v = if in_click {
            12000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()
        } else {
            0.0
        };
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Sample positions where a click starts (energy over 5 ms windows crossing a threshold).
fn onsets(samples: &[i16]) -> Vec<usize> {
    let win = 40;
    let mut out = Vec::new();
    let mut loud = false;
    for (i, w) in samples.chunks(win).enumerate() {
        let rms = (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        if rms > 2000.0 && !loud {
            // Refine to the first sample over a quarter of the threshold in this window.
            let first = w.iter().position(|&s| (s as i32).abs() > 500).unwrap_or(0);
            out.push(i * win + first);
        }
        loud = rms > 2000.0;
    }
    out
}
