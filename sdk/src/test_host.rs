//! A headless host for plugin authors' tests: loads the real built cdylib, runs it on
//! the test's thread, records what it publishes and lets the test drive it.
//!
//! ```no_run
//! # use ucdesk_sdk::{TestHost, serde_json::json};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut host = TestHost::load_built("hello")?;
//! host.start()?;
//! let answer = host.call("hello.greet", &json!({"name": "Ada"}))?;
//! assert_eq!(answer["greeting"], "Hello, Ada!");
//! # Ok(())
//! # }
//! ```

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RStr, RString, RVec},
};
use serde_json::Value;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
};
use ucdesk_plugin_api::{
    CallError, CallErrorKind, Fault, Host, Host_TO, Manifest, ManifestError, OpenError, PluginBox,
    open_plugin_library,
    view::{UiEvent, View},
};

/// Why a plugin could not be loaded into the [`TestHost`].
#[derive(Debug, thiserror::Error)]
pub enum TestHostError {
    #[error("no built plugin at {0} (build the plugin crate first)")]
    NotFound(PathBuf),
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: OpenError },
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("{0}")]
    Fault(#[from] Fault),
}

impl From<ManifestError> for TestHostError {
    fn from(e: ManifestError) -> Self {
        TestHostError::Manifest(e.to_string())
    }
}

/// One event the plugin published.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub topic: String,
    pub schema: String,
    pub payload: Value,
}

type Handler = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

#[derive(Default)]
struct State {
    subscriptions: Vec<String>,
    published: Vec<Published>,
    views: HashMap<String, View>,
    logs: Vec<(u8, String)>,
    settings: HashMap<String, Value>,
    secrets: HashMap<String, String>,
    services: HashMap<String, Handler>,
    images: HashMap<String, Vec<u8>>,
    frames: HashMap<String, (u32, u32, Vec<u8>)>,
    /// `kernel.setting_changed` notices not yet delivered: like the kernel's mailbox,
    /// a change the plugin makes itself reaches it after its entry point returns.
    notices: Vec<(String, Value)>,
}

/// The plugin's view of the test host.
#[derive(Clone)]
struct TestHostImpl {
    state: Arc<Mutex<State>>,
    manifest: Arc<Manifest>,
    data_dir: PathBuf,
}

impl TestHostImpl {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons the lock; the data is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Host for TestHostImpl {
    fn publish(&self, topic: RStr<'_>, schema: RStr<'_>, payload: RVec<u8>) {
        let payload = serde_json::from_slice(&payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&payload).into_owned()));
        self.state().published.push(Published {
            topic: topic.to_string(),
            schema: schema.to_string(),
            payload,
        });
    }

    fn subscribe(&self, prefix: RStr<'_>) {
        self.state().subscriptions.push(prefix.to_string());
    }

    fn unsubscribe(&self, prefix: RStr<'_>) {
        self.state().subscriptions.retain(|p| p != prefix.as_str());
    }

    fn call(&self, service: RStr<'_>, request: RVec<u8>, _timeout_ms: u64) -> RResult<RVec<u8>, CallError> {
        if service.as_str() == crate::contract::kernel::STORE_SECRET {
            // The kernel's own service: kept where `secret` reads, as the kernel does.
            let ask: Result<crate::contract::kernel::StoreSecret, _> = serde_json::from_slice(&request);
            return match ask {
                Ok(ask) => {
                    self.state().secrets.insert(ask.name, ask.value);
                    RResult::ROk(RVec::from(b"null".to_vec()))
                }
                Err(e) => RResult::RErr(CallError::new(CallErrorKind::Refused, e.to_string())),
            };
        }
        // Not under the lock: the handler may wait on the plugin's own threads, which
        // may be publishing.
        let Some(handler) = self.state().services.get(service.as_str()).cloned() else {
            return RResult::RErr(CallError::new(
                CallErrorKind::UnknownService,
                format!("no service {service} (register one with TestHost::provide)"),
            ));
        };
        let request = serde_json::from_slice(&request).unwrap_or(Value::Null);
        // A panicking handler is the test's bug, but it must not unwind into the plugin.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(request))) {
            Ok(Ok(v)) => RResult::ROk(RVec::from(serde_json::to_vec(&v).expect("Value serializes"))),
            Ok(Err(e)) => RResult::RErr(CallError::new(CallErrorKind::Refused, e)),
            Err(_) => RResult::RErr(CallError::new(
                CallErrorKind::Panicked,
                format!("the TestHost handler for {service} panicked"),
            )),
        }
    }

    fn publish_view(&self, panel: RStr<'_>, view: RVec<u8>) {
        match View::from_bytes(&view) {
            Ok(v) => {
                self.state().views.insert(panel.to_string(), v);
            }
            Err(e) => self.state().logs.push((1, format!("invalid view for {panel}: {e}"))),
        }
    }

    fn log(&self, level: u8, message: RStr<'_>) {
        self.state().logs.push((level, message.to_string()));
    }

    fn publish_image(&self, hash: RStr<'_>, bytes: RVec<u8>) {
        self.state().images.insert(hash.to_string(), bytes.into_vec());
    }

    fn publish_frame(&self, surface: RStr<'_>, width: u32, height: u32, rgba: RVec<u8>) {
        self.state().frames.insert(surface.to_string(), (width, height, rgba.into_vec()));
    }

    fn setting(&self, name: RStr<'_>) -> ROption<RString> {
        let stored = self.state().settings.get(name.as_str()).cloned();
        let value = stored.or_else(|| self.manifest.setting(name.as_str()).and_then(|s| s.default.clone()));
        value.map(|v| RString::from(v.to_string())).into()
    }

    fn set_setting(&self, name: RStr<'_>, json: RStr<'_>) -> RResult<(), RString> {
        let result = (|| -> Result<(), String> {
            let decl =
                self.manifest.setting(name.as_str()).ok_or_else(|| format!("unknown setting {name}"))?;
            let value: Value = serde_json::from_str(json.as_str()).map_err(|e| e.to_string())?;
            decl.check(&value).map_err(|e| format!("{name} {e}"))?;
            let mut state = self.state();
            state.settings.insert(name.to_string(), value.clone());
            state.notices.push((name.to_string(), value));
            Ok(())
        })();
        result.map_err(RString::from).into()
    }

    fn secret(&self, name: RStr<'_>) -> RResult<ROption<RString>, RString> {
        RResult::ROk(self.state().secrets.get(name.as_str()).map(|s| RString::from(s.as_str())).into())
    }

    fn data_dir(&self) -> RString {
        let _ = std::fs::create_dir_all(&self.data_dir);
        RString::from(self.data_dir.to_string_lossy().as_ref())
    }
}

/// A loaded plugin under test. Dropping it stops the plugin if it was started.
pub struct TestHost {
    host: TestHostImpl,
    plugin: Option<PluginBox>,
    started: bool,
}

impl TestHost {
    /// Loads the plugin library at `path` and instantiates it (not started yet).
    pub fn load(path: impl AsRef<Path>) -> Result<TestHost, TestHostError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(TestHostError::NotFound(path.to_path_buf()));
        }
        let module = open_plugin_library(path)
            .map_err(|source| TestHostError::Open { path: path.to_path_buf(), source })?;
        let json = (module.manifest())().into_result()?;
        let manifest = Manifest::from_json(&json)?;
        let data_dir = std::env::temp_dir().join(format!(
            "ucdesk-testhost-{}-{}-{}",
            manifest.id,
            std::process::id(),
            unique()
        ));
        let host = TestHostImpl { state: Arc::default(), manifest: Arc::new(manifest), data_dir };
        let handle = Host_TO::from_ptr(RArc::new(host.clone()), TD_Opaque);
        let plugin = (module.instantiate())(handle).into_result()?;
        Ok(TestHost { host, plugin: Some(plugin), started: false })
    }

    /// Loads `<prefix>ucdesk_plugin_<id><suffix>` from the cargo target directory the
    /// running test binary belongs to, i.e. the plugin crate built by `cargo test`.
    pub fn load_built(id: &str) -> Result<TestHost, TestHostError> {
        TestHost::load(built_library_path(id))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.host.manifest
    }

    fn plugin(&mut self) -> Result<&mut PluginBox, Fault> {
        self.plugin.as_mut().ok_or_else(|| Fault::error("plugin was stopped"))
    }

    pub fn start(&mut self) -> Result<(), Fault> {
        self.plugin()?.start().into_result()?;
        self.started = true;
        self.deliver_notices()
    }

    /// Delivers the queued `kernel.setting_changed` notices, as the kernel does to a
    /// running plugin (before `start` it reads its settings itself).
    fn deliver_notices(&mut self) -> Result<(), Fault> {
        while self.started {
            let notices = std::mem::take(&mut self.host.state().notices);
            if notices.is_empty() {
                break;
            }
            for (name, value) in notices {
                use ucdesk_plugin_api::contract::{Contract, kernel as notice};
                let payload = notice::SettingChanged { name, value }.to_bytes();
                self.plugin()?
                    .on_event(
                        notice::TOPIC_SETTING_CHANGED.into(),
                        "kernel".into(),
                        notice::SettingChanged::SCHEMA.into(),
                        payload.as_slice().into(),
                    )
                    .into_result()?;
            }
        }
        Ok(())
    }

    /// Calls one of the plugin's services with a JSON request.
    pub fn call(&mut self, service: &str, request: &Value) -> Result<Value, Fault> {
        if !self.host.manifest.services.iter().any(|s| s.name == service) {
            return Err(Fault::error(format!("the manifest declares no service {service}")));
        }
        let bytes = serde_json::to_vec(request).expect("Value serializes");
        let answer = self.plugin()?.on_call(service.into(), bytes.as_slice().into()).into_result();
        self.deliver_notices()?;
        serde_json::from_slice(&answer?).map_err(|e| Fault::error(format!("answer is not JSON: {e}")))
    }

    /// Delivers an event as if another plugin published it; returns whether the plugin
    /// had subscribed to it.
    pub fn emit(&mut self, topic: &str, payload: &Value) -> Result<bool, Fault> {
        let subscribed = self.host.state().subscriptions.iter().any(|p| topic.starts_with(p.as_str()));
        if !subscribed {
            return Ok(false);
        }
        let bytes = serde_json::to_vec(payload).expect("Value serializes");
        self.plugin()?
            .on_event(topic.into(), "test".into(), "json".into(), bytes.as_slice().into())
            .into_result()?;
        self.deliver_notices()?;
        Ok(true)
    }

    /// Renders a panel through the plugin's `view`.
    pub fn view(&mut self, panel: &str) -> Result<View, Fault> {
        let bytes = self.plugin()?.view(panel.into()).into_result()?;
        View::from_bytes(&bytes).map_err(|e| Fault::error(format!("invalid view: {e}")))
    }

    /// The last view the plugin pushed for `panel` with `Context::publish_view`.
    pub fn published_view(&self, panel: &str) -> Option<View> {
        self.host.state().views.get(panel).cloned()
    }

    pub fn ui(&mut self, panel: &str, event: &UiEvent) -> Result<(), Fault> {
        let bytes = serde_json::to_vec(event).expect("UiEvent serializes");
        self.plugin()?.on_ui(panel.into(), bytes.as_slice().into()).into_result()?;
        self.deliver_notices()
    }

    /// The bytes of an image the plugin published with `Context::publish_image`.
    pub fn image(&self, hash: &str) -> Option<Vec<u8>> {
        self.host.state().images.get(hash).cloned()
    }

    /// The last frame of a surface: `(width, height, rgba)`.
    pub fn frame(&self, surface: &str) -> Option<(u32, u32, Vec<u8>)> {
        self.host.state().frames.get(surface).cloned()
    }

    /// Everything published so far, oldest first.
    pub fn published(&self) -> Vec<Published> {
        self.host.state().published.clone()
    }

    pub fn subscriptions(&self) -> Vec<String> {
        self.host.state().subscriptions.clone()
    }

    /// Log lines as `(level, message)`; level 1 is error, 5 trace.
    pub fn logs(&self) -> Vec<(u8, String)> {
        self.host.state().logs.clone()
    }

    /// Sets a setting as the user would; checked against the manifest. A started
    /// plugin hears of it (`kernel.setting_changed`), as under the real kernel.
    pub fn set_setting(&mut self, name: &str, value: Value) -> Result<(), String> {
        self.host
            .set_setting(name.into(), RStr::from_str(&value.to_string()))
            .into_result()
            .map_err(String::from)?;
        self.deliver_notices().map_err(|e| e.to_string())
    }

    pub fn set_secret(&mut self, name: &str, value: &str) {
        self.host.state().secrets.insert(name.to_string(), value.to_string());
    }

    /// Answers calls the plugin makes to `service` (another plugin's) with `handler`.
    pub fn provide(
        &mut self,
        service: &str,
        handler: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) {
        self.host.state().services.insert(service.to_string(), Arc::new(handler));
    }

    /// Stops the plugin; later calls fail.
    pub fn stop(&mut self) -> Result<(), Fault> {
        let Some(mut plugin) = self.plugin.take() else {
            return Ok(());
        };
        self.started = false;
        plugin.stop().into_result()
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if self.started {
            let _ = self.stop();
        }
        let _ = std::fs::remove_dir_all(&self.host.data_dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Where cargo puts the library of plugin `id` for the profile of the running binary.
/// Test binaries live in `target/<profile>/deps/`; `cargo build` puts the library one
/// level up, `cargo test` (with `crate-type = ["cdylib", "rlib"]`) leaves it in `deps/`.
pub fn built_library_path(id: &str) -> PathBuf {
    let file = format!("{}ucdesk_plugin_{id}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        if dir.join(&file).exists() {
            return dir.join(file);
        }
        dir.pop();
    }
    dir.join(file)
}
