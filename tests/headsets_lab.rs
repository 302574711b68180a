//! The headsets plugin with the real softphone on the real kernel, against Kamailio and
//! a baresip caller: a Jabra's buttons answer, mute and hang up a real SIP call, and its
//! lights follow.
//!
//! Stand-in, and why: the headset itself. This machine has no hidraw (no USB, no uhid),
//! so a pseudo-terminal in raw mode stands where `/dev/hidraw0` would be, described by a
//! sysfs-like tree (`UCDESK_HID_ROOT`) that carries the real Jabra EVOLVE LINK MS
//! descriptor; the test writes the input reports that descriptor defines and reads the
//! output reports back. The plugin's real hidraw path against a real kernel is
//! `tests/headsets_uhid.rs`, in QEMU.

use serde_json::json;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use ucdesk_tests::lab::{Bot, Kamailio, next_event, registered_daemon, softphone_profile};
use ucdesk_tests::{plugin_lib, wait_for};

const WAIT: Duration = Duration::from_secs(10);

/// A pseudo-terminal pair in raw mode: bytes pass unchanged both ways.
fn raw_pty() -> (File, OwnedFd, String) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two fds; the name, termios and winsize pointers may be null.
    let rc = unsafe {
        libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just opened and are owned here.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    use std::os::fd::AsRawFd;
    // SAFETY: a termios filled by tcgetattr, on the slave we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
    let name = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
    (master, slave, name.to_string_lossy().into_owned())
}

/// `<root>/sys/class/hidraw/hidraw0/device/...` for the Jabra, and `<root>/dev/hidraw0`
/// pointing at the pty.
fn hid_root(root: &Path, pty: &str) {
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/headsets/tests/fixtures/0b0e-0307.hex"),
    )
    .unwrap();
    let descriptor: Vec<u8> = fixture
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect::<Vec<_>>())
        .collect();
    let device = root.join("sys/class/hidraw/hidraw0/device");
    std::fs::create_dir_all(&device).unwrap();
    std::fs::write(
        device.join("uevent"),
        "DRIVER=jabra\nHID_ID=0003:00000B0E:00000307\nHID_NAME=Jabra EVOLVE LINK MS\n",
    )
    .unwrap();
    std::fs::write(device.join("report_descriptor"), descriptor).unwrap();
    std::fs::create_dir_all(root.join("dev")).unwrap();
    std::os::unix::fs::symlink(pty, root.join("dev/hidraw0")).unwrap();
}

/// The Jabra's output reports (report 2: id + 2 bytes) as the plugin writes them.
struct Lights {
    rx: mpsc::Receiver<[u8; 3]>,
}

impl Lights {
    fn start(mut master: File) -> Lights {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut frame = Vec::new();
            let mut buf = [0u8; 64];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    return;
                }
                frame.extend_from_slice(&buf[..n]);
                while frame.len() >= 3 {
                    let report: [u8; 3] = frame[..3].try_into().unwrap();
                    frame.drain(..3);
                    if tx.send(report).is_err() {
                        return;
                    }
                }
            }
        });
        Lights { rx }
    }

    /// Waits for a report whose light byte has `mask` set to `on`.
    fn expect(&self, what: &str, mask: u8, on: bool) {
        let deadline = Instant::now() + WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(r) if r[0] == 2 && (r[1] & mask != 0) == on => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the headset never got {what}");
    }
}

/// Writes one input report of report 2: Hook is bit 0, Mute bit 2 (the descriptor's
/// layout, checked in plugins/headsets/tests/descriptors.rs).
fn press(pty: &mut File, byte: u8) {
    pty.write_all(&[2, byte, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(150));
}

#[test]
fn a_jabras_buttons_answer_mute_hold_hang_up_and_reject_real_calls() {
    let k = Kamailio::start();
    let carol = Bot::start(&k, "carol", "manual");
    let p =
        softphone_profile(&k, "alice", "udp", "alicepw").with_library(&plugin_lib("headsets"), "headsets");
    let root = tempfile::tempdir().unwrap();
    let (master, _slave, pty) = raw_pty();
    hid_root(root.path(), &pty);
    let mut to_headset = master.try_clone().unwrap();
    let lights = Lights::start(master);
    let (d, events) = registered_daemon(&p, &[("UCDESK_HID_ROOT", root.path().display().to_string())]);
    wait_for(WAIT, || {
        let rows = d.call("headsets.devices", json!(null)).ok()?;
        rows.as_array()?
            .iter()
            .any(|r| r["product"] == "Jabra EVOLVE LINK MS" && r["problem"].is_null())
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the headset was not opened:\n{}", d.log()));

    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let callid = next_event(&events, "call.incoming", WAIT).expect("call.incoming")["callid"]
        .as_str()
        .unwrap()
        .to_string();
    lights.expect("Ring", 0x04, true);

    // Lift the hook: the softphone answers the real call.
    press(&mut to_headset, 0x01);
    let answered = next_event(&events, "call.answered", WAIT).expect("the hook did not answer");
    assert_eq!(answered["callid"], callid.as_str());
    lights.expect("Off-Hook", 0x01, true);
    wait_for(WAIT, || carol.log().contains("established").then_some(()))
        .unwrap_or_else(|| panic!("carol's call never established:\n{}", carol.log()));

    // Mute (a toggle: press and release, the hook still up), then the Mute light.
    press(&mut to_headset, 0x05);
    press(&mut to_headset, 0x01);
    let muted = next_event(&events, "call.muted", WAIT).expect("the mute button did nothing");
    assert_eq!((muted["callid"].as_str(), muted["muted"].as_bool()), (Some(callid.as_str()), Some(true)));
    lights.expect("Mute", 0x02, true);

    // Flash holds the call (Off-Hook stays on, Hold on), flash again resumes it.
    press(&mut to_headset, 0x09);
    press(&mut to_headset, 0x01);
    assert_eq!(
        next_event(&events, "call.held", WAIT).expect("flash did not hold")["callid"],
        callid.as_str()
    );
    lights.expect("Hold", 0x08, true);
    press(&mut to_headset, 0x09);
    press(&mut to_headset, 0x01);
    assert_eq!(
        next_event(&events, "call.resumed", WAIT).expect("flash did not resume")["callid"],
        callid.as_str()
    );

    // Put the hook down: the call ends, and so do the lights.
    press(&mut to_headset, 0x00);
    let ended = next_event(&events, "call.ended", WAIT).expect("the hook did not hang up");
    assert_eq!(
        (ended["callid"].as_str(), ended["result"].as_str()),
        (Some(callid.as_str()), Some("answered"))
    );
    lights.expect("Off-Hook off", 0x01, false);

    // The next call is rejected with the reject button (Button 7, bit 6).
    carol.command("dial", &format!("sip:alice@{}", k.addr()));
    let second = next_event(&events, "call.incoming", WAIT).expect("second call")["callid"]
        .as_str()
        .unwrap()
        .to_string();
    lights.expect("Ring", 0x04, true);
    press(&mut to_headset, 0x40);
    press(&mut to_headset, 0x00);
    let ended = next_event(&events, "call.ended", WAIT).expect("reject did nothing");
    assert_eq!(
        (ended["callid"].as_str(), ended["result"].as_str()),
        (Some(second.as_str()), Some("rejected"))
    );
}
