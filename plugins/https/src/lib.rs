//! The HTTPS client plugins share (chat's file transfers, the CRM's popups and APIs):
//! a blocking ureq agent over rustls whose trust is the system's roots plus, when an
//! admin names one, a CA file of their own, or that CA alone when they pin it. TLS
//! verification is never switched off: a lab or a private CRM gets its CA, not a bypass.

use std::path::PathBuf;
use std::time::Duration;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// Debian's bundle of the system's trusted roots (ca-certificates).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("cannot read the CA file {path}: {source}")]
    CaFile { path: PathBuf, source: std::io::Error },
    #[error("the CA file {0} holds no certificate")]
    NoCertificate(PathBuf),
}

/// Which certificates a server's chain may end in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// An extra CA (PEM), e.g. a company's or the lab's.
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the system's roots (an admin pinning their CA).
    pub pinned: bool,
}

impl Trust {
    /// The system's roots plus `ca_file` when it is not empty.
    pub fn with_ca(ca_file: &str) -> Trust {
        Trust { ca_file: (!ca_file.is_empty()).then(|| PathBuf::from(ca_file)), pinned: false }
    }
}

/// How long an agent waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole request, answer included; `None` for transfers that may run long.
    pub total: Option<Duration>,
}

/// An agent that trusts `trust` and answers statuses as responses, not errors (callers
/// word them). Certificates are read once here, not per request.
pub fn agent(trust: &Trust, timeouts: Timeouts) -> Result<ureq::Agent, HttpsError> {
    let mut pem = if trust.pinned { Vec::new() } else { std::fs::read(SYSTEM_ROOTS).unwrap_or_default() };
    if let Some(path) = &trust.ca_file {
        let extra =
            std::fs::read(path).map_err(|source| HttpsError::CaFile { path: path.clone(), source })?;
        if !ureq::tls::parse_pem(&extra).any(|i| matches!(i, Ok(PemItem::Certificate(_)))) {
            return Err(HttpsError::NoCertificate(path.clone()));
        }
        pem.push(b'\n');
        pem.extend(extra);
    }
    let roots: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let config = ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(RootCerts::new_with_certs(&roots)).build())
        .timeout_connect(Some(timeouts.connect))
        .timeout_global(timeouts.total)
        .http_status_as_error(false)
        .build();
    Ok(config.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_with_its_path() {
        let t = Timeouts { connect: Duration::from_secs(1), total: None };
        let missing = Trust { ca_file: Some("/nonexistent/ca.pem".into()), pinned: true };
        assert!(agent(&missing, t).unwrap_err().to_string().contains("/nonexistent/ca.pem"));
        let dir = std::env::temp_dir().join(format!("ucdesk-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let bad = Trust { ca_file: Some(empty.clone()), pinned: false };
        assert!(matches!(agent(&bad, t), Err(HttpsError::NoCertificate(p)) if p == empty));
        assert!(agent(&Trust::default(), t).is_ok());
    }
}
