//! The first run (README: `./run.sh`): the demo lab starts, the demo profile logs in,
//! and calling the bot and chatting with it work at once. Same scripts as the run
//! command (tests/lab/demo.sh), debug binaries.

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use ucdesk_tests::lab::next_event;
use ucdesk_tests::{Lines, Profile, plugin_lib, target_dir, wait_for};

const T: Duration = Duration::from_secs(20);

fn demo(args: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/demo.sh");
    let out = Command::new(script).args(args).output().expect("demo.sh runs");
    assert!(out.status.success(), "demo.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Stops the demo lab however the test ends.
struct Lab(tempfile::TempDir);

impl Drop for Lab {
    fn drop(&mut self) {
        demo(&[Path::new("stop"), self.0.path()]);
    }
}

#[test]
fn the_demo_lab_answers_calls_and_chats() {
    let lab = Lab(tempfile::tempdir().unwrap());
    demo(&[Path::new("start"), lab.0.path()]);
    let p = Profile::new()
        .with_library(&plugin_lib("softphone"), "softphone")
        .with_library(&plugin_lib("chat"), "chat");
    demo(&[Path::new("profile"), lab.0.path(), p.home.path(), &target_dir()]);
    let d = p.daemon();
    let events = Lines::spawn(p.command(&["events"]));
    wait_for(T, || {
        d.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .expect("the demo user registers");

    // The bot answers a call (and plays its tone: the softphone_media tests check audio).
    let call = d.call("phone.dial", json!({"number": "bot"})).unwrap();
    let answered = next_event(&events, "call.answered", T).expect("the bot answers");
    assert_eq!(answered["callid"], call["callid"]);
    d.call("phone.hangup", json!({"callid": call["callid"]})).unwrap();

    // The chat bot answers a message.
    wait_for(T, || {
        let s: Value = d.call("chat.status", json!(null)).ok()?;
        (s["state"] == "online").then_some(())
    })
    .expect("chat comes online");
    d.call("chat.send", json!({"to": "bot@localhost", "body": "ping"})).unwrap();
    let deadline = std::time::Instant::now() + T;
    loop {
        assert!(std::time::Instant::now() < deadline, "no answer from the chat bot");
        if let Some(m) = next_event(&events, "chat.message", Duration::from_millis(500))
            && m["from"] == "bot@localhost"
        {
            assert_eq!(m["body"], "You said: ping");
            break;
        }
    }
}
