//! The connection to the XMPP server: TCP, STARTTLS with our own certificate check,
//! SASL, and a tokio-xmpp `StanzaStream` on top (stream management, resumption,
//! queueing while the link is down).
//!
//! We log in ourselves instead of using tokio-xmpp's `Client`: its reconnect loop
//! retries a wrong password forever without saying so, and its TLS setup knows only the
//! system roots. Here every attempt reports what happened ([`Status`]), a refused
//! login waits for new credentials, an untrusted certificate waits for the user's
//! decision, and a network failure retries with backoff (1 s doubling to 30 s).

use crate::tls::{self, TlsSettings};
use futures::{SinkExt, StreamExt};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio_rustls::client::TlsStream;
use tokio_xmpp::connect::ServerConnector;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::starttls;
use tokio_xmpp::stanzastream::{Connection, StanzaStream};
use tokio_xmpp::xmlstream::{
    FallibleStreamElement, PendingFeaturesRecv, ReadError, StreamHeader, Timeouts, XmppStreamElement,
    initiate_stream,
};
use tokio_xmpp::{Error as XmppError, error::ProtocolError};
use ucdesk_sdk::contract::chat::ConnectionState;

/// Where to connect and as whom.
#[derive(Clone)]
pub struct Account {
    pub jid: BareJid,
    pub password: String,
    /// An explicit server (`<plugin>.server`); None: the domain's SRV records.
    pub server: Option<(String, u16)>,
    /// The DNS server for SRV (`<plugin>.dns_server`; empty: the system's).
    pub dns_server: String,
    pub tls: TlsSettings,
}

impl Account {
    pub fn server(&self) -> String {
        match &self.server {
            Some((host, port)) => format!("{host}:{port}"),
            None => format!("{} (SRV)", self.jid.domain()),
        }
    }
}

/// What a connection attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: ConnectionState,
    pub reason: Option<String>,
    pub fingerprint: Option<String>,
    /// The login went through (TLS, SASL) and the connection was handed to the stream,
    /// which now resumes the old session or binds a new one: that takes a round trip,
    /// so a session not up soon after this will not come up (see the chat engine's
    /// watchdog).
    pub logged_in: bool,
}

/// Starts the stanza stream; `report` hears about every attempt (from the connector's
/// task: hand it to the core's mailbox). `retry` wakes a connector that waits on a
/// refused login or an untrusted certificate.
pub fn start(
    account: Account,
    report: impl Fn(Status) + Send + Sync + 'static,
    retry: Arc<Notify>,
) -> StanzaStream {
    let status: Arc<dyn Fn(Status) + Send + Sync> = Arc::new(report);
    let connector = Connector { account: Arc::new(account), tls: Arc::new(std::sync::Mutex::new(None)) };
    let reconnect = Box::new(move |_location: Option<String>, slot: oneshot::Sender<Connection>| {
        let connector = connector.clone();
        let status = status.clone();
        let retry = retry.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            loop {
                status(Status {
                    state: ConnectionState::Connecting,
                    reason: None,
                    fingerprint: None,
                    logged_in: false,
                });
                match connector.login().await {
                    Ok(connection) => {
                        // A closed slot means the stream was dropped: nothing to do.
                        if slot.send(connection).is_ok() {
                            status(Status {
                                state: ConnectionState::Connecting,
                                reason: None,
                                fingerprint: None,
                                logged_in: true,
                            });
                        }
                        return;
                    }
                    Err(Failure::Auth(reason)) => {
                        status(Status {
                            state: ConnectionState::AuthFailed,
                            reason: Some(reason),
                            fingerprint: None,
                            logged_in: false,
                        });
                        retry.notified().await;
                    }
                    Err(Failure::Certificate { fingerprint, reason }) => {
                        status(Status {
                            state: ConnectionState::UntrustedCertificate,
                            reason: Some(reason),
                            fingerprint: Some(fingerprint),
                            logged_in: false,
                        });
                        retry.notified().await;
                    }
                    Err(Failure::Network(reason)) => {
                        status(Status {
                            state: ConnectionState::Offline,
                            reason: Some(format!("{reason}; retrying in {} s", delay.as_secs())),
                            fingerprint: None,
                            logged_in: false,
                        });
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = retry.notified() => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
                if slot.is_closed() {
                    return;
                }
            }
        });
    });
    StanzaStream::new(reconnect, 64)
}

enum Failure {
    Auth(String),
    Certificate { fingerprint: String, reason: String },
    Network(String),
}

/// TCP + STARTTLS to the account's server. Cloned per attempt; the TLS config is built
/// once per attempt so a CA file that changed on disk is read again.
#[derive(Clone)]
struct Connector {
    account: Arc<Account>,
    /// The fingerprint the verifier refused in the last attempt.
    tls: Arc<std::sync::Mutex<Option<String>>>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Connector").field("server", &self.account.server()).finish()
    }
}

impl Connector {
    async fn login(&self) -> Result<Connection, Failure> {
        let jid: Jid = self.account.jid.clone().into();
        let timeouts =
            Timeouts { read_timeout: Duration::from_secs(60), response_timeout: Duration::from_secs(20) };
        let attempt = async {
            let (stream, binding) =
                self.connect(&jid, tokio_xmpp::parsers::ns::JABBER_CLIENT, timeouts).await?;
            let (features, stream) = stream.recv_features().await?;
            let username = self.account.jid.node().map(|n| n.as_str().to_string()).unwrap_or_default();
            let creds = sasl::common::Credentials::default()
                .with_username(username)
                .with_password(self.account.password.clone())
                .with_channel_binding(binding);
            let stream = tokio_xmpp::client_login(stream, features.sasl_mechanisms, creds).await?;
            let stream = stream.send_header(header(&self.account.jid)).await?;
            let (features, stream) = stream.recv_features().await?;
            Ok::<_, XmppError>(Connection { stream: stream.box_stream(), features, identity: jid.clone() })
        };
        match tokio::time::timeout(Duration::from_secs(30), attempt).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => {
                if let Some(fingerprint) = self.tls.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    return Err(Failure::Certificate {
                        fingerprint,
                        reason: format!("the server's certificate is not trusted ({e})"),
                    });
                }
                Err(match e {
                    XmppError::Auth(a) => Failure::Auth(format!("the server refused the login: {a}")),
                    XmppError::Protocol(ProtocolError::NoTls) => Failure::Network(
                        "the server does not offer TLS (STARTTLS); refusing to log in in clear".into(),
                    ),
                    other => {
                        Failure::Network(format!("cannot connect to {}: {other}", self.account.server()))
                    }
                })
            }
            Err(_) => Err(Failure::Network(format!("{} did not answer within 30 s", self.account.server()))),
        }
    }
}

fn header(jid: &BareJid) -> StreamHeader<'static> {
    StreamHeader { to: Some(Cow::Owned(jid.domain().as_str().to_string())), from: None, id: None }
}

impl ServerConnector for Connector {
    type Stream = BufStream<TlsStream<TcpStream>>;

    async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<(PendingFeaturesRecv<Self::Stream>, sasl::common::ChannelBinding), XmppError> {
        let a = &self.account;
        let tcp = match &a.server {
            Some((host, port)) => TcpStream::connect((host.as_str(), *port)).await?,
            None => {
                // Each SRV target in order: the first that takes the connection.
                let targets = crate::srv::targets(a.jid.domain().as_str(), &a.dns_server)
                    .await
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e))?;
                let mut last = None;
                let mut found = None;
                for t in targets {
                    match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(t)).await {
                        Ok(Ok(s)) => {
                            found = Some(s);
                            break;
                        }
                        Ok(Err(e)) => last = Some(e),
                        Err(_) => {
                            last = Some(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!("{t} timed out"),
                            ))
                        }
                    }
                }
                match found {
                    Some(s) => s,
                    None => {
                        return Err(last.unwrap_or_else(|| std::io::Error::other("no server to try")).into());
                    }
                }
            }
        };
        let plain = initiate_stream(BufStream::new(tcp), ns, header(&a.jid), timeouts).await?;
        let (features, mut plain) = plain.recv_features::<FallibleStreamElement>().await?;
        if !features.can_starttls() {
            return Err(XmppError::Protocol(ProtocolError::NoTls));
        }
        plain.send(&XmppStreamElement::Starttls(starttls::Nonza::Request(starttls::Request))).await?;
        loop {
            match plain.next().await.map(|v| v.and_then(|v| v.into_read_error())) {
                Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
                Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
                Some(Err(ReadError::HardError(e))) => return Err(e.into()),
                Some(Err(ReadError::ParseError(e))) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e).into());
                }
                None | Some(Err(ReadError::StreamFooterReceived)) => return Err(XmppError::Disconnected),
            }
        }
        let tcp = plain.into_inner().into_inner();
        let config = tls::client_config(&a.tls, self.tls.clone())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(jid.domain().as_str().to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
        Ok((
            initiate_stream(BufStream::new(tls), ns, header(&a.jid), timeouts).await?,
            sasl::common::ChannelBinding::None,
        ))
    }
}
