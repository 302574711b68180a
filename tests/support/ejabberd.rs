//! ejabberd from Debian as a second, independent XMPP server (tests/lab/ejabberd.sh),
//! alone or as a two-node cluster, and [`XmppServer`]: what a chat profile needs of any
//! lab server, so the same helpers log in to Prosody or ejabberd.

use crate::lab::{LabProcess, Prosody, free_port};
use std::path::PathBuf;

/// A lab XMPP server a client can log in to.
pub trait XmppServer {
    /// `127.0.0.1:port` of its c2s listener.
    fn server(&self) -> String;
    /// The CA its certificate is signed by.
    fn ca_file(&self) -> PathBuf;
}

impl XmppServer for Prosody {
    fn server(&self) -> String {
        Prosody::server(self)
    }
    fn ca_file(&self) -> PathBuf {
        Prosody::ca_file(self)
    }
}

/// One ejabberd node with users alice, bob, carol, dave (password `<user>pw`) on
/// `localhost` and `lab.test`.
pub struct Ejabberd {
    pub c2s: u16,
    pub http: u16,
    /// Its Erlang distribution port (what a joining node dials).
    pub dist: u16,
    pub node: String,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

impl Ejabberd {
    pub fn start() -> Ejabberd {
        Self::start_node(None)
    }

    /// A second node joined to `first`'s cluster (one Mnesia: accounts, rosters,
    /// archives and rooms on both).
    pub fn join(first: &Ejabberd) -> Ejabberd {
        Self::start_node(Some(first))
    }

    fn start_node(join: Option<&Ejabberd>) -> Ejabberd {
        let (c2s, http, dist) = (free_port(), free_port(), free_port());
        let node = format!("ucdesk-{c2s}@localhost");
        let mut envs = vec![
            ("XMPP_C2S_PORT", c2s.to_string()),
            ("XMPP_HTTP_PORT", http.to_string()),
            ("EJABBERD_DIST_PORT", dist.to_string()),
            ("EJABBERD_NODE", node.clone()),
        ];
        if let Some(first) = join {
            envs.push(("EJABBERD_JOIN", first.node.clone()));
            envs.push(("EJABBERD_JOIN_PORT", first.dist.to_string()));
            envs.push(("EJABBERD_CERT_FROM", first.process.dir.path().display().to_string()));
        }
        let process = LabProcess::start("ejabberd.sh", &envs);
        Ejabberd { c2s, http, dist, node, process, envs }
    }

    /// Stops the node cleanly (SIGTERM).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Kills the node where it stands (SIGKILL to the whole VM): a crashed server.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts it again on the same ports and data.
    pub fn start_again(&mut self) {
        self.process.restart("ejabberd.sh", &self.envs);
    }
}

impl XmppServer for Ejabberd {
    fn server(&self) -> String {
        format!("127.0.0.1:{}", self.c2s)
    }
    fn ca_file(&self) -> PathBuf {
        self.process.dir.path().join("ca.pem")
    }
}

/// Two joined nodes behind `_xmpp-client._tcp.lab.test` SRV records (the first node
/// preferred), with the lab DNS server that answers for them.
pub struct Cluster {
    pub first: Ejabberd,
    pub second: Ejabberd,
    pub dns: crate::lab::Dns,
}

impl Cluster {
    pub fn start() -> Cluster {
        let first = Ejabberd::start();
        let second = Ejabberd::join(&first);
        let dns = crate::lab::Dns::start(
            &[
                ("_xmpp-client._tcp.lab.test", "xmpp1.lab.test", first.c2s, 5, 10),
                ("_xmpp-client._tcp.lab.test", "xmpp2.lab.test", second.c2s, 10, 10),
            ],
            &[("xmpp1.lab.test", "127.0.0.1"), ("xmpp2.lab.test", "127.0.0.1")],
        );
        Cluster { first, second, dns }
    }

    /// `user@lab.test`'s chat profile finding the cluster by its SRV records.
    pub fn srv_profile(&self, user: &str) -> crate::Profile {
        let p = crate::lab::chat_profile(&self.first, user);
        crate::lab::set(&p, "chat.jid", &format!("{user}@lab.test"));
        crate::lab::set(&p, "chat.server", "");
        crate::lab::set(&p, "chat.dns_server", &self.dns.addr());
        p
    }
}
