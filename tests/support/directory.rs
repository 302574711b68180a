//! The phone book servers of the lab: OpenLDAP's slapd (tests/lab/slapd.sh) and
//! Radicale (tests/lab/radicale.sh), with the directory manager's tools the tests use
//! to change what the client syncs (ldapmodify as the manager, CardDAV PUT/DELETE as
//! the book's admin).

use crate::lab::{LabProcess, free_port};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const LDAP_BASE: &str = "ou=people,dc=lab,dc=test";
/// The read-only account clients use.
pub const LDAP_READER: &str = "cn=phonebook,ou=system,dc=lab,dc=test";
pub const LDAP_READER_PW: &str = "phonebookpw";
const LDAP_ADMIN: &str = "cn=admin,dc=lab,dc=test";

/// slapd with `people` generated entries (uid=pNNNNN, "Person NNNNN", +1 555 01NNNNN).
pub struct Slapd {
    pub port: u16,
    pub tls_port: u16,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

impl Slapd {
    pub fn start(people: usize) -> Slapd {
        let (port, tls_port) = (free_port(), free_port());
        let envs = vec![
            ("LDAP_PORT", port.to_string()),
            ("LDAPS_PORT", tls_port.to_string()),
            ("LDAP_PEOPLE", people.to_string()),
        ];
        let process = LabProcess::start("slapd.sh", &envs);
        Slapd { port, tls_port, process, envs }
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.process.dir.path().join("ca.pem")
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    pub fn start_again(&mut self) {
        self.process.restart("slapd.sh", &self.envs);
    }

    /// Applies `ldif` (changetype records) as the directory's manager.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", LDAP_ADMIN, "-w", "adminpw"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify runs (ldap-utils)");
        child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "ldapmodify: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Adds a person under ou=people.
    pub fn add_person(&self, uid: &str, name: &str, attrs: &[(&str, &str)]) {
        let mut ldif = format!(
            "dn: uid={uid},{LDAP_BASE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {name}\n"
        );
        for (k, v) in attrs {
            ldif.push_str(&format!("{k}: {v}\n"));
        }
        self.modify(&ldif);
    }
}

/// Radicale with users admin, alice, bob (`<user>pw`), the shared phone book
/// `/shared/phonebook/` and each user's `/<user>/contacts/`.
pub struct Radicale {
    pub port: u16,
    pub process: LabProcess,
    envs: Vec<(&'static str, String)>,
}

impl Radicale {
    pub fn start() -> Radicale {
        let port = free_port();
        let envs = vec![("DAV_PORT", port.to_string())];
        let process = LabProcess::start("radicale.sh", &envs);
        Radicale { port, process, envs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    pub fn start_again(&mut self) {
        self.process.restart("radicale.sh", &self.envs);
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into()
    }

    fn auth(user: &str) -> String {
        use base64::Engine as _;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{user}pw")))
    }

    /// Writes a card as `user`; returns the HTTP status.
    pub fn put(&self, user: &str, path: &str, vcard: &str) -> u16 {
        let resp = Self::agent()
            .put(self.url(path))
            .header("Authorization", Self::auth(user))
            .header("Content-Type", "text/vcard")
            .send(vcard)
            .expect("Radicale answers");
        resp.status().as_u16()
    }

    pub fn delete(&self, user: &str, path: &str) -> u16 {
        let resp = Self::agent()
            .delete(self.url(path))
            .header("Authorization", Self::auth(user))
            .call()
            .expect("Radicale answers");
        resp.status().as_u16()
    }

    /// The cards of a collection as `user` reads them (the raw vCards, concatenated).
    pub fn cards(&self, user: &str, collection: &str) -> String {
        let query = r#"<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop></C:addressbook-query>"#;
        let agent = Self::agent();
        let req = ureq::http::Request::builder()
            .method("REPORT")
            .uri(self.url(collection))
            .header("Authorization", Self::auth(user))
            .header("Depth", "1")
            .header("Content-Type", "application/xml")
            .body(query.to_string())
            .unwrap();
        let mut resp = agent.run(req).expect("Radicale answers");
        assert_eq!(resp.status().as_u16(), 207, "REPORT {collection}");
        resp.body_mut().read_to_string().unwrap()
    }
}

/// A vCard 3.0 for the lab's books.
pub fn vcard(uid: &str, name: &str, tel: &str, email: &str) -> String {
    let mut card = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\n");
    if !tel.is_empty() {
        card.push_str(&format!("TEL;TYPE=WORK:{tel}\r\n"));
    }
    if !email.is_empty() {
        card.push_str(&format!("EMAIL:{email}\r\n"));
    }
    card.push_str("END:VCARD\r\n");
    card
}
