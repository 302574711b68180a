//! Certificate checks for the XMPP connection. Verification is always on: the system's
//! trust anchors plus an optional extra CA file. A certificate that fails verification
//! is accepted only when the user accepted that very certificate (its SHA-256
//! fingerprint is pinned), the manual's "allow connecting with insecure certificate"
//! asked once per server.

use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The account's TLS choices.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// PEM file with an extra CA to trust (empty: none).
    pub ca_file: String,
    /// Fingerprint of the one untrusted certificate the user accepted.
    pub pinned: Option<String>,
}

/// SHA-256 of a DER certificate, as colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A client config for one connection attempt. `refused` receives the fingerprint of a
/// certificate that failed verification, so the caller can ask the user about it.
pub fn client_config(s: &TlsSettings, refused: Arc<Mutex<Option<String>>>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let system = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&system).flatten());
    if !s.ca_file.is_empty() {
        let pem =
            std::fs::read(&s.ca_file).map_err(|e| format!("cannot read the CA file {}: {e}", s.ca_file))?;
        let (added, _) = roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).flatten());
        if added == 0 {
            return Err(format!("the CA file {} holds no certificate", s.ca_file));
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("no trust anchors: {e}"))?;
    let verifier = Arc::new(Verifier { inner, pinned: s.pinned.clone(), refused });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Option<String>,
    refused: Arc<Mutex<Option<String>>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(ok) => Ok(ok),
            Err(e) => {
                let seen = fingerprint(end_entity);
                if self.pinned.as_deref() == Some(seen.as_str()) {
                    return Ok(ServerCertVerified::assertion());
                }
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(seen);
                Err(e)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
