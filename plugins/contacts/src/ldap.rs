//! The central phone book over LDAP, the way PBXs and directories publish one: people
//! (`inetOrgPerson` and its kin) under a base DN, read with a read-only account and
//! fetched whole in pages (RFC 2696 paged results: servers cap a plain search, slapd at
//! 500 entries). Each sync replaces the previous copy, so a changed entry is updated
//! and a removed one is gone. TLS (ldaps:// or StartTLS) is verified against the
//! system's roots plus an admin's CA file, never switched off.

use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use ucdesk_sdk::contract::contacts::{Contact, PhoneNumber, SOURCE_LDAP};

/// Entries a page asks for (slapd's default size limit).
const PAGE: i32 = 500;
const TIMEOUT: Duration = Duration::from_secs(20);
/// Who a person is when the filter is not set: any person entry.
pub const DEFAULT_FILTER: &str =
    "(|(objectClass=inetOrgPerson)(objectClass=organizationalPerson)(objectClass=person))";

/// The LDAP attributes read, and which label each number gets.
const NUMBERS: [(&str, &str); 5] = [
    ("telephoneNumber", "work"),
    ("mobile", "mobile"),
    ("homePhone", "home"),
    ("ipPhone", "work"),
    ("facsimileTelephoneNumber", "fax"),
];
/// Every attribute a sync asks for.
pub const ATTRS: [&str; 16] = [
    "entryUUID",
    "cn",
    "displayName",
    "givenName",
    "sn",
    "o",
    "ou",
    "departmentNumber",
    "title",
    "mail",
    "telephoneNumber",
    "mobile",
    "homePhone",
    "ipPhone",
    "facsimileTelephoneNumber",
    "impp",
];

/// Where the phone book is and how to read it. Not `Debug`: it holds the password.
#[derive(Clone, PartialEq)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    pub base: String,
    /// Empty: an anonymous bind.
    pub bind_dn: String,
    pub password: Option<String>,
    pub filter: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// An extra CA (PEM) to trust besides the system's.
    pub ca_file: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("the phone book server {url}: {source}")]
    Connect { url: String, source: Box<ldap3::LdapError> },
    #[error("the phone book refused the account {dn}: {text}")]
    Bind { dn: String, text: String },
    #[error("the phone book search under {base}: {source}")]
    Search { base: String, source: Box<ldap3::LdapError> },
    #[error("the phone book's TLS settings: {0}")]
    Tls(String),
    #[error(
        "the phone book server {url} is not on ldaps:// and StartTLS is off: the password would travel in the clear"
    )]
    Insecure { url: String },
}

/// Whether a password may go to `url`: over TLS (`https`, `ldaps`), or to this machine.
pub fn may_send_password(url: &str) -> bool {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    if matches!(scheme, "https" | "ldaps") {
        return true;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Every person under the base, as contacts of the `ldap` source.
pub async fn fetch(cfg: &LdapConfig) -> Result<Vec<Contact>, LdapError> {
    let tls = Arc::new(client_config(&cfg.ca_file)?);
    let settings =
        LdapConnSettings::new().set_conn_timeout(TIMEOUT).set_starttls(cfg.starttls).set_config(tls);
    let connect = |source| LdapError::Connect { url: cfg.url.clone(), source: Box::new(source) };
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &cfg.url).await.map_err(connect)?;
    ldap3::drive!(conn);
    ldap.with_timeout(TIMEOUT);
    if !cfg.bind_dn.is_empty() {
        if !cfg.starttls && !may_send_password(&cfg.url) {
            return Err(LdapError::Insecure { url: cfg.url.clone() });
        }
        let bound =
            ldap.simple_bind(&cfg.bind_dn, cfg.password.as_deref().unwrap_or("")).await.map_err(connect)?;
        if bound.rc != 0 {
            return Err(LdapError::Bind { dn: cfg.bind_dn.clone(), text: describe(bound.rc, &bound.text) });
        }
    }
    let search = |source| LdapError::Search { base: cfg.base.clone(), source: Box::new(source) };
    let filter = if cfg.filter.trim().is_empty() { DEFAULT_FILTER } else { cfg.filter.trim() };
    let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE))];
    let mut stream = ldap
        .streaming_search_with(adapters, &cfg.base, Scope::Subtree, filter, ATTRS.to_vec())
        .await
        .map_err(search)?;
    let mut out = Vec::new();
    while let Some(entry) = stream.next().await.map_err(search)? {
        if let Some(c) = contact(SearchEntry::construct(entry)) {
            out.push(c);
        }
    }
    stream.finish().await.success().map_err(search)?;
    let _ = ldap.unbind().await;
    Ok(out)
}

/// An entry as a contact; None for one without a name or any way to reach them.
fn contact(e: SearchEntry) -> Option<Contact> {
    let one = |attr: &str| {
        e.attrs.get(attr).and_then(|v| v.first()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    let name = one("displayName").or_else(|| one("cn")).or_else(|| {
        let full = [one("givenName"), one("sn")].into_iter().flatten().collect::<Vec<_>>().join(" ");
        (!full.is_empty()).then_some(full)
    })?;
    let mut numbers = Vec::new();
    for (attr, label) in NUMBERS {
        for n in e.attrs.get(attr).into_iter().flatten() {
            if !n.trim().is_empty() {
                numbers.push(PhoneNumber { label: label.into(), number: n.trim().to_string(), e164: None });
            }
        }
    }
    let emails: Vec<String> = e.attrs.get("mail").cloned().unwrap_or_default();
    let jid =
        e.attrs.get("impp").into_iter().flatten().find_map(|u| u.strip_prefix("xmpp:").map(str::to_string));
    Some(Contact {
        id: one("entryUUID").unwrap_or_else(|| e.dn.clone()),
        source: SOURCE_LDAP.into(),
        name,
        company: one("o"),
        department: one("ou").or_else(|| one("departmentNumber")),
        title: one("title"),
        numbers,
        emails,
        jid,
        ..Default::default()
    })
}

/// LDAP result codes a person can act on.
fn describe(rc: u32, text: &str) -> String {
    let what = match rc {
        49 => "wrong name or password",
        50 => "not allowed to read the phone book",
        53 => "the server will not do that now",
        _ => "refused",
    };
    if text.is_empty() { format!("{what} (LDAP {rc})") } else { format!("{what} (LDAP {rc}: {text})") }
}

/// The system's roots plus `ca_file`. (The same trust as the XMPP account's, without
/// its pinning: a phone book has no "accept this certificate" prompt.)
fn client_config(ca_file: &str) -> Result<ClientConfig, LdapError> {
    let mut roots = RootCertStore::empty();
    let system = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&system).flatten());
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file)
            .map_err(|e| LdapError::Tls(format!("cannot read the CA file {ca_file}: {e}")))?;
        let (added, _) = roots.add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).flatten());
        if added == 0 {
            return Err(LdapError::Tls(format!("the CA file {ca_file} holds no certificate")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LdapError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::may_send_password;

    #[test]
    fn passwords_go_over_tls_or_to_this_machine_only() {
        for ok in [
            "ldaps://pbx.example.com",
            "https://dav.example.com/a/",
            "ldap://127.0.0.1:389",
            "http://localhost:5232/",
            "http://[::1]:80/",
        ] {
            assert!(may_send_password(ok), "{ok}");
        }
        for no in [
            "ldap://pbx.example.com",
            "http://dav.example.com/a/",
            "http://10.0.0.5/",
            "http://user@evil.example/",
        ] {
            assert!(!may_send_password(no), "{no}");
        }
    }
}
