//! The deployment policy: what an admin decides for every user of a machine.
//!
//! Read from `/etc/ucdesk/policy.toml` (or `UCDESK_POLICY`, or `--policy`). It says
//! which plugins may run (allow-list with version requirements and pinned SHA-256,
//! deny-list, required signatures), which keys are trusted for plugin signatures and
//! for licenses, and which settings are preset or locked. A policy that cannot be read
//! stops the kernel from starting: failing open would hand users what the admin denied.
//!
//! ```toml
//! require_signed_plugins = true
//! trusted_plugin_keys = ["<64 hex>"]
//! trusted_license_keys = ["<64 hex>"]
//! license_warn_days = 30
//! server_domain = "pbx.example.com"
//! deny = ["crm"]
//!
//! [[allow]]
//! id = "softphone"
//! version = "^1.2"
//! sha256 = "<64 hex>"
//!
//! [settings.preset]
//! "softphone.auto_answer_seconds" = 10
//!
//! [settings.locked]
//! "softphone.transport" = "tls"
//!
//! [shared_configuration]
//! enabled = true
//! dir = "/var/lib/ucdesk/shared"
//! ```

use crate::{
    discovery::Candidate,
    gate::{Gate, Verdict},
    settings::SettingsStore,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};
use ucdesk_license::{PublicKey, TrustedKeys, verify_plugin};
use ucdesk_plugin_api::Manifest;

/// Where the policy lives unless overridden.
pub const DEFAULT_POLICY_PATH: &str = "/etc/ucdesk/policy.toml";

/// One allowed plugin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub id: String,
    /// A semver requirement the plugin's version must meet (default: any).
    #[serde(default)]
    pub version: Option<semver::VersionReq>,
    /// The library file's SHA-256 (hex), pinning one exact build.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Preset and locked settings, keyed `plugin_id.name`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPolicy {
    /// Starting values the user may change.
    #[serde(default)]
    pub preset: BTreeMap<String, serde_json::Value>,
    /// Values the user cannot change.
    #[serde(default)]
    pub locked: BTreeMap<String, serde_json::Value>,
}

/// The whole policy file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// When non-empty, only these plugins may load.
    #[serde(default)]
    pub allow: Vec<Allowed>,
    /// These plugins never load.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Every plugin needs a valid `.sig` by a trusted plugin key.
    #[serde(default)]
    pub require_signed_plugins: bool,
    /// Public keys (hex) whose plugin signatures are accepted.
    #[serde(default)]
    pub trusted_plugin_keys: Vec<String>,
    /// Public keys (hex) whose licenses are accepted besides the vendor's.
    #[serde(default)]
    pub trusted_license_keys: Vec<String>,
    /// Warn this many days before the license expires.
    #[serde(default)]
    pub license_warn_days: Option<i64>,
    /// The deployment's server domain; a license bound to another one is refused.
    #[serde(default)]
    pub server_domain: Option<String>,
    #[serde(default)]
    pub settings: SettingsPolicy,
    /// The manual's shared configuration.
    #[serde(default)]
    pub shared_configuration: SharedConfiguration,
    /// Where "Check for updates" reads the signed release feed (overrides the user's
    /// preference; an empty string turns the check off).
    #[serde(default)]
    pub update_feed: Option<String>,
}

/// All users of the computer share the settings plugins declare `shared` (the login
/// account, phone mode and edition), kept in one file under `dir`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedConfiguration {
    #[serde(default)]
    pub enabled: bool,
    /// Must be writable by every user of ucdesk on the machine.
    #[serde(default = "default_shared_dir")]
    pub dir: std::path::PathBuf,
}

impl Default for SharedConfiguration {
    fn default() -> Self {
        SharedConfiguration { enabled: false, dir: default_shared_dir() }
    }
}

fn default_shared_dir() -> std::path::PathBuf {
    "/var/lib/ucdesk/shared".into()
}

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("deployment policy {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("deployment policy {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl Policy {
    /// Reads the policy at `path`; a missing file means no policy.
    pub fn load(path: &Path) -> Result<Option<Policy>, PolicyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PolicyError::Io { path: path.display().to_string(), source }),
        };
        Policy::parse(&text)
            .map(Some)
            .map_err(|reason| PolicyError::Invalid { path: path.display().to_string(), reason })
    }

    /// Parses and checks a policy (keys must be valid public keys, hashes hex).
    pub fn parse(text: &str) -> Result<Policy, String> {
        let policy: Policy = toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
        for key in policy.trusted_plugin_keys.iter().chain(&policy.trusted_license_keys) {
            PublicKey::from_hex(key)
                .map_err(|_| format!("{key:?} is not a public key (64 hex characters)"))?;
        }
        for a in &policy.allow {
            if let Some(h) = &a.sha256
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!("allow {}: sha256 must be 64 hex characters", a.id));
            }
        }
        Ok(policy)
    }

    fn keys(list: &[String]) -> impl Iterator<Item = PublicKey> + '_ {
        list.iter().filter_map(|k| PublicKey::from_hex(k).ok())
    }

    /// License keys: the vendor's plus the policy's.
    pub fn license_trust(&self, vendor: PublicKey) -> TrustedKeys {
        let mut keys = TrustedKeys::new([vendor]);
        Self::keys(&self.trusted_license_keys).for_each(|k| keys.add(k));
        keys
    }

    /// Applies shared configuration, preset and locked settings to a settings store.
    pub fn apply_settings(&self, store: &mut SettingsStore) -> Result<(), crate::SettingsError> {
        if self.shared_configuration.enabled {
            store.share(&self.shared_configuration.dir.join("settings.json"))?;
        }
        for (key, value) in &self.settings.preset {
            store.preset(key, value.clone());
        }
        for (key, value) in &self.settings.locked {
            store.lock(key, value.clone());
        }
        Ok(())
    }
}

/// The policy's decisions in the activation pipeline, before the license's.
pub struct PolicyGate<G> {
    policy: Policy,
    plugin_keys: TrustedKeys,
    /// A directory only this process's user can write, for verified copies.
    verified_dir: PathBuf,
    /// The gate that decides after the policy allowed (the license).
    then: G,
}

impl<G: Gate> PolicyGate<G> {
    pub fn new(policy: Policy, then: G, verified_dir: PathBuf) -> Self {
        let mut plugin_keys = TrustedKeys::new([ucdesk_license::vendor_key()]);
        Policy::keys(&policy.trusted_plugin_keys).for_each(|k| plugin_keys.add(k));
        PolicyGate { policy, plugin_keys, verified_dir, then }
    }

    /// Writes the checked bytes to a private, read-only file and returns its path.
    fn private_copy(&self, c: &Candidate, bytes: &[u8], sha256: &str) -> Result<PathBuf, std::io::Error> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.verified_dir)?;
        std::fs::set_permissions(&self.verified_dir, std::fs::Permissions::from_mode(0o700))?;
        let name = c.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // The hash in the directory name: the same content reuses one file (and one
        // loaded library), different content never collides.
        let dir = self.verified_dir.join(&sha256[..32]);
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let path = dir.join(name);
        if std::fs::read(&path).is_ok_and(|existing| existing == bytes) {
            return Ok(path);
        }
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o500).open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    fn allowed(&self, id: &str) -> Option<&Allowed> {
        self.policy.allow.iter().find(|a| a.id == id)
    }
}

impl<G: Gate> Gate for PolicyGate<G> {
    fn before_load(&self, c: &Candidate) -> Verdict {
        if self.policy.deny.iter().any(|d| d == &c.id) {
            return Verdict::Refuse("denied by the deployment policy".into());
        }
        let allowed = self.allowed(&c.id);
        if !self.policy.allow.is_empty() && allowed.is_none() {
            return Verdict::Refuse("not in the deployment policy's allow-list".into());
        }
        let pinned = allowed.and_then(|a| a.sha256.as_deref());
        if !self.policy.require_signed_plugins && pinned.is_none() {
            return self.then.before_load(c);
        }
        let bytes = match std::fs::read(&c.path) {
            Ok(b) => b,
            Err(e) => return Verdict::Refuse(format!("cannot read the library to check it: {e}")),
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        if let Some(expected) = pinned
            && !actual.eq_ignore_ascii_case(expected)
        {
            return Verdict::Refuse(format!(
                "sha256 mismatch: the policy pins {expected}, the file is {actual}"
            ));
        }
        if self.policy.require_signed_plugins {
            let sig_path = c.path.with_file_name(format!(
                "{}.sig",
                c.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ));
            let signature = match std::fs::read(&sig_path) {
                Ok(s) => s,
                Err(_) => {
                    return Verdict::Refuse(format!(
                        "unsigned: the deployment policy requires signed plugins (no {})",
                        sig_path.display()
                    ));
                }
            };
            if let Err(e) = verify_plugin(&bytes, &signature, &self.plugin_keys) {
                return Verdict::Refuse(format!("signature refused: {e}"));
            }
        }
        match self.then.before_load(c) {
            Verdict::Allow => match self.private_copy(c, &bytes, &actual) {
                Ok(path) => Verdict::LoadFrom(path),
                Err(e) => Verdict::Refuse(format!("cannot keep a verified copy to load: {e}")),
            },
            other => other,
        }
    }

    fn after_manifest(&self, manifest: &Manifest, c: &Candidate) -> Verdict {
        if let Some(req) = self.allowed(&manifest.id).and_then(|a| a.version.as_ref())
            && !req.matches(&manifest.version)
        {
            return Verdict::Refuse(format!(
                "version {} is not allowed by the deployment policy ({req})",
                manifest.version
            ));
        }
        self.then.after_manifest(manifest, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Policy::parse("allow_everything = true").unwrap_err().contains("unknown field"));
        assert!(Policy::parse("trusted_plugin_keys = [\"abc\"]").unwrap_err().contains("not a public key"));
        assert!(Policy::parse("[[allow]]\nid = \"x\"\nsha256 = \"zz\"").unwrap_err().contains("sha256"));
        assert!(Policy::parse("[[allow]]\nid = \"x\"\nversion = \"not semver\"").is_err());
        let p =
            Policy::parse("deny = [\"crm\"]\n[settings.locked]\n\"softphone.transport\" = \"tls\"").unwrap();
        assert_eq!(p.deny, ["crm"]);
        assert_eq!(p.settings.locked["softphone.transport"], "tls");
    }
}
