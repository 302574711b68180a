//! The window starts on a real (virtual) X display, activates the plugins off the UI
//! thread, serves the control socket like the daemon, and closes cleanly on SIGTERM.
//! Needs Xvfb (tests/run.sh installs it).

use serde_json::json;
use ucdesk_tests::{Profile, Xvfb};

#[test]
fn the_window_serves_the_control_socket_and_closes_cleanly() {
    let x = Xvfb::start();
    let profile = Profile::new().with_hello();
    let gui = profile.gui(&x.display);
    // A second `ucdesk ...` talks to the running window.
    let answer = profile.run_ok(&["ctl", "hello.greet", r#"{"name":"Window"}"#]);
    assert_eq!(answer.trim(), json!({"greeting": "Hello, Window!"}).to_string());
    let list = gui.plugins();
    assert_eq!(ucdesk_tests::entry(&list, "hello")["state"], "active");
    // Only one instance per profile, whichever kind.
    let second = profile.run(&["daemon"]);
    assert!(!second.status.success());
    let (clean, log) = gui.stop();
    assert!(clean, "the window did not close cleanly:\n{log}");
    assert!(log.contains("hello stopped"), "{log}");
    assert!(!profile.socket().exists(), "the socket is removed on exit");
}

#[test]
fn without_a_display_the_window_says_what_to_do() {
    let profile = Profile::new();
    let out = profile.command(&[]).env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use `ucdesk daemon`"));
}
