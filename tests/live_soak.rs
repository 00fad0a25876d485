//! The soak: an hour of stream time (600 fragments of 6 s, accelerated) through `get_media`
//! against the stand-in, with a fault every few fragments (cuts inside a Cluster and inside
//! the trailing tags, error statuses, throttling, stalls, responses that end early): every
//! frame and fragment exactly once, in order, and the consumer's memory flat.
//!
//! And the live latency, measured (printed, never asserted): from a frame's last byte
//! leaving the stand-in on loopback to `LiveConsumer` yielding it, through the real SDK.
#![cfg(feature = "aws")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::standin::*;
use common::*;
use kinesis_video_parser::aws::{LiveConsumer, LiveItem, StartSelector};
use tokio::io::AsyncBufReadExt;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The child's resident set now, in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A fault a few fragments into every response, cycling through the kinds.
fn faults(call: &Call) -> Vec<Fault> {
    let at = call.start + 1 + call.n % 3;
    match call.n % 6 {
        1 => vec![Fault::Cut { fragment: at, at: At::MidCluster }],
        2 => vec![Fault::Cut { fragment: at, at: At::MidTrailingTags }],
        3 => vec![Fault::Status(500, "InternalFailure")],
        4 => vec![Fault::throttle()],
        5 => vec![Fault::Stall { fragment: at, at: At::MidCluster, pause: Duration::from_secs(1) }],
        _ => vec![Fault::EndBefore { fragment: at }],
    }
}

#[test]
fn an_hour_of_stream_time_with_faults_every_frame_once_memory_flat() {
    const FRAGMENTS: usize = 600;
    // 25 frames of 240 ms: 6 s a fragment, an hour in all.
    let served = synthetic(FRAGMENTS, 25, 240, 99_999_000_000);
    rt().block_on(async {
        let s = StandIn::start(HashMap::from([("soak".to_owned(), served.clone())]), Arc::new(faults)).await;
        let mut child = tokio::process::Command::new(example_bin("get_media"))
            .args(["--stream", "soak", "--region", "us-east-1", "--endpoint-url", &s.url])
            .args(["--start", "earliest", "--max-fragments", &FRAGMENTS.to_string(), "--frames", "--json"])
            .args(["--read-timeout-ms", "300", "--backoff-initial-ms", "2", "--backoff-max-ms", "20"])
            .envs(cli_env())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut lines, mut fragments) = (Vec::new(), 0);
        let (mut early_peak, mut late_peak) = (0u64, 0u64);
        let mut last_sample = Instant::now();
        while let Some(l) = tokio::time::timeout(Duration::from_secs(30), out.next_line()).await.unwrap().unwrap() {
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            fragments += (v["type"] == "fragment") as usize;
            lines.push(v);
            if last_sample.elapsed() > Duration::from_millis(20) {
                last_sample = Instant::now();
                if let Some(r) = rss(pid) {
                    // The first quarter (start-up, buffers reaching their working size) sets the level.
                    if fragments < FRAGMENTS / 4 {
                        early_peak = early_peak.max(r);
                    } else {
                        late_peak = late_peak.max(r);
                    }
                }
            }
        }
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(0));
        let numbers: Vec<String> = served.iter().map(|f| f.number.clone()).collect();
        assert_eq!(check_cli_lines(&lines, "soak", &served), numbers, "every fragment once, in order");
        assert_eq!(lines.len(), FRAGMENTS * 26, "every frame once");
        let calls = s.media_calls("soak").len();
        assert!(calls > FRAGMENTS / 5, "faults were injected: {calls} GetMedia calls");
        eprintln!(
            "soak: {FRAGMENTS} fragments, {calls} GetMedia calls; RSS peak {:.1} MiB in the first quarter, {:.1} MiB after",
            early_peak as f64 / 1048576.0,
            late_peak as f64 / 1048576.0
        );
        if cfg!(target_os = "linux") {
            assert!(early_peak > 0 && late_peak > 0, "RSS was sampled");
            assert!(late_peak <= early_peak + (8 << 20), "memory grew: {early_peak} then {late_peak}");
        }
    });
}

#[test]
fn latency_from_the_socket_to_the_frame_measured() {
    // A producer's pace: a frame every 2 ms (the consumer waits for each, as live).
    let served = synthetic(40, 25, 40, 1_000);
    let frames = 40 * 25;
    rt().block_on(async {
        let s = StandIn::start_paced(
            HashMap::from([("live".to_owned(), served.clone())]),
            Arc::new(|_| vec![]),
            Some(Duration::from_millis(2)),
        )
        .await;
        let sdk = sdk_config().await;
        let mut c = LiveConsumer::builder("live").endpoint_url(&s.url).start(StartSelector::Earliest).live(&sdk);
        let mut latencies = Vec::with_capacity(frames);
        while latencies.len() < frames {
            let item = tokio::time::timeout(Duration::from_secs(20), c.next()).await.unwrap().unwrap().unwrap();
            let yielded = Instant::now();
            if let LiveItem::Frame(f) = item {
                let key =
                    ("live".to_owned(), f.fragment.fragment_number.as_ref().unwrap().to_string(), f.position as usize);
                let sent = s.sent.lock().unwrap()[&key];
                latencies.push(yielded - sent);
            }
        }
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        eprintln!(
            "live latency, socket to frame, {} frames: median {:?}, p99 {:?}, max {:?}",
            latencies.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    });
}
