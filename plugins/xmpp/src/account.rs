//! An XMPP account's settings, declared and read the same way by every plugin that logs
//! in: `jid` and the secret `password` (both filled by the login wizard), `server`,
//! `dns_server`, `tls_ca_file`, `allow_insecure_tls`, `trusted_certificate`. Settings
//! belong to the plugin that declares them, so each names them under its own id
//! (`chat.jid`, `sms.jid`); messages name them that way too.

use crate::connection::Account;
use crate::tls::TlsSettings;
use serde_json::json;
use tokio_xmpp::jid::BareJid;
use ucdesk_sdk::{Context, LoginField, ManifestBuilder, SettingKind};

/// Declares the account's settings on the manifest under construction; `what` names
/// the account in labels ("Chat", "SMS").
pub fn declare(m: ManifestBuilder, what: &str) -> ManifestBuilder {
    let text = |max| SettingKind::Text { max_len: Some(max) };
    let m = ucdesk_sdk::logs::declare(m, "XMPP logging level (diagnostic logs, 1-10)");
    m.setting("jid", &format!("{what} address (user@domain)"), text(320), Some(json!("")))
        .setting("password", &format!("{what} password"), SettingKind::Secret, None)
        .login("jid", LoginField::Address)
        .login("password", LoginField::Password)
        .setting(
            "server",
            "Server (host[:port]; empty: the domain's SRV records)",
            text(255),
            Some(json!("")),
        )
        .setting("dns_server", "DNS server for SRV (ip[:port], empty: system)", text(64), Some(json!("")))
        .setting("tls_ca_file", "Extra CA certificate to trust (PEM file)", text(1024), Some(json!("")))
        .setting(
            "allow_insecure_tls",
            "Allow connecting with an insecure certificate",
            SettingKind::Bool,
            Some(json!(false)),
        )
        .setting("trusted_certificate", "Accepted certificate (SHA-256)", text(128), Some(json!("")))
}

/// The account plugin `id` is set up with, or why there is none (shown as the
/// connection's reason).
pub fn read(ctx: &Context, id: &str) -> Result<Account, String> {
    let jid: String = ctx.setting("jid").unwrap_or_default();
    if jid.trim().is_empty() {
        return Err(format!("no account: set {id}.jid and {id}.password"));
    }
    let jid: BareJid = jid.trim().parse().map_err(|e| format!("{id}.jid {jid:?} is not an address: {e}"))?;
    if jid.node().is_none() {
        return Err(format!("{id}.jid {jid} has no user part (user@domain)"));
    }
    let password = ctx
        .secret("password")
        .map_err(|e| format!("cannot read the password: {e}"))?
        .ok_or_else(|| format!("no password: set the secret {id}.password"))?;
    let server: String = ctx.setting("server").unwrap_or_default();
    let server = if server.trim().is_empty() {
        None
    } else {
        Some(parse_server(server.trim(), jid.domain().as_str()).map_err(|e| format!("{id}.server {e}"))?)
    };
    let allow_insecure: bool = ctx.setting("allow_insecure_tls").unwrap_or(false);
    let pinned: String = ctx.setting("trusted_certificate").unwrap_or_default();
    Ok(Account {
        jid,
        password,
        server,
        dns_server: ctx.setting::<String>("dns_server").unwrap_or_default().trim().to_string(),
        tls: TlsSettings {
            ca_file: ctx.setting("tls_ca_file").unwrap_or_default(),
            pinned: (allow_insecure && !pinned.is_empty()).then_some(pinned),
        },
    })
}

/// Whether two accounts log in to the same place the same way (a change of any of it
/// means a new connection).
pub fn same(a: &Account, b: &Account) -> bool {
    a.jid == b.jid
        && a.password == b.password
        && a.server == b.server
        && a.dns_server == b.dns_server
        && a.tls.ca_file == b.tls.ca_file
        && a.tls.pinned == b.tls.pinned
}

/// `host`, `host:port` or `[v6]:port` (port 5222 when none is given).
fn parse_server(s: &str, domain: &str) -> Result<(String, u16), String> {
    if s.is_empty() {
        return Ok((domain.to_string(), 5222));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => {
            (h.trim_matches(['[', ']']), p.parse::<u16>().map_err(|_| format!("{s:?}: bad port"))?)
        }
        _ => (s.trim_matches(['[', ']']), 5222),
    };
    if host.is_empty() {
        return Err(format!("{s:?} has no host"));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_override_forms() {
        use super::parse_server as p;
        assert_eq!(p("", "lab").unwrap(), ("lab".into(), 5222));
        assert_eq!(p("127.0.0.1:5322", "lab").unwrap(), ("127.0.0.1".into(), 5322));
        assert_eq!(p("xmpp.lab", "lab").unwrap(), ("xmpp.lab".into(), 5222));
        assert_eq!(p("[::1]:5223", "lab").unwrap(), ("::1".into(), 5223));
        assert!(p("host:port", "lab").is_err());
    }
}
