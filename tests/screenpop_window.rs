//! The screen pop window (`ucdesk-webview`, WebKitGTK) under Xvfb, driven through the
//! library the plugins use: pages load from a real HTTP server with their progress,
//! failures (refused, HTTP errors, a stalled server stopped) say why and Reload brings
//! the page back, "Open in default browser" and "Copy URL" act on the page shown, and
//! the window ends when closed.

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};
use ucdesk_screenpop::{Command, Event, ScreenPop};
use ucdesk_tests::http::{HttpRecorder, Reply};
use ucdesk_tests::{Xvfb, opened_urls, url_recorder, wait_for, webview_bin};

const WAIT: Duration = Duration::from_secs(20);

fn window(x: &Xvfb, dir: &Path) -> ScreenPop {
    let opener = url_recorder(dir);
    // WebKit keeps cookies and its cache under the XDG directories: each test its own,
    // as each user has.
    let (data, cache) = (dir.join("data").display().to_string(), dir.join("cache").display().to_string());
    ScreenPop::new(webview_bin()).with_env(&[
        ("XDG_DATA_HOME", &data),
        ("XDG_CACHE_HOME", &cache),
        ("DISPLAY", &x.display),
        ("UCDESK_URL_OPENER", &opener.display().to_string()),
        // Mesa's software renderer: Xvfb has no GPU.
        ("LIBGL_ALWAYS_SOFTWARE", "1"),
    ])
}

/// Every event up to and including the first that `pred` accepts.
fn until(pop: &mut ScreenPop, what: &str, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        for e in pop.events() {
            let done = pred(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no {what} within {WAIT:?}; saw {seen:#?}");
}

fn failed(pop: &mut ScreenPop) -> (String, String) {
    match until(pop, "failure", |e| matches!(e, Event::Failed { .. })).pop() {
        Some(Event::Failed { url, reason }) => (url, reason),
        _ => unreachable!(),
    }
}

fn loaded(pop: &mut ScreenPop, path: &str) -> Vec<Event> {
    until(pop, "a loaded page", |e| matches!(e, Event::Loaded { url, status: 200 } if url.contains(path)))
}

#[test]
fn pages_load_with_progress_and_failures_say_why_until_reload() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let http = HttpRecorder::start();
    let mut pop = window(&x, dir.path());

    pop.show(&http.url("/contacts/1?phone=2125550100")).unwrap();
    let events = loaded(&mut pop, "/contacts/1");
    assert!(events.iter().any(|e| matches!(e, Event::Loading { .. })), "{events:?}");
    assert!(
        events.iter().any(|e| matches!(e, Event::Progress { fraction } if *fraction >= 1.0)),
        "{events:?}"
    );
    let got = http.wait("/contacts/1", 1, WAIT);
    let agent = got[0].headers.iter().find(|(k, _)| k == "user-agent").map(|(_, v)| v.clone());
    assert!(agent.unwrap_or_default().contains("AppleWebKit"), "not WebKit's request: {:?}", got[0]);
    assert_eq!(got[0].param("phone").as_deref(), Some("2125550100"));

    // An HTTP error is a failure to the user; Reload asks again and gets the page.
    http.script("/contacts/2", [Reply::Status(500)]);
    pop.show(&http.url("/contacts/2")).unwrap();
    let (url, reason) = failed(&mut pop);
    assert!(url.ends_with("/contacts/2"), "{url}");
    assert_eq!(reason, "the server answered 500");
    assert!(pop.command(&Command::Reload));
    loaded(&mut pop, "/contacts/2");
    assert_eq!(http.wait("/contacts/2", 2, WAIT).len(), 2);

    // Nobody listening: the reason is the network's.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    pop.show(&format!("http://127.0.0.1:{port}/record")).unwrap();
    let (_, reason) = failed(&mut pop);
    assert!(reason.contains("Connection refused"), "{reason}");

    // A server that says nothing: Stop ends the wait.
    let silent = HttpRecorder::start();
    silent.script("/slow", [Reply::Stall(Duration::from_secs(40))]);
    pop.show(&silent.url("/slow")).unwrap();
    until(
        &mut pop,
        "the slow page loading",
        |e| matches!(e, Event::Loading { url } if url.ends_with("/slow")),
    );
    silent.wait("/slow", 1, WAIT);
    assert!(pop.command(&Command::Stop));
    until(&mut pop, "the stop", |e| matches!(e, Event::Stopped { url } if url.ends_with("/slow")));

    assert!(pop.command(&Command::Close));
    until(&mut pop, "the window closing", |e| *e == Event::Closed);
    assert!(!pop.is_open());
}

#[test]
fn open_in_browser_and_copy_url_act_on_the_page_shown_and_one_window_serves_every_pop() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let http = HttpRecorder::start();
    let mut pop = window(&x, dir.path());
    pop.show(&http.url("/a")).unwrap();
    loaded(&mut pop, "/a");
    let page = http.url("/b?id=003&name=Jane%20Doe");
    pop.show(&page).unwrap();
    loaded(&mut pop, "/b");

    assert!(pop.command(&Command::Browser));
    let events = until(&mut pop, "the browser", |e| matches!(e, Event::Browser { .. }));
    assert_eq!(events.last(), Some(&Event::Browser { url: page.clone(), error: None }));
    assert_eq!(opened_urls(dir.path(), 1, WAIT), std::slice::from_ref(&page));

    assert!(pop.command(&Command::Copy));
    until(&mut pop, "the copy", |e| *e == Event::Copied { url: page.clone() });
    // Read back by another X client, as a paste would.
    let pasted = wait_for(Duration::from_secs(5), || {
        let out = Process::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", &x.display)
            .output()
            .expect("xclip is installed (tests/lab/debian-packages.sh test)");
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert_eq!(pasted.as_deref(), Some(page.as_str()));

    // One window: both pages went to the same program, which is still up.
    assert!(pop.is_open());
    drop(pop);
}
