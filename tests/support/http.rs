//! A small HTTP/1.1 server for tests that records every request and answers from a
//! script: the far end of a call popup (our own test double, not a third party's API;
//! the CRM vendors' stand-ins live in tests/lab). One thread per connection, one
//! request per connection (`Connection: close`), which is all a popup needs. Paths
//! given a [`HttpRecorder::file`] answer with its bytes (an update feed, a package).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent (still percent-encoded).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The raw (encoded) query.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or_default()
    }

    /// The query's `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    }
}

/// Percent-decoding of a query value (`+` is a plus: popups encode spaces as %20).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => (out.push(b), i += 3),
            None => (out.push(bytes[i]), i += 1),
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, an empty body.
    Status(u16),
    /// 429 with `Retry-After: secs`.
    RetryAfter(u64),
    /// Say nothing for this long, then close.
    Stall(Duration),
}

#[derive(Clone)]
pub struct HttpRecorder {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Reply>>>>,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl HttpRecorder {
    pub fn start() -> HttpRecorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let rec = HttpRecorder {
            port,
            requests: Default::default(),
            script: Default::default(),
            files: Default::default(),
        };
        let server = rec.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(stream));
            }
        });
        rec
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers the next requests to `path` with `replies`, in order; then 200.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().entry(path.to_string()).or_default().extend(replies);
    }

    /// Answers every later request to `path` with 200 and `body` (after its script).
    pub fn file(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.files.lock().unwrap().insert(path.to_string(), body.into());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits for `n` requests to `path`.
    pub fn wait(&self, path: &str, n: usize, within: Duration) -> Vec<Request> {
        let deadline = Instant::now() + within;
        loop {
            let got: Vec<Request> = self.requests().into_iter().filter(|r| r.path() == path).collect();
            if got.len() >= n || Instant::now() > deadline {
                assert!(
                    got.len() >= n,
                    "{} of {n} requests to {path} within {within:?}: {got:#?}",
                    got.len()
                );
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn serve(&self, stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) =
            (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let request = Request { method, target, headers, at: Instant::now() };
        let reply = self.script.lock().unwrap().get_mut(request.path()).and_then(|q| q.pop_front());
        let body = self.files.lock().unwrap().get(request.path()).cloned().filter(|_| reply.is_none());
        self.requests.lock().unwrap().push(request);
        let mut out = stream;
        let head = match reply {
            None => "HTTP/1.1 200 OK\r\n".to_string(),
            Some(Reply::Status(s)) => format!("HTTP/1.1 {s} Scripted\r\n"),
            Some(Reply::RetryAfter(secs)) => {
                format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: {secs}\r\n")
            }
            Some(Reply::Stall(d)) => {
                std::thread::sleep(d);
                return;
            }
        };
        let body = body.unwrap_or_default();
        let _ = out.write_all(
            format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes(),
        );
        let _ = out.write_all(&body);
    }
}
