//! A bare XMPP client for hand-written stanzas (malformed ones on purpose, or what
//! ucdesk does not send, like publishing a contact card): openssl s_client does
//! STARTTLS, we do SASL PLAIN and bind by hand.

use crate::lab::XmppServer;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A bare XMPP client for sending hand-written stanzas (malformed on purpose): openssl
/// s_client does STARTTLS, we do SASL PLAIN and bind by hand. What the server says is
/// kept as text, for [`RawXmpp::wait_for`].
pub struct RawXmpp {
    child: Child,
    heard: std::sync::Arc<std::sync::Mutex<String>>,
}

impl RawXmpp {
    pub fn login(x: &impl XmppServer, user: &str, password: &str) -> RawXmpp {
        let child = Command::new("openssl")
            .args(["s_client", "-quiet", "-starttls", "xmpp", "-xmpphost", "localhost", "-connect"])
            .arg(x.server())
            .arg("-CAfile")
            .arg(x.ca_file())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs");
        let header = "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' \
                      xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
        let auth = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
        };
        let mut child = child;
        let heard = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (mut out, keep) = (child.stdout.take().expect("piped"), heard.clone());
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                keep.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut raw = RawXmpp { child, heard };
        // Each step waits for the server's answer to the one before (its features, the
        // SASL success, the new stream's features, the bound resource), however slow a
        // loaded machine makes it.
        std::thread::sleep(Duration::from_millis(300));
        for (step, answer, count) in [
            (header.to_string(), "</stream:features>", 1),
            (
                format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>"),
                "success",
                1,
            ),
            (header.to_string(), "</stream:features>", 2),
            (
                "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>".to_string(),
                "bind1",
                1,
            ),
        ] {
            raw.send(&step);
            raw.wait_count(answer, count, Duration::from_secs(10));
        }
        raw.send("<presence/>");
        std::thread::sleep(Duration::from_millis(300));
        raw
    }

    /// Waits until the server has said `needle` at least `n` times.
    fn wait_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if self.heard.lock().unwrap().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits until the server has said something containing `needle` (an iq's id);
    /// false after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_count(needle, 1, timeout)
    }

    /// Everything the server said so far.
    pub fn heard(&self) -> String {
        self.heard.lock().unwrap().clone()
    }

    pub fn send(&mut self, xml: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped");
        stdin.write_all(xml.as_bytes()).expect("openssl takes input");
        stdin.flush().unwrap();
    }
}

impl Drop for RawXmpp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
