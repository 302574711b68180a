//! Signing in through the browser: OAuth 2.0's authorization code grant (RFC 6749 §4.1)
//! with PKCE (RFC 7636) the way RFC 8252 has native apps do it: the page opens in the
//! system browser (never an embedded view, where the app could read the password), the
//! CRM redirects to a one-time listener on 127.0.0.1, and `state` tells our redirect
//! from a forged one. This file owns the vendor-independent flow; where each vendor's
//! page is and how its code is redeemed are the providers' (`authorize_url`, `redeem`).
//!
//! Written here rather than with the `oauth2` crate: the token requests are already the
//! providers' own (Zoho and Bullhorn take the grant in the query, Zendesk as JSON, each
//! answer carries vendor fields such as Salesforce's `instance_url`) and go through
//! `Http`'s retries and error bodies; what is left is PKCE (a hash and base64) and one
//! HTTP request read from a loopback socket, which needs no server crate.

use super::http::{Http, Request};
use super::{CrmError, text};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Longest request head the listener reads (a redirect's URL with its code and state).
const MAX_HEAD: usize = 16 * 1024;
/// Connections read at once.
const MAX_READING: usize = 16;
/// A browser sends its request head at once; a connection that has not within this is
/// answered 400 and closed (a preconnect it never used, or something that is not one).
const READ_WITHIN: Duration = Duration::from_secs(5);
/// How often the wait looks at its deadline and whether it was cancelled: a newer
/// sign-in on the same fixed port waits for this one to let the port go.
const POLL: Duration = Duration::from_millis(50);
/// The callback's path on the loopback listener (what a CRM app registers).
pub const CALLBACK: &str = "/callback";

/// What the provider puts in its authorize page's URL.
#[derive(Debug, Clone)]
pub struct Authorize {
    /// Where the CRM sends the browser back: `http://127.0.0.1:PORT/callback`.
    pub redirect: String,
    pub state: String,
    /// `BASE64URL(SHA256(verifier))`, sent with `code_challenge_method=S256`.
    pub challenge: String,
}

/// What the browser came back with, for the provider to redeem. Its `Debug` leaves the
/// code and the verifier out: together they sign the user in.
#[derive(Clone)]
pub struct Code {
    pub code: String,
    /// The same `redirect_uri` as in the authorize request (the vendors check it).
    pub redirect: String,
    /// The PKCE secret the challenge was made from.
    pub verifier: String,
    /// Every pair of the redirect's query (Zoho's `accounts-server`, for one).
    pub params: Vec<(String, String)>,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Code").field("redirect", &self.redirect).finish_non_exhaustive()
    }
}

impl Code {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A sign-in under way: the listener waiting for the redirect and the page to open.
pub struct SignIn {
    socket: TcpListener,
    authorize: Authorize,
    verifier: String,
    /// The CRM's sign-in page, for the browser.
    pub url: String,
}

/// 32 random bytes as base64url: a PKCE verifier (43 characters, RFC 7636 §4.1) or a
/// `state`.
fn random() -> Result<String, CrmError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| CrmError::SignIn(format!("no random numbers for the sign-in: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The listener on 127.0.0.1:`port`. A fixed port may still be the last sign-in's for a
/// moment after it was cancelled (it lets go within [`POLL`]): tried again for a second.
fn bind(port: u16) -> Result<TcpListener, CrmError> {
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 && Instant::now() < until => {
                std::thread::sleep(POLL)
            }
            Err(e) => {
                return Err(CrmError::SignIn(format!(
                    "cannot listen on 127.0.0.1:{port} for the browser's redirect: {e}"
                )));
            }
        }
    }
}

impl SignIn {
    /// Listens on 127.0.0.1:`port` (0: any free port) and asks `page` for the URL of
    /// the CRM's sign-in page with this redirect, state and challenge.
    pub fn start(
        port: u16,
        page: impl FnOnce(&Authorize) -> Result<String, CrmError>,
    ) -> Result<SignIn, CrmError> {
        let socket = bind(port)?;
        let bound = socket.local_addr().map_err(|e| CrmError::SignIn(e.to_string()))?.port();
        socket.set_nonblocking(true).map_err(|e| CrmError::SignIn(e.to_string()))?;
        let verifier = random()?;
        let authorize = Authorize {
            redirect: format!("http://127.0.0.1:{bound}{CALLBACK}"),
            state: random()?,
            challenge: challenge(&verifier),
        };
        let url = page(&authorize)?;
        Ok(SignIn { socket, authorize, verifier, url })
    }

    pub fn redirect(&self) -> &str {
        &self.authorize.redirect
    }

    /// Waits until `deadline` for the redirect that carries our state, answering every
    /// request the browser makes on the way (a favicon, a forged or stale redirect get
    /// an error page and the wait goes on). The CRM's refusal (`error=access_denied`)
    /// ends it. `cancelled` is asked every [`POLL`]: a newer sign-in or new settings.
    /// Each connection is read on a thread of its own: browsers open connections they
    /// may never send on (preconnects), which must not hold up the one that does.
    pub fn wait(&self, deadline: Instant, cancelled: &dyn Fn() -> bool) -> Result<Code, CrmError> {
        let (tx, rx) = mpsc::channel();
        let reading = Arc::new(AtomicUsize::new(0));
        loop {
            if let Ok(done) = rx.try_recv() {
                return done;
            }
            if cancelled() {
                return Err(CrmError::SignIn("another sign-in took its place".into()));
            }
            if Instant::now() >= deadline {
                return Err(CrmError::SignIn(
                    "nobody finished signing in in the browser in time; start again".into(),
                ));
            }
            match self.socket.accept() {
                // More than a browser opens at once is not a browser: let them wait.
                Ok((stream, _)) if reading.load(Ordering::SeqCst) < MAX_READING => {
                    let (tx, reading) = (tx.clone(), reading.clone());
                    let (authorize, verifier) = (self.authorize.clone(), self.verifier.clone());
                    reading.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        if let Some(done) = answer(stream, &authorize, &verifier) {
                            let _ = tx.send(done);
                        }
                        reading.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Ok((mut stream, _)) => respond(&mut stream, 503, "Busy: try again."),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Ok(done) = rx.recv_timeout(POLL) {
                        return done;
                    }
                }
                Err(e) => return Err(CrmError::SignIn(format!("the redirect listener failed: {e}"))),
            }
        }
    }
}

/// One request to the listener: `None` to keep waiting.
fn answer(mut stream: TcpStream, authorize: &Authorize, verifier: &str) -> Option<Result<Code, CrmError>> {
    let Some(target) = read_target(&mut stream) else {
        respond(&mut stream, 400, "This is not a request ucdesk understands.");
        return None;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != CALLBACK {
        respond(&mut stream, 404, "Nothing here: ucdesk waits for the CRM's redirect.");
        return None;
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if !same(get("state").unwrap_or_default().as_bytes(), authorize.state.as_bytes()) {
        respond(
            &mut stream,
            400,
            "This redirect is not from the sign-in ucdesk started. Start the sign-in again from ucdesk.",
        );
        return None;
    }
    if let Some(error) = get("error") {
        let why = get("error_description").map(|d| format!("{error}: {d}")).unwrap_or(error);
        respond(&mut stream, 200, &format!("The sign-in was refused ({why}). You can close this tab."));
        return Some(Err(CrmError::Unauthorized(why)));
    }
    let Some(code) = get("code").filter(|c| !c.is_empty()) else {
        respond(&mut stream, 400, "The CRM sent no authorization code. Start the sign-in again.");
        return None;
    };
    respond(&mut stream, 200, "Signed in. You can close this tab and go back to ucdesk.");
    Some(Ok(Code { code, redirect: authorize.redirect.clone(), verifier: verifier.to_string(), params }))
}

/// Sends a token request: a refusal (400 `invalid_grant` and kin) is the CRM refusing the
/// sign-in, and the answer must carry an access token. Answers the JSON and the token.
pub fn token_request(http: &Http, req: &Request) -> Result<(Value, String), CrmError> {
    let answer: Value = http
        .send(req)
        .map_err(|e| match e {
            CrmError::Refused { message, .. } => CrmError::Unauthorized(message),
            e => e,
        })?
        .json()?;
    // Zoho answers a refused grant with 200 and an `error` field.
    if let (Some(error), None) = (text(&answer, "error"), text(&answer, "access_token")) {
        return Err(CrmError::Unauthorized(error));
    }
    let token = text(&answer, "access_token").ok_or_else(|| CrmError::Malformed {
        what: req.what.to_string(),
        detail: "no access_token".into(),
    })?;
    Ok((answer, token))
}

/// `(name, value)` pairs as owned strings, for a form body.
pub fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Equal without leaving the position of the first difference in the time taken.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request target of a `GET`, from the request head: all of it within
/// [`READ_WITHIN`], however slowly it trickles in.
fn read_target(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    let deadline = Instant::now() + READ_WITHIN;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
        stream.set_read_timeout(Some(left)).ok()?;
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("GET"), Some(target), Some(v)) if v.starts_with("HTTP/1.") => Some(target.to_string()),
        _ => None,
    }
}

/// A small page for the browser tab; `text` is escaped.
fn respond(stream: &mut TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let escaped: String = text
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ucdesk</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h2>ucdesk</h2><p>{escaped}</p></body></html>"
    );
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random().unwrap().len(), 43);
    }

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn only_the_redirect_with_our_state_ends_the_wait() {
        let s = SignIn::start(0, |a| Ok(format!("https://crm.example/authorize?state={}", a.state))).unwrap();
        let port: u16 = s.redirect().rsplit(':').next().unwrap().trim_end_matches(CALLBACK).parse().unwrap();
        let state = s.authorize.state.clone();
        // A preconnect that never sends must not hold the redirect up for its read timeout.
        let idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let began = Instant::now();
        let browser = std::thread::spawn(move || {
            let favicon = get(port, "/favicon.ico");
            let forged = get(port, "/callback?code=evil&state=guess");
            let real = get(port, &format!("/callback?code=c-1&state={state}&accounts-server=x"));
            (favicon, forged, real)
        });
        let code = s.wait(Instant::now() + Duration::from_secs(10), &|| false).unwrap();
        assert!(began.elapsed() < Duration::from_secs(4), "the idle connection held it up");
        drop(idle);
        let (favicon, forged, real) = browser.join().unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
        assert!(real.starts_with("HTTP/1.1 200") && real.contains("Signed in"), "{real}");
        assert_eq!((code.code.as_str(), code.param("accounts-server")), ("c-1", Some("x")));
        assert_eq!(challenge(&code.verifier), s.authorize.challenge);
    }

    #[test]
    fn a_refusal_ends_the_wait_with_the_crms_reason_and_time_runs_out() {
        let s = SignIn::start(0, |_| Ok(String::new())).unwrap();
        let target = format!(
            "/callback?error=access_denied&error_description=end-user+denied+%3Cb%3E&state={}",
            s.authorize.state
        );
        let port: u16 = s.redirect().rsplit(':').next().unwrap().trim_end_matches(CALLBACK).parse().unwrap();
        let browser = std::thread::spawn(move || get(port, &target));
        let e = s.wait(Instant::now() + Duration::from_secs(10), &|| false).unwrap_err();
        assert!(matches!(&e, CrmError::Unauthorized(m) if m == "access_denied: end-user denied <b>"), "{e}");
        assert!(browser.join().unwrap().contains("end-user denied &lt;b&gt;"));
        let e = s.wait(Instant::now() + Duration::from_millis(100), &|| false).unwrap_err();
        assert!(e.to_string().contains("in time"), "{e}");
        let e = s.wait(Instant::now() + Duration::from_secs(10), &|| true).unwrap_err();
        assert!(e.to_string().contains("took its place"), "{e}");
    }

    #[test]
    fn a_new_sign_in_on_a_fixed_port_waits_for_the_last_to_let_it_go() {
        let first = SignIn::start(0, |_| Ok(String::new())).unwrap();
        let port = first.socket.local_addr().unwrap().port();
        let leaving = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let second = SignIn::start(port, |_| Ok(String::new())).unwrap();
        assert_eq!(second.redirect(), format!("http://127.0.0.1:{port}{CALLBACK}"));
        leaving.join().unwrap();
    }
}
