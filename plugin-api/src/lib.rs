//! The interface crate of ucdesk: the ONLY crate that both the kernel and a plugin link.
//!
//! It declares the ABI (the root module every plugin library exports, the
//! [`PluginInstance`] trait a plugin implements and the [`Host`] trait the kernel
//! implements) and the plain serde data that crosses it as bytes: the [`Manifest`],
//! the [`contract`]s, and the [`view`] tree. Everything here is append-only within a
//! major version; see `sdk/PENDING-CHANGES.md` for what waits for the next major.
//!
//! Plugin authors do not use this crate directly: they use `ucdesk-sdk`, which wraps it
//! in safe traits and catches every panic before it could unwind across the boundary.

// abi_stable 0.11's derive macros expand to impls inside consts.
#![allow(non_local_definitions)]

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RArc, RBox, ROption, RResult, RSlice, RStr, RString, RVec},
};

pub mod contract;
mod error;
mod library;
mod manifest;
pub mod view;

pub use abi_stable;
pub use error::{CallError, CallErrorKind, Fault, FaultKind, Reason};
pub use library::{
    API_VERSION, OpenError, ROOT_MODULE_SYMBOL, api_compatible, api_version, open_plugin_library,
};
pub use manifest::{
    ContactActionDecl, Dependency, LoginField, Manifest, ManifestError, PanelDecl, PanelSlot, ServiceDecl,
    SettingDecl, SettingKind, valid_plugin_id,
};

/// The root module of a plugin library: what `export_plugin!` exports.
///
/// This is a prefix type: a kernel built against a newer minor of this crate can load
/// a plugin built against an older one. New fields go below the last one, marked
/// `#[sabi(last_prefix_field)]` only when a new major is cut.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// The plugin's [`Manifest`] as JSON. Must not fail for a well-built plugin; the
    /// sdk glue turns a panic into a [`Fault`].
    pub manifest: extern "C" fn() -> RResult<RString, Fault>,

    /// Creates the plugin instance. `host` is the plugin's handle to the kernel; the
    /// plugin may clone it and keep it on its own threads.
    ///
    /// New fields go below this one.
    #[sabi(last_prefix_field)]
    pub instantiate: extern "C" fn(host: HostHandle) -> RResult<PluginBox, Fault>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "ucdesk_plugin";
    const NAME: &'static str = "ucdesk_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// A running plugin, as the kernel sees it. The kernel calls these methods only from
/// the plugin's own actor thread, one at a time.
#[sabi_trait]
pub trait PluginInstance: Send {
    /// Called once after instantiation, after every dependency has started.
    fn start(&mut self) -> RResult<(), Fault>;

    /// A bus event on a topic the plugin subscribed to (or a kernel notice addressed to
    /// it, topic `kernel.*`). `payload` is the serialized contract named by `schema`.
    fn on_event(
        &mut self,
        topic: RStr<'_>,
        source: RStr<'_>,
        schema: RStr<'_>,
        payload: RSlice<'_, u8>,
    ) -> RResult<(), Fault>;

    /// A call to one of the services the manifest declares. Answers JSON bytes.
    fn on_call(&mut self, service: RStr<'_>, request: RSlice<'_, u8>) -> RResult<RVec<u8>, Fault>;

    /// Renders the current view tree of one of the manifest's panels (JSON of
    /// [`view::View`]).
    fn view(&mut self, panel: RStr<'_>) -> RResult<RVec<u8>, Fault>;

    /// An interaction on one of the plugin's panels (JSON of [`view::UiEvent`]).
    fn on_ui(&mut self, panel: RStr<'_>, event: RSlice<'_, u8>) -> RResult<(), Fault>;

    /// Called once before the kernel lets go of the plugin. New methods go below it.
    #[sabi(last_prefix_field)]
    fn stop(&mut self) -> RResult<(), Fault>;
}

/// An owned plugin instance crossing the boundary.
pub type PluginBox = PluginInstance_TO<'static, RBox<()>>;

/// What the kernel offers a plugin. Implemented by the kernel (and by the sdk's
/// `TestHost`); cheap to clone and usable from any thread of the plugin.
#[sabi_trait]
pub trait Host: Send + Sync + Clone {
    /// Publishes an event on the bus. Never blocks: see the kernel's overflow policy.
    fn publish(&self, topic: RStr<'_>, schema: RStr<'_>, payload: RVec<u8>);

    /// Receive events whose topic starts with `prefix` (`""` = everything).
    fn subscribe(&self, prefix: RStr<'_>);

    /// Stop receiving events for a prefix given earlier to `subscribe`.
    fn unsubscribe(&self, prefix: RStr<'_>);

    /// Calls a service of another plugin and waits at most `timeout_ms` for the answer.
    fn call(&self, service: RStr<'_>, request: RVec<u8>, timeout_ms: u64) -> RResult<RVec<u8>, CallError>;

    /// Replaces the view of one of the plugin's panels (JSON of [`view::View`]).
    fn publish_view(&self, panel: RStr<'_>, view: RVec<u8>);

    /// Writes a line into the host's log, attributed to the plugin. `level`: 1 error,
    /// 2 warn, 3 info, 4 debug, 5 trace.
    fn log(&self, level: u8, message: RStr<'_>);

    /// The plugin's setting `name` (without the `plugin_id.` prefix) as JSON, or the
    /// manifest default, or None.
    fn setting(&self, name: RStr<'_>) -> ROption<RString>;

    /// Stores one of the plugin's settings (JSON). Fails when the value does not fit
    /// the declared schema or the setting is locked.
    fn set_setting(&self, name: RStr<'_>, json: RStr<'_>) -> RResult<(), RString>;

    /// One of the plugin's secrets (declared as settings of kind `secret`), or None.
    fn secret(&self, name: RStr<'_>) -> RResult<ROption<RString>, RString>;

    /// A directory that belongs to the plugin alone (created on first use). New methods
    /// go below it.
    #[sabi(last_prefix_field)]
    fn data_dir(&self) -> RString;

    /// Hands the shell an encoded image (PNG, JPEG, GIF, WebP) that views name by
    /// `hash` in [`view::Node::Image`] and avatars. Send it once; the shell keeps it
    /// (API 1.4).
    fn publish_image(&self, hash: RStr<'_>, bytes: RVec<u8>);

    /// Replaces the picture of one of the plugin's [`view::Node::Surface`]s with a
    /// `width` x `height` RGBA frame (video), without republishing the tree (API 1.4).
    fn publish_frame(&self, surface: RStr<'_>, width: u32, height: u32, rgba: RVec<u8>);
}

/// The kernel's handle as a plugin holds it.
pub type HostHandle = Host_TO<'static, RArc<()>>;
