//! Alert sounds in the window (the shell driven headless) on a real sound path: the
//! lab's PulseAudio null sink is the default card, its monitor is recorded while bob
//! (a daemon on Prosody) writes to alice, whose window is in the background. A new
//! message plays the message sound; in do not disturb it does not (the presence
//! provider raises no alert then).

use egui_kittest::Harness;
use serde_json::json;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use ucdesk_shell::Shell;
use ucdesk_tests::lab::{self, Prosody, PulseAudio};

const T: Duration = Duration::from_secs(20);
const RATE: usize = 16_000;

/// Records the sink's monitor (what the card plays) until stopped.
struct Recorder(Child);

impl Recorder {
    fn start(pa: &PulseAudio) -> Recorder {
        let child = Command::new("parec")
            .args(["--server", &pa.server(), "--device=vsink.monitor", "--raw", "--format=s16le"])
            .args(["--rate=16000", "--channels=1", "--latency-msec=20"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec runs (pulseaudio-utils)");
        Recorder(child)
    }

    /// Stops and returns the loudest 50 ms window's RMS.
    fn stop(mut self) -> f64 {
        let _ = self.0.kill();
        let mut bytes = Vec::new();
        self.0.stdout.take().unwrap().read_to_end(&mut bytes).unwrap();
        let _ = self.0.wait();
        let samples: Vec<f64> =
            bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f64).collect();
        samples
            .chunks(RATE / 20)
            .map(|w| (w.iter().map(|s| s * s).sum::<f64>() / w.len() as f64).sqrt())
            .fold(0.0, f64::max)
    }
}

fn steps(h: &mut Harness<'_, Shell>, for_: Duration) {
    let until = Instant::now() + for_;
    while Instant::now() < until {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_new_message_plays_its_sound_on_the_card_and_not_in_do_not_disturb() {
    let pa = PulseAudio::start();
    // SAFETY: set before this test starts any thread: the shell's sounds play on the
    // default card, the lab's sound server.
    unsafe { std::env::set_var("PULSE_SERVER", pa.server()) };
    let x = Prosody::start();
    let alice = lab::chat_profile(&x, "alice");
    let bob = lab::chat_profile(&x, "bob");
    let (b, _) = lab::online_chat(&bob);
    b.call("chat.add_contact", json!({"jid": "alice@localhost"})).unwrap();

    let kernel = ucdesk_kernel::Kernel::new(ucdesk_kernel::KernelConfig::new(
        ucdesk_kernel::Home::under(alice.home.path()),
        vec![alice.plugins.clone()],
    ))
    .unwrap();
    let mut h = Harness::builder()
        .with_size([1200.0, 900.0])
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, shell: &mut Shell| shell.ui(ui), Shell::new(kernel.clone()));
    let status = |k: &ucdesk_kernel::Kernel| -> serde_json::Value {
        let out = k.call("chat.status", b"null".to_vec(), T).unwrap_or_default();
        serde_json::from_slice(&out).unwrap_or_default()
    };
    let deadline = Instant::now() + T;
    while status(&kernel)["state"] != "online" {
        assert!(Instant::now() < deadline, "alice never came online");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // The window is in the background (another application has the focus): a
    // message's sound plays whatever the window shows.
    h.input_mut().focused = false;
    steps(&mut h, Duration::from_millis(500));

    // Silence first: the card plays nothing while nothing happens.
    let quiet = Recorder::start(&pa);
    steps(&mut h, Duration::from_millis(800));
    let silence = quiet.stop();
    assert!(silence < 50.0, "the card is quiet before any message: rms {silence:.0}");

    let rec = Recorder::start(&pa);
    steps(&mut h, Duration::from_millis(300));
    b.call("chat.send", json!({"to": "alice@localhost", "body": "ding?"})).unwrap();
    steps(&mut h, Duration::from_secs(2));
    let heard = rec.stop();
    assert!(heard > 500.0, "the message sound reached the card: rms {heard:.0}");

    // Do not disturb: the message arrives, no sound plays.
    kernel.call("presence.set", serde_json::to_vec(&json!({"status": "dnd"})).unwrap(), T).unwrap();
    steps(&mut h, Duration::from_millis(500));
    let rec = Recorder::start(&pa);
    steps(&mut h, Duration::from_millis(300));
    b.call("chat.send", json!({"to": "alice@localhost", "body": "ding again?"})).unwrap();
    steps(&mut h, Duration::from_secs(2));
    let dnd = rec.stop();
    assert!(dnd < 50.0, "no sound in do not disturb: rms {dnd:.0}");
    let history = kernel
        .call(
            "chat.history",
            serde_json::to_vec(&json!({"conversation": "bob@localhost", "limit": 5})).unwrap(),
            T,
        )
        .unwrap();
    assert!(String::from_utf8_lossy(&history).contains("ding again?"), "the message itself arrived");
    drop(h);
    kernel.shutdown();
}
