//! Frame CPU time of the shell while a plugin republishes a 500 x 10 table ten times a
//! second, against the same data drawn as a plain (not virtualised) egui grid, in the
//! same run. Each frame is the egui pass plus tessellation, timed as the UI thread's
//! CPU time; uploading and drawing on the GPU are not included (headless, no GPU).
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk --bench frame`
//! (`BENCH_SECS`, default 10; `BENCH_ROWS`, default 500).

use eframe::egui;
use egui_kittest::Harness;
use serde_json::json;
use std::time::{Duration, Instant};
use ucdesk_kernel::{Home, Kernel, KernelConfig};
use ucdesk_shell::Shell;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Steps `h` at 60 frames a second for `secs`, returning each frame's CPU time.
fn frames<S>(h: &mut Harness<'_, S>, secs: f64) -> Vec<Duration> {
    let mut out = Vec::new();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        let next = Instant::now() + Duration::from_micros(16_667);
        let t = thread_cpu();
        h.step();
        let o = h.output();
        std::hint::black_box(h.ctx.tessellate(o.shapes.clone(), o.pixels_per_point));
        out.push(thread_cpu() - t);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    out
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(10.0);
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    // SAFETY: before any other thread starts.
    unsafe { std::env::set_var("UCDESK_SECRET_STORE", "file") };
    let home = tempfile::tempdir().unwrap();
    let plugins = home.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap();
    let lib = target.join("libucdesk_fixture_widgets.so");
    assert!(lib.exists(), "{} is missing: cargo build --release --workspace first", lib.display());
    std::fs::copy(&lib, plugins.join("libucdesk_plugin_widgets.so")).unwrap();
    let kernel = Kernel::new(KernelConfig::new(Home::under(home.path()), vec![plugins])).unwrap();
    kernel.scan();
    kernel.set_setting("widgets.user", json!("bench")).unwrap();

    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, shell: &mut Shell| shell.ui(ui), Shell::new(kernel.clone()));
    let start = Instant::now();
    while !h.state().running() {
        assert!(start.elapsed() < Duration::from_secs(20), "the plugins did not start");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let req = serde_json::to_vec(&json!({"rows": rows, "cols": 10, "hz": 10, "table_only": true})).unwrap();
    kernel.call("widgets.table", req, Duration::from_secs(5)).unwrap();
    for _ in 0..30 {
        h.step();
        std::thread::sleep(Duration::from_millis(16));
    }
    let mut ours = frames(&mut h, secs);
    drop(h);
    kernel.shutdown();

    // The peer: the same cells in a plain egui Grid, every row laid out every frame.
    let cells: Vec<Vec<String>> =
        (0..rows).map(|r| (0..10).map(|c| format!("{}", (r * 31 + c * 7) % 1000)).collect()).collect();
    let mut grid = Harness::builder().with_size([1280.0, 800.0]).build_ui(move |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("peer").striped(true).show(ui, |ui| {
                for row in &cells {
                    for c in row {
                        ui.label(c);
                    }
                    ui.end_row();
                }
            });
        });
    });
    let mut peer = frames(&mut grid, secs);

    let (o50, o99) = (pct(&mut ours, 0.5), pct(&mut ours, 0.99));
    let (p50, p99) = (pct(&mut peer, 0.5), pct(&mut peer, 0.99));
    println!("frame CPU, {rows} x 10 table republished 10 times a second, {} frames each", ours.len());
    println!("| | p50 ms | p99 ms |");
    println!("|---|---|---|");
    println!("| ucdesk shell (virtualised table from a plugin view) | {o50:.2} | {o99:.2} |");
    println!("| plain egui Grid, same cells | {p50:.2} | {p99:.2} |");
    println!("shell / grid: p50 {:.2}x, p99 {:.2}x", o50 / p50, o99 / p99);
}
