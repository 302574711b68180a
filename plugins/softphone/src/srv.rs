//! Where to send SIP: the account's server (or proxy) turned into an ordered list of
//! targets. A domain with SRV records (`_sip._udp`, `_sip._tcp`, `_sips._tcp`, RFC 3263
//! §4) gives every record in priority order (weight breaks ties, heavier first); the
//! engine registers to the first that answers and fails over down the list, which is
//! how the manual's failover between SBCs works. A literal address or a name without
//! SRV gives one target.
//!
//! rsipstack resolves SRV itself, but only to its first answer; failover needs the
//! whole ordered list, so we ask hickory (the resolver rsipstack uses) directly.

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use std::net::{IpAddr, SocketAddr};

/// How SIP reaches the server. It lives with the lookup that gives it its service names
/// and default ports; the settings only name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The SRV service names for this transport (RFC 3263 §4.1).
    pub fn srv_prefix(self) -> &'static str {
        match self {
            Transport::Udp => "_sip._udp",
            Transport::Tcp => "_sip._tcp",
            Transport::Tls => "_sips._tcp",
        }
    }

    pub fn default_port(self) -> u16 {
        if self == Transport::Tls { 5061 } else { 5060 }
    }
}

/// One place to send requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The name the target was found under (TLS verifies against it).
    pub host: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.addr, self.transport.as_str(), self.host)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("DNS server setting {0:?} is not ip[:port]")]
    BadDnsServer(String),
    #[error("cannot resolve {name}: {why}")]
    Lookup { name: String, why: String },
    #[error("server {0:?} is not host[:port]")]
    BadServer(String),
}

/// Splits `host[:port]` (IPv6 in brackets).
pub fn split_host_port(s: &str) -> Result<(String, Option<u16>), ResolveError> {
    let bad = || ResolveError::BadServer(s.to_string());
    let s = s.trim().trim_start_matches("sips:").trim_start_matches("sip:");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            Ok((host.to_string(), Some(port.parse().map_err(|_| bad())?)))
        }
        _ if s.is_empty() || s.contains(['/', ' ', ';']) => Err(bad()),
        _ => Ok((s.to_string(), None)),
    }
}

fn resolver(dns_server: &str) -> Result<Resolver<TokioRuntimeProvider>, ResolveError> {
    let provider = TokioRuntimeProvider::default();
    let builder = if dns_server.is_empty() {
        Resolver::builder(provider)
            .map_err(|e| ResolveError::Lookup { name: "system resolver".into(), why: e.to_string() })?
    } else {
        let (ip, port) =
            split_host_port(dns_server).map_err(|_| ResolveError::BadDnsServer(dns_server.into()))?;
        let ip: IpAddr = ip.parse().map_err(|_| ResolveError::BadDnsServer(dns_server.into()))?;
        let mut ns = NameServerConfig::udp_and_tcp(ip);
        for c in &mut ns.connections {
            c.port = port.unwrap_or(53);
        }
        Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), provider)
    };
    builder.build().map_err(|e| ResolveError::Lookup { name: dns_server.into(), why: e.to_string() })
}

/// The ordered targets for `server` (host[:port]) with `transport` (None: server
/// default, i.e. whatever SRV offers, TLS first, else UDP). `srv_domain` overrides the
/// domain SRV is asked for.
pub async fn targets(
    server: &str,
    srv_domain: &str,
    transport: Option<Transport>,
    dns_server: &str,
) -> Result<Vec<Target>, ResolveError> {
    let (host, port) = split_host_port(server)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        let t = transport.unwrap_or(Transport::Udp);
        return Ok(vec![Target {
            addr: SocketAddr::new(ip, port.unwrap_or(t.default_port())),
            transport: t,
            host,
        }]);
    }
    let resolver = resolver(dns_server)?;
    // An explicit port means "this host", not SRV (RFC 3263 §4.2).
    if port.is_none() {
        let domain = if srv_domain.is_empty() { host.as_str() } else { srv_domain };
        let wanted = match transport {
            Some(t) => vec![t],
            None => vec![Transport::Tls, Transport::Tcp, Transport::Udp],
        };
        for t in wanted {
            let name = format!("{}.{}.", t.srv_prefix(), domain.trim_end_matches('.'));
            let Ok(lookup) = resolver.srv_lookup(name.as_str()).await else { continue };
            let mut records: Vec<_> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(srv) => Some(srv.clone()),
                    _ => None,
                })
                .collect();
            // Lower priority first; within one, heavier weight first (a deterministic
            // stand-in for RFC 2782's weighted random choice, so failover is predictable).
            records.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
            let mut out = Vec::new();
            for srv in records {
                let target = srv.target.to_utf8();
                let target = target.trim_end_matches('.');
                if target.is_empty() {
                    continue; // "." means the service is decidedly not available
                }
                for ip in lookup_ips(&resolver, target).await {
                    out.push(Target {
                        addr: SocketAddr::new(ip, srv.port),
                        transport: t,
                        host: target.to_string(),
                    });
                }
            }
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }
    let t = transport.unwrap_or(Transport::Udp);
    let ips = lookup_ips(&resolver, &host).await;
    if ips.is_empty() {
        return Err(ResolveError::Lookup { name: host, why: "no SRV, A or AAAA records".into() });
    }
    Ok(ips
        .into_iter()
        .map(|ip| Target {
            addr: SocketAddr::new(ip, port.unwrap_or(t.default_port())),
            transport: t,
            host: host.clone(),
        })
        .collect())
}

async fn lookup_ips(resolver: &Resolver<TokioRuntimeProvider>, host: &str) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse() {
        return vec![ip];
    }
    if host == "localhost" {
        return vec![IpAddr::from([127, 0, 0, 1])];
    }
    match resolver.lookup_ip(format!("{host}.")).await {
        Ok(found) => found.iter().collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("pbx.example.com").unwrap(), ("pbx.example.com".into(), None));
        assert_eq!(split_host_port("127.0.0.1:5070").unwrap(), ("127.0.0.1".into(), Some(5070)));
        assert_eq!(split_host_port("sip:[::1]:5060").unwrap(), ("::1".into(), Some(5060)));
        assert!(split_host_port("pbx:notaport").is_err());
        assert!(split_host_port("").is_err());
    }

    #[tokio::test]
    async fn literal_addresses_need_no_dns() {
        let t = targets("127.0.0.1:5070", "", Some(Transport::Tcp), "").await.unwrap();
        assert_eq!(
            t,
            [Target {
                addr: "127.0.0.1:5070".parse().unwrap(),
                transport: Transport::Tcp,
                host: "127.0.0.1".into()
            }]
        );
        let t = targets("127.0.0.1", "", Some(Transport::Tls), "").await.unwrap();
        assert_eq!(t[0].addr.port(), 5061);
    }
}
