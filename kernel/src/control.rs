//! The control socket: how the CLI, URI handlers, scripts and tests drive a running
//! instance (daemon or GUI).
//!
//! A Unix socket at `<runtime>/ucdesk.sock` (directory mode 0700) speaking JSON lines.
//! Each request is one line with an `op`; each answer is one line, either
//! `{"ok": VALUE}` or `{"error": {"kind": KIND, "message": TEXT}}`. The `events` op
//! answers `{"ok": "subscribed"}` and then streams one line per bus event,
//! `{"topic", "source", "schema", "payload"}`, until the client hangs up.

use crate::{Kernel, bus::BusEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Write},
    os::{
        fd::AsRawFd,
        unix::{
            fs::PermissionsExt,
            net::{UnixListener, UnixStream},
        },
    },
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};
use ucdesk_plugin_api::{CallErrorKind, view::UiEvent};

/// Default timeout of a service call made through the socket.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// How much longer than its own timeout a client waits for an answer.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// One request line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Ping,
    Plugins,
    Call {
        service: String,
        #[serde(default)]
        args: Value,
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    Events {
        #[serde(default)]
        prefix: String,
    },
    /// Every setting of `plugin` (all plugins when none) with kind, default, value, lock.
    SettingsList {
        #[serde(default)]
        plugin: Option<String>,
    },
    SettingGet {
        key: String,
    },
    /// Either `value` (JSON) or `text` (command-line text, see
    /// [`Kernel::parse_setting`]).
    SettingSet {
        key: String,
        #[serde(default)]
        value: Option<Value>,
        #[serde(default)]
        text: Option<String>,
    },
    SecretSet {
        key: String,
        value: String,
    },
    View {
        plugin: String,
        panel: String,
    },
    Ui {
        plugin: String,
        panel: String,
        /// Boxed: a UI event (a dropped contact) is the largest request by far.
        event: Box<UiEvent>,
    },
    /// A second launch of `ucdesk` for this profile hands over to the running one: with
    /// `uri` (`tel:`, `sip:`, `callto:`, what the desktop's scheme handler passes) to
    /// call it, without to show the window. The window answers through its
    /// [`HandoffHook`]; a headless daemon dials the URI itself.
    Handoff {
        #[serde(default)]
        uri: Option<String>,
    },
}

/// How the window takes a [`Request::Handoff`]: it raises itself, and dials the URI or
/// asks first (the "confirm the number" preference). Its answer is the request's `ok`
/// value, or an error line's text.
pub type HandoffHook = Arc<dyn Fn(Option<String>) -> Result<Value, String> + Send + Sync>;

/// Error of the control client.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no ucdesk instance is running (no socket at {0})")]
    NotRunning(PathBuf),
    #[error("another ucdesk instance is already running on {0}")]
    AlreadyRunning(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("unexpected answer from the instance: {0}")]
    Protocol(String),
    /// The instance answered with an error.
    #[error("{message}")]
    Remote {
        kind: String,
        message: String,
        /// A refusal's reason (`bad_request`, `not_ready`, ...), when the provider gave one.
        reason: Option<String>,
    },
}

fn error_line(kind: &str, message: impl std::fmt::Display) -> Value {
    json!({"error": {"kind": kind, "message": message.to_string()}})
}

/// A service call's error: its kind, and for a refusal the provider's reason
/// (`bad_request`, `not_ready`, ...), with the message as a person reads it.
fn call_error_line(e: &ucdesk_plugin_api::CallError) -> Value {
    let mut line = error_line(call_kind(e.kind), e.text());
    if let Some(reason) = e.reason() {
        line["error"]["reason"] = json!(reason.as_str());
    }
    line
}

/// The value of a `setting_set`: JSON as given, or command-line text parsed for the
/// setting's kind.
fn setting_value(
    kernel: &Kernel,
    key: &str,
    value: Option<Value>,
    text: Option<String>,
) -> Result<Value, crate::SettingsError> {
    match (value, text) {
        (Some(v), _) => Ok(v),
        (None, Some(t)) => kernel.parse_setting(key, &t),
        (None, None) => Ok(Value::Null),
    }
}

fn call_kind(kind: CallErrorKind) -> &'static str {
    match kind {
        CallErrorKind::UnknownService => "unknown_service",
        CallErrorKind::Timeout => "timeout",
        CallErrorKind::Unavailable => "unavailable",
        CallErrorKind::Refused => "refused",
        CallErrorKind::Panicked => "panicked",
        CallErrorKind::Busy => "busy",
    }
}

/// A bus event as the socket streams it.
pub fn event_line(e: &BusEvent) -> Value {
    let payload = serde_json::from_slice::<Value>(&e.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&e.payload).into_owned()));
    json!({"topic": e.topic, "source": e.source, "schema": e.schema, "payload": payload})
}

/// The listening side, owned by a running instance. Dropping it stops accepting and
/// removes the socket file.
pub struct ControlServer {
    path: PathBuf,
    stopping: Arc<AtomicBool>,
    /// Until set, only handoffs are answered: the window binds the socket before its
    /// login (so a second launch reaches it), its plugins run only after.
    ready: Arc<AtomicBool>,
    /// The listening socket's descriptor, shut down to wake the blocking accept.
    listener_fd: i32,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Binds the socket (refusing when another instance answers on it; replacing a
    /// stale file left by a crash) and starts serving `kernel`.
    pub fn start(kernel: Kernel) -> Result<ControlServer, ControlError> {
        let server = Self::start_with(kernel, None)?;
        server.set_ready();
        Ok(server)
    }

    /// The window's server: its way of taking a handoff, and not ready (everything but a
    /// handoff answered `not_ready`, `ping` too) until [`ControlServer::ready_flag`] is
    /// set, once the plugins run.
    pub fn start_with(kernel: Kernel, handoff: Option<HandoffHook>) -> Result<ControlServer, ControlError> {
        let path = kernel.home().socket();
        let io = |source| ControlError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        if path.exists() {
            if UnixStream::connect(&path).is_ok() {
                return Err(ControlError::AlreadyRunning(path));
            }
            std::fs::remove_file(&path).map_err(io)?;
        }
        let listener = UnixListener::bind(&path).map_err(io)?;
        let listener_fd = listener.as_raw_fd();
        let stopping = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let (flag, is_ready) = (stopping.clone(), ready.clone());
        let thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || accept_loop(listener, kernel, handoff, is_ready, flag))
            .map_err(io)?;
        Ok(ControlServer { path, stopping, ready, listener_fd, thread: Some(thread) })
    }

    /// Answers everything from now on.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// The flag [`ControlServer::set_ready`] sets, for the thread that activates the
    /// plugins.
    pub fn ready_flag(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wake the blocking accept (it then sees `stopping`). The accept thread owns the
        // listener until we join it, so the descriptor is still ours to shut down.
        // SAFETY: shutdown(2) on a valid socket descriptor; no memory is involved.
        unsafe { libc::shutdown(self.listener_fd, libc::SHUT_RDWR) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_loop(
    listener: UnixListener,
    kernel: Kernel,
    handoff: Option<HandoffHook>,
    ready: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
) {
    static CLIENTS: AtomicU64 = AtomicU64::new(0);
    for stream in listener.incoming() {
        if stopping.load(Ordering::Acquire) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let kernel = kernel.clone();
        let (handoff, ready, stopping) = (handoff.clone(), ready.clone(), stopping.clone());
        let n = CLIENTS.fetch_add(1, Ordering::Relaxed);
        let _ = std::thread::Builder::new().name(format!("control:{n}")).spawn(move || {
            if let Err(e) = serve(stream, &kernel, handoff.as_ref(), &ready, n, &stopping) {
                tracing::debug!("control client {n}: {e}");
            }
        });
    }
}

/// How long a write to a client may block before the client is given up on (one that
/// stopped reading must not pin a thread forever).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

fn serve(
    stream: UnixStream,
    kernel: &Kernel,
    handoff: Option<&HandoffHook>,
    ready: &AtomicBool,
    n: u64,
    stopping: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let reader = BufReader::new(stream);
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                writeln!(writer, "{}", error_line("bad_request", e))?;
                continue;
            }
        };
        let handing_off = matches!(request, Request::Handoff { .. });
        if !handing_off && !ready.load(Ordering::Acquire) {
            let starting = "ucdesk is starting (its login window may be open); try again once it runs";
            writeln!(writer, "{}", error_line("not_ready", starting))?;
            continue;
        }
        if let Request::Events { prefix } = request {
            return stream_events(writer, kernel, &prefix, n, stopping);
        }
        let answer = match (request, handoff) {
            (Request::Handoff { uri }, Some(hook)) => match hook(uri) {
                Ok(v) => json!({"ok": v}),
                Err(e) => error_line("handoff", e),
            },
            (request, _) => answer(kernel, request),
        };
        writeln!(writer, "{answer}")?;
    }
    Ok(())
}

fn answer(kernel: &Kernel, request: Request) -> Value {
    match request {
        Request::Ping => json!({"ok": {"pid": std::process::id()}}),
        Request::Plugins => match serde_json::to_value(kernel.plugins()) {
            Ok(list) => json!({"ok": list}),
            Err(e) => error_line("protocol", format!("plugin list does not serialize: {e}")),
        },
        Request::Call { service, args, timeout_ms } => {
            let timeout = Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS));
            let bytes = serde_json::to_vec(&args).expect("Value serializes");
            match kernel.call(&service, bytes, timeout) {
                Ok(answer) => match serde_json::from_slice::<Value>(&answer) {
                    Ok(v) => json!({"ok": v}),
                    Err(e) => error_line("protocol", format!("{service} answered non-JSON: {e}")),
                },
                Err(e) => call_error_line(&e),
            }
        }
        Request::SettingsList { plugin } => json!({"ok": kernel.settings_list(plugin.as_deref())}),
        Request::SettingGet { key } => match kernel.setting(&key) {
            Ok(v) => json!({"ok": v}),
            Err(e) => error_line("settings", e),
        },
        Request::SettingSet { key, value, text } => {
            match setting_value(kernel, &key, value, text).and_then(|v| kernel.set_setting(&key, v)) {
                Ok(()) => json!({"ok": null}),
                Err(e) => error_line("settings", e),
            }
        }
        Request::SecretSet { key, value } => match kernel.set_secret(&key, &value) {
            Ok(()) => json!({"ok": {"stored_in": kernel.secret_backend()}}),
            Err(e) => error_line("secrets", e),
        },
        Request::View { plugin, panel } => match kernel.view(&plugin, &panel) {
            Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => json!({"ok": v}),
                Err(e) => error_line("protocol", e),
            },
            None => error_line("not_found", format!("no view for {plugin}/{panel}")),
        },
        Request::Ui { plugin, panel, event } => match kernel.ui_event(&plugin, &panel, &event) {
            Ok(()) => json!({"ok": null}),
            Err(e) => call_error_line(&e),
        },
        Request::Events { .. } => error_line("bad_request", "events is answered by streaming"),
        // Headless: nothing to show; a URI is dialled as `ucdesk call` would.
        Request::Handoff { uri: None } => {
            error_line("handoff", "this instance runs headless (ucdesk daemon): there is no window to show")
        }
        Request::Handoff { uri: Some(uri) } => answer(
            kernel,
            Request::Call {
                service: ucdesk_plugin_api::contract::phone::DIAL.into(),
                args: json!({ "number": ucdesk_plugin_api::contract::phone::link_number(&uri) }),
                timeout_ms: Some(10_000),
            },
        ),
    }
}

fn stream_events(
    mut writer: UnixStream,
    kernel: &Kernel,
    prefix: &str,
    n: u64,
    stopping: &AtomicBool,
) -> std::io::Result<()> {
    let queue = kernel.subscribe_client(&format!("client:{n}"), prefix);
    let result = (|| {
        writeln!(writer, "{}", json!({"ok": "subscribed"}))?;
        while !stopping.load(Ordering::Acquire) {
            match queue.receiver().recv_timeout(Duration::from_millis(500)) {
                Ok(event) => {
                    let dropped = queue.take_dropped();
                    if dropped > 0 {
                        writeln!(
                            writer,
                            "{}",
                            json!({"topic": "kernel.dropped", "source": "kernel",
                            "schema": "kernel.dropped/v1", "payload": {"count": dropped}})
                        )?;
                    }
                    writeln!(writer, "{}", event_line(&event))?;
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if peer_closed(&writer) {
                        return Ok(());
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
        Ok(())
    })();
    kernel.unsubscribe_all(&queue);
    result
}

/// Whether the client hung up (even if it sent bytes we never read).
fn peer_closed(stream: &UnixStream) -> bool {
    let mut fd = libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: polls one valid descriptor we own, without waiting.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// The CLI's side of the socket.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the instance of the profile whose socket is `path`.
    pub fn connect(path: &Path) -> Result<Client, ControlError> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ControlError::NotRunning(path.to_path_buf())
            }
            _ => ControlError::Io { path: path.to_path_buf(), source: e },
        })?;
        let writer = stream.try_clone().map_err(|e| ControlError::Io { path: path.into(), source: e })?;
        Ok(Client { path: path.to_path_buf(), reader: BufReader::new(stream), writer })
    }

    /// Sends a request and returns the `ok` value.
    pub fn request(&mut self, request: &Request) -> Result<Value, ControlError> {
        let path = self.path.clone();
        let io = |source| ControlError::Io { path: path.clone(), source };
        let line = serde_json::to_string(request).expect("requests serialize");
        // An instance that hangs must not hang its caller (a browser's link handler):
        // the answer is given up on some seconds after the request's own timeout.
        let wait = match request {
            Request::Call { timeout_ms, .. } => {
                Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)) + ANSWER_GRACE
            }
            Request::Events { .. } => Duration::ZERO,
            _ => ANSWER_GRACE * 4,
        };
        self.writer.set_read_timeout((!wait.is_zero()).then_some(wait)).map_err(io)?;
        writeln!(self.writer, "{line}").map_err(io)?;
        let answer = self.read_answer();
        // The stream that follows `events` has no deadline.
        self.writer.set_read_timeout(None).map_err(io)?;
        answer
    }

    fn read_answer(&mut self) -> Result<Value, ControlError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|source| ControlError::Io { path: self.path.clone(), source })?;
        if n == 0 {
            return Err(ControlError::Protocol("the instance closed the connection".into()));
        }
        let mut v: Value = serde_json::from_str(&line).map_err(|e| ControlError::Protocol(e.to_string()))?;
        if let Some(ok) = v.get_mut("ok") {
            return Ok(ok.take());
        }
        let err = v.get("error").cloned().unwrap_or(Value::Null);
        Err(ControlError::Remote {
            kind: err["kind"].as_str().unwrap_or("unknown").to_string(),
            message: err["message"].as_str().unwrap_or("(no message)").to_string(),
            reason: err["reason"].as_str().map(str::to_string),
        })
    }

    /// Subscribes to events and returns the raw lines as they come.
    pub fn events(
        mut self,
        prefix: &str,
    ) -> Result<impl Iterator<Item = Result<String, ControlError>>, ControlError> {
        self.request(&Request::Events { prefix: prefix.to_string() })?;
        let path = self.path.clone();
        Ok(self
            .reader
            .lines()
            .map(move |l| l.map_err(|source| ControlError::Io { path: path.clone(), source })))
    }
}
