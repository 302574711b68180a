//! The window's cost on a real (virtual) display with every bundled plugin loaded and
//! logged in to the demo lab: cold start to the first frame and to the main window with
//! all plugins running, resident memory after start, and idle CPU over 30 s. The peer
//! is the headless daemon with the same plugins and accounts, in the same run: the
//! ratios are what the window adds.
//!
//! Run (nothing else may use the demo lab's ports): `cargo build --release --workspace
//! && cargo bench -p ucdesk-tests --bench shell_startup` (`BENCH_IDLE_SECS`, default 30;
//! `BENCH_STARTS`, default 5).

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use ucdesk_tests::lab::DemoLab;
use ucdesk_tests::{Profile, Xvfb, plugin_lib, wait_for};

/// utime + stime of a process.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

/// Starts the window; returns it, ms to the first frame, ms to the main window.
fn window(p: &Profile, display: &str) -> (Child, u64, u64) {
    let mut child = p
        .command(&[])
        .env("DISPLAY", display)
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("UCDESK_REPORT_FIRST_FRAME", "1")
        .env("UCDESK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ms =
        |line: &str, what: &str| line.strip_prefix(what)?.trim_end_matches(" ms").trim().parse::<u64>().ok();
    let (mut first, mut main) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while main.is_none() {
        let line =
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the window reports");
        first = first.or_else(|| ms(&line, "first frame after"));
        main = main.or_else(|| ms(&line, "main window after"));
    }
    (child, first.expect("first frame"), main.unwrap())
}

fn stop(mut c: Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let _ = c.wait();
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let idle: u64 = std::env::var("BENCH_IDLE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let starts: usize = std::env::var("BENCH_STARTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let lab = DemoLab::start();
    let p = Profile::new()
        .with_library(&plugin_lib("softphone"), "softphone")
        .with_library(&plugin_lib("chat"), "chat")
        .with_hello();
    lab.log_in(&p);
    let x = Xvfb::start();

    let mut firsts = Vec::new();
    let mut mains = Vec::new();
    for _ in 0..starts {
        let (c, first, main) = window(&p, &x.display);
        firsts.push(first);
        mains.push(main);
        stop(c);
    }
    let (gui, _, _) = window(&p, &x.display);
    std::thread::sleep(Duration::from_secs(5));
    let gui_rss = rss_mib(gui.id());
    let c0 = cpu(gui.id());
    std::thread::sleep(Duration::from_secs(idle));
    let gui_idle = (cpu(gui.id()) - c0).as_secs_f64() / idle as f64 * 100.0;
    stop(gui);

    // The peer: the daemon, ready when its control socket answers (after activation).
    let t = Instant::now();
    let d = p.daemon();
    let daemon_ready = t.elapsed().as_millis() as u64;
    wait_for(Duration::from_secs(30), || {
        d.call("chat.status", json!(null)).ok().filter(|s| s["state"] == "online")
    })
    .expect("the daemon's chat comes online");
    let pid = d.pid();
    std::thread::sleep(Duration::from_secs(5));
    let d_rss = rss_mib(pid);
    let c0 = cpu(pid);
    std::thread::sleep(Duration::from_secs(idle));
    let d_idle = (cpu(pid) - c0).as_secs_f64() / idle as f64 * 100.0;
    drop(d);
    drop(lab);

    let (first, main) = (median(firsts), median(mains));
    println!("softphone + chat + hello, logged in to the demo lab, Xvfb + Mesa llvmpipe (GL)");
    println!("| | window | daemon (peer) | window / daemon |");
    println!("|---|---|---|---|");
    println!("| first frame (median of {starts}) | {first} ms | - | - |");
    println!(
        "| every plugin started (median of {starts}) | {main} ms | {daemon_ready} ms | {:.2}x |",
        main as f64 / daemon_ready as f64
    );
    println!("| resident memory after 5 s | {gui_rss:.0} MiB | {d_rss:.0} MiB | {:.2}x |", gui_rss / d_rss);
    println!("| idle CPU over {idle} s | {gui_idle:.2}% | {d_idle:.2}% | - |");
}
