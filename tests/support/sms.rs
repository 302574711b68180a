//! The SMS lab: the lab gateway (tests/lab/sms_gateway.py, the stand-in for the
//! carrier) connected to the lab Prosody as `sms.localhost`, and ucdesk profiles with
//! the SMS module on the same account as chat.

use crate::lab::{LabProcess, Prosody, SMS_SECRET, free_port, install_license, set, set_secret};
use crate::{Daemon, Lines, Profile, plugin_lib, wait_for};
use serde_json::{Value, json};
use std::time::Duration;

/// The lab's numbers: alice and bob share one, carol has her own, dave has none.
pub const ALICE_NUMBER: &str = "+15555550100";
pub const CAROL_NUMBER: &str = "+15555550200";
pub const USERS: &str = "alice@localhost=+15555550100:Alice bob@localhost=+15555550100:Bob \
                         carol@localhost=+15555550200:Carol";

pub struct SmsGateway {
    pub control: u16,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

impl SmsGateway {
    pub fn start(x: &Prosody) -> SmsGateway {
        let control = free_port();
        let envs = vec![
            ("SMS_COMPONENT", "sms.localhost".to_string()),
            ("SMS_SECRET", SMS_SECRET.to_string()),
            ("XMPP_COMPONENT_PORT", x.component.to_string()),
            ("SMS_CONTROL_PORT", control.to_string()),
            ("SMS_USERS", USERS.to_string()),
        ];
        let process = LabProcess::start("sms_gateway.py", &envs);
        SmsGateway { control, process, envs }
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again in the same dir (its records, and so its de-duplication, kept).
    pub fn start_again(&mut self) {
        self.process.restart("sms_gateway.py", &self.envs);
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("http://127.0.0.1:{}{path}", self.control);
        let mut r = ureq::post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }

    /// A text from a phone to one of the lab's numbers; the message ids.
    pub fn inbound(&self, from: &str, to: &str, body: &str) -> Vec<String> {
        let v = self.post("/inbound", json!({"from": from, "to": to, "body": body}));
        v["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }

    /// A picture message from a phone: the text, then each (name, type, bytes).
    pub fn inbound_mms(
        &self,
        from: &str,
        to: &str,
        body: &str,
        files: &[(&str, &str, &[u8])],
    ) -> Vec<String> {
        use base64::Engine as _;
        let media: Vec<Value> = files
            .iter()
            .map(|(name, mime, bytes)| {
                json!({"name": name, "type": mime, "b64": base64::engine::general_purpose::STANDARD.encode(bytes)})
            })
            .collect();
        let v = self.post("/inbound", json!({"from": from, "to": to, "body": body, "media": media}));
        v["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }

    /// From now on the carrier refuses texts to `number` with `text` (empty: stops).
    pub fn fail(&self, number: &str, text: &str) {
        self.post("/fail", json!({"number": number, "text": text}));
    }

    /// Sends a stanza exactly as written.
    pub fn raw(&self, xml: &str) {
        self.post("/raw", json!({"xml": xml}));
    }

    /// What was handed to the carrier so far.
    pub fn outbound(&self) -> Vec<Value> {
        self.process.file("outbound.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The records once `pred` holds for them, within `within`.
    pub fn outbound_where(&self, within: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_for(within, || Some(self.outbound()).filter(|o| pred(o)))
            .unwrap_or_else(|| panic!("the carrier never got what was expected: {:?}", self.outbound()))
    }
}

/// A profile licensed with the `sms` add-on, with the SMS module logged in as
/// `user@localhost` (and chat too when `with_chat`).
pub fn sms_profile(x: &Prosody, user: &str, with_chat: bool) -> Profile {
    let p = Profile::new();
    install_license(&p, &["sms"]);
    let p = if with_chat { crate::lab::with_chat(p, x, user) } else { p };
    let p = p.with_library(&plugin_lib("sms"), "sms");
    for (key, value) in [
        ("sms.jid", format!("{user}@localhost")),
        ("sms.server", x.server()),
        ("sms.tls_ca_file", x.ca_file().display().to_string()),
    ] {
        set(&p, key, &value);
    }
    set_secret(&p, "sms.password", &format!("{user}pw"));
    p
}

/// Starts the daemon, subscribes to every event, and waits until SMS says `state`.
pub fn sms_in_state(p: &Profile, state: &str) -> (Daemon, Lines) {
    let env: Vec<(&str, String)> =
        std::env::var("UCDESK_LOG").map(|v| vec![("UCDESK_LOG", v)]).unwrap_or_default();
    let d = p.daemon_with_env(&env);
    let events = Lines::spawn(p.command(&["events"]));
    wait_for(Duration::from_secs(20), || {
        d.call("sms.status", json!(null)).ok().filter(|s| s["state"] == state)
    })
    .unwrap_or_else(|| {
        let status = d.call("sms.status", json!(null));
        panic!("SMS never became {state}: {status:?}\n{}", d.log())
    });
    (d, events)
}

/// A noisy 3000x2000 photo at JPEG quality 95: over 4 MB, as a phone camera writes it
/// (what the MMS test sends and the recompression benchmark fits).
pub fn camera_photo() -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u32;
    let img = image::RgbImage::from_fn(3000, 2000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed & 0x7f) as u8;
        image::Rgb([(x / 12) as u8 ^ n, (y / 8) as u8 ^ n, ((x + y) / 20) as u8 ^ n])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(&img)
        .expect("a JPEG encodes");
    assert!(out.len() > 4_000_000, "{} bytes", out.len());
    out
}
