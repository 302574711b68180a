//! Where the XMPP server of a domain is: `_xmpp-client._tcp.<domain>` SRV records
//! (RFC 6120 §3.2), in priority order (heavier weight first within one), each target's
//! addresses; the domain itself on port 5222 when there are none. The connection tries
//! them in order, which is the failover between servers.
//!
//! The softphone has its own SRV code for SIP's three services: the two differ in what
//! they ask and how they fall back.

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use std::net::{IpAddr, SocketAddr};

fn resolver(dns_server: &str) -> Result<Resolver<TokioRuntimeProvider>, String> {
    let provider = TokioRuntimeProvider::default();
    let builder = if dns_server.is_empty() {
        Resolver::builder(provider).map_err(|e| format!("no system resolver: {e}"))?
    } else {
        let (ip, port) = match dns_server.rsplit_once(':') {
            Some((ip, port)) if !ip.contains(':') => (ip, port.parse::<u16>().ok()),
            _ => (dns_server, None),
        };
        let ip: IpAddr = ip
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| format!("the DNS server {dns_server:?} is not ip[:port]"))?;
        let mut ns = NameServerConfig::udp_and_tcp(ip);
        for c in &mut ns.connections {
            c.port = port.unwrap_or(53);
        }
        Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), provider)
    };
    builder.build().map_err(|e| format!("DNS: {e}"))
}

/// The addresses to try for `domain`, in order.
pub async fn targets(domain: &str, dns_server: &str) -> Result<Vec<SocketAddr>, String> {
    let resolver = resolver(dns_server)?;
    let name = format!("_xmpp-client._tcp.{}.", domain.trim_end_matches('.'));
    let mut out = Vec::new();
    if let Ok(lookup) = resolver.srv_lookup(name.as_str()).await {
        let mut records: Vec<_> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some(srv.clone()),
                _ => None,
            })
            .collect();
        records.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
        for srv in records {
            let target = srv.target.to_utf8();
            let target = target.trim_end_matches('.');
            if target.is_empty() {
                // "." : the domain says it offers no XMPP service.
                return Err(format!("{domain} offers no XMPP service (SRV target \".\")"));
            }
            for ip in ips(&resolver, target).await {
                out.push(SocketAddr::new(ip, srv.port));
            }
        }
    }
    if out.is_empty() {
        out = ips(&resolver, domain).await.into_iter().map(|ip| SocketAddr::new(ip, 5222)).collect();
    }
    if out.is_empty() {
        return Err(format!("cannot resolve {domain}"));
    }
    Ok(out)
}

async fn ips(resolver: &Resolver<TokioRuntimeProvider>, host: &str) -> Vec<IpAddr> {
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
