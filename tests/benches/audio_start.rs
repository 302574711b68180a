//! How soon a caller's audio flows once the call is answered: from the 200 OK passing
//! the proxy to the caller's first RTP packet at the far end, for ucdesk and for baresip
//! calling the same far end in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench audio_start`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`).
//!
//! The far end is SIPp (tests/lab/sipp/uas_echo.xml: 180 without SDP, then 200 with an
//! SDP pointing the media at a socket of this process); the proxy is the lab Kamailio
//! with `SIP_TIMING=1`, which logs with microseconds when each 200 OK passes. The socket
//! notes when each call's first packet arrives. Both clocks are this machine's. ucdesk
//! uses real devices: the lab PulseAudio through ALSA's pulse plugin (a sound server's
//! connection is part of what a user waits for); baresip reads its aufile and plays to
//! ALSA's default (the same PulseAudio). Both offer Opus and PCMU; the far end picks.

use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ucdesk_tests::lab::{Bot, Kamailio, PulseAudio, Sipp, next_event, registered_daemon, set};
use ucdesk_tests::lab::{sipp_scenario, softphone_profile};
use ucdesk_tests::wait_for;

const CALLS: usize = 10;
const WAIT: Duration = Duration::from_secs(15);

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// An even port whose successor is free (RTP/RTCP), noting after the last reset when
/// the first packet of a call arrived, and the first PCMU packet that carries sound
/// (mostly samples away from silence's 0xFF/0x7F).
struct FirstPacket {
    port: u16,
    first: Arc<Mutex<(Option<f64>, Option<f64>)>>,
}

fn loud(packet: &[u8]) -> bool {
    let payload = packet.get(12..).unwrap_or_default();
    packet.get(1).is_some_and(|pt| pt & 0x7f == 0)
        && payload.len() >= 80
        && payload.iter().filter(|b| (**b & 0x7f) < 0x60).count() > payload.len() / 2
}

impl FirstPacket {
    fn start() -> FirstPacket {
        let socket = ucdesk_tests::lab::rtp_socket();
        let port = socket.local_addr().unwrap().port();
        let first = Arc::new(Mutex::new((None, None)));
        let seen = first.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, _)) = socket.recv_from(&mut buf) {
                let t = now();
                let mut s = seen.lock().unwrap();
                s.0.get_or_insert(t);
                if loud(&buf[..n]) {
                    s.1.get_or_insert(t);
                }
            }
        });
        FirstPacket { port, first }
    }

    fn reset(&self) {
        // Packets of the call before may still be in flight: let them land first.
        std::thread::sleep(Duration::from_millis(300));
        *self.first.lock().unwrap() = (None, None);
    }

    fn wait(&self) -> f64 {
        wait_for(WAIT, || self.first.lock().unwrap().0).expect("no RTP from the caller")
    }

    /// The first packet with sound, if one comes within `within`.
    fn wait_loud(&self, within: Duration) -> Option<f64> {
        wait_for(within, || self.first.lock().unwrap().1)
    }
}

/// Each 200 OK to an INVITE as Kamailio logged it: (Call-ID, seconds).
fn answers(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter_map(|l| {
            let mut f = l.split("timing answer ").nth(1)?.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let pa = PulseAudio::start();
    let far = FirstPacket::start();
    // Far ends that ring first (a 180 without SDP: ucdesk plays its own ringback and its
    // devices open then) or answer at once, with G.711 or with Opus (48 kHz: devices
    // opened for the ringback's 8 kHz must open again).
    let base = std::fs::read_to_string(sipp_scenario("uas_echo.xml")).unwrap();
    let ringing_block =
        base.find("  <send><![CDATA[\nSIP/2.0 180").unwrap()..base.find("  <send retrans").unwrap();
    let opus = |t: &str| t.replace("RTP/AVP 0\na=rtpmap:0 PCMU/8000", "RTP/AVP 96\na=rtpmap:96 opus/48000/2");
    let at_once = format!("{}{}", &base[..ringing_block.start], &base[ringing_block.end..]);
    let cases = [
        ("ringing", "180, then 200", base.clone()),
        ("atonce", "200 at once", at_once.clone()),
        ("ringopus", "180, 200 Opus", opus(&base)),
        ("opus", "200 Opus", opus(&at_once)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let far_ends: Vec<Sipp> = cases
        .iter()
        .map(|(number, _, text)| {
            let file = dir.path().join(format!("{number}.xml"));
            std::fs::write(&file, text).unwrap();
            Sipp::uas_with(file.to_str().unwrap(), &format!("-key echo_port {}", far.port))
        })
        .collect();
    let routes: Vec<String> =
        cases.iter().zip(&far_ends).map(|((n, _, _), s)| format!("{n}=127.0.0.1:{}", s.port)).collect();
    let k = Kamailio::start_with(&[("SIP_TIMING", "1".into()), ("SIP_ROUTES", routes.join(" "))]);
    let carol = Bot::start_with(&k, "carol", "manual", &[("BOT_CODECS", "opus/48000/2,PCMU".into())]);
    let p = softphone_profile(&k, "alice", "udp", "alicepw");
    set(&p, "softphone.codecs", "[\"opus\", \"pcmu\"]");
    set(&p, "softphone.audio_input", "default");
    set(&p, "softphone.audio_output", "default");
    if std::env::var("NO_AEC").is_ok() {
        set(&p, "softphone.echo_cancellation", "false");
        set(&p, "softphone.noise_suppression", "false");
    }
    let (d, events) = registered_daemon(&p, &[("PULSE_SERVER", pa.server())]);
    // Something to hear: a 1 kHz tone into the sink whose monitor is ucdesk's microphone.
    let mut tone = std::process::Command::new("pacat")
        .args(["-p", "--rate=8000", "--channels=1", "--format=s16le", "--device=vsink"])
        .env("PULSE_SERVER", pa.server())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("pacat");
    let mut feed = tone.stdin.take().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let second: Vec<u8> = (0..8000)
            .flat_map(|i| {
                let v = (10000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16;
                v.to_le_bytes()
            })
            .collect();
        while feed.write_all(&second).is_ok() {}
    });
    let next = |topic: &str| next_event(&events, topic, WAIT).unwrap_or_else(|| panic!("no {topic}"));

    println!("first RTP (and first with sound) after the 200 OK passes the proxy, {CALLS} calls each (ms)");
    println!("{:<16} {:<14} {:>8} {:>8} {:>8}", "caller", "far end", "p50", "p90", "max");
    let mut calls = 0;
    for (number, far_end, _) in &cases {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let (mut ours_heard, mut theirs_heard) = (Vec::new(), Vec::new());
        for _ in 0..CALLS {
            far.reset();
            let dialed = d.call("phone.dial", json!({ "number": number })).expect("dial");
            let callid = dialed["callid"].as_str().unwrap().to_string();
            let first = far.wait();
            let heard = far.wait_loud(Duration::from_secs(3));
            next("call.answered");
            d.call("phone.hangup", json!({ "callid": callid })).unwrap();
            next("call.ended");
            let answered = wait_for(WAIT, || {
                answers(&k.process.file("kamailio.log")).into_iter().find(|(c, _)| *c == callid).map(|a| a.1)
            })
            .expect("Kamailio logged ucdesk's answer");
            ours.push((first - answered) * 1000.0);
            if let Some(h) = heard {
                ours_heard.push((h - answered) * 1000.0);
            }

            if number.contains("opus") {
                continue;
            }
            far.reset();
            let before = answers(&k.process.file("kamailio.log")).len();
            carol.command("dial", &format!("sip:{number}@{}", k.addr()));
            let first = far.wait();
            let heard = far.wait_loud(Duration::from_secs(3));
            carol.command("hangup", "");
            let answered =
                wait_for(WAIT, || answers(&k.process.file("kamailio.log")).get(before).map(|a| a.1))
                    .expect("Kamailio logged baresip's answer");
            theirs.push((first - answered) * 1000.0);
            if let Some(h) = heard {
                theirs_heard.push((h - answered) * 1000.0);
            }
            calls += 1;
            wait_for(WAIT, || (carol.log().matches("terminate call").count() >= calls).then_some(()))
                .unwrap_or_else(|| panic!("baresip call not ended:\n{}", carol.log()));
        }
        for v in [&mut ours, &mut theirs, &mut ours_heard, &mut theirs_heard] {
            v.sort_by(f64::total_cmp);
        }
        let row = |name: &str, v: &[f64]| {
            println!(
                "{name:<16} {far_end:<14} {:>8.1} {:>8.1} {:>8.1}",
                pct(v, 0.5),
                pct(v, 0.9),
                v[v.len() - 1]
            );
        };
        row("ucdesk", &ours);
        if !ours_heard.is_empty() {
            row("ucdesk (sound)", &ours_heard);
        }
        if !theirs.is_empty() {
            row("baresip", &theirs);
            row("baresip (sound)", &theirs_heard);
            println!(
                "ratio ucdesk/baresip p50 ({far_end}): {:.2}x",
                pct(&ours, 0.5) / pct(&theirs, 0.5).max(0.1)
            );
        }
    }
    let _ = tone.kill();
    let _ = tone.wait();
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
