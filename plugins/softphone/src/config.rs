//! The softphone's settings: their declarations (the preferences page is drawn from
//! these) and the typed [`Config`] the engine runs with, read again on every change.
//! Settings are read into the types their users own (a [`DialPlan`], a [`DeviceSpec`],
//! a [`Tone`], a [`Transport`]), so this sits above those modules and below the engine.

use crate::dialing::DialPlan;
use crate::emergency::Location;
use crate::media::device::DeviceSpec;
use crate::media::ring::Tone;
use crate::media::rtp::MediaSetup;
use crate::sdp::Codec;
use crate::srv::Transport;
use serde_json::json;
use ucdesk_sdk::{Context, LoginField, ManifestBuilder, SettingKind};

/// When calls use SRTP (SDES keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpMode {
    /// When the signalling is TLS (keys in clear SIP would protect nothing).
    Auto,
    Off,
    Required,
}

impl SrtpMode {
    /// Whether calls over `transport` must be encrypted (and offer SRTP).
    pub fn required(self, transport: Transport) -> bool {
        match self {
            SrtpMode::Auto => transport == Transport::Tls,
            SrtpMode::Off => false,
            SrtpMode::Required => true,
        }
    }
}

/// Everything the engine needs, read from settings and the secret store. Not `Debug`:
/// it holds the password, which must never reach a log.
#[derive(Clone)]
pub struct Config {
    pub server: String,
    pub username: String,
    pub auth_username: String,
    pub display_name: String,
    pub password: Option<String>,
    pub proxy: String,
    /// `None`: use the server's default (the SRV records, else UDP).
    pub transport: Option<Transport>,
    pub srv_domain: String,
    pub dns_server: String,
    pub tls_ca_file: String,
    pub register_interval: u32,
    pub keep_alives: bool,
    /// How often a keep-alive checks the registrar is alive: the time to notice an
    /// outage or a restarted server and fail over or re-register.
    pub keep_alive_interval: u32,
    pub local_port: u16,
    pub auto_answer: bool,
    pub auto_answer_seconds: u32,
    pub call_waiting: bool,
    pub dnd: bool,
    pub hide_caller_id: bool,
    pub dial_plan: DialPlan,
    /// Why the dialing rules could not be used (they are then ignored).
    pub dial_plan_error: Option<String>,
    pub server_locality: String,
    pub emergency_location: Option<Location>,
    pub emergency_location_error: Option<String>,
    /// Enabled audio codecs, in priority order.
    pub codecs: Vec<Codec>,
    pub audio_input: DeviceSpec,
    pub audio_output: DeviceSpec,
    pub srtp: SrtpMode,
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    /// Incoming calls ring with this on the ring device, at this volume (0-100).
    pub ringtone: Tone,
    pub ring_device: DeviceSpec,
    pub ring_volume: u32,
    /// What a caller hears while the far end rings (unless it sends early media).
    pub ringback: Tone,
    /// Keep every call's quality reports for the diagnostic log (last 50 calls).
    pub quality_log: bool,
    /// What is wrong with the media settings (they then fall back to defaults).
    pub media_error: Option<String>,
}

/// Declares the settings on the manifest under construction.
pub fn declare(m: ManifestBuilder) -> ManifestBuilder {
    let text = |max| SettingKind::Text { max_len: Some(max) };
    let number = |min: f64, max: f64| SettingKind::Number { min: Some(min), max: Some(max), integer: true };
    // The preferences page lists the sound cards through phone.audio_devices.
    let device =
        |class: &str| SettingKind::Device { class: class.into(), list: Some("phone.audio_devices".into()) };
    let m = ucdesk_sdk::logs::declare(m, "SIP logging level (diagnostic logs, 1-10)");
    m.setting("server", "Server", text(255), Some(json!("")))
        .shared("server")
        .setting("username", "User / extension", text(128), Some(json!("")))
        .shared("username")
        .setting("auth_username", "Authentication user (empty: same as user)", text(128), Some(json!("")))
        .setting("display_name", "Display name", text(128), Some(json!("")))
        .setting("password", "Password", SettingKind::Secret, None)
        .setting("proxy", "SIP proxy (host[:port])", text(255), Some(json!("")))
        .setting(
            "transport",
            "Transport",
            SettingKind::Enum { options: vec!["default".into(), "udp".into(), "tcp".into(), "tls".into()] },
            Some(json!("default")),
        )
        .setting("srv_domain", "SRV domain (empty: the server's)", text(255), Some(json!("")))
        .login("server", LoginField::Server)
        .login("username", LoginField::User)
        .login("password", LoginField::Password)
        .login("proxy", LoginField::Proxy)
        .login("srv_domain", LoginField::SrvDomain)
        .setting("dns_server", "DNS server for SRV (ip[:port], empty: system)", text(64), Some(json!("")))
        .setting("tls_ca_file", "Extra CA certificate to trust (PEM file)", text(1024), Some(json!("")))
        .setting("register_interval", "Register every (seconds)", number(30.0, 86_400.0), Some(json!(300)))
        .setting("keep_alives", "Send keep-alives", SettingKind::Bool, Some(json!(true)))
        .setting("keep_alive_interval", "Keep-alive every (seconds)", number(5.0, 300.0), Some(json!(15)))
        .setting("local_port", "Local SIP port (0: any)", number(0.0, 65_535.0), Some(json!(0)))
        .setting("auto_answer", "Enable auto answer", SettingKind::Bool, Some(json!(false)))
        .setting("auto_answer_seconds", "Auto answer after (seconds)", number(1.0, 100.0), Some(json!(15)))
        .setting("call_waiting", "Call waiting", SettingKind::Bool, Some(json!(true)))
        .setting("dnd", "Do not disturb", SettingKind::Bool, Some(json!(false)))
        .setting("hide_caller_id", "Hide caller ID", SettingKind::Bool, Some(json!(false)))
        .setting(
            "dialing_rules",
            "Dialing rules ('find -> replace', 're:' for regex)",
            SettingKind::List,
            Some(json!([])),
        )
        .setting("speed_dial", "Speed dial ('N = number', N 1-99)", SettingKind::List, Some(json!([])))
        .setting(
            "detect_us_uk",
            "Detect and format USA and UK numbers",
            SettingKind::Bool,
            Some(json!(false)),
        )
        .setting("e164", "Format numbers as E.164", SettingKind::Bool, Some(json!(false)))
        .setting("country_code", "Country calling code for E.164", text(4), Some(json!("")))
        .setting(
            "server_locality",
            "Server locality (ISO country; US enables emergency location)",
            text(2),
            Some(json!("")),
        )
        .setting(
            "emergency_location",
            "Emergency location (set in the phone panel)",
            text(4096),
            Some(json!("")),
        )
        .setting(
            "codecs",
            "Audio codecs in priority order (opus, g722, pcmu, pcma)",
            SettingKind::List,
            Some(json!(["opus", "g722", "pcmu", "pcma"])),
        )
        .setting(
            "audio_input",
            "Microphone (default, null, file:PATH)",
            device("audio_input"),
            Some(json!("default")),
        )
        .setting(
            "audio_output",
            "Speaker (default, null, file:PATH)",
            device("audio_output"),
            Some(json!("default")),
        )
        .setting(
            "srtp",
            "Media encryption (SRTP): auto = when the transport is TLS",
            SettingKind::Enum { options: vec!["auto".into(), "off".into(), "required".into()] },
            Some(json!("auto")),
        )
        .setting(
            "ringtone",
            "Ringtone (default, silent, file:PATH.wav or .mp3)",
            text(1024),
            Some(json!("default")),
        )
        .setting(
            "ring_device",
            "Ringing device (default, a card id, null, file:PATH)",
            device("audio_output"),
            Some(json!("default")),
        )
        .setting("ring_volume", "Ring volume", number(0.0, 100.0), Some(json!(80)))
        .setting(
            "ringback",
            "Ringback tone (default, silent, file:PATH.wav or .mp3)",
            text(1024),
            Some(json!("default")),
        )
        .setting("echo_cancellation", "Echo cancellation", SettingKind::Bool, Some(json!(true)))
        .setting("noise_suppression", "Reduce background noise", SettingKind::Bool, Some(json!(false)))
        .setting("quality_log", "Enable call quality metrics logging", SettingKind::Bool, Some(json!(false)))
}

impl Config {
    pub fn read(ctx: &Context) -> Config {
        let text = |k: &str| ctx.setting::<String>(k).unwrap_or_default().trim().to_string();
        let flag = |k: &str, d: bool| ctx.setting::<bool>(k).unwrap_or(d);
        let num = |k: &str, d: u32| ctx.setting::<f64>(k).map(|n| n as u32).unwrap_or(d);
        let list = |k: &str| ctx.setting::<Vec<String>>(k).unwrap_or_default();
        let transport = match text("transport").as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        };
        let (mut dial_plan, dial_plan_error) =
            match DialPlan::new(&list("dialing_rules"), &list("speed_dial")) {
                Ok(p) => (p, None),
                Err(e) => {
                    // Keep the speed dial when only a rule is broken.
                    (DialPlan::new(&[], &list("speed_dial")).unwrap_or_default(), Some(e.to_string()))
                }
            };
        dial_plan.detect_us_uk = flag("detect_us_uk", false);
        dial_plan.e164 = flag("e164", false);
        dial_plan.country_code = text("country_code").trim_start_matches('+').to_string();
        let (emergency_location, emergency_location_error) =
            match Location::from_setting(&text("emergency_location")) {
                Ok(l) => (l, None),
                Err(e) => (None, Some(e)),
            };
        let mut media_errors = Vec::new();
        let mut codecs = Vec::new();
        for id in list("codecs") {
            match Codec::from_id(&id) {
                Some(c) if !codecs.contains(&c) => codecs.push(c),
                Some(_) => {}
                None => media_errors.push(format!("unknown codec {id:?}")),
            }
        }
        if codecs.is_empty() {
            codecs = Codec::ALL.to_vec();
        }
        let mut device = |k: &str| {
            DeviceSpec::parse(&text(k)).unwrap_or_else(|e| {
                media_errors.push(e);
                DeviceSpec::Default
            })
        };
        let (audio_input, audio_output, ring_device) =
            (device("audio_input"), device("audio_output"), device("ring_device"));
        let mut tone = |k: &str| {
            Tone::parse(&text(k)).unwrap_or_else(|e| {
                media_errors.push(e);
                Tone::Default
            })
        };
        let (ringtone, ringback) = (tone("ringtone"), tone("ringback"));
        Config {
            server: text("server"),
            username: text("username"),
            auth_username: text("auth_username"),
            display_name: text("display_name"),
            password: ctx.secret("password").ok().flatten(),
            proxy: text("proxy"),
            transport,
            srv_domain: text("srv_domain"),
            dns_server: text("dns_server"),
            tls_ca_file: text("tls_ca_file"),
            register_interval: num("register_interval", 300),
            keep_alives: flag("keep_alives", true),
            keep_alive_interval: num("keep_alive_interval", 15).clamp(5, 300),
            local_port: num("local_port", 0).min(65_535) as u16,
            auto_answer: flag("auto_answer", false),
            auto_answer_seconds: num("auto_answer_seconds", 15).clamp(1, 100),
            call_waiting: flag("call_waiting", true),
            dnd: flag("dnd", false),
            hide_caller_id: flag("hide_caller_id", false),
            dial_plan,
            dial_plan_error,
            server_locality: text("server_locality").to_ascii_uppercase(),
            emergency_location,
            emergency_location_error,
            codecs,
            audio_input,
            audio_output,
            quality_log: flag("quality_log", false),
            echo_cancellation: flag("echo_cancellation", true),
            ringtone,
            ring_device,
            ring_volume: num("ring_volume", 80).min(100),
            ringback,
            noise_suppression: flag("noise_suppression", false),
            srtp: match text("srtp").as_str() {
                "off" => SrtpMode::Off,
                "required" => SrtpMode::Required,
                _ => SrtpMode::Auto,
            },
            media_error: (!media_errors.is_empty()).then(|| media_errors.join("; ")),
        }
    }

    /// The devices a new call uses.
    pub fn media_setup(&self) -> MediaSetup {
        MediaSetup {
            input: self.audio_input.clone(),
            output: self.audio_output.clone(),
            cname: format!("{}@ucdesk", self.username),
            echo_cancellation: self.echo_cancellation,
            noise_suppression: self.noise_suppression,
        }
    }

    /// Whether there is an account to register.
    pub fn has_account(&self) -> bool {
        !self.server.is_empty() && !self.username.is_empty()
    }

    /// The settings that change how we register (a change re-registers).
    pub fn account_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{:?}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.server,
            self.username,
            self.auth_username,
            self.proxy,
            self.transport,
            self.srv_domain,
            self.dns_server,
            self.tls_ca_file,
            self.register_interval,
            self.keep_alives,
            self.keep_alive_interval,
            self.local_port,
            self.password.as_deref().unwrap_or_default(),
        )
    }
}
