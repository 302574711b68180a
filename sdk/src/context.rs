//! The plugin's side of the host: a typed client for the bus, services, views,
//! settings, secrets and the log.

use crate::Error;
use abi_stable::std_types::{RStr, RVec};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::{path::PathBuf, time::Duration};
use ucdesk_plugin_api::{
    CallError, CallErrorKind, HostHandle,
    contract::{Contract, JSON_SCHEMA},
    view::View,
};

/// Default timeout of [`Context::call`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The plugin's handle to the host. Cheap to clone; usable from any thread the plugin
/// starts (the host serialises nothing on the caller's behalf).
#[derive(Clone)]
pub struct Context {
    host: HostHandle,
}

impl Context {
    pub(crate) fn new(host: HostHandle) -> Self {
        Context { host }
    }

    /// Publishes a typed contract on `topic`.
    pub fn publish<C: Contract>(&self, topic: &str, payload: &C) {
        self.host.publish(topic.into(), C::SCHEMA.into(), RVec::from(payload.to_bytes()));
    }

    /// Publishes free-form JSON on `topic` (schema `json`).
    pub fn publish_json(&self, topic: &str, payload: &Value) {
        let bytes = serde_json::to_vec(payload).expect("a Value always serializes");
        self.host.publish(topic.into(), JSON_SCHEMA.into(), RVec::from(bytes));
    }

    /// Receive events whose topic starts with `prefix`.
    pub fn subscribe(&self, prefix: &str) {
        self.host.subscribe(prefix.into());
    }

    pub fn unsubscribe(&self, prefix: &str) {
        self.host.unsubscribe(prefix.into());
    }

    /// Calls a service and decodes its JSON answer, waiting up to
    /// [`DEFAULT_CALL_TIMEOUT`].
    pub fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        service: &str,
        request: &Req,
    ) -> Result<Resp, CallError> {
        self.call_timeout(service, request, DEFAULT_CALL_TIMEOUT)
    }

    pub fn call_timeout<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        service: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let bytes = serde_json::to_vec(request).map_err(|e| {
            CallError::new(CallErrorKind::Refused, format!("request does not serialize: {e}"))
        })?;
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let answer = self.host.call(service.into(), RVec::from(bytes), millis).into_result()?;
        serde_json::from_slice(&answer).map_err(|e| {
            CallError::new(CallErrorKind::Refused, format!("answer of {service} does not decode: {e}"))
        })
    }

    /// Replaces the view of one of this plugin's panels.
    pub fn publish_view(&self, panel: &str, view: &View) {
        self.host.publish_view(panel.into(), RVec::from(view.to_bytes()));
    }

    /// Hands the shell an encoded image (PNG, JPEG, GIF, WebP) and returns the hash
    /// that [`crate::ui::image`] and [`crate::ui::avatar`] name it by. The shell keeps
    /// it, so publish each image once, not with every view.
    pub fn publish_image(&self, bytes: &[u8]) -> String {
        let hash = image_hash(bytes);
        self.host.publish_image(RStr::from_str(&hash), RVec::from(bytes.to_vec()));
        hash
    }

    /// Replaces the picture of the panel's [`crate::ui::surface`] `surface` with an
    /// RGBA frame (`width * height * 4` bytes): video, without republishing the view.
    pub fn publish_frame(&self, surface: &str, width: u32, height: u32, rgba: Vec<u8>) {
        self.host.publish_frame(surface.into(), width, height, RVec::from(rgba));
    }

    /// The plugin's setting `name`: the stored value, else the manifest default.
    pub fn setting<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let json = self.host.setting(name.into()).into_option()?;
        serde_json::from_str(&json).ok()
    }

    /// Stores a setting; fails when it does not fit the schema or is locked.
    pub fn set_setting<T: Serialize>(&self, name: &str, value: &T) -> Result<(), Error> {
        let json = serde_json::to_string(value)?;
        self.host
            .set_setting(name.into(), RStr::from_str(&json))
            .into_result()
            .map_err(|e| Error::new(e.to_string()))
    }

    /// One of the plugin's secrets. The value must never be logged.
    pub fn secret(&self, name: &str) -> Result<Option<String>, Error> {
        match self.host.secret(name.into()).into_result() {
            Ok(v) => Ok(v.into_option().map(String::from)),
            Err(e) => Err(Error::new(e.to_string())),
        }
    }

    /// Keeps a new value of one of the plugin's secrets (a rotated refresh token) in the
    /// profile's secret store, through the kernel's `kernel.store_secret` (plugin-api 1.8).
    pub fn store_secret(&self, name: &str, value: &str) -> Result<(), Error> {
        let ask = crate::contract::kernel::StoreSecret { name: name.into(), value: value.into() };
        self.call::<_, Value>(crate::contract::kernel::STORE_SECRET, &ask)
            .map(|_| ())
            .map_err(|e| Error::new(e.to_string()))
    }

    /// The plugin's own data directory (exists).
    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(self.host.data_dir().as_str())
    }

    pub fn error(&self, message: impl AsRef<str>) {
        self.host.log(1, message.as_ref().into());
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        self.host.log(2, message.as_ref().into());
    }

    pub fn info(&self, message: impl AsRef<str>) {
        self.host.log(3, message.as_ref().into());
    }

    pub fn debug(&self, message: impl AsRef<str>) {
        self.host.log(4, message.as_ref().into());
    }

    /// A line at `level` (1 error, 2 warning, 3 info, 4 debug, 5 trace).
    pub fn log(&self, level: u8, message: &str) {
        self.host.log(level, message.into());
    }
}

/// A bus event as a plugin receives it.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub topic: &'a str,
    /// Id of the publishing plugin (`kernel` for kernel notices).
    pub source: &'a str,
    pub schema: &'a str,
    pub payload: &'a [u8],
}

impl Event<'_> {
    /// The payload as a contract, or None when the schema is another one.
    pub fn contract<C: Contract>(&self) -> Option<Result<C, Error>> {
        (self.schema == C::SCHEMA).then(|| C::from_bytes(self.payload).map_err(Error::from))
    }

    /// The payload as any deserializable type (all contracts are JSON).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(self.payload)?)
    }
}

/// A service call as a plugin receives it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    service: &'a str,
    request: &'a [u8],
}

impl<'a> Call<'a> {
    pub(crate) fn new(service: &'a str, request: &'a [u8]) -> Self {
        Call { service, request }
    }

    /// The full service name, e.g. `hello.greet`.
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The verb after the plugin id, e.g. `greet`.
    pub fn verb(&self) -> &'a str {
        self.service.split_once('.').map_or(self.service, |(_, v)| v)
    }

    /// The whole request decoded.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if self.request.is_empty() {
            return Ok(serde_json::from_value(Value::Null)?);
        }
        serde_json::from_slice(self.request)
            .map_err(|e| Error::new(format!("{}: invalid request: {e}", self.service)))
    }

    /// One field of a JSON-object request, with a clear error when it is missing.
    pub fn arg<T: DeserializeOwned>(&self, field: &str) -> Result<T, Error> {
        let request: Value = self.args()?;
        let value = request
            .get(field)
            .ok_or_else(|| Error::new(format!("{}: missing field '{field}'", self.service)))?;
        serde_json::from_value(value.clone())
            .map_err(|e| Error::new(format!("{}: field '{field}': {e}", self.service)))
    }

    pub fn raw(&self) -> &'a [u8] {
        self.request
    }
}

/// The name of an image's bytes: the first 128 bits of their SHA-256, in hex.
pub fn image_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..16])
}
