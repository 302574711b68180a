//! CardDAV address books (RFC 6352): the shared phone book a company publishes and the
//! user's personal address book. Reading is one `addressbook-query` REPORT that brings
//! every card with its ETag; the personal book is written card by card (PUT with
//! `If-Match`/`If-None-Match`, DELETE), so a card changed elsewhere is not overwritten.
//! Blocking (ureq); the engine runs it off its core.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;
use ucdesk_https::{Timeouts, Trust};
use ucdesk_sdk::contract::contacts::Contact;

const TIMEOUTS: Timeouts =
    Timeouts { connect: Duration::from_secs(10), total: Some(Duration::from_secs(60)) };
const QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
</C:addressbook-query>"#;

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    #[error("the address book {url}: {text}")]
    Http { url: String, text: String },
    #[error("the address book {url} answered {status}{hint}")]
    Status { url: String, status: u16, hint: &'static str },
    #[error("the address book {url} sent an answer that is not WebDAV XML: {text}")]
    Xml { url: String, text: String },
    #[error("the card {href} changed on the server since it was read; sync and try again")]
    Conflict { href: String },
    #[error("{0}")]
    Tls(String),
    #[error("the address book {url} is not on https: its password would travel in the clear")]
    Insecure { url: String },
}

/// An address book and the account that reads it. Not `Debug`: it holds the password.
#[derive(Clone, PartialEq)]
pub struct Book {
    /// The collection's URL, ending in `/`.
    pub url: String,
    pub user: String,
    pub password: Option<String>,
    pub ca_file: String,
}

/// One card as the server holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub href: String,
    pub etag: Option<String>,
    pub contact: Contact,
    /// The vCard as the server holds it (an edit keeps what ucdesk does not show).
    pub raw: String,
}

impl Book {
    fn agent(&self) -> Result<ureq::Agent, DavError> {
        ucdesk_https::agent(&Trust::with_ca(&self.ca_file), TIMEOUTS)
            .map_err(|e| DavError::Tls(e.to_string()))
    }

    fn url(&self) -> String {
        if self.url.ends_with('/') { self.url.clone() } else { format!("{}/", self.url) }
    }

    fn request(&self, method: &str, url: &str) -> ureq::http::request::Builder {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        // A password goes over TLS only (or to this machine): never in the clear.
        if !self.user.is_empty() && crate::ldap::may_send_password(url) {
            let pair = format!("{}:{}", self.user, self.password.as_deref().unwrap_or(""));
            b = b.header("Authorization", format!("Basic {}", BASE64.encode(pair)));
        }
        b
    }

    fn run(&self, req: ureq::http::Request<String>) -> Result<(u16, Option<String>, String), DavError> {
        let agent = self.agent()?;
        let url = req.uri().to_string();
        let req = agent.configure_request(req).allow_non_standard_methods(true).build();
        let mut resp =
            agent.run(req).map_err(|e| DavError::Http { url: url.clone(), text: e.to_string() })?;
        let status = resp.status().as_u16();
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, etag, body))
    }

    /// Every card of the book, as contacts of `source`; unreadable cards are counted.
    pub fn fetch(&self, source: &str) -> Result<(Vec<Card>, usize), DavError> {
        let url = self.url();
        if !self.user.is_empty() && !crate::ldap::may_send_password(&url) {
            return Err(DavError::Insecure { url });
        }
        let req = self
            .request("REPORT", &url)
            .header("Depth", "1")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(QUERY.to_string())
            .map_err(|e| DavError::Http { url: url.clone(), text: e.to_string() })?;
        let (status, _, body) = self.run(req)?;
        if status != 207 {
            return Err(DavError::Status { url, status, hint: hint(status) });
        }
        multistatus(&url, &body, source)
    }

    /// Writes `vcard` at `href`: a new card (refused if one is there already), or over
    /// the one with `etag` (refused if it changed since), or, for a card whose server
    /// gave no ETag, over whatever is there. Returns the new ETag.
    pub fn put(
        &self,
        href: &str,
        etag: Option<&str>,
        new: bool,
        vcard: String,
    ) -> Result<Option<String>, DavError> {
        let url = self.absolute(href);
        let mut b = self.request("PUT", &url).header("Content-Type", "text/vcard; charset=utf-8");
        b = match (etag, new) {
            (Some(tag), _) => b.header("If-Match", tag),
            (None, true) => b.header("If-None-Match", "*"),
            (None, false) => b,
        };
        let req = b.body(vcard).map_err(|e| DavError::Http { url: url.clone(), text: e.to_string() })?;
        match self.run(req)? {
            (200..=299, etag, _) => Ok(etag),
            (412, ..) => Err(DavError::Conflict { href: href.to_string() }),
            (status, ..) => Err(DavError::Status { url, status, hint: hint(status) }),
        }
    }

    /// Removes the card at `href` (already gone is fine).
    pub fn delete(&self, href: &str, etag: Option<&str>) -> Result<(), DavError> {
        let url = self.absolute(href);
        let mut b = self.request("DELETE", &url);
        if let Some(tag) = etag {
            b = b.header("If-Match", tag);
        }
        let req =
            b.body(String::new()).map_err(|e| DavError::Http { url: url.clone(), text: e.to_string() })?;
        match self.run(req)? {
            (200..=299 | 404, ..) => Ok(()),
            (412, ..) => Err(DavError::Conflict { href: href.to_string() }),
            (status, ..) => Err(DavError::Status { url, status, hint: hint(status) }),
        }
    }

    /// Where a new card with this UID goes.
    pub fn href_for(&self, uid: &str) -> String {
        let safe: String =
            uid.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        format!("{}{safe}.vcf", path_of(&self.url()))
    }

    /// `href` (a server path) as a URL on the book's server.
    fn absolute(&self, href: &str) -> String {
        if href.starts_with("http://") || href.starts_with("https://") {
            return href.to_string();
        }
        let base = self.url();
        let origin_end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|s| base[s..].find('/').map(|j| s + j))
            .unwrap_or(base.len());
        format!("{}{href}", &base[..origin_end])
    }
}

/// The path part of a URL (`/alice/contacts/`).
fn path_of(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    url[after..].find('/').map(|j| url[after + j..].to_string()).unwrap_or_else(|| "/".into())
}

fn hint(status: u16) -> &'static str {
    match status {
        401 => " (wrong user name or password)",
        403 => " (this account may not do that)",
        404 => " (no address book at that address)",
        _ => "",
    }
}

/// The cards of a 207 answer.
fn multistatus(url: &str, body: &str, source: &str) -> Result<(Vec<Card>, usize), DavError> {
    let doc = roxmltree::Document::parse(body)
        .map_err(|e| DavError::Xml { url: url.to_string(), text: e.to_string() })?;
    let dav = |n: &roxmltree::Node, name: &str| {
        n.tag_name().name() == name && n.tag_name().namespace() == Some("DAV:")
    };
    let mut cards = Vec::new();
    let mut bad = 0;
    for resp in doc.descendants().filter(|n| dav(n, "response")) {
        let Some(href) = resp.children().find(|n| dav(n, "href")).and_then(|n| n.text()) else { continue };
        let ok = resp.descendants().filter(|n| dav(n, "propstat")).find(|ps| {
            ps.children()
                .find(|n| dav(n, "status"))
                .and_then(|s| s.text())
                .is_some_and(|s| s.contains(" 200 "))
        });
        let Some(ps) = ok else { continue };
        let etag = ps.descendants().find(|n| dav(n, "getetag")).and_then(|n| n.text()).map(str::to_string);
        let data = ps.descendants().find(|n| n.tag_name().name() == "address-data").and_then(|n| n.text());
        let Some(data) = data else { continue };
        let (contacts, unreadable) = crate::vcard::parse(data, source);
        bad += unreadable;
        for contact in contacts {
            cards.push(Card { href: href.to_string(), etag: etag.clone(), contact, raw: data.to_string() });
        }
    }
    Ok((cards, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multistatus_and_places_hrefs_on_the_books_server() {
        let body = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><response><href>/shared/phonebook/c1.vcf</href>
<propstat><prop><getetag>"e1"</getetag><CR:address-data>BEGIN:VCARD
VERSION:3.0
UID:c1
FN:Carol Central
END:VCARD
</CR:address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/shared/phonebook/gone.vcf</href><propstat><prop/><status>HTTP/1.1 404 Not Found</status></propstat></response>
</multistatus>"#;
        let (cards, bad) = multistatus("http://x/", body, "carddav").unwrap();
        assert_eq!((cards.len(), bad), (1, 0));
        assert_eq!(
            (cards[0].href.as_str(), cards[0].etag.as_deref()),
            ("/shared/phonebook/c1.vcf", Some("\"e1\""))
        );
        assert_eq!(cards[0].contact.name, "Carol Central");
        let book = Book {
            url: "https://dav.example:8443/alice/contacts".into(),
            user: "a".into(),
            password: None,
            ca_file: String::new(),
        };
        assert_eq!(book.href_for("p/1"), "/alice/contacts/p_1.vcf");
        assert_eq!(
            book.absolute("/alice/contacts/p_1.vcf"),
            "https://dav.example:8443/alice/contacts/p_1.vcf"
        );
    }
}
