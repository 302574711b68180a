//! SMS history into a fresh home, and MMS photo recompression.
//!
//! 1. Sync: 5,000 SMS from a phone to carol's number (through the lab gateway, so
//!    Prosody archives them as a real gateway's would) synced by ucdesk's SMS module
//!    (fetch, filter to the gateway's numbers, store) against a bare tokio-xmpp client
//!    that only fetches the same archive, same server, same page size, in the same run.
//!    ucdesk's time runs from SMS being ready to its `sms.sync` done event; the bare
//!    client's from its first query to the last page. Each is the median of 3 runs.
//! 2. Recompression: a 4 MB camera JPEG made to fit the 500 KB MMS budget by
//!    `media::prepare` (the plugin's code, optimised build), against one plain decode +
//!    encode at quality 85 of the same photo (the least any recompression costs): time
//!    and output size, median of 3.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench sms_sync`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`). `SYNC_MESSAGES=N`
//! for another archive size.

#[path = "bare_mam.rs"]
mod bare_mam;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_tests::lab::{Prosody, RawXmpp};
use ucdesk_tests::sms::{CAROL_NUMBER, SmsGateway, camera_photo, sms_profile};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    sync();
    recompression();
}

fn sync() {
    let n: usize = std::env::var("SYNC_MESSAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let x = Prosody::start();
    let gw = SmsGateway::start(&x);
    // Carol is online elsewhere while the archive fills: the texts are archived and
    // delivered, not left in offline storage.
    let elsewhere = RawXmpp::login(&x, "carol", "carolpw");
    for batch in 0..n.div_ceil(500) {
        let count = 500.min(n - batch * 500);
        let url = format!("http://127.0.0.1:{}/inbound", gw.control);
        let body = json!({"from": "+15555550999", "to": CAROL_NUMBER, "body": format!("batch {batch}: the delivery is on its way"), "repeat": count});
        ureq::post(&url).header("Content-Type", "application/json").send(body.to_string()).expect("inbound");
    }
    unsafe { std::env::set_var("SSL_CERT_FILE", x.ca_file()) };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, count) = rt.block_on(bare_mam::fetch(&x, "carol", "carolpw"));
        if count >= n {
            break;
        }
        assert!(Instant::now() < deadline, "only {count} of {n} texts reached the archive");
        std::thread::sleep(Duration::from_secs(2));
    }
    drop(elsewhere);
    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (t, count) = rt.block_on(bare_mam::fetch(&x, "carol", "carolpw"));
        assert!(count >= n, "the bare client fetched {count} of {n}");
        bare.push(t);
        ours.push(ucdesk_sync(&x, n));
    }
    bare.sort();
    ours.sort();
    let (b, o) = (bare[1], ours[1]);
    println!("SMS history sync of {n} texts into a fresh home (median of 3)");
    println!("  bare tokio-xmpp fetch:          {:>8.0} ms", b.as_secs_f64() * 1000.0);
    println!("  ucdesk (fetch + filter + store): {:>8.0} ms", o.as_secs_f64() * 1000.0);
    println!("  ratio: {:.2}x", o.as_secs_f64() / b.as_secs_f64());
}

fn ucdesk_sync(x: &Prosody, n: usize) -> Duration {
    let carol = sms_profile(x, "carol", false);
    let d = carol.daemon_with_env(&[]);
    let events = ucdesk_tests::Lines::spawn(carol.command(&["events", "--topic", "sms."]));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut ready = None;
    while Instant::now() < deadline {
        let Some(line) = events.next(Duration::from_millis(100)) else { continue };
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["topic"] == "sms.status" && v["payload"]["state"] == "ready" && ready.is_none() {
            ready = Some(Instant::now());
        }
        if v["topic"] == "sms.sync" && v["payload"]["done"] == true {
            let t = ready.expect("ready before the sync is done").elapsed();
            assert!(v["payload"]["stored"].as_u64() >= Some(n as u64), "{}", v["payload"]);
            drop(d);
            return t;
        }
    }
    panic!("ucdesk never finished the sync:\n{}", d.log());
}

fn recompression() {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_photo();
    let src = dir.path().join("camera.jpg");
    std::fs::write(&src, &photo).unwrap();
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    let (mut size, mut plain_size, mut side) = (0, 0, 0);
    for i in 0..3 {
        let t = Instant::now();
        let out = ucdesk_plugin_sms::media::prepare(
            std::slice::from_ref(&src),
            &dir.path().join(format!("out{i}")),
        )
        .expect("the photo fits");
        ours.push(t.elapsed());
        size = out[0].size;
        side = image::image_dimensions(&out[0].path).map(|(w, h)| w.max(h)).unwrap_or(0);
        let t = Instant::now();
        let img = image::load_from_memory(&photo).unwrap().to_rgb8();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&img).unwrap();
        plain.push(t.elapsed());
        plain_size = jpeg.len();
    }
    ours.sort();
    plain.sort();
    println!("MMS recompression of a {:.1} MB camera JPEG (median of 3)", photo.len() as f64 / 1e6);
    println!(
        "  one decode + encode at q85:      {:>6.0} ms, {:>7} bytes (does not fit)",
        plain[1].as_secs_f64() * 1000.0,
        plain_size
    );
    println!(
        "  ucdesk, fitted to 500 KB:        {:>6.0} ms, {:>7} bytes, {side} px on its longest side",
        ours[1].as_secs_f64() * 1000.0,
        size
    );
    println!("  time ratio: {:.2}x", ours[1].as_secs_f64() / plain[1].as_secs_f64());
}
