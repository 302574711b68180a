//! Moving attached files over HTTP (XEP-0363 upload slots): PUT to the slot the server
//! gave, GET from a message's URL, with progress. Blocking (ureq) on the runtime's
//! blocking pool: a file transfer is a long read/write loop with nothing async in it.
//!
//! TLS for HTTPS uses the system roots plus the account's `tls_ca_file`, like the XMPP
//! link (through `ucdesk-https`, the client the plugins share).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Reports (bytes done, total) at most every 100 ms, and once at the end.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

fn agent(ca_file: &str) -> Result<ureq::Agent, String> {
    // No overall timeout: a large file may take long; a stalled connect may not.
    let timeouts = ucdesk_https::Timeouts { connect: Duration::from_secs(15), total: None };
    ucdesk_https::agent(&ucdesk_https::Trust::with_ca(ca_file), timeouts).map_err(|e| e.to_string())
}

struct Counting<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    last: Instant,
    progress: Progress<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || self.done == self.total {
            self.last = Instant::now();
            (self.progress)(self.done, self.total);
        }
        Ok(n)
    }
}

/// PUTs `path` to an upload slot with the headers the server asked for.
pub fn upload(
    path: &Path,
    put_url: &str,
    headers: &[(String, String)],
    mime: &str,
    ca_file: &str,
    progress: Progress<'_>,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = Counting { inner: file, done: 0, total, last: Instant::now(), progress };
    let mut req = agent(ca_file)?
        .put(put_url)
        .header("Content-Type", mime)
        .header("Content-Length", &total.to_string());
    for (k, v) in headers {
        // XEP-0363 allows only these three; anything else from the server is dropped.
        if ["authorization", "cookie", "expires"].contains(&k.to_ascii_lowercase().as_str()) {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let resp =
        req.send(ureq::SendBody::from_reader(&mut reader)).map_err(|e| format!("upload failed: {e}"))?;
    match resp.status().as_u16() {
        200..=299 => Ok(()),
        s => Err(format!("the upload server answered {s}")),
    }
}

/// GETs `url` into `dir` as `name` (made safe), writing through a temporary file so a
/// broken download never looks complete. Returns the final path. With `max_bytes`, a
/// larger file is not fetched (its announced size) or stopped at the limit, and
/// nothing is left behind.
pub fn download(
    url: &str,
    dir: &Path,
    name: &str,
    ca_file: &str,
    max_bytes: Option<u64>,
    progress: Progress<'_>,
) -> Result<PathBuf, String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("not an http(s) address: {url}"));
    }
    let resp = agent(ca_file)?.get(url).call().map_err(|e| format!("download failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("the file server answered {}", resp.status().as_u16()));
    }
    let total = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let too_large =
        || format!("the file is larger than {} KB: fetch it on request", max_bytes.unwrap_or(0) / 1024);
    if max_bytes.is_some_and(|m| total > m) {
        return Err(too_large());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let target = dir.join(safe_name(name));
    let partial = dir.join(format!(".{}.part", safe_name(name)));
    let mut out =
        std::fs::File::create(&partial).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let mut body = resp.into_body().into_reader();
    let (mut done, mut last, mut buf) = (0u64, Instant::now(), vec![0u8; 64 * 1024]);
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                // Nothing half-fetched stays behind.
                drop(out);
                let _ = std::fs::remove_file(&partial);
                return Err(format!("download interrupted: {e}"));
            }
        };
        if n == 0 {
            break;
        }
        // A full disk is an error with a name, and the partial file goes.
        if let Err(e) = out.write_all(&buf[..n]) {
            let _ = std::fs::remove_file(&partial);
            return Err(format!("cannot write {}: {e}", partial.display()));
        }
        done += n as u64;
        if max_bytes.is_some_and(|m| done > m) {
            drop(out);
            let _ = std::fs::remove_file(&partial);
            return Err(too_large());
        }
        if last.elapsed() >= Duration::from_millis(100) {
            last = Instant::now();
            progress(done, total.max(done));
        }
    }
    out.sync_all().map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, &target).map_err(|e| format!("cannot move the download into place: {e}"))?;
    progress(done, total.max(done));
    Ok(target)
}

/// A file name without directories or characters that mean something to a shell or a
/// file system.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c })
        .collect();
    let clean = clean.trim_start_matches('.').trim();
    if clean.is_empty() { "file".into() } else { clean.chars().take(200).collect() }
}

/// The content type by extension (the server and the receiver only need a hint).
pub fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_network_cannot_escape_the_download_dir() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..\\win.ini"), "win.ini");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("a:b*c?.txt"), "a_b_c_.txt");
        assert_eq!(safe_name(""), "file");
    }
}
