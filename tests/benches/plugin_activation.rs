//! Time to discover and activate N plugins (N = 1, 10, 50 copies of the tiny fixture),
//! next to the bare cost of `dlopen`ing the same files in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench plugin_activation`
//!
//! Each copy gets its own id by rewriting the fixed-width placeholder `tiny_0000` in
//! the library (ids must differ, and must match the file name). Every measurement uses
//! fresh copies in a fresh directory, because a library loaded once stays loaded.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use ucdesk_kernel::{Home, Kernel, KernelConfig, PluginState};
use ucdesk_tests::{fixture_lib, lib_name};

const PLACEHOLDER: &[u8] = b"tiny_0000";

fn stamp(template: &[u8], n: usize) -> Vec<u8> {
    let id = format!("tiny_{n:04}");
    let mut bytes = template.to_vec();
    let mut hits = 0;
    let mut i = 0;
    while i + PLACEHOLDER.len() <= bytes.len() {
        if &bytes[i..i + PLACEHOLDER.len()] == PLACEHOLDER {
            bytes[i..i + PLACEHOLDER.len()].copy_from_slice(id.as_bytes());
            hits += 1;
            i += PLACEHOLDER.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0, "placeholder not found in the tiny fixture");
    bytes
}

/// A fresh directory with `n` stamped copies.
fn copies(template: &[u8], n: usize, round: usize, base: &Path) -> PathBuf {
    let dir = base.join(format!("n{n}-r{round}"));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=n {
        let id = format!("tiny_{i:04}");
        std::fs::write(dir.join(lib_name(&format!("ucdesk_plugin_{id}"))), stamp(template, i)).unwrap();
    }
    dir
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let template = std::fs::read(fixture_lib("tiny")).expect("tiny fixture");
    let work = tempfile::tempdir().unwrap();
    println!("discover + activate N plugins (median of rounds), vs dlopen of the same N files");
    println!(
        "{:>4} {:>7} {:>14} {:>14} {:>14} {:>8}",
        "N", "rounds", "activate", "per plugin", "dlopen only", "ratio"
    );
    for (n, rounds) in [(1usize, 21usize), (10, 11), (50, 5)] {
        let mut activate = Vec::new();
        let mut dlopen = Vec::new();
        for round in 0..rounds {
            let dir = copies(&template, n, round, work.path());
            let home = work.path().join(format!("home-{n}-{round}"));
            let kernel = Kernel::new(KernelConfig::new(Home::under(&home), vec![dir])).unwrap();
            let t = Instant::now();
            let list = kernel.activate();
            activate.push(t.elapsed());
            assert!(list.iter().all(|p| p.state == PluginState::Active), "{list:#?}");
            assert_eq!(list.len(), n);
            kernel.shutdown();

            let raw = copies(&template, n, round + 1000, work.path());
            let t = Instant::now();
            for e in std::fs::read_dir(&raw).unwrap() {
                let lib = abi_stable::library::RawLibrary::load_at(&e.unwrap().path()).unwrap();
                std::mem::forget(lib);
            }
            dlopen.push(t.elapsed());
        }
        let (a, d) = (median(activate), median(dlopen));
        println!(
            "{n:>4} {rounds:>7} {:>11.2} ms {:>11.3} ms {:>11.2} ms {:>7.1}x",
            a.as_secs_f64() * 1e3,
            a.as_secs_f64() * 1e3 / n as f64,
            d.as_secs_f64() * 1e3,
            a.as_secs_f64() / d.as_secs_f64()
        );
    }
}
