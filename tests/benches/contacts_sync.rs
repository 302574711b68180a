//! The first sync of a 10,000-person central phone book from slapd: our LDAP fetch
//! (paged, 500 a page, the attributes the directory reads) against OpenLDAP's own
//! `ldapsearch` fetching the same entries and attributes with the same paging, in the
//! same run; and the whole first sync through the plugin (fetch, store, merge, index)
//! on a fresh home, from `contacts.sync` to its answer.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench contacts_sync`
//! (needs the lab packages: `tests/lab/debian-packages.sh test`). `SYNC_PEOPLE=N` for
//! another size.

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ucdesk_plugin_contacts::ldap::{self, LdapConfig};
use ucdesk_tests::directory::{LDAP_BASE, LDAP_READER, LDAP_READER_PW, Slapd};
use ucdesk_tests::lab::{install_license, set, set_secret};
use ucdesk_tests::{Profile, plugin_lib, wait_for};

const RUNS: usize = 7;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let people: usize = std::env::var("SYNC_PEOPLE").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let slapd = Slapd::start(people);
    let cfg = LdapConfig {
        url: slapd.url(),
        base: LDAP_BASE.into(),
        bind_dn: LDAP_READER.into(),
        password: Some(LDAP_READER_PW.into()),
        filter: String::new(),
        starttls: false,
        ca_file: String::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ours = measure(RUNS, || {
        let got = rt.block_on(ldap::fetch(&cfg)).expect("fetch");
        assert_eq!(got.len(), people);
    });
    let theirs = measure(RUNS, || {
        let out = Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-H",
                &slapd.url(),
                "-D",
                LDAP_READER,
                "-w",
                LDAP_READER_PW,
                "-b",
                LDAP_BASE,
            ])
            .args(["-E", "pr=500/noprompt", ldap::DEFAULT_FILTER])
            .args(ldap::ATTRS)
            .stderr(Stdio::null())
            .output()
            .expect("ldapsearch runs (ldap-utils)");
        let entries = out.stdout.split(|&b| b == b'\n').filter(|l| l.starts_with(b"dn: ")).count();
        assert_eq!(entries, people);
    });
    println!("{people} people, p50 (p95) of {RUNS} runs");
    println!("ours (ldap3, paged)      {:>8.1} ms ({:.1})", ms(ours.0), ms(ours.1));
    println!("ldapsearch -E pr=500     {:>8.1} ms ({:.1})", ms(theirs.0), ms(theirs.1));
    println!("ratio (p50)              {:>8.2}x", ours.0.as_secs_f64() / theirs.0.as_secs_f64());

    // The whole first sync, through the plugin, each on a fresh home.
    let whole = measure(3, || {
        let p = Profile::new().with_library(&plugin_lib("contacts"), "contacts");
        install_license(&p, &[]);
        set(&p, "contacts.ldap_base", LDAP_BASE);
        set(&p, "contacts.ldap_bind_dn", LDAP_READER);
        set_secret(&p, "contacts.ldap_password", LDAP_READER_PW);
        let d = p.daemon();
        // The URL last: the login sync starts when it is set, and the clock with it.
        let t = Instant::now();
        set(&p, "contacts.ldap_url", &slapd.url());
        wait_for(Duration::from_secs(120), || {
            let s = d.call("contacts.sources", json!(null)).ok()?;
            s.as_array()?.iter().any(|s| s["source"] == "ldap" && s["contacts"] == people).then_some(())
        })
        .expect("the first sync");
        let took = t.elapsed();
        let found = d.call("contacts.search", json!({"query": "Person 0004"})).unwrap();
        assert!(!found.as_array().unwrap().is_empty());
        drop(d);
        took
    });
    println!(
        "first sync via the plugin {:>7.1} ms ({:.1}) (fetch, store, merge, index; 3 runs)",
        ms(whole.0),
        ms(whole.1)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (p50, p95) of `runs` runs of `f`; `f` may time itself (returning the time) or not.
fn measure<T: Timed>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let own = f();
            own.took().unwrap_or_else(|| t.elapsed())
        })
        .collect();
    times.sort();
    (times[runs / 2], times[(runs * 95 / 100).min(runs - 1)])
}

trait Timed {
    fn took(&self) -> Option<Duration>;
}

impl Timed for () {
    fn took(&self) -> Option<Duration> {
        None
    }
}

impl Timed for Duration {
    fn took(&self) -> Option<Duration> {
        Some(*self)
    }
}
