//! The services the kernel answers itself: the license report, a plugin keeping a new
//! value of its own secret, and the list of the services other plugins answer.

use super::{Inner, KERNEL_LICENSE_SERVICE, lock};
use ucdesk_plugin_api::{
    CallError, CallErrorKind, SettingKind,
    contract::{Contract, kernel as notices},
};

impl Inner {
    /// The answer when `service` is the kernel's own; None sends it to a plugin.
    pub(super) fn own_service(
        &self,
        caller: Option<&str>,
        service: &str,
        request: &[u8],
    ) -> Option<Result<Vec<u8>, CallError>> {
        Some(match service {
            KERNEL_LICENSE_SERVICE => {
                Ok(serde_json::to_vec(&self.config.license.report()).expect("a license report serializes"))
            }
            notices::STORE_SECRET => self.store_secret(caller, request),
            notices::SERVICES => self.list_services(caller, request),
            _ => return None,
        })
    }

    /// [`notices::STORE_SECRET`]: a plugin keeps a new value of a secret it declares
    /// (only its own: the key is its id's, whatever the request says).
    fn store_secret(&self, caller: Option<&str>, request: &[u8]) -> Result<Vec<u8>, CallError> {
        let refused = |why: String| CallError::new(CallErrorKind::Refused, why);
        let caller = caller.ok_or_else(|| refused("only a plugin may store its secrets".into()))?;
        let ask = notices::StoreSecret::from_bytes(request)
            .map_err(|e| refused(format!("{}: not a secret to store: {e}", notices::STORE_SECRET)))?;
        let manifest =
            lock(&self.slots).iter().find(|s| s.info.id == caller).and_then(|s| s.manifest.clone());
        if manifest.and_then(|m| m.setting(&ask.name).map(|d| d.kind.clone())) != Some(SettingKind::Secret) {
            return Err(refused(format!("{caller} does not declare a secret named {}", ask.name)));
        }
        self.secrets
            .set(&format!("{caller}.{}", ask.name), &ask.value)
            .map_err(|e| refused(format!("cannot store {caller}.{}: {e}", ask.name)))?;
        tracing::info!(plugin = caller, "stored a new value of the secret {}", ask.name);
        Ok(b"null".to_vec())
    }

    /// [`notices::SERVICES`]: the services of the active plugins but the caller's
    /// (which it cannot call), sorted.
    fn list_services(&self, caller: Option<&str>, request: &[u8]) -> Result<Vec<u8>, CallError> {
        // No request (or `null`) lists everything.
        let query = match request {
            b"" | b"null" => notices::ServiceQuery::default(),
            bytes => notices::ServiceQuery::from_bytes(bytes).map_err(|e| {
                CallError::new(CallErrorKind::Refused, format!("{}: not a query: {e}", notices::SERVICES))
            })?,
        };
        let services = self.services.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&String> = services
            .iter()
            .filter(|(name, provider)| {
                Some(provider.as_str()) != caller && query.suffix.as_deref().is_none_or(|s| name.ends_with(s))
            })
            .map(|(name, _)| name)
            .collect();
        names.sort();
        Ok(serde_json::to_vec(&names).expect("names serialize"))
    }
}
