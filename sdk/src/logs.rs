//! Library logs into the host's log. What the crates a plugin uses write through
//! `tracing` (rsipstack: every SIP message at info) or `log` (tokio-xmpp: every stanza
//! at trace) reaches the plugin's [`Context`] log, as much as the plugin's diagnostic
//! level asks for: 1-10, the manual's "SIP and Jabber logging levels" (1 stores the
//! least, 10 everything). Each cdylib links its own copies of both crates' global
//! dispatchers, so installing here never touches the host's or another plugin's.
//!
//! | level | library records forwarded |
//! |---|---|
//! | 1 | errors |
//! | 2-5 | warnings |
//! | 6-7 | info (SIP messages) |
//! | 8-9 | debug |
//! | 10 | trace (XMPP stanzas) |
//!
//! Library records go to the host as debug (warnings and errors as themselves), so the
//! terminal's log stays quiet and the diagnostic log file keeps them. Credentials are
//! scrubbed on the way: SASL payloads, HTTP Basic/Bearer credentials and SDES media keys
//! never leave.

use crate::Context;
use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// The diagnostic level a plugin starts with (the manual: SIP's default is 3).
pub const DEFAULT_LEVEL: u8 = 3;

static LEVEL: AtomicU8 = AtomicU8::new(DEFAULT_LEVEL);
static SINK: OnceLock<Context> = OnceLock::new();

/// Forwards this plugin's library logs to `ctx` from now on, at diagnostic `level`.
/// Later calls change the level only (the first context stays the sink).
pub fn forward(ctx: &Context, level: u8) {
    set_level(level);
    if SINK.set(ctx.clone()).is_ok() {
        // Another global logger in this library (there is none) would keep its place.
        let _ = log::set_logger(&LogForward);
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::Registry::default().with(tracing_side::Forward);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// The setting a plugin's diagnostic level lives in (Preferences -> General ->
/// Diagnostic logs shows it by this name).
pub const SETTING: &str = ucdesk_plugin_api::contract::kernel::LOG_LEVEL_SETTING;

/// Declares the [`SETTING`], labelled `what` ("SIP logging level").
pub fn declare(m: crate::ManifestBuilder, what: &str) -> crate::ManifestBuilder {
    let kind = ucdesk_plugin_api::SettingKind::Number { min: Some(1.0), max: Some(10.0), integer: true };
    m.setting(SETTING, what, kind, Some(serde_json::json!(DEFAULT_LEVEL)))
}

/// [`forward`] at the level of the plugin's [`SETTING`]: call it where the plugin
/// applies its settings (start, and each change).
pub fn follow_setting(ctx: &Context) {
    forward(ctx, ctx.setting::<u8>(SETTING).unwrap_or(DEFAULT_LEVEL));
}

/// Changes the diagnostic level (a `log_level` setting changed).
pub fn set_level(level: u8) {
    let level = level.clamp(1, 10);
    LEVEL.store(level, Ordering::Relaxed);
    log::set_max_level(log_max(level));
}

fn log_max(level: u8) -> log::LevelFilter {
    match level {
        0 | 1 => log::LevelFilter::Error,
        2..=5 => log::LevelFilter::Warn,
        6 | 7 => log::LevelFilter::Info,
        8 | 9 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// The host's level for a library record (1 error ... 5 trace, as `Context` logs).
fn host_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 1,
        log::Level::Warn => 2,
        log::Level::Info | log::Level::Debug => 4,
        log::Level::Trace => 5,
    }
}

fn send(level: log::Level, target: &str, text: &str) {
    if let Some(ctx) = SINK.get() {
        ctx.log(host_level(level), &format!("{target}: {}", scrub(text)));
    }
}

/// Removes credentials from a library's log line: the payload of SASL elements (PLAIN
/// carries the password in base64), HTTP Basic/Bearer credentials, and SDES media keys
/// (`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY`: with it a recording of the call
/// could be decrypted).
pub fn scrub(text: &str) -> Cow<'_, str> {
    static PATTERNS: OnceLock<[(regex::Regex, &'static str); 3]> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (regex::Regex::new(r"inline:[A-Za-z0-9+/=|:^]+").expect("regex"), "inline:[redacted]"),
            (
                regex::Regex::new(r"(<(?:auth|response|challenge|success)\b[^>]*>)[^<]+(</)").expect("regex"),
                "${1}[redacted]${2}",
            ),
            (
                // The workspace's regex has no case folding: both spellings written out.
                regex::Regex::new(r"\b([Bb]asic|[Bb]earer|BASIC|BEARER)\s+[A-Za-z0-9._~+/=-]{8,}")
                    .expect("regex"),
                "${1} [redacted]",
            ),
        ]
    });
    let mut out = Cow::Borrowed(text);
    for (re, with) in patterns {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *with).into_owned());
        }
    }
    out
}

/// The `log` crate's side.
struct LogForward;

impl log::Log for LogForward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log_max(LEVEL.load(Ordering::Relaxed))
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            send(record.level(), record.target(), &record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// The `tracing` side: a layer that writes each enabled event's message and fields.
mod tracing_side {
    use super::{LEVEL, Ordering, log_max, send};
    use std::fmt::Write;
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context as LayerContext, Layer};

    fn log_level(level: &tracing::Level) -> log::Level {
        match *level {
            tracing::Level::ERROR => log::Level::Error,
            tracing::Level::WARN => log::Level::Warn,
            tracing::Level::INFO => log::Level::Info,
            tracing::Level::DEBUG => log::Level::Debug,
            tracing::Level::TRACE => log::Level::Trace,
        }
    }

    pub struct Forward;

    #[derive(Default)]
    struct Text(String);

    impl Visit for Text {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                let _ = write!(self.0, "{value:?}");
            } else {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
        }

        fn record_str(&mut self, field: &Field, value: &str) {
            // Raw messages keep their line breaks readable in the log file.
            if field.name() == "message" {
                self.0.push_str(value);
            } else {
                let _ = write!(self.0, " {}={value}", field.name());
            }
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Forward {
        fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
            log_level(metadata.level()) <= log_max(LEVEL.load(Ordering::Relaxed))
        }

        fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
            // The level changes at run time: ask per event.
            tracing::subscriber::Interest::sometimes()
        }

        fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
            let mut text = Text::default();
            event.record(&mut text);
            send(log_level(event.metadata().level()), event.metadata().target(), &text.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_scrubbed_and_the_rest_kept() {
        let sasl = "SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>";
        assert_eq!(
            scrub(sasl),
            "SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</auth>"
        );
        assert_eq!(
            scrub("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y"),
            "Authorization: Bearer [redacted]"
        );
        let sip = "INVITE sip:bob@example.com SIP/2.0\r\nAuthorization: Digest username=\"alice\", response=\"abc\"";
        assert_eq!(scrub(sip), sip, "a digest response is no secret; the message stays whole");
        let sdp =
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n";
        assert_eq!(scrub(sdp), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]\r\n");
    }

    #[test]
    fn levels_map_to_what_libraries_say() {
        assert_eq!(log_max(1), log::LevelFilter::Error);
        assert_eq!(log_max(3), log::LevelFilter::Warn);
        assert_eq!(log_max(6), log::LevelFilter::Info);
        assert_eq!(log_max(10), log::LevelFilter::Trace);
    }
}
