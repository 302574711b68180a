//! The command line: a contract that scripts, tests and other programs build on.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "ucdesk", version, about = "ucdesk: desktop unified communications")]
pub struct Cli {
    /// Keep config, data and the runtime socket under DIR (default: XDG directories).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Also load plugins from DIR (repeatable; searched before the default directories).
    #[arg(long = "plugins", global = true, value_name = "DIR")]
    pub plugins: Vec<PathBuf>,

    /// The admin's deployment policy (default: $UCDESK_POLICY, else /etc/ucdesk/policy.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every discovered plugin with its state: the running app's, or (when it is not
    /// running) whether each would start, without starting any.
    Plugins {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the kernel and all plugins headless until SIGINT or SIGTERM.
    Daemon,
    /// Call a service on the running instance and print its JSON answer.
    Ctl {
        /// Service name, e.g. hello.greet.
        service: String,
        /// Request as JSON (default: null).
        json: Option<String>,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout: u64,
    },
    /// Stream bus events of the running instance as JSON lines.
    Events {
        /// Only topics starting with PREFIX.
        #[arg(long, default_value = "")]
        topic: String,
    },
    /// Read or change settings (keys look like plugin_id.name).
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
    },
    /// Store a secret; the value is read from standard input and never printed.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Install or inspect the license that decides which modules are available.
    License {
        #[command(subcommand)]
        action: LicenseAction,
    },
    /// Check the release feed for a newer ucdesk (what "Check for updates" does).
    Update {
        #[command(subcommand)]
        action: UpdateAction,
    },
    /// Print the current view tree of a plugin's panel (JSON) from the running instance.
    View { plugin: String, panel: String },
    /// Dial NUMBER (a number, #N speed dial, or a tel:/sip:/callto: address) on the
    /// running instance's phone.
    Call { number: String },
    /// `ucdesk tel:+1...`, `ucdesk sip:bob@example.com`, `ucdesk callto:...`: the URI
    /// handler the desktop's "default program" association runs; forwarded as `call`.
    #[command(external_subcommand)]
    Uri(Vec<String>),
}

/// URI schemes `ucdesk URI` dials.
pub const DIAL_SCHEMES: [&str; 4] = ["tel:", "sip:", "sips:", "callto:"];

#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Every setting (of PLUGIN) with its kind, default, effective value and whether
    /// the policy locks it; secrets by name only.
    List {
        plugin: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a setting's effective value as JSON.
    Get { key: String },
    /// Change a setting. Text settings take VALUE as is; others parse it as JSON.
    Set { key: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum UpdateAction {
    /// Read the feed the policy (`update_feed`) or the preferences name, verify its
    /// signature and compare its version with this one.
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Store KEY's value from standard input (a trailing newline is dropped).
    Set { key: String },
}

#[derive(Debug, Subcommand)]
pub enum LicenseAction {
    /// Verify a signed license file and install it into the profile.
    Install { file: std::path::PathBuf },
    /// Show the installed license: edition, features, limits, expiry, state and reason.
    Show {
        #[arg(long)]
        json: bool,
    },
}
