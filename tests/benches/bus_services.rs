//! Bus throughput and service-call latency across the plugin ABI, next to the same
//! work over an in-process crossbeam channel, in the same run.
//!
//! Run: `cargo build --release --workspace && cargo bench -p ucdesk-tests --bench bus_services`
//!
//! Throughput: the `probe` plugin publishes M `{"seq": i}` events; the `peer` plugin
//! receives and decodes each on its own thread (publish and delivery both cross the
//! ABI, through the kernel's bus and queues). Baseline: one thread serialises the same
//! payloads into a crossbeam channel, another receives and decodes them.
//!
//! Latency: a service call round trip from the host to `peer.echo` (mailbox, plugin
//! thread, ABI, reply) vs a request/reply over two crossbeam channels.

use crossbeam_channel::bounded;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ucdesk_kernel::{Home, Kernel, KernelConfig};
use ucdesk_tests::{fixture_lib, lib_name};

const EVENTS: u64 = 200_000;
const CALLS: usize = 20_000;

fn kernel(dir: &std::path::Path) -> Kernel {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for id in ["probe", "peer"] {
        std::fs::copy(fixture_lib(id), plugins.join(lib_name(&format!("ucdesk_plugin_{id}")))).unwrap();
    }
    let mut config = KernelConfig::new(Home::under(dir.join("home")), vec![plugins]);
    // Room for the whole burst: this measures speed, not the overflow policy.
    config.bus_capacity = EVENTS as usize + 1024;
    let k = Kernel::new(config).unwrap();
    k.activate();
    k
}

fn call(k: &Kernel, service: &str, args: Value) -> Value {
    let answer = k.call(service, serde_json::to_vec(&args).unwrap(), Duration::from_secs(120)).unwrap();
    serde_json::from_slice(&answer).unwrap()
}

fn abi_throughput(k: &Kernel) -> Duration {
    call(k, "peer.expect", json!({"topic": "bench.flood", "count": EVENTS}));
    let done = k.subscribe_client("bench", "peer.got");
    let t = Instant::now();
    call(k, "probe.flood", json!({"topic": "bench.flood", "count": EVENTS}));
    done.receiver().recv_timeout(Duration::from_secs(120)).expect("peer got everything");
    let elapsed = t.elapsed();
    k.unsubscribe_all(&done);
    elapsed
}

fn channel_throughput() -> Duration {
    let (tx, rx) = bounded::<Vec<u8>>(EVENTS as usize + 1024);
    let t = Instant::now();
    let consumer = std::thread::spawn(move || {
        let mut n = 0u64;
        while let Ok(bytes) = rx.recv() {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            n += v["seq"].as_u64().is_some() as u64;
        }
        n
    });
    for seq in 0..EVENTS {
        tx.send(serde_json::to_vec(&json!({ "seq": seq })).unwrap()).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), EVENTS);
    t.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn abi_latency(k: &Kernel) -> Vec<Duration> {
    let request = serde_json::to_vec(&json!({"n": 1})).unwrap();
    let mut v: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            k.call("peer.echo", request.clone(), Duration::from_secs(5)).unwrap();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

fn channel_latency() -> Vec<Duration> {
    let (req_tx, req_rx) = bounded::<(Vec<u8>, crossbeam_channel::Sender<Vec<u8>>)>(16);
    let server = std::thread::spawn(move || {
        while let Ok((bytes, reply)) = req_rx.recv() {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let _ = reply.send(serde_json::to_vec(&v).unwrap());
        }
    });
    let request = serde_json::to_vec(&json!({"n": 1})).unwrap();
    let mut v: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            let (tx, rx) = bounded(1);
            req_tx.send((request.clone(), tx)).unwrap();
            rx.recv().unwrap();
            t.elapsed()
        })
        .collect();
    drop(req_tx);
    server.join().unwrap();
    v.sort();
    v
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    let k = kernel(work.path());
    // Warm up both paths once.
    abi_throughput(&k);
    channel_throughput();

    let abi = abi_throughput(&k);
    let chan = channel_throughput();
    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    println!(
        "bus throughput, {EVENTS} events of {{\"seq\": i}}, publisher and subscriber on their own threads"
    );
    println!("  across the ABI (plugin -> bus -> plugin): {:>12.0} events/s", rate(abi));
    println!("  in-process crossbeam channel:             {:>12.0} events/s", rate(chan));
    println!("  ratio (channel / ABI):                    {:>12.2}x", rate(chan) / rate(abi));

    let abi = abi_latency(&k);
    let chan = channel_latency();
    println!("request/reply latency, {CALLS} round trips");
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (a, c) = (percentile(&abi, p), percentile(&chan, p));
        println!(
            "  {name}: service call across the ABI {:>8.1} us, crossbeam round trip {:>8.1} us, ratio {:>6.2}x",
            a.as_secs_f64() * 1e6,
            c.as_secs_f64() * 1e6,
            a.as_secs_f64() / c.as_secs_f64()
        );
    }
    k.shutdown();
}
