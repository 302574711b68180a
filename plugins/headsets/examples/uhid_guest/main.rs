//! The guest half of the end-to-end headset test (`tests/headsets_uhid.rs` boots it in
//! QEMU): inside a real Linux kernel, it plays a Jabra and a Poly headset and a Kuando
//! light through /dev/uhid (descriptors from the real captures), loads the built
//! headsets plugin in a TestHost, and checks the plugin's real hidraw path end to end:
//! the devices are found, a ringing call lights Ring, the hook button answers, Off-Hook
//! follows, the Poly's mute button mutes, and the light gets its frames.
//!
//! Usage: `uhid_guest <plugin.so> <fixtures dir>`; prints `UHID-GUEST PASS` or
//! `UHID-GUEST FAIL: <why>` on the console, which is all the host side reads.

mod uhid;

use serde_json::{Value, json};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};
use ucdesk_plugin_headsets::hid::descriptor::{Button, Layout};
use ucdesk_plugin_headsets::hid::report::input_report;
use ucdesk_sdk::TestHost;
use uhid::{FromHost, Uhid};

/// A Kuando-shaped light: 64-byte vendor reports in and out, no report ids. No capture
/// of a real Kuando descriptor exists; the light's frames are checked byte for byte
/// against the golden file elsewhere, so here only the transport matters.
const LIGHT_DESCRIPTOR: &[u8] = &[
    0x06, 0x00, 0xff, 0x09, 0x01, 0xa1, 0x01, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x40, 0x09,
    0x01, 0x81, 0x02, 0x09, 0x01, 0x91, 0x02, 0xc0,
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match run(&args[1], &args[2]) {
        Ok(()) => println!("UHID-GUEST PASS"),
        Err(e) => println!("UHID-GUEST FAIL: {e}"),
    }
}

fn fixture(dir: &str, name: &str) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(format!("{dir}/{name}.hex")).map_err(|e| format!("{name}: {e}"))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()).collect::<Vec<_>>())
        .collect())
}

/// Starts a thread that forwards what the host writes to this device.
fn listen(name: &'static str, dev: &Uhid, to: Sender<(&'static str, Vec<u8>)>) -> Result<(), String> {
    let mut reader = dev.try_clone().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        while let Ok(event) = reader.next() {
            if let FromHost::Output(bytes) = event
                && to.send((name, bytes)).is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

/// Everything the host wrote to the devices, in order.
struct Outputs {
    rx: Receiver<(&'static str, Vec<u8>)>,
    seen: Vec<(&'static str, Vec<u8>)>,
}

impl Outputs {
    /// Where the outputs caused by what happens next begin.
    fn mark(&mut self) -> usize {
        while let Ok(o) = self.rx.try_recv() {
            self.seen.push(o);
        }
        self.seen.len()
    }

    /// Waits for an output of `device` since `from` that satisfies `want`.
    fn expect(
        &mut self,
        from: usize,
        device: &str,
        what: &str,
        want: impl Fn(&[u8]) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut at = from;
        loop {
            while let Some((name, bytes)) = self.seen.get(at) {
                at += 1;
                if *name == device && want(bytes) {
                    println!("guest: {device}: {what}: {bytes:02x?}");
                    return Ok(());
                }
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .ok_or(format!("{device}: no output report with {what}"))?;
            match self.rx.recv_timeout(left) {
                Ok(o) => self.seen.push(o),
                Err(_) => return Err(format!("{device}: no output report with {what}")),
            }
        }
    }
}

fn called(rx: &Receiver<(String, Value)>, service: &str) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((s, request)) if s == service => {
                println!("guest: the plugin called {service} {request}");
                return Ok(request);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Err(format!("the plugin never called {service}"))
}

/// A Kuando program as the device receives it: uhid passes hidraw's write through as
/// it is, with the leading 0 that stands for "no report id".
fn kuando(bytes: &[u8]) -> Option<&[u8]> {
    match bytes {
        [0, rest @ ..] if rest.len() == 64 => Some(rest),
        _ => None,
    }
}

fn call_event(state: &str) -> Value {
    json!({"callid": "c1", "direction": "inbound", "number": "200", "state": state})
}

fn run(plugin: &str, fixtures: &str) -> Result<(), String> {
    let mut host = None;
    let result = steps(plugin, fixtures, &mut host);
    if result.is_err()
        && let Some(host) = &host
    {
        for (level, line) in host.logs() {
            println!("guest: plugin log {level}: {line}");
        }
    }
    result
}

fn steps(plugin: &str, fixtures: &str, slot: &mut Option<TestHost>) -> Result<(), String> {
    let jabra_desc = fixture(fixtures, "0b0e-0307")?;
    let poly_desc = fixture(fixtures, "047f-c053")?;
    let mut jabra = Uhid::create("Jabra EVOLVE LINK MS", 0x0b0e, 0x0307, &jabra_desc)
        .map_err(|e| format!("uhid: {e}"))?;
    let mut poly = Uhid::create("Plantronics Blackwire C5220", 0x047f, 0xc053, &poly_desc)
        .map_err(|e| format!("uhid: {e}"))?;
    let light = Uhid::create("Kuando Busylight Omega", 0x27bb, 0x3bcd, LIGHT_DESCRIPTOR)
        .map_err(|e| format!("uhid: {e}"))?;
    let (out_tx, rx) = mpsc::channel();
    let mut outputs = Outputs { rx, seen: Vec::new() };
    listen("jabra", &jabra, out_tx.clone())?;
    listen("poly", &poly, out_tx.clone())?;
    listen("light", &light, out_tx)?;

    let host = slot.insert(TestHost::load(plugin).map_err(|e| e.to_string())?);
    let (call_tx, calls) = mpsc::channel::<(String, Value)>();
    for service in ["phone.answer", "phone.hangup", "phone.hold", "phone.resume", "phone.mute"] {
        let tx = call_tx.clone();
        host.provide(service, move |request| {
            let _ = tx.send((service.to_string(), request));
            Ok(json!({}))
        });
    }
    host.set_setting("busylight_enabled", json!(true))?;
    host.start().map_err(|e| e.to_string())?;

    // Found through sysfs and opened as real hidraw nodes.
    let deadline = Instant::now() + Duration::from_secs(15);
    let rows = loop {
        let rows = host.call("headsets.devices", &json!({})).map_err(|e| e.to_string())?;
        let ready = rows.as_array().map(|r| r.iter().filter(|d| d["problem"].is_null()).count()).unwrap_or(0);
        if ready >= 3 {
            break rows;
        }
        if Instant::now() > deadline {
            return Err(format!("the plugin did not open the three devices: {rows}"));
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    println!("guest: devices {rows}");
    // The kernel numbers the hidraw nodes in the order it probes the devices, which is
    // not always the order they were created in: each is found by its product name.
    let node = |product: &str| -> Result<String, String> {
        rows.as_array()
            .and_then(|r| r.iter().find(|d| d["product"].as_str().is_some_and(|p| p.contains(product))))
            .and_then(|d| d["path"].as_str())
            .map(str::to_string)
            .ok_or(format!("no {product} among the devices: {rows}"))
    };
    let (jabra_node, poly_node, light_node) = (node("EVOLVE")?, node("Blackwire")?, node("Busylight")?);

    let at = outputs.mark();
    host.emit("call.ringing", &call_event("ringing")).map_err(|e| e.to_string())?;
    // Jabra packs Ring at bit 2 of report 2; the Blackwire has Ring alone in report 24.
    outputs
        .expect(at, "jabra", "Ring", |b| b.first() == Some(&2) && b.get(1).is_some_and(|v| v & 0x04 != 0))?;
    outputs.expect(at, "poly", "Ring", |b| b == [24, 0x01])?;
    outputs.expect(at, "light", "a pulsing program", |b| {
        kuando(b).is_some_and(|p| p[0] == 0x10 && p[5] > 0 && p[6] > 0)
    })?;

    // The user lifts the Jabra's hook.
    let layout = Layout::parse(&jabra_desc).map_err(|e| e.to_string())?;
    jabra.input(&input_report(&layout, 2, &[(Button::Hook, true)])).map_err(|e| e.to_string())?;
    let answered = called(&calls, "phone.answer")?;
    if answered["callid"] != "c1" {
        return Err(format!("answered the wrong call: {answered}"));
    }
    let at = outputs.mark();
    host.emit("call.answered", &call_event("connected")).map_err(|e| e.to_string())?;
    outputs.expect(at, "jabra", "Off-Hook", |b| {
        b.first() == Some(&2) && b.get(1).is_some_and(|v| v & 0x01 != 0)
    })?;
    outputs.expect(at, "light", "a solid program", |b| {
        kuando(b).is_some_and(|p| p[0] == 0x10 && p[5] == 0 && p[2] as u16 + p[3] as u16 + p[4] as u16 > 0)
    })?;

    // The Blackwire's mute button (relative, report 8 bit 0) mutes the call.
    let poly_layout = Layout::parse(&poly_desc).map_err(|e| e.to_string())?;
    let at = outputs.mark();
    poly.input(&input_report(&poly_layout, 8, &[(Button::Mute, true)])).map_err(|e| e.to_string())?;
    poly.input(&input_report(&poly_layout, 8, &[(Button::Mute, false)])).map_err(|e| e.to_string())?;
    let muted = called(&calls, "phone.mute")?;
    if muted["muted"] != true {
        return Err(format!("mute did not mute: {muted}"));
    }
    outputs.expect(at, "poly", "Mute", |b| b == [9, 0x01])?;

    let at = outputs.mark();
    host.emit("call.ended", &call_event("ended")).map_err(|e| e.to_string())?;
    // The Poly owns the call since its button was used last: its Off-Hook goes off.
    outputs.expect(at, "poly", "Off-Hook off", |b| b == [23, 0x00])?;
    outputs.expect(at, "light", "the presence colour", |b| {
        // Available: the app's green, #2ecc71, as PWM percentages.
        kuando(b).is_some_and(|p| p[0] == 0x10 && p[5] == 0 && p[2..5] == [18, 80, 44])
    })?;
    // `headsets.test`: the light blinks white, the headset rings.
    let at = outputs.mark();
    host.call("headsets.test", &json!({"device": light_node})).map_err(|e| e.to_string())?;
    outputs
        .expect(at, "light", "the test blink", |b| kuando(b).is_some_and(|p| p[2..5] == [100, 100, 100]))?;
    host.call("headsets.test", &json!({"device": jabra_node})).map_err(|e| e.to_string())?;
    outputs.expect(at, "jabra", "the test ring", |b| {
        b.first() == Some(&2) && b.get(1).is_some_and(|v| v & 0x04 != 0)
    })?;
    if host.call("headsets.test", &json!({"device": "/dev/nothing"})).is_ok() {
        return Err("headsets.test accepted a device that does not exist".into());
    }

    // The bus heard it all: three devices connected, and the two buttons.
    let published = host.published();
    let on = |topic: &str| {
        published.iter().filter(|p| p.topic == topic).map(|p| p.payload.clone()).collect::<Vec<_>>()
    };
    let connected = on("headset.connected");
    let buttons = on("headset.button");
    println!("guest: headset.connected {} times, headset.button {buttons:?}", connected.len());
    if connected.iter().filter(|d| d["kind"] == "headset").count() < 2
        || !connected.iter().any(|d| d["kind"] == "light")
    {
        return Err(format!("headset.connected: {connected:?}"));
    }
    let pressed =
        |device: &str, button: &str| buttons.iter().any(|b| b["device"] == device && b["button"] == button);
    if !pressed(&jabra_node, "hook_off") || !pressed(&poly_node, "mute") {
        return Err(format!("headset.button: {buttons:?}"));
    }
    host.stop().map_err(|e| e.to_string())?;
    drop((jabra, poly, light));
    Ok(())
}
