//! The account: its endpoint and dialog layer, and the registration that keeps it
//! reachable (SRV targets with failover, keep-alive OPTIONS, unregister on the way out).
//! A new account is a new generation, so late answers from the one it replaced are
//! ignored instead of undoing the current state.

use super::error::PhoneError;
use super::incoming::serve_incoming;
use super::publish::later;
use super::{Core, Msg};
use crate::config::Config;
use crate::emergency;
use crate::media::rtp::RtpCmd;
use crate::srv::{self, Target, Transport};
use crate::util;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip as rsip;
use rsipstack::transport::{SipAddr, TransportLayer, udp::UdpConnection};
use rsipstack::{EndpointBuilder, transaction::endpoint::EndpointInnerRef};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ucdesk_sdk::contract::phone::{self as contract, Registration as RegEvent, RegistrationState};

/// Longest wait between registration attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A live account: its endpoint and dialog layer, valid until the token is cancelled.
pub(super) struct Account {
    pub(super) token: CancellationToken,
    pub(super) endpoint: EndpointInnerRef,
    pub(super) dialogs: Arc<DialogLayer>,
    pub(super) state_tx: DialogStateSender,
    pub(super) local_ip: IpAddr,
    pub(super) contact: rsip::Uri,
    pub(super) domain: String,
    pub(super) credential: Credential,
    /// Where requests go (the target we are registered with).
    pub(super) target: Option<Target>,
    /// The registration as the registrar last accepted it, to end it in the same dialog.
    pub(super) binding: Option<Binding>,
}

/// What identifies our registration to the registrar: RFC 3261 §10.2 wants every
/// REGISTER of one binding, the unregister too, under one Call-ID with rising CSeq.
#[derive(Debug, Clone)]
pub struct Binding {
    call_id: rsip::headers::CallId,
    seq: u32,
    contact: Option<rsip::typed::Contact>,
    public_address: Option<rsip::HostWithPort>,
}

impl Binding {
    fn of(reg: &Registration) -> Binding {
        Binding {
            call_id: reg.call_id.clone(),
            seq: reg.last_seq,
            contact: reg.contact.clone(),
            public_address: reg.public_address.clone(),
        }
    }

    fn restore(self, reg: &mut Registration) {
        reg.call_id = self.call_id;
        reg.last_seq = self.seq;
        reg.contact = self.contact;
        reg.public_address = self.public_address;
    }
}

impl Core {
    /// Records a registration change and publishes it (once per change).
    pub(super) fn set_registration(
        &mut self,
        state: RegistrationState,
        server: Option<String>,
        reason: Option<String>,
    ) {
        let next = RegEvent { state, server, reason };
        if next != self.registration {
            match &next.reason {
                Some(r) => self.ctx.info(format!("registration {:?}: {r}", next.state)),
                None => self.ctx.info(format!(
                    "registration {:?} {}",
                    next.state,
                    next.server.as_deref().unwrap_or("")
                )),
            }
            self.registration = next.clone();
            self.pending.push(later(contract::TOPIC_REGISTRATION, &next));
        }
    }

    /// New settings: devices switch in live calls; an account change re-registers.
    pub(super) async fn reconfigure(&mut self, cfg: Config) {
        let same_account = self.config.as_ref().is_some_and(|old| old.account_key() == cfg.account_key());
        self.notice = cfg
            .dial_plan_error
            .clone()
            .or(cfg.emergency_location_error.clone())
            .or(cfg.media_error.clone())
            .or_else(|| {
                (emergency::needs_location("911", &cfg.server_locality) && cfg.emergency_location.is_none())
                    .then(|| "Set your emergency location: calls to 911 need it.".to_string())
            });
        let devices_changed = self.config.as_ref().is_some_and(|old| {
            (&old.audio_input, &old.audio_output, old.echo_cancellation, old.noise_suppression)
                != (&cfg.audio_input, &cfg.audio_output, cfg.echo_cancellation, cfg.noise_suppression)
        });
        self.config = Some(cfg.clone());
        if devices_changed {
            // The manual: devices switch during a live call without dropping it.
            for call in self.calls.values() {
                call.rtp.send(RtpCmd::Devices(cfg.media_setup()));
            }
        }
        if same_account && self.account.is_some() {
            return;
        }
        self.stop_account(false).await;
        if !cfg.has_account() {
            self.set_registration(
                RegistrationState::Unregistered,
                None,
                Some("no account configured".into()),
            );
            return;
        }
        match self.start_account(&cfg).await {
            Ok(()) => {}
            Err(reason) => {
                self.set_registration(RegistrationState::Failed, Some(cfg.server.clone()), Some(reason))
            }
        }
    }

    /// Opens the account's endpoint on a fresh generation and starts registering.
    async fn start_account(&mut self, cfg: &Config) -> Result<(), String> {
        self.generation += 1;
        let generation = self.generation;
        self.set_registration(RegistrationState::Registering, Some(cfg.server.clone()), None);
        let server = if cfg.proxy.is_empty() { &cfg.server } else { &cfg.proxy };
        let targets = srv::targets(server, &cfg.srv_domain, cfg.transport, &cfg.dns_server)
            .await
            .map_err(|e| e.to_string())?;
        let first = targets.first().ok_or("the server resolves to nothing")?.clone();
        // The account's domain names us in From, To and the addresses we hand to others
        // (a transfer target): with an explicit port it keeps the port, or a peer that
        // resolves it on its own (RFC 3263) would knock on 5060.
        let domain = match srv::split_host_port(&cfg.server).map_err(|e| e.to_string())? {
            _ if !cfg.srv_domain.is_empty() => cfg.srv_domain.clone(),
            (host, Some(port)) if host.contains(':') => format!("[{host}]:{port}"),
            (host, Some(port)) => format!("{host}:{port}"),
            (host, None) => host,
        };
        let local_ip = route_to(first.addr).map_err(|e| format!("no route to {}: {e}", first.addr))?;

        let token = CancellationToken::new();
        let transport = TransportLayer::new(token.clone());
        let udp = UdpConnection::create_connection(
            SocketAddr::new(local_ip, cfg.local_port),
            None,
            Some(token.child_token()),
        )
        .await
        .map_err(|e| format!("cannot open SIP port {}:{}: {e}", local_ip, cfg.local_port))?;
        let local_addr = udp.get_addr().clone();
        transport.add_transport(udp.into());
        if targets.iter().any(|t| t.transport == Transport::Tls) {
            transport.set_tls_config(tls_config(cfg, &first)?);
        }
        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("ucdesk/", env!("CARGO_PKG_VERSION")))
            .with_transport_layer(transport)
            .with_cancel_token(token.clone())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| e.to_string())?;
        let inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let (state_tx, mut state_rx) = dialogs.new_dialog_state_channel();
        let credential = Credential {
            username: if cfg.auth_username.is_empty() {
                cfg.username.clone()
            } else {
                cfg.auth_username.clone()
            },
            password: cfg.password.clone().unwrap_or_default(),
            realm: None,
            auth_username: None,
        };
        let contact = rsip::Uri {
            scheme: Some(rsip::Scheme::Sip),
            auth: Some(rsip::Auth { user: cfg.username.clone(), password: None }),
            host_with_port: local_addr.addr.clone(),
            params: vec![],
            headers: vec![],
        };

        let serve_token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = serve_token.cancelled() => {}
            }
        });
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(state) = state_rx.recv().await {
                if tx.send(Msg::Dialog(state)).is_err() {
                    return;
                }
            }
        });
        tokio::spawn(serve_incoming(
            incoming,
            dialogs.clone(),
            state_tx.clone(),
            contact.clone(),
            self.tx.clone(),
        ));
        tokio::spawn(register_loop(RegisterJob {
            endpoint: inner.clone(),
            credential: credential.clone(),
            domain: domain.clone(),
            targets: targets.clone(),
            interval: cfg.register_interval,
            keep_alive: cfg.keep_alives.then(|| Duration::from_secs(cfg.keep_alive_interval.into())),
            token: token.clone(),
            tx: self.tx.clone(),
            generation,
        }));
        self.account = Some(Account {
            token,
            endpoint: inner,
            dialogs,
            state_tx,
            local_ip,
            contact,
            domain,
            credential,
            target: None,
            binding: None,
        });
        Ok(())
    }

    /// Ends every call and the account. `unregister`: also tell the registrar.
    pub(super) async fn stop_account(&mut self, unregister: bool) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.hangup(&id).await.ok();
            self.finish(&id, None);
        }
        let Some(account) = self.account.take() else { return };
        self.generation += 1;
        if unregister
            && self.registration.state == RegistrationState::Registered
            && let Some(target) = account.target.clone()
        {
            let mut reg = Registration::new(account.endpoint.clone(), Some(account.credential.clone()));
            if let Some(binding) = account.binding.clone() {
                binding.restore(&mut reg);
            }
            reg.outbound_proxy = Some(target.addr);
            let uri = registrar_uri(&account.domain, &target);
            let _ = tokio::time::timeout(Duration::from_secs(2), reg.register(uri, Some(0))).await;
        }
        account.token.cancel();
        self.set_registration(RegistrationState::Unregistered, None, None);
    }

    /// The account, when it is registered; why not otherwise.
    pub(super) fn ready(&self) -> Result<&Account, PhoneError> {
        let account = self
            .account
            .as_ref()
            .ok_or_else(|| PhoneError::NotReady("the phone has no account configured".into()))?;
        if self.registration.state != RegistrationState::Registered {
            return Err(PhoneError::NotReady(format!(
                "the phone is not registered ({})",
                self.registration.reason.as_deref().unwrap_or("registering")
            )));
        }
        Ok(account)
    }
}

struct RegisterJob {
    endpoint: EndpointInnerRef,
    credential: Credential,
    domain: String,
    targets: Vec<Target>,
    interval: u32,
    /// An OPTIONS to the registrar this often; no answer → re-register or fail over.
    keep_alive: Option<Duration>,
    token: CancellationToken,
    tx: mpsc::UnboundedSender<Msg>,
    generation: u64,
}

/// Registers to the first target that accepts, keeps the registration fresh, and fails
/// over down the list when the current one stops answering. Wrong credentials stop the
/// loop (no retry storm) until the account changes.
async fn register_loop(job: RegisterJob) {
    let mut failures: u32 = 0;
    let mut index = 0usize;
    let send = |m: Msg| {
        let _ = job.tx.send(m);
    };
    'outer: loop {
        let target = job.targets[index % job.targets.len()].clone();
        let mut reg = Registration::new(job.endpoint.clone(), Some(job.credential.clone()));
        reg.outbound_proxy = Some(target.addr);
        let uri = registrar_uri(&job.domain, &target);
        loop {
            let attempt = tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(8), reg.register(uri.clone(), Some(job.interval))) => r,
                _ = job.token.cancelled() => return,
            };
            let outcome = match attempt {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer from {}", target.addr)),
            };
            match outcome {
                Ok(resp) if u16::from(resp.status_code.clone()) / 100 == 2 => {
                    failures = 0;
                    send(Msg::Registered {
                        target: target.clone(),
                        binding: Binding::of(&reg),
                        generation: job.generation,
                    });
                    let refresh = rsipstack::dialog::registration::refresh_interval(reg.expires().max(30));
                    let deadline = tokio::time::Instant::now() + refresh;
                    // Between refreshes, check the registrar is alive so a restart or
                    // an outage is noticed in seconds, not at the next refresh.
                    loop {
                        let wake = match job.keep_alive {
                            Some(every) => (tokio::time::Instant::now() + every).min(deadline),
                            None => deadline,
                        };
                        tokio::select! {
                            _ = tokio::time::sleep_until(wake) => {}
                            _ = job.token.cancelled() => return,
                        }
                        if tokio::time::Instant::now() >= deadline {
                            break;
                        }
                        if !options_ping(&job.endpoint, &uri, &target).await {
                            send(Msg::RegFailed {
                                state: RegistrationState::Registering,
                                reason: format!("{} stopped answering", target.addr),
                                target: Some(target.clone()),
                                generation: job.generation,
                            });
                            // Fail over at once: the next target (the same one when
                            // there is only one, e.g. a restarted registrar).
                            index += 1;
                            continue 'outer;
                        }
                    }
                    continue;
                }
                Ok(resp) => {
                    let code = u16::from(resp.status_code.clone());
                    if matches!(code, 401 | 403 | 407) {
                        send(Msg::RegFailed {
                            state: RegistrationState::AuthFailed,
                            reason: format!("wrong user or password ({code} {})", resp.status_code),
                            target: Some(target.clone()),
                            generation: job.generation,
                        });
                        return;
                    }
                    failures += 1;
                    send(Msg::RegFailed {
                        state: RegistrationState::Failed,
                        reason: format!("{} answered {code} {}", target.addr, resp.status_code),
                        target: Some(target.clone()),
                        generation: job.generation,
                    });
                }
                Err(why) => {
                    failures += 1;
                    send(Msg::RegFailed {
                        state: RegistrationState::Failed,
                        reason: why,
                        target: Some(target.clone()),
                        generation: job.generation,
                    });
                }
            }
            // Fail over to the next target at once; after a full round, back off.
            index += 1;
            if index.is_multiple_of(job.targets.len()) {
                let backoff = Duration::from_secs(2u64.saturating_pow(failures.min(8))).min(MAX_BACKOFF);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = job.token.cancelled() => return,
                }
            }
            continue 'outer;
        }
    }
}

/// An OPTIONS to the registrar; true when anything answers.
async fn options_ping(endpoint: &EndpointInnerRef, uri: &rsip::Uri, target: &Target) -> bool {
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    use rsipstack::transaction::transaction::Transaction;
    let Ok(via) = endpoint.get_via(None, None) else { return false };
    let from = rsip::typed::From { display_name: None, uri: uri.clone(), params: vec![] }
        .with_tag(util::random_token(10).into());
    let to = rsip::typed::To { display_name: None, uri: uri.clone(), params: vec![] };
    // make_request gives it a Call-ID already: a second one makes the request malformed,
    // and Kamailio drops it unanswered (every ping then looked like an outage).
    let req = endpoint.make_request(rsip::Method::Options, uri.clone(), via, from, to, 1, None);
    let Ok(key) = TransactionKey::from_request(&req, TransactionRole::Client) else { return false };
    let mut tx = Transaction::new_client(key, req, endpoint.clone(), None);
    tx.destination = Some(sip_addr(target));
    if tx.send().await.is_err() {
        return false;
    }
    matches!(
        tokio::time::timeout(Duration::from_secs(4), tx.receive()).await,
        Ok(Some(rsipstack::sip::SipMessage::Response(_)))
    )
}

/// The local address the OS would use to reach `to` (no packet is sent).
fn route_to(to: SocketAddr) -> std::io::Result<IpAddr> {
    let any = if to.is_ipv4() {
        SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let s = std::net::UdpSocket::bind(any)?;
    s.connect(to)?;
    Ok(s.local_addr()?.ip())
}

pub(super) fn sip_addr(t: &Target) -> SipAddr {
    let transport = match t.transport {
        Transport::Udp => rsip::Transport::Udp,
        Transport::Tcp => rsip::Transport::Tcp,
        Transport::Tls => rsip::Transport::Tls,
    };
    let mut a = SipAddr::from(t.addr);
    a.r#type = Some(transport);
    a
}

fn registrar_uri(domain: &str, t: &Target) -> rsip::Uri {
    let text = match t.transport {
        Transport::Udp => format!("sip:{domain}"),
        other => format!("sip:{domain};transport={}", other.as_str()),
    };
    rsip::Uri::try_from(text.as_str())
        .unwrap_or_else(|_| rsip::Uri::try_from("sip:invalid").expect("static URI"))
}

/// The system's trust anchors plus the account's extra CA: verification is always on.
fn tls_config(cfg: &Config, first: &Target) -> Result<rsipstack::transport::tls::TlsConfig, String> {
    let mut pem = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    if !cfg.tls_ca_file.is_empty() {
        let extra = std::fs::read(&cfg.tls_ca_file)
            .map_err(|e| format!("cannot read the CA file {}: {e}", cfg.tls_ca_file))?;
        pem.push(b'\n');
        pem.extend(extra);
    }
    Ok(rsipstack::transport::tls::TlsConfig {
        ca_certs: Some(pem),
        sni_hostname: first.host.parse::<IpAddr>().is_err().then(|| first.host.clone()),
        ..Default::default()
    })
}
