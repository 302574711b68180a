//! The headsets plugin end to end on a real kernel: this machine has no /dev/uhid, so
//! `tests/lab/uhid-guest.sh` boots Debian's cloud kernel in QEMU (software emulation)
//! and runs the guest program there (`plugins/headsets/examples/uhid_guest`). Inside,
//! a Jabra and a Poly headset and a Kuando light are created through /dev/uhid from the
//! real descriptors, and the built plugin, through its real hidraw path, must find them,
//! light Ring for a ringing call, answer it from the Jabra's hook, follow with Off-Hook,
//! mute from the Poly's button, and drive the light.

use std::path::PathBuf;
use std::process::Command;
use ucdesk_tests::{plugin_lib, target_dir};

#[test]
fn a_headset_button_answers_a_call_through_a_real_kernels_hidraw() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let guest = target_dir().join("examples/uhid_guest");
    assert!(guest.exists(), "{} is missing: run `cargo build --workspace --all-targets`", guest.display());
    let out = Command::new(root.join("lab/uhid-guest.sh"))
        .arg(&guest)
        .arg(plugin_lib("headsets"))
        .arg(root.join("../plugins/headsets/tests/fixtures"))
        .output()
        .expect("run the guest");
    let console = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        console.contains("UHID-GUEST PASS"),
        "the guest did not pass:\n--- console ---\n{console}\n--- stderr ---\n{errors}"
    );
    // What the plugin did, in the guest's words (shown with --nocapture).
    for line in console.lines().filter(|l| l.contains("guest:")) {
        println!("{line}");
    }
}
