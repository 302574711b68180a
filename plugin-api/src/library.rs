//! Opening a plugin library: abi_stable's layout check plus our own version rule.
//!
//! Shared by the kernel and the sdk's `TestHost` so that both refuse the same libraries
//! for the same reasons.

use crate::PluginModRef;
use abi_stable::library::{LibraryError, lib_header_from_path};
use std::path::Path;

/// The plugin-api version this crate is. A plugin records the version it was built
/// with in its library header; see [`api_compatible`].
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// [`API_VERSION`] parsed.
pub fn api_version() -> semver::Version {
    semver::Version::parse(API_VERSION).expect("CARGO_PKG_VERSION is semver")
}

/// Our compatibility rule: the same major, and the plugin's minor no newer than the
/// host's (a plugin may rely on everything up to its minor; the host keeps all of it).
///
/// abi_stable only compares majors; we also refuse a plugin that expects a newer minor,
/// because its root module would name prefix fields this host does not have.
pub fn api_compatible(host: &semver::Version, plugin: &semver::Version) -> bool {
    host.major == plugin.major && host.minor >= plugin.minor
}

/// Why a library could not be opened as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be loaded, or exports no ucdesk root module.
    #[error("not a loadable ucdesk plugin: {0}")]
    NotLoadable(String),
    /// Built against a plugin-api this host is not compatible with.
    #[error(
        "built with plugin-api {plugin}, but this ucdesk provides plugin-api {host} \
         (needs the same major and a minor no newer than {host_major}.{host_minor}); \
         rebuild the plugin against a matching ucdesk-sdk"
    )]
    ApiMismatch { plugin: String, host: String, host_major: u64, host_minor: u64 },
    /// The version matched but the types did not: abi_stable's layout check said why.
    #[error("incompatible ABI layout: {0}")]
    Layout(String),
}

/// Opens the library at `path` and returns its checked root module.
///
/// Libraries are never unloaded (abi_stable leaks them on purpose), so a refused
/// library still occupies address space until the process exits; the kernel checks
/// policy before it gets here.
pub fn open_plugin_library(path: &Path) -> Result<PluginModRef, OpenError> {
    let header = lib_header_from_path(path).map_err(|e| OpenError::NotLoadable(flatten(e)))?;
    let vs = header.version_strings();
    let plugin = vs.version.as_str().to_string();
    let host = api_version();
    let compatible = semver::Version::parse(&plugin).is_ok_and(|p| api_compatible(&host, &p));
    if !compatible {
        return Err(OpenError::ApiMismatch {
            plugin,
            host: host.to_string(),
            host_major: host.major,
            host_minor: host.minor,
        });
    }
    header.init_root_module::<PluginModRef>().map_err(|e| match e {
        LibraryError::AbiInstability(_) => OpenError::Layout(flatten(e)),
        other => OpenError::NotLoadable(flatten(other)),
    })
}

// abi_stable's errors span many lines (a tree of type differences); a plugin's reason
// is shown in one table cell, so keep the lines but drop the blank ones.
fn flatten(e: LibraryError) -> String {
    e.to_string().lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

#[doc(hidden)]
/// The export symbol name abi_stable looks up; `export_plugin!` writes it literally
/// (a `macro_rules!` macro cannot build an identifier), and the sdk tests that the two
/// agree.
pub const ROOT_MODULE_SYMBOL: &str = abi_stable::library::ROOT_MODULE_LOADER_NAME;
