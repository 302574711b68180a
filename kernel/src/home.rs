//! Where ucdesk keeps things: config, data and the runtime socket, under one `--home`
//! directory or the XDG base directories.

use std::path::{Path, PathBuf};

/// The directories of one ucdesk profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Settings and keys: `DIR/config` or `$XDG_CONFIG_HOME/ucdesk`.
    pub config: PathBuf,
    /// Plugin data and user-installed plugins: `DIR/data` or `$XDG_DATA_HOME/ucdesk`.
    pub data: PathBuf,
    /// The control socket: `DIR/run` or `$XDG_RUNTIME_DIR/ucdesk` (else
    /// `/tmp/ucdesk-<uid>`).
    pub runtime: PathBuf,
}

impl Home {
    /// Everything under one directory (`--home DIR`).
    pub fn under(dir: impl AsRef<Path>) -> Home {
        let dir = dir.as_ref();
        Home { config: dir.join("config"), data: dir.join("data"), runtime: dir.join("run") }
    }

    /// The XDG locations of the current user.
    pub fn xdg() -> Home {
        let env_dir = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = env_dir("HOME").unwrap_or_else(std::env::temp_dir);
        let config = env_dir("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
        let data = env_dir("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share"));
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        let runtime = env_dir("XDG_RUNTIME_DIR")
            .map(|d| d.join("ucdesk"))
            .unwrap_or_else(|| std::env::temp_dir().join(format!("ucdesk-{uid}")));
        Home { config: config.join("ucdesk"), data: data.join("ucdesk"), runtime }
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime.join("ucdesk.sock")
    }

    /// Held by the running instance (window or daemon) from its start, before its
    /// socket answers: a second launch meanwhile waits for the socket instead of
    /// starting a second instance on the same profile.
    pub fn lock_file(&self) -> PathBuf {
        self.runtime.join("ucdesk.lock")
    }

    /// The installed license (`ucdesk license install` puts it here).
    pub fn license_file(&self) -> PathBuf {
        self.config.join("license.json")
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    /// Plugins the user installed: searched after `--plugins` and `UCDESK_PLUGIN_PATH`.
    pub fn user_plugins(&self) -> PathBuf {
        self.data.join("plugins")
    }

    /// The private data directory of one plugin.
    pub fn plugin_data(&self, id: &str) -> PathBuf {
        self.data.join("plugin-data").join(id)
    }
}
