//! The one way CRM clients talk HTTP: a request as plain data, sent with the shared
//! HTTPS agent, retried where a second try may pass, and its answer turned into a
//! typed error the panel can word. Every vendor's errors end here, so a 429 is honoured,
//! a 5xx retried and an unreadable body reported the same way for all six.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Requests in all for one call of [`Http::send`].
pub const ATTEMPTS: u32 = 3;
/// The waits before the second and third attempts, when the server gives no Retry-After.
const BACKOFF: [Duration; 2] = [Duration::from_millis(300), Duration::from_secs(1)];
/// The longest Retry-After waited for; a CRM asking for longer gets a "try later".
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrmError {
    /// The CRM refused the credentials or the token (after one sign-in again).
    #[error("the CRM refused the sign-in: {0}")]
    Unauthorized(String),
    #[error("the CRM is limiting requests: {0}")]
    RateLimited(String),
    /// A 4xx other than 401/429: the request is wrong for this CRM (a field, a query).
    #[error("the CRM refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// 5xx after the retries.
    #[error("the CRM failed ({status}): {message}")]
    Server { status: u16, message: String },
    /// No answer: connection refused, timeout, TLS.
    #[error("cannot reach the CRM: {0}")]
    Unreachable(String),
    /// An answer that is not the JSON the vendor documents.
    #[error("the CRM's answer to {what} is unreadable: {detail}")]
    Malformed { what: String, detail: String },
    /// The settings cannot work (a missing URL or secret).
    #[error("{0}")]
    Config(String),
    /// The browser sign-in did not finish: timed out, replaced, no listener.
    #[error("the browser sign-in did not finish: {0}")]
    SignIn(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// One request, as plain data (the vendors build these; tests can read them).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// What it is for, in errors ("the lookup", "the sign-in").
    pub what: &'static str,
    /// Safe to send again after a 5xx or a lost connection: every GET, and a POST
    /// that only asks (Sugar's `filter`).
    pub read: bool,
}

impl Request {
    pub fn get(url: impl Into<String>, what: &'static str) -> Request {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Body::None,
            what,
            read: true,
        }
    }

    pub fn post(url: impl Into<String>, body: Body, what: &'static str) -> Request {
        Request { method: Method::Post, url: url.into(), headers: Vec::new(), body, what, read: false }
    }

    pub fn put(url: impl Into<String>, body: Body, what: &'static str) -> Request {
        Request { method: Method::Put, url: url.into(), headers: Vec::new(), body, what, read: false }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Marks a POST that only reads, so it is retried like a GET.
    pub fn reads(mut self) -> Request {
        self.read = true;
        self
    }

    /// Writes are not repeated after a 5xx or a timeout: the CRM may have made the
    /// record already, and a call logged twice is worse than one logged late by hand.
    fn idempotent(&self) -> bool {
        self.read
    }
}

/// A URL for errors and logs: its query may carry a client secret, a code or a token
/// (Zoho's and Bullhorn's grants go in the query).
pub fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// `base` and `query` pairs as one URL, the pairs percent-encoded.
pub fn url(base: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return base.to_string();
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        s.append_pair(k, v);
    }
    // form_urlencoded writes spaces as `+`, which every one of the six accepts in a query.
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", s.finish())
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub what: &'static str,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as `T`; an empty or unreadable body is [`CrmError::Malformed`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CrmError> {
        serde_json::from_slice(&self.body).map_err(|e| CrmError::Malformed {
            what: self.what.to_string(),
            detail: if self.body.is_empty() { "the body is empty".into() } else { e.to_string() },
        })
    }
}

/// The agent every CRM request goes through.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new(agent: ureq::Agent) -> Http {
        Http { agent }
    }

    /// Sends `req`, retrying a 429 after its Retry-After (or a back-off), and, for
    /// reads, a 5xx or a lost connection. Any 2xx/3xx is returned; the rest is an error.
    pub fn send(&self, req: &Request) -> Result<Response, CrmError> {
        let mut attempt = 1;
        loop {
            let (err, wait) = match self.once(req) {
                Ok(resp) if resp.status < 400 => return Ok(resp),
                Ok(resp) => {
                    let message = error_message(&resp.body);
                    match resp.status {
                        401 => return Err(CrmError::Unauthorized(message)),
                        429 => {
                            let asked = retry_after(resp.header("retry-after"));
                            match asked {
                                Some(d) if d > MAX_RETRY_AFTER => {
                                    return Err(CrmError::RateLimited(format!(
                                        "{message}; it asks to wait {} s",
                                        d.as_secs()
                                    )));
                                }
                                Some(d) => (CrmError::RateLimited(message), d),
                                None => (CrmError::RateLimited(message), backoff(attempt)),
                            }
                        }
                        status @ 500..=599 if req.idempotent() => {
                            (CrmError::Server { status, message }, backoff(attempt))
                        }
                        status @ 500..=599 => return Err(CrmError::Server { status, message }),
                        status => return Err(CrmError::Refused { status, message }),
                    }
                }
                Err(e) if req.idempotent() => (e, backoff(attempt)),
                Err(e) => return Err(e),
            };
            if attempt >= ATTEMPTS || matches!(err, CrmError::Config(_)) {
                return Err(err);
            }
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn once(&self, req: &Request) -> Result<Response, CrmError> {
        let method = match req.method {
            Method::Get => ureq::http::Method::GET,
            Method::Post => ureq::http::Method::POST,
            Method::Put => ureq::http::Method::PUT,
        };
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(&req.url)
            .header("Accept", "application/json")
            .header("User-Agent", concat!("ucdesk/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let body = match &req.body {
            Body::None => Vec::new(),
            Body::Json(v) => {
                builder = builder.header("Content-Type", "application/json");
                serde_json::to_vec(v).expect("a JSON value serializes")
            }
            Body::Form(pairs) => {
                builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    s.append_pair(k, v);
                }
                s.finish().into_bytes()
            }
        };
        let request = builder
            .body(body)
            .map_err(|e| CrmError::Config(format!("bad URL {}: {e}", without_query(&req.url))))?;
        let mut resp = self.agent.run(request).map_err(|e| match e {
            // Their text may quote the URL, query and all.
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
                CrmError::Config(format!("bad URL {}", without_query(&req.url)))
            }
            e => CrmError::Unreachable(e.to_string()),
        })?;
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| CrmError::Unreachable(format!("the answer to {} broke off: {e}", req.what)))?;
        Ok(Response { status, headers, body, what: req.what })
    }
}

fn backoff(attempt: u32) -> Duration {
    BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)]
}

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs: treated as absent).
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The message of a vendor's error body, whichever of the six shapes it is in
/// (Salesforce's array, Sugar's `error_message`, Zoho's `message`, Dataverse's
/// `error.message`, Bullhorn's `errorMessage`, Zendesk's `description`/`error`, OAuth's
/// `error_description`); a body that is none of them is quoted, cut short.
pub fn error_message(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return if text.is_empty() { "no details".into() } else { text.chars().take(200).collect() };
    };
    let v = match &v {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    text("error_message")
        .or_else(|| text("errorMessage"))
        .or_else(|| v.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).map(str::to_string))
        .or_else(|| text("error_description"))
        .or_else(|| text("description"))
        .or_else(|| text("message"))
        .or_else(|| text("error"))
        .or_else(|| {
            v.get("data")
                .and_then(|d| d.get(0))
                .and_then(|d| d.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| v.to_string().chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_found_in_each_vendors_shape() {
        let cases = [
            (
                r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
                "Session expired",
            ),
            (
                r#"{"error":"invalid_grant","error_message":"The access token provided is invalid."}"#,
                "access token",
            ),
            (
                r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
                "invalid oauth",
            ),
            (
                r#"{"error":{"code":"0x80072322","message":"Number of requests exceeded"}}"#,
                "Number of requests",
            ),
            (r#"{"errorMessage":"Bad 'BhRestToken' or timed-out.","errorCode":401}"#, "BhRestToken"),
            (r#"{"error":"RecordInvalid","description":"Record validation errors"}"#, "Record validation"),
            (r#"{"error":"Couldn't authenticate you"}"#, "authenticate"),
            (
                r#"{"data":[{"code":"MANDATORY_NOT_FOUND","message":"required field not found"}]}"#,
                "required field",
            ),
            ("<html>Bad gateway</html>", "Bad gateway"),
            ("", "no details"),
        ];
        for (body, want) in cases {
            assert!(
                error_message(body.as_bytes()).contains(want),
                "{body} -> {}",
                error_message(body.as_bytes())
            );
        }
    }

    #[test]
    fn query_pairs_are_encoded_and_appended() {
        assert_eq!(url("http://h/x", &[("q", "FIND {1} IN")]), "http://h/x?q=FIND+%7B1%7D+IN");
        assert_eq!(url("http://h/x?a=1", &[("b", "é")]), "http://h/x?a=1&b=%C3%A9");
        assert_eq!(url("http://h/x", &[]), "http://h/x");
    }
}
