//! The real SIP lab for tests: Kamailio and baresip bots started by the scripts in
//! tests/lab on free loopback ports, each in its own temp dir, stopped on drop.

use crate::{Daemon, Lines, Profile, plugin_lib, sdk_bin, wait_for};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A port free for both UDP and TCP on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A port P free for UDP and TCP with P+1 free too: baresip listens for TLS on the SIP
/// port plus one, so a bot on a lone free port could collide with a neighbour.
pub fn free_port_pair() -> u16 {
    loop {
        let p = free_port();
        let Some(next) = p.checked_add(1) else { continue };
        if UdpSocket::bind(("127.0.0.1", next)).is_ok() && TcpListener::bind(("127.0.0.1", next)).is_ok() {
            return p;
        }
    }
}

fn lab_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lab").join(name)
}

/// A lab process (the script and what it started, in one process group).
pub struct LabProcess {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl LabProcess {
    pub(crate) fn start(script: &str, envs: &[(&str, String)]) -> LabProcess {
        let dir = tempfile::tempdir().expect("lab dir");
        let child = Self::spawn(script, dir.path(), envs);
        LabProcess { child, dir }
    }

    fn spawn(script: &str, dir: &Path, envs: &[(&str, String)]) -> Child {
        let mut cmd = Command::new(lab_script(script));
        cmd.arg(dir).envs(envs.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{script}: {e}"));
        let mut out = child.stdout.take().expect("piped");
        let mut line = [0u8; 6];
        let ready = out.read_exact(&mut line).is_ok() && &line == b"ready\n";
        if !ready {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("{script} did not become ready:\n{err}");
        }
        child
    }

    /// Stops the process and starts the script again in the same dir (its data kept).
    pub(crate) fn restart(&mut self, script: &str, envs: &[(&str, String)]) {
        self.stop();
        self.child = Self::spawn(script, self.dir.path(), envs);
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// SIGKILL to the whole process group at once: nothing gets to clean up.
    pub fn kill(&mut self) {
        let pgid = self.child.id() as i32;
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// Stops the process group (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        let pgid = self.child.id() as i32;
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kamailio with users alice, bob, carol, dave (password `<user>pw`).
pub struct Kamailio {
    pub udp: u16,
    pub tcp: u16,
    pub tls: u16,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

impl Kamailio {
    pub fn start() -> Kamailio {
        Self::start_with(&[])
    }

    /// With extra environment for tests/lab/kamailio.sh (SIP_DOMAINS, SIP_ROUTES, ...).
    pub fn start_with(extra: &[(&'static str, String)]) -> Kamailio {
        let (udp, tls) = (free_port(), free_port());
        let mut envs = vec![
            ("SIP_UDP_PORT", udp.to_string()),
            ("SIP_TCP_PORT", udp.to_string()),
            ("SIP_TLS_PORT", tls.to_string()),
        ];
        envs.extend(extra.iter().cloned());
        let process = LabProcess::start("kamailio.sh", &envs);
        Kamailio { udp, tcp: udp, tls, process, envs }
    }

    /// Stops Kamailio (its registrations are in memory: they are lost).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same ports, with an empty location table.
    pub fn restart(&mut self) {
        self.process.stop();
        self.process = LabProcess::start("kamailio.sh", &self.envs);
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.udp)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.process.dir.path().join("ca.pem")
    }
}

/// Prosody for domain `localhost` with users alice, bob, carol, dave (`<user>pw`):
/// STARTTLS with a throwaway CA, MAM, carbons, stream management, MUC, uploads.
/// It also takes the lab SMS gateway as the external component `sms.localhost` on
/// port `component` (see [`crate::sms::SmsGateway`]); listed whether or not it is there.
pub struct Prosody {
    pub c2s: u16,
    pub http: u16,
    pub component: u16,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

/// The lab component's shared secret (XEP-0114), on loopback only.
pub const SMS_SECRET: &str = "lab-sms-secret";

impl Prosody {
    pub fn start() -> Prosody {
        let (c2s, http, component) = (free_port(), free_port(), free_port());
        let envs = vec![
            ("XMPP_C2S_PORT", c2s.to_string()),
            ("XMPP_HTTP_PORT", http.to_string()),
            ("XMPP_COMPONENT_PORT", component.to_string()),
            ("SMS_SECRET", SMS_SECRET.to_string()),
        ];
        let process = LabProcess::start("prosody.sh", &envs);
        Prosody { c2s, http, component, process, envs }
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again after [`Prosody::stop`], with the same data and ports.
    pub fn start_again(&mut self) {
        self.process.restart("prosody.sh", &self.envs);
    }

    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.c2s)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.process.dir.path().join("ca.pem")
    }
}

pub use crate::demo::DemoLab;
pub use crate::ejabberd::{Cluster, Ejabberd, XmppServer};
pub use crate::raw_xmpp::RawXmpp;

/// A profile with the chat plugin logged in as `user@localhost` on the lab Prosody.
pub fn chat_profile(x: &impl XmppServer, user: &str) -> Profile {
    let p = Profile::new();
    install_business_license(&p);
    with_chat(p, x, user)
}

/// Adds the chat plugin, logged in as `user@localhost`, to a licensed profile.
pub fn with_chat(p: Profile, x: &impl XmppServer, user: &str) -> Profile {
    let p = p.with_library(&plugin_lib("chat"), "chat");
    for (key, value) in [
        ("chat.jid", format!("{user}@localhost")),
        ("chat.server", x.server()),
        ("chat.tls_ca_file", x.ca_file().display().to_string()),
    ] {
        set(&p, key, &value);
    }
    set_secret(&p, "chat.password", &format!("{user}pw"));
    p
}

/// Stores a secret through the command line (stdin, never argv).
pub fn set_secret(p: &Profile, name: &str, value: &str) {
    crate::remember_secret(value);
    let mut child = p.command(&["secret", "set", name]).stdin(Stdio::piped()).spawn().expect("ucdesk runs");
    child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

pub(crate) fn install_business_license(p: &Profile) {
    install_license(p, &[]);
}

/// Installs a business license with these add-on features too (`sms`).
pub fn install_license(p: &Profile, features: &[&str]) {
    let license = p.home.path().join("license.json");
    let out = Command::new(sdk_bin())
        .args(["license", "issue", "--key", DEV_KEY, "--licensee", "Lab", "--edition", "business"])
        .args(["--expires", "2099-12-31"])
        .args(if features.is_empty() { vec![] } else { vec!["--features".to_string(), features.join(",")] })
        .arg("--out")
        .arg(&license)
        .output()
        .expect("ucdesk-sdk runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    p.run_ok(&["license", "install", license.to_str().unwrap()]);
}

/// Starts the daemon, subscribes to every bus event, and waits until chat is online.
pub fn online_chat(p: &Profile) -> (Daemon, Lines) {
    // UCDESK_LOG=debug in the test's environment reaches the daemons (the plugins' own
    // progress lines).
    let env: Vec<(&str, String)> =
        std::env::var("UCDESK_LOG").map(|v| vec![("UCDESK_LOG", v)]).unwrap_or_default();
    let d = p.daemon_with_env(&env);
    let events = Lines::spawn(p.command(&["events"]));
    wait_for(Duration::from_secs(20), || {
        d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online")
    })
    .unwrap_or_else(|| {
        let status = d.call("chat.status", json!(null));
        panic!("chat never came online: {status:?}\n{}", d.log())
    });
    (d, events)
}

/// The chat status once it says `state` (within 15 s); the test fails otherwise.
pub fn chat_state(d: &Daemon, state: &str) -> Value {
    wait_for(Duration::from_secs(15), || {
        d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == state)
    })
    .unwrap_or_else(|| panic!("chat never {state}: {}", d.log()))
}

/// dnsmasq answering SRV and A records for a lab domain (tests/lab/dns.sh).
pub struct Dns {
    pub port: u16,
    pub process: LabProcess,
}

impl Dns {
    /// `srv`: (name, target host, port, priority, weight); `hosts`: (name, ip).
    pub fn start(srv: &[(&str, &str, u16, u16, u16)], hosts: &[(&str, &str)]) -> Dns {
        let port = free_port();
        let srv = srv.iter().map(|(n, t, p, prio, w)| format!("{n}={t}:{p}:{prio}:{w}")).collect::<Vec<_>>();
        let hosts = hosts.iter().map(|(n, ip)| format!("{n}={ip}")).collect::<Vec<_>>();
        let process = LabProcess::start(
            "dns.sh",
            &[("DNS_PORT", port.to_string()), ("DNS_SRV", srv.join(" ")), ("DNS_HOSTS", hosts.join(" "))],
        );
        Dns { port, process }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A PulseAudio server with null sinks `vsink` (default; its monitor is the default
/// source) and `vsink2`: a paced sound card without hardware (tests/lab/pulseaudio.sh).
pub struct PulseAudio {
    pub process: LabProcess,
}

impl PulseAudio {
    pub fn start() -> PulseAudio {
        PulseAudio { process: LabProcess::start("pulseaudio.sh", &[]) }
    }

    /// The PULSE_SERVER value for clients.
    pub fn server(&self) -> String {
        format!("unix:{}", self.process.dir.path().join("pulse.sock").display())
    }
}

/// A SIPp scenario file under tests/lab/sipp.
pub fn sipp_scenario(name: &str) -> PathBuf {
    lab_script("sipp").join(name)
}

/// A SIPp server (`-sn uas` or a scenario file) on `port`, logging every message it
/// sends and receives to DIR/messages.log (tests/lab/sipp.sh).
pub struct Sipp {
    pub port: u16,
    pub process: LabProcess,
}

impl Sipp {
    pub fn uas(scenario: &str) -> Sipp {
        Self::uas_with(scenario, "")
    }

    /// With extra SIPp arguments (e.g. `-key echo_port 4000`).
    pub fn uas_with(scenario: &str, args: &str) -> Sipp {
        let port = free_port();
        let process = LabProcess::start(
            "sipp.sh",
            &[
                ("SIPP_PORT", port.to_string()),
                ("SIPP_SCENARIO", scenario.into()),
                ("SIPP_ARGS", args.into()),
            ],
        );
        Sipp { port, process }
    }

    pub fn messages(&self) -> String {
        self.process.file("messages.log")
    }
}

const DEV_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../license/keys/dev-vendor.key");

/// A profile with the softphone, a development business license and `user`'s account
/// on `k` over `transport` (udp, tcp, tls) with `password`.
pub fn softphone_profile(k: &Kamailio, user: &str, transport: &str, password: &str) -> Profile {
    let p = Profile::new().with_library(&plugin_lib("softphone"), "softphone");
    install_business_license(&p);
    let server = match transport {
        "tls" => format!("127.0.0.1:{}", k.tls),
        _ => k.addr(),
    };
    for (key, value) in [
        ("softphone.server", server.as_str()),
        ("softphone.username", user),
        ("softphone.transport", transport),
        ("softphone.tls_ca_file", k.ca_file().to_str().unwrap()),
    ] {
        p.run_ok(&["settings", "set", key, value]);
    }
    set_secret(&p, "softphone.password", password);
    p
}

/// Sets one setting of a profile.
pub fn set(p: &Profile, key: &str, value: &str) {
    p.run_ok(&["settings", "set", key, value]);
}

/// Starts the daemon (with extra environment), waits until the phone is registered,
/// and subscribes to call events (`call.` topics).
pub fn registered_daemon(p: &Profile, env: &[(&str, String)]) -> (Daemon, Lines) {
    let d = p.daemon_with_env(env);
    wait_for(Duration::from_secs(15), || {
        d.call("phone.status", json!(null)).ok().filter(|s| s["registration"]["state"] == "registered")
    })
    .unwrap_or_else(|| panic!("the phone never registered:\n{}", d.log()));
    let events = Lines::spawn(p.command(&["events", "--topic", "call."]));
    // Let the subscription settle before anything happens.
    std::thread::sleep(Duration::from_millis(300));
    (d, events)
}

/// The first call in `phone.calls` that `pick` chooses once it is connected (the far
/// end answered), polled for `within`; the test fails with the instance's log.
pub fn wait_connected(d: &Daemon, within: Duration, pick: impl Fn(&Value) -> bool) -> Value {
    wait_for(within, || {
        let calls = d.call("phone.calls", json!(null)).ok()?;
        calls.as_array()?.iter().find(|c| c["state"] == "connected" && pick(c)).cloned()
    })
    .unwrap_or_else(|| panic!("the call was not answered:\n{}", d.log()))
}

/// The payload of the next event on `topic` from an `events` stream, within `timeout`.
/// The next event on `topic` whose payload satisfies `pred`; the test fails without one
/// within `within`.
pub fn event_where(events: &Lines, topic: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Some(v) = next_event(events, topic, Duration::from_millis(200))
            && pred(&v)
        {
            return v;
        }
    }
    panic!("no {topic} event matched within {within:?}");
}

pub fn next_event(events: &Lines, topic: &str, timeout: Duration) -> Option<Value> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(line) = events.next(Duration::from_millis(100)) {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["topic"] == topic {
                return Some(v["payload"].clone());
            }
        }
    }
    None
}

/// A baresip bot registered as `user`.
pub struct Bot {
    pub user: String,
    pub ctrl: u16,
    pub process: LabProcess,
}

impl Bot {
    pub fn start(kamailio: &Kamailio, user: &str, answer: &str) -> Bot {
        Self::start_with(kamailio, user, answer, &[])
    }

    /// With extra environment for tests/lab/baresip.sh (BOT_CODECS, BOT_RECORD, ...).
    pub fn start_with(
        kamailio: &Kamailio,
        user: &str,
        answer: &str,
        extra: &[(&'static str, String)],
    ) -> Bot {
        let (sip, ctrl) = (free_port_pair(), free_port());
        let mut envs = vec![
            ("BOT_USER", user.to_string()),
            ("BOT_PASS", format!("{user}pw")),
            ("REGISTRAR", kamailio.addr()),
            ("BOT_SIP_PORT", sip.to_string()),
            ("BOT_CTRL_PORT", ctrl.to_string()),
            ("BOT_ANSWER", answer.to_string()),
        ];
        envs.extend(extra.iter().cloned());
        let process = LabProcess::start("baresip.sh", &envs);
        Bot { user: user.to_string(), ctrl, process }
    }

    /// The bot's recordings (BOT_RECORD=1) whose names end in `suffix`
    /// (`-dec.wav`: what it heard, `-enc.wav`: what it sent).
    pub fn recordings(&self, suffix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.process.dir.path())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("dump") && n.ends_with(suffix))
        });
        files
    }

    /// Sends one ctrl_tcp command (netstring JSON) and returns the response text.
    pub fn command(&self, command: &str, params: &str) -> String {
        let body = serde_json::json!({ "command": command, "params": params, "token": "t" }).to_string();
        let mut s = TcpStream::connect(("127.0.0.1", self.ctrl)).expect("ctrl_tcp connects");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{}:{},", body.len(), body).as_bytes()).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    pub fn log(&self) -> String {
        self.process.file("baresip.log")
    }

    /// The baresip process's id (for CPU measurements).
    pub fn pid(&self) -> Option<u32> {
        let out = Command::new("pgrep")
            .args(["-f", &format!("baresip -f {}", self.process.dir.path().display())])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).lines().next()?.trim().parse().ok()
    }
}

/// CPU time (user + system) a process has used so far, from /proc.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

/// Audio checks for recordings: reading WAV files and measuring tones.
pub mod audio {
    use std::path::Path;

    /// Mono 16-bit samples and the rate of a WAV file (channels mixed down); nothing
    /// when it does not exist or does not parse yet.
    pub fn read_wav(path: &Path) -> (Vec<i16>, u32) {
        let Ok(reader) = hound::WavReader::open(path) else { return (Vec::new(), 8000) };
        let spec = reader.spec();
        let channels = spec.channels.max(1) as usize;
        let samples: Vec<i16> = reader.into_samples::<i16>().map(|s| s.unwrap_or(0)).collect();
        let mono = samples
            .chunks(channels)
            .map(|c| (c.iter().map(|&s| s as i32).sum::<i32>() / c.len() as i32) as i16)
            .collect();
        (mono, spec.sample_rate)
    }

    /// Writes a mono 16-bit sine of `hz` lasting `secs` at `rate`.
    pub fn write_tone(path: &Path, rate: u32, hz: f64, secs: f64) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..(rate as f64 * secs) as usize {
            let v = 8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin();
            w.write_sample(v as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    /// Asserts the recording at `path` carries a tone at `hz` (after its first half
    /// second of set-up).
    pub fn assert_tone(path: &Path, hz: f64, what: &str) {
        assert_tone_in(&read_wav(path), hz, what);
    }

    /// [`assert_tone`] on samples already read.
    pub fn assert_tone_in((samples, rate): &(Vec<i16>, u32), hz: f64, what: &str) {
        let (samples, rate) = (samples.as_slice(), *rate);
        let skip = (rate / 2) as usize;
        assert!(samples.len() > skip + rate as usize, "{what}: only {} samples at {rate} Hz", samples.len());
        let (share, rms) = tone_share(&samples[skip..], rate, hz);
        assert!(rms > 500.0, "{what}: nearly silent (rms {rms:.0})");
        assert!(share > 0.6, "{what}: {hz} Hz is only {:.0}% of the power (rms {rms:.0})", share * 100.0);
    }

    /// The share (0-1) of the signal's power at `hz` (Goertzel over 100 ms blocks,
    /// averaged over the blocks that are not silent), and the RMS level.
    pub fn tone_share(samples: &[i16], rate: u32, hz: f64) -> (f64, f64) {
        let n = (rate / 10) as usize;
        let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / rate as f64).cos();
        let (mut shares, mut total) = (Vec::new(), 0.0);
        for block in samples.chunks_exact(n) {
            let ms = block.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / n as f64;
            total += ms;
            if ms < 100.0 {
                continue;
            }
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &x in block {
                let s0 = x as f64 + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            shares.push(power / (n as f64 * n as f64 * ms / 2.0));
        }
        let rms = (total / (samples.len() / n).max(1) as f64).sqrt();
        let share = if shares.is_empty() { 0.0 } else { shares.iter().sum::<f64>() / shares.len() as f64 };
        (share, rms)
    }
}

/// A loopback UDP socket on an even port whose successor (RTCP) is free too, as SDP
/// implies: where a test's own RTP peer listens.
pub fn rtp_socket() -> UdpSocket {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().unwrap().port();
        if port.is_multiple_of(2) && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return s;
        }
    }
}

/// An RTP peer that sends every packet back to where it came from, after a seeded
/// random fate: dropped with probability `loss`, else delayed by a uniform random
/// 0..`max_delay` (which reorders, as a real network does). Real packets on loopback.
pub struct ImpairedEcho {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ImpairedEcho {
    pub fn start(loss: f64, max_delay: Duration, seed: u64) -> ImpairedEcho {
        use std::collections::BinaryHeap;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Instant;
        let socket = rtp_socket();
        let port = socket.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut rng = seed | 1;
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 11) as f64 / (1u64 << 53) as f64
            };
            // Due packets, earliest first.
            let mut queue: BinaryHeap<std::cmp::Reverse<(Instant, Vec<u8>, std::net::SocketAddr)>> =
                BinaryHeap::new();
            let mut buf = [0u8; 2048];
            while !stopping.load(Ordering::Relaxed) {
                let now = Instant::now();
                while queue.peek().is_some_and(|std::cmp::Reverse((due, _, _))| *due <= now) {
                    if let Some(std::cmp::Reverse((_, packet, to))) = queue.pop() {
                        let _ = socket.send_to(&packet, to);
                    }
                }
                let wait = queue
                    .peek()
                    .map(|std::cmp::Reverse((due, _, _))| due.saturating_duration_since(now))
                    .unwrap_or(Duration::from_millis(20))
                    .max(Duration::from_micros(200));
                let _ = socket.set_read_timeout(Some(wait));
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    if next() < loss {
                        continue;
                    }
                    let delay = max_delay.mul_f64(next());
                    queue.push(std::cmp::Reverse((Instant::now() + delay, buf[..n].to_vec(), from)));
                }
            }
        });
        ImpairedEcho { port, stop, thread: Some(thread) }
    }
}

impl Drop for ImpairedEcho {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
