//! The built plugin in a TestHost, on a machine with no headset: what a user or script
//! sees before plugging one in, and how a bad request is refused.

use serde_json::json;
use std::time::{Duration, Instant};
use ucdesk_sdk::TestHost;

#[test]
fn with_no_device_the_panel_says_so_and_requests_are_checked() {
    let empty = tempfile::tempdir().unwrap();
    // SAFETY: set before the plugin (and any thread of this test) starts.
    unsafe { std::env::set_var("UCDESK_HID_ROOT", empty.path()) };
    let mut host = TestHost::load_built("headsets").unwrap();
    host.start().unwrap();
    assert_eq!(host.call("headsets.devices", &json!(null)).unwrap(), json!([]));
    let refused = host.call("headsets.test", &json!({"device": "/dev/hidraw9"})).unwrap_err();
    assert!(refused.to_string().contains("no open device /dev/hidraw9"), "{refused}");
    let bad = host.call("headsets.test", &json!({"dev": "x"})).unwrap_err();
    assert!(bad.to_string().contains("device"), "names the missing field: {bad}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let view = loop {
        let view =
            host.published_view("devices").map(|v| serde_json::to_string(&v).unwrap()).unwrap_or_default();
        if view.contains("No headset") || Instant::now() > deadline {
            break view;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(view.contains("No headset or status light found"), "{view}");
    assert!(view.contains("Plantronics Runtime does not exist on Linux"), "{view}");
    host.stop().unwrap();
}
