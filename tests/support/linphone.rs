//! A linphonec peer (tests/lab/linphone.sh) registered to the lab Kamailio: the second
//! independent SIP and media stack the softphone is tested against, beside baresip.
//! Driven by lines written to its command FIFO; what it says is read from its output.

use crate::lab::{Kamailio, LabProcess, free_port, free_port_pair};
use std::io::Write;
use std::time::Duration;

pub struct Linphone {
    pub user: String,
    pub process: LabProcess,
}

impl Linphone {
    /// `codecs`: linphonec's names of the codecs left enabled ("opus PCMU"), or "" for
    /// its defaults. It answers every call by itself and plays a `tone_hz` tone.
    pub fn start(kamailio: &Kamailio, user: &str, codecs: &str, tone_hz: u32) -> Linphone {
        let envs = [
            ("LP_USER", user.to_string()),
            ("LP_PASS", format!("{user}pw")),
            ("REGISTRAR", kamailio.addr()),
            ("LP_SIP_PORT", free_port().to_string()),
            ("LP_RTP_PORT", free_port_pair().to_string()),
            ("LP_CODECS", codecs.to_string()),
            ("LP_TONE_HZ", tone_hz.to_string()),
        ];
        Linphone { user: user.to_string(), process: LabProcess::start("linphone.sh", &envs) }
    }

    /// Writes one command line to linphonec (`call sip:...`, `pause`, `resume`, digits).
    pub fn command(&self, line: &str) {
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(self.process.dir.path().join("cmd"))
            .expect("linphonec's command FIFO");
        writeln!(fifo, "{line}").expect("linphonec reads its FIFO");
    }

    /// What linphonec printed (its answers and call events).
    pub fn output(&self) -> String {
        self.process.file("out.txt")
    }

    /// Its SIP and media log.
    pub fn log(&self) -> String {
        self.process.file("linphone.log")
    }

    /// Waits until its output holds `needle`.
    pub fn wait_output(&self, needle: &str, within: Duration) -> bool {
        crate::wait_for(within, || self.output().contains(needle).then_some(())).is_some()
    }

    /// The digits linphonec heard as RFC 4733 events, in order.
    pub fn tones_received(&self) -> String {
        self.output()
            .lines()
            .filter_map(|l| l.split("Receiving tone ").nth(1))
            .filter_map(|rest| rest.chars().next())
            .collect()
    }

    /// Where it records the call it is in (set with `record` before the call).
    pub fn recording(&self, name: &str) -> std::path::PathBuf {
        self.process.dir.path().join(name)
    }
}
