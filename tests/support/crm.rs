//! The lab's stand-in for the six CRM vendors' cloud APIs (`tests/lab/crm_standin.py`:
//! their documented shapes; the services themselves cannot run here), started per test
//! on a free port and stopped on drop, with its control endpoints: faults, expiry, and
//! what was logged, requested and granted.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct CrmStandIn {
    child: Child,
    /// `http://127.0.0.1:PORT`; a vendor's API is under `/<vendor>`.
    pub base: String,
    http: ureq::Agent,
}

impl CrmStandIn {
    pub fn start() -> CrmStandIn {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/crm_standin.py");
        let mut child = Command::new("python3")
            .args([script, "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the CRM stand-in");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).expect("stand-in output");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the CRM stand-in said {line:?}"))
            .to_string();
        let http = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        CrmStandIn { child, base: format!("http://127.0.0.1:{port}"), http }
    }

    /// Where `vendor`'s endpoints are.
    pub fn vendor(&self, vendor: &str) -> String {
        format!("{}/{vendor}", self.base)
    }

    /// POSTs to a control endpoint (`reset`, `expire`, `fault`).
    pub fn control(&self, path: &str, body: Value) {
        let resp =
            self.http.post(format!("{}/_lab/{path}", self.base)).send(body.to_string()).expect("stand-in");
        assert_eq!(resp.status(), 200, "/_lab/{path}");
    }

    /// GETs an inspection endpoint (`logged`, `requests`, `tokens`).
    pub fn get(&self, path: &str) -> Value {
        let mut resp = self.http.get(format!("{}/_lab/{path}", self.base)).call().expect("stand-in");
        serde_json::from_slice(&resp.body_mut().read_to_vec().expect("body")).expect("JSON")
    }

    /// The next `count` (default 1) API requests for `vendor` answer `kind` (`429`,
    /// `500`, `stall`, `malformed`); `extra` adds `retry_after`, `seconds`, `count`.
    pub fn fault(&self, vendor: &str, kind: &str, extra: Value) {
        let mut body = json!({"vendor": vendor, "kind": kind, "count": 1});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.control("fault", body);
    }

    /// Tokens granted to `vendor` so far.
    pub fn grants(&self, vendor: &str) -> u64 {
        self.get("tokens")[vendor]["grants"].as_u64().unwrap_or(0)
    }

    /// The bodies `vendor` was sent to log calls, oldest first.
    pub fn logged(&self, vendor: &str) -> Vec<Value> {
        let all = self.get("logged");
        all.as_array().into_iter().flatten().filter(|l| l["vendor"] == vendor).cloned().collect()
    }
}

impl Drop for CrmStandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
